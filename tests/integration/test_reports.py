"""Management reporting (core/services/reports.c, core/api/reports.c,
core/web/reports.c, docs/reporting.md).

A constructed data set with known answers: three products in two lines,
a distributor with a reseller, a second reseller, three customers and nine
contracts in three currencies, on the test clock at 2027-06-14 (the period
is 2026-07-01 .. 2027-06-30).  Each figure of the dashboard, the drill-down
and the rankings is checked against the number worked out by hand below,
for the vendor, a partner's channel and a sales person; a vendor with no
contracts and one whose contracts are all cancelled; CSV exports with
formula neutralisation; the pages with their SVG charts.
"""
import csv
import datetime
import io
import re
import urllib.parse

import pytest

from conftest import Daemon, api_user, assert_json_error, raw_connect, renewctl
from test_pages_console import PASSWORD, Browser

TODAY = "2027-06-14"
EVIL_CUSTOMER = '=HYPERLINK("http://x.example","c")'


def rows(report, table):
    """The table's rows as dicts by column name."""
    t = report["tables"][table]
    names = [c["name"] for c in t["columns"]]
    return [dict(zip(names, r)) for r in t["rows"]]


def one(report, table, **match):
    got = [r for r in rows(report, table) if all(r[k] == v for k, v in match.items())]
    assert len(got) == 1, (table, match, rows(report, table))
    return got[0]


class World:
    pass


def build(root):
    data = root / "data"
    data.mkdir()
    for slug in ("empty", "gone"):
        renewctl("vendor", "create", "--name", slug.title(), "--slug", slug, "--currency", "GBP", data=data, check=True)
    w = World()
    renewctl("vendor", "create", "--name", "Sentinel", "--slug", "sentinel", "--currency", "GBP", data=data, check=True)
    w.admin_tok, _ = api_user(data, email="admin@sentinel.example")
    w.empty_tok, _ = api_user(data, email="admin@empty.example", vendor="empty")
    w.gone_tok, _ = api_user(data, email="admin@gone.example", vendor="gone")
    w.d = Daemon(data, ["--test-clock", "1", "--sched-interval-ms", "86400000"], root / "renewd.log")
    w.d.wait_ready()
    w.port = w.d.port
    # The clock first: its sweep runs over an empty store; none runs after.
    for tok in (w.admin_tok, w.empty_tok, w.gone_tok):
        call(w, "POST", "/api/v1/clock", {"date": TODAY}, tok)
    a = lambda p, b: call(w, "POST", p, b, w.admin_tok)  # noqa: E731
    w.d1 = a("/api/v1/partners", {"external_id": "D1", "name": "Dist One", "kind": "distributor", "tier": "gold"})["id"]
    w.r1 = a("/api/v1/partners", {"external_id": "R1", "name": "Reseller One", "kind": "reseller", "tier": "gold",
                                  "parent_id": w.d1})["id"]
    w.r2 = a("/api/v1/partners", {"external_id": "R2", "name": "Reseller Two", "kind": "reseller", "tier": "silver"})["id"]
    w.c1 = a("/api/v1/customers", {"external_id": "C1", "name": "Abbey Dental"})["id"]
    w.c2 = a("/api/v1/customers", {"external_id": "C2", "name": "Beacon Legal"})["id"]
    w.c3 = a("/api/v1/customers", {"external_id": "C3", "name": EVIL_CUSTOMER})["id"]
    w.p1 = a("/api/v1/products", {"sku": "P1", "name": "Shield", "line": "Security",
                                  "prices": [{"currency": "GBP", "term": "annual", "amount": 1000},
                                             {"currency": "EUR", "term": "annual", "amount": 2000}]})["id"]
    w.p2 = a("/api/v1/products", {"sku": "P2", "name": "Guard", "line": "Security",
                                  "prices": [{"currency": "GBP", "term": "annual", "amount": 500}]})["id"]
    w.p3 = a("/api/v1/products", {"sku": "P3", "name": "Vault", "line": "@Backup",
                                  "prices": [{"currency": "GBP", "term": "monthly", "amount": 300},
                                             {"currency": "USD", "term": "annual", "amount": 700}]})["id"]
    w.k = {}
    for ext, cust, prod, res, dist, qty, term, cur, end, status in (
            ("K1", w.c1, w.p1, w.r1, w.d1, 2, "annual", "GBP", "2027-01-31", "renewed"),
            ("K2", w.c1, w.p1, w.r1, w.d1, 1, "annual", "GBP", "2027-02-10", "cancelled"),
            ("K3", w.c2, w.p2, w.r2, 0, 4, "annual", "GBP", "2027-03-05", "expired"),
            ("K4", w.c2, w.p2, w.r2, 0, 1, "annual", "GBP", "2027-06-20", "live"),
            ("K5", w.c3, w.p1, w.r2, 0, 3, "annual", "EUR", "2027-04-01", "renewed"),
            ("K6", w.c3, w.p3, w.r1, w.d1, 10, "monthly", "GBP", "2027-06-10", "live"),
            ("K7", w.c1, w.p3, w.r1, w.d1, 1, "annual", "USD", "2027-08-20", "live"),
            ("K8", w.c2, w.p1, w.r2, 0, 1, "annual", "GBP", "2027-12-31", "live"),
            ("K9", w.c1, w.p1, w.r1, w.d1, 1, "annual", "GBP", "2026-05-31", "renewed")):
        body = {"external_id": ext, "customer_id": cust, "product_id": prod, "quantity": qty, "term": term,
                "currency": cur, "start": "2026-01-01" if end > "2026-06-01" else "2025-06-01", "end": end,
                "status": status}
        if res:
            body["reseller_id"] = res
        if dist:
            body["distributor_id"] = dist
        w.k[ext] = a("/api/v1/contracts", body)["id"]
    # People: a partner admin of R1, of D1 and of R2; the vendor's sales
    # person; R2's sales contact (a partner-sales user); another vendor-sales.
    def user(email, role, partner=None):
        b = {"email": email, "name": email.split("@")[0], "role": role, "password": PASSWORD}
        if partner:
            b["partner_id"] = partner
        uid = a("/api/v1/users", b)["id"]
        r = call(w, "POST", "/api/v1/session", {"vendor": "sentinel", "email": email, "password": PASSWORD}, raw=True)
        assert r.status == 200, r
        m = re.search(r"rd_session=([^;]+)", r.headers.get("set-cookie", ""))
        return uid, "cookie:" + m.group(1)
    w.boss = user("boss@sentinel.example", "vendor-admin")
    w.r1_admin = user("admin@r1.example", "partner-admin", w.r1)
    w.d1_admin = user("admin@d1.example", "partner-admin", w.d1)
    w.r2_admin = user("admin@r2.example", "partner-admin", w.r2)
    w.sales = user("sales@sentinel.example", "vendor-sales")
    w.other_sales = user("other@sentinel.example", "vendor-sales")
    w.r2_sales = user("sales@r2.example", "partner-sales", w.r2)
    call(w, "PATCH", "/api/v1/vendor", {"sales_user_id": w.sales[0], "publish_default": "partner"}, w.admin_tok)
    call(w, "PATCH", f"/api/v1/partners/{w.r2}", {"sales_user_id": w.r2_sales[0]}, w.admin_tok)
    # Everything cancelled: the "gone" vendor's two contracts.
    g = lambda p, b: call(w, "POST", p, b, w.gone_tok)  # noqa: E731
    gc = g("/api/v1/customers", {"external_id": "G1", "name": "Gone Ltd"})["id"]
    gr = g("/api/v1/partners", {"external_id": "GR", "name": "Gone Reseller", "kind": "reseller", "tier": "gold"})["id"]
    gp = g("/api/v1/products", {"sku": "GP", "name": "Gone", "line": "Old",
                                "prices": [{"currency": "GBP", "term": "annual", "amount": 100}]})["id"]
    for ext, qty in (("G1", 1), ("G2", 2)):
        g("/api/v1/contracts", {"external_id": ext, "customer_id": gc, "product_id": gp, "quantity": qty, "reseller_id": gr,
                                "term": "annual", "currency": "GBP", "start": "2026-03-01", "end": "2027-03-01",
                                "status": "cancelled"})
    return w


