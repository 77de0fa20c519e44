"""Money text and mail headers (core/domain/money.c, core/util/mailaddr.c,
core/renew/mail.c): renewd on a demo store whose three contracts are in JPY
(no decimals), KWD (3) and CLF (4), mail by SMTP to an in-process aiosmtpd
sink (tests/integration/test_checkout.py's Sink), PDFs read with pdftotext.

* test_amounts_in_page_mail_pdf_and_csv: each contract's renewal, from the
  customer's notice to the paid order and the commission statement: the
  notice's text and its quote PDF, the customer's quote page and purchase
  page, the order confirmation's text and its invoice PDF, and the
  statement's CSV all print the amount in the currency's own decimals
  ("JPY 10,000", "KWD 24.690", "CLF 2.4690"; the CSV "10000", "24.690",
  "2.4690"), never with two.
* test_from_header_with_a_non_ascii_display_name: mail_from "Name <address>"
  with a UTF-8 name: Python's email parser (policy=default) reads the From
  header's address and name; only the name is encoded, in words that fit
  and are folded; the SMTP envelope sender is the bare address; a name with
  specials is one quoted-string; a bad mail_from is refused at start.
* test_unknown_currency_codes_refused: "XYZ", "jpy", withdrawn "HRK" and
  "XAU" are refused naming the field wherever a currency is taken: a
  contract and a product price through the API, the vendor's currency, a
  deal registration, a product import's price_<term>_<CUR> column, renewctl
  vendor create; an active code (KWD) is taken.
* test_edi_amounts_in_the_currency: the X12 850 and the EDIFACT ORDERS of a
  JPY and a KWD order carry their amounts in the currency's decimals (read
  by node-x12 and the npm edifact package: "10000", "24.690"), and an 810's
  TDS (two implied decimals) or an INVOIC's MOA with three decimals is read
  in the order's currency (JPY "1000000" is JPY 10,000).
"""
import datetime
import email
import json
import re
import subprocess
import threading

import pytest

from conftest import DEMO, ApiClient, api_user, assert_json_error, renewctl, run_renewd_expect_failure
from test_checkout import Sink, accept, attachment, billing, open_link, pdf_text
from test_orders import orders_of

# Three products priced in JPY, KWD and CLF; each sold twice (quantity 2).
CASES = [
    # (currency, sku, unit price in minor units, contract, customer, per seat, total, CSV decimals)
    ("JPY", "MNY-JPY", 5000, "K-91001", "CUST-1006", "JPY 5,000", "JPY 10,000", 0),
    ("KWD", "MNY-KWD", 12345, "K-91002", "CUST-1007", "KWD 12.345", "KWD 24.690", 3),
    ("CLF", "MNY-CLF", 12345, "K-91003", "CUST-1008", "CLF 1.2345", "CLF 2.4690", 4),
]
# What a two-decimal formatter would have printed instead.
WRONG = {"JPY": "JPY 100.00", "KWD": "KWD 246.90", "CLF": "CLF 246.90"}

FROM_NAME = "Société Générale Renouvellements — Équipe Abonnements 株式会社"
FROM_ADDR = "renewals@sg.example"


class EnvelopeSink(Sink):
    """The checkout tests' sink, also keeping each envelope's sender."""

    def __init__(self):
        self.senders = []
        super().__init__()

    async def handle_DATA(self, server, session, envelope):
        self.senders.append(envelope.mail_from)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def sink():
    s = EnvelopeSink()
    yield s
    s.stop()


def money_demo(tmp_path):
    """The demo data set plus three products and contracts (RES-GOLD's) in
    JPY, KWD and CLF."""
    d = json.loads(DEMO.read_text())
    base = next(p for p in d["products"] if p["sku"] == "WSG-STD")
    for cur, sku, unit, kext, cust, *_ in CASES:
        p = {k: v for k, v in base.items() if k not in ("upsell_skus", "crosssell_skus")}
        p.update({"sku": sku, "name": f"Gateway priced in {cur}",
                  "prices": [{"currency": cur, "term": "annual", "amount": unit}]})
        d["products"].append(p)
        d["contracts"].append({"external_id": kext, "customer": cust, "product": sku, "reseller": "RES-GOLD",
                               "quantity": 2, "term": "annual", "ends_in_days": 45, "currency": cur})
    path = tmp_path / "money-demo.json"
    path.write_text(json.dumps(d))
    return path


