"""Referential integrity across customer merges and contract moves, and
renewctl check's reference check.

A merge (POST /api/v1/customers/{id}/merge) used to move only contracts and
contacts: opportunities, orders, links, tasks, messages and tokens kept the
merged-away customer's id, and from the next action on such an opportunity
every daily sweep of the vendor failed ("not found") while the schedule
preview answered 404.  Moving a contract to another customer (PATCH
customer_id) left its opportunity and what hangs off it at the old
customer.  renewctl check looked at indexes only and found nothing.

* a merge re-points every record naming the merged-away customer, audited;
  the schedule preview answers and the sweep takes the next actions; the
  store checks clean;
* a moved contract (an edit, or an import row) takes its opportunity, its
  orders, messages and tasks to the new customer, and the old customer can
  then be deleted without stopping the sweep; a link sent to the old
  customer stays with it, which then cannot be deleted;
* no delete leaves a dangling reference (a partner an opportunity names);
* renewctl check names a dangling reference (table, record, field, missing
  id) and exits non-zero.
"""
import datetime
import re

from conftest import renewctl
from test_renewals import (day, link_token, portal, set_clock, smtp,  # noqa: F401 (smtp: a fixture)
                           start_world, wait_outbox_drained)


def check_clean(data):
    p = renewctl("check", data=data)
    assert p.returncode == 0 and "problem:" not in p.stdout and " 0 problems" in p.stdout, (p.stdout, p.stderr)


def first_pending(w):
    pending = [o for o in w.opportunities() if o["state"] == "pending_decision"]
    assert pending, [o["state"] for o in w.opportunities()]
    return min(pending, key=lambda o: (o["decision_by"], o["id"]))


def test_a_merge_re_points_every_record_and_the_sweep_goes_on(daemon, tmp_path, smtp):
    d, w, _ = start_world(daemon, tmp_path, smtp)
    admin = w.admin
    opp = first_pending(w)
    gone = opp["customer_id"]
    survivor = admin.ok("POST", "/api/v1/customers", {"name": "Survivor Holdings", "email": "it@survivor.example"},
                        status=201)["id"]
    doc = admin.ok("POST", f"/api/v1/customers/{survivor}/merge", {"from": [gone]}, status=200)
    assert doc["customer_id"] == survivor and doc["merged"] == 1 and doc["contracts_moved"] >= 1, doc
    assert doc["opportunities_moved"] >= 1, doc
    assert admin.call("GET", f"/api/v1/customers/{gone}").status == 404
    assert admin.get(f"/api/v1/opportunities/{opp['id']}")["customer_id"] == survivor
    assert admin.get(f"/api/v1/contracts/{opp['contract_id']}")["customer_id"] == survivor
    # The re-pointed opportunity is audited, with the merge named.
    entries = admin.get(f"/api/v1/audit?object=opportunities&object_id={opp['id']}")["items"]
    assert any(e["action"] == "merge" and e["before"]["customer_id"] == gone and e["after"]["customer_id"] == survivor
               and f"customer {gone} merged into customer {survivor}" in e["note"] for e in entries), entries

    # The schedule preview answers, and the sweep takes the next actions
    # (the pullback and the customer's notice, to the survivor).
    r = admin.call("GET", "/api/v1/schedule?days=30")
    assert r.status == 200, r
    decide_by = day(opp["decision_by"])
    taken = set_clock(admin, decide_by + datetime.timedelta(days=1))["actions"]
    assert taken >= 1
    after = admin.get(f"/api/v1/opportunities/{opp['id']}")
    assert after["state"] == "published_vendor" and after["customer_id"] == survivor, after
    box = wait_outbox_drained(admin, smtp)
    notices = [m for m in box if m["kind"] == "customer_notice" and m["opportunity_id"] == opp["id"]]
    assert notices and all(m["customer_id"] == survivor for m in notices), notices
    assert any(m["to"] == "it@survivor.example" for m in notices), notices

    # The customer uses its link: a callback request becomes a task.
    mail = smtp.wait_for(lambda m: m["ref"] == f"notice:{opp['id']}", what="customer notice")[0]
    tok = link_token(mail)
    r = portal(d, tok, "POST", "/api/v1/portal/actions", {"action": "callback", "message": "call me"})
    assert r.status == 201, r
    task = r.json()["task_id"]
    assert {t["id"]: t for t in admin.items("/api/v1/tasks")}[task]["customer_id"] == survivor

    # And an order is placed for the quote (a purchase order).
    admin.ok("POST", "/api/v1/plugins/payment-po/enablements", {"config": {}}, status=201)
    r = admin.call("POST", "/api/v1/orders", {"opportunity_id": opp["id"], "payment_option": "purchase_order",
                                              "po_number": "PO-MERGE"}, headers={"Idempotency-Key": "merge-0001"})
    assert r.status == 201 and r.json()["customer_id"] == survivor, r
    order = r.json()["id"]

    # Now the opportunity has a link, a task, an order and messages: merge the
    # survivor into a third customer; the next sweeps still run, and
    # nothing dangles.
    third = admin.ok("POST", "/api/v1/customers", {"name": "Third Group"}, status=201)["id"]
    doc = admin.ok("POST", f"/api/v1/customers/{third}/merge", {"from": [survivor]}, status=200)
    assert doc["links_moved"] >= 1 and doc["tasks_moved"] == 1 and doc["messages_moved"] >= 1, doc
    assert doc["orders_moved"] == 1 and admin.get(f"/api/v1/orders/{order}")["customer_id"] == third, doc
    assert admin.get(f"/api/v1/opportunities/{opp['id']}")["customer_id"] == third
    assert {t["id"]: t for t in admin.items("/api/v1/tasks")}[task]["customer_id"] == third
    # The merged-away customer's link is revoked (the next notice sends a fresh one).
    assert portal(d, tok).status == 401
    assert all(m["customer_id"] == third for m in admin.items("/api/v1/outbox")
               if m["opportunity_id"] == opp["id"]), admin.items("/api/v1/outbox")
    assert admin.call("GET", "/api/v1/schedule?days=30").status == 200
    set_clock(admin, decide_by + datetime.timedelta(days=20))
    assert admin.call("GET", "/api/v1/schedule?days=30").status == 200
    d.stop()
    check_clean(w.data)
    assert "the sweep of a day failed" not in d.log(), d.log()[-2000:]