def call(w, method, path, body=None, token=None, raw=False):
    from conftest import api_request
    token = token or w.admin_tok
    if token.startswith("cookie:"):
        r = api_request(w.port, method, path, body, cookie=token[len("cookie:"):])
    else:
        r = api_request(w.port, method, path, body, token=token)
    if raw:
        return r
    assert 200 <= r.status < 300, f"{method} {path}: {r}"
    return r.json() if r.body else None


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = build(tmp_path_factory.mktemp("reports"))
    try:
        yield w
        assert w.d.running(), f"renewd died:\n{w.d.log()}"
        w.d.stop()
    finally:
        w.d.close()


def get(w, path, token=None):
    return call(w, "GET", path, token=token)


# ---- the dashboard ---------------------------------------------------------------------------


def test_dashboard_due_windows_per_currency(world):
    rep = get(world, "/api/v1/reports/dashboard")
    assert rep["today"] == TODAY and rep["period"] == {"from": "2026-07-01", "to": "2027-06-30"}
    assert rep["contracts"] == 9
    due = {(r["currency"], r["window"]): (r["contracts"], r["value"]) for r in rows(rep, "due")}
    assert due == {
        ("EUR", "overdue"): (0, 0), ("EUR", "0-30"): (0, 0), ("EUR", "31-60"): (0, 0), ("EUR", "61-90"): (0, 0),
        ("GBP", "overdue"): (1, 3000), ("GBP", "0-30"): (1, 500), ("GBP", "31-60"): (0, 0), ("GBP", "61-90"): (0, 0),
        ("USD", "overdue"): (0, 0), ("USD", "0-30"): (0, 0), ("USD", "31-60"): (0, 0), ("USD", "61-90"): (1, 700),
    }


