"""The role x resource x action matrix (core/auth/authz.c) against a real
daemon, for every role and every resource, on records of the caller's own
partner, of another partner and of another vendor.

MATRIX below is written out by hand from authz.c: a change there without a
change here fails this file.  The expected status of each case follows from
it: 2xx when allowed, 403 when the role lacks the action entirely, 404 for a
record outside the caller's scope or in another vendor (a create that names
such a record is a 400 naming the field, as if it did not exist)."""
import itertools
import time

import pytest

from conftest import API_PASSWORD, api_ok, api_request, assert_json_error

# ---- the matrix (mirrors core/auth/authz.c) --------------------------------------------------
# For each role and resource: (actions on ALL records of the vendor, actions on OWN
# records).  R read (get and list), C create, U update, D delete.
MATRIX = {
    "vendor-admin": {
        "vendor": ("RU", ""), "partners": ("RCUD", ""), "users": ("RCUD", ""), "tokens": ("RD", "C"),
        "customers": ("RCUD", ""), "contacts": ("RCUD", ""), "products": ("RCUD", ""),
        "contracts": ("RCUD", ""), "imports": ("RC", ""), "audit": ("R", ""),
    },
    "channel-manager": {
        "vendor": ("R", ""), "partners": ("RCU", ""), "users": ("R", "U"), "tokens": ("", "RCD"),
        "customers": ("RCUD", ""), "contacts": ("RCUD", ""), "products": ("R", ""),
        "contracts": ("RCUD", ""), "imports": ("RC", ""), "audit": ("R", ""),
    },
    "vendor-sales": {
        "vendor": ("R", ""), "partners": ("R", ""), "users": ("", "RU"), "tokens": ("", "RCD"),
        "customers": ("RU", ""), "contacts": ("RCU", ""), "products": ("R", ""),
        "contracts": ("RU", ""), "imports": ("", ""), "audit": ("", ""),
    },
    "partner-admin": {
        "vendor": ("R", ""), "partners": ("", "RU"), "users": ("", "RCUD"), "tokens": ("", "RCD"),
        "customers": ("", "RU"), "contacts": ("", "RCUD"), "products": ("R", ""),
        "contracts": ("", "R"), "imports": ("", ""), "audit": ("", ""),
    },
    "partner-sales": {
        "vendor": ("R", ""), "partners": ("", "R"), "users": ("", "RU"), "tokens": ("", "RCD"),
        "customers": ("", "R"), "contacts": ("", "RCU"), "products": ("R", ""),
        "contracts": ("", "R"), "imports": ("", ""), "audit": ("", ""),
    },
}
ACTION_LETTER = {"read": "R", "list": "R", "create": "C", "update": "U", "delete": "D"}


def scope(role, res, action):
    all_, own = MATRIX[role][res]
    letter = ACTION_LETTER[action]
    return "ALL" if letter in all_ else "OWN" if letter in own else "NONE"


# The callers: principal -> (role, its partner's external id).  Vendor roles get
# RES-GOLD's records as their "own" targets (for them every record is in scope).
PRINCIPALS = {
    "admin": ("vendor-admin", None),
    "cm": ("channel-manager", None),
    "vsales": ("vendor-sales", None),
    "gold-admin": ("partner-admin", "RES-GOLD"),
    "gold-sales": ("partner-sales", "RES-GOLD"),
    "dist-admin": ("partner-admin", "DIST-NW"),
    "dist-sales": ("partner-sales", "DIST-NW"),
}
# A fellow user of the same kind (same partner for partner users).
FELLOW = {"admin": "cm", "cm": "vsales", "vsales": "cm", "gold-admin": "gold-sales", "gold-sales": "gold-admin",
          "dist-admin": "dist-sales", "dist-sales": "dist-admin"}
def own_key(principal):
    """Whose records are a principal's "own" target: RES-GOLD's, or for DIST-NW's
    users its reseller RES-PLAT's (a distributor's scope takes in its resellers')."""
    return "plat" if principal.startswith("dist") else "gold"


RECORD_RESOURCES = ["partners", "customers", "contacts", "products", "contracts", "users"]
# A create that names a record the caller cannot see (or of another vendor) fails on this field.
CREATE_REF_FIELD = {"partners": "parent_id", "contacts": "customer_id", "products": "upsell",
                    "contracts": "customer_id", "users": "partner_id"}


