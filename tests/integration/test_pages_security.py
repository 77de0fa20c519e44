"""Security of the customer portal and the partner portal over plain HTTP
(the browser suite, tests/browser/security.test.mjs, checks the same in
Chromium; this file runs in both builds, so the page code meets hostile
input under AddressSanitizer too).

* a customer named <script>alert(1)</script> is escaped on every page that
  shows the name (portal, purchase page, partner portal);
* POSTs without, or with a wrong, CSRF token are refused 403 and change
  nothing (accept, request, order, decision, logout);
* a revoked link and an expired one (the contract's end + 60 days) get the
  "Link not valid" page, and the sessions they opened end;
* a link opens one customer's data only, and nothing else (no API, no
  partner portal);
* cookies are HttpOnly and SameSite; pages carry the CSP with
  frame-ancestors 'none' and the other security headers.
"""
import datetime
import html
import re
import time
import urllib.parse
from pathlib import Path

import pytest

from conftest import ApiClient, api_user, demo_load, http_request, renewctl

XSS = "<script>alert(1)</script>"
PASSWORD = "pages-security-password"
PARTNER_EMAIL = "renewals@harbour.example"
CSRF_RE = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
MAIL_WAIT = 15.0


def day(s):
    return datetime.date.fromisoformat(s[:10])


class Browser:
    """A cookie jar over http_request: just enough of a browser."""

    def __init__(self, d):
        self.d, self.cookies = d, {}

    def request(self, method, path, form=None):
        h = {}
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            h["Content-Type"] = "application/x-www-form-urlencoded"
        r = http_request(self.d.port, method, path, body=body, headers=h)
        for v in r.headers.get_all("set-cookie") or []:
            name, _, rest = v.partition("=")
            value = rest.split(";", 1)[0]
            if "Max-Age=0" in v:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        r.text = r.body.decode("utf-8", "replace")
        return r

    def get(self, path):
        return self.request("GET", path)

    def post(self, path, form):
        return self.request("POST", path, form)

    def csrf(self, path):
        m = CSRF_RE.search(self.get(path).text)
        assert m, path
        return m.group(1)


def wait_mail(data, ref):
    """The text of the e-mail renewd wrote into DATA/mail with X-Renewd-Ref: ref."""
    deadline = time.monotonic() + MAIL_WAIT
    while time.monotonic() < deadline:
        for f in sorted(Path(data, "mail").glob("*.eml")):
            text = f.read_bytes().decode("utf-8", "replace")
            if f"\nX-Renewd-Ref: {ref}\r\n" in text:
                return text
        time.sleep(0.05)
    raise AssertionError(f"no e-mail {ref} in {data}/mail within {MAIL_WAIT} s")


@pytest.fixture
def world(daemon, tmp_path):
    """The demo store with a vendor admin (API) and a partner admin of
    RES-GOLD (password), renewd with the test clock, mail into DATA/mail."""
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    token, uid = api_user(data, email="admin@x.example")
    p = renewctl("user", "create", "--vendor", "sentinel", "--email", PARTNER_EMAIL, "--role", "partner-admin",
                 "--partner", "3", "--password-stdin", data=data, input=PASSWORD + "\n")
    assert p.returncode == 0, p.stderr
    d = daemon(data=data, args=["--test-clock", "1", "--sched-interval-ms", "3600000"])
    w = ApiClient(d, token, uid)
    w.d, w.data = d, data
    yield w
    d.stop()


def opp_of(w, contract_ext):
    k = next(k for k in w.items("/api/v1/contracts") if k["external_id"] == contract_ext)
    return next(o for o in w.items("/api/v1/opportunities") if o["contract_id"] == k["id"])


def publish(w, contract_ext):
    """Publishes the demo contract's opportunity (the vendor sells); returns
    (opportunity, customer, link token)."""
    o = opp_of(w, contract_ext)
    assert w.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"})["state"] == "published_vendor"
    m = re.search(r"/c/(rd_[A-Za-z0-9_-]{43})", wait_mail(w.data, f"notice:{o['id']}"))
    assert m
    return o, w.get(f"/api/v1/customers/{o['customer_id']}"), m.group(1)


def open_link(w, token):
    b = Browser(w.d)
    r = b.get(f"/c/{token}")
    assert r.status == 303 and r.headers["location"] == "/portal", r
    return b


