"""Crash safety as standing tests (issue 21, item 2): renewd is killed with
SIGKILL at random points (seeded: the seed is printed, RENEWD_CRASH_SEED=N
replays a run), several times per scenario, and restarted on its data
directory.  After each kill `renewctl check` passes on the store; after the
last restart the scenario's own ledger is compared with what renewd holds:

* test_kills_during_large_imports: contract imports of a few thousand rows,
  through the API and through renewctl (renewctl killed with renewd): each
  import is whole or absent (the store's contract count is the start's
  plus the rows of the imports that succeeded; an API import killed in
  flight is "failed", "nothing applied").
* test_kills_during_a_sweep_that_sends_mail: the test clock moved through
  two months while renewd sweeps and delivers to an SMTP sink; compared
  with a reference run of the same store without kills: no message lost,
  none unexpected, none repeated beyond the one in flight at each kill
  (counted by Message-ID and by (ref, recipient) at the sink); one
  opportunity per contract.
* test_kills_during_card_payments_and_refunds: card orders and refunds
  through tests/fakegw, the client retrying the request a kill cut short
  with the same Idempotency-Key: the gateway's ledger and renewd's orders
  agree (one charge per paid order, one refund per refunded order, no
  charge renewd does not know of), and the commissions equal a
  recomputation from the orders (one earned entry per order and party, one
  reversal per refunded order and party).
* test_kills_during_partner_feed_merges: partner feeds dropped into the
  feed folder (new contracts and changes merged into existing ones): each
  file ends in processed/ once, and is applied whole or not at all.
* test_kills_during_edi_exchanges[x12|edifact]: orders out (X12 850s,
  EDIFACT ORDERS) and the distributor's acknowledgements in (855s,
  ORDRSPs) through the connector's folders: one order file per order and no
  acknowledgement (997, CONTRL) repeated beyond the one in flight at a
  kill, every inbound file applied once, control numbers never repeated.
* test_a_kill_before_the_gateway_heard_of_a_card_order: the payments
  test's rarest window, made sure of.

Each test prints its figures (kills, records checked, duplicates found,
lost found).  Rounds are fewer under AddressSanitizer.
"""
import datetime
import signal
import subprocess
import threading
import time

import pytest

import crashkit
from test_card_orders import gateway  # noqa: F401 (a fixture)
from conftest import PG_MODE, RENEWCTL, assert_json_error, copy_store, start_api, store_args, table_entries
from crashkit import Killer, Sink, check_store, figures, restart, scaled, wait_until


def contracts_csv(prefix, n):
    custs = [f"CUST-{c}" for c in range(1001, 1025)]
    skus = ("WSG-STD", "WSG-PLUS", "DLP-EP", "EML-SEC")
    resellers = ("RES-PLAT", "RES-GOLD", "RES-SILV")
    return ("external_id,customer_external_id,product_sku,reseller_external_id,quantity,start,end\n" + "".join(
        f"{prefix}-{i:06d},{custs[i % 24]},{skus[i % 4]},{resellers[i % 3]},{1 + i % 97},2026-0{1 + i % 9}-01,"
        f"2027-01-01\n" for i in range(n))).encode()


# ---- (a) large imports -------------------------------------------------------------------------


