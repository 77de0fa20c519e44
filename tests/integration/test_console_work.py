"""The console to work in (issue 17 item 9): orders, tasks, users, deciding
for a silent partner, contract and customer pages, outbox messages
(core/web/console_orders.c, console_detail.c, console_users.c,
console_work.c, console_tasks.c; the rules are core/services').

Every page is driven over HTTP against a real daemon on the demo store:
forms carry the session's CSRF token, bad input is answered with a sentence
naming the field and changes nothing, and each role reaches exactly what
the API lets it reach.
"""
import json
import re
import time

from conftest import ApiClient, api_user, demo_load
from test_pages_console import Browser, make_user, text
from test_quote_pdf import opportunity_of

USERS = [("boss@sentinel.example", "vendor-admin", None),
         ("cm@sentinel.example", "channel-manager", None),
         ("vsales@sentinel.example", "vendor-sales", None),
         ("gold-admin@sentinel.example", "partner-admin", 3),
         ("gold-sales@sentinel.example", "partner-sales", 3),
         ("plat-admin@sentinel.example", "partner-admin", 2)]


def boot(daemon, tmp_path):
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    token, uid = api_user(data, email="api-admin@sentinel.example")
    made = {e: make_user(data, e, r, p) for e, r, p in USERS}
    d = daemon(data=data, args=["--test-clock", "1", "--sched-interval-ms", "100000"])
    admin = ApiClient(d, token, uid)
    admin.ok("POST", "/api/v1/plugins/payment-po/enablements", {"config": {}}, status=201)
    return d, admin, {e: ApiClient(d, t, u) for e, (t, u) in made.items()}


def browser(d, email):
    b = Browser(d)
    b.login(email)
    return b


def po_order(admin, gold, contract="K-20003", key="work-1"):
    """RES-GOLD sells its renewal and places a purchase order for it: awaiting payment."""
    o = opportunity_of(admin, contract)
    gold.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "partner"}, status=200)
    r = gold.call("POST", "/api/v1/orders", {"opportunity_id": o["id"], "payment_option": "purchase_order",
                                             "po_number": "PO-77"}, headers={"Idempotency-Key": key})
    assert r.status in (200, 201), r
    order = r.json()
    assert order["state"] == "awaiting_payment", order
    return o, order


def error_of(html):
    m = re.search(r'<p class="error" role="alert"[^>]*>(.*?)</p>', html, re.S)
    return m and text(m.group(1))


