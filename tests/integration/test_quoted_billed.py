"""What is quoted is what is billed, fulfilled and commissioned (the order's
frozen lines: core/domain/quote.c rd_quote_select, core/services/orders.c,
fulfil.c, commissions.c).

renewd runs on the demo store with the test clock (test_quote_pdf's start()).
Each test quotes one seat of a GBP 680 product for RES-PLAT's customer, with
two up-sells (GBP 1,080 and GBP 1,500) and one cross-sell (GBP 250); RES-PLAT
lets the vendor sell and the customer follows the notice's link.

* test_upsell_replaces_the_renewal_line: choosing the up-sell bills the
  up-sell alone (it billed GBP 680 + 1,080 and delivered only the upgrade):
  the portal page's total as its script computes it, the purchase page, the
  order, the confirmation, the payment, the quote PDF, the invoice and the
  channel's commissions all say GBP 1,080; the renewed contract is the
  upgrade.
* test_crosssell_becomes_its_own_contract: a chosen cross-sell line becomes a
  contract of its own (it was billed and never delivered), a year long from
  the old contract's end, which the engine quotes when its renewal is due.
* test_reaccept_after_order_is_refused: once ordered, the accept form cannot
  change the quote (re-accepting with the up-sell after a GBP 680 order made
  the payment fulfil the up-sell and commission it): refused with a message
  naming the order; the payment fulfils what was ordered.
* test_one_upgrade_at_most: choosing both up-sells (two replacements of one
  contract) is refused with a message, nothing accepted.
"""
import datetime
import json
import re
import shutil
import subprocess
import urllib.request

import pytest

from test_orders import csrf_of, purchase_form
from test_quote_money import boot, product, quote_for
from test_quote_pdf import Customer, flat, get_pdf, pdf_text, wait_mail


def quoted(daemon, tmp_path, ext):
    d, data, admin, plat = boot(daemon, tmp_path)
    up = product(admin, "QB-UP", "Upgrade edition", 108000)
    up2 = product(admin, "QB-UP2", "Premium edition", 150000)
    cross = product(admin, "QB-X", "Backup add-on", 25000)
    main = product(admin, "QB-MAIN", "Standard edition", 68000, upsell=[up["id"], up2["id"]],
                   crosssell=[cross["id"]])
    k, o = quote_for(admin, main["id"], 1, ext=ext)
    assert [x["sku"] for x in o["lines"]] == ["QB-MAIN", "QB-UP", "QB-UP2", "QB-X"], o["lines"]
    plat.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"}, status=200)
    c = Customer(d.port)
    page = c.follow_link(wait_mail(data, f"notice:{o['id']}"))
    return d, admin, c, page, k, o, {"main": main, "up": up, "cross": cross}