def success(res, action):
    if action == "create":
        return 202 if res == "imports" else 201
    if action == "delete":
        return 200 if res == "contracts" else 204  # a contract is cancelled, and shown
    return 200


def visible(principal, res, target):
    """Is the target within the principal's OWN scope (authz.c's header comment)?"""
    role = PRINCIPALS[principal][0]
    if target == "foreign":
        return False
    if res in ("users",):
        if target == "self":
            return True
        return role == "partner-admin" and target == "own"  # a partner admin: its partner's users
    if res == "tokens":
        return target == "self"
    return target == "own"


def expected(principal, res, action, target):
    """(status, field) the API must answer."""
    role = PRINCIPALS[principal][0]
    s = scope(role, res, action)
    if s == "NONE":
        return 403, None
    if action == "create":
        if target == "foreign":
            return 400, CREATE_REF_FIELD[res]
        if s == "OWN" and target == "other":
            return 400, "role" if res == "users" else CREATE_REF_FIELD[res]
        return success(res, action), None
    if target == "foreign":
        return 404, "id"
    if s == "OWN" and not visible(principal, res, target):
        return 404, "id"
    if res == "users" and action == "delete" and target == "self":
        return 400, None  # nobody deletes themselves
    return success(res, action), None


def cases():
    out = []
    for p in PRINCIPALS:
        for res in RECORD_RESOURCES:
            targets = ["own", "other", "foreign"] + (["self"] if res == "users" else [])
            for action in ("read", "update", "delete"):
                out += [(p, res, action, t) for t in targets]
            create_targets = {"customers": ["own"], "products": ["own", "foreign"]}.get(res, ["own", "other", "foreign"])
            out += [(p, res, "create", t) for t in create_targets]
        out += [(p, "tokens", "create", "own")]
        out += [(p, "tokens", "delete", t) for t in ("self", "own", "other", "foreign")]
        out += [(p, "imports", "create", "own"), (p, "imports", "read", "own"), (p, "imports", "read", "foreign")]
        out += [(p, "vendor", "read", "own"), (p, "vendor", "update", "own")]
    return out


CASES = cases()


# ---- the world as this module sees it -----------------------------------------------------------


class Ctx:
    pass


@pytest.fixture(scope="module")
def ctx(api):
    w = api.world
    c = Ctx()
    c.api, c.w = api, w
    # se-sales (a user of RES-SE, outside every partner principal's scope) needs a token.
    r = api_request(api.port, "POST", "/api/v1/session", {"vendor": "sentinel", "email": w.emails["se-sales"],
                                                          "password": API_PASSWORD}, source="127.0.3.1")
    cookie = r.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    c.se_token = api_ok(api_request(api.port, "POST", "/api/v1/tokens", {"name": "se"}, cookie=cookie), 201)["token"]
    c.seq = itertools.count(1)
    return c


def token_of(c, principal):
    return c.se_token if principal == "se-sales" else c.w.tokens[principal]


def call(c, principal, method, path, body=None):
    return api_request(c.api.port, method, path, body, token=token_of(c, principal))


def admin(c, method, path, body=None, status=200):
    return api_ok(call(c, "admin", method, path, body), status)


def target_id(c, principal, res, target):
    """The id of an existing record for a read/update, or of a delete target that
    may be deleted only when the case is expected to fail."""
    w = c.w
    if target == "foreign":
        return w.foreign[res]
    if res == "users":
        return {"self": w.user_ids[principal], "own": w.user_ids[FELLOW[principal]],
                "other": w.user_ids["se-sales"]}[target]
    if res == "products":
        return {"own": 1, "other": 2}[target]
    key = own_key(principal) if target == "own" else "se"
    if res == "partners":
        return w.partners[{"gold": "RES-GOLD", "plat": "RES-PLAT", "se": "RES-SE"}[key]]
    return {"customers": w.customers, "contacts": w.contacts, "contracts": w.contracts}[res][key]