def boot(daemon, tmp_path, sink, mail_from=f"{FROM_NAME} <{FROM_ADDR}>"):
    data = tmp_path / "store"
    data.mkdir()
    renewctl("demo-load", str(money_demo(tmp_path)), data=data, check=True)
    token, uid = api_user(data, email="admin@x.example")
    gold = ApiClient(None, *api_user(data, email="gold@x.example", role="partner-admin", partner="3"))
    d = daemon(data=data, args=["--test-clock", "1", "--sched-interval-ms", "100000",
                                "--mail-transport", f"smtp://127.0.0.1:{sink.port}", "--mail-retry-ms", "100",
                                "--mail-from", mail_from])
    gold.__init__(d, gold.token, gold.user_id)
    admin = ApiClient(d, token, uid)
    admin.ok("POST", "/api/v1/plugins/payment-po/enablements", {"config": {}}, status=201)
    return d, data, admin, gold


def text_of(msg):
    return msg.get_body(("plain",)).get_content()


def html_of(msg):
    return msg.get_body(("html",)).get_content()


def assert_amount(where, text, cur, want):
    assert want in text, (where, want, text[:3000])
    assert WRONG[cur] not in text, (where, WRONG[cur], text[:3000])


def test_amounts_in_page_mail_pdf_and_csv(daemon, tmp_path, sink):
    d, data, admin, gold = boot(daemon, tmp_path, sink)
    orders = {}
    for cur, sku, unit, kext, cust, seat, total, _ in CASES:
        o, c, page = open_link(d, sink, gold, admin, kext)
        assert o["currency"] == cur and o["list_total"] == 2 * unit, o
        # e-mail: the customer's notice, its text and HTML, and its quote PDF
        _, notice = sink.wait(lambda m: str(m["X-Renewd-Ref"]) == f"notice:{o['id']}", "customer notice")
        assert_amount("notice text", text_of(notice), cur, total)
        assert_amount("notice html", html_of(notice), cur, total)
        name, pdf = attachment(notice)
        quote = pdf_text(tmp_path, pdf, f"quote-{cur}.pdf")
        assert_amount("quote pdf", quote, cur, total)
        assert seat in quote, (seat, quote)
        # the page: the customer's quote, then the purchase page
        assert_amount("quote page", page, cur, total)
        purchase, csrf, key = accept(c, page)
        assert_amount("purchase page", purchase, cur, total)
        status, _, body = c.open("/portal/order", {"csrf": csrf, "order_key": key, "option": "purchase_order",
                                                   "po_number": f"PO-{cur}",
                                                   **billing(admin.get(f"/api/v1/customers/{o['customer_id']}"),
                                                             email=f"billing-{cur.lower()}@x.example")})
        assert status == 200, body[:400]
        assert_amount("order page", body.decode(), cur, total)
        (order,) = orders_of(admin, o["id"])
        assert order["total"] == 2 * unit and order["currency"] == cur, order
        # e-mail: the confirmation, its text and the invoice PDF
        _, conf = sink.wait(lambda m: str(m["X-Renewd-Ref"]) == f"order:{order['id']}:confirmation", "confirmation")
        assert_amount("confirmation text", text_of(conf), cur, total)
        _, pdf = attachment(conf)
        invoice = pdf_text(tmp_path, pdf, f"invoice-{cur}.pdf")
        assert_amount("invoice pdf", invoice, cur, total)
        assert seat in invoice, (seat, invoice)
        admin.ok("POST", f"/api/v1/orders/{order['id']}/payments", {"amount": order["total"], "reference": f"T-{cur}"})
        orders[cur] = order

    # the CSV: the statement the next statement day issues
    today = datetime.date.fromisoformat(admin.get("/api/v1/clock")["today"])
    day = admin.get("/api/v1/vendor")["statement_day"]
    admin.ok("POST", "/api/v1/clock", {"date": (today.replace(day=1) + datetime.timedelta(days=32))
                                       .replace(day=day).isoformat()})
    entries = [e for e in admin.items("/api/v1/commissions") if e["currency"] in WRONG]
    assert {e["currency"] for e in entries} == set(WRONG), entries
    seen = set()
    for st in admin.items("/api/v1/statements"):
        r = admin.call("GET", f"/api/v1/statements/{st['id']}/csv")
        assert r.status == 200, r
        rows = r.body.decode().splitlines()
        for cur, *_, places in CASES:
            for e in entries:
                if e["currency"] != cur or e["partner_id"] != st["partner_id"]:
                    continue
                want = f"{e['amount'] // 10 ** places}" + (f".{e['amount'] % 10 ** places:0{places}d}" if places else "")
                line = [x for x in rows if f",{cur}," in x or x.endswith(f",{cur}")]
                assert any(re.search(rf"(^|,){re.escape(want)}(,|$)", x) for x in line), (cur, want, line, rows[:3])
                for x in line:
                    for cell in x.split(","):
                        if re.fullmatch(r"-?\d+\.\d+", cell):
                            assert len(cell.split(".")[1]) == places, (cur, cell, x)
                        if places == 0:
                            assert not re.fullmatch(r"-?\d+\.\d+", cell), (cur, cell, x)
                seen.add(cur)
    assert seen == set(WRONG), (seen, entries)
    d.stop()


