"""The reports' counters (docs/reporting.md "Counters", store.h "Counters").

The vendor's dashboard reads counters the store keeps in the write
transaction of every contract, opportunity, order and product write; a
partner's or a sales person's dashboard walks the report index keys.  A
seeded random run of contract creates, updates, cancellations and
deletions, price changes, imports, sweeps (the clock moved on: quotes made,
contracts expired), publish decisions, orders placed, paid and cancelled is
followed by `renewctl check`, which recounts every counter from the records
and compares the counters' dashboard of every vendor with the walk's (the
reference, kept off the request path); after a restart the figures are the
same; a drifted counter is reported by `renewctl check`; a store whose fill
never finished (its meta key absent, its rows half there and wrong) is
filled afresh at start and answers the same figures (on PostgreSQL the
random run, the restart and the check; the tampering is LMDB's).
"""
import datetime
import random

import pytest

from conftest import PG_MODE, ApiClient, renewctl
from test_quote_pdf import start

SEED = 20261207
OPS = 150


def check(data):
    p = renewctl("check", data=data)
    assert p.returncode == 0 and " 0 problems" in p.stdout, p.stdout + p.stderr
    return p


def dashboard(client):
    rep = client.get("/api/v1/reports/dashboard")
    return rep


class Run:
    pass


def today(admin):
    return datetime.date.fromisoformat(admin.get("/api/v1/clock")["today"])


def random_run(d, data, admin, partners, rng):
    r = Run()
    r.n = 0
    admin.ok("POST", "/api/v1/plugins/payment-po/enablements", {"config": {}}, status=201)
    customers = admin.items("/api/v1/customers")
    products = admin.items("/api/v1/products")
    parts = {p["id"]: p for p in admin.items("/api/v1/partners")}
    resellers = [p for p in parts.values() if p["kind"] == "reseller"]
    mine = []  # contracts this run made

    def contract_body():
        end = today(admin) + datetime.timedelta(days=rng.randint(-300, 150))
        body = {"external_id": f"RC-{r.n}", "customer_id": rng.choice(customers)["id"],
                "product_id": rng.choice(products)["id"], "quantity": rng.randint(1, 30),
                "term": rng.choice(["annual", "annual", "monthly", "flex"]),
                "currency": rng.choice(["GBP", "GBP", "EUR", "USD"]),
                "start": (end - datetime.timedelta(days=365)).isoformat(), "end": end.isoformat(),
                "status": rng.choice(["live"] * 5 + ["renewed", "cancelled", "expired"])}
        res = rng.choice(resellers)  # a contract names its reseller
        body["reseller_id"] = res["id"]
        if res.get("parent_id") and rng.random() < 0.7:
            body["distributor_id"] = res["parent_id"]
        return body

    def op_create():
        k = admin.call("POST", "/api/v1/contracts", contract_body())
        assert k.status == 201, k
        mine.append(k.json()["id"])

    def some_contract():
        ks = admin.items("/api/v1/contracts")
        return rng.choice(ks) if ks else None

    def op_update():
        k = some_contract()
        change = rng.choice([{"quantity": rng.randint(1, 40)},
                             {"end": (today(admin) + datetime.timedelta(days=rng.randint(-200, 120))).isoformat()},
                             {"product_id": rng.choice(products)["id"]},
                             {"currency": rng.choice(["GBP", "EUR"])}])
        resp = admin.call("PATCH", f"/api/v1/contracts/{k['id']}", change)
        assert resp.status < 500, resp

    def op_cancel():
        k = some_contract()
        assert admin.call("PATCH", f"/api/v1/contracts/{k['id']}", {"status": "cancelled"}).status < 500

    def op_delete():
        if mine:
            kid = mine.pop(rng.randrange(len(mine)))
            assert admin.call("DELETE", f"/api/v1/contracts/{kid}").status < 500

    def op_price():
        p = rng.choice(products)
        prices = [dict(x, amount=max(1, x["amount"] + rng.randint(-500, 500))) for x in p["prices"]]
        if rng.random() < 0.3:
            prices.append({"currency": "USD", "term": "annual", "amount": rng.randint(100, 9000)})
        resp = admin.call("PATCH", f"/api/v1/products/{p['id']}", {"prices": prices})
        assert resp.status < 500, resp
        if resp.status == 200:
            products[products.index(p)] = resp.json()

    def op_import():
        rows = ["external_id,customer_external_id,product_sku,reseller_external_id,quantity,start,end,currency"]
        for i in range(rng.randint(1, 4)):
            end = today(admin) + datetime.timedelta(days=rng.randint(-100, 150))
            res = rng.choice(resellers)  # an import names the reseller
            rows.append(f"RI-{r.n}-{i},{rng.choice(customers)['external_id']},{rng.choice(products)['sku']},"
                        f"{res['external_id']},{rng.randint(1, 9)},"
                        f"{(end - datetime.timedelta(days=365)).isoformat()},{end.isoformat()},"
                        f"{rng.choice(['GBP', 'EUR'])}")
        doc = admin.run_import("contracts", ("\n".join(rows) + "\n").encode())
        assert doc["status"] == "succeeded", str(admin.get(f"/api/v1/imports/{doc['id']}"))

    def op_sweep():
        day = today(admin) + datetime.timedelta(days=rng.randint(1, 25))
        admin.ok("POST", "/api/v1/clock", {"date": day.isoformat()})

    def opps(state):
        return [o for o in admin.items("/api/v1/opportunities") if o["state"] == state]

    def op_decide():
        os_ = [o for o in opps("pending_decision") if o.get("reseller_id") in partners]
        if os_:
            o = rng.choice(os_)
            resp = partners[o["reseller_id"]].call("POST", f"/api/v1/opportunities/{o['id']}/decision",
                                                   {"publish": rng.choice(["vendor", "partner"])})
            assert resp.status < 500, resp

    def op_order():
        os_ = [o for o in admin.items("/api/v1/opportunities")
               if o["state"] in ("published_vendor", "published_partner") and o.get("reseller_id") in partners]
        if not os_:
            return
        o = rng.choice(os_)
        resp = partners[o["reseller_id"]].call(
            "POST", "/api/v1/orders", {"opportunity_id": o["id"], "payment_option": "purchase_order",
                                       "po_number": f"PO-{r.n}"}, headers={"Idempotency-Key": f"order-{r.n}-{o['id']}"})
        assert resp.status < 500, resp
        if resp.status != 201:
            return
        order = resp.json()
        if rng.random() < 0.6:
            admin.ok("POST", f"/api/v1/orders/{order['id']}/payments", {"amount": order["total"], "reference": f"R-{r.n}"})
        elif rng.random() < 0.5:
            admin.ok("POST", f"/api/v1/orders/{order['id']}/cancel", {"reason": "changed their mind"})

    ops = [op_create] * 6 + [op_update] * 3 + [op_cancel, op_delete, op_price, op_import, op_sweep, op_sweep,
                                                op_decide, op_decide, op_order, op_order, op_order]
    for r.n in range(OPS):
        rng.choice(ops)()
        if r.n % 50 == 49:
            check(data)  # beside the running renewd
    return r


