"""A store failure is never a wrong answer, continued (docs/security.md, "A
store failure is never a wrong answer, continued"): what a partner may see,
a partner's contact, the body limit and an import.  When the store cannot
answer, the request is answered 503 with Retry-After (an import fails whole,
naming the store), never "not found", "no customer you can see", "too large"
or a row blamed for it.

The failure is made as in test_session_outage.py: renewd on a PostgreSQL
store with a short statement timeout, a table locked by another session
until renewd's statement is cancelled.

- test_a_partner_record_the_store_fails_to_scope_answers_503_not_404:
  rd_call_visible (core/edge/call.c) for a partner role, through the API's
  GET, list and PATCH and the partner pages (contracts' index locked).
- test_a_partner_contact_whose_customer_the_store_fails_answers_503_not_400:
  core/api/crud.c prepare_contact (customers' table locked).
- test_a_bulk_upload_whose_credentials_the_store_fails_answers_503_not_413:
  rd_call_credentials_ok and the HTTP edge's body limit (tokens' index locked).
- test_an_import_the_store_fails_during_fails_whole_naming_the_store:
  core/services/imports.c (partners' table locked while its rows are checked).
- test_a_delete_whose_references_the_store_fails_to_read_answers_503_not_409:
  core/api/crud.c `referenced` (contracts' index locked).
- test_a_deal_whose_partner_the_store_fails_to_read_answers_503_not_400:
  core/services/deals.c (partners' table locked).
- test_a_partner_order_whose_opportunity_the_store_fails_to_read_answers_503_not_400:
  core/api/orders.c (opportunities' table locked).
- test_a_link_revoke_the_store_fails_answers_503_not_404: core/api/renewals.c
  (links' table locked).
- test_a_partner_decision_the_store_fails_to_read_answers_503_not_404:
  core/web/pages.c, the partner's decision form (opportunities' table locked).
"""
import time
import urllib.parse

import pytest

import pgcluster
from pgcluster import Locker
from conftest import api_list_all, api_request, http_request

cluster = pgcluster.cluster  # the module's cluster (a fixture)

pytestmark = pytest.mark.skipif(not pgcluster.available(), reason="postgresql-15 is not installed (scripts/deps)")

STMT_TIMEOUT_MS = 800
REQ_BOUND = 8.0  # seconds a request may take at most while the store fails
PASSWORD = "correct horse battery staple"


def node(cluster, tmp_path, extra=()):
    db, url, token, dirs, args = pgcluster.world(cluster, tmp_path, 1, 3000, prefix="som",
                                                 extra=["--store-statement-timeout-ms", str(STMT_TIMEOUT_MS),
                                                        *extra])
    (a,) = pgcluster.start(tmp_path, dirs, args, [0])
    return db, url, dirs[0], token, a


def assert_503(r, what=""):
    assert r.status == 503, (what, r.status, r.body[:300])
    assert r.json()["error"]["code"] == "unavailable", (what, r.body[:300])
    assert r.headers.get("retry-after", "").isdigit(), (what, r.headers)


def own_partner(a, token):
    """A partner and a customer every live contract of which is in its
    channel (so the partner may change the customer and its contacts)."""
    by_customer = {}
    for k in api_list_all(a.port, "/api/v1/contracts", token):
        by_customer.setdefault(k["customer_id"], []).append(k)
    for cid, ks in sorted(by_customer.items()):
        live = [k for k in ks if k["status"] != "cancelled"]
        if live and all(k["reseller_id"] == live[0]["reseller_id"] for k in live) and live[0]["reseller_id"]:
            return live[0]["reseller_id"], cid
    raise AssertionError("no customer wholly in one reseller's channel")


def partner_user(dirty, url, partner, email):
    """A partner-admin of partner: its API token (renewctl prints it)."""
    return pgcluster.ctl(dirty, url, "user", "create", "--vendor", "sentinel", "--email", email, "--role",
                         "partner-admin", "--partner", partner, "--password-stdin", input=PASSWORD + "\n").strip()