def test_a_moved_contract_takes_its_opportunity_along(daemon, tmp_path, smtp):
    d, w, _ = start_world(daemon, tmp_path, smtp)
    admin, t0 = w.admin, w.today
    gold = w.partner_by_ext["RES-GOLD"]
    old = admin.ok("POST", "/api/v1/customers", {"name": "Old Owner Ltd"}, status=201)["id"]
    new = admin.ok("POST", "/api/v1/customers", {"name": "New Owner Ltd"}, status=201)["id"]
    end = t0 + datetime.timedelta(days=40)
    k = admin.ok("POST", "/api/v1/contracts", {"customer_id": old, "product_id": 1, "reseller_id": gold["id"],
                 "quantity": 5, "start": (end - datetime.timedelta(days=365)).isoformat(), "end": end.isoformat(),
                 "external_id": "K-MOVED"}, status=201)
    set_clock(admin, t0 + datetime.timedelta(days=1))  # the sweep quotes it
    opps = [o for o in w.opportunities() if o["contract_id"] == k["id"]]
    assert len(opps) == 1 and opps[0]["customer_id"] == old, opps
    opp = opps[0]

    admin.ok("PATCH", f"/api/v1/contracts/{k['id']}", {"customer_id": new})
    assert admin.get(f"/api/v1/opportunities/{opp['id']}")["customer_id"] == new
    entries = admin.get(f"/api/v1/audit?object=opportunities&object_id={opp['id']}")["items"]
    assert any(e["before"]["customer_id"] == old and e["after"]["customer_id"] == new for e in entries
               if e["before"] and e["after"]), entries
    # The old customer has nothing left: it may go, and the sweep goes on.
    assert admin.call("DELETE", f"/api/v1/customers/{old}").status == 204
    assert admin.call("GET", "/api/v1/schedule?days=30").status == 200
    taken = set_clock(admin, day(opp["decision_by"]) + datetime.timedelta(days=1))["actions"]
    assert taken >= 1
    after = admin.get(f"/api/v1/opportunities/{opp['id']}")
    assert after["state"] == "published_vendor" and after["customer_id"] == new, after
    wait_outbox_drained(admin, smtp)
    d.stop()
    check_clean(w.data)
    assert "the sweep of a day failed" not in d.log(), d.log()[-2000:]


