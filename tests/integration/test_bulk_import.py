"""The bulk import path (issue 20): references from memory, new records
appended, each index's new keys sorted and inserted at the commit.

The bulk load must leave every table and index byte for byte as the
row-at-a-time path (renewctl import --row-at-a-time: each record's index
entries written with it) leaves them, for files with new records, updates,
a contract moved to another customer, rows naming one record twice,
partner references, licence keys and bad rows; an import stays all or
nothing (a bad row in an atomic import, renewd killed mid-import); long
imports still report their progress.  docs/performance.md (Import) and
docs/imports.md describe the path.
"""
import hashlib
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import (BUILD, DEMO, PG_MODE, RENEWCTL, ApiClient, api_user, copy_store, demo_load, renewctl, start_api,
                      store_args)

pytestmark = pytest.mark.skipif(PG_MODE, reason="compares LMDB tables entry by entry (PostgreSQL keeps the row path)")

ASAN = "asan" in BUILD.name


def digest(data, skip=("t:audit", "i:audit:", "t:imports", "i:imports:")):
    """{name: (entries, sha256 of every key and value in order)} of every
    table and index of a stopped store; the audit trail (timestamps) and the
    import records aside."""
    import lmdb
    env = lmdb.open(str(data), readonly=True, lock=False, max_dbs=512, subdir=True)
    out = {}
    try:
        with env.begin() as t:
            names = [k for k, _ in t.cursor()]
        for name in names:
            n = name.decode()
            if n.startswith(skip):
                continue
            db = env.open_db(name, create=False)
            h, count = hashlib.sha256(), 0
            with env.begin(db=db) as t:
                for k, v in t.cursor():
                    h.update(len(k).to_bytes(4, "little") + k + len(v).to_bytes(4, "little") + v)
                    count += 1
            out[n] = (count, h.hexdigest())
    finally:
        env.close()
    return out


def demo():
    return json.loads(DEMO.read_text())


def files(tmp, n=600):
    """customers, contacts, products and contracts files over the demo's
    records: new ones, updates, repeats, partner references, licence keys,
    bad rows."""
    d = demo()
    custs = [c["external_id"] for c in d["customers"]]
    skus = [p["sku"] for p in d["products"]]
    resellers = [p["external_id"] for p in d["partners"] if p["kind"] == "reseller"]
    dist = [p["external_id"] for p in d["partners"] if p["kind"] == "distributor"][0]
    kext = [c["external_id"] for c in d["contracts"]]
    out = {}
    rows = ["external_id,name,email,country"]
    rows += [f"BULK-C{i:04d},Bulk Customer {i},it{i}@bulk.example,GB" for i in range(150)]
    rows += [f"{custs[0]},Abbott Dental Group (renamed),it@abbott.example,GB"]
    out["customers"] = "\n".join(rows) + "\n"
    rows = ["external_id,customer_external_id,name,email"]
    rows += [f"BULK-P{i:04d},{(custs + ['BULK-C0001'])[i % (len(custs) + 1)]},Person {i},p{i}@bulk.example"
             for i in range(120)]
    rows += ["BULK-P9999,NO-SUCH-CUSTOMER,Nobody,n@bulk.example"]
    out["contacts"] = "\n".join(rows) + "\n"
    rows = ["sku,name,price_annual_GBP,upsell_skus"]
    rows += [f"BULK-SKU{i:02d},Bulk Product {i},{1000 + i},{skus[i % len(skus)]}" for i in range(80)]
    rows += [f"{skus[0]},Web Security Gateway (renamed),3700,"]
    out["products"] = "\n".join(rows) + "\n"
    allcust = custs + [f"BULK-C{i:04d}" for i in range(150)]
    rows = ["external_id,customer_external_id,product_sku,reseller_external_id,distributor_external_id,"
            "quantity,start,end,currency,licence_key"]
    for i in range(n):
        # ids in file order, end dates and customers scattered: the sorted
        # inserts land all over the end, customer and licence indexes
        res = resellers[i % len(resellers)]
        di = dist if i % 3 == 0 else ""
        end = f"20{27 + i * 7 % 5}-{1 + i * 5 % 12:02d}-{1 + i * 11 % 28:02d}"
        lk = f"LK-{i // 2:05d}" if i % 5 else ""
        rows.append(f"BULK-K{(i * 7919) % 100000:05d},{allcust[i * 31 % len(allcust)]},{skus[i % len(skus)]},"
                    f"{res},{di},{1 + i % 90},2026-01-01,{end},GBP,{lk}")
    # the demo's contracts updated, the first two moved to another customer
    for j, k in enumerate(kext[:12]):
        rows.append(f"{k},{custs[(j + 3) % len(custs)] if j < 2 else ''},,,,{200 + j},,,,LK-DEMO-{j}")
    # a record named twice (the later row's values win), full rows both times
    rows.append(f"BULK-K{(5 * 7919) % 100000:05d},{custs[1]},{skus[1]},{resellers[0]},,77,2026-01-01,2029-06-30,GBP,LK-TWICE")
    # bad rows: an unknown customer, a bad date, an unknown partner
    rows.append(f"BULK-BAD1,NO-SUCH-CUSTOMER,{skus[0]},,,1,2026-01-01,2027-01-01,GBP,")
    rows.append(f"BULK-BAD2,{custs[0]},{skus[0]},,,1,2026-01-01,2027-02-30,GBP,")
    rows.append(f"BULK-BAD3,{custs[0]},{skus[0]},NO-SUCH-RESELLER,,1,2026-01-01,2027-01-01,GBP,")
    out["contracts"] = "\n".join(rows) + "\n"
    paths = {}
    for kind, text in out.items():
        p = Path(tmp) / f"{kind}.csv"
        p.write_text(text)
        paths[kind] = p
    return paths