def test_from_header_with_a_non_ascii_display_name(daemon, tmp_path, sink):
    d, data, admin, gold = boot(daemon, tmp_path, sink)
    o, c, page = open_link(d, sink, gold, admin, "K-91001")
    _, msg = sink.wait(lambda m: str(m["X-Renewd-Ref"]) == f"notice:{o['id']}", "customer notice")
    frm = msg["From"]
    assert len(frm.addresses) == 1, frm.addresses
    assert frm.addresses[0].addr_spec == FROM_ADDR, frm.addresses
    assert frm.addresses[0].display_name == FROM_NAME, frm.addresses
    assert not frm.defects, frm.defects
    assert sink.senders and set(sink.senders) == {FROM_ADDR}, sink.senders
    # on the wire: the address outside every encoded word, words of <= 75
    # characters, folded lines of <= 78
    raw = sink.raw[0].decode("ascii")
    head = raw.split("\r\n\r\n", 1)[0]
    field = re.search(r"^From:(.*?)\r\n(?! )", head + "\r\n", re.S | re.M).group(1)
    assert f"<{FROM_ADDR}>" in field and not re.search(r"=\?[^?]*\?[BQbq]\?[^?]*@", field), field
    words = re.findall(r"=\?UTF-8\?B\?[^?]*\?=", field)
    assert len(words) > 1 and all(len(w) <= 75 for w in words), field
    assert all(len(line) <= 78 for line in ("From:" + field).split("\r\n")), field
    d.stop()

    # specials in an ASCII name: one quoted-string, read back whole
    sink2 = EnvelopeSink()
    try:
        d2 = daemon(data=data, args=["--test-clock", "1", "--sched-interval-ms", "100000",
                                     "--mail-transport", f"smtp://127.0.0.1:{sink2.port}", "--mail-retry-ms", "100",
                                     "--mail-from", 'Renewals, Acme "EU" <renewals@acme.example>'])
        a2 = ApiClient(d2, admin.token, admin.user_id)
        g2 = ApiClient(d2, gold.token, gold.user_id)
        open_link(d2, sink2, g2, a2, "K-91002")
        _, m2 = sink2.wait(lambda m: str(m["X-Renewd-Kind"]).startswith("customer"), "customer notice")
        (addr,) = m2["From"].addresses
        assert (addr.display_name, addr.addr_spec) == ('Renewals, Acme "EU"', "renewals@acme.example"), addr
        assert set(sink2.senders) == {"renewals@acme.example"}, sink2.senders
        d2.stop()
    finally:
        sink2.stop()

    # a mail_from that is no address is refused at start, naming the option
    for bad in ("Acme <not an address>", "Acme <a@b.example> trailing", "just text"):
        rc, err = run_renewd_expect_failure(["--data", str(data), "--listen", "127.0.0.1:0", "--mail-from", bad])
        assert rc != 0 and "mail_from" in err, (bad, rc, err)