def test_dashboard_rate_split_by_count_and_value(world):
    rep = get(world, "/api/v1/reports/dashboard")
    gbp = one(rep, "rate", currency="GBP")
    # K1 won (2000), K2 cancelled (1000), K3 expired (2000), K4 (500) and K6 (3000) open.
    assert (gbp["due"], gbp["resolved"], gbp["won"], gbp["lost"], gbp["cancelled"]) == (5, 3, 1, 2, 1)
    assert (gbp["due_value"], gbp["resolved_value"], gbp["won_value"], gbp["renewed_value"]) == (8500, 5000, 2000, 2000)
    assert gbp["resolution_bp"] == 6000 and gbp["close_bp"] == 3333 and gbp["rate_count_bp"] == 2000
    assert gbp["conversion_bp"] == 10000 and gbp["rate_value_bp"] == 2352
    assert gbp["resolution_value_bp"] == 5882 and gbp["close_value_bp"] == 4000
    eur = one(rep, "rate", currency="EUR")
    assert (eur["due"], eur["won"], eur["due_value"], eur["renewed_value"], eur["rate_value_bp"]) == (1, 1, 6000, 6000, 10000)
    usd = one(rep, "rate", currency="USD")  # K7 ends after the period
    assert (usd["due"], usd["due_value"], usd["rate_value_bp"], usd["resolution_bp"]) == (0, 0, None, None)


def test_dashboard_months_and_quarters(world):
    rep = get(world, "/api/v1/reports/dashboard")
    months = {r["month"]: r for r in rows(rep, "months") if r["currency"] == "GBP"}
    assert len(months) == 12 and min(months) == "2026-07" and max(months) == "2027-06"
    assert {m: (r["due"], r["won"], r["due_value"]) for m, r in months.items() if r["due"]} == {
        "2027-01": (1, 1, 2000), "2027-02": (1, 0, 1000), "2027-03": (1, 0, 2000), "2027-06": (2, 0, 3500)}
    assert months["2027-01"]["rate_value_bp"] == 10000 and months["2027-02"]["close_bp"] == 0
    quarters = {r["quarter"]: r for r in rows(rep, "quarters") if r["currency"] == "GBP"}
    assert sorted(quarters) == ["2026-Q3", "2026-Q4", "2027-Q1", "2027-Q2"]
    q1 = quarters["2027-Q1"]
    assert (q1["due"], q1["resolved"], q1["won"], q1["due_value"], q1["renewed_value"]) == (3, 3, 1, 5000, 2000)
    assert q1["resolution_bp"] == 10000 and q1["close_bp"] == 3333 and q1["rate_value_bp"] == 4000
    assert quarters["2026-Q3"]["due"] == 0 and quarters["2026-Q3"]["rate_count_bp"] is None


def test_dashboard_cancellations_mrr_channel(world):
    rep = get(world, "/api/v1/reports/dashboard")
    c = one(rep, "cancellations", currency="GBP")
    assert (c["cancelled"], c["value"], c["lost"]) == (1, 1000, 2)
    mrr = {(r["currency"], r["term"]): (r["contracts"], r["mrr"]) for r in rows(rep, "mrr")}
    # Live and not yet ended: K4 (500) and K8 (1000) annual GBP, K7 (700) annual USD.
    assert mrr[("GBP", "annual")] == (2, 125) and mrr[("USD", "annual")] == (1, 58)
    assert mrr[("GBP", "monthly")] == (0, 0) and mrr[("EUR", "annual")] == (0, 0)
    ch = {(r["currency"], r["channel"]): (r["due"], r["due_value"], r["won"], r["renewed_value"])
          for r in rows(rep, "channel")}
    assert ch[("GBP", "direct")] == (0, 0, 0, 0)  # every contract here names its reseller
    assert ch[("GBP", "reseller")] == (2, 2500, 0, 0)  # K3 K4: a reseller without a distributor
    assert ch[("GBP", "distributor")] == (3, 6000, 1, 2000)  # K1 K2 K6: through D1
    assert ch[("EUR", "reseller")] == (1, 6000, 1, 6000)
    pub = {(r["currency"], r["publish"]): (r["won"], r["renewed_value"]) for r in rows(rep, "publish")}
    assert pub[("GBP", "undecided")] == (1, 2000) and pub[("GBP", "vendor")] == (0, 0)
    assert rows(rep, "lost_reasons") == []
    assert all(r["opportunities"] == 0 for r in rows(rep, "pipeline"))


def test_no_money_figure_mixes_currencies(world):
    """Each money row names one currency; GBP's totals hold GBP contracts only."""
    rep = get(world, "/api/v1/reports/dashboard")
    for name, t in rep["tables"].items():
        kinds = [c["kind"] for c in t["columns"]]
        if "money" in kinds:
            assert t["columns"][0]["name"] == "currency", name
    assert one(rep, "rate", currency="GBP")["due_value"] == 8500  # not 8500 + 6000 EUR


def test_zero_contracts(world):
    rep = get(world, "/api/v1/reports/dashboard", world.empty_tok)
    assert rep["contracts"] == 0
    assert all(t["rows"] == [] for n, t in rep["tables"].items()), rep["tables"]
    r = call(world, "GET", "/api/v1/reports/dashboard?format=csv&table=rate", token=world.empty_tok, raw=True)
    assert r.status == 200 and r.body.decode().splitlines() == [",".join(
        c["name"] for c in rep["tables"]["rate"]["columns"])]
    assert get(world, "/api/v1/reports/drilldown?by=line", world.empty_tok)["tables"]["rows"]["rows"] == []
    assert get(world, "/api/v1/reports/rankings?by=customer", world.empty_tok)["tables"]["by_value"]["rows"] == []


