"""The API's records written as JSON straight from the field table
(core/domain/jsonw.c) give the same bytes as the jansson trees they replace.

The demo store gets records of every kind the generic API serves (partners,
customers, contacts, products, contracts, users) whose text fields hold
quotes, backslashes, slashes, control characters, non-ASCII and emoji, and
whose numbers hold their extremes; every GET of one record and every page of
every list (several page sizes, with the cursor followed) is fetched from a
daemon on the writer, then from a daemon on the same store started with
RENEWD_JSON_TREE=1 (the old path: rd_entity_to_json dumped by jansson), and
the bodies must be equal byte for byte."""
import os

from conftest import start_api

TRICKY = [
    '"quoted" and \\back\\slashed',
    "a/b </script> http://x/y",
    "".join(chr(c) for c in range(1, 32)) + "\x7f",
    "caf\u00e9 M\u00fcller \u65e5\u672c \u041f\u0440\u0438",
    "emoji \U0001F600\U0001F44D\U0001F3FD end",
    "\ufeff BOM, U+2028 \u2028, U+FFFF \uffff, max \U0010FFFF",
    "=cmd|' /C calc'!A0",
    "",
]
KINDS = ["partners", "customers", "contacts", "products", "contracts", "users"]
U32_MAX = 4294967295


def first_id(c, kind):
    return c.get(f"/api/v1/{kind}?limit=1")["items"][0]["id"]


def create_tricky(c):
    """Records of each kind with tricky text; a value a field refuses is
    left at a plainer one (the daemon's checks are not what is tested)."""
    made = {k: 0 for k in KINDS}
    refused = []
    customer, product, partner = (first_id(c, k) for k in ("customers", "products", "partners"))

    def post(kind, body, tries):
        for t in tries:
            r = c.call("POST", f"/api/v1/{kind}", dict(body, **t))
            if r.status == 201 or r.status == 200:
                made[kind] += 1
                return r.json()["id"]
        refused.append((kind, r.status, r.body[:200]))
        return None

    for i, s in enumerate(TRICKY):
        post("customers", {"name": f"C{i} {s}"}, [
            {"external_id": f"CX-{i}", "address_line1": s, "city": s, "segment": s, "region": s},
            {"external_id": f"CX-{i}", "address_line1": s},
            {}])
        post("partners", {"name": f"P{i} {s}", "kind": "reseller", "tier": "gold"}, [
            {"external_id": f"PX-{i}", "contact_block": s, "lead_regions": s, "lead_weight": U32_MAX},
            {"external_id": f"PX-{i}", "contact_block": s},
            {}])
        post("contacts", {"customer_id": customer, "name": f"N{i} {s}"}, [
            {"title": s, "external_id": f"NX-{i}"}, {}])
        post("products", {"sku": f"SKU-J{i}", "name": f"Pr{i} {s}"}, [
            {"line": s, "prices": [{"currency": "EUR", "term": "annual", "amount": 9007199254740993},
                                   {"currency": "USD", "term": "monthly", "amount": 0}],
             "upsell": [product]},
            {"line": s}, {}])
        post("contracts", {"customer_id": customer, "product_id": product, "reseller_id": partner,
                           "start": "2020-02-29", "end": "2099-12-31"}, [
            {"external_id": f"K-J{i} {s}", "quantity": U32_MAX, "licence_key": s},
            {"external_id": f"K-J{i}", "quantity": 1, "licence_key": s},
            {"external_id": f"K-J{i}", "quantity": 1}])
        if i in (0, 2, 4):  # each hashes a password (Argon2id): three suffice
            post("users", {"email": f"json{i}@writer.example", "name": f"U{i} {s}", "role": "vendor-sales",
                           "password": "writer-test-password"}, [{}])
    return made, refused


def fetch_all(c):
    """path -> raw body of every page of every list and every record's GET."""
    out = {}
    for kind in KINDS:
        ids = []
        for limit in (1, 7, 50, 500):
            cursor, pages = None, 0
            while pages < 400:
                path = f"/api/v1/{kind}?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
                r = c.call("GET", path)
                assert r.status == 200, (path, r)
                out[path] = r.body
                page = r.json()
                if limit == 500:
                    ids += [x["id"] for x in page["items"]]
                cursor, pages = page["next_cursor"], pages + 1
                if not cursor:
                    break
            assert not cursor, f"{kind}: the cursor never ended"
        for i in ids[:40] + ids[-40:]:
            r = c.call("GET", f"/api/v1/{kind}/{i}")
            assert r.status == 200, (kind, i, r)
            out[f"/api/v1/{kind}/{i}"] = r.body
    # A filtered list (an index source) and an empty page.
    for path in ("/api/v1/contracts?external_id=K-J1", "/api/v1/customers?external_id=no-such-thing"):
        r = c.call("GET", path)
        assert r.status == 200, (path, r)
        out[path] = r.body
    return out


def test_every_kind_gets_and_lists_byte_identical_to_jansson(daemon, tmp_path):
    d, c, _ = start_api(daemon, tmp_path / "data")
    made, refused = create_tricky(c)
    for kind in KINDS:
        assert made[kind] >= 2, f"only {made[kind]} {kind} with tricky values were accepted: {refused}"
    new = fetch_all(c)
    blob = b"".join(new.values())
    # The tricky values really reach the bodies (else the comparison proves little).
    for needle in (b'\\"quoted\\" and \\\\back\\\\slashed', b"a/b </script>", b"\\u0001\\u0002", b"\\u001F\x7f",
                   b"\\b\\t\\n\\u000B\\f\\r", "\U0001F600".encode(), "\U0010FFFF".encode(), b'"next_cursor":null',
                   b'"next_cursor":"', b'"colour":"', b"9007199254740993", b'"items":[]'):
        assert needle in blob, needle
    d.stop()
    env = dict(os.environ, RENEWD_JSON_TREE="1")
    d2 = daemon(data=d.data, env=env)
    c.daemon = d2
    old = fetch_all(c)
    assert set(old) == set(new)
    differ = [p for p in new if new[p] != old[p]]

    def where(p):
        a, b = new[p], old[p]
        i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
        return f"{p} at byte {i}:\n writer  {a[max(0, i - 80):i + 80]!r}\n jansson {b[max(0, i - 80):i + 80]!r}"
    assert not differ, f"{len(differ)} of {len(new)} bodies differ\n" + "\n".join(where(p) for p in differ[:3])
    assert len(new) > 100, len(new)
