"""Lead distribution (core/services/leads.c) against a real daemon: a lead
arrives (API, the public web-to-lead form), is qualified, routed by the
vendor's routing policy to a rep, a partner or a pool with a deadline and a
reason, accepted (the first of a pool, atomically) or declined, lapses and
is redistributed without the partner that let it lapse, up to the vendor's
limit, then returned; it is won with a value or lost with a reason.  Every
assignment keeps the policy version, its inputs and its reason; a dry run
shows who a new policy version would have chosen.

The demo's partners: DIST-NW 1, RES-PLAT 2, RES-GOLD 3, RES-SILV 4."""
import datetime
import json
import re
import threading
import time
import urllib.parse

import pytest

from conftest import ApiClient, api_user, assert_json_error, demo_load, http_request
from test_renewals import set_clock as renewals_set_clock

NOTIFY = "channel-team@sentinel.example"
PARTNER_MAIL = {1: "renewals@northwind.example", 2: "sales@bluefin.example", 3: "team@harbour.example",
                4: "hello@oakfield.example"}
DIST, PLAT, GOLD, SILV = 1, 2, 3, 4


class Lw:
    """The world of one test: renewd with the test clock, the vendor's
    people and a partner admin per partner (more with users_per_partner)."""

    def __init__(self, daemon, tmp_path, users_per_partner=1):
        data = tmp_path / "store"
        data.mkdir()
        demo_load(data)
        tok, uid = api_user(data, email="admin@x.example")
        cm = api_user(data, email="cm@x.example", role="channel-manager")
        rep = api_user(data, email="rep@x.example", role="vendor-sales")
        parts = {}
        for p in (DIST, PLAT, GOLD, SILV):
            parts[p] = [api_user(data, email=f"p{p}-{i}@x.example", role="partner-admin", partner=str(p))
                        for i in range(users_per_partner)]
        self.d = daemon(data=data, args=["--test-clock", "1", "--sched-interval-ms", "100000"])
        self.admin = ApiClient(self.d, tok, uid)
        self.cm = ApiClient(self.d, *cm)
        self.rep = ApiClient(self.d, *rep)
        self.partner = {p: [ApiClient(self.d, *x) for x in xs] for p, xs in parts.items()}
        self.admin.ok("PATCH", "/api/v1/vendor", {"notify_email": NOTIFY})
        # What routing sees of each partner: DIST-NW covers the US only.
        self.profile(DIST, "US", "", 1)
        self.profile(PLAT, "GB london", "WSG-STD DLP-EP", 1)
        self.profile(GOLD, "GB north", "EML-SEC", 1)
        self.profile(SILV, "IE", "WSG-STD", 1)
        self.today = datetime.date.fromisoformat(self.admin.get("/api/v1/clock")["today"])
        # The test clock starts at the real instant; a day's step lands at midday. Step once so that
        # every event stands at midday and day counts do not depend on when the suite runs.
        self.advance(1)

    def p(self, pid, i=0):
        return self.partner[pid][i]

    def profile(self, pid, regions, products, weight):
        self.admin.ok("PATCH", f"/api/v1/partners/{pid}", {"lead_regions": regions, "lead_products": products,
                                                            "lead_weight": weight})

    def lead(self, country="GB", region="london", product="WSG-STD", size="enterprise", company="Acme Ltd"):
        """A lead created by API and qualified: its id."""
        lead = self.cm.ok("POST", "/api/v1/leads", {"company": company, "contact_name": "Ann Buyer",
                                                     "email": "ann@acme.example", "country": country}, status=201)
        assert lead["state"] == "new" and lead["source"] == "api", lead
        q = self.cm.ok("POST", f"/api/v1/leads/{lead['id']}/qualify",
                       {"product": product, "region": region, "company_size": size, "situation": "renewing a rival",
                        "time_frame": "this quarter"})
        assert q["state"] == "qualified", q
        return lead["id"]

    def route(self, lid):
        return self.cm.ok("POST", f"/api/v1/leads/{lid}/route")

    def get(self, lid, who=None):
        return (who or self.cm).ok("GET", f"/api/v1/leads/{lid}")

    def advance(self, days):
        self.today += datetime.timedelta(days=days)
        renewals_set_clock(self.admin, self.today)  # (returns once the day's sweep is over, also one in turns)

    def outbox(self, kind=None):
        box = self.admin.items("/api/v1/outbox")
        return [m for m in box if kind is None or m["kind"] == kind]


@pytest.fixture
def lw(daemon, tmp_path):
    return Lw(daemon, tmp_path)


def current(lead):
    return [a for a in lead["assignments"] if a["id"] == lead["assignment_id"]][0]


# ---- the whole lifecycle to won, and what each side sees ------------------------------------


