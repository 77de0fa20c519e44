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


def demo_world(daemon, tmp_path):
    """The demo store with USERS made, renewd on the test clock: (daemon,
    the vendor admin's ApiClient, every user's (token, id) by e-mail)."""
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    tokens = {e: make_user(data, e, r, p) for e, r, p in USERS}
    d = daemon(data=data, args=["--test-clock", "1"])
    return d, ApiClient(d, *tokens["admin@sentinel.example"]), tokens


def test_partner_contracts_and_customers(daemon, tmp_path):
    d, api, tokens = demo_world(daemon, tmp_path)
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


def test_deal_form_hostile_input(daemon, tmp_path):
    """The partner's deal registration form refuses what it cannot keep as
    typed -- seats that are not a whole number from 0 to 100,000,000 (not
    wrapped to 4,294,967,291 or read as 0), a new customer's name over its 127
    bytes (not cut, and never inside a character), bytes that are not UTF-8
    (every page form refuses them: web.c), a situation over its 511 bytes (the service refuses it for the API too) --
    with a message naming the field, registering nothing and creating no
    customer; and the form comes back with what was typed in it."""
    import datetime
    import html as h

    d, api, tokens = demo_world(daemon, tmp_path)
    today = datetime.date.fromisoformat(api.get("/api/v1/clock")["today"])
    products = {p["sku"]: p for p in api.items("/api/v1/products")}
    n_customers = len(api.items("/api/v1/customers"))
    b = Browser(d)
    assert b.login("plat@sentinel.example").endswith("/partner")
    b.get("/partner/deals")
    close = (today + datetime.timedelta(days=40)).isoformat()
    form = {"customer_id": "new", "customer_name": "Brightwater <Logistics> \u00e9t\u00e9", "customer_email": "",
            "customer_postcode": "LS1 4AP", "customer_external_id": "", "product": str(products["DLP-EP"]["id"]),
            "seats": "30", "value": "12000.50", "close_date": close,
            "situation": "renewing with a competitor & \"soon\"", "notes": "call Tuesday"}
    for field, value, named in (("seats", "-5", "Seats"), ("seats", "abc", "Seats"), ("seats", "1.5", "Seats"),
                                ("seats", "99999999999999999999", "Seats"), ("seats", "100000001", "Seats"),
                                ("customer_name", "B" * 126 + "\u00e9", "customer.name"),
                                ("customer_name", "A" * 3000, "customer.name"),
                                ("customer_email", "not an address", "customer.email"),
                                ("situation", "\u00e9" * 300, "situation"),
                                ("notes", "n" * 2048, "notes")):
        r = b.post("/partner/deals", {**form, field: value}, status=400)
        page = text(r.text)
        assert named in page, (field, value, page[:600])
        # what was typed is kept (the refused field too, when it is text)
        kept = {k: v for k, v in form.items() if k != field}
        for k in ("customer_name", "customer_postcode", "seats", "value", "close_date"):
            if k in kept:
                m = re.search(rf'id="{k}"[^>]* value="([^"<>]*)"', r.text)
                assert m and h.unescape(m.group(1)) == kept[k], (field, k, m)
        for k in ("situation", "notes"):
            if k in kept:
                m = re.search(rf'id="{k}"[^>]*>([^<>]*)</textarea>', r.text)
                assert m and h.unescape(m.group(1)) == kept[k], (field, k, m)
        assert re.search(rf'<option value="{products["DLP-EP"]["id"]}" selected>', r.text), field
        assert "<Logistics>" not in r.text
    # bytes that are not UTF-8 (no browser sends them from a UTF-8 page): refused naming the field
    r = b.post("/partner/deals", {**form, "customer_name": b"Caf\xe9 Ltd"}, status=400)
    assert 'the field "customer_name"' in text(r.text), text(r.text)[:400]
    assert api.items("/api/v1/deals") == []
    assert len(api.items("/api/v1/customers")) == n_customers
    # the API's registration: the same rule for the situation (the service's)
    r = api.call("POST", "/api/v1/deals", {"partner_id": PLAT, "customer": {"name": "Some Co"},
                                           "products": [products["DLP-EP"]["id"]], "close_date": close,
                                           "situation": "\u00e9" * 300})
    assert r.status == 400 and r.json()["error"]["field"] == "situation", r
    # and the form as typed registers
    b.post("/partner/deals", form)
    (deal,) = api.items("/api/v1/deals")
    assert deal["seats"] == 30 and deal["situation"] == form["situation"], deal
    assert api.get(f"/api/v1/customers/{deal['customer_id']}")["name"] == form["customer_name"]
    d.stop()


def test_partner_nav_lists_what_the_role_opens(daemon, tmp_path):
    """The partner portal's navigation lists the sections the role may open:
    a partner's sales person (who may not see commissions) is not offered
    Statements, whose page answered "Not allowed"; every link it is offered
    opens; the partner's administrator has Statements."""
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    for e, r, p in USERS:
        make_user(data, e, r, p)
    d = daemon(data=data, args=["--test-clock", "1"])
    for email, statements in (("gold@sentinel.example", False), ("plat@sentinel.example", True)):
        b = Browser(d)
        b.login(email)
        for page in ("/partner", "/partner/contracts", "/partner/deals"):
            nav = re.search(r'<nav[^>]*aria-label="Partner portal".*?</nav>', b.get(page).text, re.S).group(0)
            links = re.findall(r'href="(/partner[^"]*)"', nav)
            assert ("/partner/statements" in links) == statements, (email, page, links)
            for href in links:
                b.get(href)  # 200
    d.stop()
