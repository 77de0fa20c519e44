"""The data directory across restarts, crashes and backups; renewctl check."""
import random
import signal
import struct
import subprocess
import threading
import time

import lmdb

from conftest import (DEMO, RENEWCTL, copy_store, demo_load, http_request, renewctl, run_renewd_expect_failure,
                      table_entries)


def contracts(data):
    """t:contracts entries, or 0 when the table was never written."""
    try:
        return table_entries(data, "t:contracts")
    except lmdb.NotFoundError:
        return 0


def assert_check_ok(data):
    p = renewctl("check", data=data)
    assert p.returncode == 0, f"check of {data} exited {p.returncode}:\n{p.stdout}{p.stderr}"
    assert "0 problems" in p.stdout, p.stdout
    return p


def test_demo_load_contents(demo_store):
    assert contracts(demo_store) == 30
    assert table_entries(demo_store, "t:vendors") == 1
    assert table_entries(demo_store, "t:customers") > 0
    # Every contract has its entry in each index that covers it.
    assert table_entries(demo_store, "i:contracts:end") == 30
    assert table_entries(demo_store, "i:contracts:ext") == 30
    assert_check_ok(demo_store)
    # Loading again is refused or a no-op, never a duplicate.
    demo_load(demo_store)
    assert contracts(demo_store) == 30


def test_restart_keeps_data(daemon, tmp_path):
    data = tmp_path / "store"
    data.mkdir()
    d = daemon(data=data, demo=True)
    assert d.get("/healthz").json()["store"]["ok"] is True
    d.stop(signal.SIGTERM)
    assert_check_ok(data)
    before = contracts(data)
    assert before > 0

    d2 = daemon(data=data)
    assert d2.get("/healthz").status == 200
    d2.stop(signal.SIGTERM)
    assert contracts(data) == before
    assert_check_ok(data)


def test_fresh_directory_becomes_a_store(daemon, tmp_path):
    data = tmp_path / "empty"
    data.mkdir()
    d = daemon(data=data)
    assert d.get("/healthz").json()["store"]["ok"] is True
    d.stop()
    assert (data / "data.mdb").is_file()
    assert_check_ok(data)
    d = daemon(data=data)  # and it opens again as a renewd store
    d.stop()


def test_sigkill_then_restart(daemon, tmp_path):
    data = tmp_path / "store"
    data.mkdir()
    d = daemon(data=data, demo=True)
    assert d.get("/healthz").status == 200
    d.proc.kill()
    assert d.proc.wait(timeout=5) == -signal.SIGKILL

    d2 = daemon(data=data)  # the flock died with the process: no "in use"
    assert "in use" not in d2.log()
    assert d2.get("/healthz").json()["status"] == "ok"
    d2.stop()
    assert_check_ok(data)
    assert contracts(data) == 30


def test_interrupted_first_start_is_recovered(daemon, tmp_path):
    """A first start killed right after LMDB created data.mdb (before the
    first commit) leaves an LMDB environment with nothing in it; renewd
    must finish the job, not call it somebody else's store."""
    data = tmp_path / "cut"
    data.mkdir()
    env = lmdb.open(str(data), max_dbs=128, subdir=True)
    env.close()
    assert (data / "data.mdb").exists()
    p = renewctl("check", data=data)
    assert p.returncode != 0 and "no renewd store yet" in p.stderr, p.stderr
    d = daemon(data=data)
    assert d.get("/healthz").status == 200
    d.stop()
    assert_check_ok(data)


def test_killed_demo_load_is_all_or_nothing(daemon, tmp_path):
    # A base store: created by the daemon, empty, cleanly closed.
    base = tmp_path / "base"
    base.mkdir()
    daemon(data=base).stop()
    assert contracts(base) == 0
    rng = random.Random(1234)
    for i in range(8):
        data = copy_store(base, tmp_path / f"copy{i}")
        p = subprocess.Popen([str(RENEWCTL), "--data", str(data), "demo-load", str(DEMO)],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0, 0.05))
        p.kill()
        p.wait(timeout=5)
        assert_check_ok(data)
        n = contracts(data)
        assert n in (0, 30), f"iteration {i}: {n} contracts after a killed load (all or nothing)"
        # The store stays usable: a full load completes (or was complete).
        demo_load(data)
        assert contracts(data) == 30
        assert_check_ok(data)


