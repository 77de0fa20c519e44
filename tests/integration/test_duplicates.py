"""Probable duplicate customers (GET /api/v1/customers/duplicates) and
merging them (POST /api/v1/customers/{id}/merge): groups and reasons,
contracts and contacts moving to the survivor, what the survivor inherits,
refused merges changing nothing, and the audit trail of both sides."""
import pytest

from conftest import assert_json_error, start_api

SAME_NAME = "same name"
SAME_DOMAIN = "same e-mail domain"
SAME_POSTCODE = "same postcode and first word of the name"
MOVED_KEYS = {"opportunities_moved", "orders_moved", "tasks_moved", "documents_moved", "messages_moved", "links_moved",
              "sessions_moved"}


@pytest.fixture
def env(daemon, tmp_path):
    d, api, users = start_api(daemon, tmp_path / "store", users=[
        ("sales@sentinel.example", "vendor-sales", None), ("cm@sentinel.example", "channel-manager", None)])
    yield d, api, users
    if d.running():
        d.stop()  # under ASan: no leaks


def customer(api, **fields):
    return api.ok("POST", "/api/v1/customers", fields, status=201)["id"]


def by_ext(api, kind, ext):
    items = api.get(f"/api/v1/{kind}?{'sku' if kind == 'products' else 'external_id'}={ext}")["items"]
    assert len(items) == 1, items
    return items[0]["id"]


def groups(api):
    doc = api.get("/api/v1/customers/duplicates")
    assert set(doc) == {"groups"}, doc
    for g in doc["groups"]:
        assert set(g) == {"customers", "reasons"}, g
        assert len(g["customers"]) >= 2 and g["customers"] == sorted(g["customers"]), g
    return {frozenset(g["customers"]): g["reasons"] for g in doc["groups"]}


def test_duplicate_groups_and_reasons(env):
    d, api, _ = env
    abbott = (by_ext(api, "customers", "CUST-1001"), by_ext(api, "customers", "CUST-1025"))
    meridian = by_ext(api, "customers", "CUST-1013")  # shares Abbott's postcode, not its first word
    # The demo has one probable duplicate: Abbott Dental Group / ... Limited.
    assert groups(api) == {frozenset(abbott): [SAME_NAME, SAME_DOMAIN, SAME_POSTCODE]}

    # Same name once case, punctuation and legal suffixes are ignored.
    n1 = customer(api, name="Harlow Plumbing Ltd", email="harlow.plumbing@gmail.com", postcode="CM20 1AA")
    n2 = customer(api, name="harlow plumbing", email="harlowplumbing@gmail.com", postcode="CM20 2BB")
    o1 = customer(api, name="O'Brien & Sons Ltd.", email="ob@hotmail.co.uk")
    o2 = customer(api, name="OBrien and Sons", email="sons@outlook.com")
    # Same e-mail domain (not a public mail service), case-insensitively.
    q1 = customer(api, name="Quill Stationers", email="it@quillgroup.example")
    q2 = customer(api, name="QG Holdings", email="Finance@QuillGroup.EXAMPLE")
    # Same postcode (spaces and case ignored) and the same first word.
    t1 = customer(api, name="Tarn Valley Farm", postcode="LA9 4QR")
    t2 = customer(api, name="The Tarn Cottage Holidays", postcode="la94qr")
    t3 = customer(api, name="Kendal Motors", postcode="LA9 4QR")  # same postcode, other first word
    # Public mail domains never group customers by themselves.
    p1 = customer(api, name="Alpha Bakery", email="alpha@gmail.com")
    p2 = customer(api, name="Beta Motors", email="beta@gmail.com")
    p3 = customer(api, name="Gamma Cars", email="gamma@yahoo.co.uk")
    p4 = customer(api, name="Delta Signs", email="delta@yahoo.co.uk")
    # Chains join: a name match and a domain match make one group with both reasons.
    c1 = customer(api, name="Wexford Analytics Ltd", email="a@wexford-analytics.example")
    c2 = customer(api, name="Wexford Analytics Inc")
    c3 = customer(api, name="WA Data Services", email="ops@wexford-analytics.example")

    got = groups(api)
    expected = {
        frozenset(abbott): [SAME_NAME, SAME_DOMAIN, SAME_POSTCODE],
        frozenset((n1, n2)): [SAME_NAME],
        frozenset((o1, o2)): [SAME_NAME],
        frozenset((q1, q2)): [SAME_DOMAIN],
        frozenset((t1, t2)): [SAME_POSTCODE],
        frozenset((c1, c2, c3)): [SAME_NAME, SAME_DOMAIN],
    }
    assert got == expected
    lone = {t3, p1, p2, p3, p4, meridian}
    assert not any(lone & g for g in got), "customers without a real match must not be grouped"

    # Unknown query parameters are refused; roles that cannot read customers cannot ask.
    assert_json_error(api.call("GET", "/api/v1/customers/duplicates?min=2"), 400, "invalid")


