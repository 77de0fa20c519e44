"""The renewal engine against a real SMTP server.

renewd runs with a settable clock (--test-clock 1) and delivers its outbox
by SMTP to an in-process server (aiosmtpd's Controller on 127.0.0.1, an
ephemeral port) that keeps every message it receives.  The scheduler only
sweeps when the clock moves (--sched-interval-ms 100000).

* test_simulated_year: the demo store through a year, day by day, with
  partner decisions on one reseller's opportunities and the vendor's
  default (pullback) on the others, a daemon restart half way and a week
  with the mail server down.  The messages received are compared, exactly,
  with the ones the programme's rules call for, computed here from the
  contract data (never from renewd's own action log).
* the quotes carry the seed programme's margins for every tier and mode;
* the schedule preview (HTTP and renewctl) lists exactly what then happens;
* a margin policy that fails for one tier marks the quote for attention;
* decisions, the customer's link (portal, actions, tasks), the clock API's
  refusals.

The rules, as the tests model them (W = renewal window, DW = decision window):
  quote      day max(first sweep, end - W), for a live contract of at most
             max_seats seats ending on or after the first sweep; to the reseller
  decision   a partner decides by decision_by = min(quote day + DW, end),
             that day included
  pullback   the day after decision_by, if still undecided: the vendor's
             default, told to the reseller, the distributor and the vendor
  notice     to the customer, when published (decision or pullback); with it the sales
             notice to the seller (the reseller's address, or the vendor's)
  reminder   at each cadence offset c (days before the end, negative:
             overdue) on day end - c, for a published opportunity
  digest     Mondays, per partner (reseller or distributor) with an opportunity pending, or published
             and ending within 30 days
"""
import datetime
import email
import json
import re
import threading
import time
from email import policy as email_policy

import pytest

from conftest import DEMO, ApiClient, api_user, assert_json_error, demo_load, http_request, renewctl

try:
    from aiosmtpd.controller import Controller
except ImportError:  # python3-aiosmtpd is in scripts/deps
    pytest.fail("python3-aiosmtpd is missing: run scripts/deps", pytrace=False)

DEMO_DATA = json.loads(DEMO.read_text())
CADENCE = [60, 30, 14, 7, 0, -7]  # the default reminder_days
NOTIFY = "renewals-team@sentinel.example"
DIST_SHARE_BP = 300
SEED_BP = {"partner": {"platinum": 3300, "gold": 2500, "silver": 2000},
           "vendor": {"platinum": 2000, "gold": 2000, "silver": 1500}}
MAIL_WAIT = 30.0  # seconds for the outbox to drain


def day(s):
    return datetime.date.fromisoformat(s[:10])


# ---- an SMTP server that keeps what it receives ------------------------------------


