"""Plugins: the loader, enablements, probes and the out-of-tree build.

renewd starts with --plugin-dir pointing at a temporary directory holding
copies of the purpose-built plugins of tests/plugins/ (built into
$RENEWD_BUILD/tests/plugins/): five good ones (every kind) and one broken
one per reason the loader refuses a plugin.  The daemon must list each with
its state and reason and keep serving; enablements are validated by the
plugin field by field and audited; probes run on the thread pool under a
5 s timeout, at most 8 per plugin (2 per vendor); a hung plugin neither blocks the loop
nor the other plugins, nor the shutdown.  Finally examples/plugin-giftcard
is built against a temporary install of renewd with nothing but
`pkg-config renewd-plugin`, and loaded.
"""
import json
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import (BUILD, REPO, ApiClient, Daemon, api_user, assert_json_error, copy_store, demo_load,
                      http_request, raw_connect, renewctl, run_renewd_expect_failure)

PLUGIN_BUILD = BUILD / "tests" / "plugins"
PROBE_TIMEOUT = 5.0  # PROBE_TIMEOUT_MS in core/api/plugins.c
SLOW_SLEEP = 8.0     # tp-slow's default probe sleep (tests/plugins/tp_slow.c)
MAX_IN_FLIGHT = 2    # per plugin and vendor (MAX_VENDOR_IN_FLIGHT), core/plugin/host.c


def plugin_abi():
    m = re.search(r"#define RENEWD_PLUGIN_ABI (\d+)", (REPO / "include" / "renewd" / "plugin.h").read_text())
    assert m, "RENEWD_PLUGIN_ABI not found in include/renewd/plugin.h"
    return int(m.group(1))


ABI = plugin_abi()

# file -> (name in the registry, kind, version): the plugins that load.
GOOD = {
    "tp-good.so": ("tp-good", "payment", "1.2.3"),
    "tp-connector.so": ("tp-connector", "connector", "0.1.0"),
    "tp-branding.so": ("tp-branding", "branding", "0.1.0"),
    "tp-slow.so": ("tp-slow", "payment", "0.1.0"),
    "tp-failprobe.so": ("tp-failprobe", "payment", "0.1.0"),
}
# file -> (name in the registry, phrases the reason must contain): one per
# refusal.  Before the descriptor's name is known, the file name stands in.
REFUSED = {
    "tp-noentry.so": ("tp-noentry.so", ["no renewd_plugin_entry symbol", "RENEWD_PLUGIN_EXPORT"]),
    "tp-null.so": ("tp-null.so", ["renewd_plugin_entry() returned no descriptor"]),
    "tp-abi.so": ("tp-abi.so", [f"built for plugin ABI {ABI + 1}, this renewd is {ABI}", "rebuild"]),
    "tp-small.so": ("tp-small.so", ["its descriptor is", f"smaller than ABI {ABI}", "rebuild"]),
    "tp-badname.so": ("tp-badname.so", ["its name must be 1-63 characters of a-z, 0-9 and '-'"]),
    "tp-x-duplicate.so": ("tp-good", ["a plugin named tp-good is already loaded from", "tp-good.so"]),
    "tp-kind.so": ("tp-kind", ["unknown kind 9"]),
    "tp-opsver.so": ("tp-opsver", ["payment ops table is version 3", "knows version 2"]),
    "tp-initfail.so": ("tp-initfail", ["init failed: the tp-initfail licence file is missing"]),
}
PARTNER = 3  # RES-GOLD in the demo data