def partner_login(w):
    b = Browser(w.d)
    r = b.post("/login", {"vendor": "sentinel", "email": PARTNER_EMAIL, "password": PASSWORD})
    assert r.status == 303 and r.headers["location"] == "/partner", r
    return b


def link_refused(w, token, why):
    b = Browser(w.d)
    r = b.get(f"/c/{token}")
    assert r.status == 404, r
    assert "<h1>Link not valid</h1>" in r.text and why in r.text, r.text
    assert "rd_customer" not in b.cookies


def test_a_customer_name_is_escaped_everywhere(world):
    w = world
    bright = next(c for c in w.items("/api/v1/customers") if c["external_id"] == "CUST-1002")
    w.ok("PATCH", f"/api/v1/customers/{bright['id']}", {"name": XSS})
    o, cust, token = publish(w, "K-20003")
    assert cust["name"] == XSS
    b = open_link(w, token)
    escaped = html.escape(XSS, quote=True)
    page = b.get("/portal").text
    assert f"Dear {escaped}," in page and XSS not in page, page
    assert b.post("/portal/accept", {"csrf": b.csrf("/portal"), "accept": "yes"}).status == 303
    purchase = b.get("/portal/purchase").text
    assert f'value="{escaped}"' in purchase and XSS not in purchase, purchase
    p = partner_login(w).get("/partner").text
    assert o["number"] in p and escaped in p and XSS not in p, p


def test_posts_without_the_right_csrf_token_change_nothing(world):
    w = world
    a_opp, _, a_tok = publish(w, "K-20002")
    _, _, b_tok = publish(w, "K-20005")
    a, b = open_link(w, a_tok), open_link(w, b_tok)
    good, other = a.csrf("/portal"), b.csrf("/portal")
    assert good != other
    tasks = len(w.items("/api/v1/tasks"))
    for bad in (None, "", "0" * 64, good[:-1], good + "0", other):
        extra = {} if bad is None else {"csrf": bad}
        for path, form in (("/portal/accept", {"accept": "yes"}), ("/portal/request", {"action": "callback"}),
                           ("/portal/order", {"option": "purchase_order"})):
            r = a.post(path, {**form, **extra})
            assert r.status == 403 and "This form has expired" in r.text, (path, bad, r)
    assert w.get(f"/api/v1/opportunities/{a_opp['id']}")["state"] == "published_vendor"
    assert len(w.items("/api/v1/tasks")) == tasks
    # the partner portal: the decision and sign-out forms
    pb = partner_login(w)
    pending = next(o for o in w.items("/api/v1/opportunities?state=pending_decision") if o["reseller_id"] == 3)
    ptoken = pb.csrf("/partner")
    for bad in (None, "f" * 64, good):
        extra = {} if bad is None else {"csrf": bad}
        assert pb.post(f"/partner/opportunities/{pending['id']}/decision", {"publish": "partner", **extra}).status == 403
        assert pb.post("/logout", extra).status == 403
    assert w.get(f"/api/v1/opportunities/{pending['id']}")["state"] == "pending_decision"
    assert pb.get("/partner").status == 200
    # and the right tokens work
    assert a.post("/portal/request", {"csrf": good, "action": "callback"}).status == 200
    assert len(w.items("/api/v1/tasks")) == tasks + 1
    r = pb.post(f"/partner/opportunities/{pending['id']}/decision", {"publish": "partner", "csrf": ptoken})
    assert r.status == 303, r
    assert w.get(f"/api/v1/opportunities/{pending['id']}")["state"] == "published_partner"


