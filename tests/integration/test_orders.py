"""Orders (core/api/orders.c): from the e-mailed link to a recorded payment and
the renewed contract, exactly once.

renewd runs on the demo store with the test clock (test_quote_pdf's start()).
payment-po is enabled for the whole vendor; payment-bml only for RES-PLAT
(partner 2), with 45 days' terms.

* test_portal_po_end_to_end: RES-GOLD's customer accepts, buys by purchase
  order (missing number, an option not enabled for the partner, an unknown
  option and a stale form all refused, nothing written), double-submits the
  same form (one order); the vendor records the payment (wrong amount 422, a
  partner 403, the same reference again changes nothing, another 409); the
  order is fulfilled: a new contract a year long from the old end + 1 day,
  the old one renewed, the opportunity won, audited; partner scoping.
* test_portal_bml_quarterly: RES-PLAT's customer adds the cross-sell line and
  buys on Bill Me Later: due date = order day + 45, shown on the page; the
  contract's quarterly term gives a three-month new contract.
* test_api_idempotency: POST /api/v1/orders by the partner: the key is
  required, a replay (also concurrent) gives one order, the same key with
  another body 409, bad input 400 with the field, an oversized body 413,
  another partner's quote 400; a second key for the same quote gets the live
  order.
"""
import datetime
import re
import threading
import time

from conftest import assert_json_error, http_request, raw_connect, recv_http_response, renewctl
from test_renewals import set_clock as renewals_set_clock
from test_quote_pdf import Customer, opportunity_of, start, wait_mail


def today(admin):
    return datetime.date.fromisoformat(admin.get("/api/v1/clock")["today"])


def boot(daemon, tmp_path):
    d, data, admin, u, other = start(daemon, tmp_path, users=[("plat@x.example", "partner-admin", "2"),
                                                                ("gold@x.example", "partner-admin", "3"),
                                                                ("cm@x.example", "channel-manager", None)])
    admin.ok("POST", "/api/v1/plugins/payment-po/enablements", {"config": {}}, status=201)
    admin.ok("POST", "/api/v1/plugins/payment-bml/enablements", {"partner_id": 2, "config": {"terms_days": 45}},
             status=201)
    return d, data, admin, u, other


def orders_of(admin, oid):
    return [x for x in admin.items("/api/v1/orders") if x["opportunity_id"] == oid]


def open_portal(d, data, partner, admin, contract):
    """The partner lets the vendor sell; the customer follows the notice's link."""
    o = opportunity_of(admin, contract)
    partner.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"}, status=200)
    c = Customer(d.port)
    page = c.follow_link(wait_mail(data, f"notice:{o['id']}"))
    return admin.get(f"/api/v1/opportunities/{o['id']}"), c, page


def csrf_of(page):
    return re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)


def purchase_form(c):
    status, _, body = c.open("/portal/purchase")
    page = body.decode()
    assert status == 200, page[:400]
    key = re.search(r'name="order_key" value="([A-Za-z0-9_-]+)"', page).group(1)
    return page, csrf_of(page), key


def add_years(d, n):
    return d.replace(year=d.year + n)


