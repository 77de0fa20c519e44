"""Deal registration (core/services/deals.c, core/api/deals.c;
docs/programmes.md "Deal registration").

renewd runs on the demo store with the test clock (test_quote_pdf's start()):
RES-PLAT (partner 2, platinum) and RES-GOLD (partner 3, gold) register deals,
a channel manager reviews them.  The demo's K-20003 is RES-GOLD's live
contract of Brightwater Logistics (CUST-1002, it@brightwater.example,
LS1 4AP): the installed base a registration of RES-PLAT conflicts with.

* test_lifecycle: every branch -- register (acknowledged by e-mail with the
  vendor's promised response time, the channel managers told), approve
  (default and chosen expiry), reject (a reason required), resubmit as a
  new linked registration (once, and only a rejected or expired one), expire
  on the sweep (idempotent), extend up to the vendor's limit, win with proof
  of performance (a document), lose with a reason; partners see their own
  registrations only and never decide; every step audited and e-mailed.
* test_conflict_report: the report found against another partner's open
  registration and against another partner's live contract of that customer,
  each with how it matched: name, domain, postcode, external id.
* test_won_deal_margin: a won registration's customer and product line
  carry deal = "won" into the margin policy: the deal bonus is on the
  quote's shares and in the commission of the resulting order, and not on
  another customer's quote.
"""
import datetime
import re
import time

from conftest import assert_json_error
from test_renewals import set_clock as renewals_set_clock
from test_commissions import order_and_pay
from test_quote_pdf import start, wait_mail

USERS = [("plat@x.example", "partner-admin", "2"), ("gold@x.example", "partner-admin", "3"),
         ("cm@x.example", "channel-manager", None)]


def begin(daemon, tmp_path):
    d, data, admin, u, other = start(daemon, tmp_path, users=USERS)
    plat, gold, cm = u["plat@x.example"], u["gold@x.example"], u["cm@x.example"]
    today = datetime.date.fromisoformat(admin.get("/api/v1/clock")["today"])
    products = {p["sku"]: p for p in admin.items("/api/v1/products")}
    contracts = {k["external_id"]: k for k in admin.items("/api/v1/contracts")}
    return d, data, admin, plat, gold, cm, other, today, products, contracts


def register(client, body, status=201):
    r = client.call("POST", "/api/v1/deals", body)
    assert r.status == status, r
    return r.json()


def mail_text(msg):
    return msg.get_body(preferencelist=("plain",)).get_content()


def outbox_refs(admin):
    return [m["ref"] for m in admin.items("/api/v1/outbox")]


def set_clock(admin, day):
    renewals_set_clock(admin, day)  # (returns once the day's sweep is over, also one that went in turns)


