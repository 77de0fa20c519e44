"""Observability: every failure an operator must hear of shows in /metrics
and in /healthz, within the configured threshold, and goes away once fixed.

* mail: the SMTP server (aiosmtpd, a real one on 127.0.0.1) is stopped
  while a message is due; /metrics counts the failed attempts and the
  failing message, /healthz turns degraded with the reason mail_failing
  once health_mail_failing_ms has passed (not before), and both recover
  when the server is back and the message is delivered;
* the sweep: a partner's broken branding pack makes a reminder fail;
  the vendor's failing actions and failing time show per vendor in
  /metrics, /healthz turns degraded (sweep_failing) once
  health_sweep_failing_ms has passed, and ok again after a clean sweep;
* plugin calls: counted by plugin and result with their durations and
  timeouts, and the plugin's own log lines carry the request id;
* the access log names the client's address, the vendor and the user;
* promtool: the alerting rules check (and their alerts fire on the
  series they watch: `promtool test rules`), and renewd's own /metrics
  passes `promtool check metrics`.
"""
import datetime
import json
import re
import shutil
import subprocess
import threading
import time

import pytest

from conftest import REPO, http_request
from test_plugins import PROBE_TIMEOUT, plugin_dir, start, world  # noqa: F401 (fixtures)
from test_renewals import set_clock, smtp, start_world, wait_outbox_drained  # noqa: F401 (smtp: a fixture)
from test_sweep_resilience import broken_pack, make_contract

RULES = REPO / "examples" / "renewd-alerts.yml"
PROMTOOL = shutil.which("promtool")


def need_promtool():
    if not PROMTOOL:
        pytest.fail("promtool is missing: scripts/deps installs Debian's prometheus package", pytrace=False)


