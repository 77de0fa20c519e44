"""Card orders end to end (core/api/orders.c, plugins/payment-card), against
the fake gateway tests/fakegw/fakegw.py started here on 127.0.0.1 with a
bounded lifetime.

* test_card_portal_end_to_end: the customer accepts, the purchase page
  offers the card (with no card or token field: the page's own way is the
  gateway's hosted payment page, test_checkout.py); a token from the gateway
  (POST /v1/tokens) posted as card_token pays (an empty token or a card
  number refused, nothing written); the order is paid and fulfilled at once, with the
  gateway's payment id as the reference; the same form again gives the same
  order and no second charge; duplicate webhooks change nothing; a webhook
  with a bad signature is refused (400, naming the problem).
* test_card_gateway_timeouts: the gateway acts but answers late on the
  create (portal) and on the confirm (API, Idempotency-Key): each ends as
  exactly one paid order and one charge; an API replay of the same key the
  same.
* test_card_webhook_pays_held_order: manual capture holds the money (the
  order awaits payment); the gateway's "succeeded" webhook pays and fulfils
  it, once.
* test_card_crash_between_charge_and_commit: renewd started with
  --test-crash-after-authorise (tests only, with --test-clock) kills itself
  after the gateway charged and before the order is stored; at restart the
  order is reconciled under its key: one fulfilled order, one charge; the
  customer's replay of the form changes nothing.
"""
import json
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from conftest import REPO, ApiClient, api_user, demo_load, http_request, renewctl
from crashkit import scaled, wait_until
from test_orders import csrf_of, open_portal, orders_of, purchase_form
from test_quote_pdf import Customer, opportunity_of

FAKEGW = REPO / "tests" / "fakegw" / "fakegw.py"
SECRET, WEBHOOK_SECRET = "sk_test_fakegw", "whsec_fakegw"
TEST_ARGS = ["--test-clock", "1", "--sched-interval-ms", "100000", "--outbound-hosts", "127.0.0.1"]  # the fake gateway


class Gateway:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, str(FAKEGW), "--lifetime", "180", "--secret", SECRET,
                                      "--webhook-secret", WEBHOOK_SECRET], stdout=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)
        self.port = int(self.proc.stdout.readline())
        self.url = f"http://127.0.0.1:{self.port}"

    def call(self, method, path, body=None, auth=True, form=None):
        data = json.dumps(body).encode() if body is not None else (form.encode() if form is not None else None)
        h = {"Authorization": f"Bearer {SECRET}"} if auth else {}
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=h)
        with urllib.request.urlopen(req, timeout=20) as r:
            return json.loads(r.read())

    def token(self):
        return self.call("POST", "/v1/tokens", form="")["id"]

    def state(self):
        return self.call("GET", "/control/state", auth=False)

    def charges(self):
        return [c for c in self.state()["charges"] if c["kind"] in ("charge", "capture")]

    def control(self, what, body):
        return self.call("POST", f"/control/{what}", body, auth=False)

    def close(self):
        self.proc.kill()
        self.proc.wait(timeout=5)
        self.proc.stdout.close()


@pytest.fixture
def gateway():
    g = Gateway()
    yield g
    g.close()


def boot(daemon, tmp_path, gw, extra_args=(), capture="auto"):
    """The demo store, a vendor admin, RES-PLAT's and RES-GOLD's admins,
    payment-card enabled for the vendor against the fake gateway."""
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    token, uid = api_user(data, email="admin@x.example")
    users = {e: api_user(data, email=e, role="partner-admin", partner=p)
             for e, p in (("plat@x.example", "2"), ("gold@x.example", "3"))}
    d = daemon(data=data, args=TEST_ARGS + list(extra_args))
    admin = ApiClient(d, token, uid)
    admin.ok("POST", "/api/v1/plugins/payment-card/enablements",
             {"config": {"base_url": gw.url, "secret_key": SECRET, "webhook_secret": WEBHOOK_SECRET,
                         "timeout_ms": 1000, "capture": capture}}, status=201)
    return d, data, admin, {e: ApiClient(d, *tu) for e, tu in users.items()}, (token, uid)


def accepted_card_form(d, data, admin, partner, contract):
    o, c, page = open_portal(d, data, partner, admin, contract)
    status, _, body = c.open("/portal/accept", {"csrf": csrf_of(page), "accept": "yes"})
    assert status == 200, body[:300]
    page, csrf, key = purchase_form(c)
    # the page has no card or token field (the hosted payment page, test_checkout.py); a
    # card_token posted with the form (a gateway's own card script) still pays
    assert 'value="card"' in page and 'name="card_token"' not in page, page
    return o, c, {"csrf": csrf, "order_key": key, "option": "card"}