def test_kills_during_large_imports(daemon, tmp_path, capsys, record_property):
    rng, seed = crashkit.rng_for("imports", capsys)
    rows = scaled(12000, 3000)
    rounds_api, rounds_ctl = scaled(3, 2), scaled(2, 1)
    args = ("--max-import-bytes", str(64 << 20))
    d, api, _ = start_api(daemon, tmp_path / "store", args=args)
    data = d.data
    d.stop()
    base = table_entries(data, "t:contracts")
    d = restart(daemon, d, args, [api])
    expected, kills, whole, absent, checked = base, 0, 0, 0, 0
    imports = []
    # Through the API: the 202, then a kill at a random point of the import.
    for r in range(rounds_api):
        resp = api.import_start("contracts", contracts_csv(f"CA{r}", rows))
        assert resp.status == 202, resp
        imports.append(resp.json()["id"])
        k = Killer(d, rng.uniform(0.0, scaled(0.8, 2.0)))
        kills += k.wait()
        check_store(data)
        n = table_entries(data, "t:contracts")
        assert n in (expected, expected + rows), f"seed {seed}: import {r} neither whole nor absent: {n - expected} of {rows} rows"
        d = restart(daemon, d, args, [api])
        doc = api.get(f"/api/v1/imports/{imports[-1]}")
        if n == expected:
            absent += 1
            assert doc["status"] == "failed" and doc["message"].startswith("nothing applied"), doc
        else:
            whole += 1
            expected = n
            assert doc["status"] == "succeeded" and doc["created"] == rows, doc
        checked += n
    # Through renewctl beside renewd: both killed at a random point.
    for r in range(rounds_ctl):
        path = tmp_path / f"ctl{r}.csv"
        path.write_bytes(contracts_csv(f"CC{r}", rows))
        p = subprocess.Popen([str(RENEWCTL), "--data", str(data)] + store_args(data) +
                             ["import", "--vendor", "sentinel", "--kind", "contracts", str(path)],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.0, scaled(1.0, 3.0)))
        killed = p.poll() is None
        if killed:
            p.send_signal(signal.SIGKILL)
        p.wait(timeout=60)
        d.kill()
        kills += 1 + killed
        check_store(data)
        n = table_entries(data, "t:contracts")
        assert n in (expected, expected + rows), f"seed {seed}: renewctl import {r} neither whole nor absent: {n - expected} of {rows}"
        if n == expected:
            absent += 1
        else:
            whole += 1
        expected = n
        checked += n
        d = restart(daemon, d, args, [api])
    # What renewd serves agrees with the store: each whole import's first and last rows.
    for prefix in [f"CA{r}" for r in range(rounds_api)] + [f"CC{r}" for r in range(rounds_ctl)]:
        got = [len(api.get(f"/api/v1/contracts?external_id={prefix}-{i:06d}")["items"]) for i in (0, rows - 1)]
        assert got in ([0, 0], [1, 1]), (prefix, got)
    d.stop()
    check_store(data)
    figures(capsys, record_property, f"crash imports (seed {seed})", kills=kills, records_checked=checked,
            imports_whole=whole, imports_absent=absent, duplicates_found=0, lost_found=0)


# ---- (b) a sweep that sends mail ---------------------------------------------------------------


def renewals_world(daemon, tmp_path, sink, n):
    """The demo store, n more contracts of customers with e-mail addresses
    ending over the next two months; renewd on the test clock and sink."""
    from test_renewals import start_world
    d, w, _ = start_world(daemon, tmp_path, sink)
    t0 = w.today
    custs = "external_id,name,email\n" + "".join(f"CM-{i},Crash Mail {i} Ltd,it{i}@crash.example\n" for i in range(n))
    assert w.admin.run_import("customers", custs.encode())["status"] == "succeeded"
    skus = ("WSG-STD", "WSG-PLUS", "DLP-EP", "EML-SEC")
    rows = "".join(f"KM-{i},CM-{i},{skus[i % 4]},{('RES-PLAT', 'RES-GOLD', 'RES-SILV')[i % 3]},{5 + i},"
                   f"{t0 - datetime.timedelta(days=300)},{t0 + datetime.timedelta(days=5 + (i * 55) // n)}\n"
                   for i in range(n))
    doc = w.admin.run_import("contracts", ("external_id,customer_external_id,product_sku,reseller_external_id,"
                                           "quantity,start,end\n" + rows).encode())
    assert doc["status"] == "succeeded" and doc["created"] == n, doc
    return d, w


def drive_clock(admin, target, step, stop=lambda: False):
    """Moves the test clock to target in steps (each a sweep); returns
    False when a step failed (renewd killed under it)."""
    while not stop():
        try:
            today = datetime.date.fromisoformat(admin.get("/api/v1/clock")["today"])
            if today >= target:
                return True
            nxt = min(target, today + datetime.timedelta(days=step))
            admin.ok("POST", "/api/v1/clock", {"date": nxt.isoformat()}, status=200)
        except (OSError, AssertionError, ValueError):
            return False
    return False


def mail_key(m):
    return (m["kind"], m["ref"], tuple(sorted(m["rcpt"])))


def outbox_id(m):
    """The outbox id in a Message-ID <renewd-VENDOR-ID@renewd>."""
    return int(m["message_id"].split("@")[0].rsplit("-", 1)[1])