def test_lifecycle(daemon, tmp_path):
    d, data, admin, plat, gold, cm, other, today, products, contracts = begin(daemon, tmp_path)
    admin.ok("PATCH", "/api/v1/vendor", {"deal_response_hours": 24, "deal_expiry_days": 60,
                                         "deal_extension_limit": 2, "deal_extension_days": 30})
    assert_json_error(admin.call("PATCH", "/api/v1/vendor", {"deal_extension_limit": 101}), 400,
                      "invalid")["field"] == "deal_extension_limit"
    wsg = products["WSG-STD"]["id"]
    close = (today + datetime.timedelta(days=45)).isoformat()
    body = {"customer": {"name": "Quayside Opticians", "email": "it@quayside.example", "postcode": "NE1 3AF",
                         "country": "GB"},
            "products": [wsg], "seats": 40, "expected_value": 144000, "close_date": close,
            "situation": "evaluating two vendors", "notes": "met the CIO"}

    # ---- bad input: each refusal names its field
    for bad, field in (({**body, "products": []}, "products"), ({**body, "products": [999999]}, "products"),
                       ({**body, "products": [wsg, products["DLP-EP"]["id"]]}, "products"),
                       ({**body, "close_date": "2001-01-01"}, "close_date"),
                       ({**body, "close_date": "tomorrow"}, "close_date"),
                       ({**body, "customer": {"email": "x@y.example"}}, "customer.name"),
                       ({k: v for k, v in body.items() if k != "customer"}, "customer"),
                       ({**body, "customer_id": 1}, "customer"),
                       ({**body, "colour": "red"}, "colour")):
        e = assert_json_error(plat.call("POST", "/api/v1/deals", bad), 400, "invalid")
        assert e["field"] == field, (bad, e)
    # a customer the partner does not sell to cannot be named by id
    demo_customers = {c["external_id"]: c for c in admin.items("/api/v1/customers")}
    e = assert_json_error(plat.call("POST", "/api/v1/deals", {**{k: v for k, v in body.items() if k != "customer"},
                                                              "customer_id": demo_customers["CUST-1002"]["id"]}), 400)
    assert e["field"] == "customer_id", e

    # ---- register: submitted, acknowledged with the promise, the channel manager told
    a = register(plat, body)
    assert a["state"] == "submitted" and a["partner_id"] == 2 and a["product_line"] == "Web Security", a
    assert a["customer_name"] == "Quayside Opticians" and a["seats"] == 40 and a["close_date"] == close, a
    ack = wait_mail(data, f"deal:{a['id']}:submitted")
    assert str(ack["To"]) == "plat@x.example", ack["To"]
    assert "within 24 hours" in mail_text(ack), mail_text(ack)
    # branded like the renewal mails: the partner's colours in the HTML, its contact block in the text
    html = ack.get_body(preferencelist=("html",)).get_content()
    assert "#0b4f8a" in html and "within 24 hours" in html, html
    assert "Bluefin IT Solutions, 14 Portland Street" in mail_text(ack), mail_text(ack)
    review = wait_mail(data, f"deal:{a['id']}:review:{cm.user_id}")
    assert str(review["To"]) == "cm@x.example" and "Bluefin IT Solutions" in str(review["Subject"]), review["Subject"]
    # the vendor registers for a partner: partner_id required
    e = assert_json_error(cm.call("POST", "/api/v1/deals", body), 400)
    assert e["field"] == "partner_id", e

    # ---- partners: their own only; never decide
    assert [x["id"] for x in gold.items("/api/v1/deals")] == []
    assert_json_error(gold.call("GET", f"/api/v1/deals/{a['id']}"), 404)
    mine = plat.get(f"/api/v1/deals/{a['id']}")
    assert "conflicts" not in mine, mine
    for step, b in (("approve", {}), ("reject", {"reason": "no"}), ("extend", {})):
        assert_json_error(plat.call("POST", f"/api/v1/deals/{a['id']}/{step}", b), 403)
    assert_json_error(gold.call("POST", f"/api/v1/deals/{a['id']}/approve", {}), 404)  # not its own: not there
    assert "conflicts" in cm.get(f"/api/v1/deals/{a['id']}")
    # win or lose before approval: refused
    assert_json_error(plat.call("POST", f"/api/v1/deals/{a['id']}/lose", {"reason": "x"}), 409)

    # ---- approve with the vendor's default expiry (60 days); audited and e-mailed
    a = cm.ok("POST", f"/api/v1/deals/{a['id']}/approve", {})
    assert a["state"] == "approved" and a["expires_on"] == (today + datetime.timedelta(days=60)).isoformat(), a
    assert a["decided_by"] == cm.user_id, a
    msg = wait_mail(data, f"deal:{a['id']}:approved")
    assert a["expires_on"] in mail_text(msg)
    assert_json_error(cm.call("POST", f"/api/v1/deals/{a['id']}/approve", {}), 409)
    assert_json_error(cm.call("POST", f"/api/v1/deals/{a['id']}/reject", {"reason": "late"}), 409)

    # ---- reject: the reason is required, and sent
    b = register(plat, {**body, "customer": {"name": "Riverside Vets"}})
    e = assert_json_error(cm.call("POST", f"/api/v1/deals/{b['id']}/reject", {}), 400)
    assert e["field"] == "reason", e
    assert_json_error(cm.call("POST", f"/api/v1/deals/{b['id']}/reject", {"reason": "   "}), 400)
    b = cm.ok("POST", f"/api/v1/deals/{b['id']}/reject", {"reason": "the vendor's own team works this account"})
    assert b["state"] == "rejected" and b["reason"] == "the vendor's own team works this account", b
    assert "the vendor's own team works this account" in mail_text(wait_mail(data, f"deal:{b['id']}:rejected"))
    assert_json_error(cm.call("POST", f"/api/v1/deals/{b['id']}/extend", {}), 409)

    # ---- resubmit as a new linked registration, once; not an open one, not another partner's
    e = assert_json_error(plat.call("POST", "/api/v1/deals", {**body, "previous_id": a["id"]}), 409)
    assert e["field"] == "previous_id", e
    assert_json_error(gold.call("POST", "/api/v1/deals", {**body, "previous_id": b["id"]}), 404)
    b2 = register(plat, {k: v for k, v in body.items() if k != "customer"} |
                  {"previous_id": b["id"], "notes": "the customer asked for us by name"})
    assert b2["previous_id"] == b["id"] and b2["customer_id"] == b["customer_id"] and b2["state"] == "submitted", b2
    assert plat.get(f"/api/v1/deals/{b['id']}")["next_id"] == b2["id"]
    assert_json_error(plat.call("POST", "/api/v1/deals", {**body, "previous_id": b["id"]}), 409)
    # one open registration per partner, customer and product line
    e = assert_json_error(plat.call("POST", "/api/v1/deals", {k: v for k, v in body.items() if k != "customer"} |
                                    {"customer_id": b2["customer_id"]}), 409)
    assert e["field"] == "customer_id" and str(b2["id"]) in e["message"], e

    # ---- expire on the sweep, once
    c = register(plat, {**body, "customer": {"name": "Tidewater Schools"}})
    until = today + datetime.timedelta(days=3)
    assert_json_error(cm.call("POST", f"/api/v1/deals/{c['id']}/approve", {"expires_on": "2001-01-01"}), 400)
    c = cm.ok("POST", f"/api/v1/deals/{c['id']}/approve", {"expires_on": until.isoformat()})
    assert c["expires_on"] == until.isoformat(), c
    set_clock(admin, until)
    assert cm.get(f"/api/v1/deals/{c['id']}")["state"] == "approved"  # its last day: still holds
    day2 = until + datetime.timedelta(days=1)
    set_clock(admin, day2)
    c = cm.get(f"/api/v1/deals/{c['id']}")
    assert c["state"] == "expired", c
    wait_mail(data, f"deal:{c['id']}:expired")
    set_clock(admin, day2 + datetime.timedelta(days=1))
    assert outbox_refs(admin).count(f"deal:{c['id']}:expired") == 1
    audit = admin.get(f"/api/v1/audit?object=deals&object_id={c['id']}")["items"]
    assert [x["note"] for x in audit].count("deal expired") == 1, audit
    assert any(x["note"] == "deal approved" for x in audit), audit
    # an expired one cannot be closed
    assert_json_error(plat.call("POST", f"/api/v1/deals/{c['id']}/lose", {"reason": "x"}), 409)

    # ---- the partner asks for an extension: the channel managers are told; once until it is granted
    assert_json_error(plat.call("POST", f"/api/v1/deals/{c['id']}/extend", {}), 403)
    assert_json_error(cm.call("POST", f"/api/v1/deals/{c['id']}/extension-request"), 403)
    assert_json_error(gold.call("POST", f"/api/v1/deals/{c['id']}/extension-request"), 404)
    assert_json_error(plat.call("POST", f"/api/v1/deals/{b2['id']}/extension-request"), 409)  # submitted
    assert_json_error(plat.call("POST", f"/api/v1/deals/{c['id']}/extension-request", {"days": 5}), 400)
    asked = plat.ok("POST", f"/api/v1/deals/{c['id']}/extension-request")
    assert asked["extension_requested_at"] and asked["state"] == "expired", asked
    msg = wait_mail(data, f"deal:{c['id']}:extension-request:0:{cm.user_id}")
    assert str(msg["To"]) == "cm@x.example" and "asks for an extension" in mail_text(msg), mail_text(msg)
    assert_json_error(plat.call("POST", f"/api/v1/deals/{c['id']}/extension-request"), 409)
    assert {x["id"] for x in cm.items("/api/v1/deals?state=expired")} == {c["id"]}

    # ---- extend: the expired one comes back, up to the vendor's limit (2)
    now = day2 + datetime.timedelta(days=1)
    c = cm.ok("POST", f"/api/v1/deals/{c['id']}/extend", {})
    assert c["state"] == "approved" and c["extensions"] == 1 and not c["extension_requested_at"], c
    assert c["expires_on"] == (now + datetime.timedelta(days=30)).isoformat(), c
    wait_mail(data, f"deal:{c['id']}:extended:1")
    assert_json_error(cm.call("POST", f"/api/v1/deals/{c['id']}/extend", {"days": 0}), 400)
    c = cm.ok("POST", f"/api/v1/deals/{c['id']}/extend", {"days": 10})
    assert c["extensions"] == 2 and c["expires_on"] == (now + datetime.timedelta(days=40)).isoformat(), c
    e = assert_json_error(cm.call("POST", f"/api/v1/deals/{c['id']}/extend", {"days": 10}), 422)
    assert e["field"] == "extensions", e
    e = assert_json_error(plat.call("POST", f"/api/v1/deals/{c['id']}/extension-request"), 422)
    assert e["field"] == "extensions", e
    assert cm.get(f"/api/v1/deals/{c['id']}")["extensions"] == 2

    # ---- win with proof of performance: the document is required, then kept
    r = plat.call("POST", f"/api/v1/deals/{a['id']}/win?name=po.pdf", b"", headers={"Content-Type": "application/pdf"})
    assert_json_error(r, 400)
    r = plat.call("POST", f"/api/v1/deals/{a['id']}/win?name=../po.pdf", b"%PDF-1.4 x",
                  headers={"Content-Type": "application/pdf"})
    assert assert_json_error(r, 400)["field"] == "name"
    # a partner's people never take the bulk body limit: a proof over max_body_bytes (1 MiB) is refused
    # (refused from the request head: send the head only, as test_api_crud does, or the client may still be
    # writing the body when renewd answers and closes)
    from conftest import raw_connect, recv_http_response
    sock = raw_connect(plat.daemon.port)
    try:
        sock.sendall(f"POST /api/v1/deals/{a['id']}/win?name=big.pdf HTTP/1.1\r\nHost: t\r\n"
                     f"Authorization: Bearer {plat.token}\r\nContent-Type: application/pdf\r\n"
                     f"Content-Length: {1 << 20 | 1}\r\n\r\n".encode())
        assert_json_error(recv_http_response(sock, time.monotonic() + 10), 413)
    finally:
        sock.close()
    proof = b"%PDF-1.4 the customer's purchase order 4471"
    r = plat.call("POST", f"/api/v1/deals/{a['id']}/win?name=po-4471.pdf", proof,
                  headers={"Content-Type": "application/pdf"})
    assert r.status == 200, r
    won = r.json()
    assert won["state"] == "won" and won["proof_document_id"] and won["closed_at"], won
    got = plat.call("GET", f"/api/v1/deals/{a['id']}/proof")
    assert got.status == 200 and got.body == proof and got.headers["content-type"].startswith("application/pdf"), got
    assert cm.call("GET", f"/api/v1/deals/{a['id']}/proof").body == proof
    assert_json_error(gold.call("GET", f"/api/v1/deals/{a['id']}/proof"), 404)
    # not through the contract documents' routes either (it belongs to no contract)
    for who in (plat, gold):
        assert_json_error(who.call("GET", f"/api/v1/documents/{won['proof_document_id']}/content"), 404)
    assert_json_error(plat.call("GET", f"/api/v1/deals/{c['id']}/proof"), 404)
    assert_json_error(plat.call("POST", f"/api/v1/deals/{a['id']}/lose", {"reason": "x"}), 409)

    # ---- lose with a reason
    assert assert_json_error(plat.call("POST", f"/api/v1/deals/{c['id']}/lose", {}), 400)["field"] == "reason"
    c = plat.ok("POST", f"/api/v1/deals/{c['id']}/lose", {"reason": "the customer chose a competitor"})
    assert c["state"] == "lost" and c["reason"] == "the customer chose a competitor", c

    # ---- lists: states as the design names them; filter by state
    states = {x["id"]: x["state"] for x in cm.items("/api/v1/deals")}
    assert states == {a["id"]: "won", b["id"]: "rejected", b2["id"]: "submitted", c["id"]: "lost"}, states
    assert [x["id"] for x in cm.items("/api/v1/deals?state=won")] == [a["id"]]
    assert_json_error(cm.call("GET", "/api/v1/deals?state=open"), 400)
    assert {x["id"] for x in plat.items("/api/v1/deals")} == set(states)
    # another vendor sees none of it
    assert other.items("/api/v1/deals") == []
    assert_json_error(other.call("GET", f"/api/v1/deals/{a['id']}"), 404)
    notes = {x["note"] for x in admin.items("/api/v1/audit?object=deals")}
    assert {"deal registered", "deal resubmitted", "deal approved", "deal rejected", "deal expired", "deal extended",
            "deal extension requested", "deal won", "deal lost"} <= notes, notes


