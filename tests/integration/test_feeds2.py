"""Partner feeds, second part: matching by serial or licence key, JSON Lines
feeds (API and partner portal), inbound webhook batches imported through the
feed path, and the webhook delivery log and inbox paged like the other lists.

The demo data set: distributor DIST-NW with resellers RES-PLAT (2),
RES-GOLD (3) and RES-SILV; contracts K-20001 (RES-PLAT, CUST-1001, WSG-STD,
150 seats) and K-20002 (RES-GOLD, CUST-1001, WSG-PLUS).
"""
import json
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (PG_MODE, ApiClient, api_user, assert_json_error, demo_load, renewctl, start_api)
from test_feeds import PLAT_MAPPING, contract, feed_wait, partner, send, set_mapping

USERS = (("plat@sentinel.example", "partner-admin", "2"),  # RES-PLAT
         ("gold@sentinel.example", "partner-admin", "3"))  # RES-GOLD

LK_MAPPING = PLAT_MAPPING + ";Licence=licence_key"


@pytest.fixture
def world(daemon, tmp_path):
    d, admin, users = start_api(daemon, tmp_path / "store", users=USERS)
    yield admin, users
    d.stop()


def send_as(api, body, fmt, content_type=None, **params):
    q = "&".join(f"{k}={v}" for k, v in params.items())
    path = "/api/v1/feeds" + (f"?format={fmt}" if fmt else "")
    if q:
        path += ("&" if fmt else "?") + q
    headers = {"content-type": content_type} if content_type else None
    r = api.call("POST", path, body=body, headers=headers)
    assert r.status == 202, r
    return feed_wait(api, r.json())


def jsonl(*rows):
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


# ---- (a) serial / licence keys ------------------------------------------------------------------


def test_feed_matches_by_licence_key_after_external_id_before_customer_product_end(world):
    admin, users = world
    plat = users["plat@sentinel.example"]
    assert set_mapping(admin, "RES-PLAT", LK_MAPPING).status == 200
    k1 = contract(admin, "K-20001")
    # The vendor gives K-20001 its licence key, and makes a second RES-PLAT
    # contract of the same customer with another product and end date.
    doc = send(admin, b"external_id,licence_key\r\nK-20001,LK-AAAA-0001\r\n")
    assert doc["status"] == "succeeded" and doc["updated"] == 1, doc
    assert contract(admin, "K-20001")["licence_key"] == "LK-AAAA-0001"
    doc = send(admin, b"external_id,customer_external_id,product_sku,reseller_external_id,quantity,start,end,term,currency\r\n"
                      b"K-30001,CUST-1001,DLP-EP,RES-PLAT,12,2027-01-01,2027-12-31,annual,GBP\r\n")
    assert doc["status"] == "succeeded" and doc["created"] == 1, (doc["message"], doc["errors"])
    k3 = contract(admin, "K-30001")

    # The reseller's own numbering (PLAT-77 is unknown) with K-20001's licence
    # key and K-30001's customer, product and end date: the licence key wins.
    body = (b"Contract No,Licence,End Customer,SKU,Seats,Expires\r\n"
            b"PLAT-77,LK-AAAA-0001,CUST-1001,DLP-EP,150,2027-12-31\r\n")
    doc = send(plat, body)
    assert doc["status"] == "succeeded", (doc["message"], doc["errors"])
    assert (doc["created"], doc["updated"], doc["queued"]) == (0, 1, 2), doc
    assert contract(admin, "PLAT-77") is None
    assert contract(admin, "K-30001") == k3
    now = contract(admin, "K-20001")
    assert now["external_id"] == "K-20001" and now["product_id"] == k1["product_id"] and now["end"] == k1["end"], now
    assert sorted(now["feed_sources"]) == ["reseller", "vendor"], now
    held = {(r["contract_id"], r["field"]) for r in admin.get("/api/v1/feed-reviews")["items"]}
    assert held == {(k1["id"], "product_id"), (k1["id"], "end")}, held
    # Re-sent: nothing changes.
    doc = send(plat, body)
    assert (doc["status"], doc["created"], doc["updated"], doc["unchanged"], doc["queued"]) == \
        ("succeeded", 0, 0, 1, 0), doc

    # An external id renewd knows comes first: K-30001's row with K-20001's key
    # is K-30001 (its key, a gap, is filled; vendor-owned, from the vendor).
    doc = send(admin, b"external_id,licence_key\r\nK-30001,LK-AAAA-0001\r\n")
    assert doc["status"] == "succeeded" and doc["updated"] == 1, doc
    assert contract(admin, "K-30001")["licence_key"] == "LK-AAAA-0001"
    # Now two contracts hold that key: a row of K-30001's end date is K-30001 ...
    doc = send(plat, b"Contract No,Licence,Seats,Expires\r\nPLAT-78,LK-AAAA-0001,13,2027-12-31\r\n")
    assert doc["status"] == "succeeded" and doc["updated"] == 1 and doc["created"] == 0, (doc["message"], doc["errors"])
    assert contract(admin, "K-30001")["quantity"] == 12  # seats are the vendor's: held
    assert any(r["contract_id"] == k3["id"] and r["field"] == "quantity" and r["proposed"] == "13"
               for r in admin.get("/api/v1/feed-reviews")["items"])
    # ... and a row of neither's end date is ambiguous: refused whole, with the column named.
    reviews = admin.get("/api/v1/feed-reviews")["items"]
    doc = send(plat, b"Contract No,Licence,Seats,Expires\r\nPLAT-79,LK-AAAA-0001,14,2031-01-31\r\n")
    assert doc["status"] == "failed" and doc["created"] == 0, doc
    assert doc["errors"][0]["column"] == "licence_key" and "2 contracts" in doc["errors"][0]["message"], doc
    assert admin.get("/api/v1/feed-reviews")["items"] == reviews and contract(admin, "PLAT-79") is None


