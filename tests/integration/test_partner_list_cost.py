"""A partner's lists of customers, contacts and contracts cost renewd its own
channel, not the vendor's whole customer base (docs/security.md, "Partners cannot
reach each other's customers").

A customer is a partner's when the partner is reseller or distributor of
record on one of its contracts.  The lists (GET /api/v1/customers and
/api/v1/contacts, GET /api/v1/customers/duplicates, the partner portal's
/partner/customers) walked every customer (or contact) of the vendor and
looked each one's contracts up, on the event loop: a reseller's sales
person with one customer, in a vendor of 200,000 customers, held the loop
0.3 s per customers page and 0.7 s per duplicates call; four such loops in
parallel made /healthz (every tenant's requests) wait 1 to 2 s.  Now the
partner's customers are read from the contracts' reseller and distributor
indexes: the work follows the partner's own contracts.

The bound is on renewd's CPU time (read from /proc, not the wall clock):
with 60,000 customers the old walk cost 60-200 ms a request (normal build);
the bound is 15 ms a request (60 ms under the sanitizers), well above the
new cost (about 1 ms) and below the old.
The opportunities (and the other partner lists read by their partner
indexes): test_a_partners_opportunities_cost_its_own, on the demo vendor
with 30,000 more quotes (19 ms a request at 20,000 before; under 1 ms now).
Serial: the daemon's CPU wants the machine to itself.  LMDB only: on
PostgreSQL each record read is a statement (the lists' cost there is the
database's), and importing the store takes longer than a renewctl run may.
"""
import json

import pytest

from conftest import API_PASSWORD, PG_MODE, ApiClient, api_user, http_request, renewctl
from crashkit import scaled
from test_slow_head import cpu_of

pytestmark = [pytest.mark.serial,
              pytest.mark.skipif(PG_MODE, reason="the loop's CPU of an LMDB store (60,000 rows imported through "
                                 "PostgreSQL take longer than a renewctl run may)")]

N = 60000
MID_EVERY = 700
PER_REQUEST_CPU = scaled(0.015, 0.06)  # the sanitizer build: about 4x the normal's cost
CONTRACTS_CPU = scaled(0.005, 0.02)


def write_csv(path, header, rows):
    with open(path, "w") as f:
        f.write(",".join(header) + "\n")
        for r in rows:
            f.write(",".join(str(c) for c in r) + "\n")