def disposable(c, principal, res, target):
    """A fresh record, made by the vendor admin, for a delete that is expected to
    succeed: same scope as target_id's record."""
    w = c.w
    n = next(c.seq)
    key = own_key(principal) if target == "own" else "se"
    customer = w.customers[key]
    reseller = w.partners[{"gold": "RES-GOLD", "plat": "RES-PLAT", "se": "RES-SE"}[key]]
    if res == "partners":
        return admin(c, "POST", "/api/v1/partners", {"name": f"Disposable {n}", "kind": "reseller", "tier": "silver",
                     "parent_id": w.partners["DIST-SE" if key == "se" else "DIST-NW"]}, 201)["id"]
    if res == "customers":
        return admin(c, "POST", "/api/v1/customers", {"name": f"Disposable {n}"}, 201)["id"]
    if res == "contacts":
        return admin(c, "POST", "/api/v1/contacts", {"customer_id": customer, "name": f"Disposable {n}"}, 201)["id"]
    if res == "products":
        return admin(c, "POST", "/api/v1/products", {"sku": f"DISP-{n}", "name": "Disposable"}, 201)["id"]
    if res == "contracts":
        return admin(c, "POST", "/api/v1/contracts", {"customer_id": customer, "product_id": 1, "reseller_id": reseller,
                     "quantity": 1, "start": "2026-01-01", "end": "2026-12-31"}, 201)["id"]
    if res == "users":
        role, home = PRINCIPALS[principal]
        body = {"email": f"disposable-{n}@sentinel.example", "name": "Disposable", "password": API_PASSWORD}
        if target == "other":
            body.update(role="partner-sales", partner_id=w.partners["RES-SE"])
        elif home:
            body.update(role="partner-sales", partner_id=w.partners[home])
        else:
            body.update(role="vendor-sales")
        return admin(c, "POST", "/api/v1/users", body, 201)["id"]
    raise AssertionError(res)


def create_body(c, principal, res, target):
    w = c.w
    n = next(c.seq)
    role, home = PRINCIPALS[principal]
    key = own_key(principal) if target == "own" else "se"
    customer = w.foreign["customers"] if target == "foreign" else w.customers[key]
    if res == "partners":
        parent = {"own": w.partners["DIST-NW"], "other": w.partners["DIST-SE"], "foreign": w.foreign["partners"]}[target]
        return {"name": f"Matrix partner {n}", "kind": "reseller", "tier": "gold", "parent_id": parent}
    if res == "customers":
        return {"name": f"Matrix customer {n}"}
    if res == "contacts":
        return {"customer_id": customer, "name": f"Matrix contact {n}"}
    if res == "products":
        body = {"sku": f"MATRIX-{n}", "name": "Matrix product"}
        if target == "foreign":
            body["upsell"] = [w.foreign["products"]]
        return body
    if res == "contracts":
        reseller = w.partners[{"gold": "RES-GOLD", "plat": "RES-PLAT", "se": "RES-SE"}[key]]
        return {"customer_id": customer, "product_id": 1, "reseller_id": reseller, "quantity": 3,
                "start": "2026-03-01", "end": "2027-02-28"}
    if res == "users":
        body = {"email": f"matrix-{n}@sentinel.example", "name": "Matrix user", "password": API_PASSWORD}
        if target == "own" and not home:
            return dict(body, role="vendor-sales")
        partner = {"own": w.partners.get(home), "other": w.partners["RES-SE"], "foreign": w.foreign["partners"]}[target]
        return dict(body, role="partner-sales", partner_id=partner)
    if res == "tokens":
        return {"name": f"matrix {n}"}
    raise AssertionError(res)


PATCH_BODY = {"partners": {"phone": "+44 20 0000 0000"}, "customers": {"phone": "+44 20 0000 0001"},
              "contacts": {"title": "Buyer"}, "products": {"line": "Web Security"},
              "contracts": {"flags": ["consolidated"]}, "users": {"name": "Renamed by the matrix"}}


def case_id(case):
    return "-".join(case)


