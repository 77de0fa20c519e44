"""SIGKILL during outbound webhook delivery (docs/connectors.md, "Delivery,
retries, the log"; docs/operations.md, "Stopping").

Leads are created (each one a lead.new event) while a subscriber that
answers slowly receives them, and renewd is killed at random moments and
started again.  In the end every lead the store holds reached the
subscriber (none lost), a repeat carries the same webhook-id (delivery is
at least once: the subscriber deduplicates on it), the delivery log says
delivered for each, and the store checks clean."""
import json
import time

import pytest

import crashkit
from crashkit import Killer, check_store, figures, restart, scaled, wait_until
from test_webhooks_out import Subscriber, boot, deliveries

pytestmark = pytest.mark.serial


def test_kills_during_webhook_delivery(daemon, tmp_path, capsys, record_property):
    rng, seed = crashkit.rng_for("webhooks", capsys)
    sub = Subscriber()
    slow = sub.srv.RequestHandlerClass.do_POST

    def do_post(handler):  # a subscriber that takes a while: kills land mid-delivery
        time.sleep(0.02)
        slow(handler)
    sub.srv.RequestHandlerClass.do_POST = do_post
    try:
        d, data, admin, _ = boot(daemon, tmp_path)
        args = list(d.args)
        admin.ok("POST", "/api/v1/webhooks/subscriptions", {"url": sub.url("/leads"), "events": ["lead.new"]},
                 status=201)
        rounds, per = scaled(6, 3), scaled(25, 10)
        kills = 0
        for r in range(rounds):
            k = Killer(d, 10.0)  # replaced half-way through the round
            for i in range(per):
                try:
                    admin.call("POST", "/api/v1/leads", {"company": f"Kill {r}-{i} Ltd", "contact_name": "Ann",
                                                         "email": f"k{r}-{i}@acme.example", "country": "GB"},
                               timeout=5)
                except OSError:
                    break
                if i == per // 2:
                    k.t.cancel()
                    k = Killer(d, rng.uniform(0.0, 0.3))
            kills += k.wait()
            d = restart(daemon, d, args, [admin])
        leads = {x["id"] for x in admin.items("/api/v1/leads")}
        assert leads

        def all_in():
            got = {json.loads(m["body"])["data"]["id"] for m in sub.events("/leads")}
            return leads <= got
        wait_until(all_in, 60, "every lead's event at the subscriber")
        log = [x for x in deliveries(admin, limit=500)]
        wait_until(lambda: all(x["state"] == "delivered" for x in deliveries(admin, limit=500)), 30,
                   "the delivery log to say delivered")
        by_id = {}
        for m in sub.events("/leads"):
            ev = json.loads(m["body"])
            by_id.setdefault(ev["data"]["id"], set()).add(m["headers"]["webhook-id"])
        assert all(len(ids) == 1 for ids in by_id.values()), "a repeat of an event under another webhook-id"
        got = sub.events("/leads")
        dups = len(got) - len(by_id)
        figures(capsys, record_property, "crash webhooks", seed=seed, kills=kills, leads=len(leads),
                deliveries=len(got), repeated=dups, log=len(log))
        d.stop()
        check_store(data)
    finally:
        sub.close()
