"""Every link in a partner's e-mail leads somewhere (core/renew/notify.c,
the partner portal in core/web/pages.c).

renewd runs on the demo store with the test clock and delivers by SMTP to
an in-process server (test_renewals.SmtpSink).  For the quote notice, the
weekly digest, the pullback and the sales notice, every link in the message
is followed:

* signed in as a user of the partner the message went to: 200, a page about
  that quote (the decision and the quote for the opportunity pages);
* not signed in: a redirect to the login;
* signed in as a user of another partner: 404 (never another channel's
  quote).
"""
import datetime
import re
import urllib.parse

from test_pages_console import Browser, PASSWORD
from test_renewals import NOTIFY, set_clock, smtp, start_world, wait_outbox_drained  # noqa: F401  (smtp: the fixture)

URL_RE = re.compile(r"https?://[^\s<>\"]+")
GOLD_MAIL = "team@harbour.example"      # RES-GOLD's address in the demo
DIST_MAIL = "renewals@northwind.example"  # DIST-NW's


def make_user(w, email, role, ext=None):
    body = {"email": email, "name": email.split("@")[0], "role": role, "password": PASSWORD}
    if ext:
        body["partner_id"] = w.partner_by_ext[ext]["id"]
    return w.admin.ok("POST", "/api/v1/users", body)["id"]


def make_partner_user(w, email, ext):
    return make_user(w, email, "partner-admin", ext)


def links(msg):
    """The paths of the links a message carries (its plain-text part)."""
    out = []
    for u in URL_RE.findall(msg["text"]):
        p = urllib.parse.urlsplit(u)
        out.append(p.path + (f"?{p.query}" if p.query else ""))
    return out


def check_links(d, paths, owner, stranger, what):
    """Each path: 200 for owner (a signed-in Browser), a login redirect
    without a session, 404 for stranger (another partner's Browser) when
    it names one opportunity."""
    assert paths, f"{what}: no link"
    anon = Browser(d)
    for path in paths:
        r = owner.get(path, status=200)
        assert "Not found" not in r.text, (what, path)
        r = anon.request("GET", path)
        assert r.status == 303 and r.headers["location"].endswith("/login"), (what, path, r)
        if re.fullmatch(r"/partner/opportunities/\d+", path):
            stranger.get(path, status=404)


def login(d, email):
    b = Browser(d)
    b.login(email)
    return b


def test_every_link_in_partner_mail_works_for_that_partner(daemon, tmp_path, smtp):
    d, w, _ = start_world(daemon, tmp_path, smtp)
    make_partner_user(w, "gold-admin@harbour.example", "RES-GOLD")
    make_partner_user(w, "plat-admin@bluefin.example", "RES-PLAT")
    make_partner_user(w, "dist-admin@northwind.example", "DIST-NW")
    gold, plat = login(d, "gold-admin@harbour.example"), login(d, "plat-admin@bluefin.example")
    dist = login(d, "dist-admin@northwind.example")

    # The quote notices of the first sweep: each links to its opportunity's page.
    wait_outbox_drained(w.admin, smtp)
    notices = [m for m in smtp.received() if m["kind"] == "quote_notice" and GOLD_MAIL in m["rcpt"]]
    assert notices, [(m["kind"], m["rcpt"]) for m in smtp.received()]
    gold_opps = {o["id"]: o for o in w.opportunities() if o["reseller_id"] == w.partner_by_ext["RES-GOLD"]["id"]}
    for m in notices:
        paths = links(m)
        check_links(d, paths, gold, plat, "quote notice")
        oid = int(re.fullmatch(r"/partner/opportunities/(\d+)", paths[0]).group(1))
        page = gold.get(paths[0]).text
        assert gold_opps[oid]["number"] in page and "We sell it" in page, page  # the decision and the quote
        assert "Total" in page
        dist.get(paths[0], status=200)  # its distributor sees it too

    # Monday's digest: a link per opportunity and one to the portal.
    today = datetime.date.fromisoformat(w.admin.get("/api/v1/clock")["today"])
    monday = today + datetime.timedelta(days=(7 - today.weekday()) % 7 or 7)
    set_clock(w.admin, monday)
    wait_outbox_drained(w.admin, smtp)
    digests = [m for m in smtp.received() if m["kind"] == "digest"]
    gold_digest = [m for m in digests if GOLD_MAIL in m["rcpt"]]
    assert gold_digest, [(m["kind"], m["rcpt"]) for m in smtp.received()]
    paths = links(gold_digest[-1])
    assert "/partner" in paths and any(p.startswith("/partner/opportunities/") for p in paths), paths
    check_links(d, paths, gold, plat, "digest")
    dist_digest = [m for m in digests if DIST_MAIL in m["rcpt"]]
    assert dist_digest
    check_links(d, links(dist_digest[-1]), dist, other_channel(d, w), "distributor's digest")

    # The decision window passes: the pullback links to the same page (the
    # vendor's copy to the sales view).
    decide_by = max(datetime.date.fromisoformat(o["decision_by"]) for o in gold_opps.values())
    set_clock(w.admin, decide_by + datetime.timedelta(days=1))
    wait_outbox_drained(w.admin, smtp)
    pullbacks = [m for m in smtp.received() if m["kind"] == "pullback"]
    gold_pb = [m for m in pullbacks if GOLD_MAIL in m["rcpt"]]
    assert gold_pb, [(m["kind"], m["rcpt"]) for m in smtp.received()]
    for m in gold_pb:
        paths = links(m)
        check_links(d, paths, gold, plat, "pullback")
        assert re.search(r"id=\"state\">(the vendor sells|expired)<", gold.get(paths[0]).text), paths  # the default: publish-vendor
    team = [m for m in pullbacks if NOTIFY in m["rcpt"]]
    assert team
    w.admin.ok("POST", "/api/v1/users", {"email": "boss@sentinel.example", "name": "boss", "role": "vendor-admin",
                                          "password": PASSWORD})
    admin = login(d, "boss@sentinel.example")
    for m in team:
        for path in links(m):
            assert path.startswith("/sales/opportunities/"), path
            admin.get(path, status=200)
    # The vendor's people following a partner's link land on the sales view.
    oid = next(iter(gold_opps))
    r = admin.request("GET", f"/partner/opportunities/{oid}")
    assert r.status == 303 and r.headers["location"].endswith(f"/sales/opportunities/{oid}"), r
    d.stop()  # a clean exit (under ASan: no leak report)


