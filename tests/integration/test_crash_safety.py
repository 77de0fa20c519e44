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
* test_kills_during_edi_exchanges: X12 orders out (850s) and the
  distributor's 855s in through the connector's folders: one 850 per order
  (beyond the one in flight at a kill), every inbound file applied once,
  control numbers never repeated.

Each test prints its figures (kills, records checked, duplicates found,
lost found).  Rounds are fewer under AddressSanitizer.
"""
import datetime
import json
import os
import signal
import subprocess
import threading
import time

import pytest

import crashkit
from conftest import RENEWCTL, ApiClient, copy_store, start_api, store_args, table_entries
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
    rng, seed = crashkit.rng_for("imports")
    rows = scaled(20000, 4000)
    rounds_api, rounds_ctl = scaled(4, 2), scaled(3, 2)
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
    rng, seed = crashkit.rng_for("sweep")
    sink, ref_sink = Sink(), Sink()
    try:
        d, w = renewals_world(daemon, tmp_path, sink, scaled(24, 12))
        admin, data = w.admin, w.data
        args = renewd_args(sink.port)
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