class _Controller(Controller):
    """aiosmtpd 1.4 connects to self.port to check the server is up, which
    fails with port 0: look up the port the server was given first."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SmtpSink:
    """Messages received, parsed: dicts with rcpt, to, subject, kind, ref,
    text and phase (how many times the server had been started then)."""

    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()
        self.port = 0
        self.phase = 0
        self.controller = None
        self.start()

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email_policy.default)
        body = msg.get_body(("plain",))
        with self.lock:
            self.messages.append({
                "rcpt": list(envelope.rcpt_tos), "to": str(msg["To"]), "subject": str(msg["Subject"]),
                "kind": str(msg["X-Renewd-Kind"]), "ref": str(msg["X-Renewd-Ref"] or ""),
                "text": body.get_content() if body is not None else "", "phase": self.phase})
        return "250 OK"

    def start(self):
        """Starts (again, on the same port after the first time)."""
        self.phase += 1
        self.controller = _Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        self.port = self.controller.port

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def received(self):
        with self.lock:
            return list(self.messages)

    def wait_for(self, pred, timeout=MAIL_WAIT, what="a message"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = [m for m in self.received() if pred(m)]
            if got:
                return got
            time.sleep(0.02)
        raise AssertionError(f"no {what} within {timeout} s; received: "
                             f"{[(m['kind'], m['to'], m['ref']) for m in self.received()]}")


@pytest.fixture
def smtp():
    s = SmtpSink()
    yield s
    s.stop()


# ---- a renewd with the test clock and SMTP ----------------------------------------------


def renewd_args(smtp_port):
    return ["--test-clock", "1", "--mail-transport", f"smtp://127.0.0.1:{smtp_port}", "--mail-retry-ms", "100",
            "--sched-interval-ms", "100000"]


class World:
    """The demo store as the API shows it at the start, by external id."""

    def __init__(self, admin):
        self.admin = admin
        self.today = day(admin.get("/api/v1/clock")["today"])
        self.vendor = admin.get("/api/v1/vendor")
        self.partners = {p["id"]: p for p in admin.items("/api/v1/partners")}
        self.partner_by_ext = {p["external_id"]: p for p in self.partners.values()}
        self.customers = {c["id"]: c for c in admin.items("/api/v1/customers")}
        self.products = {p["id"]: p for p in admin.items("/api/v1/products")}
        self.contracts = {k["id"]: k for k in admin.items("/api/v1/contracts")}
        self.contract_by_ext = {k["external_id"]: k for k in self.contracts.values()}

    def opportunities(self, query=""):
        return self.admin.items("/api/v1/opportunities" + query)


def start_world(daemon, tmp_path, smtp, users=(), notify=True, args=()):
    """Demo store, a vendor admin (and `users`: (email, role, partner
    external id)), renewd on the SMTP sink (and `args`, renewd's further
    flags).  Returns (daemon, World, {email: ApiClient})."""
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    ids = {p["external_id"]: i + 1 for i, p in enumerate(DEMO_DATA["partners"])}  # the demo's partner ids
    token, uid = api_user(data, email="admin@x.example")
    made = {e: api_user(data, email=e, role=r, partner=str(ids[p]) if p else None) for e, r, p in users}
    d = daemon(data=data, args=renewd_args(smtp.port) + list(args))
    admin = ApiClient(d, token, uid)
    if notify:
        admin.ok("PATCH", "/api/v1/vendor", {"notify_email": NOTIFY})
    w = World(admin)
    for e, r, p in users:
        assert not p or w.partner_by_ext[p]["id"] == ids[p], "the demo's partner ids changed"
    w.data = data
    return d, w, {e: ApiClient(d, t, u) for e, (t, u) in made.items()}


SWEEP_WAITS = "the rest of the vendor's work waits for the next turn"


def set_clock(admin, date):
    """Moves the clock and returns the answer, once the day's sweep is over.
    The margin policy has 25 ms of wall clock in one sweep (docs/policies.md);
    on a busy machine they can run out, and the vendor's remaining contracts
    are then quoted (and the rest of its day done) by a sweep 20 ms after the
    answer.  Each turn that leaves work logs so, every turn with actions logs
    "sweep to": the last turn leaves nothing (as test_trust_policy reads it)."""
    log = admin.daemon.log
    before = len(log())
    doc = admin.ok("POST", "/api/v1/clock", {"date": date.isoformat()}, status=200)
    assert doc["today"] == date.isoformat(), doc
    # renewd writes a turn's log lines at the start of its next turn: a
    # request answered after this one makes sure the sweep's lines are out
    admin.daemon.get("/healthz")
    if SWEEP_WAITS in log()[before:]:
        deadline = time.monotonic() + 60
        while True:
            new = log()[before:]
            if new.count('"sweep to ') > new.count(SWEEP_WAITS):
                break
            assert time.monotonic() < deadline, "the sweep left in turns did not end within 60 s"
            time.sleep(0.05)
    return doc


def outbox_queued(admin):
    """How many messages wait in the outbox, as /metrics counts them (a walk
    of the queued ones only: cheap enough to poll, unlike the outbox's list)."""
    r = http_request(admin.daemon.port, "GET", "/metrics", timeout=30)
    assert r.status == 200, r
    m = re.search(r"^renewd_outbox_queued_messages (\S+)$", r.body.decode(), re.M)
    assert m, r.body[:2000]
    return int(float(m.group(1)))


def wait_outbox_drained(admin, smtp=None, timeout=MAIL_WAIT):
    """Waits until nothing is queued (and, with smtp, until the server has
    every message the outbox lists as sent).  Returns the outbox.

    The whole outbox (every message with its text: hundreds of KiB late in
    the simulated year) is read only once /metrics counts nothing queued.
    Read back to back while waiting, each read held renewd's loop for most
    of a second (ASan, busy machine), the loop that records each delivery
    and starts the next: the mail went at about one message a second and
    the wait ran out with dozens still queued, never tried."""
    deadline = time.monotonic() + timeout
    while True:
        if outbox_queued(admin) == 0:
            box = admin.items("/api/v1/outbox")
            queued = [m for m in box if m["state"] == "queued"]
            sent = [m for m in box if m["state"] == "sent"]
            if not queued and (smtp is None or len(smtp.received()) >= len(sent)):
                return box
        if time.monotonic() > deadline:
            queued = admin.items("/api/v1/outbox?state=queued")
            raise AssertionError(f"{len(queued)} message(s) still queued after {timeout} s: "
                                 f"{[(m['kind'], m['to'], m['attempts'], m['last_error']) for m in queued][:10]}")
        time.sleep(0.05)


# ---- the programme's rules, computed from the contract data ------------------------------


class Expect:
    """What should happen between the first sweep (day t0) and day last,
    when the partners in `deciders` publish-partner each of their
    opportunities on the day it appears and everyone else leaves it to the
    vendor's default.  opp_of maps a contract id to its opportunity id
    (renewd numbers them)."""

    def __init__(self, w, t0, last, deciders=(), opp_of=None):
        v = w.vendor
        self.window = v["renewal_window_days"] or 90
        self.dwin = v["decision_window_days"]
        self.max_seats = v["max_seats"]
        cadence = v["reminder_days"] or " ".join(map(str, CADENCE))
        self.cadence = [int(x) for x in cadence.replace(",", " ").split()]
        self.messages = {}  # (ref, to, kind) -> day
        self.opps = {}      # contract id -> dict(quote, decision_by, publish, decided)
        opp_of = opp_of or {}
        for k in w.contracts.values():
            end = day(k["end"])
            if k["status"] == "cancelled" or end < t0:
                continue
            q = max(t0, end - datetime.timedelta(days=self.window))
            if q > last:
                continue
            if self.max_seats and k["quantity"] > self.max_seats:
                continue  # outside the programme: tracked only
            reseller = w.partners[k["reseller_id"]]
            cust = w.customers[k["customer_id"]]
            # due within the window and before the end (never before the quote)
            decision_by = max(q, min(q + datetime.timedelta(days=self.dwin), end - datetime.timedelta(days=1)))
            decided = reseller["id"] in deciders
            pub = q if decided else decision_by + datetime.timedelta(days=1)
            self.opps[k["id"]] = dict(quote=q, decision_by=decision_by, publish=pub, decided=decided, end=end,
                                      reseller=reseller["id"], distributor=k["distributor_id"])
            self._add(f"quote:{k['id']}", reseller["email"], "quote_notice", q)
            o = opp_of.get(k["id"])
            if o is None:
                continue
            if pub > last:
                continue
            tell_customer = cust["email"] and not reseller["opt_out_notices"]
            if not decided:
                self._add(f"pullback:{o}", reseller["email"], "pullback", pub)
                if k["distributor_id"]:
                    self._add(f"pullback:{o}", w.partners[k["distributor_id"]]["email"], "pullback", pub)
                self._add(f"pullback:{o}", v["notify_email"], "pullback", pub)
            if tell_customer:
                self._add(f"notice:{o}", cust["email"], "customer_notice", pub)
                # and the sales person it is published in the name of (no sales_user_id set
                # here): the reseller's address, or the vendor's renewals address
                mode = "partner" if decided else v["publish_default"]
                self._add(f"notice:{o}", reseller["email"] if mode == "partner" else v["notify_email"],
                          "sales_notice", pub)
            for c in self.cadence:
                r = end - datetime.timedelta(days=c)
                # a decision comes after that day's sweep; the default within it
                published = r > pub if decided else r >= pub
                if t0 <= r <= last and published and tell_customer:
                    self._add(f"reminder:{c}:{o}", cust["email"], "reminder", r)
        # Mondays: one digest per partner (reseller, or distributor for its
        # resellers') with something pending or ending in 30 days
        d = t0
        while d <= last:
            if d.weekday() == 0:
                partners = {o["reseller"] for o in self.opps.values()} | \
                           {o["distributor"] for o in self.opps.values() if o["distributor"]}
                for r in sorted(partners):
                    mine = [o for o in self.opps.values() if r in (o["reseller"], o["distributor"])]
                    if any(self._pending(o, d) or self._ending(o, d) for o in mine):
                        self._add(f"digest:{r}:{d.isoformat()}", w.partners[r]["email"], "digest", d)
            d += datetime.timedelta(days=1)

    def _add(self, ref, to, kind, when):
        if not to:
            return
        key = (ref, to, kind)
        assert key not in self.messages, f"the model made {key} twice"
        self.messages[key] = when

    @staticmethod
    def _pending(o, d):
        """Awaiting a decision at d's sweep (a decision on d comes after it)."""
        if d < o["quote"]:
            return False
        return d <= o["quote"] if o["decided"] else d < o["publish"]

    @staticmethod
    def _ending(o, d):
        published = d > o["publish"] if o["decided"] else d >= o["publish"]
        return published and d <= o["end"] <= d + datetime.timedelta(days=30)

    def between(self, lo, hi):
        return {k: v for k, v in self.messages.items() if lo <= v <= hi}


def diff(title, want, got):
    """A readable difference of two {key: value} or sets."""
    want_keys, got_keys = set(want), set(got)
    lines = [title]
    for k in sorted(want_keys - got_keys):
        lines.append(f"  missing:    {k}" + (f"  on {want[k]}" if isinstance(want, dict) else ""))
    for k in sorted(got_keys - want_keys):
        lines.append(f"  unexpected: {k}" + (f"  on {got[k]}" if isinstance(got, dict) else ""))
    if isinstance(want, dict) and isinstance(got, dict):
        for k in sorted(want_keys & got_keys):
            if want[k] != got[k]:
                lines.append(f"  wrong day:  {k}: expected {want[k]}, got {got[k]}")
    return "\n".join(lines) if len(lines) > 1 else ""


def duplicates(msgs):
    seen, dup = {}, []
    for m in msgs:
        for rcpt in m["rcpt"]:
            key = (m["ref"], rcpt)
            seen[key] = seen.get(key, 0) + 1
            if seen[key] == 2:
                dup.append(key)
    return dup


# ---- a simulated year -----------------------------------------------------------------------


def test_simulated_year(daemon, tmp_path, smtp):
    """365 days of the demo programme, with a restart and a mail outage:
    exactly the messages the rules call for, each once, all delivered."""
    started = time.monotonic()
    gold_email = "gold-admin@x.example"
    d, w, users = start_world(daemon, tmp_path, smtp, users=[(gold_email, "partner-admin", "RES-GOLD")])
    gold = users[gold_email]
    gold_id = w.partner_by_ext["RES-GOLD"]["id"]
    admin = w.admin
    t0 = w.today
    last = t0 + datetime.timedelta(days=365)
    restart_day = t0 + datetime.timedelta(days=180)
    outage = (t0 + datetime.timedelta(days=200), t0 + datetime.timedelta(days=207))
    decided = {}  # opportunity id -> day

    def decide_new(today):
        for o in gold.items(f"/api/v1/opportunities?state=pending_decision&partner={gold_id}"):
            assert o["reseller_id"] == gold_id, o
            doc = gold.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "partner"}, status=200)
            assert doc["state"] == "published_partner" and doc["publish"] == "partner", doc
            assert not doc["decided_by_default"], doc
            decided[o["id"]] = today

    decide_new(t0)
    today, moves, outage_sent_before = t0, 0, 0
    while today < last:
        today += datetime.timedelta(days=1)
        if today == outage[0]:
            # the mail server goes down (once nothing is in flight: a message
            # cut off mid-transfer may rightly be sent twice, at least once)
            wait_outbox_drained(admin, smtp)
            outage_sent_before = len(smtp.received())
            smtp.stop()
        doc = set_clock(admin, today)
        moves += 1
        if doc["actions"]:
            decide_new(today)
        if today == outage[1]:
            # every message of the week has been tried and failed at least once
            deadline = time.monotonic() + MAIL_WAIT
            while True:
                queued = admin.items("/api/v1/outbox?state=queued")
                if queued and all(m["attempts"] >= 1 and m["last_error"] for m in queued):
                    break
                assert time.monotonic() < deadline, f"outage: messages not tried: {queued}"
                time.sleep(0.05)
            assert len(smtp.received()) == outage_sent_before
            smtp.start()
        if today == restart_day:
            d.stop()  # SIGTERM: a clean exit (under ASan: no leaks)
            d = daemon(data=w.data, args=renewd_args(smtp.port))
            admin.daemon = gold.daemon = d
            clock = admin.get("/api/v1/clock")
            assert clock["today"] == today.isoformat() and clock["settable"], clock
    year_moved = time.monotonic()

    box = wait_outbox_drained(admin, smtp)
    received = smtp.received()
    opps = w.opportunities()
    opp_of = {o["contract_id"]: o["id"] for o in opps}
    exp = Expect(w, t0, last, deciders={gold_id}, opp_of=opp_of)

    # renewd made the opportunities the rules call for, decided as planned
    problems = [diff("opportunities (contract ids):", set(exp.opps), set(opp_of))]
    for o in opps:
        e = exp.opps.get(o["contract_id"])
        if e is None:
            continue
        if day(o["decision_by"]) != e["decision_by"]:
            problems.append(f"opportunity {o['id']}: decision_by {o['decision_by']}, expected {e['decision_by']}")
        if e["decided"] and decided.get(o["id"]) != e["quote"]:
            problems.append(f"opportunity {o['id']} (gold) decided on {decided.get(o['id'])}, quoted {e['quote']}")
        if e["publish"] > last:
            want = ("pending_decision", 0)
        else:
            want = ("expired" if e["end"] < last else "published_partner" if e["decided"] else "published_vendor",
                    0 if e["decided"] else 1)
        if (o["state"], o["decided_by_default"]) != want:
            problems.append(f"opportunity {o['id']}: (state, decided_by_default) = "
                            f"{(o['state'], o['decided_by_default'])}, expected {want}")

    # the messages received: exactly the expected ones, none twice
    dup = duplicates(received)
    got = {(m["ref"], m["rcpt"][0], m["kind"]) for m in received}
    problems.append(diff("messages received by SMTP (ref, to, kind):", set(exp.messages), got))
    for m in received:
        if m["rcpt"] != [m["to"]]:
            problems.append(f"envelope {m['rcpt']} but To: {m['to']}")
    # the outbox agrees, with the business day each was queued on
    in_box = {(m["ref"], m["to"], m["kind"]): day(m["created_at"]) for m in box}
    problems.append(diff("outbox (ref, to, kind) by day:", exp.messages, in_box))
    problems = [p for p in problems if p]
    assert not dup, f"messages received twice (ref, to): {dup}"
    assert not problems, "\n".join(problems)
    assert len(received) == len(box) == len(exp.messages)

    # every contract that ended within the year is expired (the day after its end), cancelled ones stay so
    statuses = {k["external_id"]: k["status"] for k in admin.items("/api/v1/contracts")}
    want = {k["external_id"]: "cancelled" if k["status"] == "cancelled" else "expired" if day(k["end"]) < last
            else "live" for k in w.contracts.values()}
    assert statuses == want, diff("contract statuses:", want, statuses)

    states = {}
    for m in box:
        states[m["state"]] = states.get(m["state"], 0) + 1
    assert states == {"sent": len(box)}, states

    # the outage: its messages waited, failed at least once, then arrived
    during = [m for m in box if outage[0] <= day(m["created_at"]) <= outage[1]]
    assert during, "nothing happened during the outage: the test does not test it"
    assert all(m["attempts"] >= 2 for m in during), [(m["ref"], m["attempts"]) for m in during]
    late = {(m["ref"], m["rcpt"][0]) for m in received if m["phase"] == 2}
    assert {(m["ref"], m["to"]) for m in during} <= late

    # a few things every message kind must say
    by_ref = {(m["ref"], m["rcpt"][0]): m for m in received}
    for (ref, to, kind), when in exp.messages.items():
        m = by_ref[(ref, to)]
        if kind == "customer_notice":
            assert re.search(r"/c/rd_[A-Za-z0-9_-]{43}", m["text"]), m["text"]
        if kind == "pullback":
            assert "without a decision" in m["text"], m["text"]
    assert d.running(), d.log()
    d.stop()
    took = time.monotonic() - started
    print(f"\nsimulated year: {moves} clock moves in {year_moved - started:.1f} s, {len(received)} messages, "
          f"{took:.1f} s in all")


