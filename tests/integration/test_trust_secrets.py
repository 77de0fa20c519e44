"""Trust: gateway secrets belong to one vendor; plugins reach only the hosts
the operator allows.

Each test drives the real daemon through an attack seen on the previous
renewd and asserts it fails:

  - a second vendor names the first vendor's environment secret
    (secret:NAME), points the card plugin's base_url at its own server and
    probes: its server must never receive the first vendor's key;
  - a vendor points base_url at loopback or at a host the operator did not
    list (server-side request forgery): a configure error naming the host,
    and no request leaves; a stored enablement whose host is no longer
    listed, or a listed name that resolves to loopback, sends nothing;
  - literal secrets given to an enablement come back in GET answers, audit
    entries and logs, and sit in clear in the store: they must not.

The "attacker's server" is a capturing HTTP server started here on
127.0.0.1; the real gateway is tests/fakegw/fakegw.py, which accepts only
its own key.
"""
import http.server
import json
import os
import stat
import subprocess
import sys
import threading

import pytest

from conftest import REPO, ApiClient, api_user, demo_load, renewctl

FAKEGW = REPO / "tests" / "fakegw" / "fakegw.py"
KEY_A, WEBHOOK_A = "sk_live_vendorA_7Qx93", "whsec_vendorA_p2Lm8"
ENV_KEY_A = "sk_env_vendorA_K4v02"


class Capture:
    """An HTTP server on 127.0.0.1 that records every request it gets."""

    def __init__(self):
        seen = self.seen = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def _any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                seen.append({"path": self.path, "headers": dict(self.headers), "body": body.decode(errors="replace")})
                out = b'{"data": []}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            do_GET = do_POST = _any

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def text(self):
        return json.dumps(self.seen)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Gateway:
    """tests/fakegw/fakegw.py on 127.0.0.1, accepting only KEY_A."""

    def __init__(self, secret=KEY_A):
        self.proc = subprocess.Popen([sys.executable, str(FAKEGW), "--lifetime", "120", "--secret", secret,
                                      "--webhook-secret", WEBHOOK_A], stdout=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL)
        self.port = int(self.proc.stdout.readline())
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self):
        self.proc.kill()
        self.proc.wait(timeout=5)
        self.proc.stdout.close()


@pytest.fixture
def capture():
    c = Capture()
    yield c
    c.close()


@pytest.fixture
def gateway():
    g = Gateway()
    yield g
    g.close()


def two_vendors(tmp_path):
    """The demo vendor (sentinel, "A") and a second one (other, "B"), each with
    an admin; A also has a read-only channel manager."""
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    renewctl("vendor", "create", "--name", "Other Corp", "--slug", "other", "--currency", "EUR", data=data, check=True)
    users = {"a": api_user(data, email="admin@a.example"),
             "cm": api_user(data, email="cm@a.example", role="channel-manager"),
             "b": api_user(data, email="admin@b.example", vendor="other")}
    return data, users


def clients(d, users):
    return {k: ApiClient(d, t, u) for k, (t, u) in users.items()}


def card(base_url, key, webhook=WEBHOOK_A, **more):
    return {"config": dict({"base_url": base_url, "secret_key": key, "webhook_secret": webhook, "timeout_ms": 1000},
                           **more)}


ENABLE = "/api/v1/plugins/payment-card/enablements"
PROBE = "/api/v1/plugins/payment-card/probe"


def fields_of(r):
    assert r.status == 422, r
    return {f["field"]: f["message"] for f in r.json()["error"]["fields"]}


# ---- finding 1: environment secrets cross tenants --------------------------------


