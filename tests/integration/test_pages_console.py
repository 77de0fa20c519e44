"""The vendor console and the sales view, driven as a browser would: a
password login through the form, the CSRF token read from the page,
url-encoded forms, the session cookie.

* every console page answers with the security headers, for the roles the
  matrix lets in (partner roles are sent to their portal, other roles get
  403 pages);
* imports from pasted CSV, with their result and row errors, audited;
* policies: an upload refused with the line of its syntax error, one refused
  by its test vectors, one stored; the dry-run report; activation and roll
  back; all audited;
* plugins: a refused plugin with its reason, an enablement refused field by
  field, one made and removed, audited;
* the sales view: the customer's contracts and quote, the margins; a
  discount within the vendor's bound (visible on the customer's portal and
  purchase page), one beyond it refused, marked lost with a reason, notes
  and tasks, by the roles that may; the same rule through PATCH
  /api/v1/opportunities/{id}; every change audited;
* a POST without its CSRF token, or with a wrong one, is refused with 403
  and changes nothing.
"""
import json
import re
import time
import urllib.parse
from pathlib import Path

import pytest

from conftest import ApiClient, demo_load, http_request, renewctl

PASSWORD = "correct-horse-battery"
CSRF_RE = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
# The demo's partners: 1 DIST-NW (distributor), 2 RES-PLAT, 3 RES-GOLD, 4 RES-SILV (its resellers).
GOLD = 3

USERS = [
    ("admin@sentinel.example", "vendor-admin", None),
    ("cm@sentinel.example", "channel-manager", None),
    ("vsales@sentinel.example", "vendor-sales", None),
    ("gold-sales@sentinel.example", "partner-sales", GOLD),
    ("plat-sales@sentinel.example", "partner-sales", 2),
]


def make_user(data, email, role, partner):
    args = ["user", "create", "--vendor", "sentinel", "--email", email, "--role", role, "--password-stdin"]
    if partner:
        args += ["--partner", str(partner)]
    p = renewctl(*args, data=data, input=PASSWORD + "\n")
    assert p.returncode == 0, f"{args}: {p.stdout}\n{p.stderr}"
    uid = int(re.search(r"user (\d+) ", p.stderr + p.stdout).group(1))
    return p.stdout.strip(), uid


class World:
    pass


@pytest.fixture
def world(daemon, tmp_path):
    """The demo store, one user per role (with passwords and API tokens),
    renewd on the test clock with a plugin directory holding one broken
    plugin."""
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    w = World()
    w.data = data
    w.tokens, w.uids = {}, {}
    for email, role, partner in USERS:
        w.tokens[email], w.uids[email] = make_user(data, email, role, partner)
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "broken.so").write_bytes(b"this is not a shared object\n")
    w.d = daemon(data=data, args=["--test-clock", "1", "--plugin-dir", str(plugins)])
    w.api = ApiClient(w.d, w.tokens["admin@sentinel.example"], w.uids["admin@sentinel.example"])
    return w


# ---- a small browser ----------------------------------------------------------------------------------


def check_security_headers(r, what):
    csp = r.headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp and "default-src 'self'" in csp, (what, csp)
    assert "unsafe-inline" not in csp, (what, csp)
    assert r.headers.get("x-frame-options") == "DENY", what
    assert r.headers.get("x-content-type-options") == "nosniff", what
    assert r.headers.get("referrer-policy") == "no-referrer", what


def check_page(r, what):
    """A page renewd rendered: the headers, no inline script or style."""
    check_security_headers(r, what)
    assert r.headers.get("content-type", "").startswith("text/html"), what
    body = r.body.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)", body), f"{what}: an inline script"
    assert "<style" not in body and " style=" not in body, f"{what}: an inline style"
    assert not re.search(r"\son[a-z]+=", body), f"{what}: an inline event handler"
    return body


class Browser:
    def __init__(self, d):
        self.d = d
        self.cookies = {}
        self.csrf = None

    def request(self, method, path, form=None):
        h = {}
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form).encode()
            h["Content-Type"] = "application/x-www-form-urlencoded"
        r = http_request(self.d.port, method, path, body=body, headers=h, timeout=30.0)
        for v in r.headers.get_all("set-cookie") or []:
            name, _, rest = v.partition("=")
            if "Max-Age=0" in v:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = rest.split(";")[0]
        if r.headers.get("content-type", "").startswith("text/html"):
            r.text = check_page(r, f"{method} {path}")
            m = CSRF_RE.search(r.text)
            if m:
                self.csrf = m.group(1)
        return r

    def get(self, path, status=200):
        r = self.request("GET", path)
        assert r.status == status, f"GET {path}: expected {status}: {r}"
        return r

    def post(self, path, form, status=303, csrf=True):
        form = dict(form)
        if csrf:
            form["csrf"] = self.csrf
        r = self.request("POST", path, form)
        assert r.status == status, f"POST {path}: expected {status}: {r}"
        if status == 303:
            check_security_headers(r, f"POST {path}")
        return r

    def login(self, email):
        r = self.request("POST", "/login", {"vendor": "sentinel", "email": email, "password": PASSWORD})
        assert r.status == 303 and "rd_session" in self.cookies, r
        return r.headers["location"]


def text(html):
    """The page's words, without tags (for reading what a person sees)."""
    import html as h
    return re.sub(r"\s+", " ", h.unescape(re.sub(r"<[^>]+>", " ", html)))


def audit(w, obj, obj_id=None):
    q = f"/api/v1/audit?object={obj}&limit=500" + (f"&object_id={obj_id}" if obj_id else "")
    return w.api.get(q)["items"]


def audit_count(w):
    return len(w.api.items("/api/v1/audit"))


# ---- the pages and who may see them ----------------------------------------------------------------------

CONSOLE = ["/vendor", "/vendor/partners", "/vendor/products", "/vendor/contracts", "/vendor/contracts?colour=amber",
           "/vendor/opportunities", "/vendor/opportunities?state=pending_decision", "/vendor/imports", "/vendor/policies",
           "/vendor/plugins", "/vendor/outbox", "/vendor/outbox?state=sent"]


