"""The audit log, GET /api/v1/audit: one entry per change with who, what
and the record before and after (JSON objects), queried by object (and
object id) or by user, paged with next_cursor; partners may not read it."""
import pytest

from conftest import assert_json_error, start_api

ENTRY_KEYS = {"id", "at_ms", "user_id", "action", "object", "object_id", "before", "after", "note"}


ROLES = [("cm@sentinel.example", "channel-manager", None), ("sales@sentinel.example", "vendor-sales", None),
         ("padmin@sentinel.example", "partner-admin", "2"), ("psales@sentinel.example", "partner-sales", "2")]


@pytest.fixture
def env(daemon, tmp_path):
    """renewd on the demo data with a vendor admin and a channel manager."""
    d, api, users = start_api(daemon, tmp_path / "store", users=ROLES[:1])
    yield d, api, users
    if d.running():
        d.stop()  # under ASan: no leaks


def audit(api, query, limit=500):
    doc = api.get(f"/api/v1/audit?{query}&limit={limit}" if query else f"/api/v1/audit?limit={limit}")
    assert set(doc) == {"items", "next_cursor"}, doc
    for e in doc["items"]:
        assert set(e) == ENTRY_KEYS, e
        assert e["before"] is None or isinstance(e["before"], dict), e
        assert e["after"] is None or isinstance(e["after"], dict), e
    return doc


def pages(api, query, limit):
    """Every entry of a query, page by page; checks the page sizes."""
    out, cursor = [], None
    for _ in range(1000):
        q = query + (f"&cursor={cursor}" if cursor else "")
        doc = audit(api, q.lstrip("&"), limit)
        assert len(doc["items"]) <= limit
        out += doc["items"]
        cursor = doc["next_cursor"]
        if cursor is None:
            return out
        assert isinstance(cursor, str) and len(doc["items"]) == limit, doc
    raise AssertionError("the cursor never ended")


def test_create_update_delete_are_audited(env):
    d, api, _ = env
    c = api.ok("POST", "/api/v1/customers", {"external_id": "AU-1", "name": "Audit Me", "city": "Leeds"}, status=201)
    api.ok("PATCH", f"/api/v1/customers/{c['id']}", {"name": "Audit Me Too", "phone": "+44 113 0000"})
    r = api.call("DELETE", f"/api/v1/customers/{c['id']}")
    assert r.status == 204, r

    items = audit(api, f"object=customers&object_id={c['id']}")["items"]
    assert [e["action"] for e in items] == ["create", "update", "delete"]
    assert all((e["user_id"], e["object"], e["object_id"]) == (api.user_id, "customers", c["id"]) for e in items)
    assert [e["id"] for e in items] == sorted(e["id"] for e in items)
    assert all(isinstance(e["at_ms"], int) and e["at_ms"] > 1_600_000_000_000 for e in items)
    assert items[0]["at_ms"] <= items[1]["at_ms"] <= items[2]["at_ms"]
    create, update, delete = items
    assert create["before"] is None and create["after"] == c
    assert update["before"] == c
    assert update["after"] == dict(c, name="Audit Me Too", phone="+44 113 0000")
    assert delete["before"] == update["after"] and delete["after"] is None

    # Other kinds too; a contract's DELETE is a cancellation, audited as an update.
    p = api.ok("POST", "/api/v1/products", {"sku": "AU-P", "name": "Audited"}, status=201)
    api.ok("PATCH", f"/api/v1/products/{p['id']}", {"line": "Web Security"})
    got = audit(api, f"object=products&object_id={p['id']}")["items"]
    assert [(e["action"], e["before"] and e["before"]["line"], e["after"]["line"]) for e in got] == [
        ("create", None, ""), ("update", "", "Web Security")]
    k = api.get("/api/v1/contracts?external_id=K-20005")["items"][0]
    api.ok("DELETE", f"/api/v1/contracts/{k['id']}")
    got = audit(api, f"object=contracts&object_id={k['id']}")["items"]
    assert len(got) == 1 and got[0]["action"] == "update" and got[0]["note"] == "cancelled"
    assert got[0]["before"]["status"] == "live" and got[0]["after"]["status"] == "cancelled"

    # A refused change leaves no entry.
    n = len(audit(api, "object=customers")["items"])
    assert_json_error(api.call("POST", "/api/v1/customers", {"name": "X", "country": "gb"}), 400)
    assert len(audit(api, "object=customers")["items"]) == n


