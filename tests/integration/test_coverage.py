"""Coverage while an order awaits payment, and a renewal the partner sold
itself.

* test_an_order_awaiting_payment_keeps_coverage: a customer orders its
  renewal on a purchase order before the end; until the invoice is paid it
  gets no reminder (before the end, or "overdue" after it), and at the end
  its contract does not expire: it is `renewal_ordered` (colour blue), as
  the vendor, the partner and the customer's own link see it.  Another
  customer of the same end date who did not order gets its reminders and
  expires.  The payment then renews the contract, and the held one leaves
  the sweep's watch.
* test_a_failed_order_lets_the_cadence_go_on: an order that fails (Bill Me
  Later refused over the credit limit) leaves the quote accepted; its
  reminders still come, and the contract expires at its end.
* test_a_publish_partner_quote_won_renews_the_contract: the partner of
  record sells the renewal itself and marks the quote won: the contract
  renews for the next term (the partner stays incumbent), audited; marking
  it won twice is refused.
"""
import datetime

from conftest import assert_json_error
from test_renewals import (  # noqa: F401 (smtp: a fixture)
    link_token, portal, set_clock, smtp, start_world, wait_outbox_drained)

GOLD_ADMIN = "gold-admin@x.example"


def make_contract(w, ext, end, reseller="RES-GOLD", email=None):
    tmpl = w.contract_by_ext["K-20002"]
    cust = w.admin.ok("POST", "/api/v1/customers", {"external_id": f"C-{ext}", "name": f"Customer {ext}",
                                                    "email": email or f"{ext.lower()}@cover.example"}, status=201)["id"]
    return w.admin.ok("POST", "/api/v1/contracts", {
        "external_id": ext, "customer_id": cust, "product_id": tmpl["product_id"],
        "reseller_id": w.partner_by_ext[reseller]["id"], "quantity": 5,
        "start": (end - datetime.timedelta(days=365)).isoformat(), "end": end.isoformat()}, status=201)["id"]


def order(client, opp, option, **extra):
    r = client.call("POST", "/api/v1/orders", {"opportunity_id": opp, "payment_option": option, **extra},
                    headers={"Idempotency-Key": f"cover-{opp}-{option}"})
    return r


def refs_for(sink, opp):
    return sorted(m["ref"] for m in sink.received() if m["ref"].endswith(f":{opp}"))


def test_an_order_awaiting_payment_keeps_coverage(daemon, tmp_path, smtp):
    d, w, u = start_world(daemon, tmp_path, smtp, users=[(GOLD_ADMIN, "partner-admin", "RES-GOLD")])
    admin, gold, t0 = w.admin, u[GOLD_ADMIN], w.today
    admin.ok("POST", "/api/v1/plugins/payment-po/enablements", {"config": {}}, status=201)
    end = t0 + datetime.timedelta(days=45)
    k_ord, k_not = make_contract(w, "K-CV-ORD", end), make_contract(w, "K-CV-NOT", end)
    set_clock(admin, t0 + datetime.timedelta(days=1))
    opps = {o["contract_id"]: o for o in w.opportunities()}
    o_ord, o_not = opps[k_ord], opps[k_not]
    for o in (o_ord, o_not):
        admin.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"}, status=200)
    notice = smtp.wait_for(lambda m: m["ref"] == f"notice:{o_ord['id']}", what="the notice")[0]
    set_clock(admin, end - datetime.timedelta(days=30))  # the first reminder, to both
    r = order(admin, o_ord["id"], "purchase_order", po_number="PO-COVER-1")
    assert r.status in (200, 201), r
    placed = r.json()
    placed = placed.get("order", placed)
    assert placed["state"] == "awaiting_payment", placed

    set_clock(admin, end + datetime.timedelta(days=10))
    wait_outbox_drained(admin, smtp)
    # the one who did not order: every reminder, overdue included, and expiry
    assert {f"reminder:{c}:{o_not['id']}" for c in (30, 14, 7, 0, -7)} <= set(refs_for(smtp, o_not["id"]))
    assert admin.get(f"/api/v1/contracts/{k_not}")["status"] == "expired"
    # the one who ordered: nothing after the order, and covered
    got = refs_for(smtp, o_ord["id"])
    assert f"reminder:30:{o_ord['id']}" in got, got
    assert not [x for x in got if x.startswith("reminder:") and x != f"reminder:30:{o_ord['id']}"], got
    k = admin.get(f"/api/v1/contracts/{k_ord}")
    assert k["status"] == "renewal_ordered" and k["colour"] == "blue", k
    assert admin.get(f"/api/v1/opportunities/{o_ord['id']}")["state"] == "accepted"
    assert [x["id"] for x in admin.items("/api/v1/contracts?colour=blue")] == [k_ord]
    pk = gold.get(f"/api/v1/contracts/{k_ord}")  # the partner of record
    assert pk["status"] == "renewal_ordered" and pk["colour"] == "blue", pk
    view = portal(d, link_token(notice)).json()  # the customer's own link
    mine = [c for c in view["contracts"] if c["id"] == k_ord]
    assert mine and mine[0]["status"] == "renewal_ordered" and mine[0]["colour"] == "blue", view["contracts"]

    # paid: renewed from where it stood; the next sweeps let it go
    pay = admin.ok("POST", f"/api/v1/orders/{placed['id']}/payments",
                   {"amount": placed["total"], "reference": "BANK-COVER-1"}, status=200)
    assert admin.get(f"/api/v1/orders/{placed['id']}")["state"] == "fulfilled", pay
    assert admin.get(f"/api/v1/contracts/{k_ord}")["status"] == "renewed"
    set_clock(admin, end + datetime.timedelta(days=20))
    assert admin.get(f"/api/v1/contracts/{k_ord}")["status"] == "renewed"
    assert admin.get("/api/v1/sweep/failures")["count"] == 0
    got = refs_for(smtp, o_ord["id"])
    assert not [x for x in got if x.startswith("reminder:") and x != f"reminder:30:{o_ord['id']}"], got
    d.stop()