def test_portal_po_end_to_end(daemon, tmp_path):
    d, data, admin, u, other = boot(daemon, tmp_path)
    gold, plat, cm = u["gold@x.example"], u["plat@x.example"], u["cm@x.example"]
    o, c, page = open_portal(d, data, gold, admin, "K-20006")
    # an order before the quote is accepted: refused, nothing written
    page_p, _, _ = c.open("/portal/purchase")
    assert page_p == 409
    status, _, body = c.open("/portal/accept", {"csrf": csrf_of(page), "accept": "yes"})
    assert status == 200, body[:300]
    page, csrf, key = purchase_form(c)
    assert 'value="purchase_order"' in page and 'value="bill_me_later"' not in page, page
    total = sum(line["list"] for line in o["lines"] if not line.get("optional"))

    form = {"csrf": csrf, "order_key": key, "option": "purchase_order", "name": "x"}
    # refusals: no PO number, BML (not enabled for RES-GOLD), an unknown option, no key, a hostile PO number
    for extra, want in (({}, 400), ({"po_number": ""}, 400), ({"option": "bill_me_later", "po_number": "1"}, 409),
                        ({"option": "gold_bars", "po_number": "1"}, 400), ({"order_key": "", "po_number": "1"}, 400),
                        ({"order_key": "../../x" * 3, "po_number": "1"}, 400),
                        ({"po_number": "PO\r\nBcc: x@evil.example"}, 400), ({"po_number": "P" * 64}, 400),
                        ({"csrf": "0" * 64, "po_number": "1"}, 403)):
        status, _, body = c.open("/portal/order", {**form, **extra})
        assert status == want, (extra, status, body[:300])
    assert orders_of(admin, o["id"]) == []

    # a double submit of one form: one order, the same page
    po = "PO-4471 <b>“Ünïcode” & co</b>"
    pages = []
    for _ in range(2):
        status, _, body = c.open("/portal/order", {**form, "po_number": po})
        assert status == 200, body[:400]
        pages.append(body.decode())
    number = re.search(r'id="order-number">(O-\d{4}-\d{6})<', pages[0]).group(1)
    assert number in pages[1] and "We will invoice purchase order" in pages[0], pages[0]
    assert "<b>" not in pages[0] and "&lt;b&gt;" in pages[0], "the PO number is escaped"
    # the purchase page, once ordered (the back button), answers with the order, not a fresh form
    status, _, body = c.open("/portal/purchase")
    assert status == 200 and number in body.decode() and 'name="order_key"' not in body.decode(), body[:400]
    # a form of another tab (another key) finds the same live order
    key2 = "k" * 43
    status, _, body = c.open("/portal/order", {**form, "order_key": key2, "po_number": "another"})
    assert status == 200 and number in body.decode()
    orders = orders_of(admin, o["id"])
    assert len(orders) == 1, orders
    order = orders[0]
    assert order["number"] == number and order["state"] == "awaiting_payment" and order["po_number"] == po, order
    assert order["total"] == total and order["currency"] == o["currency"] and order["payment_option"] == "purchase_order"
    assert order["payment_plugin"] == "payment-po" and order["reseller_id"] == 3 and order["due_date"] is None
    assert "fingerprint" not in order

    # scoping: RES-GOLD and its distributor's users see it, RES-PLAT and another vendor do not
    assert gold.get(f"/api/v1/orders/{order['id']}")["id"] == order["id"]
    assert [x["id"] for x in gold.items("/api/v1/orders")] == [order["id"]]
    assert_json_error(plat.call("GET", f"/api/v1/orders/{order['id']}"), 404, "not_found")
    assert plat.items("/api/v1/orders") == []
    assert_json_error(other.call("GET", f"/api/v1/orders/{order['id']}"), 404, "not_found")
    assert [x["id"] for x in admin.items("/api/v1/orders?state=awaiting_payment")] == [order["id"]]
    assert admin.items("/api/v1/orders?state=paid") == []

    # recording the payment
    pay = f"/api/v1/orders/{order['id']}/payments"
    assert_json_error(gold.call("POST", pay, {"amount": total, "reference": "BACS-1"}), 403)
    assert_json_error(admin.call("POST", pay, {"amount": total - 1, "reference": "BACS-1"}), 422, "amount_mismatch")
    assert_json_error(admin.call("POST", pay, {"amount": total}), 400)
    assert_json_error(admin.call("POST", pay, {"amount": "12", "reference": "BACS-1"}), 400)
    assert_json_error(admin.call("POST", pay, {"amount": total, "reference": "BACS-1", "x": 1}), 400)
    assert_json_error(admin.call("POST", "/api/v1/orders/999999/payments", {"amount": 1, "reference": "r"}), 404)
    assert admin.get(f"/api/v1/orders/{order['id']}")["state"] == "awaiting_payment"
    old = admin.get(f"/api/v1/contracts/{o['contract_id']}")
    paid = cm.ok("POST", pay, {"amount": total, "reference": "BACS-1"}, status=200)
    assert paid["state"] == "fulfilled" and paid["paid_reference"] == "BACS-1" and paid["paid_amount"] == total, paid
    assert paid["paid_at"] and paid["fulfilled_at"] and paid["new_contract_id"], paid
    new = admin.get(f"/api/v1/contracts/{paid['new_contract_id']}")
    end = datetime.date.fromisoformat(old["end"])
    start_ = end + datetime.timedelta(days=1)
    assert new["start"] == start_.isoformat() and new["end"] == (add_years(start_, 1) - datetime.timedelta(days=1)).isoformat()
    assert (new["customer_id"], new["product_id"], new["reseller_id"], new["quantity"], new["term"]) == \
        (old["customer_id"], old["product_id"], old["reseller_id"], old["quantity"], old["term"]), (old, new)
    assert new["status"] == "live" and new["external_id"] == number
    assert admin.get(f"/api/v1/contracts/{o['contract_id']}")["status"] == "renewed"
    assert admin.get(f"/api/v1/opportunities/{o['id']}")["state"] == "won"
    # the same payment again changes nothing; another reference is a conflict
    audit = admin.items(f"/api/v1/audit?object=orders&object_id={order['id']}")
    again = admin.ok("POST", pay, {"amount": total, "reference": "BACS-1"}, status=200)
    assert again == paid
    assert_json_error(admin.call("POST", pay, {"amount": total, "reference": "BACS-2"}), 409, "conflict")
    assert admin.items(f"/api/v1/audit?object=orders&object_id={order['id']}") == audit
    notes = [a["note"] for a in audit]
    assert notes == ["ordered in the portal", "payment plugin answered", "payment recorded", "fulfilled"], notes
    assert [a["action"] for a in audit] == ["create", "update", "update", "update"]
    assert any(a["object_id"] == new["id"] for a in admin.items("/api/v1/audit?object=contracts"))
    # the portal after the win: the same order again for that form
    status, _, body = c.open("/portal/order", {**form, "po_number": po})
    assert status == 200 and number in body.decode() and "renewal is in place" in body.decode()
    assert len(orders_of(admin, o["id"])) == 1
    d.stop()
    p = renewctl("check", data=data)  # records and their indexes (idem, live) agree
    assert p.returncode == 0, p.stdout + p.stderr


