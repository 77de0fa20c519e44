"""Partner feeds: POST /api/v1/feeds.  A distributor's or reseller's admin
sends contracts in its own column layout (the partner's feed_mapping, kept
by the vendor); each contract keeps which sources described it and when;
a partner feeds its own channel's contracts only; a re-sent file changes
nothing; a malformed corpus is refused with per-row reports and nothing
applied.

The demo data set: distributor DIST-NW with resellers RES-PLAT, RES-GOLD
and RES-SILV; contracts K-20001 (RES-PLAT, CUST-1001, WSG-STD) and
K-20002 (RES-GOLD, CUST-1001, WSG-PLUS).
"""
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from conftest import assert_json_error, raw_connect, recv_http_response, start_api

USERS = (("plat@sentinel.example", "partner-admin", "2"),  # RES-PLAT
         ("platsales@sentinel.example", "partner-sales", "2"),
         ("dist@sentinel.example", "partner-admin", "1"))  # DIST-NW

PLAT_MAPPING = "Contract No=external_id;End Customer=customer_external_id;SKU=product_sku;Seats=quantity;Starts=start;Expires=end"


@pytest.fixture
def world(daemon, tmp_path):
    d, admin, users = start_api(daemon, tmp_path / "store", users=USERS)
    yield admin, users
    d.stop()


def partner(admin, ext):
    items = admin.get(f"/api/v1/partners?external_id={ext}")["items"]
    assert len(items) == 1, items
    return items[0]


def contract(api, ext):
    items = api.get(f"/api/v1/contracts?external_id={ext}")["items"]
    assert len(items) <= 1, items
    return items[0] if items else None


def set_mapping(admin, ext, mapping):
    p = partner(admin, ext)
    return admin.call("PATCH", f"/api/v1/partners/{p['id']}", {"feed_mapping": mapping})


def feed_wait(api, doc, timeout=30.0):
    deadline = time.monotonic() + timeout
    while doc["status"] == "running":
        assert time.monotonic() < deadline, doc
        time.sleep(0.02)
        doc = api.get(f"/api/v1/feeds/{doc['id']}")
    return doc


def send(api, body, **params):
    q = "&".join(f"{k}={v}" for k, v in params.items())
    r = api.call("POST", "/api/v1/feeds?format=csv" + (f"&{q}" if q else ""), body=body)
    assert r.status == 202, r
    doc = r.json()
    assert r.headers["location"] == f"/api/v1/feeds/{doc['id']}"
    return feed_wait(api, doc)


