"""Fixtures and helpers for renewd's integration tests.

The binaries come from $RENEWD_BUILD (an absolute build directory; default
<repo>/build), so the same suite runs against the normal and the
AddressSanitizer build.  Every wait is bounded: processes, sockets and
polling loops all have deadlines, and each test runs under a watchdog
alarm so that nothing can hang the suite.
"""
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("RENEWD_BUILD") or (REPO / "build")).resolve()
RENEWD = BUILD / "core" / "renewd"
RENEWCTL = BUILD / "core" / "renewctl"
DEMO = REPO / "examples" / "demo" / "demo.json"

START_TIMEOUT = 30.0  # seconds for the "listening on" line (a bound, not a measure: 10 s was too short under stress-ng on PostgreSQL)
STOP_TIMEOUT = 30.0  # seconds for a clean exit after a signal (more than the daemon's 10 s shutdown_timeout_ms)
CTL_TIMEOUT = 30.0  # seconds for one renewctl run
TEST_TIMEOUT = 90  # watchdog per test, seconds

LISTEN_RE = re.compile(r"listening on http://127\.0\.0\.1:(\d+)/")
# A sanitizer's report in a daemon's log (ASan build): LeakSanitizer at exit,
# AddressSanitizer, UndefinedBehaviorSanitizer ("runtime error:").
SANITIZER_RE = re.compile(r"ERROR: (LeakSanitizer|AddressSanitizer)|SUMMARY: \w+Sanitizer|: runtime error: ")

# ==== Running in parallel (pytest-xdist) ========================================
# scripts/test runs the suite as two passes (docs/security.md "A suite that
# holds on a busy machine"):
#   pytest -n 2 --dist loadfile -m "not serial"   the bulk, two workers
#   pytest -m serial                              the rest, one at a time
# --dist loadfile keeps each test file on one worker (its module fixtures and
# the order its tests rely on stay as they were).  Each worker is a process of
# its own with its own tmp_path root (pytest-xdist gives each worker a
# basetemp of its own), its own session fixtures (api_template), its own
# daemons on ports the kernel picks (--listen 127.0.0.1:0), its own SMTP sinks
# (port 0) and, in PostgreSQL mode, its own throwaway cluster (started on
# first use, a Unix socket in its own temporary directory).
#
# A test that must not overlap with another worker's tests (it measures time
# or throughput, waits against a tight deadline on purpose, or needs much
# memory) asks for the serial pass: `pytestmark = pytest.mark.serial` in a
# new file, or @pytest.mark.serial on one test; existing ones are listed in
# SERIAL below (file name, or file::test name prefix).
SERIAL = (
    "test_busy_machine.py",           # the load-sensitive cases themselves
    "test_perf_paths.py",             # response times measured against limits
    "test_perf3.py",                  # a filter timed against a table walk
    "test_pg_multinode.py",           # three nodes, leases measured in real time
    "test_imports.py::test_progress_of_a_big_import",  # 42,000 rows against an 80 s limit
    "test_shutdown.py",               # drains and deadlines measured in real time
    "test_trust_policy.py",           # CPU-time limits of policy calls (a neighbour's load counts)
    "test_policies.py::test_an_endless_loop_is_refused_without_stalling_the_daemon",
    "test_hostile.py",                # slowloris and floods against the daemon's limits
)


def _serial(item):
    path, sep, rest = item.nodeid.partition("::")
    name = Path(path).name + sep + rest  # test_x.py::test_y[params]
    return any(name == s or name.startswith(s + ("" if "::" in s else "::")) for s in SERIAL)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _serial(item):
            item.add_marker(pytest.mark.serial)


def pytest_configure(config):
    config.addinivalue_line("markers", "watchdog(seconds): this test's watchdog instead of TEST_TIMEOUT")
    config.addinivalue_line("markers", "serial: run in the serial pass, never beside another worker's tests "
                            "(conftest.py, 'Running in parallel')")
    for exe in (RENEWD, RENEWCTL):
        if not os.access(exe, os.X_OK):
            raise pytest.UsageError(
                f"{exe} is missing: build first (scripts/build) or set RENEWD_BUILD to an absolute build dir")
    _pg_check()


