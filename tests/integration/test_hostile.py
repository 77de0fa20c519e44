"""Slow, stalled, oversized and numerous clients."""
import socket
import struct
import threading
import time

from conftest import raw_connect, recv_http_response, wait_closed


def get_healthz_promptly(d, within=2.0):
    t0 = time.monotonic()
    r = d.get("/healthz", timeout=within)
    took = time.monotonic() - t0
    assert r.status == 200
    assert took < within, f"/healthz took {took:.2f} s"


def test_stalled_client_does_not_block_others(daemon):
    d = daemon(demo=True)  # default request timeout (10 s): the stall outlives the test
    stalled = []
    try:
        s = raw_connect(d.port)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Half: ")  # half a header block
        stalled.append(s)
        s = raw_connect(d.port)
        s.sendall(b"POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n" + b"x" * 100)  # half a body
        stalled.append(s)
        s = raw_connect(d.port)  # connected, nothing sent
        stalled.append(s)
        for _ in range(3):
            get_healthz_promptly(d)
        # The stalled ones really are still pending (not answered, not closed).
        for s in stalled:
            s.settimeout(0.2)
            try:
                data = s.recv(1024)
                raise AssertionError(f"a stalled request got {data!r}")
            except socket.timeout:
                pass
    finally:
        for s in stalled:
            s.close()
    assert d.running()


def test_request_timeout_closes_stalled_connections(daemon):
    d = daemon(args=["--request-timeout-ms", "500"])
    partial = [
        b"GET /healthz HTTP/1.1\r\nHost: t\r\n",  # headers never end
        b"POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\nabc",  # body never ends
        b"",  # nothing at all
    ]
    socks = []
    for p in partial:
        s = raw_connect(d.port)
        if p:
            s.sendall(p)
        socks.append(s)
    t0 = time.monotonic()
    try:
        for s, p in zip(socks, partial):
            assert wait_closed(s, 5.0), f"connection with {p!r} still open 5 s after a 500 ms request timeout"
        took = time.monotonic() - t0
        assert took >= 0.3, f"closed after {took:.2f} s: before the request timeout?"
    finally:
        for s in socks:
            s.close()
    get_healthz_promptly(d)


def test_trickled_body_is_cut_off(daemon):
    """One byte every 50 ms keeps a connection busy but never finishes the
    request: the request timeout bounds the whole request, not each read."""
    d = daemon(args=["--request-timeout-ms", "500"])
    s = raw_connect(d.port)
    s.sendall(b"POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n")
    t0 = time.monotonic()
    closed = False
    try:
        while time.monotonic() - t0 < 5.0:
            try:
                s.sendall(b"a")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            s.settimeout(0.05)
            try:
                if s.recv(65536) == b"":
                    closed = True
                    break
            except socket.timeout:
                pass
            except ConnectionResetError:
                closed = True
                break
    finally:
        s.close()
    assert closed, "a trickling client kept its connection for 5 s despite --request-timeout-ms 500"
    get_healthz_promptly(d)


def test_huge_header_refused(daemon):
    d = daemon()
    s = raw_connect(d.port)
    try:
        req = b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * (100 * 1024) + b"\r\n\r\n"
        try:
            s.sendall(req)
            status, headers, body = recv_http_response(s, time.monotonic() + 5)
        except (AssertionError, ConnectionResetError, BrokenPipeError):
            status = None  # closed without an answer also counts as refused
        assert status is None or 400 <= status < 500, f"a 100 KB header was accepted with {status}"
        if status is not None:
            assert headers.get("connection", "").lower() == "close"
    finally:
        s.close()
    assert d.running()
    get_healthz_promptly(d)
    # Many normal headers still fit.
    hdrs = {f"X-H{i}": "v" * 100 for i in range(50)}
    assert d.get("/healthz", headers=hdrs).status == 200


def test_many_concurrent_connections(daemon):
    # all from one address: past max_client_connections (64) unless raised
    d = daemon(demo=True, args=["--max-client-connections", "256"])
    n = 200
    socks = []
    try:
        for _ in range(n):
            socks.append(raw_connect(d.port))
        # All 200 are open at once; now each asks.
        for i, s in enumerate(socks):
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Request-Id: c%d\r\n\r\n" % i)
        deadline = time.monotonic() + 15
        for i, s in enumerate(socks):
            status, headers, body = recv_http_response(s, deadline)
            assert status == 200
            assert headers["x-request-id"] == f"c{i}"
    finally:
        for s in socks:
            s.close()

    # And from threads, with fresh connections each.
    errors, ok = [], []

    def worker():
        try:
            for _ in range(5):
                r = d.get("/healthz", timeout=10)
                assert r.status == 200
                ok.append(1)
        except Exception as e:  # noqa: BLE001: collected and asserted below
            errors.append(repr(e))

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads), "client threads hung"
    assert not errors, errors[:5]
    assert len(ok) == 100

    # The connection gauge comes back down once the clients are gone.
    deadline = time.monotonic() + 5
    while True:
        text = d.get("/metrics").body.decode()
        line = next(line for line in text.splitlines() if line.startswith("renewd_http_connections "))
        if float(line.split()[1]) <= 1:  # only the /metrics connection itself
            break
        assert time.monotonic() < deadline, f"connection gauge stuck: {line}"
        time.sleep(0.05)
    get_healthz_promptly(d)


def test_healthy_after_abuse(daemon):
    """Everything above against one daemon in a row, then it still serves."""
    d = daemon(demo=True, args=["--request-timeout-ms", "500", "--max-body-bytes", "1024"])
    socks = [raw_connect(d.port) for _ in range(50)]
    for i, s in enumerate(socks):
        kind = i % 5
        try:
            if kind == 0:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n")
            elif kind == 1:
                s.sendall(b"GARBAGE\r\n\r\n")
            elif kind == 2:
                s.sendall(b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 9999\r\n\r\n" + b"z" * 9999)
            elif kind == 3:
                s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nX: " + b"q" * 70000 + b"\r\n\r\n")
            else:
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
    for s in socks:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST on close
        s.close()
    get_healthz_promptly(d)
    assert d.running()