def test_console_pages_roles_and_headers(world):
    w = world
    b = Browser(w.d)
    # Without a session every console page sends the browser to the login.
    for p in CONSOLE + ["/sales/opportunities/1"]:
        r = b.request("GET", p)
        assert r.status == 303 and r.headers["location"].endswith("/login"), (p, r)
        check_security_headers(r, p)
    assert b.login("admin@sentinel.example").endswith("/vendor")
    for p in CONSOLE:
        html = b.get(p).text
        assert 'aria-label="Vendor console"' in html and 'aria-current="page"' in html, p
        # every form field has its label
        for m in re.finditer(r'<(input|select|textarea)\b([^>]*)>', html):
            attrs = m.group(2)
            if 'type="hidden"' in attrs:
                continue
            idm = re.search(r'\bid="([^"]+)"', attrs)
            start = html.rfind("<label", 0, m.start())
            wrapped = start >= 0 and html.find("</label>", start) > m.start()
            assert wrapped or (idm and f'for="{idm.group(1)}"' in html), f"{p}: an unlabelled field {m.group(0)[:120]}"
        assert "<th scope=" in html or "<table" not in html, p
    home = text(b.get("/vendor").text)
    assert re.search(r"\d+ due for renewal", home) and re.search(r"\d+ awaiting the partner's decision", home), home
    assert re.search(r"\d+ queued", home) and re.search(r"\d+ undeliverable", home), home
    contracts = b.get("/vendor/contracts?colour=amber").text
    colours = set(re.findall(r'data-colour="(\w+)"', contracts))
    assert colours == {"amber"}, colours
    assert b.get("/vendor/contracts?colour=green").text.count('data-colour="green"') > 0
    # 30 demo contracts: one page of 50; the partners and products are all listed.
    allk = b.get("/vendor/contracts").text
    assert allk.count("<tr class=\"colour-") == 30 and 'rel="next"' not in allk
    assert "Harbour Networks" in b.get("/vendor/partners").text
    products = text(b.get("/vendor/products").text)
    assert "WSG-STD" in products and "per seat, annual" in products, products
    assert b.get("/vendor/outbox?state=sent").text.count("<tr class=\"msg-sent\">") > 0

    # A channel manager sees the console; vendor sales only what it may read.
    cm = Browser(w.d)
    cm.login("cm@sentinel.example")
    for p in CONSOLE:
        cm.get(p)
    vs = Browser(w.d)
    vs.login("vsales@sentinel.example")
    for p in ["/vendor", "/vendor/contracts", "/vendor/opportunities", "/vendor/partners", "/vendor/products"]:
        vs.get(p)
    for p in ["/vendor/imports", "/vendor/imports/1", "/vendor/policies", "/vendor/plugins", "/vendor/outbox"]:
        r = vs.get(p, status=403)
        assert "Not allowed" in r.text, p
    nav = vs.get("/vendor").text
    assert 'href="/vendor/imports"' not in nav and 'href="/vendor/outbox"' not in nav
    assert "undeliverable" not in nav  # no outbox counts for a role that may not read the outbox
    # Partner roles have their own portal.
    gs = Browser(w.d)
    assert gs.login("gold-sales@sentinel.example").endswith("/partner")
    for p in CONSOLE:
        r = gs.request("GET", p)
        assert r.status == 303 and r.headers["location"].endswith("/partner"), (p, r)
    # Unknown filters are ignored, not reflected.
    assert "<x>" not in b.get("/vendor/contracts?colour=%3Cx%3E&cursor=abc").text
    w.d.stop()


# ---- imports ------------------------------------------------------------------------------------------------


def test_imports_from_the_console(world):
    w = world
    b = Browser(w.d)
    b.login("admin@sentinel.example")
    page = b.get("/vendor/imports").text
    assert 'id="import-file"' in page and 'name="data"' in page
    csv = "external_id,name,country\r\nCUST-9001,Zephyr <b>Ltd</b>,GB\r\nCUST-9002,Yarrow & Co,GB\r\n"
    r = b.post("/vendor/imports", {"kind": "customers", "format": "csv", "atomic": "1", "data": csv})
    m = re.fullmatch(r".*/vendor/imports/(\d+)", r.headers["location"])
    assert m, r.headers
    imp = int(m.group(1))
    first = b.get(f"/vendor/imports/{imp}").text
    if "running" in first:  # the page follows a running import with a progress bar
        assert f'data-import="{imp}"' in first and "<progress" in first
    done = w.api.import_wait(imp)
    assert done["status"] == "succeeded" and done["created"] == 2, done
    page = text(b.get(f"/vendor/imports/{imp}").text)
    assert "succeeded" in page and "2 new" in page, page
    names = {c["name"] for c in w.api.items("/api/v1/customers")}
    assert "Zephyr <b>Ltd</b>" in names and "Yarrow & Co" in names
    entries = [a for a in audit(w, "imports", imp) if a["action"] == "import"]
    assert len(entries) == 1 and entries[0]["user_id"] == w.uids["admin@sentinel.example"], entries
    # A dry run with a bad row: its errors are shown, nothing is written.
    r = b.post("/vendor/imports", {"kind": "customers", "format": "jsonl", "dry_run": "1", "atomic": "1",
                                   "data": '{"external_id": "CUST-9003", "name": "Bad", "country": "XXX"}\n'})
    imp2 = int(r.headers["location"].rsplit("/", 1)[1])
    assert w.api.import_wait(imp2)["rows_failed"] == 1
    page = b.get(f"/vendor/imports/{imp2}").text
    assert "country" in page and "dry run" in page and "<th scope=\"col\">Problem</th>" in page
    assert "CUST-9003" not in {c["external_id"] for c in w.api.items("/api/v1/customers")}
    listing = b.get("/vendor/imports").text
    assert f'href="/vendor/imports/{imp}"' in listing and f'href="/vendor/imports/{imp2}"' in listing
    # Refusals keep the form.
    r = b.post("/vendor/imports", {"kind": "widgets", "format": "csv", "data": "a,b\n"}, status=400)
    assert "Choose what to import" in r.text and "a,b" in r.text
    r = b.post("/vendor/imports", {"kind": "customers", "format": "csv", "data": ""}, status=400)
    assert "empty" in r.text
    # The channel manager may import customers but not products (as the API).
    cm = Browser(w.d)
    cm.login("cm@sentinel.example")
    cm.get("/vendor/imports")
    cm.post("/vendor/imports", {"kind": "products", "format": "csv", "data": "sku,name\nX-1,X\n"}, status=403)
    # The progress script polls the import API with the session cookie.
    js = http_request(w.d.port, "GET", "/static/portal.js").body.decode()
    assert "/api/v1/imports/" in js and "import-progress" in js
    r = http_request(w.d.port, "GET", f"/api/v1/imports/{imp}",
                     headers={"Cookie": f"rd_session={b.cookies['rd_session']}"})
    assert r.status == 200 and json.loads(r.body)["id"] == imp
    w.d.stop()


# ---- policies -----------------------------------------------------------------------------------------------


