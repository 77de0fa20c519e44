"""Reporting, second round (core/services/reports.c, core/web/reports.c,
docs/reporting.md): the drill by customer keeps only the rows it shows
(each currency's first `limit` groups, customers met in key order) and must
answer exactly what a full sort of every customer's figures answers; the
drill-down's contract rows link to the console's contract page, within the
caller's scope.  The data set is test_reports.py's (built afresh here).
"""
import pytest

from test_reports import build, call, rows
from test_pages_console import Browser


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = build(tmp_path_factory.mktemp("reports2"))
    try:
        yield w
        assert w.d.running(), f"renewd died:\n{w.d.log()}"
        w.d.stop()
    finally:
        w.d.close()


def drill(w, query, token=None):
    return call(w, "GET", "/api/v1/reports/drilldown?" + query, token=token)


def order_key(r):
    return (r["currency"], -r["due_value"], r["id"])


def test_customer_drill_limit_keeps_the_first_rows_of_the_full_order(world):
    full = drill(world, "by=customer&limit=1000")
    all_rows = rows(full, "rows")
    assert full["truncated"] is False
    # Every customer x currency with figures, in currency order then value due (most first), then id.
    assert [(r["currency"], r["id"]) for r in all_rows] == [(r["currency"], r["id"]) for r in sorted(all_rows, key=order_key)]
    assert {(r["currency"], r["id"]) for r in all_rows} == {
        ("EUR", world.c3), ("GBP", world.c1), ("GBP", world.c2), ("GBP", world.c3), ("USD", world.c1)}
    for limit in range(1, len(all_rows) + 1):
        part = drill(world, f"by=customer&limit={limit}")
        assert rows(part, "rows") == all_rows[:limit], limit
        assert part["truncated"] is (limit < len(all_rows)), limit
        assert rows(part, "totals") == rows(full, "totals")
        assert part["contracts"] == full["contracts"]


def test_customer_drill_limit_in_a_partners_scope(world):
    tok = world.r1_admin[1]
    full = rows(drill(world, "by=customer&limit=1000", tok), "rows")
    assert {(r["currency"], r["id"]) for r in full} == {("GBP", world.c1), ("GBP", world.c3), ("USD", world.c1)}
    for limit in (1, 2):
        part = drill(world, f"by=customer&limit={limit}", tok)
        assert rows(part, "rows") == full[:limit]
        assert part["truncated"] is True


def test_drilldown_contract_rows_link_to_the_console_contract_page(world):
    b = Browser(world.d)
    b.login("boss@sentinel.example")
    k1 = world.k["K1"]
    page = b.get(f"/vendor/reports/drilldown?by=contract&product={world.p1}").text
    assert f'href="/vendor/reports/contracts/{k1}"' in page  # the report's own page stays
    assert f'href="/vendor/contracts/{k1}"' in page
    page = b.get(f"/vendor/reports/drilldown?by=contract&customer={world.c1}").text
    assert all(f'href="/vendor/contracts/{world.k[k]}"' in page for k in ("K1", "K2", "K7", "K9"))
    assert f'href="/vendor/contracts/{world.k["K3"]}"' not in page  # another customer's
    page = b.get(f"/vendor/reports/contracts/{k1}").text
    assert f'href="/vendor/contracts/{k1}"' in page
    assert b.get(f"/vendor/contracts/{k1}").status == 200
    # Levels above the contracts link down the report, not to the console.
    assert "/vendor/contracts/" not in b.get("/vendor/reports/drilldown?by=customer").text


def test_partner_drilldown_links_stay_in_its_channel(world):
    b = Browser(world.d)
    b.login("admin@r2.example")
    page = b.get(f"/partner/reports/drilldown?by=contract&customer={world.c2}").text
    for k in ("K3", "K4", "K8"):
        assert f'href="/partner/contracts/{world.k[k]}"' in page
        assert b.get(f"/partner/contracts/{world.k[k]}").status == 200
    assert "/vendor/contracts/" not in page
    page = b.get(f"/partner/reports/drilldown?by=contract&product={world.p1}").text
    assert f'href="/partner/contracts/{world.k["K5"]}"' in page
    assert f'/partner/contracts/{world.k["K1"]}"' not in page  # R1's contract: not in R2's report
    b.get(f"/partner/contracts/{world.k['K1']}", status=404)
    page = b.get(f"/partner/reports/contracts/{world.k['K3']}").text
    assert f'href="/partner/contracts/{world.k["K3"]}"' in page