def test_an_import_that_moves_a_contract_takes_its_opportunity_along(daemon, tmp_path, smtp):
    d, w, _ = start_world(daemon, tmp_path, smtp)
    admin, t0 = w.admin, w.today
    old = admin.ok("POST", "/api/v1/customers", {"name": "Imported Old Ltd", "external_id": "MI-OLD"}, status=201)["id"]
    new = admin.ok("POST", "/api/v1/customers", {"name": "Imported New Ltd", "external_id": "MI-NEW"}, status=201)["id"]
    sku = admin.get("/api/v1/products/1")["sku"]
    end = t0 + datetime.timedelta(days=40)
    start = (end - datetime.timedelta(days=365)).isoformat()
    header = "external_id,customer_external_id,product_sku,reseller_external_id,quantity,start,end\n"
    doc = admin.run_import("contracts", f"{header}K-IMPORTED,MI-OLD,{sku},RES-GOLD,5,{start},{end}\n".encode())
    assert doc["status"] == "succeeded" and doc["created"] == 1, doc
    set_clock(admin, t0 + datetime.timedelta(days=1))
    opp = [o for o in w.opportunities() if o["customer_id"] == old]
    assert len(opp) == 1, opp
    doc = admin.run_import("contracts", f"{header}K-IMPORTED,MI-NEW,{sku},RES-GOLD,5,{start},{end}\n".encode())
    assert doc["status"] == "succeeded" and doc["updated"] == 1, doc
    assert admin.get(f"/api/v1/opportunities/{opp[0]['id']}")["customer_id"] == new
    assert admin.call("DELETE", f"/api/v1/customers/{old}").status == 204
    assert admin.call("GET", "/api/v1/schedule?days=30").status == 200
    d.stop()
    check_clean(w.data)


def test_a_customer_whose_link_stays_with_it_is_not_deleted(daemon, tmp_path, smtp):
    """A contract moved after its customer was sent a link: the link (and
    the session it opens) stays with the customer it was sent to, which
    therefore cannot be deleted (it would leave the link naming no one);
    the API says what still names it."""
    d, w, _ = start_world(daemon, tmp_path, smtp)
    admin, t0 = w.admin, w.today
    gold = w.partner_by_ext["RES-GOLD"]
    old = admin.ok("POST", "/api/v1/customers", {"name": "Linked Owner Ltd", "email": "it@linked.example"},
                   status=201)["id"]
    new = admin.ok("POST", "/api/v1/customers", {"name": "Next Owner Ltd"}, status=201)["id"]
    end = t0 + datetime.timedelta(days=40)
    k = admin.ok("POST", "/api/v1/contracts", {"customer_id": old, "product_id": 1, "reseller_id": gold["id"],
                 "quantity": 5, "start": (end - datetime.timedelta(days=365)).isoformat(), "end": end.isoformat(),
                 "external_id": "K-LINKED"}, status=201)
    set_clock(admin, t0 + datetime.timedelta(days=1))
    opp = [o for o in w.opportunities() if o["contract_id"] == k["id"]][0]
    set_clock(admin, day(opp["decision_by"]) + datetime.timedelta(days=1))  # pullback: the customer's notice
    box = wait_outbox_drained(admin, smtp)
    assert any(m["kind"] == "customer_notice" and m["to"] == "it@linked.example" for m in box), box
    admin.ok("PATCH", f"/api/v1/contracts/{k['id']}", {"customer_id": new})
    assert admin.get(f"/api/v1/opportunities/{opp['id']}")["customer_id"] == new
    assert all(m["customer_id"] == new for m in admin.items("/api/v1/outbox") if m["opportunity_id"] == opp["id"])
    r = admin.call("DELETE", f"/api/v1/customers/{old}")
    assert r.status == 409 and "links" in r.json()["error"]["message"], r
    assert admin.get(f"/api/v1/customers/{old}")["id"] == old
    d.stop()
    check_clean(w.data)