def ctl_import(data, kind, path, *extra):
    p = renewctl("import", "--vendor", "sentinel", "--kind", kind, "--no-atomic", *extra, path, data=data)
    assert p.stdout.startswith("imported "), (p.stdout, p.stderr)  # exit 1: rows with errors were skipped
    return p


SUMMARY_RE = re.compile(r"^imported (\d+) rows: (\d+) new, (\d+) updated, (\d+) unchanged, (\d+) with errors")


def test_bulk_and_row_at_a_time_leave_every_table_and_index_alike(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    demo_load(base)
    bulk = copy_store(base, tmp_path / "bulk")
    rows = copy_store(base, tmp_path / "rows")
    paths = files(tmp_path)
    summaries = {}
    for kind in ("customers", "products", "contacts", "contracts"):
        a = ctl_import(bulk, kind, paths[kind])
        b = ctl_import(rows, kind, paths[kind], "--row-at-a-time")
        assert a.stdout.splitlines()[-1].split(" (")[0] == b.stdout.splitlines()[-1].split(" (")[0], (a.stdout, b.stdout)
        summaries[kind] = SUMMARY_RE.match(a.stdout.splitlines()[-1]).groups()
    # the files did what they say: new records, updates, errors
    n, new, upd, same, bad = map(int, summaries["contracts"])
    assert new >= 590 and upd >= 13 and bad == 3, summaries
    assert int(summaries["contacts"][4]) == 1 and int(summaries["products"][2]) == 1, summaries
    da, db = digest(bulk), digest(rows)
    assert da.keys() == db.keys()
    differ = sorted(k for k in da if da[k] != db[k])
    assert not differ, {k: (da[k], db[k]) for k in differ}
    # and the import changed what it should have (not two empty stores)
    assert da["t:contracts"] != digest(base)["t:contracts"]
    assert da["i:contracts:licence"][0] > 400 and da["i:contracts:end"][0] > 600, da
    for data in (bulk, rows):
        assert renewctl("check", data=data).returncode == 0
    # re-importing the same file writes nothing, both ways
    for data, extra in ((bulk, ()), (rows, ("--row-at-a-time",))):
        p = ctl_import(data, "contracts", paths["contracts"], *extra)
        n2, new2, upd2, same2, bad2 = map(int, SUMMARY_RE.match(p.stdout.splitlines()[-1]).groups())
        assert new2 == 0 and bad2 == 3 and same2 > 590, p.stdout


def test_a_daemon_import_matches_the_row_at_a_time_path(tmp_path, daemon):
    """The API's import (the daemon's job) goes through the bulk load too:
    the same tables and indexes as renewctl's row-at-a-time path."""
    base = tmp_path / "base"
    base.mkdir()
    demo_load(base)
    token, uid = api_user(base)
    # the daemon sweeps at start (quotes, opportunities): once here, so that
    # both copies start from the swept store, and not again (a long interval)
    args = ("--sched-interval-ms", "3600000")
    daemon(data=base, args=args).stop()
    rows = copy_store(base, tmp_path / "rows")
    paths = files(tmp_path)
    api_dir = copy_store(base, tmp_path / "api")
    d = daemon(data=api_dir, args=args)
    client = ApiClient(d, token, uid)
    for kind in ("customers", "products", "contacts", "contracts"):
        doc = client.run_import(kind, paths[kind].read_bytes(), atomic="false", timeout=60)
        assert doc["status"] == "succeeded", doc
        ctl_import(rows, kind, paths[kind], "--row-at-a-time")
    d.stop()
    # the daemon made a user (the API token) and import records: compare the channel's data
    keep = ("t:customers", "t:contacts", "t:products", "t:contracts", "t:opportunities", "i:customers:",
            "i:contacts:", "i:products:", "i:contracts:", "i:opportunities:")
    da = {k: v for k, v in digest(api_dir).items() if k.startswith(keep)}
    db = {k: v for k, v in digest(rows).items() if k.startswith(keep)}
    assert da.keys() == db.keys() and len(da) > 12, sorted(da)
    differ = sorted(k for k in da if da[k] != db[k])
    assert not differ, {k: (da[k], db[k]) for k in differ}
    assert renewctl("check", data=api_dir).returncode == 0


def test_a_bad_row_in_an_atomic_bulk_import_applies_nothing(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    demo_load(data)
    paths = files(tmp_path)
    ctl_import(data, "customers", paths["customers"])
    before = digest(data)
    p = renewctl("import", "--vendor", "sentinel", "--kind", "contracts", paths["contracts"], data=data)
    assert "nothing applied: 3 of" in p.stdout, p.stdout
    assert digest(data) == before


def big_contracts(path, n):
    d = demo()
    custs = [c["external_id"] for c in d["customers"]]
    skus = [p["sku"] for p in d["products"]]
    resellers = [p["external_id"] for p in d["partners"] if p["kind"] == "reseller"]
    with open(path, "w") as f:
        f.write("external_id,customer_external_id,product_sku,reseller_external_id,quantity,start,end,currency\n")
        for i in range(n):
            f.write(f"BIG-{i:07d},{custs[i % len(custs)]},{skus[i % len(skus)]},{resellers[i % len(resellers)]},"
                    f"{1 + i % 50},2026-01-01,"
                    f"20{27 + i % 4}-{1 + i % 12:02d}-{1 + i % 28:02d},GBP\n")


def test_renewctl_killed_mid_import_leaves_the_import_whole_or_absent(tmp_path):
    """SIGKILL while the bulk load writes (or commits): after a restart the
    import's records are all there or none is, and renewctl check passes."""
    n = 20000 if ASAN else 60000
    data = tmp_path / "data"
    data.mkdir()
    demo_load(data)
    path = tmp_path / "big.csv"
    big_contracts(path, n)
    before = digest(data)["t:contracts"][0]
    outcomes = set()
    for delay in (0.3, 0.8, 1.5):
        cmd = [str(RENEWCTL), "--data", str(data)] + store_args(data) + [
            "import", "--vendor", "sentinel", "--kind", "contracts", str(path)]
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
        count = digest(data)["t:contracts"][0]
        assert count in (before, before + n), (delay, count, before)
        outcomes.add(count == before + n)
        chk = renewctl("check", data=data)
        assert chk.returncode == 0, chk.stdout + chk.stderr
        if count == before + n:
            break
    # the import, once it completes, is whole
    if True not in outcomes:
        p = renewctl("import", "--vendor", "sentinel", "--kind", "contracts", path, data=data, timeout=120)
        assert p.returncode == 0, p.stdout + p.stderr
        assert digest(data)["t:contracts"][0] == before + n
    assert False in outcomes or True in outcomes


def test_a_long_bulk_import_still_reports_progress(tmp_path, daemon):
    n = 20000 if ASAN else 60000
    path = tmp_path / "big.csv"
    big_contracts(path, n)
    data = tmp_path / "data"
    d, client, _ = start_api(daemon, data)
    r = client.import_start("contracts", path.read_bytes())
    assert r.status == 202, r
    seen = []
    doc = client.import_wait(r.json()["id"], timeout=80, on_poll=lambda doc: seen.append(doc.get("progress")))
    assert doc["status"] == "succeeded" and doc["created"] == n, doc
    progress = [s for s in seen if s]
    assert progress, seen
    assert all(0 <= s["percent"] <= 100 and s["bytes_total"] == len(path.read_bytes()) for s in progress)
    # renewctl's bar, on stderr, for a file of its own
    path2 = tmp_path / "big2.csv"
    big_contracts(path2, 2000)
    d.stop()
    p = renewctl("import", "--vendor", "sentinel", "--kind", "contracts", path2, data=data, check=True)
    assert re.search(r"\[[#.]{20}\] +100\.0%  2000 rows", p.stderr), p.stderr
