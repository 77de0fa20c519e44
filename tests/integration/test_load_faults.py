"""Load with faults (issue 21, item 3): wrk on the API while the scheduler
sweeps (the test clock moved a day at a time), a parallel client places
card orders with Idempotency-Keys, the SMTP server fails on a schedule
(451 answers, connections dropped) and so does the test gateway
(tests/fakegw's /control/faults: 503 answers, connections closed without
an answer).

* no HTTP error beyond the ones the faults explain: every GET of wrk's
  answers 200; an order's POST answers 200/201 or, when the gateway
  failed, the documented 502/503/504 with the JSON error shape
  (docs/orders.md); never 500; the clock's moves answer 200;
* renewd's peak RSS (VmHWM in /proc/PID/status) stays under a stated bound
  (RSS_BOUND_MIB; more under AddressSanitizer);
* once the faults stop, the outbox drains: every message the outbox lists
  is sent and reached the SMTP sink exactly once (by Message-ID); every
  order is consistent with the gateway's ledger (one charge for a
  fulfilled order, none for a failed one, no charge no order names), one
  fulfilled order per quote.

Prints requests served, faults injected, messages delivered.
"""
import datetime
import json
import re
import shutil
import subprocess
import threading
import time

import pytest

import crashkit
from conftest import RENEWD
from crashkit import Sink, figures, scaled
from test_card_orders import boot, gateway  # noqa: F401 (gateway: a fixture)
from test_crash_safety import outbox_id, quoted_opportunities

WRK = shutil.which("wrk")
RSS_BOUND_MIB = scaled(96, 768)  # renewd's peak resident set under this load

pytestmark = pytest.mark.skipif(WRK is None, reason="wrk is not installed (scripts/deps)")

LUA = r"""
local paths = {PATHS}
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function request()
  return wrk.format("GET", paths[math.random(#paths)], {["Authorization"] = "Bearer TOKEN"})
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local total = {}
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do total[k] = (total[k] or 0) + v end
  end
  for k, v in pairs(total) do io.write(string.format("status %d %d\n", k, v)) end
  io.write(string.format("errors connect %d read %d write %d timeout %d\n", summary.errors.connect,
           summary.errors.read, summary.errors.write, summary.errors.timeout))
end
"""


def vm_hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


def test_load_with_smtp_and_gateway_faults(daemon, tmp_path, gateway, capsys, record_property):
    assert RENEWD.exists()
    sink = Sink()
    try:
        run(daemon, tmp_path, gateway, sink, capsys, record_property)
    finally:
        sink.stop()