def test_conflict_report(daemon, tmp_path):
    d, data, admin, plat, gold, cm, other, today, products, contracts = begin(daemon, tmp_path)
    k = contracts["K-20003"]  # RES-GOLD's live contract of Brightwater Logistics
    assert k["reseller_id"] == 3 and k["status"] == "live", k
    close = (today + datetime.timedelta(days=30)).isoformat()
    wsg = products["WSG-STD"]["id"]
    # RES-GOLD's own open registration for its customer, same product line
    g = register(gold, {"customer_id": k["customer_id"], "products": [products["WSG-PLUS"]["id"]],
                        "close_date": close})
    assert g["customer_id"] == k["customer_id"], g
    # RES-PLAT registers the same customer four ways: each matches on one key only
    cases = {
        "name": {"name": "BRIGHTWATER LOGISTICS Inc."},
        "domain": {"name": "BW Freight", "email": "buyer@Brightwater.example"},
        "postcode": {"name": "Brightwater Haulage", "postcode": "ls14ap"},
        "external_id": {"name": "Zeta Holdings", "external_id": "CUST-1002"},
    }
    for reason, cust in cases.items():
        x = register(plat, {"customer": cust, "products": [wsg], "close_date": close})
        report = cm.get(f"/api/v1/deals/{x['id']}")["conflicts"]
        base = [e for e in report["installed_base"] if e["contract_id"] == k["id"]]
        assert len(base) == 1, report
        assert base[0]["partner_id"] == 3 and base[0]["reasons"] == [reason], (reason, base)
        assert base[0]["customer_id"] == k["customer_id"] and base[0]["same_line"] is True, base
        regs = [e for e in report["registrations"] if e["deal_id"] == g["id"]]
        assert len(regs) == 1 and regs[0]["partner_id"] == 3 and regs[0]["reasons"] == [reason], (reason, report)
        assert regs[0]["state"] == "submitted", regs
    # the vendor's own open quote of that customer: once published to the vendor's sales, it is reported too
    opp = next(o for o in admin.items("/api/v1/opportunities") if o["contract_id"] == k["id"])
    x = register(plat, {"customer": cases["postcode"], "products": [wsg], "close_date": close})
    assert cm.get(f"/api/v1/deals/{x['id']}")["conflicts"]["opportunities"] == []  # still the partner's decision
    admin.ok("POST", f"/api/v1/opportunities/{opp['id']}/decision", {"publish": "vendor"})
    (o,) = cm.get(f"/api/v1/deals/{x['id']}")["conflicts"]["opportunities"]
    assert o["opportunity_id"] == opp["id"] and o["number"] == opp["number"] and o["reasons"] == ["postcode"], o
    # and RES-GOLD's registration conflicts with RES-PLAT's (open, same line) -- but not its own contract
    report = cm.get(f"/api/v1/deals/{g['id']}")["conflicts"]
    assert all(e["partner_id"] != 3 for e in report["installed_base"]), report
    assert {e["partner_id"] for e in report["registrations"]} == {2}, report
    # a customer that matches nothing: an empty report
    x = register(plat, {"customer": {"name": "Unrelated Widgets"}, "products": [wsg], "close_date": close})
    report = cm.get(f"/api/v1/deals/{x['id']}")["conflicts"]
    assert report == {"registrations": [], "installed_base": [], "opportunities": []}, report
    # a closed registration is no conflict
    cm.ok("POST", f"/api/v1/deals/{g['id']}/reject", {"reason": "duplicate"})
    x = register(plat, {"customer": cases["name"], "products": [wsg], "close_date": close})
    assert cm.get(f"/api/v1/deals/{x['id']}")["conflicts"]["registrations"] == []


