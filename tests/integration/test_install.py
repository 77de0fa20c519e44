"""The installed service (docs/operations.md, "Installing").

`meson install --destdir` into a staging root (the build tree as it is, no
rebuild), then: the installed renewd, started as its sysusers.d system user
with the installed example configuration (only the data directory, which
lives in the staging root, and the port, which must be free, given as
flags), reports readiness over $NOTIFY_SOCKET, serves, and stops on SIGTERM;
the unit passes `systemd-analyze verify`; its system-call filter allows what
the daemon calls; the man pages render without warnings and name every
option and command.
"""
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import BUILD, REPO, START_TIMEOUT, STOP_TIMEOUT, http_request

ASAN = "-fsanitize=address" in (BUILD / "build.ninja").read_text(errors="replace") if (BUILD / "build.ninja").exists() else False
LISTEN_RE = re.compile(r"listening on http://127\.0\.0\.1:(\d+)/")


def _option(name):
    for o in json.loads(subprocess.run(["meson", "introspect", str(BUILD), "--buildoptions"], capture_output=True,
                                       text=True, check=True, timeout=60).stdout):
        if o["name"] == name:
            return o["value"]
    raise AssertionError(f"no meson option {name}")


class Staged:
    def __init__(self, root):
        self.root = root
        self.prefix = _option("prefix")
        self.libdir = _option("libdir")
        self.datadir = _option("datadir")
        sysconfdir = _option("sysconfdir")
        self.sysconfdir = sysconfdir if sysconfdir.startswith("/") else f"{self.prefix}/{sysconfdir}"
        self.bindir = f"{self.prefix}/{_option('bindir')}"
        self.mandir = f"{self.prefix}/{_option('mandir')}"
        self.plugindir = f"{self.prefix}/{self.libdir}/renewd/plugins"

    def at(self, path):
        """The staged copy of an installed absolute path."""
        return Path(str(self.root) + path)