def webhook_url(d, admin):
    return f"http://127.0.0.1:{d.port}/webhooks/payments/payment-card?vendor={admin.get('/api/v1/vendor')['id']}"


def test_card_portal_end_to_end(daemon, tmp_path, gateway):
    d, data, admin, u, _ = boot(daemon, tmp_path, gateway)
    o, c, form = accepted_card_form(d, data, admin, u["gold@x.example"], "K-20006")
    total = sum(line["list"] for line in o["lines"] if not line.get("optional"))
    # no token, a card number, a hostile token: refused, nothing written, nothing charged
    for extra in ({"card_token": ""}, {"card_token": "4242424242424242"}, {"card_token": "tok_<script>x</script>"}):
        status, _, body = c.open("/portal/order", {**form, **extra})
        assert status == 400, (extra, status, body[:300])
    assert orders_of(admin, o["id"]) == [] and gateway.charges() == []

    tok = gateway.token()
    pages = []
    for _ in range(2):  # a double submit of one form: one order, one charge
        status, _, body = c.open("/portal/order", {**form, "card_token": tok})
        assert status == 200, body[:400]
        pages.append(body.decode())
    number = re.search(r'id="order-number">(O-\d{4}-\d{6})<', pages[0]).group(1)
    assert number in pages[1] and "Your payment is received" in pages[0], pages[0]
    assert tok not in pages[0]
    orders = orders_of(admin, o["id"])
    assert len(orders) == 1, orders
    order = orders[0]
    assert order["state"] == "fulfilled" and order["payment_plugin"] == "payment-card", order
    assert order["paid_amount"] == total and order["paid_reference"].startswith("pi_"), order
    assert order["payment_ref"] == order["paid_reference"] and order["new_contract_id"], order
    assert tok not in json.dumps(order)
    charges = gateway.charges()
    assert len(charges) == 1 and charges[0]["amount"] == total and charges[0]["intent"] == order["paid_reference"]
    assert admin.get(f"/api/v1/opportunities/{o['id']}")["state"] == "won"
    assert admin.get(f"/api/v1/contracts/{o['contract_id']}")["status"] == "renewed"

    # the gateway's webhook, delivered twice: acknowledged, nothing changes
    url = webhook_url(d, admin)
    sent = gateway.control("webhook", {"type": "payment_intent.succeeded", "payment_intent": order["paid_reference"],
                                       "url": url, "times": 2})
    assert sent["sent"] == [200, 200], sent
    assert admin.get(f"/api/v1/orders/{order['id']}") == order
    # a bad signature, none, a stale one: 400 naming the problem
    bad = gateway.control("webhook", {"payment_intent": order["paid_reference"], "secret": "whsec_wrong"})
    r = http_request(d.port, "POST", url.split(str(d.port), 1)[1], body=bad["body"].encode(),
                     headers={"Gateway-Signature": bad["signature"], "Content-Type": "application/json"})
    assert r.status == 400 and b"signature does not verify" in r.body, r
    r = http_request(d.port, "POST", "/webhooks/payments/payment-card?vendor=1", body=bad["body"].encode())
    assert r.status == 400 and b"Gateway-Signature" in r.body, r
    stale = gateway.control("webhook", {"payment_intent": order["paid_reference"], "timestamp": int(time.time()) - 3600})
    r = http_request(d.port, "POST", url.split(str(d.port), 1)[1], body=stale["body"].encode(),
                     headers={"Gateway-Signature": stale["signature"]})
    assert r.status == 400 and b"replay" in r.body, r
    r = http_request(d.port, "POST", "/webhooks/payments/payment-nothing?vendor=1", body=b"{}",
                     headers={"Gateway-Signature": "t=1,v1=00"})
    assert r.status == 404, r
    r = http_request(d.port, "POST", url.split(str(d.port), 1)[1], body=b"x" * 70000,
                     headers={"Gateway-Signature": "t=1,v1=00"})
    assert r.status == 413, r
    assert admin.get(f"/api/v1/orders/{order['id']}") == order and len(gateway.charges()) == 1
    d.stop()


