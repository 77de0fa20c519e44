"""Checkout (core/web/pages.c purchase page, core/services/checkout.c,
core/pdf/invoice.c, plugins/payment-card's hosted payment page): renewd on the
demo store with the test clock, mail by SMTP to an in-process aiosmtpd sink
on 127.0.0.1 that keeps each message whole (its PDF read with pdftotext), the
fake card gateway tests/fakegw/fakegw.py for card payments.

* test_purchase_page_shows_the_quote: the purchase page lists the quote's
  ordered lines (an optional line chosen at acceptance with them, one not
  chosen absent) and the total, and holds no card field.
* test_billing_validated_and_stored: an empty company, "not-an-email", a
  one-letter country, a company on two lines: refused naming the field,
  nothing written; the edited details are stored on the order (the customer
  record unchanged); with the opt-in box, the customer record takes them,
  audited.
* test_confirmation_receipt_and_invoice: a purchase order: the confirmation
  reaches the edited billing address with invoice INV-000001 attached (its
  text: the invoice and order numbers, the company, the lines, the total);
  the next vendor order is INV-000002; the payment recorded: the receipt, the
  same invoice number; the invoice is in the portal's documents list and
  downloads as the same PDF (not for another customer's link); after a
  restart the next order (through the API, with the customer record's
  billing details) is INV-000003.
* test_hosted_card_payment: the card is paid on the gateway's page: the
  order page links to it (the gateway's origin only), the order waits until
  the gateway's webhook confirms, a declined card there leaves it waiting,
  the customer comes back to a paid order; the receipt and invoice reach the
  billing address; the card number is nowhere in renewd (pages, mail, store,
  log).
"""
import email
import re
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from email import policy as email_policy

import pytest

from conftest import ApiClient, api_user, demo_load
from test_card_orders import SECRET, WEBHOOK_SECRET, Gateway
from test_orders import csrf_of, orders_of, purchase_form
from test_quote_pdf import Customer, opportunity_of

try:
    from aiosmtpd.controller import Controller
except ImportError:  # python3-aiosmtpd is in scripts/deps
    pytest.fail("python3-aiosmtpd is missing: run scripts/deps", pytrace=False)

MAIL_WAIT = 30.0
CARD = "4242424242424242"


class _Controller(Controller):
    """aiosmtpd 1.4 checks the server with self.port, which fails with port 0."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class Sink:
    """Every message received, parsed whole (email.message.EmailMessage)."""

    def __init__(self):
        self.messages = []
        self.raw = []
        self.lock = threading.Lock()
        self.controller = _Controller(self, hostname="127.0.0.1", port=0)
        self.controller.start()
        self.port = self.controller.port

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email_policy.default)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), msg))
            self.raw.append(envelope.content)
        return "250 OK"

    def wait(self, pred, what):
        deadline = time.monotonic() + MAIL_WAIT
        while time.monotonic() < deadline:
            with self.lock:
                got = [(r, m) for r, m in self.messages if pred(m)]
            if got:
                return got[0]
            time.sleep(0.05)
        with self.lock:
            seen = [(m["X-Renewd-Kind"], m["To"], m["X-Renewd-Ref"]) for _, m in self.messages]
        raise AssertionError(f"no {what} within {MAIL_WAIT} s; received {seen}")

    def stop(self):
        self.controller.stop()


@pytest.fixture
def sink():
    s = Sink()
    yield s
    s.stop()


@pytest.fixture
def gateway():
    g = Gateway()
    yield g
    g.close()


def boot(daemon, tmp_path, sink, gw=None):
    """The demo store, a vendor admin, RES-GOLD's and RES-PLAT's admins;
    payment-po for the vendor, payment-card against the fake gateway (when
    given); mail by SMTP to the sink."""
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    token, uid = api_user(data, email="admin@x.example")
    users = {e: ApiClient(None, *api_user(data, email=e, role="partner-admin", partner=p))
             for e, p in (("plat@x.example", "2"), ("gold@x.example", "3"))}
    d = daemon(data=data, args=["--test-clock", "1", "--sched-interval-ms", "100000", "--outbound-hosts", "127.0.0.1",
                                "--mail-transport", f"smtp://127.0.0.1:{sink.port}", "--mail-retry-ms", "100"])
    for c in users.values():
        c.__init__(d, c.token, c.user_id)
    admin = ApiClient(d, token, uid)
    admin.ok("POST", "/api/v1/plugins/payment-po/enablements", {"config": {}}, status=201)
    if gw:
        admin.ok("POST", "/api/v1/plugins/payment-card/enablements",
                 {"config": {"base_url": gw.url, "secret_key": SECRET, "webhook_secret": WEBHOOK_SECRET,
                             "timeout_ms": 5000}}, status=201)
        vendor = admin.get("/api/v1/vendor")["id"]
        gw.call("POST", "/control/config",
                {"webhook_url": f"http://127.0.0.1:{d.port}/webhooks/payments/payment-card?vendor={vendor}"}, auth=False)
    return d, data, admin, users


def open_link(d, sink, partner, admin, contract):
    """The partner lets the vendor sell; the customer follows the notice's link."""
    o = opportunity_of(admin, contract)
    partner.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"}, status=200)
    _, msg = sink.wait(lambda m: str(m["X-Renewd-Ref"]) == f"notice:{o['id']}", "customer notice")
    c = Customer(d.port)
    return admin.get(f"/api/v1/opportunities/{o['id']}"), c, c.follow_link(msg)