def test_a_vendor_cannot_name_another_vendors_environment_secret(daemon, tmp_path, gateway, capture):
    data, users = two_vendors(tmp_path)
    env = dict(os.environ, ACME_CARD_KEY=ENV_KEY_A, RENEWD_SECRET_CARD_KEY=ENV_KEY_A)
    gw = Gateway(secret=ENV_KEY_A)
    try:
        d = daemon(data=data, env=env, args=["--outbound-hosts", "127.0.0.1",
                                             "--secret-env", "sentinel/card_key=ACME_CARD_KEY"])
        c = clients(d, users)
        # A's own mapped name works: the gateway takes the key from A's environment variable.
        c["a"].ok("POST", ENABLE, card(gw.url, "secret:card_key"), status=201)
        assert c["a"].ok("POST", PROBE, {})["ok"] is True
        # The attack: B names the same secret, points base_url at its own
        # server and probes.  Its server never receives A's key ...
        attack = c["b"].call("POST", ENABLE, card(f"http://127.0.0.1:{capture.port}", "secret:card_key"))
        c["b"].call("POST", PROBE, {})
        assert ENV_KEY_A not in capture.text() and capture.seen == [], capture.seen
        # ... because configure refuses the name, with the very answer a name
        # nobody has gets.
        got = fields_of(attack)
        nobody = fields_of(c["b"].call("POST", ENABLE, card(f"http://127.0.0.1:{capture.port}", "secret:no_such")))
        assert set(got) == {"secret_key"} and got == nobody, (got, nobody)
        assert "names no secret of this vendor" in got["secret_key"], got
        # The old process-wide RENEWD_SECRET_<NAME> lookup is gone too.
        got = fields_of(c["b"].call("POST", ENABLE, card(f"http://127.0.0.1:{capture.port}", "secret:CARD_KEY")))
        assert set(got) == {"secret_key"}, got
        # Nothing is enabled for B, so its probe sends nothing anywhere.
        r = c["b"].call("POST", PROBE, {})
        assert r.status == 409 and r.json()["error"]["code"] == "not_enabled", r
        # B with a secret of its own: its server gets B's key, never A's.
        c["b"].ok("POST", ENABLE, card(f"http://127.0.0.1:{capture.port}", "sk_b_own"), status=201)
        c["b"].ok("POST", PROBE, {})
        assert capture.seen and all(s["headers"].get("Authorization") == "Bearer sk_b_own" for s in capture.seen)
        assert ENV_KEY_A not in capture.text() and KEY_A not in capture.text(), capture.seen
        assert ENV_KEY_A not in d.log()
        d.stop()
    finally:
        gw.close()


def test_secret_env_names_an_unknown_vendor_and_renewd_refuses_to_start(daemon, tmp_path):
    data, _ = two_vendors(tmp_path)
    d = daemon(data=data, args=["--secret-env", "nosuch/card_key=X"], wait=False)
    assert d.wait(timeout=10) != 0
    assert 'option secret_env: no vendor has the slug "nosuch"' in d.log(), d.log()


# ---- finding 1: server-side request forgery ------------------------------------------


def test_base_url_must_be_on_the_operators_allow_list(daemon, tmp_path, capture):
    data, users = two_vendors(tmp_path)
    d = daemon(data=data)  # the default allow-list: the shipped gateways' hosts only
    c = clients(d, users)
    for url, host in [(f"http://127.0.0.1:{capture.port}", f"127.0.0.1:{capture.port}"),
                      (f"http://localhost:{capture.port}/x", f"localhost:{capture.port}"),
                      (f"http://[::1]:{capture.port}", f"[::1]:{capture.port}"),
                      ("http://169.254.169.254/latest/meta-data", "169.254.169.254:80"),
                      ("https://attacker.example", "attacker.example:443")]:
        r = c["b"].call("POST", ENABLE, card(url, "sk_b"))
        got = fields_of(r)
        assert set(got) == {"base_url"}, (url, got)
        assert got["base_url"].startswith(host + " is not on renewd's outbound allow-list (outbound_hosts)"), got
        assert r.json()["error"]["field"] == "base_url", r
    # a shipped gateway's documented host is allowed by default
    c["b"].ok("POST", ENABLE, card("https://api.stripe.com", "sk_b"), status=201)
    assert capture.seen == []
    d.stop()


def test_a_stored_url_no_longer_listed_is_not_called(daemon, tmp_path, capture):
    data, users = two_vendors(tmp_path)
    d = daemon(data=data, args=["--outbound-hosts", f"api.stripe.com,127.0.0.1:{capture.port}"])
    c = clients(d, users)
    c["b"].ok("POST", ENABLE, card(f"http://127.0.0.1:{capture.port}", "sk_b"), status=201)
    c["b"].ok("POST", PROBE, {})
    assert len(capture.seen) == 1
    d.stop()
    # the operator takes the host off the list: the stored enablement sends nothing
    d = daemon(data=data)
    r = clients(d, users)["b"].call("POST", PROBE, {})
    assert r.status == 502, r
    assert len(capture.seen) == 1
    assert f"127.0.0.1:{capture.port} is not on renewd's outbound allow-list" in d.log(), d.log()
    d.stop()