def test_catch_up_and_programme_settings(daemon, tmp_path, smtp):
    """Days missed are caught up, each action once: one clock move over 20
    days, then renewd stopped, its clock set 30 days on with renewctl and
    started again.  The vendor's own reminder cadence is followed, a partner
    that opted out of customer notices gets none sent for it, and a customer
    without an e-mail address is not written to."""
    d, w, _ = start_world(daemon, tmp_path, smtp)
    admin, t0 = w.admin, w.today
    admin.ok("PATCH", "/api/v1/vendor", {"reminder_days": "45 10 -3"})
    admin.ok("PATCH", f"/api/v1/partners/{w.partner_by_ext['RES-SILV']['id']}", {"opt_out_notices": 1})
    admin.ok("PATCH", f"/api/v1/customers/{w.contract_by_ext['K-20002']['customer_id']}", {"email": ""})
    w = World(admin)  # the settings as renewd now has them
    w.data = d.data
    doc = set_clock(admin, t0 + datetime.timedelta(days=20))
    assert doc["actions"] > 0, doc
    d.stop()
    last = t0 + datetime.timedelta(days=50)
    renewctl("clock", "set", last.isoformat(), data=w.data, check=True)
    d = daemon(data=w.data, args=renewd_args(smtp.port))
    admin.daemon = d
    assert admin.get("/api/v1/clock")["today"] == last.isoformat()
    box = wait_outbox_drained(admin, smtp)
    exp = Expect(w, t0, last, opp_of={o["contract_id"]: o["id"] for o in w.opportunities()})
    assert exp.cadence == [45, 10, -3]
    received = smtp.received()
    assert not duplicates(received), duplicates(received)
    got = {(m["ref"], m["rcpt"][0], m["kind"]) for m in received}
    problems = diff("messages received (ref, to, kind):", set(exp.messages), got)
    assert not problems, problems
    assert {(m["ref"], m["to"], m["kind"]) for m in box} == got and len(box) == len(received)
    kinds = {k for _, _, k in got}
    assert {"quote_notice", "pullback", "customer_notice", "reminder", "digest"} <= kinds, kinds
    assert any(ref.startswith("reminder:10:") for ref, _, _ in got), got
    # what was not sent: published opportunities of the partner that opted out, of the customer without e-mail
    opps = w.opportunities()
    silv = {o["id"] for o in opps if o["reseller_id"] == w.partner_by_ext["RES-SILV"]["id"] and o["publish"]}
    nomail = {o["id"] for o in opps if o["contract_id"] == w.contract_by_ext["K-20002"]["id"] and o["publish"]}
    assert silv and nomail, opps
    told = {int(m["ref"].split(":")[-1]) for m in received if m["kind"] in ("customer_notice", "reminder")}
    assert not told & (silv | nomail), told & (silv | nomail)
    assert any(m["ref"] == f"pullback:{min(nomail)}" for m in received)  # the channel still hears of it
    assert not [m for m in received if not m["rcpt"][0]]
    d.stop()