def test_orders_list_filters_totals_payment_and_refund(daemon, tmp_path):
    d, admin, u = boot(daemon, tmp_path)
    o, order = po_order(admin, u["gold-admin@sentinel.example"])
    boss = browser(d, "boss@sentinel.example")

    page = boss.get("/vendor/orders").text
    assert f'href="/vendor/orders/{order["id"]}"' in page and order["number"] in page
    # Totals per currency over the matching orders, and links to the customer and contract pages.
    totals = re.findall(r'<tr class="total" data-currency="([A-Z]{3})">.*?<td class="money">(.*?)</td>', page, re.S)
    assert totals and totals[0][0] == order["currency"], totals
    assert re.sub(r"[^0-9]", "", totals[0][1]) == str(order["total"]) or order["total"] == 0
    assert f'/vendor/customers/{order["customer_id"]}' in page and f'/vendor/contracts/{order["contract_id"]}' in page
    assert order["number"] in boss.get("/vendor/orders?state=awaiting_payment&option=purchase_order&partner=3").text
    assert order["number"] not in boss.get("/vendor/orders?state=paid").text
    assert order["number"] not in boss.get("/vendor/orders?partner=2").text
    assert order["number"] not in boss.get("/vendor/orders?from=2999-01-01").text
    # Bad filters: 400 with the field named.
    for q, field in (("state=shipped", "state"), ("from=2026-13-01", "from"), ("option=Gold%20bars", "option"),
                     ("partner=x", "partner"), ("from=2026-05-02&to=2026-05-01", "to")):
        r = boss.get(f"/vendor/orders?{q}", status=400)
        assert error_of(r.text).startswith(f"Please correct the filter: {field}:"), (q, error_of(r.text))

    # The order's page: the payment form for people who may record it.
    page = boss.get(f"/vendor/orders/{order['id']}").text
    assert 'id="pay-form"' in page and "PO-77" in page
    # A sales person reads orders but may not record payments (as the API: orders update 403).
    vsales = browser(d, "vsales@sentinel.example")
    assert 'id="pay-form"' not in vsales.get(f"/vendor/orders/{order['id']}").text
    vsales.post(f"/vendor/orders/{order['id']}/payment", {"amount": "1", "reference": "X"}, status=403)
    assert u["vsales@sentinel.example"].call("POST", f"/api/v1/orders/{order['id']}/payments",
                                             {"amount": order["total"], "reference": "X"}).status == 403
    # A partner's people are sent to their portal; the API refuses them the payment too.
    gold = browser(d, "gold-admin@sentinel.example")
    r = gold.request("GET", "/vendor/orders")
    assert r.status == 303 and r.headers["location"] == "/partner", r
    # Without the CSRF token: 403, nothing recorded.
    boss.post(f"/vendor/orders/{order['id']}/payment", {"amount": "1", "reference": "X"}, status=403, csrf=False)
    boss.get(f"/vendor/orders/{order['id']}")
    # Bad amounts: the form again naming the field; nothing recorded.
    r = boss.post(f"/vendor/orders/{order['id']}/payment", {"amount": "ten", "reference": "BANK-1"}, status=400)
    assert error_of(r.text).startswith("amount:"), error_of(r.text)
    r = boss.post(f"/vendor/orders/{order['id']}/payment", {"amount": "0.01", "reference": "BANK-1"}, status=422)
    assert error_of(r.text).startswith("amount:"), error_of(r.text)
    r = boss.post(f"/vendor/orders/{order['id']}/payment", {"amount": "1", "reference": ""}, status=400)
    assert "reference" in error_of(r.text)
    assert admin.get(f"/api/v1/orders/{order['id']}")["state"] == "awaiting_payment"
    # The right amount, as the page offers it: paid, then fulfilled.
    page = boss.get(f"/vendor/orders/{order['id']}").text
    amount = re.search(r'name="amount" inputmode="decimal" value="([^"]+)"', page).group(1)
    r = boss.post(f"/vendor/orders/{order['id']}/payment", {"amount": amount, "reference": "BANK-1"})
    assert r.headers["location"] == f"/vendor/orders/{order['id']}"
    got = admin.get(f"/api/v1/orders/{order['id']}")
    assert got["state"] == "fulfilled" and got["paid_reference"] == "BANK-1" and got["paid_amount"] == order["total"]
    page = boss.get(f"/vendor/orders/{order['id']}").text
    assert 'id="pay-form"' not in page and 'id="refund-form"' in page and "BANK-1" in page

    # Refund: a sales person 403; no reason names the field; then refunded.
    vsales.get(f"/vendor/orders/{order['id']}")
    vsales.post(f"/vendor/orders/{order['id']}/refund", {"reason": "x"}, status=403)
    r = boss.post(f"/vendor/orders/{order['id']}/refund", {"reason": ""}, status=400)
    assert error_of(r.text).startswith("reason:"), error_of(r.text)
    assert admin.get(f"/api/v1/orders/{order['id']}")["state"] == "fulfilled"
    boss.post(f"/vendor/orders/{order['id']}/refund", {"reason": "customer cancelled"})
    assert admin.get(f"/api/v1/orders/{order['id']}")["state"] == "refunded"
    assert "refunded" in text(boss.get("/vendor/orders?state=refunded").text)
    audit = admin.items("/api/v1/audit?object=orders")
    assert any(e.get("object_id") == order["id"] for e in audit)


