"""The policy dry run prices both publish modes (core/policy/runtime.c,
core/services/policies.c; the console's report in core/web/console_policies.c).

A partner chooses who sells each opportunity (publish-partner or
publish-vendor), and the vendor's default applies only when it does not: a
dry run that priced the default mode only said "no change" for a version
that raised what a gold partner earns when it sells itself.  Here the
vendor's default is publish-vendor and the new version raises the gold
reseller's publish-partner share from 25 % to 27 %: the API and the console
both show the gold reseller's money impact in publish-partner mode, per
currency, before and after.
"""
import json

from conftest import http_request  # noqa: F401  (the fixtures' module)
from test_pages_console import Browser, text, world  # noqa: F401  (world: the fixture)

GOLD = 3  # the demo's RES-GOLD (Harbour Networks)


def gold_partner_up(w):
    """Uploads the active margin policy with gold publish-partner at 27 %
    (its vectors fixed to match); returns the version."""
    active = w.api.get("/api/v1/policies/margin/1")
    src = active["source"].replace("partner = { platinum = 3300, gold = 2500", "partner = { platinum = 3300, gold = 2700")
    assert src != active["source"]
    vectors = json.loads(json.dumps(active["vectors"]))
    for v in vectors:
        ln = v["line"]
        if ln["publish"] == "partner" and ln["partner"]["tier"] == "gold":
            for share in v["expect"]:
                if share[0] == "reseller":
                    share[1] += 200
    r = w.api.call("POST", "/api/v1/policies/margin", {"source": src, "vectors": vectors, "note": "gold sells +2 %"})
    assert r.status == 201, r
    return r.json()["version"]


def live_gold_lines(w):
    products = {p["id"]: p for p in w.api.items("/api/v1/products")}
    out = []
    for k in w.api.items("/api/v1/contracts"):
        if k["status"] != "live" or k["reseller_id"] != GOLD:
            continue
        prices = [p["amount"] for p in products[k["product_id"]]["prices"]
                  if p["term"] == k["term"] and p["currency"] == k["currency"]]
        if prices:
            out.append((k["currency"], prices[-1] * k["quantity"]))
    return out


def test_a_gold_partner_mode_raise_shows_in_the_dry_run(world):
    w = world
    assert w.api.get("/api/v1/vendor")["publish_default"] == "vendor"
    v = gold_partner_up(w)
    report = w.api.ok("POST", f"/api/v1/policies/margin/{v}/dry-run")
    gold = live_gold_lines(w)
    assert gold, "the demo has live gold contracts"
    assert report["lines_changed"] == len(gold), report
    # Only the gold reseller, only when it sells; before and after per currency.
    rows = report["per_partner"]
    assert {(p["partner_id"], p["publish"]) for p in rows} == {(GOLD, "partner")}, rows
    for cur in {c for c, _ in gold}:
        want_before = sum(amount * 2500 // 10000 for c, amount in gold if c == cur)
        want_after = sum(amount * 2700 // 10000 for c, amount in gold if c == cur)
        row = [p for p in rows if p["currency"] == cur]
        assert len(row) == 1, rows
        assert (row[0]["before"], row[0]["after"], row[0]["delta"]) == (want_before, want_after,
                                                                       want_after - want_before), row
    assert len(rows) == len({c for c, _ in gold}), rows  # one row per currency: never summed across them
    assert all(x["publish"] == "partner" and x["delta"] > 0 for x in report["largest_changes"]), report

    # The console shows the same: the gold reseller, "the partner" sells, the amounts.
    b = Browser(w.d)
    b.login("admin@sentinel.example")
    b.get("/vendor/policies")
    r = b.post(f"/vendor/policies/margin/{v}/dry-run", {}, status=200)
    t = text(r.text)
    assert f"Lines that change {report['lines_changed']}" in t, t
    assert "No partner's margin changes" not in t, t
    row = t[t.index("Harbour Networks"):]
    assert row.startswith("Harbour Networks the partner "), row[:200]
    w.d.stop()  # a clean exit (under ASan: no leak report)


def test_the_active_version_changes_nothing_in_either_mode(world):
    w = world
    report = w.api.ok("POST", "/api/v1/policies/margin/1/dry-run")
    assert report["lines_changed"] == 0 and report["per_partner"] == [] and report["largest_changes"] == [], report