def test_policies_upload_dry_run_activate_roll_back(world):
    w = world
    active = w.api.get("/api/v1/policies/margin/1")
    src, vectors = active["source"], active["vectors"]
    b = Browser(w.d)
    b.login("admin@sentinel.example")
    page = b.get("/vendor/policies").text
    assert 'id="active-margin">1<' in page and "function margin(line)" in page  # the active source, to edit
    before = len(audit(w, "policies"))

    # A syntax error: refused with its line, the source kept.
    bad = src.replace("function margin(line)", "function margin(line")
    line = bad.splitlines().index("function margin(line") + 2  # Lua names the line after the unclosed "("
    r = b.post("/vendor/policies/margin", {"source": bad, "vectors": json.dumps(vectors), "note": "broken"},
               status=422)
    err = re.search(r'<div class="error" role="alert" id="error-margin"><p>(.*?)</p>', r.text).group(1)
    assert re.match(r"Line \d+: ", err) and f":{int(err.split()[1][:-1])}:" in err, err
    assert abs(int(err.split()[1][:-1]) - line) <= 1, (err, line)
    assert "function margin(line\n" in r.text  # the source is kept to correct
    # Vectors that fail: refused, each failure listed.
    gold_up = src.replace("vendor  = { platinum = 2000, gold = 2000", "vendor  = { platinum = 2000, gold = 2100")
    assert gold_up != src
    r = b.post("/vendor/policies/margin", {"source": gold_up, "vectors": json.dumps(vectors)}, status=422)
    assert "test vectors failed: the version is not stored" in r.text and "gold vendor-published" in r.text
    r = b.post("/vendor/policies/margin", {"source": gold_up, "vectors": "[not json"}, status=400)
    assert "not JSON" in r.text
    assert len(w.api.get("/api/v1/policies")["margin"]["versions"]) == 1
    # Matching vectors: stored (version 2), not yet active.
    fixed = json.loads(json.dumps(vectors))
    for v in fixed:
        ln = v["line"]
        if ln["publish"] == "vendor" and ln["partner"]["tier"] == "gold" and v.get("expect"):
            for share in v["expect"]:
                if share[0] == "reseller":
                    share[1] += 100
    r = b.post("/vendor/policies/margin", {"source": gold_up, "vectors": json.dumps(fixed), "note": "gold +1 %"})
    assert r.headers["location"].endswith("/vendor/policies?stored=margin-2"), r.headers
    page = b.get("/vendor/policies?stored=margin-2").text
    assert "Stored margin policy version 2" in page and 'id="active-margin">1<' in page

    # The dry run: the gold reseller's margin grows on vendor-published lines.
    r = b.post("/vendor/policies/margin/2/dry-run", {}, status=200)
    report = w.api.ok("POST", "/api/v1/policies/margin/2/dry-run")
    assert report["lines_changed"] > 0, report
    t = text(r.text)
    assert f"Lines that change {report['lines_changed']}" in t, t
    assert "Harbour Networks" in r.text and "Largest changes" in t
    assert 'action="/vendor/policies/margin/2/activate"' in r.text
    b.post("/vendor/policies/margin/3/dry-run", {}, status=404)
    b.post("/vendor/policies/routing/1/dry-run", {}, status=400)

    # Activate, then roll back.
    r = b.post("/vendor/policies/margin/2/activate", {})
    assert r.headers["location"].endswith("?activated=margin-2")
    assert w.api.get("/api/v1/vendor")["margin_version"] == 2
    page = b.get("/vendor/policies").text
    assert 'id="active-margin">2<' in page and "Roll back to version 1" in page
    b.post("/vendor/policies/margin/1/activate", {})
    assert w.api.get("/api/v1/vendor")["margin_version"] == 1
    b.post("/vendor/policies/margin/9/activate", {}, status=404)
    entries = audit(w, "policies")[before:]
    notes = [e["note"] for e in entries]
    assert any("version 2 uploaded" in n for n in notes), notes
    assert any("version 2 active (was 1)" in n for n in notes), notes
    assert any("version 1 active (was 2), a roll back" in n for n in notes), notes
    assert all(e["user_id"] == w.uids["admin@sentinel.example"] for e in entries), entries

    # A channel manager reads the policies, and may not upload or activate.
    cm = Browser(w.d)
    cm.login("cm@sentinel.example")
    page = cm.get("/vendor/policies").text
    assert 'action="/vendor/policies/margin"' not in page and "/activate" not in page
    cm.post("/vendor/policies/margin", {"source": src, "vectors": json.dumps(vectors)}, status=403)
    cm.post("/vendor/policies/margin/2/activate", {}, status=403)
    assert w.api.get("/api/v1/vendor")["margin_version"] == 1
    w.d.stop()


# ---- plugins ------------------------------------------------------------------------------------------------


def test_plugins_enable_and_disable(world):
    w = world
    b = Browser(w.d)
    b.login("admin@sentinel.example")
    page = b.get("/vendor/plugins").text
    t = text(page)
    assert re.search(r"broken\.so .*refused.*cannot be loaded", t), t  # a refused plugin and its reason
    assert "payment-po" in page and 'action="/vendor/plugins/payment-po/enablements"' in page
    # Field errors from the plugin, the configuration kept.
    r = b.post("/vendor/plugins/payment-po/enablements", {"partner": str(GOLD),
                                                          "config": '{"max_amount": -5, "colour": 1}'}, status=422)
    assert "must be a positive amount in minor units" in r.text and "<code>colour</code>" in r.text
    assert "{&quot;max_amount&quot;: -5, &quot;colour&quot;: 1}" in r.text
    r = b.post("/vendor/plugins/payment-po/enablements", {"partner": "0", "config": "{nope"}, status=400)
    assert "not JSON" in r.text
    b.post("/vendor/plugins/payment-po/enablements", {"partner": "999", "config": "{}"}, status=400)
    b.post("/vendor/plugins/no-such/enablements", {"partner": "0", "config": "{}"}, status=404)
    assert w.api.get("/api/v1/plugins/payment-po/enablements")["items"] == []
    # Enabled for the gold reseller.
    r = b.post("/vendor/plugins/payment-po/enablements", {"partner": str(GOLD), "config": '{"max_amount": 500000}'})
    assert r.headers["location"].endswith("/vendor/plugins?enabled=payment-po")
    ens = w.api.get("/api/v1/plugins/payment-po/enablements")["items"]
    assert len(ens) == 1 and ens[0]["partner_id"] == GOLD and ens[0]["config"] == {"max_amount": 500000}, ens
    page = b.get("/vendor/plugins?enabled=payment-po").text
    assert "payment-po is enabled" in page and "Harbour Networks" in page
    eid = ens[0]["id"]
    b.post(f"/vendor/plugins/payment-po/enablements/{eid}/disable", {})
    assert w.api.get("/api/v1/plugins/payment-po/enablements")["items"] == []
    b.post(f"/vendor/plugins/payment-po/enablements/{eid}/disable", {}, status=404)
    entries = audit(w, "enablements", eid)
    assert [e["action"] for e in entries] == ["create", "delete"], entries
    assert all(e["user_id"] == w.uids["admin@sentinel.example"] for e in entries)
    # The channel manager reads, and may not enable.
    cm = Browser(w.d)
    cm.login("cm@sentinel.example")
    assert 'action="/vendor/plugins/payment-po/enablements"' not in cm.get("/vendor/plugins").text
    cm.post("/vendor/plugins/payment-po/enablements", {"partner": "0", "config": "{}"}, status=403)
    w.d.stop()


# ---- the sales view ------------------------------------------------------------------------------------------


def customer_link(w, opp_id, timeout=20.0):
    """The link of the customer notice for an opportunity (maildir transport)."""
    deadline = time.monotonic() + timeout
    while True:
        for eml in sorted((Path(w.data) / "mail").glob("*.eml")):
            raw = eml.read_bytes()
            if f"X-Renewd-Ref: notice:{opp_id}\r\n".encode() in raw:
                return re.search(rb"/c/rd_[A-Za-z0-9_-]{43}", raw).group(0).decode()
        assert time.monotonic() < deadline, f"no customer notice for opportunity {opp_id}"
        time.sleep(0.05)


