"""Vendors' Lua policies (core/api/policies.c, core/policy/runtime.c,
core/cli/policy.c) against a real daemon and renewctl:

  * every vendor starts with margin v1 and routing v1, the shipped defaults;
  * uploads are compiled and vector-tested on the thread pool: 201 when
    stored (ready, not active), 422 policy_error / vectors_failed otherwise,
    400 for malformed bodies, 404 for unknown kinds and versions;
  * hostile scripts (endless loops, memory bombs) are refused within their
    budget and never stall the daemon;
  * dry runs report what a version would change on the live contracts
    (checked here against an independent model of the demo data) and write
    nothing; activation and roll back, each audited;
  * who may do what (vendor-admin, channel-manager, partner-sales, another
    vendor);
  * the vendor settings policies read or are limited by;
  * `renewctl policy list|push|show|dry-run|activate` (renewd stopped while
    it writes).

The module builds one stopped store (the demo vendor "sentinel" plus a second
vendor "othervendor" made by `renewctl vendor create`, and one user per role
needed); every test works on its own copy with its own daemon, which is
stopped at teardown with a clean-exit check (under ASan: no leak report).
"""
import json
import re
import threading
import time

import pytest

from conftest import (REPO, ApiClient, api_user, assert_json_error, copy_store, demo_load, http_request,
                      raw_connect, renewctl)

SCRIPTS = REPO / "scripts" / "policies"
EXAMPLE = REPO / "examples" / "policies" / "margin-acme.lua"
EXAMPLE_VECTORS = REPO / "examples" / "policies" / "margin-acme.vectors.json"

DEFAULT_SHARES = {"partner": {"platinum": 3300, "gold": 2500, "silver": 2000},
                  "vendor": {"platinum": 2000, "gold": 2000, "silver": 1500}}
# Every reseller share raised (platinum 4000).
RAISED_SHARES = {"partner": {"platinum": 4000, "gold": 3000, "silver": 2500},
                 "vendor": {"platinum": 4000, "gold": 3000, "silver": 2500}}
# Platinum up, gold as before, silver down.
MIXED_SHARES = {"partner": {"platinum": 3300, "gold": 2500, "silver": 2000},
                "vendor": {"platinum": 2600, "gold": 2000, "silver": 1000}}

ROLE_USERS = {
    "admin": ("admin@sentinel.example", "vendor-admin", None, "sentinel"),
    "cm": ("cm@sentinel.example", "channel-manager", None, "sentinel"),
    "psales": ("psales@sentinel.example", "partner-sales", 3, "sentinel"),
    "other": ("admin@othervendor.example", "vendor-admin", None, "othervendor"),
}


# ---- the margin model: Lua policies and the same arithmetic in Python --------------------------


def margin_lua(shares, bonus_always=False, fail_tier=None):
    """A margin policy shaped like scripts/policies/margin.lua with its own
    share table.  bonus_always: the vendor's deal bonus is added on every
    line (not only won deal registrations); fail_tier: the script raises an
    error on that tier (line 12 of the script)."""
    def table(t):
        return "{ " + ", ".join(f"{k} = {v}" for k, v in t.items()) + " }"
    return "\n".join([
        "-- test policy",                                                     # 1
        "local shares = {",                                                   # 2
        f"  partner = {table(shares['partner'])},",                          # 3
        f"  vendor  = {table(shares['vendor'])},",                           # 4
        "}",                                                                  # 5
        "",                                                                   # 6
        "function margin(line)",                                              # 7
        "  local mode, tier = line.publish, line.partner.tier",               # 8
        "  local bp = shares[mode] and shares[mode][tier]",                   # 9
        "  if not bp then return \"reseller\", 0, \"no channel margin\" end",  # 10
        f"  if tier == {json.dumps(fail_tier) if fail_tier else 'nil'} then",  # 11
        "    error(\"no programme for \" .. tier)",                           # 12
        "  end",                                                              # 13
        "  local reason = tier .. \" tier, \" .. mode .. \"-published\"",     # 14
        f"  if line.deal == \"won\" or {'true' if bonus_always else 'false'} then",
        "    bp = bp + line.vendor.deal_bonus_bp",
        "    reason = reason .. \", bonus\"",
        "  end",
        "  local party = line.partner.kind == \"distributor\" and \"distributor\" or \"reseller\"",
        "  if line.distributor and party == \"reseller\" then",
        "    return party, bp, reason, \"distributor\", line.vendor.distributor_bp, \"distributor of record\"",
        "  end",
        "  return party, bp, reason",
        "end",
        "",
    ])


def model_shares(shares, line, bonus_always=False):
    """What margin_lua(shares, bonus_always) returns for a line: {party: bp}."""
    bp = shares.get(line["publish"], {}).get(line["tier"])
    if bp is None:
        return {"reseller": 0}
    if line["deal"] == "won" or bonus_always:
        bp += line["deal_bonus_bp"]
    party = "distributor" if line["kind"] == "distributor" else "reseller"
    if line["distributor"] and party == "reseller":
        return {party: bp, "distributor": line["distributor_bp"]}
    return {party: bp}


def vector_line(tier, publish="vendor", deal="none", distributor=None, kind="reseller", bonus=500, dist_bp=300):
    line = {"partner": {"id": 3, "kind": kind, "tier": tier}, "publish": publish, "deal": deal,
            "product": {"sku": "WSG-STD", "line": "Web Security", "term": "annual"}, "quantity": 25,
            "list": {"amount": 90000, "currency": "GBP"}, "customer": {"segment": "smb", "country": "GB"},
            "vendor": {"deal_bonus_bp": bonus, "distributor_bp": dist_bp}}
    if distributor:
        line["distributor"] = distributor
    return line


def model_vectors(shares, bonus_always=False, tiers=("platinum", "gold", "silver"), bonus=500):
    """Vectors for margin_lua(shares, ...), their expectations from the model."""
    out = []
    for tier in tiers:
        for publish in ("partner", "vendor"):
            for deal in ("none", "won"):
                for dist in (None, 1):
                    line = vector_line(tier, publish, deal, dist, bonus=bonus)
                    m = model_shares(shares, {"publish": publish, "tier": tier, "deal": deal, "kind": "reseller",
                                              "distributor": dist, "deal_bonus_bp": bonus, "distributor_bp": 300},
                                     bonus_always)
                    out.append({"name": f"{tier} {publish}-published, deal {deal}" + (", distributor" if dist else ""),
                                "line": line, "expect": [[p, bp] for p, bp in m.items()]})
    return out


def cdiv(a, b):
    """C's integer division (truncates toward zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def live_lines(c):
    """The demo store's live, priced contracts as the dry run sees them."""
    vendor = c.get("/api/v1/vendor")
    products = {p["id"]: p for p in c.items("/api/v1/products")}
    partners = {p["id"]: p for p in c.items("/api/v1/partners")}
    lines = []
    for k in c.items("/api/v1/contracts"):
        if k["status"] != "live":
            continue
        prices = [p["amount"] for p in products[k["product_id"]]["prices"]
                  if p["term"] == k["term"] and p["currency"] == k["currency"]]
        if not prices:
            continue
        reseller = partners[k["reseller_id"]]
        lines.append({"contract": k["id"], "currency": k["currency"], "list": prices[-1] * k["quantity"],
                      "reseller": k["reseller_id"], "distributor": k["distributor_id"] or 0,
                      "publish": vendor["publish_default"], "tier": reseller["tier"], "kind": reseller["kind"],
                      "deal": "none", "deal_bonus_bp": vendor["deal_bonus_bp"],
                      "distributor_bp": vendor["distributor_bp"]})
    return lines


MODES = ("vendor", "partner")


def expected_dry_run(lines, before, after, before_bonus=False, after_bonus=False):
    """Every line priced in both publish modes: (lines_changed (a contract
    counts once, whichever modes change), per_partner {(partner, currency,
    mode): (before, after)} for the partners whose payout changes,
    {(contract, mode): (delta, before, after)})."""
    changed, totals, changes = 0, {}, {}
    for ln in lines:
        any_mode = False
        for mode in MODES:
            m = dict(ln, publish=mode)
            b, a = model_shares(before, m, before_bonus), model_shares(after, m, after_bonus)
            for party, partner in (("reseller", ln["reseller"]), ("distributor", ln["distributor"])):
                if partner:
                    t = totals.setdefault((partner, ln["currency"], mode), [0, 0])
                    t[0] += cdiv(ln["list"] * b.get(party, 0), 10000)
                    t[1] += cdiv(ln["list"] * a.get(party, 0), 10000)
            pay_b, pay_a = cdiv(ln["list"] * sum(b.values()), 10000), cdiv(ln["list"] * sum(a.values()), 10000)
            if b == a and pay_b == pay_a:
                continue
            any_mode = True
            changes[(ln["contract"], mode)] = (pay_a - pay_b, b, a)
        changed += any_mode
    per_partner = {k: (b, a) for k, (b, a) in totals.items() if a != b}
    return changed, per_partner, changes