def sent_ids_received(admin, sinks, timeout=30.0):
    """Waits until the outbox has nothing queued and every message it lists
    as sent reached one of the sinks (by Message-ID); returns the outbox."""
    deadline = time.monotonic() + timeout
    while True:  # polled gently: the sink runs in this process
        box = admin.items("/api/v1/outbox")
        queued = [m for m in box if m["state"] == "queued"]
        missing = {m["id"] for m in box if m["state"] == "sent"} - {outbox_id(x) for s in sinks for x in s.received()}
        if not queued and not missing:
            return box
        assert time.monotonic() < deadline, \
            f"after {timeout} s: {len(queued)} message(s) still queued " + \
            str([(m["id"], m["kind"], m["to"], m["attempts"], m["last_error"]) for m in queued][:5]) + \
            f"; {len(missing)} the outbox lists as sent never reached the SMTP sink: " + \
            str([(m["id"], m["kind"], m["to"], m["attempts"], m["sent_at"]) for m in box if m["id"] in missing][:5])
        time.sleep(0.25)


def test_kills_during_a_sweep_that_sends_mail(daemon, tmp_path, capsys, record_property):
    from test_renewals import renewd_args
    rng, seed = crashkit.rng_for("sweep", capsys)
    sink, ref_sink = Sink(), Sink()
    try:
        d, w = renewals_world(daemon, tmp_path, sink, scaled(24, 12))
        admin, data = w.admin, w.data
        args = renewd_args(sink.port)
        if PG_MODE:  # a killed node's claimed messages wait out their lease (docs/scaling.md, "The outbox")
            args += ["--claim-lease-ms", "1000"]
        target = w.today + datetime.timedelta(days=45)
        d.stop()
        before = sink.received()  # sent before the copy: the reference's too
        ref = copy_store(data, tmp_path / "ref")
        d = restart(daemon, d, args, [admin])
        kills = 0
        for _ in range(scaled(5, 3)):
            k = Killer(d, rng.uniform(0.05, scaled(0.7, 1.5)))
            drive_clock(admin, target, rng.choice((3, 7, 15)), stop=lambda: k.fired)
            kills += k.wait()
            check_store(data)
            d = restart(daemon, d, args, [admin])
        assert drive_clock(admin, target, 10)
        box = sent_ids_received(admin, [sink])
        got = sink.received()
        opps = w.opportunities()
        d.stop()
        check_store(data)

        # the reference: the same store, the same days, no kills
        dref = daemon(data=ref, args=renewd_args(ref_sink.port))
        admin.daemon = dref
        assert drive_clock(admin, target, 10)
        sent_ids_received(admin, [ref_sink, sink])
        want = before + ref_sink.received()
        ref_opps = w.opportunities()
        dref.stop()
    finally:
        sink.stop()
        ref_sink.stop()

    got_keys, want_keys = {}, {}
    for m in got:
        got_keys[mail_key(m)] = got_keys.get(mail_key(m), 0) + 1
    for m in want:
        want_keys[mail_key(m)] = want_keys.get(mail_key(m), 0) + 1
    assert max(want_keys.values()) == 1, "the reference run repeated a message"
    lost = sorted(set(want_keys) - set(got_keys))
    unexpected = sorted(set(got_keys) - set(want_keys))
    dup_keys = sum(v - 1 for v in got_keys.values())
    dup_ids = crashkit.duplicates_by(got, lambda m: m["message_id"])
    dup_opps = len(opps) - len({o["contract_id"] for o in opps})
    figures(capsys, record_property, f"crash sweep and mail (seed {seed})", kills=kills,
            records_checked=len(got) + len(box) + len(opps), messages=len(got), duplicates_found=dup_keys,
            duplicate_message_ids=dup_ids, lost_found=len(lost))
    assert not lost, f"seed {seed}: messages never sent: {lost[:10]}"
    assert not unexpected, f"seed {seed}: messages the reference run did not send: {unexpected[:10]}"
    assert dup_keys <= kills and dup_ids <= kills, f"seed {seed}: {dup_keys} repeated messages for {kills} kills: " + \
        str([k for k, v in got_keys.items() if v > 1][:10])
    assert dup_opps == 0, f"seed {seed}: {dup_opps} contracts with more than one opportunity"
    assert len(opps) == len(ref_opps), (len(opps), len(ref_opps))
    assert all(m["state"] == "sent" for m in box), [m for m in box if m["state"] != "sent"][:5]


# ---- (c) card payments and refunds -------------------------------------------------------------


