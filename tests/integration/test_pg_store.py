"""renewd on PostgreSQL (docs/scaling.md): the store backend against a
throwaway cluster this module starts (initdb and pg_ctl from Debian's
postgresql-15, a Unix socket in a temporary directory, no TCP), stopped at
the end.

- the backend's own tests (tests/unit/test_store_pg.c, one pytest test per
  C test): scan order and ranges identical to LMDB, index maintenance,
  batches, ids, child transactions, pointers valid until the transaction
  ends, the serialization-failure replay, the integrity check, reconnection;
- the daemon: a lost database gives 503 with a JSON error, and renewd
  recovers by itself when the database returns;
- two renewd nodes on one database see each other's writes and sessions;
- the store option: bad values named, credentials never echoed.

The broader integration suite runs against PostgreSQL too (a subset:
scripts/test, "integration on PostgreSQL"; RENEWD_TEST_STORE=postgresql).
"""
import json
import os
import re
import signal
import subprocess
import time

import pytest

import pgcluster
from conftest import (BUILD, DEMO, RENEWCTL, RENEWD, Daemon, api_ok, api_request, run_renewd_expect_failure)

pytestmark = pytest.mark.skipif(not pgcluster.available(), reason="postgresql-15 is not installed (scripts/deps)")

UNIT = BUILD / "tests" / "unit" / "test_store_pg"
C_TESTS = [
    "test_scans_match_lmdb",
    "test_pages_pointers_and_batches",
    "test_ids_meta_and_abort",
    "test_child_transactions",
    "test_serialization_failure_replays",
    "test_failed_statement_is_not_success",
    "test_check_finds_missing_index_entry",
    "test_reconnects_after_the_server_drops_connections",
]


@pytest.fixture(scope="module")
def cluster():
    c = pgcluster.PgCluster().init().start()
    try:
        yield c
    finally:
        c.destroy()


_n = [0]


def fresh_db(cluster):
    _n[0] += 1
    return cluster.create_db(f"t{os.getpid()}_{_n[0]}")


def ctl(data, url, *args, check=True, input=None):
    cmd = [str(RENEWCTL), "--data", str(data), "--store", url] + [str(a) for a in args]
    p = subprocess.run(cmd, input=input or "", capture_output=True, text=True, timeout=60)
    if check:
        assert p.returncode == 0, f"{cmd}: {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


def demo_world(cluster, tmp_path, name="data"):
    data = tmp_path / name
    data.mkdir()
    url = cluster.url(fresh_db(cluster))
    ctl(data, url, "demo-load", DEMO)
    p = ctl(data, url, "user", "create", "--vendor", "sentinel", "--email", "admin@sentinel.example",
            "--role", "vendor-admin", "--password-stdin", input="correct horse battery staple\n")
    return data, url, p.stdout.strip()