def accept(c, page, add=()):
    status, _, body = c.open("/portal/accept", {"csrf": csrf_of(page), "accept": "yes", "add": list(add)})
    assert status == 200, body[:300]
    return purchase_form(c)


def billing(customer, **kw):
    b = {"company": customer["name"], "address_line1": customer["address_line1"] or "1 High Street",
         "address_line2": customer["address_line2"] or "", "city": customer["city"] or "Leeds",
         "postcode": customer["postcode"] or "LS1 1AA", "country": customer["country"] or "GB",
         "email": customer["email"] or "billing@example.com"}
    b.update(kw)
    return b


def pdf_text(tmp_path, data, name):
    path = tmp_path / name
    path.write_bytes(data)
    p = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, p.stderr
    return p.stdout


def attachment(msg):
    parts = [p for p in msg.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert len(parts) == 1, [p.get_content_type() for p in msg.iter_attachments()]
    return parts[0].get_filename(), parts[0].get_content()


def test_purchase_page_shows_the_quote(daemon, tmp_path, sink):
    d, data, admin, u = boot(daemon, tmp_path, sink)
    o, c, page = open_link(d, sink, u["gold@x.example"], admin, "K-20006")
    page, _, _ = accept(c, page)
    ordered = [line for line in o["lines"] if not line.get("optional")]
    assert ordered
    lines = re.search(r'<table class="lines" id="purchase-lines">(.*?)</table>', page, re.S)
    assert lines, page
    for line in ordered:
        assert line["description"] in lines.group(1), (line, lines.group(1))
    for line in o["lines"]:
        if line.get("optional"):
            assert line["description"] not in lines.group(1), line  # not chosen: not ordered
    total = re.search(r'id="purchase-total">([^<]+)<', page).group(1)
    assert re.sub(r"[^0-9]", "", total) == str(sum(x["list"] for x in ordered)), total
    assert 'name="card_token"' not in page and 'name="card_number"' not in page
    d.stop()


def test_an_optional_line_whose_sku_a_form_encodes_is_ordered(daemon, tmp_path, sink):
    """A cross-sell whose SKU has characters a browser's form encodes
    ("DLP/EP+2" is sent as DLP%2FEP%2B2), ticked by the customer, is on the
    accepted quote and the purchase page: the accept form compared its "add"
    fields undecoded, and the customer's choice was dropped without a word."""
    import datetime
    d, data, admin, u = boot(daemon, tmp_path, sink)
    extra = admin.ok("POST", "/api/v1/products", {"sku": "DLP/EP+2", "name": "Endpoint DLP Two", "line": "Data Security",
                                                   "prices": [{"term": "annual", "currency": "GBP", "amount": 3000}]},
                     status=201)
    eml = next(p for p in admin.items("/api/v1/products") if p["sku"] == "EML-SEC")
    admin.ok("PATCH", f"/api/v1/products/{eml['id']}", {"crosssell": eml["crosssell"] + [extra["id"]]})
    today = datetime.date.fromisoformat(admin.get("/api/v1/clock")["today"])
    cust = next(c for c in admin.items("/api/v1/customers") if c["external_id"] == "CUST-1005")
    end = today + datetime.timedelta(days=91)  # one day past the window: quoted when the clock moves a day
    admin.ok("POST", "/api/v1/contracts", {"external_id": "K-ENC-1", "customer_id": cust["id"], "product_id": eml["id"],
                                          "reseller_id": 3, "quantity": 4, "start": (end - datetime.timedelta(days=364)).isoformat(),
                                          "end": end.isoformat(), "term": "annual"}, status=201)
    admin.ok("POST", "/api/v1/clock", {"date": (today + datetime.timedelta(days=1)).isoformat()})
    o, c, page = open_link(d, sink, u["gold@x.example"], admin, "K-ENC-1")
    assert any(x["sku"] == "DLP/EP+2" and x.get("optional") for x in o["lines"]), o["lines"]
    assert 'value="DLP/EP+2"' in page, page
    page, _, _ = accept(c, page, add=["DLP/EP+2"])
    chosen = [x for x in admin.get(f"/api/v1/opportunities/{o['id']}")["lines"] if x.get("selected")]
    assert [x["sku"] for x in chosen] == ["DLP/EP+2"], chosen
    lines = re.search(r'<table class="lines" id="purchase-lines">(.*?)</table>', page, re.S).group(1)
    assert "Endpoint DLP Two" in lines, lines
    d.stop()


def test_billing_validated_and_stored(daemon, tmp_path, sink):
    d, data, admin, u = boot(daemon, tmp_path, sink)
    o, c, page = open_link(d, sink, u["gold@x.example"], admin, "K-20006")
    cust = admin.get(f"/api/v1/customers/{o['customer_id']}")
    page, csrf, key = accept(c, page)
    form = {"csrf": csrf, "order_key": key, "option": "purchase_order", "po_number": "PO-77", **billing(cust)}
    for field, bad, want in (("company", "", "company"), ("email", "not-an-email", "email"),
                             ("country", "G", "country"), ("company", "ACME\r\nBcc: x@evil.example", "company"),
                             ("address_line1", "", "address_line1"), ("email", "a@b", "email")):
        status, _, body = c.open("/portal/order", {**form, field: bad})
        text = body.decode()
        assert status == 400 and "Check your billing details" in text and f"({want})" in text, (field, bad, status, text[:500])
    assert orders_of(admin, o["id"]) == []

    edited = billing(cust, company="Abbott Dental Group Ltd", address_line1="7 New Road", city="York",
                     postcode="YO1 7HH", email="accounts@abbott.example")
    status, _, body = c.open("/portal/order", {**form, **edited})
    assert status == 200, body[:400]
    (order,) = orders_of(admin, o["id"])
    assert (order["billing_company"], order["billing_address1"], order["billing_city"], order["billing_postcode"],
            order["billing_email"], order["billing_country"]) == (
        "Abbott Dental Group Ltd", "7 New Road", "York", "YO1 7HH", "accounts@abbott.example", edited["country"]), order
    assert admin.get(f"/api/v1/customers/{cust['id']}") == cust  # no opt-in: the record is as it was

    # another customer ticks "keep these details": the record takes them, audited
    o2, c2, page2 = open_link(d, sink, u["plat@x.example"], admin, "K-20005")
    cust2 = admin.get(f"/api/v1/customers/{o2['customer_id']}")
    _, csrf2, key2 = accept(c2, page2)
    edited2 = billing(cust2, email="new-billing@example.org", city="Bath", update_customer="yes")
    status, _, body = c2.open("/portal/order", {"csrf": csrf2, "order_key": key2, "option": "purchase_order",
                                                "po_number": "PO-78", **edited2})
    assert status == 200, body[:400]
    after = admin.get(f"/api/v1/customers/{cust2['id']}")
    assert after["email"] == "new-billing@example.org" and after["city"] == "Bath", after
    audit = [a for a in admin.items(f"/api/v1/audit?object=customers&object_id={cust2['id']}")
             if "billing details of order" in (a.get("note") or "")]
    assert len(audit) == 1 and audit[0]["before"]["email"] == cust2["email"], audit
    assert audit[0]["after"]["email"] == "new-billing@example.org"
    d.stop()


def test_confirmation_receipt_and_invoice(daemon, tmp_path, sink):
    d, data, admin, u = boot(daemon, tmp_path, sink)
    o, c, page = open_link(d, sink, u["gold@x.example"], admin, "K-20006")
    cust = admin.get(f"/api/v1/customers/{o['customer_id']}")
    _, csrf, key = accept(c, page)
    to = "invoices@abbott.example"
    form = {"csrf": csrf, "order_key": key, "option": "purchase_order", "po_number": "PO-9001",
            **billing(cust, company="Abbott Billing Co", email=to)}
    status, _, body = c.open("/portal/order", form)
    assert status == 200, body[:400]
    (order,) = orders_of(admin, o["id"])
    assert order["invoice_number"] == "INV-000001", order
    rcpt, msg = sink.wait(lambda m: str(m["X-Renewd-Kind"]) == "order_confirmation", "order confirmation")
    assert rcpt == [to] and str(msg["To"]) == to and order["number"] in str(msg["Subject"]), (rcpt, msg["Subject"])
    assert order["number"] in msg.get_body(("plain",)).get_content()
    name, pdf = attachment(msg)
    assert name == "invoice-INV-000001.pdf" and pdf.startswith(b"%PDF-"), name
    text = pdf_text(tmp_path, pdf, "confirmation.pdf")
    for want in ("Invoice", "INV-000001", order["number"], "Abbott Billing Co", "PO-9001"):
        assert want in text, (want, text)
    for line in o["lines"]:
        if not line.get("optional"):
            assert line["description"][:30] in text, (line, text)
    assert re.sub(r"[^0-9]", "", re.search(r"Total\s+(\S+(?: \S+)?)\s*$", text, re.M).group(1)) == str(order["total"]), text

    # the next order of the vendor takes the next number
    o2, c2, page2 = open_link(d, sink, u["plat@x.example"], admin, "K-20005")
    cust2 = admin.get(f"/api/v1/customers/{o2['customer_id']}")
    _, csrf2, key2 = accept(c2, page2)
    status, _, body = c2.open("/portal/order", {"csrf": csrf2, "order_key": key2, "option": "purchase_order",
                                                "po_number": "PO-2", **billing(cust2)})
    assert status == 200, body[:400]
    assert orders_of(admin, o2["id"])[0]["invoice_number"] == "INV-000002"

    # paid: the receipt, with the same invoice, to the same address
    admin.ok("POST", f"/api/v1/orders/{order['id']}/payments", {"amount": order["total"], "reference": "T-1"})
    paid = admin.get(f"/api/v1/orders/{order['id']}")
    assert paid["state"] == "fulfilled" and paid["invoice_number"] == "INV-000001", paid
    rcpt, receipt = sink.wait(lambda m: str(m["X-Renewd-Kind"]) == "order_receipt", "receipt")
    assert rcpt == [to] and "INV-000001" in str(receipt["Subject"]), receipt["Subject"]
    name, pdf2 = attachment(receipt)
    assert name == "invoice-INV-000001.pdf"
    assert "Paid" in pdf_text(tmp_path, pdf2, "receipt.pdf")

    # the portal's documents list offers it; the download is the invoice
    status, _, body = c.open("/portal")
    page = body.decode()
    m = re.search(r'<a href="(/portal/invoices/\d+)" download>invoice-INV-000001\.pdf</a>', page)
    assert status == 200 and m, page
    status, headers, pdf3 = c.open(m.group(1))
    assert status == 200 and headers["Content-Type"] == "application/pdf", (status, pdf3[:200])
    assert "INV-000001" in pdf_text(tmp_path, pdf3, "download.pdf")
    # another customer's link does not reach it
    status, _, _ = c2.open(m.group(1))
    assert status == 404
    d.stop()

    # after a restart the numbers go on; an API order takes the customer record's billing details
    d2 = daemon(data=data, args=["--test-clock", "1", "--sched-interval-ms", "100000",
                                 "--mail-transport", f"smtp://127.0.0.1:{sink.port}", "--mail-retry-ms", "100"])
    gold = ApiClient(d2, u["gold@x.example"].token, u["gold@x.example"].user_id)
    o3 = opportunity_of(ApiClient(d2, admin.token, admin.user_id), "K-20003")
    gold.ok("POST", f"/api/v1/opportunities/{o3['id']}/decision", {"publish": "vendor"}, status=200)
    r = gold.call("POST", "/api/v1/orders", {"opportunity_id": o3["id"], "payment_option": "purchase_order",
                                             "po_number": "PO-3"}, headers={"Idempotency-Key": "checkout-api-3"})
    assert r.status == 201, r
    third = r.json()
    cust3 = ApiClient(d2, admin.token, admin.user_id).get(f"/api/v1/customers/{o3['customer_id']}")
    assert third["invoice_number"] == "INV-000003", third
    assert (third["billing_company"], third["billing_email"]) == (cust3["name"], cust3["email"]), third
    rcpt, _ = sink.wait(lambda m: str(m["X-Renewd-Ref"]) == f"order:{third['id']}:confirmation", "third confirmation")
    assert rcpt == [cust3["email"]]
    d2.stop()


def test_hosted_card_payment(daemon, tmp_path, sink, gateway):
    d, data, admin, u = boot(daemon, tmp_path, sink, gateway)
    o, c, page = open_link(d, sink, u["gold@x.example"], admin, "K-20006")
    cust = admin.get(f"/api/v1/customers/{o['customer_id']}")
    page, csrf, key = accept(c, page)
    assert 'value="card"' in page and 'name="card_token"' not in page and "card_number" not in page
    to = "card-payer@abbott.example"
    status, _, body = c.open("/portal/order", {"csrf": csrf, "order_key": key, "option": "card", **billing(cust, email=to)})
    text = body.decode()
    assert status == 200, text[:400]
    link = re.search(r'<a id="pay-by-card" class="button" href="([^"]+)"', text)
    assert link and link.group(1).startswith(gateway.url + "/pay/cs_"), text
    (order,) = orders_of(admin, o["id"])
    assert order["state"] == "awaiting_payment" and order["checkout_url"] == link.group(1), order
    assert order["payment_ref"].startswith("pi_") and order["invoice_number"] == "", order
    assert gateway.charges() == []
    # the same form again: the same order, the same page (no second session)
    status, _, body = c.open("/portal/order", {"csrf": csrf, "order_key": key, "option": "card", **billing(cust, email=to)})
    assert status == 200 and link.group(1) in body.decode()
    assert len(gateway.state()["sessions"]) == 1

    # the customer on the gateway's page: a declined card first, then a good one
    opener = urllib.request.build_opener()
    with opener.open(link.group(1), timeout=10) as r:
        assert 'name="card_number"' in r.read().decode()
    try:
        opener.open(link.group(1), data=urllib.parse.urlencode({"card_number": "4000000000000002"}).encode(), timeout=10)
        raise AssertionError("the declined card was taken")
    except urllib.error.HTTPError as e:
        assert e.code == 402 and b"declined" in e.read()
    assert admin.get(f"/api/v1/orders/{order['id']}")["state"] == "awaiting_payment"
    req = urllib.request.Request(link.group(1), data=urllib.parse.urlencode({"card_number": CARD}).encode())

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *a, **kw):
            return None

    try:
        urllib.request.build_opener(NoRedirect).open(req, timeout=20)
        raise AssertionError("no redirect back to renewd")
    except urllib.error.HTTPError as e:
        assert e.code == 303, e
        back = e.headers["Location"]
    assert back == f"http://127.0.0.1:{d.port}/portal/order", back
    session = gateway.state()["sessions"][0]
    assert session["webhook"] == [200], session
    # back in the portal: paid, and the renewal in place
    status, _, body = c.open(urllib.parse.urlsplit(back).path)
    text = body.decode()
    assert status == 200 and "Your payment is received" in text and order["number"] in text, text[:600]
    paid = admin.get(f"/api/v1/orders/{order['id']}")
    assert paid["state"] == "fulfilled" and paid["paid_reference"] == order["payment_ref"], paid
    assert paid["invoice_number"] == "INV-000001" and paid["billing_email"] == to
    charges = gateway.charges()
    assert len(charges) == 1 and charges[0]["amount"] == order["total"], charges
    # the confirmation, then the receipt with the invoice, at the billing address
    rcpt, _ = sink.wait(lambda m: str(m["X-Renewd-Kind"]) == "order_confirmation", "confirmation")
    assert rcpt == [to]
    rcpt, receipt = sink.wait(lambda m: str(m["X-Renewd-Kind"]) == "order_receipt", "receipt")
    assert rcpt == [to]
    name, pdf = attachment(receipt)
    assert name == "invoice-INV-000001.pdf" and "Paid" in pdf_text(tmp_path, pdf, "card.pdf")
    # renewd never saw the card: not in its pages, mail, store or log
    assert CARD in gateway.state()["cards_seen"]
    d.stop()
    seen = b"".join(sink.raw) + text.encode() + d.log().encode()
    for f in data.rglob("*"):
        if f.is_file():
            seen += f.read_bytes()
    assert CARD.encode() not in seen and b"4000000000000002" not in seen
