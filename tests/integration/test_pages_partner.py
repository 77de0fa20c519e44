"""The partner portal's contracts and customers pages: a partner's people
see their own records only (the reseller its own, the distributor its
resellers'), in the colours the API gives, paged; vendor roles are sent
to the console, and nobody without a session gets in."""
import re

from test_pages_console import Browser, check_security_headers, make_user, text  # noqa: F401
from conftest import ApiClient, demo_load

# The demo's partners: 1 DIST-NW (distributor), 2 RES-PLAT, 3 RES-GOLD, 4 RES-SILV (its resellers).
DIST, PLAT, GOLD = 1, 2, 3
USERS = [("admin@sentinel.example", "vendor-admin", None), ("gold@sentinel.example", "partner-sales", GOLD),
         ("plat@sentinel.example", "partner-admin", PLAT), ("dist@sentinel.example", "partner-admin", DIST)]
PAGES = ["/partner", "/partner/contracts", "/partner/contracts?colour=amber", "/partner/customers"]


def rows(html, attr):
    return re.findall(attr, html)


def test_partner_contracts_and_customers(daemon, tmp_path):
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    tokens = {e: make_user(data, e, r, p) for e, r, p in USERS}
    d = daemon(data=data, args=["--test-clock", "1"])
    api = ApiClient(d, *tokens["admin@sentinel.example"])
    contracts = api.items("/api/v1/contracts")
    customers = {c["id"]: c for c in api.items("/api/v1/customers")}

    anon = Browser(d)
    for p in PAGES:
        r = anon.request("GET", p)
        assert r.status == 303 and r.headers["location"].endswith("/login"), (p, r)
        check_security_headers(r, p)
    admin = Browser(d)
    admin.login("admin@sentinel.example")
    for p in PAGES[1:]:
        r = admin.request("GET", p)
        assert r.status == 303 and r.headers["location"].endswith("/vendor"), (p, r)

    for email, partner in (("gold@sentinel.example", GOLD), ("plat@sentinel.example", PLAT),
                           ("dist@sentinel.example", DIST)):
        b = Browser(d)
        assert b.login(email).endswith("/partner")
        for p in PAGES:
            html = b.get(p).text
            assert 'aria-label="Partner portal"' in html and 'aria-current="page"' in html, (email, p)
            assert 'href="/partner/contracts"' in html and 'href="/partner/customers"' in html, (email, p)
        mine = [k for k in contracts if partner in (k["reseller_id"], k["distributor_id"])]
        assert mine and (partner == DIST or len(mine) < len(contracts)), f"partner {partner}: {len(mine)} of {len(contracts)}"
        html = b.get("/partner/contracts").text
        shown = rows(html, r'<th scope="row"><a href="/partner/contracts/\d+">([^<]+)</a></th>')
        assert sorted(shown) == sorted(k["external_id"] for k in mine), (email, shown)
        got = dict(zip(shown, rows(html, r'data-colour="(\w+)"')))
        assert got == {k["external_id"]: k["colour"] for k in mine}, (email, got)
        amber = b.get("/partner/contracts?colour=amber").text
        assert set(rows(amber, r'data-colour="(\w+)"')) <= {"amber"}
        assert len(rows(amber, r'data-colour="amber"')) == sum(k["colour"] == "amber" for k in mine)
        theirs = {customers[k["customer_id"]]["name"] for k in mine}
        listed = set(rows(b.get("/partner/customers").text, r'<th scope="row"><a href="/partner/customers/\d+">([^<]+)</a></th>'))
        import html as h
        assert {h.unescape(n) for n in listed} == theirs, (email, listed, theirs)
        others = {c["name"] for c in customers.values()} - theirs
        page = text(b.get("/partner/customers").text)
        assert not [n for n in others if n in page], (email, others)
    # Unknown filters and cursors are ignored, not reflected.
    g = Browser(d)
    g.login("gold@sentinel.example")
    assert "<x>" not in g.get("/partner/contracts?colour=%3Cx%3E&cursor=abc").text
    d.stop()
