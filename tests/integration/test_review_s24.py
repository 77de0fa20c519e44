"""Review of the session's merged work: what an attacker with two tenants and
two resellers, or a careful operator, found.

A vendor the platform operator suspended is reachable through no path: not
its partners' inbound webhook batches, drop folders or EDI inbound folders
(the files wait and are imported once the vendor is resumed), not its
public lead form; nothing of it leaves through outbound webhooks.  renewctl
vendor create keeps the operator API's rule for a vendor.  A partner sees
only its own channel's quotes on a contract's page, and a feed row matched
to another channel's contract never learns that contract's number.
"""
import shutil
import time

import pytest

from conftest import assert_json_error, http_request, renewctl, start_api
from test_feeds import PLAT_MAPPING, contract, drop, outcome, partner, wait_for
from test_feeds2 import USERS, Inbound, world  # noqa: F401 (the fixture)
from test_operator import call


def operator_token(data):
    p = renewctl("operator", "token", "create", "--name", "review", data=data, check=True)
    return p.stdout.strip()


def suspend(d, op, vendor, on=True):
    r = call(d.port, "POST", f"/api/v1/operator/vendors/{vendor}/{'suspend' if on else 'resume'}",
             {"reason": "review"} if on else {}, token=op)
    assert r.status == 200 and r.json()["suspended"] is on, r


def test_suspended_vendor_takes_no_inbound_webhook_batch(daemon, tmp_path):
    data = tmp_path / "store"
    d, admin, _ = start_api(daemon, data, users=USERS)
    op = operator_token(data)
    hook = Inbound(d, admin, 2)  # RES-PLAT's endpoint
    r = admin.call("PATCH", f"/api/v1/partners/{partner(admin, 'RES-PLAT')['id']}", {"feed_mapping": PLAT_MAPPING})
    assert r.status == 200, r
    row = {"Contract No": "SUSP-W1", "End Customer": "CUST-1002", "SKU": "DLP-EP", "Seats": 5,
           "Starts": "2026-10-01", "Expires": "2027-09-30"}
    suspend(d, op, hook.vendor)
    r, _ = hook.post([row])
    assert_json_error(r, 403, "suspended")
    suspend(d, op, hook.vendor, on=False)
    assert contract(admin, "SUSP-W1") is None, "a batch was imported into a suspended vendor"
    r, _ = hook.post([row])
    assert r.status == 200 and r.json()["status"] == "imported", r
    assert contract(admin, "SUSP-W1")["quantity"] == 5
    d.stop()


def test_suspended_vendor_drop_folder_waits_until_resumed(daemon, tmp_path):
    feeds, data = tmp_path / "feeds", tmp_path / "store"
    d, admin, _ = start_api(daemon, data, args=("--feeds-dir", str(feeds), "--feeds-poll-ms", "100"))
    op = operator_token(data)
    vendor = admin.get("/api/v1/vendor")["id"]
    plat = partner(admin, "RES-PLAT")
    folder = feeds / "sentinel" / "RES-PLAT"
    admin.ok("PATCH", f"/api/v1/partners/{plat['id']}", {"feed_drop": 1, "feed_mapping": PLAT_MAPPING})
    wait_for(lambda: (folder / "processed").is_dir())
    suspend(d, op, vendor)
    drop(folder, "held.csv", b"Contract No,End Customer,SKU,Seats,Starts,Expires\r\n"
                             b"SUSP-D1,CUST-1002,DLP-EP,7,2026-10-01,2027-09-30\r\n")
    # Many scans (100 ms apart, and the file's own inotify event) pass by it.
    time.sleep(2.0)
    assert outcome(folder, "held.csv") is None and (folder / "held.csv").exists(), \
        "a suspended vendor's drop folder was imported"
    suspend(d, op, vendor, on=False)
    where, rep = wait_for(lambda: outcome(folder, "held.csv"))
    assert where == "processed" and rep["status"] == "succeeded", rep
    assert contract(admin, "SUSP-D1")["quantity"] == 7
    d.stop()