# ---- margins -----------------------------------------------------------------------------


def test_quotes_carry_the_seed_margins(daemon, tmp_path, smtp):
    """After the first sweep, every quote's renewal line carries the seed
    table's reseller share per tier and mode, the distributor's 3 % when
    there is one, and amounts of list x bp / 10000."""
    d, w, _ = start_world(daemon, tmp_path, smtp)
    opps = w.opportunities()
    assert len(opps) >= 5, opps
    tiers_seen = set()
    for o in opps:
        k = w.contracts[o["contract_id"]]
        res = w.partners[k["reseller_id"]]
        prod = w.products[k["product_id"]]
        unit = next(p["amount"] for p in prod["prices"] if p["term"] == k["term"] and p["currency"] == k["currency"])
        line = o["lines"][0]
        assert line["kind"] == "renewal" and line["sku"] == prod["sku"], line
        assert line["unit_list"] == unit and line["quantity"] == k["quantity"], line
        lst = unit * k["quantity"]
        assert line["list"] == lst == o["list_total"], (line, o)
        assert o["attention"] == 0, o
        for mode in ("partner", "vendor"):
            m = line["margins"][mode]
            shares = {s["party"]: s for s in m["shares"]}
            want = {"reseller": SEED_BP[mode][res["tier"]]}
            if k["distributor_id"]:
                want["distributor"] = DIST_SHARE_BP
            assert {p: s["bp"] for p, s in shares.items()} == want, (o["number"], mode, m)
            for s in m["shares"]:
                assert s["amount"] == lst * s["bp"] // 10000, (o["number"], mode, s)
            assert m["channel_bp"] == sum(want.values()), m
            assert m["net"] == lst - lst * m["channel_bp"] // 10000, m
            tiers_seen.add((res["tier"], mode))
        assert o["net_total"] == line["margins"]["partner"]["net"], o
        for extra in o["lines"][1:]:  # up/cross-sell suggestions: optional, priced the same way
            assert extra["optional"] is True and extra["kind"] in ("upsell", "crosssell"), extra
            assert set(extra["margins"]) == {"partner", "vendor"}, extra
    assert tiers_seen == {(t, m) for t in ("platinum", "gold", "silver") for m in ("partner", "vendor")}, tiers_seen
    eml = [o for o in opps if w.products[o["product_id"]]["sku"] == "EML-SEC"]
    assert eml and all(o["lines"][1]["kind"] == "crosssell" and o["lines"][1]["sku"] == "DLP-EP" for o in eml), eml
    d.stop()


