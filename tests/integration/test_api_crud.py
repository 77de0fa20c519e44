"""The generic CRUD API (core/api/crud.c) against a real daemon: create, get,
patch, list filters, cursor pagination, delete semantics, and bad input
(every refusal names the field), as the vendor admin of the prepared store
(see the API world in conftest.py)."""
import datetime
import itertools
import json
import time

import pytest

from conftest import API_PASSWORD, api_ok, api_request, assert_json_error

RESOURCES = ["partners", "customers", "contacts", "products", "contracts", "users"]
_seq = itertools.count(1)
TODAY = datetime.datetime.now(datetime.timezone.utc).date()


def day(offset):
    return (TODAY + datetime.timedelta(days=offset)).isoformat()


def uniq(prefix):
    return f"{prefix}-{next(_seq)}"


def valid_body(api, res):
    """A create body that must succeed, with fresh external ids."""
    w = api.world
    if res == "partners":
        return {"external_id": uniq("P"), "name": "Harbour IT", "kind": "reseller", "tier": "gold",
                "parent_id": w.partners["DIST-NW"], "email": "sales@harbour.example", "colour_primary": "#0b4f8a"}
    if res == "customers":
        return {"external_id": uniq("C"), "name": "Quayside Clinic", "email": "it@quayside.example",
                "city": "Bristol", "country": "GB", "segment": "smb"}
    if res == "contacts":
        return {"external_id": uniq("CT"), "customer_id": w.customers["gold"], "name": "Ada Price",
                "email": "ada@quayside.example", "title": "IT lead"}
    if res == "products":
        return {"sku": uniq("SKU"), "name": "Cloud Backup", "line": "Backup",
                "prices": [{"currency": "GBP", "term": "annual", "amount": 1200},
                           {"currency": "EUR", "term": "monthly", "amount": 110}], "upsell": [1], "crosssell": [3]}
    if res == "contracts":
        return {"external_id": uniq("K"), "customer_id": w.customers["gold"], "product_id": 1,
                "reseller_id": w.partners["RES-GOLD"], "quantity": 12, "start": day(-30), "end": day(335),
                "term": "annual", "flags": ["consolidated"]}
    if res == "users":
        return {"email": f"{uniq('user')}@sentinel.example", "name": "New Person", "role": "partner-sales",
                "partner_id": w.partners["RES-GOLD"], "password": API_PASSWORD}
    raise AssertionError(res)


PATCHES = {
    "partners": {"name": "Harbour IT Group", "tier": "platinum", "phone": "+44 117 000 0000"},
    "customers": {"name": "Quayside Clinic Ltd", "postcode": "BS1 4DJ"},
    "contacts": {"phone": "+44 117 000 0001", "title": "CTO"},
    "products": {"name": "Cloud Backup Pro", "prices": [{"currency": "GBP", "term": "flex", "amount": 1500}]},
    "contracts": {"quantity": 20, "end": day(500), "flags": ["warranty_only", "consolidated"]},
    "users": {"name": "Renamed Person", "role": "partner-admin"},
}


def create(api, res, body=None, **kw):
    body = body if body is not None else valid_body(api, res)
    r = api.call("POST", f"/api/v1/{res}", body, as_="admin", **kw)
    doc = api_ok(r, 201)
    assert r.headers["location"] == f"/api/v1/{res}/{doc['id']}"
    return doc


def err_field(resp, status=400, code=None):
    return assert_json_error(resp, status, code)["field"]


# ---- create, get, patch --------------------------------------------------------------


@pytest.mark.parametrize("res", RESOURCES)
def test_create_get_patch(api, res):
    body = valid_body(api, res)
    r = api.call("POST", f"/api/v1/{res}", body, as_="admin")
    doc = api_ok(r, 201)
    assert isinstance(doc["id"], int) and doc["id"] > 0
    assert r.headers["location"] == f"/api/v1/{res}/{doc['id']}"
    sent = {k: v for k, v in body.items() if k != "password"}
    for k, v in sent.items():
        assert doc[k] == v, (k, doc)
    assert "password" not in doc and "password_hash" not in doc
    if res == "contracts":
        # Defaults and derived fields.
        assert doc["status"] == "live" and doc["currency"] == "GBP"
        assert doc["distributor_id"] == api.world.partners["DIST-NW"]  # the reseller's distributor
        assert doc["colour"] == "green"  # ends in 335 days: outside the 90-day window
    if res == "users":
        assert doc["disabled"] == 0 and doc["created_at"].endswith("Z")

    got = api.ok("GET", f"/api/v1/{res}/{doc['id']}")
    assert got == doc

    patched = api.ok("PATCH", f"/api/v1/{res}/{doc['id']}", PATCHES[res])
    for k, v in PATCHES[res].items():
        assert patched[k] == v, (k, patched)
    # Everything not in the patch is kept.
    for k in doc:
        if k not in PATCHES[res] and k != "colour":
            assert patched[k] == doc[k], (k, doc, patched)
    assert api.ok("GET", f"/api/v1/{res}/{doc['id']}") == patched