def test_backup_while_serving(daemon, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    d = daemon(data=src, demo=True)
    stop = threading.Event()
    results = {"ok": 0, "errors": []}

    def hammer():
        while not stop.is_set():
            try:
                r = http_request(d.port, "GET", "/healthz", timeout=5)
                assert r.status == 200, r
                results["ok"] += 1
            except Exception as e:  # noqa: BLE001: reported below
                results["errors"].append(repr(e))
                return

    t = threading.Thread(target=hammer)
    t.start()
    try:
        deadline = time.monotonic() + 5
        while results["ok"] < 5:  # the load is running before the backup starts
            assert time.monotonic() < deadline and not results["errors"], results
            time.sleep(0.01)
        out = tmp_path / "backup"
        p = renewctl("backup", out, data=src)
        assert p.returncode == 0, p.stderr
        assert "written to" in p.stdout
    finally:
        stop.set()
        t.join(10)
    assert not t.is_alive()
    assert not results["errors"], results["errors"][:3]
    assert d.running()

    assert_check_ok(out)
    d2 = daemon(data=out)
    assert d2.port != d.port
    assert d2.get("/healthz").json()["status"] == "ok"
    d2.stop()
    d.stop()
    assert contracts(out) == contracts(src) == 30


def test_backup_into_non_empty_dir_fails(demo_store, tmp_path):
    out = tmp_path / "occupied"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    p = renewctl("backup", out, data=demo_store)
    assert p.returncode != 0
    assert "not empty" in p.stderr, p.stderr
    assert (out / "keep.txt").read_text() == "precious"
    assert not (out / "data.mdb").exists()


def _big_store(data, rows=300000):
    """A store of some tens of MB: a vendor and `rows` customers."""
    data.mkdir()
    renewctl("vendor", "create", "--name", "Big", "--slug", "big", "--currency", "GBP", data=data, check=True)
    csv = data.parent / "customers.csv"
    with open(csv, "w") as f:
        f.write("external_id,name,email\n")
        for i in range(rows):
            f.write(f"C{i},Customer number {i} with a name long enough to take some room,c{i}@example.com\n")
    renewctl("import", "--vendor", "big", "--kind", "customers", csv, data=data, check=True, timeout=120)
    csv.unlink()


def test_a_killed_backup_is_no_backup_and_a_short_store_is_refused(tmp_path, daemon):
    """A backup killed mid-way (SIGKILL, a full disk, a reboot) left a
    data.mdb shorter than its own pages in the target, which looked like a
    store: renewctl check and renewd on it died of SIGBUS without a word.
    The backup is now written under another name and renamed when whole, and
    a data.mdb shorter than its last page (a truncated copy) is refused at
    open with a sentence, exit 1."""
    src = tmp_path / "src"
    _big_store(src)
    for i, delay in enumerate((0.0, 0.005, 0.01, 0.02, 0.04, 0.08)):
        out = tmp_path / f"bk{i}"
        p = subprocess.Popen([str(RENEWCTL), "--data", str(src), "backup", str(out)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait(30)
        if not out.exists():
            continue
        c = renewctl("check", data=out)
        assert c.returncode in (0, 1) and c.returncode >= 0, (delay, c.returncode, c.stderr)
        if (out / "data.mdb").exists():  # the backup had ended: whole
            assert c.returncode == 0 and "0 problems" in c.stdout, (delay, c.stdout, c.stderr)
        else:  # killed before its copy began (an empty directory), or during it (the .partial alone)
            assert "not a renewd store" in c.stderr or "holds no renewd store yet" in c.stderr, (delay, c.stderr)
            assert not c.stdout.strip() or "0 problems" not in c.stdout, (delay, c.stdout)
    # A data.mdb cut short, as by a copy that stopped: refused with a sentence.
    whole = tmp_path / "whole"
    renewctl("backup", whole, data=src, check=True)
    cut = tmp_path / "cut"
    cut.mkdir()
    size = (whole / "data.mdb").stat().st_size
    with open(whole / "data.mdb", "rb") as f, open(cut / "data.mdb", "wb") as g:
        g.write(f.read(size // 2))
    c = renewctl("check", data=cut)
    assert c.returncode == 1 and "shorter than" in c.stderr, (c.returncode, c.stdout, c.stderr)
    rc, err = run_renewd_expect_failure(["--data", str(cut), "--listen", "127.0.0.1:0"])
    assert rc == 1 and "shorter than" in err, (rc, err)
    d = daemon(data=whole)
    assert d.get("/healthz").json()["status"] == "ok"
    d.stop()


def open_rw(data):
    return lmdb.open(str(data), max_dbs=128, subdir=True)


def test_check_healthy_store(demo_store):
    p = assert_check_ok(demo_store)
    assert "problem:" not in p.stdout


def test_check_reports_missing_index_entry(daemon, tmp_path):
    data = tmp_path / "store"
    data.mkdir()
    daemon(data=data, demo=True).stop()
    env = open_rw(data)
    try:
        db = env.open_db(b"i:contracts:end", create=False)
        with env.begin(write=True) as txn:
            cur = txn.cursor(db)
            assert cur.first()
            key = cur.key()
            assert txn.delete(key, db=db)
    finally:
        env.close()
    p = renewctl("check", data=data)
    assert p.returncode == 1, p.stdout + p.stderr
    problems = [line for line in p.stdout.splitlines() if line.startswith("problem:")]
    assert len(problems) == 1, p.stdout
    assert "contracts.end" in problems[0] and "missing" in problems[0]
    (tenant, rid) = struct.unpack(">Q", key[:8])[0], struct.unpack(">Q", key[-8:])[0]
    assert f"{tenant}/{rid}" in problems[0]
    assert "1 problem " in p.stdout or "1 problem (" in p.stdout


def test_check_reports_dangling_index_entry(demo_store):
    env = open_rw(demo_store)
    try:
        db = env.open_db(b"i:contracts:end", create=False)
        with env.begin(write=True) as txn:
            cur = txn.cursor(db)
            assert cur.first()
            key = cur.key()
            bogus = key[:-8] + struct.pack(">Q", 987654321)
            assert txn.put(bogus, b"", db=db, overwrite=False)
    finally:
        env.close()
    p = renewctl("check", data=demo_store)
    assert p.returncode == 1, p.stdout + p.stderr
    problems = [line for line in p.stdout.splitlines() if line.startswith("problem:")]
    assert len(problems) == 1, p.stdout
    assert "contracts.end" in problems[0] and "987654321" in problems[0] and "does not exist" in problems[0]


def test_check_runs_while_serving(daemon):
    d = daemon(demo=True)
    assert_check_ok(d.data)
    assert d.get("/healthz").status == 200
    # Writers run beside it (LMDB's multi-process writes) and say so ...
    p = renewctl("demo-load", DEMO, data=d.data)
    assert p.returncode == 0 and "already loaded" in p.stdout and "writing beside it" in p.stderr, p
    # ... except those whose state renewd holds in memory: they need the lock.
    p = renewctl("secrets", "rotate", data=d.data)
    assert p.returncode != 0 and "in use by another renewd" in p.stderr, p.stderr
    d.stop()