def test_won_deal_margin(daemon, tmp_path):
    d, data, admin, plat, gold, cm, other, today, products, contracts = begin(daemon, tmp_path)
    admin.ok("POST", "/api/v1/plugins/payment-po/enablements", {"config": {}}, status=201)
    vendor = admin.get("/api/v1/vendor")
    bonus = vendor["deal_bonus_bp"]
    assert bonus > 0, vendor
    wsg = products["WSG-STD"]
    end = today + datetime.timedelta(days=200)  # beyond the renewal window (90 days)
    cust = {}
    for name, slug in (("Won Deal Ltd", "won"), ("No Deal Ltd", "nodeal")):
        cid = admin.ok("POST", "/api/v1/customers", {"name": name, "external_id": f"C-{slug}",
                                                     "email": f"it@{slug}.example", "country": "GB"},
                       status=201)["id"]
        kid = admin.ok("POST", "/api/v1/contracts", {"external_id": f"K-{slug}", "customer_id": cid,
                                                     "product_id": wsg["id"], "reseller_id": 2, "quantity": 10,
                                                     "start": (end - datetime.timedelta(days=364)).isoformat(),
                                                     "end": end.isoformat()}, status=201)["id"]
        cust[name] = (cid, kid)
    # RES-PLAT registers the deal for its customer; approved, then won with proof
    x = register(plat, {"customer_id": cust["Won Deal Ltd"][0], "products": [wsg["id"]], "seats": 10,
                        "close_date": (today + datetime.timedelta(days=20)).isoformat()})
    cm.ok("POST", f"/api/v1/deals/{x['id']}/approve", {})
    r = plat.call("POST", f"/api/v1/deals/{x['id']}/win?name=proof.pdf", b"%PDF-1.4 signed order",
                  headers={"Content-Type": "application/pdf"})
    assert r.status == 200 and r.json()["state"] == "won", r
    # a dry run of a policy that doubles the won-deal bonus changes that contract's line only
    import json as _json
    from pathlib import Path
    scripts = Path(__file__).resolve().parents[2] / "scripts" / "policies"
    src = (scripts / "margin.lua").read_text().replace("bp = bp + line.vendor.deal_bonus_bp",
                                                       "bp = bp + 2 * line.vendor.deal_bonus_bp")
    vectors = [v for v in _json.loads((scripts / "margin.vectors.json").read_text()) if v["line"]["deal"] != "won"]
    r = admin.call("POST", "/api/v1/policies/margin", {"source": src, "vectors": vectors})
    assert r.status == 201, r
    r = admin.call("POST", f"/api/v1/policies/margin/{r.json()['version']}/dry-run", timeout=60)
    assert r.status == 200, r
    report = r.json()
    assert report["lines_changed"] == 1, report
    assert {x["contract_id"] for x in report["largest_changes"]} == {cust["Won Deal Ltd"][1]}, report
    # the contracts enter the renewal window: quoted by the sweep
    set_clock(admin, end - datetime.timedelta(days=80))
    opps = {o["contract_id"]: o for o in admin.items("/api/v1/opportunities")}
    won, plain = opps[cust["Won Deal Ltd"][1]], opps[cust["No Deal Ltd"][1]]
    line, line0 = won["lines"][0], plain["lines"][0]
    assert line["list"] == line0["list"] == 10 * wsg["prices"][0]["amount"], (line, line0)
    for mode, base in (("partner", 3300), ("vendor", 2000)):
        sh = line["margins"][mode]["shares"][0]
        assert sh["party"] == "reseller" and sh["bp"] == base + bonus, (mode, sh)
        assert sh["amount"] == line["list"] * (base + bonus) // 10000, sh
        assert "won deal registration" in sh["reason"], sh
        sh0 = line0["margins"][mode]["shares"][0]
        assert sh0["bp"] == base and "deal" not in sh0["reason"], sh0
    # the order of the won deal's quote: the bonus in the commission
    commissions = {}
    for name, o in (("won", won), ("plain", plain)):
        admin.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"})
        o = admin.get(f"/api/v1/opportunities/{o['id']}")
        order = order_and_pay(admin, o, f"deal-{name}", f"BACS-{name}")
        entries = {e["party"]: e for e in admin.items("/api/v1/commissions") if e["order_id"] == order["id"]}
        assert entries["reseller"]["partner_id"] == 2, entries
        # the distributor of record (RES-PLAT's parent) keeps its own share: the bonus is the reseller's
        assert entries.get("distributor", {"bp": vendor["distributor_bp"]})["bp"] == vendor["distributor_bp"], entries
        commissions[name] = (entries["reseller"], o["lines"][0]["list"])
    e, lst = commissions["won"]
    assert e["bp"] == 2000 + bonus and e["amount"] == lst * (2000 + bonus) // 10000 and e["kind"] == "earned", e
    e, lst = commissions["plain"]
    assert e["bp"] == 2000 and e["amount"] == lst * 2000 // 10000, e
    # and on the reseller's commission statement of that month: a line at the bonus rate (CSV)
    won_entry = commissions["won"][0]
    day = datetime.date.fromisoformat(admin.get("/api/v1/clock")["today"])
    statement_day = vendor.get("statement_day") or 1
    nxt = (day.replace(day=1) + datetime.timedelta(days=32)).replace(day=min(statement_day, 28))
    set_clock(admin, nxt)
    st = [x for x in admin.items("/api/v1/statements") if x["partner_id"] == 2 and x["month"] == won_entry["month"]]
    assert len(st) == 1, st
    r = admin.call("GET", st[0]["csv_url"])
    assert r.status == 200, r
    import csv as _csv
    import io as _io
    rows = [x for x in _csv.DictReader(_io.StringIO(r.body.decode())) if x["row"] == "line"]
    amount = f"{won_entry['amount'] // 100}.{won_entry['amount'] % 100:02d}"
    assert any(int(x["bp"]) == 2000 + bonus and x["amount"] == amount for x in rows), (rows, won_entry)