def test_suspended_vendor_edi_inbound_waits_until_resumed(daemon, tmp_path):
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    from test_edi import boot, report
    from test_edi2 import by_ext, drop867, jsen867, ptd
    d, data, admin, gold, out, inb = boot(daemon, tmp_path)
    op = operator_token(data)
    vendor = admin.get("/api/v1/vendor")["id"]
    # A first report, imported: the inbound folder is watched from here on.
    drop867(tmp_path, inb, "first.x12", jsen867(800, 800, [ptd("SUSP-E0", "CUST-1002", "DLP-EP", 5)]))
    assert report(inb, "first.x12", "processed")["result"] == "applied"
    suspend(d, op, vendor)
    drop867(tmp_path, inb, "held.x12", jsen867(801, 801, [ptd("SUSP-E1", "CUST-1002", "DLP-EP", 25, start="20280101", end="20281231")]))
    time.sleep(2.0)  # the file's inotify notice and the start's scan pass by it
    assert (inb / "held.x12").exists(), "a suspended vendor's EDI inbound file was taken"
    assert not list(inb.rglob("held.x12.report.json")), "a suspended vendor's EDI inbound file was imported"
    suspend(d, op, vendor, on=False)
    rep = report(inb, "held.x12", "processed")
    assert rep["result"] == "applied", rep
    assert by_ext(admin, "SUSP-E1")["quantity"] == 25
    d.stop()


def test_suspended_vendor_webhook_deliveries_are_held(daemon, tmp_path):
    """Like its mail: a suspended vendor's queued webhook deliveries stay
    queued (no data of it leaves renewd) and go out once it is resumed."""
    from test_quote_pdf import opportunity_of
    from test_webhooks_out import Subscriber, boot, wait_state
    sub = Subscriber()
    try:
        d, data, admin, gold = boot(daemon, tmp_path, extra=("--webhook-retry-ms", "100",
                                                             "--webhook-max-attempts", "60"))
        op = operator_token(data)
        vendor = admin.get("/api/v1/vendor")["id"]
        admin.ok("POST", "/api/v1/webhooks/subscriptions", {"url": sub.url("/held"), "events": ["opportunity.decided"]},
                 status=201)
        sub.status = 500
        o = opportunity_of(admin, "K-20003")
        gold.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "partner"}, status=200)
        sub.wait(lambda g: len(g) >= 1, what="the first attempt")
        suspend(d, op, vendor)
        n0 = len(sub.events())
        time.sleep(2.5)  # retries 100, 200, 400, 800 ms apart would come meanwhile
        assert len(sub.events()) <= n0 + 1, f"{len(sub.events()) - n0} deliveries of a suspended vendor went out"
        sub.status = 200
        suspend(d, op, vendor, on=False)
        wait_state(admin, lambda it: any(x["state"] == "delivered" for x in it))
    finally:
        sub.close()