@pytest.mark.skipif(PG_MODE, reason="drops an LMDB index from the store's files")
def test_licence_key_index_on_a_store_without_it(daemon, tmp_path):
    """A store whose contracts were written before the licence index existed:
    renewd opens it without a migration step (contracts without a key have
    no entry), feeds match by key at once, and `renewctl check` finds the
    indexes whole."""
    import lmdb
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    token, uid = api_user(data)
    env = lmdb.open(str(data), max_dbs=128, subdir=True)
    with env.begin(write=True) as txn:
        db = env.open_db(b"i:contracts:licence", txn=txn, create=False)
        txn.drop(db, delete=True)  # as a store of the build before it
    with env.begin() as txn:
        with pytest.raises(lmdb.NotFoundError):
            env.open_db(b"i:contracts:licence", txn=txn, create=False)
    env.close()
    d = daemon(data=data)
    admin = ApiClient(d, token, uid)
    doc = send(admin, b"external_id,licence_key\r\nK-20002,SER-900\r\n")
    assert doc["status"] == "succeeded" and doc["updated"] == 1, doc
    doc = send(admin, b"external_id,licence_key,quantity\r\nVENDOR-OTHER-NO,SER-900,31\r\n")
    assert (doc["status"], doc["created"], doc["updated"]) == ("succeeded", 0, 1), (doc["message"], doc["errors"])
    assert contract(admin, "K-20002")["quantity"] == 31 and contract(admin, "VENDOR-OTHER-NO") is None
    d.stop()
    r = renewctl("check", data=data)
    assert r.returncode == 0 and "0 problems" in r.stdout, (r.stdout, r.stderr)


# ---- (b) JSON Lines feeds --------------------------------------------------------------------------