def test_a_customer_request_is_kept_as_typed_or_refused(world):
    """The portal's "Need something else?" form: a message that is not UTF-8
    is refused saying so (it was dropped from the task while the customer was
    thanked), a long non-ASCII message within the limit is kept whole, and a
    refused one creates no task."""
    w = world
    _, _, tok = publish(w, "K-20002")
    a = open_link(w, tok)
    good = a.csrf("/portal")
    # the form's limit is the server's, in bytes: 2000 plain letters (maxlength="2000") were refused
    page = a.get("/portal").text
    m = re.search(r'<textarea id="message" name="message"[^>]*>', page)
    assert m and 'maxlength="1999"' in m.group(0) and 'data-maxbytes="1999"' in m.group(0), m and m.group(0)
    r = a.post("/portal/request", {"csrf": good, "action": "callback", "message": "a" * 2000})
    assert r.status == 400, r
    tasks = len(w.items("/api/v1/tasks"))
    r = a.post("/portal/request", {"csrf": good, "action": "callback", "message": b"call me \xff please"})
    assert r.status == 400 and "message" in r.text.lower(), r
    r = a.post("/portal/request", {"csrf": good, "action": "callback", "message": "\u00e9" * 1000})  # 2000 bytes
    assert r.status == 400 and "too long" in r.text and "accented" in r.text, r
    assert len(w.items("/api/v1/tasks")) == tasks
    msg = "Rappelez-moi, s'il vous pla\u00eet: " + "\u00e9" * 900
    r = a.post("/portal/request", {"csrf": good, "action": "reply", "message": msg})
    assert r.status == 200 and "Thank you" in r.text, r
    (task,) = [t for t in w.items("/api/v1/tasks")][tasks:]
    assert task.get("message") == msg, task


def test_revoked_and_expired_links(world):
    w = world
    r_opp, _, r_tok = publish(w, "K-20006")
    e_opp, _, e_tok = publish(w, "K-20002")
    # revoked: the link, and the session it opened
    s = open_link(w, r_tok)
    assert s.get("/portal").status == 200
    links = w.get(f"/api/v1/opportunities/{r_opp['id']}/links")["items"]
    assert len(links) == 1
    assert w.call("DELETE", f"/api/v1/links/{links[0]['id']}").status == 204
    r = s.get("/portal")
    assert r.status == 401 and "This page needs your renewal link" in r.text, r
    link_refused(w, r_tok, "This link was withdrawn.")
    # expired: the contract's end + 60 days
    end = day(e_opp["contract_end"])
    w.ok("POST", "/api/v1/clock", {"date": (end + datetime.timedelta(days=59)).isoformat()})
    s = open_link(w, e_tok)
    assert s.get("/portal").status == 200
    w.ok("POST", "/api/v1/clock", {"date": (end + datetime.timedelta(days=60)).isoformat()})
    link_refused(w, e_tok, "This link has expired.")
    assert s.get("/portal").status == 401
    # never valid
    for bad in ("rd_" + "A" * 43, e_tok[:-1] + ("A" if e_tok[-1] != "A" else "B"), "x"):
        link_refused(w, bad, "not valid")
    # NUL bytes in a path are bad input before any route reads them (400)
    b = Browser(w.d)
    r = b.get("/c/rd_" + "%00" * 10)
    assert r.status == 400 and "NUL" in r.text and "rd_customer" not in b.cookies, r


def test_a_link_shows_its_own_customer_only(world):
    w = world
    products = {p["id"]: p["name"] for p in w.items("/api/v1/products")}
    contracts = w.items("/api/v1/contracts")
    seen = {}
    for ext in ("K-20002", "K-20005"):
        o, cust, token = publish(w, ext)
        b = open_link(w, token)
        page = b.get("/portal").text
        rows = re.findall(r'<tr class="colour-\w+" data-colour="\w+"><t[dh][^>]*>([^<]*)</t[dh]><td>\d+</td><td>([^<]*)</td>', page)
        # the customer's contracts in the link's channel (the quote's partner's): K-20002's customer
        # also buys through another reseller, whose contract this link does not show
        want = sorted((html.escape(products[k["product_id"]]), k["end"]) for k in contracts
                      if k["customer_id"] == cust["id"] and o["reseller_id"] in (k["reseller_id"], k["distributor_id"]))
        assert sorted(rows) == want, (rows, want)
        seen[ext] = (cust, o, b, page)
    (ca, oa, ba, pa), (cb, ob, bb, pb) = seen["K-20002"], seen["K-20005"]
    assert ca["name"] in pa and cb["name"] not in pa and ob["number"] not in pa
    assert cb["name"] in pb and ca["name"] not in pb and oa["number"] not in pb
    # the customer's session opens nothing else
    cookie = {"Cookie": f"rd_customer={ba.cookies['rd_customer']}"}
    assert http_request(w.d.port, "GET", "/api/v1/customers", headers=cookie).status == 401
    assert http_request(w.d.port, "GET", f"/api/v1/customers/{cb['id']}", headers=cookie).status == 401
    r = http_request(w.d.port, "GET", "/partner", headers=cookie)
    assert r.status == 303 and r.headers["location"] == "/login"
    # nor does a customer's link token work as a session cookie or an API token
    _, _, tok = publish(w, "K-20007")
    assert http_request(w.d.port, "GET", "/portal", headers={"Cookie": f"rd_customer={tok}"}).status == 401
    assert http_request(w.d.port, "GET", "/api/v1/customers", headers={"Authorization": f"Bearer {tok}"}).status == 401