def test_card_gateway_timeouts(daemon, tmp_path, gateway):
    d, data, admin, u, _ = boot(daemon, tmp_path, gateway)
    # the create acts and answers after the plugin's 1 s: the plugin asks under the key, confirms once
    o, c, form = accepted_card_form(d, data, admin, u["gold@x.example"], "K-20006")
    gateway.control("timeout_next", {"seconds": 2.5})
    status, _, body = c.open("/portal/order", {**form, "card_token": gateway.token()})
    assert status == 200, body[:400]
    orders = orders_of(admin, o["id"])
    assert len(orders) == 1 and orders[0]["state"] == "fulfilled", orders
    assert len(gateway.charges()) == 1

    # the API: the confirm acts and answers late; a replay of the key: the same order, no second charge
    plat = u["plat@x.example"]
    o2 = opportunity_of(admin, "K-20005")
    plat.ok("POST", f"/api/v1/opportunities/{o2['id']}/decision", {"publish": "vendor"}, status=200)
    gateway.control("timeout_next", {"seconds": 2.5, "after": 1})
    body = {"opportunity_id": o2["id"], "payment_option": "card", "card_token": gateway.token()}
    r = admin.call("POST", "/api/v1/orders", body, headers={"Idempotency-Key": "card-api-1"})
    assert r.status == 201, r.body
    first = json.loads(r.body)
    assert first["state"] == "fulfilled" and first["paid_reference"].startswith("pi_"), first
    r = admin.call("POST", "/api/v1/orders", body, headers={"Idempotency-Key": "card-api-1"})
    assert r.status == 200 and json.loads(r.body)["id"] == first["id"], r.body
    r = admin.call("POST", "/api/v1/orders", {**body, "card_token": "4242424242424242"},
                   headers={"Idempotency-Key": "card-api-2"})
    assert r.status == 400 and json.loads(r.body)["error"]["field"] == "card_token", r.body
    assert len(orders_of(admin, o2["id"])) == 1
    charges = gateway.charges()
    assert len(charges) == 2 and charges[1]["intent"] == first["paid_reference"], charges


def test_card_webhook_pays_held_order(daemon, tmp_path, gateway):
    d, data, admin, u, _ = boot(daemon, tmp_path, gateway, capture="manual")
    o, c, form = accepted_card_form(d, data, admin, u["gold@x.example"], "K-20006")
    status, _, body = c.open("/portal/order", {**form, "card_token": gateway.token()})
    assert status == 200, body[:400]
    order = orders_of(admin, o["id"])[0]
    assert order["state"] == "awaiting_payment" and order["payment_ref"].startswith("pi_"), order
    url = webhook_url(d, admin)
    # an event for an unknown order is acknowledged and ignored
    sent = gateway.control("webhook", {"type": "payment_intent.succeeded", "payment_intent": "pi_nothing", "url": url})
    assert sent["sent"] == [400], sent  # no order reference in the event: refused by the plugin
    gateway.call("POST", f"/v1/payment_intents/{order['payment_ref']}/capture", form="")
    sent = gateway.control("webhook", {"type": "payment_intent.succeeded", "payment_intent": order["payment_ref"],
                                       "url": url, "times": 3})
    assert sent["sent"] == [200, 200, 200], sent
    paid = admin.get(f"/api/v1/orders/{order['id']}")
    assert paid["state"] == "fulfilled" and paid["paid_reference"] == order["payment_ref"], paid
    assert len([k for k in admin.items("/api/v1/contracts") if k["external_id"] == order["number"]]) == 1
    # the same event id again: a duplicate; nothing changes
    sent = gateway.control("webhook", {"type": "payment_intent.succeeded", "payment_intent": order["payment_ref"],
                                       "url": url, "event_id": "evt_fixed", "times": 2})
    assert sent["sent"] == [200, 200], sent
    assert admin.get(f"/api/v1/orders/{order['id']}") == paid
    assert len(gateway.charges()) == 1
    d.stop()  # a clean exit (under ASan: no leaks)