def test_jsonl_feeds_through_the_same_engine(world):
    admin, users = world
    plat = users["plat@sentinel.example"]
    assert set_mapping(admin, "RES-PLAT", LK_MAPPING).status == 200
    rows = jsonl({"Contract No": "K-20001", "Seats": 160},
                 {"Contract No": "PLAT-J1", "End Customer": "CUST-1002", "SKU": "DLP-EP", "Seats": 7,
                  "Starts": "2026-10-01", "Expires": "2027-09-30", "Licence": "LK-J1"})
    doc = send_as(plat, rows, "jsonl")
    assert doc["status"] == "succeeded" and doc["format"] == "jsonl", (doc["message"], doc["errors"])
    assert (doc["source"], doc["created"], doc["updated"], doc["queued"]) == ("reseller", 1, 1, 1), doc
    j1 = contract(admin, "PLAT-J1")
    assert j1["licence_key"] == "LK-J1" and j1["feed_sources"] == ["reseller"] and j1["quantity"] == 7, j1
    assert contract(admin, "K-20001")["quantity"] == 150  # the vendor's field: held for review
    # The content type says JSON Lines when format= is absent; re-sent, nothing changes.
    doc = send_as(plat, rows, None, content_type="application/x-ndjson")
    assert doc["format"] == "jsonl" and (doc["status"], doc["created"], doc["updated"], doc["unchanged"], doc["queued"]) == \
        ("succeeded", 0, 0, 2, 0), doc
    # Matched by licence key in JSON Lines too.
    doc = send_as(plat, jsonl({"Contract No": "PLAT-OTHER", "Licence": "LK-J1", "Seats": 8}), None,
                  content_type="application/jsonl")
    assert (doc["status"], doc["created"], doc["updated"], doc["unchanged"], doc["queued"]) == \
        ("succeeded", 0, 0, 1, 1), doc  # PLAT-J1 itself: its seats (the vendor's) held for review
    assert contract(admin, "PLAT-J1")["quantity"] == 7 and contract(admin, "PLAT-OTHER") is None
    assert any(r["contract_id"] == j1["id"] and r["field"] == "quantity" and r["proposed"] == "8"
               for r in admin.get("/api/v1/feed-reviews")["items"])
    # A bad line fails the whole feed with per-row reports: nothing applied.
    before = contract(admin, "PLAT-J1")
    bad = (jsonl({"Contract No": "PLAT-J1", "Seats": 9}) + b"{not json\n" +
           jsonl({"Contract No": "PLAT-J1", "Colour": "red"}, {"Contract No": "K-20002", "Seats": 1}))
    doc = send_as(plat, bad, "jsonl")
    assert doc["status"] == "failed" and doc["rows_failed"] == 3 and doc["created"] == doc["updated"] == 0, doc
    by_row = {e["row"]: e for e in doc["errors"]}
    assert "malformed JSON" in by_row[2]["message"], doc["errors"]
    assert by_row[3]["column"] == "Colour" and "feed mapping" in by_row[3]["message"], doc["errors"]
    assert "another partner's channel" in by_row[4]["message"], doc["errors"]
    assert contract(admin, "PLAT-J1") == before
    # A mapped name and the renewd name of the same column in one object.
    doc = send_as(plat, jsonl({"Contract No": "PLAT-J1", "external_id": "PLAT-J1"}), "jsonl")
    assert doc["status"] == "failed" and "twice" in doc["errors"][0]["message"], doc
    # An unknown format is refused with the field named.
    assert_json_error(plat.call("POST", "/api/v1/feeds?format=xml", body=b"<a/>"), 400)
    r = plat.call("POST", "/api/v1/feeds?format=xml", body=b"<a/>")
    assert r.json()["error"]["field"] == "format"


