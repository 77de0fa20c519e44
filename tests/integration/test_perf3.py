"""The contracts' `partner` list filter served from the indexes (issue 20):
a contract matches when the partner is its reseller OR its distributor of
record, so the list walks the reseller index and the distributor index
(core/domain/model.c, "distributor") for the partner's id at once, merged
in id order, a contract under both handed over once
(core/services/listing.c).  The lists are compared, page by page at several
page sizes and for vendor and partner callers, with the unfiltered list
(the table walk) filtered as the API documents.

A store written before the distributor index existed (its index database
dropped with python3-lmdb) gets the index filled at start (once, under a
meta flag), answers the filter the same, and `renewctl check` finds the
indexes whole.
"""
import pytest

from conftest import ApiClient, PG_MODE, api_user, demo_load, renewctl, table_entries
from test_perf_paths import PAGE_SIZES, walk


def partner_pred(pid):
    return lambda k: k["reseller_id"] == pid or k["distributor_id"] == pid


def same_as_walk(api, query, pred, as_="admin", base=""):
    whole = walk(api, "/api/v1/contracts" + (f"?{base}" if base else ""), as_=as_)
    want = [x for x in whole if pred(x)]
    q = f"{base}&{query}" if base else query
    for limit in PAGE_SIZES:
        got = walk(api, f"/api/v1/contracts?{q}", as_=as_, limit=limit)
        assert got == want, f"contracts?{q} limit={limit}: {[x['id'] for x in got]} != {[x['id'] for x in want]}"
    return want


@pytest.fixture(scope="module")
def mixed(api):
    """Contracts whose partners are resellers, distributors, or both at once
    (a distributor selling direct is reseller and distributor of record)."""
    w = api.world
    p = w.partners
    cust = api.ok("POST", "/api/v1/customers", {"external_id": "P3-C", "name": "Perf3 Customer"}, status=201)["id"]
    # (reseller, distributor or None: the reseller's parent of record)
    shapes = [(p["RES-GOLD"], None), (p["RES-SE"], None), (p["DIST-SE"], p["DIST-SE"]), (p["DIST-NW"], p["DIST-SE"]),
              (p["RES-PLAT"], p["DIST-SE"]), (p["DIST-NW"], None), (p["RES-SILV"], p["DIST-NW"]),
              (p["DIST-SE"], p["DIST-NW"])]
    ids = []
    for i in range(len(shapes) * 3):
        res, dist = shapes[i % len(shapes)]
        body = {"external_id": f"P3-K-{i}", "customer_id": cust, "product_id": 1 + i % 3, "reseller_id": res,
                "quantity": 1 + i, "start": "2026-03-01", "end": "2027-02-28"}
        if dist:
            body["distributor_id"] = dist
        ids.append(api.ok("POST", "/api/v1/contracts", body, status=201)["id"])
    api.ok("DELETE", f"/api/v1/contracts/{ids[5]}", status=200)  # one cancelled: status still filters
    # One moved to another distributor afterwards: its old entry goes.
    api.ok("PATCH", f"/api/v1/contracts/{ids[2]}", {"distributor_id": p["DIST-NW"]})
    return ids


def test_partner_filter_from_the_indexes_equals_the_table_walk(api, mixed):
    p = api.world.partners
    for pid in list(p.values()) + [999999]:
        got = same_as_walk(api, f"partner={pid}", partner_pred(pid))
        if pid in (p["DIST-SE"], p["DIST-NW"]):
            # Matched as reseller, as distributor, and as both (each once).
            assert any(k["reseller_id"] == pid for k in got) and any(k["distributor_id"] == pid for k in got)
            assert any(k["reseller_id"] == pid == k["distributor_id"] for k in got) or pid == p["DIST-NW"]
            assert len({k["id"] for k in got}) == len(got)
    k2 = api.ok("GET", f"/api/v1/contracts/{mixed[2]}")
    assert k2["distributor_id"] == p["DIST-NW"]
    assert mixed[2] not in [k["id"] for k in walk(api, f"/api/v1/contracts?partner={p['DIST-SE']}")] or \
        k2["reseller_id"] == p["DIST-SE"]
    # Beside filters no index serves, and beside another index-served one.
    for status in ("live", "cancelled"):
        same_as_walk(api, f"partner={p['DIST-SE']}", partner_pred(p["DIST-SE"]), base=f"status={status}")
    same_as_walk(api, f"partner={p['DIST-NW']}&external_id=P3-K-3",
                 lambda k: k["external_id"] == "P3-K-3" and partner_pred(p["DIST-NW"])(k))
    # Not an id: refused as before, naming the parameter.
    r = api.call("GET", "/api/v1/contracts?partner=abc", as_="admin")
    assert r.status == 400 and r.json()["error"]["field"] == "partner", r