def login_cookie(a, email):
    body = urllib.parse.urlencode({"vendor": "sentinel", "email": email, "password": PASSWORD}).encode()
    r = http_request(a.port, "POST", "/login", body=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 303, (r.status, r.body[:300])
    for v in r.headers.get_all("set-cookie") or []:
        if v.startswith("rd_session="):
            return v.split(";")[0]
    raise AssertionError("no session cookie")


def test_a_partner_record_the_store_fails_to_scope_answers_503_not_404(cluster, tmp_path):
    """A partner's own customer (and its contact) read while the store
    cannot say whose it is (the contracts' index locked: rd_call_visible,
    customer_in_scope): 503, not 404 "no customer with id" for its own
    record, nor a list missing it, nor a 404 page; a PATCH is 503, not 404,
    and changes nothing.  The same requests succeed once the lock is gone."""
    db, url, data, token, a = node(cluster, tmp_path)
    lock = None
    try:
        partner, cid = own_partner(a, token)
        email = "outage-partner@sentinel.example"
        ptok = partner_user(data, url, partner, email)
        cookie = login_cookie(a, email)
        contact = api_request(a.port, "POST", "/api/v1/contacts",
                              {"customer_id": cid, "external_id": "OUTAGE-PC", "name": "Pat Scope",
                               "email": "pat@scope.example"}, token=ptok)
        assert contact.status == 201, (contact.status, contact.body[:300])
        kid = contact.json()["id"]
        before = api_request(a.port, "GET", f"/api/v1/customers/{cid}", token=ptok).json()
        reads = [("GET", f"/api/v1/customers/{cid}", None), ("GET", f"/api/v1/contacts/{kid}", None),
                 ("GET", "/api/v1/customers", None), ("GET", "/api/v1/contacts", None),
                 ("PATCH", f"/api/v1/customers/{cid}", {"phone": "+44 20 7946 0999"})]
        for method, path, body in reads:
            assert api_request(a.port, "GET", path, token=ptok).status == 200, path
        lock = Locker(cluster, db, "i_contracts")
        for method, path, body in reads:
            assert_503(api_request(a.port, method, path, body, token=ptok, timeout=REQ_BOUND + 5), (method, path))
        for path in (f"/partner/customers/{cid}", "/partner/customers"):
            r = http_request(a.port, "GET", path, headers={"Cookie": cookie}, timeout=REQ_BOUND + 5)
            assert r.status == 503, (path, r.status, r.body[:300])
            assert r.headers.get("retry-after"), r.headers
        lock.release()
        lock = None
        assert api_request(a.port, "GET", f"/api/v1/customers/{cid}", token=token).json() == before
        for method, path, body in reads:
            r = api_request(a.port, method, path, body, token=ptok)
            assert r.status == 200, (method, path, r.status, r.body[:300])
        assert any(c["id"] == cid for c in api_list_all(a.port, "/api/v1/customers", ptok))
        r = http_request(a.port, "GET", f"/partner/customers/{cid}", headers={"Cookie": cookie})
        assert r.status == 200, r.status
        a.stop()
    finally:
        if lock:
            lock.release()
        a.close()


def test_a_partner_contact_whose_customer_the_store_fails_answers_503_not_400(cluster, tmp_path):
    """A partner creates a contact for its own customer while the store
    cannot read the customer (core/api/crud.c prepare_contact): 503, not 400
    "customer_id names no customer you can see"; nothing is written, and the
    same request succeeds once the lock is gone."""
    db, url, data, token, a = node(cluster, tmp_path)
    lock = None
    try:
        partner, cid = own_partner(a, token)
        ptok = partner_user(data, url, partner, "outage-contact@sentinel.example")
        body = {"customer_id": cid, "external_id": "OUTAGE-PC2", "name": "Sam Outage", "email": "sam@outage.example"}
        lock = Locker(cluster, db, "t_customers")
        assert_503(api_request(a.port, "POST", "/api/v1/contacts", body, token=ptok, timeout=REQ_BOUND + 5))
        lock.release()
        lock = None
        assert not [c for c in api_list_all(a.port, "/api/v1/contacts", token) if c["external_id"] == "OUTAGE-PC2"]
        r = api_request(a.port, "POST", "/api/v1/contacts", body, token=ptok)
        assert r.status == 201, (r.status, r.body[:300])
        a.stop()
    finally:
        if lock:
            lock.release()
        a.close()


def test_a_bulk_upload_whose_credentials_the_store_fails_answers_503_not_413(cluster, tmp_path):
    """An import's body (past max_anon_body_bytes, within the bulk limit)
    sent while the store cannot check its token (the tokens' index locked):
    the HTTP edge could only give it the small limit, and answers 503 with
    Retry-After, not 413 "exceeds the limit ... without valid credentials".
    The same upload is taken once the lock is gone."""
    db, url, data, token, a = node(cluster, tmp_path, extra=["--max-anon-body-bytes", "4096"])
    lock = None
    try:
        rows = "".join(f"OUTAGE-C{i},Outage Customer {i},c{i}@outage.example\n" for i in range(600))
        csv = ("external_id,name,email\n" + rows).encode()
        assert 4096 * 4 < len(csv) < 1 << 20
        path = "/api/v1/imports?kind=customers&format=csv&dry_run=true"
        lock = Locker(cluster, db, "i_tokens")
        r = api_request(a.port, "POST", path, csv, token=token, timeout=REQ_BOUND + 5,
                        headers={"Content-Type": "text/csv"})
        assert_503(r)
        assert "store" in r.json()["error"]["message"], r.body[:300]
        lock.release()
        lock = None
        r = api_request(a.port, "POST", path, csv, token=token, headers={"Content-Type": "text/csv"})
        assert r.status == 202, (r.status, r.body[:300])
        a.stop()
    finally:
        if lock:
            lock.release()
        a.close()


def wait_import(a, token, iid, bound=60.0):
    end = time.monotonic() + bound
    while time.monotonic() < end:
        doc = api_request(a.port, "GET", f"/api/v1/imports/{iid}", token=token).json()
        if doc["status"] != "running":
            return doc
        time.sleep(0.1)
    raise AssertionError(f"import {iid} still running after {bound} s")


def test_an_import_the_store_fails_during_fails_whole_naming_the_store(cluster, tmp_path):
    """Contracts imported while the store cannot read the partners they name
    (the partners' table locked: rd_record_prepare's check fails): the import
    fails whole, nothing applied, its message naming the store's failure and
    no row blamed (not "2 row(s) have errors"); the same file, imported once
    the lock is gone, applies both rows."""
    db, url, data, token, a = node(cluster, tmp_path)
    lock = None
    try:
        csv = (b"external_id,customer_external_id,product_sku,reseller_external_id,quantity,start,end,currency\n"
               b"OUTAGE-K1,CUST-1003,WSG-PLUS,RES-PLAT,10,2026-03-01,2027-03-01,GBP\n"
               b"OUTAGE-K2,CUST-1003,WSG-PLUS,RES-PLAT,11,2026-03-01,2027-03-01,GBP\n")
        path = "/api/v1/imports?kind=contracts&format=csv"
        for atomic in ("true", "false"):
            lock = Locker(cluster, db, "t_partners")
            r = api_request(a.port, "POST", f"{path}&atomic={atomic}", csv, token=token, timeout=REQ_BOUND + 5,
                            headers={"Content-Type": "text/csv"})
            assert r.status == 202, (r.status, r.body[:300])
            doc = wait_import(a, token, r.json()["id"])
            lock.release()
            lock = None
            assert doc["status"] == "failed", doc
            assert doc["errors"] == [] and doc["rows_failed"] == 0, doc
            assert "nothing applied" in doc["message"] and "the store failed" in doc["message"], doc
            assert not [k for k in api_list_all(a.port, "/api/v1/contracts", token)
                        if k["external_id"].startswith("OUTAGE-K")]
        r = api_request(a.port, "POST", path, csv, token=token, headers={"Content-Type": "text/csv"})
        assert r.status == 202, (r.status, r.body[:300])
        doc = wait_import(a, token, r.json()["id"])
        assert doc["status"] == "succeeded" and doc["created"] == 2, doc
        a.stop()
    finally:
        if lock:
            lock.release()
        a.close()


def test_a_delete_whose_references_the_store_fails_to_read_answers_503_not_409(cluster, tmp_path):
    """Deleting a customer or a partner checks what still names it (its
    contracts, contacts, resellers: crud.c `referenced`).  A check the store
    fails (the contracts' index locked) answers 503, not a 409 for what the
    check could not read, nor a delete of a record still named; the record
    stays, and once the lock is gone the delete is refused 409 as before."""
    call = api_request
    db, url, data, token, a = node(cluster, tmp_path)
    lock = None
    try:
        k = api_list_all(a.port, "/api/v1/contracts", token)[0]
        cid, pid = k["customer_id"], k["reseller_id"]
        call(a.port, "POST", "/api/v1/contacts", {"customer_id": cid, "external_id": "OUTAGE-DC", "name": "Del Outage",
                                                 "email": "del@outage.example"}, token=token)
        for path in (f"/api/v1/customers/{cid}", f"/api/v1/partners/{pid}"):
            lock = Locker(cluster, db, "i_contracts")
            assert_503(call(a.port, "DELETE", path, token=token, timeout=REQ_BOUND + 5), path)
            lock.release()
            lock = None
            assert call(a.port, "GET", path, token=token).status == 200, path
            r = call(a.port, "DELETE", path, token=token)
            assert r.status == 409, (path, r.status, r.body[:300])
        a.stop()
    finally:
        if lock:
            lock.release()
        a.close()


def test_a_deal_whose_partner_the_store_fails_to_read_answers_503_not_400(cluster, tmp_path):
    """The vendor registers a deal for a partner while the store cannot read
    the partner (services/deals.c): 503, not 400 "a registration names the
    partner that registers it"; nothing is registered, and the same request
    succeeds once the lock is gone."""
    import datetime
    db, url, data, token, a = node(cluster, tmp_path)
    lock = None
    try:
        partner = next(p for p in api_list_all(a.port, "/api/v1/partners", token) if p["kind"] == "reseller")
        wsg = next(p for p in api_list_all(a.port, "/api/v1/products", token) if p["sku"] == "WSG-STD")
        today = pgcluster.today(a, token)
        body = {"customer": {"name": "Outage Opticians", "email": "it@outage-opt.example", "postcode": "NE1 3AF",
                             "country": "GB"}, "partner_id": partner["id"],
                "products": [wsg["id"]], "seats": 40, "expected_value": 144000,
                "close_date": (today + datetime.timedelta(days=45)).isoformat()}
        lock = Locker(cluster, db, "t_partners")
        assert_503(api_request(a.port, "POST", "/api/v1/deals", body, token=token, timeout=REQ_BOUND + 5))
        lock.release()
        lock = None
        assert api_list_all(a.port, "/api/v1/deals", token) == []
        r = api_request(a.port, "POST", "/api/v1/deals", body, token=token)
        assert r.status == 201, (r.status, r.body[:300])
        a.stop()
    finally:
        if lock:
            lock.release()
        a.close()


def test_a_partner_order_whose_opportunity_the_store_fails_to_read_answers_503_not_400(cluster, tmp_path):
    """A partner orders its own customer's renewal while the store cannot
    read the opportunity (core/api/orders.c, rd_call_opportunity): 503, not
    400 "there is no such opportunity"; once the lock is gone the same order
    is not refused as naming no opportunity."""
    db, url, data, token, a = node(cluster, tmp_path)
    lock = None
    try:
        o = next(o for o in api_list_all(a.port, "/api/v1/opportunities", token) if o.get("reseller_id"))
        ptok = partner_user(data, url, o["reseller_id"], "outage-order@sentinel.example")
        body = {"opportunity_id": o["id"], "payment_option": "purchase_order"}
        hdr = {"Idempotency-Key": "outage-order-1"}
        lock = Locker(cluster, db, "t_opportunities")
        assert_503(api_request(a.port, "POST", "/api/v1/orders", body, token=ptok, headers=hdr,
                               timeout=REQ_BOUND + 5))
        lock.release()
        lock = None
        r = api_request(a.port, "POST", "/api/v1/orders", body, token=ptok, headers=hdr)
        assert r.status != 503 and "no such opportunity" not in r.body.decode(), (r.status, r.body[:300])
        a.stop()
    finally:
        if lock:
            lock.release()
        a.close()


def test_a_link_revoke_the_store_fails_answers_503_not_404(cluster, tmp_path):
    """Revoking a customer link while the store cannot read it (the links'
    table locked; core/api/renewals.c): 503, not 404 "no such link"; the link
    is revoked once the lock is gone."""
    db, url, data, token, a = node(cluster, tmp_path)
    lock = None
    try:
        links = []
        for o in api_list_all(a.port, "/api/v1/opportunities", token):
            r = api_request(a.port, "POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"},
                            token=token)
            if r.status != 200:
                continue
            end = time.monotonic() + 20
            while not links and time.monotonic() < end:
                links = api_list_all(a.port, f"/api/v1/opportunities/{o['id']}/links", token)
                time.sleep(0.1)
            break
        assert links, "no customer link was made"
        lid = links[0]["id"]
        lock = Locker(cluster, db, "t_links")
        assert_503(api_request(a.port, "DELETE", f"/api/v1/links/{lid}", token=token, timeout=REQ_BOUND + 5))
        lock.release()
        lock = None
        r = api_request(a.port, "DELETE", f"/api/v1/links/{lid}", token=token)
        assert r.status == 204, (r.status, r.body[:300])
        a.stop()
    finally:
        if lock:
            lock.release()
        a.close()