def test_a_partner_an_opportunity_names_is_not_deleted(daemon, tmp_path, smtp):
    """A reseller whose contract moved to another reseller is still named
    by the opportunity quoted to it: deleting it is refused (it used to
    succeed and leave the opportunity naming a partner that is gone)."""
    d, w, _ = start_world(daemon, tmp_path, smtp)
    admin, t0 = w.admin, w.today
    gold = w.partner_by_ext["RES-GOLD"]
    brief = admin.ok("POST", "/api/v1/partners", {"name": "Short Lived Resellers", "kind": "reseller",
                                                  "tier": "silver"}, status=201)["id"]
    cust = admin.ok("POST", "/api/v1/customers", {"name": "Reseller Moved Ltd"}, status=201)["id"]
    end = t0 + datetime.timedelta(days=40)
    k = admin.ok("POST", "/api/v1/contracts", {"customer_id": cust, "product_id": 1, "reseller_id": brief,
                 "quantity": 5, "start": (end - datetime.timedelta(days=365)).isoformat(), "end": end.isoformat(),
                 "external_id": "K-RESELLER-MOVED"}, status=201)
    set_clock(admin, t0 + datetime.timedelta(days=1))
    opp = [o for o in w.opportunities() if o["contract_id"] == k["id"]]
    assert len(opp) == 1 and opp[0]["reseller_id"] == brief, opp
    admin.ok("PATCH", f"/api/v1/contracts/{k['id']}", {"reseller_id": gold["id"]})
    r = admin.call("DELETE", f"/api/v1/partners/{brief}")
    assert r.status == 409 and "opportunities" in r.json()["error"]["message"], r
    assert admin.get(f"/api/v1/partners/{brief}")["id"] == brief
    d.stop()
    check_clean(w.data)


def test_check_names_a_dangling_reference(daemon, tmp_path, smtp):
    """No API path leaves a dangling reference any more, so the test makes
    one in the store itself (python3-lmdb, renewd stopped): the customer
    record of a contract with an opportunity is removed.  renewctl check
    names each record that names it (table, id, field, missing id) and
    exits 1."""
    import lmdb
    d, w, _ = start_world(daemon, tmp_path, smtp)
    admin, t0 = w.admin, w.today
    vendor = admin.get("/api/v1/vendor")["id"]
    # No external id: the customer has no index entry, only its record.
    cust = admin.ok("POST", "/api/v1/customers", {"name": "Raw Gone Ltd"}, status=201)["id"]
    end = t0 + datetime.timedelta(days=40)
    k = admin.ok("POST", "/api/v1/contracts", {"customer_id": cust, "product_id": 1,
                 "reseller_id": w.partner_by_ext["RES-GOLD"]["id"], "quantity": 5,
                 "start": (end - datetime.timedelta(days=365)).isoformat(), "end": end.isoformat()}, status=201)
    set_clock(admin, t0 + datetime.timedelta(days=1))
    opp = [o for o in w.opportunities() if o["contract_id"] == k["id"]]
    assert len(opp) == 1, opp
    d.stop()
    check_clean(w.data)  # all is well so far

    env = lmdb.open(str(w.data), max_dbs=128, subdir=True)
    try:
        db = env.open_db(b"t:customers", create=False)
        with env.begin(write=True) as txn:
            assert txn.delete(vendor.to_bytes(8, "big") + cust.to_bytes(8, "big"), db=db)
    finally:
        env.close()

    p = renewctl("check", data=w.data)
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("problem:")]
    for table, rid in (("contracts", k["id"]), ("opportunities", opp[0]["id"])):
        want = f"problem: vendor {vendor}: {table} {rid}: customer_id {cust} names no record in customers"
        assert want in lines, p.stdout
    assert all(f"customer_id {cust} names no record in customers" in ln for ln in lines), p.stdout
    assert re.search(rf"check .*: {len(lines)} problems? ", p.stdout), p.stdout
