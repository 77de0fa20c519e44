"""The edge of renewd under attack and in an operator's hands
(docs/security.md, "The edge: bodies, links in logs, files, signals").

* bodies are refused before they are held: 24 anonymous connections each
  declaring and sending a 64 MiB body leave the daemon's memory within the
  documented bound; only callers whose credentials verify get the larger
  limits (max_body_bytes, and max_import_bytes on bulk routes); connections
  past max_connections are closed;
* a customer's link token shows neither in the outbox API, nor in the
  access log, nor in an audit entry (the e-mail itself carries it);
* a login posted from another site is refused, a first visit still logs in;
* a change through the API signed in by the session cookie is refused from
  another site (a sibling host included), as the login is;
* a daemon killed (SIGKILL) while it delivers a batch sends again at most
  the one message that was in flight, per kill (a real SMTP server counts);
* the data directory is 0700 and what renewd writes there 0600;
* SIGUSR1/SIGUSR2 are ignored; SIGHUP reopens the log file and reloads
  log_level.
"""
import asyncio
import json
import os
import re
import signal
import stat
import threading
import time
import urllib.parse
from pathlib import Path

import conftest
from conftest import (API_PASSWORD, CTL_TIMEOUT, RENEWCTL, ApiClient, api_user, assert_json_error, demo_load, http_request,
                      raw_connect, recv_http_response, renewctl, wait_closed)

PASSWORD = "edge-password-1234"
PARTNER_EMAIL = "renewals@harbour.example"
MAIL_WAIT = 20.0
LINK_RE = re.compile(r"/c/(rd_[A-Za-z0-9_-]{43})")

# The bound docs/security.md gives for 24 anonymous connections (each
# connection's input buffer stays within 512 KiB, heads included): they may
# add at most this much to the daemon's resident memory.
ANON_RSS_BOUND = 24 * (512 << 10)


def proc_status(pid):
    """VmRSS, RssAnon, RssFile, RssShmem of a process, in bytes."""
    text = Path(f"/proc/{pid}/status").read_text()
    return {k: int(re.search(rf"^{k}:\s+(\d+) kB", text, re.M).group(1)) * 1024
            for k in ("VmRSS", "RssAnon", "RssFile", "RssShmem")}


def mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


def head_only(port, head, timeout=10.0):
    """Sends a request head only (its body never follows) and reads the
    answer h2o gives before the body."""
    s = raw_connect(port, timeout)
    try:
        s.sendall(head)
        return recv_http_response(s, time.monotonic() + timeout)
    finally:
        s.close()


def post_head(path, length, extra=""):
    return (f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n{extra}"
            f"Content-Length: {length}\r\n\r\n").encode()


# ---- 1. bodies --------------------------------------------------------------------------


def test_anonymous_large_bodies_are_refused_before_they_are_held(daemon):
    d = daemon()
    base = proc_status(d.pid)
    size = 64 << 20
    chunk = b"x" * (1 << 20)
    peak = dict(base)
    done = threading.Event()
    sent = []

    def hog(i):
        path = ["/api/v1/session", "/login", "/healthz", "/api/v1/imports?kind=customers&format=csv"][i % 4]
        try:
            s = raw_connect(d.port, timeout=30)
        except OSError:
            return
        n = 0
        try:
            s.sendall(post_head(path, size))
            while n < size:
                s.sendall(chunk)
                n += len(chunk)
        except OSError:
            pass
        finally:
            sent.append(n)
            s.close()

    def sample():
        while not done.is_set():
            try:
                now = proc_status(d.pid)
            except (FileNotFoundError, AttributeError):
                return
            for k, v in now.items():
                peak[k] = max(peak[k], v)
            time.sleep(0.01)

    sampler = threading.Thread(target=sample)
    sampler.start()
    hogs = [threading.Thread(target=hog, args=(i,)) for i in range(24)]
    for t in hogs:
        t.start()
    for t in hogs:
        t.join(timeout=60)
    time.sleep(0.2)
    done.set()
    sampler.join(timeout=5)
    grew = {k: peak[k] - base[k] for k in base}
    print(f"\nbase {base}\npeak {peak}\ngrowth {grew}\nsent by the clients: {sum(sent) >> 20} MiB")
    assert d.running()
    assert grew["VmRSS"] <= ANON_RSS_BOUND, f"24 anonymous 64 MiB bodies grew RSS by {grew['VmRSS'] >> 20} MiB"
    assert grew["RssAnon"] <= ANON_RSS_BOUND, grew
    assert d.get("/healthz").status == 200
    # the refusal is h2o's 413, as JSON, naming the anonymous limit
    err = assert_json_error(head_only(d.port, post_head("/api/v1/session", 100000)), 413, "body_too_large")
    assert "65536" in err["message"] and "credentials" in err["message"], err