def money(minor):
    """As renewd formats money: "GBP 1,234.50", "GBP -202.50"."""
    a = abs(minor)
    return f"GBP {'-' if minor < 0 else ''}{a // 100:,}.{a % 100:02d}"


def test_sales_view(world):
    w = world
    opps = w.api.items("/api/v1/opportunities?state=pending_decision")
    gold = [o for o in opps if o["reseller_id"] == GOLD]
    other = next(o for o in opps if o["reseller_id"] not in (GOLD, 1))
    assert len(gold) >= 2, opps
    o, o2 = gold[0], gold[1]
    w.api.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"})
    link = customer_link(w, o["id"])
    b = Browser(w.d)
    b.login("vsales@sentinel.example")
    url = f"/sales/opportunities/{o['id']}"
    page = b.get(url).text
    t = text(page)
    assert o["number"] in t and "The customer's contracts" in t and "(this renewal)" in t
    assert "Channel margins" in t and "gold tier, vendor-published" in t and "(in force)" in t
    assert "Discount, per cent (Sentinel Web Security allows at most 10.00 %)" in t and money(o["list_total"]) in t
    assert re.search(r'<input id="discount" name="discount" inputmode="decimal"[^>]* value="0.00"', page), page
    assert 'id="discount-form"' in page and 'id="task-form"' in page

    # Within the bound: stored, audited, and on the customer's total.
    # in per cent, as a person writes it: "10" was 0.10 % when the form asked for basis points
    r = b.post(url, {"discount": "12,5"}, status=400)
    assert "per cent" in text(r.text) and 'value="12,5"' in r.text
    b.post(url, {"discount": "5"})
    assert w.api.get(f"/api/v1/opportunities/{o['id']}")["discount_bp"] == 500
    assert 'value="5.00"' in b.get(url).text
    total = o["list_total"] - o["list_total"] * 500 // 10000
    t = text(b.get(url).text)
    assert f"Discount (5.00 %) {money(total - o['list_total'])}" in t and f"Total {money(total)}" in t, t
    c = Browser(w.d)
    r = c.request("GET", link)
    assert r.status == 303 and "rd_customer" in c.cookies, r
    portal = c.get("/portal").text
    assert f'<output id="total" data-base="{o["list_total"]}" data-discount="500"' in portal, portal
    assert f">{money(total)}</output>" in portal and "Discount (5.00 %)" in portal
    c.post("/portal/accept", {"accept": "yes"})
    assert f'<strong id="purchase-total">{money(total)}</strong>' in c.get("/portal/purchase").text
    # Beyond the bound: refused, with the bound in the message; nothing changes.
    r = b.post(url, {"discount_bp": "1500"}, status=422)
    msg = re.search(r'id="sales-error">(.*?)<', r.text).group(1)
    assert "15.00 %" in msg and "at most 10.00 %" in msg, msg
    assert 'value="1500"' in r.text  # the form keeps what was typed
    b.post(url, {"discount_bp": "ten"}, status=400)  # the field of before (basis points) is still read
    assert w.api.get(f"/api/v1/opportunities/{o['id']}")["discount_bp"] == 500
    # A note (escaped on the page) and a task for the reseller.
    b.post(url, {"note": "Wants <b>more</b> seats"})
    b.post(f"{url}/tasks", {"kind": "callback", "for": "reseller", "message": "Call on Tuesday"})
    page = b.get(url).text
    assert "Wants &lt;b&gt;more&lt;/b&gt; seats" in page and "Call on Tuesday" in page
    tasks = [k for k in w.api.items("/api/v1/tasks") if k["opportunity_id"] == o["id"]]
    assert len(tasks) == 1 and tasks[0]["partner_id"] == GOLD and tasks[0]["kind"] == "callback", tasks
    b.post(f"{url}/tasks", {"kind": "callback", "message": " "}, status=400)
    # Won: the quote was accepted.
    b.post(url, {"state": "won"})
    assert w.api.get(f"/api/v1/opportunities/{o['id']}")["state"] == "won"
    r = b.post(url, {"discount_bp": "100"}, status=409)
    assert "changes no more" in r.text
    assert 'id="discount-form"' not in b.get(url).text

    # The partner's sales person, on its own quote: lost with a reason.
    g = Browser(w.d)
    g.login("gold-sales@sentinel.example")
    url2 = f"/sales/opportunities/{o2['id']}"
    page = g.get(url2).text
    assert 'id="task-form"' in page and 'name="for"' not in page
    g.post(url2, {"state": "lost", "lost_reason": ""}, status=400)
    g.post(url2, {"state": "lost", "lost_reason": "Went with a competitor"})
    doc = w.api.get(f"/api/v1/opportunities/{o2['id']}")
    assert doc["state"] == "lost" and doc["lost_reason"] == "Went with a competitor", doc
    assert "Went with a competitor" in g.get(url2).text
    assert f'href="{url2}"' in g.get("/partner").text  # the partner portal's quotes open their sales view
    # ... and not on another partner's.
    g.get(f"/sales/opportunities/{other['id']}", status=404)
    g.post(f"/sales/opportunities/{other['id']}", {"discount_bp": "100"}, status=404)
    g.post(f"/sales/opportunities/{other['id']}/tasks", {"kind": "reply", "message": "x"}, status=404)
    # Another partner's sales person cannot amend the gold reseller's quote.
    p = Browser(w.d)
    p.login("plat-sales@sentinel.example")
    p.get(f"/sales/opportunities/{o2['id']}", status=404)

    # Every change audited, by whom.
    entries = audit(w, "opportunities", o["id"])
    mine = [e for e in entries if e["user_id"] == w.uids["vsales@sentinel.example"]]
    assert [e["note"] for e in mine] == ["discount 5.00 % (was 0.00 %, bound 10.00 %)",
                                         "note: Wants <b>more</b> seats", "marked won"], mine
    assert mine[0]["before"]["discount_bp"] == 0 and mine[0]["after"]["discount_bp"] == 500
    lost = [e for e in audit(w, "opportunities", o2["id"]) if e["user_id"] == w.uids["gold-sales@sentinel.example"]]
    assert len(lost) == 1 and lost[0]["after"]["state"] == "lost" and "Went with a competitor" in lost[0]["note"], lost
    task_audit = audit(w, "tasks", tasks[0]["id"])
    assert task_audit and task_audit[0]["action"] == "create" and task_audit[0]["user_id"] == w.uids["vsales@sentinel.example"]

    # The same rule through the API.
    third = next(x for x in opps if x["id"] not in (o["id"], o2["id"]))
    path = f"/api/v1/opportunities/{third['id']}"
    r = w.api.call("PATCH", path, {"discount_bp": 1001})
    assert r.status == 422 and r.json()["error"]["code"] == "discount_beyond_bound", r
    assert w.api.ok("PATCH", path, {"discount_bp": 1000, "note": "max"})["discount_bp"] == 1000
    assert w.api.call("PATCH", path, {"discount_bp": "5"}).status == 400
    assert w.api.call("PATCH", path, {"state": "lost"}).status == 400
    assert w.api.call("PATCH", path, {"colour": "red"}).status == 400
    assert w.api.call("PATCH", "/api/v1/opportunities/99999", {"discount_bp": 1}).status == 404
    # The vendor's bound: 0..10000, and it applies at once.
    assert w.api.call("PATCH", "/api/v1/vendor", {"max_discount_bp": 10001}).status == 400
    assert w.api.ok("PATCH", "/api/v1/vendor", {"max_discount_bp": 200})["max_discount_bp"] == 200
    r = w.api.call("PATCH", path, {"discount_bp": 300})
    assert r.status == 422 and "at most 2.00 %" in r.json()["error"]["message"], r
    gt = ApiClient(w.d, w.tokens["gold-sales@sentinel.example"])
    if third["reseller_id"] not in (GOLD,) and third["distributor_id"] != GOLD:
        assert gt.call("PATCH", path, {"discount_bp": 100}).status == 404
    ct = ApiClient(w.d, w.tokens["cm@sentinel.example"])
    assert ct.ok("PATCH", path, {"state": "lost", "lost_reason": "budget"})["state"] == "lost"
    w.d.stop()