def test_partner_routing_accept_and_win_with_explanation(lw):
    lid = lw.lead()
    lead = lw.route(lid)
    assert lead["state"] == "assigned" and lead["routings"] == 1, lead
    full = lw.get(lid)
    a = current(full)
    # the shipped default: the platinum London partner, the only best match, for 48 hours
    assert (a["kind"], a["targets"], a["hours"], a["state"]) == ("partner", str(PLAT), 48, "offered"), a
    assert a["policy_version"] == 1 and a["reason"] == "best match (score 10)", a
    cands = {c["id"]: c for c in a["inputs"]["candidates"]}
    assert set(cands) == {DIST, PLAT, GOLD, SILV}
    assert cands[PLAT]["regions"] == "GB london" and cands[PLAT]["weight"] == 1
    assert cands[PLAT]["last_active_days"] == -1 and cands[PLAT]["open_load"] == 0
    assert a["inputs"]["lead"]["product"] == "WSG-STD" and a["inputs"]["excluded"] == []
    # the partner sees why it got the lead, but not its competitors' figures
    mine = lw.get(lid, lw.p(PLAT))
    pa = mine["assignments"]
    assert len(pa) == 1 and pa[0]["reason"] == "best match (score 10)" and pa[0]["policy_version"] == 1
    assert pa[0]["inputs"]["you"]["id"] == PLAT and "candidates" not in pa[0]["inputs"]
    assert "targets" not in pa[0] and "offered" not in mine
    # others do not see it, and cannot take it
    assert_json_error(lw.p(GOLD).call("GET", f"/api/v1/leads/{lid}"), 404, "not_found")
    assert_json_error(lw.p(GOLD).call("POST", f"/api/v1/leads/{lid}/accept"), 404, "not_found")
    assert [x["id"] for x in lw.p(PLAT).items("/api/v1/leads")] == [lid]
    assert lw.p(GOLD).items("/api/v1/leads") == []
    # partners neither qualify (before they accept) nor route
    assert_json_error(lw.p(PLAT).call("POST", f"/api/v1/leads/{lid}/route"), 403)
    assert_json_error(lw.p(PLAT).call("POST", f"/api/v1/leads/{lid}/qualify", {"product": "X"}), 409, "conflict")
    assert_json_error(lw.p(PLAT).call("POST", "/api/v1/leads", {"company": "x"}), 403)
    acc = lw.p(PLAT).ok("POST", f"/api/v1/leads/{lid}/accept")
    assert acc["state"] == "accepted" and acc["partner_id"] == PLAT, acc
    # the partner requalifies what it learnt while it works the lead; others may not
    assert_json_error(lw.p(GOLD).call("POST", f"/api/v1/leads/{lid}/qualify", {"product": "X"}), 404)
    rq = lw.p(PLAT).ok("POST", f"/api/v1/leads/{lid}/qualify", {"product": "DLP-EP", "situation": "wants DLP too",
                                                               "time_frame": "next month"})
    assert (rq["state"], rq["product"], rq["situation"]) == ("accepted", "DLP-EP", "wants DLP too"), rq
    # close: won needs a value
    assert_json_error(lw.p(PLAT).call("POST", f"/api/v1/leads/{lid}/close", {"outcome": "won"}), 400, "invalid")
    assert_json_error(lw.p(GOLD).call("POST", f"/api/v1/leads/{lid}/close", {"outcome": "won", "value": 5}), 404)
    won = lw.p(PLAT).ok("POST", f"/api/v1/leads/{lid}/close", {"outcome": "won", "value": 1250000})
    assert won["state"] == "won" and won["value"] == 1250000 and won["currency"] == "GBP", won
    assert_json_error(lw.p(PLAT).call("POST", f"/api/v1/leads/{lid}/close", {"outcome": "lost", "reason": "x"}),
                      409, "conflict")
    # an e-mail for each transition
    offers = lw.outbox("lead_offer")
    assert [m["to"] for m in offers] == [PARTNER_MAIL[PLAT]] and "best match" in offers[0]["text"]
    # branded like the renewal mails: the branding pack's email/lead templates, the partner's brand,
    # a link to where it acts
    plat = lw.admin.get(f"/api/v1/partners/{PLAT}")
    assert offers[0]["text"].startswith(f"Hello {plat['name']},"), offers[0]["text"]
    assert "/partner/leads" in offers[0]["text"] and plat["contact_block"] in offers[0]["text"]
    assert "<!doctype html>" in offers[0]["html"] and '/partner/leads">Open your leads</a>' in offers[0]["html"]
    assert offers[0]["subject"].startswith("New lead for you: Acme Ltd (accept by ")
    assert [m["to"] for m in lw.outbox("lead_accepted")] == [NOTIFY]
    assert [m["to"] for m in lw.outbox("lead_won")] == [NOTIFY]
    # audited
    notes = [e["note"] for e in lw.admin.items("/api/v1/audit?object=leads")]
    assert any(n.startswith("lead assigned (partner 2, policy v1)") for n in notes), notes
    assert "lead accepted" in notes and "lead won" in notes and "lead qualified" in notes
    assert "lead requalified by the partner" in notes


