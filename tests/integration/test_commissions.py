"""Commissions and monthly statements (core/api/commissions.c,
core/renew/statements.c, core/pdf/statement.c; docs/commissions.md).

renewd runs on the demo store with the test clock (test_quote_pdf's start());
payment-po is enabled for the vendor.  Quotes are ordered and paid through
the API (POST /api/v1/orders with an Idempotency-Key, then
POST /api/v1/orders/{id}/payments).

* test_commissions_and_statements: publish-vendor orders of a platinum, a
  gold and a silver reseller's quotes make "earned" entries of the seed
  margins (vendor mode: 20 %, 20 %, 15 %; the distributor's distributor_bp
  when it is of record), exactly once (a replayed payment adds none); a
  publish-partner order records the retained margin; partners see their own
  entries only.  The test clock moved to the statement day of the next month
  issues one statement per partner, once (another sweep and a restart issue
  none), with the totals in the CSV and in the PDF's text, e-mailed with the
  PDF attached; partners see their own statements only.
"""
import csv
import datetime
import io
import re

from conftest import assert_json_error
from test_pages_console import Browser, make_user
from test_quote_pdf import flat, pdf_text, start, wait_mail

SEED_VENDOR_BP = {"platinum": 2000, "gold": 2000, "silver": 1500}
SEED_PARTNER_BP = {"platinum": 3300, "gold": 2500, "silver": 2000}


def money(minor, currency):
    """rd_money_format: GBP 1,234.56"""
    sign = "-" if minor < 0 else ""
    a = abs(minor)
    return f"{currency} {sign}{a // 100:,}.{a % 100:02d}"


def order_and_pay(admin, o, key, ref):
    r = admin.call("POST", "/api/v1/orders", {"opportunity_id": o["id"], "payment_option": "purchase_order",
                                               "po_number": f"PO-{o['id']}"}, headers={"Idempotency-Key": key})
    assert r.status in (200, 201), r
    order = r.json()
    assert order["state"] == "awaiting_payment", order
    paid = admin.ok("POST", f"/api/v1/orders/{order['id']}/payments", {"amount": order["total"], "reference": ref})
    assert paid["state"] == "fulfilled", paid
    return paid


def pending_of_tier(admin, partners, tier, taken):
    for o in admin.items("/api/v1/opportunities"):
        p = partners[o["reseller_id"]]
        if p["tier"] == tier and o["state"] == "pending_decision" and o["id"] not in taken and o["lines"] \
                and not o["attention"]:
            return o
    raise AssertionError(f"no pending quote of a {tier} reseller")