def scrape(d):
    """/metrics as {(name, frozenset(labels)): value}, and the raw text."""
    r = d.get("/metrics")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r
    text = r.body.decode()
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.fullmatch(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)', line)
        assert m, f"not an exposition line: {line!r}"
        labels = frozenset(re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', m.group(2) or ""))
        out[(m.group(1), labels)] = float(m.group(3))
    return out, text


def val(series, name, **labels):
    key = (name, frozenset(labels.items()))
    assert key in series, f"{name}{labels} not in /metrics: {sorted(k for k in series if k[0] == name)}"
    return series[key]


def health(d):
    r = d.get("/healthz")
    assert r.status == 200, r
    return r.json()


def wait(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        got = pred()
        if got:
            return got
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(0.05)


def check_metrics(text):
    """promtool check metrics on the exposition text: nothing to say."""
    need_promtool()
    p = subprocess.run([PROMTOOL, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    assert p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(), (p.stdout, p.stderr)


MAIL_MS = 3000  # --health-mail-failing-ms in the mail test


def test_smtp_down_shows_in_metrics_and_healthz_and_recovers(daemon, tmp_path, smtp):
    d, w, _ = start_world(daemon, tmp_path, smtp, args=["--health-mail-failing-ms", str(MAIL_MS)])
    admin = w.admin
    wait_outbox_drained(admin, smtp)  # the first sweep's notices are out
    hz = health(d)
    assert hz["status"] == "ok" and hz["reasons"] == [] and hz["mail"] == {"failing": False, "failing_seconds": 0}, hz
    s, text = scrape(d)
    delivered = val(s, "renewd_outbox_delivered_total")
    assert delivered == len(smtp.received()) > 0, (delivered, len(smtp.received()))
    assert val(s, "renewd_outbox_attempts_total", result="delivered") == delivered
    assert val(s, "renewd_outbox_queued_messages") == 0 and val(s, "renewd_health_degraded", reason="mail_failing") == 0
    check_metrics(text)

    # the mail server goes away; a contract enters its window: a quote notice is due
    smtp.stop()
    cust = admin.ok("POST", "/api/v1/customers", {"external_id": "C-OBS", "name": "Obs Ltd",
                                                   "email": "obs@obs.example"}, status=201)["id"]
    end = w.today + datetime.timedelta(days=60)
    make_contract(w, "K-OBS-1", cust, end)
    set_clock(admin, w.today + datetime.timedelta(days=1))

    # seen failing at once in /metrics; /healthz says so only past the threshold
    def failing():
        s, _ = scrape(d)
        return s if val(s, "renewd_outbox_attempts_total", result="failed") >= 1 else None
    s = wait(failing, 20, "a failed delivery attempt in /metrics")
    assert val(s, "renewd_outbox_queued_messages") >= 1 and val(s, "renewd_outbox_failing_messages") >= 1, s
    assert val(s, "renewd_outbox_max_attempts") >= 1
    hz = health(d)
    assert hz["mail"]["failing"] is True, hz
    if hz["mail"]["failing_seconds"] < MAIL_MS / 1000 - 1:  # (a busy machine may be past it already)
        assert hz["status"] == "ok" and hz["reasons"] == [], hz

    hz = wait(lambda: (h := health(d))["status"] == "degraded" and h, MAIL_MS / 1000 + 15, "degraded")
    (reason,) = hz["reasons"]
    assert reason["code"] == "mail_failing" and reason["since_seconds"] >= MAIL_MS / 1000 - 1, hz
    assert reason["threshold_seconds"] == MAIL_MS / 1000 and "mail delivery has failed" in reason["message"], hz
    assert "127.0.0.1" not in json.dumps(hz) and "SMTP" not in json.dumps(hz)  # counts, not the server's words
    s, text = scrape(d)
    assert val(s, "renewd_health_degraded", reason="mail_failing") == 1
    assert val(s, "renewd_mail_failing_seconds") >= MAIL_MS / 1000 - 1
    assert val(s, "renewd_outbox_delivered_total") == delivered
    assert val(s, "renewd_outbox_oldest_age_seconds") >= 0
    check_metrics(text)

    # the server is back (same port): the retry delivers, both say ok again
    smtp.start()
    smtp.wait_for(lambda m: m["phase"] == 2 and m["kind"] == "quote_notice", what="the retried quote notice")
    hz = wait(lambda: (h := health(d))["status"] == "ok" and h, 30, "ok again")
    assert hz["reasons"] == [] and hz["mail"]["failing"] is False, hz
    s, _ = scrape(d)
    assert val(s, "renewd_health_degraded", reason="mail_failing") == 0 and val(s, "renewd_mail_failing_seconds") == 0
    assert val(s, "renewd_outbox_delivered_total") > delivered
    assert val(s, "renewd_mail_last_delivered_timestamp_seconds") > time.time() - 60
    wait_outbox_drained(admin, smtp)
    assert val(scrape(d)[0], "renewd_outbox_failing_messages") == 0
    d.stop()


SWEEP_MS = 2000  # --health-sweep-failing-ms in the sweep test


def test_failing_sweep_shows_per_vendor_and_recovers(daemon, tmp_path, smtp):
    d, w, _ = start_world(daemon, tmp_path, smtp, args=["--plugin-dir", str(broken_pack(tmp_path)),
                                                        "--health-sweep-failing-ms", str(SWEEP_MS)])
    admin, t0 = w.admin, w.today
    slug = w.vendor["slug"]
    s, _ = scrape(d)
    assert val(s, "renewd_sweep_failing_actions", vendor=slug) == 0
    assert val(s, "renewd_sweep_last_timestamp_seconds", vendor=slug) > time.time() - 60
    assert val(s, "renewd_sweep_actions_total", vendor=slug) > 0  # the first sweep's quotes
    assert val(s, "renewd_sweep_duration_seconds", vendor=slug) >= 0
    assert val(s, "renewd_sweep_errors_total", vendor=slug) == 0
    gold = w.partner_by_ext["RES-GOLD"]
    res = admin.ok("POST", "/api/v1/partners", {"external_id": "RES-OBS", "name": "Obs Resellers", "kind": "reseller",
                                                "tier": "gold", "parent_id": gold.get("parent_id") or None},
                   status=201)["id"]
    cust = admin.ok("POST", "/api/v1/customers", {"external_id": "C-OBS-S", "name": "Obs Sweep Ltd",
                                                   "email": "sweep@obs.example"}, status=201)["id"]
    end = t0 + datetime.timedelta(days=45)
    k = make_contract(w, "K-OBS-S", cust, end, reseller_id=res)
    set_clock(admin, t0 + datetime.timedelta(days=1))
    (o,) = [o for o in w.opportunities() if o["contract_id"] == k]
    admin.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"}, status=200)
    en = admin.ok("POST", "/api/v1/plugins/branding-broken/enablements", {"partner_id": res, "config": {}}, status=201)

    # the reminder day: its reminder cannot be written, the sweep records it
    set_clock(admin, end - datetime.timedelta(days=30))
    hz = health(d)  # (before the scrape: the failing time the scrape shows is at least what /healthz saw)
    s, text = scrape(d)
    assert val(s, "renewd_sweep_failing_actions", vendor=slug) >= 1, s
    assert val(s, "renewd_sweep_failures") >= 1 and val(s, "renewd_sweep_failing_vendors") == 1
    check_metrics(text)
    assert hz["sweep"]["failing_actions"] >= 1 and hz["sweep"]["vendors"] == 1, hz
    if val(s, "renewd_sweep_failing_seconds", vendor=slug) < SWEEP_MS / 1000:
        assert hz["status"] == "ok" and hz["reasons"] == [], hz  # not yet past the threshold

    hz = wait(lambda: (h := health(d))["status"] == "degraded" and h, SWEEP_MS / 1000 + 15, "degraded")
    (reason,) = hz["reasons"]
    assert reason["code"] == "sweep_failing" and reason["vendors"] == 1 and reason["failing_actions"] >= 1, hz
    assert reason["since_seconds"] >= SWEEP_MS / 1000 - 1 and reason["threshold_seconds"] == SWEEP_MS / 1000, hz
    assert slug not in json.dumps(hz) and "template" not in json.dumps(hz)  # counts only, for anyone who asks
    s, _ = scrape(d)
    assert val(s, "renewd_health_degraded", reason="sweep_failing") == 1
    assert val(s, "renewd_sweep_failing_seconds", vendor=slug) >= SWEEP_MS / 1000 - 1

    # fixed: the pack is disabled, the next sweep's retry writes the reminder
    admin.ok("DELETE", f"/api/v1/plugins/branding-broken/enablements/{en['id']}", status=None)
    set_clock(admin, end - datetime.timedelta(days=29))
    hz = health(d)
    assert hz["status"] == "ok" and hz["reasons"] == [] and hz["sweep"]["failing_actions"] == 0, hz
    s, _ = scrape(d)
    assert val(s, "renewd_sweep_failing_actions", vendor=slug) == 0
    assert val(s, "renewd_sweep_failing_seconds", vendor=slug) == 0
    assert val(s, "renewd_health_degraded", reason="sweep_failing") == 0
    smtp.wait_for(lambda m: m["ref"] == f"reminder:30:{o['id']}", what="the retried reminder")
    d.stop()


def test_orders_and_imports_by_state(daemon, tmp_path, smtp):
    d, w, _ = start_world(daemon, tmp_path, smtp)
    admin = w.admin
    s, text = scrape(d)
    before = {st: val(s, "renewd_orders", state=st) for st in ("awaiting_payment", "fulfilled", "paid")}
    imports = val(s, "renewd_imports", state="succeeded")
    # an import: counted by its state once it has one
    doc = admin.run_import("customers", "external_id,name,email\nC-OBS-I,Obs Import Ltd,imp@obs.example\n")
    assert doc["status"] == "succeeded", doc
    s, _ = scrape(d)
    assert val(s, "renewd_imports", state="succeeded") == imports + 1
    assert val(s, "renewd_imports", state="running") == 0
    # an order on terms: awaiting payment, then paid and fulfilled
    admin.ok("POST", "/api/v1/plugins/payment-po/enablements", {"config": {}}, status=201)
    o = next(o for o in w.opportunities() if o["state"] == "pending_decision" and o["lines"] and not o["attention"])
    admin.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"}, status=200)
    r = admin.call("POST", "/api/v1/orders", {"opportunity_id": o["id"], "payment_option": "purchase_order",
                                               "po_number": "PO-OBS-1"}, headers={"Idempotency-Key": "obs-1"})
    assert r.status in (200, 201), r
    order = r.json()
    assert order["state"] == "awaiting_payment", order
    s, _ = scrape(d)
    assert val(s, "renewd_orders", state="awaiting_payment") == before["awaiting_payment"] + 1
    paid = admin.ok("POST", f"/api/v1/orders/{order['id']}/payments", {"amount": order["total"], "reference": "R-1"})
    assert paid["state"] == "fulfilled", paid
    s, text = scrape(d)
    assert val(s, "renewd_orders", state="awaiting_payment") == before["awaiting_payment"]
    assert val(s, "renewd_orders", state="fulfilled") == before["fulfilled"] + 1
    assert val(s, "renewd_plugin_calls_total", plugin="payment-po", result="ok") >= 1  # its authorise call
    check_metrics(text)
    d.stop()


def log_lines(d, pattern):
    return [ln for ln in d.log().splitlines() if re.search(pattern, ln)]


def test_plugin_calls_counted_and_logged_with_the_request_id(start):
    s = start()
    d = s.d
    s.enable("tp-slow", {"sleep_ms": 0}, status=201)
    r = s.admin.call("POST", "/api/v1/plugins/tp-slow/probe", None, {"X-Request-Id": "obs-probe-1"})
    assert r.status == 200, r
    # the plugin's own line (host->log on the thread pool) carries the request's id
    (line,) = log_lines(d, r"comp=plugin:tp-slow .*probe sleeps 0 ms")
    assert " req=obs-probe-1 " in line, line
    m, text = scrape(d)
    assert val(m, "renewd_plugin_calls_total", plugin="tp-slow", result="ok") == 1
    assert val(m, "renewd_plugin_call_duration_seconds_count", plugin="tp-slow") == 1
    assert val(m, "renewd_plugin_call_duration_seconds_bucket", plugin="tp-slow", le="+Inf") == 1
    assert val(m, "renewd_plugin_timeouts_total", plugin="tp-slow") == 0
    check_metrics(text)

    # calls that do not answer in time: counted as timeouts, logged with their ids;
    # a third while both hang is refused busy, and counted so
    s.enable("tp-slow", {"sleep_ms": int(PROBE_TIMEOUT * 1000) + 1500}, status=200)  # replaces it
    results = {}

    def probe(rid):
        results[rid] = s.admin.call("POST", "/api/v1/plugins/tp-slow/probe", None, {"X-Request-Id": rid}, timeout=30)
    threads = [threading.Thread(target=probe, args=(rid,), daemon=True) for rid in ("obs-probe-2", "obs-probe-3")]
    for t in threads:
        t.start()
    wait(lambda: len(log_lines(d, r"comp=plugin:tp-slow .*probe sleeps 6500 ms")) == 2, 10, "both calls running")
    r = s.admin.call("POST", "/api/v1/plugins/tp-slow/probe", None, {"X-Request-Id": "obs-probe-4"})
    assert r.status == 503 and r.json()["error"]["code"] == "plugin_busy", r
    for t in threads:
        t.join(30)
    assert [results[rid].status for rid in ("obs-probe-2", "obs-probe-3")] == [504, 504], results
    for rid in ("obs-probe-2", "obs-probe-3"):
        (line,) = log_lines(d, rf"comp=plugins req={rid} .*tp-slow: a call timed out")
        (line,) = log_lines(d, rf"comp=plugin:tp-slow req={rid} .*probe sleeps 6500 ms")
    m, _ = scrape(d)
    assert val(m, "renewd_plugin_timeouts_total", plugin="tp-slow") == 2
    assert val(m, "renewd_plugin_calls_total", plugin="tp-slow", result="timeout") == 2
    assert val(m, "renewd_plugin_calls_total", plugin="tp-slow", result="busy") == 1
    assert val(m, "renewd_plugin_calls_total", plugin="tp-slow", result="ok") == 1
    assert val(m, "renewd_plugin_call_duration_seconds_count", plugin="tp-slow") == 3
    assert val(m, "renewd_plugin_call_duration_seconds_sum", plugin="tp-slow") >= 2 * PROBE_TIMEOUT - 0.2
    assert val(m, "renewd_plugin_call_duration_seconds_bucket", plugin="tp-slow", le="2.5") == 1
    assert val(m, "renewd_plugin_calls_total", plugin="tp-good", result="ok") == 0
    wait(lambda: len(log_lines(d, r"tp-slow: a call finished after its timeout")) == 2, 15, "the late answers")
    for rid in ("obs-probe-2", "obs-probe-3"):
        (line,) = log_lines(d, rf"req={rid} .*tp-slow: a call finished after its timeout")
    d.stop()


def test_access_log_names_client_vendor_and_user(start):
    s = start()
    d = s.d
    r = s.admin.call("GET", "/api/v1/vendor", None, {"X-Request-Id": "obs-access-1"})
    assert r.status == 200, r
    vendor = r.json()["id"]
    r = http_request(d.port, "GET", "/api/v1/vendor", headers={"X-Request-Id": "obs-access-2"})
    assert r.status == 401, r
    wait(lambda: log_lines(d, r"req=obs-access-2 "), 5, "the access line")
    (line,) = log_lines(d, r"comp=http req=obs-access-1 ")
    assert f" client=127.0.0.1 vendor={vendor} user={s.admin.user_id} " in line, line
    assert 'msg="GET /api/v1/vendor 200 ' in line, line
    (line,) = log_lines(d, r"comp=http req=obs-access-2 ")
    assert " client=127.0.0.1 vendor=- user=- " in line and " 401 " in line, line  # no credential: nobody
    d.stop()


# (series, values) for promtool's unit test, and when each alert is
# expected to fire with which labels: the rules' own annotations are
# expected with them, their {{ $labels.x }} filled in.
ALERT_SERIES = [
    ('renewd_health_degraded{instance="r1",job="renewd",reason="mail_failing"}', "0 0 1 1 1 1 0"),
    ('renewd_health_degraded{instance="r1",job="renewd",reason="sweep_failing"}', "0 1 1 1 1 1 1 1 1 1"),
    ('renewd_plugin_timeouts_total{instance="r1",job="renewd",plugin="tp-slow"}', "0 1 2 3 4 5 6"),
    ('renewd_sweep_errors_total{instance="r1",job="renewd",vendor="acme"}', "0 0 1 1"),
]
ALERT_EXPECT = [
    ("2m", "RenewdMailFailing", None),  # degraded for less than the rule's "for"
    ("4m", "RenewdMailFailing", {"severity": "critical", "reason": "mail_failing"}),
    ("7m", "RenewdMailFailing", None),  # fixed
    ("3m", "RenewdSweepFailing", None),
    ("8m", "RenewdSweepFailing", {"severity": "warning", "reason": "sweep_failing"}),
    ("6m", "RenewdPluginTimeouts", {"severity": "warning", "plugin": "tp-slow"}),
    ("3m", "RenewdSweepErrors", {"severity": "warning", "vendor": "acme"}),
]


def alert_tests():
    import yaml
    rules = {r["alert"]: r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]}
    cases = []
    for at, name, labels in ALERT_EXPECT:
        exp = []
        if labels:
            labels = {"instance": "r1", "job": "renewd", **labels}
            notes = {}
            for k, text in rules[name]["annotations"].items():
                notes[k] = re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], text)
            exp.append({"exp_labels": labels, "exp_annotations": notes})
        cases.append({"eval_time": at, "alertname": name, "exp_alerts": exp})
    return yaml.safe_dump({"rule_files": [str(RULES)], "evaluation_interval": "1m", "tests": [{
        "interval": "1m", "input_series": [{"series": s, "values": v} for s, v in ALERT_SERIES],
        "alert_rule_test": cases}]})


def test_promtool_checks_the_alerting_rules(tmp_path):
    need_promtool()
    p = subprocess.run([PROMTOOL, "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "SUCCESS" in p.stdout, (p.stdout, p.stderr)
    # each failure's alert fires on the series it watches (and only then)
    tests = tmp_path / "alerts-test.yml"
    tests.write_text(alert_tests())
    p = subprocess.run([PROMTOOL, "test", "rules", str(tests)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and "SUCCESS" in p.stdout, (p.stdout, p.stderr)