@pytest.fixture(scope="module")
def big(tmp_path_factory, request):
    """A vendor of N customers, each with one contract through the reseller
    BIG and one contact; the reseller LONE (under the distributor DIST) and its one contract
    with customer 7; a distributor SOLO of record on customer 11's second
    contract."""
    from conftest import Daemon
    root = tmp_path_factory.mktemp("partner-cost")
    data = root / "data"
    data.mkdir()
    renewctl("vendor", "create", "--name", "Big Vendor", "--slug", "big", "--currency", "GBP", data=data, check=True)
    admin_tok, _ = api_user(data, email="admin@big.example", vendor="big")
    write_csv(root / "customers.csv", ("external_id", "name", "email"),
              ((f"C-{i}", f"Customer {i}", f"it@c{i}.example") for i in range(1, N + 1)))
    write_csv(root / "products.csv", ("sku", "name", "line", "price_annual_GBP"), [("P-1", "Product", "Line", 1200)])
    write_csv(root / "contracts.csv", ("external_id", "customer_external_id", "product_sku", "reseller_external_id",
                                       "quantity", "start", "end"),
              ((f"K-{i}", f"C-{i}", "P-1", "BIG", 1, "2026-01-01", "2026-12-31") for i in range(1, N + 1)))
    # MID: a second contract on every MID_EVERY-th customer (sparse enough
    # that a page's walk turns to its set part of the way through)
    write_csv(root / "mid.csv", ("external_id", "customer_external_id", "product_sku", "reseller_external_id",
                                 "quantity", "start", "end"),
              ((f"KM-{i}", f"C-{i}", "P-1", "MID", 1, "2026-01-01", "2026-12-31")
               for i in range(MID_EVERY, N + 1, MID_EVERY)))
    write_csv(root / "contacts.csv", ("external_id", "customer_external_id", "name"),
              ((f"CT-{i}", f"C-{i}", f"Contact {i}") for i in range(1, N + 1)))
    d = Daemon(data, [], root / "renewd.log")
    try:
        d.wait_ready()
        admin = ApiClient(d, admin_tok)
        ids = {}
        for ext, kind, parent in (("DIST", "distributor", None), ("BIG", "reseller", None), ("LONE", "reseller", "DIST"),
                                  ("SOLO", "distributor", None), ("MID", "reseller", None)):
            body = {"external_id": ext, "name": ext, "kind": kind, "tier": "gold"}
            if parent:
                body["parent_id"] = ids[parent]
            ids[ext] = admin.ok("POST", "/api/v1/partners", body, status=201)["id"]
        for kind in ("customers", "products", "contracts", "contacts"):
            renewctl("import", "--vendor", "big", "--kind", kind, str(root / f"{kind}.csv"), data=data, check=True)
        renewctl("import", "--vendor", "big", "--kind", "contracts", str(root / "mid.csv"), data=data, check=True)
        cust = {c["external_id"]: c["id"] for c in admin.items("/api/v1/customers?external_id=C-7")}
        cust.update({c["external_id"]: c["id"] for c in admin.items("/api/v1/customers?external_id=C-11")})
        admin.ok("POST", "/api/v1/contracts", {"external_id": "K-LONE", "customer_id": cust["C-7"], "product_id": 1,
                                                "reseller_id": ids["LONE"], "quantity": 1, "start": "2026-01-01",
                                                "end": "2026-12-31"}, status=201)
        admin.ok("POST", "/api/v1/contracts", {"external_id": "K-SOLO", "customer_id": cust["C-11"], "product_id": 1,
                                                "reseller_id": ids["BIG"], "distributor_id": ids["SOLO"], "quantity": 1,
                                                "start": "2026-01-01", "end": "2026-12-31"}, status=201)
        users = {}
        for who, partner in (("lone", "LONE"), ("dist", "DIST"), ("solo", "SOLO"), ("big", "BIG"), ("mid", "MID")):
            email = f"{who}@big.example"
            admin.ok("POST", "/api/v1/users", {"email": email, "name": who, "role": "partner-sales",
                                               "partner_id": ids[partner], "password": API_PASSWORD}, status=201)
            r = http_request(d.port, "POST", "/api/v1/session", body=json.dumps(
                {"vendor": "big", "email": email, "password": API_PASSWORD}).encode(),
                headers={"Content-Type": "application/json"})
            assert r.status == 200, r
            users[who] = r.headers["set-cookie"].split(";")[0]
        yield d, admin, users, cust
        assert d.running(), d.log()
        d.stop()
    finally:
        d.close()


def get(d, path, cookie):
    r = http_request(d.port, "GET", path, headers={"Cookie": cookie}, timeout=30)
    assert r.status == 200, (path, r)
    return r


