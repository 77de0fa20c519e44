"""Cancelling an order not yet paid (core/services/cancel.c,
POST /api/v1/orders/{id}/cancel): renewd on the demo store with the test
clock, mail by SMTP to an in-process sink (the style of test_coverage.py).

* test_cancel_before_the_end_resumes_the_cadence: a purchase order awaiting
  payment holds the quote's reminders (the 14-day one is passed over); the
  vendor cancels it with a reason (the order `cancelled`, the reason on it
  and in its audit entry); the next sweep sends the next reminder due (7
  days); the customer accepts the quote again on its link and orders anew,
  and the new order holds the cadence and the contract again.
* test_cancel_after_the_end_expires_the_held_contract: the order's contract
  is held `renewal_ordered` (blue) past its end; cancelling the order
  expires it in the same transaction, by the sweep's own rule (contract
  red, opportunity `expired`, audited with the reason); the next sweep sends
  the overdue reminder (-7) due after it; the points passed while held are
  not sent later.
* test_cancel_with_the_end_moved_makes_the_contract_live: a held contract
  whose end was moved past today is live again when its order is
  cancelled, and the sweep expires it after its new end.
* test_cancel_refusals: no reason, an empty, over-long or multi-line reason,
  an unknown field (400 naming it); an unknown order (404); a partner admin
  and a vendor sales person (403); a paid (fulfilled) order and a cancelled
  one (409 naming the state); each refusal writes nothing.
"""
import datetime

from conftest import assert_json_error
from test_coverage import make_contract, order, refs_for
from test_orders import csrf_of, orders_of, purchase_form
from test_quote_pdf import Customer
from test_renewals import (  # noqa: F401 (smtp: a fixture)
    link_token, set_clock, smtp, start_world, wait_outbox_drained)

GOLD_ADMIN = "gold-admin@x.example"
VSALES = "vsales@x.example"
DAY = datetime.timedelta(days=1)


def published(w, smtp, k, t0):
    """The contract's quote, published by the vendor; and the customer notice."""
    set_clock(w.admin, t0 + DAY)
    o = next(o for o in w.opportunities() if o["contract_id"] == k)
    w.admin.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"}, status=200)
    notice = smtp.wait_for(lambda m: m["ref"] == f"notice:{o['id']}", what="the notice")[0]
    return o, notice


def reminders(smtp, o):
    return [x for x in refs_for(smtp, o["id"]) if x.startswith("reminder:")]


def cancel(client, oid, body):
    return client.call("POST", f"/api/v1/orders/{oid}/cancel", body)


