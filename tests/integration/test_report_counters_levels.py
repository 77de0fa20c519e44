"""Every report level from counters or an index-served page (issue 20;
docs/reporting.md "Counters").

Partners' and sales people's dashboards and the rankings by reseller,
distributor and sales person read the channel's counters (per reseller,
distributor and quote's publish); a product's or a line's contract list
keeps its first rows as the keys go by and joins only those; a customer's
levels join each of its contracts by id.  `renewctl check` compares each of
these with the walk (rd_reports_*_walk, the reference): every partner's and
sales person's dashboard and rankings, every product's and line's contract
list, the first customers' levels.  A partner's figures never hold another
partner's contracts; a store filled by a build before the channel's
counters is filled again at start and answers as the walk does.  On LMDB
and PostgreSQL (the tampering goes through each store's own tables).
"""
import random

from urllib.parse import quote

from conftest import PG_MODE, ApiClient, renewctl
from test_quote_pdf import start
from test_report_counters import check, random_run


def dash(client):
    return client.get("/api/v1/reports/dashboard")


def scoped_views(client):
    """What a partner (or anyone) sees of the reports, as JSON."""
    out = {"dashboard": dash(client)}
    for by in ("reseller", "distributor", "sales"):
        out[f"rankings_{by}"] = client.get(f"/api/v1/reports/rankings?by={by}&limit=100")
    return out


def counters_rows(data):
    """(tenant, key, n) of the contracts' counters rows, from the store's own table."""
    if PG_MODE:
        import pgcluster
        from conftest import _pg
        db = _pg().ensure_db(pgcluster.db_for_dir(data))
        out = _pg().psql(db, "SELECT tenant, encode(k, 'hex'), n FROM rd_counters WHERE tbl = 'contracts'")
        rows = []
        for line in out.strip().splitlines():
            t, k, n = line.split("|")
            rows.append((int(t), bytes.fromhex(k), int(n)))
        return rows
    import lmdb
    env = lmdb.open(str(data), max_dbs=128, subdir=True)
    try:
        db = env.open_db(b"_counters", create=False)
        rows = []
        with env.begin(db=db) as txn:
            for k, v in txn.cursor():
                t, _, rest = k[8:].partition(b"\x00")
                if _ == b"\x00" and t == b"contracts":
                    rows.append((int.from_bytes(k[:8], "big"), rest, int.from_bytes(v[:8], "little")))
        return rows
    finally:
        env.close()


CHANNEL_TAGS = b"acmfdyrpq"  # the channel's buckets (model.h)


def as_older_build(data):
    """The store as a build before the channel's counters left it: none of
    their rows, the fill marker at 1."""
    if PG_MODE:
        import pgcluster
        from conftest import _pg
        db = _pg().ensure_db(pgcluster.db_for_dir(data))
        tags = ",".join(f"'\\x{t:02x}'::bytea" for t in CHANNEL_TAGS)
        _pg().psql(db, f"DELETE FROM rd_counters WHERE tbl = 'contracts' AND tenant <> 0 AND substr(k, 1, 1) IN ({tags})")
        _pg().psql(db, "UPDATE rd_counters SET n = 1 WHERE tbl = 'contracts' AND tenant = 0 AND k = '\\x2366696c6c6564'")
        return
    import lmdb
    env = lmdb.open(str(data), max_dbs=128, subdir=True)
    try:
        db = env.open_db(b"_counters", create=False)
        with env.begin(write=True, db=db) as txn:
            for k, v in list(txn.cursor()):
                rest = k[8:]
                if not rest.startswith(b"contracts\x00"):
                    continue
                key = rest[len(b"contracts\x00"):]
                if int.from_bytes(k[:8], "big") and key[:1] and key[0] in CHANNEL_TAGS:
                    txn.delete(k)
                elif key == b"#filled":
                    txn.put(k, (1).to_bytes(8, "little") + v[8:])
    finally:
        env.close()


