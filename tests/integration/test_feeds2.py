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

from conftest import (ApiClient, api_user, assert_json_error, demo_load, renewctl, start_api)
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