def test_partner_portal_sends_jsonl_feeds(daemon, tmp_path):
    from conftest import demo_load as load
    from test_pages_console import Browser, make_user, text
    from test_feeds import wait_for
    data = tmp_path / "store"
    data.mkdir()
    load(data)
    make_user(data, "plat@sentinel.example", "partner-admin", 2)
    token, uid = api_user(data)
    d = daemon(data=data)
    admin = ApiClient(d, token, uid)
    assert set_mapping(admin, "RES-PLAT", LK_MAPPING).status == 200
    b = Browser(d)
    b.login("plat@sentinel.example")
    page = b.get("/partner/feeds").text
    assert 'name="format"' in page and 'value="jsonl"' in page
    line = json.dumps({"Contract No": "PORTAL-J", "End Customer": "CUST-1002", "SKU": "DLP-EP", "Seats": 4,
                       "Starts": "2026-10-01", "Expires": "2027-09-30", "Licence": "LK-PORTAL"})
    loc = b.post("/partner/feeds", {"data": line + "\n", "format": "jsonl"}).headers["location"]
    words = wait_for(lambda: (lambda p: p if "being checked" not in p else None)(text(b.get(loc).text)))
    assert "Status succeeded" in words and "1 new" in words, words
    assert contract(admin, "PORTAL-J")["licence_key"] == "LK-PORTAL"
    # The same text sent as CSV is a CSV feed (its "header" is no column): refused whole.
    loc = b.post("/partner/feeds", {"data": line + "\n", "format": "csv"}).headers["location"]
    words = wait_for(lambda: (lambda p: p if "being checked" not in p else None)(text(b.get(loc).text)))
    assert "Status failed" in words, words
    b.post("/partner/feeds", {"data": line, "format": "xml"}, status=400)


# ---- (c) inbound webhook batches through the feed path ------------------------------------------------