def tamper_channel_row(data):
    """Adds one to the first channel 'm' row's count."""
    if PG_MODE:
        import pgcluster
        from conftest import _pg
        db = _pg().ensure_db(pgcluster.db_for_dir(data))
        _pg().psql(db, "UPDATE rd_counters SET n = n + 1 WHERE (tbl, tenant, k) IN (SELECT tbl, tenant, k FROM rd_counters"
                       " WHERE tbl = 'contracts' AND tenant = 1 AND substr(k, 1, 1) = '\\x6d'::bytea ORDER BY k LIMIT 1)")
        return
    import lmdb
    env = lmdb.open(str(data), max_dbs=128, subdir=True)
    try:
        db = env.open_db(b"_counters", create=False)
        with env.begin(write=True, db=db) as txn:
            key, val = next((k, v) for k, v in txn.cursor() if k.startswith((1).to_bytes(8, "big") + b"contracts\x00m"))
            txn.put(key, (int.from_bytes(val[:8], "little") + 1).to_bytes(8, "little") + val[8:])
    finally:
        env.close()


def tamper_product_rows(data):
    """Adds one to the count of every per-product 'G' row of vendor 1."""
    if PG_MODE:
        import pgcluster
        from conftest import _pg
        db = _pg().ensure_db(pgcluster.db_for_dir(data))
        _pg().psql(db, "UPDATE rd_counters SET n = n + 1 WHERE tbl = 'contracts' AND tenant = 1"
                       " AND substr(k, 1, 1) = '\\x47'::bytea")
        return
    import lmdb
    env = lmdb.open(str(data), max_dbs=128, subdir=True)
    try:
        db = env.open_db(b"_counters", create=False)
        with env.begin(write=True, db=db) as txn:
            rows = [(k, v) for k, v in txn.cursor() if k.startswith((1).to_bytes(8, "big") + b"contracts\x00G")]
            for key, val in rows:
                txn.put(key, (int.from_bytes(val[:8], "little") + 1).to_bytes(8, "little") + val[8:])
    finally:
        env.close()


def test_every_level_and_scope_answers_as_the_walk_after_a_random_run(daemon, tmp_path):
    d, data, admin, u, other = start(daemon, tmp_path, users=[("plat@x.example", "partner-admin", "2"),
                                                                ("gold@x.example", "partner-admin", "3"),
                                                                ("dist@x.example", "partner-admin", "1")])
    partners = {2: u["plat@x.example"], 3: u["gold@x.example"]}
    # sales contacts: partner 2's quotes sold by its admin (a sales person's scope to check)
    me = u["plat@x.example"].get("/api/v1/me")
    admin.ok("PATCH", "/api/v1/partners/2", {"sales_user_id": me["id"]})
    random_run(d, data, admin, partners, random.Random(20261208))
    # renewctl check: every counter recounted, and every level and scope compared with the walk
    check(data)
    # the API answers what the counters answer: a partner's views, stable across a restart
    views = {n: scoped_views(c) for n, c in u.items()}
    assert views["plat@x.example"]["dashboard"]["contracts"] > 0
    assert views["dist@x.example"]["dashboard"]["contracts"] >= views["plat@x.example"]["dashboard"]["contracts"]
    d.stop()
    d2 = daemon(data=data, args=["--test-clock", "1", "--sched-interval-ms", "100000"])
    for n, c in u.items():
        assert scoped_views(ApiClient(d2, c.token)) == views[n], n
    d2.stop()
    # a drifted channel row: renewctl check names the bucket and the scoped figures that differ
    tamper_channel_row(data)
    p = renewctl("check", data=data)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "problem: counters contracts.report: tenant 1 bucket " in p.stdout, p.stdout
    assert "from the counters differs from a recount" in p.stdout, p.stdout


