"""renewctl migrate-store and the store digest (docs/scaling.md, "Moving
between LMDB and PostgreSQL" and "The store digest").

- the demo store goes LMDB -> PostgreSQL -> a new LMDB directory with the
  same digest on all three (and PostgreSQL -> PostgreSQL), and renewd on the migrated PostgreSQL store
  serves the same contracts, its token and a password login;
- a store of 100,000 imported contracts (10,000 on the ASan build) makes the
  same round trip with identical digests; the times are printed (-s);
- a target that holds content is refused and left as it was; a copy that
  fails half-way leaves the target empty; a renewd running on an LMDB
  source makes it refuse;
- a changed record, a removed index entry or a changed sequence changes the
  digest; a node's claim does not.

A throwaway postgresql-15 cluster (pgcluster.py) on a Unix socket.
"""
import csv
import os
import re
import signal
import subprocess
import sys
import time

import pytest

import pgcluster
from conftest import BUILD, DEMO, RENEWCTL, REPO, Daemon, api_ok, api_request

pytestmark = pytest.mark.skipif(not pgcluster.available(), reason="postgresql-15 is not installed (scripts/deps)")

ASAN = "-fsanitize=address" in (BUILD / "build.ninja").read_text(errors="replace") \
    if (BUILD / "build.ninja").exists() else False
# The big store: 100,000 contracts (about 30 s for this test on the normal
# build); 10,000 on ASan, where 100,000 took 80 s against 11 s
# (RENEWD_MIGRATE_BIG=N sets it).
BIG = int(os.environ.get("RENEWD_MIGRATE_BIG") or (10_000 if ASAN else 100_000))
PASSWORD = "correct horse battery staple"
DIGEST_RE = re.compile(r"^digest of the content: blake2b-256:([0-9a-f]{64}) ", re.M)


@pytest.fixture(scope="module")
def cluster():
    c = pgcluster.PgCluster().init().start()
    try:
        yield c
    finally:
        c.destroy()


_n = [0]


def fresh_url(cluster):
    _n[0] += 1
    return cluster.url(cluster.create_db(f"m{os.getpid()}_{_n[0]}")), f"m{os.getpid()}_{_n[0]}"


def ctl(data, *args, url=None, check=True, input=None, timeout=120):
    cmd = [str(RENEWCTL), "--data", str(data)] + (["--store", url] if url else []) + [str(a) for a in args]
    p = subprocess.run(cmd, input=input or "", capture_output=True, text=True, timeout=timeout)
    if check:
        assert p.returncode == 0, f"{cmd}: {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p


def digest(data, url=None):
    p = ctl(data, "check", url=url, check=False)
    m = DIGEST_RE.search(p.stdout)
    assert m, (p.returncode, p.stdout, p.stderr)
    return m.group(1), p


def table_counts(out):
    return {m.group(1): (int(m.group(2)), int(m.group(3)))
            for m in re.finditer(r"^table (\w+): (\d+) records, (\d+) index entries", out, re.M)}


def migrate(data, to, url=None, check=True):
    t0 = time.monotonic()
    p = ctl(data, "migrate-store", "--to", to, url=url, check=check, timeout=300)
    return p, time.monotonic() - t0


def demo_lmdb(tmp_path, name="a"):
    data = tmp_path / name
    data.mkdir()
    ctl(data, "demo-load", DEMO)
    token = ctl(data, "user", "create", "--vendor", "sentinel", "--email", "admin@sentinel.example",
                "--role", "vendor-admin", "--password-stdin", input=PASSWORD + "\n").stdout.strip()
    return data, token


def contracts(port, token):
    out, cursor = [], None
    while True:
        path = "/api/v1/contracts?limit=100" + (f"&cursor={cursor}" if cursor else "")
        doc = api_ok(api_request(port, "GET", path, token=token))
        out += doc["items"]
        cursor = doc.get("next_cursor")
        if not cursor:
            return out


def serve(data, log, url=None):
    d = Daemon(data, ["--store", url] if url else [], log)
    d.wait_ready()
    return d