def test_unknown_currency_codes_refused(daemon, tmp_path, sink):
    d, data, admin, gold = boot(daemon, tmp_path, sink, mail_from="renewals@localhost")
    k = next(x for x in admin.items("/api/v1/contracts") if x["external_id"] == "K-91001")
    for bad in ("XYZ", "jpy", "HRK", "XAU"):
        r = admin.call("PATCH", f"/api/v1/contracts/{k['id']}", {"currency": bad})
        assert_json_error(r, 400)
        err = r.json()["error"]
        assert err["field"] == "currency" and bad in err["message"] and "ISO 4217" in err["message"], err
        r = admin.call("PATCH", "/api/v1/vendor", {"currency": bad})
        assert_json_error(r, 400)
        assert r.json()["error"]["field"] == "currency", r.json()
    prod = next(x for x in admin.items("/api/v1/products") if x["sku"] == "MNY-KWD")
    r = admin.call("PATCH", f"/api/v1/products/{prod['id']}",
                   {"prices": [{"currency": "XYZ", "term": "annual", "amount": 100}]})
    assert_json_error(r, 400)
    assert "XYZ" in r.json()["error"]["message"] and r.json()["error"]["field"] == "prices", r.json()
    assert admin.get(f"/api/v1/products/{prod['id']}")["prices"] == prod["prices"]
    # an active code is taken
    assert admin.ok("PATCH", f"/api/v1/contracts/{k['id']}", {"currency": "KWD"})["currency"] == "KWD"
    assert admin.get(f"/api/v1/contracts/{k['id']}")["currency"] == "KWD"

    # a deal registration in an unknown currency
    today = datetime.date.fromisoformat(admin.get("/api/v1/clock")["today"])
    r = gold.call("POST", "/api/v1/deals", {"customer": {"name": "Yen Trading KK"}, "products": [prod["id"]],
                                            "seats": 5, "expected_value": 100, "currency": "XYZ",
                                            "close_date": (today + datetime.timedelta(days=60)).isoformat()})
    assert_json_error(r, 400)
    assert r.json()["error"]["field"] == "currency" and "XYZ" in r.json()["error"]["message"], r.json()

    # a product import whose price column names an unknown currency
    csv = "sku,name,price_annual_XYZ\nMNY-IMP,Imported,100\n"
    done = admin.run_import("products", csv)
    text = json.dumps(done)
    assert done["status"] == "failed" and "XYZ" in text and "ISO 4217" in text, done
    assert not [x for x in admin.items("/api/v1/products") if x["sku"] == "MNY-IMP"]
    d.stop()

    # renewctl vendor create
    p = renewctl("vendor", "create", "--name", "Zed", "--slug", "zed", "--currency", "XYZ", data=data)
    assert p.returncode != 0 and "XYZ" in p.stderr and "ISO 4217" in p.stderr, (p.returncode, p.stderr)
    p = renewctl("vendor", "create", "--name", "Kuwait Co", "--slug", "kw", "--currency", "KWD", data=data)
    assert p.returncode == 0, p.stderr