def test_suspended_vendor_lead_form_is_closed(daemon, tmp_path):
    """The public web-to-lead form of a suspended vendor opens nothing and
    takes no lead (no mail nor webhook event queued for it)."""
    import re
    import urllib.parse
    data = tmp_path / "store"
    d, admin, _ = start_api(daemon, data)
    op = operator_token(data)
    vendor = admin.get("/api/v1/vendor")["id"]
    admin.ok("PATCH", "/api/v1/vendor", {"lead_form_enabled": 1, "lead_form_min_seconds": 1, "lead_form_per_hour": 20})
    r = http_request(d.port, "GET", "/f/sentinel/lead")
    assert r.status == 200, r
    ts = re.search(r'name="ts" value="([^"]+)"', r.body.decode()).group(1)
    suspend(d, op, vendor)
    time.sleep(1.2)  # past lead_form_min_seconds
    r = http_request(d.port, "GET", "/f/sentinel/lead")
    assert r.status == 404, r
    body = urllib.parse.urlencode({"company": "Fieldfare Ltd", "contact_name": "Fay Field", "ts": ts, "website": "",
                                   "email": "fay@fieldfare.example", "country": "GB", "product": "WSG-STD"}).encode()
    r = http_request(d.port, "POST", "/f/sentinel/lead", body=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 404, r
    suspend(d, op, vendor, on=False)
    assert admin.get("/api/v1/leads")["items"] == [], "a suspended vendor's form took a lead"
    assert http_request(d.port, "GET", "/f/sentinel/lead").status == 200
    d.stop()


def test_renewctl_vendor_create_keeps_the_operator_apis_slug_rule(tmp_path):
    """One rule for a new vendor (services/vendors.c): renewctl vendor create
    refuses the slugs the operator API refuses, and gives the same defaults."""
    from conftest import demo_load
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    for slug in ("-acme", "Acme", "ac me"):
        p = renewctl("vendor", "create", "--name", "Acme", "--slug", slug, "--currency", "GBP", data=data)
        assert p.returncode == 2 and "slug" in p.stderr and "not starting with '-'" in p.stderr, (slug, p.stderr)
    p = renewctl("vendor", "create", "--name", "Acme", "--slug", "acme-2", "--currency", "GBP", data=data)
    assert p.returncode == 0, p.stderr


def test_partner_contract_page_shows_only_its_own_quotes(daemon, tmp_path):
    """A contract moved from RES-GOLD to RES-PLAT: RES-PLAT sees the contract,
    never RES-GOLD's quote for it (GET /api/v1/opportunities/{id} is a 404
    for RES-PLAT too)."""
    from test_console_work import boot, browser
    from test_quote_pdf import opportunity_of
    d, admin, u = boot(daemon, tmp_path)
    o = opportunity_of(admin, "K-20003")
    assert o["reseller_id"] == 3, o
    k = contract(admin, "K-20003")
    admin.ok("PATCH", f"/api/v1/contracts/{k['id']}", {"reseller_id": 2})
    plat = u["plat-admin@sentinel.example"]
    assert plat.call("GET", f"/api/v1/opportunities/{o['id']}").status == 404
    page = browser(d, "plat-admin@sentinel.example").get(f"/partner/contracts/{k['id']}").text
    assert "K-20003" in page, page
    assert o["number"] not in page, "another partner's quote is shown on the contract's page"
    # RES-GOLD's own view of its quote is unchanged (vendor side sees it too).
    assert o["number"] in browser(d, "boss@sentinel.example").get(f"/vendor/contracts/{k['id']}").text
    d.stop()


def test_feed_row_matched_by_key_does_not_name_another_partners_contract(world):
    """A reseller's feed row that matches another partner's contract by its
    licence key, or by customer, product and end date, is refused without
    naming that contract (its external id is the other channel's)."""
    from test_feeds import send, set_mapping
    from test_feeds2 import LK_MAPPING
    admin, users = world
    gold = users["gold@sentinel.example"]
    k1 = contract(admin, "K-20001")  # RES-PLAT's
    doc = send(admin, b"external_id,licence_key\r\nK-20001,LK-PLAT-SECRET\r\n")
    assert doc["status"] == "succeeded", doc
    assert set_mapping(admin, "RES-GOLD", LK_MAPPING).status == 200
    for body in (b"Contract No,Licence,Seats\r\nGOLD-77,LK-PLAT-SECRET,3\r\n",
                 b"Contract No,End Customer,SKU,Seats,Expires\r\nGOLD-78,CUST-1001,WSG-STD,3," +
                 k1["end"].encode() + b"\r\n"):
        doc = send(gold, body)
        assert doc["status"] == "failed", doc
        msg = doc["errors"][0]["message"]
        assert "another partner's channel" in msg, msg
        assert "K-20001" not in msg and "GOLD-7" in msg, msg
    now = contract(admin, "K-20001")
    assert (now["quantity"], now["reseller_id"]) == (k1["quantity"], k1["reseller_id"]), now