# ---- CSRF ----------------------------------------------------------------------------------------------------


def test_posts_without_the_csrf_token_change_nothing(world):
    w = world
    b = Browser(w.d)
    b.login("admin@sentinel.example")
    b.get("/vendor/plugins")
    w.api.ok("POST", "/api/v1/plugins/payment-po/enablements", {"config": {}}, status=201)
    eid = w.api.get("/api/v1/plugins/payment-po/enablements")["items"][0]["id"]
    src = w.api.get("/api/v1/policies/margin/1")
    w.api.ok("PATCH", "/api/v1/vendor", {"renewal_window_days": 90})  # something in the audit log
    posts = [
        ("/vendor/imports", {"kind": "customers", "format": "csv", "data": "external_id,name\nCSRF-1,Forged\n"}),
        ("/vendor/policies/margin", {"source": src["source"], "vectors": json.dumps(src["vectors"])}),
        ("/vendor/policies/margin/1/dry-run", {}),
        ("/vendor/policies/routing/1/activate", {}),
        ("/vendor/plugins/payment-bml/enablements", {"partner": "0", "config": "{}"}),
        (f"/vendor/plugins/payment-po/enablements/{eid}/disable", {}),
        ("/sales/opportunities/1", {"discount_bp": "100"}),
        ("/sales/opportunities/1", {"state": "lost", "lost_reason": "forged"}),
        ("/sales/opportunities/1/tasks", {"kind": "callback", "message": "forged"}),
        ("/logout", {}),
    ]
    other = Browser(w.d)  # another session (its login is audited: before counting)
    other.login("admin@sentinel.example")
    other.get("/vendor")
    before = audit_count(w)
    opp = w.api.get("/api/v1/opportunities/1")
    for path, form in posts:
        for token in (None, "0" * 64, b.csrf[:-1] + ("0" if b.csrf[-1] != "0" else "1"), ""):
            f = dict(form)
            if token is not None:
                f["csrf"] = token
            r = b.request("POST", path, f)
            assert r.status == 403, (path, token, r)
            assert "This form has expired" in r.text
    # Another session's token is not this one's.
    r = b.request("POST", "/sales/opportunities/1", {"csrf": other.csrf, "discount_bp": "100"})
    assert r.status == 403 and other.csrf != b.csrf
    assert audit_count(w) == before
    assert w.api.get("/api/v1/opportunities/1") == opp
    assert len(w.api.get("/api/v1/plugins/payment-po/enablements")["items"]) == 1
    assert w.api.get("/api/v1/plugins/payment-bml/enablements")["items"] == []
    assert w.api.get("/api/v1/imports")["items"] == []
    assert len(w.api.get("/api/v1/policies")["margin"]["versions"]) == 1
    assert w.api.items("/api/v1/tasks") == []
    b.get("/vendor")  # still signed in: the forged logout did nothing
    w.d.stop()


def test_sales_view_text_kept_whole(world):
    """A sales person's note and lost reason are kept as text: a note whose
    audit summary is cut (at 150 bytes) is cut on a character, so the audit
    entry keeps its note (it lost it when the cut fell inside "é"); a note or
    reason that is not UTF-8 is refused naming its field (the note was
    dropped while the page said it was saved)."""
    w = world
    opps = w.api.items("/api/v1/opportunities?state=pending_decision")
    o = next(x for x in opps if x["reseller_id"] == GOLD)
    w.api.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"})
    b = Browser(w.d)
    b.login("vsales@sentinel.example")
    url = f"/sales/opportunities/{o['id']}"
    b.get(url)
    note = "a" + "\u00e9" * 100  # 201 bytes: its summary's cut at 150 bytes falls inside a character
    b.post(url, {"note": note})
    (last,) = [e for e in audit(w, "opportunities", o["id"]) if e["user_id"] == w.uids["vsales@sentinel.example"]]
    assert "note" in last and last["note"].startswith("note: a\u00e9"), last
    assert ("note: " + note).startswith(last["note"]), last["note"]
    assert [n["text"] for n in w.api.get(f"/api/v1/opportunities/{o['id']}")["notes"]] == [note]
    r = b.post(url, {"note": b"a\xffb"}, status=400)
    assert "note" in text(r.text), text(r.text)[:400]
    r = b.post(url, {"state": "lost", "lost_reason": b"Caf\xe9"}, status=400)
    assert "lost_reason" in text(r.text) or "reason" in text(r.text), text(r.text)[:400]
    doc = w.api.get(f"/api/v1/opportunities/{o['id']}")
    assert [n["text"] for n in doc["notes"]] == [note] and doc["state"] == "published_vendor", doc
    reason = "a" + "\u00e9" * 63  # 127 bytes, the most a reason holds
    b.post(url, {"state": "lost", "lost_reason": reason})
    doc = w.api.get(f"/api/v1/opportunities/{o['id']}")
    assert doc["state"] == "lost" and doc["lost_reason"] == reason, doc
    notes = [e.get("note") for e in audit(w, "opportunities", o["id"]) if e["user_id"] == w.uids["vsales@sentinel.example"]]
    assert len(notes) == 2 and all(notes) and notes[-1].startswith("marked lost: a\u00e9"), notes