def test_a_listed_name_resolving_to_loopback_is_refused_at_connect(daemon, tmp_path, capture):
    data, users = two_vendors(tmp_path)
    d = daemon(data=data, args=["--outbound-hosts", "localhost"])
    c = clients(d, users)
    c["b"].ok("POST", ENABLE, card(f"http://localhost:{capture.port}", "sk_b"), status=201)
    r = c["b"].call("POST", PROBE, {})
    assert r.status == 502, r
    assert capture.seen == []
    assert "refused to connect to 127.0.0.1" in d.log() or "refused to connect to ::1" in d.log(), d.log()
    d.stop()
    # listing the address itself lets it through
    d = daemon(data=data, args=["--outbound-hosts", "localhost,127.0.0.1,::1"])
    clients(d, users)["b"].ok("POST", PROBE, {})
    assert len(capture.seen) == 1
    d.stop()


def test_outbound_hosts_entries_are_checked_at_start(daemon, tmp_path):
    data, _ = two_vendors(tmp_path)
    d = daemon(data=data, args=["--outbound-hosts", "api.stripe.com,http://x"], wait=False)
    assert d.wait(timeout=10) != 0
    assert 'option outbound_hosts: "http://x" is not a host, host:port or [IPv6]:port' in d.log(), d.log()


# ---- finding 2: literal secrets echoed, audited, logged, stored in clear --------------


def test_enablement_secrets_are_write_only_and_sealed_at_rest(daemon, tmp_path, gateway):
    data, users = two_vendors(tmp_path)
    d = daemon(data=data, args=["--outbound-hosts", "127.0.0.1", "--log-level", "debug"])
    c = clients(d, users)
    key = data / "secrets.key"
    assert key.exists() and stat.S_IMODE(key.stat().st_mode) == 0o600
    e = c["a"].ok("POST", ENABLE, card(gateway.url, KEY_A), status=201)
    assert e["config"]["secret_key"] == "set" and e["config"]["webhook_secret"] == "set", e
    assert e["config"]["base_url"] == gateway.url
    assert c["a"].ok("POST", PROBE, {})["ok"] is True  # the gateway got the real key
    # write-only but updatable: omitted or "set" keeps the stored one
    r = c["a"].ok("POST", ENABLE, {"config": {"base_url": gateway.url, "timeout_ms": 2000}}, status=200)
    assert r["config"]["secret_key"] == "set" and r["config"]["timeout_ms"] == 2000, r
    c["a"].ok("POST", ENABLE, card(gateway.url, "set", webhook="set"), status=200)
    assert c["a"].ok("POST", PROBE, {})["ok"] is True
    # a wrong key replaces it (the gateway then refuses), the right one again
    c["a"].ok("POST", ENABLE, card(gateway.url, "sk_wrong_1"), status=200)
    assert c["a"].call("POST", PROBE, {}).status == 502
    c["a"].ok("POST", ENABLE, card(gateway.url, KEY_A), status=200)
    assert c["a"].ok("POST", PROBE, {})["ok"] is True
    # "set" where nothing is stored, "unset": clear field errors, nothing echoed
    got = fields_of(c["a"].call("POST", ENABLE, dict(card(gateway.url, "set", webhook="set"), partner_id=2)))
    assert got == {"secret_key": "no secret is stored yet: send its value",
                   "webhook_secret": "no secret is stored yet: send its value"}, got
    got = fields_of(c["a"].call("POST", ENABLE, card(gateway.url, "unset")))
    assert got == {"secret_key": "is required"}, got
    # what everyone may read: the vendor admin, the read-only channel manager
    for who in ("a", "cm"):
        items = c[who].ok("GET", ENABLE)["items"]
        assert [(i["config"]["secret_key"], i["config"]["webhook_secret"]) for i in items] == [("set", "set")], items
    audit = c["a"].ok("GET", "/api/v1/audit?object=enablements&limit=500")["items"]
    assert len(audit) == 5, audit
    for a in audit:
        for side in ("before", "after"):
            if a[side]:
                assert a[side]["config"]["secret_key"] == "set" and a[side]["config"]["webhook_secret"] == "set", a
    everything = json.dumps([c["cm"].ok("GET", ENABLE), audit, c["cm"].ok("GET", "/api/v1/audit?limit=500")])
    for secret in (KEY_A, WEBHOOK_A, "sk_wrong_1"):
        assert secret not in everything
        assert secret not in d.log()
    # B sees none of A's enablements
    assert c["b"].ok("GET", ENABLE)["items"] == []
    d.stop()
    # at rest: nothing in clear in the store; renewctl shows "set"
    raw = b"".join(p.read_bytes() for p in data.iterdir() if p.is_file())
    for secret in (KEY_A, WEBHOOK_A, "sk_wrong_1"):
        assert secret.encode() not in raw
    p = renewctl("plugin", "enablements", "--vendor", "sentinel", data=data, check=True)
    assert '"secret_key":"set"' in p.stdout and KEY_A not in p.stdout, p.stdout