def check_report(report, lines, before, after, version, compared_with=1, **bonus):
    """Checks the report against the model; returns {(partner, currency,
    mode): delta}."""
    changed, per_partner, changes = expected_dry_run(lines, before, after, **bonus)
    assert report["kind"] == "margin" and report["version"] == version, report
    assert report["compared_with"] == compared_with, report
    assert report["lines"] == len(lines), (report["lines"], len(lines))
    assert report["lines_changed"] == changed, report
    assert report["lines_failed"] == 0 and report["errors"] == [], report
    got = {(p["partner_id"], p["currency"], p["publish"]): (p["before"], p["after"]) for p in report["per_partner"]}
    assert got == per_partner, (got, per_partner)
    assert all(p["delta"] == p["after"] - p["before"] for p in report["per_partner"]), report["per_partner"]
    ids = [p["partner_id"] for p in report["per_partner"]]
    assert ids == sorted(ids), ids
    largest = report["largest_changes"]
    assert len(largest) == min(10, len(changes)), largest
    deltas = [abs(x["delta"]) for x in largest]
    assert deltas == sorted(deltas, reverse=True), deltas
    # The ten largest |deltas| of the model (ties may come in any order).
    assert deltas == sorted((abs(d) for d, _, _ in changes.values()), reverse=True)[:len(largest)]
    for x in largest:
        delta, b, a = changes[(x["contract_id"], x["publish"])]
        assert x["delta"] == delta, x
        assert {s["party"]: s["bp"] for s in x["before"]} == b, x
        assert {s["party"]: s["bp"] for s in x["after"]} == a, x
        assert all(isinstance(s["reason"], str) and s["reason"] for s in x["before"] + x["after"]), x
    return {k: a - b for k, (b, a) in per_partner.items()}


# ---- the store and the daemons ----------------------------------------------------------------


class Store:
    data = None
    tokens = {}
    user_ids = {}


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The stopped store every test copies: demo vendor sentinel, a second
    vendor othervendor, and the users of ROLE_USERS."""
    root = tmp_path_factory.mktemp("policies-template")
    s = Store()
    s.data = root / "data"
    s.data.mkdir()
    demo_load(s.data)
    renewctl("vendor", "create", "--name", "Other Vendor Ltd", "--slug", "othervendor", "--currency", "EUR",
             data=s.data, check=True)
    s.tokens, s.user_ids = {}, {}
    for name, (email, role, partner, vendor) in ROLE_USERS.items():
        s.tokens[name], s.user_ids[name] = api_user(s.data, email=email, role=role, partner=partner, vendor=vendor)
    return s


@pytest.fixture
def store(template, tmp_path):
    """A private copy of the template store (no daemon)."""
    return copy_store(template.data, tmp_path / "store")


class Env:
    """A daemon on a private store, with one ApiClient per ROLE_USERS name."""

    def __init__(self, daemon_factory, data, template):
        self.factory, self.data, self.template = daemon_factory, data, template
        self.d = None
        self.start()

    def start(self):
        assert self.d is None or not self.d.running()
        self.d = self.factory(data=self.data)
        self.c = {n: ApiClient(self.d, t, self.template.user_ids[n]) for n, t in self.template.tokens.items()}
        self.admin = self.c["admin"]

    def stop(self):
        assert self.d.running(), f"renewd died:\n{self.d.log()}"
        self.d.stop()

    def upload(self, kind, source, vectors, note=None, as_="admin", timeout=60.0):
        body = {"source": source, "vectors": vectors}
        if note is not None:
            body["note"] = note
        return self.c[as_].call("POST", f"/api/v1/policies/{kind}", body, timeout=timeout)

    def upload_ok(self, kind, source, vectors, note=None):
        r = self.upload(kind, source, vectors, note)
        assert r.status == 201, r
        return r.json()

    def policies(self, as_="admin"):
        return self.c[as_].get("/api/v1/policies")

    def audit(self):
        return self.admin.items("/api/v1/audit?object=policies")

    def dry_run(self, version, kind="margin", as_="admin"):
        return self.c[as_].call("POST", f"/api/v1/policies/{kind}/{version}/dry-run", timeout=60.0)

    def activate(self, version, kind="margin", as_="admin"):
        return self.c[as_].call("POST", f"/api/v1/policies/{kind}/{version}/activate")

    def snapshot(self):
        """Everything a failed or read-only call must leave as it was."""
        return self.policies(), self.admin.get("/api/v1/vendor"), self.audit()


@pytest.fixture
def env(daemon, store, template):
    e = Env(daemon, store, template)
    yield e
    if e.d.running():
        e.stop()


def ctl(data, *args, rc=0):
    """renewctl on data; asserts the exit code (and no sanitizer report)."""
    p = renewctl(*args, data=data)
    assert p.returncode == rc, f"renewctl {args}: exit {p.returncode}\nstdout: {p.stdout}\nstderr: {p.stderr}"
    assert "Sanitizer" not in p.stderr, p.stderr
    return p


def ctl_list(data, vendor="sentinel"):
    """`renewctl policy list` as {(kind, version): (status, note)}."""
    p = ctl(data, "policy", "list", "--vendor", vendor)
    lines = p.stdout.splitlines()
    assert lines[0].split() == ["kind", "version", "status", "created", "note"], p.stdout
    out = {}
    for ln in lines[1:]:
        m = re.fullmatch(r"(\w+)\s+(\d+)\s+(\w+)\s+(\S+)\s+(.*)", ln)
        assert m, ln
        out[(m.group(1), int(m.group(2)))] = (m.group(3), m.group(5))
    return out


def versions(listing, kind="margin"):
    return {v["version"]: v["status"] for v in listing[kind]["versions"]}


def assert_vectors_failed(resp):
    """422 vectors_failed: the error shape plus error.failures, a list of
    {"vector": name, "message": text}."""
    assert resp.status == 422, resp
    assert resp.headers.get("content-type", "").split(";")[0].strip() == "application/json", resp.headers
    doc = resp.json()
    assert set(doc) == {"error"}, doc
    err = doc["error"]
    assert set(err) == {"code", "message", "field", "failures"} and err["code"] == "vectors_failed", err
    assert err["field"] == "vectors" and isinstance(err["message"], str), err
    assert err["failures"] and all(set(f) == {"vector", "message"} for f in err["failures"]), err
    return err


def default_vectors():
    return json.loads((SCRIPTS / "margin.vectors.json").read_text())


# ---- the defaults -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "other"])
def test_new_vendor_starts_with_the_default_versions_active(env, who):
    """sentinel (made by demo-load) and othervendor (renewctl vendor create)
    both start with margin v1 and routing v1: the shipped defaults, active."""
    c = env.c[who]
    listing = c.get("/api/v1/policies")
    vendor = c.get("/api/v1/vendor")
    assert vendor["margin_version"] == 1 and vendor["routing_version"] == 1, vendor
    for kind in ("margin", "routing"):
        assert listing[kind]["active"] == 1, listing
        (v,) = listing[kind]["versions"]
        assert v["kind"] == kind and v["version"] == 1 and v["status"] == "active", v
        assert v["activated_at"] and v["created_at"] and v["user_id"] is None, v
        assert f"scripts/policies/{kind}.lua" in v["note"], v
        assert "source" not in v and "vectors" not in v, v  # the list is a summary
        full = c.get(f"/api/v1/policies/{kind}/1")
        assert full["source"] == (SCRIPTS / f"{kind}.lua").read_text()
        shipped = json.loads((SCRIPTS / f"{kind}.vectors.json").read_text())
        assert full["vectors"] == shipped
        assert full["vectors_passed"] == v["vectors_passed"] == len(shipped)
    # The seeding is audited: a create and an activation per kind.
    if who == "admin":
        entries = env.audit()
        assert [(e["action"], e["after"].get("kind"), e["after"].get("active_version")) for e in entries] == [
            ("create", "margin", None), ("update", None, 1), ("create", "routing", None), ("update", None, 1)]


# ---- uploads --------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, name", [("margin", "margin"), ("margin", "margin-reseller"), ("routing", "routing"),
                                        ("margin", "../../examples/policies/margin-acme")])
def test_shipped_scripts_pass_their_own_vectors(env, kind, name):
    """Re-uploading a shipped script with its vectors is accepted (version 1
    is seeded without running them, so this is where they are checked)."""
    vec = json.loads((SCRIPTS / f"{name}.vectors.json").read_text())
    doc = env.upload_ok(kind, (SCRIPTS / f"{name}.lua").read_text(), vec)
    assert doc["version"] == 2 and doc["vectors_passed"] == len(vec), doc



def test_upload_stores_a_ready_version_that_is_not_active(env):
    before_vendor = env.admin.get("/api/v1/vendor")
    src = margin_lua(RAISED_SHARES)
    vec = model_vectors(RAISED_SHARES)
    r = env.upload("margin", src, vec, note="raise every reseller")
    assert r.status == 201, r
    assert r.headers["location"] == "/api/v1/policies/margin/2"
    doc = r.json()
    assert doc["kind"] == "margin" and doc["version"] == 2 and doc["status"] == "ready", doc
    assert doc["note"] == "raise every reseller" and doc["vectors_passed"] == len(vec), doc
    assert doc["user_id"] == env.admin.user_id and doc["created_at"] and doc["activated_at"] is None, doc
    assert "source" not in doc and "vectors" not in doc, doc

    full = env.admin.get("/api/v1/policies/margin/2")
    assert full["source"] == src and full["vectors"] == vec and full["status"] == "ready", full
    listing = env.policies()
    assert listing["margin"]["active"] == 1 and versions(listing) == {1: "active", 2: "ready"}, listing
    assert versions(listing, "routing") == {1: "active"}
    assert env.admin.get("/api/v1/vendor") == before_vendor  # not active until activated

    # The next one is 3; routing counts its own versions; a missing note is "".
    doc3 = env.upload_ok("margin", src, vec[:1])
    assert doc3["version"] == 3 and doc3["note"] == "" and doc3["vectors_passed"] == 1, doc3
    routing = (SCRIPTS / "routing.lua").read_text().replace("48, string.format", "72, string.format")
    rr = env.upload("routing", routing, json.loads((SCRIPTS / "routing.vectors.json").read_text()), note="72 h")
    assert rr.status == 201 and rr.headers["location"] == "/api/v1/policies/routing/2", rr
    assert rr.json()["status"] == "ready"
    assert versions(env.policies()) == {1: "active", 2: "ready", 3: "ready"}
    assert versions(env.policies(), "routing") == {1: "active", 2: "ready"}

    # It survives a restart.
    env.stop()
    env.start()
    assert env.admin.get("/api/v1/policies/margin/2")["source"] == src


@pytest.mark.parametrize("source, line, words", [
    ("-- a syntax error on line 3\nfunction margin(line)\n  return \"reseller\", 10 +\nend\n", 4, "near 'end'"),
    ("function margin(line)\n  return \"reseller\", 1000, \"x\"\nend\nlocal broken = nil .. \"top level\"\n", 4,
     "attempt to concatenate"),
    ("local shares = {\n  platinum = 3300,\n  gold = 2500\n  silver = 2000,\n}\n", 4, "'}' expected"),
], ids=["dangling-operator", "top-level-runtime-error", "missing-comma"])
def test_a_script_that_does_not_load_is_a_policy_error_naming_the_line(env, source, line, words):
    before = env.snapshot()
    r = env.upload("margin", source, default_vectors())
    err = assert_json_error(r, 422, "policy_error")
    assert err["field"] == "source", err
    assert err["message"].startswith(f"margin (upload):{line}:"), err
    assert words in err["message"], err
    assert env.snapshot() == before


@pytest.mark.parametrize("kind, source, words", [
    ("margin", "", "defines no function margin(line)"),
    ("margin", "function route(lead, candidates, excluded) return \"rep\", 1, 24, \"x\" end\n",
     "defines no function margin(line)"),
    ("routing", (SCRIPTS / "margin.lua").read_text(), "route"),
], ids=["empty", "route-only", "margin-as-routing"])
def test_a_script_without_its_entry_point_is_a_policy_error(env, kind, source, words):
    before = env.snapshot()
    vec = default_vectors() if kind == "margin" else json.loads((SCRIPTS / "routing.vectors.json").read_text())
    err = assert_json_error(env.upload(kind, source, vec), 422, "policy_error")
    assert err["field"] == "source" and words in err["message"], err
    assert err["message"].startswith(f"{kind} (upload)"), err
    assert env.snapshot() == before


def test_a_runtime_error_inside_margin_fails_the_vectors_naming_the_line(env):
    """The script loads, so the error surfaces per vector: 422 vectors_failed,
    each failure carrying Lua's "name:LINE:" message."""
    before = env.snapshot()
    src = "function margin(line)\n  local missing = line.nothing_here\n  return \"reseller\", missing.bp, \"x\"\nend\n"
    vec = default_vectors()
    r = env.upload("margin", src, vec)
    err = assert_vectors_failed(r)
    assert err["field"] == "vectors" and err["message"].startswith(f"{len(vec)} of {len(vec)} test vectors failed"), err
    assert "not stored" in err["message"], err
    assert [f["vector"] for f in err["failures"]] == [v["name"] for v in vec]
    for f in err["failures"]:
        assert "margin (upload):3: attempt to index a nil value (local 'missing')" in f["message"], f
    assert env.snapshot() == before