# ---- the schedule preview ---------------------------------------------------------------------


PREVIEW_LINE = re.compile(r"^(\d{4}-\d{2}-\d{2})  (\S+)$")
PREVIEW_MSG = re.compile(r"^\s+-> (\S+) to (\S+): (.*)$")


def parse_cli_preview(out):
    actions = []
    for line in out.splitlines():
        m = PREVIEW_LINE.match(line)
        if m:
            actions.append({"day": m.group(1), "key": m.group(2), "messages": []})
            continue
        m = PREVIEW_MSG.match(line)
        if m:
            actions[-1]["messages"].append({"kind": m.group(1), "to": m.group(2), "subject": m.group(3)})
            continue
        assert re.fullmatch(r"\d+ action\(s\) in the next \d+ day\(s\); nothing was taken", line), line
    return actions


def test_schedule_preview_is_what_happens(daemon, tmp_path, smtp):
    """GET /api/v1/schedule?days=30 and renewctl schedule preview (on the
    stopped store) list the same actions; moving the clock through those
    30 days takes exactly those actions and sends exactly those messages."""
    d, w, _ = start_world(daemon, tmp_path, smtp)
    t0 = w.today
    end = t0 + datetime.timedelta(days=30)
    doc = w.admin.get("/api/v1/schedule?days=30")
    assert doc["from"] == t0.isoformat() and doc["days"] == 30, doc
    preview = doc["actions"]
    assert all(t0 < day(a["day"]) <= end for a in preview), preview
    kinds = {a["key"].split(":")[0] for a in preview}
    assert {"quote", "pullback", "notice", "reminder", "digest", "expire"} <= kinds, kinds
    # nothing was taken
    assert w.admin.get("/api/v1/schedule?days=30")["actions"] == preview
    assert [o["id"] for o in w.opportunities()] == [o["id"] for o in w.opportunities()]
    before_box = wait_outbox_drained(w.admin, smtp)
    before_contracts = {k["id"]: k["status"] for k in w.admin.items("/api/v1/contracts")}
    before_opps = {o["id"] for o in w.opportunities()}
    assert all(day(m["created_at"]) == t0 for m in before_box)
    d.stop()

    p = renewctl("schedule", "preview", "--vendor", "sentinel", "--days", "30", data=w.data, check=True)
    cli = parse_cli_preview(p.stdout)
    assert [(a["day"], a["key"]) for a in cli] == [(a["day"], a["key"]) for a in preview], \
        diff("renewctl vs HTTP preview:", {(a["day"], a["key"]) for a in preview}, {(a["day"], a["key"]) for a in cli})
    for a, b in zip(cli, preview):
        assert [(m["kind"], m["to"], m["subject"]) for m in a["messages"]] == \
            [(m["kind"], m["to"], m["subject"]) for m in b.get("messages", [])], (a, b)

    d = daemon(data=w.data, args=renewd_args(smtp.port))
    w.admin.daemon = d
    taken = 0
    for i in range(1, 31):
        taken += set_clock(w.admin, t0 + datetime.timedelta(days=i))["actions"]
    assert taken == len(preview), (taken, len(preview))
    box = [m for m in wait_outbox_drained(w.admin, smtp) if day(m["created_at"]) > t0]
    want_msgs = {(a["key"], m["to"], m["kind"]): a["day"] for a in preview for m in a.get("messages", [])}
    got_msgs = {(m["ref"], m["to"], m["kind"]): m["created_at"][:10] for m in box}
    assert want_msgs == got_msgs, diff("preview vs outbox (ref, to, kind):", want_msgs, got_msgs)
    assert len(box) == len(got_msgs)
    received = [(m["ref"], m["rcpt"][0], m["kind"]) for m in smtp.received()]
    assert set(want_msgs) <= set(received) and len(received) == len(set(received))
    # the actions without messages: quotes (new opportunities), expiries, pullbacks
    keys = {a["key"]: a["day"] for a in preview}
    opps = w.opportunities()
    new = {f"quote:{o['contract_id']}" for o in opps if o["id"] not in before_opps}
    assert new == {k for k in keys if k.startswith("quote:")}, (new, keys)
    after_contracts = {k["id"]: k for k in w.admin.items("/api/v1/contracts")}
    expired = {f"expire:{i}" for i, k in after_contracts.items()
               if k["status"] == "expired" and before_contracts[i] == "live"}
    assert expired == {k for k in keys if k.startswith("expire:")}, (expired, keys)
    pulled = {f"pullback:{o['id']}" for o in opps if o["decided_by_default"]}
    assert pulled == {k for k in keys if k.startswith("pullback:")}, (pulled, keys)
    ineligible = {f"ineligible:{i}" for i, k in after_contracts.items()
                  if k["quantity"] > w.vendor["max_seats"] and k["status"] != "cancelled"
                  and t0 < day(k["end"]) - datetime.timedelta(days=w.vendor["renewal_window_days"]) <= end}
    assert ineligible == {k for k in keys if k.startswith("ineligible:")}, (ineligible, keys)
    # the preview now starts after the days just swept
    assert all(day(a["day"]) > end for a in w.admin.get("/api/v1/schedule?days=5")["actions"])
    d.stop()