def test_a_partner_never_counts_another_partners_contracts(daemon, tmp_path):
    d, data, admin, u, other = start(daemon, tmp_path, users=[("plat@x.example", "partner-admin", "2"),
                                                                ("gold@x.example", "partner-admin", "3")])
    plat, gold = u["plat@x.example"], u["gold@x.example"]
    ks = admin.items("/api/v1/contracts")

    def seen_by(pid):
        return sum(1 for k in admin.items("/api/v1/contracts")
                   if k.get("reseller_id") == pid or k.get("distributor_id") == pid)

    before_gold = scoped_views(gold)
    assert dash(plat)["contracts"] == seen_by(2)
    assert before_gold["dashboard"]["contracts"] == seen_by(3)
    # a contract of partner 2 in a currency partner 3 has none in: partner 3's figures do not move
    customers = admin.items("/api/v1/customers")
    products = admin.items("/api/v1/products")
    today = admin.get("/api/v1/clock")["today"]
    y, m, dd = (int(x) for x in today.split("-"))
    k = admin.ok("POST", "/api/v1/contracts", {
        "external_id": "TWO-1", "customer_id": customers[0]["id"], "product_id": products[0]["id"], "quantity": 7,
        "term": "annual", "currency": "USD", "start": f"{y - 1}-{m:02d}-01", "end": f"{y}-{m:02d}-{min(dd + 5, 28):02d}",
        "status": "live", "reseller_id": 2}, status=201)
    assert scoped_views(gold) == before_gold
    after = dash(plat)
    assert after["contracts"] == seen_by(2) and seen_by(2) == sum(1 for x in ks if x.get("reseller_id") == 2
                                                                   or x.get("distributor_id") == 2) + 1
    assert any(r[0] == "USD" for r in after["tables"]["rate"]["rows"]), after["tables"]["rate"]
    assert not any(r[0] == "USD" and r[1] for r in dash(gold)["tables"]["rate"]["rows"]), dash(gold)["tables"]["rate"]
    # partner 3's rankings by reseller name partner 3 only; partner 2's never partner 3
    rows = gold.get("/api/v1/reports/rankings?by=reseller&limit=100")["tables"]["by_value"]["rows"]
    assert rows and all(row[3] == 3 for row in rows), rows
    rows = plat.get("/api/v1/reports/rankings?by=reseller&limit=100")["tables"]["by_value"]["rows"]
    assert rows and all(row[3] == 2 for row in rows), rows
    # moved to partner 3: now in its figures, gone from partner 2's
    admin.ok("PATCH", f"/api/v1/contracts/{k['id']}", {"reseller_id": 3})
    assert dash(gold)["contracts"] == before_gold["dashboard"]["contracts"] + 1 == seen_by(3)
    assert dash(plat)["contracts"] == seen_by(2)
    d.stop()
    check(data)


def test_a_store_filled_before_the_channel_counters_is_filled_at_start(daemon, tmp_path):
    d, data, admin, u, other = start(daemon, tmp_path, users=[("plat@x.example", "partner-admin", "2"),
                                                                ("dist@x.example", "partner-admin", "1")])
    views = {n: scoped_views(c) for n, c in u.items()}
    vendor = {by: admin.get(f"/api/v1/reports/rankings?by={by}&limit=100") for by in ("reseller", "distributor")}
    d.stop()
    before = [r for r in counters_rows(data) if r[0] and r[1][:1] and r[1][0] in CHANNEL_TAGS]
    assert before, "the channel's counters are kept"
    as_older_build(data)
    assert not [r for r in counters_rows(data) if r[0] and r[1][:1] and r[1][0] in CHANNEL_TAGS]
    p = renewctl("check", data=data)
    assert p.returncode == 1 and "is missing" in p.stdout, p.stdout
    d2 = daemon(data=data, args=["--test-clock", "1", "--sched-interval-ms", "100000"])
    for n, c in u.items():
        assert scoped_views(ApiClient(d2, c.token)) == views[n], n
    admin2 = ApiClient(d2, admin.token)
    for by, want in vendor.items():
        assert admin2.get(f"/api/v1/reports/rankings?by={by}&limit=100") == want
    d2.stop()
    rows = counters_rows(data)
    assert sorted(r for r in rows if r[0] and r[1][:1] and r[1][0] in CHANNEL_TAGS) == sorted(before)
    assert (0, b"#filled", 2) in rows, [r for r in rows if not r[0]]
    check(data)