# ==== PostgreSQL mode (added for issue 19, docs/scaling.md) =====================
# RENEWD_TEST_STORE=postgresql runs the tests against renewd on PostgreSQL: one
# throwaway cluster (tests/integration/pgcluster.py) per test process (each
# xdist worker its own, started on first use), one
# database per data directory.  renewd and renewctl get --store URL beside
# --data; copy_store copies the database too (CREATE DATABASE ... TEMPLATE).
# scripts/test runs a subset this way (the "integration on PostgreSQL" line).
PG_MODE = os.environ.get("RENEWD_TEST_STORE", "lmdb") == "postgresql"
PG = None  # the session's cluster in PostgreSQL mode


def _pg_check():
    if not PG_MODE:
        return
    import pgcluster
    if not pgcluster.available():
        raise pytest.UsageError(f"RENEWD_TEST_STORE=postgresql needs initdb and pg_ctl in {pgcluster.PG_BIN} "
                                "(Debian's postgresql-15; scripts/deps installs it)")


def _pg():
    """The cluster of this process (one per xdist worker), started on first
    use: the xdist controller, which runs no test, starts none."""
    global PG
    if PG is None:
        import pgcluster
        PG = pgcluster.PgCluster().init().start()
    return PG


def pytest_unconfigure(config):
    global PG
    if PG is not None:
        PG.destroy()
        PG = None


def store_args(data):
    """The --store flag for data's database in PostgreSQL mode; nothing on LMDB."""
    if not PG_MODE or data is None:
        return []
    import pgcluster
    return ["--store", _pg().url(_pg().ensure_db(pgcluster.db_for_dir(data)))]

# ==== end of PostgreSQL mode ===================================================


class WatchdogTimeout(Exception):
    pass


@pytest.fixture(autouse=True)
def watchdog(request):
    """Fails (rather than hangs) a test that runs past TEST_TIMEOUT, or past
    the seconds of its @pytest.mark.watchdog(N) (a test whose own work is
    that much CPU time, so that a busy machine stretches it: say why)."""
    m = request.node.get_closest_marker("watchdog")
    limit = int(m.args[0]) if m else TEST_TIMEOUT

    def on_alarm(signum, frame):
        raise WatchdogTimeout(f"test exceeded {limit} s watchdog")
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(limit)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


# ---- renewctl -----------------------------------------------------------


def renewctl(*args, data=None, timeout=CTL_TIMEOUT, check=False, input=None):
    """Runs renewctl (with data's --store in PostgreSQL mode; input: its
    standard input, e.g. a password for --password-stdin); returns the
    CompletedProcess (text output)."""
    cmd = [str(RENEWCTL)]
    if data is not None:
        cmd += ["--data", str(data)] + store_args(data)
    cmd += [str(a) for a in args]
    stdin = {"stdin": subprocess.DEVNULL} if input is None else {"input": input}
    p = subprocess.run(cmd, **stdin, capture_output=True, text=True, timeout=timeout)
    if check:
        assert p.returncode == 0, f"{cmd} exited {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
    return p


def demo_load(data):
    p = renewctl("demo-load", DEMO, data=data, check=True)
    return p


def run_renewd_expect_failure(args, timeout=10.0, **kw):
    """Runs renewd that is expected to refuse to start; returns
    (returncode, stderr).  subprocess.run kills it on timeout."""
    try:
        p = subprocess.run([str(RENEWD)] + [str(a) for a in args], stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"renewd {args} was expected to exit but was still running after {timeout} s "
                    f"(stderr so far: {e.stderr!r})")
    return p.returncode, p.stderr


# ---- LMDB (only while no renewd runs on the directory) ---------------------


def table_entries(data, name="t:contracts"):
    """Entries in one named DB, read with python3-lmdb.  Only call this
    while the daemon is stopped: lock=False is unsafe next to a writer.
    In PostgreSQL mode: the rows of the same table or index (docs/scaling.md)."""
    if PG_MODE:
        import pgcluster
        kind, _, rest = name.partition(":")
        table, _, index = rest.partition(":")
        db = _pg().ensure_db(pgcluster.db_for_dir(data))
        exists = _pg().psql(db, f"SELECT to_regclass('{kind}_{table}') IS NOT NULL").strip() == "t"
        if not exists:
            return 0
        where = f" WHERE ix = '{index}'" if kind == "i" else ""
        return int(_pg().psql(db, f"SELECT count(*) FROM {kind}_{table}{where}").strip())
    import lmdb
    env = lmdb.open(str(data), readonly=True, max_dbs=128, lock=False, subdir=True)
    try:
        db = env.open_db(name.encode(), create=False)
        with env.begin() as txn:
            return txn.stat(db)["entries"]
    finally:
        env.close()