def test_pages(daemon, tmp_path):
    """The partner portal registers a deal, lists it with its state and
    expiry and closes it won with the proof uploaded; the console shows the
    conflict report with the match reasons and approves; forms without the
    session's CSRF token are refused."""
    from conftest import api_user, demo_load, http_request
    from test_pages_console import Browser, make_user, text

    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    make_user(data, "plat@x.example", "partner-admin", 2)
    make_user(data, "cm@x.example", "channel-manager", None)
    token, uid = api_user(data, email="admin@x.example")
    d = daemon(data=data, args=["--test-clock", "1", "--sched-interval-ms", "100000"])
    from conftest import ApiClient
    admin = ApiClient(d, token, uid)
    today = datetime.date.fromisoformat(admin.get("/api/v1/clock")["today"])
    products = {p["sku"]: p for p in admin.items("/api/v1/products")}

    partner = Browser(d)
    assert partner.login("plat@x.example")
    page = text(partner.get("/partner/deals").text)
    assert "Register a deal" in page and "No registrations yet" in page, page
    assert "within 48 hours" in page, page
    form = {"customer_id": "new", "customer_name": "Brightwater Logistics plc", "customer_email": "",
            "customer_postcode": "", "customer_external_id": "", "product": str(products["WSG-STD"]["id"]),
            "seats": "30", "value": "12000.50", "close_date": (today + datetime.timedelta(days=40)).isoformat(),
            "situation": "renewing with a competitor", "notes": ""}
    partner.post("/partner/deals", form, status=403, csrf=False)
    r = partner.post("/partner/deals", {**form, "close_date": ""}, status=400)
    assert "close date" in text(r.text), text(r.text)
    r = partner.post("/partner/deals", {**form, "customer_name": ""}, status=400)
    assert "customer.name" in text(r.text), text(r.text)
    partner.post("/partner/deals", form)
    (deal,) = admin.items("/api/v1/deals")
    assert deal["expected_value"] == 1200050 and deal["seats"] == 30 and deal["state"] == "submitted", deal
    page = text(partner.get("/partner/deals").text)
    assert "Brightwater Logistics plc: registration" in page and "submitted" in page, page

    cm = Browser(d)
    assert cm.login("cm@x.example")
    page = text(cm.get("/vendor/deals").text)
    assert "Conflicts found" in page and "Harbour Networks: live contract K-20003" in page, page
    assert "matched by name" in page, page
    cm.post(f"/vendor/deals/{deal['id']}", {"action": "approve", "expires_on": ""}, status=403, csrf=False)
    r = cm.post(f"/vendor/deals/{deal['id']}", {"action": "reject", "reason": ""}, status=400)
    assert "reason" in text(r.text), text(r.text)
    cm.post(f"/vendor/deals/{deal['id']}", {"action": "approve", "expires_on": ""})
    until = (today + datetime.timedelta(days=90)).isoformat()
    assert admin.get(f"/api/v1/deals/{deal['id']}")["expires_on"] == until
    page = text(partner.get("/partner/deals").text)
    assert "approved" in page and f"until {until}" in page, page
    # the partner asks for an extension from its page; the console lists it to review
    partner.post(f"/partner/deals/{deal['id']}", {"action": "extension"})
    assert admin.get(f"/api/v1/deals/{deal['id']}")["extension_requested_at"]
    assert "An extension was asked for on" in text(partner.get("/partner/deals").text)
    page = text(cm.get("/vendor/deals").text)
    assert "Brightwater Logistics plc" in page and "An extension was asked for on" in page, page
    # the partner cannot use the console's decision form
    partner.post(f"/vendor/deals/{deal['id']}", {"action": "extend", "days": "5"}, status=303)
    assert admin.get(f"/api/v1/deals/{deal['id']}")["extensions"] == 0

    # close won: the proof uploaded as multipart/form-data
    def upload(csrf):
        boundary = "----renewdtest42"
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf}\r\n'.encode(),
                 f'--{boundary}\r\nContent-Disposition: form-data; name="proof"; filename="signed-po.pdf"\r\n'
                 f'Content-Type: application/pdf\r\n\r\n'.encode() + b"%PDF-1.4 signed\r\n",
                 f"--{boundary}--\r\n".encode()]
        h = {"Cookie": "; ".join(f"{k}={v}" for k, v in partner.cookies.items()),
             "Content-Type": f"multipart/form-data; boundary={boundary}"}
        return http_request(d.port, "POST", f"/partner/deals/{deal['id']}/win", body=b"".join(parts), headers=h)
    assert upload("0" * 64).status == 403
    assert admin.get(f"/api/v1/deals/{deal['id']}")["state"] == "approved"
    r = upload(partner.csrf)
    assert r.status == 303, r
    won = admin.get(f"/api/v1/deals/{deal['id']}")
    assert won["state"] == "won", won
    proof = admin.call("GET", f"/api/v1/deals/{deal['id']}/proof")
    assert proof.body == b"%PDF-1.4 signed" and "signed-po.pdf" in proof.headers["content-disposition"], proof