def test_bad_input_is_named(lw):
    assert_json_error(lw.cm.call("POST", "/api/v1/leads", {"email": "ann@acme.example"}), 400, "invalid")
    r = lw.cm.call("POST", "/api/v1/leads", {"company": "A", "email": "not-an-address"})
    assert_json_error(r, 400, "invalid")
    assert r.json()["error"]["field"] == "email"
    r = lw.cm.call("POST", "/api/v1/leads", {"company": "A", "state": "won"})
    assert_json_error(r, 400, "invalid")
    assert r.json()["error"]["field"] == "state"
    lid = lw.cm.ok("POST", "/api/v1/leads", {"company": "A"}, status=201)["id"]
    r = lw.cm.call("POST", f"/api/v1/leads/{lid}/qualify", {"region": "london"})
    assert_json_error(r, 400, "invalid")
    assert r.json()["error"]["field"] == "product"
    assert_json_error(lw.cm.call("POST", f"/api/v1/leads/{lid}/route"), 409, "conflict")
    assert_json_error(lw.cm.call("POST", "/api/v1/leads/999/route"), 404, "not_found")


# ---- decline with a reason, redistribution, lost with a reason ------------------------------------


def test_decline_needs_a_reason_and_reroutes_without_the_decliner_then_lost(lw):
    lid = lw.lead()
    lw.route(lid)
    r = lw.p(PLAT).call("POST", f"/api/v1/leads/{lid}/decline", {})
    assert_json_error(r, 400, "invalid")
    assert r.json()["error"]["field"] == "reason"
    lead = lw.p(PLAT).ok("POST", f"/api/v1/leads/{lid}/decline", {"reason": "no capacity this month"})
    assert lead["state"] == "assigned" and lead["routings"] == 2 and lead["excluded"] == str(PLAT), lead
    full = lw.get(lid)
    first, second = full["assignments"]
    assert first["state"] == "declined" and first["decline_reason"] == "no capacity this month"
    assert second["targets"] == str(GOLD) and second["inputs"]["excluded"] == [PLAT], second
    assert [m["to"] for m in lw.outbox("lead_declined")] == [NOTIFY]
    assert "no capacity" in lw.outbox("lead_declined")[0]["text"]
    # the decliner can no longer see or take it
    assert_json_error(lw.p(PLAT).call("POST", f"/api/v1/leads/{lid}/accept"), 404)
    lw.p(GOLD).ok("POST", f"/api/v1/leads/{lid}/accept")
    r = lw.p(GOLD).call("POST", f"/api/v1/leads/{lid}/close", {"outcome": "lost"})
    assert_json_error(r, 400, "invalid")
    lost = lw.p(GOLD).ok("POST", f"/api/v1/leads/{lid}/close", {"outcome": "lost", "reason": "went with a rival"})
    assert lost["state"] == "lost" and lost["lost_reason"] == "went with a rival", lost
    assert [m["to"] for m in lw.outbox("lead_lost")] == [NOTIFY]


# ---- a pool: first accept wins, atomically, under many concurrent clients ----------------------------