def test_a_form_field_that_is_not_text_is_refused_naming_it(world):
    """Every page form (behind its CSRF token) refuses a field whose bytes
    are not UTF-8, naming it, and changes nothing: the console's user form,
    a webhook subscription's description, the sales view's task (each stored
    such text, which the API then read back without the field)."""
    w = world
    b = Browser(w.d)
    b.login("admin@sentinel.example")
    users = len(w.api.items("/api/v1/users"))
    b.get("/vendor/users")
    r = b.post("/vendor/users", {"email": "x@y.example", "name": b"Jos\xe9", "password": "abcdefghijk1",
                                 "role": "vendor-sales"}, status=400)
    assert 'the field "name"' in text(r.text), text(r.text)[:400]
    assert len(w.api.items("/api/v1/users")) == users
    b.get("/vendor/webhooks")
    r = b.post("/vendor/webhooks", {"url": "https://hooks.example/x", "description": b"\xff", "event.lead.new": "1"},
               status=400)
    assert 'the field "description"' in text(r.text), text(r.text)[:400]
    o = w.api.items("/api/v1/opportunities?state=pending_decision")[0]
    w.api.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"})
    b.get(f"/sales/opportunities/{o['id']}")
    tasks = len(w.api.items("/api/v1/tasks"))
    r = b.post(f"/sales/opportunities/{o['id']}/tasks", {"kind": "callback", "message": b"call \xc3("}, status=400)
    assert 'the field "message"' in text(r.text), text(r.text)[:400]
    assert len(w.api.items("/api/v1/tasks")) == tasks
    # a name that is not text is not shown
    r = b.post(f"/sales/opportunities/{o['id']}/tasks", {b"<b\xff>": b"\xff", "kind": "callback", "message": "x"},
               status=400)
    assert "<b" not in text(r.text) and "a field could not be read" in text(r.text), text(r.text)[:400]


def field_of(page, name):
    """The input or select of a record form's field, as written."""
    m = re.search(r'<(input|select) id="f-%s"[^>]*>' % re.escape(name), page)
    assert m, (name, page[:3000])
    return m.group(0)


def test_records_added_and_changed_from_the_console(world):
    """A new vendor adds its partners, customers, products and contracts in
    the console (no API, no import): the lists link to the forms for the
    roles that may; a form refused comes back as typed with the field at
    fault marked and named in words; the record saved is the API's (the
    same rules, the same audit); a role that may only read sees no form and
    a post of one is 403 and saves nothing; a text field's maxlength is the
    limit the server keeps in bytes."""
    w = world
    b = Browser(w.d)
    b.login("admin@sentinel.example")
    for lst, new in (("/vendor/partners", "/vendor/partners/new"), ("/vendor/products", "/vendor/products/new"),
                     ("/vendor/contracts", "/vendor/contracts/new")):
        assert f'href="{new}"' in b.get(lst).text, lst
    page = b.get("/vendor/partners/new").text
    assert 'action="/vendor/partners"' in page and CSRF_RE.search(page)
    name = field_of(page, "name")
    assert 'maxlength="127"' in name and 'data-maxbytes="127"' in name and "required" in name, name
    # refused: a distributor under a distributor, the form back as typed
    typed = {"name": "Nordwind <Handel> GmbH", "kind": "distributor", "tier": "gold", "parent_id": "1",
             "email": "channel@nordwind.example", "phone": "+49 40 1234", "external_id": "P-NORD"}
    r = b.post("/vendor/partners", typed, status=400)
    assert 'aria-invalid="true"' in field_of(r.text, "parent_id"), field_of(r.text, "parent_id")
    assert 'aria-invalid' not in field_of(r.text, "name")
    # the sentence once, with its field (and once at the top of the page), not under every field
    assert r.text.count('class="error field-error"') == 1 and 'id="f-parent_id-error"' in r.text, r.text
    assert "Distributor" in text(r.text) and "has no parent" in text(r.text), text(r.text)[:800]
    assert 'value="Nordwind &lt;Handel&gt; GmbH"' in r.text and 'value="+49 40 1234"' in r.text
    assert re.search(r'<option value="distributor" selected>', r.text), r.text
    assert [p for p in w.api.items("/api/v1/partners") if p["name"].startswith("Nordwind")] == []
    # a name over its 127 bytes (64 letters of two bytes) is refused naming it, kept as typed
    r = b.post("/vendor/partners", dict(typed, parent_id="", name="é" * 64), status=400)
    assert 'aria-invalid="true"' in field_of(r.text, "name") and "127 bytes" in text(r.text), text(r.text)[:600]
    assert "é" * 64 in r.text
    # saved, as the API saves it
    b.post("/vendor/partners", dict(typed, kind="reseller", parent_id="1"))
    nord = [p for p in w.api.items("/api/v1/partners") if p["external_id"] == "P-NORD"]
    assert len(nord) == 1 and nord[0]["name"] == typed["name"] and nord[0]["parent_id"] == 1, nord
    assert nord[0]["kind"] == "reseller" and nord[0]["tier"] == "gold"
    created = [a for a in audit(w, "partners", nord[0]["id"]) if a["action"] == "create"]
    assert len(created) == 1 and created[0]["user_id"] == w.uids["admin@sentinel.example"], created
    assert "Nordwind" in b.get("/vendor/partners").text
    # its external id is its own
    r = b.post("/vendor/partners", dict(typed, kind="reseller", name="Other"), status=409)
    assert 'aria-invalid="true"' in field_of(r.text, "external_id") and "already belongs" in text(r.text)
    # a product with its list price in the vendor's currency, as a person writes it
    r = b.post("/vendor/products", {"sku": "NEW-EDR", "name": "Endpoint Detect", "line": "Endpoint",
                                    "price_annual": "4,200"}, status=400)
    assert 'aria-invalid="true"' in field_of(r.text, "price_annual") and 'value="4,200"' in r.text
    b.post("/vendor/products", {"sku": "NEW-EDR", "name": "Endpoint Detect", "line": "Endpoint",
                                "price_annual": "1200.50"})
    prod = [p for p in w.api.items("/api/v1/products") if p["sku"] == "NEW-EDR"]
    cur = w.api.get("/api/v1/vendor")["currency"]
    assert len(prod) == 1 and prod[0]["prices"] == [{"currency": cur, "term": "annual", "amount": 120050}], prod
    # a contract of a demo customer through the new reseller: its page next
    page = b.get("/vendor/contracts/new").text
    assert f'<option value="{prod[0]["id"]}">Endpoint Detect (NEW-EDR)</option>' in page
    form = {"customer_id": "1", "product_id": str(prod[0]["id"]), "reseller_id": str(nord[0]["id"]),
            "quantity": "25", "start": "2026-01-01", "end": "2026-12-31", "term": "annual", "external_id": "K-NEW-1"}
    r = b.post("/vendor/contracts", dict(form, customer_id="999999"), status=400)
    assert "Choose the customer from the list" in text(r.text) and "customer_id" not in text(r.text), text(r.text)[:900]
    r = b.post("/vendor/contracts", dict(form, end="2025-12-31"), status=400)
    assert 'aria-invalid="true"' in field_of(r.text, "end") and "before" in text(r.text)
    r = b.post("/vendor/contracts", form)
    kid = int(r.headers["location"].rsplit("/", 1)[1])
    k = w.api.get(f"/api/v1/contracts/{kid}")
    assert (k["quantity"], k["reseller_id"], k["distributor_id"], k["end"]) == (25, nord[0]["id"], 1, "2026-12-31"), k
    assert f'href="/vendor/contracts/{kid}/edit"' in b.get(f"/vendor/contracts/{kid}").text
    # a customer the contract form sends to, then changed from its page
    assert 'href="/vendor/customers/new"' in b.get("/vendor/contracts/new").text
    r = b.post("/vendor/customers", {"name": "Kleinwerk AG", "email": "it@kleinwerk.example", "country": "de"},
               status=400)
    assert 'aria-invalid="true"' in field_of(r.text, "country") and "Country must be" in text(r.text), text(r.text)[:600]
    r = b.post("/vendor/customers", {"name": "Kleinwerk AG", "email": "it@kleinwerk.example", "country": "DE"})
    cid = int(r.headers["location"].rsplit("/", 1)[1])
    assert f'href="/vendor/customers/{cid}/edit"' in b.get(f"/vendor/customers/{cid}").text
    # the console lists its customers (a customer without a contract could not be found again)
    page = b.get("/vendor/customers").text
    assert f'href="/vendor/customers/{cid}"' in page and 'href="/vendor/customers/new"' in page
    assert '<a href="/vendor/customers" aria-current="page">' in page
    b.post(f"/vendor/customers/{cid}/edit", {"name": "Kleinwerk AG", "city": "Kiel"})
    assert w.api.get(f"/api/v1/customers/{cid}")["city"] == "Kiel"
    assert w.api.get(f"/api/v1/customers/{cid}")["email"] == "it@kleinwerk.example"  # a field not sent: kept
    # changed: the form shows what is stored, a change saved and audited
    page = b.get(f"/vendor/partners/{nord[0]['id']}/edit").text
    assert 'value="+49 40 1234"' in page and re.search(r'<option value="1" selected>', page)
    b.post(f"/vendor/partners/{nord[0]['id']}/edit", dict(typed, kind="reseller", phone="+49 40 9999"))
    assert w.api.get(f"/api/v1/partners/{nord[0]['id']}")["phone"] == "+49 40 9999"
    assert any(a["action"] == "update" for a in audit(w, "partners", nord[0]["id"]))
    page = b.get(f"/vendor/products/{prod[0]['id']}/edit").text
    assert 'value="1200.50"' in page, page
    b.get("/vendor/partners/999999/edit", status=404)
    # a change cannot clear what the record needs (the API refuses "" for them too): a distributor
    # left without a kind would take its resellers' contracts' distributor of record with it
    before_dist = w.api.get("/api/v1/partners/1")
    for cleared in ({"kind": ""}, {"tier": ""}, {"name": ""}):
        r = b.post("/vendor/partners/1/edit", dict({"name": before_dist["name"], "kind": "distributor",
                                                    "tier": before_dist["tier"]}, **cleared), status=400)
        field = next(iter(cleared))
        assert 'aria-invalid="true"' in field_of(r.text, field), (field, text(r.text)[:600])
    assert w.api.get("/api/v1/partners/1") == before_dist
    # a contract moved to a reseller of no distributor: its distributor of record goes with the old reseller
    lone = w.api.call("POST", "/api/v1/partners", {"name": "Lone Reseller", "kind": "reseller", "tier": "silver"})
    assert lone.status == 201, lone
    b.post(f"/vendor/contracts/{kid}/edit", {"reseller_id": str(lone.json()["id"])})
    k = w.api.get(f"/api/v1/contracts/{kid}")
    assert (k["reseller_id"], k["distributor_id"]) == (lone.json()["id"], None), k
    # a role that may only read partners and products: no links, no forms, posts refused
    s = Browser(w.d)
    s.login("vsales@sentinel.example")
    assert "/vendor/partners/new" not in s.get("/vendor/partners").text
    assert "/vendor/products/new" not in s.get("/vendor/products").text
    assert "/vendor/customers/new" not in s.get("/vendor/customers").text and "Kleinwerk" in s.get("/vendor/customers").text
    assert "/edit" not in s.get("/vendor/partners").text
    s.get("/vendor/partners/new", status=403)
    s.get(f"/vendor/products/{prod[0]['id']}/edit", status=403)
    before = audit_count(w)
    s.post("/vendor/partners", dict(typed, kind="reseller", external_id="P-SALES"), status=403)
    s.post(f"/vendor/products/{prod[0]['id']}/edit", {"name": "Renamed"}, status=403)
    assert audit_count(w) == before
    # without the form's token: 403, nothing saved
    r = b.request("POST", "/vendor/customers", {"name": "Forged Ltd"})
    assert r.status == 403 and audit_count(w) == before
    w.d.stop()


