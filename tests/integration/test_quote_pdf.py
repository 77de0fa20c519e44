"""The quote PDF (core/pdf/quote.c): downloaded from the customer portal,
from the API, and attached to the customer notice.

renewd runs on the demo store with the test clock and the default maildir
transport (DATA/mail/*.eml).  A decision through the API sends the customer
notice; its link, opened with a cookie jar, starts the customer's session;
/portal/quote.pdf then serves that customer's own quote only.  What the PDF
says is read back with pdftotext (poppler-utils) and it must render with
pdftoppm.

* test_quote_pdf_portal_api_and_mail: the lines (with a chosen cross-sell
  line after acceptance), the discount, the total as rd_money_format writes
  it, validity, terms with the enabled payment options, the reseller's
  contact block and embedded logo; the API route for users in scope (404
  outside it, for another vendor, for no such id; 401 without a token); the
  e-mail's attachment is the same PDF text as the API's; the portal links
  to the PDF; no session, no PDF.
* test_hostile_names_render_as_text: a customer named
  "<script>alert(1)</script> Müller & Co", a reseller with typographic
  quotes and dashes, characters Windows-1252 lacks, the longest name the
  store takes without a space (cut with an ellipsis) and a 2000-character
  name (refused by the store: the renderer's own 2000-character cases are
  tests/unit/test_quote.c).
"""
import base64
import email
import http.cookiejar
import json
import re
import shutil
import struct
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from email import policy as email_policy

import pytest

from conftest import ApiClient, api_user, assert_json_error, demo_load, http_request, renewctl

for tool in ("pdftotext", "pdftoppm", "pdfimages"):
    if shutil.which(tool) is None:  # poppler-utils is in scripts/deps
        pytest.fail(f"{tool} is missing: run scripts/deps (poppler-utils)", pytrace=False)

MAIL_WAIT = 20.0
PDF_TIMEOUT = 30


def money(amount, currency):
    """rd_money_format: "GBP 1,234.56"."""
    sign = "-" if amount < 0 else ""
    a = abs(amount)
    return f"{currency} {sign}{a // 100:,}.{a % 100:02d}"


def tiny_png(w=12, h=6, rgb=(255, 255, 255)):
    """A small RGB PNG, small enough for a data: URL in logo_url (255 bytes)."""
    raw = b"".join(b"\x00" + bytes(rgb) * w for _ in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def pdf_text(tmp_path, data, name="q"):
    """pdftotext's text (UTF-8, reading order) of a PDF; asserts it parses."""
    assert data[:5] == b"%PDF-", data[:40]
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(data)
    p = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, timeout=PDF_TIMEOUT)
    assert p.returncode == 0 and not p.stderr.strip(), p.stderr
    return p.stdout.decode("utf-8")


def flat(text):
    """Whitespace collapsed: lines wrapped by the layout compare as one."""
    return " ".join(text.split())


def pdf_renders(tmp_path, data, name="q"):
    """pdftoppm renders every page; returns the first page's PNG bytes."""
    path = tmp_path / f"{name}-render.pdf"
    path.write_bytes(data)
    prefix = tmp_path / f"{name}-page"
    p = subprocess.run(["pdftoppm", "-png", "-r", "50", str(path), str(prefix)], capture_output=True,
                       timeout=PDF_TIMEOUT)
    assert p.returncode == 0 and not p.stderr.strip(), p.stderr
    pages = sorted(tmp_path.glob(f"{name}-page*.png"))
    assert pages, "pdftoppm wrote no page"
    png = pages[0].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000, len(png)
    return png


def band_colour(tmp_path, data, name="q"):
    """The colour at the top middle of page 1 (the header band), as RGB."""
    path = tmp_path / f"{name}-band.pdf"
    path.write_bytes(data)
    p = subprocess.run(["pdftoppm", "-r", "20", "-f", "1", "-l", "1", str(path)], capture_output=True,
                       timeout=PDF_TIMEOUT)
    assert p.returncode == 0, p.stderr
    ppm = p.stdout
    m = re.match(rb"P6\s+(\d+)\s+(\d+)\s+255\s", ppm)
    assert m, ppm[:20]
    width = int(m.group(1))
    off = m.end() + (3 * width) * 3 + 3 * (width // 2)  # row 3, the middle
    return tuple(ppm[off:off + 3])


def pdf_images(tmp_path, data, name="q"):
    path = tmp_path / f"{name}-images.pdf"
    path.write_bytes(data)
    p = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, timeout=PDF_TIMEOUT)
    assert p.returncode == 0, p.stderr
    return [line.split() for line in p.stdout.splitlines()[2:] if line.strip()]