def test_partner_callers_see_the_same_through_the_indexes(api, mixed):
    p = api.world.partners
    for who in ("gold-admin", "dist-admin", "dist-sales"):
        for pid in (p["DIST-NW"], p["DIST-SE"], p["RES-GOLD"], p["RES-SILV"]):
            same_as_walk(api, f"partner={pid}", partner_pred(pid), as_=who)


def demo_store(daemon, tmp_path):
    """A demo store with an admin's token, and renewd started on it:
    (data, daemon, its admin's ApiClient)."""
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    token, uid = api_user(data)
    d = daemon(data=data)
    return data, d, ApiClient(d, token, uid)


@pytest.mark.skipif(PG_MODE, reason="drops an LMDB index database")
def test_a_store_without_the_distributor_index_is_filled_at_start(daemon, tmp_path):
    import lmdb
    data, d, admin = demo_store(daemon, tmp_path)
    token, uid = admin.token, admin.user_id
    everything = admin.items("/api/v1/contracts")
    assert any(k["distributor_id"] for k in everything)
    d.stop()
    with_dist = sum(1 for k in everything if k["distributor_id"])
    assert table_entries(data, "i:contracts:distributor") == with_dist
    env = lmdb.open(str(data), max_dbs=128, subdir=True)
    with env.begin(write=True) as txn:
        txn.drop(env.open_db(b"i:contracts:distributor", txn=txn, create=False), delete=True)  # as a store before it
        meta = env.open_db(b"_meta", txn=txn, create=False)
        txn.delete(b"list_index", db=meta)
    with env.begin() as txn:
        with pytest.raises(lmdb.NotFoundError):
            env.open_db(b"i:contracts:distributor", txn=txn, create=False)
    env.close()
    d = daemon(data=data)
    admin = ApiClient(d, token, uid)
    for pid in {k["distributor_id"] for k in everything if k["distributor_id"]} | {k["reseller_id"] for k in everything}:
        want = [k for k in everything if partner_pred(pid)(k)]
        assert want and admin.items(f"/api/v1/contracts?partner={pid}") == want, pid
        for limit in (1, 2):
            assert admin.items(f"/api/v1/contracts?partner={pid}", limit=limit) == want, (pid, limit)
    d.stop()
    assert table_entries(data, "i:contracts:distributor") == with_dist
    r = renewctl("check", data=data)
    assert r.returncode == 0 and "0 problems" in r.stdout, (r.stdout, r.stderr)


@pytest.mark.skipif(PG_MODE, reason="drops an LMDB index database")
def test_a_store_without_the_tokens_user_index_is_filled_at_start(daemon, tmp_path):
    """A new password ends the user's other sessions through the tokens'
    user index (a walk of every token ever made before).  A store from
    before that index (its index database dropped, the fill marker at 1)
    gets it at start, and the sessions it held are ended as well."""
    import lmdb
    from conftest import api_request
    data, d, admin = demo_store(daemon, tmp_path)
    user = admin.ok("POST", "/api/v1/users", {"email": "idx-user@sentinel.example", "name": "Index", "role": "vendor-sales",
                                              "password": "the first password"}, status=201)
    sessions = []
    for _ in range(3):
        r = api_request(d.port, "POST", "/api/v1/session", {"vendor": "sentinel", "email": user["email"],
                                                             "password": "the first password"})
        assert r.status == 200, r
        sessions.append(r.headers["set-cookie"].split(";")[0].split("=", 1)[1])
    d.stop()
    with_user = table_entries(data, "i:tokens:user")
    assert with_user >= 4, with_user  # the admin's token and the three sessions
    env = lmdb.open(str(data), max_dbs=128, subdir=True)
    with env.begin(write=True) as txn:
        txn.drop(env.open_db(b"i:tokens:user", txn=txn, create=False), delete=True)  # as a store before it
        txn.put(b"list_index", b"1", db=env.open_db(b"_meta", txn=txn, create=False))
    env.close()
    d = daemon(data=data)
    mine, *others = sessions
    r = api_request(d.port, "PATCH", f"/api/v1/users/{user['id']}", {"password": "a brand new password"}, cookie=mine)
    assert r.status == 200, r
    for c in others:
        r = api_request(d.port, "GET", "/api/v1/me", cookie=c)
        assert r.status == 401 and b"revoked" in r.body, r
    assert api_request(d.port, "GET", "/api/v1/me", cookie=mine).status == 200
    d.stop()
    assert table_entries(data, "i:tokens:user") == with_user
    r = renewctl("check", data=data)
    assert r.returncode == 0 and "0 problems" in r.stdout, (r.stdout, r.stderr)


