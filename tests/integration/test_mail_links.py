"""Every link in a partner's e-mail leads somewhere (core/renew/notify.c,
the partner portal in core/web/pages.c).

renewd runs on the demo store with the test clock and delivers by SMTP to
an in-process server (test_renewals.SmtpSink).  For the quote notice, the
weekly digest and the pullback, every link in the message is followed:

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


def make_partner_user(w, email, ext):
    r = w.admin.ok("POST", "/api/v1/users", {"email": email, "name": email.split("@")[0], "role": "partner-admin",
                                              "partner_id": w.partner_by_ext[ext]["id"], "password": PASSWORD})
    return r["id"]


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


def other_channel(d, w):
    """A user of a reseller outside DIST-NW's channel: a second distributor's reseller."""
    dse = w.admin.ok("POST", "/api/v1/partners", {"external_id": "DIST-SE", "name": "Southern Distribution",
                                                   "kind": "distributor", "tier": "platinum"})
    w.admin.ok("POST", "/api/v1/users", {"email": "se-admin@south.example", "name": "se", "role": "partner-admin",
                                          "partner_id": dse["id"], "password": PASSWORD})
    return login(d, "se-admin@south.example")