@pytest.fixture(scope="module")
def staged():
    root = Path(tempfile.mkdtemp(prefix="renewd-install-"))
    os.chmod(root, 0o755)  # the service user walks into it
    try:
        p = subprocess.run(["meson", "install", "-C", str(BUILD), "--no-rebuild", "--quiet", "--destdir", str(root)],
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stdout + p.stderr
        yield Staged(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_install_lays_out_the_service(staged):
    s = staged
    for exe in ("renewd", "renewctl"):
        assert os.access(s.at(f"{s.bindir}/{exe}"), os.X_OK), exe
    assert s.at(s.plugindir).is_dir()
    # The .pc file tells plugin authors where plugins go: the daemon's default.
    pc = s.at(f"{s.prefix}/{s.datadir}/pkgconfig/renewd-plugin.pc")
    out = subprocess.run(["pkg-config", "--variable=plugindir", "renewd-plugin"], capture_output=True, text=True,
                         env=dict(os.environ, PKG_CONFIG_PATH=str(pc.parent)), check=True, timeout=30).stdout.strip()
    assert out == s.plugindir
    assert s.plugindir.encode() in s.at(f"{s.bindir}/renewd").read_bytes()
    # The default policies as files, byte for byte what renewd has built in.
    for name in ("margin.lua", "margin.vectors.json", "margin-reseller.lua", "routing.lua", "routing.vectors.json"):
        assert s.at(f"{s.prefix}/{s.datadir}/renewd/policies/{name}").read_bytes() == \
            (REPO / "scripts" / "policies" / name).read_bytes()
    assert s.at(f"{s.prefix}/{s.datadir}/renewd/demo/demo.json").is_file()
    conf = s.at(f"{s.sysconfdir}/renewd/renewd.json")
    assert json.loads(conf.read_text())["data"] == "/var/lib/renewd"
    for page in ("renewd.8", "renewctl.8"):
        assert s.at(f"{s.mandir}/man8/{page}").is_file()
    assert s.at(f"{s.prefix}/lib/systemd/system/renewd.service").is_file()
    assert s.at(f"{s.prefix}/lib/sysusers.d/renewd.conf").is_file()


def _sysusers(s):
    """Creates the service's system user in the staging root's /etc/passwd
    the way systemd-sysusers does at package installation; returns it."""
    conf = s.at(f"{s.prefix}/lib/sysusers.d/renewd.conf")
    s.at("/etc").mkdir(exist_ok=True)
    p = subprocess.run(["systemd-sysusers", f"--root={s.root}", str(conf)], capture_output=True, text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    for line in s.at("/etc/passwd").read_text().splitlines():
        f = line.split(":")
        if f[0] == "renewd":
            return {"uid": int(f[2]), "gid": int(f[3]), "home": f[5], "shell": f[6]}
    raise AssertionError("systemd-sysusers made no renewd user")


class Notify:
    """A $NOTIFY_SOCKET like systemd's: a datagram socket the daemon writes to."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        os.chmod(path, 0o777)
        self.messages = []

    def wait_for(self, line, timeout):
        deadline = time.monotonic() + timeout
        while not any(line in m.split("\n") for m in self.messages):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {line} on the notify socket within {timeout} s: {self.messages}")
            self.sock.settimeout(left)
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass

    def close(self):
        self.sock.close()


def _wait_log(path, pattern, proc, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = path.read_text(errors="replace")
        m = re.search(pattern, text)
        if m:
            return m
        if proc.poll() is not None:
            raise AssertionError(f"renewd exited {proc.returncode}:\n{text}")
        time.sleep(0.05)
    raise AssertionError(f"no {pattern!r} in the log within {timeout} s:\n{path.read_text(errors='replace')}")


def _env(s, user_dir):
    env = {k: v for k, v in os.environ.items() if k.startswith(("ASAN_", "UBSAN_"))}
    env["PATH"] = "/usr/bin:/bin"
    if "LSAN_OPTIONS" in os.environ:  # its suppressions file where the service user can read it
        supp = user_dir / "lsan.supp"
        shutil.copy(REPO / "tests" / "lsan.supp", supp)
        os.chmod(supp, 0o644)
        env["LSAN_OPTIONS"] = re.sub(r"(?<![a-z_])suppressions=[^:]*", f"suppressions={supp}", os.environ["LSAN_OPTIONS"])
    return env


def _as_user(uid, gid, argv, caps=True):
    """argv run as uid:gid with no supplementary group (and no inheritable
    capability); a suite not run as root is that user already."""
    if os.geteuid() != 0:
        return argv
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups"] + \
        (["--inh-caps=-all"] if caps else []) + ["--"] + argv


def _run_uid(uid):
    return uid if os.geteuid() == 0 else os.geteuid()


def test_installed_daemon_serves_as_its_system_user(staged):
    s = staged
    user = _sysusers(s)
    assert 0 < user["uid"] < 1000 and 0 < user["gid"] < 1000, user  # a system user
    assert user["home"] == "/var/lib/renewd" and user["shell"].endswith("nologin"), user
    # StateDirectory=renewd: the manager makes it, the user's, 0700.
    data = s.at("/var/lib/renewd")
    data.mkdir(parents=True)
    if os.geteuid() == 0:
        os.chown(data, user["uid"], user["gid"])
    os.chmod(data, 0o700)
    run = s.at("/run/renewd-test")
    run.mkdir(parents=True, mode=0o755)
    notify = Notify(run / "notify")
    log = run / "renewd.log"
    conf = s.at(f"{s.sysconfdir}/renewd/renewd.json")
    cmd = _as_user(user["uid"], user["gid"], [str(s.at(f"{s.bindir}/renewd")), "--config", str(conf), "--data", str(data),
                                              "--listen", "127.0.0.1:0"])
    env = _env(s, run)
    env["NOTIFY_SOCKET"] = str(run / "notify")
    with open(log, "wb") as lf:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=lf, stderr=lf, env=env, cwd="/")
    try:
        port = int(_wait_log(log, LISTEN_RE, proc, START_TIMEOUT).group(1))
        notify.wait_for("READY=1", START_TIMEOUT)
        # Its own user, not root, with no capability.
        status = Path(f"/proc/{proc.pid}/status").read_text()
        uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
        assert uids == [str(_run_uid(user["uid"]))] * 4 and uids[0] != "0", status
        assert re.search(r"^CapEff:\s+0+$", status, re.M), status
        # The example configuration as it is: production, maildir, the default plugin dir.
        text = log.read_text()
        assert f"the default {s.plugindir} does not exist" in text, text
        r = http_request(port, "GET", "/healthz")
        assert r.status == 200 and r.json()["status"] == "ok", r
        r = http_request(port, "GET", "/login")
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/html"), r
        assert b"<form" in r.body
        st = os.stat(data / "data.mdb")
        assert (st.st_uid, st.st_mode & 0o777) == (_run_uid(user["uid"]), 0o600)
        assert (os.stat(data).st_mode & 0o777) == 0o700
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=STOP_TIMEOUT) == 0, log.read_text()
        notify.wait_for("STOPPING=1", 1.0)  # sent before the exit waited for above
        assert "stopped cleanly" in log.read_text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)
        notify.close()


def _staged_unit(s, tmp_path):
    """The installed unit with its installed paths moved into the staging
    root (the only change), beside the man pages systemd-analyze looks for."""
    text = s.at(f"{s.prefix}/lib/systemd/system/renewd.service").read_text()
    unit = tmp_path / "renewd.service"
    unit.write_text(text.replace(f"{s.prefix}/", f"{s.root}{s.prefix}/").replace("=/etc/", f"={s.root}/etc/"))
    return text, unit


def test_unit_verifies_and_is_hardened(staged, tmp_path):
    s = staged
    text, unit = _staged_unit(s, tmp_path)
    env = dict(os.environ, MANPATH=str(s.at(s.mandir)))
    p = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0 and not p.stdout.strip() and not p.stderr.strip(), p.stdout + p.stderr
    keys = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            keys.setdefault(k, []).append(v)
    assert keys["Type"] == ["notify"]  # sd_notify is built in (the test above reads READY=1)
    assert keys["ExecStart"] == [f"{s.bindir}/renewd --config {s.sysconfdir}/renewd/renewd.json"]
    assert keys["User"] == ["renewd"] and keys["StateDirectory"] == ["renewd"]
    for k, v in (("ProtectSystem", "strict"), ("NoNewPrivileges", "yes"), ("PrivateTmp", "yes"),
                 ("ProtectHome", "yes"), ("MemoryDenyWriteExecute", "yes"), ("CapabilityBoundingSet", "")):
        assert keys[k] == [v], k
    assert keys["SystemCallFilter"] == ["@system-service", "~@privileged @resources"]
    # systemd's own score of the sandbox: exposure at most 2.0 of 10.
    p = subprocess.run(["systemd-analyze", "security", "--offline=yes", "--threshold=20", str(unit)],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stdout[-2000:] + p.stderr


def _syscall_sets():
    """systemd's named system-call sets, expanded."""
    out = subprocess.run(["systemd-analyze", "syscall-filter"], capture_output=True, text=True, check=True,
                         timeout=30).stdout
    sets, cur = {}, None
    for line in out.splitlines():
        if line.startswith("@"):
            cur = sets.setdefault(line.strip(), [])
        elif cur is not None and line.strip() and not line.strip().startswith("#"):
            cur.append(line.strip())

    def expand(name, seen=()):
        out = set()
        for m in sets[name]:
            out |= expand(m, seen + (name,)) if m.startswith("@") else {m}
        return out
    return expand


@pytest.mark.skipif(ASAN, reason="the sanitizers' runtime makes calls the shipped daemon does not")
def test_daemon_stays_within_the_units_sandbox(staged, tmp_path):
    """Under strace as its user: every system call the installed daemon makes
    while it starts, serves a page and stops is one the unit's
    SystemCallFilter allows, every file it writes is below its
    StateDirectory (ProtectSystem=strict leaves nothing else writable), its
    sockets are of the families RestrictAddressFamilies= leaves, and it maps
    no memory both writable and executable (MemoryDenyWriteExecute=)."""
    s = staged
    user = pwd.getpwnam("nobody")
    work = Path(tempfile.mkdtemp(prefix="renewd-sandbox-"))
    try:
        os.chmod(work, 0o755)
        data = work / "state"
        data.mkdir(mode=0o700)
        trace = work / "trace"
        trace.mkdir(mode=0o700)
        for d in (data, trace):
            if os.geteuid() == 0:
                os.chown(d, user.pw_uid, user.pw_gid)
        log = work / "renewd.log"
        conf = s.at(f"{s.sysconfdir}/renewd/renewd.json")
        cmd = _as_user(user.pw_uid, user.pw_gid, caps=False, argv=[
               "strace", "-f", "-qq", "-s", "256", "-o", str(trace / "out"),
               str(s.at(f"{s.bindir}/renewd")), "--config", str(conf), "--data", str(data), "--listen", "127.0.0.1:0"])
        with open(log, "wb") as lf:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=lf, stderr=lf, env=_env(s, work), cwd="/")
        try:
            port = int(_wait_log(log, LISTEN_RE, proc, START_TIMEOUT * 3).group(1))
            assert http_request(port, "GET", "/healthz", timeout=15).status == 200
            assert http_request(port, "GET", "/login", timeout=15).status == 200
            pid = int((data / "renewd.lock").read_text().split()[0])
            os.kill(pid, signal.SIGTERM)
            assert proc.wait(timeout=STOP_TIMEOUT) == 0, log.read_text()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT)
        assert "stopped cleanly" in log.read_text()
        calls, written, families, wx = set(), set(), set(), []
        for line in (trace / "out").read_text(errors="replace").splitlines():
            m = re.match(r"\d+\s+socket\((AF_\w+)", line)
            if m:
                families.add(m.group(1))
            if re.match(r"\d+\s+(mmap|mprotect|pkey_mprotect)\(", line) and "PROT_WRITE|PROT_EXEC" in line:
                wx.append(line)
            m = re.match(r"\d+\s+(?:<\.\.\. (\w+) resumed>|(\w+)\()", line)
            if m:
                calls.add(m.group(1) or m.group(2))
            m = re.match(r'\d+\s+(?:openat\(AT_FDCWD, |open\(|mkdir\(|rename\(|unlink\(|mkdirat\(AT_FDCWD, |'
                         r'renameat2?\(AT_FDCWD, |unlinkat\(AT_FDCWD, )"([^"]*)"(.*)', line)
            if m and (not line.split()[1].startswith("open") or re.search(r"O_WRONLY|O_RDWR|O_CREAT", m.group(2))):
                if " = -1 " not in line:
                    written.add(m.group(1))
        assert "execve" in calls and "epoll_wait" in calls, sorted(calls)  # the trace is real
        expand = _syscall_sets()
        allowed = expand("@system-service") - expand("@privileged") - expand("@resources")
        assert not calls - allowed, f"calls outside the unit's SystemCallFilter: {sorted(calls - allowed)}"
        # RestrictAddressFamilies= and MemoryDenyWriteExecute=.
        assert families and families <= {"AF_UNIX", "AF_INET", "AF_INET6"}, families
        assert not wx, f"writable and executable memory: {wx[:3]}"
        outside = sorted(p for p in written if not p.startswith(str(data) + "/") and p != str(data)
                         and p != "/dev/null")
        assert not outside, f"written outside the StateDirectory: {outside}"
        assert any(p.startswith(str(data)) for p in written), written
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.mark.parametrize("page", ["renewd.8", "renewctl.8"])
def test_man_page_renders_without_warnings(staged, page):
    path = staged.at(f"{staged.mandir}/man8/{page}")
    p = subprocess.run(["man", "--warnings", "-l", str(path)], capture_output=True, text=True, timeout=60,
                       env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="", PAGER="cat"))
    assert p.returncode == 0 and not p.stderr.strip(), p.stderr
    assert "NAME" in p.stdout and page.split(".")[0] in p.stdout
    text = re.sub(r"([-\u2010])\n\s+", r"\1", p.stdout).replace("\u2010", "-")  # paths broken after a hyphen
    assert "@" not in re.sub(r"\S+@localhost", "", text)  # every path substituted
    assert f"{staged.sysconfdir}/renewd/renewd.json" in text and staged.plugindir in text
    p = subprocess.run(["groff", "-ww", "-man", "-z", str(path)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and not p.stderr.strip(), p.stderr


def _roff_text(path):
    return path.read_text().replace("\\-", "-").replace("\\fR", "").replace("\\fP", "").replace("\\fI", "")


def test_man_pages_name_every_option_and_command(staged):
    s = staged
    renewd = s.at(f"{s.bindir}/renewd")
    helptext = subprocess.run([str(renewd), "--help"], capture_output=True, text=True, timeout=30).stdout
    flags = set(re.findall(r"^\s+(--[a-z-]+)", helptext, re.M))
    assert len(flags) > 20, helptext
    page = _roff_text(s.at(f"{s.mandir}/man8/renewd.8"))
    missing = sorted(f for f in flags if f not in page)
    assert not missing, f"renewd(8) does not document {missing}"
    usage = subprocess.run([str(s.at(f"{s.bindir}/renewctl")), "--help"], capture_output=True, text=True,
                           timeout=30).stdout
    commands = set(re.findall(r"^  ([a-z-]+(?: [a-z-]+)?)", usage.split("commands:")[1], re.M))
    page = _roff_text(s.at(f"{s.mandir}/man8/renewctl.8"))
    missing = sorted(c for c in commands if c not in page)
    assert not missing, f"renewctl(8) does not document {missing}"


def test_debian_package_build_depends_and_conffiles(staged):
    """debian/ (dpkg-buildpackage -b) names build dependencies this machine
    has, and marks as a conffile the example configuration meson installs."""
    p = subprocess.run(["dpkg-checkbuilddeps", "debian/control"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    conffiles = (REPO / "debian" / "conffiles").read_text().split()
    assert conffiles == ["/etc/renewd/renewd.json"]
    assert staged.at(f"{staged.sysconfdir}/renewd/renewd.json").is_file()
