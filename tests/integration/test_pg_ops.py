"""Operating renewd on PostgreSQL (docs/scaling.md, "Operations"):

- a statement that runs past store_statement_timeout_ms (here: waiting on a
  lock another session holds) is cancelled and its request answers 503 JSON
  within a bounded time, while the node goes on serving everything else;
- /healthz and /metrics report the database: backend, reachable or not, the
  last error, the probe's round trip, reconnects, serialization retries and
  statement timeouts (promtool check metrics stays quiet);
- three nodes through the database stopped (pg_ctl stop -m fast) while
  requests are made and started again: 503 JSON meanwhile (never a hang,
  never a 500, every node stays up), then every node recovers by itself,
  nothing acknowledged before the stop is lost, an order retried under its
  idempotency key across the outage exists once, and the scheduler's claims
  resume (each action and each e-mail once).
"""
import datetime
import re
import shutil
import subprocess
import threading
import time

import pytest

import pgcluster
from pgcluster import Locker
from conftest import api_ok, api_request
from test_pg_multinode import assert_once, claims, set_clock_everywhere, swept, today, wait_delivered, world

pytestmark = pytest.mark.skipif(not pgcluster.available(), reason="postgresql-15 is not installed (scripts/deps)")

WAIT = 30.0          # seconds for anything that should happen by itself
REQ_BOUND = 8.0      # seconds a request may take at most while the database is lost or locked
STMT_TIMEOUT_MS = 800


cluster = pgcluster.cluster  # the module's cluster (a fixture)


def metric(text, name):
    m = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.M)
    assert m, f"{name} is not in /metrics"
    return float(m.group(1))


def timed(port, method, path, body=None, token=None, headers=None):
    t0 = time.monotonic()
    r = api_request(port, method, path, body, token=token, headers=headers, timeout=REQ_BOUND + 5)
    return r, time.monotonic() - t0


def assert_503_json(r):
    assert r.status == 503, (r.status, r.body[:300])
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    err = r.json()["error"]
    assert err["code"] == "unavailable" and err["message"], err


def test_a_statement_past_the_timeout_answers_503_and_the_node_serves_on(cluster, tmp_path):
    db, url, token, (a,) = world(cluster, tmp_path, 1,
                                 extra=["--store-statement-timeout-ms", str(STMT_TIMEOUT_MS)])
    lock = None
    try:
        before = api_ok(api_request(a.port, "GET", "/api/v1/customers?limit=5", token=token))["items"]
        h = api_ok(api_request(a.port, "GET", "/healthz"))
        assert h["store"]["statement_timeouts"] == 0 and h["store"]["last_error"] is None, h
        lock = Locker(cluster, db, "t_customers")
        # renewd's read of the customers waits on the lock until the server
        # cancels it: 503 JSON, after the timeout, well within the bound.
        r, took = timed(a.port, "GET", "/api/v1/customers?limit=5", token=token)
        assert_503_json(r)
        assert STMT_TIMEOUT_MS / 1000 * 0.9 <= took < REQ_BOUND, took
        # The lock is still held: everything else is served meanwhile.
        contracts = api_request(a.port, "GET", "/api/v1/contracts?limit=5", token=token)
        assert contracts.status == 200, (contracts.status, contracts.body[:300])
        h = api_request(a.port, "GET", "/healthz")
        assert h.status == 200, (h.status, h.body)
        store = h.json()["store"]
        assert store["backend"] == "postgresql" and store["reachable"] is True, store
        assert store["statement_timeouts"] == 1 and store["last_error"] == "statement timeout", store
        assert store["last_error_seconds_ago"] is not None and store["last_error_seconds_ago"] < WAIT, store
        m = api_request(a.port, "GET", "/metrics")
        assert m.status == 200
        assert metric(m.body.decode(), "renewd_store_statement_timeouts_total") == 1
        assert metric(m.body.decode(), "renewd_store_last_error_timestamp_seconds") > time.time() - WAIT
        # A write that waits on the lock: the same (nothing written).
        r, took = timed(a.port, "POST", "/api/v1/customers", {"external_id": "LOCKED-1", "name": "Waits"},
                        token=token)
        assert_503_json(r)
        assert took < REQ_BOUND, took
        lock.release()
        after = api_ok(api_request(a.port, "GET", "/api/v1/customers?limit=5", token=token))["items"]
        assert after == before
        assert "LOCKED-1" not in cluster.psql(db, "SELECT encode(val, 'escape') FROM t_customers")
        assert "statement_timeout_ms" in a.log(), a.log()[-2000:]
        a.stop()
    finally:
        if lock:
            lock.release()
        a.close()