def test_contract_and_customer_pages_are_linked_and_scoped(daemon, tmp_path):
    d, admin, u = boot(daemon, tmp_path)
    boss = browser(d, "boss@sentinel.example")
    page = boss.get("/vendor/contracts").text
    links = re.findall(r'<a href="/vendor/contracts/(\d+)">([^<]+)</a>', page)
    assert links, page[:2000]
    kid, ext = links[0]
    # The money column and this page's totals per currency: the sum of the column, currency by currency.
    values = re.findall(r'<td class="money">([A-Z]{3}) ([0-9,.]+)</td></tr>', page.split("Totals per currency")[0])
    totals = dict(re.findall(r'<tr class="total" data-currency="([A-Z]{3})">.*?<td class="money">[A-Z]{3} ([0-9,.]+)</td>',
                             page, re.S))
    assert values and totals
    for cur in {c for c, _ in values}:
        want = sum(round(float(v.replace(",", "")) * 100) for c, v in values if c == cur)
        assert round(float(totals[cur].replace(",", "")) * 100) == want, (cur, totals)
    assert re.search(r'<tr class="total" data-currency="[A-Z]{3}">', boss.get("/vendor/opportunities").text)
    k = admin.get(f"/api/v1/contracts/{kid}")
    assert k["external_id"] == ext
    page = boss.get(f"/vendor/contracts/{kid}").text
    assert re.search(r'id="contract-id">' + re.escape(ext) + "<", page)
    cust = re.search(r'id="contract-customer" href="/vendor/customers/(\d+)"', page).group(1)
    assert int(cust) == k["customer_id"]
    page = boss.get(f"/vendor/customers/{cust}").text
    assert f'href="/vendor/contracts/{kid}"' in page
    assert re.search(r'<tr class="total" data-currency="[A-Z]{3}">', page), "contract value per currency"
    boss.get("/vendor/contracts/999999", status=404)
    # A partner sees its own channel's contracts and customers only, as through the API.
    gold_api = u["gold-admin@sentinel.example"]
    mine = {x["id"] for x in gold_api.items("/api/v1/contracts")}
    everyone = {x["id"]: x for x in admin.items("/api/v1/contracts")}
    theirs = next(i for i in everyone if i not in mine)
    gold = browser(d, "gold-admin@sentinel.example")
    assert f"/partner/contracts/{next(iter(mine))}" in gold.get("/partner/contracts").text
    own = gold.get(f"/partner/contracts/{next(iter(mine))}").text
    own_customer = re.search(r'id="contract-customer" href="/partner/customers/(\d+)"', own).group(1)
    page = gold.get(f"/partner/customers/{own_customer}").text
    # Its contracts there are the partner's channel's only.
    shown = {int(x) for x in re.findall(r'href="/partner/contracts/(\d+)"', page)}
    assert shown and shown <= mine, (shown, mine)
    assert gold_api.call("GET", f"/api/v1/contracts/{theirs}").status == 404
    gold.get(f"/partner/contracts/{theirs}", status=404)
    their_customer = everyone[theirs]["customer_id"]
    if gold_api.call("GET", f"/api/v1/customers/{their_customer}").status == 404:
        gold.get(f"/partner/customers/{their_customer}", status=404)
    r = gold.request("GET", f"/vendor/contracts/{theirs}")
    assert r.status == 303 and r.headers["location"] == "/partner", r