def test_a_failed_order_lets_the_cadence_go_on(daemon, tmp_path, smtp):
    d, w, _ = start_world(daemon, tmp_path, smtp)
    admin, t0 = w.admin, w.today
    admin.ok("POST", "/api/v1/plugins/payment-bml/enablements", {"config": {"terms_days": 30, "credit_limit": 1}},
             status=201)
    end = t0 + datetime.timedelta(days=45)
    k = make_contract(w, "K-CV-FAIL", end)
    set_clock(admin, t0 + datetime.timedelta(days=1))
    o = next(o for o in w.opportunities() if o["contract_id"] == k)
    admin.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"}, status=200)
    r = order(admin, o["id"], "bill_me_later")
    orders = [x for x in admin.items("/api/v1/orders") if x["opportunity_id"] == o["id"]]
    assert [x["state"] for x in orders] == ["failed"], (r, orders)
    assert admin.get(f"/api/v1/opportunities/{o['id']}")["state"] == "accepted"
    set_clock(admin, end + datetime.timedelta(days=10))
    wait_outbox_drained(admin, smtp)
    got = set(refs_for(smtp, o["id"]))
    assert {f"reminder:{c}:{o['id']}" for c in (30, 14, 7, 0, -7)} <= got, sorted(got)
    assert admin.get(f"/api/v1/contracts/{k}")["status"] == "expired"
    d.stop()


def test_a_publish_partner_quote_won_renews_the_contract(daemon, tmp_path, smtp):
    d, w, u = start_world(daemon, tmp_path, smtp, users=[(GOLD_ADMIN, "partner-admin", "RES-GOLD")])
    admin, gold, t0 = w.admin, u[GOLD_ADMIN], w.today
    end = t0 + datetime.timedelta(days=45)
    k = make_contract(w, "K-CV-WON", end)
    set_clock(admin, t0 + datetime.timedelta(days=1))
    o = next(o for o in w.opportunities() if o["contract_id"] == k)
    gold.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "partner"}, status=200)
    won = gold.ok("PATCH", f"/api/v1/opportunities/{o['id']}", {"state": "won"}, status=200)
    assert won["state"] == "won", won
    old = admin.get(f"/api/v1/contracts/{k}")
    assert old["status"] == "renewed", old
    new = [x for x in admin.items("/api/v1/contracts") if x["external_id"] == o["number"]]
    assert len(new) == 1, new
    new = new[0]
    assert new["status"] == "live" and new["reseller_id"] == old["reseller_id"], new  # the incumbent stays
    assert new["customer_id"] == old["customer_id"] and new["product_id"] == old["product_id"], new
    assert new["quantity"] == old["quantity"] and new["start"] == (end + datetime.timedelta(days=1)).isoformat(), new
    assert new["end"] == (end + datetime.timedelta(days=365)).isoformat(), new
    assert gold.get(f"/api/v1/contracts/{new['id']}")["id"] == new["id"]  # the partner sees its renewed contract
    audit = admin.get(f"/api/v1/audit?object=contracts&object_id={k}&limit=50")["items"]
    assert any("won by the partner of record" in (a.get("note") or "") for a in audit), audit
    assert_json_error(gold.call("PATCH", f"/api/v1/opportunities/{o['id']}", {"state": "won"}), 409)
    # past the old end: no expiry, no overdue reminder, no second renewal
    set_clock(admin, end + datetime.timedelta(days=10))
    assert admin.get(f"/api/v1/contracts/{k}")["status"] == "renewed"
    assert len([x for x in admin.items("/api/v1/contracts") if x["external_id"] == o["number"]]) == 1
    assert not [r for r in refs_for(smtp, o["id"]) if r.startswith("reminder:")]
    d.stop()