@pytest.mark.skipif(PG_MODE, reason="drops an LMDB index database")
def test_a_store_without_the_tokens_expiry_index_is_filled_at_start(daemon, tmp_path):
    """Expired tokens are removed through the tokens' expiry index (every
    session expires; an API token when it was given an expiry).  A store
    from before that index (its index database dropped, the fill marker at
    2) gets it at start, an entry for each expiring token and none for a
    token that never expires."""
    import lmdb
    from conftest import api_request
    data, d, admin = demo_store(daemon, tmp_path)
    admin.ok("POST", "/api/v1/users", {"email": "exp-user@sentinel.example", "name": "Exp", "role": "vendor-sales",
                                       "password": "the first password"}, status=201)
    for _ in range(3):
        r = api_request(d.port, "POST", "/api/v1/session", {"vendor": "sentinel", "email": "exp-user@sentinel.example",
                                                             "password": "the first password"})
        assert r.status == 200, r
    admin.ok("POST", "/api/v1/tokens", {"name": "a week", "expires_in_days": 7}, status=201)
    admin.ok("POST", "/api/v1/tokens", {"name": "for ever"}, status=201)
    d.stop()
    assert table_entries(data, "i:tokens:expires") == 4  # three sessions and the week's token
    env = lmdb.open(str(data), max_dbs=128, subdir=True)
    with env.begin(write=True) as txn:
        txn.drop(env.open_db(b"i:tokens:expires", txn=txn, create=False), delete=True)  # as a store before it
        txn.put(b"list_index", b"2", db=env.open_db(b"_meta", txn=txn, create=False))
    env.close()
    d = daemon(data=data)
    assert ApiClient(d, admin.token, admin.user_id).ok("GET", "/api/v1/me")["id"] == admin.user_id
    d.stop()
    assert table_entries(data, "i:tokens:expires") == 4
    r = renewctl("check", data=data)
    assert r.returncode == 0 and "0 problems" in r.stdout, (r.stdout, r.stderr)


# ---- the import engine: columns resolved at the header, unchanged rows not rewritten --------------


@pytest.fixture
def importer(daemon, tmp_path):
    from conftest import start_api
    d, admin, _ = start_api(daemon, tmp_path / "imp")
    yield d, admin
    d.stop()