def test_a_partners_customers_are_its_own_and_cost_its_own(big):
    d, admin, users, cust = big
    want = {"lone": [cust["C-7"]], "dist": [cust["C-7"]], "solo": [cust["C-11"]]}
    for who, ids in want.items():
        assert [c["id"] for c in json.loads(get(d, "/api/v1/customers?limit=500", users[who]).body)["items"]] == ids
        contacts = json.loads(get(d, "/api/v1/contacts", users[who]).body)["items"]
        assert [c["customer_id"] for c in contacts] == ids, contacts
        page = get(d, "/partner/customers", users[who]).body.decode()
        assert "Customer 7<" in page if ids == [cust["C-7"]] else "Customer 11<" in page, page
        assert "Customer 8<" not in page and "Customer 12<" not in page
    # a cursor past the partner's last customer, and one before it
    lone = users["lone"]
    assert json.loads(get(d, f"/api/v1/customers?cursor={cust['C-7']}", lone).body) == {"items": [],
                                                                                         "next_cursor": None}
    assert [c["id"] for c in json.loads(get(d, "/api/v1/customers?cursor=1&limit=1", lone).body)["items"]] == [
        cust["C-7"]]
    # BIG, of record on every customer, pages through them as ever
    page = json.loads(get(d, "/api/v1/customers?limit=50", users["big"]).body)
    assert [c["id"] for c in page["items"]] == list(range(1, 51)) and page["next_cursor"] == "50", page
    page = json.loads(get(d, f"/api/v1/customers?limit=3&cursor={N - 2}", users["big"]).body)
    assert [c["id"] for c in page["items"]] == [N - 1, N] and page["next_cursor"] is None, page
    cpu = {}
    for who, path in (("lone", "/api/v1/customers?limit=500"), ("lone", "/api/v1/contacts?limit=500"),
                      ("lone", "/api/v1/customers/duplicates"), ("lone", "/partner/customers"),
                      ("lone", "/api/v1/customers?name=Customer"), ("big", "/api/v1/customers?limit=500"),
                      ("big", "/api/v1/contacts?limit=500"), ("big", "/partner/customers")):
        before = cpu_of(d.pid)
        for _ in range(10):
            get(d, path, users[who])
        cpu[f"{who} {path}"] = (cpu_of(d.pid) - before) / 10
    assert all(v < PER_REQUEST_CPU for v in cpu.values()), \
        f"renewd's CPU seconds per request among {N} customers: {cpu}"


def test_a_partners_contracts_cost_its_own(big):
    """The same for the contracts: a contract's scope is in the record (no
    look-up), so the old walk cost less a record (10-12 ms a page of a
    one-contract reseller among 60,000), but grew with the vendor all the
    same."""
    d, admin, users, cust = big
    want = {"lone": ["K-LONE"], "dist": ["K-LONE"], "solo": ["K-SOLO"]}
    for who, exts in want.items():
        items = json.loads(get(d, "/api/v1/contracts?limit=500", users[who]).body)["items"]
        assert [k["external_id"] for k in items] == exts, (who, items)
        page = get(d, "/partner/contracts", users[who]).body.decode()
        assert all(e in page for e in exts) and "K-1<" not in page and "K-2<" not in page, page
    k_lone = json.loads(get(d, "/api/v1/contracts", users["lone"]).body)["items"][0]["id"]
    assert json.loads(get(d, f"/api/v1/contracts?cursor={k_lone}", users["lone"]).body) == {"items": [],
                                                                                           "next_cursor": None}
    page = json.loads(get(d, "/api/v1/contracts?limit=50", users["big"]).body)
    assert [k["external_id"] for k in page["items"]] == [f"K-{i}" for i in range(1, 51)], page
    assert page["next_cursor"] == str(page["items"][-1]["id"])
    cpu = {}
    for who, path in (("lone", "/api/v1/contracts?limit=500"), ("lone", "/partner/contracts"),
                      ("big", "/api/v1/contracts?limit=500"), ("big", "/partner/contracts")):
        before = cpu_of(d.pid)
        for _ in range(20):
            get(d, path, users[who])
        cpu[f"{who} {path}"] = (cpu_of(d.pid) - before) / 20
    assert all(v < CONTRACTS_CPU for v in cpu.values()), \
        f"renewd's CPU seconds per request among {N} contracts: {cpu}"


def walk(d, path, cookie, limit):
    """Every item of a list at this page size, following next_cursor (each
    page's cursor its last item's id, as ever)."""
    items, cursor = [], None
    for _ in range(1000):
        page = json.loads(get(d, f"{path}?limit={limit}" + (f"&cursor={cursor}" if cursor else ""), cookie).body)
        assert len(page["items"]) <= limit
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items
        assert cursor == str(page["items"][-1]["id"]), page
    raise AssertionError("the cursor never ended")