# ---- a margin policy that fails ----------------------------------------------------------------------


FAILING_POLICY = """
local shares = {
  partner = { platinum = 3300, gold = 2500, silver = 2000 },
  vendor  = { platinum = 2000, gold = 2000, silver = 1500 },
}
function margin(line)
  local tier = line.partner.tier
  if tier == "silver" and line.deal == "none" then
    error("silver renewals need a deal registration")
  end
  local bp = shares[line.publish][tier] or 0
  if line.distributor then
    return "reseller", bp, tier, "distributor", line.vendor.distributor_bp, "distributor of record"
  end
  return "reseller", bp, tier
end
"""


def policy_vector(name, tier, deal, expect=None, error=None):
    v = {"name": name, "line": {"partner": {"id": 3, "kind": "reseller", "tier": tier}, "publish": "partner",
                                "deal": deal, "product": {"sku": "WSG-STD", "line": "Web Security", "term": "annual"},
                                "quantity": 10, "list": {"amount": 36000, "currency": "GBP"},
                                "customer": {"segment": "smb", "country": "GB"},
                                "vendor": {"deal_bonus_bp": 500, "distributor_bp": 300}}}
    if error:
        v["expect_error"] = error
    else:
        v["expect"] = expect
    return v


def test_failing_margin_policy_marks_attention(daemon, tmp_path, smtp):
    """A margin policy that raises for silver renewals without a deal: a
    silver contract entering the window gets a quote marked attention with
    the policy's error as the reason; a gold one on the same day is priced."""
    d, w, _ = start_world(daemon, tmp_path, smtp)
    vectors = [policy_vector("gold", "gold", "none", expect=[["reseller", 2500]]),
               policy_vector("platinum", "platinum", "none", expect=[["reseller", 3300]]),
               policy_vector("silver without a deal fails", "silver", "none", error="silver renewals need"),
               policy_vector("silver with a won deal", "silver", "won", expect=[["reseller", 2000]])]
    v = w.admin.ok("POST", "/api/v1/policies/margin", {"source": FAILING_POLICY, "vectors": vectors}, status=201)
    w.admin.ok("POST", f"/api/v1/policies/margin/{v['version']}/activate", status=200)
    t0 = w.today
    end = (t0 + datetime.timedelta(days=91)).isoformat()
    start = (t0 - datetime.timedelta(days=274)).isoformat()
    made = {}
    for tier, ext in (("silver", "RES-SILV"), ("gold", "RES-GOLD")):
        made[tier] = w.admin.ok("POST", "/api/v1/contracts", {
            "external_id": f"K-ATT-{tier}", "customer_id": w.contract_by_ext["K-20002"]["customer_id"],
            "product_id": w.contract_by_ext["K-20002"]["product_id"], "reseller_id": w.partner_by_ext[ext]["id"],
            "quantity": 5, "start": start, "end": end}, status=201)["id"]
    assert not [o for o in w.opportunities() if o["contract_id"] in made.values()]
    assert set_clock(w.admin, t0 + datetime.timedelta(days=1))["actions"] >= 2
    opps = {o["contract_id"]: o for o in w.opportunities()}
    silver, gold = opps[made["silver"]], opps[made["gold"]]
    assert silver["attention"] == 1, silver
    assert silver["attention_reason"].startswith("the margin policy failed") and \
        "silver renewals need a deal registration" in silver["attention_reason"], silver
    assert silver["lines"][0]["margins"] == {"partner": None, "vendor": None}, silver["lines"]
    assert silver["policy_version"] == v["version"], silver
    assert gold["attention"] == 0 and gold["attention_reason"] == "", gold
    assert gold["lines"][0]["margins"]["partner"]["shares"][0]["bp"] == 2500, gold["lines"]
    flagged = w.opportunities("?attention=true")
    assert [o["id"] for o in flagged] == [silver["id"]], flagged
    # the reseller is still told, with the margin to be confirmed
    m = smtp.wait_for(lambda m: m["ref"] == f"quote:{made['silver']}", what="silver quote notice")[0]
    assert m["kind"] == "quote_notice" and "to be confirmed" in m["text"], m
    d.stop()


# ---- decisions ------------------------------------------------------------------------------------------


