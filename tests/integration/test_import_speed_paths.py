"""The import's per-row shortcuts (issue 20, docs/performance.md "Issue 20:
the import's per-row work"): a row's references are checked by id once per
import and then answered from memory, the contract's external id is looked
up once per row, a new record's counters are derived once and summed in
memory until the commit.  Each shortcut must refuse and write exactly what
the row-at-a-time path (renewctl import --row-at-a-time) does: the same
errors, row for row, and the same tables, indexes and counters.
"""
import json

import pytest

from conftest import DEMO, PG_MODE, copy_store, demo_load, renewctl
from test_bulk_import import SUMMARY_RE, digest

pytestmark = pytest.mark.skipif(PG_MODE, reason="compares LMDB tables entry by entry (PostgreSQL keeps the row path)")


def contracts_file(path, n=400):
    """n good rows that warm every cache (the reference maps load after 64
    look-ups), with bad rows early and late: a reseller named as the
    distributor (known as a reseller by then), an unknown customer, an
    unknown product; a distributor as the reseller (no distributor of
    record follows from it); a row naming a contract twice."""
    d = json.loads(DEMO.read_text())
    custs = [c["external_id"] for c in d["customers"]]
    skus = [p["sku"] for p in d["products"]]
    res = [p["external_id"] for p in d["partners"] if p["kind"] == "reseller"]
    dist = [p["external_id"] for p in d["partners"] if p["kind"] == "distributor"][0]
    rows = ["external_id,customer_external_id,product_sku,reseller_external_id,distributor_external_id,"
            "quantity,start,end,currency"]

    def bad(tag):
        return [f"SP-{tag}-1,{custs[0]},{skus[0]},{res[0]},{res[1]},1,2026-01-01,2027-01-01,GBP",
                f"SP-{tag}-2,NO-SUCH-CUSTOMER,{skus[0]},{res[0]},,1,2026-01-01,2027-01-01,GBP",
                f"SP-{tag}-3,{custs[1]},NO-SUCH-SKU,{res[0]},,1,2026-01-01,2027-01-01,GBP",
                f"SP-{tag}-4,{custs[2]},{skus[1]},{dist},,3,2026-01-01,2027-03-01,GBP"]
    rows += bad("EARLY")
    for i in range(n):
        rows.append(f"SP-{i:05d},{custs[i % len(custs)]},{skus[i % len(skus)]},{res[i % len(res)]},"
                    f"{dist if i % 4 == 0 else ''},{1 + i % 30},2026-01-01,"
                    f"20{27 + i % 3}-{1 + i % 12:02d}-{1 + i * 7 % 28:02d},{'GBP' if i % 5 else 'EUR'}")
    rows += bad("LATE")
    rows.append(f"SP-00007,{custs[3]},{skus[2]},{res[2]},,9,2026-01-01,2030-01-01,GBP")  # named twice
    path.write_text("\n".join(rows) + "\n")
    return path


def errors(out):
    return [line for line in out.splitlines() if line.startswith("row ")]


def test_references_answered_from_memory_are_refused_and_written_as_row_by_row(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    demo_load(base)
    bulk = copy_store(base, tmp_path / "bulk")
    rows = copy_store(base, tmp_path / "rows")
    path = contracts_file(tmp_path / "contracts.csv")
    a = renewctl("import", "--vendor", "sentinel", "--kind", "contracts", "--no-atomic", path, data=bulk)
    b = renewctl("import", "--vendor", "sentinel", "--kind", "contracts", "--no-atomic", "--row-at-a-time", path,
                 data=rows)
    assert a.stdout.startswith("imported "), (a.stdout, a.stderr)
    sa, sb = (SUMMARY_RE.match(p.stdout.splitlines()[-1]).groups() for p in (a, b))
    assert sa == sb, (a.stdout, b.stdout)
    n, new, upd, same, bad = map(int, sa)
    assert bad == 6 and new == 402 and upd == 1, a.stdout
    # the same refusals, word for word, early (before any cache) and late
    text = a.stdout + a.stderr
    assert errors(text) == errors(b.stdout + b.stderr) and len(errors(text)) == 6, text
    for row in (2, 406):
        assert f"row {row}, column distributor_id: distributor_id names no distributor" in text, text
    assert text.count("distributor_id names no distributor") == 2, text
    assert text.count('customer_external_id "NO-SUCH-CUSTOMER" names no record') == 2, text
    assert text.count('product_sku "NO-SUCH-SKU" names no record') == 2, text
    # every table, index and counter row alike
    da, db = digest(bulk), digest(rows)
    assert da.keys() == db.keys() and "_counters" in da
    differ = sorted(k for k in da if da[k] != db[k])
    assert not differ, {k: (da[k], db[k]) for k in differ}
    assert da["_counters"] != digest(base)["_counters"]
    for data in (bulk, rows):
        chk = renewctl("check", data=data)
        assert chk.returncode == 0, chk.stdout + chk.stderr


def test_a_re_import_after_a_bulk_load_writes_nothing(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    demo_load(data)
    path = contracts_file(tmp_path / "contracts.csv", n=200)
    renewctl("import", "--vendor", "sentinel", "--kind", "contracts", "--no-atomic", path, data=data)
    before = digest(data)
    before.pop("_seq")  # the audit trail's and import records' sequences
    p = renewctl("import", "--vendor", "sentinel", "--kind", "contracts", "--no-atomic", path, data=data)
    n, new, upd, same, bad = map(int, SUMMARY_RE.match(p.stdout.splitlines()[-1]).groups())
    # the contract the file names twice is set to its first row's values and
    # back to its second's; every other row is the stored record
    assert new == 0 and upd == 2 and same == 201 and bad == 6, p.stdout
    after = digest(data)
    after.pop("_seq")
    assert after == before