def quoted_opportunities(w_admin, n, prefix):
    """n more contracts of the demo's resellers ending in three weeks, quoted
    by a sweep and published by the vendor: their opportunities."""
    today = datetime.date.fromisoformat(w_admin.get("/api/v1/clock")["today"])
    custs = "external_id,name\n" + "".join(f"{prefix}C-{i},{prefix} customer {i} Ltd\n" for i in range(n))
    assert w_admin.run_import("customers", custs.encode())["status"] == "succeeded"
    skus = ("WSG-STD", "WSG-PLUS", "EML-SEC")
    rows = "".join(f"{prefix}K-{i},{prefix}C-{i},{skus[i % 3]},{('RES-PLAT', 'RES-GOLD', 'RES-SILV')[i % 3]},{3 + i},"
                   f"{today - datetime.timedelta(days=340)},{today + datetime.timedelta(days=25)}\n" for i in range(n))
    doc = w_admin.run_import("contracts", ("external_id,customer_external_id,product_sku,reseller_external_id,"
                                           "quantity,start,end\n" + rows).encode())
    assert doc["status"] == "succeeded" and doc["created"] == n, doc
    w_admin.ok("POST", "/api/v1/clock", {"date": (today + datetime.timedelta(days=1)).isoformat()}, status=200)
    kids = {k["id"] for k in w_admin.items("/api/v1/contracts") if k["external_id"].startswith(f"{prefix}K-")}
    opps = [o for o in w_admin.items("/api/v1/opportunities") if o["contract_id"] in kids]
    assert len(opps) == n, (len(opps), n)
    for o in opps:
        w_admin.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"}, status=200)
    return sorted(opps, key=lambda o: o["id"])


def commission_shares(order):
    """party -> sum of the vendor-mode shares over the order's frozen lines."""
    out = {}
    for line in order["lines"]:
        for s in ((line.get("margins") or {}).get("vendor") or {}).get("shares") or []:
            out[s["party"]] = out.get(s["party"], 0) + s["amount"]
    return {p: a for p, a in out.items() if a}


def check_payments(admin, gateway, plan, seed):
    """Compares renewd's orders and commissions with the gateway's ledger
    and a recomputation; returns (records checked, duplicates, lost)."""
    orders = admin.items("/api/v1/orders")
    by_opp = {}
    for o in orders:
        by_opp.setdefault(o["opportunity_id"], []).append(o)
    state = gateway.state()
    charges, refunds = {}, {}
    for c in state["charges"]:
        if c["kind"] in ("charge", "capture"):
            charges.setdefault(c["intent"], []).append(c["amount"])
        elif c["kind"] == "refund":
            refunds.setdefault(c["intent"], []).append(-c["amount"])
    dups = lost = 0
    problems = []
    paid_refs = set()
    for opp, want in plan.items():
        got = by_opp.get(opp, [])
        if len(got) != 1:
            (problems.append(f"opportunity {opp}: {len(got)} orders"))
            dups += max(0, len(got) - 1)
            lost += not got
            continue
        o = got[0]
        if o["state"] != want:
            problems.append(f"order {o['number']}: {o['state']}, expected {want}")
            lost += 1
        ref = o.get("paid_reference")
        paid_refs.add(ref)
        ch = charges.get(ref, [])
        if ch != [o["total"]]:
            problems.append(f"order {o['number']}: gateway charges {ch} for a total of {o['total']}")
            dups += max(0, len(ch) - 1)
            lost += not ch
        rf = refunds.get(ref, [])
        if rf != ([o["total"]] if want == "refunded" else []):
            problems.append(f"order {o['number']} ({o['state']}): gateway refunds {rf}")
            dups += max(0, len(rf) - 1)
            lost += want == "refunded" and not rf
    stray = [i for i in charges if i not in paid_refs]
    if stray:
        problems.append(f"charges no order of renewd names: {stray}")
        lost += len(stray)
    # commissions: one earned entry per order and party, of the recomputed
    # amount; one reversal of it per refunded order
    entries = admin.items("/api/v1/commissions")
    have = {}
    for e in entries:
        have.setdefault((e["order_id"], e["party"], e["kind"]), []).append(e["amount"])
    want_c = {}
    for opp, st in plan.items():
        for o in by_opp.get(opp, [])[:1]:
            for party, amount in commission_shares(o).items():
                want_c[(o["id"], party, "earned")] = [amount]
                if st == "refunded":
                    want_c[(o["id"], party, "reversal")] = [-amount]
    assert len(want_c) >= len(plan), "the orders' lines carry no vendor-mode shares to recompute"
    for k in set(have) | set(want_c):
        if have.get(k) != want_c.get(k):
            problems.append(f"commission {k}: {have.get(k)}, recomputed {want_c.get(k)}")
            dups += max(0, len(have.get(k, [])) - 1)
            lost += k not in have
    assert not problems, f"seed {seed}: " + "; ".join(problems[:12])
    return len(orders) + len(state["charges"]) + len(entries), dups, lost