def run(daemon, tmp_path, gateway, sink, capsys, record_property):
    mail = ["--mail-transport", f"smtp://127.0.0.1:{sink.port}", "--mail-retry-ms", "100"]
    d, data, admin, _, _ = boot(daemon, tmp_path, gateway, extra_args=mail)
    admin.ok("PATCH", "/api/v1/vendor", {"notify_email": "renewals-team@sentinel.example"})
    n = scaled(20, 8)
    opps = quoted_opportunities(admin, n, "LF")
    kid = admin.items("/api/v1/contracts")[0]["id"]
    paths = ["/api/v1/contracts?limit=50", f"/api/v1/contracts/{kid}", "/api/v1/opportunities?limit=20",
             "/api/v1/orders?limit=20", "/api/v1/customers?limit=50", "/api/v1/contracts?limit=10&status=live"]
    for p in paths:
        assert admin.call("GET", p).status == 200, p
    lua = tmp_path / "load.lua"
    lua.write_text(LUA.replace("{PATHS}", "{" + ", ".join(json.dumps(p) for p in paths) + "}")
                   .replace("TOKEN", admin.token))

    tokens = [gateway.token() for _ in opps]
    # the faults, on a schedule
    sink.fault(3, ("4xx", "drop"))
    gateway.control("faults", {"every": 4, "status": 503, "drop_every": 7})
    duration = scaled(6, 4)
    stop = threading.Event()
    bad = []  # answers no fault explains
    answers = {}
    done_orders = {}

    def note(r):
        answers[r.status] = answers.get(r.status, 0) + 1

    def order_once(i, attempt):
        o = opps[i]
        r = admin.call("POST", "/api/v1/orders", {"opportunity_id": o["id"], "payment_option": "card",
                                                  "card_token": tokens[i]},
                       headers={"Idempotency-Key": f"lf-{o['id']}-{attempt}"}, timeout=20)
        note(r)
        if r.status in (200, 201):
            doc = r.json()
            if doc["state"] == "fulfilled":
                done_orders[i] = doc
            elif doc["state"] != "failed":
                bad.append(("order state", doc["state"], doc.get("payment_message")))
        elif r.status in (502, 503, 504):
            err = r.json().get("error") or {}
            if not (err.get("code") and err.get("message")):
                bad.append(("5xx without the error shape", r.status, r.body[:200]))
        else:
            bad.append(("order", r.status, r.body[:200]))

    def orderer():
        attempt = {i: 0 for i in range(n)}
        while not stop.is_set():
            left = [i for i in range(n) if i not in done_orders]
            if not left:
                return
            for i in left:
                if stop.is_set():
                    return
                attempt[i] += 1
                order_once(i, attempt[i] // 2)  # each key tried twice (a replay), then a fresh one

    def clock():
        today = datetime.date.fromisoformat(admin.get("/api/v1/clock")["today"])
        while not stop.is_set():
            today += datetime.timedelta(days=1)
            r = admin.call("POST", "/api/v1/clock", {"date": today.isoformat()}, timeout=20)
            note(r)
            if r.status != 200:
                bad.append(("clock", r.status, r.body[:200]))
            time.sleep(0.2)

    threads = [threading.Thread(target=orderer, daemon=True), threading.Thread(target=clock, daemon=True)]
    for t in threads:
        t.start()
    w = subprocess.run([WRK, "-t2", "-c8", f"-d{duration}s", "--timeout", "10s", "-s", str(lua),
                        f"http://127.0.0.1:{d.port}"], capture_output=True, text=True, timeout=duration + 30)
    stop.set()
    for t in threads:
        t.join(30)
    assert w.returncode == 0, w.stderr
    statuses = {int(a): int(b) for a, b in re.findall(r"^status (\d+) (\d+)$", w.stdout, re.M)}
    served = sum(statuses.values())
    errs = re.search(r"^errors connect (\d+) read (\d+) write (\d+) timeout (\d+)$", w.stdout, re.M)
    assert errs, w.stdout
    hwm = vm_hwm_kib(d.pid)
    gw_faults = gateway.state()["faults_injected"]
    smtp_faults = sink.faults

    # the faults stop: every order placed, the outbox drained
    sink.fault(0)
    gateway.control("faults", {"every": 0, "drop_every": 0})
    for i in range(n):
        a = 100
        while i not in done_orders:
            a += 1
            assert a < 110, f"quote {i}: no fulfilled order once the gateway is back: {bad[-3:]} " + \
                str([(o["number"], o["state"], o["payment_message"]) for o in admin.items("/api/v1/orders")
                     if o["opportunity_id"] == opps[i]["id"]])
            order_once(i, a)
    deadline = time.monotonic() + 30
    while True:
        box = admin.items("/api/v1/outbox")
        queued = [m for m in box if m["state"] != "sent"]
        got = sink.received()
        missing = {m["id"] for m in box if m["state"] == "sent"} - {outbox_id(x) for x in got}
        if not queued and not missing:
            break
        assert time.monotonic() < deadline, (f"{len(queued)} queued, {len(missing)} sent but not at the sink: "
                                             f"{[(m['kind'], m['attempts'], m['last_error']) for m in queued][:5]}")
        time.sleep(0.25)
    dup_ids = crashkit.duplicates_by(got, lambda m: m["message_id"])
    unknown = {outbox_id(x) for x in got} - {m["id"] for m in box}

    # every order consistent with the gateway's ledger
    orders = admin.items("/api/v1/orders")
    state = gateway.state()
    charges = {}
    for c in state["charges"]:
        if c["kind"] in ("charge", "capture"):
            charges.setdefault(c["intent"], []).append(c["amount"])
    problems = []
    per_opp = {}
    for o in orders:
        per_opp.setdefault(o["opportunity_id"], []).append(o)
        if o["state"] == "fulfilled":
            if charges.get(o["paid_reference"]) != [o["total"]]:
                problems.append(f"{o['number']}: charges {charges.get(o['paid_reference'])} for {o['total']}")
        elif o["state"] == "failed":
            if o.get("payment_ref") and charges.get(o["payment_ref"]):
                problems.append(f"{o['number']} failed with a charge {charges[o['payment_ref']]}")
        else:
            problems.append(f"{o['number']}: {o['state']} after the faults stopped")
    for opp in opps:
        ful = [o for o in per_opp.get(opp["id"], []) if o["state"] == "fulfilled"]
        if len(ful) != 1:
            problems.append(f"quote {opp['id']}: {len(ful)} fulfilled orders")
    named = {o["paid_reference"] for o in orders if o["state"] == "fulfilled"}
    stray = [i for i in charges if i not in named]
    if stray:
        problems.append(f"charges no order names: {stray}")
    assert d.running(), d.log()[-2000:]
    d.stop()

    figures(capsys, record_property, "load with faults", requests_served=served + sum(answers.values()),
            wrk_requests=served, api_writes=sum(answers.values()), smtp_faults_injected=smtp_faults,
            gateway_faults_injected=gw_faults, messages_delivered=len(got), orders=len(orders),
            peak_rss_mib=hwm // 1024, rss_bound_mib=RSS_BOUND_MIB)
    assert statuses and set(statuses) == {200}, f"wrk saw {statuses}"
    assert errs.groups() == ("0", "0", "0", "0"), errs.group(0)
    assert not bad, bad[:10]
    assert 500 not in answers, answers
    assert smtp_faults > 0 and gw_faults > 0, (smtp_faults, gw_faults)
    assert hwm < RSS_BOUND_MIB * 1024, f"peak RSS {hwm // 1024} MiB over the bound of {RSS_BOUND_MIB} MiB"
    assert dup_ids == 0 and not unknown, (dup_ids, unknown)
    assert not problems, problems[:10]