def test_cancel_before_the_end_resumes_the_cadence(daemon, tmp_path, smtp):
    d, w, _ = start_world(daemon, tmp_path, smtp)
    admin, t0 = w.admin, w.today
    admin.ok("POST", "/api/v1/plugins/payment-po/enablements", {"config": {}}, status=201)
    end = t0 + datetime.timedelta(days=45)
    k = make_contract(w, "K-CN-EARLY", end)
    o, notice = published(w, smtp, k, t0)
    set_clock(admin, end - datetime.timedelta(days=30))
    r = order(admin, o["id"], "purchase_order", po_number="PO-CANCEL-1")
    assert r.status in (200, 201), r
    placed = r.json()
    placed = placed.get("order", placed)
    assert placed["state"] == "awaiting_payment", placed

    # held: the 14-day point passes without a reminder
    set_clock(admin, end - datetime.timedelta(days=10))
    wait_outbox_drained(admin, smtp)
    assert reminders(smtp, o) == [f"reminder:30:{o['id']}"], reminders(smtp, o)
    # the customer cannot accept again while the order is live
    c = Customer(d.port)
    status, _, page = c.open(f"/c/{link_token(notice)}")
    assert status == 200, page[:300]
    status, _, body = c.open("/portal/accept", {"csrf": csrf_of(page.decode()), "accept": "yes"})
    assert status == 409 and placed["number"] in body.decode(), (status, body[:400])

    done = admin.ok("POST", f"/api/v1/orders/{placed['id']}/cancel", {"reason": "PO withdrawn by the customer"},
                    status=200)
    assert done["state"] == "cancelled" and done["id"] == placed["id"], done
    assert "PO withdrawn by the customer" in done["payment_message"], done
    assert admin.get(f"/api/v1/orders/{placed['id']}")["state"] == "cancelled"
    audit = admin.get(f"/api/v1/audit?object=orders&object_id={placed['id']}&limit=50")["items"]
    assert any(a.get("note") == "cancelled: PO withdrawn by the customer" for a in audit), audit
    assert admin.get(f"/api/v1/contracts/{k}")["status"] == "live"
    assert admin.get(f"/api/v1/opportunities/{o['id']}")["state"] == "accepted"

    # the next sweep: the cadence goes on from its next point (14 stays passed over)
    set_clock(admin, end - datetime.timedelta(days=7))
    wait_outbox_drained(admin, smtp)
    got = reminders(smtp, o)
    assert sorted(got) == sorted([f"reminder:30:{o['id']}", f"reminder:7:{o['id']}"]), got

    # the customer accepts again and orders anew
    status, _, page = c.open(f"/c/{link_token(notice)}")
    assert status == 200, page[:300]
    status, _, body = c.open("/portal/accept", {"csrf": csrf_of(page.decode()), "accept": "yes"})
    assert status == 200, body[:400]
    _, csrf, key = purchase_form(c)
    status, _, body = c.open("/portal/order", {"csrf": csrf, "order_key": key, "option": "purchase_order",
                                               "po_number": "PO-CANCEL-2"})
    assert status == 200, body[:400]
    mine = {x["id"]: x for x in orders_of(admin, o["id"])}
    assert len(mine) == 2 and mine[placed["id"]]["state"] == "cancelled", mine
    (again,) = [x for x in mine.values() if x["id"] != placed["id"]]
    assert again["state"] == "awaiting_payment" and again["po_number"] == "PO-CANCEL-2", again

    # the new order holds the cadence and the contract again
    set_clock(admin, end + datetime.timedelta(days=3))
    wait_outbox_drained(admin, smtp)
    got = reminders(smtp, o)
    assert sorted(got) == sorted([f"reminder:30:{o['id']}", f"reminder:7:{o['id']}"]), got
    kk = admin.get(f"/api/v1/contracts/{k}")
    assert kk["status"] == "renewal_ordered" and kk["colour"] == "blue", kk
    assert admin.get("/api/v1/sweep/failures")["count"] == 0
    d.stop()


def test_cancel_after_the_end_expires_the_held_contract(daemon, tmp_path, smtp):
    d, w, _ = start_world(daemon, tmp_path, smtp)
    admin, t0 = w.admin, w.today
    admin.ok("POST", "/api/v1/plugins/payment-po/enablements", {"config": {}}, status=201)
    end = t0 + datetime.timedelta(days=45)
    k = make_contract(w, "K-CN-HELD", end)
    o, _ = published(w, smtp, k, t0)
    set_clock(admin, end - datetime.timedelta(days=30))
    r = order(admin, o["id"], "purchase_order", po_number="PO-CANCEL-3")
    assert r.status in (200, 201), r
    placed = r.json()
    placed = placed.get("order", placed)
    assert placed["state"] == "awaiting_payment", placed

    set_clock(admin, end + datetime.timedelta(days=3))
    wait_outbox_drained(admin, smtp)
    kk = admin.get(f"/api/v1/contracts/{k}")
    assert kk["status"] == "renewal_ordered" and kk["colour"] == "blue", kk
    assert reminders(smtp, o) == [f"reminder:30:{o['id']}"], reminders(smtp, o)

    admin.ok("POST", f"/api/v1/orders/{placed['id']}/cancel", {"reason": "never paid"}, status=200)
    # nothing holds it now: expired at once, by the sweep's rule, audited
    kk = admin.get(f"/api/v1/contracts/{k}")
    assert kk["status"] == "expired" and kk["colour"] == "red", kk
    assert admin.get(f"/api/v1/opportunities/{o['id']}")["state"] == "expired"
    audit = admin.get(f"/api/v1/audit?object=contracts&object_id={k}&limit=50")["items"]
    assert any(a.get("note") == "cancelled: never paid" and a["after"]["status"] == "expired" for a in audit), audit
    assert [x["id"] for x in admin.items("/api/v1/contracts?colour=blue")] == []
    # the next sweeps: the overdue reminder due after it, once
    set_clock(admin, end + datetime.timedelta(days=8))
    wait_outbox_drained(admin, smtp)
    assert admin.get(f"/api/v1/contracts/{k}")["status"] == "expired"
    got = reminders(smtp, o)
    assert sorted(got) == sorted([f"reminder:30:{o['id']}", f"reminder:-7:{o['id']}"]), got
    assert admin.get("/api/v1/sweep/failures")["count"] == 0
    d.stop()


