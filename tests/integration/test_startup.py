"""Refusing bad data directories and bad configuration; --help and version."""
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time

import lmdb
import pytest

from conftest import RENEWCTL, RENEWD, http_request, run_renewd_expect_failure

LISTEN = ["--listen", "127.0.0.1:0"]


def refused(args, *needles):
    rc, err = run_renewd_expect_failure(list(args) + LISTEN)
    assert rc != 0, f"renewd {args} started (exit {rc}); stderr: {err}"
    assert "listening on" not in err, err
    for n in needles:
        assert n in err, f"{n!r} not in stderr: {err!r}"
    return err


# ---- data directories ------------------------------------------------------------


def test_missing_data_dir(tmp_path):
    refused(["--data", tmp_path / "nope"], "does not exist", str(tmp_path / "nope"))
    assert not (tmp_path / "nope").exists(), "renewd must not create the data directory itself"


def test_data_dir_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("hello")
    refused(["--data", f], "not a directory")
    assert f.read_text() == "hello"


def test_unrelated_non_empty_dir(tmp_path):
    d = tmp_path / "photos"
    d.mkdir()
    (d / "holiday.jpg").write_bytes(b"\xff\xd8\xff")
    refused(["--data", d], "not a renewd store")
    assert sorted(os.listdir(d)) == ["holiday.jpg"], "renewd must leave a foreign directory alone"


def test_garbage_data_mdb(tmp_path):
    d = tmp_path / "garbage"
    d.mkdir()
    junk = bytes(range(256)) * 64
    (d / "data.mdb").write_bytes(junk)
    refused(["--data", d], "not a renewd store")
    assert (d / "data.mdb").read_bytes() == junk


def test_lmdb_environment_of_something_else(tmp_path):
    d = tmp_path / "other"
    d.mkdir()
    env = lmdb.open(str(d), max_dbs=8, subdir=True)
    db = env.open_db(b"other")
    with env.begin(write=True) as txn:
        txn.put(b"k", b"v", db=db)
    env.close()
    refused(["--data", d], "not a renewd store")
    env = lmdb.open(str(d), max_dbs=8, subdir=True, readonly=True, lock=False)
    with env.begin() as txn:  # untouched: no renewd tables were added
        names = sorted(k for k, _ in txn.cursor())
    env.close()
    assert names == [b"other"]


def test_dir_in_use_by_running_daemon(daemon):
    d = daemon(demo=True)
    err = refused(["--data", d.data], "in use by another renewd")
    assert f"pid {d.pid}" in err
    assert d.get("/healthz").status == 200, "the first daemon must be unaffected"
    d.stop()


def renewd_for_nobody(prefix):
    """A directory under /tmp anyone may enter (tmp_path may sit under one
    nobody cannot traverse) holding a copy of renewd anyone may run:
    (the directory, the copy); the caller removes the directory."""
    top = tempfile.mkdtemp(dir="/tmp", prefix=prefix)
    os.chmod(top, 0o755)
    exe = os.path.join(top, "renewd")
    shutil.copy2(RENEWD, exe)
    os.chmod(exe, 0o755)
    return top, exe


def test_unwritable_dir(tmp_path):
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if not setpriv:
            pytest.skip("setpriv is missing: cannot drop root to test an unwritable directory")
        top, exe = renewd_for_nobody("renewd-ro-")
        try:
            data = os.path.join(top, "data")
            os.mkdir(data)
            os.chmod(data, 0o555)
            cmd = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", exe, "--data", data] + LISTEN
            try:
                p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10,
                                   cwd=top)
            except subprocess.TimeoutExpired:
                pytest.fail("renewd as nobody on a read-only directory did not exit within 10 s")
            assert p.returncode != 0, p.stderr
            assert "not writable" in p.stderr, p.stderr
            assert os.listdir(data) == []
        finally:
            shutil.rmtree(top, ignore_errors=True)
    else:
        data = tmp_path / "ro"
        data.mkdir()
        data.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
        try:
            refused(["--data", data], "not writable")
        finally:
            data.chmod(0o755)


def test_no_data_option():
    rc, err = run_renewd_expect_failure(LISTEN)
    assert rc != 0 and "--data" in err, err


# ---- configuration -----------------------------------------------------------------


def test_unknown_flag(tmp_path):
    (tmp_path / "d").mkdir()
    err = refused(["--data", tmp_path / "d", "--frobnicate", "1"], "--frobnicate")
    assert "unknown option" in err