def test_approved_deal_reaches_the_policy(daemon, tmp_path):
    """An approved registration, not past its expiry on the day the quote
    is priced, carries deal = "approved" into the margin policy (a policy
    that pays 100 bp for it shows it); one that expired first carries "none";
    another partner's quote of the same customer carries "none"."""
    import json as _json
    from pathlib import Path
    d, data, admin, plat, gold, cm, other, today, products, contracts = begin(daemon, tmp_path)
    scripts = Path(__file__).resolve().parents[2] / "scripts" / "policies"
    src = (scripts / "margin.lua").read_text().replace(
        '  if line.deal == "won" then',
        '  if line.deal == "approved" then\n    bp = bp + 100\n    reason = reason .. ", plus 1 % for an approved deal registration"\n  end\n'
        '  if line.deal == "won" then')
    assert src.count('"approved"') == 1
    # the shipped vectors, less the one that says an approved registration earns nothing
    vectors = [v for v in _json.loads((scripts / "margin.vectors.json").read_text())
               if v["line"]["deal"] != "approved"]
    r = admin.call("POST", "/api/v1/policies/margin", {"source": src, "vectors": vectors, "note": "approved deals"})
    assert r.status == 201, r
    admin.ok("POST", f"/api/v1/policies/margin/{r.json()['version']}/activate")
    wsg = products["WSG-STD"]
    end = today + datetime.timedelta(days=200)
    made = {}
    for slug, reseller in (("approved", 2), ("lapsed", 2), ("other", 3)):
        cid = admin.ok("POST", "/api/v1/customers", {"name": f"{slug.title()} Deal Ltd", "external_id": f"C-{slug}",
                                                     "country": "GB"}, status=201)["id"]
        kid = admin.ok("POST", "/api/v1/contracts", {"external_id": f"K-{slug}", "customer_id": cid,
                                                     "product_id": wsg["id"], "reseller_id": reseller, "quantity": 10,
                                                     "start": (end - datetime.timedelta(days=364)).isoformat(),
                                                     "end": end.isoformat()}, status=201)["id"]
        made[slug] = (cid, kid)
    quote_day = end - datetime.timedelta(days=80)
    close = (today + datetime.timedelta(days=20)).isoformat()
    for slug, until in (("approved", quote_day + datetime.timedelta(days=10)),
                        ("lapsed", quote_day - datetime.timedelta(days=100))):
        x = register(plat, {"customer_id": made[slug][0], "products": [wsg["id"]], "close_date": close})
        cm.ok("POST", f"/api/v1/deals/{x['id']}/approve", {"expires_on": until.isoformat()})
    # an approved registration of RES-PLAT (made by the channel manager) for RES-GOLD's customer: not RES-GOLD's deal
    x = register(cm, {"partner_id": 2, "customer_id": made["other"][0], "products": [wsg["id"]], "close_date": close})
    cm.ok("POST", f"/api/v1/deals/{x['id']}/approve", {})
    set_clock(admin, quote_day)
    opps = {o["contract_id"]: o for o in admin.items("/api/v1/opportunities")}
    for slug, extra in (("approved", 100), ("lapsed", 0), ("other", 0)):
        o = opps[made[slug][1]]
        base = {"approved": (3300, 2000), "lapsed": (3300, 2000), "other": (2500, 2000)}[slug]
        for mode, b in zip(("partner", "vendor"), base):
            sh = o["lines"][0]["margins"][mode]["shares"][0]
            assert sh["bp"] == b + extra, (slug, mode, sh)
            assert ("approved deal registration" in sh["reason"]) == bool(extra), (slug, sh)
    lapsed = [x for x in cm.items("/api/v1/deals") if x["customer_id"] == made["lapsed"][0]]
    assert [x["state"] for x in lapsed] == ["expired"], lapsed