def test_failing_vectors_are_named_and_nothing_is_stored(env):
    before = env.snapshot()
    vec = default_vectors()
    broken = json.loads(json.dumps(vec))
    broken[0]["expect"] = [["reseller", 3400]]              # the script says 3300
    broken[5]["expect"] = [["reseller", 3000], ["referral", 100]]  # gold, won: 3000 alone
    r = env.upload("margin", (SCRIPTS / "margin.lua").read_text(), broken, note="should not land")
    err = assert_vectors_failed(r)
    assert err["message"] == f"2 of {len(vec)} test vectors failed: the version is not stored", err
    assert err["field"] == "vectors"
    assert err["failures"] == [
        {"vector": vec[0]["name"], "message": "expected [reseller 3400], got [reseller 3300]"},
        {"vector": vec[5]["name"], "message": "expected [reseller 3000, referral 100], got [reseller 3000]"},
    ], err["failures"]
    assert env.snapshot() == before  # no version, no audit entry, vendor unchanged

    # A vector without a name is reported by its position; expect_error vectors work both ways.
    vec2 = [{"line": vector_line("gold"), "expect": [["reseller", 1]]},
            {"name": "wants an error", "line": vector_line("gold"), "expect_error": "boom"}]
    err = assert_vectors_failed(env.upload("margin", (SCRIPTS / "margin.lua").read_text(), vec2))
    assert [f["vector"] for f in err["failures"]] == ["#1", "wants an error"], err
    assert "the call succeeded" in err["failures"][1]["message"], err
    src = "function margin(line)\n  if line.partner.tier == \"gold\" then error(\"boom: no gold\") end\n" \
          "  return \"reseller\", 1, \"x\"\nend\n"
    doc = env.upload_ok("margin", src, [vec2[1], {"name": "silver", "line": vector_line("silver"),
                                                    "expect": [["reseller", 1]]}])
    assert doc["version"] == 2 and doc["vectors_passed"] == 2

    # A long expectation is cut in the message, never overflowed.
    long_expect = [[f"party-{i}-" + "p" * 60, i] for i in range(60)]
    err = assert_vectors_failed(env.upload("margin", (SCRIPTS / "margin.lua").read_text(),
                                           [{"name": "n" * 200, "line": vector_line("gold"), "expect": long_expect}]))
    (f,) = err["failures"]
    assert f["vector"] == "n" * 63 and f["message"].startswith("expected [party-0-"), f
    assert f["message"].endswith("got [reseller 2000]") and len(f["message"]) < 400, f


def endless_vectors(n):
    return [{"name": f"v{i}", "line": {}, "expect": [["reseller", 0]]} for i in range(n)]