def test_create_user_lowercases_email_and_can_log_in(api):
    email = f"{uniq('Mixed.Case')}@Sentinel.Example"
    doc = create(api, "users", {"email": email, "name": "M", "role": "vendor-sales", "password": API_PASSWORD})
    assert doc["email"] == email.lower() and doc["partner_id"] is None
    r = api_request(api.port, "POST", "/api/v1/session",
                    {"vendor": "sentinel", "email": email.lower(), "password": API_PASSWORD}, source="127.0.1.1")
    assert api_ok(r)["user_id"] == doc["id"]


def test_get_patch_delete_of_missing_or_malformed_ids(api):
    for res in RESOURCES:
        for rid in ("999999", "0", "abc", "-1", "1.5", "99999999999999999999"):
            for method, body in (("GET", None), ("PATCH", {"name": "x"}), ("DELETE", None)):
                r = api.call(method, f"/api/v1/{res}/{rid}", body, as_="admin")
                assert_json_error(r, 404, "not_found")


# ---- list filters ----------------------------------------------------------------------


def ids(items):
    return [x["id"] for x in items]


def expect_filter(api, res, query, predicate, allow_empty=False):
    """The filtered list must be exactly the full list's items that match."""
    full = api.all(f"/api/v1/{res}")
    want = [x["id"] for x in full if predicate(x)]
    got = ids(api.all(f"/api/v1/{res}?{query}"))
    assert got == want, (query, got, want)
    if not allow_empty:
        assert want, f"{query}: the filter should match something in the prepared data"
        assert len(want) < len(full), f"{query}: the filter should exclude something"
    return got


def colour_of(k, today, window=90):
    """The derivation documented in DESIGN.md, computed independently."""
    end = datetime.date.fromisoformat(k["end"])
    if k["status"] == "cancelled":
        return "black"
    if k["status"] == "renewed":
        return "green"
    if k["status"] == "expired" or end < today:
        return "red"
    if (end - today).days <= window:
        return "amber"
    return "green"


def test_contract_colours_are_derived(api):
    today = datetime.datetime.now(datetime.timezone.utc).date()
    contracts = api.all("/api/v1/contracts")
    seen = set()
    for k in contracts:
        assert k["colour"] == colour_of(k, today), k
        seen.add(k["colour"])
    assert seen == {"red", "amber", "green", "black"}, seen


def test_contract_filters(api):
    w = api.world
    products = {p["id"]: p for p in api.all("/api/v1/products")}
    expect_filter(api, "contracts", "status=live", lambda k: k["status"] == "live")
    expect_filter(api, "contracts", "status=cancelled", lambda k: k["status"] == "cancelled")
    expect_filter(api, "contracts", "status=expired", lambda k: k["status"] == "expired")
    for colour in ("red", "amber", "green", "black"):
        expect_filter(api, "contracts", f"colour={colour}", lambda k, c=colour: k["colour"] == c)
    today = datetime.datetime.now(datetime.timezone.utc).date()
    lo = (today + datetime.timedelta(days=30)).isoformat()
    hi = (today + datetime.timedelta(days=120)).isoformat()
    expect_filter(api, "contracts", f"end_from={lo}", lambda k: k["end"] >= lo)
    expect_filter(api, "contracts", f"end_to={hi}", lambda k: k["end"] <= hi)
    expect_filter(api, "contracts", f"end_from={lo}&end_to={hi}", lambda k: lo <= k["end"] <= hi)
    # partner: the reseller or the distributor of record.
    for ext in ("RES-GOLD", "DIST-NW", "RES-SE", "DIST-SE"):
        pid = w.partners[ext]
        expect_filter(api, "contracts", f"partner={pid}",
                      lambda k, p=pid: p in (k["reseller_id"], k["distributor_id"]))
    expect_filter(api, "contracts", f"customer={w.customers['gold']}",
                  lambda k: k["customer_id"] == w.customers["gold"])
    expect_filter(api, "contracts", "product=3", lambda k: k["product_id"] == 3)
    expect_filter(api, "contracts", "product_line=Web%20Security",
                  lambda k: products[k["product_id"]]["line"] == "Web Security")
    expect_filter(api, "contracts", "external_id=K-20007", lambda k: k["external_id"] == "K-20007")
    expect_filter(api, "contracts", f"status=live&partner={w.partners['RES-SILV']}&product=2",
                  lambda k: k["status"] == "live" and w.partners["RES-SILV"] in (k["reseller_id"], k["distributor_id"])
                  and k["product_id"] == 2)
    # Filters that match nothing give an empty list, not an error.
    assert api.ok("GET", "/api/v1/contracts?external_id=NO-SUCH")["items"] == []
    assert api.ok("GET", "/api/v1/contracts?customer=999999") == {"items": [], "next_cursor": None}


