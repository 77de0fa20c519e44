"""Partners cannot reach each other's customers (docs/security.md).

Two resellers of one vendor share a customer: Abbott Dental Group
(CUST-1001) renews K-20001 through RES-PLAT (Bluefin, the victim) and
K-20002 through RES-GOLD (Harbour, the attacker).  The attack on the old
code: Harbour's partner admin PATCHes Abbott's e-mail to its own inbox,
decides its own opportunity, receives the customer's portal link, and
through the portal lists and downloads Bluefin's contract and documents,
which the API hides from it.  Here every step fails, and every later step
fails on its own too (with a link the customer legitimately has, or one the
vendor's people sent to the attacker's inbox).

Also: the customer's views carry no internal field (lost reason, notes,
margins...); document names are clean UTF-8; a contract's documents follow
the contract to its new customer (edit, merge); every use of a link (page,
API, action, refused use) is audited under the link's id, never with its
token.
"""
import json
import re
import urllib.parse

import pytest

from conftest import ApiClient, api_user, assert_json_error, demo_load, http_request
from test_pages_security import Browser, CSRF_RE, wait_mail

PASSWORD = "trust-portal-password"
ATTACKER_INBOX = "inbox@harbour.example"
GOLD, PLAT, DIST = 3, 2, 1  # RES-GOLD (Harbour), RES-PLAT (Bluefin), DIST-NW: the demo's partner ids
PLAT_PDF = b"%PDF-1.4\nBluefin's contract with Abbott: CONFIDENTIAL-PLAT\n%%EOF\n"
GOLD_PDF = b"%PDF-1.4\nHarbour's contract with Abbott\n%%EOF\n"


@pytest.fixture
def world(daemon, tmp_path):
    """The demo store; the vendor admin, Harbour's partner admin (API and
    password) and partner sales, Northwind's (the distributor of both)
    partner admin; renewd on the test clock, mail into DATA/mail."""
    from conftest import renewctl
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    admin = api_user(data, email="admin@x.example")
    gold = api_user(data, email="gold-admin@harbour.example", role="partner-admin", partner=str(GOLD))
    gold_sales = api_user(data, email="gold-sales@harbour.example", role="partner-sales", partner=str(GOLD))
    dist = api_user(data, email="dist-admin@northwind.example", role="partner-admin", partner=str(DIST))
    p = renewctl("user", "create", "--vendor", "sentinel", "--email", "web@harbour.example", "--role", "partner-admin",
                 "--partner", str(GOLD), "--password-stdin", data=data, input=PASSWORD + "\n")
    assert p.returncode == 0, p.stderr
    d = daemon(data=data, args=["--test-clock", "1", "--sched-interval-ms", "3600000"])
    w = ApiClient(d, *admin)
    w.d, w.data = d, data
    w.gold, w.gold_sales, w.dist = ApiClient(d, *gold), ApiClient(d, *gold_sales), ApiClient(d, *dist)
    w.contracts = {k["external_id"]: k for k in w.items("/api/v1/contracts")}
    w.customers = {c["external_id"]: c for c in w.items("/api/v1/customers")}
    yield w
    d.stop()


def upload(w, contract_id, body, name):
    r = w.call("POST", f"/api/v1/contracts/{contract_id}/documents?name={urllib.parse.quote(name)}",
               body=body, headers={"Content-Type": "application/pdf"})
    assert r.status == 201, r
    return r.json()


def opportunity(w, ext):
    k = w.contracts[ext]
    return next(o for o in w.items("/api/v1/opportunities") if o["contract_id"] == k["id"])


def mail_of(w, opp_id):
    """(To: address, link token) of the customer notice for the opportunity."""
    text = wait_mail(w.data, f"notice:{opp_id}")
    to = re.search(r"^To: (.*)$", text, re.M).group(1).strip()
    m = re.search(r"/c/(rd_[A-Za-z0-9_-]{43})", text)
    assert m, text
    return to, m.group(1)


