"""A partner's lists of opportunities, orders, deal registrations, tasks and
statements are read from the partner's own index entries (model.h
RD_IDX_PARTNER*, edge/page.c rd_page_records_scoped), no longer from a walk
of the vendor's whole table: the answer must be the one the walk gave.

Each partner user's list, at several page sizes, equals the vendor admin's
whole list filtered by the rule the handler keeps (a record is a partner's
when its reseller or distributor is the partner or one of its resellers;
deal registrations and statements: the caller's own partner), ids in
order.  Then a store from before those indexes (their databases dropped,
the fill marker back at 3) gets them at start, and every list is the same
again.  The cost side: test_partner_list_cost.py (a partner's opportunities
among a vendor's 60,000).
"""
import pytest

from conftest import PG_MODE, API_PASSWORD, api_list_all, api_request, api_ok, table_entries

PARTNER_USERS = ("gold-admin", "gold-sales", "dist-admin", "dist-sales")
LISTS = ("opportunities", "orders", "deals", "tasks", "statements")


def scope_of(api, partner):
    parts = api.all("/api/v1/partners")
    return {partner} | {p["id"] for p in parts if p.get("parent_id") == partner}


def rule(kind, rec, partner, scope):
    if kind in ("opportunities", "orders"):
        return rec.get("reseller_id") in scope or rec.get("distributor_id") in scope
    if kind == "tasks":
        return rec.get("partner_id") in scope
    return rec.get("partner_id") == partner


def partner_of(api, who):
    me = api_ok(api_request(api.port, "GET", "/api/v1/me", token=api.world.tokens[who]))
    return me["partner_id"]


def lists_match(api):
    seen = {k: 0 for k in LISTS}
    for who in PARTNER_USERS:
        partner = partner_of(api, who)
        scope = scope_of(api, partner)
        for kind in LISTS:
            r = api_request(api.port, "GET", f"/api/v1/{kind}?limit=1", token=api.world.tokens[who])
            if r.status == 403:
                continue  # not this role's to read
            everything = api.all(f"/api/v1/{kind}")
            want = [x for x in everything if rule(kind, x, partner, scope)]
            for limit in (1, 2, 500):
                got = api_list_all(api.port, f"/api/v1/{kind}", api.world.tokens[who], limit=limit)
                assert [x["id"] for x in got] == [x["id"] for x in want], (who, kind, limit)
                assert got == want, (who, kind, limit)
            seen[kind] += len(want)
            if kind == "opportunities":  # a filter beside the scope, as ever
                for state in {x["state"] for x in want}:
                    got = api_list_all(api.port, f"/api/v1/{kind}?state={state}", api.world.tokens[who], limit=2)
                    assert got == [x for x in want if x["state"] == state], (who, state)
    return seen


def test_a_partners_lists_are_the_filtered_walk(api):
    # deal registrations of two partners, interleaved (the demo has none)
    for i, who in enumerate(("gold-admin", "dist-admin", "gold-sales", "dist-admin", "gold-admin")):
        body = {"customer": {"name": f"Lists customer {i}", "email": f"it@lists{i}.example", "country": "GB"},
                "products": [1], "seats": 5 + i, "expected_value": 1000 * (i + 1), "close_date": "2027-06-30"}
        api.ok("POST", "/api/v1/deals", body, status=201, as_=who)
    seen = lists_match(api)
    assert seen["opportunities"] and seen["deals"], seen


def test_the_partner_home_page_shows_its_own_quotes(api):
    """The portal's home page (its quotes, its open tasks) and an
    opportunity's page read the partner's records from the same indexes."""
    everything = api.all("/api/v1/opportunities")
    for who in PARTNER_USERS:
        r = api_request(api.port, "POST", "/api/v1/session", {"vendor": "sentinel", "email": api.world.emails[who],
                                                              "password": API_PASSWORD})
        assert r.status == 200, r
        cookie = r.headers["set-cookie"].split(";")[0].split("=", 1)[1]
        partner = partner_of(api, who)
        scope = scope_of(api, partner)
        page = api_request(api.port, "GET", "/partner", cookie=cookie)
        assert page.status == 200, page
        html = page.body.decode()
        mine = [o for o in everything if rule("opportunities", o, partner, scope)]
        assert mine
        for o in everything:
            assert (o["number"] in html) == (o in mine), (who, o["number"])
        one = api_request(api.port, "GET", f"/partner/opportunities/{mine[0]['id']}", cookie=cookie)
        assert one.status == 200 and mine[0]["number"] in one.body.decode(), one


@pytest.mark.skipif(PG_MODE, reason="drops LMDB index databases")
def test_a_store_without_the_partner_indexes_is_filled_at_start(daemon, tmp_path):
    import lmdb
    from conftest import ApiClient, api_user, demo_load
    data = tmp_path / "data"
    data.mkdir()
    demo_load(data)
    token, uid = api_user(data)
    d = daemon(data=data)
    admin = ApiClient(d, token, uid)
    opps = admin.items("/api/v1/opportunities")
    assert opps
    d.stop()
    names = [b"i:opportunities:distributor", b"i:orders:reseller", b"i:orders:distributor", b"i:deals:partner",
             b"i:tasks:partner", b"i:statements:partner"]
    counts = {n: table_entries(data, n.decode()) for n in names}
    assert counts[b"i:opportunities:distributor"] == sum(1 for o in opps if o["distributor_id"]), counts
    env = lmdb.open(str(data), max_dbs=128, subdir=True)
    with env.begin(write=True) as txn:
        for n in names:
            txn.drop(env.open_db(n, txn=txn, create=False), delete=True)  # as a store before them
        txn.put(b"list_index", b"3", db=env.open_db(b"_meta", txn=txn, create=False))
    env.close()
    d = daemon(data=data)
    d.stop()
    assert {n: table_entries(data, n.decode()) for n in names} == counts