def test_merge_moves_contracts_and_contacts_and_fills_gaps(env):
    d, api, _ = env
    prod, res = by_ext(api, "products", "WSG-STD"), by_ext(api, "partners", "RES-GOLD")
    survivor = customer(api, external_id="MS-1", name="Harlow Plumbing", segment="smb")
    gone1 = customer(api, external_id="MG-1", name="Harlow Plumbing Ltd", email="office@harlow.example",
                     phone="+44 1279 000001", address_line1="2 Station Road", city="Harlow", postcode="CM20 1AA",
                     country="GB")
    gone2 = customer(api, external_id="MG-2", name="HARLOW PLUMBING LIMITED", email="other@harlow.example",
                     phone="+44 1279 000002")
    assert frozenset((survivor, gone1, gone2)) in groups(api)

    def contract(cust, ext):
        return api.ok("POST", "/api/v1/contracts", {
            "external_id": ext, "customer_id": cust, "product_id": prod, "reseller_id": res, "quantity": 5,
            "start": "2026-01-01", "end": "2027-01-01"}, status=201)["id"]

    def contact(cust, name):
        return api.ok("POST", "/api/v1/contacts", {"customer_id": cust, "name": name}, status=201)["id"]

    own_k, own_c = contract(survivor, "MK-0"), contact(survivor, "Sam Survivor")
    moved_k = [contract(gone1, "MK-1"), contract(gone1, "MK-2"), contract(gone2, "MK-3")]
    moved_c = [contact(gone1, "Gina Gone"), contact(gone2, "Gary Gone"), contact(gone2, "Gail Gone")]
    untouched = api.get("/api/v1/contracts?limit=500")["items"]

    r = api.ok("POST", f"/api/v1/customers/{survivor}/merge", {"from": [gone1, gone2]}, status=200)
    moved = {k: v for k, v in r.items() if k not in ("customer_id", "merged", "contracts_moved", "contacts_moved")}
    assert {k: r[k] for k in ("customer_id", "merged", "contracts_moved", "contacts_moved")} == \
        {"customer_id": survivor, "merged": 2, "contracts_moved": 3, "contacts_moved": 3}
    assert set(moved) == MOVED_KEYS, r  # and what hangs off the contracts (opportunities, ...)

    ks = api.get(f"/api/v1/contracts?customer={survivor}&limit=500")["items"]
    assert sorted(k["id"] for k in ks) == sorted([own_k] + moved_k)
    assert all(k["customer_id"] == survivor for k in ks)
    cs = api.get(f"/api/v1/contacts?customer={survivor}&limit=500")["items"]
    assert sorted(c["id"] for c in cs) == sorted([own_c] + moved_c)
    for gone in (gone1, gone2):
        assert api.get(f"/api/v1/contracts?customer={gone}")["items"] == []
        assert api.get(f"/api/v1/contacts?customer={gone}")["items"] == []
        assert_json_error(api.call("GET", f"/api/v1/customers/{gone}"), 404, "not_found")
    # Nothing else moved or changed.
    after = {k["id"]: k for k in api.get("/api/v1/contracts?limit=500")["items"]}
    for k in untouched:
        if k["id"] not in moved_k:
            assert after[k["id"]] == k

    s = api.get(f"/api/v1/customers/{survivor}")
    # It keeps its own fields and takes the first merged customer's for what it lacked.
    assert (s["external_id"], s["name"], s["segment"]) == ("MS-1", "Harlow Plumbing", "smb")
    assert (s["email"], s["phone"]) == ("office@harlow.example", "+44 1279 000001")
    assert (s["address_line1"], s["city"], s["postcode"], s["country"]) == ("2 Station Road", "Harlow", "CM20 1AA",
                                                                             "GB")
    # The merged customers' external ids are free again.
    assert api.get("/api/v1/customers?external_id=MG-1")["items"] == []
    assert frozenset((survivor, gone1, gone2)) not in groups(api)
    assert not any({gone1, gone2} & g for g in groups(api))

    # The audit trail: each merged customer's last state, and the survivor's new one.
    for gone, name in ((gone1, "Harlow Plumbing Ltd"), (gone2, "HARLOW PLUMBING LIMITED")):
        entries = [a for a in api.get(f"/api/v1/audit?object=customers&object_id={gone}")["items"]
                   if a["action"] == "merge"]
        assert len(entries) == 1, entries
        a = entries[0]
        assert (a["user_id"], a["object"], a["object_id"], a["after"]) == (api.user_id, "customers", gone, None)
        assert a["before"]["id"] == gone and a["before"]["name"] == name
        assert str(survivor) in a["note"]
    entries = [a for a in api.get(f"/api/v1/audit?object=customers&object_id={survivor}")["items"]
               if a["action"] == "merge"]
    assert len(entries) == 1, entries
    a = entries[0]
    assert a["before"] is None and a["after"]["id"] == survivor and a["after"]["email"] == "office@harlow.example"
    assert "2 customer(s)" in a["note"] and "3 contract(s)" in a["note"] and "3 contact(s)" in a["note"]


