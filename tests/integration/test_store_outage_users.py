"""A store failure is never a wrong answer: a user's partner, and renewctl's
import (docs/security.md, "A store failure is never a wrong answer,
continued").  A vendor admin
creates a partner user while the store cannot read the partner it names
(core/services/users.c, rd_user_check): 503 with Retry-After, not 400 "a
partner role needs the partner_id of a partner", which blames a correct
request; nothing is created, and the same request succeeds once the store
answers.

The failure is made as in test_store_outage_more.py: renewd on a PostgreSQL
store with a short statement timeout, the partners' table locked by another
session until renewd's statement is cancelled."""
import pytest

import pgcluster
from pgcluster import Locker
from conftest import api_list_all, api_request
from test_store_outage_more import REQ_BOUND, assert_503, node

cluster = pgcluster.cluster  # the module's cluster (a fixture)

pytestmark = pytest.mark.skipif(not pgcluster.available(), reason="postgresql-15 is not installed (scripts/deps)")


def test_a_partner_user_whose_partner_the_store_fails_to_read_answers_503_not_400(cluster, tmp_path):
    db, url, data, token, a = node(cluster, tmp_path)
    lock = None
    try:
        partner = next(p for p in api_list_all(a.port, "/api/v1/partners", token) if p["kind"] == "reseller")
        body = {"email": "outage-user@sentinel.example", "name": "Outage User", "role": "partner-admin",
                "partner_id": partner["id"], "password": "correct horse battery staple"}
        lock = Locker(cluster, db, "t_partners")
        assert_503(api_request(a.port, "POST", "/api/v1/users", body, token=token, timeout=REQ_BOUND + 5),
                   "a partner user while the partners' table is locked")
        lock.release()
        lock = None
        assert not [u for u in api_list_all(a.port, "/api/v1/users", token) if u["email"] == body["email"]]
        r = api_request(a.port, "POST", "/api/v1/users", body, token=token)
        assert r.status == 201, (r.status, r.body[:300])
        assert r.json()["partner_id"] == partner["id"]
        # a partner that does not exist is still the caller's mistake
        r = api_request(a.port, "POST", "/api/v1/users", dict(body, email="nobody-user@sentinel.example",
                                                              partner_id=partner["id"] + 100000), token=token)
        assert r.status == 400 and r.json()["error"]["field"] == "partner_id", (r.status, r.body[:300])
        a.stop()
    finally:
        if lock:
            lock.release()
        a.close()


def test_a_renewctl_import_the_store_fails_during_fails_whole_and_exits_1(cluster, tmp_path):
    """renewctl import on PostgreSQL while the store cannot read the partners
    the rows name (a statement timeout given in the URL, as an operator
    would): it says the store failed, nothing applied, and exits 1 (not "2
    row(s) have errors", not a hang); the same file imports once the store
    answers."""
    import subprocess

    from conftest import RENEWCTL
    db, url, data, token, a = node(cluster, tmp_path)
    a.stop()
    a.close()
    csv = tmp_path / "k.csv"
    csv.write_text("external_id,customer_external_id,product_sku,reseller_external_id,quantity,start,end,currency\n"
                   "CLI-K1,CUST-1003,WSG-PLUS,RES-PLAT,10,2026-03-01,2027-03-01,GBP\n"
                   "CLI-K2,CUST-1003,WSG-PLUS,RES-PLAT,11,2026-03-01,2027-03-01,GBP\n")
    timed = url + "&options=-c%20statement_timeout%3D800"
    cmd = [str(RENEWCTL), "--data", str(data), "--store", timed, "import", "--vendor", "sentinel", "--kind",
           "contracts", str(csv)]
    count = "SELECT count(*) FROM t_contracts"
    before = cluster.psql(db, count).strip()
    lock = Locker(cluster, db, "t_partners")
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    finally:
        lock.release()
    out = p.stdout + p.stderr
    assert p.returncode == 1, (p.returncode, out)
    assert "the store failed" in out and "nothing applied" in out, out
    assert "row(s)" not in out, out
    assert cluster.psql(db, count).strip() == before  # nothing applied
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, (p.returncode, p.stdout + p.stderr)
    assert "2 new" in p.stdout + p.stderr, p.stdout + p.stderr
    assert int(cluster.psql(db, count).strip()) == int(before) + 2