def test_bad_flag_values(tmp_path):
    (tmp_path / "d").mkdir()
    refused(["--data", tmp_path / "d", "--max-body-bytes", "lots"], "max-body-bytes", "lots")
    refused(["--data", tmp_path / "d", "--request-timeout-ms", "5"], "request-timeout-ms")
    refused(["--data", tmp_path / "d", "--log-level", "chatty"], "log_level", "chatty")
    rc, err = run_renewd_expect_failure(["--data", tmp_path / "d", "--listen", "nowhere"])
    assert rc != 0 and "listen" in err and "nowhere" in err, err


def test_unknown_key_in_config_file(tmp_path):
    (tmp_path / "d").mkdir()
    cfg = tmp_path / "renewd.json"
    cfg.write_text(json.dumps({"data": str(tmp_path / "d"), "max_body_byts": 10}))
    refused(["--config", cfg], str(cfg), "max_body_byts")


def test_malformed_config_file(tmp_path):
    (tmp_path / "d").mkdir()
    cfg = tmp_path / "broken.json"
    cfg.write_text('{"data": "x",\n "listen": }\n')
    err = refused(["--data", tmp_path / "d", "--config", cfg], str(cfg))
    assert re.search(r"line 2", err), err
    refused(["--data", tmp_path / "d", "--config", tmp_path / "absent.json"], str(tmp_path / "absent.json"))
    cfg.write_text('["a list"]')
    refused(["--data", tmp_path / "d", "--config", cfg], str(cfg), "object")
    cfg.write_text('{"max_body_bytes": "big"}')
    refused(["--data", tmp_path / "d", "--config", cfg], str(cfg), "max_body_bytes")


def test_config_file_applies_and_flags_win(daemon, tmp_path):
    cfg = tmp_path / "renewd.json"
    cfg.write_text(json.dumps({"max_body_bytes": 1024}))
    body = b"x" * 2000
    d = daemon(args=["--config", str(cfg)])
    r = http_request(d.port, "POST", "/healthz", body=body)
    assert r.status == 413, r
    d.stop()
    d = daemon(args=["--config", str(cfg), "--max-body-bytes", "4096"])
    r = http_request(d.port, "POST", "/healthz", body=body)
    assert r.status == 405, r
    d.stop()


# ---- help and version --------------------------------------------------------------


