"""Customer requests reach the people who act on them (core/renew/sched.c
request, core/services/tasks.c, core/web/console_tasks.c).

A customer, through the link of their renewal e-mail, asks to be called
back, replies to the sales centre or asks the reseller to get in touch:

* a request for the vendor's team is e-mailed to the vendor's renewals
  address (notify_email) and listed in the console's tasks inbox
  (/vendor/tasks), where it is assigned to one of the vendor's people and
  closed, each audited;
* a request for the reseller is e-mailed to it and listed in the partner
  portal's inbox (/partner/tasks) of that reseller (and of its
  distributor), never of another channel, nor in a partner's inbox for
  the vendor's team's requests;
* the rules are one service: the console, the partner portal and PATCH
  /api/v1/tasks/{id} refuse the same assignments; forms without their CSRF
  token change nothing.
"""
import re
import urllib.parse

from conftest import http_request
from test_pages_console import PASSWORD, Browser, text
from test_renewals import NOTIFY, smtp, start_world, wait_outbox_drained  # noqa: F401  (smtp: the fixture)

LINK_RE = re.compile(r"https?://[^\s<>\"]+/c/([A-Za-z0-9_-]+)")
URL_RE = re.compile(r"https?://[^\s<>\"]+")


def path(url):
    return urllib.parse.urlsplit(url).path


def user(w, email, role, ext=None):
    body = {"email": email, "name": email.split("@")[0], "role": role, "password": PASSWORD}
    if ext:
        body["partner_id"] = w.partner_by_ext[ext]["id"]
    return w.admin.ok("POST", "/api/v1/users", body)["id"]


def login(d, email):
    b = Browser(d)
    b.login(email)
    return b


def customer_token(smtp, w, admin, reseller_ext):
    """Publishes (vendor sells) one of the reseller's opportunities and
    returns (opportunity, the customer's link token)."""
    rid = w.partner_by_ext[reseller_ext]["id"]
    opps = [o for o in w.opportunities() if o["reseller_id"] == rid and o["state"] == "pending_decision"
            and w.customers[o["customer_id"]]["email"]]
    assert opps, reseller_ext
    o = opps[0]
    admin.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"})
    cust = w.customers[o["customer_id"]]["email"]
    got = smtp.wait_for(lambda m: m["kind"] == "customer_notice" and cust in m["rcpt"] and o["number"] in m["text"],
                        what="the customer notice")
    return o, LINK_RE.search(got[-1]["text"]).group(1)