def test_renewctl_rotates_the_secrets_key(daemon, tmp_path, gateway):
    data, users = two_vendors(tmp_path)
    p = renewctl("plugin", "enable", "--vendor", "sentinel", "--plugin", "payment-card", "--outbound-hosts",
                 "127.0.0.1", "--config", json.dumps(card(gateway.url, KEY_A)["config"]), data=data)
    assert p.returncode == 0, p.stderr
    p = renewctl("plugin", "enable", "--vendor", "other", "--plugin", "payment-card",
                 "--config", json.dumps(card(gateway.url, KEY_A)["config"]), data=data)
    assert p.returncode == 1 and f"base_url: 127.0.0.1:{gateway.port} is not on renewd's outbound allow-list" in \
        p.stderr, p.stderr
    old = (data / "secrets.key").read_bytes()
    sealed_before = (data / "data.mdb").read_bytes()
    p = renewctl("secrets", "rotate", data=data)
    assert p.returncode == 0 and "1 plugin enablement and 0 webhook subscriptions sealed again under it" in p.stdout, \
        (p.stdout, p.stderr)
    new = (data / "secrets.key").read_bytes()
    assert len(new) == 32 and new != old and stat.S_IMODE((data / "secrets.key").stat().st_mode) == 0o600
    assert not (data / "secrets.key.next").exists()
    assert KEY_A.encode() not in (data / "data.mdb").read_bytes() and sealed_before
    d = daemon(data=data, args=["--outbound-hosts", "127.0.0.1"])
    assert clients(d, users)["a"].ok("POST", PROBE, {})["ok"] is True  # opened under the new key
    d.stop()
    # a key file others may read is refused
    os.chmod(data / "secrets.key", 0o644)
    d = daemon(data=data, wait=False)
    assert d.wait(timeout=10) != 0
    assert "secrets.key may be read by others than its owner (mode 0644): chmod 600 it" in d.log(), d.log()
    # a store restored without its key: a new key, the old secrets named as unopenable, nothing sent
    (data / "secrets.key").unlink()
    d = daemon(data=data, args=["--outbound-hosts", "127.0.0.1"])
    assert "2 stored plugin secret(s) do not open under" in d.log(), d.log()
    r = clients(d, users)["a"].call("POST", PROBE, {})
    assert r.status == 502 and "not set up" in r.json()["error"]["message"], r
    d.stop()


def test_the_console_never_shows_enablement_secrets(daemon, tmp_path, gateway):
    from test_pages_console import Browser, make_user
    data, users = two_vendors(tmp_path)
    make_user(data, "web-admin@sentinel.example", "vendor-admin", None)
    make_user(data, "web-cm@sentinel.example", "channel-manager", None)
    d = daemon(data=data, args=["--outbound-hosts", "127.0.0.1"])
    b = Browser(d)
    b.login("web-admin@sentinel.example")
    b.get("/vendor/plugins")
    # enabled through the console form: stored sealed, shown as "set"
    b.post("/vendor/plugins/payment-card/enablements",
           {"partner": "0", "config": json.dumps(card(gateway.url, KEY_A)["config"])})
    assert clients(d, users)["a"].ok("POST", PROBE, {})["ok"] is True
    # a refused form comes back with the secret as "set", not as typed
    r = b.post("/vendor/plugins/payment-card/enablements",
               {"partner": "0", "config": json.dumps(card("http://attacker.example", "sk_typed_9")["config"])},
               status=422)
    assert "attacker.example:80 is not on renewd" in r.text and "sk_typed_9" not in r.text, r.text
    for who in ("web-admin@sentinel.example", "web-cm@sentinel.example"):
        w = Browser(d)
        w.login(who)
        page = w.get("/vendor/plugins").text
        assert "&quot;secret_key&quot;:&quot;set&quot;" in page, page
        assert KEY_A not in page and WEBHOOK_A not in page
    assert KEY_A not in d.log() and "sk_typed_9" not in d.log()
    d.stop()