def test_commissions_and_statements(daemon, tmp_path):
    d, data, admin, u, other = start(daemon, tmp_path, users=[("plat@x.example", "partner-admin", "2"),
                                                                ("gold@x.example", "partner-admin", "3"),
                                                                ("sales@x.example", "partner-sales", "3")])
    plat, gold, psales = u["plat@x.example"], u["gold@x.example"], u["sales@x.example"]
    admin.ok("POST", "/api/v1/plugins/payment-po/enablements", {"config": {}}, status=201)
    vendor = admin.get("/api/v1/vendor")
    for bad in (0, 29, "15"):
        assert_json_error(admin.call("PATCH", "/api/v1/vendor", {"statement_day": bad}), 400)
    admin.ok("PATCH", "/api/v1/vendor", {"statement_day": 15})
    dist_bp = vendor["distributor_bp"]
    partners = {p["id"]: p for p in admin.items("/api/v1/partners")}
    today = datetime.date.fromisoformat(admin.get("/api/v1/clock")["today"])
    month = today.strftime("%Y-%m")

    # ---- publish-vendor orders of each tier: earned entries of the seed margins
    expected = []  # (partner_id, order_id, party, bp, amount, currency, kind)
    taken = set()
    for i, tier in enumerate(("platinum", "gold", "silver")):
        o = pending_of_tier(admin, partners, tier, taken)
        taken.add(o["id"])
        admin.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"})
        o = admin.get(f"/api/v1/opportunities/{o['id']}")
        order = order_and_pay(admin, o, f"com-{i}", f"BACS-{i}")
        # a replayed payment changes nothing
        admin.ok("POST", f"/api/v1/orders/{order['id']}/payments", {"amount": order["total"], "reference": f"BACS-{i}"})
        lst = o["lines"][0]["list"]
        bp = SEED_VENDOR_BP[tier]
        expected.append((o["reseller_id"], order["id"], "reseller", bp, lst * bp // 10000, o["currency"], "earned"))
        if o["distributor_id"]:
            expected.append((o["distributor_id"], order["id"], "distributor", dist_bp, lst * dist_bp // 10000,
                             o["currency"], "earned"))

    # ---- a publish-partner order: the retained margin, for reporting
    o = pending_of_tier(admin, partners, "gold", taken)
    admin.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "partner"})
    o = admin.get(f"/api/v1/opportunities/{o['id']}")
    porder = order_and_pay(admin, o, "com-partner", "BACS-P")
    lst = o["lines"][0]["list"]
    retained = [(o["reseller_id"], porder["id"], "reseller", SEED_PARTNER_BP["gold"],
                 lst * SEED_PARTNER_BP["gold"] // 10000, o["currency"], "retained")]
    if o["distributor_id"]:
        retained.append((o["distributor_id"], porder["id"], "distributor", dist_bp, lst * dist_bp // 10000,
                         o["currency"], "retained"))

    entries = admin.items("/api/v1/commissions")
    got = sorted((e["partner_id"], e["order_id"], e["party"], e["bp"], e["amount"], e["currency"], e["kind"])
                 for e in entries)
    assert got == sorted(expected + retained), got
    assert all(e["month"] == month and e["opportunity_id"] for e in entries), entries
    assert sorted(e["id"] for e in admin.items("/api/v1/commissions?kind=retained")) == \
        sorted(e["id"] for e in entries if e["kind"] == "retained")
    assert admin.items(f"/api/v1/commissions?month=1999-01") == []
    assert_json_error(admin.call("GET", "/api/v1/commissions?month=2026-13"), 400)
    assert_json_error(admin.call("GET", "/api/v1/commissions?bogus=1"), 400)
    # pages: cursor pagination like every list
    page = admin.get("/api/v1/commissions?limit=1")
    assert len(page["items"]) == 1 and page["next_cursor"], page
    # partners see their own entries only; partner-sales none; another vendor none
    assert {e["partner_id"] for e in gold.items("/api/v1/commissions")} == {3}
    assert {e["partner_id"] for e in plat.items("/api/v1/commissions")} == {2}
    assert plat.items("/api/v1/commissions?partner=3") == []
    assert_json_error(psales.call("GET", "/api/v1/commissions"), 403)
    assert other.items("/api/v1/commissions") == []

    # ---- the statement day of the next month: one statement per partner, once
    assert admin.items("/api/v1/statements") == []
    nxt = (today.replace(day=1) + datetime.timedelta(days=32)).replace(day=15)
    admin.ok("POST", "/api/v1/clock", {"date": (nxt - datetime.timedelta(days=1)).isoformat()})
    assert admin.items("/api/v1/statements") == [], "not before the statement day"
    admin.ok("POST", "/api/v1/clock", {"date": nxt.isoformat()})
    statements = admin.items("/api/v1/statements")
    earners = {e[0] for e in expected}
    assert sorted(s["partner_id"] for s in statements) == sorted(earners), statements
    for s in statements:
        mine = [e for e in expected if e[0] == s["partner_id"]]
        want = {}
        for e in mine:
            want.setdefault(e[5], [0, 0])
            want[e[5]][0] += e[4]
            want[e[5]][1] += 1
        assert s["month"] == month and s["lines"] == len(mine), s
        assert {t["currency"]: [t["amount"], t["lines"]] for t in s["totals"]} == want, s
        assert s["issued_on"] == nxt.isoformat() and s["number"].startswith(f"ST-{month}-"), s
        assert admin.get(f"/api/v1/statements/{s['id']}") == s
        # the CSV: one row per entry, a total row per currency
        r = admin.call("GET", s["csv_url"])
        assert r.status == 200 and r.headers["content-type"].startswith("text/csv"), r
        rows = list(csv.DictReader(io.StringIO(r.body.decode())))
        lines = [x for x in rows if x["row"] == "line"]
        totals = {x["currency"]: x["amount"] for x in rows if x["row"] == "total"}
        assert len(lines) == len(mine)
        assert sorted((x["party"], int(x["bp"]), x["amount"]) for x in lines) == \
            sorted((e[2], e[3], f"{e[4] // 100}.{e[4] % 100:02d}") for e in mine), lines
        assert totals == {c: f"{a // 100}.{a % 100:02d}" for c, (a, _) in want.items()}, totals
        # the PDF's text
        r = admin.call("GET", s["pdf_url"])
        assert r.status == 200 and r.headers["content-type"] == "application/pdf", r
        text = flat(pdf_text(tmp_path, r.body, f"st{s['id']}"))
        assert "Commission statement" in text and s["number"] in text and partners[s["partner_id"]]["name"] in text
        for c, (a, n) in want.items():
            assert money(a, c) in text, (money(a, c), text)
            assert f"Total {c}" in text, text
        for e in mine:
            assert money(e[4], e[5]) in text and any(o in text for o in [f"O-"]), text
        # the e-mail, with the PDF attached
        msg = wait_mail(data, f"statement:{s['partner_id']}:{month}")
        assert str(msg["To"]) == partners[s["partner_id"]]["email"], msg["To"]
        assert s["number"] in str(msg["Subject"]), msg["Subject"]
        atts = [p for p in msg.iter_attachments() if p.get_content_type() == "application/pdf"]
        assert len(atts) == 1 and atts[0].get_filename() == f"statement-{month}.pdf", atts
        att = flat(pdf_text(tmp_path, atts[0].get_content(), f"mail{s['id']}"))
        for c, (a, _) in want.items():
            assert money(a, c) in att, att
        body = msg.get_body(("plain",)).get_content()
        for c, (a, _) in want.items():
            assert money(a, c) in body, body

    # partners see their own statements only
    gold_st = [s for s in statements if s["partner_id"] == 3]
    assert [s["id"] for s in gold.items("/api/v1/statements")] == [s["id"] for s in gold_st]
    plat_st = next(s for s in statements if s["partner_id"] == 2)
    assert_json_error(gold.call("GET", f"/api/v1/statements/{plat_st['id']}"), 404, "not_found")
    assert_json_error(gold.call("GET", f"/api/v1/statements/{plat_st['id']}/pdf"), 404, "not_found")
    assert_json_error(gold.call("GET", f"/api/v1/statements/{plat_st['id']}/csv"), 404, "not_found")
    assert plat.get(f"/api/v1/statements/{plat_st['id']}")["id"] == plat_st["id"]
    assert_json_error(psales.call("GET", "/api/v1/statements"), 403)
    assert other.items("/api/v1/statements") == []
    assert_json_error(admin.call("GET", "/api/v1/statements/999999"), 404, "not_found")

    # once: another day's sweep and a restart issue none again
    admin.ok("POST", "/api/v1/clock", {"date": (nxt + datetime.timedelta(days=1)).isoformat()})
    assert len(admin.items("/api/v1/statements")) == len(statements)
    d.stop()
    make_user(data, "goldweb@x.example", "partner-admin", 3)
    make_user(data, "goldsales@x.example", "partner-sales", 3)
    d2 = daemon(data=data, args=["--test-clock", "1", "--sched-interval-ms", "100000"])
    admin.daemon = d2
    admin.ok("POST", "/api/v1/clock", {"date": (nxt + datetime.timedelta(days=2)).isoformat()})
    assert len(admin.items("/api/v1/statements")) == len(statements)
    sent = [m for m in admin.items("/api/v1/outbox") if m.get("kind") == "statement"]
    assert len(sent) == len(statements), sent

    # the partner portal: the partner's statements with their downloads (the session cookie)
    b = Browser(d2)
    b.login("goldweb@x.example")
    html = b.get("/partner/statements").text
    assert 'href="/partner/statements"' in html and 'aria-current="page"' in html, html[:500]
    assert re.findall(r'<th scope="row">([^<]+)</th>', html) == [s["number"] for s in gold_st], html
    assert plat_st["number"] not in html
    for s in gold_st:
        assert f'href="/api/v1/statements/{s["id"]}/pdf"' in html and f'href="/api/v1/statements/{s["id"]}/csv"' in html
        for t in s["totals"]:
            assert money(t["amount"], t["currency"]) in html, html
        r = b.request("GET", s["pdf_url"])
        assert r.status == 200 and r.body[:5] == b"%PDF-", r
    r = b.request("GET", plat_st["pdf_url"])
    assert r.status == 404, r
    sales = Browser(d2)
    sales.login("goldsales@x.example")
    assert sales.request("GET", "/partner/statements").status == 403
    d2.stop()