def test_portal_bml_quarterly(daemon, tmp_path):
    d, data, admin, u, _ = boot(daemon, tmp_path)
    plat = u["plat@x.example"]
    o, c, page = open_portal(d, data, plat, admin, "K-20005")
    main, extra = o["lines"]
    admin.ok("PATCH", f"/api/v1/contracts/{o['contract_id']}", {"term": "quarterly"})
    status, _, _ = c.open("/portal/accept", {"csrf": csrf_of(page), "accept": "yes", "add": extra["sku"]})
    assert status == 200
    page, csrf, key = purchase_form(c)
    assert 'value="bill_me_later"' in page and 'value="purchase_order"' in page
    status, _, body = c.open("/portal/order", {"csrf": csrf, "order_key": key, "option": "bill_me_later"})
    text = body.decode()
    assert status == 200, text[:400]
    due = (today(admin) + datetime.timedelta(days=45)).isoformat()
    assert f'id="due-date">{due}<' in text, text
    (order,) = orders_of(admin, o["id"])
    assert order["state"] == "awaiting_payment" and order["due_date"] == due and order["payment_plugin"] == "payment-bml"
    assert order["total"] == main["list"] + extra["list"] and order["payment_ref"].startswith("BML-"), order
    paid = admin.ok("POST", f"/api/v1/orders/{order['id']}/payments", {"amount": order["total"], "reference": "r-1"})
    new = admin.get(f"/api/v1/contracts/{paid['new_contract_id']}")
    start_ = datetime.date.fromisoformat(o["contract_end"]) + datetime.timedelta(days=1)
    m = start_.month + 3
    three = start_.replace(year=start_.year + (m - 1) // 12, month=(m - 1) % 12 + 1)
    assert (new["start"], new["end"], new["term"]) == \
        (start_.isoformat(), (three - datetime.timedelta(days=1)).isoformat(), "quarterly"), new
    d.stop()


def test_api_idempotency(daemon, tmp_path):
    d, data, admin, u, _ = boot(daemon, tmp_path)
    gold, plat = u["gold@x.example"], u["plat@x.example"]
    o = opportunity_of(admin, "K-20003")
    gold.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "partner"}, status=200)
    body = {"opportunity_id": o["id"], "payment_option": "purchase_order", "po_number": "PO-9"}

    def post(client, b, key="key-0001", **kw):
        return client.call("POST", "/api/v1/orders", b, headers={"Idempotency-Key": key} if key else {}, **kw)

    assert_json_error(post(gold, body, key=None), 400)
    assert_json_error(post(gold, {**body, "po_number": ""}), 400)
    assert post(gold, {**body, "po_number": ""}).json()["error"]["field"] == "po_number"
    for bad, field in (({**body, "payment_option": "gold_bars"}, "payment_option"),
                       ({**body, "payment_option": 7}, "payment_option"),
                       ({**body, "po_number": "a\u001b[31mb"}, "po_number"),
                       ({**body, "po_number": "x" * 64}, "po_number"),
                       ({**body, "opportunity_id": "1"}, "opportunity_id"),
                       ({**body, "opportunity_id": 999999}, "opportunity_id"),
                       ({**body, "amount": 1}, "amount")):
        r = post(gold, bad)
        assert_json_error(r, 400)
        assert r.json()["error"]["field"] == field, (bad, r)
    r = post(gold, {**body, "payment_option": "bill_me_later"})
    assert_json_error(r, 409, "not_enabled")
    assert_json_error(post(plat, body), 400)  # another partner's quote: as if it did not exist
    # an oversized body is refused from its head, before it is read: send the head only
    s = raw_connect(gold.daemon.port)
    try:
        s.sendall(f"POST /api/v1/orders HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {gold.token}\r\n"
                  f"Idempotency-Key: big\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {(2 << 20) + 8}\r\n\r\n".encode())
        assert_json_error(recv_http_response(s, time.monotonic() + 10), 413, "body_too_large")
    finally:
        s.close()
    assert orders_of(admin, o["id"]) == [] and admin.get(f"/api/v1/opportunities/{o['id']}")["state"] == "published_partner"

    # concurrent replays of one request: one order
    results = []

    def one():
        results.append(post(gold, body))
    threads = [threading.Thread(target=one) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status for r in results) == [200] * 5 + [201], results
    ids = {r.json()["id"] for r in results}
    assert len(ids) == 1, results
    order = results[0].json()
    assert order["state"] == "awaiting_payment" and order["idempotency_key"] == "key-0001" and order["user_id"]
    assert admin.get(f"/api/v1/opportunities/{o['id']}")["state"] == "accepted"
    # a replay later: the same order; the same key with another body: 409
    assert post(gold, body).json() == admin.get(f"/api/v1/orders/{order['id']}")
    assert_json_error(post(gold, {**body, "po_number": "PO-10"}), 409, "idempotency_conflict")
    # another key for the same quote: the live order
    r = post(admin, {**body, "po_number": "PO-11"}, key="key-0002")
    assert r.status == 200 and r.json()["id"] == order["id"], r
    assert len(orders_of(admin, o["id"])) == 1
    # a quote that is not open (pending decision): 409
    p = opportunity_of(admin, "K-20006")
    assert_json_error(post(admin, {**body, "opportunity_id": p["id"]}, key="key-0003"), 409, "conflict")
    assert http_request(d.port, "GET", "/api/v1/orders").status == 401
    d.stop()