def test_a_new_vendor_is_told_what_to_do_first(daemon, tmp_path):
    """A vendor just created (no partners, products or contracts) signs in
    to a console that says what to do next, each step a link to its form
    (or, for a role that may not, who may); a step done says so; the empty
    lists say how to fill them, not "No contracts match"."""
    data = tmp_path / "store"
    data.mkdir()
    p = renewctl("vendor", "create", "--name", "Acme Ltd", "--slug", "acme", "--currency", "EUR", data=data)
    assert p.returncode == 0, p.stderr
    for email, role in (("boss@acme.example", "vendor-admin"), ("seller@acme.example", "vendor-sales")):
        p = renewctl("user", "create", "--vendor", "acme", "--email", email, "--role", role, "--password-stdin",
                     data=data, input=PASSWORD + "\n")
        assert p.returncode == 0, p.stderr
    d = daemon(data=data)
    b = Browser(d)
    r = b.request("POST", "/login", {"vendor": "acme", "email": "boss@acme.example", "password": PASSWORD})
    assert r.status == 303, r
    page = b.get("/vendor").text
    assert 'id="getting-started"' in page, text(page)[:1500]
    for href in ("/vendor/partners/new", "/vendor/products/new", "/vendor/contracts/new", "/vendor/imports"):
        assert f'href="{href}"' in page, href
    words = text(b.get("/vendor/contracts").text)
    assert "No contracts yet" in words and "Add a contract" in words and "No contracts match" not in words, words
    assert "No contracts match" in text(b.get("/vendor/contracts?colour=red").text)
    assert "Add a partner" in text(b.get("/vendor/partners").text)
    b.get("/vendor/partners/new")
    b.post("/vendor/partners", {"name": "First Reseller", "kind": "reseller", "tier": "gold"})
    page = b.get("/vendor").text
    assert re.search(r'<a href="/vendor/partners">Add your partners</a>: done', page), text(page)
    assert re.search(r'<a href="/vendor/products/new">Add your products</a>: with', page), text(page)
    s = Browser(d)
    r = s.request("POST", "/login", {"vendor": "acme", "email": "seller@acme.example", "password": PASSWORD})
    assert r.status == 303, r
    page = s.get("/vendor").text
    assert 'href="/vendor/products/new"' not in page and "ask a vendor admin" in text(page), text(page)[:1500]
    d.stop()