def test_query_by_object_and_by_user(env):
    d, api, users = env
    cm = users["cm@sentinel.example"]
    mine = [api.ok("POST", "/api/v1/customers", {"name": f"Admin made {i}"}, status=201)["id"] for i in range(3)]
    theirs = [cm.ok("POST", "/api/v1/customers", {"name": f"CM made {i}"}, status=201)["id"] for i in range(2)]
    cm.ok("PATCH", f"/api/v1/customers/{mine[0]}", {"segment": "smb"})
    contact = cm.ok("POST", "/api/v1/contacts", {"customer_id": mine[1], "name": "Cee Em"}, status=201)["id"]

    by_admin = audit(api, f"user={api.user_id}")["items"]
    by_cm = audit(api, f"user={cm.user_id}")["items"]
    assert {e["user_id"] for e in by_admin} == {api.user_id}
    assert {e["user_id"] for e in by_cm} == {cm.user_id}
    assert [(e["action"], e["object"], e["object_id"]) for e in by_cm] == (
        [("create", "customers", i) for i in theirs] + [("update", "customers", mine[0]),
                                                        ("create", "contacts", contact)])
    assert [(e["action"], e["object_id"]) for e in by_admin if e["object"] == "customers"] == [
        ("create", i) for i in mine]

    customers = audit(api, "object=customers")["items"]
    assert {e["object"] for e in customers} == {"customers"}
    assert {e["object_id"] for e in customers} >= set(mine + theirs)
    one = audit(api, f"object=customers&object_id={mine[0]}")["items"]
    assert [(e["action"], e["user_id"]) for e in one] == [("create", api.user_id), ("update", cm.user_id)]
    assert audit(api, f"object=contacts&object_id={contact}")["items"][0]["after"]["name"] == "Cee Em"
    assert audit(api, "object=customers&object_id=999999")["items"] == []
    assert audit(api, "object=nothing")["items"] == []
    assert audit(api, "user=999999")["items"] == []
    # A channel manager may read the log as well.
    assert cm.get(f"/api/v1/audit?user={api.user_id}")["items"] == by_admin


def test_pagination_with_cursor(env):
    d, api, users = env
    cm = users["cm@sentinel.example"]
    a = api.ok("POST", "/api/v1/customers", {"name": "Paged A"}, status=201)["id"]
    b = cm.ok("POST", "/api/v1/customers", {"name": "Paged B"}, status=201)["id"]
    # Interleave changes to two customers by two users.
    for i in range(9):
        api.ok("PATCH", f"/api/v1/customers/{a}", {"phone": f"+44 {i}"})
        cm.ok("PATCH", f"/api/v1/customers/{b}", {"phone": f"+44 {i}"})
        api.ok("PATCH", f"/api/v1/customers/{b}", {"city": f"City {i}"})
    for query in ("", f"object=customers&object_id={a}", f"object=customers&object_id={b}", "object=customers",
                  f"user={api.user_id}", f"user={cm.user_id}"):
        whole = audit(api, query)["items"]
        assert audit(api, query)["next_cursor"] is None
        assert len(whole) >= 10, (query, len(whole))
        for limit in (1, 4, 7):
            got = pages(api, query, limit)
            assert [e["id"] for e in got] == [e["id"] for e in whole], (query, limit)
    assert len(audit(api, f"object=customers&object_id={b}")["items"]) == 19


def test_partners_and_sales_may_not_read_the_log(daemon, tmp_path):
    d, api, users = start_api(daemon, tmp_path / "store", users=ROLES)
    for email in ("padmin@sentinel.example", "psales@sentinel.example", "sales@sentinel.example"):
        for query in ("", "?object=customers", f"?user={users[email].user_id}"):
            assert_json_error(users[email].call("GET", f"/api/v1/audit{query}"), 403, "forbidden")
    assert_json_error(d.get("/api/v1/audit"), 401)
    assert users["cm@sentinel.example"].get("/api/v1/audit")["items"]
    d.stop()


BAD_QUERIES = [
    ("colour=red", "colour"),
    ("object=customers&id=3", "id"),
    ("limit=0", None), ("limit=501", None), ("limit=ten", None),
    ("cursor=abc", None), ("cursor=0", None),
    ("object_id=3", None), ("object=customers&object_id=x", None),
    ("user=abc", None), ("user=0", None),
    ("object=", None), ("object=" + "x" * 40, None),
]


def test_bad_queries_are_400(env):
    d, api, _ = env
    for query, field in BAD_QUERIES:
        err = assert_json_error(api.call("GET", f"/api/v1/audit?{query}"), 400, "invalid")
        if field:
            assert err["field"] == field, (query, err)