def decide(client, opp_id):
    r = client.call("POST", f"/api/v1/opportunities/{opp_id}/decision", {"publish": "vendor"})
    assert r.status == 200 and r.json()["state"] == "published_vendor", r


def open_link(w, token):
    b = Browser(w.d)
    r = b.get(f"/c/{token}")
    assert r.status == 303 and r.headers["location"] == "/portal", r
    return b


def portal_api(w, token, status=200):
    r = http_request(w.d.port, "GET", "/api/v1/portal", headers={"Authorization": f"Bearer {token}"})
    assert r.status == status, r
    return r.json()


def link_id(w, opp_id):
    links = w.get(f"/api/v1/opportunities/{opp_id}/links")["items"]
    assert len(links) == 1, links
    return links[0]["id"]


def audit_of_link(w, lid):
    return w.get(f"/api/v1/audit?object=links&object_id={lid}&limit=500")["items"]


def test_a_reseller_never_reaches_a_competitors_contracts(world):
    w = world
    abbott = w.customers["CUST-1001"]
    k_plat, k_gold = w.contracts["K-20001"], w.contracts["K-20002"]
    assert (k_plat["customer_id"], k_plat["reseller_id"]) == (abbott["id"], PLAT)
    assert (k_gold["customer_id"], k_gold["reseller_id"]) == (abbott["id"], GOLD)
    plat_doc = upload(w, k_plat["id"], PLAT_PDF, "Bluefin contract.pdf")
    gold_doc = upload(w, k_gold["id"], GOLD_PDF, "Harbour contract.pdf")
    # What the API hides from Harbour, to begin with.
    for path in (f"/api/v1/contracts/{k_plat['id']}", f"/api/v1/documents/{plat_doc['id']}/content",
                 f"/api/v1/contracts/{k_plat['id']}/documents"):
        assert_json_error(w.gold.call("GET", path), 404)

    # Step 1: the customer's identity is not Harbour's to redirect.  Its
    # e-mail, any other field, its contacts (new, edited, removed, moved
    # in), a merge: each refused, nothing changed.
    for body in ({"email": ATTACKER_INBOX}, {"phone": "+44 1 2345"}, {"name": "Abbott (Harbour)"}):
        err = assert_json_error(w.gold.call("PATCH", f"/api/v1/customers/{abbott['id']}", body), 403, "forbidden")
        assert "vendor" in err["message"] and "Bluefin" not in err["message"], err
    assert w.get(f"/api/v1/customers/{abbott['id']}") == abbott
    contact = w.ok("POST", "/api/v1/contacts", {"customer_id": abbott["id"], "name": "Ann Abbott",
                                                 "email": "ann@abbott.example"})
    for who in (w.gold, w.gold_sales):
        assert_json_error(who.call("POST", "/api/v1/contacts", {"customer_id": abbott["id"], "name": "Billing",
                                                                "email": ATTACKER_INBOX}), 403, "forbidden")
        assert_json_error(who.call("PATCH", f"/api/v1/contacts/{contact['id']}", {"email": ATTACKER_INBOX}), 403)
    assert_json_error(w.gold.call("DELETE", f"/api/v1/contacts/{contact['id']}"), 403)
    assert w.get(f"/api/v1/contacts/{contact['id']}") == contact
    assert [c["id"] for c in w.items(f"/api/v1/contacts?customer={abbott['id']}")] == [contact["id"]]
    brightwater = w.customers["CUST-1002"]  # Harbour's alone
    own = w.gold.ok("POST", "/api/v1/contacts", {"customer_id": brightwater["id"], "name": "Bo Bright"}, status=201)
    assert_json_error(w.gold.call("PATCH", f"/api/v1/contacts/{own['id']}", {"customer_id": abbott["id"]}), 403)
    assert_json_error(w.gold.call("POST", f"/api/v1/customers/{brightwater['id']}/merge", {"from": [abbott["id"]]}), 403)
    assert_json_error(w.gold.call("POST", f"/api/v1/customers/{abbott['id']}/merge", {"from": [brightwater["id"]]}), 403)
    assert w.get(f"/api/v1/customers/{abbott['id']}") == abbott
    # ...while a customer that is Harbour's alone stays Harbour's to edit,
    # and the distributor of both channels, and the vendor, edit Abbott.
    assert w.gold.ok("PATCH", f"/api/v1/customers/{brightwater['id']}", {"email": "it2@brightwater.example"})[
        "email"] == "it2@brightwater.example"
    assert w.dist.ok("PATCH", f"/api/v1/customers/{abbott['id']}", {"phone": "+44 20 1111"})["phone"] == "+44 20 1111"
    assert w.ok("PATCH", f"/api/v1/customers/{abbott['id']}", {"phone": "+44 20 2222"})["phone"] == "+44 20 2222"

    # Step 2: Harbour decides its own quote; the link goes to the customer,
    # and Harbour reads neither the outbox nor any link's secret.
    o_gold = opportunity(w, "K-20002")
    o_others = [o for o in w.items("/api/v1/opportunities") if o["reseller_id"] != GOLD]
    assert o_others
    decide(w.gold, o_gold["id"])
    to, customer_token = mail_of(w, o_gold["id"])
    assert to == abbott["email"] != ATTACKER_INBOX, to
    assert_json_error(w.gold.call("GET", "/api/v1/outbox"), 403)
    links = w.gold.get(f"/api/v1/opportunities/{o_gold['id']}/links")["items"]
    assert len(links) == 1 and set(links[0]) == {"id", "vendor_id", "customer_id", "opportunity_id", "expires_at",
                                                  "revoked_at"}, links
    assert customer_token not in json.dumps(links)
    for o in o_others[:3]:
        assert_json_error(w.gold.call("GET", f"/api/v1/opportunities/{o['id']}/links"), 404)
        assert_json_error(w.gold.call("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"}), 404)
    # The partner portal's pages show Harbour's channel only.
    pb = Browser(w.d)
    assert pb.post("/login", {"vendor": "sentinel", "email": "web@harbour.example", "password": PASSWORD}).status == 303
    page = pb.get("/partner/contracts").text
    assert "K-20002" in page and "K-20001" not in page, page
    sales = pb.get(f"/sales/opportunities/{o_gold['id']}")
    assert sales.status == 200 and k_gold["end"] in sales.text and k_plat["end"] not in sales.text, sales.text
    partner_page = pb.get("/partner").text
    assert o_gold["number"] in partner_page and all(o["number"] not in partner_page for o in o_others)

    # Step 3, on its own: with the link Abbott legitimately has (forwarded
    # to Harbour, or had Harbour got hold of the e-mail some other way), no
    # portal page and no portal call shows anything of Bluefin's.
    b = open_link(w, customer_token)
    page = b.get("/portal").text
    assert "Harbour contract.pdf" in page and f'/portal/documents/{gold_doc["id"]}"' in page, page
    assert "Bluefin contract.pdf" not in page and f'/portal/documents/{plat_doc["id"]}"' not in page, page
    assert k_plat["end"] not in page and k_gold["end"] in page, page
    r = b.get(f"/portal/documents/{plat_doc['id']}")
    assert r.status == 404 and b"CONFIDENTIAL-PLAT" not in r.body, r
    r = b.get(f"/portal/documents/{gold_doc['id']}")
    assert r.status == 200 and r.body == GOLD_PDF, r
    view = portal_api(w, customer_token)
    assert [k["id"] for k in view["contracts"]] == [k_gold["id"]], view["contracts"]
    assert [d["id"] for d in view["contracts"][0]["documents"]] == [gold_doc["id"]], view
    assert "Bluefin contract.pdf" not in json.dumps(view)
    r = b.get("/portal/quote.pdf")  # the link's own quote
    assert r.status == 200 and r.body.startswith(b"%PDF"), r

    # The customer still reaches Bluefin's contracts, through Bluefin's
    # link (a second Bluefin contract of Abbott's comes up for renewal).
    import datetime
    today = datetime.date.fromisoformat(w.get("/api/v1/clock")["today"])
    k_plat2 = w.ok("POST", "/api/v1/contracts", {
        "external_id": "K-ABBOTT-PLAT", "customer_id": abbott["id"], "product_id": k_plat["product_id"],
        "reseller_id": PLAT, "quantity": 5, "start": (today - datetime.timedelta(days=340)).isoformat(),
        "end": (today + datetime.timedelta(days=25)).isoformat()}, status=201)
    w.ok("POST", "/api/v1/clock", {"date": (today + datetime.timedelta(days=1)).isoformat()})  # the next sweep quotes it
    w.contracts["K-ABBOTT-PLAT"] = k_plat2
    o_plat = opportunity(w, "K-ABBOTT-PLAT")
    decide(w, o_plat["id"])
    to, plat_token = mail_of(w, o_plat["id"])
    assert to == "it@abbott.example"
    view = portal_api(w, plat_token)
    assert [k["id"] for k in view["contracts"]] == [k_plat["id"], k_plat2["id"]], view["contracts"]
    b = open_link(w, plat_token)
    assert b.get(f"/portal/documents/{plat_doc['id']}").body == PLAT_PDF
    assert b.get(f"/portal/documents/{gold_doc['id']}").status == 404
    # Harbour can neither list nor withdraw Bluefin's link.
    plat_link = link_id(w, o_plat["id"])
    assert_json_error(w.gold.call("GET", f"/api/v1/opportunities/{o_plat['id']}/links"), 404)
    assert_json_error(w.gold.call("DELETE", f"/api/v1/links/{plat_link}"), 404)
    assert portal_api(w, plat_token)["opportunity"]["id"] == o_plat["id"]

    # Every use of Harbour's link was audited under its id, never with the token.
    notes = [a["note"] for a in audit_of_link(w, links[0]["id"])]
    for want in ("customer link opened", "customer link: GET /portal", "customer link: GET /api/v1/portal",
                 f"customer link: GET /portal/documents/{{id}} (id {plat_doc['id']})",
                 f"customer link: GET /portal/documents/{{id}} (id {gold_doc['id']})",
                 "customer link: GET /portal/quote.pdf"):
        assert want in notes, (want, notes)
    everything = json.dumps(w.get("/api/v1/audit?limit=500"))
    assert customer_token not in everything and plat_token not in everything