def test_tasks_due_date_owner_and_close(daemon, tmp_path):
    d, admin, u = boot(daemon, tmp_path)
    boss = browser(d, "boss@sentinel.example")
    o = opportunity_of(admin, "K-20003")
    boss.get(f"/sales/opportunities/{o['id']}")
    boss.post(f"/sales/opportunities/{o['id']}/tasks", {"kind": "callback", "for": "vendor",
                                                         "message": "Call back about the PO"})
    task = next(t for t in admin.items("/api/v1/tasks") if t["message"] == "Call back about the PO")
    assert task["due_on"] is None
    page = boss.get("/vendor/tasks").text
    assert f'id="due-{task["id"]}"' in page
    # A bad date names the field; nothing changes.
    r = boss.post(f"/vendor/tasks/{task['id']}", {"action": "due", "due_on": "next tuesday"}, status=400)
    assert "Due on" in error_of(r.text) or "Due on" in text(r.text)
    boss.post(f"/vendor/tasks/{task['id']}", {"action": "due", "due_on": "2026-05-02"}, status=403, csrf=False)
    assert admin.get("/api/v1/tasks") and next(t for t in admin.items("/api/v1/tasks") if t["id"] == task["id"])["due_on"] is None
    boss.get("/vendor/tasks")
    boss.post(f"/vendor/tasks/{task['id']}", {"action": "due", "due_on": "2000-01-03"})
    boss.post(f"/vendor/tasks/{task['id']}", {"action": "assign", "assigned_to": str(u["boss@sentinel.example"].user_id)})
    page = boss.get("/vendor/tasks").text
    card = re.search(rf'<li id="task-{task["id"]}">(.*?)</li>', page, re.S).group(1)
    assert "2000-01-03" in card and "overdue" in card and "boss@sentinel.example" in card
    got = next(t for t in admin.items("/api/v1/tasks") if t["id"] == task["id"])
    assert got["due_on"] == "2000-01-03" and got["assigned_to"] == u["boss@sentinel.example"].user_id
    # The owner's inbox: mine lists it, nobody's-yet does not; an unknown owner names the field.
    assert f'id="task-{task["id"]}"' in boss.get("/vendor/tasks?owner=me").text
    assert f'id="task-{task["id"]}"' not in boss.get("/vendor/tasks?owner=nobody").text
    assert f'id="task-{task["id"]}"' not in browser(d, "cm@sentinel.example").get("/vendor/tasks?owner=me").text
    r = boss.get("/vendor/tasks?owner=someone", status=400)
    assert error_of(r.text).startswith("Owner:")
    # The API takes the same field, by the same rule.
    assert admin.call("PATCH", f"/api/v1/tasks/{task['id']}", {"due_on": "soon"}).json()["error"]["field"] == "due_on"
    boss.post(f"/vendor/tasks/{task['id']}", {"action": "close"})
    got = next(t for t in admin.items("/api/v1/tasks") if t["id"] == task["id"])
    assert got["done"] == 1 and got["done_by"] == u["boss@sentinel.example"].user_id
    # A closed task gets no due date (the service's rule, from the API as from the page).
    r = admin.call("PATCH", f"/api/v1/tasks/{task['id']}", {"due_on": "2030-01-01"})
    assert r.status == 409 and r.json()["error"]["field"] == "due_on"
    # Partner people never see the vendor team's task.
    gold = browser(d, "gold-admin@sentinel.example")
    assert f'id="task-{task["id"]}"' not in gold.get("/partner/tasks?state=all").text


