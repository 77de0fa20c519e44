"""Authorisation over every route (docs/security.md, "Authorisation over
every route").

tests/integration/authz_table.yaml states, for every operation of
docs/openapi.yaml and every caller (the vendor's three roles, a partner
admin and a partner sales person of a distributor and of one of its
resellers, a customer's link, a platform operator, nobody), what the answer
must be.  One daemon holds two vendors, each with a distributor and
resellers, and a record of every kind a path names; every route is called
by every caller on a record of the caller's own partner's channel, on one of
another partner's channel and on one of the other vendor, and the answer's
class is compared with the table.  An operation the table lacks (or a table
entry the document lacks, or a served API route the document lacks) fails
the test by name.
"""
import datetime
import itertools
import json
import re
import subprocess
import time
import urllib.parse

import pytest

from conftest import (CTL_TIMEOUT, DEMO, RENEWCTL, RENEWD, REPO, Daemon, api_request, demo_load, renewctl,
                      store_args)
from test_pages_security import wait_mail

try:
    import yaml
except ImportError:  # python3-yaml is in scripts/deps
    pytest.fail("python3-yaml is missing: run scripts/deps", pytrace=False)

TABLE_PATH = REPO / "tests" / "integration" / "authz_table.yaml"
SPEC_PATH = REPO / "docs" / "openapi.yaml"
METHODS = ("get", "put", "post", "delete", "patch")
PASSWORD = "authz-matrix-password"

# The callers, in the order each route is tried (refusals first, so that an
# allowed change cannot stand in the way of a later refusal's check).
ROLES = ["anonymous", "customer-link", "operator", "partner-sales@distributor", "partner-admin@distributor",
         "partner-sales@reseller", "partner-admin@reseller", "vendor-sales", "channel-manager", "vendor-admin"]
GROUPS = {
    "vendor": ["vendor-admin", "channel-manager", "vendor-sales"],
    "partner": ["partner-admin@distributor", "partner-admin@reseller", "partner-sales@distributor",
                "partner-sales@reseller"],
    "partner-admin": ["partner-admin@distributor", "partner-admin@reseller"],
    "partner-sales": ["partner-sales@distributor", "partner-sales@reseller"],
    "distributor": ["partner-admin@distributor", "partner-sales@distributor"],
    "reseller": ["partner-admin@reseller", "partner-sales@reseller"],
}
OUTCOMES = {"allow", "scoped", 400, 401, 403, 404}
PAGE_OUTCOMES = OUTCOMES | {"login", "away"}
DIST, GOLD = 1, 3  # the demo's DIST-NW and its reseller RES-GOLD
UNUSED_ID = 987654


# ---- the table ----------------------------------------------------------------------------------