def test_merge_follows_the_registration(daemon, tmp_path):
    """The customer a partner registered is the vendor's customer under
    another name: merging it into the existing customer re-points the
    registration (audited), the margin lookup and the report follow, and
    renewctl check finds every reference sound."""
    from test_merge_integrity import check_clean
    d, data, admin, plat, gold, cm, other, today, products, contracts = begin(daemon, tmp_path)
    k = contracts["K-20003"]
    close = (today + datetime.timedelta(days=30)).isoformat()
    x = register(plat, {"customer": {"name": "Brightwater Logistics Limited"}, "products": [products["WSG-STD"]["id"]],
                        "close_date": close})
    gone = x["customer_id"]
    admin.ok("POST", f"/api/v1/customers/{k['customer_id']}/merge", {"from": [gone]})
    x = cm.get(f"/api/v1/deals/{x['id']}")
    assert x["customer_id"] == k["customer_id"], x
    audit = admin.items(f"/api/v1/audit?object=deals&object_id={x['id']}")
    assert any(e["action"] == "merge" and e["after"]["customer_id"] == k["customer_id"] for e in audit), audit
    # the same customer now: RES-GOLD's live contract is in the report, every reason matching
    (base,) = [e for e in x["conflicts"]["installed_base"] if e["contract_id"] == k["id"]]
    assert base["customer_id"] == k["customer_id"] and "name" in base["reasons"], base
    # a won registration's proof belongs to no contract: still no dangling reference
    cm.ok("POST", f"/api/v1/deals/{x['id']}/approve", {})
    r = plat.call("POST", f"/api/v1/deals/{x['id']}/win?name=po.pdf", b"%PDF-1.4", headers={"Content-Type": "application/pdf"})
    assert r.status == 200, r
    check_clean(data)