def test_cancel_refusals(daemon, tmp_path, smtp):
    d, w, u = start_world(daemon, tmp_path, smtp, users=[(GOLD_ADMIN, "partner-admin", "RES-GOLD"),
                                                         (VSALES, "vendor-sales", None)])
    admin, t0 = w.admin, w.today
    admin.ok("POST", "/api/v1/plugins/payment-po/enablements", {"config": {}}, status=201)
    end = t0 + datetime.timedelta(days=45)
    k1, k2 = make_contract(w, "K-CN-R1", end), make_contract(w, "K-CN-R2", end)
    set_clock(admin, t0 + DAY)
    opps = {o["contract_id"]: o for o in w.opportunities()}
    placed = []
    for k, po in ((k1, "PO-R1"), (k2, "PO-R2")):
        admin.ok("POST", f"/api/v1/opportunities/{opps[k]['id']}/decision", {"publish": "vendor"}, status=200)
        r = order(admin, opps[k]["id"], "purchase_order", po_number=po)
        assert r.status in (200, 201), r
        placed.append(r.json().get("order", r.json()))
    live, paid = placed
    assert live["state"] == paid["state"] == "awaiting_payment", placed
    admin.ok("POST", f"/api/v1/orders/{paid['id']}/payments", {"amount": paid["total"], "reference": "BANK-R2"},
             status=200)

    oid = live["id"]
    for body, field in (({}, "reason"), ({"reason": ""}, "reason"), ({"reason": "x" * 128}, "reason"),
                        ({"reason": "two\nlines"}, "reason"), ({"reason": 7}, "reason"),
                        ({"reason": "ok", "refund": True}, "refund")):
        e = assert_json_error(cancel(admin, oid, body), 400)
        assert e["field"] == field, (body, e)
    e = assert_json_error(cancel(admin, 999999, {"reason": "no such"}), 404)
    assert e["field"] == "id", e
    for who in (u[GOLD_ADMIN], u[VSALES]):  # the partner of record, and the vendor's sales person
        assert_json_error(cancel(who, oid, {"reason": "not mine to cancel"}), 403)
    e = assert_json_error(cancel(admin, paid["id"], {"reason": "too late"}), 409)
    assert "fulfilled" in e["message"] and paid["number"] in e["message"], e
    assert admin.get(f"/api/v1/orders/{paid['id']}")["state"] == "fulfilled"
    before = admin.get(f"/api/v1/audit?object=orders&object_id={oid}&limit=50")["items"]
    assert admin.get(f"/api/v1/orders/{oid}")["state"] == "awaiting_payment"  # nothing written

    admin.ok("POST", f"/api/v1/orders/{oid}/cancel", {"reason": "x" * 127}, status=200)
    e = assert_json_error(cancel(admin, oid, {"reason": "again"}), 409)
    assert "cancelled" in e["message"], e
    after = admin.get(f"/api/v1/audit?object=orders&object_id={oid}&limit=50")["items"]
    assert len(after) == len(before) + 1, (before, after)
    d.stop()


def test_cancel_with_the_end_moved_makes_the_contract_live(daemon, tmp_path, smtp):
    d, w, _ = start_world(daemon, tmp_path, smtp)
    admin, t0 = w.admin, w.today
    admin.ok("POST", "/api/v1/plugins/payment-po/enablements", {"config": {}}, status=201)
    end = t0 + datetime.timedelta(days=45)
    k = make_contract(w, "K-CN-MOVED", end)
    o, _ = published(w, smtp, k, t0)
    set_clock(admin, end - datetime.timedelta(days=30))
    r = order(admin, o["id"], "purchase_order", po_number="PO-CANCEL-4")
    assert r.status in (200, 201), r
    placed = r.json()
    placed = placed.get("order", placed)
    set_clock(admin, end + datetime.timedelta(days=2))
    assert admin.get(f"/api/v1/contracts/{k}")["status"] == "renewal_ordered"
    later = end + datetime.timedelta(days=30)
    admin.ok("PATCH", f"/api/v1/contracts/{k}", {"end": later.isoformat()}, status=200)
    admin.ok("POST", f"/api/v1/orders/{placed['id']}/cancel", {"reason": "end moved"}, status=200)
    kk = admin.get(f"/api/v1/contracts/{k}")
    assert kk["status"] == "live", kk
    # the sweep lets it go from its held list and expires it after its new end
    set_clock(admin, later + datetime.timedelta(days=2))
    assert admin.get(f"/api/v1/contracts/{k}")["status"] == "expired"
    assert admin.get("/api/v1/sweep/failures")["count"] == 0
    d.stop()