def test_kills_during_card_payments_and_refunds(daemon, tmp_path, gateway, capsys, record_property):
    from test_card_orders import TEST_ARGS, boot
    rng, seed = crashkit.rng_for("payments", capsys)
    d, data, admin, _, _ = boot(daemon, tmp_path, gateway)
    n = scaled(24, 10)
    opps = quoted_opportunities(admin, n, "CP")
    tokens = [gateway.token() for _ in opps]
    plan = {o["id"]: "refunded" if i % 3 == 1 else "fulfilled" for i, o in enumerate(opps)}
    ops = [("order", i) for i in rng.sample(range(n), n)]
    for i in range(1, n, 3):  # each refund somewhere after its order
        ops.insert(rng.randint(ops.index(("order", i)) + 1, len(ops)), ("refund", i))
    order_ids = {}
    kills, retries, pos = 0, 0, 0
    k = Killer(d, rng.uniform(0.01, 0.15))
    kill_rounds = scaled(6, 3)
    undecided = 0
    while pos < len(ops):
        what, i = ops[pos]
        o = opps[i]
        try:
            if what == "order":
                r = admin.call("POST", "/api/v1/orders", {"opportunity_id": o["id"], "payment_option": "card",
                                                          "card_token": tokens[i]},
                               headers={"Idempotency-Key": f"crash-order-{o['id']}"}, timeout=15)
                if r.status == 502 and undecided < 3 * n:
                    # The gateway did not answer in time (a loaded machine): nothing
                    # is decided and the order stays created; the client sends the
                    # same request again under its key (docs/plugins.md), as here.
                    assert_json_error(r, 502)
                    undecided += 1
                    continue
                assert r.status in (200, 201), r
                order_ids[i] = r.json()["id"]
                assert r.json()["state"] == "fulfilled", \
                    f"seed {seed}: order {r.json()['number']} {r.json()['state']}: {r.json().get('payment_message')}"
            else:
                r = admin.call("POST", f"/api/v1/orders/{order_ids[i]}/refund", {"reason": "crash test"}, timeout=15)
                if r.status == 502 and undecided < 3 * n:
                    assert_json_error(r, 502)  # as above: asked again
                    undecided += 1
                    continue
                assert r.status == 200 and r.json()["state"] == "refunded", r
            pos += 1
            continue
        except (OSError, http_errors()):
            if d.running() and not k.fired:
                raise
        # killed under the request: restart, and the client sends it again
        kills += k.wait()
        check_store(data)
        d = restart(daemon, d, TEST_ARGS, [admin])
        retries += 1
        if kills < kill_rounds:
            k = Killer(d, rng.uniform(0.01, 0.15))
        else:
            k = Killer(d, 3600)
    k.t.cancel()
    if k.fired or not d.running():  # killed after the last request
        kills += k.wait()
        check_store(data)
        d = restart(daemon, d, TEST_ARGS, [admin])
    checked, dups, lost = check_payments(admin, gateway, plan, seed)
    d.stop()
    check_store(data)
    figures(capsys, record_property, f"crash payments and refunds (seed {seed})", kills=kills,
            requests_retried=retries, undecided_retried=undecided, records_checked=checked, duplicates_found=dups, lost_found=lost)


def http_errors():
    import http.client
    return http.client.HTTPException