def test_users_create_role_disable_and_partner_admins_own_users(daemon, tmp_path):
    d, admin, u = boot(daemon, tmp_path)
    boss = browser(d, "boss@sentinel.example")
    page = boss.get("/vendor/users").text
    assert 'id="user-create"' in page
    # A partner user's row has its partner chosen, so changing its role keeps it there.
    gs_id = u["gold-sales@sentinel.example"].user_id
    row = re.search(rf'<tr id="user-{gs_id}">(.*?)</tr>', page, re.S).group(1)
    assert re.search(r'<option value="3" selected>', row), row
    boss.post(f"/vendor/users/{gs_id}", {"action": "role", "role": "partner-admin", "partner_id": "3"})
    assert admin.get(f"/api/v1/users/{gs_id}")["role"] == "partner-admin"
    boss.post(f"/vendor/users/{gs_id}", {"action": "role", "role": "partner-sales", "partner_id": "3"})
    r = boss.post(f"/vendor/users/{gs_id}", {"action": "role", "role": "partner-sales", "partner_id": ""}, status=400)
    assert error_of(r.text).startswith("Partner:"), error_of(r.text)
    # Bad input names the field; nothing is created.
    r = boss.post("/vendor/users", {"email": "not-an-address", "name": "N", "role": "vendor-sales",
                                    "password": "correct horse battery"}, status=400)
    assert error_of(r.text).startswith("E-mail:"), error_of(r.text)
    r = boss.post("/vendor/users", {"email": "n@sentinel.example", "name": "N", "role": "wizard",
                                    "password": "correct horse battery"}, status=400)
    assert error_of(r.text).startswith("Role:")
    r = boss.post("/vendor/users", {"email": "n@sentinel.example", "name": "N", "role": "partner-sales",
                                    "password": "correct horse battery"}, status=400)
    assert error_of(r.text).startswith("Partner:")
    # the form keeps what was chosen, not only what was typed (the field names of the form, as labelled)
    form = re.search(r'<form[^>]*id="user-create".*?</form>', r.text, re.S).group(0)
    assert '<option value="partner-sales" selected>' in form and 'value="n@sentinel.example"' in form, form
    r = boss.post("/vendor/users", {"email": "n@sentinel.example", "name": "N", "role": "vendor-sales",
                                    "password": "short"}, status=400)
    assert error_of(r.text).startswith("Password:")
    r = boss.post("/vendor/users", {"email": "cm@sentinel.example", "name": "N", "role": "vendor-sales",
                                    "password": "correct horse battery"}, status=409)
    assert error_of(r.text).startswith("E-mail:")
    assert not [x for x in admin.items("/api/v1/users") if x["email"] == "n@sentinel.example"]
    boss.post("/vendor/users", {"email": "New@Sentinel.example", "name": "New Person", "role": "vendor-sales",
                                "password": "correct horse battery"})
    new = next(x for x in admin.items("/api/v1/users") if x["email"] == "new@sentinel.example")
    assert new["role"] == "vendor-sales"
    fresh = Browser(d)
    r = fresh.request("POST", "/login", {"vendor": "sentinel", "email": "new@sentinel.example",
                                         "password": "correct horse battery"})
    assert r.status == 303 and "rd_session" in fresh.cookies
    boss.get("/vendor/users")
    boss.post(f"/vendor/users/{new['id']}", {"action": "role", "role": "channel-manager"})
    boss.post(f"/vendor/users/{new['id']}", {"action": "disable"})
    got = admin.get(f"/api/v1/users/{new['id']}")
    assert got["role"] == "channel-manager" and got["disabled"] == 1
    # Nobody disables themself.
    r = boss.post(f"/vendor/users/{u['boss@sentinel.example'].user_id}", {"action": "disable"}, status=400)
    assert error_of(r.text).startswith("Role:")
    # A channel manager reads users but creates none (the API: 403 too).
    cm = browser(d, "cm@sentinel.example")
    page = cm.get("/vendor/users").text
    assert 'id="user-create"' not in page
    cm.post("/vendor/users", {"email": "x@sentinel.example", "name": "X", "role": "vendor-admin",
                              "password": "correct horse battery"}, status=403)
    assert u["cm@sentinel.example"].call("POST", "/api/v1/users", {"email": "x@sentinel.example", "name": "X",
                                                                   "role": "vendor-admin",
                                                                   "password": "correct horse battery"}).status == 403
    # A sales person sees itself only and changes no role, as the API.
    vs = browser(d, "vsales@sentinel.example")
    page = vs.get("/vendor/users").text
    assert "vsales@sentinel.example" in page and "boss@sentinel.example" not in page
    r = vs.post(f"/vendor/users/{u['vsales@sentinel.example'].user_id}", {"action": "role", "role": "vendor-admin"},
                status=400)
    assert error_of(r.text).startswith("Role:"), error_of(r.text)
    assert admin.get(f"/api/v1/users/{u['vsales@sentinel.example'].user_id}")["role"] == "vendor-sales"

    # A partner admin manages its own partner's users, with partner roles only.
    gold = browser(d, "gold-admin@sentinel.example")
    page = gold.get("/partner/users").text
    assert "gold-sales@sentinel.example" in page and "plat-admin@sentinel.example" not in page
    assert "boss@sentinel.example" not in page and 'value="vendor-admin"' not in page
    r = gold.post("/partner/users", {"email": "evil@sentinel.example", "name": "E", "role": "vendor-admin",
                                     "password": "correct horse battery"}, status=400)
    assert error_of(r.text).startswith("Role:")
    gold.post("/partner/users", {"email": "gold-new@sentinel.example", "name": "G", "role": "partner-sales",
                                 "password": "correct horse battery", "partner_id": "2"})
    gnew = next(x for x in admin.items("/api/v1/users") if x["email"] == "gold-new@sentinel.example")
    assert gnew["partner_id"] == 3 and gnew["role"] == "partner-sales"
    gold.get("/partner/users")
    gold.post(f"/partner/users/{gnew['id']}", {"action": "disable"})
    assert admin.get(f"/api/v1/users/{gnew['id']}")["disabled"] == 1
    # Another partner's user or a vendor user: not found, unchanged (the API: 404 too).
    plat_id = u["plat-admin@sentinel.example"].user_id
    gold.post(f"/partner/users/{plat_id}", {"action": "disable"}, status=404)
    gold.post(f"/partner/users/{u['boss@sentinel.example'].user_id}", {"action": "disable"}, status=404)
    assert u["gold-admin@sentinel.example"].call("PATCH", f"/api/v1/users/{plat_id}", {"disabled": 1}).status == 404
    assert admin.get(f"/api/v1/users/{plat_id}")["disabled"] == 0
    # A partner's sales person may not create users.
    gs = browser(d, "gold-sales@sentinel.example")
    gs.get("/partner/users")
    gs.post("/partner/users", {"email": "y@sentinel.example", "name": "Y", "role": "partner-sales",
                               "password": "correct horse battery"}, status=403)