def test_a_sparse_partners_pages_are_whole_and_in_order(big):
    """A page that turns from the table to the partner's set part of the
    way through gives the same records, in the same order, with the same
    cursors, at every page size."""
    d, admin, users, cust = big
    mid = users["mid"]
    want_k = [f"KM-{i}" for i in range(MID_EVERY, N + 1, MID_EVERY)]
    for limit in (1, 7, 50, 500):
        got = walk(d, "/api/v1/contracts", mid, limit)
        assert [k["external_id"] for k in got] == want_k, limit
        got = walk(d, "/api/v1/customers", mid, limit)
        assert [c["external_id"] for c in got] == [f"C-{i}" for i in range(MID_EVERY, N + 1, MID_EVERY)], limit
        got = walk(d, "/api/v1/contacts", mid, limit)
        assert [c["external_id"] for c in got] == [f"CT-{i}" for i in range(MID_EVERY, N + 1, MID_EVERY)], limit



OPP_N = 30000
OPPS_CPU = scaled(0.005, 0.02)  # about 1 ms now; 19 ms before at 20,000 (normal build)


@pytest.fixture(scope="module")
def quoted(tmp_path_factory):
    """The demo vendor with OPP_N more contracts through RES-PLAT, all ending
    inside the renewal window and imported before renewd starts: its first
    sweep quotes them (OPP_N more opportunities).  A user of RES-SILV, whose
    quotes are the demo's few."""
    import datetime
    from conftest import Daemon, demo_load
    root = tmp_path_factory.mktemp("partner-opps")
    data = root / "data"
    data.mkdir()
    demo_load(data)
    admin_tok, _ = api_user(data)
    silv_tok, _ = api_user(data, email="silv-cost@sentinel.example", role="partner-admin", partner=4)
    end = (datetime.date.today() + datetime.timedelta(days=40)).isoformat()
    write_csv(root / "customers.csv", ("external_id", "name", "email"),
              ((f"QC-{i}", f"Quoted {i}", f"it@q{i}.example") for i in range(1, OPP_N + 1)))
    write_csv(root / "contracts.csv", ("external_id", "customer_external_id", "product_sku", "reseller_external_id",
                                       "quantity", "start", "end"),
              ((f"QK-{i}", f"QC-{i}", "WSG-STD", "RES-PLAT", 1, "2026-01-01", end) for i in range(1, OPP_N + 1)))
    for kind in ("customers", "contracts"):
        renewctl("import", "--vendor", "sentinel", "--kind", kind, str(root / f"{kind}.csv"), data=data, check=True)
    d = Daemon(data, [], root / "renewd.log")
    try:
        d.wait_ready()
        yield d, ApiClient(d, admin_tok), ApiClient(d, silv_tok)
        assert d.running(), d.log()
        d.stop()
    finally:
        d.close()


@pytest.mark.watchdog(300)  # the first sweep quotes OPP_N contracts (CPU time: a busy machine stretches it)
def test_a_partners_opportunities_cost_its_own(quoted):
    """A partner's lists of opportunities (and orders, deal registrations,
    tasks, statements: test_partner_lists_own.py checks their answers)
    walked the vendor's whole table: OPP_N decodes a page for RES-SILV's few
    quotes.  Now its own index entries."""
    import time
    d, admin, silv = quoted
    deadline = time.monotonic() + 240
    while admin.get(f"/api/v1/opportunities?limit=1&cursor={OPP_N}")["items"] == []:
        assert time.monotonic() < deadline, "the sweep did not quote the contracts"
        time.sleep(1)
    mine = silv.items("/api/v1/opportunities")
    assert mine and all(o["reseller_id"] == 4 or o["distributor_id"] == 4 for o in mine), mine
    cpu = {}
    for path in ("/api/v1/opportunities?limit=500", "/api/v1/opportunities?state=pending_decision", "/api/v1/tasks",
                 "/api/v1/orders", "/api/v1/deals", "/api/v1/statements"):
        before = cpu_of(d.pid)
        for _ in range(10):
            r = silv.call("GET", path)
            assert r.status in (200, 403), (path, r)
        cpu[path] = (cpu_of(d.pid) - before) / 10
    assert all(v < OPPS_CPU for v in cpu.values()), \
        f"renewd's CPU seconds per request of RES-SILV among {OPP_N} opportunities: {cpu}"