def test_a_token_look_up_that_fails_answers_503_not_401(cluster, tmp_path):
    """The database failing under the caller's token look-up (here: the
    tokens' index locked past the statement timeout) is the store's
    trouble, not the caller's: 503, never 401 "the token is not known",
    which tells a client to throw a good token away (seen in the restart
    test below when a connection died mid-look-up)."""
    db, url, token, (a,) = world(cluster, tmp_path, 1,
                                 extra=["--store-statement-timeout-ms", str(STMT_TIMEOUT_MS)])
    lock = None
    try:
        api_ok(api_request(a.port, "GET", "/api/v1/me", token=token))
        lock = Locker(cluster, db, "i_tokens")
        r, took = timed(a.port, "GET", "/api/v1/me", token=token)
        assert_503_json(r)
        assert took < REQ_BOUND, took
        lock.release()
        api_ok(api_request(a.port, "GET", "/api/v1/me", token=token))
        a.stop()
    finally:
        if lock:
            lock.release()
        a.close()


def test_healthz_and_metrics_name_the_backend_and_pass_promtool(cluster, tmp_path):
    db, url, token, (a,) = world(cluster, tmp_path, 1)
    try:
        h = api_ok(api_request(a.port, "GET", "/healthz"))
        store = h["store"]
        assert h["status"] == "ok" and store["ok"] is True, h
        assert store["backend"] == "postgresql" and store["reachable"] is True, store
        assert 0 < store["latency_ms"] < 5000, store
        for k in ("reconnects", "serialization_retries", "statement_timeouts"):
            assert store[k] == 0, (k, store)
        m = api_request(a.port, "GET", "/metrics")
        assert m.status == 200
        assert 'renewd_store_info{backend="postgresql"} 1' in m.body.decode()
        assert metric(m.body.decode(), "renewd_store_up") == 1 and 0 < metric(m.body.decode(), "renewd_store_probe_seconds") < 5
        promtool = shutil.which("promtool")
        if promtool:  # test_observe fails without it; here the series are the point
            p = subprocess.run([promtool, "check", "metrics"], input=m.body, capture_output=True, timeout=30)
            assert p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(), (p.stdout, p.stderr)
        a.stop()
    finally:
        a.close()


def order_body(opp):
    return {"opportunity_id": opp, "payment_option": "purchase_order", "po_number": f"PO-{opp}"}