# ---- HTTP -----------------------------------------------------------------


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # http.client.HTTPMessage (case-insensitive)
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<Response {self.status} {self.body[:200]!r}>"


def http_request(port, method, path, body=None, headers=None, timeout=5.0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, r.headers, data)
    finally:
        conn.close()


def recv_http_response(sock, deadline):
    """Reads one complete HTTP/1.1 response (Content-Length framed) from a
    raw socket.  Returns (status, headers dict lower-cased, body) or raises
    AssertionError if the connection ends early or the deadline passes."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += _recv_some(sock, deadline, buf)
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
    assert m, f"not an HTTP status line: {lines[0]!r}"
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    assert "content-length" in headers, f"response without Content-Length: {head!r}"
    n = int(headers["content-length"])
    while len(rest) < n:
        rest += _recv_some(sock, deadline, rest)
    return int(m.group(1)), headers, rest[:n]


def _recv_some(sock, deadline, sofar):
    left = deadline - time.monotonic()
    if left <= 0:
        raise AssertionError(f"timed out reading an HTTP response (got {sofar[:300]!r})")
    sock.settimeout(left)
    try:
        chunk = sock.recv(65536)
    except socket.timeout:
        raise AssertionError(f"timed out reading an HTTP response (got {sofar[:300]!r})")
    if not chunk:
        raise AssertionError(f"connection closed before a complete response (got {sofar[:300]!r})")
    return chunk


def raw_connect(port, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def wait_closed(sock, timeout):
    """True if the peer closes (EOF or reset) within timeout; data that
    arrives first (an error response) is read and ignored."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        sock.settimeout(left)
        try:
            if not sock.recv(65536):
                return True
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True


# ---- the daemon -------------------------------------------------------------