def test_everything_cancelled(world):
    rep = get(world, "/api/v1/reports/dashboard", world.gone_tok)
    r = one(rep, "rate", currency="GBP")
    assert (r["due"], r["resolved"], r["won"], r["cancelled"], r["due_value"], r["renewed_value"]) == (2, 2, 0, 2, 300, 0)
    assert r["resolution_bp"] == 10000 and r["close_bp"] == 0 and r["rate_count_bp"] == 0 and r["rate_value_bp"] == 0
    assert r["conversion_bp"] is None  # nothing won: no value to convert
    assert one(rep, "cancellations", currency="GBP")["value"] == 300
    assert all(x["contracts"] == 0 for x in rows(rep, "due"))
    assert all(x["contracts"] == 0 for x in rows(rep, "mrr"))


# ---- the drill-down ------------------------------------------------------------------------------


def test_drilldown_line_product_contract(world):
    lines = get(world, "/api/v1/reports/drilldown?by=line")
    got = {(r["label"], r["currency"]): (r["due"], r["due_value"], r["won"], r["renewed_value"], r["upcoming"],
                                         r["overdue_value"]) for r in rows(lines, "rows")}
    assert got == {("Security", "GBP"): (4, 5500, 1, 2000, 1, 0), ("Security", "EUR"): (1, 6000, 1, 6000, 0, 0),
                   ("@Backup", "GBP"): (1, 3000, 0, 0, 0, 3000), ("@Backup", "USD"): (0, 0, 0, 0, 1, 0)}
    tot = {r["currency"]: r["due_value"] for r in rows(lines, "totals")}
    assert tot == {"GBP": 8500, "EUR": 6000, "USD": 0}
    prods = get(world, "/api/v1/reports/drilldown?by=product&line=Security")
    got = {(r["id"], r["currency"]): (r["due"], r["due_value"], r["renewed_value"]) for r in rows(prods, "rows")}
    assert got == {(world.p1, "GBP"): (2, 3000, 2000), (world.p1, "EUR"): (1, 6000, 6000), (world.p2, "GBP"): (2, 2500, 0)}
    ks = get(world, f"/api/v1/reports/drilldown?by=contract&product={world.p1}")
    order = [(r["currency"], r["label"]) for r in rows(ks, "rows")]
    assert order == [("EUR", "K5"), ("GBP", "K9"), ("GBP", "K1"), ("GBP", "K2"), ("GBP", "K8")]
    k1 = one(ks, "rows", label="K1")
    assert (k1["id"], k1["value"], k1["status"], k1["outcome"], k1["end"]) == (world.k["K1"], 2000, "renewed", "won", "2027-01-31")
    assert one(ks, "rows", label="K2")["outcome"] == "lost"
    assert one(ks, "rows", label="K8")["outcome"] == "open" and one(ks, "rows", label="K8")["due"] == 0


def test_drilldown_customer_to_contracts(world):
    custs = get(world, "/api/v1/reports/drilldown?by=customer")
    got = {(r["id"], r["currency"]): (r["due"], r["due_value"]) for r in rows(custs, "rows")}
    assert got[(world.c1, "GBP")] == (2, 3000) and got[(world.c3, "EUR")] == (1, 6000)
    ks = get(world, f"/api/v1/reports/drilldown?by=contract&customer={world.c1}")
    assert sorted(r["label"] for r in rows(ks, "rows")) == ["K1", "K2", "K7", "K9"]


def test_drilldown_refusals(world):
    for q, field in (("by=bogus", "by"), ("by=contract", "by"), ("by=product&product=x", "product"),
                     ("by=line&limit=0", "limit"), ("by=line&nope=1", "nope"), ("format=xml", "format"),
                     ("format=csv", "table")):
        r = call(world, "GET", f"/api/v1/reports/drilldown?{q}", raw=True)
        assert_json_error(r, 400)
        assert r.json()["error"]["field"] == field, (q, r.json())
    assert_json_error(call(world, "GET", "/api/v1/reports/drilldown?by=product&product=999", raw=True), 404)
    assert_json_error(call(world, "GET", "/api/v1/reports/drilldown?by=product&line=Nothing", raw=True), 404)
    assert_json_error(call(world, "GET", "/api/v1/reports/dashboard?format=csv&table=nope", raw=True), 400)
    assert_json_error(call(world, "GET", "/api/v1/reports/dashboard", token="nope", raw=True), 401)


# ---- the rankings ----------------------------------------------------------------------------------


def test_rankings_resellers_customers(world):
    rep = get(world, "/api/v1/reports/rankings?by=reseller&currency=GBP")
    val = [(r["side"], r["rank"], r["id"], r["renewed_value"], r["rate_value_bp"]) for r in rows(rep, "by_value")]
    assert val == [("best", 1, world.r1, 2000, 3333), ("best", 2, world.r2, 0, 0),
                   ("worst", 1, world.r2, 0, 0), ("worst", 2, world.r1, 2000, 3333)]
    assert all(r["currency"] == "GBP" for r in rows(rep, "by_rate"))
    rep = get(world, "/api/v1/reports/rankings?by=customer&limit=1")
    best = {(r["currency"], r["side"]): (r["id"], r["renewed_value"]) for r in rows(rep, "by_rate")}
    assert best[("GBP", "best")] == (world.c1, 2000) and best[("EUR", "best")] == (world.c3, 6000)
    assert best[("GBP", "worst")][1] == 0
    rep = get(world, "/api/v1/reports/rankings?by=distributor")
    assert [(r["id"], r["due_value"]) for r in rows(rep, "by_value") if r["side"] == "best"] == [(world.d1, 6000)]
    rep = get(world, "/api/v1/reports/rankings?by=sales&currency=GBP")
    ranked = {r["id"]: r["due_value"] for r in rows(rep, "by_value") if r["side"] == "best"}
    # publish_default partner: R2's sales contact sells K3 and K4; R1 has none.
    assert ranked == {world.r2_sales[0]: 2500}


