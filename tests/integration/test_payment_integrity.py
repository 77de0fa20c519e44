"""A payment confirms only what was ordered (core/services/webhooks.c,
refunds.c, orders.c; plugins/payment-card), against the fake gateway
tests/fakegw/fakegw.py started here on 127.0.0.1 with a bounded lifetime.

* test_webhook_for_another_amount_or_currency_does_not_pay: a hosted card
  order awaits payment; the gateway's signed "succeeded" event for its
  payment but a smaller amount, or in another currency, is acknowledged
  (200, saying it was not applied) and leaves the order awaiting payment,
  the report on the order and an error in the log; the customer then pays
  on the gateway's page and the gateway's own event pays the order at its
  total.
* test_refund_cancels_every_contract_the_order_made: an order with a chosen
  cross-sell is paid and fulfilled (two contracts), then refunded: both
  contracts are cancelled.
* test_api_card_order_without_token_is_refused: POST /api/v1/orders for the
  card option without card_token answers 400 naming card_token, with no
  order written and no call to the gateway; with a token it pays.
* test_default_form_after_token_payment_pays_once: a token payment charged
  and never stored (renewd killed), the reconciliation at restart without an
  answer from the gateway (the order stays created), then the portal's
  default form (no token: the hosted page) for the order: the plugin finds
  the token payment under the order's key, the order is paid and fulfilled,
  no payment page is opened, one charge.
"""
import json
import time
import urllib.error
import urllib.request

from conftest import ApiClient, http_request
from test_card_orders import TEST_ARGS, accepted_card_form, boot, gateway, webhook_url  # noqa: F401 (gateway: a fixture)
from test_orders import csrf_of, orders_of
from test_quote_pdf import opportunity_of
from test_quoted_billed import order_by_po, quoted


def signed(gw, d, url, event):
    """The gateway's signed event, POSTed here so the answer's body is read."""
    sent = gw.control("webhook", event)
    return http_request(d.port, "POST", url.split(str(d.port), 1)[1], body=sent["body"].encode(),
                        headers={"Gateway-Signature": sent["signature"], "Content-Type": "application/json"})


def test_webhook_for_another_amount_or_currency_does_not_pay(daemon, tmp_path, gateway):
    d, data, admin, u, _ = boot(daemon, tmp_path, gateway)
    url = webhook_url(d, admin)
    gateway.control("config", {"webhook_url": url})
    o, c, form = accepted_card_form(d, data, admin, u["gold@x.example"], "K-20006")
    status, _, body = c.open("/portal/order", form)  # no token: the gateway's page
    assert status == 200, body[:400]
    (order,) = orders_of(admin, o["id"])
    assert order["state"] == "awaiting_payment" and order["payment_ref"].startswith("pi_"), order
    pi, total = order["payment_ref"], order["total"]
    assert order["currency"] == "GBP" and total > 100, order

    # the order's payment, reported for less: acknowledged, not applied
    r = signed(gateway, d, url, {"type": "payment_intent.succeeded", "payment_intent": pi,
                                 "object": {"status": "succeeded", "amount": 100, "amount_received": 100}})
    assert r.status == 200 and b"not applied" in r.body, r
    after = admin.get(f"/api/v1/orders/{order['id']}")
    assert after["state"] == "awaiting_payment" and not after.get("paid_amount"), after
    assert "not paid" in after["payment_message"] and "GBP 1.00" in after["payment_message"], after
    assert "not the order's" in d.log(), d.log()[-2000:]
    audit = admin.call("GET", f"/api/v1/audit?object=orders&object_id={order['id']}")
    assert audit.status == 200 and b"amount or currency not the order" in audit.body, audit.body[-2000:]
    # the same report delivered again: acknowledged, nothing more changes
    r = signed(gateway, d, url, {"type": "payment_intent.succeeded", "payment_intent": pi,
                                 "object": {"status": "succeeded", "amount": 100, "amount_received": 100}})
    assert r.status == 200 and admin.get(f"/api/v1/orders/{order['id']}") == after, r

    # the right amount in another currency: likewise
    r = signed(gateway, d, url, {"type": "payment_intent.succeeded", "payment_intent": pi,
                                 "object": {"status": "succeeded", "amount_received": total, "currency": "usd"}})
    assert r.status == 200 and b"not applied" in r.body, r
    after = admin.get(f"/api/v1/orders/{order['id']}")
    assert after["state"] == "awaiting_payment" and "USD" in after["payment_message"], after
    assert [x for x in admin.items("/api/v1/contracts") if x["external_id"] == order["number"]] == []

    # the customer pays on the gateway's page: its event (the order's amount and currency) pays it
    page = gateway.url + "/pay/" + order["checkout_url"].rsplit("/pay/", 1)[1]
    req = urllib.request.Request(page, data=b"card_number=4242424242424242", method="POST")
    try:
        urllib.request.build_opener(NoRedirect).open(req, timeout=20)
    except urllib.error.HTTPError as e:
        assert e.code == 303, e
    paid = admin.get(f"/api/v1/orders/{order['id']}")
    assert paid["state"] == "fulfilled" and paid["paid_amount"] == total and paid["paid_reference"] == pi, paid
    d.stop()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kw):
        return None