def test_pool_first_accept_wins_under_concurrent_accepts(daemon, tmp_path):
    lw = Lw(daemon, tmp_path, users_per_partner=4)
    # No partner covers France: the default policy offers it to a pool for 24 hours.
    lid = lw.lead(country="FR", region="paris", product="OTHER", size="smb")
    lw.route(lid)
    a = current(lw.get(lid))
    assert a["kind"] == "pool" and a["hours"] == 24, a
    pool = [int(x) for x in a["targets"].split()]
    assert sorted(pool) == [DIST, PLAT, GOLD, SILV], a
    assert "first of the pool to accept" in a["reason"]
    assert sorted(m["to"] for m in lw.outbox("lead_offer")) == sorted(PARTNER_MAIL.values())
    clients = [c for p in pool for c in lw.partner[p]]  # 16 clients, 4 per partner
    barrier = threading.Barrier(len(clients))
    results = [None] * len(clients)

    def go(i):
        barrier.wait(timeout=20)
        results[i] = clients[i].call("POST", f"/api/v1/leads/{lid}/accept")

    threads = [threading.Thread(target=go, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert all(r is not None for r in results)
    winners = [i for i, r in enumerate(results) if r.status == 200]
    assert len(winners) == 1, [(r.status, r.body[:80]) for r in results]
    for i, r in enumerate(results):
        if i != winners[0]:
            assert_json_error(r, 409, "gone")
    lead = lw.get(lid)
    winner = pool[winners[0] // 4]
    assert lead["state"] == "accepted" and lead["partner_id"] == winner, lead
    assert current(lead)["accepted_by"] == winner
    # the others are told it is gone
    gone = sorted(m["to"] for m in lw.outbox("lead_gone"))
    assert gone == sorted(PARTNER_MAIL[p] for p in pool if p != winner)


# ---- a specific rep ---------------------------------------------------------------------------------


REP_POLICY = """
function route(lead, candidates, excluded)
  if lead.company_size == "strategic" then
    return "rep", REP, 8, "strategic accounts go to the named rep"
  end
  local ids = {}
  for _, c in ipairs(candidates) do
    if not excluded[c.id] then ids[#ids + 1] = c.id end
  end
  return "pool", ids, 12, "everyone else: a pool of all"
end
"""


def upload_policy(lw, src, vectors):
    r = lw.admin.call("POST", "/api/v1/policies/routing", {"source": src, "vectors": vectors})
    assert r.status == 201, r
    return r.json()["version"]


def test_rep_routing(lw):
    v = upload_policy(lw, REP_POLICY.replace("REP", str(lw.rep.user_id)),
                      [{"name": "strategic", "lead": {"company_size": "strategic"}, "candidates": [], "excluded": [],
                        "expect": {"kind": "rep"}}])
    lw.admin.ok("POST", f"/api/v1/policies/routing/{v}/activate")
    lid = lw.lead(size="strategic")
    lw.route(lid)
    a = current(lw.get(lid))
    assert (a["kind"], a["targets"], a["hours"], a["policy_version"]) == ("rep", str(lw.rep.user_id), 8, v), a
    assert a["reason"] == "strategic accounts go to the named rep"
    assert [m["to"] for m in lw.outbox("lead_offer")] == ["rep@x.example"]
    # no partner sees it; the channel manager is not the rep
    assert lw.p(PLAT).items("/api/v1/leads") == []
    assert_json_error(lw.cm.call("POST", f"/api/v1/leads/{lid}/accept"), 404)
    lead = lw.rep.ok("POST", f"/api/v1/leads/{lid}/accept")
    assert lead["state"] == "accepted" and lead["rep_id"] == lw.rep.user_id
    done = lw.rep.ok("POST", f"/api/v1/leads/{lid}/close", {"outcome": "won", "value": 990})
    assert done["state"] == "won"


# ---- timeouts: redistribution without the lapsed, the limit, returned -------------------------------


def test_lapse_redistributes_excluding_the_lapsed_partner_then_returns_at_the_limit(lw):
    lw.admin.ok("PATCH", "/api/v1/vendor", {"lead_reroute_limit": 2})
    lid = lw.lead()
    lw.route(lid)
    assert current(lw.get(lid))["targets"] == str(PLAT)
    lw.advance(1)  # 24 of 48 hours: nothing lapses
    assert lw.get(lid)["routings"] == 1
    lw.advance(2)
    lead = lw.get(lid)
    first, second = lead["assignments"]
    assert first["state"] == "lapsed" and second["state"] == "offered", lead
    assert second["targets"] == str(GOLD) and second["inputs"]["excluded"] == [PLAT]
    assert lead["state"] == "assigned" and lead["excluded"] == str(PLAT) and lead["routings"] == 2
    assert [m["to"] for m in lw.outbox("lead_lapsed")] == [PARTNER_MAIL[PLAT]]
    # the lapsed partner can no longer take it
    assert_json_error(lw.p(PLAT).call("POST", f"/api/v1/leads/{lid}/accept"), 404)
    # idempotent: a second step at the same time changes nothing
    lw.admin.ok("POST", "/api/v1/clock", {"date": lw.today.isoformat()})
    assert len(lw.get(lid)["assignments"]) == 2
    lw.advance(3)
    lead = lw.get(lid)
    assert lead["state"] == "returned", lead
    assert "limit" in lead["returned_reason"] and "lead_reroute_limit 2" in lead["returned_reason"], lead
    assert [a["state"] for a in lead["assignments"]] == ["lapsed", "lapsed"]
    assert [m["to"] for m in lw.outbox("lead_returned")] == [NOTIFY]
    assert sorted(m["to"] for m in lw.outbox("lead_lapsed")) == sorted([PARTNER_MAIL[PLAT], PARTNER_MAIL[GOLD]])
    assert lw.p(GOLD).items("/api/v1/leads") == []
    # the channel manager routes it afresh
    again = lw.route(lid)
    assert again["state"] == "assigned" and again["routings"] == 1 and again["excluded"] == ""


def test_nobody_eligible_returns_the_lead(lw):
    # every partner declines a pool lead: the policy finds nobody and the lead goes back
    lid = lw.lead(country="FR", region="paris", product="OTHER", size="smb")
    lw.route(lid)
    for p in (DIST, PLAT, GOLD):
        lw.p(p).ok("POST", f"/api/v1/leads/{lid}/decline", {"reason": "not our area"})
        assert lw.get(lid)["state"] == "assigned"
    lead = lw.p(SILV).ok("POST", f"/api/v1/leads/{lid}/decline", {"reason": "not our area"})
    lead = lw.get(lid)
    assert lead["state"] == "returned" and "no eligible partner" in lead["returned_reason"], lead


# ---- what the default policy sees: activity and weights -----------------------------------------------


def test_default_policy_skips_inactive_partners(lw):
    lid = lw.lead()
    lw.route(lid)
    lw.p(PLAT).ok("POST", f"/api/v1/leads/{lid}/accept")
    lw.p(PLAT).ok("POST", f"/api/v1/leads/{lid}/close", {"outcome": "won", "value": 100})
    lw.advance(10)
    lid2 = lw.lead()
    lw.route(lid2)
    a = current(lw.get(lid2))
    assert a["targets"] == str(PLAT), a  # active 10 days ago: still the best match
    assert {c["id"]: c for c in a["inputs"]["candidates"]}[PLAT]["last_active_days"] == 10
    lw.p(PLAT).ok("POST", f"/api/v1/leads/{lid2}/decline", {"reason": "busy"})
    lw.advance(30)  # PLAT's last accept or close is now 40 days old
    lid3 = lw.lead()
    lw.route(lid3)
    a = current(lw.get(lid3))
    cands = {c["id"]: c for c in a["inputs"]["candidates"]}
    assert cands[PLAT]["last_active_days"] == 40 and cands[PLAT]["acceptance_pct"] == 50, cands[PLAT]
    assert a["targets"] != str(PLAT), a
    assert "inactive partner(s) skipped" in a["reason"], a


def test_default_policy_honours_weights(lw):
    # GOLD (weight 2) and SILV (weight 1) both cover GB; the others do not.
    lw.profile(PLAT, "US", "", 1)
    lw.profile(GOLD, "GB", "", 2)
    lw.profile(SILV, "GB", "", 1)
    got = []
    for i in range(6):
        lid = lw.lead(region="leeds", product="X", size="smb", company=f"Co {i}")
        lw.route(lid)
        a = current(lw.get(lid))
        assert a["kind"] == "partner", a
        got.append(int(a["targets"]))
    assert got.count(GOLD) == 4 and got.count(SILV) == 2, got
    # (open leads + 1) / weight, ties to the higher acceptance rate (a partner never offered one: 100 %)
    assert got == [GOLD, SILV, GOLD, GOLD, GOLD, SILV], got
    assert "round robin by weight" in a["reason"], a


# ---- the routing dry run -------------------------------------------------------------------------------


ALL_TO_SILV = """
function route(lead, candidates, excluded)
  return "partner", 4, 72, "everything to Oakfield"
end
"""


def test_routing_dry_run_shows_who_would_have_got_each_lead(lw):
    ids = [lw.lead(company="London Co"), lw.lead(country="IE", region="dublin", company="Dublin Co"),
           lw.lead(country="FR", region="paris", product="OTHER", size="smb", company="Paris Co")]
    for lid in ids:
        lw.route(lid)
    v = upload_policy(lw, ALL_TO_SILV, [{"name": "silv", "lead": {}, "candidates": [{"id": 4}], "excluded": [],
                                        "expect": {"kind": "partner", "ids": [4]}}])
    # what the outbox holds (ids and kinds): its messages' delivery state moves on by itself (the mail
    # worker), a dry run must add none
    before = [(m["id"], m["kind"]) for m in lw.outbox()]
    rep = lw.cm.ok("POST", "/api/v1/leads/dry-run", {"version": v, "last": 2})
    assert rep["version"] == v and rep["leads"] == 2, rep
    rows = rep["items"]
    assert [r["lead_id"] for r in rows] == [ids[2], ids[1]]  # the newest first
    paris, dublin = rows
    assert paris["actual"]["kind"] == "pool" and paris["would"] == {"kind": "partner", "ids": [SILV],
                                                                    "reason": "everything to Oakfield"}
    assert paris["changed"] is True
    assert dublin["actual"]["ids"] == [SILV] and dublin["actual"]["kind"] == "partner" and dublin["changed"] is False
    assert rep["changed"] == 1
    full = lw.cm.ok("POST", "/api/v1/leads/dry-run", {"version": v, "last": 50})
    assert full["leads"] == 3
    assert full["items"][2]["actual"]["ids"] == [PLAT] and full["items"][2]["would"]["ids"] == [SILV]
    # the active version over the same leads: nothing changes
    same = lw.cm.ok("POST", "/api/v1/leads/dry-run", {"version": 1, "last": 50})
    assert same["changed"] == 0, same
    # it wrote nothing
    assert [(m["id"], m["kind"]) for m in lw.outbox()] == before
    assert lw.get(ids[0])["assignments"][0]["targets"] == str(PLAT)
    assert_json_error(lw.cm.call("POST", "/api/v1/leads/dry-run", {"version": 99}), 404, "not_found")
    assert_json_error(lw.cm.call("POST", "/api/v1/leads/dry-run", {"version": v, "last": 0}), 400, "invalid")
    assert_json_error(lw.p(PLAT).call("POST", "/api/v1/leads/dry-run", {"version": v}), 403)
    # the same in the console's leads page
    from test_pages_console import PASSWORD, Browser, text
    lw.admin.ok("POST", "/api/v1/users", {"email": "cm-page@x.example", "name": "CM", "role": "channel-manager",
                                          "password": PASSWORD}, status=201)
    b = Browser(lw.d)
    b.login("cm-page@x.example")
    page = text(b.get(f"/vendor/leads?dry_run={v}&last=2").text)
    assert f"Version {v} over the last 2 routed lead(s): 1 would go elsewhere." in page, page
    pool = " ".join(str(i) for i in paris["actual"]["ids"])
    assert f"L-{ids[2]} pool {pool} partner 4 everything to Oakfield" in page, page
    assert f"L-{ids[1]} partner 4 partner 4 everything to Oakfield" in page, page
    assert "a dry run covers the last 1..200 routed leads" in text(b.get(f"/vendor/leads?dry_run={v}&last=999").text)
    assert "no routing policy version 99" in text(b.get("/vendor/leads?dry_run=99").text)
    assert [(m["id"], m["kind"]) for m in lw.outbox()] == before  # the console's dry run adds none either


# ---- the public web-to-lead form -------------------------------------------------------------------------


def form_get(lw, slug="sentinel"):
    r = lw.d.get(f"/f/{slug}/lead")
    if r.status != 200:
        return r, None
    html = r.body.decode()
    m = re.search(r'name="ts" value="([^"]+)"', html)
    assert m and 'name="website"' in html, html
    return r, m.group(1)


def form_post(lw, fields, slug="sentinel"):
    body = urllib.parse.urlencode(fields).encode()
    return lw.d.request("POST", f"/f/{slug}/lead", body=body,
                        headers={"Content-Type": "application/x-www-form-urlencoded"})


PERSON = {"company": "Fieldfare Ltd", "contact_name": "Fay Field", "email": "fay@fieldfare.example",
          "country": "GB", "product": "WSG-STD", "notes": "We need web security for 40 seats."}


def test_web_to_lead_form_refuses_bots_and_accepts_a_person(lw):
    r, _ = form_get(lw)
    assert r.status == 404  # closed until the vendor opens it
    lw.admin.ok("PATCH", "/api/v1/vendor", {"lead_form_enabled": 1, "lead_form_min_seconds": 2,
                                            "lead_form_per_hour": 20})
    r, ts = form_get(lw)
    assert r.status == 200 and "script" not in r.body.decode().lower()
    # too fast: sent at once
    r = form_post(lw, dict(PERSON, ts=ts, website=""))
    assert r.status == 400 and b"faster than a person" in r.body, r
    time.sleep(2.3)
    # the honeypot filled in
    r = form_post(lw, dict(PERSON, ts=ts, website="http://spam.example"))
    assert r.status == 400 and b"not sent by a person" in r.body, r
    # a field that is not UTF-8: refused naming it, no lead (the lead lost the field)
    n = len(lw.admin.items("/api/v1/leads"))
    r = form_post(lw, dict(PERSON, ts=ts, website="", company=b"Caf\xe9 Ltd"))
    assert r.status == 400 and b"company" in r.body, r
    assert len(lw.admin.items("/api/v1/leads")) == n
    # no stamp, or a forged one
    r = form_post(lw, dict(PERSON, website=""))
    assert r.status == 400, r
    forged = ts.split(".")[0] + "." + "0" * 64
    r = form_post(lw, dict(PERSON, ts=forged, website=""))
    assert r.status == 400 and b"not valid" in r.body, r
    early = str(int(ts.split(".")[0]) - 60000) + "." + ts.split(".")[1]  # an older time under the same MAC
    r = form_post(lw, dict(PERSON, ts=early, website=""))
    assert r.status == 400 and b"not valid" in r.body, r
    assert lw.cm.items("/api/v1/leads") == []
    # a person
    r = form_post(lw, dict(PERSON, ts=ts, website=""))
    assert r.status == 201 and b"Thank you" in r.body, r
    leads = lw.cm.items("/api/v1/leads")
    assert len(leads) == 1
    lead = leads[0]
    assert (lead["source"], lead["state"], lead["company"], lead["email"]) == ("form", "new", "Fieldfare Ltd",
                                                                               "fay@fieldfare.example")
    mails = lw.outbox("lead_received")
    assert [m["to"] for m in mails] == ["fay@fieldfare.example"] and "Sentinel" in mails[0]["subject"]
    # another vendor's form is not open
    r, _ = form_get(lw, "othervendor")
    assert r.status == 404


def test_web_to_lead_form_refuses_a_flood(lw):
    lw.admin.ok("PATCH", "/api/v1/vendor", {"lead_form_enabled": 1, "lead_form_min_seconds": 1,
                                            "lead_form_per_hour": 3})
    _, ts = form_get(lw)
    time.sleep(1.3)
    for i in range(3):
        r = form_post(lw, dict(PERSON, ts=ts, website="", email=f"p{i}@fieldfare.example"))
        assert r.status == 201, r
    r = form_post(lw, dict(PERSON, ts=ts, website="", email="p9@fieldfare.example"))
    assert r.status == 429 and r.headers.get("retry-after") == "3600", r
    assert len(lw.cm.items("/api/v1/leads")) == 3


# ---- the pages: the console qualifies and routes, the partner accepts and closes -----------------------


def test_pages_qualify_route_accept_and_close(lw):
    from test_pages_console import PASSWORD, Browser, text
    lw.admin.ok("POST", "/api/v1/users", {"email": "cm-page@x.example", "name": "CM", "role": "channel-manager",
                                          "password": PASSWORD}, status=201)
    lw.admin.ok("POST", "/api/v1/users", {"email": "plat-page@x.example", "name": "Plat", "role": "partner-sales",
                                          "partner_id": PLAT, "password": PASSWORD}, status=201)
    lid = lw.cm.ok("POST", "/api/v1/leads", {"company": "Page Co", "country": "GB"}, status=201)["id"]
    cm = Browser(lw.d)
    cm.login("cm-page@x.example")
    page = text(cm.get("/vendor/leads").text)
    assert "L-%d: Page Co" % lid in page and "Qualify" in page
    # without the CSRF token: refused, nothing changes
    cm.post(f"/vendor/leads/{lid}", {"action": "qualify", "product": "WSG-STD"}, status=403, csrf=False)
    assert lw.get(lid)["state"] == "new"
    r = cm.post(f"/vendor/leads/{lid}", {"action": "qualify", "product": "", "region": "london"}, status=400)
    assert "product of interest" in text(r.text)
    # text that is not UTF-8 is refused naming its field (it was stored, and the lead read back without it)
    r = cm.post(f"/vendor/leads/{lid}", {"action": "qualify", "product": "WSG-STD", "situation": b"a\xffb"}, status=400)
    assert "situation" in text(r.text), text(r.text)[:300]
    assert lw.get(lid)["state"] == "new"
    cm.post(f"/vendor/leads/{lid}", {"action": "qualify", "product": "WSG-STD", "region": "london",
                                      "company_size": "enterprise", "situation": "", "time_frame": ""})
    cm.post(f"/vendor/leads/{lid}", {"action": "route"})
    page = text(cm.get("/vendor/leads?done=routed").text)
    assert "The lead is routed." in page and "best match (score 10)" in page and "offered to 2" in page
    # the partner's portal: the deadline and why; accept; close won
    p = Browser(lw.d)
    p.login("plat-page@x.example")
    page = text(p.get("/partner/leads").text)
    dl = current(lw.get(lid))["deadline"]  # 2026-12-09T04:48:10Z
    assert f"Accept by {dl[:10]} {dl[11:16]} UTC" in page and "best match (score 10) (routing policy v1)" in page, page
    assert "offered to" not in page  # who else was offered it is the vendor's
    other = Browser(lw.d)
    lw.admin.ok("POST", "/api/v1/users", {"email": "gold-page@x.example", "name": "Gold", "role": "partner-sales",
                                          "partner_id": GOLD, "password": PASSWORD}, status=201)
    other.login("gold-page@x.example")
    assert "Page Co" not in other.get("/partner/leads").text
    other.post(f"/partner/leads/{lid}", {"action": "accept"}, status=404)
    p.post(f"/partner/leads/{lid}", {"action": "accept"})
    page = text(p.get("/partner/leads?done=accepted").text)
    assert "You accepted the lead" in page and "Being worked" in page
    assert lw.get(lid)["state"] == "accepted"
    # the value as a person writes an amount, in the vendor's currency (as the deal form
    # takes it): not minor units, where "4200" was recorded as GBP 42.00
    card = re.search(rf'<li id="lead-{lid}">.*?</li>', p.get("/partner/leads").text, re.S).group(0)
    assert "Value (GBP)" in text(card) and "minor units" not in card, text(card)
    for bad in ("abc", "-5", "0", "4200.555", "4,200", "99999999999999999999"):
        r = p.post(f"/partner/leads/{lid}", {"action": "won", "value": bad}, status=400)
        assert "12000.50" in text(r.text), (bad, text(r.text)[:400])
    assert lw.get(lid)["state"] == "accepted"
    p.post(f"/partner/leads/{lid}", {"action": "won", "value": "4200"})
    assert lw.get(lid)["state"] == "won" and lw.get(lid)["value"] == 420000
    assert "Won: GBP 4,200.00" in text(p.get("/partner/leads").text)


def test_a_rep_who_is_not_the_vendors_is_refused_and_the_lead_returned(lw):
    # a partner's user, then no user at all: neither is a rep of the vendor's team
    for rep in (lw.p(PLAT).user_id, 9999):
        v = upload_policy(lw, REP_POLICY.replace("REP", str(rep)),
                          [{"name": "strategic", "lead": {"company_size": "strategic"}, "candidates": [],
                            "excluded": [], "expect": {"kind": "rep"}}])
        lw.admin.ok("POST", f"/api/v1/policies/routing/{v}/activate")
        lid = lw.lead(size="strategic")
        lead = lw.route(lid)
        assert lead["state"] == "returned", lead
        assert f"chose rep {rep}, who is not an enabled user of the vendor's team" in lead["returned_reason"]
        assert lw.get(lid)["assignments"] == [] and lw.outbox("lead_offer") == []


# ---- leads by import ---------------------------------------------------------------------------------------


def run_import(lw, body, query="kind=leads&format=csv"):
    r = lw.cm.call("POST", f"/api/v1/imports?{query}", body, headers={"Content-Type": "text/csv"})
    assert r.status == 202, r
    doc = r.json()
    deadline = time.monotonic() + 20
    while doc["status"] == "running":
        assert time.monotonic() < deadline, doc
        time.sleep(0.02)
        doc = lw.cm.get(f"/api/v1/imports/{doc['id']}")
    return doc


def test_leads_arrive_by_import(lw):
    csv = (b"external_id,company,contact_name,email,country,product,notes\n"
           b"L-100,Import One Ltd,Ian,ian@one.example,GB,WSG-STD,from the fair\n"
           b"L-101,,Solo Buyer,solo@two.example,IE,,\n"
           b"L-102,,,,GB,,nobody to call\n"
           b"L-103,Bad Mail Ltd,,not-an-address,GB,,\n")
    doc = run_import(lw, csv, "kind=leads&format=csv&atomic=false")
    assert doc["status"] == "succeeded" and doc["rows_ok"] == 2 and doc["rows_failed"] == 2, doc
    assert [(e["row"], e["column"]) for e in doc["errors"]] == [(4, "company"), (5, "email")], doc["errors"]
    leads = {x["external_id"]: x for x in lw.cm.items("/api/v1/leads")}
    assert set(leads) == {"L-100", "L-101"}
    one = leads["L-100"]
    assert (one["source"], one["state"], one["company"], one["product"]) == ("import", "new", "Import One Ltd", "WSG-STD")
    assert one["created_at"]
    # re-importing updates what the lead says, never its state; nothing new
    lw.cm.ok("POST", f"/api/v1/leads/{one['id']}/qualify", {"product": "WSG-STD", "region": "london"})
    doc = run_import(lw, b"external_id,company,phone\nL-100,Import One Ltd,+44 1 2345\n")
    assert doc["rows_ok"] == 1 and doc["created"] == 0 and doc["updated"] == 1, doc
    again = lw.get(one["id"])
    assert again["state"] == "qualified" and again["phone"] == "+44 1 2345" and again["source"] == "import"
    assert len(lw.cm.items("/api/v1/leads")) == 2
    # an import cannot set what renewd decides
    doc = run_import(lw, b"external_id,company,state\nL-104,X Ltd,won\n")
    assert doc["status"] == "failed" or doc["rows_ok"] == 0, doc
    assert len(lw.cm.items("/api/v1/leads")) == 2
    # the API refuses a second lead with the same external id
    r = lw.cm.call("POST", "/api/v1/leads", {"company": "Dup", "external_id": "L-100"})
    assert_json_error(r, 409, "conflict")
    assert r.json()["error"]["field"] == "external_id"
    # partners import nothing
    r = lw.p(PLAT).call("POST", "/api/v1/imports?kind=leads&format=csv", b"company\nX\n", headers={"Content-Type": "text/csv"})
    assert_json_error(r, 403)
    lw.route(one["id"])
    assert current(lw.get(one["id"]))["targets"] == str(PLAT)


def test_a_rep_accepts_and_wins_in_the_console(lw):
    from test_pages_console import PASSWORD, Browser, text
    rep = lw.admin.ok("POST", "/api/v1/users", {"email": "rep-page@x.example", "name": "Rita Rep", "role": "vendor-sales",
                                                "password": PASSWORD}, status=201)
    lw.admin.ok("POST", "/api/v1/users", {"email": "cm-page@x.example", "name": "CM", "role": "channel-manager",
                                          "password": PASSWORD}, status=201)
    v = upload_policy(lw, REP_POLICY.replace("REP", str(rep["id"])),
                      [{"name": "strategic", "lead": {"company_size": "strategic"}, "candidates": [], "excluded": [],
                        "expect": {"kind": "rep"}}])
    lw.admin.ok("POST", f"/api/v1/policies/routing/{v}/activate")
    lid = lw.lead(size="strategic", company="Strategic plc")
    lw.route(lid)
    offer = [m for m in lw.outbox("lead_offer") if m["to"] == "rep-page@x.example"]
    assert len(offer) == 1 and offer[0]["text"].startswith("Hello Rita Rep,") and "/vendor/leads" in offer[0]["text"]
    cm = Browser(lw.d)
    cm.login("cm-page@x.example")
    card = re.search(rf'<li id="lead-{lid}">.*?</li>', cm.get("/vendor/leads").text, re.S).group(0)
    assert "strategic accounts go to the named rep" in text(card) and 'value="accept"' not in card
    cm.post(f"/vendor/leads/{lid}", {"action": "accept"}, status=404)  # not offered to the channel manager
    b = Browser(lw.d)
    b.login("rep-page@x.example")
    card = re.search(rf'<li id="lead-{lid}">.*?</li>', b.get("/vendor/leads").text, re.S).group(0)
    assert f"offered to {rep['id']}" in text(card) and 'value="accept"' in card
    b.post(f"/vendor/leads/{lid}", {"action": "accept"})
    assert lw.get(lid)["rep_id"] == rep["id"] and lw.get(lid)["state"] == "accepted"
    b.post(f"/vendor/leads/{lid}", {"action": "won", "value": "7.77"})
    assert lw.get(lid)["state"] == "won" and lw.get(lid)["value"] == 777


BAD_POLICY = """
function route(lead, candidates, excluded)
  if lead.company_size == "loop" then
    while true do end
  end
  return "partner", 999, 24, "a partner that does not exist"
end
"""


def test_a_policy_outside_its_contract_or_over_its_limits_returns_the_lead(lw):
    v = upload_policy(lw, BAD_POLICY, [{"name": "bad id", "lead": {}, "candidates": [{"id": 2}], "excluded": [],
                                        "expect_error": "not an eligible candidate"}])
    lw.admin.ok("POST", f"/api/v1/policies/routing/{v}/activate")
    lid = lw.lead()
    lead = lw.route(lid)
    assert lead["state"] == "returned", lead
    assert lead["returned_reason"].startswith(f"the routing policy (v{v}) placed it nowhere: ")
    assert "partner 999, which is not an eligible candidate" in lead["returned_reason"], lead
    lid2 = lw.lead(size="loop")
    lead = lw.route(lid2)
    assert lead["state"] == "returned" and "instruction budget exceeded" in lead["returned_reason"], lead
    assert lw.outbox("lead_offer") == [] and len(lw.outbox("lead_returned")) == 2
    assert lw.d.get("/healthz").status == 200