def test_customer_views_carry_no_internal_field(world):
    """lost_reason, sales notes, margins, net totals, policy versions,
    attention, the customer's segment and external id, the channel's ids:
    in no customer view, page or API, whatever the quote's state."""
    w = world
    o = opportunity(w, "K-20005")  # Bluefin's, Dunmore Architects
    w.ok("PATCH", f"/api/v1/customers/{o['customer_id']}", {"segment": "SECRET-SEGMENT"})
    decide(w, o["id"])
    _, token = mail_of(w, o["id"])
    w.ok("PATCH", f"/api/v1/opportunities/{o['id']}", {"note": "SECRET-NOTE: they pay anything", "discount_bp": 500})
    b = open_link(w, token)
    forbidden = ("lost_reason", "notes", "margins", "net_total", "policy_version", "attention", "shares", "segment",
                 "external_id", "reseller_id", "distributor_id", "user_id", "sha256", "quoted", "decided_by_default",
                 "SECRET-")
    for stage in ("open", "lost"):
        if stage == "lost":
            w.ok("PATCH", f"/api/v1/opportunities/{o['id']}", {"state": "lost",
                                                                "lost_reason": "SECRET-LOST: cheaper elsewhere"})
            assert "SECRET-LOST" in json.dumps(w.get(f"/api/v1/opportunities/{o['id']}"))
        view = portal_api(w, token)
        text = json.dumps(view)
        for word in forbidden:
            assert word not in text, (stage, word, text)
        assert set(view) == {"customer", "contracts", "opportunity"}
        assert view["opportunity"]["number"] == o["number"] and view["opportunity"]["discount_bp"] == 500
        assert view["opportunity"]["lines"] and all("list" in line for line in view["opportunity"]["lines"])
        page = b.get("/portal")
        assert page.status == 200
        assert "SECRET-" not in page.text, (stage, page.text)