def test_upsell_replaces_the_product(daemon, tmp_path):
    """An accepted up-sell line is the renewed contract's product (cross-sell
    lines make no contract of their own: docs/orders.md)."""
    d, data, admin, _, _ = boot(daemon, tmp_path)
    products = {p["sku"]: p for p in admin.items("/api/v1/products")}
    day = today(admin)
    window = admin.get("/api/v1/vendor")["renewal_window_days"] or 90
    end = day + datetime.timedelta(days=window + 1)
    k = admin.ok("POST", "/api/v1/contracts", {
        "external_id": "K-UP-1", "customer_id": 1, "product_id": products["WSG-STD-2"]["id"], "reseller_id": 3,
        "quantity": 20, "start": (end - datetime.timedelta(days=364)).isoformat(), "end": end.isoformat(),
        "term": "annual"}, status=201)
    admin.ok("POST", "/api/v1/clock", {"date": (day + datetime.timedelta(days=1)).isoformat()})
    o = None
    for _ in range(200):
        o = next((x for x in admin.items("/api/v1/opportunities") if x["contract_id"] == k["id"]), None)
        if o:
            break
        time.sleep(0.05)
    assert o, "the new contract was not quoted"
    up = next(line for line in o["lines"] if line.get("optional") and line["kind"] == "upsell")
    admin.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"}, status=200)
    c = Customer(d.port)
    page = c.follow_link(wait_mail(data, f"notice:{o['id']}"))
    status, _, _ = c.open("/portal/accept", {"csrf": csrf_of(page), "accept": "yes", "add": up["sku"]})
    assert status == 200
    _, csrf, key = purchase_form(c)
    status, _, body = c.open("/portal/order", {"csrf": csrf, "order_key": key, "option": "purchase_order",
                                               "po_number": "PO-UP"})
    assert status == 200, body[:300]
    (order,) = orders_of(admin, o["id"])
    paid = admin.ok("POST", f"/api/v1/orders/{order['id']}/payments", {"amount": order["total"], "reference": "u"})
    new = admin.get(f"/api/v1/contracts/{paid['new_contract_id']}")
    assert new["product_id"] == products[up["sku"]]["id"] and new["quantity"] == 20, new
    d.stop()