def sign(secret, mid, ts, body):
    import base64
    import hashlib
    import hmac
    key = base64.b64decode(secret[len("whsec_"):])
    mac = hmac.new(key, f"{mid}.{ts}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


class Inbound:
    def __init__(self, d, admin, partner_id):
        from conftest import http_request
        self.http = http_request
        self.d, self.admin = d, admin
        self.vendor = admin.get("/api/v1/vendor")["id"]
        self.sub = admin.ok("POST", "/api/v1/webhooks/subscriptions",
                            {"url": "http://127.0.0.1:9/unused", "events": ["order.paid"], "partner_id": partner_id},
                            status=201)
        self.n = 0

    def post(self, rows, mid=None, raw=None):
        self.n += 1
        mid = mid or f"msg_{self.n}_{time.monotonic_ns()}"
        body = raw if raw is not None else json.dumps(rows).encode()
        ts = int(time.time())
        h = {"Content-Type": "application/json", "webhook-id": mid, "webhook-timestamp": str(ts),
             "webhook-signature": sign(self.sub["secret"], mid, ts, body)}
        return self.http(self.d.port, "POST", f"/webhooks/inbound/{self.sub['id']}?vendor={self.vendor}", body=body,
                         headers=h, timeout=30.0), mid


def inbox(admin, **q):
    qs = "&".join(f"{k}={v}" for k, v in q.items())
    return admin.get("/api/v1/webhooks/inbox" + (f"?{qs}" if qs else ""))


def test_inbound_batches_are_the_partners_feeds(daemon, tmp_path):
    d, admin, users = start_api(daemon, tmp_path / "store", users=USERS)
    assert set_mapping(admin, "RES-PLAT", LK_MAPPING).status == 200
    hook = Inbound(d, admin, 2)  # RES-PLAT's endpoint
    rows = [{"Contract No": "K-20001", "Seats": 160, "Licence": "LK-W1"},
            {"Contract No": "PLAT-W1", "End Customer": "CUST-1002", "SKU": "DLP-EP", "Seats": 5,
             "Starts": "2026-10-01", "Expires": "2027-09-30"}]
    r, mid = hook.post(rows)
    assert r.status == 200, r
    out = r.json()
    assert out["status"] == "imported" and out["verified"] is True, out
    assert (out["accepted"], out["created"], out["merged"], out["unchanged"], out["queued"], out["rejected"]) == \
        (2, 1, 1, 0, 1, 0), out
    # It is RES-PLAT's feed: its mapping, its source; merged and held for review like a file.
    feed = admin.get(f"/api/v1/feeds/{out['feed_id']}")
    assert (feed["source"], feed["partner_id"], feed["format"], feed["status"]) == ("reseller", 2, "jsonl", "succeeded")
    assert contract(admin, "PLAT-W1")["feed_sources"] == ["reseller"]
    k1 = contract(admin, "K-20001")
    assert k1["licence_key"] == "LK-W1" and k1["quantity"] == 150, k1
    assert any(v["import_id"] == out["feed_id"] and v["field"] == "quantity" for v in admin.get("/api/v1/feed-reviews")["items"])
    # The outcome is on the inbox entry, in the list and alone.
    entry = admin.get(f"/api/v1/webhooks/inbox/{out['inbox_id']}")
    assert entry["feed_id"] == out["feed_id"] and entry["status"] == "imported" and entry["webhook_id"] == mid, entry
    assert (entry["outcome"]["accepted"], entry["outcome"]["merged"], entry["outcome"]["queued"]) == (2, 1, 1), entry
    assert inbox(admin)["items"][0] == entry
    assert_json_error(admin.call("GET", "/api/v1/webhooks/inbox/99999"), 404)

    # A replay (the same webhook-id) is refused and changes nothing.
    state = (contract(admin, "K-20001"), contract(admin, "PLAT-W1"), admin.get("/api/v1/feeds")["items"],
             inbox(admin)["items"], admin.get("/api/v1/feed-reviews")["items"])
    r, _ = hook.post(rows, mid=mid)
    assert_json_error(r, 409, "replayed")
    assert (contract(admin, "K-20001"), contract(admin, "PLAT-W1"), admin.get("/api/v1/feeds")["items"],
            inbox(admin)["items"], admin.get("/api/v1/feed-reviews")["items"]) == state
    # The same rows under a new webhook-id: a re-sent feed, nothing changes.
    r, _ = hook.post(rows)
    assert r.status == 200 and (r.json()["created"], r.json()["merged"], r.json()["unchanged"], r.json()["queued"]) == \
        (0, 0, 2, 0), r
    assert (contract(admin, "K-20001"), contract(admin, "PLAT-W1")) == state[:2]

    # A bad row refuses the batch whole, with the report; nothing of it applied.
    reviews = admin.get("/api/v1/feed-reviews")["items"]
    r, _ = hook.post([{"Contract No": "PLAT-W2", "End Customer": "CUST-1002", "SKU": "DLP-EP", "Seats": 2,
                       "Starts": "2026-10-01", "Expires": "2027-09-30"},
                      {"Contract No": "PLAT-W1", "Seats": 99},
                      {"Contract No": "K-20002", "Seats": 3}])
    assert r.status == 422, r
    bad = r.json()
    assert bad["error"]["code"] == "rejected" and bad["error"]["field"] == "body", bad
    assert "row 3" in bad["error"]["message"] and "another partner's channel" in bad["error"]["message"], bad
    assert set(bad) == {"error"} and bad["error"]["rows"][0]["row"] == 3 and len(bad["error"]["rows"]) == 1, bad
    bad = bad["error"]
    assert contract(admin, "PLAT-W2") is None and contract(admin, "PLAT-W1") == state[1]
    assert admin.get("/api/v1/feed-reviews")["items"] == reviews
    entry = admin.get(f"/api/v1/webhooks/inbox/{bad['inbox_id']}")
    assert entry["status"] == "rejected" and entry["outcome"]["rejected"] == 1 and entry["outcome"]["accepted"] == 0
    assert entry["outcome"]["created"] == 0 and "nothing applied" in entry["outcome"]["message"], entry
    # A column neither mapped nor renewd's is refused with its name.
    r, _ = hook.post([{"Contract No": "PLAT-W1", "Colour": "red"}])
    assert r.status == 422 and r.json()["error"]["rows"][0]["column"] == "Colour", r
    # Not rows at all: refused before anything is stored.
    n_inbox, n_feeds = len(inbox(admin)["items"]), len(admin.get("/api/v1/feeds")["items"])
    for raw in (b"[1, 2]", b"[]", b'"text"', b"[{\"a\": 1}, 7]"):
        r, _ = hook.post(None, raw=raw)
        assert_json_error(r, 400)
        assert r.json()["error"]["field"] == "body", r
    assert len(inbox(admin)["items"]) == n_inbox and len(admin.get("/api/v1/feeds")["items"]) == n_feeds
    # A partner's endpoint with a broken signature says nothing about feeds.
    r = hook.http(d.port, "POST", f"/webhooks/inbound/{hook.sub['id']}?vendor={hook.vendor}", body=b"[{}]",
                  headers={"webhook-id": "x1", "webhook-timestamp": str(int(time.time())), "webhook-signature": "v1,AAAA"})
    assert_json_error(r, 400, "invalid_signature")
    d.stop()


# ---- (d) the delivery log and the inbox, paged ---------------------------------------------------------


def test_delivery_log_and_inbox_are_paged(daemon, tmp_path):
    d, admin, users = start_api(daemon, tmp_path / "store", users=USERS,
                                args=["--outbound-hosts", "127.0.0.1", "--webhook-retry-ms", "60000"])
    admin.ok("POST", "/api/v1/webhooks/subscriptions", {"url": "http://127.0.0.1:9/hook", "events": ["lead.new"]},
             status=201)
    for i in range(5):
        admin.ok("POST", "/api/v1/leads", {"company": f"Paged {i}", "contact_name": "Ann Buyer",
                                           "email": f"ann{i}@acme{i}.example", "country": "GB"}, status=201)
    hook = Inbound(d, admin, 2)
    for i in range(5):
        r, _ = hook.post([{"external_id": "K-20001"}])
        assert r.status == 200, r
    for path, n in (("/api/v1/webhooks/deliveries", 5), ("/api/v1/webhooks/inbox", 5)):
        whole = admin.get(path)
        ids = [x["id"] for x in whole["items"]]
        assert len(ids) == n and ids == sorted(ids, reverse=True) and whole["next_cursor"] is None, whole
        walked, cursor, pages = [], None, 0
        while True:
            page = admin.get(f"{path}?limit=2" + (f"&cursor={cursor}" if cursor else ""))
            assert len(page["items"]) <= 2, page
            walked += [x["id"] for x in page["items"]]
            pages += 1
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert walked == ids and pages == 3, (path, walked, ids)
        for bad in ("limit=0", "limit=501", "cursor=abc", "colour=red"):
            assert_json_error(admin.call("GET", f"{path}?{bad}"), 400)
    # Filters page too.
    assert [x["id"] for x in admin.get("/api/v1/webhooks/inbox?partner_id=2&limit=5")["items"]] == \
        [x["id"] for x in inbox(admin)["items"]]
    assert admin.get("/api/v1/webhooks/inbox?partner_id=3&limit=1") == {"items": [], "next_cursor": None}
    d.stop()


# ---- (f) renewctl secrets rotate names what it sealed --------------------------------------------------


def test_secrets_rotate_names_subscriptions(daemon, tmp_path):
    data = tmp_path / "store"
    d, admin, users = start_api(daemon, data)
    admin.ok("POST", "/api/v1/webhooks/subscriptions", {"url": "http://127.0.0.1:9/hook", "events": ["lead.new"]},
             status=201)
    d.stop()
    p = renewctl("secrets", "rotate", data=data)
    assert p.returncode == 0, p.stderr
    assert "the secrets of 0 plugin enablements and 1 webhook subscription sealed again under it" in p.stdout, p.stdout
    assert "(s)" not in p.stdout


# ---- (e) the console's webhook pages ---------------------------------------------------------------------


def test_console_webhook_pages_go_through_the_service(daemon, tmp_path):
    import re

    from test_pages_console import Browser, make_user, text
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    make_user(data, "admin@sentinel.example", "vendor-admin", None)
    make_user(data, "vsales@sentinel.example", "vendor-sales", None)
    token, uid = api_user(data, email="api@sentinel.example")
    d = daemon(data=data, args=["--outbound-hosts", "127.0.0.1", "--webhook-retry-ms", "60000"])
    admin = ApiClient(d, token, uid)
    b = Browser(d)
    b.login("admin@sentinel.example")
    page = b.get("/vendor/webhooks").text
    assert 'href="/vendor/webhooks"' in page and 'action="/vendor/webhooks"' in page and "No subscriptions yet" in page
    # The service's rules: a bad URL and no events are refused with its message, the form kept.
    r = b.post("/vendor/webhooks", {"url": "ftp://x.example/h", "event.lead.new": "1"}, status=400)
    assert "url must be an http:// or https:// URL" in text(r.text) and 'value="ftp://x.example/h"' in r.text
    r = b.post("/vendor/webhooks", {"url": "http://127.0.0.1:9/h"}, status=400)
    assert "events must be a non-empty array" in text(r.text)
    assert admin.get("/api/v1/webhooks/subscriptions")["items"] == []
    # Without the CSRF token nothing is created.
    b.post("/vendor/webhooks", {"url": "http://127.0.0.1:9/h", "event.lead.new": "1"}, status=403, csrf=False)
    assert admin.get("/api/v1/webhooks/subscriptions")["items"] == []
    # Created, with its secret shown once; it is the API's subscription.
    r = b.post("/vendor/webhooks", {"url": "http://127.0.0.1:9/h", "event.lead.new": "1", "event.order.paid": "1",
                                    "description": "CRM", "partner_id": "2"}, status=200)
    secret = re.search(r'id="new-secret">(whsec_[A-Za-z0-9+/=]+)<', r.text).group(1)
    subs = admin.get("/api/v1/webhooks/subscriptions")["items"]
    assert len(subs) == 1 and sorted(subs[0]["events"]) == ["lead.new", "order.paid"] and subs[0]["partner_id"] == 2, subs
    assert secret not in b.get("/vendor/webhooks").text  # shown once
    # Rotated: a new secret; the old one still signs for a day (the API shows until when).
    b.post(f"/vendor/webhooks/{subs[0]['id']}/rotate", {}, status=403, csrf=False)
    assert "previous_secret_until" not in admin.get(f"/api/v1/webhooks/subscriptions/{subs[0]['id']}")
    r = b.post(f"/vendor/webhooks/{subs[0]['id']}/rotate", {}, status=200)
    new = re.search(r'id="new-secret">(whsec_[A-Za-z0-9+/=]+)<', r.text).group(1)
    assert new != secret and "previous_secret_until" in admin.get(f"/api/v1/webhooks/subscriptions/{subs[0]['id']}")
    b.post("/vendor/webhooks/99999/rotate", {}, status=404)
    # The delivery log and redelivery.
    admin.ok("POST", "/api/v1/leads", {"company": "Console Co", "contact_name": "Ann", "email": "ann@console.example",
                                       "country": "GB"}, status=201)
    x = admin.get("/api/v1/webhooks/deliveries")["items"][0]
    page = b.get("/vendor/webhooks/deliveries").text
    assert f'id="delivery-{x["id"]}"' in page and "lead.new" in page
    assert f'id="delivery-{x["id"]}"' in b.get(f"/vendor/webhooks/deliveries?subscription_id={subs[0]['id']}").text
    b.post(f"/vendor/webhooks/deliveries/{x['id']}/redeliver", {}, status=403, csrf=False)
    b.post(f"/vendor/webhooks/deliveries/{x['id']}/redeliver", {})
    audit = admin.get("/api/v1/audit?limit=500")["items"]
    assert any(a.get("object") == "webhook_delivery" and a.get("object_id") == x["id"] for a in audit), audit[-3:]
    # The inbox with a batch's feed outcome.
    hook = Inbound.__new__(Inbound)
    from conftest import http_request
    hook.http, hook.d, hook.admin, hook.n = http_request, d, admin, 0
    hook.vendor, hook.sub = admin.get("/api/v1/vendor")["id"], dict(subs[0], secret=new)
    r, _ = hook.post([{"external_id": "K-20001", "quantity": "lots"}])
    assert r.status == 422, r
    page = b.get("/vendor/webhooks/inbox").text
    words = text(page)
    fid = r.json()["error"]["feed_id"]
    assert f'href="/vendor/imports/{fid}"' in page and "rejected" in words and "0 accepted" in words, words
    # A vendor sales person has no webhook pages.
    s = Browser(d)
    s.login("vsales@sentinel.example")
    s.get("/vendor/webhooks", status=403)
    s.get("/vendor/webhooks/inbox", status=403)
    assert 'href="/vendor/webhooks"' not in s.get("/vendor").text