@pytest.mark.parametrize("case", CASES, ids=[case_id(x) for x in CASES])
def test_matrix(ctx, case):
    principal, res, action, target = case
    c = ctx
    status, field = expected(principal, res, action, target)
    ok = 200 <= status < 300

    if res == "vendor":
        before = admin(c, "GET", "/api/v1/vendor")
        if action == "read":
            r = call(c, principal, "GET", "/api/v1/vendor")
        else:
            r = call(c, principal, "PATCH", "/api/v1/vendor", {"max_seats": before["max_seats"]})
        check(r, status, field)
        if ok:
            assert r.json() == before
        return

    if res == "imports":
        if action == "create":
            r = call(c, principal, "POST", "/api/v1/imports?kind=customers&format=jsonl&dry_run=true",
                     b'{"name": "Matrix import"}\n')
            check(r, status, field)
            if ok:
                doc = r.json()
                assert doc["dry_run"] is True and doc["user_id"] == c.w.user_ids[principal]
                wait_import(c, doc["id"])
            return
        iid = c.w.imports["first"] if target == "own" else c.w.foreign["imports"]
        r = call(c, principal, "GET", f"/api/v1/imports/{iid}")
        check(r, status, field)
        if ok:
            assert r.json()["id"] == iid and r.json()["kind"] == "customers"
        return

    if res == "tokens":
        if action == "create":
            r = call(c, principal, "POST", "/api/v1/tokens", create_body(c, principal, res, target))
            check(r, status, field)
            doc = r.json()
            assert doc["user_id"] == c.w.user_ids[principal]
            assert api_ok(api_request(c.api.port, "GET", "/api/v1/me", token=doc["token"]))["id"] == \
                c.w.user_ids[principal]
            return
        # delete: a fresh token of the target user (its owner makes it), or othervendor's
        if target == "foreign":
            tid = c.w.foreign_token_id
        else:
            owner = {"self": principal, "own": FELLOW[principal], "other": "se-sales"}[target]
            made = api_ok(call(c, owner, "POST", "/api/v1/tokens", {"name": "to revoke"}), 201)
            tid = made["id"]
        r = call(c, principal, "DELETE", f"/api/v1/tokens/{tid}")
        check(r, status, "id" if status == 404 else field)
        if target != "foreign":
            listed = {t["id"]: t for t in api_ok(call(c, owner, "GET", "/api/v1/tokens"))["items"]}
            assert (listed[tid]["revoked_at"] is not None) == ok, listed[tid]
            me = api_request(c.api.port, "GET", "/api/v1/me", token=made["token"])
            assert me.status == (401 if ok else 200), me
        else:
            # othervendor's admin token still works
            api_ok(api_request(c.api.port, "GET", "/api/v1/me", token=c.w.tokens["other-admin"]))
        return

    if action == "create":
        body = create_body(c, principal, res, target)
        r = call(c, principal, "POST", f"/api/v1/{res}", body)
        check(r, status, field)
        if ok:
            doc = r.json()
            assert r.headers["location"] == f"/api/v1/{res}/{doc['id']}"
            assert admin(c, "GET", f"/api/v1/{res}/{doc['id']}")["id"] == doc["id"]
            # The creator can read what it made.
            api_ok(call(c, principal, "GET", f"/api/v1/{res}/{doc['id']}"))
        return

    if action == "delete" and ok:
        rid = disposable(c, principal, res, target)
    else:
        rid = target_id(c, principal, res, target)
    before = admin(c, "GET", f"/api/v1/{res}/{rid}", status=404 if target == "foreign" else 200)

    if action == "read":
        r = call(c, principal, "GET", f"/api/v1/{res}/{rid}")
        check(r, status, field)
        if ok:
            assert r.json() == before
    elif action == "update":
        r = call(c, principal, "PATCH", f"/api/v1/{res}/{rid}", PATCH_BODY[res])
        check(r, status, field)
        after = admin(c, "GET", f"/api/v1/{res}/{rid}", status=404 if target == "foreign" else 200)
        if ok:
            assert r.json() == after
            for k, v in PATCH_BODY[res].items():
                assert after[k] == v
        else:
            assert after == before, "a refused update must change nothing"
    else:
        r = call(c, principal, "DELETE", f"/api/v1/{res}/{rid}")
        check(r, status, field)
        if target == "foreign":
            # othervendor's record is untouched
            api_ok(api_request(c.api.port, "GET", f"/api/v1/{res}/{rid}", token=c.w.tokens["other-admin"]))
        elif res == "contracts":
            assert (admin(c, "GET", f"/api/v1/contracts/{rid}")["status"] == "cancelled") == ok
        elif ok:
            assert_json_error(call(c, "admin", "GET", f"/api/v1/{res}/{rid}"), 404)
        else:
            assert admin(c, "GET", f"/api/v1/{res}/{rid}") == before