def test_limits_follow_verified_credentials(daemon, tmp_path):
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    token, _ = api_user(data, email="admin@x.example")
    d = daemon(data=data)
    big = 2 << 20  # above max_body_bytes (1 MiB), below max_import_bytes (64 MiB)
    imports = "/api/v1/imports?kind=customers&format=csv"
    bearer = f"Authorization: Bearer {token}\r\n"
    # anonymous, or with a token that does not verify: the anonymous limit, before the body
    for extra in ("", "Authorization: Bearer rd_" + "A" * 43 + "\r\n", "Cookie: rd_session=nonsense\r\n"):
        err = assert_json_error(head_only(d.port, post_head(imports, big, extra)), 413, "body_too_large")
        assert "65536" in err["message"], (extra, err)
        err = assert_json_error(head_only(d.port, post_head("/api/v1/customers", 70000, extra)), 413)
        assert "65536" in err["message"], (extra, err)
    # a verified caller: max_body_bytes on an ordinary route ...
    err = assert_json_error(head_only(d.port, post_head("/api/v1/customers", big, bearer)), 413, "body_too_large")
    assert "1048576" in err["message"], err
    # ... and under it, a body past the anonymous limit is read and handled
    r = ApiClient(d, token).call("POST", "/api/v1/customers", json.dumps({"name": "x" * 100000}).encode(),
                                 headers={"Content-Type": "application/json"})
    assert r.status != 413, r
    # ... and max_import_bytes on the bulk route: a 2 MiB file is taken
    rows = "".join(f"EDGE-{i:07d},Edge customer {i} {'x' * 40}\n" for i in range(big // 60))
    body = ("external_id,name\n" + rows).encode()
    assert len(body) > big
    r = ApiClient(d, token).import_start("customers", body, dry_run="1")
    assert r.status == 202, r
    # the same with Expect: 100-continue (curl's way with large files), and chunked: the limit
    # holds for every read of the body
    s = raw_connect(d.port, 10)
    try:
        s.sendall(post_head(imports + "&dry_run=1", len(body), bearer + "Expect: 100-continue\r\n"))
        got = b""
        while b"\r\n\r\n" not in got:
            got += s.recv(4096)
        assert got.startswith(b"HTTP/1.1 100"), got
        s.sendall(body)
        assert recv_http_response(s, time.monotonic() + 20)[0] == 202
    finally:
        s.close()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 65536]), body[i:i + 65536])
                      for i in range(0, len(body), 65536)) + b"0\r\n\r\n"
    s = raw_connect(d.port, 10)
    try:
        s.sendall(f"POST {imports}&dry_run=1 HTTP/1.1\r\nHost: t\r\n{bearer}Transfer-Encoding: chunked\r\n\r\n".encode())
        for i in range(0, len(chunks), 100000):
            s.sendall(chunks[i:i + 100000])
            time.sleep(0.001)
        assert recv_http_response(s, time.monotonic() + 20)[0] == 202
    finally:
        s.close()
    # chunked and anonymous: refused once the body passes the anonymous limit
    s = raw_connect(d.port, 10)
    try:
        s.sendall(f"POST {imports} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
        try:
            s.sendall(chunks[:200000])
        except OSError:
            pass
        err = assert_json_error(recv_http_response(s, time.monotonic() + 10), 413, "body_too_large")
        assert "65536" in err["message"], err
    finally:
        s.close()
    # an import past max_import_bytes is still refused, naming that limit
    err = assert_json_error(head_only(d.port, post_head(imports, (64 << 20) + 1, bearer)), 413, "body_too_large")
    assert str(64 << 20) in err["message"], err


def test_connections_past_the_cap_are_closed(daemon):
    d = daemon(args=["--max-connections", "4"])
    held = [raw_connect(d.port) for _ in range(4)]
    try:
        held[0].sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        assert recv_http_response(held[0], time.monotonic() + 5)[0] == 200
        extra = raw_connect(d.port)
        try:
            assert wait_closed(extra, 5.0), "a fifth connection was kept open with max_connections 4"
        finally:
            extra.close()
    finally:
        for s in held:
            s.close()
    deadline = time.monotonic() + 5
    while True:  # the closed ones free their places
        try:
            if d.get("/healthz").status == 200:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, "no connection accepted after the others closed"
        time.sleep(0.05)


# ---- a demo world with mail into DATA/mail -------------------------------------------------


def make_world(daemon, tmp_path, args=()):
    data = tmp_path / "store"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    demo_load(data)
    token, uid = api_user(data, email="admin@x.example")
    p = renewctl("user", "create", "--vendor", "sentinel", "--email", PARTNER_EMAIL, "--role", "partner-admin",
                 "--partner", "3", "--password-stdin", data=data, input=PASSWORD + "\n")
    assert p.returncode == 0, p.stderr
    d = daemon(data=data, args=["--test-clock", "1", "--sched-interval-ms", "3600000", *args])
    w = ApiClient(d, token, uid)
    w.d, w.data = d, data
    return w


def wait_mail(data, ref):
    deadline = time.monotonic() + MAIL_WAIT
    while time.monotonic() < deadline:
        for f in sorted(Path(data, "mail").glob("*.eml")):
            text = f.read_bytes().decode("utf-8", "replace")
            if f"\nX-Renewd-Ref: {ref}\r\n" in text:
                return f, text
        time.sleep(0.05)
    raise AssertionError(f"no e-mail {ref} in {data}/mail within {MAIL_WAIT} s")


def publish(w):
    """Publishes one opportunity; returns (opportunity, its e-mail file, the link token)."""
    o = w.items("/api/v1/opportunities")[0]
    assert w.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"})["state"] == \
        "published_vendor"
    f, text = wait_mail(w.data, f"notice:{o['id']}")
    m = LINK_RE.search(text)
    assert m, text
    return o, f, m.group(1)


# ---- 2. links --------------------------------------------------------------------------------


def test_link_tokens_are_not_readable_by_staff(daemon, tmp_path):
    w = make_world(daemon, tmp_path)
    o, _, token = publish(w)
    r = http_request(w.d.port, "GET", f"/c/{token}")  # the customer opens the link
    assert r.status == 303, r
    assert http_request(w.d.port, "GET", f"/c/{token}x").status in (200, 401, 404)  # a wrong one is logged too
    # the outbox keeps the message, with the link shown as /c/…
    box = w.call("GET", "/api/v1/outbox?limit=500")
    assert box.status == 200, box
    assert token.encode() not in box.body and token[3:20].encode() not in box.body
    notice = [m for m in box.json()["items"] if m["ref"] == f"notice:{o['id']}"]
    assert notice and all("/c/\u2026" in (m["text"] + m.get("html", "")) for m in notice), notice
    # the access log and every other line of the log
    log = w.d.log()
    assert "GET /c/\u2026" in log, log[-2000:]
    assert token not in log and token[3:20] not in log
    # the audit trail
    audit = w.call("GET", "/api/v1/audit?limit=500")
    assert audit.status == 200, audit
    assert token.encode() not in audit.body and token[3:20].encode() not in audit.body


# ---- 3. login CSRF ---------------------------------------------------------------------------


def login_form(port, headers):
    body = urllib.parse.urlencode({"vendor": "sentinel", "email": PARTNER_EMAIL, "password": PASSWORD}).encode()
    h = {"Content-Type": "application/x-www-form-urlencoded", **headers}
    return http_request(port, "POST", "/login", body=body, headers=h)


def test_login_from_another_site_is_refused(daemon, tmp_path):
    w = make_world(daemon, tmp_path)
    port = w.d.port
    here = f"http://127.0.0.1:{port}"
    for h in ({"Origin": "http://evil.example"}, {"Origin": "null"},
              {"Referer": "http://evil.example/page"}, {"Sec-Fetch-Site": "cross-site", "Origin": here},
              {"Sec-Fetch-Site": "same-site"}):
        r = login_form(port, h)
        assert_json_error(r, 403, "cross_site")
        assert not r.headers.get_all("set-cookie"), (h, r.headers)
    # the same through the API, as a text/plain form post would send it
    body = json.dumps({"vendor": "sentinel", "email": PARTNER_EMAIL, "password": PASSWORD}).encode()
    r = http_request(port, "POST", "/api/v1/session", body=body,
                     headers={"Content-Type": "text/plain", "Origin": "http://evil.example"})
    assert_json_error(r, 403, "cross_site")
    # a first visit (no cookie at all) from the site's own page, and a script, log in
    # (a browser posting the login page's form sends Origin "null": the pages
    # carry Referrer-Policy no-referrer; its Sec-Fetch-Site says same-origin)
    for h in ({"Origin": here, "Sec-Fetch-Site": "same-origin"}, {"Origin": "null", "Sec-Fetch-Site": "same-origin"},
              {"Referer": here + "/login"}, {}):
        r = login_form(port, h)
        assert r.status == 303 and r.headers["location"] == "/partner", (h, r)
        assert any(c.startswith("rd_session=") for c in r.headers.get_all("set-cookie")), r.headers
    r = http_request(port, "POST", "/api/v1/session", body=body, headers={"Content-Type": "application/json"})
    assert r.status == 200, r



def test_a_signed_in_api_change_from_another_site_is_refused(api):
    """The API takes the session cookie as well as a bearer token, and any
    body as JSON whatever its Content-Type: a page on another site, or on
    a sibling host of the same site (where SameSite=Lax still sends the
    cookie), could post a text/plain body and create a vendor admin with
    its own password.  A change (POST, PATCH, DELETE) signed in by the
    cookie is held to the login's rule: 403 cross_site when the browser
    says it comes from elsewhere, nothing changed.  Reads, bearer tokens
    (never sent by a browser on its own) and scripts are as before."""
    port = api.port
    here = f"http://127.0.0.1:{port}"
    body = json.dumps({"vendor": "sentinel", "email": api.world.emails["admin"],
                       "password": API_PASSWORD}).encode()
    r = http_request(port, "POST", "/api/v1/session", body=body, headers={"Content-Type": "application/json"})
    assert r.status == 200, r
    cookie = r.headers["set-cookie"].split(";")[0]
    users = lambda: {u["email"] for u in api.all("/api/v1/users")}  # noqa: E731
    before = users()
    new_admin = {"email": "csrf@evil.example", "name": "Evil", "role": "vendor-admin",
                 "password": "attacker-chosen-password"}
    for h in ({"Sec-Fetch-Site": "same-site", "Origin": "https://www.sentinel.example"},
              {"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}, {"Origin": "http://evil.example"},
              {"Origin": "null"}, {"Referer": "http://evil.example/page"}):
        hh = dict(h, Cookie=cookie, **{"Content-Type": "text/plain"})
        for method, path, b in (("POST", "/api/v1/users", new_admin), ("PATCH", "/api/v1/vendor", {"name": "Owned"}),
                                ("POST", "/api/v1/tokens", {"name": "csrf"}), ("DELETE", "/api/v1/session", None)):
            r = http_request(port, method, path, body=json.dumps(b).encode() if b else None, headers=hh)
            err = assert_json_error(r, 403, "cross_site")
            assert "another site" in err["message"], (h, method, path, err)
        # reads stay open (no page of another site can read the answer)
        r = http_request(port, "GET", "/api/v1/me", headers=hh)
        assert r.status == 200, (h, r)
    assert users() == before
    assert api.ok("GET", "/api/v1/vendor")["name"] != "Owned"
    # the site's own pages, a script, and a bearer token from anywhere change as before
    for i, h in enumerate(({"Sec-Fetch-Site": "same-origin", "Origin": here}, {"Origin": here},
                           {"Referer": here + "/vendor"}, {})):
        r = http_request(port, "POST", "/api/v1/tokens", body=json.dumps({"name": f"own {i}"}).encode(),
                         headers=dict(h, Cookie=cookie, **{"Content-Type": "application/json"}))
        assert r.status == 201, (h, r)
    r = api.call("POST", "/api/v1/tokens", {"name": "bearer"}, as_="admin",
                 headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert r.status == 201, r
    r = http_request(port, "DELETE", "/api/v1/session", headers={"Cookie": cookie, "Sec-Fetch-Site": "same-origin"})
    assert r.status == 204, r

# ---- 5. file modes ---------------------------------------------------------------------------


def test_data_files_are_private(daemon, tmp_path):
    w = make_world(daemon, tmp_path)
    publish(w)
    data = w.data
    # on either store (on PostgreSQL too: secrets.key, node-id, the mail and
    # the exports are there; it was left as made, 0755)
    assert mode(data) == 0o700, oct(mode(data))
    for name in ("data.mdb", "lock.mdb", "renewd.lock") if not conftest.PG_MODE else ():
        assert mode(data / name) == 0o600, (name, oct(mode(data / name)))
    assert mode(data / "mail") == 0o700 and mode(data / "bodies") == 0o700
    mails = list((data / "mail").glob("*.eml"))
    assert mails and all(mode(f) == 0o600 for f in mails), [(f.name, oct(mode(f))) for f in mails]
    if not conftest.PG_MODE:  # PostgreSQL's backup is pg_dump's (docs/scaling.md)
        out = tmp_path / "backup"
        renewctl("backup", out, data=data, check=True)
        assert mode(out) == 0o700 and all(mode(f) == 0o600 for f in out.iterdir()), \
            [(f.name, oct(mode(f))) for f in out.iterdir()]
    w.d.stop()


# ---- 6. signals ------------------------------------------------------------------------------


def wait_for(pred, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = pred()
        if got:
            return got
        time.sleep(0.02)
    raise AssertionError(f"{what} within {timeout} s")


def test_signals(daemon, tmp_path):
    log = tmp_path / "renewd.log"
    cfg = tmp_path / "renewd.json"
    cfg.write_text(json.dumps({"log_level": "info"}))
    d = daemon(args=["--config", cfg, "--log-file", log], wait=False)
    m = wait_for(lambda: log.exists() and re.search(r"listening on http://127\.0\.0\.1:(\d+)/", log.read_text()),
                 "no 'listening on' in the log file")
    d.port = int(m.group(1))
    assert mode(log) == 0o600
    for sig in (signal.SIGUSR1, signal.SIGUSR2):
        d.send(sig)
        time.sleep(0.2)
        assert d.running(), f"{sig!r} stopped renewd"
        assert d.get("/healthz").status == 200
    # log rotation: the file is moved away, SIGHUP opens a new one
    log.rename(tmp_path / "renewd.log.1")
    d.send(signal.SIGHUP)
    wait_for(lambda: log.exists() and "log reopened" in log.read_text(), "no new log file after SIGHUP")
    assert mode(log) == 0o600
    assert d.get("/healthz").status == 200
    wait_for(lambda: "GET /healthz 200" in log.read_text(), "no access log line in the new file")
    assert d.running()
    # log_level is reloaded from the configuration; other changes wait for a restart
    cfg.write_text(json.dumps({"log_level": "warn", "max_body_bytes": 4096}))
    d.send(signal.SIGHUP)
    wait_for(lambda: "option max_body_bytes changed" in log.read_text(), "no note of the changed option")
    before = log.read_text().count("GET /healthz")
    assert d.get("/healthz").status == 200
    time.sleep(0.2)
    assert log.read_text().count("GET /healthz") == before, "info lines still logged at log_level warn"
    # a broken configuration is named and changes nothing
    cfg.write_text("{")
    d.send(signal.SIGHUP)
    wait_for(lambda: "configuration is not reloaded" in log.read_text(), "no error for a broken configuration")
    assert d.running() and d.get("/healthz").status == 200
    d.send(signal.SIGTERM)
    assert d.wait() == 0


# ---- 4. mail: a crash mid-batch ---------------------------------------------------------------


class SlowSink:
    """A real SMTP server (aiosmtpd) that takes `delay` seconds to accept
    each message and keeps what it received: (message-id, recipient)."""

    def __init__(self, delay):
        from aiosmtpd.controller import Controller

        class _Controller(Controller):
            def _trigger_server(self):  # aiosmtpd 1.4 with port 0: ask the socket
                self.port = self.server.sockets[0].getsockname()[1]
                super()._trigger_server()

        self.delay, self.got, self.lock = delay, [], threading.Lock()
        self.controller = _Controller(self, hostname="127.0.0.1", port=0)
        self.controller.start()
        self.port = self.controller.port

    async def handle_DATA(self, server, session, envelope):
        mid = re.search(rb"^Message-ID: (\S+)", envelope.content, re.M | re.I)
        with self.lock:
            self.got.append((mid.group(1).decode() if mid else "?", tuple(envelope.rcpt_tos)))
        await asyncio.sleep(self.delay)
        return "250 OK"

    def received(self):
        with self.lock:
            return list(self.got)

    def stop(self):
        self.controller.stop()


def test_a_crash_mid_batch_sends_at_most_one_message_again(daemon, tmp_path):
    sink = SlowSink(0.1)
    try:
        data = tmp_path / "store"
        data.mkdir()
        demo_load(data)
        # Twelve more contracts due within the renewal window: the demo alone
        # makes six quote notices (four weekly digests more on a Monday
        # only), too few for three kills inside a batch on other days.
        import datetime
        today = datetime.date.today()
        csv = tmp_path / "more.csv"
        rows = ["external_id,customer_external_id,product_sku,reseller_external_id,quantity,start,end,term,currency"]
        for i in range(12):
            end = today + datetime.timedelta(days=10 + 5 * i)
            rows.append(f"K-MB-{i},CUST-100{1 + i % 5},WSG-STD,{('RES-PLAT', 'RES-GOLD', 'RES-SILV')[i % 3]},{5 + i},"
                        f"{end - datetime.timedelta(days=365)},{end},annual,GBP")
        csv.write_text("\n".join(rows) + "\n")
        p = renewctl("import", "--vendor", "sentinel", "--kind", "contracts", csv, data=data)
        assert p.returncode == 0 and "imported 12 rows" in p.stdout, (p.stdout, p.stderr)
        token, uid = api_user(data, email="admin@x.example")
        args = ["--test-clock", "1", "--sched-interval-ms", "3600000", "--mail-retry-ms", "100",
                "--mail-transport", f"smtp://127.0.0.1:{sink.port}"]
        if conftest.PG_MODE:  # a killed node's claimed messages wait out their lease (docs/scaling.md)
            args += ["--claim-lease-ms", "1000"]
        kills = 0
        for _ in range(3):  # three crashes, each while a batch is being delivered
            d = daemon(data=data, args=args)
            start = len(sink.received())
            wait_for(lambda: len(sink.received()) >= start + 2, "no mail delivered", timeout=MAIL_WAIT)
            os.kill(d.pid, signal.SIGKILL)
            d.proc.wait(timeout=10)
            kills += 1
        d = daemon(data=data, args=args)
        admin = ApiClient(d, token, uid)

        def drained():
            box = admin.items("/api/v1/outbox")
            sent = [m for m in box if m["state"] == "sent"]
            return not [m for m in box if m["state"] == "queued"] and len(sink.received()) >= len(sent) and box

        box = wait_for(drained, "the outbox did not drain", timeout=60)
        got = sink.received()
        counts = {}
        for key in got:
            counts[key] = counts.get(key, 0) + 1
        dups = sum(n - 1 for n in counts.values())
        print(f"\n{len(box)} messages, {len(got)} deliveries, {dups} duplicates after {kills} kills")
        assert len(box) >= 3 * 2 + 2, f"only {len(box)} messages: the kills did not fall inside a batch"
        assert len(counts) == len(box), (len(counts), len(box))
        assert dups <= kills, f"{dups} duplicate deliveries after {kills} kills: {[k for k, n in counts.items() if n > 1]}"
        d.stop()
    finally:
        sink.stop()