def test_a_kill_before_the_gateway_heard_of_a_card_order(daemon, tmp_path, capsys, record_property):
    """The window random kills hit now and then (the payments test above),
    made sure of: the order is written (created), its payment call is on
    its way to a gateway that has not read it (stopped), and renewd is
    killed; the gateway restarts on its port without the call.  The
    reconciliation at start finds nothing charged under the order's key.
    The customer's retry (the same key, the card) must pay the order once:
    it used to find the order declined by the reconciliation ("no card was
    given: enter the card again")."""
    import sys
    from test_card_orders import FAKEGW, SECRET, TEST_ARGS, WEBHOOK_SECRET, Gateway, boot

    class GatewayOnPort(Gateway):
        def __init__(self, port):
            self.proc = subprocess.Popen([sys.executable, str(FAKEGW), "--lifetime", "180", "--secret", SECRET,
                                          "--webhook-secret", WEBHOOK_SECRET, "--port", str(port)],
                                         stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
            self.port = int(self.proc.stdout.readline())
            self.url = f"http://127.0.0.1:{self.port}"

    gw = Gateway()
    try:
        d, data, admin, _, _ = boot(daemon, tmp_path, gw)
        (o,) = quoted_opportunities(admin, 1, "KB")
        body = {"opportunity_id": o["id"], "payment_option": "card", "card_token": "tok_visa"}
        key = {"Idempotency-Key": f"kb-{o['id']}"}
        gw.proc.send_signal(signal.SIGSTOP)
        t = threading.Thread(target=lambda: _quietly(admin.call, "POST", "/api/v1/orders", body, headers=key,
                                                      timeout=10), daemon=True)
        t.start()
        wait_until(lambda: [x for x in admin.items("/api/v1/orders") if x["opportunity_id"] == o["id"]], 10,
                   "the order written")
        d.kill()
        gw.proc.kill()
        gw.proc.wait(timeout=5)
        gw.proc.stdout.close()
        gw = GatewayOnPort(gw.port)
        t.join(10)
        d = restart(daemon, d, TEST_ARGS, [admin])
        wait_until(lambda: "reconciling an order" in d.log(), 10, "the reconciliation at start")
        time.sleep(0.3)  # the reconciliation's answer is written
        r = admin.call("POST", "/api/v1/orders", body, headers=key, timeout=15)
        assert r.status in (200, 201), r
        order = r.json()
        assert order["state"] == "fulfilled", (order["state"], order["payment_message"])
        charges = gw.charges()
        assert [c["amount"] for c in charges] == [order["total"]], charges
        assert order["paid_reference"] == charges[0]["intent"]
        d.stop()
        check_store(data)
    finally:
        gw.close()
    figures(capsys, record_property, "crash before the gateway heard of a card order", kills=1, records_checked=2,
            duplicates_found=0, lost_found=0)


def _quietly(fn, *a, **kw):
    try:
        return fn(*a, **kw)
    except (OSError, http_errors()):
        return None


# ---- (d) partner feed merges -------------------------------------------------------------------


def test_kills_during_partner_feed_merges(daemon, tmp_path, capsys, record_property):
    from test_feeds import PLAT_MAPPING, drop, outcome, partner
    rng, seed = crashkit.rng_for("feeds", capsys)
    feeds = tmp_path / "feeds"
    args = ("--feeds-dir", str(feeds), "--feeds-poll-ms", "200")
    d, admin, _ = start_api(daemon, tmp_path / "store", args=args)
    data = d.data
    plat = partner(admin, "RES-PLAT")
    admin.ok("PATCH", f"/api/v1/partners/{plat['id']}", {"feed_drop": 1, "feed_mapping": PLAT_MAPPING})
    folder = feeds / "sentinel" / "RES-PLAT"
    wait_until(lambda: (folder / "processed").is_dir(), 20, "the feed folder")
    d.stop()
    base = table_entries(data, "t:contracts")
    d = restart(daemon, d, args, [admin])
    rows, rounds = scaled(1500, 500), scaled(5, 3)
    custs = [f"CUST-{c}" for c in range(1001, 1025)]
    kills = 0
    names = []
    for r in range(rounds):
        # new contracts (each round's own end date: a feed matches a contract by
        # customer, product and end date too), and the previous round's merged
        # again with one more seat
        body = "Contract No,End Customer,SKU,Seats,Starts,Expires\r\n" + "".join(
            f"FD{r}-{i:05d},{custs[i % 24]},DLP-EP,{2 + r},2026-10-01,2027-09-{10 + r}\r\n" for i in range(rows))
        if r:
            body += "".join(f"FD{r - 1}-{i:05d},,,{2 + r},,\r\n" for i in range(0, rows, 7))
        names.append(f"round{r}.csv")
        drop(folder, names[-1], body.encode())
        k = Killer(d, rng.uniform(0.0, scaled(1.2, 3.0)))
        kills += k.wait()
        check_store(data)
        n = table_entries(data, "t:contracts") - base
        assert n % rows == 0 and 0 <= n // rows <= r + 1, f"seed {seed}: a feed applied in part: {n} new contracts"
        d = restart(daemon, d, args, [admin])
    reports = {}
    for name in names:
        where, rep = wait_until(lambda: outcome(folder, name), 60, f"the outcome of {name}")
        assert where == "processed" and rep["status"] == "succeeded", (name, rep)
        reports[name] = rep
    assert not [p for p in folder.iterdir() if p.is_file()], sorted(p.name for p in folder.iterdir())
    per_file = {name: len([p for p in (folder / "processed").glob(f"*-{name}")]) for name in names}
    dups = sum(v - 1 for v in per_file.values())
    # every round whole: its new contracts as sent; its changes to the
    # previous round's (a seat count a reseller's feed changes) merged or
    # queued for review, each once
    merges = len(range(0, rows, 7))
    for r, name in enumerate(names):
        rep = reports[name]
        assert rep["accepted"] == rows and rep["merged"] + rep["queued"] == (merges if r else 0), rep
    got = {k["external_id"]: k["quantity"] for k in admin.items("/api/v1/contracts")
           if k["external_id"].startswith("FD")}
    want = {f"FD{r}-{i:05d}": 2 + r for r in range(rounds) for i in range(rows)}
    merged = [x for x in got if got[x] == want.get(x, 0) + 1]
    want.update({x: got[x] for x in merged})  # the merges applied, once
    lost = len(set(want) - set(got)) + sum(1 for x in want if x in got and got[x] != want[x])
    d.stop()
    check_store(data)
    figures(capsys, record_property, f"crash feed merges (seed {seed})", kills=kills, records_checked=len(got),
            duplicates_found=dups, lost_found=lost)
    assert dups == 0, per_file
    assert lost == 0 and set(got) == set(want), \
        f"seed {seed}: " + str([(x, got.get(x), want[x]) for x in want if got.get(x) != want[x]][:10])


# ---- (e) EDI exchanges -------------------------------------------------------------------------


def x12_fields(path):
    """(ISA13 control number, BEG03 order number or None, AK1 group or None) of an outbound X12 file."""
    segs = [s.split("*") for s in path.read_text().split("~") if s.strip()]
    isa = next(s for s in segs if s[0].strip() == "ISA")
    beg = next((s for s in segs if s[0].strip() == "BEG"), None)
    ak1 = next((s for s in segs if s[0].strip() == "AK1"), None)
    return int(isa[13]), beg[3] if beg else None, "*".join(ak1[1:]) if ak1 else None


def edifact_fields(path):
    """(UNB interchange reference, BGM order number of an ORDERS or None, UCI
    reference of a CONTRL or None) of an outbound EDIFACT file."""
    segs = [s.split("+") for s in path.read_text().split("'") if s.strip()]
    unb = next(s for s in segs if s[0].strip() == "UNB")
    bgm = next((s for s in segs if s[0].strip() == "BGM" and s[1] == "220"), None)
    uci = next((s for s in segs if s[0].strip() == "UCI"), None)
    return int(unb[5]), bgm[2] if bgm else None, uci[1] if uci else None


@pytest.mark.parametrize("syntax", ["x12", "edifact"])
def test_kills_during_edi_exchanges(daemon, tmp_path, capsys, record_property, syntax):
    from test_edi import boot, boot_edifact, group, interchange, raw, st
    rng, seed = crashkit.rng_for(f"edi-{syntax}", capsys)
    args = ["--test-clock", "1", "--sched-interval-ms", "100000"]
    d, data, admin, _, out, inb = (boot if syntax == "x12" else boot_edifact)(daemon, tmp_path)
    suffix, fields_of, ack_code = (".x12", x12_fields, "AC") if syntax == "x12" else (".edi", edifact_fields, "29")
    n = scaled(16, 8)
    opps = quoted_opportunities(admin, n, "EX")
    kills, retries = 0, 0
    k = Killer(d, rng.uniform(0.02, scaled(0.4, 0.5)))
    kill_rounds = scaled(6, 3)
    orders = {}

    def after_kill():
        nonlocal d, k, kills, retries
        kills += k.wait()
        check_store(data)
        d = restart(daemon, d, args, [admin])
        retries += 1
        k = Killer(d, rng.uniform(0.02, scaled(0.4, 0.5)) if kills < kill_rounds else 3600)

    # the orders (each a PO order to DIST-NW: an 850 out), the client retrying a request a kill cut short
    i = 0
    while i < n:
        o = opps[i]
        try:
            r = admin.call("POST", "/api/v1/orders", {"opportunity_id": o["id"], "payment_option": "purchase_order",
                                                      "po_number": f"PO-EX-{i}"},
                           headers={"Idempotency-Key": f"ex-{o['id']}"}, timeout=15)
            assert r.status in (200, 201), r
            orders[i] = r.json()
            i += 1
        except (OSError, http_errors()):
            if d.running() and not k.fired:
                raise
            after_kill()
    # the distributor's acknowledgements (X12 855s, EDIFACT ORDRSPs), dropped while renewd may be killed
    names = [f"in-{i:03d}{suffix}" for i in range(n)]
    for i, name in enumerate(names):
        ctl = 700 + i
        if syntax == "x12":
            text = raw(group("PR", ctl, st("855", "0001", [f"BAK*00*AC*{orders[i]['number']}*20270101"])) +
                       [f"IEA*1*{ctl:09d}"], ctl=ctl)
        else:
            text = interchange(str(9000 + i), [("ORDRSP", [f"BGM+231+R-{i}+29", "DTM+137:20270101:102",
                                                           f"RFF+ON:{orders[i]['number']}"])])
        (tmp_path / name).write_text(text)
        (tmp_path / name).rename(inb / name)
        time.sleep(rng.uniform(0, 0.05))
        if not d.running():
            after_kill()
    while kills < kill_rounds and k.t.is_alive():
        time.sleep(0.05)
        if not d.running():
            after_kill()
    k.t.cancel()
    if k.fired or not d.running():
        after_kill()
        k.t.cancel()
    assert d.running()

    # everything in: each inbound file applied once, each order acknowledged
    wait_until(lambda: not [p for p in inb.iterdir() if p.is_file()], 30, "the inbound folder emptied")
    processed = sorted(p.name for p in (inb / "processed").iterdir() if not p.name.endswith(".report.json"))
    failed = sorted(p.name for p in (inb / "failed").iterdir()) if (inb / "failed").exists() else []
    assert not failed, failed
    per_in = {name: sum(1 for p in processed if p.endswith(name)) for name in names}
    states = {i: admin.get(f"/api/v1/orders/{orders[i]['id']}") for i in range(n)}
    wait_until(lambda: all(admin.get(f"/api/v1/orders/{orders[i]['id']}")["edi_status"] == "acknowledged"
                           for i in range(n)), 30, "every order acknowledged")
    states = {i: admin.get(f"/api/v1/orders/{orders[i]['id']}") for i in range(n)}
    # renewd's side: one 850 per order (beyond one in flight per kill), control numbers never repeated
    files = sorted(p for p in out.iterdir() if p.suffix == suffix)
    fields = [fields_of(p) for p in files]
    controls = [c for c, _, _ in fields]
    per_order = {}
    for _, number, _ in fields:
        if number:
            per_order[number] = per_order.get(number, 0) + 1
    acks = [a for _, _, a in fields if a]
    dup_850 = sum(v - 1 for v in per_order.values())
    dup_997 = len(acks) - len(set(acks))
    lost_850 = sum(1 for i in range(n) if orders[i]["number"] not in per_order)
    lost_in = sum(1 for v in per_in.values() if v == 0)
    all_orders = admin.items("/api/v1/orders")
    d.stop()
    check_store(data)
    figures(capsys, record_property, f"crash EDI {syntax} exchanges (seed {seed})", kills=kills, requests_retried=retries,
            records_checked=len(files) + len(processed) + len(all_orders), duplicates_found=dup_850 + dup_997 +
            sum(v - 1 for v in per_in.values() if v > 1), lost_found=lost_850 + lost_in)
    assert len(controls) == len(set(controls)), f"seed {seed}: control numbers repeated: {sorted(controls)}"
    assert lost_850 == 0 and lost_in == 0, (per_order, per_in)
    assert all(v == 1 for v in per_in.values()), per_in
    assert dup_850 + dup_997 <= kills, f"seed {seed}: {dup_850} orders and {dup_997} acknowledgements repeated for {kills} kills"
    assert len(all_orders) == n and len({o["opportunity_id"] for o in all_orders}) == n, "an order doubled"
    assert all(states[i]["edi_status"] == "acknowledged" and states[i]["edi_ack"] == ack_code for i in range(n)), states
