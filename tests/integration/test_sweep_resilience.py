"""A sweep never wedges: one action that fails is left out of its day,
recorded (which action, why), shown for attention (the API, the console
overview, /metrics, /healthz "degraded"), retried on every sweep after,
and cleared once it is no longer failing, while the rest of the vendor's
day proceeds.

The failure is a real one: a partner's branding pack whose reminder
template does not parse (an integrator's mistake), so the reminders of
that partner's customer cannot be written.  Another customer's reminder
the same day, and the rest of the days after, still happen.  (A customer
merged away behind a quote used to be such a failure too; merges now
re-point every record, test_merge_integrity.py.)
"""
import datetime
import re
import subprocess
import time

import test_pages_console as console
from conftest import REPO, ApiClient, api_user, assert_json_error, demo_load, http_request
from test_renewals import (  # noqa: F401 (smtp: a fixture)
    NOTIFY, World, renewd_args, set_clock, smtp, start_world, wait_outbox_drained)

# A branding pack an integrator got wrong: its reminder's text does not
# parse (an unclosed section); every other template falls back to the
# default pack.
BROKEN_PACK = r"""
#include <string.h>
#include <renewd/plugin.h>
static int asset(rd_plugin_ctx *ctx, const char *name, const void **data, size_t *len, const char **type)
{
	(void)ctx;
	static const char text[] = "Dear {{customer.name}}, {{#link}}renew here: {{link}}";
	if (strcmp(name, "email/reminder.txt"))
		return RD_ENOTFOUND;
	*data = text;
	*len = sizeof text - 1;
	*type = "text/plain";
	return 0;
}
static const struct rd_branding_ops ops = { .version = RD_BRANDING_OPS_V1, .asset = asset };
static const struct rd_plugin desc = {
	.abi = RENEWD_PLUGIN_ABI, .size = sizeof(struct rd_plugin), .name = "branding-broken", .version = "0.0.1",
	.kind = RD_PLUGIN_BRANDING, .description = "a reminder template that does not parse", .ops = &ops,
};
RENEWD_PLUGIN_EXPORT const struct rd_plugin *renewd_plugin_entry(void) { return &desc; }
"""


def metric(d, name):
    body = d.get("/metrics").body.decode()
    m = re.search(rf"^{name} (\d+)$", body, re.M)
    assert m, f"{name} not in /metrics"
    return int(m.group(1))