# ---- fixtures -----------------------------------------------------------------


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A stopped demo store with one API token per role (made once; each
    test copies it).  partner roles belong to partner 1 (DIST-NW)."""
    data = tmp_path_factory.mktemp("plugins-template") / "data"
    data.mkdir()
    demo_load(data)
    w = {"data": data, "tokens": {}, "ids": {}}
    for name, role, partner in [("admin", "vendor-admin", None), ("cm", "channel-manager", None),
                                ("vsales", "vendor-sales", None), ("padmin", "partner-admin", "1"),
                                ("psales", "partner-sales", "1")]:
        tok, uid = api_user(data, email=f"{name}@sentinel.example", role=role, partner=partner)
        w["tokens"][name], w["ids"][name] = tok, uid
    return w


@pytest.fixture
def plugin_dir(tmp_path):
    """A directory with copies of every test plugin."""
    missing = [f for f in list(GOOD) + list(REFUSED) if not (PLUGIN_BUILD / f).is_file()]
    if missing:
        pytest.fail(f"test plugins missing from {PLUGIN_BUILD}: {missing} (build them: ninja -C {BUILD})",
                    pytrace=False)
    d = tmp_path / "plugins"
    d.mkdir()
    for f in list(GOOD) + list(REFUSED):
        shutil.copy2(PLUGIN_BUILD / f, d / f)
    return d


class Setup:
    def __init__(self, d, world):
        self.d = d
        self.clients = {n: ApiClient(d, t, world["ids"][n]) for n, t in world["tokens"].items()}
        self.admin = self.clients["admin"]

    def plugins(self):
        doc = self.admin.ok("GET", "/api/v1/plugins", status=200)
        assert doc["next_cursor"] is None, doc
        return doc["items"]

    def by_origin(self):
        """Loaded from a file: keyed by the file name; built-ins by name."""
        return {(p["name"] if p["origin"] == "built-in" else Path(p["origin"]).name): p for p in self.plugins()}

    def plugin(self, name):
        (p,) = [p for p in self.plugins() if p["name"] == name and p["state"] == "loaded"]
        return p

    def enable(self, plugin, config, partner=None, status=None):
        body = {"config": config}
        if partner is not None:
            body["partner_id"] = partner
        r = self.admin.call("POST", f"/api/v1/plugins/{plugin}/enablements", body)
        if status is not None:
            assert r.status == status, f"enable {plugin} {body}: expected {status}: {r}"
        return r

    def probe(self, plugin, body=None, who="admin", timeout=30.0):
        return self.clients[who].call("POST", f"/api/v1/plugins/{plugin}/probe", body, timeout=timeout)


@pytest.fixture
def start(daemon, tmp_path, world, plugin_dir):
    """start(args=(), plugins=plugin_dir, shutdown_ms=300): renewd on a copy
    of the store."""
    n = [0]

    def go(args=(), plugins=plugin_dir, shutdown_ms=300):
        n[0] += 1
        data = copy_store(world["data"], tmp_path / f"data{n[0]}")
        d = daemon(data=data, args=["--plugin-dir", str(plugins), "--shutdown-timeout-ms", str(shutdown_ms), *args])
        return Setup(d, world)
    return go


@pytest.fixture(scope="module")
def spec_check():
    """check(method, route, response, errors): the response as
    docs/openapi.yaml documents it (test_openapi.py's validator)."""
    import yaml
    import test_openapi
    with open(REPO / "docs" / "openapi.yaml", encoding="utf-8") as f:
        spec = yaml.safe_load(f)

    def check(method, route, resp, errors):
        test_openapi.check_response(spec, method, route, resp, errors)
    return check


def wait_log(d, pattern, count=1, timeout=10.0):
    """Waits until the daemon's log has `count` matches of pattern."""
    deadline = time.monotonic() + timeout
    while True:
        n = len(re.findall(pattern, d.log()))
        if n >= count:
            return n
        assert time.monotonic() < deadline, f"{count} x {pattern!r} not in the log after {timeout} s:\n{d.log()}"
        assert d.running(), f"renewd died:\n{d.log()}"
        time.sleep(0.01)


def timed(fn, *a, **kw):
    t0 = time.monotonic()
    r = fn(*a, **kw)
    return r, time.monotonic() - t0


# ---- the loader --------------------------------------------------------------------


def test_loaded_and_refused_plugins_are_listed_with_reasons(start, plugin_dir):
    s = start()
    d = s.d
    items = s.plugins()
    got = s.by_origin()
    builtins = [p for p in items if p["origin"] == "built-in"]
    assert {"payment-po", "payment-bml"} <= {p["name"] for p in builtins}, builtins
    assert all(p["state"] == "loaded" and p["reason"] is None for p in builtins), builtins
    assert len(items) == len(builtins) + len(GOOD) + len(REFUSED), [p["name"] for p in items]
    for f, (name, kind, version) in GOOD.items():
        p = got[f]
        assert (p["name"], p["kind"], p["version"], p["state"]) == (name, kind, version, "loaded"), p
        assert p["reason"] is None and p["last_error"] is None, p
        assert isinstance(p["description"], str) and p["description"], p
        assert p["origin"] == str(plugin_dir / f), p
        assert ("options" in p) == (f in ("tp-good.so", "tp-slow.so")), p  # payment plugins with an ops table
    assert got["tp-good.so"]["options"] == ["tp_card"]
    assert {"payment", "branding", "connector"} <= {p["kind"] for p in items if p["state"] == "loaded"}
    for f, (name, phrases) in REFUSED.items():
        p = got[f]
        assert (p["name"], p["state"]) == (name, "refused"), p
        for phrase in phrases:
            assert phrase in p["reason"], f"{f}: {phrase!r} not in {p['reason']!r}"
        assert p["description"] is None and "options" not in p, p
        assert f"refused {name} ({p['origin']}): " in d.log(), f"no log line for {f}"
    # one loaded plugin per name: the duplicate did not replace tp-good
    loaded = [p["name"] for p in items if p["state"] == "loaded"]
    assert len(loaded) == len(set(loaded)), loaded
    assert got["tp-good.so"]["version"] == "1.2.3"
    # refused plugins are not addressable; the daemon keeps serving
    for name in ("tp-initfail", "tp-kind", "tp-opsver", "no-such-plugin"):
        assert_json_error(s.admin.call("GET", f"/api/v1/plugins/{name}/enablements"), 404, "not_found")
    assert http_request(d.port, "GET", "/healthz").status == 200
    assert d.running()
    # a clean stop: deinit for what initialised (tp-initfail's deinit aborts)
    d.stop()
    assert "tp-good deinit" in d.log(), d.log()
    assert "abandoned" not in d.log()


def test_renewctl_lists_plugins_and_manages_enablements(tmp_path, world, plugin_dir, daemon):
    data = copy_store(world["data"], tmp_path / "data")
    p = renewctl("plugins", "--plugin-dir", plugin_dir, data=data)
    assert p.returncode == 1, f"renewctl plugins should exit 1 when a plugin is refused:\n{p.stdout}\n{p.stderr}"
    lines = p.stdout.splitlines()
    assert lines[0].split()[:4] == ["name", "version", "kind", "state"], lines[0]
    for f, (name, kind, version) in GOOD.items():
        assert any(ln.split()[:4] == [name, version, kind, "loaded"] and ln.endswith(str(plugin_dir / f))
                   for ln in lines), f"{f} not listed as loaded:\n{p.stdout}"
    for f, (name, phrases) in REFUSED.items():
        line = [ln for ln in lines if ln.startswith(name + " ") and "refused" in ln and phrases[0] in ln]
        assert len(line) == 1, f"{f} not listed as refused ({phrases[0]!r}):\n{p.stdout}"
        assert all(ph in line[0] for ph in phrases), line
    assert len(lines) == 1 + len(GOOD) + len(REFUSED) + sum("built-in" in ln for ln in lines), p.stdout
    # only good plugins, or none: exit 0
    good_only = tmp_path / "good-only"
    good_only.mkdir()
    for f in GOOD:
        shutil.copy2(plugin_dir / f, good_only / f)
    for args in (("plugins",), ("plugins", "--plugin-dir", good_only)):
        p = renewctl(*args, data=data)
        assert p.returncode == 0 and "refused" not in p.stdout, (args, p.stdout, p.stderr)
        assert "payment-po" in p.stdout

    def ctl(*args):
        return renewctl("plugin", *args, data=data)
    en = ("enable", "--vendor", "sentinel", "--plugin", "tp-good", "--plugin-dir", plugin_dir)
    p = ctl(*en, "--config", '{"account": 5, "limit": -1, "colour": "red"}')
    assert p.returncode == 1, p
    for field in ("account", "limit", "colour"):
        assert re.search(rf"^  {field}: \S", p.stderr, re.M), p.stderr
    p = ctl("enable", "--vendor", "sentinel", "--plugin", "tp-good", "--config", '{"account": "A"}')
    assert p.returncode == 1 and "no loaded plugin named tp-good" in p.stderr, p  # no --plugin-dir
    p = ctl(*en, "--config", '{"account": "CLI-1"}')
    assert p.returncode == 0 and "enabled for the vendor" in p.stdout, p
    p = ctl(*en, "--config", '{"account": "CLI-2"}')
    assert p.returncode == 0 and "re-enabled" in p.stdout, p
    p = ctl(*en, "--partner", PARTNER, "--config", '{"account": "CLI-P"}')
    assert p.returncode == 0 and "enabled for the partner" in p.stdout, p
    p = ctl(*en, "--partner", 999, "--config", '{"account": "CLI-P"}')
    assert p.returncode == 1 and "--partner names no partner" in p.stderr, p
    p = ctl("enablements", "--vendor", "sentinel")
    assert p.returncode == 0, p
    rows = [ln.split(None, 3) for ln in p.stdout.splitlines()]
    assert sorted((r[1], r[2]) for r in rows) == [("tp-good", "partner"), ("tp-good", "vendor-wide")], p.stdout
    p = ctl("disable", "--vendor", "sentinel", "--plugin", "tp-good")
    assert p.returncode == 0 and "disabled" in p.stdout, p
    p = ctl("disable", "--vendor", "sentinel", "--plugin", "tp-good")
    assert p.returncode == 1 and "not enabled" in p.stderr, p
    # what renewctl did, the API sees (made by the operator: user_id null)
    d = daemon(data=data, args=["--plugin-dir", str(plugin_dir)])
    admin = ApiClient(d, world["tokens"]["admin"])
    (e,) = admin.ok("GET", "/api/v1/plugins/tp-good/enablements", status=200)["items"]
    assert (e["partner_id"], e["config"], e["user_id"]) == (PARTNER, {"account": "CLI-P"}, None), e
    audit = admin.ok("GET", "/api/v1/audit?object=enablements&limit=500", status=200)["items"]
    assert [a["action"] for a in audit] == ["create", "update", "create", "delete"], audit
    assert all(a["user_id"] is None for a in audit), audit
    d.stop()


# ---- enablements -------------------------------------------------------------------


def test_enablements_are_validated_by_the_plugin_and_audited(start):
    s = start()
    admin, uid = s.admin, s.admin.user_id
    base = "/api/v1/plugins/tp-good/enablements"
    assert admin.ok("GET", base, status=200) == {"items": [], "next_cursor": None}

    # vendor-wide: 201, then 200 when replaced (same id)
    e1 = s.enable("tp-good", {"account": "ACME-1"}, status=201).json()
    assert (e1["plugin"], e1["partner_id"], e1["config"], e1["user_id"]) == ("tp-good", None, {"account": "ACME-1"},
                                                                            uid), e1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", e1["enabled_at"]), e1
    r = s.enable("tp-good", {"account": "ACME-1", "limit": 5000}, status=200)
    assert r.json()["id"] == e1["id"] and r.json()["config"] == {"account": "ACME-1", "limit": 5000}, r
    # one partner: its own enablement beside the vendor's
    e2 = s.enable("tp-good", {"account": "GOLD"}, partner=PARTNER, status=201).json()
    assert e2["partner_id"] == PARTNER and e2["id"] != e1["id"], e2
    r = s.enable("tp-good", {"account": "GOLD-2"}, partner=PARTNER, status=200)
    assert r.json()["id"] == e2["id"], r
    # partner_id null is the vendor-wide one
    r = s.enable("tp-good", {"account": "ACME-2"}, partner=None, status=200)
    assert r.json()["id"] == e1["id"]
    r = admin.call("POST", base, {"config": {"account": "ACME-3"}, "partner_id": None})
    assert r.status == 200 and r.json()["id"] == e1["id"], r

    # an invalid configuration: 422, each bad field named; nothing stored
    r = s.enable("tp-good", {"account": 5, "limit": -1, "colour": "red"})
    err = r.json()["error"]
    assert r.status == 422 and err["code"] == "invalid_config", r
    assert "plugin tp-good: configure" in err["message"], err
    assert sorted(f["field"] for f in err["fields"]) == ["account", "colour", "limit"], err
    assert all(isinstance(f["message"], str) and f["message"] for f in err["fields"]), err
    assert err["field"] in {"account", "colour", "limit"}, err
    r = s.enable("tp-good", {"limit": 5}, partner=PARTNER)
    assert r.status == 422 and [(f["field"], f["message"]) for f in r.json()["error"]["fields"]] == \
        [("account", "is required")], r
    r = s.enable("tp-connector", {"endpoint": "http://plain.example"})
    assert r.status == 422 and [f["field"] for f in r.json()["error"]["fields"]] == ["endpoint"], r
    # malformed requests: 400 naming the field
    for body, field in [({"config": []}, "config"), ({}, "config"), ({"config": {}, "partner_id": "3"}, "partner_id"),
                        ({"config": {}, "partner_id": 0}, "partner_id"), ({"config": {}, "colour": 1}, "colour"),
                        ({"config": {"account": "X"}, "partner_id": 99999}, "partner_id")]:
        err = assert_json_error(admin.call("POST", base, body), 400)
        assert err["field"] == field, (body, err)
    assert_json_error(admin.call("POST", base, b"{nope", {"Content-Type": "application/json"}), 400, "bad_json")
    # unknown (or refused) plugins: 404
    for name in ("no-such-plugin", "tp-initfail"):
        err = assert_json_error(admin.call("POST", f"/api/v1/plugins/{name}/enablements", {"config": {}}), 404,
                                "not_found")
        assert name in err["message"], err
    items = admin.ok("GET", base, status=200)["items"]
    assert sorted((e["id"], e["partner_id"]) for e in items) == sorted([(e1["id"], None), (e2["id"], PARTNER)]), items
    assert {e["id"]: e["config"] for e in items} == {e1["id"]: {"account": "ACME-3"}, e2["id"]: {"account": "GOLD-2"}}

    # a plugin without configure takes any object
    e3 = s.enable("tp-branding", {"anything": [1, 2]}, status=201).json()

    # disable: 204, then 404; an id of another plugin's enablement is not this plugin's
    assert_json_error(admin.call("DELETE", f"{base}/{e3['id']}"), 404, "not_found")
    assert_json_error(admin.call("DELETE", f"{base}/abc"), 404, "not_found")
    r = admin.call("DELETE", f"{base}/{e2['id']}")
    assert r.status == 204 and r.body == b"", r
    assert_json_error(admin.call("DELETE", f"{base}/{e2['id']}"), 404, "not_found")
    assert [e["id"] for e in admin.ok("GET", base, status=200)["items"]] == [e1["id"]]
    assert_json_error(admin.call("DELETE", f"/api/v1/plugins/no-such-plugin/enablements/{e1['id']}"), 404)

    # every change is in the audit log, before and after
    audit = admin.ok("GET", "/api/v1/audit?object=enablements&limit=500", status=200)["items"]
    got = [(a["action"], a["object_id"], (a["before"] or {}).get("config"), (a["after"] or {}).get("config"))
           for a in audit]
    assert got == [
        ("create", e1["id"], None, {"account": "ACME-1"}),
        ("update", e1["id"], {"account": "ACME-1"}, {"account": "ACME-1", "limit": 5000}),
        ("create", e2["id"], None, {"account": "GOLD"}),
        ("update", e2["id"], {"account": "GOLD"}, {"account": "GOLD-2"}),
        ("update", e1["id"], {"account": "ACME-1", "limit": 5000}, {"account": "ACME-2"}),
        ("update", e1["id"], {"account": "ACME-2"}, {"account": "ACME-3"}),
        ("create", e3["id"], None, {"anything": [1, 2]}),
        ("delete", e2["id"], {"account": "GOLD-2"}, None),
    ], audit
    assert all(a["user_id"] == uid and a["object"] == "enablements" for a in audit), audit
    assert audit[-1]["note"] == "disabled" and "for a partner" in audit[2]["note"], audit
    s.d.stop()


def test_roles(start):
    s = start()
    base = "/api/v1/plugins/tp-good/enablements"
    e = s.enable("tp-good", {"account": "ACME-1"}, status=201).json()
    audit_before = len(s.admin.ok("GET", "/api/v1/audit?limit=500", status=200)["items"])
    cm = s.clients["cm"]
    # the channel manager reads, and only reads
    assert [p["name"] for p in cm.ok("GET", "/api/v1/plugins", status=200)["items"]] == [p["name"] for p in s.plugins()]
    assert cm.ok("GET", base, status=200)["items"] == [e]
    assert_json_error(cm.call("POST", base, {"config": {"account": "CM"}}), 403, "forbidden")
    assert_json_error(cm.call("DELETE", f"{base}/{e['id']}"), 403, "forbidden")
    assert_json_error(cm.call("POST", "/api/v1/plugins/tp-good/probe"), 403, "forbidden")
    # vendor sales and partner roles: nothing
    for who in ("vsales", "padmin", "psales"):
        c = s.clients[who]
        assert_json_error(c.call("GET", "/api/v1/plugins"), 403, "forbidden")
        assert_json_error(c.call("GET", base), 403, "forbidden")
        assert_json_error(c.call("POST", base, {"config": {"account": "P"}, "partner_id": 1}), 403, "forbidden")
        assert_json_error(c.call("DELETE", f"{base}/{e['id']}"), 403, "forbidden")
        assert_json_error(c.call("POST", "/api/v1/plugins/tp-good/probe"), 403, "forbidden")
    # no credentials
    assert_json_error(http_request(s.d.port, "GET", "/api/v1/plugins"), 401, "unauthenticated")
    assert_json_error(http_request(s.d.port, "POST", "/api/v1/plugins/tp-good/probe"), 401, "unauthenticated")
    # nothing changed
    assert s.admin.ok("GET", base, status=200)["items"] == [e]
    assert len(s.admin.ok("GET", "/api/v1/audit?limit=500", status=200)["items"]) == audit_before
    s.d.stop()


# ---- probes ---------------------------------------------------------------------------


def test_probe_answers_fails_and_follows_the_configuration_in_force(start):
    s = start()
    d = s.d
    err = assert_json_error(s.probe("tp-good"), 409, "not_enabled")
    assert "tp-good" in err["message"], err
    s.enable("tp-good", {"account": "ACME-1"}, status=201)
    for _ in range(3):  # tp-good's probe counts itself with kv_get/kv_put (from the thread pool)
        r = s.probe("tp-good")
        assert r.status == 200 and r.json() == {"ok": True, "plugin": "tp-good", "message": "the plugin answered"}, r
    # a partner without its own enablement runs under the vendor's
    r = s.probe("tp-good", {"partner_id": PARTNER})
    assert r.status == 200, r
    r = s.probe("tp-good", {"partner_id": None})
    assert r.status == 200, r
    for body, field in (({"colour": 1}, "colour"), ({"partner_id": "3"}, "partner_id"), ({"partner_id": 3, "x": 1}, "x")):
        assert assert_json_error(s.probe("tp-good", body), 400, "invalid")["field"] == field, body
    assert_json_error(s.admin.call("POST", "/api/v1/plugins/tp-good/probe", b"[1", {"Content-Type": "application/json"}),
                      400, "bad_json")
    assert_json_error(s.probe("no-such-plugin"), 404, "not_found")
    assert_json_error(s.probe("tp-initfail"), 404, "not_found")

    # a failing probe: 502 with the plugin's own words, kept as its last error
    s.enable("tp-failprobe", {}, status=201)
    err = assert_json_error(s.probe("tp-failprobe"), 502, "plugin_failed")
    assert "tp-failprobe" in err["message"] and "the tp-failprobe gateway answered 503" in err["message"], err
    assert s.plugin("tp-failprobe")["last_error"] == "the tp-failprobe gateway answered 503"
    assert s.plugin("tp-good")["last_error"] is None

    # the partner's own configuration wins over the vendor's: tp-slow sleeps
    # for 60 s vendor-wide but 0 ms for this partner
    s.enable("tp-slow", {"sleep_ms": 60000}, status=201)
    s.enable("tp-slow", {"sleep_ms": 0}, partner=PARTNER, status=201)
    r, secs = timed(s.probe, "tp-slow", {"partner_id": PARTNER})
    assert r.status == 200 and secs < PROBE_TIMEOUT, (r, secs)
    assert "probe sleeps 0 ms" in d.log() and "probe sleeps 60000 ms" not in d.log()

    # a client that goes away while its probe runs: the answer is dropped,
    # the daemon carries on (under ASan: nothing touches the freed request)
    s.enable("tp-slow", {"sleep_ms": 1000}, partner=1, status=201)
    body = b'{"partner_id": 1}'
    sock = raw_connect(d.port)
    sock.sendall(b"POST /api/v1/plugins/tp-slow/probe HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                 + s.admin.token.encode() + b"\r\nContent-Type: application/json\r\nContent-Length: "
                 + str(len(body)).encode() + b"\r\n\r\n" + body)
    wait_log(d, r"probe sleeps 1000 ms")
    sock.close()
    r, secs = timed(s.probe, "tp-slow", {"partner_id": 1})  # runs beside the orphaned call
    assert r.status == 200 and 0.9 < secs < PROBE_TIMEOUT, (r, secs)
    assert wait_log(d, r"probe sleeps 1000 ms", 2) == 2
    time.sleep(0.2)
    assert d.running() and http_request(d.port, "GET", "/healthz").status == 200
    d.stop()
    assert "abandoned" not in d.log()


def test_slow_probe_times_out_while_the_daemon_serves(start, spec_check):
    """Hung probes of tp-slow, as many as one vendor may have in flight
    (2): each answers 504 after the 5 s timeout (before the plugin's 8 s
    sleep ends); meanwhile /healthz, the API and the other plugins answer at
    once, and one more probe of tp-slow is refused 503.  SIGTERM then stops the daemon within its shutdown
    timeout, abandoning the calls still running."""
    s = start(shutdown_ms=300)
    d = s.d
    errors = []
    s.enable("tp-slow", {}, status=201)  # default: sleeps 8 s
    s.enable("tp-good", {"account": "ACME-1"}, status=201)
    results = [None] * MAX_IN_FLIGHT

    def slow(i):
        results[i] = timed(s.probe, "tp-slow", None, "admin", 30.0)

    t0 = time.monotonic()
    threads = [threading.Thread(target=slow, args=(i,), daemon=True) for i in range(MAX_IN_FLIGHT)]
    for t in threads:
        t.start()
    wait_log(d, r"probe sleeps 8000 ms", MAX_IN_FLIGHT, timeout=4.0)  # all of them run on the pool

    # one more: refused at once
    r, secs = timed(s.probe, "tp-slow")
    assert_json_error(r, 503, "plugin_busy")
    assert secs < 1.0, secs
    spec_check("POST", "/api/v1/plugins/{name}/probe", r, errors)
    # the loop, the API and the other plugins are not held up
    r, secs = timed(s.probe, "tp-good")
    assert r.status == 200 and secs < 2.0, (r, secs)
    r, secs = timed(s.admin.call, "GET", "/api/v1/plugins")
    assert r.status == 200 and secs < 1.0, (r, secs)
    health = []
    while any(t.is_alive() for t in threads):
        r, secs = timed(http_request, d.port, "GET", "/healthz", timeout=5.0)
        assert r.status == 200, r
        health.append(secs)
        assert time.monotonic() - t0 < SLOW_SLEEP + 5, "the slow probes did not answer"
        time.sleep(0.05)
    for t in threads:
        t.join(5)
    assert len(health) >= 20, f"only {len(health)} /healthz samples during the wait"
    assert max(health) < 0.5, f"/healthz took up to {max(health):.3f} s while plugins hung"

    for r, secs in results:
        err = assert_json_error(r, 504, "plugin_timeout")
        assert f"within {int(PROBE_TIMEOUT * 1000)} ms" in err["message"], err
        assert PROBE_TIMEOUT - 0.2 <= secs < SLOW_SLEEP - 0.5, f"answered after {secs:.2f} s"
        spec_check("POST", "/api/v1/plugins/{name}/probe", r, errors)
    assert s.plugin("tp-slow")["last_error"] == "a call timed out"
    assert s.plugin("tp-good")["last_error"] is None
    # the timed-out calls still hold their threads until they return
    assert time.monotonic() - t0 < SLOW_SLEEP - 1.0
    assert_json_error(s.probe("tp-slow"), 503, "plugin_busy")

    # SIGTERM: the daemon waits --shutdown-timeout-ms for the calls, then leaves them
    t1 = time.monotonic()
    d.stop()
    stopped = time.monotonic()
    assert stopped - t1 < 3.0, f"SIGTERM took {stopped - t1:.2f} s"
    assert stopped - t0 < SLOW_SLEEP, "the daemon waited for the hung calls to end"
    assert f"{MAX_IN_FLIGHT} plugin call(s) or mail deliveries still running are abandoned" in d.log(), d.log()
    assert not errors, "\n".join(errors)


def test_shutdown_waits_for_a_call_within_its_timeout(start):
    s = start(shutdown_ms=5000)
    d = s.d
    s.enable("tp-slow", {"sleep_ms": 1500}, status=201)
    out = []
    t = threading.Thread(target=lambda: out.append(s.probe("tp-slow")), daemon=True)
    t.start()
    wait_log(d, r"probe sleeps 1500 ms")
    t1 = time.monotonic()
    d.stop()
    secs = time.monotonic() - t1
    t.join(5)
    assert 0.5 < secs < 5.0, f"stopped {secs:.2f} s after SIGTERM"
    assert "abandoned" not in d.log() and "tp-good deinit" in d.log(), d.log()
    assert out and out[0].status == 200, out


# ---- an out-of-tree plugin ------------------------------------------------------------------


def test_giftcard_builds_out_of_tree_against_the_installed_header(start, tmp_path):
    dest = tmp_path / "inst"
    p = subprocess.run(["meson", "install", "-C", str(BUILD), "--destdir", str(dest), "--no-rebuild"],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, (f"meson install --no-rebuild failed (it needs every installed target built: "
                               f"ninja -C {BUILD}):\n{p.stdout}\n{p.stderr}")
    prefix = dest / "usr" / "local"
    for h in ("plugin.h", "errors.h"):
        assert (prefix / "include" / "renewd" / h).is_file(), f"{h} was not installed under {prefix}"
    pcs = list(dest.rglob("renewd-plugin.pc"))
    assert len(pcs) == 1 and prefix in pcs[0].parents, pcs
    env = {k: v for k, v in os.environ.items()
           if k not in ("CPATH", "C_INCLUDE_PATH", "CFLAGS", "CPPFLAGS", "PKG_CONFIG_LIBDIR", "PKG_CONFIG_SYSROOT_DIR")}
    env["PKG_CONFIG_PATH"] = str(pcs[0].parent)

    def sh(cmd, cwd):
        return subprocess.run(["sh", "-c", cmd], cwd=cwd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=120)

    p = sh("pkg-config --define-prefix --cflags renewd-plugin", tmp_path)
    assert p.returncode == 0 and f"-I{prefix}/include" in p.stdout.split(), (p.stdout, p.stderr)
    assert str(REPO) not in p.stdout, p.stdout
    p = sh("pkg-config --variable=plugin_abi renewd-plugin", tmp_path)
    assert p.stdout.strip() == str(ABI), p

    # the build, exactly as examples/plugin-giftcard/README.md has it, in a clean directory
    src = tmp_path / "giftcard-src"
    src.mkdir()
    shutil.copy2(REPO / "examples" / "plugin-giftcard" / "giftcard.c", src / "giftcard.c")
    p = sh("cc -shared -fPIC -O2 $(pkg-config --define-prefix --cflags renewd-plugin) -o giftcard.so giftcard.c "
           "$(pkg-config --cflags --libs jansson)", src)
    assert p.returncode == 0 and (src / "giftcard.so").is_file(), f"the build failed:\n{p.stderr}"
    # it saw the installed headers and nothing of the source tree
    p = sh("cc -M $(pkg-config --define-prefix --cflags renewd-plugin) giftcard.c $(pkg-config --cflags jansson)", src)
    assert p.returncode == 0, p.stderr
    deps = p.stdout.replace("\\\n", " ").split()
    ours = [x for x in deps if "/renewd/" in x]
    assert sorted(Path(x).name for x in ours) == ["errors.h", "plugin.h"], deps
    assert all((src / x).resolve().is_relative_to(prefix.resolve()) for x in ours), ours
    assert not [x for x in deps if (src / x).resolve().is_relative_to(REPO.resolve())], deps
    (src / "peek.c").write_text('#include "plugin/host.h"\n')
    p = sh("cc -c -o peek.o $(pkg-config --define-prefix --cflags renewd-plugin) peek.c", src)
    assert p.returncode != 0 and "plugin/host.h" in p.stderr, "core/ headers are visible to a plugin build"

    pdir = tmp_path / "giftcard-plugins"
    pdir.mkdir()
    shutil.copy2(src / "giftcard.so", pdir / "giftcard.so")
    s = start(plugins=pdir)
    gc = s.plugin("giftcard")
    assert (gc["kind"], gc["version"], gc["options"], gc["origin"]) == \
        ("payment", "0.1.0", ["gift_card"], str(pdir / "giftcard.so")), gc
    assert [p["name"] for p in s.plugins() if p["state"] != "loaded"] == []
    r = s.enable("giftcard", {"currency": "GBP", "balances": {"GC-1": 5000}}, status=201)
    assert r.json()["config"] == {"currency": "GBP", "balances": {"GC-1": 5000}}, r
    r = s.enable("giftcard", {"currency": "POUNDS", "balances": {"GC-1": -5, "GC-2": "x"}, "colour": "red"})
    err = r.json()["error"]
    assert r.status == 422 and err["code"] == "invalid_config", r
    assert sorted(f["field"] for f in err["fields"]) == ["balances", "balances", "colour", "currency"], err
    msgs = " ".join(f["message"] for f in err["fields"])
    assert "GC-1" in msgs and "GC-2" in msgs and "ISO 4217" in msgs, err
    r = s.enable("giftcard", {"balances": []})
    assert r.status == 422 and [f["field"] for f in r.json()["error"]["fields"]] == ["balances"], r
    # the good configuration stayed
    (e,) = s.admin.ok("GET", "/api/v1/plugins/giftcard/enablements", status=200)["items"]
    assert e["config"] == {"currency": "GBP", "balances": {"GC-1": 5000}}, e
    r = s.probe("giftcard")
    assert r.status == 200 and r.json()["plugin"] == "giftcard", r
    s.d.stop()


# ---- the document ----------------------------------------------------------------------------


def test_plugin_answers_match_the_openapi_document(start, spec_check):
    """Every status the plugin routes answer here has the documented shape
    (504 and 503 are checked by the slow-probe test)."""
    s = start()
    errors = []
    admin, cm = s.admin, s.clients["cm"]
    base = "/api/v1/plugins/{name}/enablements"
    calls = [
        (admin, "GET", "/api/v1/plugins", "/api/v1/plugins", None, 200),
        (cm, "POST", "/api/v1/plugins/tp-good/enablements", base, {"config": {"account": "A"}}, 403),
        (admin, "POST", "/api/v1/plugins/tp-good/enablements", base, {"config": {"account": "A"}}, 201),
        (admin, "POST", "/api/v1/plugins/tp-good/enablements", base, {"config": {"account": "B"}}, 200),
        (admin, "POST", "/api/v1/plugins/tp-good/enablements", base, {"config": {"account": "B"}, "partner_id": PARTNER},
         201),
        (admin, "POST", "/api/v1/plugins/tp-good/enablements", base, {"config": {"account": 1}}, 422),
        (admin, "POST", "/api/v1/plugins/tp-good/enablements", base, {"config": 1}, 400),
        (admin, "POST", "/api/v1/plugins/nope/enablements", base, {"config": {}}, 404),
        (admin, "GET", "/api/v1/plugins/tp-good/enablements", base, None, 200),
        (admin, "GET", "/api/v1/plugins/nope/enablements", base, None, 404),
        (admin, "POST", "/api/v1/plugins/tp-good/probe", "/api/v1/plugins/{name}/probe", None, 200),
        (admin, "POST", "/api/v1/plugins/tp-good/probe", "/api/v1/plugins/{name}/probe", {"partner_id": PARTNER}, 200),
        (admin, "POST", "/api/v1/plugins/tp-good/probe", "/api/v1/plugins/{name}/probe", {"x": 1}, 400),
        (admin, "POST", "/api/v1/plugins/tp-failprobe/probe", "/api/v1/plugins/{name}/probe", None, 409),
        (admin, "POST", "/api/v1/plugins/tp-failprobe/enablements", base, {"config": {}}, 201),
        (admin, "POST", "/api/v1/plugins/tp-failprobe/probe", "/api/v1/plugins/{name}/probe", None, 502),
        (admin, "POST", "/api/v1/plugins/nope/probe", "/api/v1/plugins/{name}/probe", None, 404),
    ]
    for client, method, url, route, body, status in calls:
        r = client.call(method, url, body)
        assert r.status == status, f"{method} {url}: expected {status}: {r}"
        spec_check(method, route, r, errors)
    items = admin.ok("GET", "/api/v1/plugins/tp-good/enablements", status=200)["items"]
    route = "/api/v1/plugins/{name}/enablements/{id}"
    for url, status in [(f"/api/v1/plugins/tp-good/enablements/{items[0]['id']}", 204),
                        (f"/api/v1/plugins/tp-good/enablements/{items[0]['id']}", 404)]:
        r = admin.call("DELETE", url)
        assert r.status == status, r
        spec_check("DELETE", route, r, errors)
    r = cm.call("DELETE", f"/api/v1/plugins/tp-good/enablements/{items[1]['id']}")
    assert r.status == 403, r
    spec_check("DELETE", route, r, errors)
    r = admin.call("PUT", "/api/v1/plugins")
    assert r.status == 405, r
    spec_check("GET", "/api/v1/plugins", r, errors)
    assert not errors, "\n".join(errors)
    s.d.stop()


def test_an_enabled_plugin_missing_at_start_is_logged(daemon, tmp_path):
    """A vendor's enablement of a plugin that is not loaded at start (the
    plugin directory moved or mistyped, the .so removed at an upgrade): renewd
    serves every other vendor, and its log names the vendor and the plugin
    at start, where the operator looks (it said nothing: the first to see it
    was a customer whose payment option was refused)."""
    data = tmp_path / "data"
    data.mkdir()
    demo_load(data)
    pdir = tmp_path / "plugins"
    pdir.mkdir()
    shutil.copy(PLUGIN_BUILD / "tp-good.so", pdir / "tp-good.so")
    renewctl("--plugin-dir", pdir, "plugin", "enable", "--vendor", "sentinel", "--plugin", "tp-good", "--config",
             '{"account": "acct-1"}', data=data, check=True)
    d = daemon(data=data, args=["--plugin-dir", str(pdir)])
    assert "not loaded" not in d.log()
    d.stop()
    (pdir / "tp-good.so").unlink()
    d = daemon(data=data, args=["--plugin-dir", str(pdir)])
    assert d.get("/healthz").status == 200
    line = [x for x in d.log().splitlines() if "tp-good" in x and "not loaded" in x]
    assert len(line) == 1 and "level=warn" in line[0] and "sentinel" in line[0], d.log()[-3000:]
    d.stop()


def test_a_plugin_whose_init_hangs_is_refused_and_renewd_starts(daemon, tmp_path, world):
    """A plugin whose init never returns (a licence server that does not
    answer, a deadlock): renewd and `renewctl plugins` hung at start with
    nothing in the log to say which plugin; now its init gets 5 s, then the
    plugin is refused with that reason and every other plugin loads."""
    pdir = tmp_path / "plugins"
    pdir.mkdir()
    for f in ("tp-good.so", "tp-inithang.so"):
        shutil.copy(PLUGIN_BUILD / f, pdir / f)
    data = copy_store(world["data"], tmp_path / "data")
    t0 = time.monotonic()
    p = renewctl("plugins", "--plugin-dir", pdir, data=data, timeout=30)
    assert time.monotonic() - t0 < 20
    assert p.returncode == 1, p
    (line,) = [x for x in p.stdout.splitlines() if x.startswith("tp-inithang")]
    assert "refused" in line and "init did not return within 5 s" in line, p.stdout
    assert re.search(r"^tp-good\s.*loaded", p.stdout, re.M), p.stdout
    d = daemon(data=data, args=["--plugin-dir", str(pdir), "--shutdown-timeout-ms", "20000"])
    s = Setup(d, world)
    by = {x["name"]: x for x in s.plugins()}
    assert by["tp-good"]["state"] == "loaded"
    assert by["tp-inithang"]["state"] == "refused"
    assert "init did not return within 5 s" in by["tp-inithang"]["reason"]
    assert "tp-inithang" in d.log() and "init did not return" in d.log()
    # a stop does not wait out its shutdown timeout for the init given up on (nothing to wait for)
    t0 = time.monotonic()
    d.stop()
    assert time.monotonic() - t0 < 10, "the stop waited for an init given up on at start"


def test_a_plugin_that_crashes_in_init_is_named(daemon, tmp_path, world):
    """A plugin that crashes in init takes the process with it (it runs in
    renewd's address space), but the operator must learn which file it was:
    renewd and renewctl died with a bare "Segmentation fault"."""
    pdir = tmp_path / "plugins"
    pdir.mkdir()
    for f in ("tp-good.so", "tp-initcrash.so"):
        shutil.copy(PLUGIN_BUILD / f, pdir / f)
    data = copy_store(world["data"], tmp_path / "data")
    p = renewctl("plugins", "--plugin-dir", pdir, data=data, timeout=30)
    assert p.returncode != 0
    assert str(pdir / "tp-initcrash.so") in p.stderr and "crashed" in p.stderr, p.stderr
    rc, err = run_renewd_expect_failure(["--data", data, "--listen", "127.0.0.1:0", "--plugin-dir", pdir])
    assert rc != 0
    assert str(pdir / "tp-initcrash.so") in err and "crashed" in err, err[-2000:]


def test_the_descriptor_example_of_the_docs_builds_and_passes_the_kit(tmp_path):
    """docs/plugins.md's first example is what a newcomer copies: it must
    compile as it stands (it called snprintf without <stdio.h>: a warning
    with GCC 12, an error with GCC 14) and pass renewd-plugin-check."""
    text = (REPO / "docs" / "plugins.md").read_text()
    m = re.search(r"### The descriptor.*?```c\n(.*?)```", text, re.S)
    assert m, "docs/plugins.md: no C example under 'The descriptor'"
    src = tmp_path / "net-terms.c"
    src.write_text(m.group(1))
    so = tmp_path / "net-terms.so"
    p = subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-Wall", "-Werror=implicit-function-declaration",
                        "-Werror=builtin-declaration-mismatch", "-fvisibility=hidden", f"-I{REPO / 'include'}",
                        "-Wl,-z,defs", "-o", str(so), str(src)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    p = subprocess.run([str(BUILD / "tests" / "plugin-contract" / "renewd-plugin-check"), "--kind", "payment",
                        str(so)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr


def test_the_kit_calls_a_connectors_send(tmp_path):
    """docs/plugins.md says renewd-plugin-check exercises every connector op,
    but it never called send: a connector writing its reference past the
    64 bytes renewd hands in passed every check.  It now sends an order
    and a functional acknowledgement as renewd does."""
    kit = BUILD / "tests" / "plugin-contract" / "renewd-plugin-check"
    p = subprocess.run([str(kit), str(PLUGIN_BUILD / "tp-badsend.so")], capture_output=True, text=True, timeout=120)
    assert p.returncode == 1, p.stdout + p.stderr
    assert re.search(r'^FAIL\s+send: send\("order"\) wrote past the reference', p.stdout, re.M), p.stdout


def test_renewctl_plugins_fails_on_a_plugin_directory_it_cannot_read(tmp_path, world):
    """`renewctl plugins --plugin-dir DIR` is the operator's check before a
    restart (docs/plugins.md: exit 1 if any is refused); a mistyped or
    missing DIR listed the built-ins and exited 0, as if all was well."""
    data = copy_store(world["data"], tmp_path / "data")
    p = renewctl("plugins", "--plugin-dir", tmp_path / "no-such-dir", data=data)
    assert p.returncode == 1, p
    assert f"plugin directory {tmp_path / 'no-such-dir'} cannot be read: No such file or directory" in p.stderr, p.stderr
    assert "payment-po" in p.stdout  # the built-ins are still listed
    empty = tmp_path / "empty"
    empty.mkdir()
    p = renewctl("plugins", "--plugin-dir", empty, data=data)
    assert p.returncode == 0, p


def test_every_file_of_a_large_plugin_directory_is_listed(tmp_path, world):
    """The loader took at most 512 files, in readdir's order (not the
    name order it loads in): the rest were not loaded, not refused, not
    mentioned.  Every *.so is now listed."""
    data = copy_store(world["data"], tmp_path / "data")
    pdir = tmp_path / "many"
    pdir.mkdir()
    for i in range(600):
        shutil.copy(PLUGIN_BUILD / "tp-null.so", pdir / f"tp-null-{i:03d}.so")
    p = renewctl("plugins", "--plugin-dir", pdir, data=data, timeout=120)
    listed = re.findall(r"^tp-null-(\d{3})\.so\s", p.stdout, re.M)
    assert len(listed) == 600, (len(listed), p.stdout[-500:])


def test_an_order_connectors_inbound_dir_is_checked_by_renewd(tmp_path, world):
    """renewd reads an order-exchanging connector's inbound_dir itself
    (docs/plugins.md, "Connector"); a plugin without a configure callback
    had any value stored (a number, a relative path, a folder that does not
    exist), and renewd then skipped it at every scan without a word."""
    data = copy_store(world["data"], tmp_path / "data")
    pdir = tmp_path / "plugins"
    pdir.mkdir()
    shutil.copy(PLUGIN_BUILD / "tp-badsend.so", pdir / "tp-badsend.so")  # V2, order_format "csv", no configure
    inbound = tmp_path / "in"
    inbound.mkdir()
    for value, why in [(5, "must be text: the absolute path of a folder"), ("in", "must be an absolute path"),
                       (str(tmp_path / "missing"), "is not an existing folder")]:
        p = renewctl("plugin", "enable", "--vendor", "sentinel", "--plugin", "tp-badsend", "--partner", "1",
                     "--config", json.dumps({"inbound_dir": value}), "--plugin-dir", pdir, data=data)
        assert p.returncode == 1 and f"inbound_dir: {why}" in p.stderr, (value, p.stderr)
    p = renewctl("plugin", "enable", "--vendor", "sentinel", "--plugin", "tp-badsend", "--partner", "1",
                 "--config", json.dumps({"inbound_dir": str(inbound)}), "--plugin-dir", pdir, data=data)
    assert p.returncode == 0, p.stderr


def test_a_plugin_that_crashes_in_a_call_is_named(tmp_path, world):
    """A plugin that crashes in a call (here its probe) ends renewd, which
    runs it in its own process; systemd starts renewd again and the next
    such call ends it again.  The log said nothing of which plugin it was:
    the last line now names it."""
    pdir = tmp_path / "plugins"
    pdir.mkdir()
    shutil.copy(PLUGIN_BUILD / "tp-crashcall.so", pdir / "tp-crashcall.so")
    data = copy_store(world["data"], tmp_path / "data")
    # not the daemon fixture: it fails a run whose log holds a sanitizer
    # report, which the crash makes on the ASan build
    d = Daemon(data, ["--plugin-dir", str(pdir)], tmp_path / "renewd.log")
    try:
        d.wait_ready()
        s = Setup(d, world)
        s.enable("tp-crashcall", {}, status=201)
        try:
            s.probe("tp-crashcall", timeout=10)
        except OSError:
            pass
        assert d.proc.wait(timeout=20) != 0
        assert "the plugin tp-crashcall crashed during a call" in d.log(), d.log()[-2000:]
    finally:
        d.kill()


def test_a_plugin_whose_init_writes_its_storage_loads_in_renewctl_plugins_too(daemon, tmp_path, world):
    """init may use the plugin's storage (its global space).  renewd loaded
    such a plugin, but `renewctl plugins`, which opens the store read-only,
    refused it ("init failed": the write hit a read-only store, logged as a
    failed internal check): the operator's check said refused for a plugin
    that works.  There the writes now stay in memory; the store is not
    touched."""
    pdir = tmp_path / "plugins"
    pdir.mkdir()
    shutil.copy(PLUGIN_BUILD / "tp-kvinit.so", pdir / "tp-kvinit.so")
    data = copy_store(world["data"], tmp_path / "data")

    def digest():
        out = renewctl("check", data=data, check=True).stdout
        return [x for x in out.splitlines() if "digest of the content" in x]
    before = digest()
    p = renewctl("plugins", "--plugin-dir", pdir, data=data)
    assert p.returncode == 0, p.stdout + p.stderr
    assert re.search(r"^tp-kvinit\s.*loaded", p.stdout, re.M), p.stdout
    assert "check failed" not in p.stderr, p.stderr
    assert digest() == before, "renewctl plugins wrote to the store"
    d = daemon(data=data, args=["--plugin-dir", str(pdir)])
    s = Setup(d, world)
    assert s.plugin("tp-kvinit")["state"] == "loaded"
    d.stop()


def test_a_configure_that_never_returns_does_not_freeze_renewd(daemon, tmp_path, world):
    """configure ran on renewd's event loop: one that never returned (it
    waited on a licence server, against the docs) froze renewd whole, every
    request and /healthz included.  It now has 2 s on a thread of its own:
    the enablement is refused saying so, renewd keeps serving, the next
    attempt is refused at once while the first is stuck, and renewctl gives
    up the same way."""
    pdir = tmp_path / "plugins"
    pdir.mkdir()
    shutil.copy(PLUGIN_BUILD / "tp-cfghang.so", pdir / "tp-cfghang.so")
    shutil.copy(PLUGIN_BUILD / "tp-good.so", pdir / "tp-good.so")
    data = copy_store(world["data"], tmp_path / "data")
    t0 = time.monotonic()
    p = renewctl("plugin", "enable", "--vendor", "sentinel", "--plugin", "tp-cfghang", "--config", "{}",
                 "--plugin-dir", pdir, data=data, timeout=30)
    assert p.returncode == 1 and "configure did not return within 2 s" in p.stderr, p
    assert time.monotonic() - t0 < 15
    renewctl("vendor", "create", "--name", "Other Co", "--slug", "otherco", "--currency", "EUR", data=data, check=True)
    other_token = renewctl("user", "create", "--vendor", "otherco", "--email", "a@otherco.example", "--role",
                           "vendor-admin", data=data, check=True).stdout.strip().splitlines()[-1]
    d = daemon(data=data, args=["--plugin-dir", str(pdir), "--shutdown-timeout-ms", "300"])
    s = Setup(d, world)
    r = timed(s.enable, "tp-cfghang", {})
    assert r[0].status == 422 and "configure did not return within 2 s" in r[0].json()["error"]["message"], r
    assert r[1] < 10, r
    assert http_request(d.port, "GET", "/healthz", timeout=5).status == 200
    again = s.enable("tp-cfghang", {})
    assert again.status == 422 and "has not returned yet" in again.json()["error"]["message"], again
    # another vendor's configure is its own: tried (and given up on in turn), not refused for the first's
    other = ApiClient(d, other_token, None).call("POST", "/api/v1/plugins/tp-cfghang/enablements", {"config": {}})
    assert other.status == 422 and "did not return within 2 s" in other.json()["error"]["message"], other
    s.enable("tp-good", {"account": "acct-1"}, status=201)  # other plugins are served
    assert "configure did not return" in d.log()
    d.stop()


def test_the_kit_fails_an_init_or_configure_slower_than_renewd_allows(tmp_path):
    """renewd gives init 5 s and configure 2 s; the kit let them take up to
    its own 30 s watchdog, so a plugin passed it and was refused by renewd."""
    kit = BUILD / "tests" / "plugin-contract" / "renewd-plugin-check"
    so = str(PLUGIN_BUILD / "tp-slow-start.so")
    p = subprocess.run([str(kit), so], capture_output=True, text=True, timeout=180,
                       env=dict(os.environ, TP_SLOW_INIT="1"))
    assert p.returncode == 1, p.stdout + p.stderr
    assert re.search(r"^FAIL\s+init: init took 5\.\d s: renewd gives it 5 s", p.stdout, re.M), p.stdout
    p = subprocess.run([str(kit), so], capture_output=True, text=True, timeout=180)
    assert p.returncode == 1, p.stdout + p.stderr
    assert re.search(r"^FAIL\s+configure \{\}: configure took 2\.\d s: renewd gives it 2 s", p.stdout, re.M), \
        p.stdout