def load_table():
    with open(TABLE_PATH, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    assert isinstance(doc, dict) and isinstance(doc.get("routes"), dict), f"{TABLE_PATH.name}: no routes"
    return doc


def expectations(doc, key, entry, pages=False):
    """{role: outcome} for one entry; every role must end up with an outcome."""
    exp = dict(doc.get("page_defaults" if pages else "defaults") or {})
    given = entry.get("expect") or {}
    assert isinstance(given, dict) and given, f"{key}: no expect"
    if "all" in given:
        exp = {r: given["all"] for r in ROLES}
    for k, v in given.items():  # groups first, then single roles
        if k in GROUPS:
            exp.update({r: v for r in GROUPS[k]})
    for k, v in given.items():
        if k in GROUPS or k == "all":
            continue
        assert k in ROLES, f"{key}: unknown role {k!r}"
        exp[k] = v
    missing = [r for r in ROLES if r not in exp]
    assert not missing, f"{key}: no outcome for {missing}"
    bad = {r: v for r, v in exp.items() if v not in (PAGE_OUTCOMES if pages else OUTCOMES)}
    assert not bad, f"{key}: unknown outcomes {bad}"
    return exp


def documented():
    with open(SPEC_PATH, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    ops = {}
    for path, item in spec["paths"].items():
        for m, op in item.items():
            if m in METHODS:
                ops[f"{m.upper()} {path}"] = "pages" in (op.get("tags") or [])
    return ops


def served():
    p = subprocess.run([str(RENEWD), "--routes"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p.stderr
    return {line.strip() for line in p.stdout.splitlines() if line.strip()}


def test_the_table_names_every_route_and_only_those():
    """A route in docs/openapi.yaml without an entry (or an entry for no
    route, or a served API route the document lacks) fails here, by name."""
    doc = load_table()
    ops = documented()
    api_ops = {k for k, page in ops.items() if not page}
    page_ops = {k for k, page in ops.items() if page}
    table = set(doc["routes"])
    pages = set(doc.get("pages") or {})
    problems = []
    problems += [f"{k}: in docs/openapi.yaml, not in {TABLE_PATH.name} (routes)" for k in sorted(api_ops - table)]
    problems += [f"{k}: in {TABLE_PATH.name} (routes), not an API operation of docs/openapi.yaml"
                 for k in sorted(table - api_ops)]
    problems += [f"{k}: a page in docs/openapi.yaml, not in {TABLE_PATH.name} (pages)"
                 for k in sorted(page_ops - pages)]
    problems += [f"{k}: in {TABLE_PATH.name} (pages), not a page of docs/openapi.yaml"
                 for k in sorted(pages - page_ops)]
    problems += [f"{k}: served by renewd (--routes), not in docs/openapi.yaml" for k in sorted(served() - set(ops))]
    for section in ("routes", "pages"):
        for key, entry in (doc.get(section) or {}).items():
            try:
                expectations(doc, key, entry, pages=section == "pages")
            except AssertionError as e:
                problems.append(str(e))
    assert not problems, "\n".join(problems)


# ---- the world ----------------------------------------------------------------------------------


def ctl_user(data, slug, email, role, partner=None):
    cmd = [str(RENEWCTL), "--data", str(data)] + store_args(data) + [
        "user", "create", "--vendor", slug, "--email", email, "--role", role, "--password-stdin"]
    if partner:
        cmd += ["--partner", str(partner)]
    p = subprocess.run(cmd, input=PASSWORD + "\n", capture_output=True, text=True, timeout=CTL_TIMEOUT)
    assert p.returncode == 0, f"{cmd}: {p.stderr}"
    return p.stdout.strip()


class World:
    """Two vendors (A = the demo's sentinel, B = rival, loaded from the same
    demo), each with records of every kind; the callers; and for every kind
    a record per variant: own (A, in RES-GOLD's channel: RES-GOLD is
    DIST-NW's reseller, so it is every partner caller's own), otherp (A, in
    RES-SE's channel under DIST-SE), othert (B, an id A does not have)."""

    def __init__(self, d, data, tokens):
        self.d, self.data, self.port = d, data, d.port
        self.tokens = tokens
        self.objects = {}    # kind -> {variant: {param: value}}
        self.factories = {}  # kind -> {variant: callable() -> {param: value}}
        self.b_makers = {}   # kind -> (make a B record, A's path that must answer 404 for it)
        self.requests = 0

    def call(self, method, path, body=None, token=None, who=None, headers=None, status=None):
        if who is not None:
            token = self.tokens[who]
        r = api_request(self.port, method, path, body, token=token, headers=headers, timeout=30.0)
        self.requests += 1
        if status is not None:
            assert r.status == status, f"setup: {method} {path}: expected {status}, got {r.status} {r.body[:300]!r}"
            return r.json() if r.body else None
        return r

    def a(self, method, path, body=None, status=200, **kw):
        return self.call(method, path, body, who="vendor-admin", status=status, **kw)

    def b(self, method, path, body=None, status=200, **kw):
        return self.call(method, path, body, token=self.tokens["B"], status=status, **kw)

    def absent_in_a(self, check, params):
        """check: A's path for the record (it must answer 404), or a function
        of the record telling whether A lacks its id."""
        if callable(check):
            return check(params)
        return self.call("GET", check.format(**params), who="vendor-admin").status == 404

    def refresh_othert(self):
        """A's records grow (a registration makes a customer, a feed an import,
        each test its own): B's records must stay beyond A's ids."""
        for kind, (make, check) in self.b_makers.items():
            if not self.absent_in_a(check, self.objects[kind]["othert"]):
                self.objects[kind]["othert"] = self.b_beyond_a(make, check)

    def b_beyond_a(self, make, check, kind=None):
        """Makes B records until one's id is not an id of A (ids are per vendor)."""
        if kind:
            self.b_makers[kind] = (make, check)
        for _ in range(100):
            params = make()
            if self.absent_in_a(check, params):
                return params
        raise AssertionError(f"setup: no B record beyond A's ids for {kind or check}")


def demo_as(tmp_path, slug, name):
    doc = json.loads(DEMO.read_text())
    doc["vendor"]["slug"], doc["vendor"]["name"] = slug, name
    p = tmp_path / f"demo-{slug}.json"
    p.write_text(json.dumps(doc))
    return p


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("authz")
    data = root / "data"
    data.mkdir()
    demo_load(data)
    renewctl("demo-load", demo_as(root, "rival", "Rival Security Ltd"), data=data, check=True)
    renewctl("vendor", "create", "--name", "Spare Ltd", "--slug", "spare", "--currency", "GBP", data=data, check=True)
    tokens = {
        "vendor-admin": ctl_user(data, "sentinel", "admin@a.example", "vendor-admin"),
        "channel-manager": ctl_user(data, "sentinel", "cm@a.example", "channel-manager"),
        "vendor-sales": ctl_user(data, "sentinel", "vs@a.example", "vendor-sales"),
        "partner-admin@distributor": ctl_user(data, "sentinel", "pa-d@a.example", "partner-admin", DIST),
        "partner-sales@distributor": ctl_user(data, "sentinel", "ps-d@a.example", "partner-sales", DIST),
        "partner-admin@reseller": ctl_user(data, "sentinel", "pa-r@a.example", "partner-admin", GOLD),
        "partner-sales@reseller": ctl_user(data, "sentinel", "ps-r@a.example", "partner-sales", GOLD),
        "victim": ctl_user(data, "sentinel", "victim@a.example", "partner-sales", GOLD),
        "B": ctl_user(data, "rival", "admin@b.example", "vendor-admin"),
    }
    p = renewctl("operator", "token", "create", "--name", "matrix", data=data, check=True)
    tokens["operator"] = p.stdout.strip()
    tokens["anonymous"] = None
    config = root / "renewd.json"
    config.write_text(json.dumps({"data": str(data), "test_clock": 1, "outbound_hosts": "127.0.0.1:9",
                                  "sched_interval_ms": 3600000}))
    d = Daemon(data, ["--config", str(config)], root / "renewd.log")
    try:
        d.wait_ready()
        w = World(d, data, tokens)
        build_world(w)
        yield w
        assert d.running(), f"renewd died:\n{d.log()}"
        d.stop()
    finally:
        d.close()


def build_world(w):
    today = datetime.date.fromisoformat(w.a("GET", "/api/v1/clock")["today"])
    soon = (today + datetime.timedelta(days=20)).isoformat()
    start = (today - datetime.timedelta(days=345)).isoformat()
    O = w.objects

    # A: a second channel (DIST-SE and its reseller RES-SE) with a customer and
    # a contract of its own; B: records beyond A's ids.
    dse = w.a("POST", "/api/v1/partners", {"external_id": "DIST-SE", "name": "Southern Distribution",
                                           "kind": "distributor", "tier": "gold"}, status=201)["id"]
    rse = w.a("POST", "/api/v1/partners", {"external_id": "RES-SE", "name": "Seaside Resellers", "kind": "reseller",
                                           "tier": "silver", "parent_id": dse}, status=201)["id"]
    cse = w.a("POST", "/api/v1/customers", {"external_id": "CUST-SE", "name": "Seaside Dental", "country": "GB",
                                            "email": "it@seaside.example"}, status=201)["id"]
    contracts = {k["external_id"]: k for k in w.a("GET", "/api/v1/contracts?limit=500")["items"]}
    own_k = contracts["K-20003"]  # RES-GOLD's, customer CUST-1002 (RES-GOLD's alone)
    own_c = own_k["customer_id"]
    kse = w.a("POST", "/api/v1/contracts", {"external_id": "K-SE", "customer_id": cse, "product_id": 1,
                                            "reseller_id": rse, "quantity": 5, "start": start, "end": soon},
              status=201)["id"]
    n = itertools.count(1)

    def b_partner():
        i = next(n)
        return {"id": w.b("POST", "/api/v1/partners", {"external_id": f"BP-{i}", "name": f"B partner {i}",
                                                        "kind": "reseller", "tier": "gold"}, status=201)["id"]}

    O["partner"] = {"own": {"id": GOLD}, "otherp": {"id": rse},
                    "othert": w.b_beyond_a(b_partner, "/api/v1/partners/{id}", "partner")}
    bp = O["partner"]["othert"]["id"]

    def b_customer():
        i = next(n)
        return {"id": w.b("POST", "/api/v1/customers", {"external_id": f"BC-{i}", "name": f"B customer {i}",
                                                         "email": f"bc{i}@b.example"},
                          status=201)["id"]}

    O["customer"] = {"own": {"id": own_c}, "otherp": {"id": cse},
                     "othert": w.b_beyond_a(b_customer, "/api/v1/customers/{id}", "customer")}
    bc = O["customer"]["othert"]["id"]

    def b_product():
        i = next(n)
        return {"id": w.b("POST", "/api/v1/products", {"sku": f"B-SKU-{i}", "name": f"B product {i}",
                                                        "line": "B line"}, status=201)["id"]}

    O["product"] = {"own": {"id": 1}, "othert": w.b_beyond_a(b_product, "/api/v1/products/{id}", "product")}

    def contract_in(call, customer, reseller, product=1):
        i = next(n)
        return {"id": call("POST", "/api/v1/contracts", {"external_id": f"KM-{i}", "customer_id": customer,
                                                          "product_id": product, "reseller_id": reseller,
                                                          "quantity": 1, "start": start, "end": soon},
                           status=201)["id"]}

    O["contract"] = {"own": {"id": own_k["id"]}, "otherp": {"id": kse},
                     "othert": w.b_beyond_a(lambda: contract_in(w.b, bc, bp, 1), "/api/v1/contracts/{id}",
                                            "contract")}
    bk = O["contract"]["othert"]["id"]
    w.factories["contract"] = {"own": lambda: contract_in(w.a, own_c, GOLD),
                               "otherp": lambda: contract_in(w.a, cse, rse),
                               "othert": lambda: w.b_beyond_a(lambda: contract_in(w.b, bc, bp, 1),
                                                              "/api/v1/contracts/{id}")}

    def contact_in(call, customer):
        i = next(n)
        return {"id": call("POST", "/api/v1/contacts", {"customer_id": customer, "name": f"Contact {i}",
                                                         "email": f"c{i}@contact.example"}, status=201)["id"]}

    w.factories["contact"] = {"own": lambda: contact_in(w.a, own_c), "otherp": lambda: contact_in(w.a, cse),
                              "othert": lambda: w.b_beyond_a(lambda: contact_in(w.b, bc), "/api/v1/contacts/{id}",
                                                             "contact")}
    O["contact"] = {v: f() for v, f in w.factories["contact"].items()}

    def user_in(call, partner):
        i = next(n)
        body = {"email": f"u{i}@users.example", "name": f"User {i}", "role": "partner-sales", "password": PASSWORD}
        if partner:
            body["partner_id"] = partner
        return {"id": call("POST", "/api/v1/users", body, status=201)["id"]}

    w.factories["user"] = {"own": lambda: user_in(w.a, GOLD), "otherp": lambda: user_in(w.a, rse),
                           "othert": lambda: w.b_beyond_a(lambda: user_in(w.b, bp), "/api/v1/users/{id}", "user")}
    O["user"] = {v: f() for v, f in w.factories["user"].items()}

    def token_of(token, check_b=False):
        def make():
            r = w.call("POST", "/api/v1/tokens", {"name": f"t{next(n)}"}, token=token, status=201)
            return {"id": r["id"]}
        if not check_b:
            return make()
        mine = {t["id"] for t in w.a("GET", "/api/v1/tokens?limit=500")["items"]}
        for _ in range(60):
            t = make()
            if t["id"] not in mine:
                return t
        raise AssertionError("setup: no B token id beyond A's")

    w.factories["token"] = {"own": lambda: token_of(w.tokens["victim"]),
                            "othert": lambda: token_of(w.tokens["B"], check_b=True)}

    # Vendors for the operator: the spare one (suspending it stands in no one's way).
    spare = next(v for v in w.call("GET", "/api/v1/operator/vendors", who="operator", status=200)["items"]
                 if v["slug"] == "spare")
    O["vendor"] = {"own": {"id": spare["id"]}}

    # Plugins and enablements; policies.
    O["plugin"] = {"own": {"name": "payment-po", "plugin": "payment-card"}}
    for call in (w.a, w.b):
        call("POST", "/api/v1/plugins/payment-po/enablements", {"config": {}}, status=201)

    def enablement(call):
        r = call("POST", "/api/v1/plugins/payment-bml/enablements", {"config": {"terms_days": 30}}, status=None)
        assert r.status in (200, 201), r
        return {"name": "payment-bml", "id": r.json()["id"]}

    def b_enablement():
        mine = {e["id"] for e in w.a("GET", "/api/v1/plugins/payment-po/enablements")["items"]}
        mine |= {e["id"] for e in w.a("GET", "/api/v1/plugins/payment-bml/enablements")["items"]}
        for _ in range(60):
            e = enablement(w.b)
            if e["id"] not in mine:
                return e
            w.b("DELETE", f"/api/v1/plugins/payment-bml/enablements/{e['id']}", status=204)
        raise AssertionError("setup: no B enablement id beyond A's")

    w.factories["enablement"] = {"own": lambda: enablement(w.a), "othert": b_enablement}
    margin = w.a("GET", "/api/v1/policies")["margin"]
    assert margin["active"], margin
    O["policy"] = {"own": {"kind": "margin", "version": margin["active"]}}
    O["policy_kind"] = {"own": {"kind": "margin"}}

    # Imports.
    def dry_import(call):
        r = call("POST", "/api/v1/imports?kind=customers&format=jsonl&dry_run=true",
                 b'{"external_id": "IMP-1", "name": "Imported Ltd"}\n', status=202)
        return {"id": r["id"]}

    dry_import(w.a)
    O["import"] = {"own": dry_import(w.a),
                   "othert": w.b_beyond_a(lambda: dry_import(w.b), "/api/v1/imports/{id}", "import")}

    # Webhook subscriptions (the own one is RES-GOLD's inbound endpoint too).
    def sub(call, partner=None):
        body = {"url": "http://127.0.0.1:9/hook", "events": ["*"]}
        if partner:
            body["partner_id"] = partner
        return {"id": call("POST", "/api/v1/webhooks/subscriptions", body, status=201)["id"]}

    w.factories["webhook"] = {"own": lambda: sub(w.a, GOLD),
                              "othert": lambda: w.b_beyond_a(lambda: sub(w.b, bp),
                                                             "/api/v1/webhooks/subscriptions/{id}", "webhook")}
    O["webhook"] = {v: f() for v, f in w.factories["webhook"].items()}

    # Documents.
    def doc_on(call, contract):
        return {"id": call("POST", f"/api/v1/contracts/{contract}/documents?name=matrix.pdf", b"%PDF-1.4\n%%EOF\n",
                           headers={"Content-Type": "application/pdf"}, status=201)["id"]}

    w.factories["document"] = {"own": lambda: doc_on(w.a, own_k["id"]), "otherp": lambda: doc_on(w.a, kse),
                               "othert": lambda: w.b_beyond_a(lambda: doc_on(w.b, bk), "/api/v1/documents/{id}",
                                                              "document")}
    O["document"] = {v: f() for v, f in w.factories["document"].items()}

    # Opportunities: a day on, the sweep quotes K-SE and B's new contracts too.
    w.a("POST", "/api/v1/clock", {"date": (today + datetime.timedelta(days=1)).isoformat()})
    opps_a = w.a("GET", "/api/v1/opportunities?limit=500")["items"]
    opps_b = w.b("GET", "/api/v1/opportunities?limit=500")["items"]
    by_k = {o["contract_id"]: o for o in opps_a}
    ids_a = {o["id"] for o in opps_a}
    own_o = by_k[own_k["id"]]
    gold2 = by_k[contracts["K-20002"]["id"]]
    se_o = by_k[kse]
    b_top = max((o for o in opps_b if o["id"] not in ids_a), key=lambda o: o["id"], default=None)
    assert b_top, f"setup: B has no opportunity beyond A's ({len(opps_a)} in A, {len(opps_b)} in B)"
    O["opportunity"] = {"own": {"id": own_o["id"]}, "otherp": {"id": se_o["id"]}, "othert": {"id": b_top["id"]}}

    # Decisions send the customers their links: the customer-link caller's
    # (own_o), a link to revoke per channel, and B's.
    def decide(call, o):
        r = call("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"})
        assert r["state"] == "published_vendor", r

    def link_of(call, o):
        items = call("GET", f"/api/v1/opportunities/{o['id']}/links")["items"]
        assert items, f"setup: no link for opportunity {o['id']}"
        return items[-1]["id"]

    def secret(o):
        m = re.search(r"/c/(rd_[A-Za-z0-9_-]{43})", wait_mail(w.data, f"notice:{o['id']}"))
        assert m, o
        return m.group(1)

    for o in (own_o, gold2, se_o):
        decide(w.a, o)
    b_opps = sorted((o for o in opps_b if o["state"] == "pending_decision"), key=lambda o: -o["id"])[:4]
    assert len(b_opps) == 4 and b_opps[0]["id"] not in ids_a, "setup: no undecided B opportunity beyond A's"
    b_o = b_opps[0]
    for o in b_opps:
        decide(w.b, o)
    # A day on: every vendor's notices are out.
    w.a("POST", "/api/v1/clock", {"date": (today + datetime.timedelta(days=2)).isoformat()})
    link_secret, se_secret, b_secret = secret(own_o), secret(se_o), secret(b_o)
    w.tokens["customer-link"] = link_secret
    links_a = set()
    for o in opps_a:
        links_a |= {x["id"] for x in w.a("GET", f"/api/v1/opportunities/{o['id']}/links")["items"]}
    l_b = link_of(w.b, b_o)
    assert l_b not in links_a, "setup: no B link beyond A's"
    O["link"] = {"own": {"id": link_of(w.a, gold2)}, "otherp": {"id": link_of(w.a, se_o)}, "othert": {"id": l_b}}

    # Orders (purchase order) on the decided quotes.
    def order(call, o, key):
        r = call("POST", "/api/v1/orders", {"opportunity_id": o, "payment_option": "purchase_order",
                                            "po_number": f"PO-{key}"}, headers={"Idempotency-Key": f"matrix-{key}"},
                 status=201)
        return {"id": r["id"]}

    O["order"] = {"own": order(w.a, gold2["id"], "own"), "otherp": order(w.a, se_o["id"], "se"),
                  "othert": w.b_beyond_a(lambda: order(w.b, b_opps.pop()["id"], f"b{next(n)}"), "/api/v1/orders/{id}")}

    # Tasks: each customer asks its reseller through its link.
    def task(secret):
        r = api_request(w.port, "POST", "/api/v1/portal/actions", {"action": "contact_reseller"}, token=secret)
        assert r.status == 201, r
        return {"id": r.json()["task_id"]}

    O["task"] = {"own": task(link_secret)}
    O["task"]["otherp"] = task(se_secret)
    tasks_a = {t["id"] for t in w.a("GET", "/api/v1/tasks?limit=500")["items"]}
    for _ in range(60):
        O["task"]["othert"] = task(b_secret)
        if O["task"]["othert"]["id"] not in tasks_a:
            break
    assert O["task"]["othert"]["id"] not in tasks_a, "setup: no B task id beyond A's"

    # Deals: RES-GOLD registers its own; the vendor registers one for RES-SE.
    def deal(call, partner=None, who=None):
        i = next(n)
        body = {"customer": {"name": f"Deal customer {i}", "country": "GB"}, "products": [1], "seats": 5,
                "expected_value": 1000, "close_date": (today + datetime.timedelta(days=40)).isoformat()}
        if partner:
            body["partner_id"] = partner
        if who:
            return {"id": w.call("POST", "/api/v1/deals", body, who=who, status=201)["id"]}
        return {"id": call("POST", "/api/v1/deals", body, status=201)["id"]}

    O["deal"] = {"own": deal(None, who="partner-admin@reseller"), "otherp": deal(w.a, rse),
                 "othert": w.b_beyond_a(lambda: deal(w.b, bp), "/api/v1/deals/{id}", "deal")}

    # Leads: one offered to RES-GOLD, one to RES-SE (routing by region), one of B.
    for pid, region in ((GOLD, "GB north"), (rse, "GB south")):
        w.a("PATCH", f"/api/v1/partners/{pid}", {"lead_regions": region, "lead_products": "WSG-STD",
                                                   "lead_weight": 1})

    def lead(call, region, route=True):
        i = next(n)
        lid = call("POST", "/api/v1/leads", {"company": f"Lead {i} Ltd", "contact_name": "Ann Buyer",
                                             "email": "ann@lead.example", "country": "GB"}, status=201)["id"]
        call("POST", f"/api/v1/leads/{lid}/qualify", {"product": "WSG-STD", "region": region,
                                                      "company_size": "enterprise", "situation": "renewing",
                                                      "time_frame": "this quarter"})
        if route:
            call("POST", f"/api/v1/leads/{lid}/route")
        return {"id": lid}

    O["lead"] = {"own": lead(w.a, "north"), "otherp": lead(w.a, "south"),
                 "othert": w.b_beyond_a(lambda: lead(w.b, "north", route=False), "/api/v1/leads/{id}", "lead")}
    for v, want in (("own", GOLD), ("otherp", rse)):
        got = w.a("GET", f"/api/v1/leads/{O['lead'][v]['id']}")
        assert got["state"] == "assigned" and got.get("partner_id") in (None, want), got

    # Feeds: RES-GOLD's own, RES-SE's and one of B's partner.
    def feed(who=None, token=None):
        r = w.call("POST", "/api/v1/feeds?format=csv", b"external_id\n", who=who, token=token,
                   headers={"Content-Type": "text/csv"})
        assert r.status == 202, r
        return {"id": r.json()["id"]}

    # RES-SE's and B's partner admins are made by renewctl beside the daemon.
    se_admin = ctl_user(w.data, "sentinel", "pa-se@a.example", "partner-admin", rse)
    b_partner_admin = ctl_user(w.data, "rival", "pa-b@b.example", "partner-admin", bp)
    O["feed"] = {"own": feed(who="partner-admin@reseller"), "otherp": feed(token=se_admin),
                 "othert": w.b_beyond_a(lambda: feed(token=b_partner_admin), "/api/v1/feeds/{id}", "feed")}
    O["none"] = {"own": {"id": UNUSED_ID}}

    # Outbox messages and webhook deliveries: A's newest, and one of B's whose
    # id A does not have.
    def ids(call, path):
        out, cursor = [], None
        for _ in range(1000):
            page = call("GET", path + (f"&cursor={cursor}" if cursor else ""))
            out += [x["id"] for x in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                return out
        raise AssertionError(f"setup: {path}: the cursor never ended")

    def newest_of_b(path):
        """B's newest record, after B registers a deal for its demo reseller
        (acknowledged by e-mail, and an event for B's subscription)."""
        def make():
            deal(w.b, GOLD)
            return {"id": max(ids(w.b, path))}
        return make

    for kind, path in (("message", "/api/v1/outbox?limit=200"),
                       ("delivery", "/api/v1/webhooks/deliveries?limit=200")):
        def lacks(params, path=path):
            return params["id"] not in ids(w.a, path)
        O[kind] = {"own": {"id": max(ids(w.a, path))}, "othert": w.b_beyond_a(newest_of_b(path), lacks, kind)}
    w.refresh_othert()
    w.setup_requests = w.requests


# ---- the run ------------------------------------------------------------------------------------


def fill(path, params):
    def sub(m):
        name = m.group(1)
        assert name in params, f"{path}: no value for {{{name}}} in {params}"
        return urllib.parse.quote(str(params[name]), safe="")
    return re.sub(r"\{([^}]+)\}", sub, path)


def outcome_class(status):
    if status >= 500:
        return f"{status} (server error)"
    if status in (401, 403, 404):
        return status
    return "allow"


def expected_for(outcome, variant, entry):
    """What the answer must be: 'allow' or a status."""
    allowed = entry.get("allowed_status", "allow")
    variant = variant or "own"
    if outcome == 403 and variant != "own":
        return (403, 404)  # a role without the action, on a record it cannot see: either refusal tells nothing
    if outcome == "allow":
        return 404 if variant in ("othert", "none") and not entry.get("every_tenant") else allowed
    if outcome == "scoped":
        return allowed if variant == "own" else 404
    return outcome


def body_of(entry):
    if "raw" in entry:
        return entry["raw"].encode(), {"Content-Type": entry.get("content_type", "application/octet-stream")}
    if "body" in entry:
        return json.dumps(entry["body"]).encode(), {"Content-Type": "application/json"}
    return None, {}


def cases(doc, w):
    """(phase, key, role, variant) in the order they run: every other
    vendor's record first (before A's own ids move on), then the reads, then
    the writes."""
    out = []
    for key, entry in doc["routes"].items():
        method = key.split(" ", 1)[0]
        kind = entry.get("object")
        variants = [None] if kind is None else (["none"] if kind == "none" else list(
            w.factories.get(kind) or w.objects[kind]))
        for variant in variants:
            phase = 0 if variant == "othert" else 1 if method == "GET" else 2
            for role in ROLES:
                out.append((phase, key, role, variant))
    out.sort(key=lambda c: c[0])
    return out


def test_every_route_every_caller_every_record(world):
    w = world
    doc = load_table()
    t0 = time.monotonic()
    findings, made = [], 0
    exps = {key: expectations(doc, key, entry) for key, entry in doc["routes"].items()}
    for phase, key, role, variant in cases(doc, w):
        entry = doc["routes"][key]
        method, path = key.split(" ", 1)
        kind = entry.get("object")
        params = {}
        if variant == "none":
            params = {"id": UNUSED_ID}
        elif variant is not None:
            fresh = entry.get("fresh") and kind in w.factories
            params = w.factories[kind][variant]() if fresh else w.objects[kind][variant]
        url = fill(path, params)
        if entry.get("query"):
            url += "?" + entry["query"]
        body, headers = body_of(entry)
        headers.update(entry.get("headers") or {})
        r = api_request(w.port, method, url, body, token=w.tokens[role], headers=headers, timeout=30.0)
        made += 1
        want = expected_for(exps[key][role], variant, entry)
        got = outcome_class(r.status)
        if not (got == want or r.status == want or (isinstance(want, tuple) and r.status in want)):
            findings.append(f"{key} as {role} on {variant or '-'} ({url}): expected {want}, got {r.status} "
                            f"{r.body[:160]!r}")
            continue
        # A caller refused by role is refused whatever the body: the same
        # answer for an empty one (the body is not read before the refusal).
        if exps[key][role] in (401, 403) and body is not None and variant in (None, "own"):
            r2 = api_request(w.port, method, url, b"{}", token=w.tokens[role],
                             headers={**headers, "Content-Type": "application/json"}, timeout=30.0)
            made += 1
            if r2.status != r.status:
                findings.append(f"{key} as {role} with an empty body: {r2.status} {r2.body[:160]!r}, "
                                f"not the refusal {r.status}")
        # A scoped list holds the caller's scope's rows only.
        if exps[key][role] == "scoped" and entry.get("lists") and r.status == 200:
            other = w.objects[entry["lists"]].get("otherp", {}).get("id")
            ids = [x.get("id") for x in r.json().get("items", [])]
            if other in ids:
                findings.append(f"{key} as {role}: lists another partner's {entry['lists']} {other}")
    took = time.monotonic() - t0
    print(f"\nauthorisation matrix: {len(doc['routes'])} routes x {len(ROLES)} callers, {made} requests "
          f"(+{w.setup_requests} to set up) in {took:.1f} s, {len(findings)} findings")
    assert not findings, f"{len(findings)} answers differ from {TABLE_PATH.name}:\n" + "\n".join(findings)


# ---- pages ------------------------------------------------------------------------------------

EMAILS = {"vendor-admin": "admin@a.example", "channel-manager": "cm@a.example", "vendor-sales": "vs@a.example",
          "partner-admin@distributor": "pa-d@a.example", "partner-sales@distributor": "ps-d@a.example",
          "partner-admin@reseller": "pa-r@a.example", "partner-sales@reseller": "ps-r@a.example"}


CSRF_RE = re.compile(r'name="csrf" value="([0-9a-f]{64})"')
HOME = {"vendor": "/vendor", "partner": "/partner", "customer-link": "/portal"}


def side(path):
    return "/" + path.split("/")[1].split("?")[0]


def page_class(r, path):
    """allow, login, away (sent to the other side), or the status."""
    if r.status == 303:
        where = r.headers.get("location", "")
        if where.startswith("/login"):
            return "login"
        return "allow" if side(where) == side(path) or r.request_method == "POST" and side(where) in (
            "/portal", "/sales") and side(path) in ("/portal", "/sales") else "away"
    if r.status in (401, 403, 404) or r.status >= 500:
        return r.status
    return "allow"


def cookies_of(r, jar):
    for v in r.headers.get_all("set-cookie") or []:
        name, _, rest = v.partition("=")
        jar[name] = rest.split(";", 1)[0]
    return jar


def multipart(fields, files):
    boundary = "authzmatrixboundary"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n' for k, v in fields.items()]
    parts += [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{name}"\r\n'
              f'Content-Type: {ctype}\r\n\r\n{data}\r\n' for k, (name, ctype, data) in files.items()]
    return ("".join(parts) + f"--{boundary}--\r\n").encode(), f"multipart/form-data; boundary={boundary}"


def test_every_page_every_caller_every_record(world):
    """Every page by every caller on every record variant; the forms (POST)
    with the session's CSRF token (and a harmless form where the table gives
    one)."""
    w = world
    doc = load_table()
    t0 = time.monotonic()
    jars = {}
    for role, email in EMAILS.items():
        r = api_request(w.port, "POST", "/login", urllib.parse.urlencode(
            {"vendor": "sentinel", "email": email, "password": PASSWORD}),
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status == 303 and not r.headers["location"].startswith("/login"), (role, r)
        jars[role] = cookies_of(r, {})
    r = api_request(w.port, "GET", f"/c/{w.tokens['customer-link']}")
    assert r.status == 303 and r.headers["location"] == "/portal", r
    jars["customer-link"] = cookies_of(r, {})
    jars["operator"] = jars["anonymous"] = {}
    csrf = {}
    for role, jar in jars.items():
        if jar:
            home = HOME["customer-link"] if role == "customer-link" else HOME[
                "vendor" if role in GROUPS["vendor"] else "partner"]
            page = api_request(w.port, "GET", home, headers={"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())})
            m = CSRF_RE.search(page.body.decode("utf-8", "replace"))
            assert m, (role, home, page)
            csrf[role] = m.group(1)
    O = dict(w.objects)
    O["link_secret"] = {"own": {"token": w.tokens["customer-link"]}}
    O["static"] = {"own": {"name": "site.css", "pack": "branding-default"}}
    O["lead_form"] = {"own": {"vendor": "sentinel"}}
    for kind, makers in w.factories.items():
        if kind not in O:
            O[kind] = {v: make() for v, make in makers.items()}
    w.refresh_othert()
    findings, made = [], 0
    for key, entry in doc["pages"].items():
        method, path = key.split(" ", 1)
        exp = expectations(doc, key, entry, pages=True)
        kind = entry.get("object")
        variants = [None] if kind is None else ["none"] if kind == "none" else list(O[kind])
        roles = ROLES if method == "GET" or entry.get("sessions", True) else ["anonymous", "operator"]
        for variant in variants:
            params = {"id": UNUSED_ID} if variant == "none" else O[kind][variant] if variant else {}
            url = fill(path, params)
            for role in roles:
                h = {"Cookie": "; ".join(f"{k}={v}" for k, v in jars[role].items())} if jars[role] else {}
                body = None
                if method == "POST":
                    form = dict(entry.get("form") or {})
                    if role in csrf:
                        form["csrf"] = csrf[role]
                    if entry.get("multipart"):
                        body, h["Content-Type"] = multipart(form, entry["multipart"])
                    else:
                        body, h["Content-Type"] = urllib.parse.urlencode(form), "application/x-www-form-urlencoded"
                r = api_request(w.port, method, url, body, headers=h, timeout=30.0)
                r.request_method = method
                made += 1
                want = expected_for(exp[role], variant, entry)
                if want == "allow" and entry.get("allowed_class"):
                    want = entry["allowed_class"]
                got = page_class(r, path)
                if not (got == want or (isinstance(want, tuple) and got in want)):
                    findings.append(f"{key} as {role} on {variant or '-'} ({url}): expected {want}, got {r.status} "
                                    f"{r.headers.get('location') or r.body[:100]!r}")
    took = time.monotonic() - t0
    print(f"\nauthorisation over the pages: {len(doc['pages'])} pages x {len(ROLES)} callers, {made} requests "
          f"in {took:.1f} s, {len(findings)} findings")
    assert not findings, f"{len(findings)} answers differ from {TABLE_PATH.name} (pages):\n" + "\n".join(findings)