# ---- scope -----------------------------------------------------------------------------------------


def test_partner_sees_its_channel_only(world):
    for who in (world.r1_admin, world.d1_admin):
        rep = get(world, "/api/v1/reports/dashboard", who[1])
        assert rep["contracts"] == 5  # K1 K2 K6 K7 K9
        gbp = one(rep, "rate", currency="GBP")
        assert (gbp["due"], gbp["due_value"], gbp["won"], gbp["cancelled"]) == (3, 6000, 1, 1)
        assert not [r for r in rows(rep, "rate") if r["currency"] == "EUR"]  # K5 is R2's
        lines = get(world, "/api/v1/reports/drilldown?by=line", who[1])
        assert {(r["label"], r["currency"]) for r in rows(lines, "rows")} == {
            ("Security", "GBP"), ("@Backup", "GBP"), ("@Backup", "USD")}
        rk = get(world, "/api/v1/reports/rankings?by=reseller", who[1])
        assert {r["id"] for r in rows(rk, "by_value")} == {world.r1}
    # Scorecards: its own cards (a distributor's and its resellers') and the programme's row only.
    assert {r["id"] for r in rows(get(world, "/api/v1/reports/scorecards", world.r1_admin[1]), "cards")} == {world.r1, 0}
    assert {r["id"] for r in rows(get(world, "/api/v1/reports/scorecards", world.d1_admin[1]), "cards")} == {
        world.d1, world.r1, 0}
    assert {r["id"] for r in rows(get(world, "/api/v1/reports/scorecards"), "cards")} == {world.d1, world.r1, world.r2, 0}
    rates = get(world, "/api/v1/reports/scorecards", world.r1_admin[1])
    assert rates["contracts"] == 0  # the programme walks every contract: not a partner's to count
    assert one(rates, "rates", id=world.r1, currency="GBP")["due_value"] == 6000  # K1 K2 K6
    assert one(rates, "rates", id=0, currency="GBP")["due_value"] == 8500  # the programme: every contract
    rep = get(world, "/api/v1/reports/dashboard", world.r2_admin[1])
    assert rep["contracts"] == 4  # K3 K4 K5 K8
    # Another channel's customer: as if it did not exist.
    r = call(world, "GET", f"/api/v1/reports/drilldown?by=contract&customer={world.c1}", token=world.r2_admin[1], raw=True)
    assert_json_error(r, 404)


def test_sales_person_sees_theirs(world):
    # The vendor leaves undecided renewals to the partners: R2's sales contact
    # sells R2's, the vendor's sales person none (no quote was published to it).
    rep = get(world, "/api/v1/reports/dashboard", world.r2_sales[1])
    assert rep["contracts"] == 4  # K3 K4 K5 K8
    assert one(rep, "due", currency="GBP", window="0-30")["value"] == 500
    assert get(world, "/api/v1/reports/dashboard", world.sales[1])["contracts"] == 0
    assert get(world, "/api/v1/reports/dashboard", world.other_sales[1])["contracts"] == 0
    call(world, "PATCH", "/api/v1/vendor", {"publish_default": "vendor"})
    try:
        assert get(world, "/api/v1/reports/dashboard", world.sales[1])["contracts"] == 9
        assert get(world, "/api/v1/reports/dashboard", world.r2_sales[1])["contracts"] == 0
        assert get(world, "/api/v1/reports/dashboard", world.other_sales[1])["contracts"] == 0
    finally:
        call(world, "PATCH", "/api/v1/vendor", {"publish_default": "partner"})


# ---- the pages --------------------------------------------------------------------------------------

SVG_RE = re.compile(r"<svg\b[^>]*>.*?</svg>", re.S)


def svgs(html):
    return SVG_RE.findall(html)


def test_dashboard_page_draws_accessible_charts(world):
    b = Browser(world.d)
    b.login("boss@sentinel.example")
    r = b.get("/vendor/reports")
    page = r.text
    charts = svgs(page)
    # Per currency (EUR, GBP, USD): due bars, the rate funnel, the monthly lines, MRR bars.
    assert len(charts) == 12, len(charts)
    for svg in charts:
        assert 'role="img"' in svg and "<title id=" in svg and "<desc id=" in svg and "aria-labelledby=" in svg, svg[:300]
        assert "<script" not in svg and "style=" not in svg
    funnel = [x for x in charts if "Renewal rate split, GBP" in x][0]
    # The rate split in words: 23.52 % = 58.82 % x 40.00 % x 100.00 %.
    assert "23.52 %" in funnel and "58.82 %" in funnel and "40.00 %" in funnel and "100.00 %" in funnel
    due = [x for x in charts if "Value due by window, GBP" in x][0]
    assert "GBP 30.00" in due and "GBP 5.00" in due  # the values as text, not only as bar lengths
    assert "<polyline" in [x for x in charts if "Renewal rate by month, GBP" in x][0]
    # Tables with their CSV export links; the drill-down and rankings links.
    for t in ("due", "rate", "months", "quarters", "cancellations", "mrr", "publish", "channel", "pipeline"):
        assert f'href="/api/v1/reports/dashboard?format=csv&amp;table={t}"' in page, t
    assert 'href="/vendor/reports/drilldown?by=line"' in page
    assert 'href="/vendor/reports" aria-current="page"' in page  # the console's navigation
    csv_r = b.get("/api/v1/reports/dashboard?format=csv&table=due")  # the export link works with the session
    assert csv_r.body.decode().startswith("currency,window,contracts,value")