def test_help_lists_every_option():
    p = subprocess.run([str(RENEWD), "--help"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p.stderr
    for opt in ("--data", "--listen", "--config", "--max-body-bytes", "--request-timeout-ms",
                "--shutdown-timeout-ms", "--map-size-bytes", "--map-max-bytes", "--log-level"):
        assert re.search(rf"^\s+{re.escape(opt)}\b", p.stdout, re.M), f"{opt} missing from --help:\n{p.stdout}"


def test_versions_agree(daemon):
    ctl = subprocess.run([str(RENEWCTL), "version"], capture_output=True, text=True, timeout=10)
    assert ctl.returncode == 0, ctl.stderr
    m = re.match(r"renewctl (\d+\.\d+\.\d+\S*)", ctl.stdout)
    assert m, ctl.stdout
    d = subprocess.run([str(RENEWD), "--version"], capture_output=True, text=True, timeout=10)
    assert d.returncode == 0 and d.stdout.strip() == f"renewd {m.group(1)}"
    srv = daemon()
    assert srv.get("/healthz").json()["version"] == m.group(1)
    srv.stop()


def test_renewctl_usage_errors(tmp_path):
    p = subprocess.run([str(RENEWCTL)], capture_output=True, text=True, timeout=10)
    assert p.returncode == 2 and "usage" in p.stderr
    p = subprocess.run([str(RENEWCTL), "--data", str(tmp_path), "explode"], capture_output=True, text=True,
                       timeout=10)
    assert p.returncode == 2 and "explode" in p.stderr
    p = subprocess.run([str(RENEWCTL), "check"], capture_output=True, text=True, timeout=10,
                       env={k: v for k, v in os.environ.items() if k != "RENEWD_DATA"})
    assert p.returncode != 0 and "--data" in p.stderr
    for opt in ("--data", "--config", "--plugin-dir", "--store"):  # was "unknown option --data"
        p = subprocess.run([str(RENEWCTL), opt], capture_output=True, text=True, timeout=10)
        assert p.returncode == 2 and f"{opt} needs a value" in p.stderr, p.stderr


def test_a_config_file_that_cannot_be_read_is_named_as_such(tmp_path):
    """A missing file or a directory given as --config: the sentence says
    which, not a JSON parse position (line -1, or "near end of file")."""
    (tmp_path / "d").mkdir()
    err = refused(["--data", tmp_path / "d", "--config", tmp_path / "absent.json"], str(tmp_path / "absent.json"),
                  "No such file or directory")
    assert "line -1" not in err, err
    (tmp_path / "conf.d").mkdir()
    err = refused(["--data", tmp_path / "d", "--config", tmp_path / "conf.d"], str(tmp_path / "conf.d"),
                  "is a directory")
    assert "expected" not in err, err


def _vendors(data):
    p = subprocess.run([str(RENEWCTL), "--data", str(data), "check"], capture_output=True, text=True, timeout=60)
    m = re.search(r"table vendors: (\d+) records", p.stdout)
    return int(m.group(1)) if m else 0


def _users(data):
    p = subprocess.run([str(RENEWCTL), "--data", str(data), "check"], capture_output=True, text=True, timeout=60)
    m = re.search(r"table users: (\d+) records", p.stdout)
    return int(m.group(1)) if m else 0


def test_renewctl_creates_only_what_the_api_would(tmp_path):
    """renewctl vendor create and user create refuse what the operator and
    users APIs refuse (an empty vendor name, text that is not UTF-8, which
    the API then showed as "", an address the API calls no e-mail address, a
    name longer than is kept), naming the option, exit 2, nothing written."""
    data = tmp_path / "d"
    data.mkdir()

    def ctl(*args):
        return subprocess.run([str(RENEWCTL), "--data", str(data)] + list(args), capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL)

    assert ctl("vendor", "create", "--name", "Acme", "--slug", "acme", "--currency", "GBP").returncode == 0
    for name, why in (("", "--name"), ("Bad\udcff\udcfeName", "UTF-8")):
        p = ctl("vendor", "create", "--name", name, "--slug", "other", "--currency", "GBP")
        assert p.returncode == 2 and why in p.stderr, (name, p.returncode, p.stderr)
    assert _vendors(data) == 1
    base = ["user", "create", "--vendor", "acme", "--role", "vendor-admin"]
    for extra, why in ((["--email", "@acme.example"], "--email"), (["--email", "a@b"], "--email"),
                       (["--email", "a b@acme.example"], "--email"),
                       (["--email", "u@acme.example", "--name", "U\udcffser"], "UTF-8"),
                       (["--email", "u@acme.example", "--name", "x" * 200], "--name"),
                       (["--email", "u@acme.example", "--token-name", "t" * 200], "--token-name")):
        p = ctl(*base, *extra)
        assert p.returncode == 2 and why in p.stderr, (extra, p.returncode, p.stderr)
    assert _users(data) == 0
    p = ctl(*base, "--email", "U@Acme.example", "--name", "Zoë")
    assert p.returncode == 0, p.stderr
    assert _users(data) == 1
    p = ctl("operator", "token", "create", "--name", "ops\udcff")  # its name is in audit entries' JSON
    assert p.returncode == 2 and "UTF-8" in p.stderr, (p.returncode, p.stderr)


def test_renewctl_numbers_are_whole_numbers_or_refused(tmp_path):
    """An id or count renewctl takes is a whole number or the command is
    refused naming the option, exit 2, nothing written: "--partner abc" made
    a vendor-wide enablement, "token revoke 1abc" revoked token 1, and
    "--version -1" was looked up as version 4294967295."""
    data = tmp_path / "d"
    data.mkdir()

    def ctl(*args):
        return subprocess.run([str(RENEWCTL), "--data", str(data)] + list(args), capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL)

    from conftest import DEMO
    assert ctl("demo-load", str(DEMO)).returncode == 0
    assert ctl("operator", "token", "create", "--name", "ops").returncode == 0
    for bad in ("abc", "-1", "3x", ""):
        p = ctl("plugin", "enable", "--vendor", "sentinel", "--plugin", "payment-po", "--partner", bad, "--config", "{}")
        assert p.returncode == 2 and "--partner" in p.stderr, (bad, p.returncode, p.stdout, p.stderr)
    p = ctl("plugin", "enablements", "--vendor", "sentinel")
    assert p.returncode == 0 and "payment-po" not in p.stdout, p.stdout
    for bad in ("1abc", "-1", "x"):
        p = ctl("operator", "token", "revoke", bad)
        assert p.returncode == 2 and bad in p.stderr, (bad, p.returncode, p.stdout, p.stderr)
    p = ctl("operator", "token", "list")
    row = [line for line in p.stdout.splitlines() if " ops " in line]
    assert p.returncode == 0 and len(row) == 1 and row[0].split()[-1] == "-", p.stdout  # not revoked
    for bad in ("-1", "1x", "99999999999999999999"):
        p = ctl("policy", "show", "--vendor", "sentinel", "--kind", "margin", "--version", bad)
        assert p.returncode == 2 and "--version" in p.stderr, (bad, p.returncode, p.stderr)
    for bad in ("5x", "0", "401", "-3"):
        p = ctl("schedule", "preview", "--vendor", "sentinel", "--days", bad)
        assert p.returncode == 2 and "--days" in p.stderr, (bad, p.returncode, p.stderr)


def test_root_and_the_service_users_data_directory(tmp_path):
    """README's first start runs renewctl (as root, the usual shell) on a data
    directory the service user owns: renewctl made data.mdb and lock.mdb
    root's, and renewd, started as that user, said only "data directory ...
    is not writable" of a directory it owned.  renewctl as root now refuses
    to write into a directory another user owns, naming the user and how to
    run it as that user (nothing made); reading (check) still works.  And
    renewd names the file it cannot write and its owner."""
    if os.geteuid() != 0:
        pytest.skip("needs root (to make a directory another user owns)")
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.skip("setpriv is missing")
    top, exe = renewd_for_nobody("renewd-own-")
    try:
        data = os.path.join(top, "data")
        os.mkdir(data, 0o700)
        os.chown(data, 65534, 65534)
        p = subprocess.run([str(RENEWCTL), "--data", data, "vendor", "create", "--name", "A", "--slug", "a",
                            "--currency", "GBP"], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        assert p.returncode == 1 and "uid 65534" in p.stderr and "runuser" in p.stderr, (p.returncode, p.stderr)
        assert os.listdir(data) == [], os.listdir(data)
        # A store made by renewd as its user: root may read it.
        cmd = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", exe, "--data", data] + LISTEN
        d = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True, cwd=top)
        deadline = time.monotonic() + 10
        while not os.path.exists(os.path.join(data, "data.mdb")) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        d.terminate()
        d.wait(10)
        p = subprocess.run([str(RENEWCTL), "--data", data, "check"], capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        assert p.returncode == 0, p.stderr
        # A file of the store made root's (an older renewctl, a copy as root):
        # renewd names it and its owner.
        os.chown(os.path.join(data, "lock.mdb"), 0, 0)
        p = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10, cwd=top)
        assert p.returncode == 1 and "lock.mdb" in p.stderr and "uid 0" in p.stderr, (p.returncode, p.stderr)
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_a_mail_transport_curl_cannot_use_is_refused_at_start(tmp_path):
    """mail_transport was checked for its scheme only: smtp://host:99999,
    smtp:// and smtp://a b:25 started renewd, and every message then failed
    at the first delivery (the operator heard of it from /healthz 15 minutes
    later).  A user and password in the URL are refused without echoing
    them (mail_user and RENEWD_SMTP_PASSWORD carry them)."""
    (tmp_path / "d").mkdir()
    for bad, why in (("smtp://host:99999", "port must be 1 to 65535"), ("smtp://", "no host"),
                     ("smtp://a b:25", "spaces"), ("smtps://host:x", "port"), ("smtp://h!st:25", "host may hold"),
                     ("smtp://[::1:25", "brackets")):
        refused(["--data", tmp_path / "d", "--mail-transport", bad], "mail_transport", why)
    err = refused(["--data", tmp_path / "d", "--mail-transport", "smtp://bob:s3cret@mail.example:587"],
                  "mail_transport", "mail_user")
    assert "s3cret" not in err, err


def test_a_mail_transport_named_by_a_container_service_starts(daemon):
    """A host with '_' (a compose file's service name, mail_relay, which
    curl resolves) is a mail_transport renewd starts with."""
    d = daemon(args=["--mail-transport", "smtp://mail_relay:25"])
    assert d.get("/healthz").status in (200, 503)
