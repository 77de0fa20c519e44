"""A throwaway PostgreSQL cluster for the tests (docs/scaling.md).

initdb and pg_ctl from Debian's postgresql-15 make a cluster in a fresh
temporary directory that listens on a Unix socket in that directory only
(listen_addresses=''), with trust authentication for its one superuser
("renewd").  No system service is involved.  Every wait is bounded; stop()
stops the server (fast shutdown, then immediate) and removes the directory.

When the tests run as root, the server runs as the "postgres" system user
(PostgreSQL refuses to run as root); renewd and renewctl still run as the
caller and connect over the socket.
"""
import hashlib
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

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