def test_drilldown_pages_reach_the_contract(world):
    b = Browser(world.d)
    b.login("boss@sentinel.example")
    page = b.get("/vendor/reports/drilldown?by=line").text
    assert 'href="/vendor/reports/drilldown?by=product&amp;line=Security"' in page
    assert 'href="/vendor/reports/drilldown?by=product&amp;line=%40Backup"' in page
    page = b.get("/vendor/reports/drilldown?by=product&line=Security").text
    assert f'href="/vendor/reports/drilldown?by=contract&amp;product={world.p1}"' in page
    assert any("Value due by product, GBP" in x for x in svgs(page))
    page = b.get(f"/vendor/reports/drilldown?by=contract&product={world.p1}").text
    k1 = world.k["K1"]
    assert f'href="/vendor/reports/contracts/{k1}"' in page
    page = b.get(f"/vendor/reports/contracts/{k1}").text
    assert "Reports: contract K1" in page and "renewed" in page and "GBP 20.00" in page
    assert f'href="/vendor/reports/drilldown?by=contract&amp;customer={world.c1}"' in page
    page = b.get(f"/vendor/reports/drilldown?by=contract&customer={world.c1}").text
    assert all(f"/vendor/reports/contracts/{world.k[k]}" in page for k in ("K1", "K2", "K7", "K9"))
    b.get("/vendor/reports/contracts/99999", status=404)
    b.get("/vendor/reports/drilldown?by=nope", status=400)
    page = b.get("/vendor/reports/rankings?by=customer").text
    assert "Best by value renewed, GBP" in page and "=HYPERLINK(&quot;" in page  # escaped, never markup


def test_partner_pages_are_scoped(world):
    b = Browser(world.d)
    b.login("admin@r2.example")
    assert b.get("/vendor/reports", status=303).headers["location"] == "/partner/reports"
    page = b.get("/partner/reports").text
    assert 'id="report-contracts">4<' in page  # K3 K4 K5 K8
    assert "Renewal rate split, USD" not in page  # K7 is R1's
    b.get(f"/partner/reports/contracts/{world.k['K1']}", status=404)  # another channel's contract
    assert "Reports: contract K3" in b.get(f"/partner/reports/contracts/{world.k['K3']}").text
    v = Browser(world.d)
    v.login("boss@sentinel.example")
    assert v.get("/partner/reports", status=303).headers["location"] == "/vendor/reports"
    anon = Browser(world.d)
    assert anon.get("/vendor/reports", status=303).headers["location"].startswith("/login")


# ---- the programmes: deal registrations and lead sources ------------------------------------------


def test_programme_deals_by_state_and_lead_sources(world):
    body = lambda partner, value, name: {"partner_id": partner, "customer": {"name": name, "country": "GB"},  # noqa: E731
                                          "products": [world.p1], "seats": 5, "expected_value": value,
                                          "close_date": "2027-09-01"}
    d1 = call(world, "POST", "/api/v1/deals", body(world.r1, 1000, "Deal One Ltd"))
    d2 = call(world, "POST", "/api/v1/deals", body(world.r1, 2000, "Deal Two Ltd"))
    d3 = call(world, "POST", "/api/v1/deals", body(world.r2, 4000, "Deal Three Ltd"))
    assert d1["currency"] == d2["currency"] == d3["currency"] == "GBP", d1
    call(world, "POST", f"/api/v1/deals/{d2['id']}/approve", {})
    call(world, "POST", f"/api/v1/deals/{d3['id']}/reject", {"reason": "a conflict"})
    for company in ("Lead A", "Lead B"):
        call(world, "POST", "/api/v1/leads", {"company": company, "contact_name": "Ann", "email": "ann@a.example",
                                              "country": "GB"})
    rep = get(world, "/api/v1/reports/programme")
    deals = {(r["currency"], r["state"]): (r["registrations"], r["expected_value"]) for r in rows(rep, "deal_states")}
    assert deals == {("GBP", "submitted"): (1, 1000), ("GBP", "approved"): (1, 2000), ("GBP", "rejected"): (1, 4000)}
    src = one(rep, "lead_sources", source="api")
    assert (src["leads"], src["accepted"], src["won"], src["open"], src["conversion_bp"]) == (2, 0, 0, 2, 0)
    assert rows(rep, "lead_value") == []
    # R1's admin: its own two registrations, and no lead (it accepted none).
    mine = get(world, "/api/v1/reports/programme", world.r1_admin[1])
    assert {r["state"]: r["registrations"] for r in rows(mine, "deal_states")} == {"submitted": 1, "approved": 1}
    assert rows(mine, "lead_sources") == []
    r = call(world, "GET", "/api/v1/reports/programme?format=csv&table=deal_states", raw=True)
    assert r.body.decode().splitlines()[0] == "currency,state,registrations,expected_value"
    b = Browser(world.d)
    b.login("boss@sentinel.example")
    page = b.get("/vendor/reports/programme").text
    assert any("Lead conversion by source" in x for x in svgs(page)) and "approved" in page