def broken_pack(tmp_path):
    """The plugin directory holding the broken branding pack, compiled."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    src = tmp_path / "broken.c"
    src.write_text(BROKEN_PACK)
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", f"-I{REPO / 'include'}", "-o", str(plugins / "branding-broken.so"),
                    str(src)], check=True, timeout=60)
    return plugins


def make_contract(w, ext, customer, end, reseller="RES-GOLD", reseller_id=None):
    tmpl = w.contract_by_ext["K-20002"]
    return w.admin.ok("POST", "/api/v1/contracts", {
        "external_id": ext, "customer_id": customer, "product_id": tmpl["product_id"],
        "reseller_id": reseller_id or w.partner_by_ext[reseller]["id"], "quantity": 5,
        "start": (end - datetime.timedelta(days=365)).isoformat(), "end": end.isoformat()}, status=201)["id"]


def test_one_failing_action_does_not_stop_the_day(daemon, tmp_path, smtp):
    users = [("cm@x.example", "channel-manager", None)]
    d, w, u = start_world(daemon, tmp_path, smtp, users=users, args=["--plugin-dir", str(broken_pack(tmp_path))])
    admin, t0 = w.admin, w.today
    assert d.get("/healthz").json()["status"] == "ok"
    # a reseller of its own whose branding pack is broken, and one of the demo's
    gold = w.partner_by_ext["RES-GOLD"]
    res_sw = admin.ok("POST", "/api/v1/partners", {"external_id": "RES-SW", "name": "Sweep Resellers", "kind": "reseller",
                                                   "tier": "gold", "parent_id": gold.get("parent_id") or None},
                      status=201)["id"]
    # two customers, one contract each, ending the same day (a reminder each on end - 30)
    cust = {n: admin.ok("POST", "/api/v1/customers", {"external_id": f"C-SW-{n}", "name": f"Sweep {n} Ltd",
                                                       "email": f"{n}@sweep.example"}, status=201)["id"]
            for n in ("gone", "kept")}
    end = t0 + datetime.timedelta(days=45)
    k_gone = make_contract(w, "K-SW-GONE", cust["gone"], end, reseller_id=res_sw)
    k_kept = make_contract(w, "K-SW-KEPT", cust["kept"], end)
    set_clock(admin, t0 + datetime.timedelta(days=1))
    opps = {o["contract_id"]: o for o in w.opportunities()}
    o_gone, o_kept = opps[k_gone], opps[k_kept]
    for o in (o_gone, o_kept):  # published now: the customers hear of it, and get the cadence's reminders
        admin.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"}, status=200)
    smtp.wait_for(lambda m: m["ref"] == f"notice:{o_gone['id']}", what="the notice")
    # the reseller's pack is enabled: its customer's reminders can no longer be written
    admin.ok("POST", "/api/v1/plugins/branding-broken/enablements", {"partner_id": res_sw, "config": {}}, status=201)

    # the reminder day and the next cadence point, in one move: each day's other actions happen
    r30 = end - datetime.timedelta(days=30)
    set_clock(admin, r30 + datetime.timedelta(days=17))
    wait_outbox_drained(admin, smtp)
    refs = {m["ref"] for m in smtp.received()}
    assert f"reminder:30:{o_kept['id']}" in refs, sorted(refs)  # the same day's other reminder
    assert admin.get("/api/v1/clock")["today"] == (r30 + datetime.timedelta(days=17)).isoformat()
    assert f"reminder:14:{o_kept['id']}" in refs, sorted(refs)  # and a later day's
    assert f"reminder:30:{o_gone['id']}" not in refs
    assert f"reminder:14:{o_gone['id']}" not in refs  # failed too, its own day
    assert admin.get("/api/v1/clock")["today"] == (r30 + datetime.timedelta(days=17)).isoformat()

    # recorded: which action, why, when, how often
    doc = admin.get("/api/v1/sweep/failures")
    items = {f["key"]: f for f in doc["items"]}
    assert doc["count"] == len(items) == 2, doc
    f30 = items[f"reminder:30:{o_gone['id']}"]
    assert f30["kind"] == "reminder" and f30["record"] == {"type": "opportunity", "id": o_gone["id"]}, f30
    assert f30["days_before"] == 30 and f30["day"] == r30.isoformat(), f30
    assert "template email/reminder.txt" in f30["error"] and "never closed" in f30["error"], f30
    assert f30["attempts"] >= 1 and f30["first_at"] and f30["last_at"], f30
    assert f"reminder:14:{o_gone['id']}" in items, items
    # shown for attention: /healthz, /metrics, the console overview
    h = d.get("/healthz")
    assert h.status == 200, h
    hz = h.json()
    assert hz["status"] == "degraded" and hz["sweep"] == {"failing_actions": 2, "vendors": 1}, hz
    assert hz["reasons"][0]["code"] == "sweep_failing" and "2 renewal action(s)" in hz["reasons"][0]["message"], hz
    assert "template" not in hz["reasons"][0]["message"]  # counts only, for anyone who asks
    assert metric(d, "renewd_sweep_failures") == 2 and metric(d, "renewd_sweep_failing_vendors") == 1
    # the API is the vendor admins'
    assert_json_error(u["cm@x.example"].call("GET", "/api/v1/sweep/failures"), 403, "forbidden")
    assert_json_error(admin.call("GET", "/api/v1/sweep/failures?x=1"), 400, "invalid")
    assert http_request(d.port, "GET", "/api/v1/sweep/failures").status == 401

    # the schedule preview leaves it out the same way, and shows the rest
    pv = admin.get("/api/v1/schedule?days=10")["actions"]
    keys = {a["key"] for a in pv}
    assert f"reminder:7:{o_kept['id']}" in keys and f"reminder:7:{o_gone['id']}" not in keys, keys

    # retried on the next sweep (still failing: attempts count up)
    before = f30["attempts"]
    set_clock(admin, r30 + datetime.timedelta(days=18))
    f30 = {f["key"]: f for f in admin.get("/api/v1/sweep/failures")["items"]}[f"reminder:30:{o_gone['id']}"]
    assert f30["attempts"] == before + 1, f30

    # no longer due (the contract is cancelled): cleared on the next sweep, /healthz ok again
    admin.ok("PATCH", f"/api/v1/contracts/{k_gone}", {"status": "cancelled"})
    set_clock(admin, r30 + datetime.timedelta(days=19))
    assert admin.get("/api/v1/sweep/failures") == {"count": 0, "items": []}
    assert d.get("/healthz").json()["status"] == "ok"
    assert metric(d, "renewd_sweep_failures") == 0
    refs = {m["ref"] for m in smtp.received()}
    assert not [r for r in refs if r.startswith("reminder:") and r.endswith(f":{o_gone['id']}")]
    d.stop()


def test_failures_are_durable_and_clear_when_the_action_succeeds(daemon, tmp_path, smtp):
    """A partner's branding pack whose reminder does not parse: that
    partner's customer's reminder fails, another partner's customer's
    reminder the same day is sent.  The record survives a restart
    (/healthz degraded from the first sweep, the console overview lists
    it to the admin); once the pack is disabled the next sweep's retry
    sends the reminder, as of its day, and clears the record."""
    plugins = broken_pack(tmp_path)
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    token, uid = api_user(data, email="admin@x.example")
    console.make_user(data, "console-admin@x.example", "vendor-admin", None)
    args = renewd_args(smtp.port) + ["--plugin-dir", str(plugins)]
    d = daemon(data=data, args=args)
    admin = ApiClient(d, token, uid)
    admin.ok("PATCH", "/api/v1/vendor", {"notify_email": NOTIFY})
    w = World(admin)
    t0 = w.today
    cust = {n: admin.ok("POST", "/api/v1/customers", {"external_id": f"C-BR-{n}", "name": f"Brand {n}",
                                                       "email": f"{n}@brand.example"}, status=201)["id"]
            for n in ("gold", "silver")}
    end = t0 + datetime.timedelta(days=45)
    k_gold = make_contract(w, "K-BR-GOLD", cust["gold"], end, reseller="RES-GOLD")
    k_silv = make_contract(w, "K-BR-SILV", cust["silver"], end, reseller="RES-PLAT")
    set_clock(admin, t0 + datetime.timedelta(days=1))
    opps = {o["contract_id"]: o for o in w.opportunities()}
    o_gold, o_silv = opps[k_gold], opps[k_silv]
    for o in (o_gold, o_silv):
        admin.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"}, status=200)
    en = admin.ok("POST", "/api/v1/plugins/branding-broken/enablements",
                  {"partner_id": w.partner_by_ext["RES-GOLD"]["id"], "config": {}}, status=201)
    r30 = end - datetime.timedelta(days=30)
    set_clock(admin, r30)
    smtp.wait_for(lambda m: m["ref"] == f"reminder:30:{o_silv['id']}", what="the other partner's reminder")
    # (the demo's other reminders to the gold partner's customers since t0 fail the same way)
    items = admin.get("/api/v1/sweep/failures")["items"]
    assert f"reminder:30:{o_gold['id']}" in [f["key"] for f in items], items
    assert all(f["kind"] == "reminder" and "template email/reminder.txt" in f["error"] and
               "never closed" in f["error"] for f in items), items
    gold_opps = {o["id"] for o in w.opportunities() if o["reseller_id"] == w.partner_by_ext["RES-GOLD"]["id"]}
    assert {f["record"]["id"] for f in items} <= gold_opps, items

    # durable: a restart, and the first sweep finds it
    d.stop()
    d = daemon(data=data, args=args)
    admin.daemon = d
    deadline = time.monotonic() + 20
    while d.get("/healthz").json()["status"] != "degraded":
        assert time.monotonic() < deadline, "not degraded after the restart"
        time.sleep(0.05)
    b = console.Browser(d)
    b.login("console-admin@x.example")
    html = b.get("/vendor").text
    page = console.text(html)
    assert "Renewal sweep" in page and f"reminder:30:{o_gold['id']}" in page, page
    assert "template email/reminder.txt" in page, page
    # (the retry at start cleared the ones no longer due: a reminder "ends today" of a quote expired since)
    now = admin.get("/api/v1/sweep/failures")
    assert f"reminder:30:{o_gold['id']}" in [f["key"] for f in now["items"]], now
    assert re.search(rf'id="sweep-failing">{now["count"]}<', html), html

    # fixed: the next sweep's retry sends it and clears the record
    admin.ok("DELETE", f"/api/v1/plugins/branding-broken/enablements/{en['id']}", status=None)
    set_clock(admin, r30 + datetime.timedelta(days=1))
    assert admin.get("/api/v1/sweep/failures") == {"count": 0, "items": []}
    m = smtp.wait_for(lambda m: m["ref"] == f"reminder:30:{o_gold['id']}", what="the retried reminder")
    assert m[0]["rcpt"] == ["gold@brand.example"] and "30" in m[0]["text"], m[0]
    assert d.get("/healthz").json()["status"] == "ok"
    assert "Renewal sweep" in console.text(b.get("/vendor").text)
    assert not re.search(r'id="sweep-failures"', b.get("/vendor").text)
    d.stop()


def test_a_day_with_many_failing_actions_goes_on(daemon, tmp_path, smtp):
    """A reseller's broken branding pack with 40 of its customers'
    reminders due the same day: each failing reminder is left out alone
    (its own nested transaction, aborted), recorded, and the day goes on,
    with no cap on how many fail: another customer's reminder that day is
    sent, and the later days are swept too."""
    n = 40
    d, w, u = start_world(daemon, tmp_path, smtp, args=["--plugin-dir", str(broken_pack(tmp_path))])
    admin, t0 = w.admin, w.today
    gold = w.partner_by_ext["RES-GOLD"]
    res_sw = admin.ok("POST", "/api/v1/partners", {"external_id": "RES-MANY", "name": "Many Resellers",
                                                   "kind": "reseller", "tier": "gold",
                                                   "parent_id": gold.get("parent_id") or None}, status=201)["id"]
    end = t0 + datetime.timedelta(days=45)
    broken = []
    for i in range(n):
        c = admin.ok("POST", "/api/v1/customers", {"external_id": f"C-MANY-{i}", "name": f"Many {i} Ltd",
                                                    "email": f"m{i}@many.example"}, status=201)["id"]
        broken.append(make_contract(w, f"K-MANY-{i}", c, end, reseller_id=res_sw))
    c = admin.ok("POST", "/api/v1/customers", {"external_id": "C-MANY-KEPT", "name": "Kept Ltd",
                                                "email": "kept@many.example"}, status=201)["id"]
    k_kept = make_contract(w, "K-MANY-KEPT", c, end)
    set_clock(admin, t0 + datetime.timedelta(days=1))
    opps = {o["contract_id"]: o for o in w.opportunities()}
    for k in broken + [k_kept]:
        admin.ok("POST", f"/api/v1/opportunities/{opps[k]['id']}/decision", {"publish": "vendor"}, status=200)
    wait_outbox_drained(admin, smtp)
    admin.ok("POST", "/api/v1/plugins/branding-broken/enablements", {"partner_id": res_sw, "config": {}}, status=201)

    # the reminder day (40 failing reminders and one sent) and the next cadence point
    r30 = end - datetime.timedelta(days=30)
    set_clock(admin, r30 + datetime.timedelta(days=17))
    wait_outbox_drained(admin, smtp)
    o_kept = opps[k_kept]["id"]
    refs = {m["ref"] for m in smtp.received()}
    assert f"reminder:30:{o_kept}" in refs, sorted(refs)  # the same day's other reminder
    assert f"reminder:14:{o_kept}" in refs, sorted(refs)  # and a later day's
    gone = [opps[k]["id"] for k in broken]
    assert not [r for r in refs if r.startswith("reminder:") and int(r.rsplit(":", 1)[1]) in gone], sorted(refs)
    # every one of them recorded, as of its own day, with its reason
    doc = admin.get("/api/v1/sweep/failures")
    items = {f["key"]: f for f in doc["items"]}
    for o in gone:
        for days, day in ((30, r30), (14, end - datetime.timedelta(days=14))):
            f = items.get(f"reminder:{days}:{o}")
            assert f, (days, o, sorted(items))
            assert f["day"] == day.isoformat() and "template email/reminder.txt" in f["error"], f
    assert doc["count"] == len(items) == 2 * n, sorted(items)
    assert d.get("/healthz").json()["sweep"] == {"failing_actions": 2 * n, "vendors": 1}
    # the schedule preview leaves the 40 reminders of end - 7 out (each its own dry-run child) and shows the rest
    pv = admin.get("/api/v1/schedule?days=10")["actions"]
    keys = [a["key"] for a in pv]
    assert f"reminder:7:{o_kept}" in keys, keys
    assert not [k for k in keys if k.startswith("reminder:") and int(k.rsplit(":", 1)[1]) in gone], keys
    assert len(keys) == len(set(keys)), keys
    # the days were swept: the next day's sweep takes up from here (retries count up, nothing else fails)
    set_clock(admin, r30 + datetime.timedelta(days=18))
    again = admin.get("/api/v1/sweep/failures")["items"]
    assert {f["key"] for f in again} == set(items), sorted(f["key"] for f in again)
    assert all(f["attempts"] == items[f["key"]]["attempts"] + 1 for f in again), again
    d.stop()