def test_a_partner_decision_the_store_fails_to_read_answers_503_not_404(cluster, tmp_path):
    """A partner decides who sells its customer's renewal (the partner
    portal's form, core/web/pages.c) while the store cannot read the
    opportunity (the opportunities' table locked): a 503 page, not the 404
    page "There is no such opportunity"; once the lock is gone the same form
    is not answered 404 or 503."""
    from test_pages_security import Browser
    db, url, data, token, a = node(cluster, tmp_path)
    lock = None
    try:
        o = next(o for o in api_list_all(a.port, "/api/v1/opportunities", token) if o.get("reseller_id"))
        email = "outage-decide@sentinel.example"
        partner_user(data, url, o["reseller_id"], email)
        b = Browser(a)
        r = b.post("/login", {"vendor": "sentinel", "email": email, "password": PASSWORD})
        assert r.status == 303, r.status
        form = {"csrf": b.csrf("/partner"), "publish": "vendor"}
        path = f"/partner/opportunities/{o['id']}/decision"
        lock = Locker(cluster, db, "t_opportunities")
        r = b.post(path, form)
        assert r.status == 503 and r.headers.get("retry-after"), (r.status, r.text[:300])
        lock.release()
        lock = None
        r = b.post(path, form)
        assert r.status not in (404, 503), (r.status, r.text[:300])
        a.stop()
    finally:
        if lock:
            lock.release()
        a.close()