def test_partner_feed_in_its_own_layout_keeps_source_and_time(world):
    admin, users = world
    plat = users["plat@sentinel.example"]
    # Before: a partner's admin cannot import at all.
    assert_json_error(plat.call("POST", "/api/v1/imports?kind=contracts&format=csv",
                                body=b"external_id,quantity\r\nK-20001,5\r\n"), 403)
    # The vendor keeps the partner's mapping; the partner cannot change it.
    r = set_mapping(admin, "RES-PLAT", PLAT_MAPPING)
    assert r.status == 200, r
    mine = partner(plat, "RES-PLAT")
    assert_json_error(plat.call("PATCH", f"/api/v1/partners/{mine['id']}", {"feed_mapping": "Contract No=external_id"}),
                      400)
    assert_json_error(plat.call("PATCH", f"/api/v1/partners/{mine['id']}", {"feed_drop": 1}), 400)
    assert plat.call("PATCH", f"/api/v1/partners/{mine['id']}", {"phone": "+44 20 7946 0001"}).status == 200
    assert partner(admin, "RES-PLAT")["feed_mapping"] == PLAT_MAPPING

    before = time.time()
    body = (b"Contract No,End Customer,SKU,Seats,Starts,Expires\r\n"
            b"K-20001,CUST-1001,WSG-STD,175,,2027-06-30\r\n"
            b"PLAT-NEW-1,CUST-1002,DLP-EP,40,2026-10-01,2027-09-30\r\n")
    doc = send(plat, body)
    assert doc["status"] == "succeeded", (doc["message"], doc["errors"])
    assert doc["source"] == "reseller" and doc["partner_id"] == partner(admin, "RES-PLAT")["id"], doc
    # K-20001's seats and end date are the vendor's (the default precedence): held for review, not applied.
    assert (doc["rows_ok"], doc["created"], doc["updated"], doc["unchanged"], doc["queued"]) == (2, 1, 1, 0, 2), doc
    k1 = contract(admin, "K-20001")
    assert k1["quantity"] == 150 and k1["end"] != "2027-06-30", k1
    assert k1["feed_sources"] == ["reseller"], k1
    received = datetime.strptime(k1["received_reseller"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    assert received.timestamp() >= int(before) - 1 and k1["received_vendor"] is None, k1
    new = contract(admin, "PLAT-NEW-1")
    assert new["reseller_id"] == partner(admin, "RES-PLAT")["id"], new  # a reseller's own contract
    assert new["feed_sources"] == ["reseller"] and new["quantity"] == 40, new

    # The vendor's own feed of the same contract applies (it owns seats) and adds its source.
    doc = send(admin, b"external_id,quantity\r\nK-20001,175\r\n")
    assert doc["status"] == "succeeded" and doc["source"] == "vendor" and doc["queued"] == 0, doc
    k1 = contract(admin, "K-20001")
    assert k1["quantity"] == 175 and sorted(k1["feed_sources"]) == ["reseller", "vendor"], k1

    # A re-sent file changes nothing: no row is written, no review queued again, the times stay.
    reviews = admin.get("/api/v1/feed-reviews")["items"]
    time.sleep(1.1)
    doc = send(plat, body)
    assert doc["status"] == "succeeded", doc
    assert (doc["rows_ok"], doc["created"], doc["updated"], doc["unchanged"], doc["queued"]) == (2, 0, 0, 2, 0), doc
    assert contract(admin, "K-20001") == k1
    assert admin.get("/api/v1/feed-reviews")["items"] == reviews

    # Each side sees the feed's report; the partner only its own.
    assert [f["id"] for f in plat.get("/api/v1/feeds")["items"]][0] == doc["id"]
    assert all(f["partner_id"] == partner(admin, "RES-PLAT")["id"] for f in plat.get("/api/v1/feeds")["items"])
    assert len(admin.get("/api/v1/feeds")["items"]) == 3
    vendor_feed = [f for f in admin.get("/api/v1/feeds")["items"] if f["source"] == "vendor"][0]
    assert_json_error(plat.call("GET", f"/api/v1/feeds/{vendor_feed['id']}"), 404)
    # A partner's sales user sends no feeds.
    assert_json_error(users["platsales@sentinel.example"].call("POST", "/api/v1/feeds?format=csv", body=body), 403)


def test_partner_feeds_only_its_own_channel(world):
    admin, users = world
    plat, dist = users["plat@sentinel.example"], users["dist@sentinel.example"]
    k2 = contract(admin, "K-20002")  # RES-GOLD's
    # Another reseller's contract: refused, with the row named; nothing applied.
    doc = send(plat, b"external_id,quantity\r\nK-20001,99\r\nK-20002,99\r\n")
    assert doc["status"] == "failed" and doc["rows_failed"] == 1, doc
    assert doc["errors"][0]["row"] == 3 and "another partner's channel" in doc["errors"][0]["message"], doc
    assert contract(admin, "K-20001")["quantity"] != 99 and contract(admin, "K-20002") == k2
    # A new contract put in another reseller's name: refused.
    doc = send(plat, b"external_id,customer_external_id,product_sku,reseller_external_id,quantity,start,end\r\n"
                     b"STEAL-1,CUST-1001,WSG-STD,RES-GOLD,5,2026-02-01,2027-01-31\r\n")
    assert doc["status"] == "failed" and doc["errors"][0]["column"] == "reseller_external_id", doc
    assert contract(admin, "STEAL-1") is None
    # The distributor feeds its resellers' contracts (its channel) ...
    doc = send(dist, b"external_id,quantity\r\nK-20002,12\r\n")
    assert doc["status"] == "succeeded" and doc["source"] == "distributor", doc
    assert contract(admin, "K-20002")["feed_sources"] == ["distributor"]
    # ... but not another distributor's.
    r = admin.call("POST", "/api/v1/partners", {"external_id": "DIST-SE", "name": "South East Distribution",
                                                 "kind": "distributor", "tier": "gold"})
    assert r.status == 201, r
    other = r.json()
    r = admin.call("POST", "/api/v1/partners", {"external_id": "RES-SE", "name": "SE Reseller", "kind": "reseller", "tier": "gold",
                                                 "parent_id": other["id"]})
    assert r.status == 201, r
    admin.ok("POST", "/api/v1/contracts", {"external_id": "SE-1", "customer_id": k2["customer_id"],
                                           "product_id": k2["product_id"], "reseller_id": r.json()["id"],
                                           "quantity": 3, "start": "2026-01-01", "end": "2026-12-31"})
    se = contract(admin, "SE-1")
    doc = send(dist, b"external_id,quantity\r\nSE-1,300\r\n")
    assert doc["status"] == "failed" and "another partner's channel" in doc["errors"][0]["message"], doc
    assert contract(admin, "SE-1") == se


def test_malformed_feeds_are_refused_with_reports(world):
    admin, users = world
    plat = users["plat@sentinel.example"]
    # A bad mapping is refused when the vendor sets it ...
    assert_json_error(set_mapping(admin, "RES-PLAT", "Contract No"), 400)
    assert_json_error(set_mapping(admin, "RES-PLAT", "Contract No=contract_number"), 400)
    assert set_mapping(admin, "RES-PLAT", PLAT_MAPPING).status == 200
    before = admin.get("/api/v1/contracts?limit=500")["items"]
    # Unknown columns: neither mapped nor renewd's.
    doc = send(plat, b"Contract No,Colour\r\nK-20001,blue\r\n")
    assert doc["status"] == "failed" and '"Colour"' in doc["message"] and "mapping" in doc["message"], doc
    # Wrong encoding (Latin-1 in a UTF-8 feed): the row and column named.
    doc = send(plat, b"Contract No,End Customer,SKU,Seats,Expires\r\nK-20001,CUST-1001,WSG-STD,7,2027-06-30\r\n"
                     b"PLAT-\xe9,CUST-1001,WSG-STD,7,2027-06-30\r\n")
    assert doc["status"] == "failed" and doc["rows_failed"] == 1, doc
    assert doc["errors"] == [{"row": 3, "column": "external_id", "message": "the value is not valid UTF-8"}], doc
    # Bad values: each row reported; nothing half-applied (row 2 was good).
    doc = send(plat, b"Contract No,End Customer,SKU,Seats,Expires\r\n"
                     b"K-20001,CUST-1001,WSG-STD,8,2027-06-30\r\n"
                     b"PLAT-X,CUST-9999,WSG-STD,8,2027-06-30\r\n"
                     b"PLAT-Y,CUST-1001,WSG-STD,many,2027-06-30\r\n")
    assert doc["status"] == "failed" and doc["rows_failed"] == 2, doc
    assert [(e["row"], e["column"]) for e in doc["errors"]] == [(3, "customer_external_id"), (4, "quantity")], doc
    # A feed is CSV or JSON Lines (test_feeds2.py); another format is refused.
    assert_json_error(plat.call("POST", "/api/v1/feeds?format=xml", body=b'{"external_id":"K-20001"}\n'), 400)
    # Oversized (a partner's feed is at most max_body_bytes, 1 MiB): refused from the request head (sent
    # alone, or the client may still be writing when renewd answers and closes).
    sock = raw_connect(plat.daemon.port)
    try:
        sock.sendall(f"POST /api/v1/feeds?format=csv HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {plat.token}\r\n"
                     f"Content-Type: text/csv\r\nContent-Length: {1 << 20 | 1}\r\n\r\n".encode())
        assert_json_error(recv_http_response(sock, time.monotonic() + 10), 413)
    finally:
        sock.close()
    assert admin.get("/api/v1/contracts?limit=500")["items"] == before


def test_three_feeds_one_contract_and_the_review_queue(world):
    admin, users = world
    plat, dist = users["plat@sentinel.example"], users["dist@sentinel.example"]
    customers = {c["external_id"]: c["id"] for c in admin.get("/api/v1/customers?limit=500")["items"]}
    # K-20005: RES-PLAT's (under DIST-NW), CUST-1004, EML-SEC.
    doc = send(admin, b"external_id,quantity,end\r\nK-20005,60,2027-03-31\r\n")
    assert doc["status"] == "succeeded" and doc["queued"] == 0, doc
    dist_body = b"external_id,quantity\r\nK-20005,65\r\n"
    doc = send(dist, dist_body)
    assert doc["status"] == "succeeded" and doc["queued"] == 1, doc
    doc = send(plat, b"external_id,customer_external_id,end\r\nK-20005,CUST-1005,2027-04-30\r\n")
    assert doc["status"] == "succeeded" and doc["queued"] == 1, doc
    k = contract(admin, "K-20005")
    # One contract: the vendor's seats and end date, the reseller's end customer, three sources.
    assert (k["quantity"], k["end"], k["customer_id"]) == (60, "2027-03-31", customers["CUST-1005"]), k
    assert sorted(k["feed_sources"]) == ["distributor", "reseller", "vendor"], k
    assert k["received_vendor"] and k["received_distributor"] and k["received_reseller"], k
    assert len(admin.get("/api/v1/contracts?external_id=K-20005")["items"]) == 1
    # The queue: both values and both sources.
    queue = {r["field"]: r for r in admin.get("/api/v1/feed-reviews?state=open")["items"]}
    assert set(queue) == {"quantity", "end"}, queue
    q, e = queue["quantity"], queue["end"]
    assert (q["contract_id"], q["current"], q["proposed"], q["owner"], q["source"]) == (k["id"], "60", "65", "vendor",
                                                                                         "distributor"), q
    assert (e["current"], e["proposed"], e["owner"], e["source"]) == ("2027-03-31", "2027-04-30", "vendor", "reseller"), e
    # The partners do not decide it.
    assert_json_error(plat.call("GET", "/api/v1/feed-reviews"), 403)
    assert_json_error(dist.call("POST", f"/api/v1/feed-reviews/{q['id']}/accept", {"value": "proposed"}), 403)
    assert_json_error(admin.call("POST", f"/api/v1/feed-reviews/{q['id']}/accept", {"value": "theirs"}), 400)
    # Accept either side.
    r = admin.ok("POST", f"/api/v1/feed-reviews/{q['id']}/accept", {"value": "proposed"})
    assert r["state"] == "taken" and r["decided_by"] == admin.user_id, r
    r = admin.ok("POST", f"/api/v1/feed-reviews/{e['id']}/accept", {"value": "current"})
    assert r["state"] == "kept", r
    k = contract(admin, "K-20005")
    assert (k["quantity"], k["end"]) == (65, "2027-03-31"), k
    assert_json_error(admin.call("POST", f"/api/v1/feed-reviews/{q['id']}/accept", {"value": "current"}), 409)
    assert contract(admin, "K-20005")["quantity"] == 65
    # A re-sent file queues nothing again and changes nothing (even the decided proposals).
    doc = send(dist, dist_body)
    assert doc["status"] == "succeeded" and (doc["queued"], doc["unchanged"]) == (0, 1), doc
    assert contract(admin, "K-20005") == k
    # Nothing half-applied: a conflicting row beside a bad row queues nothing and writes nothing.
    n = len(admin.get("/api/v1/feed-reviews")["items"])
    doc = send(plat, b"external_id,quantity,end\r\nK-20005,99,2027-05-31\r\nK-20001,none,\r\n")
    assert doc["status"] == "failed" and doc["queued"] == 0 and doc["errors"][0]["row"] == 3, doc
    assert len(admin.get("/api/v1/feed-reviews")["items"]) == n and contract(admin, "K-20005") == k
    # The vendor's precedence table: the distributor may own seats.
    assert_json_error(admin.call("PATCH", "/api/v1/vendor", {"feed_precedence": "quantity=partner"}), 400)
    assert_json_error(admin.call("PATCH", "/api/v1/vendor", {"feed_precedence": "colour=vendor"}), 400)
    admin.ok("PATCH", "/api/v1/vendor", {"feed_precedence": "quantity=distributor"})
    doc = send(dist, b"external_id,quantity\r\nK-20005,70\r\n")
    assert doc["status"] == "succeeded" and doc["queued"] == 0, doc
    assert contract(admin, "K-20005")["quantity"] == 70


def test_feeds_match_by_customer_product_and_end_date(world):
    admin, users = world
    plat = users["plat@sentinel.example"]
    k = contract(admin, "K-20005")  # RES-PLAT's
    n = len(admin.get("/api/v1/contracts?limit=500")["items"])
    # The reseller's own contract number is unknown to renewd: the same customer, product and end date are
    # the same contract; the reseller's end customer is its to set, the vendor's seats are held for review.
    doc = send(plat, b"external_id,customer_external_id,product_sku,end,quantity\r\n"
                     b"PLAT-OWN-77,CUST-1004,EML-SEC," + k["end"].encode() + b"," + str(k["quantity"] + 1).encode() + b"\r\n")
    assert doc["status"] == "succeeded", (doc["message"], doc["errors"])
    assert (doc["created"], doc["updated"], doc["queued"]) == (0, 1, 1), doc
    assert len(admin.get("/api/v1/contracts?limit=500")["items"]) == n and contract(admin, "PLAT-OWN-77") is None
    now = contract(admin, "K-20005")
    assert now["quantity"] == k["quantity"] and now["feed_sources"] == ["reseller"], now
    held = [r for r in admin.get("/api/v1/feed-reviews")["items"] if r["contract_id"] == k["id"]]
    assert [(r["field"], r["proposed"]) for r in held] == [("quantity", str(k["quantity"] + 1))], held


def test_console_shows_feeds_reports_and_the_review_queue(daemon, tmp_path):
    import re

    from conftest import ApiClient, api_user, demo_load
    from test_pages_console import Browser, make_user, text
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    make_user(data, "admin@sentinel.example", "vendor-admin", None)
    make_user(data, "vsales@sentinel.example", "vendor-sales", None)
    token, uid = api_user(data, email="plat@sentinel.example", role="partner-admin", partner="2")
    d = daemon(data=data)
    plat = ApiClient(d, token, uid)
    doc = send(plat, b"external_id,quantity\r\nK-20001,151\r\n")
    assert doc["status"] == "succeeded" and doc["queued"] == 1, doc
    bad = send(plat, b"external_id,quantity\r\nK-20001,lots\r\n")
    assert bad["status"] == "failed", bad
    b = Browser(d)
    b.login("admin@sentinel.example")
    page = b.get("/vendor/feeds").text
    words = text(page)
    # The feeds and their outcome, each linking to its report with the row errors.
    assert f'href="/vendor/imports/{doc["id"]}"' in page and f'href="/vendor/imports/{bad["id"]}"' in page
    assert "nothing applied: 1 row(s) have errors" in words
    report = text(b.get(f"/vendor/imports/{bad['id']}").text)
    assert "quantity" in report and "failed" in report
    # The review queue: both values, the sources, accept one.
    m = re.search(r'action="/vendor/feed-reviews/(\d+)"', page)
    assert m and "From the reseller's feed 151" in words and "Stored (vendor owns it) 150" in words, words
    b.post(f"/vendor/feed-reviews/{m.group(1)}", {"value": "proposed"})
    assert contract(plat, "K-20001")["quantity"] == 151
    page = b.get("/vendor/feeds").text
    assert 'action="/vendor/feed-reviews/' not in page and "taken" in text(page)
    b.post(f"/vendor/feed-reviews/{m.group(1)}", {"value": "current"}, status=409)
    assert contract(plat, "K-20001")["quantity"] == 151
    # A vendor sales person sees no feeds page.
    s = Browser(d)
    s.login("vsales@sentinel.example")
    assert s.request("GET", "/vendor/feeds").status == 403
    d.stop()


def wait_for(pred, timeout=20.0, what="the drop folder"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        assert time.monotonic() < deadline, f"{what}: nothing after {timeout} s"
        time.sleep(0.05)


def drop(folder, name, body):
    """Writes the file as a partner should: under a .part name, then renamed."""
    part = folder / (name + ".part")
    part.write_bytes(body)
    os.rename(part, folder / name)


def outcome(folder, name):
    """(processed|failed, report) once renewd moved the file, else None."""
    for sub in ("processed", "failed"):
        hits = [p for p in (folder / sub).glob(f"*-{name}") if not p.name.endswith(".report.json")]
        if hits:
            rep = Path(str(hits[0]) + ".report.json")
            return sub, json.loads(rep.read_text())
    return None


def test_connector_csv_drop_folder(daemon, tmp_path):
    feeds = tmp_path / "feeds"
    data = tmp_path / "store"
    d, admin, users = start_api(daemon, data, args=("--feeds-dir", str(feeds), "--feeds-poll-ms", "200"))
    plat = partner(admin, "RES-PLAT")
    folder = feeds / "sentinel" / "RES-PLAT"
    # Only partners the vendor enabled get a folder; a partner cannot enable itself.
    time.sleep(0.5)
    assert not (feeds / "sentinel" / "RES-GOLD").exists()
    admin.ok("PATCH", f"/api/v1/partners/{plat['id']}", {"feed_drop": 1, "feed_mapping": PLAT_MAPPING})
    wait_for(lambda: (folder / "processed").is_dir() and (folder / "failed").is_dir())
    assert not (feeds / "sentinel" / "RES-GOLD").exists()
    k5 = contract(admin, "K-20005")
    good = (b"Contract No,End Customer,SKU,Seats,Starts,Expires\r\n"
            b"DROP-1,CUST-1002,DLP-EP,12,2026-10-01,2027-09-30\r\n"
            b"K-20005,CUST-1005,EML-SEC," + str(k5["quantity"] + 3).encode() + b",,\r\n")
    drop(folder, "week1.csv", good)
    where, rep = wait_for(lambda: outcome(folder, "week1.csv"))
    assert where == "processed" and rep["status"] == "succeeded", rep
    assert (rep["accepted"], rep["merged"], rep["queued"], rep["rejected"]) == (1, 1, 1, []), rep
    assert not (folder / "week1.csv").exists()
    new = contract(admin, "DROP-1")
    assert new and new["feed_sources"] == ["reseller"] and new["quantity"] == 12, new
    feed = admin.get(f"/api/v1/feeds/{rep['import_id']}")
    assert feed["source"] == "reseller" and feed["partner_id"] == plat["id"], feed
    # A bad file: failed/ with the rejected rows and their reasons; nothing applied.
    drop(folder, "bad.csv", b"Contract No,End Customer,SKU,Seats,Starts,Expires\r\n"
                            b"DROP-2,CUST-1002,DLP-EP,5,2026-10-01,2027-09-30\r\n"
                            b"K-20002,,,7,,\r\n")
    where, rep = wait_for(lambda: outcome(folder, "bad.csv"))
    assert where == "failed" and rep["status"] == "failed", rep
    assert [(e["row"], "another partner's channel" in e["message"]) for e in rep["rejected"]] == [(3, True)], rep
    assert contract(admin, "DROP-2") is None and contract(admin, "K-20002")["quantity"] != 7
    drop(folder, "latin1.csv", b"Contract No,Seats\r\nK-20001,9\r\nK-\xe9,9\r\n")
    where, rep = wait_for(lambda: outcome(folder, "latin1.csv"))
    assert where == "failed" and rep["rejected"][0]["message"] == "the value is not valid UTF-8", rep
    # The same file again changes nothing.
    before = admin.get("/api/v1/contracts?limit=500")["items"]
    drop(folder, "week1-again.csv", good)
    where, rep = wait_for(lambda: outcome(folder, "week1-again.csv"))
    assert where == "processed" and (rep["accepted"], rep["merged"], rep["unchanged"], rep["queued"]) == (0, 0, 2, 0), rep
    assert admin.get("/api/v1/contracts?limit=500")["items"] == before
    d.stop()
    # inotify: with the scan an hour apart, a dropped file is still picked up at once.
    d = daemon(data=data, args=("--feeds-dir", str(feeds), "--feeds-poll-ms", "3600000"))
    time.sleep(0.5)  # the first scan at start sets the watches up
    drop(folder, "week2.csv", b"Contract No,End Customer,SKU,Seats,Starts,Expires\r\n"
                              b"DROP-3,CUST-1003,DLP-EP,4,2026-10-01,2027-09-30\r\n")
    where, rep = wait_for(lambda: outcome(folder, "week2.csv"), timeout=15.0)
    assert where == "processed" and rep["accepted"] == 1, rep
    d.stop()


def test_partner_portal_sends_feeds_and_shows_their_reports(daemon, tmp_path):
    from conftest import ApiClient, api_user, demo_load
    from test_pages_console import Browser, make_user, text
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    make_user(data, "plat@sentinel.example", "partner-admin", 2)
    make_user(data, "platsales@sentinel.example", "partner-sales", 2)
    make_user(data, "gold@sentinel.example", "partner-admin", 3)
    token, uid = api_user(data)
    d = daemon(data=data)
    admin = ApiClient(d, token, uid)
    assert set_mapping(admin, "RES-PLAT", PLAT_MAPPING).status == 200
    b = Browser(d)
    b.login("plat@sentinel.example")
    page = b.get("/partner/feeds").text
    assert 'action="/partner/feeds"' in page and 'href="/partner/feeds"' in page

    def sent(csv):
        loc = b.post("/partner/feeds", {"data": csv}).headers["location"]
        assert loc.startswith("/partner/feeds/"), loc
        return wait_for(lambda: (lambda p: p if "being checked" not in p else None)(text(b.get(loc).text))), loc

    words, ok_loc = sent("Contract No,End Customer,SKU,Seats,Starts,Expires\r\n"
                         "PORTAL-1,CUST-1002,DLP-EP,9,2026-10-01,2027-09-30\r\n")
    assert "Status succeeded" in words and "1 new" in words, words
    assert contract(admin, "PORTAL-1")["feed_sources"] == ["reseller"]
    words, bad_loc = sent("Contract No,Seats\r\nK-20002,3\r\nK-20001,many\r\n")
    assert "Status failed" in words and "another partner's channel" in words and "quantity" in words, words
    assert contract(admin, "K-20002")["quantity"] != 3
    # Its feeds are listed with their outcome; another partner sees none of them.
    listing = b.get("/partner/feeds").text
    assert f'href="{ok_loc}"' in listing and f'href="{bad_loc}"' in listing
    g = Browser(d)
    g.login("gold@sentinel.example")
    assert g.request("GET", ok_loc).status == 404
    assert f'href="{ok_loc}"' not in g.get("/partner/feeds").text
    # A partner's sales user sees the page without the form and cannot send.
    s = Browser(d)
    s.login("platsales@sentinel.example")
    assert 'action="/partner/feeds"' not in s.get("/partner/feeds").text
    s.post("/partner/feeds", {"data": "Contract No,Seats\r\nK-20001,2\r\n"}, status=403)
    assert contract(admin, "K-20001")["quantity"] == 150
    d.stop()


def test_a_feeds_dir_renewd_cannot_use_is_refused_at_start(tmp_path):
    """feeds_dir naming a file, or a directory that cannot be made, stopped
    nothing: renewd started, watched "drop folders under /etc/passwd" and the
    partners' files were never taken.  Refused at start with a sentence
    naming the option, before anything is served; a missing directory
    whose parent exists is made, as before."""
    from conftest import run_renewd_expect_failure
    data = tmp_path / "d"
    data.mkdir()
    a_file = tmp_path / "feeds.txt"
    a_file.write_text("not a folder")
    for root, why in ((a_file, "not a directory"), (tmp_path / "absent" / "feeds", "No such file or directory")):
        rc, err = run_renewd_expect_failure(["--data", data, "--listen", "127.0.0.1:0", "--feeds-dir", root])
        assert rc == 1 and "feeds_dir" in err and why in err and "listening on" not in err, (rc, err)