def test_document_names_are_clean_utf8(world):
    w = world
    k = w.contracts["K-20003"]
    path = f"/api/v1/contracts/{k['id']}/documents"
    before = w.get(path)["items"]

    def up(raw):
        return w.call("POST", f"{path}?name={raw}", body=b"x", headers={"Content-Type": "text/plain"})

    for raw, says in (("%FF.pdf", "UTF-8"), ("%C0%AF.pdf", "UTF-8"), ("%ED%A0%80.pdf", "UTF-8"),
                      ("a%E2%82.pdf", "UTF-8"), ("%F4%90%80%80.pdf", "UTF-8"), ("%80abc", "UTF-8"),
                      ("a%C2%85b.pdf", "control"), ("a%C2%9Bb.pdf", "control"), ("a%E2%80%A8b", "control"),
                      ("a%09b", "control"), ("a%7Fb", "control"),
                      ("invoice%E2%80%AEfdp.exe", "direction"), ("x%E2%81%A6y", "direction"),
                      ("%C3%A9" * 64, "127 bytes"), ("a%5Cb", "slashes"), ("a%22b", "double quotes")):
        err = assert_json_error(up(raw), 400, "invalid")
        assert err["field"] == "name" and says in err["message"], (raw, err)
    assert w.get(path)["items"] == before
    # Clean UTF-8 is welcome, up to 127 bytes; the download names it in
    # both forms (RFC 6266 filename and filename*).
    name = "Vertrag Müller €.pdf"
    doc = upload(w, k["id"], b"%PDF-1.4 ok", name)
    assert doc["name"] == name
    r = w.call("GET", f"/api/v1/documents/{doc['id']}/content")
    assert r.status == 200 and r.body == b"%PDF-1.4 ok"
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"Vertrag Mller .pdf\"; filename*=UTF-8''Vertrag%20M%C3%BCller%20%E2%82%AC.pdf"), r.headers
    assert up("%C3%A9" * 63 + "x").status == 201


