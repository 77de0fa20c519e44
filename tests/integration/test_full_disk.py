"""A full disk under the store (docs/operations.md, "A full disk").

The data directory lives on a small tmpfs (the test is skipped where it may
not mount one: it needs root).  A write that finds the file system full is
refused with the reason and leaves the store as it was; once space is
freed, writes go on without a restart:

* renewd: a create answers 500 naming the cause ("No space left on
  device"), and the log has an error line saying so (the reason was only in
  the answer: the log had an info access line "POST ... 500");
* renewctl import (its store is memory-mapped for writing, MDB_WRITEMAP):
  it died of SIGBUS with nothing but "Bus error" from the shell; it now
  says the file system is full and nothing of the import was committed,
  exits 1, and `renewctl check` finds the store whole.
"""
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ApiClient, Daemon, api_user, demo_load, renewctl

pytestmark = pytest.mark.serial


@pytest.fixture
def small_fs(tmp_path):
    mnt = tmp_path / "fs"
    mnt.mkdir()
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m,mode=0755", "tmpfs", str(mnt)], capture_output=True,
                       text=True)
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def fill(mnt):
    """Fills the file system; returns the filler's path."""
    path = mnt / "filler"
    with open(path, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    return path


def test_a_full_disk_under_renewd_is_named_and_nothing_is_half_written(small_fs, tmp_path):
    data = small_fs / "data"
    data.mkdir()
    demo_load(data)
    tok, uid = api_user(data)
    d = Daemon(data, [], tmp_path / "renewd.log")
    try:
        d.wait_ready()
        c = ApiClient(d, tok, uid)
        before = {x["external_id"] for x in c.items("/api/v1/customers")}
        filler = fill(small_fs)
        made, refused = [], None
        for i in range(20000):
            r = c.call("POST", "/api/v1/customers", {"external_id": f"FULL-{i}", "name": "Full disk " + "x" * 100,
                                                     "email": f"f{i}@example.com", "country": "GB"})
            if r.status == 201:
                made.append(f"FULL-{i}")
                continue
            refused = r
            break
        assert refused is not None, "the file system never filled up"
        assert refused.status == 500, refused
        assert "No space left on device" in refused.json()["error"]["message"], refused
        errors = [x for x in d.log().splitlines() if "level=error" in x and "No space left on device" in x]
        assert errors, d.log()[-2000:]
        assert c.call("GET", "/healthz").status == 200
        after = {x["external_id"] for x in c.items("/api/v1/customers")}
        assert after == before | set(made), "a refused write left something behind or lost something"
        filler.unlink()
        c.ok("POST", "/api/v1/customers", {"external_id": "AFTER", "name": "After", "email": "a@example.com",
                                           "country": "GB"}, status=201)
    finally:
        d.stop()


def test_a_full_disk_under_renewctl_import_is_named(small_fs, tmp_path):
    data = small_fs / "data"
    data.mkdir()
    demo_load(data)
    csv = tmp_path / "customers.csv"
    with open(csv, "w") as f:
        f.write("external_id,name,email,country\n")
        for i in range(60000):
            f.write(f"CX-{i:07d},Customer number {i} with a long enough name Ltd,cust{i}@example.com,GB\n")
    digest = [x for x in renewctl("check", data=data, check=True).stdout.splitlines() if "digest of the content" in x]
    filler = fill(small_fs)
    # leave a little room: the import's first pages fit, the rest do not
    size = filler.stat().st_size
    with open(filler, "r+b") as f:
        f.truncate(max(0, size - 256 * 1024))
    p = renewctl("import", "--vendor", "sentinel", "--kind", "customers", csv, data=data, timeout=120)
    assert p.returncode == 1, (p.returncode, p.stdout[-500:], p.stderr[-2000:])
    assert "full" in p.stderr and str(data) in p.stderr and "nothing" in p.stderr, p.stderr[-2000:]
    filler.unlink()
    chk = renewctl("check", data=data)
    assert chk.returncode == 0 and "0 problems" in chk.stdout, chk.stdout[-2000:] + chk.stderr
    assert [x for x in chk.stdout.splitlines() if "digest of the content" in x] == digest
    small = tmp_path / "few.csv"
    small.write_text("".join(csv.read_text().splitlines(True)[:2001]))
    p = renewctl("import", "--vendor", "sentinel", "--kind", "customers", small, data=data, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
