"""Clients behind a reverse proxy or a load balancer (trusted_proxies,
core/http/server.c; docs/security.md "Clients behind a proxy").

renewd's documented deployment puts a TLS-terminating proxy in front of it
(docs/operations.md), and several nodes sit behind a load balancer
(docs/scaling.md): every request then arrives from the proxy's address.  The
failed-login limiter counts per client address, so five wrong passwords by
anyone used to lock every user out of logging in for 15 minutes.  With
`trusted_proxies`, a request from one of those addresses is counted as from
the client its X-Forwarded-For names (the right-most entry that is not a
trusted proxy); without it, or from any other peer, X-Forwarded-For is
ignored, so a client cannot make up its own address.  IPv6 clients are
counted by their /64.

Every test connects from its own loopback address (the peer), so tests do
not share a budget; the proxied daemon trusts 127.0.0.0/8."""
import http.client
import itertools
import json
import time

import pytest

from conftest import API_PASSWORD, Response, api_daemon, api_ok, api_request, assert_json_error, wait_closed
from crashkit import scaled
from test_trust_review import connect_from, healthz_from

_addr = itertools.count(1)
_client = itertools.count(1)


def peer():
    """A loopback address no other test has used against these daemons."""
    n = next(_addr)
    return f"127.0.{40 + n // 250}.{1 + n % 250}"


def client():
    """A documentation address (RFC 5737) no other test has used."""
    n = next(_client)
    return f"203.0.{113 + n // 250}.{1 + n % 250}"


def login(api, email, source, xff=None, password=API_PASSWORD):
    headers = {"X-Forwarded-For": xff} if xff is not None else None
    return api_request(api.port, "POST", "/api/v1/session",
                       {"vendor": "sentinel", "email": email, "password": password}, source=source, headers=headers)


def fail(api, n, source, xff=None):
    """n wrong passwords for n unknown users: only the address's budget is spent."""
    for _ in range(n):
        who = f"nobody{next(_client)}@sentinel.example"
        assert_json_error(login(api, who, source, xff, "not-the-password"), 401)


def assert_429(resp):
    assert_json_error(resp, 429, "too_many_attempts")
    assert resp.headers.get("retry-after", "").isdigit(), resp.headers


@pytest.fixture(scope="module")
def proxied(api_template, tmp_path_factory):
    """A daemon that trusts the loopback as its proxies."""
    yield from api_daemon(api_template, tmp_path_factory, "proxied", ["--trusted-proxies", "127.0.0.0/8, ::1"])


def test_clients_behind_a_trusted_proxy_each_have_their_own_budget(proxied):
    proxy, a, b = peer(), client(), client()
    email = proxied.world.emails["gold-admin"]
    fail(proxied, 5, proxy, a)
    assert_429(login(proxied, email, proxy, a))
    # another client behind the same proxy logs in (before: 429 for everyone)
    api_ok(login(proxied, email, proxy, b))
    # the proxy's own budget is untouched: a request it sends without the header
    api_ok(login(proxied, email, proxy))
    # the access log names the client, not the proxy
    assert f" client={b} " in proxied.daemon.log()


def test_what_a_client_writes_left_of_the_proxy_is_never_believed(proxied):
    """X-Forwarded-For as a proxy that appends sends it: the client's own
    entries first, then the address the proxy saw.  Only the right-most
    entry that is not a trusted proxy counts, whatever comes before it."""
    proxy, a = peer(), client()
    email = proxied.world.emails["gold-admin"]
    for i in range(5):  # a fresh made-up address each time, then the real one
        who = f"nobody{next(_client)}@sentinel.example"
        assert_json_error(login(proxied, who, proxy, f"198.51.100.{i + 1}, {a}", "wrong-password"), 401)
    assert_429(login(proxied, email, proxy, f"198.51.100.99, {a}"))
    assert_429(login(proxied, email, proxy, a))
    # two proxies in a row (a load balancer behind the TLS proxy): both trusted, skipped
    assert_429(login(proxied, email, proxy, f"{a}, 127.0.0.9"))
    # the header in several lines is one list, in order (a proxy that adds
    # a line adds it last), however many lines the client sent before it
    assert_429(in_lines(proxied.port, proxy, email, ["198.51.100.7", a]))
    assert_429(in_lines(proxied.port, proxy, email, [f"198.51.100.{i}" for i in range(1, 40)] + [a]))
    assert_json_error(in_lines(proxied.port, proxy, f"nobody{next(_client)}@sentinel.example", [a, client()],
                               "wrong-password"), 401)  # its last line names another client