def test_documents_follow_the_contract_to_its_owner(world):
    w = world
    k = w.contracts["K-20003"]  # Harbour's, Brightwater
    bright, elm = w.customers["CUST-1002"], w.customers["CUST-1005"]
    assert k["customer_id"] == bright["id"] and w.contracts["K-20006"]["customer_id"] == elm["id"]
    assert w.contracts["K-20006"]["reseller_id"] == k["reseller_id"] == GOLD
    doc = upload(w, k["id"], GOLD_PDF, "Brightwater certificate.pdf")
    ob, oe = opportunity(w, "K-20003"), opportunity(w, "K-20006")
    decide(w, ob["id"])
    decide(w, oe["id"])
    _, tb = mail_of(w, ob["id"])
    _, te = mail_of(w, oe["id"])
    b, e = open_link(w, tb), open_link(w, te)  # sessions each customer legitimately has
    assert b.get(f"/portal/documents/{doc['id']}").body == GOLD_PDF
    assert e.get(f"/portal/documents/{doc['id']}").status == 404
    csrf = b.csrf("/portal")

    def sees(browser, token):
        page = browser.get("/portal")
        listed = f'/portal/documents/{doc["id"]}"' in page.text
        r = browser.get(f"/portal/documents/{doc['id']}")
        got = r.status == 200 and r.body == GOLD_PDF
        view = http_request(w.d.port, "GET", "/api/v1/portal", headers={"Authorization": f"Bearer {token}"})
        assert view.status == page.status, (view, page.status)
        api = view.status == 200 and any(d["id"] == doc["id"] for k2 in view.json()["contracts"]
                                         for d in k2["documents"])
        assert listed == got == api, (listed, got, api)
        return got

    # The contract is edited over to Elm: the document goes with it, and so
    # does its quote (Brightwater's link for it shows, and sells, nothing more).
    w.ok("PATCH", f"/api/v1/contracts/{k['id']}", {"customer_id": elm["id"]})
    assert not sees(b, tb) and sees(e, te)
    assert b.get("/portal").status == 404 and b.get("/portal/quote.pdf").status == 404
    assert portal_api(w, tb, status=404)["error"]["code"] == "not_found"
    r = b.post("/portal/accept", {"csrf": csrf, "accept": "yes"})
    assert r.status == 409 and "no longer available" in r.text, r
    r = b.post("/portal/order", {"csrf": csrf, "option": "purchase_order", "po_number": "PO-1",
                                 "order_key": "k" * 32})
    assert r.status == 404, r
    assert w.get(f"/api/v1/opportunities/{ob['id']}")["state"] == "published_vendor"
    assert not w.items("/api/v1/orders")
    assert w.get(f"/api/v1/documents/{doc['id']}")["customer_id"] == elm["id"]
    assert w.get(f"/api/v1/contracts/{k['id']}/documents")["items"][0]["customer_id"] == elm["id"]
    # Elm is merged into Brightwater: back to Brightwater's link.
    w.ok("POST", f"/api/v1/customers/{bright['id']}/merge", {"from": [elm["id"]]})
    assert sees(b, tb)
    assert e.get(f"/portal/documents/{doc['id']}").status in (401, 404)
    assert w.get(f"/api/v1/documents/{doc['id']}")["customer_id"] == bright["id"]