def test_card_crash_between_charge_and_commit(daemon, tmp_path, gateway):
    d, data, admin, u, (token, uid) = boot(daemon, tmp_path, gateway, extra_args=["--test-crash-after-authorise", "1"])
    o, c, form = accepted_card_form(d, data, admin, u["gold@x.example"], "K-20006")
    form["card_token"] = gateway.token()
    try:
        c.open("/portal/order", form)
    except (urllib.error.URLError, ConnectionError, OSError):
        pass  # the daemon died under the request
    assert d.proc.wait(timeout=10) == -9, d.log()
    assert "test_crash_after_authorise" in d.log()
    assert len(gateway.charges()) == 1  # charged, and renewd never stored it

    # the option is for tests only: refused without the test clock
    r = subprocess.run([str(d.proc.args[0]), "--data", str(data), "--test-crash-after-authorise", "1"],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode != 0 and "test_clock" in r.stderr, r.stderr

    d2 = daemon(data=data, args=TEST_ARGS)
    admin = ApiClient(d2, token, uid)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        orders = orders_of(admin, o["id"])
        if orders and orders[0]["state"] == "fulfilled":
            break
        time.sleep(0.1)
    assert len(orders) == 1 and orders[0]["state"] == "fulfilled", (orders, d2.log())
    assert orders[0]["paid_reference"] == gateway.charges()[0]["intent"]
    # logged in the turn of the loop that stored the answer, and written out
    # at the start of the next one: the GET that saw the order fulfilled
    # may have been answered in that same turn, before the line is out
    wait_until(lambda: "reconciled" in d2.log(), scaled(10, 20), "the reconciliation's log line")
    # the customer's browser sends the form again: the same order, no charge
    c.port = d2.port
    status, _, body = c.open("/portal/order", form)
    assert status == 200 and orders[0]["number"] in body.decode(), body[:400]
    assert len(gateway.charges()) == 1 and len(orders_of(admin, o["id"])) == 1
    d2.stop()


def test_refunds(daemon, tmp_path, gateway):
    """A paid card order refunded: the gateway refunds once (a retry refunds
    nothing more), the order is `refunded`, the earned commissions get their
    reversals, the renewed contract is cancelled and the opportunity lost; a
    gateway that refuses changes nothing (502); only the vendor's people
    refund; an order not paid cannot be."""
    d, data, admin, u, _ = boot(daemon, tmp_path, gateway)
    o, c, form = accepted_card_form(d, data, admin, u["gold@x.example"], "K-20006")
    status, _, body = c.open("/portal/order", {**form, "card_token": gateway.token()})
    assert status == 200, body[:300]
    (order,) = orders_of(admin, o["id"])
    assert order["state"] == "fulfilled", order
    earned = [x for x in admin.items("/api/v1/commissions") if x["order_id"] == order["id"]]
    assert earned and all(x["kind"] == "earned" for x in earned), earned
    url = f"/api/v1/orders/{order['id']}/refund"

    for body_, field in (({}, "reason"), ({"reason": ""}, "reason"), ({"reason": "x", "amount": 1}, "amount"),
                         ({"reason": "a\u001bb"}, "reason")):
        r = admin.call("POST", url, body_)
        assert r.status == 400 and r.json()["error"]["field"] == field, (body_, r)
    assert u["gold@x.example"].call("POST", url, {"reason": "mine"}).status == 403
    gateway.control("fail_next", {})
    r = admin.call("POST", url, {"reason": "customer cancelled"})
    assert r.status == 502 and r.json()["error"]["code"] == "gateway_error", r
    assert admin.get(f"/api/v1/orders/{order['id']}")["state"] == "fulfilled"
    assert not gateway.state()["refunds"]

    # a reason whose cut into the quote's lost reason (100 bytes) falls inside a character
    reason = "customer cancelled " + "\u00e9" * 50  # 119 bytes
    r = admin.call("POST", url, {"reason": reason})
    assert r.status == 200 and r.json()["state"] == "refunded", r
    assert len(gateway.state()["refunds"]) == 1
    assert admin.call("POST", url, {"reason": "again"}).json()["state"] == "refunded"
    assert len(gateway.state()["refunds"]) == 1  # once
    entries = [x for x in admin.items("/api/v1/commissions") if x["order_id"] == order["id"]]
    reversals = [x for x in entries if x["kind"] == "reversal"]
    assert sorted((x["party"], -x["amount"]) for x in reversals) == sorted((x["party"], x["amount"]) for x in earned)
    assert admin.get(f"/api/v1/contracts/{order['new_contract_id']}")["status"] == "cancelled"
    opp = admin.get(f"/api/v1/opportunities/{o['id']}")
    assert opp["state"] == "lost" and opp.get("lost_reason", "").startswith("refunded: customer cancelled \u00e9"), opp
    assert ("refunded: " + reason).startswith(opp["lost_reason"]), opp["lost_reason"]
    # an order awaiting payment is not refundable
    admin.ok("POST", "/api/v1/plugins/payment-po/enablements", {"config": {}}, status=201)
    o2 = opportunity_of(admin, "K-20003")
    u["gold@x.example"].ok("POST", f"/api/v1/opportunities/{o2['id']}/decision", {"publish": "vendor"}, status=200)
    r = u["gold@x.example"].call("POST", "/api/v1/orders", {"opportunity_id": o2["id"], "payment_option": "purchase_order",
                                                            "po_number": "PO-5"}, headers={"Idempotency-Key": "r-po"})
    assert r.status == 201, r
    po = r.json()
    r = admin.call("POST", f"/api/v1/orders/{po['id']}/refund", {"reason": "x"})
    assert r.status == 409, r
    # paid by a recorded transfer, refunded by the vendor: no gateway involved
    admin.ok("POST", f"/api/v1/orders/{po['id']}/payments", {"amount": po["total"], "reference": "T-5"})
    r = admin.call("POST", f"/api/v1/orders/{po['id']}/refund", {"reason": "duplicate purchase"})
    assert r.status == 200 and r.json()["state"] == "refunded", r
    assert len(gateway.state()["refunds"]) == 1
    assert admin.call("POST", "/api/v1/orders/999999/refund", {"reason": "x"}).status == 404
    d.stop()
