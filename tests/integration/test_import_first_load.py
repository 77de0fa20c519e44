"""The first load's shortcuts (issue 20, docs/performance.md "Issue 20: the
first import's index keys and counters"): a bulk load's counter rows past
the counters' last key are appended with the load's sums, without a look-up,
the rows before it added to what they hold; a contract's counters reuse the
product's decoded prices while the product's record is the same.  Each must
write exactly what the row-at-a-time path (renewctl import --row-at-a-time)
writes, and the counters must equal the walk (renewctl check), when a load
mixes new contracts with updates of existing ones and lands before, among and
after the rows already stored.
"""
import json

import pytest

from conftest import DEMO, PG_MODE, ApiClient, api_user, copy_store, demo_load, renewctl
from test_bulk_import import SUMMARY_RE, digest

pytestmark = pytest.mark.skipif(PG_MODE, reason="compares LMDB tables entry by entry (PostgreSQL keeps the row path)")

HEAD = ("external_id,customer_external_id,product_sku,reseller_external_id,distributor_external_id,"
        "quantity,start,end,currency")


def refs():
    d = json.loads(DEMO.read_text())
    custs = [c["external_id"] for c in d["customers"]]
    skus = [p["sku"] for p in d["products"]]
    res = [p["external_id"] for p in d["partners"] if p["kind"] == "reseller"]
    dist = [p["external_id"] for p in d["partners"] if p["kind"] == "distributor"][0]
    return custs, skus, res, dist


def rows(prefix, ids, years, shift=0):
    """Contracts prefix-i for i in ids, their end dates spread over years
    (early years sort before the stored counter rows, late ones after)."""
    custs, skus, res, dist = refs()
    out = []
    for i in ids:
        j = i + shift
        y = years[j % len(years)]
        out.append(f"{prefix}-{i:05d},{custs[j % len(custs)]},{skus[j % len(skus)]},{res[j % len(res)]},"
                   f"{dist if j % 4 == 0 else ''},{1 + j % 30},2015-01-01,"
                   f"{y}-{1 + j % 12:02d}-{1 + j * 7 % 28:02d},{'GBP' if j % 5 else 'EUR'}")
    return out


def write(path, lines):
    path.write_text("\n".join([HEAD] + lines) + "\n")
    return path


def both(bulk, row, path):
    """The same import on both stores: the bulk load and the row path."""
    a = renewctl("import", "--vendor", "sentinel", "--kind", "contracts", path, data=bulk)
    b = renewctl("import", "--vendor", "sentinel", "--kind", "contracts", "--row-at-a-time", path, data=row)
    assert a.returncode == 0 and b.returncode == 0, (a.stdout, a.stderr, b.stdout, b.stderr)
    sa, sb = (SUMMARY_RE.match(p.stdout.splitlines()[-1]).groups() for p in (a, b))
    assert sa == sb, (a.stdout, b.stdout)
    return tuple(map(int, sa))


def alike(bulk, row):
    da, db = digest(bulk), digest(row)
    assert da.keys() == db.keys() and "_counters" in da
    differ = sorted(k for k in da if da[k] != db[k])
    assert not differ, {k: (da[k], db[k]) for k in differ}
    for data in (bulk, row):
        chk = renewctl("check", data=data)
        assert chk.returncode == 0, chk.stdout + chk.stderr