def test_decide_for_a_silent_partner_and_open_a_message(daemon, tmp_path):
    d, admin, u = boot(daemon, tmp_path)
    o = opportunity_of(admin, "K-20006")
    assert admin.get(f"/api/v1/opportunities/{o['id']}")["state"] == "pending_decision"
    boss = browser(d, "boss@sentinel.example")
    page = boss.get("/vendor/opportunities?state=pending_decision").text
    assert f'action="/vendor/opportunities/{o["id"]}/decision"' in page
    # A sales person reads quotes but may not decide (the API: 403).
    vs = browser(d, "vsales@sentinel.example")
    assert f'/vendor/opportunities/{o["id"]}/decision' not in vs.get("/vendor/opportunities").text
    vs.post(f"/vendor/opportunities/{o['id']}/decision", {"publish": "vendor"}, status=403)
    assert u["vsales@sentinel.example"].call("POST", f"/api/v1/opportunities/{o['id']}/decision",
                                             {"publish": "vendor"}).status == 403
    boss.get("/vendor/opportunities")
    boss.post(f"/vendor/opportunities/{o['id']}/decision", {"publish": "vendor"}, status=403, csrf=False)
    boss.get("/vendor/opportunities")
    r = boss.post(f"/vendor/opportunities/{o['id']}/decision", {"publish": "maybe"}, status=400)
    assert "publish" in text(r.text)
    assert admin.get(f"/api/v1/opportunities/{o['id']}")["state"] == "pending_decision"
    boss.post(f"/vendor/opportunities/{o['id']}/decision", {"publish": "vendor"})
    assert admin.get(f"/api/v1/opportunities/{o['id']}")["state"] == "published_vendor"
    # Deciding again is refused with the reason.
    boss.get("/vendor/opportunities")
    boss.post(f"/vendor/opportunities/{o['id']}/decision", {"publish": "partner"}, status=409)

    # The customer notice is in the outbox with the customer's link: openable, its token redacted.
    msgs = []
    for _ in range(100):
        msgs = [m for m in admin.items("/api/v1/outbox")
                if m.get("opportunity_id") == o["id"] and m["kind"] == "customer_notice"]
        if msgs:
            break
        time.sleep(0.1)
    assert msgs, admin.items("/api/v1/outbox")
    page = boss.get("/vendor/outbox").text
    m = msgs[0]
    assert f'href="/vendor/outbox/{m["id"]}"' in page
    page = boss.get(f"/vendor/outbox/{m['id']}").text
    body = re.search(r'<pre id="message-text" class="message">(.*?)</pre>', page, re.S).group(1)
    assert body.strip(), page
    assert "/c/[redacted]" in body and not re.search(r"/c/(?!\[redacted\])[A-Za-z0-9_-]", body), body
    assert not re.search(r"rd_[A-Za-z0-9_-]{20,}", page)
    boss.get("/vendor/outbox/999999", status=404)
    # Sales people have no outbox (the API: 403 too).
    vs.get(f"/vendor/outbox/{m['id']}", status=403)
    assert u["vsales@sentinel.example"].call("GET", "/api/v1/outbox").status == 403