def test_decision_api(daemon, tmp_path, smtp):
    """The partner of record decides (once); another reseller cannot see
    the opportunity; bad bodies are refused; a decision is still taken on
    the decision_by day itself and refused the day after (the default)."""
    users = [("gold@x.example", "partner-admin", "RES-GOLD"), ("plat@x.example", "partner-admin", "RES-PLAT"),
             ("gold-sales@x.example", "partner-sales", "RES-GOLD")]
    d, w, u = start_world(daemon, tmp_path, smtp, users=users)
    gold, plat, sales = u["gold@x.example"], u["plat@x.example"], u["gold-sales@x.example"]
    gold_id = w.partner_by_ext["RES-GOLD"]["id"]
    mine = gold.items("/api/v1/opportunities")
    assert mine and all(o["reseller_id"] == gold_id for o in mine), mine
    assert not [o for o in plat.items("/api/v1/opportunities") if o["reseller_id"] == gold_id]
    o = mine[0]
    url = f"/api/v1/opportunities/{o['id']}/decision"
    assert_json_error(plat.call("GET", f"/api/v1/opportunities/{o['id']}"), 404, "not_found")
    assert_json_error(plat.call("POST", url, {"publish": "partner"}), 404, "not_found")
    assert_json_error(sales.call("POST", url, {"publish": "partner"}), 403, "forbidden")
    for bad in ({}, {"publish": "maybe"}, {"publish": "partner", "note": "x"}, {"publish": 1}, ["partner"]):
        assert_json_error(gold.call("POST", url, bad), 400)
    assert_json_error(gold.call("POST", url, b"{not json", headers={"Content-Type": "application/json"}), 400)
    assert_json_error(gold.call("POST", "/api/v1/opportunities/999999/decision", {"publish": "vendor"}), 404)
    doc = gold.ok("POST", url, {"publish": "vendor"}, status=200)
    assert doc["id"] == o["id"] and doc["state"] == "published_vendor" and doc["publish"] == "vendor", doc
    assert doc["decided_by_default"] == 0, doc
    assert_json_error(gold.call("POST", url, {"publish": "partner"}), 409, "conflict")
    assert_json_error(w.admin.call("POST", url, {"publish": "vendor"}), 409, "conflict")
    assert gold.get(f"/api/v1/opportunities/{o['id']}")["state"] == "published_vendor"
    cust = w.customers[o["customer_id"]]
    m = smtp.wait_for(lambda m: m["ref"] == f"notice:{o['id']}" and m["kind"] == "customer_notice",
                      what="customer notice")
    assert len(m) == 1 and m[0]["rcpt"] == [cust["email"]], m
    assert "Review and renew online" in m[0]["text"], m[0]["text"]
    # the decision_by day itself: still open; the day after: the default took it
    groups = {}
    for x in w.opportunities("?state=pending_decision"):
        groups.setdefault(x["decision_by"], []).append(x)
    a, b = next(v[:2] for k, v in sorted(groups.items()) if len(v) >= 2)
    set_clock(w.admin, day(a["decision_by"]))
    assert w.admin.get(f"/api/v1/opportunities/{b['id']}")["state"] == "pending_decision"
    doc = w.admin.ok("POST", f"/api/v1/opportunities/{a['id']}/decision", {"publish": "partner"}, status=200)
    assert doc["state"] == "published_partner", doc
    set_clock(w.admin, day(a["decision_by"]) + datetime.timedelta(days=1))
    doc = w.admin.get(f"/api/v1/opportunities/{b['id']}")
    assert doc["state"] == "published_vendor" and doc["decided_by_default"] == 1, doc
    assert_json_error(w.admin.call("POST", f"/api/v1/opportunities/{b['id']}/decision", {"publish": "partner"}), 409)
    d.stop()


# ---- the customer's link ------------------------------------------------------------------------------


def link_token(msg):
    m = re.search(r"/c/(rd_[A-Za-z0-9_-]{43})", msg["text"])
    assert m, msg["text"]
    return m.group(1)


def portal(d, token, method="GET", path="/api/v1/portal", body=None):
    h = {"Authorization": f"Bearer {token}"}
    if body is not None:
        body = json.dumps(body).encode()
        h["Content-Type"] = "application/json"
    return http_request(d.port, method, path, body=body, headers=h)