def test_bill_me_later_payment_reminders(daemon, tmp_path):
    """An unpaid Bill Me Later order: the customer hears a week before the
    due date, on it and a week after it, each once (a rerun of the days
    sends nothing again); once the payment is recorded, nothing more."""
    d, data, admin, u, _ = boot(daemon, tmp_path)
    plat = u["plat@x.example"]
    o, c, page = open_portal(d, data, plat, admin, "K-20005")
    status, _, _ = c.open("/portal/accept", {"csrf": csrf_of(page), "accept": "yes"})
    assert status == 200
    page, csrf, key = purchase_form(c)
    status, _, body = c.open("/portal/order", {"csrf": csrf, "order_key": key, "option": "bill_me_later"})
    assert status == 200, body[:300]
    (order,) = orders_of(admin, o["id"])
    due = datetime.date.fromisoformat(order["due_date"])
    customer = admin.get(f"/api/v1/customers/{order['customer_id']}")

    def set_clock(day):
        renewals_set_clock(admin, day)  # (returns once the day's sweep is over, also one that went in turns)

    set_clock(due - datetime.timedelta(days=8))
    set_clock(due - datetime.timedelta(days=7))
    week = wait_mail(data, f"payment_reminder:7:{order['id']}")
    assert week["To"] == customer["email"] and week["X-Renewd-Kind"] == "payment_reminder", week
    assert order["number"] in str(week["Subject"]) and due.isoformat() in str(week["Subject"])
    assert "in 7 days" in week.get_body(("plain",)).get_content()
    set_clock(due)
    on = wait_mail(data, f"payment_reminder:0:{order['id']}")
    assert "Overdue" not in str(on["Subject"])
    set_clock(due + datetime.timedelta(days=7))
    late = wait_mail(data, f"payment_reminder:-7:{order['id']}")
    assert str(late["Subject"]).startswith("Overdue: ") and "7 days ago" in late.get_body(("plain",)).get_content()
    box = [m for m in admin.items("/api/v1/outbox") if m["kind"] == "payment_reminder"]
    assert len(box) == 3, box  # each once
    d.stop()