def test_margins_table_makes_the_lua_policy_and_its_vectors(daemon, tmp_path):
    d, admin, u = boot(daemon, tmp_path)
    boss = browser(d, "boss@sentinel.example")
    page = boss.get("/vendor/margins").text
    # The seed programme's table, as the active (Lua) policy was not made from it.
    assert re.search(r'id="partner_platinum"[^>]*value="33"', page) and re.search(r'id="vendor_silver"[^>]*value="15"', page)
    form = {"partner_platinum": "35", "partner_gold": "27.5", "partner_silver": "20",
            "vendor_platinum": "22", "vendor_gold": "20", "vendor_silver": "15.25"}
    def versions():
        return json.dumps(admin.get("/api/v1/policies"), sort_keys=True)
    n = versions()
    # Bad cells name the field; nothing is stored.
    for bad, field in (({"partner_gold": "27.555"}, "partner_gold"), ({"vendor_platinum": "abc"}, "vendor_platinum"),
                       ({"partner_silver": "101"}, "partner_silver"), ({"vendor_gold": "99.5"}, "vendor_gold")):
        r = boss.post("/vendor/margins", {**form, **bad}, status=400)
        assert error_of(r.text).startswith(f"{field}:"), (bad, error_of(r.text))
        assert 'aria-invalid="true"' in r.text
        boss.get("/vendor/margins")
    boss.post("/vendor/margins", form, status=403, csrf=False)
    assert versions() == n
    # A sales person may not upload policies (the API: 403 too).
    vs = browser(d, "vsales@sentinel.example")
    vs.get("/vendor/margins", status=403)
    assert u["vsales@sentinel.example"].call("POST", "/api/v1/policies/margin",
                                             {"source": "x", "vectors": []}).status == 403
    cm = browser(d, "cm@sentinel.example")
    if u["cm@sentinel.example"].call("POST", "/api/v1/policies/margin", {"source": "x", "vectors": []}).status == 403:
        r = cm.request("GET", "/vendor/margins")
        if r.status == 200:
            assert 'id="margins-form"' not in r.text
            cm.post("/vendor/margins", form, status=403)
    # The table: stored as a new version with a vector per cell, all passed.
    boss.get("/vendor/margins")
    r = boss.post("/vendor/margins", form)
    m = re.search(r"stored=margin-(\d+)", r.headers["location"])
    assert m, r.headers["location"]
    version = int(m.group(1))
    got = admin.get(f"/api/v1/policies/margin/{version}")
    assert got["vectors_passed"] >= 25, got
    assert "partner = { platinum = 3500, gold = 2750, silver = 2000 }" in got["source"]
    assert "vendor  = { platinum = 2200, gold = 2000, silver = 1525 }" in got["source"]
    vectors = got["vectors"] if isinstance(got["vectors"], list) else json.loads(got["vectors"])
    names = {v["name"]: v["expect"] for v in vectors}
    assert names["gold partner-published"] == [["reseller", 2750]]
    assert names["silver vendor-published"] == [["reseller", 1525]]
    # Activated (on the policies page, as any version), the form shows the table it made.
    boss.get("/vendor/policies")
    boss.post(f"/vendor/policies/margin/{version}/activate", {})
    page = boss.get("/vendor/margins").text
    assert "was made from this table" in page
    assert re.search(r'id="partner_gold"[^>]*value="27.50"', page), page
    # The Lua editor stays: the active source is there to edit.
    assert "renewd margin table" in boss.get("/vendor/policies").text
