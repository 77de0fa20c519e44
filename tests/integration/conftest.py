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

START_TIMEOUT = 10.0  # seconds for the "listening on" line
STOP_TIMEOUT = 10.0  # seconds for a clean exit after a signal
CTL_TIMEOUT = 30.0  # seconds for one renewctl run
TEST_TIMEOUT = 90  # watchdog per test, seconds

LISTEN_RE = re.compile(r"listening on http://127\.0\.0\.1:(\d+)/")


def pytest_configure(config):
    for exe in (RENEWD, RENEWCTL):
        if not os.access(exe, os.X_OK):
            raise pytest.UsageError(
                f"{exe} is missing: build first (scripts/build) or set RENEWD_BUILD to an absolute build dir")


class WatchdogTimeout(Exception):
    pass


@pytest.fixture(autouse=True)
def watchdog():
    """Fails (rather than hangs) a test that runs past TEST_TIMEOUT."""
    def on_alarm(signum, frame):
        raise WatchdogTimeout(f"test exceeded {TEST_TIMEOUT} s watchdog")
    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TEST_TIMEOUT)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


# ---- renewctl -----------------------------------------------------------


def renewctl(*args, data=None, timeout=CTL_TIMEOUT, check=False):
    """Runs renewctl; returns the CompletedProcess (text output)."""
    cmd = [str(RENEWCTL)]
    if data is not None:
        cmd += ["--data", str(data)]
    cmd += [str(a) for a in args]
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
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
    while the daemon is stopped: lock=False is unsafe next to a writer."""
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
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([str(RENEWD), "--data", str(self.data), "--listen", "127.0.0.1:0"] + self.args,
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
        return rc

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
    Every daemon started here is killed at teardown."""
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
    for d in started:
        d.close()


@pytest.fixture
def demo_store(tmp_path):
    """A data directory loaded with the demo data set (no daemon)."""
    data = tmp_path / "demo-store"
    data.mkdir()
    demo_load(data)
    return data


def copy_store(src, dst):
    """Copies a stopped store's directory (data.mdb, lock files)."""
    shutil.copytree(src, dst)
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