def action(d, token, what, message):
    r = http_request(d.port, "POST", "/api/v1/portal/actions", body=f'{{"action": "{what}", "message": "{message}"}}',
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert r.status == 201, r
    return r.json()["task_id"]


def task_card(html, tid):
    m = re.search(rf'<li id="task-{tid}">(.*?)</li>', html, re.S)
    return m and m.group(1)


def test_customer_requests_reach_the_vendor_team_and_the_reseller(daemon, tmp_path, smtp):
    d, w, _ = start_world(daemon, tmp_path, smtp)
    vsales = user(w, "vsales@sentinel.example", "vendor-sales")
    boss_id = user(w, "boss@sentinel.example", "vendor-admin")
    gold_user = user(w, "gold-sales@harbour.example", "partner-sales", "RES-GOLD")
    user(w, "gold-admin@harbour.example", "partner-admin", "RES-GOLD")
    user(w, "plat-admin@bluefin.example", "partner-admin", "RES-PLAT")
    user(w, "dist-admin@northwind.example", "partner-admin", "DIST-NW")
    wait_outbox_drained(w.admin, smtp)
    o, token = customer_token(smtp, w, w.admin, "RES-GOLD")

    # The vendor's team: e-mailed to the renewals address.
    reply = action(d, token, "reply", "Please send the quote to accounts")
    callback = action(d, token, "callback", "Call me on Tuesday")
    for tid, words in ((reply, "Please send the quote to accounts"), (callback, "Call me on Tuesday")):
        got = smtp.wait_for(lambda m: m["kind"] == "task" and NOTIFY in m["rcpt"] and words in m["text"],
                            what=f"task {tid} to the renewals address")
        assert o["number"] in got[0]["text"]
    # The reseller's: e-mailed to it.
    ask_reseller = action(d, token, "contact_reseller", "Harbour please")
    to_reseller = smtp.wait_for(lambda m: m["kind"] == "task" and "team@harbour.example" in m["rcpt"]
                                and "Harbour please" in m["text"], what="the reseller's task mail")
    # Each mail links to the inbox that lists it.
    to_team = [m for m in smtp.received() if m["kind"] == "task" and NOTIFY in m["rcpt"]]
    assert {path(u) for m in to_team for u in URL_RE.findall(m["text"])} == {"/vendor/tasks"}, to_team
    assert [path(u) for u in URL_RE.findall(to_reseller[0]["text"])] == ["/partner/tasks"], to_reseller

    # The console's inbox lists them all; assign the reply to a vendor sales user, then close it.
    boss = login(d, "boss@sentinel.example")
    page = boss.get("/vendor/tasks").text
    card = task_card(page, reply)
    assert card and "Please send the quote to accounts" in card and "the vendor's renewals team" in text(card), page
    assert task_card(page, callback) and task_card(page, ask_reseller)
    assert "Harbour Networks" in task_card(page, ask_reseller)
    # A partner's user is not one of the vendor's team: refused, nothing changes.
    r = boss.post(f"/vendor/tasks/{reply}", {"action": "assign", "assigned_to": str(gold_user)}, status=400)
    assert "not one of the vendor's team" in text(r.text)
    tasks = {t["id"]: t for t in w.admin.items("/api/v1/tasks")}
    assert tasks[reply]["assigned_to"] == 0
    # Without the CSRF token: 403, unchanged.
    boss.post(f"/vendor/tasks/{reply}", {"action": "close"}, status=403, csrf=False)
    assert {t["id"]: t for t in w.admin.items("/api/v1/tasks")}[reply]["done"] == 0
    boss.get("/vendor/tasks")
    boss.post(f"/vendor/tasks/{reply}", {"action": "assign", "assigned_to": str(vsales)})
    page = boss.get("/vendor/tasks").text
    assert "vsales@sentinel.example" in re.search(r'class="assignee">(.*?)<', task_card(page, reply)).group(1)
    boss.post(f"/vendor/tasks/{reply}", {"action": "close"})
    page = boss.get("/vendor/tasks").text
    assert task_card(page, reply) is None and task_card(page, callback)  # closed: out of the open list
    assert task_card(boss.get("/vendor/tasks?state=done").text, reply)
    t = {t["id"]: t for t in w.admin.items("/api/v1/tasks")}[reply]
    assert t["done"] == 1 and t["assigned_to"] == vsales and t["done_by"] and t["done_at"], t
    notes = [a["note"] for a in w.admin.items(f"/api/v1/audit?object=tasks&object_id={reply}")]
    assert "task assigned" in notes and "task closed" in notes, notes

    # The partner portal: the reseller sees its own task only; assigns and closes it.
    gold = login(d, "gold-admin@harbour.example")
    page = gold.get("/partner/tasks").text
    assert task_card(page, ask_reseller) and "Harbour please" in page
    assert task_card(page, reply) is None and task_card(page, callback) is None, page  # the vendor team's
    gold.post(f"/partner/tasks/{ask_reseller}", {"action": "assign", "assigned_to": str(vsales)}, status=400)
    gold.post(f"/partner/tasks/{callback}", {"action": "close"}, status=404)  # not the partner's
    gold.get("/partner/tasks")
    gold.post(f"/partner/tasks/{ask_reseller}", {"action": "assign", "assigned_to": str(gold_user)})
    # Its distributor sees it too; another channel's partner never does.
    assert task_card(login(d, "dist-admin@northwind.example").get("/partner/tasks").text, ask_reseller)
    plat = login(d, "plat-admin@bluefin.example")
    assert task_card(plat.get("/partner/tasks").text, ask_reseller) is None
    plat.post(f"/partner/tasks/{ask_reseller}", {"action": "close"}, status=404)
    gold.post(f"/partner/tasks/{ask_reseller}", {"action": "close"})
    t = {t["id"]: t for t in w.admin.items("/api/v1/tasks")}[ask_reseller]
    assert t["done"] == 1 and t["assigned_to"] == gold_user, t

    # The same rules through the API.
    r = w.admin.call("PATCH", f"/api/v1/tasks/{callback}", {"assigned_to": gold_user})
    assert r.status == 400 and r.json()["error"]["field"] == "assigned_to", r
    r = w.admin.call("PATCH", f"/api/v1/tasks/{reply}", {"assigned_to": boss_id})
    assert r.status == 409 and r.json()["error"]["code"] == "conflict", r  # closed
    assert w.admin.ok("PATCH", f"/api/v1/tasks/{callback}", {"assigned_to": vsales})["assigned_to"] == vsales
    assert w.admin.ok("PATCH", f"/api/v1/tasks/{callback}", {"assigned_to": None})["assigned_to"] == 0
    assert w.admin.ok("PATCH", f"/api/v1/tasks/{callback}", {"done": 1})["done"] == 1
    r = w.admin.call("PATCH", f"/api/v1/tasks/{callback}", {"done": 2})
    assert r.status == 400 and r.json()["error"]["field"] == "done", r
    d.stop()  # a clean exit (under ASan: no leak report)


def test_partner_pages_redirect_and_vendor_pages_refuse_partners(daemon, tmp_path, smtp):
    d, w, _ = start_world(daemon, tmp_path, smtp)
    user(w, "gold-admin@harbour.example", "partner-admin", "RES-GOLD")
    user(w, "boss@sentinel.example", "vendor-admin")
    anon = Browser(d)
    for path in ("/vendor/tasks", "/partner/tasks"):
        r = anon.request("GET", path)
        assert r.status == 303 and r.headers["location"].endswith("/login"), (path, r)
    gold = login(d, "gold-admin@harbour.example")
    r = gold.request("GET", "/vendor/tasks")
    assert r.status == 303 and urllib.parse.urlsplit(r.headers["location"]).path == "/partner", r
    boss = login(d, "boss@sentinel.example")
    r = boss.request("GET", "/partner/tasks")
    assert r.status == 303 and urllib.parse.urlsplit(r.headers["location"]).path == "/vendor/tasks", r
