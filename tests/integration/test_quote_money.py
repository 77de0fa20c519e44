"""The quote and money (core/domain/quote.c, core/domain/money.c) end to end.

renewd runs on the demo store with the test clock (test_quote_pdf's start());
each test adds its own products and a contract inside the renewal window and
moves the clock one day, so the sweep quotes it.

* test_many_lines_kept_and_ordered_at_their_total: a product with eight
  up-sells and eight cross-sells, long names and SKUs: the quote's lines as
  JSON are over 8 KiB (the old text field stored such a quote with no lines
  and it was ordered at 0).  Every line is kept; the customer chooses the
  last up-sell and every cross-sell and buys by purchase order: the order's
  total is the sum of those lines (the up-sell replaces the renewal line),
  the page shows it, the PDF prints it, and the reseller's commission is its
  share of every ordered line.
* test_huge_price_needs_attention: 100 seats at 2^62 minor units do not fit
  in an amount (the product wrapped to 0): the quote waits for attention
  with the reason, has no line to charge and an order is refused, nothing
  written; the margin policy's dry run counts it as a contract without a
  price (it multiplied into undefined behaviour).
* test_jpy_has_no_decimals: a JPY contract of 100 seats at JPY 50: the
  partner's e-mail, the customer's e-mail and page, and the PDF say
  "JPY 5,000" (they said "JPY 50.00").
"""
import datetime
import json
import re
import shutil
import subprocess
import urllib.request

import pytest

from conftest import assert_json_error
from test_orders import csrf_of, purchase_form
from test_quote_pdf import Customer, get_pdf, pdf_text, flat, start, wait_mail


def boot(daemon, tmp_path):
    d, data, admin, u, _ = start(daemon, tmp_path, users=[("plat@x.example", "partner-admin", "2")])
    admin.ok("POST", "/api/v1/plugins/payment-po/enablements", {"config": {}}, status=201)
    return d, data, admin, u["plat@x.example"]


def today(admin):
    return datetime.date.fromisoformat(admin.get("/api/v1/clock")["today"])


def product(admin, sku, name, amount, currency="GBP", upsell=(), crosssell=()):
    return admin.ok("POST", "/api/v1/products", {
        "sku": sku, "name": name, "line": "Test",
        "prices": [{"currency": currency, "term": "annual", "amount": amount}],
        "upsell": list(upsell), "crosssell": list(crosssell)}, status=201)


def quote_for(admin, product_id, quantity, currency="GBP", ext="K-QM-1"):
    """A contract of RES-PLAT's ending in 30 days; the next day's sweep quotes it."""
    t = today(admin)
    customer = admin.items("/api/v1/customers")[0]
    k = admin.ok("POST", "/api/v1/contracts", {
        "external_id": ext, "customer_id": customer["id"], "product_id": product_id, "reseller_id": 2,
        "quantity": quantity, "start": (t - datetime.timedelta(days=335)).isoformat(),
        "end": (t + datetime.timedelta(days=30)).isoformat(), "term": "annual", "currency": currency}, status=201)
    admin.ok("POST", "/api/v1/clock", {"date": (t + datetime.timedelta(days=1)).isoformat()}, status=200)
    opps = [o for o in admin.items("/api/v1/opportunities") if o["contract_id"] == k["id"]]
    assert len(opps) == 1, opps
    return k, opps[0]