def test_customer_filters(api):
    expect_filter(api, "customers", "name=dental", lambda c: "dental" in c["name"].lower())
    expect_filter(api, "customers", "name=DENTAL", lambda c: "dental" in c["name"].lower())
    expect_filter(api, "customers", "external_id=CUST-1002", lambda c: c["external_id"] == "CUST-1002")
    expect_filter(api, "customers", "name=Dental&external_id=CUST-SE-1",
                  lambda c: "dental" in c["name"].lower() and c["external_id"] == "CUST-SE-1")


def test_partner_filters(api):
    w = api.world
    expect_filter(api, "partners", "kind=distributor", lambda p: p["kind"] == "distributor")
    expect_filter(api, "partners", "kind=reseller", lambda p: p["kind"] == "reseller")
    expect_filter(api, "partners", "tier=silver", lambda p: p["tier"] == "silver")
    expect_filter(api, "partners", f"parent={w.partners['DIST-NW']}", lambda p: p["parent_id"] == w.partners["DIST-NW"])
    expect_filter(api, "partners", f"parent={w.partners['DIST-SE']}", lambda p: p["parent_id"] == w.partners["DIST-SE"])
    expect_filter(api, "partners", "external_id=RES-PLAT", lambda p: p["external_id"] == "RES-PLAT")
    expect_filter(api, "partners", "kind=reseller&tier=platinum",
                  lambda p: p["kind"] == "reseller" and p["tier"] == "platinum")


def test_contact_filters(api):
    w = api.world
    # A second contact for one customer so that the filter has two to find.
    create(api, "contacts", {"customer_id": w.customers["plat"], "name": "Second contact"})
    for key in ("gold", "plat", "se"):
        expect_filter(api, "contacts", f"customer={w.customers[key]}",
                      lambda c, cid=w.customers[key]: c["customer_id"] == cid)


def test_user_filters(api):
    w = api.world
    for role in ("vendor-admin", "channel-manager", "vendor-sales", "partner-admin", "partner-sales"):
        expect_filter(api, "users", f"role={role}", lambda u, r=role: u["role"] == r)
    for ext in ("RES-GOLD", "DIST-NW", "RES-SE"):
        expect_filter(api, "users", f"partner={w.partners[ext]}", lambda u, p=w.partners[ext]: u["partner_id"] == p)
    expect_filter(api, "users", f"role=partner-sales&partner={w.partners['RES-GOLD']}",
                  lambda u: u["role"] == "partner-sales" and u["partner_id"] == w.partners["RES-GOLD"])


def test_product_filters(api):
    expect_filter(api, "products", "line=Web%20Security", lambda p: p["line"] == "Web Security")
    expect_filter(api, "products", "line=Data%20Security", lambda p: p["line"] == "Data Security")
    expect_filter(api, "products", "sku=DLP-EP", lambda p: p["sku"] == "DLP-EP")


def test_bad_filter_values(api):
    cases = [
        ("contracts", "end_from=2025-02-30", "end_from"),
        ("contracts", "end_to=tomorrow", "end_to"),
        ("contracts", "partner=abc", "partner"),
        ("contracts", "customer=0", "customer"),
        ("contracts", "product=-3", "product"),
        ("contracts", "colour=purple", "colour"),
        ("partners", "parent=x", "parent"),
        ("users", "partner=1e3", "partner"),
        ("contacts", "customer=", "customer"),
    ]
    for res, q, field in cases:
        assert err_field(api.call("GET", f"/api/v1/{res}?{q}", as_="admin")) == field, (res, q)


def test_unknown_query_parameters(api):
    for res, q in [("contracts", "colour=red&sort=end"), ("customers", "status=live"), ("partners", "name=x"),
                   ("contacts", "external_id=x"), ("users", "email=a"), ("products", "tier=gold")]:
        bad = q.split("&")[-1].split("=")[0]
        r = api.call("GET", f"/api/v1/{res}?{q}", as_="admin")
        assert err_field(r) == bad, (res, q)
        assert bad in assert_json_error(r, 400)["message"]


def test_bad_limit_and_cursor(api):
    for res in RESOURCES:
        for q, field in [("limit=0", "limit"), ("limit=501", "limit"), ("limit=abc", "limit"), ("limit=-1", "limit"),
                         ("limit=", "limit"), ("cursor=abc", "cursor"), ("cursor=0", "cursor"),
                         ("cursor=-5", "cursor"), ("cursor=", "cursor")]:
            assert err_field(api.call("GET", f"/api/v1/{res}?{q}", as_="admin")) == field, (res, q)
        # The edges of the allowed range.
        assert len(api.ok("GET", f"/api/v1/{res}?limit=1")["items"]) == 1
        api.ok("GET", f"/api/v1/{res}?limit=500")


# ---- cursor pagination -------------------------------------------------------------------