def test_an_endless_loop_is_refused_without_stalling_the_daemon(env):
    """A margin() that never returns is stopped by the instruction budget on
    every vector; while the upload is checked on the thread pool, /healthz
    and the API keep answering."""
    before = env.snapshot()
    src = "function margin(line)\n  local n = 0\n  while true do n = n + 1 end\nend\n"
    n_vectors = 30  # about 0.15 s of CPU time: well inside the job's 5 s, and its 8 s of wall clock at nice 10 on a busy machine
    result = {}

    def upload():
        t0 = time.monotonic()
        result["r"] = env.upload("margin", src, endless_vectors(n_vectors), timeout=80.0)
        result["took"] = time.monotonic() - t0

    th = threading.Thread(target=upload)
    th.start()
    answered_during = 0
    try:
        while th.is_alive():
            t0 = time.monotonic()
            h = http_request(env.d.port, "GET", "/healthz", timeout=5.0)
            took = time.monotonic() - t0
            assert h.status == 200, h
            assert took < 1.0, f"/healthz took {took:.2f} s while a policy was checked"
            if th.is_alive():
                answered_during += 1
                if answered_during == 3:
                    assert env.admin.call("GET", "/api/v1/policies").status == 200
            time.sleep(0.02)
    finally:
        th.join(85)
    assert answered_during >= 1, f"the upload took {result.get('took')} s: too quick to overlap"
    err = assert_vectors_failed(result["r"])
    assert err["message"].startswith(f"{n_vectors} of {n_vectors} test vectors failed"), err
    assert len(err["failures"]) == n_vectors
    for f in err["failures"]:
        assert "instruction budget exceeded" in f["message"], f
    assert env.snapshot() == before

    # At the top level it stops the load: a policy_error.
    err = assert_json_error(env.upload("margin", "while true do end\nfunction margin(line) end\n", default_vectors()),
                            422, "policy_error")
    assert "instruction budget exceeded" in err["message"] and err["field"] == "source", err
    # And the sandboxes are fine afterwards.
    assert env.upload_ok("margin", (SCRIPTS / "margin.lua").read_text(), default_vectors())["version"] == 2


def test_shutdown_and_hang_ups_during_a_check_leave_nothing_behind(env):
    """A client that goes away while its upload is checked, and a SIGTERM
    while another is checked: renewd stops cleanly (no leak under ASan) and
    neither version is stored."""
    src = "function margin(line)\n  while true do end\nend\n"
    body = json.dumps({"source": src, "vectors": endless_vectors(300)}).encode()
    head = (f"POST /api/v1/policies/margin HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {env.template.tokens['admin']}"
            f"\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n").encode()
    s = raw_connect(env.d.port)
    s.sendall(head + body)
    time.sleep(0.2)
    s.close()  # hang up mid-check
    assert http_request(env.d.port, "GET", "/healthz").status == 200
    s = raw_connect(env.d.port)
    try:
        s.sendall(head + body)
        time.sleep(0.3)
        env.stop()  # SIGTERM with the check under way; asserts exit 0 and "stopped cleanly"
    finally:
        s.close()
    env.start()
    assert versions(env.policies()) == {1: "active"}
    assert len(env.audit()) == 4