def test_cookies_and_security_headers(world):
    w = world
    _, _, token = publish(w, "K-20002")
    r = http_request(w.d.port, "GET", f"/c/{token}")
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("rd_customer=rd_") and "HttpOnly" in cookie and re.search(r"SameSite=(Lax|Strict)", cookie)
    assert "Path=/" in cookie
    pb = Browser(w.d)
    r = pb.post("/login", {"vendor": "sentinel", "email": PARTNER_EMAIL, "password": PASSWORD})
    session = r.headers["set-cookie"]
    assert session.startswith("rd_session=") and "HttpOnly" in session and re.search(r"SameSite=(Lax|Strict)", session)
    b = open_link(w, token)
    for who, path in ((b, "/portal"), (b, "/portal/purchase"), (pb, "/partner"), (b, "/login"), (b, f"/c/{token}"),
                      (b, "/c/nonsense"), (Browser(w.d), "/portal")):
        r = who.get(path)
        csp = r.headers.get("content-security-policy", "")
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, (path, csp)
        assert r.headers.get("x-frame-options") == "DENY", path
        assert r.headers.get("x-content-type-options") == "nosniff", path


def test_cookies_are_secure_behind_tls(daemon, tmp_path):
    """Behind a TLS proxy (public_url https://...) every cookie renewd sets
    or clears carries Secure; over plain HTTP none does (a browser would drop
    it)."""
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    p = renewctl("user", "create", "--vendor", "sentinel", "--email", PARTNER_EMAIL, "--role", "partner-admin",
                 "--partner", "3", "--password-stdin", data=data, input=PASSWORD + "\n")
    assert p.returncode == 0, p.stderr
    for public, secure in (("https://renewals.example.com", True), (None, False)):
        args = ["--test-clock", "1", "--sched-interval-ms", "3600000"]
        if public:
            args += ["--public-url", public]
        d = daemon(data=data, args=args)
        b = Browser(d)
        r = b.post("/login", {"vendor": "sentinel", "email": PARTNER_EMAIL, "password": PASSWORD})
        assert r.status == 303, r
        cookies = list(r.headers.get_all("set-cookie") or [])
        csrf = CSRF_RE.search(b.get("/partner").text).group(1)
        r = b.post("/logout", {"csrf": csrf})
        cookies += list(r.headers.get_all("set-cookie") or [])
        api = http_request(d.port, "POST", "/api/v1/session", body=json_body(PARTNER_EMAIL),
                           headers={"Content-Type": "application/json"})
        assert api.status in (200, 201), api
        cookies += list(api.headers.get_all("set-cookie") or [])
        assert len(cookies) == 3, cookies
        for c in cookies:
            assert ("; Secure" in c) == secure, (public, c)
        d.stop()


def json_body(email):
    import json
    return json.dumps({"vendor": "sentinel", "email": email, "password": PASSWORD}).encode()