def test_a_paid_bill_me_later_order_gets_no_reminder(daemon, tmp_path):
    d, data, admin, u, _ = boot(daemon, tmp_path)
    o, c, page = open_portal(d, data, u["plat@x.example"], admin, "K-20005")
    assert c.open("/portal/accept", {"csrf": csrf_of(page), "accept": "yes"})[0] == 200
    page, csrf, key = purchase_form(c)
    assert c.open("/portal/order", {"csrf": csrf, "order_key": key, "option": "bill_me_later"})[0] == 200
    (order,) = orders_of(admin, o["id"])
    admin.ok("POST", f"/api/v1/orders/{order['id']}/payments", {"amount": order["total"], "reference": "bml-2"})
    due = datetime.date.fromisoformat(order["due_date"])
    admin.ok("POST", "/api/v1/clock", {"date": (due + datetime.timedelta(days=8)).isoformat()}, status=200)
    assert admin.get("/api/v1/clock")["today"] == (due + datetime.timedelta(days=8)).isoformat()
    assert not [m for m in admin.items("/api/v1/outbox") if m["kind"] == "payment_reminder"]
    d.stop()


def test_payments_from_a_csv_file(daemon, tmp_path):
    """POST /api/v1/orders/payments (text/csv: order, amount, reference):
    all or nothing; a row recorded already under its reference changes
    nothing; each wrong row named; only roles that record payments."""
    d, data, admin, u, _ = boot(daemon, tmp_path)
    gold, plat = u["gold@x.example"], u["plat@x.example"]
    orders = []
    for client, contract, option in ((gold, "K-20003", "purchase_order"), (plat, "K-20005", "bill_me_later")):
        o = opportunity_of(admin, contract)
        client.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"}, status=200)
        r = client.call("POST", "/api/v1/orders", {"opportunity_id": o["id"], "payment_option": option,
                                                    **({"po_number": "PO-77"} if option == "purchase_order" else {})},
                        headers={"Idempotency-Key": f"csv-{contract}"})
        assert r.status == 201, r
        orders.append(r.json())
    a, b = orders

    def send(text, client=admin, ctype="text/csv"):
        return client.call("POST", "/api/v1/orders/payments", text.encode(), headers={"Content-Type": ctype})

    # One wrong row: nothing is recorded, every wrong row is named.
    r = send(f"order,amount,reference\n{a['number']},{a['total']},BANK-1\n{b['number']},{b['total'] + 1},BANK-2\n"
             f"O-2099-999999,5,BANK-3\nnonsense,x,\n")
    assert r.status == 422, r
    err = r.json()
    assert err["error"]["code"] == "rows_invalid", err
    rows = {(e["row"], e["field"]) for e in err["error"]["rows"]}
    assert rows == {(3, "amount"), (4, "order"), (5, "order")}, err
    assert all(admin.get(f"/api/v1/orders/{x['id']}")["state"] == "awaiting_payment" for x in orders)
    for text, ctype, status in (("order,amount\nO-1,1\n", "text/csv", 422), ("order,amount,reference\n", "text/csv", 422),
                                ('order,amount,reference\n"unbalanced,1,x\n', "text/csv", 422),
                                ("{}", "application/json", 415)):
        assert send(text, ctype=ctype).status == status, (text, ctype)
    assert_json_error(send(f"order,amount,reference\n{a['id']},{a['total']},B\n", client=gold), 403)

    # Both right (by number and by id, with a BOM and quotes): both paid and fulfilled.
    text = f"\ufeffreference,order,amount\n\"BANK-1\",{a['number']},{a['total']}\nBANK-2,{b['id']},{b['total']}\n"
    r = send(text)
    assert r.status == 200, r
    assert r.json()["paid"] == 2 and [x["result"] for x in r.json()["items"]] == ["paid", "paid"], r.json()
    for x in orders:
        assert admin.get(f"/api/v1/orders/{x['id']}")["state"] == "fulfilled"
    # The same file again changes nothing; another reference for a paid order is refused.
    r = send(text)
    assert r.status == 200 and r.json()["paid"] == 0, r
    assert [x["result"] for x in r.json()["items"]] == ["unchanged", "unchanged"]
    r = send(f"order,amount,reference\n{a['number']},{a['total']},BANK-9\n")
    assert r.status == 422 and r.json()["error"]["rows"][0]["field"] == "reference", r
    d.stop()