def check(r, status, field):
    if 200 <= status < 300:
        api_ok(r, status)
        return
    code = {400: "invalid", 403: "forbidden", 404: "not_found"}[status]
    err = assert_json_error(r, status, code)
    if status == 400:
        assert err["field"] == field, err
    if status == 404:
        assert err["field"] in ("id", None), err


def wait_import(c, iid):
    deadline = time.monotonic() + 10
    while admin(c, "GET", f"/api/v1/imports/{iid}")["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.01)


# ---- lists: every item in scope, nothing else -------------------------------------------------


def scope_partners(c, principal):
    """The partner ids a partner principal's scope holds: its partner and, for a
    distributor, the partners whose parent it is."""
    home = c.w.partners[PRINCIPALS[principal][1]]
    return {home} | {p["id"] for p in api_list(c, "admin", "/api/v1/partners") if p["parent_id"] == home}


def api_list(c, principal, path):
    if path.endswith("/imports"):  # one page, newest first; no limit or cursor
        doc = api_ok(call(c, principal, "GET", path))
        assert doc["next_cursor"] is None
        return doc["items"]
    items, cursor = [], None
    while True:
        doc = api_ok(call(c, principal, "GET", f"{path}?limit=500" + (f"&cursor={cursor}" if cursor else "")))
        items += doc["items"]
        cursor = doc["next_cursor"]
        if cursor is None:
            return items


def own_scope_test(c, principal, res):
    """A predicate: is a listed item within the principal's OWN scope?"""
    role, home = PRINCIPALS[principal]
    me = c.w.user_ids[principal]
    if res == "users":
        if role == "partner-admin":
            return lambda u: u["partner_id"] == c.w.partners[home]
        return lambda u: u["id"] == me
    if res == "tokens":
        return lambda t: t["user_id"] == me
    sp = scope_partners(c, principal)
    contracts = api_list(c, "admin", "/api/v1/contracts")
    of_record = {k["customer_id"] for k in contracts if k["reseller_id"] in sp or k["distributor_id"] in sp}
    return {"partners": lambda p: p["id"] in sp,
            "contracts": lambda k: k["reseller_id"] in sp or k["distributor_id"] in sp,
            "customers": lambda cu: cu["id"] in of_record,
            "contacts": lambda ct: ct["customer_id"] in of_record}[res]


LISTED = ["partners", "customers", "contacts", "products", "contracts", "users", "tokens", "imports", "audit"]


@pytest.mark.parametrize("principal", list(PRINCIPALS))
@pytest.mark.parametrize("res", LISTED)
def test_list_scope(ctx, principal, res):
    c = ctx
    role = PRINCIPALS[principal][0]
    s = scope(role, res, "list")
    r = call(c, principal, "GET", f"/api/v1/{res}")
    if s == "NONE":
        assert_json_error(r, 403, "forbidden")
        return
    api_ok(r)
    got = api_list(c, principal, f"/api/v1/{res}")
    if res == "tokens":
        everything = api_list(c, "admin", "/api/v1/tokens")  # the vendor admin sees them all
        assert all(t["kind"] == "api" for t in everything)
        assert c.w.foreign_token_id not in {t["id"] for t in everything}
    elif res == "audit":
        everything = got
    else:
        everything = api_list(c, "admin", f"/api/v1/{res}")
    got_ids = [x["id"] for x in got]
    assert len(got_ids) == len(set(got_ids))
    if s == "ALL":
        assert got_ids == [x["id"] for x in everything]
    else:
        mine = own_scope_test(c, principal, res)
        want = [x["id"] for x in everything if mine(x)]
        assert got_ids == want
        assert want, "the caller's own scope is not empty"
        assert len(want) < len(everything), "and it is not everything"
    # Nothing of othervendor's: its records' names are all "Other ..."/"OK-..."
    if res in ("partners", "customers", "contacts", "products"):
        assert not [x for x in got if x["name"].startswith("Other ")], res
    if res == "contracts":
        assert not [x for x in got if x["external_id"].startswith("OK-")]
    if res == "users":
        assert "user@othervendor.example" not in {u["email"] for u in got}
    if res == "audit":
        assert got and not [e for e in got if "othervendor" in str(e["after"]) or "Other " in str(e["after"])]


@pytest.mark.parametrize("principal", ["dist-sales", "gold-admin"])
def test_scoped_lists_paginate(ctx, principal):
    """Pages of a partner-scoped list hold only in-scope items, and together all of them."""
    c = ctx
    for res in ("contracts", "customers"):
        want = [x["id"] for x in api_list(c, principal, f"/api/v1/{res}")]
        assert len(want) > 2
        got, cursor = [], None
        for _ in range(100):
            doc = api_ok(call(c, principal, "GET", f"/api/v1/{res}?limit=2" + (f"&cursor={cursor}" if cursor else "")))
            assert 1 <= len(doc["items"]) <= 2
            got += [x["id"] for x in doc["items"]]
            cursor = doc["next_cursor"]
            if cursor is None:
                break
        assert got == want


# ---- the channel: distributors, resellers, siblings ------------------------------------------------


def test_distributor_sees_its_resellers_contracts(ctx):
    c = ctx
    w = c.w
    for principal in ("dist-admin", "dist-sales"):
        me = api_ok(call(c, principal, "GET", "/api/v1/me"))
        assert sorted(me["partner_scope"]) == sorted(scope_partners(c, principal))
        assert {w.partners[x] for x in ("DIST-NW", "RES-PLAT", "RES-GOLD", "RES-SILV")} <= set(me["partner_scope"])
        assert not {w.partners["DIST-SE"], w.partners["RES-SE"]} & set(me["partner_scope"])
        for key in ("gold", "plat", "silv"):
            k = api_ok(call(c, principal, "GET", f"/api/v1/contracts/{w.contracts[key]}"))
            assert k["distributor_id"] == w.partners["DIST-NW"]
            api_ok(call(c, principal, "GET", f"/api/v1/customers/{w.customers[key]}"))
            api_ok(call(c, principal, "GET", f"/api/v1/contacts/{w.contacts[key]}"))
        for ext in ("DIST-NW", "RES-PLAT", "RES-GOLD", "RES-SILV"):
            api_ok(call(c, principal, "GET", f"/api/v1/partners/{w.partners[ext]}"))
        for ext in ("DIST-SE", "RES-SE"):
            assert_json_error(call(c, principal, "GET", f"/api/v1/partners/{w.partners[ext]}"), 404)
        assert_json_error(call(c, principal, "GET", f"/api/v1/contracts/{w.contracts['se']}"), 404)
        listed = {k["reseller_id"] for k in api_list(c, principal, "/api/v1/contracts")}
        assert listed == {w.partners[x] for x in ("RES-PLAT", "RES-GOLD", "RES-SILV")}


def test_reseller_does_not_see_its_siblings(ctx):
    c = ctx
    w = c.w
    for principal in ("gold-admin", "gold-sales"):
        me = api_ok(call(c, principal, "GET", "/api/v1/me"))
        assert me["partner_scope"] == [w.partners["RES-GOLD"]]
        api_ok(call(c, principal, "GET", f"/api/v1/contracts/{w.contracts['gold']}"))
        for key in ("plat", "silv", "se"):
            for res, ids in (("contracts", w.contracts), ("customers", w.customers), ("contacts", w.contacts)):
                assert_json_error(call(c, principal, "GET", f"/api/v1/{res}/{ids[key]}"), 404, "not_found")
        for ext in ("DIST-NW", "RES-PLAT", "RES-SILV", "DIST-SE", "RES-SE"):
            assert_json_error(call(c, principal, "GET", f"/api/v1/partners/{w.partners[ext]}"), 404)
        listed = api_list(c, principal, "/api/v1/contracts")
        assert listed and {k["reseller_id"] for k in listed} == {w.partners["RES-GOLD"]}
        assert [p["id"] for p in api_list(c, principal, "/api/v1/partners")] == [w.partners["RES-GOLD"]]
        # Filters cannot widen the scope.
        assert api_ok(call(c, principal, "GET", f"/api/v1/contracts?partner={w.partners['RES-PLAT']}"))["items"] == []
        assert api_ok(call(c, principal, "GET", "/api/v1/contracts?external_id=K-20005"))["items"] == []


def test_nobody_reads_another_vendors_record_by_id(ctx):
    c = ctx
    w = c.w
    paths = [f"/api/v1/{res}/{w.foreign[res]}" for res in RECORD_RESOURCES] + \
        [f"/api/v1/imports/{w.foreign['imports']}"]
    for path in paths:
        # it exists, for its own vendor
        api_ok(api_request(c.api.port, "GET", path, token=w.tokens["other-admin"]))
        for principal in list(PRINCIPALS) + ["se-sales"]:
            r = call(c, principal, "GET", path)
            assert r.status in (403, 404), (principal, path, r)
            if r.status == 404:
                assert_json_error(r, 404, "not_found")
    # And the other way round: othervendor's admin never gets sentinel's records.
    for res, ids in (("contracts", w.contracts), ("customers", w.customers), ("contacts", w.contacts)):
        for rid in ids.values():
            mine = admin(c, "GET", f"/api/v1/{res}/{rid}")
            r = api_request(c.api.port, "GET", f"/api/v1/{res}/{rid}", token=w.tokens["other-admin"])
            assert r.status in (200, 404)
            if r.status == 200:  # its own record of that id
                theirs = r.json()
                assert theirs != mine
                if res == "contracts":
                    assert theirs["external_id"].startswith("OK-"), theirs
                else:
                    assert theirs["name"].startswith("Other "), theirs
    for uid in w.user_ids.values():
        r = api_request(c.api.port, "GET", f"/api/v1/users/{uid}", token=w.tokens["other-admin"])
        if r.status == 200:
            assert r.json()["email"].endswith("@othervendor.example")
    # Tokens: othervendor's cannot be revoked from sentinel even by its admin (checked
    # in the matrix), and no list shows them.
    for principal in PRINCIPALS:
        assert w.foreign_token_id not in [t["id"] for t in api_list(c, principal, "/api/v1/tokens")]


# ---- rules beyond the matrix ---------------------------------------------------------------------


def test_partner_scoped_writes_stay_in_scope(ctx):
    c = ctx
    w = c.w
    # A contact cannot be moved to (or made for) a customer outside the caller's scope.
    for principal in ("gold-admin", "gold-sales"):
        r = call(c, principal, "PATCH", f"/api/v1/contacts/{w.contacts['gold']}", {"customer_id": w.customers["se"]})
        assert assert_json_error(r, 400, "invalid")["field"] == "customer_id"
    assert admin(c, "GET", f"/api/v1/contacts/{w.contacts['gold']}")["customer_id"] == w.customers["gold"]
    # A partner admin manages users of its own partner, with partner roles only.
    uid = w.user_ids["gold-sales"]
    for change in ({"partner_id": w.partners["RES-PLAT"]}, {"role": "vendor-admin", "partner_id": None},
                   {"role": "channel-manager", "partner_id": None}):
        r = call(c, "gold-admin", "PATCH", f"/api/v1/users/{uid}", change)
        assert assert_json_error(r, 400, "invalid")["field"] == "role", change
    r = call(c, "gold-admin", "POST", "/api/v1/users", {"email": "boss@sentinel.example", "name": "x",
             "role": "vendor-admin", "password": API_PASSWORD})
    assert assert_json_error(r, 400, "invalid")["field"] in ("role", "partner_id")
    # Users who manage only themselves may change name and e-mail, nothing else.
    for principal in ("cm", "vsales", "gold-sales", "dist-sales"):
        me = w.user_ids[principal]
        for change in ({"role": "vendor-admin"}, {"disabled": 1}, {"partner_id": w.partners["RES-PLAT"]}):
            r = call(c, principal, "PATCH", f"/api/v1/users/{me}", change)
            assert_json_error(r, 400, "invalid")
        assert api_ok(call(c, principal, "GET", "/api/v1/me"))["role"] == PRINCIPALS[principal][0]


def test_partner_admin_cannot_restructure_the_channel(ctx):
    """A partner's place in the channel (kind, tier, parent) is the vendor's to
    set: a reseller's admin must not promote itself or move itself (and with
    it its contracts) under another distributor, and a distributor's admin must
    not move its resellers out of (or into) its scope."""
    c = ctx
    w = c.w
    for principal, pid in (("gold-admin", w.partners["RES-GOLD"]), ("dist-admin", w.partners["DIST-NW"]),
                           ("dist-admin", w.partners["RES-PLAT"])):
        before = admin(c, "GET", f"/api/v1/partners/{pid}")
        for change, field in (({"tier": "platinum" if before["tier"] != "platinum" else "gold"}, "tier"),
                              ({"parent_id": w.partners["DIST-SE"]} if before["kind"] == "reseller"
                               else {"kind": "reseller", "parent_id": w.partners["DIST-SE"]},
                               "parent_id" if before["kind"] == "reseller" else "kind"),
                              ({"kind": "distributor", "parent_id": None} if before["kind"] == "reseller"
                               else {"tier": "vendor"}, "kind" if before["kind"] == "reseller" else "tier")):
            r = call(c, principal, "PATCH", f"/api/v1/partners/{pid}", change)
            assert assert_json_error(r, 400, "invalid")["field"] == field, (principal, change)
            assert admin(c, "GET", f"/api/v1/partners/{pid}") == before
        # Its own details it may change.
        doc = api_ok(call(c, principal, "PATCH", f"/api/v1/partners/{pid}", {"phone": "+44 1 2345", "tier": before["tier"]}))
        assert doc["phone"] == "+44 1 2345"
    # The vendor's roles may restructure.
    doc = admin(c, "PATCH", f"/api/v1/partners/{w.partners['RES-SILV']}", {"tier": "gold"})
    assert doc["tier"] == "gold"
    doc = api_ok(call(c, "cm", "PATCH", f"/api/v1/partners/{w.partners['RES-SILV']}", {"tier": "silver"}))
    assert doc["tier"] == "silver"


def test_routes_without_the_action(ctx):
    """Actions a resource has no route for answer 405 whoever asks."""
    c = ctx
    for principal in PRINCIPALS:
        for method, path in (("PATCH", "/api/v1/tokens/1"), ("GET", "/api/v1/tokens/1"), ("POST", "/api/v1/vendor"),
                             ("DELETE", "/api/v1/vendor"), ("PATCH", "/api/v1/imports/1"),
                             ("DELETE", "/api/v1/imports/1"), ("POST", "/api/v1/audit"), ("DELETE", "/api/v1/me")):
            r = call(c, principal, method, path, {"name": "x"} if method in ("POST", "PATCH") else None)
            assert_json_error(r, 405, "method_not_allowed")


def parse_security_table(text):
    """docs/security.md's role table as {resource: {role: (ALL, OWN)}}."""
    # the role table is the one whose header starts with "resource"
    start = text.index("| resource |")
    lines = []
    for ln in text[start:].splitlines():
        if not ln.startswith("| "):
            break
        lines.append(ln)
    head = [x.strip() for x in lines[0].strip("|").split("|")]
    assert head[0] == "resource", head
    words = {"read": "R", "create": "C", "update": "U", "delete": "D", "crud": "RCUD"}
    table = {}
    for ln in lines[2:]:
        cells = [x.strip() for x in ln.strip("|").split("|")]
        res = cells[0].split(" (")[0]
        if res not in MATRIX["vendor-admin"]:
            continue  # rows for resources this file does not cover
        row = {}
        for role, cell in zip(head[1:], cells[1:]):
            acts = {"all": "", "own": ""}
            cell = cell.split(" (")[0]
            for part in ([] if cell == "-" else cell.split(";")):
                kind, _, names = part.strip().rpartition(":")
                kind = kind.strip() or "all"  # the vendor row has no scope words
                acts[kind] += "".join(words[n.strip().lower()] for n in names.split(","))
            row[role] = (acts["all"], acts["own"])
        table[res] = row
    return table


def test_matrix_matches_docs_security_md():
    """The published table says what this file's mirror of authz.c says."""
    from conftest import REPO
    doc = parse_security_table((REPO / "docs" / "security.md").read_text())
    assert set(doc) == set(MATRIX["vendor-admin"])
    for res, row in doc.items():
        for role, (all_, own) in row.items():
            want_all, want_own = MATRIX[role][res]
            assert (set(all_), set(own)) == (set(want_all), set(want_own)), (res, role, (all_, own))
