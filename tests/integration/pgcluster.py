"""A throwaway PostgreSQL cluster for the tests (docs/scaling.md).

initdb and pg_ctl from Debian's postgresql-15 make a cluster in a fresh
temporary directory that listens on a Unix socket in that directory only
(listen_addresses=''), with trust authentication for its one superuser
("renewd").  No system service is involved.  Every wait is bounded; stop()
stops the server (fast shutdown, then immediate) and removes the directory.

When the tests run as root, the server runs as the "postgres" system user
(PostgreSQL refuses to run as root); renewd and renewctl still run as the
caller and connect over the socket.

The second part holds what the tests of several nodes on one database share
(test_pg_multinode.py, test_pg_sweep.py): a cluster per module, a world of
nodes on the demo store, and the readings of claims, sweeps, actions and
e-mails.  It reaches conftest only inside the functions (conftest imports
this module).
"""
import datetime
import hashlib
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

PG_BIN = Path(os.environ.get("RENEWD_PG_BIN", "/usr/lib/postgresql/15/bin"))
START_TIMEOUT = 60.0  # seconds for pg_ctl start -w (initdb and start on a busy machine)
CMD_TIMEOUT = 60.0
USER = "renewd"


def available():
    return (PG_BIN / "initdb").exists() and (PG_BIN / "pg_ctl").exists() and (PG_BIN / "psql").exists()