def in_lines(port, source, email, lines, password=API_PASSWORD):
    """A login whose X-Forwarded-For comes in several header lines."""
    body = json.dumps({"vendor": "sentinel", "email": email, "password": password}).encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10, source_address=(source, 0))
    try:
        conn.putrequest("POST", "/api/v1/session")
        conn.putheader("Content-Type", "application/json")
        conn.putheader("Content-Length", str(len(body)))
        for line in lines:
            conn.putheader("X-Forwarded-For", line)
        conn.endheaders(body)
        r = conn.getresponse()
        return Response(r.status, r.headers, r.read())
    finally:
        conn.close()


def test_an_entry_that_is_not_an_address_leaves_the_proxy_as_the_client(proxied):
    """Past an entry that is not an address the client is the nearest proxy:
    such requests share the proxy's budget, never one made up."""
    proxy, b = peer(), client()
    email = proxied.world.emails["gold-admin"]
    for junk in ("unknown", "not an address", "1.2.3.4.5", "", "203.0.113.1:4711"):
        fail(proxied, 1, proxy, junk)
    assert_429(login(proxied, email, proxy))  # the proxy's budget: spent by the five
    assert_429(login(proxied, email, proxy, "garbage"))
    api_ok(login(proxied, email, proxy, b))  # a well-formed client is still its own


def test_ipv6_clients_are_counted_by_their_64(proxied):
    proxy = peer()
    email = proxied.world.emails["gold-admin"]
    for i in range(5):  # five addresses of one /64
        fail(proxied, 1, proxy, f"2001:db8:0:7::{i + 1}")
    assert_429(login(proxied, email, proxy, "2001:db8:0:7:ffff::1"))
    api_ok(login(proxied, email, proxy, "2001:db8:0:8::1"))  # the next /64


def test_without_trusted_proxies_the_header_is_ignored(api):
    """The default: no proxy is trusted, X-Forwarded-For changes nothing (a
    client cannot spread its guesses over addresses it makes up)."""
    source = peer()
    email = api.world.emails["gold-admin"]
    for i in range(5):
        fail(api, 1, source, f"198.51.100.{i + 1}")
    assert_429(login(api, email, source, "198.51.100.200"))
    api_ok(login(api, email, peer(), "198.51.100.1"))


@pytest.mark.parametrize("value", ["10.0.0.0/33", "2001:db8::/129", "proxy.example", "10.0.0.1,,10.0.0.2",
                                   "10.0.0.0/", "10.0.0.0/x"])
def test_a_trusted_proxies_value_that_is_not_addresses_is_refused_at_start(daemon, value):
    d = daemon(args=["--trusted-proxies", value], wait=False)
    rc = d.wait(20)
    assert rc != 0, d.log()
    assert "trusted_proxies" in d.log(), d.log()


def test_a_trusted_proxys_connections_are_capped_by_max_connections_only(daemon):
    """max_client_connections caps one client's share of max_connections;
    a trusted proxy's connections carry many clients, so only
    max_connections caps them (before: the proxy was one client, and its
    users were refused past max_client_connections).  Any other address is
    capped as before."""
    d = daemon(args=["--max-connections", "16", "--max-client-connections", "2",
                     "--trusted-proxies", "127.0.0.77"])
    held = []
    try:
        for source in ["127.0.0.77"] * 6 + ["127.0.0.78"] * 4:
            s = connect_from(source, d.port)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nX-Slow: ")
            held.append((source, s))
        # the other address's connections past its share are closed at
        # accept (a bounded wait: the loop may be slow on a busy machine);
        # by then every connection of the proxy, connected before them,
        # has been accepted too, and none of those is closed
        other = [s for x, s in held if x == "127.0.0.78"]
        closed = set()
        deadline = time.monotonic() + scaled(10, 20)
        while len(closed) < 2 and time.monotonic() < deadline:
            closed |= {i for i, s in enumerate(other) if i not in closed and wait_closed(s, 0.05)}
        assert len(closed) == 2, f"{len(closed)} of 127.0.0.78's 4 connections were closed, not 2"
        assert not any(wait_closed(s, 0.1) for i, s in enumerate(other) if i not in closed), "more than 2 closed"
        proxy_closed = sum(1 for x, s in held if x == "127.0.0.77" and wait_closed(s, 0.1))
        assert proxy_closed == 0, f"{proxy_closed} of the trusted proxy's 6 connections were closed"
        assert healthz_from("127.0.0.77", d.port) == 200
    finally:
        for _, s in held:
            s.close()