def test_a_browser_gets_a_page_for_an_address_with_no_page(daemon, tmp_path):
    """A browser (Accept: text/html) opening an address that has no page (a
    mistyped or stale bookmark under /vendor, /partner, /portal) or a form's
    address by GET (the address bar after a refused form: /partner/deals/1)
    gets a page saying so, not the API's JSON error; API clients, and every
    /api/ address, still get the JSON error."""
    from conftest import demo_load, http_request
    from test_pages_console import check_page
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    d = daemon(data=data, args=["--test-clock", "1"])
    html = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
    for method, path, status, words in (("GET", "/vendor/nosuch", 404, "no page"),
                                        ("GET", "/partner/nosuch/1", 404, "no page"),
                                        ("GET", "/portal/nosuch", 404, "no page"),
                                        ("GET", "/partner/deals/1", 405, "form"),
                                        ("GET", "/partner/leads/1", 405, "form")):
        r = http_request(d.port, method, path, headers=html)
        assert r.status == status, (path, r)
        body = check_page(r, path)
        assert '{"error"' not in body and words in body.lower(), (path, body[:600])
        assert "<script" not in body.replace('<script src="/static/', "")
        r = http_request(d.port, method, path)
        assert r.status == status and r.headers["content-type"].startswith("application/json"), (path, r)
    r = http_request(d.port, "GET", "/api/v1/nosuch", headers=html)
    assert r.status == 404 and r.headers["content-type"].startswith("application/json"), r
    # the path is not echoed into the page unescaped
    r = http_request(d.port, "GET", "/vendor/%3Cscript%3Ealert(1)%3C/script%3E", headers=html)
    assert r.status == 404 and "<script>alert" not in check_page(r, "hostile path")
    d.stop()


def test_a_browser_form_too_large_gets_a_page(daemon, tmp_path):
    """A form a browser sends over the body limit (a long paste, a large
    file) is answered 413 with a page saying what happened and what to do,
    as the 404 and 405 pages are, not the API's JSON; API clients and /api/
    addresses still get the JSON error naming the limit.  Both refusals:
    h2o's at the head (a Content-Length over the connection's limit, an
    anonymous /login) and renewd's at the route (a chunked body)."""
    from conftest import demo_load, http_request, raw_connect
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    d = daemon(data=data, args=["--test-clock", "1", "--max-body-bytes", "4096"])
    accept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    html = {"Accept": accept, "Content-Type": "application/x-www-form-urlencoded"}
    big = b"vendor=sentinel&email=a%40b.example&password=" + b"x" * 200000
    r = http_request(d.port, "POST", "/login", body=big, headers=html)
    assert r.status == 413, r
    assert r.headers["content-type"].startswith("text/html"), r.headers
    body = r.body.decode()
    assert "<h1>" in body and "larger than" in body and "nothing was saved" in body, body
    assert '{"error"' not in body
    assert "frame-ancestors 'none'" in r.headers.get("content-security-policy", ""), r.headers
    # the API's clients: JSON as before
    r = http_request(d.port, "POST", "/login", body=big, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status == 413 and r.headers["content-type"].startswith("application/json"), r
    r = http_request(d.port, "POST", "/api/v1/session", body=big, headers=html)
    assert r.status == 413 and r.headers["content-type"].startswith("application/json"), r
    # a chunked body over the route's limit (renewd's own check): the branded page
    s = raw_connect(d.port, 10)
    try:
        chunk = b"x" * 8192
        s.sendall(b"POST /login HTTP/1.1\r\nHost: t\r\nAccept: " + accept.encode() +
                  b"\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n" +
                  b"%x\r\n" % len(chunk) + chunk + b"\r\n0\r\n\r\n")
        got = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and b"</html>" not in got:
            part = s.recv(65536)
            if not part:
                break
            got += part
    finally:
        s.close()
    assert got.startswith(b"HTTP/1.1 413"), got[:300]
    assert b"text/html" in got.split(b"\r\n\r\n")[0].lower() and b"larger than" in got, got[:1500]
    d.stop()


def test_the_purchase_form_limits_are_the_servers(world):
    """The purchase page's billing fields had no maxlength: a company or
    address longer than the order keeps (127 bytes; a city 63, a postcode 15)
    was typed in full and refused after Buy.  Each field's maxlength and
    data-maxbytes is the byte limit the checkout service keeps, so the
    browser stops there and portal.js names a field over it in bytes."""
    w = world
    _, _, tok = publish(w, "K-20002")
    a = open_link(w, tok)
    assert a.post("/portal/accept", {"csrf": a.csrf("/portal"), "accept": "yes"}).status == 303
    page = a.get("/portal/purchase").text
    for name, limit in (("company", 127), ("address_line1", 127), ("address_line2", 127), ("city", 63),
                        ("postcode", 15), ("country", 2), ("email", 127)):
        m = re.search(r'<input id="%s" [^>]*>' % name, page)
        assert m, (name, page[:2000])
        assert f'maxlength="{limit}"' in m.group(0) and f'data-maxbytes="{limit}"' in m.group(0), m.group(0)
