"""SIGKILL during the monthly commission statement run (docs/commissions.md,
"Statements"; docs/operations.md, "Stopping").

Paid orders earn commission for several partners in one month; then, on
copies of that store, the test clock moves to the statement day of the
next month (the sweep that issues the statements runs inside that
request) and renewd is killed at a random moment.  After a restart (and
the clock moved again if the kill came first) every partner with earnings
has exactly one statement for the month, and the outbox one statement
message for each: none lost, none doubled."""
import datetime

import pytest

import crashkit
from conftest import copy_store, table_entries
from crashkit import Killer, check_store, figures, restart, scaled
from test_commissions import order_and_pay, pending_of_tier
from test_quote_pdf import start

pytestmark = pytest.mark.serial


def test_kills_during_the_statement_run(daemon, tmp_path, capsys, record_property):
    rng, seed = crashkit.rng_for("statements", capsys)
    d, data, admin, _, _ = start(daemon, tmp_path)
    args = list(d.args)
    admin.ok("POST", "/api/v1/plugins/payment-po/enablements", {"config": {}}, status=201)
    admin.ok("PATCH", "/api/v1/vendor", {"statement_day": 15})
    partners = {p["id"]: p for p in admin.items("/api/v1/partners")}
    taken = set()
    for i, tier in enumerate(("platinum", "gold", "silver")):
        o = pending_of_tier(admin, partners, tier, taken)
        taken.add(o["id"])
        admin.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"})
        order_and_pay(admin, admin.get(f"/api/v1/opportunities/{o['id']}"), f"st-{i}", f"BACS-ST-{i}")
    earners = {e["partner_id"] for e in admin.items("/api/v1/commissions") if e["kind"] == "earned"}
    assert len(earners) >= 3, earners
    today = datetime.date.fromisoformat(admin.get("/api/v1/clock")["today"])
    month = today.strftime("%Y-%m")
    # three months on: the sweep catches up day by day (longer work to land a
    # kill in), issuing the month's statements on the 15th of the next
    day = (today.replace(day=1) + datetime.timedelta(days=95)).replace(day=20).isoformat()
    d.stop()
    rounds = scaled(6, 3)
    kills = moved = 0
    cut = [0, 0]  # rounds whose killed run had issued no statement / had issued them
    for r in range(rounds):
        run = copy_store(data, tmp_path / f"run{r}")
        dr = daemon(data=run, args=args)
        admin.daemon = dr
        k = Killer(dr, rng.uniform(0.0, 0.15))
        try:
            admin.call("POST", "/api/v1/clock", {"date": day}, timeout=10)
        except OSError:
            pass
        kills += k.wait()
        try:  # what the killed run had committed (a missing table: none)
            issued = table_entries(run, "t:statements")
        except Exception:
            issued = 0
        cut[min(issued, 1)] += 1
        dr = restart(daemon, dr, args, [admin])
        if admin.get("/api/v1/clock")["today"] != day:
            admin.ok("POST", "/api/v1/clock", {"date": day})
        else:
            moved += 1  # the kill came after the clock's move: the restart took up its days
        st = [s for s in admin.items("/api/v1/statements") if s["month"] == month]
        assert sorted(s["partner_id"] for s in st) == sorted(earners), f"seed {seed} round {r}: {st}"
        mails = [m for m in admin.items("/api/v1/outbox") if m.get("kind") == "statement"]
        assert len(mails) == len(earners), f"seed {seed} round {r}: {mails}"
        dr.stop()
        check_store(run)
    figures(capsys, record_property, "crash statements", seed=seed, rounds=rounds, kills=kills,
            clock_moved_before_the_kill=moved, killed_before_issuing=cut[0], killed_after_issuing=cut[1],
            partners=len(earners))