def test_demo_store_round_trips_with_identical_digests_and_serves_on_postgresql(cluster, tmp_path):
    a, token = demo_lmdb(tmp_path)
    da, pa = digest(a)
    counts = table_counts(pa.stdout)
    assert counts["contracts"][0] == 30 and counts["contracts"][1] > 0, pa.stdout
    assert re.search(r"^settings: \d+ \(0 node-local, not in the digest\); id sequences: \d+$", pa.stdout, re.M)

    url, _ = fresh_url(cluster)
    p, _ = migrate(a, url)
    assert f"digest source: blake2b-256:{da}" in p.stdout and f"digest target: blake2b-256:{da}" in p.stdout, p.stdout
    assert "digests identical" in p.stdout, p.stdout
    dp, pp = digest(a, url)
    assert dp == da and table_counts(pp.stdout) == counts, (pa.stdout, pp.stdout)
    assert " 0 problems" in pp.stdout, pp.stdout

    b = tmp_path / "b"  # created by migrate-store
    migrate(a, str(b), url=url)
    db, pb = digest(b)
    assert db == da and table_counts(pb.stdout) == counts and " 0 problems" in pb.stdout, pb.stdout
    # PostgreSQL to another PostgreSQL database too.
    url2, _ = fresh_url(cluster)
    migrate(a, url2, url=url)
    assert digest(a, url2)[0] == da

    # renewd on the migrated PostgreSQL store: the same contracts, the same
    # token, and a password login.
    d = serve(a, tmp_path / "lmdb.log")
    try:
        before = contracts(d.port, token)
    finally:
        d.stop()
        d.close()
    assert len(before) == 30
    node = tmp_path / "node"
    node.mkdir()
    d = serve(node, tmp_path / "pg.log", url)
    try:
        assert contracts(d.port, token) == before
        r = api_request(d.port, "POST", "/api/v1/session",
                        {"vendor": "sentinel", "email": "admin@sentinel.example", "password": PASSWORD})
        assert r.status in (200, 201), (r.status, r.body)
        cookie = re.search(r"rd_session=([^;]+)", r.headers.get("Set-Cookie", "")).group(1)
        me = api_ok(api_request(d.port, "GET", "/api/v1/me", cookie=cookie))
        assert me["email"] == "admin@sentinel.example"
        # New ids continue the copied sequences (no collision with copied records).
        made = api_ok(api_request(d.port, "POST", "/api/v1/customers",
                                  {"external_id": "AFTER-MIGRATE-1", "name": "After the move"}, token=token), 201)
        customers = api_ok(api_request(d.port, "GET", "/api/v1/customers?limit=500", token=token))["items"]
        assert made["id"] == max(c["id"] for c in customers) and len({c["id"] for c in customers}) == len(customers)
    finally:
        d.stop()
        d.close()