def test_three_nodes_through_a_database_restart(cluster, tmp_path):
    db, url, token, nodes = world(cluster, tmp_path, 3, extra=["--store-statement-timeout-ms", "3000"])
    a, b, c = nodes
    try:
        t0 = today(a, token)
        set_clock_everywhere(nodes, token, t0 + datetime.timedelta(days=1))
        wait_delivered(nodes, token)
        # Acknowledged before the stop: customers made on each node, an order
        # placed on one node and paid on another.
        api_ok(api_request(a.port, "POST", "/api/v1/plugins/payment-po/enablements", {"config": {}}, token=token),
               201)
        opps = [o["id"] for o in api_ok(api_request(b.port, "GET", "/api/v1/opportunities?limit=50",
                                                    token=token))["items"] if o["state"] == "pending_decision"]
        assert len(opps) >= 2, opps
        for o in opps[:2]:
            api_ok(api_request(c.port, "POST", f"/api/v1/opportunities/{o}/decision", {"publish": "vendor"},
                               token=token))
        placed = api_ok(api_request(a.port, "POST", "/api/v1/orders", order_body(opps[0]), token=token,
                                    headers={"Idempotency-Key": "before-stop"}), 201)
        paid = api_ok(api_request(b.port, "POST", f"/api/v1/orders/{placed['id']}/payments",
                                  {"amount": placed["total"], "reference": "BANK-1"}, token=token))
        assert paid["state"] == "fulfilled", paid
        acked = {}  # customer id -> name, for every 201
        for i, n in enumerate(nodes * 2):
            doc = api_ok(api_request(n.port, "POST", "/api/v1/customers",
                                     {"external_id": f"PRE-{i}", "name": f"Before {i}"}, token=token), 201)
            acked[doc["id"]] = doc["name"]

        # Requests on every node while the database is stopped: each answers
        # in bounded time with 2xx (before the stop took effect) or 503 JSON.
        statuses, bad, stop_req = [], [], threading.Event()

        def hammer(n, k):
            i = 0
            while not stop_req.is_set():
                i += 1
                try:
                    if i % 2:
                        r, took = timed(n.port, "POST", "/api/v1/customers",
                                        {"external_id": f"MID-{k}-{i}", "name": f"During {k}/{i}"}, token=token)
                    else:
                        r, took = timed(n.port, "GET", "/api/v1/customers?limit=3", token=token)
                except OSError as e:  # no answer at all: a hang or a dead node
                    bad.append(f"node {k}: {e!r}")
                    return
                statuses.append(r.status)
                if took >= REQ_BOUND:
                    bad.append(f"node {k}: {took:.1f} s")
                if r.status == 201:
                    doc = r.json()
                    acked[doc["id"]] = doc["name"]
                elif r.status not in (200, 503):
                    bad.append(f"node {k}: {r.status} {r.body[:200]!r}")
                elif r.status == 503:
                    try:
                        assert_503_json(r)
                    except AssertionError as e:
                        bad.append(f"node {k}: {e}")
                time.sleep(0.02)

        threads = [threading.Thread(target=hammer, args=(n, k)) for k, n in enumerate(nodes)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        cluster.stop("fast")
        time.sleep(1.0)
        stop_req.set()
        for t in threads:
            t.join(REQ_BOUND + 10)
        assert not bad, bad
        assert 503 in statuses, statuses

        # While it is down: every node is up and says so, in bounded time.
        for n in nodes:
            assert n.running(), n.log()[-2000:]
            h, took = timed(n.port, "GET", "/healthz")
            assert h.status == 503 and took < REQ_BOUND, (h.status, took)
            doc = h.json()
            assert doc["status"] == "unavailable" and doc["store"]["reachable"] is False, doc
            assert doc["store"]["last_error"] in ("cannot connect", "connection lost"), doc
            assert any(x["code"] == "store_unavailable" for x in doc["reasons"]), doc
            m = api_request(n.port, "GET", "/metrics")
            assert m.status == 200 and metric(m.body.decode(), "renewd_store_up") == 0
        # An order placed during the outage: 503, nothing made.
        r, took = timed(c.port, "POST", "/api/v1/orders", order_body(opps[1]), token=token,
                        headers={"Idempotency-Key": "across-the-outage"})
        assert_503_json(r)
        assert took < REQ_BOUND, took

        cluster.start()
        started_at = time.monotonic()
        # Every node recovers by itself (no restart, no operator).
        for n in nodes:
            assert pgcluster.wait_until(lambda: api_request(n.port, "GET", "/healthz").status == 200, WAIT, 0.1), \
                n.log()[-2000:]
            store = api_ok(api_request(n.port, "GET", "/healthz"))["store"]
            assert store["reachable"] is True and store["reconnects"] >= 1, store
            m = api_request(n.port, "GET", "/metrics").body.decode()
            assert metric(m, "renewd_store_up") == 1 and metric(m, "renewd_store_reconnects_total") >= 1

        recovered = time.monotonic() - started_at
        print(f"\nduring the stop: {len(statuses)} requests {sorted(set(statuses))}, {statuses.count(503)} x 503; "
              f"every node serving again {recovered:.1f} s after the start")
        # The order retried under its key across the outage: made once.
        first = api_ok(api_request(b.port, "POST", "/api/v1/orders", order_body(opps[1]), token=token,
                                   headers={"Idempotency-Key": "across-the-outage"}), 201)
        again = api_ok(api_request(a.port, "POST", "/api/v1/orders", order_body(opps[1]), token=token,
                                   headers={"Idempotency-Key": "across-the-outage"}))
        assert again["id"] == first["id"]
        orders = api_ok(api_request(c.port, "GET", "/api/v1/orders?limit=100", token=token))["items"]
        assert sorted(o["opportunity_id"] for o in orders) == sorted(opps[:2]), orders
        assert next(o for o in orders if o["id"] == placed["id"])["state"] == "fulfilled"
        # Nothing acknowledged is lost, nothing doubled.
        for k, (cid, name) in enumerate(sorted(acked.items())):
            n = nodes[k % 3]
            assert api_ok(api_request(n.port, "GET", f"/api/v1/customers/{cid}", token=token))["name"] == name
        # The scheduler's claims resume: every node sweeps on, each action and
        # e-mail once.
        target = t0 + datetime.timedelta(days=4)
        for i in range(2, 5):
            set_clock_everywhere(nodes, token, t0 + datetime.timedelta(days=i))
        assert pgcluster.wait_until(lambda: all(d == target for d in swept(cluster, db).values()), WAIT, 0.2), \
            (swept(cluster, db), claims(cluster, db))
        assert_once(cluster, db, nodes, token)
        for n in nodes:
            n.stop()
    finally:
        if not cluster.running:
            cluster.start()
        for n in nodes:
            n.close()