class PgCluster:
    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="renewd-pg-"))
        self.pgdata = self.root / "data"
        self.sock = self.root / "sock"
        self.log = self.root / "server.log"
        self.running = False
        self._as = []
        self._dbs = set()
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
            self._as = ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--init-groups"]
        self._run(["mkdir", "-m", "0755", str(self.sock)])
        os.chmod(self.root, 0o711)  # the caller reaches the socket directory, nothing else

    def _run(self, cmd, timeout=CMD_TIMEOUT, check=True, **kw):
        p = subprocess.run(self._as + [str(c) for c in cmd], stdin=subprocess.DEVNULL, capture_output=True,
                           text=True, timeout=timeout, **kw)
        if check and p.returncode != 0:
            raise AssertionError(f"{cmd} exited {p.returncode}\n{p.stdout}\n{p.stderr}\n{self.server_log()}")
        return p

    def server_log(self):
        try:
            return self.log.read_text(errors="replace")[-4000:]
        except (FileNotFoundError, PermissionError):
            return ""

    def init(self):
        self._run([PG_BIN / "initdb", "-D", self.pgdata, "-U", USER, "--auth=trust", "-E", "UTF8",
                   "--locale=C", "--no-sync"])
        return self

    def start(self):
        opts = (f"-c listen_addresses='' -c unix_socket_directories='{self.sock}' -c fsync=off "
                f"-c max_connections=200 -c shared_buffers=32MB")
        self._run([PG_BIN / "pg_ctl", "-D", self.pgdata, "-l", self.log, "-o", opts, "-w",
                   "-t", str(int(START_TIMEOUT)), "start"], timeout=START_TIMEOUT + 10)
        self.running = True
        return self

    def stop(self, mode="fast"):
        if not self.running:
            return
        p = self._run([PG_BIN / "pg_ctl", "-D", self.pgdata, "-m", mode, "-w", "-t", "30", "stop"],
                      timeout=40, check=False)
        if p.returncode != 0:
            self._run([PG_BIN / "pg_ctl", "-D", self.pgdata, "-m", "immediate", "-w", "-t", "30", "stop"],
                      timeout=40, check=False)
        self.running = False

    def destroy(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, db):
        return f"postgresql:///{db}?host={self.sock}&user={USER}"

    def psql(self, db, sql, check=True):
        """Runs sql (as the superuser); returns stdout (unaligned, tuples only)."""
        p = subprocess.run([str(PG_BIN / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-h", str(self.sock), "-U", USER, "-d", db, "-c", sql],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=CMD_TIMEOUT)
        if check and p.returncode != 0:
            raise AssertionError(f"psql {sql!r}: {p.returncode}\n{p.stderr}")
        return p.stdout

    def create_db(self, name, template=None):
        sql = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")
        self.psql("postgres", sql)
        self._dbs.add(name)
        return name

    def ensure_db(self, name):
        if name not in self._dbs:
            self.create_db(name)
        return name


def db_for_dir(path):
    """One database per data directory (the suite's stores map 1:1)."""
    return "rd_" + hashlib.sha1(str(Path(path).resolve()).encode()).hexdigest()[:20]


def wait_until(pred, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


# ---- several renewd nodes on one database (test_pg_multinode, test_pg_sweep) ----

@pytest.fixture(scope="module")
def cluster():
    """A cluster for the module's tests (a test module imports this name)."""
    c = PgCluster().init().start()
    try:
        yield c
    finally:
        c.destroy()


_worlds = [0]


def ctl(data, url, *args, input=None, timeout=120):
    """renewctl on the store at url, DATA being data; its output."""
    from conftest import RENEWCTL
    cmd = [str(RENEWCTL), "--data", str(data), "--store", url] + [str(a) for a in args]
    p = subprocess.run(cmd, input=input or "", capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, f"{cmd}: {p.returncode}\n{p.stdout}\n{p.stderr}"
    return p.stdout


def world(cluster, tmp_path, nodes, lease_ms, prefix="w", extra=()):
    """The demo store on a fresh database, a vendor admin's token, and the
    data directories and arguments of `nodes` renewd processes on it (not
    started; every node has the same secrets.key, docs/scaling.md).  extra:
    more flags for every node.  Returns (db, url, token, dirs, args)."""
    from conftest import DEMO
    _worlds[0] += 1
    db = cluster.create_db(f"{prefix}{os.getpid()}_{_worlds[0]}")
    url = cluster.url(db)
    dirs = []
    for i in range(nodes):
        d = tmp_path / f"node{i}"
        d.mkdir()
        dirs.append(d)
    ctl(dirs[0], url, "demo-load", DEMO)
    token = ctl(dirs[0], url, "user", "create", "--vendor", "sentinel", "--email", "admin@sentinel.example",
                "--role", "vendor-admin", "--password-stdin", input="correct horse battery staple\n").strip()
    key = (dirs[0] / "secrets.key").read_bytes() if (dirs[0] / "secrets.key").exists() else None
    for d in dirs[1:]:
        if key is not None:
            (d / "secrets.key").write_bytes(key)
            os.chmod(d / "secrets.key", 0o600)
    args = ["--store", url, "--test-clock", "1", "--sched-interval-ms", "200", "--mail-retry-ms", "100",
            "--claim-lease-ms", str(lease_ms)] + list(extra)
    return db, url, token, dirs, args


def start(tmp_path, dirs, args, which):
    """Starts the nodes numbered in which; waits until each is ready."""
    from conftest import Daemon
    out = [Daemon(dirs[i], args, tmp_path / f"node{i}-{time.monotonic_ns()}.log") for i in which]
    for d in out:
        d.wait_ready()
    return out


def today(d, token):
    """The node's date (its test clock)."""
    from conftest import api_ok, api_request
    return datetime.date.fromisoformat(api_ok(api_request(d.port, "GET", "/api/v1/clock", token=token))["today"])


def claims(cluster, db):
    """{vendor: (lease end in ms, owner)} of the sweep claims in rd_meta."""
    out = {}
    for line in cluster.psql(db, "SELECT key, encode(val, 'hex') FROM rd_meta WHERE key LIKE 'claim:sweep:%'").split():
        key, hexval = line.split("|")
        raw = bytes.fromhex(hexval)
        out[int(key.split(":")[2])] = (int.from_bytes(raw[:8], "little"), raw[8:].decode())
    return out


def swept(cluster, db):
    """{vendor: the last day swept} from rd_meta."""
    out = {}
    for line in cluster.psql(db, "SELECT key, encode(val, 'hex') FROM rd_meta WHERE key LIKE 'sweep:%'").split():
        key, hexval = line.split("|")
        days = int.from_bytes(bytes.fromhex(hexval), "little", signed=True)
        out[int(key.split(":")[1])] = datetime.date(1970, 1, 1) + datetime.timedelta(days=days)
    return out


def action_keys(cluster, db):
    """Every action's idempotency key (the 'key' index), with its tenant."""
    out = cluster.psql(db, "SELECT tenant, encode(key, 'hex') FROM i_actions WHERE ix = 'key'")
    return [(t, bytes.fromhex(h)[:-8]) for t, h in (line.split("|") for line in out.splitlines())]  # key, then id


def node_id(d):
    """The node's id in claims (DATA/node-id)."""
    return "/" + (d.data / "node-id").read_text().strip()


def mail_ids(daemons):
    """The Message-ID of every e-mail in the nodes' maildirs (one per file)."""
    ids = []
    for d in daemons:
        for p in (d.data / "mail").rglob("*.eml"):
            m = re.search(rb"^Message-ID: (<[^>]+>)", p.read_bytes(), re.M)
            assert m, f"{p} has no Message-ID"
            ids.append(m.group(1).decode())
    return ids


def outbox(d, token):
    """Every outbox message, as the node lists them."""
    from conftest import api_list_all
    return api_list_all(d.port, "/api/v1/outbox", token)


class Locker:
    """A psql session that holds an ACCESS EXCLUSIVE lock on a table until
    released: renewd's statements on it wait until the statement timeout
    cancels them (a store failure made on demand)."""

    def __init__(self, cluster, db, table, wait=30.0):
        self.wait = wait
        self.p = subprocess.Popen([str(PG_BIN / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                                   "-h", str(cluster.sock), "-U", USER, "-d", db],
                                  stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                  text=True)
        self.p.stdin.write(f"BEGIN;\nLOCK TABLE {table} IN ACCESS EXCLUSIVE MODE;\n")
        self.p.stdin.flush()
        held = f"SELECT count(*) FROM pg_locks WHERE relation = '{table}'::regclass AND mode = " \
               "'AccessExclusiveLock' AND granted"
        assert wait_until(lambda: cluster.psql(db, held).strip() == "1", wait, step=0.05), \
            "psql did not take the lock"

    def release(self):
        if self.p.poll() is None:
            self.p.stdin.write("COMMIT;\n\\q\n")
            self.p.stdin.close()
            self.p.wait(self.wait)