def walk(api, path, limit):
    sep = "&" if "?" in path else "?"
    pages, cursor = [], None
    for _ in range(500):
        doc = api.ok("GET", f"{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else ""))
        assert set(doc) == {"items", "next_cursor"}, doc
        pages.append(doc["items"])
        cursor = doc["next_cursor"]
        if cursor is None:
            return pages
        assert isinstance(cursor, str) and cursor.isdigit(), cursor
    raise AssertionError("pagination did not end")


@pytest.mark.parametrize("path", [f"/api/v1/{r}" for r in RESOURCES] + ["/api/v1/contracts?status=live",
                                                                        "/api/v1/contracts?partner=1"])
def test_pagination_walks_every_item_once(api, path):
    res = path.split("/")[3].split("?")[0]
    while len(api.all(path)) < 16:  # at least three pages
        create(api, res)
    full = ids(api.all(path))
    pages = walk(api, path, 7)
    for p in pages[:-1]:
        assert len(p) == 7, [len(p) for p in pages]
    assert 1 <= len(pages[-1]) <= 7 or full == []
    got = [x["id"] for p in pages for x in p]
    assert len(got) == len(set(got)), f"duplicates across pages: {got}"
    assert got == full, f"missing or reordered: {set(full) - set(got)}"
    assert got == sorted(got)


def test_pagination_boundaries(api):
    full = ids(api.all("/api/v1/contracts"))
    n = len(full)
    # Exactly one full page: no next_cursor.
    doc = api.ok("GET", f"/api/v1/contracts?limit={n}")
    assert ids(doc["items"]) == full and doc["next_cursor"] is None
    # One short: a cursor, then the last item alone.
    doc = api.ok("GET", f"/api/v1/contracts?limit={n - 1}")
    assert ids(doc["items"]) == full[:-1] and doc["next_cursor"] == str(full[-2])
    doc = api.ok("GET", f"/api/v1/contracts?limit={n - 1}&cursor={doc['next_cursor']}")
    assert ids(doc["items"]) == full[-1:] and doc["next_cursor"] is None
    # A cursor past the end: empty.
    assert api.ok("GET", f"/api/v1/contracts?cursor={full[-1]}") == {"items": [], "next_cursor": None}


def test_lists_are_per_vendor(api):
    """othervendor's admin sees only othervendor's records, and the other way round."""
    w = api.world
    for res in ("partners", "customers", "products", "contracts", "contacts", "users"):
        mine = api.all(f"/api/v1/{res}")
        theirs = api.all(f"/api/v1/{res}", as_="other-admin")
        assert mine and theirs
        assert w.foreign[res] in ids(theirs)
        assert w.foreign[res] not in ids(mine)
        names = {x.get("name") for x in theirs} - {None}
        if res != "users":
            assert not names & {x.get("name") for x in mine}, res


# ---- delete semantics ------------------------------------------------------------------


def test_delete_contract_cancels_it(api):
    k = create(api, "contracts")
    r = api.call("DELETE", f"/api/v1/contracts/{k['id']}", as_="admin")
    doc = api_ok(r, 200)
    assert doc["id"] == k["id"] and doc["status"] == "cancelled" and doc["colour"] == "black"
    got = api.ok("GET", f"/api/v1/contracts/{k['id']}")
    assert got["status"] == "cancelled" and got["colour"] == "black"
    assert {x: got[x] for x in got if x not in ("status", "colour")} == \
        {x: k[x] for x in k if x not in ("status", "colour")}
    assert k["id"] in ids(api.all("/api/v1/contracts?status=cancelled"))
    # Cancelling again is harmless.
    assert api.ok("DELETE", f"/api/v1/contracts/{k['id']}")["status"] == "cancelled"
    # The audit log records it as an update with a note.
    entries = api.ok("GET", f"/api/v1/audit?object=contracts&object_id={k['id']}")["items"]
    assert [e["action"] for e in entries] == ["create", "update", "update"]
    assert entries[1]["note"] == "cancelled" and entries[1]["after"]["status"] == "cancelled"


def test_delete_referenced_partner_customer_product_conflicts(api):
    w = api.world
    cases = [
        ("partners", w.partners["RES-GOLD"]),   # reseller of record on contracts
        ("partners", w.partners["DIST-NW"]),    # has resellers
        ("customers", w.customers["gold"]),     # has contracts
        ("products", 1),                        # contracts refer to it
    ]
    # A distributor of record on a contract only (no resellers of its own).
    d2 = create(api, "partners", {"name": "Lone Distribution", "kind": "distributor", "tier": "gold"})
    create(api, "contracts", dict(valid_body(api, "contracts"), distributor_id=d2["id"]))
    cases.append(("partners", d2["id"]))
    # A customer with contacts but no contracts.
    c = create(api, "customers")
    create(api, "contacts", {"customer_id": c["id"], "name": "Only a contact"})
    cases.append(("customers", c["id"]))
    # A partner with users but no contracts: the users would point at nothing.
    lone = create(api, "partners", {"name": "Users only", "kind": "reseller", "tier": "silver"})
    create(api, "users", dict(valid_body(api, "users"), partner_id=lone["id"]))
    cases.append(("partners", lone["id"]))
    # Products named only in another product's up-sell or cross-sell list.
    up, cross = create(api, "products"), create(api, "products")
    create(api, "products", {"sku": uniq("SKU"), "name": "Bundle", "upsell": [up["id"]], "crosssell": [cross["id"]]})
    cases += [("products", up["id"]), ("products", cross["id"])]
    for res, rid in cases:
        before = api.ok("GET", f"/api/v1/{res}/{rid}")
        assert_json_error(api.call("DELETE", f"/api/v1/{res}/{rid}", as_="admin"), 409, "conflict")
        assert api.ok("GET", f"/api/v1/{res}/{rid}") == before


@pytest.mark.parametrize("res", ["partners", "customers", "products", "contacts", "users"])
def test_delete_unreferenced_record(api, res):
    doc = create(api, res)
    r = api.call("DELETE", f"/api/v1/{res}/{doc['id']}", as_="admin")
    api_ok(r, 204)
    assert_json_error(api.call("GET", f"/api/v1/{res}/{doc['id']}", as_="admin"), 404, "not_found")
    assert doc["id"] not in ids(api.all(f"/api/v1/{res}"))
    assert_json_error(api.call("DELETE", f"/api/v1/{res}/{doc['id']}", as_="admin"), 404, "not_found")
    assert_json_error(api.call("PATCH", f"/api/v1/{res}/{doc['id']}", {"name": "x"}, as_="admin"), 404)


def test_delete_yourself_is_refused(api):
    assert err_field(api.call("DELETE", f"/api/v1/users/{api.world.user_ids['admin']}", as_="admin")) is None
    api.ok("GET", "/api/v1/me")


# ---- bad input -------------------------------------------------------------------------


def bad_cases():
    """(resource, change to a valid create body, the field the 400 must name)."""
    drop = object()
    return [
        # unknown fields, ids, read-only fields
        ("partners", {"colour": "#000000"}, "colour"),
        ("customers", {"nickname": "x"}, "nickname"),
        ("contacts", {"customer": 1}, "customer"),
        ("products", {"price": 10}, "price"),
        ("contracts", {"seats": 10}, "seats"),
        ("users", {"admin": True}, "admin"),
        ("partners", {"id": 99}, "id"),
        ("customers", {"id": 99}, "id"),
        ("contacts", {"id": 99}, "id"),
        ("products", {"id": 99}, "id"),
        ("contracts", {"id": 99}, "id"),
        ("users", {"id": 99}, "id"),
        ("users", {"created_at": "2026-01-01T00:00:00Z"}, "created_at"),
        ("users", {"password_hash": "$argon2id$v=19$m=65536,t=2,p=1$x$y"}, "password_hash"),
        # wrong types
        ("contracts", {"quantity": "10"}, "quantity"),
        ("contracts", {"quantity": 1.5}, "quantity"),
        ("contracts", {"quantity": True}, "quantity"),
        ("contracts", {"customer_id": "1"}, "customer_id"),
        ("contracts", {"start": 20260101}, "start"),
        ("contracts", {"flags": "warranty_only"}, "flags"),
        ("contracts", {"quantity": 2 ** 32}, "quantity"),
        ("customers", {"name": 5}, "name"),
        ("customers", {"name": None}, "name"),
        ("partners", {"parent_id": "1"}, "parent_id"),
        ("partners", {"kind": 2}, "kind"),
        ("products", {"prices": "1200"}, "prices"),
        ("products", {"prices": [{"currency": "GBP", "term": "annual", "amount": "12"}]}, "prices"),
        ("products", {"prices": [{"currency": "GBP", "term": "annual", "amount": -1}]}, "prices"),
        ("products", {"prices": [{"currency": "GBP", "term": "weekly", "amount": 1}]}, "prices"),
        ("products", {"upsell": [0]}, "upsell"),
        ("products", {"upsell": "1"}, "upsell"),
        ("users", {"disabled": "yes"}, "disabled"),
        ("users", {"password": 1234567890123}, "password"),
        # impossible dates
        ("contracts", {"start": "2025-02-30"}, "start"),
        ("contracts", {"end": "2025-13-01"}, "end"),
        ("contracts", {"end": "2026-04-31"}, "end"),
        ("contracts", {"start": "2025-2-3"}, "start"),
        ("contracts", {"start": "2023-02-29"}, "start"),
        ("contracts", {"start": "1899-12-31"}, "start"),
        # quantities
        ("contracts", {"quantity": -1}, "quantity"),
        ("contracts", {"quantity": 0}, "quantity"),
        # currencies
        ("contracts", {"currency": "EUR1"}, "currency"),
        ("contracts", {"currency": "eur"}, "currency"),
        ("contracts", {"currency": "E1R"}, "currency"),
        ("contracts", {"currency": ""}, "currency"),
        ("products", {"prices": [{"currency": "eur", "term": "annual", "amount": 1}]}, "prices"),
        # end before start
        ("contracts", {"start": "2026-06-01", "end": "2026-05-31"}, "end"),
        # enum names not allowed
        ("partners", {"kind": "wholesaler"}, "kind"),
        ("partners", {"kind": ""}, "kind"),
        ("partners", {"tier": "bronze"}, "tier"),
        ("contracts", {"status": "pending"}, "status"),
        ("contracts", {"status": "Live"}, "status"),
        ("contracts", {"term": "weekly"}, "term"),
        ("contracts", {"flags": ["gold_plated"]}, "flags"),
        ("users", {"role": "superuser"}, "role"),
        ("users", {"role": "vendor_admin"}, "role"),
        # required fields
        ("partners", {"name": drop}, "name"),
        ("partners", {"kind": drop}, "kind"),
        ("partners", {"tier": drop}, "tier"),
        ("customers", {"name": drop}, "name"),
        ("contacts", {"customer_id": drop}, "customer_id"),
        ("contacts", {"name": drop}, "name"),
        ("products", {"sku": drop}, "sku"),
        ("products", {"name": drop}, "name"),
        ("contracts", {"customer_id": drop}, "customer_id"),
        ("contracts", {"product_id": drop}, "product_id"),
        ("contracts", {"reseller_id": drop}, "reseller_id"),
        ("contracts", {"quantity": drop}, "quantity"),
        ("contracts", {"start": drop}, "start"),
        ("contracts", {"end": drop}, "end"),
        ("users", {"email": drop}, "email"),
        ("users", {"name": drop}, "name"),
        ("users", {"role": drop}, "role"),
        ("users", {"password": drop}, "password"),
        # rules across fields and records
        ("partners", {"colour_primary": "#zzzzzz"}, "colour_primary"),
        ("partners", {"colour_accent": "f2a900"}, "colour_accent"),
        ("partners", {"email": "not an e-mail"}, "email"),
        ("partners", {"kind": "distributor"}, "parent_id"),           # a distributor has no parent
        ("partners", {"parent_id": 2}, "parent_id"),                  # RES-PLAT is no distributor
        ("customers", {"country": "gb"}, "country"),
        ("customers", {"country": "GBR"}, "country"),
        ("customers", {"email": "it@"}, "email"),
        ("contacts", {"email": "a@b@c.example"}, "email"),
        ("products", {"prices": [{"currency": "GBP", "term": "annual", "amount": 1},
                                 {"currency": "GBP", "term": "annual", "amount": 2}]}, "prices"),
        ("contracts", {"distributor_id": 2}, "distributor_id"),        # a reseller, not a distributor
        ("users", {"email": "nobody"}, "email"),
        ("users", {"partner_id": drop}, "partner_id"),                 # a partner role needs a partner
        ("users", {"role": "vendor-sales"}, "partner_id"),             # a vendor role has none
        ("users", {"password": "short"}, "password"),
        ("users", {"password": "123456789"}, "password"),
        ("users", {"password": "x" * 257}, "password"),
        # text too long
        ("customers", {"name": "n" * 128}, "name"),
        ("partners", {"external_id": "e" * 64}, "external_id"),
        # references to records that do not exist
        ("contracts", {"customer_id": 999999}, "customer_id"),
        ("contracts", {"product_id": 999999}, "product_id"),
        ("contracts", {"reseller_id": 999999}, "reseller_id"),
        ("contracts", {"distributor_id": 999999}, "distributor_id"),
        ("contacts", {"customer_id": 999999}, "customer_id"),
        ("partners", {"parent_id": 999999}, "parent_id"),
        ("users", {"partner_id": 999999}, "partner_id"),
        ("products", {"upsell": [999999]}, "upsell"),
        ("products", {"crosssell": [1, 999999]}, "crosssell"),
    ]


@pytest.mark.parametrize("res,change,field", bad_cases(),
                         ids=[f"{r}-{f}-{i}" for i, (r, _, f) in enumerate(bad_cases())])
def test_bad_create_names_the_field(api, res, change, field):
    body = valid_body(api, res)
    for k, v in change.items():
        if isinstance(v, object) and type(v) is object:
            body.pop(k, None)
        else:
            body[k] = v
    before = len(api.all(f"/api/v1/{res}"))
    r = api.call("POST", f"/api/v1/{res}", body, as_="admin")
    err = assert_json_error(r, 400)
    assert err["field"] == field, (body, err)
    assert err["code"] == "invalid"
    assert "location" not in r.headers
    assert len(api.all(f"/api/v1/{res}")) == before, "a refused create must not store anything"


def test_references_to_another_vendors_records_are_missing(api):
    f = api.world.foreign
    body = valid_body(api, "contracts")
    for field, res in (("customer_id", "customers"), ("product_id", "products"), ("reseller_id", "partners")):
        r = api.call("POST", "/api/v1/contracts", dict(body, **{field: f[res]}), as_="admin")
        assert assert_json_error(r, 400)["field"] == field
    r = api.call("POST", "/api/v1/contacts", {"customer_id": f["customers"], "name": "x"}, as_="admin")
    assert assert_json_error(r, 400)["field"] == "customer_id"
    r = api.call("POST", "/api/v1/products", {"sku": uniq("S"), "name": "x", "upsell": [f["products"]]}, as_="admin")
    assert assert_json_error(r, 400)["field"] == "upsell"


@pytest.mark.parametrize("res,change,field", [
    ("contracts", {"quantity": 0}, "quantity"),
    ("contracts", {"end": day(-31)}, "end"),  # before the start, day(-30)
    ("contracts", {"start": "2026-02-30"}, "start"),
    ("contracts", {"customer_id": 999999}, "customer_id"),
    ("contracts", {"id": 5}, "id"),
    ("partners", {"tier": "diamond"}, "tier"),
    ("partners", {"parent_id": None, "kind": "distributor", "colour_primary": "red"}, "colour_primary"),
    ("customers", {"email": 7}, "email"),
    ("contacts", {"customer_id": 0}, "customer_id"),
    ("products", {"upsell": [999999]}, "upsell"),
    ("users", {"role": "god"}, "role"),
    ("users", {"password": "tooshort"}, "password"),
    ("users", {"email": "Nope"}, "email"),
])
def test_bad_patch_names_the_field_and_changes_nothing(api, res, change, field):
    doc = create(api, res)
    r = api.call("PATCH", f"/api/v1/{res}/{doc['id']}", change, as_="admin")
    assert assert_json_error(r, 400, "invalid")["field"] == field
    assert api.ok("GET", f"/api/v1/{res}/{doc['id']}") == doc


def test_patch_can_clear_an_optional_reference(api):
    p = create(api, "partners")
    doc = api.ok("PATCH", f"/api/v1/partners/{p['id']}", {"parent_id": None})
    assert doc["parent_id"] is None


@pytest.mark.parametrize("body", [b"{", b"{\"name\": }", b"{'name': 'x'}", b"\xff\xfe", b"{\"name\": \"a\",}",
                                  b"{\"name\": \"a\", \"name\": \"b\"}"])
def test_malformed_json(api, body):
    for res in RESOURCES:
        r = api.call("POST", f"/api/v1/{res}", body, as_="admin", headers={"Content-Type": "application/json"})
        assert_json_error(r, 400, "bad_json")
    r = api.call("PATCH", "/api/v1/customers/1", body, as_="admin")
    assert_json_error(r, 400, "bad_json")


@pytest.mark.parametrize("body", [b"[]", b"[{\"name\": \"x\"}]", b"\"name\"", b"42", b"null", b"true", b""])
def test_non_object_json(api, body):
    for res in RESOURCES:
        assert_json_error(api.call("POST", f"/api/v1/{res}", body, as_="admin"), 400, "bad_json")
    assert_json_error(api.call("PATCH", "/api/v1/customers/1", body, as_="admin"), 400, "bad_json")


def test_duplicate_external_id_conflicts(api):
    for res, key in (("partners", "external_id"), ("customers", "external_id"), ("contacts", "external_id"),
                     ("contracts", "external_id"), ("products", "sku")):
        first = create(api, res)
        again = dict(valid_body(api, res), **{key: first[key]})
        r = api.call("POST", f"/api/v1/{res}", again, as_="admin")
        err = assert_json_error(r, 409, "conflict")
        assert err["field"] == key and first[key] in err["message"], err
        # PATCHing another record onto the same external id conflicts too.
        other = create(api, res)
        r = api.call("PATCH", f"/api/v1/{res}/{other['id']}", {key: first[key]}, as_="admin")
        assert assert_json_error(r, 409, "conflict")["field"] == key
        # Re-stating a record's own external id is fine.
        assert api.ok("PATCH", f"/api/v1/{res}/{first['id']}", {key: first[key]})[key] == first[key]
    # Demo external ids are taken too.
    r = api.call("POST", "/api/v1/contracts", dict(valid_body(api, "contracts"), external_id="K-20001"), as_="admin")
    assert assert_json_error(r, 409)["field"] == "external_id"
    # The same external id in another vendor is no conflict.
    r = api.call("POST", "/api/v1/customers", {"name": "Same ext", "external_id": "CUST-1001"}, as_="other-admin")
    api_ok(r, 201)


def test_duplicate_user_email_conflicts(api):
    body = valid_body(api, "users")
    create(api, "users", body)
    r = api.call("POST", "/api/v1/users", dict(body, email=body["email"].upper()), as_="admin")
    assert assert_json_error(r, 409, "conflict")["field"] == "email"


def _head_only(api, method, path, length):
    """An oversized body is refused from the request head, before it is
    read (docs/security.md): send the head only and read the answer."""
    from conftest import raw_connect, recv_http_response
    s = raw_connect(api.port)
    try:
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {api.world.tokens['admin']}\r\n"
                  f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n".encode())
        return recv_http_response(s, time.monotonic() + 10)
    finally:
        s.close()


def test_oversized_body_is_413_json(api):
    big = json.dumps({"name": "x" * (1024 * 1024)}).encode()
    assert len(big) > 1024 * 1024
    for res in ("customers", "contracts"):
        err = assert_json_error(_head_only(api, "POST", f"/api/v1/{res}", len(big)), 413)
        assert "1048576" in err["message"], err
    vendor, customer = api.ok("GET", "/api/v1/vendor"), api.ok("GET", "/api/v1/customers/1")
    for method, path in (("PATCH", "/api/v1/customers/1"), ("PATCH", "/api/v1/vendor"), ("POST", "/api/v1/tokens"),
                         ("POST", "/api/v1/session")):
        assert_json_error(_head_only(api, method, path, len(big)), 413, "body_too_large")
    assert api.ok("GET", "/api/v1/vendor") == vendor and api.ok("GET", "/api/v1/customers/1") == customer
    # Just under the limit is read (and refused for its content, not its size).
    body = b'{"name": "' + b"x" * (1024 * 1024 - 20) + b'"}'
    assert len(body) <= 1024 * 1024
    r = api.call("POST", "/api/v1/customers", body, as_="admin")
    assert assert_json_error(r, 400)["field"] == "name"
    api.ok("GET", "/api/v1/me")


def test_routes_answer_405_for_other_methods(api):
    r = api.call("PUT", "/api/v1/customers/1", {"name": "x"}, as_="admin")
    assert_json_error(r, 405)
    assert set(r.headers["allow"].replace(" ", "").split(",")) >= {"GET", "PATCH", "DELETE"}
    assert_json_error(api.call("DELETE", "/api/v1/customers", as_="admin"), 405)


# ---- the vendor ----------------------------------------------------------------------------


def test_vendor_get(api):
    v = api.ok("GET", "/api/v1/vendor")
    assert v["slug"] == "sentinel" and v["currency"] == "GBP" and v["renewal_window_days"] == 90
    assert v == api.ok("GET", "/api/v1/me")["vendor"]
    o = api.ok("GET", "/api/v1/vendor", as_="other-admin")
    assert o["slug"] == "othervendor" and o["currency"] == "EUR" and o["id"] != v["id"]


def test_vendor_patch(api):
    v = api.ok("GET", "/api/v1/vendor")
    new = api.ok("PATCH", "/api/v1/vendor", {"name": "Sentinel Security plc", "renewal_window_days": 60,
                                             "statement_day": 28, "publish_default": "partner"})
    assert new == dict(v, name="Sentinel Security plc", renewal_window_days=60, statement_day=28,
                       publish_default="partner")
    assert api.ok("GET", "/api/v1/vendor") == new
    assert api.ok("GET", "/api/v1/vendor", as_="other-admin")["name"] == "Other Vendor Ltd"
    # The slug may be re-stated but not changed.
    api.ok("PATCH", "/api/v1/vendor", {"slug": "sentinel"})
    restored = api.ok("PATCH", "/api/v1/vendor", {k: v[k] for k in ("name", "renewal_window_days", "statement_day",
                                                                    "publish_default")})
    assert restored == v


@pytest.mark.parametrize("body,field", [
    ({"slug": "renamed"}, "slug"),
    ({"id": 2}, "id"),
    ({"colour": "red"}, "colour"),
    ({"currency": "gbp"}, "currency"),
    ({"currency": "POUND"}, "currency"),
    ({"publish_default": "nobody"}, "publish_default"),
    ({"renewal_window_days": "90"}, "renewal_window_days"),
    ({"renewal_window_days": -1}, "renewal_window_days"),
    ({"renewal_window_days": 0}, "renewal_window_days"),
    ({"renewal_window_days": 366}, "renewal_window_days"),
    ({"decision_window_days": 91}, "decision_window_days"),
    ({"statement_day": 0}, "statement_day"),
    ({"statement_day": 29}, "statement_day"),
    ({"name": "n" * 128}, "name"),
])
def test_vendor_patch_validation(api, body, field):
    v = api.ok("GET", "/api/v1/vendor")
    r = api.call("PATCH", "/api/v1/vendor", body, as_="admin")
    assert assert_json_error(r, 400, "invalid")["field"] == field
    assert api.ok("GET", "/api/v1/vendor") == v


def test_vendor_patch_bad_json(api):
    for body in (b"{", b"[]", b""):
        assert_json_error(api.call("PATCH", "/api/v1/vendor", body, as_="admin"), 400, "bad_json")