def test_refund_cancels_every_contract_the_order_made(daemon, tmp_path):
    d, admin, c, page, k, o, p = quoted(daemon, tmp_path, "K-PI-X")
    status, _, body = c.open("/portal/accept", {"csrf": csrf_of(page), "accept": "yes", "add": "QB-X"})
    assert status == 200, body[:400]
    _, order, _ = order_by_po(admin, c, o, "PO-PI-1")
    admin.ok("POST", f"/api/v1/orders/{order['id']}/payments", {"amount": order["total"], "reference": "PI-1"},
             status=200)
    fulfilled = admin.get(f"/api/v1/orders/{order['id']}")
    made = [x["contract_id"] for x in fulfilled["lines"]]
    assert fulfilled["state"] == "fulfilled" and len(made) == 2 and all(made), fulfilled
    assert fulfilled["new_contract_id"] == made[0], fulfilled
    assert [admin.get(f"/api/v1/contracts/{i}")["status"] for i in made] == ["live", "live"]
    r = admin.call("POST", f"/api/v1/orders/{order['id']}/refund", {"reason": "customer left"})
    assert r.status == 200 and r.json()["state"] == "refunded", r
    assert [admin.get(f"/api/v1/contracts/{i}")["status"] for i in made] == ["cancelled", "cancelled"]
    assert admin.get(f"/api/v1/contracts/{k['id']}")["status"] == "renewed"
    d.stop()


def test_api_card_order_without_token_is_refused(daemon, tmp_path, gateway):
    d, data, admin, u, _ = boot(daemon, tmp_path, gateway)
    plat = u["plat@x.example"]
    o = opportunity_of(admin, "K-20005")
    plat.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"}, status=200)
    for extra in ({}, {"card_token": None}):
        r = admin.call("POST", "/api/v1/orders", {"opportunity_id": o["id"], "payment_option": "card", **extra},
                       headers={"Idempotency-Key": "pi-no-token"})
        assert r.status == 400, r.body
        err = json.loads(r.body)["error"]
        assert err["field"] == "card_token" and "card_token" in err["message"], err
    assert orders_of(admin, o["id"]) == []
    assert gateway.state()["intents"] == [] and gateway.state()["sessions"] == []
    # the same key, now with a token: the order is made and paid
    r = admin.call("POST", "/api/v1/orders", {"opportunity_id": o["id"], "payment_option": "card",
                                              "card_token": gateway.token()}, headers={"Idempotency-Key": "pi-no-token"})
    assert r.status == 201 and json.loads(r.body)["state"] == "fulfilled", r.body
    d.stop()


def test_default_form_after_token_payment_pays_once(daemon, tmp_path, gateway):
    d, data, admin, u, (token, uid) = boot(daemon, tmp_path, gateway, extra_args=["--test-crash-after-authorise", "1"])
    o, c, form = accepted_card_form(d, data, admin, u["gold@x.example"], "K-20006")
    try:
        c.open("/portal/order", {**form, "card_token": gateway.token()})
    except (urllib.error.URLError, ConnectionError, OSError):
        pass  # the daemon died under the request
    assert d.proc.wait(timeout=10) == -9, d.log()
    assert len(gateway.charges()) == 1  # charged, and renewd never stored it

    # at restart the gateway fails the reconciliation's look-up: the order stays created
    gateway.control("fail_next", {"status": 500, "count": 1})
    d2 = daemon(data=data, args=TEST_ARGS)
    admin = ApiClient(d2, token, uid)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and "reconciling an order:" not in d2.log():
        time.sleep(0.1)
    assert "reconciling an order:" in d2.log(), d2.log()[-2000:]
    (order,) = orders_of(admin, o["id"])
    assert order["state"] == "created", order

    # the customer's browser sends the default form (no token: the gateway's page)
    c.port = d2.port
    status, _, body = c.open("/portal/order", form)
    assert status == 200 and order["number"] in body.decode(), body[:400]
    (order,) = orders_of(admin, o["id"])
    state = gateway.state()
    assert state["sessions"] == [], state["sessions"]  # no page to pay a second time
    assert order["state"] == "fulfilled" and not order.get("checkout_url"), order
    assert order["paid_reference"] == gateway.charges()[0]["intent"] and len(gateway.charges()) == 1
    d2.stop()