class Daemon:
    """One renewd process.  stderr goes to a file (never a pipe that could
    fill up and block the daemon)."""

    def __init__(self, data, args, log_path, env=None):
        self.data = Path(data)
        self.args = list(args)
        self.log_path = Path(log_path)
        open(self.log_path, "wb").close()
        self._log = open(self.log_path, "ab")  # O_APPEND: lines written beside the daemon's are kept
        self.proc = subprocess.Popen([str(RENEWD), "--data", str(self.data), "--listen", "127.0.0.1:0"]
                                     + store_args(self.data) + self.args,
                                     stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                     env=env)
        self.port = None

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_ready(self, timeout=START_TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = LISTEN_RE.search(self.log())
            if m:
                self.port = int(m.group(1))
                return self.port
            if self.proc.poll() is not None:
                raise AssertionError(f"renewd exited with {self.proc.returncode} before listening:\n{self.log()}")
            time.sleep(0.01)
        raise AssertionError(f"renewd did not log 'listening on' within {timeout} s:\n{self.log()}")

    def running(self):
        return self.proc.poll() is None

    def get(self, path, **kw):
        return http_request(self.port, "GET", path, **kw)

    def request(self, method, path, **kw):
        return http_request(self.port, method, path, **kw)

    def send(self, sig):
        if self.running():
            self.proc.send_signal(sig)

    def wait(self, timeout=STOP_TIMEOUT):
        """Waits for the exit; fails (and kills) if it takes longer."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f"renewd (pid {self.pid}) still running {timeout} s later:\n{self.log()}")

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        """Signals and waits; asserts a clean exit (code 0: under ASan this
        is also where LeakSanitizer reports show up)."""
        self.send(sig)
        rc = self.wait(timeout)
        assert rc == 0, f"renewd exited with {rc} after {sig!r}:\n{self.log()}"
        assert "stopped cleanly" in self.log(), self.log()
        self.assert_no_sanitizer_report()
        return rc

    def sanitizer_report(self):
        """The sanitizers' report in the log (ASan build), or None."""
        log = self.log()
        m = SANITIZER_RE.search(log)
        return log[max(0, m.start() - 200):m.start() + 6000] if m else None

    def assert_no_sanitizer_report(self):
        report = self.sanitizer_report()
        assert report is None, f"renewd (pid {self.pid}) logged a sanitizer report:\n{report}"

    def finish(self, timeout=STOP_TIMEOUT):
        """At teardown: a daemon still running is stopped with SIGTERM and
        must exit 0 (under ASan, LeakSanitizer runs at that exit and a leak
        makes the exit status non-zero); whatever became of it, its log must
        hold no sanitizer report.  Returns a list of problems (empty: none)."""
        problems = []
        if self.running():
            self.send(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                problems.append(f"renewd (pid {self.pid}) still running {timeout} s after SIGTERM at teardown")
                rc = 0
            if rc != 0:
                problems.append(f"renewd (pid {self.pid}) exited with {rc} after SIGTERM at teardown")
        report = self.sanitizer_report()
        if report:
            problems.append(f"renewd (pid {self.pid}) logged a sanitizer report:\n{report}")
        if problems:
            problems.append(f"its log ({self.log_path}):\n{self.log()[-8000:]}")
        return problems

    def kill(self):
        if self.running():
            self.proc.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def close(self):
        self.kill()
        if not self._log.closed:
            self._log.close()


@pytest.fixture
def daemon(tmp_path):
    """Factory: daemon(data=None, demo=False, args=(), wait=True).

    Without data, a fresh directory under tmp_path is made (and, with
    demo=True, loaded with examples/demo/demo.json by renewctl first).
    At teardown every daemon started here that still runs is stopped with
    SIGTERM and must exit 0, and no daemon's log may hold a sanitizer report
    (under ASan: LeakSanitizer's leak report at exit fails the test); one
    that does not stop within STOP_TIMEOUT is killed and fails the test."""
    started = []
    counter = [0]

    def start(data=None, demo=False, args=(), wait=True, env=None):
        counter[0] += 1
        if data is None:
            data = tmp_path / f"data{counter[0]}"
            data.mkdir()
        if demo:
            demo_load(data)
        d = Daemon(data, args, tmp_path / f"renewd{counter[0]}.log", env=env)
        started.append(d)
        if wait:
            d.wait_ready()
        return d

    yield start
    problems = []
    for d in started:
        try:
            problems += d.finish()
        finally:
            d.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def demo_store(tmp_path):
    """A data directory loaded with the demo data set (no daemon)."""
    data = tmp_path / "demo-store"
    data.mkdir()
    demo_load(data)
    return data


def copy_store(src, dst):
    """Copies a stopped store's directory (data.mdb, lock files); in
    PostgreSQL mode its database too."""
    shutil.copytree(src, dst)
    if PG_MODE:
        import pgcluster
        _pg().create_db(pgcluster.db_for_dir(dst), template=_pg().ensure_db(pgcluster.db_for_dir(src)))
    return dst


def assert_json_error(resp, status, code=None):
    """The one error shape: {"error":{"code":str,"message":str,"field":null|str}}
    served as application/json.  resp is a Response or (status, headers, body)."""
    if isinstance(resp, Response):
        got_status, ctype, body = resp.status, resp.headers.get("content-type", ""), resp.body
    else:
        got_status, headers, body = resp
        ctype = headers.get("content-type", "")
    assert got_status == status, f"expected {status}, got {got_status}: {body[:300]!r}"
    assert ctype.split(";")[0].strip() == "application/json", f"content-type {ctype!r} for {body[:300]!r}"
    doc = json.loads(body)
    assert isinstance(doc, dict) and set(doc) == {"error"}, doc
    err = doc["error"]
    assert isinstance(err, dict) and set(err) == {"code", "message", "field"}, err
    assert isinstance(err["code"], str) and err["code"], err
    assert isinstance(err["message"], str) and err["message"], err
    assert err["field"] is None or isinstance(err["field"], str), err
    if code is not None:
        assert err["code"] == code, err
    return err


# ==== API world (test_api_crud.py, test_api_auth.py, test_roles.py) =============
#
# One store is prepared per test session: the demo vendor "sentinel", a second
# vendor "othervendor", one user per role, and a few records made through the
# API.  Each test module that asks for `api` gets its own copy of that store
# and its own daemon (so modules that write cannot disturb each other), which
# is stopped at the end of the module with a clean-exit check (under ASan: no
# leak reports).
#
# Ids are per vendor, so othervendor's records are given ids that sentinel
# does not have (FOREIGN_MARGIN above sentinel's largest): GET .../{id} on
# such an id by a sentinel caller must answer 404, not another record.

API_PASSWORD = "correct-horse-battery"  # every user made with a password has this one
API_FOREIGN_MARGIN = 40


def api_request(port, method, path, body=None, token=None, cookie=None, headers=None, source=None, timeout=10.0):
    """One HTTP request to the API.  body: dict/list (sent as JSON), bytes or
    str (sent as is).  token: Authorization: Bearer; cookie: rd_session.
    source: a loopback address to connect from (the login limiter counts per
    client address)."""
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    if cookie is not None:
        h["Cookie"] = f"rd_session={cookie}"
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
        h.setdefault("Content-Type", "application/json")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    try:
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        return Response(r.status, r.headers, r.read())
    finally:
        conn.close()


def api_ok(resp, status=200):
    """Asserts the status and returns the JSON body (None for 204)."""
    assert resp.status == status, f"expected {status}, got {resp.status}: {resp.body[:400]!r}"
    if status == 204:
        assert resp.body == b"", resp.body
        return None
    assert resp.headers.get("content-type", "").startswith("application/json"), resp.headers
    return resp.json()


def api_list_all(port, path, token, limit=500):
    """Every item of a list endpoint, following next_cursor."""
    sep = "&" if "?" in path else "?"
    items, cursor = [], None
    for _ in range(1000):
        url = f"{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        doc = api_ok(api_request(port, "GET", url, token=token))
        items += doc["items"]
        cursor = doc["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError(f"{path}: next_cursor never ended")


class ApiWorld:
    """What the prepared store holds: tokens by principal name, user ids,
    record ids by name, and ids that exist only in othervendor."""

    def __init__(self):
        self.tokens = {}     # principal -> API token (secret)
        self.user_ids = {}   # principal -> user id
        self.emails = {}     # principal -> e-mail
        self.partners = {}   # external id -> id (sentinel)
        self.customers = {}  # name -> id (sentinel)
        self.contracts = {}  # name -> id (sentinel)
        self.contacts = {}   # name -> id (sentinel)
        self.imports = {}    # name -> id (sentinel)
        self.foreign = {}    # resource -> an id that exists in othervendor only
        self.foreign_token_id = None  # othervendor admin's API token id


# Sentinel's principals: (name, e-mail, role, partner external id, with password)
API_PRINCIPALS = [
    ("admin", "admin@sentinel.example", "vendor-admin", None, True),
    ("gone", "gone@sentinel.example", "vendor-sales", None, False),  # deleted: leaves a hole at user id 2
    ("cm", "cm@sentinel.example", "channel-manager", None, True),
    ("vsales", "vsales@sentinel.example", "vendor-sales", None, True),
    ("gold-admin", "gold-admin@sentinel.example", "partner-admin", "RES-GOLD", True),
    ("gold-sales", "gold-sales@sentinel.example", "partner-sales", "RES-GOLD", True),
    ("dist-admin", "dist-admin@sentinel.example", "partner-admin", "DIST-NW", True),
    ("dist-sales", "dist-sales@sentinel.example", "partner-sales", "DIST-NW", True),
]
API_DEMO_PARTNERS = {"DIST-NW": 1, "RES-PLAT": 2, "RES-GOLD": 3, "RES-SILV": 4}


def _api_user_create(data, slug, email, role, partner=None, password=False):
    cmd = [str(RENEWCTL), "--data", str(data)] + store_args(data) + ["user", "create", "--vendor", slug, "--email",
                                                                     email, "--role", role]
    if partner:
        cmd += ["--partner", str(partner)]
    if password:
        cmd += ["--password-stdin"]
    p = subprocess.run(cmd, input=API_PASSWORD + "\n" if password else "", capture_output=True, text=True,
                       timeout=CTL_TIMEOUT)
    assert p.returncode == 0, f"{cmd}: {p.returncode}\n{p.stdout}\n{p.stderr}"
    token = p.stdout.strip()
    assert re.fullmatch(r"rd_[A-Za-z0-9_-]{43}", token), p.stdout
    m = re.search(r"user (\d+) ", p.stderr)
    assert m, p.stderr
    return token, int(m.group(1))


def build_api_world(root):
    """Builds the shared store in root/data (left stopped); returns an ApiWorld."""
    data = root / "data"
    data.mkdir()
    w = ApiWorld()
    w.data = data
    demo_load(data)
    renewctl("vendor", "create", "--name", "Other Vendor Ltd", "--slug", "othervendor", "--currency", "EUR",
             data=data, check=True)
    for name, email, role, partner, pw in API_PRINCIPALS:
        tok, uid = _api_user_create(data, "sentinel", email, role, API_DEMO_PARTNERS.get(partner), pw)
        w.tokens[name], w.user_ids[name], w.emails[name] = tok, uid, email
    w.partners.update(API_DEMO_PARTNERS)
    tok, uid = _api_user_create(data, "othervendor", "admin@othervendor.example", "vendor-admin", password=True)
    w.tokens["other-admin"], w.user_ids["other-admin"], w.emails["other-admin"] = tok, uid, "admin@othervendor.example"
    tok, uid = _api_user_create(data, "othervendor", "user@othervendor.example", "vendor-sales")
    w.tokens["other-user"], w.user_ids["other-user"] = tok, uid

    d = Daemon(data, [], root / "build.log")
    try:
        port = d.wait_ready()

        def call(method, path, body=None, token=w.tokens["admin"], status=None):
            r = api_request(port, method, path, body, token=token)
            if status is not None:
                return api_ok(r, status)
            return r

        # The hole: sentinel's user 2 is deleted; othervendor's user 2 stays.
        assert w.user_ids["gone"] == 2 and w.user_ids["other-user"] == 2
        call("DELETE", f"/api/v1/users/{w.user_ids.pop('gone')}", status=204)
        w.foreign["users"] = w.user_ids.pop("other-user")
        del w.tokens["gone"], w.emails["gone"]

        # A second channel: DIST-SE with its reseller RES-SE, outside DIST-NW's scope.
        w.partners["DIST-SE"] = call("POST", "/api/v1/partners", {"external_id": "DIST-SE", "name": "Southern Distribution",
                                     "kind": "distributor", "tier": "platinum"}, status=201)["id"]
        w.partners["RES-SE"] = call("POST", "/api/v1/partners", {"external_id": "RES-SE", "name": "Seaside Resellers",
                                    "kind": "reseller", "tier": "silver", "parent_id": w.partners["DIST-SE"]},
                                    status=201)["id"]
        w.customers["se"] = call("POST", "/api/v1/customers", {"external_id": "CUST-SE-1", "name": "Seaside Dental",
                                 "country": "GB"}, status=201)["id"]
        w.contracts["se"] = call("POST", "/api/v1/contracts", {"external_id": "K-SE-1", "customer_id": w.customers["se"],
                                 "product_id": 1, "reseller_id": w.partners["RES-SE"], "quantity": 5,
                                 "start": "2026-01-01", "end": "2026-12-31"}, status=201)["id"]
        # Demo records the partner users can see: K-20003 (RES-GOLD, CUST-1002),
        # K-20005 (RES-PLAT, CUST-1004), K-20004 (RES-SILV, CUST-1003).
        by_ext = {k["external_id"]: k for k in api_list_all(port, "/api/v1/contracts", w.tokens["admin"])}
        w.contracts.update(gold=by_ext["K-20003"]["id"], plat=by_ext["K-20005"]["id"], silv=by_ext["K-20004"]["id"])
        w.customers.update(gold=by_ext["K-20003"]["customer_id"], plat=by_ext["K-20005"]["customer_id"],
                           silv=by_ext["K-20004"]["customer_id"])
        for key in ("gold", "plat", "silv", "se"):
            w.contacts[key] = call("POST", "/api/v1/contacts", {"customer_id": w.customers[key],
                                   "name": f"Contact of {key}", "email": f"{key}@contact.example"}, status=201)["id"]
        se = call("POST", "/api/v1/users", {"email": "se-sales@sentinel.example", "name": "SE sales",
                  "role": "partner-sales", "partner_id": w.partners["RES-SE"], "password": API_PASSWORD}, status=201)
        w.user_ids["se-sales"], w.emails["se-sales"] = se["id"], se["email"]
        w.imports["first"] = _api_dry_import(port, w.tokens["admin"])

        # othervendor: its own channel, with ids beyond sentinel's.
        ot = w.tokens["other-admin"]
        maxima = {res: max(x["id"] for x in api_list_all(port, f"/api/v1/{res}", w.tokens["admin"]))
                  for res in ("partners", "customers", "products", "contracts", "contacts")}
        for i in range(maxima["partners"] + API_FOREIGN_MARGIN):
            pid = call("POST", "/api/v1/partners", {"name": f"Other partner {i}", "kind": "distributor",
                       "tier": "gold", "external_id": f"OP-{i}"}, token=ot, status=201)["id"]
        w.foreign["partners"] = pid
        for i in range(maxima["customers"] + API_FOREIGN_MARGIN):
            cid = call("POST", "/api/v1/customers", {"name": f"Other customer {i}", "external_id": f"OC-{i}"},
                       token=ot, status=201)["id"]
        w.foreign["customers"] = cid
        for i in range(maxima["products"] + API_FOREIGN_MARGIN):
            prid = call("POST", "/api/v1/products", {"name": f"Other product {i}", "sku": f"OSKU-{i}",
                        "line": "Other line"}, token=ot, status=201)["id"]
        w.foreign["products"] = prid
        for i in range(maxima["contracts"] + API_FOREIGN_MARGIN):
            kid = call("POST", "/api/v1/contracts", {"customer_id": cid, "product_id": prid, "reseller_id": pid,
                       "quantity": 1, "start": "2026-01-01", "end": "2026-12-31", "external_id": f"OK-{i}"},
                       token=ot, status=201)["id"]
        w.foreign["contracts"] = kid
        for i in range(maxima["contacts"] + API_FOREIGN_MARGIN):
            ctid = call("POST", "/api/v1/contacts", {"customer_id": cid, "name": f"Other contact {i}"},
                        token=ot, status=201)["id"]
        w.foreign["contacts"] = ctid
        for i in range(10):
            w.foreign["imports"] = _api_dry_import(port, ot)
        toks = call("GET", "/api/v1/tokens", token=ot, status=200)["items"]
        mine = [t for t in toks if t["user_id"] == w.user_ids["other-admin"]]
        assert len(mine) == 1, toks
        w.foreign_token_id = mine[0]["id"]
        d.stop()
    finally:
        d.close()
    return w


def _api_dry_import(port, token):
    """A one-row dry-run import; waits for it to finish.  Returns its id."""
    r = api_request(port, "POST", "/api/v1/imports?kind=customers&format=jsonl&dry_run=true",
                    b'{"external_id": "IMP-1", "name": "Imported Ltd"}\n', token=token)
    doc = api_ok(r, 202)
    deadline = time.monotonic() + 10
    while doc["status"] == "running":
        assert time.monotonic() < deadline, doc
        time.sleep(0.01)
        doc = api_ok(api_request(port, "GET", f"/api/v1/imports/{doc['id']}", token=token))
    assert doc["status"] == "succeeded", doc
    return doc["id"]


@pytest.fixture(scope="session")
def api_template(tmp_path_factory):
    """The prepared (stopped) store and what it holds; built once."""
    return build_api_world(tmp_path_factory.mktemp("api-template"))


class ApiDaemon:
    """A daemon on a private copy of the prepared store."""

    def __init__(self, daemon, world):
        self.daemon = daemon
        self.world = world
        self.port = daemon.port

    def call(self, method, path, body=None, token=None, as_=None, **kw):
        """as_: a principal name whose token to use."""
        if as_ is not None:
            token = self.world.tokens[as_]
        return api_request(self.port, method, path, body, token=token, **kw)

    def ok(self, method, path, body=None, status=200, as_="admin", **kw):
        return api_ok(self.call(method, path, body, as_=as_, **kw), status)

    def all(self, path, as_="admin", limit=500):
        return api_list_all(self.port, path, self.world.tokens[as_], limit)


def api_daemon(api_template, tmp_path_factory, name="api", args=()):
    """For a module's fixture (yield from it): a daemon with args on a
    fresh copy of the prepared store, stopped cleanly at the module's end."""
    root = tmp_path_factory.mktemp(name)
    data = copy_store(api_template.data, root / "data")
    d = Daemon(data, list(args), root / "renewd.log")
    try:
        d.wait_ready()
        yield ApiDaemon(d, api_template)
        assert d.running(), f"renewd died during the module:\n{d.log()}"
        d.stop()
    finally:
        d.close()


@pytest.fixture(scope="module")
def api(api_template, tmp_path_factory):
    """Module-scoped: a daemon on a fresh copy of the prepared store."""
    yield from api_daemon(api_template, tmp_path_factory)

# ==== end of API world ==========================================================


# ==== channel-data API helpers (added for test_imports.py, test_duplicates.py,
# ==== test_audit.py): API tokens made by renewctl, a JSON client, imports ====


def api_user(data, email="admin@sentinel.example", role="vendor-admin", partner=None, vendor="sentinel"):
    """Creates a user with renewctl (renewd must be stopped) and returns
    (token, user_id)."""
    args = ["user", "create", "--vendor", vendor, "--email", email, "--role", role]
    if partner is not None:
        args += ["--partner", partner]
    p = renewctl(*args, data=data, check=True)
    token = p.stdout.strip()
    m = re.search(r"user (\d+) ", p.stderr)
    assert token and m, (p.stdout, p.stderr)
    return token, int(m.group(1))


class ApiClient:
    """JSON calls with a bearer token against one Daemon."""

    def __init__(self, daemon, token, user_id=None):
        self.daemon, self.token, self.user_id = daemon, token, user_id

    def call(self, method, path, body=None, headers=None, timeout=30.0):
        h = {"Authorization": f"Bearer {self.token}"}
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        h.update(headers or {})
        return http_request(self.daemon.port, method, path, body=body, headers=h, timeout=timeout)

    def ok(self, method, path, body=None, status=None, timeout=30.0):
        """The call's JSON, asserting a 2xx (or exactly `status`)."""
        r = self.call(method, path, body, timeout=timeout)
        if status is None:
            assert 200 <= r.status < 300, f"{method} {path}: {r}"
        else:
            assert r.status == status, f"{method} {path}: expected {status}: {r}"
        return r.json() if r.body else None

    def get(self, path, timeout=30.0):
        return self.ok("GET", path, timeout=timeout)

    def items(self, path, limit=500):
        """Every item of a list, following next_cursor."""
        out, cursor = [], None
        sep = "&" if "?" in path else "?"
        for _ in range(10000):
            page = self.get(f"{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else ""))
            out += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return out
        raise AssertionError(f"{path}: the cursor never ended")

    def import_start(self, kind, body, fmt="csv", **params):
        q = f"kind={kind}&format={fmt}" + "".join(f"&{k}={v}" for k, v in params.items())
        return self.call("POST", f"/api/v1/imports?{q}", body=body)

    def import_wait(self, import_id, timeout=30.0, on_poll=None):
        """Polls GET /api/v1/imports/{id} until it is no longer running."""
        deadline = time.monotonic() + timeout
        while True:
            # Each poll may wait as long as the whole wait has left (a busy
            # machine; the rows themselves are written off the loop thread).
            doc = self.get(f"/api/v1/imports/{import_id}", timeout=max(5.0, deadline - time.monotonic()))
            if on_poll:
                on_poll(doc)
            if doc["status"] != "running":
                return doc
            assert time.monotonic() < deadline, f"import {import_id} still running after {timeout} s: {doc}"
            time.sleep(0.01)

    def run_import(self, kind, body, fmt="csv", timeout=30.0, **params):
        """Starts an import (asserting 202) and returns its finished record."""
        r = self.import_start(kind, body, fmt, **params)
        assert r.status == 202, r
        doc = r.json()
        assert doc["status"] == "running" and r.headers["location"] == f"/api/v1/imports/{doc['id']}", doc
        return self.import_wait(doc["id"], timeout)


def start_api(daemon, data, demo=True, args=(), users=()):
    """Loads the demo (optional) into the directory `data`, makes a
    vendor-admin plus `users` ((email, role, partner) tuples) with renewctl,
    then starts renewd.  Returns (daemon, admin ApiClient, {email: ApiClient})."""
    data = Path(data)
    data.mkdir(parents=True, exist_ok=True)
    if demo:
        demo_load(data)
    token, uid = api_user(data)
    others = {}
    for email, role, partner in users:
        others[email] = api_user(data, email=email, role=role, partner=partner)
    d = daemon(data=data, args=args)
    return d, ApiClient(d, token, uid), {e: ApiClient(d, t, u) for e, (t, u) in others.items()}

# ==== end of channel-data API helpers ====