def other_channel(d, w):
    """A user of a reseller outside DIST-NW's channel: a second distributor's reseller."""
    dse = w.admin.ok("POST", "/api/v1/partners", {"external_id": "DIST-SE", "name": "Southern Distribution",
                                                   "kind": "distributor", "tier": "platinum"})
    w.admin.ok("POST", "/api/v1/users", {"email": "se-admin@south.example", "name": "se", "role": "partner-admin",
                                          "partner_id": dse["id"], "password": PASSWORD})
    return login(d, "se-admin@south.example")


def test_sales_notice_goes_to_the_seller_with_a_sales_view_link(daemon, tmp_path, smtp):
    """When the customer notice goes out, the sales person it is published
    in the name of is told, with a link to the sales view: the reseller's
    sales contact in publish-partner mode, the vendor's sales person in
    publish-vendor mode."""
    d, w, _ = start_world(daemon, tmp_path, smtp)
    gold_sales = make_user(w, "gold-sales@harbour.example", "partner-sales", "RES-GOLD")
    vsales = make_user(w, "vsales@sentinel.example", "vendor-sales")
    make_partner_user(w, "plat-admin@bluefin.example", "RES-PLAT")
    gold_id = w.partner_by_ext["RES-GOLD"]["id"]
    # Who the sales person may be: one of the partner's people, one of the vendor's.
    r = w.admin.call("PATCH", f"/api/v1/partners/{gold_id}", {"sales_user_id": vsales})
    assert r.status == 400 and r.json()["error"]["field"] == "sales_user_id", r
    r = w.admin.call("PATCH", "/api/v1/vendor", {"sales_user_id": gold_sales})
    assert r.status == 400 and r.json()["error"]["field"] == "sales_user_id", r
    assert w.admin.ok("PATCH", f"/api/v1/partners/{gold_id}", {"sales_user_id": gold_sales})["sales_user_id"] == gold_sales
    assert w.admin.ok("PATCH", "/api/v1/vendor", {"sales_user_id": vsales})["sales_user_id"] == vsales
    wait_outbox_drained(w.admin, smtp)
    assert not [m for m in smtp.received() if m["kind"] == "sales_notice"]  # nothing published yet

    opps = [o for o in w.opportunities() if o["reseller_id"] == gold_id and o["state"] == "pending_decision"
            and w.customers[o["customer_id"]]["email"]]
    assert len(opps) >= 2, opps
    mine, theirs = opps[0], opps[1]
    w.admin.ok("POST", f"/api/v1/opportunities/{mine['id']}/decision", {"publish": "partner"})
    w.admin.ok("POST", f"/api/v1/opportunities/{theirs['id']}/decision", {"publish": "vendor"})
    wait_outbox_drained(w.admin, smtp)
    anon, plat = Browser(d), login(d, "plat-admin@bluefin.example")
    for o, seller, email in ((mine, "Harbour Networks", "gold-sales@harbour.example"),
                             (theirs, "Sentinel Web Security", "vsales@sentinel.example")):
        ref = f"notice:{o['id']}"
        sent = [m for m in smtp.received() if m["ref"] == ref]
        assert {m["kind"] for m in sent} == {"customer_notice", "sales_notice"}, sent
        notice = [m for m in sent if m["kind"] == "sales_notice"]
        assert len(notice) == 1 and notice[0]["rcpt"] == [email], notice
        assert o["number"] in notice[0]["text"] and seller in notice[0]["text"], notice[0]["text"]
        paths = links(notice[0])
        assert paths == [f"/sales/opportunities/{o['id']}"], paths
        page = login(d, email).get(paths[0]).text
        assert o["number"] in page and 'name="discount"' in page, page  # the view, with the flags to amend
        r = anon.request("GET", paths[0])
        assert r.status == 303 and r.headers["location"].endswith("/login"), r
        plat.get(paths[0], status=404)
    d.stop()
