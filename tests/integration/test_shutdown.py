"""Graceful shutdown on SIGTERM / SIGINT."""
import signal
import socket
import time

import pytest

from conftest import raw_connect, recv_http_response


def assert_refuses_connections(port, timeout=2.0):
    """After the signal the listener is closed: new connections fail."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=1)
        except (ConnectionRefusedError, socket.timeout):
            return
        s.close()
        assert time.monotonic() < deadline, "renewd still accepts connections after SIGTERM"
        time.sleep(0.02)


def test_sigterm_waits_for_request_in_flight(daemon):
    d = daemon(demo=True)
    s = raw_connect(d.port)
    try:
        s.sendall(b"POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\n"
                  b"Content-Length: 10000\r\n\r\n" + b"x" * 4000)
        # A full round trip on another connection: the loop has read the
        # head of the POST by the time this answer comes back.
        assert d.get("/healthz").status == 200
        d.send(signal.SIGTERM)
        deadline = time.monotonic() + 5
        while "stop accepting" not in d.log():
            assert time.monotonic() < deadline, d.log()
            time.sleep(0.01)
        assert_refuses_connections(d.port)
        time.sleep(0.5)
        assert d.running(), f"renewd exited with a request in flight:\n{d.log()}"

        s.sendall(b"x" * 6000)
        status, headers, body = recv_http_response(s, time.monotonic() + 5)
        assert status == 405
        assert len(body) == int(headers["content-length"]) and body.startswith(b'{"error"')
        assert headers.get("connection", "").lower() == "close", "a draining server must not keep the connection"
    finally:
        s.close()
    t0 = time.monotonic()
    rc = d.wait(5)
    assert rc == 0, f"exit code {rc}:\n{d.log()}"
    assert time.monotonic() - t0 < 5
    log = d.log()
    assert "stopped cleanly" in log
    assert "POST /healthz 405" in log
    assert "cut off" not in log and "dropped" not in log


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_when_idle_exits_promptly(daemon, sig):
    d = daemon(demo=True)
    assert d.get("/healthz").status == 200
    t0 = time.monotonic()
    d.stop(sig, timeout=5)
    took = time.monotonic() - t0
    assert took < 3, f"idle shutdown took {took:.2f} s"


def test_idle_keepalive_connection_does_not_delay_shutdown(daemon):
    d = daemon()
    s = raw_connect(d.port)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        status, headers, _ = recv_http_response(s, time.monotonic() + 5)
        assert status == 200 and headers.get("connection", "").lower() == "keep-alive"
        t0 = time.monotonic()
        d.stop(signal.SIGTERM, timeout=5)  # the connection stays open on our side
        assert time.monotonic() - t0 < 3
    finally:
        s.close()


def test_shutdown_timeout_drops_stalled_request(daemon):
    d = daemon(args=["--shutdown-timeout-ms", "300"])
    s = raw_connect(d.port)
    try:
        s.sendall(b"POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 10000\r\n\r\nabc")
        assert d.get("/healthz").status == 200  # the loop has seen the stalled request by now
        t0 = time.monotonic()
        d.send(signal.SIGTERM)
        rc = d.wait(10)
        took = time.monotonic() - t0
    finally:
        s.close()
    assert rc == 0, f"exit code {rc}:\n{d.log()}"
    assert took < 2.0, f"took {took:.2f} s to exit with --shutdown-timeout-ms 300"
    assert took >= 0.25, f"exited after {took:.2f} s: did it wait for the request at all?"
    log = d.log()
    assert "stopped cleanly" in log
    assert "dropped" in log


def test_second_signal_while_draining(daemon):
    d = daemon(args=["--shutdown-timeout-ms", "1000"])
    s = raw_connect(d.port)
    try:
        s.sendall(b"POST /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc")
        assert d.get("/healthz").status == 200
        d.send(signal.SIGTERM)
        deadline = time.monotonic() + 5
        while "stop accepting" not in d.log():
            assert time.monotonic() < deadline, d.log()
            time.sleep(0.01)
        d.send(signal.SIGINT)
        while "still draining" not in d.log():
            assert d.running() and time.monotonic() < deadline, d.log()
            time.sleep(0.01)
        s.sendall(b"y" * 97)
        status, _, _ = recv_http_response(s, time.monotonic() + 5)
        assert status == 405
    finally:
        s.close()
    assert d.wait(5) == 0, d.log()
    assert "stopped cleanly" in d.log()