def test_a_re_sent_file_writes_nothing_and_a_changed_row_is_written(importer, tmp_path):
    d, admin = importer
    head = b"external_id,customer_external_id,product_sku,reseller_external_id,quantity,start,end,term,currency,flags\r\n"
    rows = [b"P3-I-%d,CUST-1001,EML-SEC,RES-GOLD,%d,2026-02-01,2027-01-31,annual,GBP,\r\n" % (i, 1 + i)
            for i in range(20)]
    doc = admin.run_import("contracts", head + b"".join(rows))
    assert (doc["status"], doc["created"], doc["updated"], doc["unchanged"]) == ("succeeded", 20, 0, 0), doc
    before = {k["external_id"]: k for k in admin.items("/api/v1/contracts") if k["external_id"].startswith("P3-I-")}
    # The same file (CSV and as JSON Lines, other column order): nothing written.
    doc = admin.run_import("contracts", head + b"".join(rows))
    assert (doc["status"], doc["created"], doc["updated"], doc["unchanged"], doc["rows_ok"]) == \
        ("succeeded", 0, 0, 20, 20), doc
    jl = b"".join(b'{"quantity": "%d", "external_id": "P3-I-%d", "reseller_external_id": "RES-GOLD"}\n' % (1 + i, i)
                  for i in range(20))
    doc = admin.run_import("contracts", jl, "jsonl")
    assert (doc["status"], doc["created"], doc["updated"], doc["unchanged"]) == ("succeeded", 0, 0, 20), doc
    # One row changed: that one is written.
    rows[7] = rows[7].replace(b",8,", b",80,")
    doc = admin.run_import("contracts", head + b"".join(rows))
    assert (doc["status"], doc["created"], doc["updated"], doc["unchanged"]) == ("succeeded", 0, 1, 19), doc
    # A file naming one contract twice, the second row as stored: both apply in order (the
    # second is not skipped for matching the store as it was before the file).
    doc = admin.run_import("contracts", head + rows[3].replace(b",4,", b",44,") + rows[3])
    assert (doc["status"], doc["created"], doc["updated"], doc["unchanged"]) == ("succeeded", 0, 2, 0), doc
    after = {k["external_id"]: k for k in admin.items("/api/v1/contracts") if k["external_id"].startswith("P3-I-")}
    assert after["P3-I-7"]["quantity"] == 80 and after["P3-I-3"]["quantity"] == 4
    after["P3-I-7"]["quantity"] = 8
    assert after == before
    # Bad cells still name their column, resolved at the header.
    doc = admin.run_import("contracts", head + b"P3-I-1,CUST-1001,EML-SEC,RES-GOLD,x,2026-02-01,2027-01-31,annual,GBP,\r\n")
    assert doc["status"] == "failed" and doc["errors"][0]["column"] == "quantity", doc
    d.stop()
    from conftest import renewctl
    path = tmp_path / "again.csv"
    path.write_bytes(head + b"".join(rows))
    p = renewctl("import", "--vendor", "sentinel", "--kind", "contracts", path, data=d.data)
    assert p.returncode == 0 and "0 new, 0 updated, 20 unchanged" in p.stdout, (p.stdout, p.stderr)


@pytest.mark.watchdog(240)  # 16,000 tokens made through the API first (CPU time: a busy machine stretches it)
def test_a_vendors_token_list_costs_its_own_tokens(daemon, tmp_path):
    """GET /api/v1/tokens walked every token in the store, every vendor's
    sessions and API tokens, to answer one vendor's few: another tenant's
    tokens slowed it.  Now the tokens' user index, vendor first; the answer
    (the vendor's API tokens, or the caller's own, in id order) as before."""
    from test_slow_head import cpu_of
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    renewctl("vendor", "create", "--name", "Busy Co", "--slug", "busyco", "--currency", "EUR", data=data, check=True)
    a_token, a_uid = api_user(data, email="admin@x.example")
    s_token, s_uid = api_user(data, email="seller@x.example", role="vendor-sales")
    b_token, b_uid = api_user(data, email="admin@busy.example", vendor="busyco")
    d = daemon(data=data)
    a, sales, b = ApiClient(d, a_token, a_uid), ApiClient(d, s_token, s_uid), ApiClient(d, b_token, b_uid)
    mine = [a.ok("POST", "/api/v1/tokens", {"name": f"a-{i}"}, status=201)["id"] for i in range(3)]
    own = sales.ok("POST", "/api/v1/tokens", {"name": "s-1", "expires_in_days": 30}, status=201)["id"]
    theirs_b = {b.ok("POST", "/api/v1/tokens", {"name": f"b-{i}"}, status=201)["id"] for i in range(16000)}
    listed = a.get("/api/v1/tokens")
    ids = [t["id"] for t in listed["items"]]
    assert ids == sorted(ids) and set(mine) | {own} <= set(ids), ids
    assert len(ids) == 6 and not set(ids) & theirs_b, ids  # api_user's two API tokens, and the four made
    theirs = sales.get("/api/v1/tokens")["items"]
    assert own in [t["id"] for t in theirs] and len(theirs) == 2 and all(t["user_id"] == s_uid for t in theirs), theirs
    assert len(b.get("/api/v1/tokens")["items"]) >= 16000
    before = cpu_of(d.pid)
    for _ in range(100):
        a.get("/api/v1/tokens")
    per = (cpu_of(d.pid) - before) / 100
    assert per < 0.0008, f"renewd's CPU seconds per list of a vendor's 6 tokens beside 16,000 of another: {per}"
    d.stop()
