"""Contracts that arrive inside the window, and the Monday digest of a
partner with many open opportunities.

Contracts created after the vendor's first sweep, already inside the
renewal window, are quoted on the next sweep (they used to wait forever).

A digest lists the most urgent 25 of each kind, soonest first, and says
how many more there are; it never runs past what a message holds (a long
digest used to be cut off mid-line)."""
import datetime
import re

from test_renewals import set_clock, smtp, start_world, wait_outbox_drained  # noqa: F401 (smtp: a fixture)

MORE = 40  # contracts added for one reseller, beyond the demo's


def test_a_long_digest_lists_the_most_urgent_and_counts_the_rest(daemon, tmp_path, smtp):
    d, w, _ = start_world(daemon, tmp_path, smtp)
    admin, t0 = w.admin, w.today
    gold = w.partner_by_ext["RES-GOLD"]
    cust = admin.ok("POST", "/api/v1/customers", {"name": "Many Seats Ltd", "email": "it@many.example"}, status=201)
    for i in range(MORE):
        end = t0 + datetime.timedelta(days=40 + i)
        admin.ok("POST", "/api/v1/contracts", {"customer_id": cust["id"], "product_id": 1, "reseller_id": gold["id"],
                 "quantity": 5, "start": (end - datetime.timedelta(days=365)).isoformat(), "end": end.isoformat(),
                 "external_id": f"K-MANY-{i}"}, status=201)
    monday = t0 + datetime.timedelta(days=7 - t0.weekday())  # the next Monday, after today
    set_clock(admin, monday)
    wait_outbox_drained(admin, smtp)
    pending = [o for o in admin.items("/api/v1/opportunities")
               if o["reseller_id"] == gold["id"] and o["state"] == "pending_decision"]
    assert len(pending) > MORE, [(o["contract_id"], o["state"]) for o in admin.items("/api/v1/opportunities")]  # every added contract was quoted and still awaits a decision
    digests = [m for m in smtp.received() if m["kind"] == "digest" and m["rcpt"] == [gold["email"]]
               and m["ref"].endswith(monday.isoformat())]
    assert len(digests) == 1, [(m["kind"], m["rcpt"], m["ref"]) for m in smtp.received() if m["kind"] == "digest"]
    text = digests[0]["text"]
    awaiting = text.split("Awaiting your decision:", 1)[1].split("Ending in the next 30 days:", 1)[0]
    lines = re.findall(r"decide by (\d{4}-\d{2}-\d{2})", awaiting)
    assert len(lines) == 25, awaiting
    assert lines == sorted(lines), lines  # soonest first
    soonest = sorted(o["decision_by"][:10] for o in pending)[:25]
    assert lines == soonest, (lines, soonest)
    assert f"and {len(pending) - 25} more: see the partner portal" in awaiting, awaiting
    month_end = (monday + datetime.timedelta(days=30)).isoformat()
    ending = [o for o in admin.items("/api/v1/opportunities") if o["reseller_id"] == gold["id"]
              and o["state"] in ("published_partner", "published_vendor")
              and monday.isoformat() <= o["contract_end"][:10] <= month_end]
    assert f"This week: {len(pending) + len(ending)} renewal opportunities" in digests[0]["subject"], digests[0]["subject"]
    assert text.rstrip().endswith(gold["contact_block"]), text[-300:]  # the footer is there: nothing cut
    d.stop()