def portal_js_total(port, page):
    """What /static/portal.js writes into the page's total on load: the
    script runs in node against the total's data attributes from the page."""
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    m = re.search(r'<output id="total" ([^>]*)>', page)
    assert m, page[:3000]
    attrs = dict(re.findall(r'data-([a-z]+)="([^"]*)"', m.group(1)))
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/portal.js", timeout=10) as r:
        js = r.read().decode()
    stub = ("var total = {dataset: %s, textContent: ''};"
            "var document = {getElementById: function(id){ return id === 'total' ? total : null; },"
            " querySelector: function(){ return null; }, querySelectorAll: function(){ return []; }};"
            "var window = {};" % json.dumps(attrs))
    p = subprocess.run(["node", "-e", stub + js + ";process.stdout.write(total.textContent)"],
                       capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout.decode()


def test_many_lines_kept_and_ordered_at_their_total(daemon, tmp_path):
    d, data, admin, plat = boot(daemon, tmp_path)
    extras = []
    for i in range(16):
        sku = f"OPT-{i:02d}-" + "X" * 50
        extras.append(product(admin, sku, f"Option {i:02d} " + "Long product name for the quote " * 3, 1000 + i)["id"])
    main = product(admin, "MAIN-" + "M" * 50, "Main product " + "n" * 100, 2900, upsell=extras[:8], crosssell=extras[8:])
    k, o = quote_for(admin, main["id"], 100)
    assert len(json.dumps(o["lines"], separators=(",", ":"))) > 8192, "the lines must exceed the old 8 KiB field"
    assert len(o["lines"]) == 17, [x["sku"] for x in o["lines"]]
    assert [x["kind"] for x in o["lines"]] == ["renewal"] + ["upsell"] * 8 + ["crosssell"] * 8
    assert all(x["list"] == x["unit_list"] * 100 for x in o["lines"])
    for x in o["lines"]:
        for mode in ("partner", "vendor"):
            m = x["margins"][mode]
            assert sum(s["amount"] for s in m["shares"]) + m["net"] == x["list"], (mode, x)
    chosen = [x for x in o["lines"] if x["kind"] == "crosssell"] + [o["lines"][8]]
    total = sum(x["list"] for x in chosen)

    plat.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"}, status=200)
    c = Customer(d.port)
    page = c.follow_link(wait_mail(data, f"notice:{o['id']}"))
    for x in o["lines"][1:]:
        assert x["sku"] in page, x["sku"]
    skus = [x["sku"] for x in chosen]
    status, _, body = c.open("/portal/accept", {"csrf": csrf_of(page), "accept": "yes", "add": skus})
    assert status == 200, body[:300]
    page, csrf, key = purchase_form(c)
    shown = f"GBP {total // 100:,}.{total % 100:02d}"
    assert shown in page, (shown, page[:2000])
    status, _, body = c.open("/portal/order", {"csrf": csrf, "order_key": key, "option": "purchase_order",
                                               "po_number": "PO-1"})
    assert status == 200, body[:400]
    (order,) = [x for x in admin.items("/api/v1/orders") if x["opportunity_id"] == o["id"]]
    assert order["total"] == total, (order["total"], total)
    assert shown in flat(pdf_text(tmp_path, get_pdf(admin, o["id"]).body))
    # the commission is the reseller's share of every ordered line
    admin.ok("POST", f"/api/v1/orders/{order['id']}/payments", {"amount": total, "reference": "BACS-9"}, status=200)
    share = sum(s["amount"] for x in chosen for s in x["margins"]["vendor"]["shares"] if s["party"] == "reseller")
    got = [c_ for c_ in admin.items("/api/v1/commissions") if c_["order_id"] == order["id"]]
    assert share > 0 and [c_["amount"] for c_ in got if c_["party"] == "reseller"] == [share], (share, got)
    d.stop()


def test_huge_price_needs_attention(daemon, tmp_path):
    d, data, admin, plat = boot(daemon, tmp_path)
    p = product(admin, "HUGE-1", "Priced beyond reason", 2 ** 62)
    k, o = quote_for(admin, p["id"], 100)
    assert o["attention"] == 1, o
    assert "largest amount" in o["attention_reason"] and "HUGE-1" in o["attention_reason"], o["attention_reason"]
    assert o["lines"] == [] and o["list_total"] == 0, o
    plat.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "partner"}, status=200)
    before = admin.items("/api/v1/orders")
    r = plat.call("POST", "/api/v1/orders", {"opportunity_id": o["id"], "payment_option": "purchase_order",
                                             "po_number": "PO-2"}, headers={"Idempotency-Key": "huge-1"})
    assert_json_error(r, 409, "conflict")
    assert "needs attention" in r.json()["error"]["message"], r.json()
    assert admin.items("/api/v1/orders") == before
    # a dry run of the margin policy counts the contract as one without a price
    active = admin.get("/api/v1/vendor")["margin_version"]
    r = admin.call("POST", f"/api/v1/policies/margin/{active}/dry-run", timeout=60)
    assert r.status == 200, r
    assert r.json()["contracts_without_price"] >= 1, r.json()
    d.stop()


def test_jpy_has_no_decimals(daemon, tmp_path):
    d, data, admin, plat = boot(daemon, tmp_path)
    p = product(admin, "JP-SEC", "Security for Tokyo", 50, currency="JPY")
    k, o = quote_for(admin, p["id"], 100, currency="JPY", ext="K-QM-JP")
    assert o["currency"] == "JPY" and o["list_total"] == 5000, o
    notice = wait_mail(data, f"quote:{k['id']}").get_body(("plain",)).get_content()
    assert "JPY 5,000" in notice and "JPY 50.00" not in notice, notice
    assert not re.search(r"JPY [\d,]+\.\d", notice), notice
    plat.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"}, status=200)
    msg = wait_mail(data, f"notice:{o['id']}")
    assert "JPY 50.00" not in msg.get_body(("plain",)).get_content()
    page = Customer(d.port).follow_link(msg)
    assert "JPY 5,000" in page and "JPY 50.00" not in page, page[:3000]
    assert portal_js_total(d.port, page) == "JPY 5,000"
    assert "JPY 5,000" in flat(pdf_text(tmp_path, get_pdf(admin, o["id"]).body))
    d.stop()
