"""Links from the address actually bound, and a demo that checks itself
(issue 18, items 4 and 5).

renewd's public_url defaults to the address it bound (listen's port 0
resolved) and is validated; `scripts/demo --check` passes with port 8080
busy and beside a running demo (its own data directory): every role signs
in, the start page links to the sign-in and the portals, and the customer
link's quote is bought by purchase order.
"""
import json
import os
import re
import signal
import socket
import subprocess
import time

import pytest

from conftest import BUILD, REPO, RENEWD, http_request, renewctl, run_renewd_expect_failure

DEMO = REPO / "scripts" / "demo"


def publish_one(d, token, timeout=20.0):
    """Publishes one opportunity; returns the text of the mail with its link."""
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    deadline = time.monotonic() + timeout
    opp = None
    while opp is None and time.monotonic() < deadline:
        items = d.get("/api/v1/opportunities?state=pending_decision&limit=1", headers=auth).json()["items"]
        opp = items[0]["id"] if items else None
        if opp is None:
            time.sleep(0.2)
    assert opp, "no opportunity was priced"
    r = d.request("POST", f"/api/v1/opportunities/{opp}/decision", body=json.dumps({"publish": "vendor"}), headers=auth)
    assert r.status == 200, r
    while time.monotonic() < deadline:
        for f in sorted((d.data / "mail").glob("*.eml")):
            text = f.read_text(errors="replace")
            if "/c/rd_" in text:
                return text
        time.sleep(0.1)
    raise AssertionError("no customer notice")


def test_links_use_the_port_actually_bound(daemon):
    d = daemon(demo=True)  # --listen 127.0.0.1:0
    assert f"links in e-mails and pages start http://127.0.0.1:{d.port} (the address bound" in d.log(), d.log()
    token = renewctl("user", "create", "--vendor", "sentinel", "--email", "links@sentinel.example", "--role",
                     "vendor-admin", data=d.data, check=True).stdout.strip()
    mail = publish_one(d, token)
    links = re.findall(r"http://[^\s\"'<>]+", mail)
    assert any(u.startswith(f"http://127.0.0.1:{d.port}/c/rd_") for u in links), links
    assert not any(":0/" in u for u in links), links
    # The link works where it points.
    path = re.search(rf"http://127\.0\.0\.1:{d.port}(/c/rd_[A-Za-z0-9_-]+)", mail).group(1)
    r = d.get(path)
    assert r.status in (302, 303) and r.headers["location"].endswith("/portal"), r
    d.stop()


def test_explicit_public_url_wins(daemon):
    d = daemon(demo=True, args=["--public-url", "https://renewals.example.com/base"])
    assert "links in e-mails and pages start https://renewals.example.com/base\n" in d.log() or \
        re.search(r"links in e-mails and pages start https://renewals\.example\.com/base\"?\s*$", d.log(), re.M), d.log()
    token = renewctl("user", "create", "--vendor", "sentinel", "--email", "pub@sentinel.example", "--role",
                     "vendor-admin", data=d.data, check=True).stdout.strip()
    assert "https://renewals.example.com/base/c/rd_" in publish_one(d, token)
    d.stop()


@pytest.mark.parametrize("url, why", [
    ("ftp://renewals.example.com", "must start with http:// or https://"),
    ("renewals.example.com", "must start with http:// or https://"),
    ("https://", "has no host"),
    ("http://:8080/", "has no host"),
    ("http://exa mple.com", "host may hold letters, digits"),
    ("http://user@example.com", "host may hold letters, digits"),
    ("http://example.com:0", "port must be 1 to 65535"),
    ("http://example.com:99999", "port must be 1 to 65535"),
    ("http://example.com/a?b=c", "no query, fragment"),
    ("http://[::1/", "IPv6 host must be in brackets"),
])
def test_public_url_is_validated(tmp_path, url, why):
    data = tmp_path / "d"
    data.mkdir()
    rc, err = run_renewd_expect_failure(["--data", data, "--listen", "127.0.0.1:0", "--public-url", url])
    assert rc == 2, err
    assert "option public_url must be an http:// or https:// URL with a host" in err and why in err, err
    assert url in err, err