# ---- CSV -------------------------------------------------------------------------------------------


def test_csv_exports_and_neutralises_formulas(world):
    r = call(world, "GET", "/api/v1/reports/rankings?by=customer&currency=GBP&format=csv&table=by_value", raw=True)
    assert r.status == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    # Streamed: sent in chunks as the client reads, never with a precomputed length.
    assert r.headers.get("transfer-encoding") == "chunked" and r.headers.get("content-length") is None
    text = r.body.decode()
    assert '=HYPERLINK' in text
    assert "\n=" not in text and ",=" not in text  # never a bare formula at a cell's start
    cells = list(csv.reader(io.StringIO(text)))
    assert cells[0][:3] == ["currency", "side", "rank"]
    labels = [c[4] for c in cells[1:]]
    assert "'" + EVIL_CUSTOMER in labels
    money = {c[4]: c[5] for c in cells[1:] if c[1] == "best"}
    assert money["Abbey Dental"] == "20.00"  # minor units as a plain decimal
    r = call(world, "GET", "/api/v1/reports/drilldown?by=line&format=csv&table=rows", raw=True)
    cells = list(csv.reader(io.StringIO(r.body.decode())))
    assert "'@Backup" in [c[0] for c in cells] and "@Backup" not in [c[0] for c in cells]
    r = call(world, "GET", "/api/v1/reports/dashboard?format=csv&table=rate", raw=True)
    cells = list(csv.reader(io.StringIO(r.body.decode())))
    gbp = dict(zip(cells[0], [c for c in cells[1:] if c[0] == "GBP"][0]))
    assert gbp["rate_value_bp"] == "23.52" and gbp["due_value"] == "85.00"


def test_csv_cell_rules(world):
    """Every leading character a spreadsheet reads as a formula, plus tab and CR."""
    for i, name in enumerate(("+SUM(1,2)", "-2+3", "@cmd", "\tTab", "\rCR", "a,b\"c")):
        cid = call(world, "POST", "/api/v1/customers", {"external_id": f"X{i}", "name": name})["id"]
        call(world, "POST", "/api/v1/contracts", {"external_id": f"KX{i}", "customer_id": cid, "product_id": world.p2, "reseller_id": world.r2,
                                                  "quantity": 1, "term": "annual", "currency": "JPY",
                                                  "start": "2026-01-01", "end": "2027-05-01", "status": "live"})
    r = call(world, "GET", "/api/v1/reports/drilldown?by=customer&format=csv&table=rows", raw=True)
    cells = list(csv.reader(io.StringIO(r.body.decode(), newline="")))
    labels = {c[1] for c in cells[1:]}
    for name in ("+SUM(1,2)", "-2+3", "@cmd", "\tTab", "\rCR"):
        assert "'" + name in labels and name not in labels, name
    assert 'a,b"c' in labels



def test_large_csv_streams_in_pieces(world):
    """A drill-down of 400 customers (well over one 32 KiB piece) arrives whole."""
    for i in range(400):
        cid = call(world, "POST", "/api/v1/customers", {"external_id": f"BULK{i}", "name": f"Bulk Customer {i}"})["id"]
        call(world, "POST", "/api/v1/contracts", {"external_id": f"KB{i}", "customer_id": cid, "product_id": world.p2,
                                                  "reseller_id": world.r2, "quantity": 1 + i, "term": "annual",
                                                  "currency": "GBP", "start": "2026-01-01", "end": "2027-04-01",
                                                  "status": "live"})
    rep = get(world, "/api/v1/reports/drilldown?by=customer&limit=10000")
    r = call(world, "GET", "/api/v1/reports/drilldown?by=customer&limit=10000&format=csv&table=rows", raw=True)
    assert r.status == 200 and r.headers.get("transfer-encoding") == "chunked"
    assert len(r.body) > 32768  # more than one piece
    cells = list(csv.reader(io.StringIO(r.body.decode(), newline="")))
    assert len(cells) == 1 + len(rows(rep, "rows")) and len(rows(rep, "rows")) > 400
    got = {c[1]: c[8] for c in cells[1:] if c[2] == "GBP"}  # label -> due_value
    assert got["Bulk Customer 399"] == "2000.00"  # 400 seats at GBP 5.00
    # A client that goes away mid-export: renewd frees the export and carries
    # on (under ASan the module's clean stop shows nothing leaked).
    for _ in range(3):
        sock = raw_connect(world.port)
        sock.sendall(b"GET /api/v1/reports/drilldown?by=customer&limit=10000&format=csv&table=rows HTTP/1.1\r\n"
                     b"Host: 127.0.0.1\r\nAuthorization: Bearer " + world.admin_tok.encode() + b"\r\n\r\n")
        assert sock.recv(64).startswith(b"HTTP/1.1 200")
        sock.close()
    assert get(world, "/api/v1/reports/dashboard")["contracts"] > 400