def test_every_use_of_a_link_is_audited(world):
    w = world
    o = opportunity(w, "K-20005")
    decide(w, o["id"])
    _, token = mail_of(w, o["id"])
    lid = link_id(w, o["id"])
    b = open_link(w, token)
    assert b.get("/portal").status == 200
    assert b.get("/portal/purchase").status == 409  # not accepted yet: still a use
    csrf = CSRF_RE.search(b.get("/portal").text).group(1)
    assert b.post("/portal/request", {"csrf": csrf, "action": "callback"}).status == 200
    portal_api(w, token)
    r = http_request(w.d.port, "POST", "/api/v1/portal/actions", body=json.dumps({"action": "reply"}).encode(),
                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    assert r.status == 201, r
    w.ok("DELETE", f"/api/v1/links/{lid}", status=204)
    assert Browser(w.d).get(f"/c/{token}").status == 404
    portal_api(w, token, status=401)
    assert b.get("/portal").status == 401  # the session ended with the link

    entries = audit_of_link(w, lid)
    got = [(a["action"], a["note"]) for a in entries]
    want = [("login", "customer link opened"),
            ("access", "customer link: GET /portal"),
            ("access", "customer link: GET /portal/purchase"),
            ("access", "customer link: GET /portal"),
            ("access", "customer link: POST /portal/request"),
            ("access", "customer link: GET /api/v1/portal"),
            ("access", "customer link: POST /api/v1/portal/actions"),
            ("revoke", "customer link revoked"),
            ("login", "customer link refused: revoked"),
            ("access", "customer link: GET /api/v1/portal: refused: revoked")]
    assert got == want, got
    assert all(a["object"] == "links" and a["object_id"] == lid for a in entries)
    session = b.cookies.get("rd_customer") or ""
    everything = json.dumps(w.get("/api/v1/audit?limit=500"))
    assert token not in everything and token[3:] not in everything
    assert not session or session not in everything