def test_a_first_load_then_a_mixed_load_write_the_counters_of_the_row_path(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    demo_load(base)
    bulk = copy_store(base, tmp_path / "bulk")
    row = copy_store(base, tmp_path / "row")
    # 1: new contracts only, ending in years on both sides of the demo's
    first = write(tmp_path / "first.csv", rows("FL", range(300), (2021, 2027, 2031, 2040)))
    n, new, upd, same, bad = both(bulk, row, first)
    assert (new, upd, bad) == (300, 0, 0)
    alike(bulk, row)
    before = digest(bulk)["_counters"]
    # 2: every third of them changed (another product, quantity, end date
    # and currency), the rest unchanged, and new ones between and past the
    # stored rows (earlier and later years than any so far)
    changed = rows("FL", range(0, 300, 3), (2019, 2045), shift=1)
    kept = rows("FL", [i for i in range(300) if i % 3], (2021, 2027, 2031, 2040))
    added = rows("NL", range(200), (2018, 2028, 2050))
    second = write(tmp_path / "second.csv", changed + added + kept)
    n, new, upd, same, bad = both(bulk, row, second)
    assert (new, upd, same, bad) == (200, 100, 200, 0)
    alike(bulk, row)
    assert digest(bulk)["_counters"] != before



def test_a_vendors_first_contracts_answered_from_memory_match_the_row_path(tmp_path, daemon):
    """A vendor without contracts: the import tells a row's contract is new
    from the external ids it sent on itself (no index look-up), and the
    store's id sequence is held in memory while the load allocates.  A file
    naming a contract twice, a bad row between, and a second import after
    it must leave the stores as the row path does, ids and all; so must the
    daemon's import (a validating pass, then the write)."""
    base = tmp_path / "base"
    base.mkdir()
    demo_load(base)
    assert renewctl("vendor", "create", "--name", "Fresh Vendor", "--slug", "fresh", "--currency", "GBP",
                    data=base).returncode == 0
    token, uid = api_user(base, email="admin@fresh.example", vendor="fresh")
    cust = tmp_path / "customers.csv"
    cust.write_text("external_id,name,email\n" + "".join(f"FC-{i},Fresh {i},c{i}@fresh.example\n" for i in range(5)))
    prod = tmp_path / "products.csv"
    prod.write_text("sku,name,price_annual_GBP\nFP-1,Fresh One,1200\nFP-2,Fresh Two,300\n")
    for kind, path in (("customers", cust), ("products", prod)):
        p = renewctl("import", "--vendor", "fresh", "--kind", kind, path, data=base)
        assert p.returncode == 0, p.stdout + p.stderr
    args = ("--sched-interval-ms", "3600000")
    d = daemon(data=base, args=args)
    ApiClient(d, token, uid).ok("POST", "/api/v1/partners", {"external_id": "FR-1", "name": "Fresh Reseller",
                                                             "kind": "reseller", "email": "r@fresh.example",
                                                             "tier": "gold"})
    d.stop()
    bulk = copy_store(base, tmp_path / "bulk")
    row = copy_store(base, tmp_path / "row")
    api_dir = copy_store(base, tmp_path / "api")
    head = "external_id,customer_external_id,product_sku,reseller_external_id,quantity,start,end,currency"
    lines = [f"FK-{i:03d},FC-{i % 5},FP-{1 + i % 2},FR-1,{1 + i},2026-01-01,20{27 + i % 3}-0{1 + i % 9}-15,GBP"
             for i in range(40)]
    lines.insert(20, "FK-007,FC-4,FP-2,FR-1,99,2026-01-01,2031-03-01,GBP")  # FK-007 again: the later row wins
    lines.insert(10, "FK-BAD,NO-SUCH,FP-1,FR-1,1,2026-01-01,2027-01-01,GBP")
    first = tmp_path / "first.csv"
    first.write_text("\n".join([head] + lines) + "\n")
    again = tmp_path / "again.csv"
    again.write_text(f"{head}\nFK-500,FC-1,FP-1,FR-1,3,2026-01-01,2028-05-05,GBP\n"
                     "FK-007,FC-4,FP-2,FR-1,98,2026-01-01,2031-03-01,GBP\n")
    d = daemon(data=api_dir, args=args)
    client = ApiClient(d, token, uid)
    for path, want in ((first, (40, 1, 0, 1)), (again, (1, 1, 0, 0))):
        out = []
        for data, extra in ((bulk, ()), (row, ("--row-at-a-time",))):
            p = renewctl("import", "--vendor", "fresh", "--kind", "contracts", "--no-atomic", *extra, path, data=data)
            assert p.stdout.startswith("imported "), (p.stdout, p.stderr)
            out.append(SUMMARY_RE.match(p.stdout.splitlines()[-1]).groups())
        assert out[0] == out[1], out
        assert tuple(map(int, out[0][1:])) == want, (out, p.stdout)
        doc = client.run_import("contracts", path.read_bytes(), atomic="false", timeout=60)
        assert doc["status"] == "succeeded", doc
        alike(bulk, row)
    d.stop()
    keep = ("t:contracts", "i:contracts:", "_counters")
    da = {k: v for k, v in digest(api_dir).items() if k.startswith(keep)}
    db = {k: v for k, v in digest(row).items() if k.startswith(keep)}
    assert da == db and len(da) > 5, sorted(da)