def test_customer_portal_and_actions(daemon, tmp_path, smtp):
    """The link in a customer notice opens the customer's view (contracts
    with colours, the quote without margins); an action there becomes a
    task for the right people, who get an e-mail; bad links get 401."""
    users = [("gold@x.example", "partner-admin", "RES-GOLD")]
    d, w, u = start_world(daemon, tmp_path, smtp, users=users)
    gold = u["gold@x.example"]
    gold_id = w.partner_by_ext["RES-GOLD"]["id"]
    opps = {o["contract_id"]: o for o in w.opportunities()}
    vend = opps[w.contract_by_ext["K-20002"]["id"]]  # CUST-1001, also holds the expired K-20001
    part = opps[w.contract_by_ext["K-20003"]["id"]]
    w.admin.ok("POST", f"/api/v1/opportunities/{vend['id']}/decision", {"publish": "vendor"}, status=200)
    gold.ok("POST", f"/api/v1/opportunities/{part['id']}/decision", {"publish": "partner"}, status=200)
    notice = smtp.wait_for(lambda m: m["ref"] == f"notice:{vend['id']}", what="customer notice")[0]
    notice_p = smtp.wait_for(lambda m: m["ref"] == f"notice:{part['id']}", what="customer notice")[0]
    assert "contact Harbour Networks" in notice_p["text"], notice_p["text"]
    tok, tok_p = link_token(notice), link_token(notice_p)

    r = portal(d, tok)
    assert r.status == 200, r
    doc = r.json()
    cust = w.customers[vend["customer_id"]]
    assert doc["customer"]["id"] == cust["id"] and doc["customer"]["email"] == cust["email"], doc["customer"]
    # the link's channel only: K-20001 (RES-PLAT's) is not shown by RES-GOLD's link
    colours = {k["id"]: k["colour"] for k in doc["contracts"]}
    want = {k["id"]: "amber" if k["external_id"] == "K-20002" else "?" for k in w.contracts.values()
            if k["customer_id"] == cust["id"] and vend["reseller_id"] in (k["reseller_id"], k["distributor_id"])}
    assert colours == want == {w.contract_by_ext["K-20002"]["id"]: "amber"}, (colours, want)
    q = doc["opportunity"]
    assert q["id"] == vend["id"] and q["number"] == vend["number"] and q["list_total"] == vend["list_total"], q
    assert q["state"] == "published_vendor", q
    assert not {"net_total", "policy_version", "attention_reason"} & set(q), q
    assert q["lines"] and all("margins" not in line for line in q["lines"]), q["lines"]
    assert "margins" not in json.dumps(doc) and "shares" not in json.dumps(doc), doc

    # actions: vendor-published callback -> the vendor's team; contact the reseller -> the reseller;
    # partner-published callback -> the reseller
    cases = [(tok, "callback", "Please call after 3pm", None, NOTIFY),
             (tok, "contact_reseller", "", gold_id, w.partners[gold_id]["email"]),
             (tok_p, "callback", "Call me", gold_id, w.partners[gold_id]["email"])]
    tasks = []
    for t, action, message, partner, to in cases:
        r = portal(d, t, "POST", "/api/v1/portal/actions", {"action": action, "message": message})
        assert r.status == 201, r
        tid = r.json()["task_id"]
        tasks.append(tid)
        listed = {x["id"]: x for x in w.admin.items("/api/v1/tasks")}
        task = listed[tid]
        assert task["kind"] == action and task["message"] == message and task["done"] == 0, task
        assert task["partner_id"] == partner, task
        m = smtp.wait_for(lambda m: m["ref"] == f"task:{tid}", what=f"task e-mail for {action}")
        assert len(m) == 1 and m[0]["rcpt"] == [to] and m[0]["kind"] == "task", m
        if message:
            assert message in m[0]["text"], m[0]["text"]
    # the reseller's people see their tasks only, and close them
    assert sorted(x["id"] for x in gold.items("/api/v1/tasks")) == tasks[1:]
    assert_json_error(gold.call("PATCH", f"/api/v1/tasks/{tasks[0]}", {"done": 1}), 404)
    assert gold.ok("PATCH", f"/api/v1/tasks/{tasks[1]}", {"done": 1}, status=200)["done"] == 1
    assert_json_error(gold.call("PATCH", f"/api/v1/tasks/{tasks[1]}", {"done": 2}), 400)

    # refusals
    assert_json_error(portal(d, tok, "POST", "/api/v1/portal/actions", {"action": "buy"}), 400)
    assert_json_error(portal(d, tok, "POST", "/api/v1/portal/actions", {"action": "reply", "message": "x" * 2000}), 400)
    for bad in ("rd_" + "A" * 43, tok[:-1] + ("A" if tok[-1] != "A" else "B"), w.admin.token, "nonsense"):
        assert_json_error(portal(d, bad), 401, "unauthenticated")
        assert_json_error(portal(d, bad, "POST", "/api/v1/portal/actions", {"action": "callback"}), 401)
    assert_json_error(http_request(d.port, "GET", "/api/v1/portal"), 401)
    assert len(w.admin.items("/api/v1/tasks")) == 3
    # the link lasts 60 days past the contract's end
    end = day(vend["contract_end"])
    set_clock(w.admin, end + datetime.timedelta(days=59))
    assert portal(d, tok).status == 200
    set_clock(w.admin, end + datetime.timedelta(days=60))
    assert_json_error(portal(d, tok), 401, "unauthenticated")
    d.stop()


# ---- the clock -------------------------------------------------------------------------------------------


def test_clock_refusals(daemon, tmp_path, smtp):
    """Only a vendor admin sets the clock, forward, to a real date, and
    only on a renewd started with --test-clock."""
    d, w, u = start_world(daemon, tmp_path, smtp, users=[("cm@x.example", "channel-manager", None),
                                                         ("gold@x.example", "partner-admin", "RES-GOLD")])
    admin, cm, gold = w.admin, u["cm@x.example"], u["gold@x.example"]
    t0 = w.today
    clock = admin.get("/api/v1/clock")
    assert clock["settable"] is True and clock["now"].startswith(t0.isoformat()), clock
    for bad in ({"date": "2027-02-30"}, {"date": "tomorrow"}, {"date": 20270101}, {}, {"date": "2027-01-01", "x": 1}):
        assert_json_error(admin.call("POST", "/api/v1/clock", bad), 400)
    assert_json_error(admin.call("POST", "/api/v1/clock", {"date": (t0 - datetime.timedelta(days=1)).isoformat()}),
                      409, "clock_backwards")
    assert cm.get("/api/v1/clock")["today"] == t0.isoformat()
    assert_json_error(cm.call("POST", "/api/v1/clock", {"date": (t0 + datetime.timedelta(days=1)).isoformat()}),
                      403, "forbidden")
    assert_json_error(gold.call("POST", "/api/v1/clock", {"date": (t0 + datetime.timedelta(days=1)).isoformat()}),
                      403, "forbidden")
    assert_json_error(gold.call("GET", "/api/v1/schedule"), 403, "forbidden")
    assert admin.get("/api/v1/clock")["today"] == t0.isoformat()
    set_clock(admin, t0 + datetime.timedelta(days=3))
    set_clock(admin, t0 + datetime.timedelta(days=3))  # the same day again: nothing to do
    assert_json_error(admin.call("POST", "/api/v1/clock", {"date": t0.isoformat()}), 409, "clock_backwards")
    for q in ("days=401", "days=x", "weeks=2"):
        assert_json_error(admin.call("GET", f"/api/v1/schedule?{q}"), 400)
    d.stop()

    # without --test-clock: the real clock, which the API cannot set
    d = daemon(data=w.data, args=["--mail-transport", f"smtp://127.0.0.1:{smtp.port}"])
    admin.daemon = d
    clock = admin.get("/api/v1/clock")
    assert clock["settable"] is False, clock
    assert_json_error(admin.call("POST", "/api/v1/clock", {"date": "2099-01-01"}), 409, "real_clock")
    d.stop()