def wait_mail(data, ref, timeout=MAIL_WAIT):
    """The parsed .eml in DATA/mail whose X-Renewd-Ref is ref."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for f in sorted((data / "mail").glob("*.eml")) if (data / "mail").is_dir() else []:
            msg = email.message_from_bytes(f.read_bytes(), policy=email_policy.default)
            if str(msg["X-Renewd-Ref"]) == ref:
                return msg
        time.sleep(0.05)
    raise AssertionError(f"no e-mail with X-Renewd-Ref {ref} within {timeout} s in {data / 'mail'}")


class Customer:
    """A browser of one customer: a cookie jar, redirects followed."""

    def __init__(self, port):
        self.port = port
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def open(self, path, data=None):
        """(status, headers, body); HTTP errors are answers too."""
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        try:
            with self.opener.open(f"http://127.0.0.1:{self.port}{path}", data=body, timeout=10) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def follow_link(self, msg):
        m = re.search(r"/c/(rd_[A-Za-z0-9_-]{43})", msg.get_body(("plain",)).get_content())
        assert m, msg.get_body(("plain",)).get_content()
        status, _, page = self.open(f"/c/{m.group(1)}")
        assert status == 200, page[:300]
        assert any(c.name == "rd_customer" for c in self.jar), list(self.jar)
        return page.decode()


def start(daemon, tmp_path, users=()):
    """Demo store, a vendor admin, `users` ((email, role, partner id)), a
    second vendor with its admin; renewd on the test clock."""
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    token, uid = api_user(data, email="admin@x.example")
    made = {e: api_user(data, email=e, role=r, partner=p) for e, r, p in users}
    renewctl("vendor", "create", "--name", "Other Vendor Ltd", "--slug", "othervendor", "--currency", "EUR",
             data=data, check=True)
    other = api_user(data, email="admin@other.example", vendor="othervendor")
    d = daemon(data=data, args=["--test-clock", "1", "--sched-interval-ms", "100000"])
    clients = {e: ApiClient(d, t, u) for e, (t, u) in made.items()}
    return d, data, ApiClient(d, token, uid), clients, ApiClient(d, *other)


def opportunity_of(admin, contract_ext):
    kid = next(k["id"] for k in admin.items("/api/v1/contracts") if k["external_id"] == contract_ext)
    return next(o for o in admin.items("/api/v1/opportunities") if o["contract_id"] == kid)


def get_pdf(client, oid):
    r = client.call("GET", f"/api/v1/opportunities/{oid}/quote.pdf")
    assert r.status == 200, r
    return r


def test_quote_pdf_portal_api_and_mail(daemon, tmp_path):
    # the demo's partners: 1 DIST-NW, 2 RES-PLAT (Bluefin), 3 RES-GOLD (Harbour)
    d, data, admin, u, other = start(daemon, tmp_path, users=[("plat@x.example", "partner-admin", "2"),
                                                                ("gold@x.example", "partner-admin", "3")])
    plat, gold = u["plat@x.example"], u["gold@x.example"]
    # payment options enabled for the vendor: they make the PDF's payment terms
    admin.ok("POST", "/api/v1/plugins/payment-po/enablements", {"config": {}}, status=201)
    admin.ok("POST", "/api/v1/plugins/payment-bml/enablements", {"config": {"terms_days": 45}}, status=201)
    # K-20005: CUST-1004's E-mail Security through RES-PLAT, with a cross-sell line (DLP-EP)
    o = opportunity_of(admin, "K-20005")
    assert o["state"] == "pending_decision" and len(o["lines"]) == 2 and o["lines"][1]["optional"], o
    reseller = admin.get(f"/api/v1/partners/{o['reseller_id']}")
    logo = "data:image/png;base64," + base64.b64encode(tiny_png()).decode()
    assert len(logo) < 256, len(logo)
    admin.ok("PATCH", f"/api/v1/partners/{reseller['id']}", {"logo_url": logo})
    admin.ok("PATCH", f"/api/v1/customers/{o['customer_id']}", {"name": "Fenwick & Hale Müller GmbH"})
    admin.ok("PATCH", f"/api/v1/opportunities/{o['id']}", {"discount_bp": 500})
    plat.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"}, status=200)
    o = admin.get(f"/api/v1/opportunities/{o['id']}")
    assert o["state"] == "published_vendor" and o["discount_bp"] == 500, o
    main, extra = o["lines"]
    cur = o["currency"]

    # ---- the API route ---------------------------------------------------------------------
    r = get_pdf(admin, o["id"])
    assert r.headers["content-type"] == "application/pdf", dict(r.headers)
    assert r.headers["content-disposition"] == f'attachment; filename="{o["number"]}.pdf"', dict(r.headers)
    api_pdf = r.body
    text = pdf_text(tmp_path, api_pdf, "api")
    ft = flat(text)
    sub = main["list"]  # the cross-sell line is not chosen yet
    total = sub - sub * 500 // 10000
    for want in (o["number"], main["description"], "Fenwick & Hale Müller GmbH", reseller["name"],
                 reseller["contact_block"], money(main["unit_list"], cur), money(main["list"], cur),
                 "Subtotal", "Discount (5.00 %)", money(total - sub, cur), money(total, cur),
                 f"Valid until {o['valid_until']}", "Bill Me Later", "within 45 days", "purchase order",
                 "Renewal term: 12 months", str(main["quantity"])):
        assert want in ft, f"{want!r} not in the PDF's text:\n{text}"
    assert extra["description"] not in ft, "an optional line the customer has not chosen is on the quote"
    pdf_renders(tmp_path, api_pdf, "api")
    # the band is the reseller's primary colour, and its logo is embedded
    want_rgb = tuple(int(reseller["colour_primary"][i:i + 2], 16) for i in (1, 3, 5))
    got_rgb = band_colour(tmp_path, api_pdf, "api")
    assert all(abs(a - b) <= 6 for a, b in zip(got_rgb, want_rgb)), (got_rgb, want_rgb)
    images = pdf_images(tmp_path, api_pdf, "api")
    assert len(images) == 1 and images[0][3:5] == ["12", "6"], images
    # the partner of record, yes; another reseller, another vendor, no such id: 404; no token: 401
    assert flat(pdf_text(tmp_path, get_pdf(plat, o["id"]).body, "plat")) == ft
    assert_json_error(gold.call("GET", f"/api/v1/opportunities/{o['id']}/quote.pdf"), 404, "not_found")
    assert_json_error(other.call("GET", f"/api/v1/opportunities/{o['id']}/quote.pdf"), 404, "not_found")
    assert_json_error(admin.call("GET", "/api/v1/opportunities/999999/quote.pdf"), 404, "not_found")
    assert_json_error(admin.call("GET", "/api/v1/opportunities/x/quote.pdf"), 404, "not_found")
    assert_json_error(http_request(d.port, "GET", f"/api/v1/opportunities/{o['id']}/quote.pdf"), 401)

    # ---- the e-mail: the notice carries the same PDF ----------------------------------------
    msg = wait_mail(data, f"notice:{o['id']}")
    assert msg["X-Renewd-Kind"] == "customer_notice" and msg.get_content_type() == "multipart/mixed", msg
    alt = next(msg.iter_parts())
    assert alt.get_content_type() == "multipart/alternative", alt.get_content_type()
    assert [p.get_content_type() for p in alt.iter_parts()] == ["text/plain", "text/html"]
    atts = list(msg.iter_attachments())
    assert len(atts) == 1, [a.get_content_type() for a in atts]
    att = atts[0]
    assert att.get_content_type() == "application/pdf" and att.get_filename() == f"{o['number']}.pdf", att
    assert att.get_content_disposition() == "attachment"
    mail_pdf = att.get_content()
    assert flat(pdf_text(tmp_path, mail_pdf, "mail")) == ft
    pdf_renders(tmp_path, mail_pdf, "mail")
    # the other messages (the reseller's quote notice) stay multipart/alternative, without a PDF
    for f in (data / "mail").glob("*.eml"):
        m = email.message_from_bytes(f.read_bytes(), policy=email_policy.default)
        if m["X-Renewd-Kind"] != "customer_notice":
            assert m.get_content_type() == "multipart/alternative" and not list(m.iter_attachments()), f

    # ---- the portal: the customer's own quote --------------------------------------------------
    anon = Customer(d.port)
    status, headers, body = anon.open("/portal/quote.pdf")
    assert status == 401 and b"%PDF" not in body, (status, body[:200])
    c = Customer(d.port)
    page = c.follow_link(msg)
    assert 'href="/portal/quote.pdf"' in page and f"Download quote {o['number']} (PDF)" in page, page
    csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
    status, _, body = c.open("/portal/accept", {"csrf": csrf, "accept": "yes", "add": extra["sku"]})
    assert status == 200, body[:300]
    status, headers, body = c.open("/portal/quote.pdf")
    assert status == 200 and headers["Content-Type"] == "application/pdf", (status, dict(headers))
    assert headers["Content-Disposition"] == f'attachment; filename="{o["number"]}.pdf"'
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], dict(headers)
    text = pdf_text(tmp_path, body, "portal")
    ft = flat(text)
    sub = main["list"] + extra["list"]  # now with the chosen cross-sell line
    total = sub - sub * 500 // 10000
    for want in (o["number"], main["description"], f"Add: {extra['description']}", money(extra["unit_list"], cur),
                 money(extra["list"], cur), money(sub, cur), money(total - sub, cur), money(total, cur)):
        assert want in ft, f"{want!r} not in the portal PDF's text:\n{text}"
    pdf_renders(tmp_path, body, "portal")

    # another customer's session sees its own quote, never this one
    o2 = opportunity_of(admin, "K-20002")
    gold.ok("POST", f"/api/v1/opportunities/{o2['id']}/decision", {"publish": "vendor"}, status=200)
    c2 = Customer(d.port)
    c2.follow_link(wait_mail(data, f"notice:{o2['id']}"))
    status, _, body = c2.open("/portal/quote.pdf")
    assert status == 200, body[:300]
    ft2 = flat(pdf_text(tmp_path, body, "portal2"))
    assert o2["number"] in ft2 and o["number"] not in ft2 and "Fenwick" not in ft2, ft2
    # and the first customer's session still its own
    status, _, body = c.open("/portal/quote.pdf")
    assert status == 200 and o["number"] in flat(pdf_text(tmp_path, body, "portal3"))
    d.stop()


def test_hostile_names_render_as_text(daemon, tmp_path):
    d, data, admin, _, _ = start(daemon, tmp_path)
    o = opportunity_of(admin, "K-20002")
    hostile = "<script>alert(1)</script> Müller & Co"
    admin.ok("PATCH", f"/api/v1/customers/{o['customer_id']}",
             {"name": hostile, "address_line1": "東京都 1-2 “Dock” – Straße"})
    admin.ok("PATCH", f"/api/v1/partners/{o['reseller_id']}",
             {"name": "Fenwick & Hale — “Networks”", "contact_block": "Fenwick & Hale\n3 Quay Street\nBristol €"})
    text = pdf_text(tmp_path, get_pdf(admin, o["id"]).body, "hostile")
    ft = flat(text)
    for want in (hostile, "??? 1-2 “Dock” – Straße", "Fenwick & Hale — “Networks”", "3 Quay Street", "Bristol €",
                 o["number"]):
        assert want in ft, f"{want!r} not in the PDF's text:\n{text}"
    assert "&amp;" not in text and "&lt;" not in text, text  # text, not escaped markup
    pdf_renders(tmp_path, get_pdf(admin, o["id"]).body, "hostile")

    # the store takes 127 bytes at most: 2000 characters are refused, and the
    # longest name without a space wraps and is cut with an ellipsis
    assert_json_error(admin.call("PATCH", f"/api/v1/customers/{o['customer_id']}", {"name": "W" * 2000}), 400)
    admin.ok("PATCH", f"/api/v1/customers/{o['customer_id']}", {"name": "W" * 127})
    admin.ok("PATCH", f"/api/v1/partners/{o['reseller_id']}", {"name": "M" * 127, "contact_block": "x" * 511})
    body = get_pdf(admin, o["id"]).body
    text = pdf_text(tmp_path, body, "long")
    assert "W" * 20 in text and "…" in text and text.count("W") < 127, text
    assert o["number"] in text
    pdf_renders(tmp_path, body, "long")
    # a logo that is not a PNG (or a remote URL): the name alone, still a PDF
    for logo in ("https://bluefin.example/logo.png", "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAA",
                 "data:image/png;base64,////"):
        admin.ok("PATCH", f"/api/v1/partners/{o['reseller_id']}", {"logo_url": logo})
        body = get_pdf(admin, o["id"]).body
        assert pdf_images(tmp_path, body, "nologo") == []
        assert o["number"] in pdf_text(tmp_path, body, "nologo")
    d.stop()