def test_merge_keeps_what_the_survivor_has(env):
    d, api, _ = env
    survivor = customer(api, name="Keep Co", email="keep@keep.example", phone="+44 1", address_line1="1 Keep St",
                        city="Keeptown")
    gone = customer(api, name="Keep Co Ltd", email="gone@keep.example", phone="+44 2", address_line1="2 Gone St",
                    city="Gonetown", postcode="GO1 1NE")
    r = api.ok("POST", f"/api/v1/customers/{survivor}/merge", {"from": [gone]})
    assert r == {"customer_id": survivor, "merged": 1, "contracts_moved": 0, "contacts_moved": 0,
                 **{k: 0 for k in MOVED_KEYS}}
    s = api.get(f"/api/v1/customers/{survivor}")
    # The address moves as a whole: the survivor's (without a postcode) stays.
    assert (s["email"], s["phone"], s["address_line1"], s["city"], s["postcode"]) == (
        "keep@keep.example", "+44 1", "1 Keep St", "Keeptown", "")


def test_bad_merges_change_nothing(env):
    d, api, users = env
    prod, res = by_ext(api, "products", "WSG-STD"), by_ext(api, "partners", "RES-GOLD")
    a = customer(api, name="Bad Merge A")
    b = customer(api, name="Bad Merge B", email="b@badmerge.example")
    kb = api.ok("POST", "/api/v1/contracts", {"customer_id": b, "product_id": prod, "reseller_id": res,
                                              "quantity": 1, "start": "2026-01-01", "end": "2027-01-01"})["id"]
    snapshot = (api.get("/api/v1/customers?limit=500"), api.get("/api/v1/contracts?limit=500"),
                api.get("/api/v1/contacts?limit=500"), api.get("/api/v1/audit?object=customers&limit=500"))
    url = f"/api/v1/customers/{a}/merge"

    err = assert_json_error(api.call("POST", url, {"from": [a]}), 400, "invalid")
    assert err["field"] == "from"
    # b would move first; the unknown id after it must undo that too.
    err = assert_json_error(api.call("POST", url, {"from": [b, 999999]}), 400, "invalid")
    assert err["field"] == "from" and "from[1]" in err["message"], err
    err = assert_json_error(api.call("POST", url, {"from": [b, a]}), 400, "invalid")
    assert err["field"] == "from" and "from[1]" in err["message"], err
    for body in ({}, {"from": []}, {"from": "12"}, {"from": [b, "x"]}, {"from": [0]}, {"from": [-3]},
                 {"from": [b, 1.5]}, {"from": None}, {"from": list(range(1000, 1065))}):
        err = assert_json_error(api.call("POST", url, body), 400, "invalid")
        assert err["field"] == "from", (body, err)
    err = assert_json_error(api.call("POST", url, {"from": [b], "into": a}), 400, "invalid")
    assert err["field"] == "into", err
    assert_json_error(api.call("POST", url, b"{not json", headers={"Content-Type": "application/json"}), 400)
    assert_json_error(api.call("POST", url, [b]), 400)

    err = assert_json_error(api.call("POST", "/api/v1/customers/999999/merge", {"from": [b]}), 404, "not_found")
    assert_json_error(api.call("POST", "/api/v1/customers/abc/merge", {"from": [b]}), 404, "not_found")
    # Roles that may not delete customers may not merge them.
    for email in ("sales@sentinel.example",):
        assert_json_error(users[email].call("POST", url, {"from": [b]}), 403, "forbidden")
    assert_json_error(d.request("POST", url, body=b'{"from": [1]}'), 401)

    assert (api.get("/api/v1/customers?limit=500"), api.get("/api/v1/contracts?limit=500"),
            api.get("/api/v1/contacts?limit=500"), api.get("/api/v1/audit?object=customers&limit=500")) == snapshot
    assert api.get(f"/api/v1/contracts/{kb}")["customer_id"] == b

    # A channel manager may merge.
    r = users["cm@sentinel.example"].ok("POST", url, {"from": [b]})
    assert r["contracts_moved"] == 1
    assert api.get(f"/api/v1/contracts/{kb}")["customer_id"] == a
    entries = api.get(f"/api/v1/audit?object=customers&object_id={b}")["items"]
    assert [(e["action"], e["user_id"]) for e in entries][-1] == ("merge", users["cm@sentinel.example"].user_id)