def test_concurrent_uploads_get_distinct_versions(env):
    results = [None] * 6

    def up(i):
        # a vendor has at most 2 checks running: the others are told to come back (429, Retry-After)
        for _ in range(2000):
            r = env.upload("margin", margin_lua(RAISED_SHARES), model_vectors(RAISED_SHARES), note=f"n{i}")
            if r.status != 429:
                break
            assert r.headers.get("retry-after") == "1" and r.json()["error"]["code"] == "busy", r
            time.sleep(0.02)
        results[i] = r

    threads = [threading.Thread(target=up, args=(i,)) for i in range(len(results))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(r is not None and r.status == 201 for r in results), results
    got = sorted(r.json()["version"] for r in results)
    assert got == list(range(2, 2 + len(results))), got
    by_note = {r.json()["note"]: r.json()["version"] for r in results}
    for note, v in by_note.items():
        assert env.admin.get(f"/api/v1/policies/margin/{v}")["note"] == note
    assert set(versions(env.policies())) == set(range(1, 2 + len(results)))


@pytest.mark.parametrize("source, words", [
    ("function margin(line)\n  while true do pcall(function() while true do end end) end\nend\n",
     "instruction budget exceeded"),
    ("function margin(line)\n  while true do xpcall(function() while true do end end, function(e) return e end) end\nend\n",
     "instruction budget exceeded"),
    # stopped by the budget, or (on a slow build) by the call's deadline
    ("function margin(line)\n  while true do pcall(string.rep, \"x\", 1 << 30) end\nend\n", "exceeded"),
    ("local function f() return f() end\nfunction margin(line) return f() end\n", "instruction budget exceeded"),
    ("local function f() return 1 + f() end\nfunction margin(line) return f() end\n", ""),
    ("function margin(line)\n  local t = setmetatable({}, {__index = function(t, k) return t[k] end})\n  return t.x\nend\n",
     "stack overflow"),
    ("function margin(line)\n  local s = \"x\"\n  while true do s = s .. s end\nend\n", "memory limit"),
], ids=["pcall-loop", "xpcall-loop", "pcall-memory", "tail-recursion", "deep-recursion", "index-recursion",
        "doubling-string"])
def test_scripts_that_catch_or_recurse_are_still_stopped(env, source, words):
    """pcall/xpcall do not buy a script a fresh budget; runaway recursion
    ends in an error, not a crash."""
    before = env.snapshot()
    err = assert_vectors_failed(env.upload("margin", source, endless_vectors(3), timeout=30.0))
    assert len(err["failures"]) == 3, err
    for f in err["failures"]:
        assert f["message"].startswith("the policy failed: ") and words in f["message"], f
    assert env.snapshot() == before
    assert http_request(env.d.port, "GET", "/healthz").status == 200


@pytest.mark.parametrize("code, where", [
    ("local t, x = {}, string.rep(\"x\", 1000)\n  for i = 1, 1e9 do t[i] = x .. i end", "margin"),
    ("local s = string.rep(\"x\", 1 << 30)", "margin"),
    # (each new table holds a 1 KB string: the 16 MiB fill in ~15,000 turns,
    # well inside the top level's 250 ms of CPU under ASan on a busy
    # machine; with ~150 bytes a turn the time limit sometimes came first)
    ("local t, x = {}, string.rep(\"x\", 1000)\nfor i = 1, 1e9 do t[i] = {i, tostring(i), x .. i} end", "top"),
    ("local s = string.rep(\"x\", 1 << 30)", "top"),
], ids=["margin-table-growth", "margin-one-huge-string", "top-table-growth", "top-one-huge-string"])
def test_a_memory_bomb_is_refused(env, code, where):
    before = env.snapshot()
    if where == "margin":
        src = f"function margin(line)\n  {code}\n  return \"reseller\", 0, \"never\"\nend\n"
    else:
        src = f"{code}\nfunction margin(line) return \"reseller\", 0, \"never\" end\n"
    r = env.upload("margin", src, default_vectors()[:3])
    if where == "margin":
        err = assert_vectors_failed(r)
        assert len(err["failures"]) == 3, err
        for f in err["failures"]:
            assert "memory limit of the policy sandbox exceeded" in f["message"], f
    else:
        err = assert_json_error(r, 422, "policy_error")
        assert "memory limit of the policy sandbox exceeded" in err["message"] and err["field"] == "source", err
    assert env.snapshot() == before
    assert env.upload_ok("margin", (SCRIPTS / "margin.lua").read_text(), default_vectors())["version"] == 2


@pytest.mark.parametrize("body, field", [
    ({"source": "function margin(line) end"}, None),                                   # no vectors
    ({"vectors": [{"line": {}}]}, None),                                               # no source
    ({"source": "function margin(line) end", "vectors": []}, "vectors"),               # empty vectors
    ({"source": "function margin(line) end", "vectors": {"name": "x"}}, "vectors"),    # not a list
    ({"source": "function margin(line) end", "vectors": "[]"}, "vectors"),
    ({"source": "function margin(line) end", "vectors": [{"line": {}}], "active": True}, None),  # unknown field
    ({"source": 12, "vectors": [{"line": {}}]}, None),                                 # source not a string
    ({"source": ["function margin(line) end"], "vectors": [{"line": {}}]}, None),
    ({"source": "function margin(line) end", "vectors": [{"line": {}}], "note": 5}, None),
    ({"source": "function margin(line) end", "vectors": [{"line": {}}], "note": "n" * 256}, "note"),
    ({"source": "-- " + "x" * 65536 + "\nfunction margin(line) end", "vectors": [{"line": {}}]}, "source"),
    ({"source": "function margin(line) end", "vectors": [{"line": {}}] * 1001}, "vectors"),
    ([], None),
    ("not json", None),
], ids=["no-vectors", "no-source", "empty-vectors", "vectors-object", "vectors-string", "unknown-field",
        "source-number", "source-list", "note-number", "note-too-long", "source-too-long", "too-many-vectors",
        "body-array", "body-not-json"])
def test_malformed_uploads_are_400(env, body, field):
    before = env.snapshot()
    raw = body.encode() if isinstance(body, str) else body
    r = env.admin.call("POST", "/api/v1/policies/margin", raw,
                       headers={"Content-Type": "application/json"} if isinstance(body, str) else None)
    err = assert_json_error(r, 400)
    assert err["field"] == field, err
    assert env.snapshot() == before


def test_unknown_kinds_and_versions_are_404(env):
    good = {"source": (SCRIPTS / "margin.lua").read_text(), "vectors": default_vectors()}
    for method, path, body in [("POST", "/api/v1/policies/pricing", good), ("POST", "/api/v1/policies/Margin", good),
                               ("GET", "/api/v1/policies/pricing/1", None),
                               ("POST", "/api/v1/policies/pricing/1/dry-run", None),
                               ("POST", "/api/v1/policies/pricing/1/activate", None)]:
        err = assert_json_error(env.admin.call(method, path, body), 404, "not_found")
        assert err["field"] == "kind", (path, err)
    for version in ("2", "0", "abc", "-1", "4294967297", "99999999999999999999"):
        for method, suffix in (("GET", ""), ("POST", "/dry-run"), ("POST", "/activate")):
            err = assert_json_error(env.admin.call(method, f"/api/v1/policies/margin/{version}{suffix}"), 404,
                                    "not_found")
            assert err["field"] == "version", (version, suffix, err)
    assert env.admin.get("/api/v1/vendor")["margin_version"] == 1


# ---- dry runs -------------------------------------------------------------------------------------


def test_dry_run_of_a_raise_reports_every_change_and_writes_nothing(env):
    v = env.upload_ok("margin", margin_lua(RAISED_SHARES), model_vectors(RAISED_SHARES))["version"]
    lines = live_lines(env.admin)
    assert len(lines) >= 10, lines
    before = env.snapshot()
    r = env.dry_run(v)
    assert r.status == 200, r
    report = r.json()
    per_partner = check_report(report, lines, DEFAULT_SHARES, RAISED_SHARES, v)
    assert report["lines_changed"] > 0
    # Every reseller gains; the distributor's share is unchanged, so it has no line.
    resellers = {ln["reseller"] for ln in lines}
    assert {p for p, _, _ in per_partner} == resellers and 1 not in resellers
    assert all(p["delta"] > 0 for p in report["per_partner"]), report["per_partner"]
    for x in report["largest_changes"]:
        b = {s["party"]: s["bp"] for s in x["before"]}
        a = {s["party"]: s["bp"] for s in x["after"]}
        assert a["reseller"] > b["reseller"] and a.get("distributor") == b.get("distributor"), x
    # Nothing written: versions, the vendor and the audit trail as they were.
    assert env.snapshot() == before
    assert env.admin.get(f"/api/v1/policies/margin/{v}")["status"] == "ready"
    # The same answer twice.
    again = env.dry_run(v).json()
    assert again == report


def test_dry_run_signs_follow_the_change(env):
    """Platinum up, silver down, gold as before: RES-PLAT gains, RES-SILV
    loses, RES-GOLD is not in the report."""
    v = env.upload_ok("margin", margin_lua(MIXED_SHARES), model_vectors(MIXED_SHARES))["version"]
    lines = live_lines(env.admin)
    report = env.dry_run(v).json()
    per_partner = check_report(report, lines, DEFAULT_SHARES, MIXED_SHARES, v)
    by_id = {p: d for (p, _, mode), d in per_partner.items() if mode == "vendor"}
    assert all(mode == "vendor" for _, _, mode in per_partner), per_partner  # partner-mode shares unchanged
    assert by_id[2] > 0 and by_id[4] < 0 and 3 not in by_id, by_id
    assert report["lines_changed"] == sum(1 for ln in lines if ln["tier"] in ("platinum", "silver"))
    assert any(x["delta"] < 0 for x in report["largest_changes"]), report["largest_changes"]


def test_dry_run_of_the_active_version_changes_nothing(env):
    report = env.dry_run(1).json()
    assert report["version"] == 1 and report["compared_with"] == 1, report
    assert report["lines"] == len(live_lines(env.admin)) and report["lines_changed"] == 0, report
    assert report["per_partner"] == [] and report["largest_changes"] == [] and report["errors"] == [], report


def test_dry_run_reports_lines_the_version_fails_on(env):
    """A version whose vectors only cover platinum and gold is stored; the
    dry run shows where it breaks (silver), with the script's line."""
    src = margin_lua(DEFAULT_SHARES, fail_tier="silver")
    v = env.upload_ok("margin", src, model_vectors(DEFAULT_SHARES, tiers=("platinum", "gold")))["version"]
    lines = live_lines(env.admin)
    silver = [ln["contract"] for ln in lines if ln["tier"] == "silver"]
    assert silver
    report = env.dry_run(v).json()
    assert report["lines"] == len(lines) and report["lines_failed"] == len(silver), report
    assert report["lines_changed"] == 0 and report["per_partner"] == [], report
    assert len(report["errors"]) == min(10, len(silver))
    for e in report["errors"]:
        assert e["contract_id"] in silver, e
        assert e["message"] == f"margin v{v}:12: no programme for silver", e


# 4 MiB held at load (strings are at most 1 MiB each; string.rep of a
# 1 KiB string keeps the budget it charges small).
HUNGRY = "local s = {} for i = 1, 4 do s[i] = string.rep(string.rep(\"x\", 1024), 1024) end\n"


def test_dry_run_of_a_version_over_the_current_limits_is_422(env):
    """A version stored under the default limits, then the vendor lowers
    policy_memory_kb: the dry run cannot load it and says why."""
    hungry = HUNGRY + (SCRIPTS / "margin.lua").read_text()
    v = env.upload_ok("margin", hungry, default_vectors()[:2])["version"]
    assert env.admin.call("PATCH", "/api/v1/vendor", {"policy_memory_kb": 1024}).status == 200
    before = env.snapshot()
    err = assert_json_error(env.dry_run(v), 422, "policy_error")
    assert "memory limit" in err["message"], err
    assert env.snapshot() == before
    assert env.dry_run(1).status == 200


def test_dry_run_against_an_active_version_that_fails_on_some_lines(env):
    """The active version breaks the contract on silver lines (it names the
    reseller twice, after a valid first share): those lines count as
    lines_failed_before and compare as paying nothing before, never as a
    half-read result."""
    src = "\n".join([
        "local bp = { platinum = 2000, gold = 2000, silver = 1500 }",
        "function margin(line)",
        "  local tier = line.partner.tier",
        "  if tier == \"silver\" then",
        "    return \"reseller\", 1500, \"silver\", \"reseller\", 100, \"twice\"",
        "  end",
        "  if line.distributor then",
        "    return \"reseller\", bp[tier], \"r\", \"distributor\", line.vendor.distributor_bp, \"d\"",
        "  end",
        "  return \"reseller\", bp[tier], \"r\"",
        "end", ""])
    vec = [v for v in model_vectors(DEFAULT_SHARES, tiers=("platinum", "gold")) if "vendor-published, deal none" in v["name"]]
    v = env.upload_ok("margin", src, vec)["version"]
    assert env.activate(v).status == 200
    lines = live_lines(env.admin)
    silver = [ln for ln in lines if ln["tier"] == "silver"]
    assert silver
    report = env.dry_run(1).json()
    assert report["compared_with"] == v and report["lines_failed_before"] == len(silver), report
    # Vendor-published, only the silver lines change (the active version
    # pays the default's vendor-mode shares elsewhere); partner-published,
    # every line does (the active version pays 2000 there).
    assert report["lines_failed"] == 0 and report["lines_changed"] == len(lines), report
    expect = {}
    for ln in silver:
        for party, partner in (("reseller", ln["reseller"]), ("distributor", ln["distributor"])):
            bp = model_shares(DEFAULT_SHARES, ln).get(party, 0)
            if bp and partner:
                expect[(partner, ln["currency"])] = expect.get((partner, ln["currency"]), 0) + cdiv(ln["list"] * bp, 10000)
    assert {(p["partner_id"], p["currency"]): p["delta"] for p in report["per_partner"]
            if p["publish"] == "vendor"} == expect, report
    silver_ids = {ln["contract"] for ln in silver}
    for x in report["largest_changes"]:
        assert x["before"] == [] or x["contract_id"] not in silver_ids, x


def test_dry_run_of_routing_is_400(env):
    err = assert_json_error(env.dry_run(1, kind="routing"), 400, "invalid")
    assert err["field"] == "kind", err


# ---- activation, roll back, the audit trail -------------------------------------------------------


def test_activate_then_roll_back(env):
    v2 = env.upload_ok("margin", margin_lua(RAISED_SHARES), model_vectors(RAISED_SHARES), note="raise")["version"]
    r = env.activate(v2)
    assert r.status == 200 and r.json() == {"kind": "margin", "active": v2}, r
    vendor = env.admin.get("/api/v1/vendor")
    assert vendor["margin_version"] == v2 and vendor["routing_version"] == 1, vendor
    listing = env.policies()
    assert listing["margin"]["active"] == v2 and versions(listing) == {1: "retired", 2: "active"}, listing
    assert versions(listing, "routing") == {1: "active"}
    assert env.admin.get("/api/v1/policies/margin/2")["activated_at"]

    # A dry run now compares with version 2: going back to 1 lowers every reseller.
    back = env.dry_run(1).json()
    assert back["compared_with"] == v2
    check_report(back, live_lines(env.admin), RAISED_SHARES, DEFAULT_SHARES, 1, compared_with=v2)
    assert all(p["delta"] < 0 for p in back["per_partner"]), back

    # Activating the active version changes nothing (and is not audited again).
    n_audit = len(env.audit())
    assert env.activate(v2).json() == {"kind": "margin", "active": v2}
    assert len(env.audit()) == n_audit

    # Roll back by activating version 1 again; it survives a restart.
    assert env.activate(1).json() == {"kind": "margin", "active": 1}
    env.stop()
    env.start()
    assert env.admin.get("/api/v1/vendor")["margin_version"] == 1
    listing = env.policies()
    assert listing["margin"]["active"] == 1 and versions(listing) == {1: "active", 2: "retired"}, listing

    # Routing activates the same way, independently.
    rv = env.upload("routing", (SCRIPTS / "routing.lua").read_text(),
                    json.loads((SCRIPTS / "routing.vectors.json").read_text())).json()["version"]
    assert env.activate(rv, kind="routing").json() == {"kind": "routing", "active": rv}
    vendor = env.admin.get("/api/v1/vendor")
    assert vendor["margin_version"] == 1 and vendor["routing_version"] == rv, vendor


def test_every_step_is_audited(env):
    seeded = env.audit()
    uid = env.admin.user_id
    v2 = env.upload_ok("margin", margin_lua(RAISED_SHARES), model_vectors(RAISED_SHARES),
                       note="raise platinum to 4000")
    assert_json_error(env.upload("margin", "syntax error here", default_vectors()), 422, "policy_error")
    broken = default_vectors()[:1]
    broken[0]["expect"] = [["reseller", 1]]
    assert_vectors_failed(env.upload("margin", (SCRIPTS / "margin.lua").read_text(), broken))
    assert env.dry_run(2).status == 200
    assert env.activate(2).status == 200
    assert env.activate(1).status == 200
    assert env.activate(1).status == 200  # already active: no entry

    entries = env.audit()
    assert entries[:len(seeded)] == seeded
    new = entries[len(seeded):]
    assert [(e["action"], e["object"], e["object_id"], e["user_id"]) for e in new] == [
        ("create", "policies", v2["id"], uid), ("update", "policies", v2["id"], uid), ("update", "policies", 1, uid)], new
    create, activate, rollback = new
    assert create["before"] is None
    assert create["after"] == {"kind": "margin", "version": 2, "note": "raise platinum to 4000"}, create
    assert create["note"] == f"margin policy version 2 uploaded ({v2['vectors_passed']} vectors passed)", create
    assert activate["before"] == {"active_version": 1} and activate["after"] == {"active_version": 2}, activate
    assert activate["note"] == "margin policy: version 2 active (was 1)", activate
    assert rollback["before"] == {"active_version": 2} and rollback["after"] == {"active_version": 1}, rollback
    assert rollback["note"] == "margin policy: version 1 active (was 2), a roll back", rollback
    ids = [e["id"] for e in entries]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(e["at_ms"] > 0 for e in new)


# ---- who may do what ------------------------------------------------------------------------------


def test_channel_manager_reads_but_cannot_upload_or_activate(env):
    v2 = env.upload_ok("margin", margin_lua(RAISED_SHARES), model_vectors(RAISED_SHARES))["version"]
    before = env.snapshot()
    cm = env.c["cm"]
    assert cm.get("/api/v1/policies") == env.policies()
    assert cm.get(f"/api/v1/policies/margin/{v2}")["source"] == margin_lua(RAISED_SHARES)
    # A dry run only reads: allowed (RD_RES_POLICY read).
    assert env.dry_run(v2, as_="cm").json() == env.dry_run(v2).json()
    assert_json_error(env.upload("margin", margin_lua(RAISED_SHARES), model_vectors(RAISED_SHARES), as_="cm"), 403,
                      "forbidden")
    assert_json_error(env.activate(v2, as_="cm"), 403, "forbidden")
    assert_json_error(env.activate(1, kind="routing", as_="cm"), 403, "forbidden")
    assert env.snapshot() == before


def test_partner_sales_is_refused_everything(env):
    v2 = env.upload_ok("margin", margin_lua(RAISED_SHARES), model_vectors(RAISED_SHARES))["version"]
    before = env.snapshot()
    ps = env.c["psales"]
    for method, path, body in [
            ("GET", "/api/v1/policies", None), ("GET", f"/api/v1/policies/margin/{v2}", None),
            ("GET", "/api/v1/policies/routing/1", None),
            ("POST", "/api/v1/policies/margin", {"source": margin_lua(RAISED_SHARES), "vectors": [{"line": {}}]}),
            ("POST", f"/api/v1/policies/margin/{v2}/dry-run", None),
            ("POST", f"/api/v1/policies/margin/{v2}/activate", None),
            ("POST", "/api/v1/policies/margin/1/activate", None)]:
        assert_json_error(ps.call(method, path, body), 403, "forbidden")
    assert env.snapshot() == before


def test_another_vendor_cannot_see_these_versions(env):
    v2 = env.upload_ok("margin", margin_lua(RAISED_SHARES), model_vectors(RAISED_SHARES))
    v3 = env.upload_ok("margin", margin_lua(MIXED_SHARES), model_vectors(MIXED_SHARES))
    other = env.c["other"]
    listing = other.get("/api/v1/policies")
    assert versions(listing) == {1: "active"} and versions(listing, "routing") == {1: "active"}, listing
    for version in (2, 3):
        assert_json_error(other.call("GET", f"/api/v1/policies/margin/{version}"), 404, "not_found")
        assert_json_error(other.call("POST", f"/api/v1/policies/margin/{version}/dry-run"), 404, "not_found")
        assert_json_error(other.call("POST", f"/api/v1/policies/margin/{version}/activate"), 404, "not_found")
    assert other.get("/api/v1/vendor")["margin_version"] == 1
    # Its own v1 is its own copy of the default, and its uploads number from 2.
    assert other.get("/api/v1/policies/margin/1")["source"] == (SCRIPTS / "margin.lua").read_text()
    mine = other.call("POST", "/api/v1/policies/margin", {"source": EXAMPLE.read_text(),
                                                          "vectors": json.loads(EXAMPLE_VECTORS.read_text())})
    assert mine.status == 201 and mine.json()["version"] == 2, mine
    assert other.call("POST", "/api/v1/policies/margin/2/activate").status == 200
    assert other.get("/api/v1/vendor")["margin_version"] == 2
    # sentinel is untouched: its v2 is still its own raise, ready.
    assert env.admin.get("/api/v1/vendor")["margin_version"] == 1
    assert env.admin.get("/api/v1/policies/margin/2")["source"] == margin_lua(RAISED_SHARES)
    assert versions(env.policies()) == {1: "active", 2: "ready", 3: "ready"}
    # The other vendor's dry run sees no contracts of sentinel's.
    report = other.ok("POST", "/api/v1/policies/margin/1/dry-run")
    assert report["lines"] == 0 and report["per_partner"] == [], report
    # Its audit trail holds its own seeding, upload and activation only.
    notes = [e["note"] for e in other.items("/api/v1/audit?object=policies")]
    assert notes[4:] == ["margin policy version 2 uploaded (8 vectors passed)",
                         "margin policy: version 2 active (was 1)"], notes


# ---- vendor settings ------------------------------------------------------------------------------


def test_deal_bonus_setting_reaches_the_dry_run(env):
    """A version that pays the deal bonus on every line: the dry run's gain
    is the vendor's deal_bonus_bp, 500 (demo) and then 1000 after a PATCH."""
    src = margin_lua(DEFAULT_SHARES, bonus_always=True)
    vec = model_vectors(DEFAULT_SHARES, bonus_always=True, bonus=1000)
    v = env.upload_ok("margin", src, vec)["version"]
    lines = live_lines(env.admin)
    assert {ln["deal_bonus_bp"] for ln in lines} == {500}
    r500 = env.dry_run(v).json()
    check_report(r500, lines, DEFAULT_SHARES, DEFAULT_SHARES, v, after_bonus=True)
    for x in r500["largest_changes"]:
        b, a = ({s["party"]: s["bp"] for s in x[k]} for k in ("before", "after"))
        assert a["reseller"] - b["reseller"] == 500, x

    r = env.admin.call("PATCH", "/api/v1/vendor", {"deal_bonus_bp": 1000})
    assert r.status == 200 and r.json()["deal_bonus_bp"] == 1000, r
    assert env.admin.get("/api/v1/vendor")["deal_bonus_bp"] == 1000
    lines = live_lines(env.admin)
    r1000 = env.dry_run(v).json()
    check_report(r1000, lines, DEFAULT_SHARES, DEFAULT_SHARES, v, after_bonus=True)
    for x in r1000["largest_changes"]:
        b, a = ({s["party"]: s["bp"] for s in x[k]} for k in ("before", "after"))
        assert a["reseller"] - b["reseller"] == 1000, x
    gain500 = {p["partner_id"]: p["delta"] for p in r500["per_partner"]}
    gain1000 = {p["partner_id"]: p["delta"] for p in r1000["per_partner"]}
    assert gain1000.keys() == gain500.keys() and all(gain1000[p] > gain500[p] > 0 for p in gain500)

    # distributor_bp reaches the script the same way.
    assert env.admin.call("PATCH", "/api/v1/vendor", {"distributor_bp": 450}).status == 200
    lines = live_lines(env.admin)
    r450 = env.dry_run(1).json()  # v1 against itself: nothing changes, whatever the settings
    assert r450["lines_changed"] == 0
    check_report(env.dry_run(v).json(), lines, DEFAULT_SHARES, DEFAULT_SHARES, v, after_bonus=True)
    assert any(s["party"] == "distributor" and s["bp"] == 450
               for x in env.dry_run(v).json()["largest_changes"] for s in x["after"])


def test_publish_default_setting_does_not_hide_a_change(env):
    """MIXED_SHARES differs from the default only for vendor-published lines:
    the dry run prices both modes, so it shows the same changes whichever
    mode the vendor's default is (a partner may still choose either)."""
    v = env.upload_ok("margin", margin_lua(MIXED_SHARES), model_vectors(MIXED_SHARES))["version"]
    assert env.admin.get("/api/v1/vendor")["publish_default"] == "vendor"
    first = env.dry_run(v).json()
    assert first["lines_changed"] > 0
    r = env.admin.call("PATCH", "/api/v1/vendor", {"publish_default": "partner"})
    assert r.status == 200, r
    lines = live_lines(env.admin)
    assert {ln["publish"] for ln in lines} == {"partner"}
    report = env.dry_run(v).json()
    check_report(report, lines, DEFAULT_SHARES, MIXED_SHARES, v)
    assert report["lines_changed"] == first["lines_changed"] and report["per_partner"] == first["per_partner"], report
    assert {p["publish"] for p in report["per_partner"]} == {"vendor"}, report
    check_report(env.dry_run(1).json(), lines, DEFAULT_SHARES, DEFAULT_SHARES, 1)


@pytest.mark.parametrize("patch, field", [
    ({"deal_bonus_bp": 20000}, "deal_bonus_bp"),
    ({"deal_bonus_bp": 10001}, "deal_bonus_bp"),
    ({"deal_bonus_bp": -1}, "deal_bonus_bp"),
    ({"deal_bonus_bp": "1000"}, "deal_bonus_bp"),
    ({"distributor_bp": 10001}, "distributor_bp"),
    ({"policy_memory_kb": 10}, "policy_memory_kb"),
    ({"policy_memory_kb": 262145}, "policy_memory_kb"),
    ({"policy_instructions": 9999}, "policy_instructions"),
    ({"policy_instructions": 100000001}, "policy_instructions"),
    ({"margin_version": 2}, "margin_version"),
    ({"margin_version": 1}, "margin_version"),
    ({"routing_version": 1}, "routing_version"),
    ({"deal_bonus_bp": 1000, "margin_version": 2}, "margin_version"),
])
def test_bad_vendor_policy_settings_are_400_naming_the_field(env, patch, field):
    before = env.snapshot()
    err = assert_json_error(env.admin.call("PATCH", "/api/v1/vendor", patch), 400, "invalid")
    assert err["field"] == field, err
    if field.endswith("_version"):
        assert "cannot be written" in err["message"], err
    assert env.snapshot() == before


def test_vendor_policy_limits_apply_to_uploads(env):
    """policy_memory_kb and policy_instructions bound what a script may use."""
    hungry = HUNGRY + (SCRIPTS / "margin.lua").read_text()
    busy = "local n = 0\nfor i = 1, 200000 do n = n + i end\n" + (SCRIPTS / "margin.lua").read_text()
    vec = default_vectors()[:2]
    ok = env.c["admin"]
    assert env.upload("margin", hungry, vec).status == 201  # 16 MiB by default
    assert env.upload("margin", busy, vec).status == 201     # 1,000,000 instructions by default
    r = ok.call("PATCH", "/api/v1/vendor", {"policy_memory_kb": 1024, "policy_instructions": 10000})
    assert r.status == 200, r
    err = assert_json_error(env.upload("margin", hungry, vec), 422, "policy_error")
    assert "memory limit" in err["message"], err
    err = assert_json_error(env.upload("margin", busy, vec), 422, "policy_error")
    assert "instruction budget exceeded" in err["message"], err
    assert env.upload("margin", (SCRIPTS / "margin.lua").read_text(), vec).status == 201
    assert ok.call("PATCH", "/api/v1/vendor", {"policy_memory_kb": 0, "policy_instructions": 0}).status == 200
    assert env.upload("margin", hungry, vec).status == 201
    assert versions(env.policies()) == {1: "active", 2: "ready", 3: "ready", 4: "ready", 5: "ready"}


# ---- renewctl policy -------------------------------------------------------------------------------


def test_cli_push_finds_vectors_beside_the_script_and_activates(env):
    env.stop()
    data = env.data
    n_vec = len(json.loads(EXAMPLE_VECTORS.read_text()))
    p = ctl(data, "policy", "push", "--vendor", "sentinel", "--kind", "margin", EXAMPLE)
    assert p.stdout.strip() == (f"margin policy version 2 stored ({n_vec} test vectors passed); "
                                "activate it with: renewctl policy activate"), p.stdout
    assert ctl_list(data) == {("margin", 1): ("active", "renewd's shipped default (scripts/policies/margin.lua)"),
                              ("margin", 2): ("ready", "margin-acme.lua"),
                              ("routing", 1): ("active", "renewd's shipped default (scripts/policies/routing.lua)")}
    show = ctl(data, "policy", "show", "--vendor", "sentinel", "--kind", "margin", "--version", "2").stdout
    assert show == "-- margin policy version 2 (margin-acme.lua)\n" + EXAMPLE.read_text()

    p = ctl(data, "policy", "push", "--vendor", "sentinel", "--kind", "margin", "--note", "acme, live",
            "--activate", EXAMPLE)
    assert p.stdout.strip() == f"margin policy version 3 stored ({n_vec} test vectors passed) and active", p.stdout
    listing = ctl_list(data)
    assert listing[("margin", 1)][0] == "retired" and listing[("margin", 2)][0] == "ready", listing
    assert listing[("margin", 3)] == ("active", "acme, live"), listing
    assert ctl_list(data, "othervendor") == {
        ("margin", 1): ("active", "renewd's shipped default (scripts/policies/margin.lua)"),
        ("routing", 1): ("active", "renewd's shipped default (scripts/policies/routing.lua)")}

    env.start()
    assert env.admin.get("/api/v1/vendor")["margin_version"] == 3
    listing = env.policies()
    assert listing["margin"]["active"] == 3 and versions(listing) == {1: "retired", 2: "ready", 3: "active"}
    v3 = env.admin.get("/api/v1/policies/margin/3")
    assert v3["source"] == EXAMPLE.read_text() and v3["vectors"] == json.loads(EXAMPLE_VECTORS.read_text())
    assert v3["note"] == "acme, live" and v3["vectors_passed"] == n_vec and v3["user_id"] is None, v3
    new = env.audit()[4:]
    assert [(e["action"], e["user_id"], e["note"]) for e in new] == [
        ("create", None, f"margin policy version 2 uploaded ({n_vec} vectors passed)"),
        ("create", None, f"margin policy version 3 uploaded ({n_vec} vectors passed)"),
        ("update", None, "margin policy: version 3 active (was 1)")], new


def test_cli_push_with_failing_vectors_stores_nothing(env, tmp_path):
    env.stop()
    data = env.data
    before = ctl_list(data)
    script = tmp_path / "raise.lua"
    script.write_text(margin_lua(RAISED_SHARES))
    vec = model_vectors(RAISED_SHARES)
    vec[2]["expect"] = [["reseller", 1234]]
    (tmp_path / "raise.vectors.json").write_text(json.dumps(vec))
    p = ctl(data, "policy", "push", "--vendor", "sentinel", "--kind", "margin", script, rc=1)
    assert f"vector {vec[2]['name']}: expected [reseller 1234], got [reseller " in p.stderr, p.stderr
    assert f"1 of {len(vec)} test vectors failed: nothing stored" in p.stderr, p.stderr
    assert "stored (" not in p.stdout, p.stdout
    assert ctl_list(data) == before

    # --vectors points elsewhere: the good vectors pass.
    good = tmp_path / "good.json"
    good.write_text(json.dumps(model_vectors(RAISED_SHARES)))
    p = ctl(data, "policy", "push", "--vendor", "sentinel", "--kind", "margin", "--vectors", good, script)
    assert "margin policy version 2 stored" in p.stdout, p.stdout

    # A syntax error names the file and line; missing or broken vectors files are refused.
    bad = tmp_path / "bad.lua"
    bad.write_text("function margin(line)\n  return \"reseller\" 10\nend\n")
    p = ctl(data, "policy", "push", "--vendor", "sentinel", "--kind", "margin", "--vectors", good, bad, rc=1)
    assert re.search(r"bad\.lua:2: .*near '10'", p.stderr), p.stderr
    lonely = tmp_path / "lonely.lua"
    lonely.write_text(margin_lua(RAISED_SHARES))
    p = ctl(data, "policy", "push", "--vendor", "sentinel", "--kind", "margin", lonely, rc=1)
    assert "lonely.vectors.json: cannot open" in p.stderr, p.stderr
    notlist = tmp_path / "notlist.json"
    notlist.write_text('{"name": "x"}')
    p = ctl(data, "policy", "push", "--vendor", "sentinel", "--kind", "margin", "--vectors", notlist, script, rc=1)
    assert "the test vectors must be a JSON array" in p.stderr, p.stderr
    loop = tmp_path / "loop.lua"
    loop.write_text("function margin(line)\n  while true do end\nend\n")
    p = ctl(data, "policy", "push", "--vendor", "sentinel", "--kind", "margin", "--vectors", good, loop, rc=1)
    assert "instruction budget exceeded" in p.stderr, p.stderr
    after = ctl_list(data)
    assert set(after) == set(before) | {("margin", 2)}, after

    env.start()
    assert versions(env.policies()) == {1: "active", 2: "ready"}


def test_cli_push_takes_what_the_api_takes(env, tmp_path):
    """renewctl policy push stored what POST /api/v1/policies refuses: no
    test vectors at all ("0 test vectors passed", a version activated
    untested), more than 1000, a note longer than 255 bytes (cut short) or
    not UTF-8.  The same rules now, naming the option, exit 2, nothing
    stored."""
    env.stop()
    data = env.data
    before = ctl_list(data)
    vec = json.loads(EXAMPLE_VECTORS.read_text())
    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    p = ctl(data, "policy", "push", "--vendor", "sentinel", "--kind", "margin", "--vectors", empty, EXAMPLE, rc=2)
    assert "--vectors" in p.stderr and "1 to 1000" in p.stderr, p.stderr
    tiny = tmp_path / "many.json"
    tiny.write_text(json.dumps([vec[0]] * 1001, separators=(",", ":")))
    if tiny.stat().st_size < 65536:
        p = ctl(data, "policy", "push", "--vendor", "sentinel", "--kind", "margin", "--vectors", tiny, EXAMPLE, rc=2)
        assert "1 to 1000" in p.stderr, p.stderr
    p = ctl(data, "policy", "push", "--vendor", "sentinel", "--kind", "margin", "--note", "n" * 256, EXAMPLE, rc=2)
    assert "--note" in p.stderr and "255" in p.stderr, p.stderr
    p = ctl(data, "policy", "push", "--vendor", "sentinel", "--kind", "margin", "--note", "bad\udcff", EXAMPLE, rc=2)
    assert "--note" in p.stderr and "UTF-8" in p.stderr, p.stderr
    assert ctl_list(data) == before
    p = ctl(data, "policy", "push", "--vendor", "sentinel", "--kind", "margin", "--note", "n" * 255, EXAMPLE)
    assert "version 2 stored" in p.stdout, p.stdout


def test_cli_dry_run_prints_the_api_report(env):
    v = env.upload_ok("margin", margin_lua(RAISED_SHARES), model_vectors(RAISED_SHARES))["version"]
    api_report = env.dry_run(v).json()
    lines = live_lines(env.admin)
    env.stop()
    p = ctl(env.data, "policy", "dry-run", "--vendor", "sentinel", "--kind", "margin", "--version", v)
    report = json.loads(p.stdout)
    assert report == api_report
    check_report(report, lines, DEFAULT_SHARES, RAISED_SHARES, v)
    p = ctl(env.data, "policy", "dry-run", "--vendor", "sentinel", "--kind", "routing", "--version", 1, rc=2)
    assert "dry runs compare margin policies" in p.stderr and p.stdout == "", p
    p = ctl(env.data, "policy", "dry-run", "--vendor", "sentinel", "--kind", "margin", "--version", 7, rc=1)
    assert "no margin policy version 7" in p.stderr, p.stderr
    env.start()
    assert env.policies()["margin"]["active"] == 1
    assert len(env.audit()) == 5  # the seeding (4) and the upload: the dry runs wrote nothing


def test_cli_activate_rolls_back(env):
    env.stop()
    data = env.data
    ctl(data, "policy", "push", "--vendor", "sentinel", "--kind", "margin", "--activate", EXAMPLE)
    assert ctl_list(data)[("margin", 2)][0] == "active"
    env.start()
    assert env.admin.get("/api/v1/vendor")["margin_version"] == 2
    env.stop()
    p = ctl(data, "policy", "activate", "--vendor", "sentinel", "--kind", "margin", "--version", 1)
    assert p.stdout.strip() == "margin policy version 1 is active", p.stdout
    listing = ctl_list(data)
    assert listing[("margin", 1)][0] == "active" and listing[("margin", 2)][0] == "retired", listing
    p = ctl(data, "policy", "activate", "--vendor", "sentinel", "--kind", "margin", "--version", 9, rc=1)
    assert "no margin policy version 9" in p.stderr, p.stderr
    p = ctl(data, "policy", "activate", "--vendor", "othervendor", "--kind", "margin", "--version", 2, rc=1)
    assert "no margin policy version 2" in p.stderr, p.stderr
    env.start()
    assert env.admin.get("/api/v1/vendor")["margin_version"] == 1
    assert versions(env.policies()) == {1: "active", 2: "retired"}
    assert env.c["other"].get("/api/v1/vendor")["margin_version"] == 1
    last = env.audit()[-1]
    assert last["note"] == "margin policy: version 1 active (was 2), a roll back" and last["user_id"] is None, last


def test_cli_writes_beside_a_running_renewd(env):
    """renewctl's policy writes run beside a running renewd (LMDB's
    multi-process writes, docs/operations.md), which serves the new version
    from its next request, no restart."""
    p = ctl(env.data, "policy", "push", "--vendor", "sentinel", "--kind", "margin", "--activate", EXAMPLE, rc=0)
    assert "writing beside it" in p.stderr and "no restart" in p.stderr, p.stderr
    assert env.admin.get("/api/v1/vendor")["margin_version"] == 2
    p = ctl(env.data, "policy", "activate", "--vendor", "sentinel", "--kind", "margin", "--version", 1, rc=0)
    assert env.admin.get("/api/v1/vendor")["margin_version"] == 1


@pytest.mark.parametrize("args, rc, message", [
    (["policy", "list"], 1, 'no vendor with slug "" (--vendor)'),
    (["policy", "show", "--kind", "margin", "--version", "1"], 1, 'no vendor with slug "" (--vendor)'),
    (["policy", "list", "--vendor", "nosuch"], 1, 'no vendor with slug "nosuch"'),
    (["policy"], 2, "policy list|push|show|dry-run|activate"),
    (["policy", "push", "--vendor", "sentinel", "--kind", "pricing", str(EXAMPLE)], 2, "--kind must be margin or routing"),
    (["policy", "push", "--vendor", "sentinel", "--kind", "margin"], 2, "needs the script file last"),
    (["policy", "show", "--vendor", "sentinel", "--kind", "margin"], 2, "--version N is needed"),
    (["policy", "show", "--vendor", "sentinel", "--kind", "margin", "--version", "5"], 1, "no margin policy version 5"),
    (["policy", "frobnicate", "--vendor", "sentinel", "--kind", "margin", "--version", "1"], 2,
     "unknown policy command frobnicate"),
])
def test_cli_usage_errors(store, args, rc, message):
    p = ctl(store, *args, rc=rc)
    assert message in p.stderr, p.stderr
