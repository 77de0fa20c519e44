"""A list's filter is not a dropped record for the store's failure
(docs/security.md, "A store failure is never a wrong answer, continued").

GET /api/v1/contracts?product_line=X reads each contract's product
(core/api/crud.c filter_contract).  When the store cannot read it, the list
is answered 503 with Retry-After, never 200 with the contracts it could not
check left out.  (A walk whose rows are all read in one statement, as a
customer's few contracts are, made no statement after the failed one, so
nothing else failed: before, the list came back 200 and short.)

The failure is made as in test_store_outage_more.py: renewd on a PostgreSQL
store with a short statement timeout, the products' table locked by another
session until renewd's statement is cancelled.
"""
import urllib.parse

import pytest

import pgcluster
from pgcluster import Locker
from conftest import api_list_all, api_request

cluster = pgcluster.cluster  # the module's cluster (a fixture)

pytestmark = pytest.mark.skipif(not pgcluster.available(), reason="postgresql-15 is not installed (scripts/deps)")

STMT_TIMEOUT_MS = 800
REQ_BOUND = 8.0  # seconds a request may take at most while the store fails


def test_a_list_filtered_by_product_line_the_store_fails_answers_503_not_a_short_list(cluster, tmp_path):
    """Contracts listed by product line while the products' table is locked:
    503 unavailable with Retry-After, not 200 with fewer items; the same list
    is whole once the lock is gone."""
    db, url, token, dirs, args = pgcluster.world(cluster, tmp_path, 1, 3000, prefix="lfo",
                                                 extra=["--store-statement-timeout-ms", str(STMT_TIMEOUT_MS)])
    (a,) = pgcluster.start(tmp_path, dirs, args, [0])
    lock = None
    try:
        products = {p["id"]: p["line"] for p in api_list_all(a.port, "/api/v1/products", token)}
        contracts = api_list_all(a.port, "/api/v1/contracts", token)
        by_customer = {}
        for k in contracts:
            by_customer.setdefault(k["customer_id"], []).append(k)
        # A customer with a few contracts (one statement reads them all).
        cid, ks = next((c, ks) for c, ks in sorted(by_customer.items()) if 1 <= len(ks) <= 6)
        line = products[ks[0]["product_id"]]
        path = f"/api/v1/contracts?customer={cid}&product_line={urllib.parse.quote(line)}"
        before = api_request(a.port, "GET", path, token=token)
        assert before.status == 200, (before.status, before.body[:300])
        want = sorted(k["id"] for k in ks if products[k["product_id"]] == line)
        assert want and sorted(k["id"] for k in before.json()["items"]) == want
        lock = Locker(cluster, db, "t_products")
        r = api_request(a.port, "GET", path, token=token, timeout=REQ_BOUND + 5)
        assert r.status == 503, (r.status, r.body[:300])
        assert r.json()["error"]["code"] == "unavailable", r.body[:300]
        assert r.headers.get("retry-after", "").isdigit(), r.headers
        lock.release()
        lock = None
        r = api_request(a.port, "GET", path, token=token)
        assert r.status == 200, (r.status, r.body[:300])
        assert sorted(k["id"] for k in r.json()["items"]) == want
        a.stop()
    finally:
        if lock:
            lock.release()
        a.close()