def test_list_and_customer_levels_answer_as_the_walk(daemon, tmp_path):
    d, data, admin, u, other = start(daemon, tmp_path, users=[("gold@x.example", "partner-admin", "3")])
    products = admin.items("/api/v1/products")
    lines = sorted({p["line"] for p in products})
    # pages of every size: the first rows and `truncated` as the full list's
    for p in products[:3]:
        full = admin.get(f"/api/v1/reports/drilldown?by=contract&product={p['id']}&limit=1000")
        rows = full["tables"]["rows"]["rows"]
        for limit in (1, 2, 5):
            page = admin.get(f"/api/v1/reports/drilldown?by=contract&product={p['id']}&limit={limit}")
            assert page["tables"]["rows"]["rows"] == rows[:limit]
            assert page["truncated"] == (len(rows) > limit)
            assert page["tables"]["totals"] == full["tables"]["totals"]
            assert page["contracts"] == full["contracts"]
    for line in lines:
        full = admin.get(f"/api/v1/reports/drilldown?by=contract&line={quote(line)}&limit=1000")
        page = admin.get(f"/api/v1/reports/drilldown?by=contract&line={quote(line)}&limit=3")
        assert page["tables"]["rows"]["rows"] == full["tables"]["rows"]["rows"][:3]
    d.stop()
    check(data)  # every product's and line's list, the first customers' levels: the walk's
    # the customer level's short pages take their totals from the per-product
    # counters (on LMDB: on PostgreSQL the level is walked): drifted rows show
    # there too
    tamper_product_rows(data)
    p = renewctl("check", data=data)
    assert p.returncode == 1, p.stdout + p.stderr
    if not PG_MODE:
        assert "the drill-down by customer (limit 1) differs from a recount" in p.stdout, p.stdout


def test_a_narrow_partners_product_levels_answer_as_the_walk(daemon, tmp_path):
    """A partner that sees an eighth of the vendor's contracts or fewer: its
    product's contracts and levels join its own contracts one by one."""
    d, data, admin, u, other = start(daemon, tmp_path, users=[("plat@x.example", "partner-admin", "2")])
    plat = u["plat@x.example"]
    ks = admin.items("/api/v1/contracts")
    mine = sum(1 for k in ks if k.get("reseller_id") == 2 or k.get("distributor_id") == 2)
    customers = admin.items("/api/v1/customers")
    products = admin.items("/api/v1/products")
    today = admin.get("/api/v1/clock")["today"]
    y = int(today[:4])
    rng = random.Random(7)
    rows = ["external_id,customer_external_id,product_sku,reseller_external_id,quantity,start,end,currency"]
    for i in range(8 * mine):
        m, dd = rng.randint(1, 12), rng.randint(1, 28)
        rows.append(f"NW-{i},{rng.choice(customers)['external_id']},{rng.choice(products)['sku']},RES-SILV,"
                    f"{rng.randint(1, 9)},{y - 1}-{m:02d}-{dd:02d},{y}-{m:02d}-{dd:02d},{rng.choice(['GBP', 'EUR'])}")
    doc = admin.run_import("contracts", ("\n".join(rows) + "\n").encode())
    assert doc["status"] == "succeeded", doc
    assert mine * 8 <= len(admin.items("/api/v1/contracts"))  # the narrow path
    shown = 0
    for p in products:
        rep = plat.get(f"/api/v1/reports/drilldown?by=contract&product={p['id']}&limit=1000")
        assert all(r[0] in {k["id"] for k in ks if k.get("reseller_id") == 2 or k.get("distributor_id") == 2}
                   for r in rep["tables"]["rows"]["rows"]), rep["tables"]["rows"]
        shown += len({r[0] for r in rep["tables"]["rows"]["rows"]})
    assert 0 < shown <= mine
    d.stop()
    check(data)  # every partner's first products' contracts and levels: the walk's