def big_store(tmp_path, n):
    """A demo store plus n contracts (bench/gen_contracts.py) imported by
    renewctl, sold through the demo's partners."""
    files = tmp_path / "files"
    subprocess.run([sys.executable, str(REPO / "bench" / "gen_contracts.py"), str(n), str(files)], check=True,
                   capture_output=True, timeout=120)
    rows = list(csv.reader(open(files / "contracts.csv", newline="")))
    ri, di = rows[0].index("reseller_external_id"), rows[0].index("distributor_external_id")
    for i, row in enumerate(rows[1:]):
        row[ri], row[di] = ("RES-PLAT", "RES-GOLD", "RES-SILV")[i % 3], "DIST-NW"
    with open(files / "contracts-demo.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    data, token = demo_lmdb(tmp_path, "big")
    for kind, path in (("customers", files / "customers.csv"), ("products", files / "products.csv"),
                       ("contracts", files / "contracts-demo.csv")):
        p = ctl(data, "import", "--vendor", "sentinel", "--kind", kind, path, timeout=600)
        assert " 0 with errors" in p.stdout, p.stdout
    return data


def test_a_big_store_round_trips_with_identical_digests(cluster, tmp_path):
    signal.alarm(300)  # longer than conftest's per-test watchdog: the store is built here (~30 s normal build)
    t0 = time.monotonic()
    a = big_store(tmp_path, BIG)
    t_build = time.monotonic() - t0
    da, pa = digest(a)
    assert table_counts(pa.stdout)["contracts"][0] == BIG + 30, pa.stdout
    url, _ = fresh_url(cluster)
    p1, t1 = migrate(a, url)
    assert f"digest target: blake2b-256:{da}" in p1.stdout and "digests identical" in p1.stdout, p1.stdout
    assert "index entries copied" in p1.stderr, p1.stderr  # progress on stderr
    b = tmp_path / "back"
    p2, t2 = migrate(a, str(b), url=url)
    assert f"digest source: blake2b-256:{da}" in p2.stdout and f"digest target: blake2b-256:{da}" in p2.stdout
    db, pb = digest(b)
    assert db == da and table_counts(pb.stdout) == table_counts(pa.stdout), (pa.stdout, pb.stdout)
    dt = re.search(r"^digest time: ([\d.]+) s", pa.stdout, re.M).group(1)
    print(f"\n{BIG} contracts: store built in {t_build:.1f} s; LMDB digest {dt} s; LMDB -> PostgreSQL {t1:.1f} s "
          f"({re.search(r'copy [^)]*', p1.stdout).group(0)}); PostgreSQL -> LMDB {t2:.1f} s "
          f"({re.search(r'copy [^)]*', p2.stdout).group(0)})")


def test_a_target_with_content_is_refused_and_left_as_it_was(cluster, tmp_path):
    a, _ = demo_lmdb(tmp_path)
    # LMDB target holding a store.
    other, _ = demo_lmdb(tmp_path, "other")
    before, _ = digest(other)
    p, _ = migrate(a, str(other), check=False)
    assert p.returncode == 1 and "is not empty" in p.stderr and "nothing was written" in p.stderr, p.stderr
    assert re.search(r"it holds \d+ (id sequences|records of table \w+|entries of index \w+:\w+|report counter rows)", p.stderr), p.stderr
    assert digest(other)[0] == before
    # PostgreSQL target holding a store (a password in its URL is never echoed).
    url, _ = fresh_url(cluster)
    migrate(other, url)
    p, _ = migrate(a, url + "&password=s3cret-pw", check=False)
    assert p.returncode == 1 and "is not empty" in p.stderr and "nothing was written" in p.stderr, p.stderr
    assert "s3cret-pw" not in p.stdout + p.stderr and re.search(r"it holds [1-9]\d* id sequences", p.stderr), p.stderr
    assert digest(a, url)[0] == before
    # The source itself.
    p, _ = migrate(a, str(a), check=False)
    assert p.returncode == 2 and "is the source itself" in p.stderr, p.stderr
    # A renewd running on the LMDB source: refused, its lock names it.
    d = serve(a, tmp_path / "run.log")
    try:
        p, _ = migrate(a, str(tmp_path / "while-running"), check=False)
        assert p.returncode == 1 and "in use by another renewd" in p.stderr and "stop renewd first" in p.stderr, \
            p.stderr
    finally:
        d.stop()
        d.close()


def test_a_copy_that_fails_half_way_leaves_the_target_empty(cluster, tmp_path):
    a, _ = demo_lmdb(tmp_path)
    url, db = fresh_url(cluster)
    # An empty store whose contracts table refuses the tenth contract: the
    # COPY fails after the tables before it went in.
    ctl(tmp_path / "a", "clock", "show", url=url)  # opens it for writing: rd_meta and the empty tables
    cluster.psql(db, "ALTER TABLE t_contracts ADD CONSTRAINT few CHECK (id < 10)")
    p, _ = migrate(a, url, check=False)
    assert p.returncode == 1 and "nothing was written" in p.stderr, (p.stdout, p.stderr)
    for sql in ("SELECT count(*) FROM rd_seq", "SELECT count(*) FROM t_customers", "SELECT count(*) FROM i_customers",
                "SELECT count(*) FROM rd_meta WHERE key NOT IN ('magic', 'schema')"):
        assert cluster.psql(db, sql).strip() == "0", sql
    cluster.psql(db, "ALTER TABLE t_contracts DROP CONSTRAINT few")
    p, _ = migrate(a, url)
    assert digest(a, url)[0] == digest(a)[0]


def test_a_changed_record_index_entry_or_sequence_changes_the_digest(cluster, tmp_path):
    a, _ = demo_lmdb(tmp_path)
    da, _ = digest(a)
    url, db = fresh_url(cluster)
    migrate(a, url)
    assert digest(a, url)[0] == da
    # A node's claim is node-local: not in the digest.
    cluster.psql(db, "INSERT INTO rd_meta VALUES ('claim:sweep:1', '\\x0000000000000000'::bytea)")
    dp, p = digest(a, url)
    assert dp == da and "(1 node-local, not in the digest)" in p.stdout, p.stdout
    # One byte of one record.
    cluster.psql(db, "UPDATE t_customers SET val = overlay(val placing '\\x7a'::bytea from length(val) for 1)"
                     " WHERE id = (SELECT min(id) FROM t_customers)")
    changed, _ = digest(a, url)
    assert changed != da
    # One index entry gone (the check names it too).
    cluster.psql(db, "DELETE FROM i_contracts WHERE ctid IN (SELECT ctid FROM i_contracts LIMIT 1)")
    d2, p = digest(a, url)
    assert d2 not in (da, changed) and p.returncode == 1 and "problem: index contracts." in p.stdout, p.stdout
    # A sequence.
    cluster.psql(db, "UPDATE rd_seq SET last = last + 1 WHERE tbl = 'contracts'")
    assert digest(a, url)[0] not in (da, changed, d2)
    # Nothing of it reaches a copy unnoticed: PostgreSQL -> LMDB keeps the changed digest.
    b = tmp_path / "b"
    p, _ = migrate(a, str(b), url=url)
    assert digest(b)[0] == digest(a, url)[0] != da