def test_the_vendor_settings_from_the_console(world):
    """The vendor admin sets the vendor's own settings in the console (the
    tasks page pointed at PATCH /api/v1/vendor for the renewals address):
    the rules of the API (one service), the form back as typed with the field
    named, saved with its audit entry; the discount bound in per cent as a
    person writes it; other roles see neither the link nor the form; the
    API refuses a renewals address that is not one, as the form does."""
    w = world
    b = Browser(w.d)
    b.login("admin@sentinel.example")
    assert 'href="/vendor/settings"' in b.get("/vendor").text
    page = b.get("/vendor/settings").text
    assert 'value="Sentinel Web Security"' in field_of(page, "name"), field_of(page, "name")
    typed = {"name": "Sentinel Web Security", "notify_email": "renewals@sentinel.example", "portal_url": "",
             "renewal_window_days": "400", "decision_window_days": "10", "publish_default": "vendor",
             "reminder_days": "60 30 7", "max_discount": "12.5", "statement_day": "15"}
    r = b.post("/vendor/settings", typed, status=400)
    assert 'aria-invalid="true"' in field_of(r.text, "renewal_window_days"), text(r.text)[:800]
    assert "Renewal window, days must be 1-365" in text(r.text) and 'value="renewals@sentinel.example"' in r.text
    r = b.post("/vendor/settings", dict(typed, max_discount="12,5", renewal_window_days="60"), status=400)
    assert 'aria-invalid="true"' in field_of(r.text, "max_discount") and "per cent" in text(r.text)
    r = b.post("/vendor/settings", dict(typed, notify_email="renewals at sentinel", renewal_window_days="60"), status=400)
    assert 'aria-invalid="true"' in field_of(r.text, "notify_email")
    before = audit_count(w)
    r = b.post("/vendor/settings", dict(typed, renewal_window_days="60"))
    assert r.headers["location"] == "/vendor/settings?saved=1"
    assert "The settings are saved." in b.get("/vendor/settings?saved=1").text
    v = w.api.get("/api/v1/vendor")
    assert (v["notify_email"], v["renewal_window_days"], v["max_discount_bp"], v["statement_day"], v["reminder_days"],
            v["publish_default"]) == ("renewals@sentinel.example", 60, 1250, 15, "60 30 7", "vendor"), v
    assert audit_count(w) == before + 1
    # the API: the same rule for the renewals address
    r = w.api.call("PATCH", "/api/v1/vendor", {"notify_email": "not an address"})
    assert r.status == 400 and json.loads(r.body)["error"]["field"] == "notify_email", r
    for email in ("cm@sentinel.example", "vsales@sentinel.example"):
        o = Browser(w.d)
        o.login(email)
        assert 'href="/vendor/settings"' not in o.get("/vendor").text
        o.get("/vendor/settings", status=403)
        o.post("/vendor/settings", typed, status=403)
    assert w.api.get("/api/v1/vendor") == v
    w.d.stop()


def test_a_partner_of_a_vendor_without_products_is_told_before_registering_a_deal(daemon, tmp_path):
    """A new vendor's partner opening deal registration before the vendor has
    products got a form with an empty "Product of interest" and, once it was
    filled in, "Name the products of interest (product ids) (products)": the
    page says deals wait for the vendor's products instead; with products, a
    form sent without one says to choose it, keeping what was typed."""
    data = tmp_path / "store"
    data.mkdir()
    assert renewctl("vendor", "create", "--name", "Acme Ltd", "--slug", "acme", "--currency", "EUR",
                    data=data).returncode == 0
    assert renewctl("user", "create", "--vendor", "acme", "--email", "boss@acme.example", "--role", "vendor-admin",
                    "--password-stdin", data=data, input=PASSWORD + "\n").returncode == 0
    d = daemon(data=data)
    b = Browser(d)
    assert b.request("POST", "/login", {"vendor": "acme", "email": "boss@acme.example", "password": PASSWORD}).status == 303
    b.get("/vendor/partners/new")
    b.post("/vendor/partners", {"name": "First Reseller", "kind": "reseller", "tier": "gold"})
    b.get("/vendor/users")
    b.post("/vendor/users", {"email": "pa@first.example", "name": "Pat", "role": "partner-admin", "partner_id": "1",
                             "password": PASSWORD})
    p = Browser(d)
    assert p.request("POST", "/login", {"vendor": "acme", "email": "pa@first.example", "password": PASSWORD}).status == 303
    page = p.get("/partner/deals").text
    assert 'id="register-deal"' not in page and "no products" in text(page).lower(), text(page)[:1200]
    b.get("/vendor/products/new")
    b.post("/vendor/products", {"sku": "EDR", "name": "Endpoint Detect", "price_annual": "100"})
    page = p.get("/partner/deals").text
    assert 'id="register-deal"' in page
    r = p.post("/partner/deals", {"customer_id": "new", "customer_name": "Big Co", "seats": "10", "value": "1000",
                                  "close_date": "2027-01-31", "product": ""}, status=400)
    assert "Choose the product of interest" in text(r.text) and 'value="Big Co"' in r.text, text(r.text)[:1200]
    d.stop()


def test_every_text_field_says_its_limit_in_bytes():
    """Every text field of the default pages carries the server's byte limit
    (maxlength, and data-maxbytes for portal.js), so nobody types past what
    is kept (a user's name, a webhook's description, a lead's qualification,
    a purchase order number had none)."""
    root = Path(__file__).resolve().parents[2]
    missing = []
    for f in ("plugins/branding-default/branding_default.c", "plugins/branding-default/console_work_pages.h"):
        src = (root / f).read_text().replace('\\"', '"')
        src = re.sub(r'"\s*\\?\n\s*"', "", src)
        for m in re.finditer(r"<(input|textarea)\b[^>]*>", src):
            t = m.group(0)
            if re.search(r'type="(hidden|checkbox|radio|number|date|file|password|submit)"', t):
                continue
            # free text only: not a number, a JSON or Lua text, the sign-in, pasted files, the margins table
            if re.search(r'inputmode="(decimal|numeric)"|name="(source|vectors|config|data|vendor)"|autocomplete="username"', t):
                continue
            if 'maxlength="' not in t or "data-maxbytes" not in t:
                missing.append(t[:120])
    assert missing == [], "\n".join(missing)


def test_the_sign_in_takes_the_vendor_as_a_person_types_it(world):
    """The sign-in's Vendor field wanted the slug exactly: "Sentinel" or
    "sentinel " (a capital, a space left by a paste) was refused as a wrong
    password, and the refused form came back empty.  The vendor is read in
    small letters without surrounding spaces (every vendor's slug is), the
    field says what it wants, and a refusal keeps the vendor typed (never
    the e-mail, which would go into the address)."""
    w = world
    b = Browser(w.d)
    page = b.get("/login").text
    assert 'id="vendor-hint"' in page and "short name" in text(page)
    r = b.request("POST", "/login", {"vendor": " Sentinel ", "email": "admin@sentinel.example", "password": PASSWORD})
    assert r.status == 303 and r.headers["location"] == "/vendor" and "rd_session" in b.cookies, r
    c = Browser(w.d)
    r = c.request("POST", "/login", {"vendor": "Sentinel", "email": "admin@sentinel.example", "password": "wrong-one-123"})
    assert r.status == 303 and r.headers["location"] == "/login?failed=1&vendor=sentinel", r.headers["location"]
    page = c.get(r.headers["location"]).text
    assert re.search(r'<input id="vendor"[^>]* value="sentinel">', page) and "is wrong" in text(page), page
    assert "admin@sentinel.example" not in r.headers["location"]
    # what is not a slug is not shown again
    page = c.get("/login?failed=1&vendor=%3Cb%3E").text
    assert re.search(r'<input id="vendor"[^>]* value="">', page), page
    w.d.stop()