def lmdb_env(data):
    import lmdb
    return lmdb.open(str(data), max_dbs=128, subdir=True)


def test_counters_match_a_recount_through_a_random_run_a_restart_and_a_refill(daemon, tmp_path):
    d, data, admin, u, other = start(daemon, tmp_path, users=[("plat@x.example", "partner-admin", "2"),
                                                                ("gold@x.example", "partner-admin", "3")])
    partners = {2: u["plat@x.example"], 3: u["gold@x.example"]}
    random_run(d, data, admin, partners, random.Random(SEED))
    before = dashboard(admin)
    assert before["contracts"] > 0 and before["tables"]["rate"]["rows"], before
    check(data)
    # The figures a partner sees (a walk: their scope is no counter dimension) still hold to their channel.
    plat = dashboard(partners[2])
    assert plat["contracts"] < before["contracts"]

    # A restart: the counters were written with the records; nothing is refilled, the figures stay.
    d.stop()
    d2 = daemon(data=data, args=["--test-clock", "1", "--sched-interval-ms", "100000"])
    admin2 = ApiClient(d2, admin.token)
    assert dashboard(admin2) == before
    check(data)
    if PG_MODE:
        d2.stop()
        return  # the rows are tampered with below through LMDB only

    # A drifted counter: renewctl check names it and fails.
    d2.stop()
    env = lmdb_env(data)
    db = env.open_db(b"_counters", create=False)
    with env.begin(write=True, db=db) as txn:
        key, val = next((k, v) for k, v in txn.cursor() if b"contracts\x00M" in k)
        txn.put(key, (int.from_bytes(val[:8], "little") + 1).to_bytes(8, "little") + val[8:])
    env.close()
    p = renewctl("check", data=data)
    assert p.returncode == 1, p.stdout + p.stderr
    assert "problem: counters contracts.report: tenant 1 bucket " in p.stdout, p.stdout
    assert "differs from a recount" in p.stdout, p.stdout

    # A fill that never finished (or a copy of the records without the counters): no fill marker (a
    # counters row of tenant 0), rows missing and a stray one.  Filled afresh at start.
    env = lmdb_env(data)
    db = env.open_db(b"_counters", create=False)
    with env.begin(write=True) as txn:
        assert txn.delete(bytes(8) + b"contracts\x00#filled", db=db)
        keys = [k for k, _ in txn.cursor(db=db)]
        for k in keys[::2]:
            txn.delete(k, db=db)
        txn.put((1).to_bytes(8, "big") + b"contracts\x00Zstray", (5).to_bytes(8, "little") + bytes(32), db=db)
    env.close()
    assert renewctl("check", data=data).returncode == 1
    d3 = daemon(data=data, args=["--test-clock", "1", "--sched-interval-ms", "100000"])
    assert dashboard(ApiClient(d3, admin.token)) == before
    d3.stop()
    check(data)