@pytest.mark.parametrize("name", C_TESTS)
def test_store_backend(cluster, name):
    assert UNIT.exists(), f"{UNIT} is missing: build first"
    url = cluster.url(fresh_db(cluster))
    p = subprocess.run([str(UNIT), name], env=dict(os.environ, RENEWD_TEST_PG_URL=url), capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    out = p.stdout + p.stderr
    assert f"[       OK ] {name}" in out and "[  PASSED  ] 1 test(s)." in out, out
    assert "SKIPPED" not in out, out


def test_renewctl_check_and_demo_on_postgresql(cluster, tmp_path):
    data, url, token = demo_world(cluster, tmp_path)
    p = ctl(data, url, "check")
    assert "0 problems" in p.stdout, p.stdout
    # The records are in PostgreSQL, tenant first, not in the data directory.
    db = url.split("///")[1].split("?")[0]
    assert int(cluster.psql(db, "SELECT count(*) FROM t_contracts WHERE tenant = 1").strip()) == 30
    assert not (data / "data.mdb").exists()
    # A damaged index is found by the same check.
    cluster.psql(db, "DELETE FROM i_contracts WHERE ctid IN (SELECT ctid FROM i_contracts LIMIT 1)")
    p = ctl(data, url, "check", check=False)
    assert p.returncode != 0 and "problem: index contracts." in p.stdout, (p.stdout, p.stderr)
    # renewctl backup refuses and says what to use instead.
    p = ctl(data, url, "backup", tmp_path / "bk", check=False)
    assert p.returncode != 0 and "pg_dump" in p.stderr, p.stderr


def test_database_loss_gives_503_then_recovery(tmp_path):
    """Its own cluster: this test stops and starts the server."""
    c = pgcluster.PgCluster().init().start()
    d = None
    try:
        data, url, token = demo_world(c, tmp_path)
        d = Daemon(data, ["--store", url], tmp_path / "renewd.log")
        d.wait_ready()
        before = api_ok(api_request(d.port, "GET", "/api/v1/customers?limit=5", token=token))
        assert before["items"], before
        c.stop()
        r = api_request(d.port, "GET", "/api/v1/customers?limit=5", token=token)
        assert r.status == 503, (r.status, r.body)
        err = r.json()["error"]
        assert err["code"] == "unavailable" and err["message"], err
        h = api_request(d.port, "GET", "/healthz")
        assert h.status == 503, (h.status, h.body)
        assert h.json()["store"]["ok"] is False, h.body
        assert d.running(), d.log()
        c.start()
        deadline = time.monotonic() + 20
        while True:
            r = api_request(d.port, "GET", "/api/v1/customers?limit=5", token=token)
            if r.status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert r.status == 200, (r.status, r.body, d.log()[-2000:])
        assert r.json()["items"] == before["items"]  # nothing lost
        assert api_request(d.port, "GET", "/healthz").json()["store"]["ok"] is True
        d.stop()
        assert "connection lost" in d.log() or "cannot connect" in d.log() or "cannot begin" in d.log(), d.log()
    finally:
        if d:
            d.close()
        c.destroy()


def test_two_nodes_share_one_store(cluster, tmp_path):
    data, url, token = demo_world(cluster, tmp_path)
    data2 = tmp_path / "data2"
    data2.mkdir()
    a = Daemon(data, ["--store", url], tmp_path / "a.log")
    b = Daemon(data2, ["--store", url], tmp_path / "b.log")
    try:
        a.wait_ready()
        b.wait_ready()
        made = api_ok(api_request(a.port, "POST", "/api/v1/customers",
                                  {"external_id": "TWO-NODES-1", "name": "Made on node A"}, token=token), 201)
        seen = api_ok(api_request(b.port, "GET", f"/api/v1/customers/{made['id']}", token=token))
        assert seen["name"] == "Made on node A"
        # A session made on B is good on A.
        r = api_request(b.port, "POST", "/api/v1/session",
                        {"vendor": "sentinel", "email": "admin@sentinel.example",
                         "password": "correct horse battery staple"})
        assert r.status in (200, 201), (r.status, r.body)
        cookie = re.search(r"rd_session=([^;]+)", r.headers.get("Set-Cookie", "")).group(1)
        me = api_ok(api_request(a.port, "GET", "/api/v1/me", cookie=cookie))
        assert me["email"] == "admin@sentinel.example"
        # Concurrent ids from both nodes never collide.
        ids = set()
        for i in range(10):
            node = a if i % 2 else b
            doc = api_ok(api_request(node.port, "POST", "/api/v1/customers",
                                     {"external_id": f"TWO-NODES-X{i}", "name": f"n{i}"}, token=token), 201)
            ids.add(doc["id"])
        assert len(ids) == 10
        a.stop()
        b.stop()
    finally:
        a.close()
        b.close()


def test_store_option_is_checked_and_credentials_not_echoed(cluster, tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    rc, err = run_renewd_expect_failure(["--data", data, "--store", "mysql://x"])
    assert rc == 2 and "option store must be lmdb or a postgresql:// URL" in err, err
    # Nothing listens here; the password in the URL must not be echoed back.
    bad = f"postgresql://renewd:s3cret-pw@/nosuchdb?host={tmp_path}/nowhere&connect_timeout=2"
    rc, err = run_renewd_expect_failure(["--data", data, "--store", bad], timeout=20)
    assert rc == 1 and "cannot connect" in err, err
    assert "s3cret-pw" not in err and "postgresql:///nosuchdb" in err, err
    p = subprocess.run([str(RENEWCTL), "--data", str(data), "--store", bad, "check"], capture_output=True, text=True,
                       timeout=30)
    assert p.returncode != 0 and "s3cret-pw" not in p.stdout + p.stderr, p.stderr
    assert "cannot connect" in p.stderr, p.stderr