def test_edi_amounts_in_the_currency(daemon, tmp_path, sink):
    import test_edi as edi

    d, data, admin, gold = boot(daemon, tmp_path, sink, mail_from="renewals@localhost")
    cfg, out, inb = edi.config(tmp_path)
    admin.ok("POST", "/api/v1/plugins/connector-x12/enablements", {"partner_id": 1, "config": cfg}, status=201)
    placed = {cur: edi.place(gold, kext, f"edi-{cur}", f"PO-{cur}") for cur, _, _, kext, *_ in CASES[:2]}
    files = edi.wait_for(lambda: (lambda f: f if len(f) == 2 else None)(edi.outbound(out, "850-")), "two 850s")
    by_number = {}
    for f in files:
        p = edi.parse(f)
        assert "error" not in p and p["reserialized"] == f.read_text(), p
        tx = p["groups"][0]["transactions"][0]
        by_number[edi.seg(tx, "BEG")[2]] = tx
    want = {"JPY": ("10000", "5000"), "KWD": ("24.690", "12.345")}
    for cur, o in placed.items():
        tx = by_number[o["number"]]
        assert edi.seg(tx, "CUR") == ["BY", cur]
        assert edi.seg(tx, "AMT") == ["TT", want[cur][0]], (cur, edi.seg(tx, "AMT"))
        po1 = edi.seg(tx, "PO1")
        assert po1[3] == want[cur][1], (cur, po1)
    # the 810s: TDS01 has two implied decimals whatever the currency
    for n, (cur, tds, minor) in enumerate((("JPY", "1000000", 10000), ("KWD", "2469", 24690))):
        name = f"in-810-{cur}.x12"
        edi.drop(tmp_path, inb, name, edi.jsen("IN", 700 + n, 700 + n, "810",
                                               [("BIG", "20270102", f"INV-{cur}", "", placed[cur]["number"]),
                                                ("TDS", tds)]))
        assert edi.report(inb, name, "processed")["result"] == "applied"
        o = admin.get(f"/api/v1/orders/{placed[cur]['id']}")
        assert (o["edi_status"], o["invoiced_amount"]) == ("invoiced", minor), (cur, o)
    # a JPY invoice of 12.34 yen is not an amount of JPY: refused, nothing applied
    edi.drop(tmp_path, inb, "in-810-bad.x12", edi.jsen("IN", 710, 710, "810",
                                                       [("BIG", "20270103", "INV-BAD", "", placed["JPY"]["number"]),
                                                        ("TDS", "1234")]))
    rep = edi.report(inb, "in-810-bad.x12", "failed")
    assert "not an amount of JPY" in json.dumps(rep), rep
    assert admin.get(f"/api/v1/orders/{placed['JPY']['id']}")["edi_invoice"] == "INV-JPY"
    d.stop()

    # connector-edifact: ORDERS MOA and PRI in the currency's decimals, an INVOIC with three
    tmp2 = tmp_path / "edifact"
    tmp2.mkdir()
    d2, data2, admin2, gold2 = boot(daemon, tmp2, sink, mail_from="renewals@localhost")
    out2, inb2 = tmp2 / "edi-out", tmp2 / "edi-in"
    out2.mkdir()
    inb2.mkdir()
    admin2.ok("POST", "/api/v1/plugins/connector-edifact/enablements", {"partner_id": 1, "config": {
        "sender_qualifier": "ZZZ", "sender_id": "RENEWD", "receiver_qualifier": "14", "receiver_id": "5412345000013",
        "outbound_dir": str(out2), "inbound_dir": str(inb2), "syntax": "UNOC"}}, status=201)
    o = edi.place(gold2, "K-91002", "edifact-KWD", "PO-KWD")
    (f,) = edi.wait_for(lambda: edi.outbound_edi(out2, "ORDERS-") or None, "the ORDERS")
    p = edi.edifact(f)
    assert edi.by_name(p, "MOA")[0][0] == ["86", "24.690"], edi.by_name(p, "MOA")
    assert edi.by_name(p, "PRI")[0][0][:2] == ["AAB", "12.345"], edi.by_name(p, "PRI")
    edi.drop_edi(tmp2, inb2, "invoic.edi", edi.interchange("9301", [("INVOIC", [
        "BGM+380+INV-K+9", "DTM+137:20270102:102", f"RFF+ON:{o['number']}", "CUX+2:KWD:4", "UNS+S",
        "MOA+77:24.690"])]))
    assert edi.report(inb2, "invoic.edi", "processed")["result"] == "applied"
    got = admin2.get(f"/api/v1/orders/{o['id']}")
    assert (got["edi_invoice"], got["invoiced_amount"]) == ("INV-K", 24690), got
    d2.stop()