# ---- quotes: pipeline, lost reasons, who sold ------------------------------------------------------


def test_pipeline_lost_reasons_and_publish(tmp_path, daemon):
    """Quotes the sweep made, some lost with reasons and one won, on a store of
    their own: the pipeline counts open quotes only, lost reasons count
    contracts due in the period only, a won renewal counts by who sold it."""
    data = tmp_path / "opp"
    data.mkdir()
    renewctl("vendor", "create", "--name", "Sentinel", "--slug", "sentinel", "--currency", "GBP", data=data, check=True)
    tok, _ = api_user(data, email="admin@sentinel.example")
    d = daemon(data=data, args=["--test-clock", "1", "--sched-interval-ms", "86400000"])
    w = World()
    w.port, w.admin_tok = d.port, tok
    a = lambda p, b: call(w, "POST", p, b)  # noqa: E731
    r1 = a("/api/v1/partners", {"external_id": "R1", "name": "R1", "kind": "reseller", "tier": "gold"})["id"]
    c1 = a("/api/v1/customers", {"external_id": "C1", "name": "C1", "email": "c1@x.example"})["id"]
    p1 = a("/api/v1/products", {"sku": "P1", "name": "P", "line": "L",
                                "prices": [{"currency": "GBP", "term": "annual", "amount": 1000}]})["id"]
    ids = {}
    for ext, end in (("A", "2027-06-20"), ("B", "2027-07-20"), ("C", "2027-08-30"), ("D", "2027-06-25"),
                     ("E", "2027-06-28")):
        ids[a("/api/v1/contracts", {"external_id": ext, "customer_id": c1, "product_id": p1, "reseller_id": r1,
                                    "quantity": 2, "term": "annual", "currency": "GBP", "start": "2026-06-01",
                                    "end": end, "status": "live"})["id"]] = ext
    call(w, "POST", "/api/v1/clock", {"date": TODAY})  # the sweep quotes all five (2000 each at list)
    opp = {ids[o["contract_id"]]: o for o in call(w, "GET", "/api/v1/opportunities?limit=100")["items"]}
    assert sorted(opp) == ["A", "B", "C", "D", "E"] and all(o["list_total"] == 2000 for o in opp.values())
    for ext, reason in (("A", "Too expensive"), ("B", "Moved to a competitor"), ("E", "Too expensive")):
        call(w, "PATCH", f"/api/v1/opportunities/{opp[ext]['id']}", {"state": "lost", "lost_reason": reason})
    call(w, "PATCH", f"/api/v1/opportunities/{opp['D']['id']}", {"state": "won"})
    rep = get(w, "/api/v1/reports/dashboard")
    # B ends after the period: its reason is not the period's.
    assert rows(rep, "lost_reasons") == [{"reason": "Too expensive", "count": 2}]
    pipe = {r["window"]: (r["opportunities"], r["value"]) for r in rows(rep, "pipeline")}
    assert pipe == {"overdue": (0, 0), "0-30": (0, 0), "31-60": (0, 0), "61-90": (1, 2000), "later": (0, 0)}  # C
    pub = {r["publish"]: (r["won"], r["renewed_value"]) for r in rows(rep, "publish")}
    assert pub[opp["D"]["publish"]] == (1, 2000) and sum(v[0] for v in pub.values()) == 1
    r = one(rep, "rate", currency="GBP")  # A, D, E due in the period
    assert (r["due"], r["resolved"], r["won"], r["lost"], r["cancelled"]) == (3, 3, 1, 2, 0)
    assert r["close_bp"] == 3333 and r["rate_value_bp"] == 3333
    # ---- the partner's scorecard against the programme (one partner here: the same)
    call(w, "POST", "/api/v1/clock", {"date": "2027-06-15"})  # a day later, C is decided
    call(w, "POST", f"/api/v1/opportunities/{opp['C']['id']}/decision", {"publish": "partner"})
    oc = call(w, "GET", f"/api/v1/opportunities/{opp['C']['id']}")
    assert oc["decided_at"] == "2027-06-15T12:00:00Z"
    made = datetime.datetime.fromisoformat(oc["created_at"].replace("Z", "+00:00"))
    hours = int((datetime.datetime(2027, 6, 15, 12, tzinfo=datetime.timezone.utc) - made).total_seconds() // 3600)
    assert hours >= 24  # quoted on its window's first day, decided on the 15th
    sc = get(w, "/api/v1/reports/scorecards")
    card = one(sc, "cards", id=r1)
    # A B D E were published by default when their window had passed (pullbacks); C was decided.
    assert (card["decisions"], card["decide_hours"], card["pullbacks"], card["pullback_bp"]) == (1, hours, 4, 8000)
    assert (card["leads"], card["accept_hours"], card["deals_won"]) == (0, None, 0)
    prog = one(sc, "cards", id=0)
    assert prog["label"] == "Programme average" and prog["pullbacks"] == 4
    rate = one(sc, "rates", id=r1, currency="GBP")
    assert (rate["due"], rate["won"], rate["rate_value_bp"], rate["commission"]) == (3, 1, 3333, 0)
    assert one(sc, "rates", id=0, currency="GBP")["due"] == 3