def _port_free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def test_demo_check_with_8080_busy_and_beside_a_running_demo(tmp_path):
    env = dict(os.environ, RENEWD_BUILD=str(BUILD), TMPDIR=str(tmp_path))
    env.pop("RENEWD_DEMO_DATA", None)
    env.pop("RENEWD_LISTEN", None)
    running_data = tmp_path / "running-demo"
    # A demo that serves (on 8080 when it is free, so 8080 is busy for the check).
    listen = "127.0.0.1:8080" if _port_free(8080) else "127.0.0.1:0"
    out = open(tmp_path / "running.out", "wb")
    running = subprocess.Popen([str(DEMO), "--listen", listen], cwd=REPO, stdin=subprocess.DEVNULL, stdout=out,
                               stderr=subprocess.STDOUT, env=dict(env, RENEWD_DEMO_DATA=str(running_data)),
                               start_new_session=True)
    renewd_pid = None
    try:
        deadline = time.monotonic() + 60
        text = ""
        while "Press Ctrl-C to stop." not in text:
            assert running.poll() is None, (tmp_path / "running.out").read_text()
            assert time.monotonic() < deadline, f"the running demo did not start:\n{text}"
            time.sleep(0.2)
            text = (tmp_path / "running.out").read_text(errors="replace")
        renewd_pid = int((running_data / "renewd.lock").read_text().strip())
        # It printed a login for every role and a customer link on its own port.
        for who in ("vendor admin", "channel manager", "vendor sales", "distributor", "reseller admin",
                    "reseller sales"):
            assert who in text, text
        assert re.search(r"or by card\s+on the local test gateway at http://127\.0\.0\.1:\d+ \(tests/fakegw: it "
                         r"charges nothing", text), text
        base = re.search(r"Open (http://127\.0\.0\.1:\d+/) in a browser", text).group(1)
        assert re.search(re.escape(base) + r"c/rd_[A-Za-z0-9_-]+", text), text
        assert not _port_free(8080), "8080 should be busy for this test"

        check = subprocess.run([str(DEMO), "--check"], cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True,
                               text=True, timeout=120, env=env)
        assert check.returncode == 0, check.stdout + check.stderr
        assert "8080 is busy; checking on a free port instead" in check.stdout, check.stdout
        assert "bought by purchase order" in check.stdout and "stopped cleanly" in check.stdout, check.stdout
        # The running demo was not touched and still serves.
        assert running.poll() is None
        port = int(re.search(r":(\d+)/$", base).group(1))
        assert http_request(port, "GET", "/healthz").status == 200
        assert not list(tmp_path.glob("renewd-demo-check.*")), "the check left its data directory behind"
    finally:
        if running.poll() is None:
            running.send_signal(signal.SIGTERM)
            try:
                running.wait(timeout=30)
            except subprocess.TimeoutExpired:
                running.kill()
        if renewd_pid:
            try:
                os.kill(renewd_pid, 0)
            except ProcessLookupError:
                pass
            else:
                os.kill(renewd_pid, signal.SIGKILL)
                pytest.fail("the running demo's renewd outlived its script")
        out.close()


def test_start_page_links_to_sign_in_and_portals(daemon):
    d = daemon()
    body = d.get("/").body.decode()
    for href in ('href="/login"', 'href="/vendor"', 'href="/partner"', 'href="/healthz"', 'href="/metrics"'):
        assert href in body, body
    assert "/c/" in body  # where customers come in


def test_demo_logos_are_data_urls():
    demo = json.loads((REPO / "examples" / "demo" / "demo.json").read_text())
    for p in demo["partners"]:
        assert p["logo_url"].startswith("data:image/svg+xml,<svg "), p
        assert len(p["logo_url"].encode()) < 256, p  # fits the partner's logo_url field