def portal_js_total_with(port, page, skus):
    """What /static/portal.js shows as the total once the customer ticks the
    optional lines `skus` on the portal page (node, against the page's own
    inputs and total)."""
    if not shutil.which("node"):
        pytest.skip("node is not installed")
    m = re.search(r'<output id="total" ([^>]*)>', page)
    assert m, page[:3000]
    attrs = dict(re.findall(r'data-([a-z]+)="([^"]*)"', m.group(1)))
    boxes = [dict(re.findall(r'([a-z-]+)="([^"]*)"', x))
             for x in re.findall(r'<input type="checkbox" name="add" [^>]*>', page)]
    assert boxes, page[:3000]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/portal.js", timeout=10) as r:
        js = r.read().decode()
    stub = """
var total = {dataset: %s, textContent: ''};
var inputs = %s.map(function(b){ return {value: b.value, dataset: {amount: b['data-amount']}, checked: false,
  classList: {contains: function(c){ return b['class'].split(' ').indexOf(c) >= 0; }},
  addEventListener: function(e, f){ this.changed = f; }}; });
var document = {getElementById: function(id){ return id === 'total' ? total : null; },
  querySelector: function(){ return null; },
  querySelectorAll: function(q){
    if (q === 'input.optional:checked') return inputs.filter(function(i){ return i.checked; });
    if (q === 'input.optional') return inputs;
    if (q === 'input.optional.upsell') return inputs.filter(function(i){ return i.classList.contains('upsell'); });
    return []; }};
var window = {};
""" % (json.dumps(attrs), json.dumps(boxes))
    tick = "".join("inputs.forEach(function(i){ if (i.value === %s) { i.checked = true; i.changed(); } });"
                   % json.dumps(s) for s in skus)
    p = subprocess.run(["node", "-e", stub + js + ";" + tick + "process.stdout.write(total.textContent)"],
                       capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr.decode()
    return p.stdout.decode()


def order_by_po(admin, c, o, po):
    page, csrf, key = purchase_form(c)
    status, _, body = c.open("/portal/order", {"csrf": csrf, "order_key": key, "option": "purchase_order",
                                               "po_number": po})
    assert status == 200, body[:400]
    (order,) = [x for x in admin.items("/api/v1/orders") if x["opportunity_id"] == o["id"]]
    return page, order, body.decode()


def shares(lines, skus):
    """Each party's vendor-mode shares over the lines of these SKUs."""
    out = {}
    for x in lines:
        if x["sku"] in skus:
            for s in x["margins"]["vendor"]["shares"]:
                out[s["party"]] = out.get(s["party"], 0) + s["amount"]
    return out


def commissions_of(admin, order):
    return {x["party"]: x["amount"] for x in admin.items("/api/v1/commissions") if x["order_id"] == order["id"]}


def test_upsell_replaces_the_renewal_line(daemon, tmp_path):
    d, admin, c, page, k, o, p = quoted(daemon, tmp_path, "K-QB-UP")
    assert portal_js_total_with(d.port, page, ["QB-UP"]) == "GBP 1,080.00"
    assert portal_js_total_with(d.port, page, ["QB-UP", "QB-X"]) == "GBP 1,330.00"
    assert portal_js_total_with(d.port, page, ["QB-UP", "QB-UP2"]) == "GBP 1,500.00"  # the last upgrade ticked
    status, _, body = c.open("/portal/accept", {"csrf": csrf_of(page), "accept": "yes", "add": "QB-UP"})
    assert status == 200, body[:400]
    shown, order, confirmed = order_by_po(admin, c, o, "PO-QB-1")
    assert "GBP 1,080.00" in shown and "GBP 1,760.00" not in shown, shown[:3000]
    assert "Upgrade edition" in shown and "Standard edition" not in shown, shown[:3000]
    # the confirmation lists what was ordered: the upgrade, not the renewal line too
    assert "Upgrade: Upgrade edition" in confirmed and "Standard edition" not in confirmed, confirmed[-2000:]
    assert order["total"] == 108000, order
    assert [(x["kind"], x["sku"]) for x in order["lines"]] == [("upsell", "QB-UP")], order["lines"]
    text = flat(pdf_text(tmp_path, get_pdf(admin, o["id"]).body))
    assert "GBP 1,080.00" in text and "GBP 680.00" not in text and "GBP 1,760.00" not in text, text
    paid = admin.ok("POST", f"/api/v1/orders/{order['id']}/payments", {"amount": 108000, "reference": "QB-1"},
                    status=200)
    new = admin.get(f"/api/v1/contracts/{paid['new_contract_id']}")
    assert new["product_id"] == p["up"]["id"] and new["quantity"] == 1, new
    # the invoice bills the upgrade alone
    status, _, pdf = c.open(f"/portal/invoices/{order['id']}")
    assert status == 200 and pdf.startswith(b"%PDF-"), (status, pdf[:200])
    text = flat(pdf_text(tmp_path, pdf, "invoice"))
    assert "Upgrade edition" in text and "Standard edition" not in text and "Discount" not in text, text
    assert "GBP 1,080.00" in text and "GBP 1,760.00" not in text, text
    assert commissions_of(admin, order) == shares(o["lines"], {"QB-UP"}), (commissions_of(admin, order), o["lines"])
    d.stop()


def test_crosssell_becomes_its_own_contract(daemon, tmp_path):
    d, admin, c, page, k, o, p = quoted(daemon, tmp_path, "K-QB-X")
    status, _, body = c.open("/portal/accept", {"csrf": csrf_of(page), "accept": "yes", "add": "QB-X"})
    assert status == 200, body[:400]
    shown, order, confirmed = order_by_po(admin, c, o, "PO-QB-2")
    assert "Standard edition" in confirmed and "Add: Backup add-on" in confirmed, confirmed[-2000:]
    assert "GBP 930.00" in shown and order["total"] == 93000, (order, shown[:3000])
    admin.ok("POST", f"/api/v1/orders/{order['id']}/payments", {"amount": 93000, "reference": "QB-2"}, status=200)
    mine = [x for x in admin.items("/api/v1/contracts") if x["customer_id"] == k["customer_id"]
            and x["start"] == (datetime.date.fromisoformat(k["end"]) + datetime.timedelta(days=1)).isoformat()]
    by_product = {x["product_id"]: x for x in mine}
    assert set(by_product) == {p["main"]["id"], p["cross"]["id"]}, mine
    x = by_product[p["cross"]["id"]]
    end = datetime.date.fromisoformat(k["end"])
    assert (x["quantity"], x["term"], x["status"], x["reseller_id"]) == (1, "annual", "live", 2), x
    assert x["end"] == end.replace(year=end.year + 1).isoformat(), x
    fulfilled = admin.get(f"/api/v1/orders/{order['id']}")
    assert [y["contract_id"] for y in fulfilled["lines"]] == [by_product[p["main"]["id"]]["id"], x["id"]], fulfilled
    assert commissions_of(admin, order) == shares(o["lines"], {"QB-MAIN", "QB-X"})
    # it renews next year: the sweep quotes it when it comes due
    admin.ok("POST", "/api/v1/clock", {"date": (datetime.date.fromisoformat(x["end"])
                                                - datetime.timedelta(days=30)).isoformat()}, status=200)
    assert [o2 for o2 in admin.items("/api/v1/opportunities") if o2["contract_id"] == x["id"]], "not quoted"
    d.stop()


def test_reaccept_after_order_is_refused(daemon, tmp_path):
    d, admin, c, page, k, o, p = quoted(daemon, tmp_path, "K-QB-RE")
    status, _, body = c.open("/portal/accept", {"csrf": csrf_of(page), "accept": "yes"})
    assert status == 200, body[:400]
    _, order, _ = order_by_po(admin, c, o, "PO-QB-3")
    assert order["total"] == 68000, order
    status, _, body = c.open("/portal/accept", {"csrf": csrf_of(page), "accept": "yes", "add": "QB-UP"})
    assert status == 409 and order["number"].encode() in body, (status, body[:400])
    after = admin.get(f"/api/v1/opportunities/{o['id']}")
    assert not any(x.get("selected") for x in after["lines"]), after["lines"]
    paid = admin.ok("POST", f"/api/v1/orders/{order['id']}/payments", {"amount": 68000, "reference": "QB-3"},
                    status=200)
    new = admin.get(f"/api/v1/contracts/{paid['new_contract_id']}")
    assert new["product_id"] == p["main"]["id"], new
    assert commissions_of(admin, order) == shares(o["lines"], {"QB-MAIN"})
    text = flat(pdf_text(tmp_path, get_pdf(admin, o["id"]).body))
    assert "GBP 680.00" in text and "Upgrade" not in text, text
    d.stop()


def test_one_upgrade_at_most(daemon, tmp_path):
    d, admin, c, page, k, o, p = quoted(daemon, tmp_path, "K-QB-2UP")
    status, _, body = c.open("/portal/accept", {"csrf": csrf_of(page), "accept": "yes", "add": ["QB-UP", "QB-UP2"]})
    assert status == 400 and b"one upgrade" in body, (status, body[:400])
    assert admin.get(f"/api/v1/opportunities/{o['id']}")["state"] == "published_vendor"
    d.stop()
