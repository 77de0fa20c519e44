"""docs/openapi.yaml describes the API renewd serves: every route of
`renewd --routes` is in the document and every documented operation is a
route; every $ref resolves; and what a live daemon answers (lists, the caller,
the vendor, single records, new records, policies, sessions, errors) has
exactly the keys, types and statuses the document gives.  The lint
(Redocly) is tests/openapi-lint."""
import json
import re
import subprocess
import time

import pytest

from conftest import RENEWD, REPO, demo_load, http_request, renewctl

try:
    import yaml
except ImportError:  # python3-yaml is in scripts/deps
    pytest.fail("python3-yaml is missing: run scripts/deps", pytrace=False)

SPEC_PATH = REPO / "docs" / "openapi.yaml"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def spec():
    with open(SPEC_PATH, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    assert isinstance(doc, dict) and str(doc.get("openapi", "")).startswith("3.1"), "not an OpenAPI 3.1 document"
    return doc


def routes():
    """{(METHOD, pattern)} from `renewd --routes`."""
    p = subprocess.run([str(RENEWD), "--routes"], capture_output=True, text=True, timeout=10)
    assert p.returncode == 0, p.stderr
    out = set()
    for line in p.stdout.splitlines():
        m = re.fullmatch(r"([A-Z]+) (/\S*)", line)
        assert m, f"unexpected line in renewd --routes: {line!r}"
        out.add((m.group(1), m.group(2)))
    assert out, "renewd --routes listed nothing"
    return out


def documented(spec):
    return {(m.upper(), path) for path, item in spec["paths"].items() for m in item if m in METHODS}


# ---- the document and the route table --------------------------------------


def test_every_route_is_documented(spec):
    missing = routes() - documented(spec)
    assert not missing, f"routes missing from docs/openapi.yaml: {sorted(missing)}"


def test_every_documented_operation_is_a_route(spec):
    extra = documented(spec) - routes()
    assert not extra, f"docs/openapi.yaml documents operations renewd does not serve: {sorted(extra)}"


def test_path_parameters_are_declared(spec):
    """Every {name} in a path is a declared path parameter, and only those."""
    bad = []
    for path, item in spec["paths"].items():
        names = set(re.findall(r"\{([^}]+)\}", path))
        for m in METHODS:
            if m not in item:
                continue
            params = [resolve(spec, p) for p in item.get("parameters", []) + item[m].get("parameters", [])]
            declared = {p["name"] for p in params if p["in"] == "path"}
            if declared != names:
                bad.append(f"{m.upper()} {path}: path parameters {sorted(declared)}, template {sorted(names)}")
    assert not bad, "\n".join(bad)


# ---- references ---------------------------------------------------------------


def pointer(doc, ref):
    """The node a local reference ("#/a/b~1c") points at; KeyError if none."""
    assert ref.startswith("#/"), f"only local references are used here, not {ref!r}"
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            node = node[int(part)]
        else:
            node = node[part]
    return node


def resolve(doc, node):
    seen = set()
    while isinstance(node, dict) and "$ref" in node and len(node) == 1:
        assert node["$ref"] not in seen, f"reference loop at {node['$ref']}"
        seen.add(node["$ref"])
        node = pointer(doc, node["$ref"])
    return node


def all_refs(node, where="#"):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                yield where, v
            else:
                yield from all_refs(v, f"{where}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from all_refs(v, f"{where}/{i}")


def test_every_ref_resolves(spec):
    refs = list(all_refs(spec))
    assert refs, "the document has no $ref at all"
    broken = []
    for where, ref in refs:
        try:
            pointer(spec, ref)
        except (KeyError, IndexError, ValueError, TypeError, AssertionError):
            broken.append(f"{where}: {ref}")
    assert not broken, "unresolved references:\n" + "\n".join(broken)


def test_every_component_schema_is_used(spec):
    used = {ref for _, ref in all_refs(spec)}
    unused = [n for n in spec["components"]["schemas"] if f"#/components/schemas/{n}" not in used]
    assert not unused, f"schemas nothing refers to: {unused}"


def is_page(spec, path):
    """Pages (tag "pages") answer people, in HTML, and are tested by the
    page suites; the JSON checks here leave them out."""
    item = spec["paths"].get(path, {})
    return any("pages" in item.get(m, {}).get("tags", []) for m in METHODS)


def test_every_error_response_is_the_error_shape(spec):
    """4xx and 5xx answers are all {"error": {"code", "message", "field"}}
    (policy uploads add the failing vectors): the document says so. Pages
    answer their errors with a page (text/html) but keep the shape for the
    answers the server gives before a page handler runs (405, 413)."""
    bad = []
    for path, item in spec["paths"].items():
        for m in METHODS:
            for status, resp in item.get(m, {}).get("responses", {}).items():
                if str(status)[0] not in "45" or (path, str(status)) == ("/healthz", "503"):
                    continue  # /healthz answers 503 with its own report
                resp = resolve(spec, resp)
                if is_page(spec, path) and "text/html" in resp.get("content", {}):
                    continue
                schema = resp.get("content", {}).get("application/json", {}).get("schema")
                if schema == {"$ref": "#/components/schemas/Error"}:
                    continue
                shape = flatten(spec, schema) if schema else {}
                err = flatten(spec, shape.get("properties", {}).get("error", {}))
                keys = set(err.get("required", []))
                if shape.get("required") != ["error"] or not {"code", "message", "field"} <= keys:
                    bad.append(f"{m.upper()} {path} {status}")
    assert not bad, f"error responses without the error shape: {bad}"


# ---- a small validator: the subset of JSON Schema the document uses -----------


def flatten(doc, schema):
    """Merges $ref targets and allOf branches into one schema: properties
    and required add up, other keywords the later wins."""
    schema = dict(schema)
    out = {}

    def merge(part):
        for k, v in part.items():
            if k == "properties":
                out.setdefault("properties", {}).update(v)
            elif k == "required":
                out["required"] = sorted(set(out.get("required", [])) | set(v))
            else:
                out[k] = v

    if "$ref" in schema:
        merge(flatten(doc, pointer(doc, schema.pop("$ref"))))
    for sub in schema.pop("allOf", []):
        merge(flatten(doc, sub))
    merge(schema)
    return out


def json_type(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


FORMATS = {
    "date": re.compile(r"\d{4}-\d{2}-\d{2}"),
    "date-time": re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})"),
}


def check(doc, schema, value, where, errors):
    """Appends to errors every way value departs from schema.  An object
    must carry every required key and no key the schema does not list."""
    s = flatten(doc, schema)
    t = json_type(value)
    types = s.get("type")
    if types is not None:
        types = [types] if isinstance(types, str) else types
        if t not in types and not (t == "integer" and "number" in types):
            errors.append(f"{where}: {t} {value!r:.80}, documented {types}")
            return
    if "enum" in s and value not in s["enum"]:
        errors.append(f"{where}: {value!r} is not one of {s['enum']}")
    if t == "string":
        fmt = FORMATS.get(s.get("format"))
        if fmt and not fmt.fullmatch(value):
            errors.append(f"{where}: {value!r} is not a {s['format']}")
        if "pattern" in s and not re.search(s["pattern"], value):
            errors.append(f"{where}: {value!r} does not match {s['pattern']}")
        if "maxLength" in s and len(value) > s["maxLength"]:
            errors.append(f"{where}: longer than {s['maxLength']}")
    if t in ("integer", "number"):
        if "minimum" in s and value < s["minimum"]:
            errors.append(f"{where}: {value} < minimum {s['minimum']}")
        if "maximum" in s and value > s["maximum"]:
            errors.append(f"{where}: {value} > maximum {s['maximum']}")
    if t == "array" and "items" in s:
        for i, v in enumerate(value):
            check(doc, s["items"], v, f"{where}[{i}]", errors)
    if t == "object" and ("properties" in s or "required" in s):
        props = s.get("properties", {})
        missing = [k for k in s.get("required", []) if k not in value]
        extra = [k for k in value if k not in props]
        if missing:
            errors.append(f"{where}: required keys missing: {missing}")
        if extra:
            errors.append(f"{where}: keys the document does not list: {extra}")
        for k, v in value.items():
            if k in props:
                check(doc, props[k], v, f"{where}.{k}", errors)


def summary(errors):
    """One line per distinct problem: item indexes folded, with a count."""
    counts = {}
    for e in errors:
        k = re.sub(r"\[\d+\]", "[]", e)
        counts[k] = counts.get(k, 0) + 1
    return "\n".join(f"{k}" + (f"  (x{n})" if n > 1 else "") for k, n in counts.items())


def operation(spec, method, route):
    item = spec["paths"].get(route)
    assert item and method.lower() in item, f"{method} {route} is not in docs/openapi.yaml"
    return item[method.lower()]


def check_response(spec, method, route, resp, errors):
    """The status is documented for the operation, and the body matches the
    schema documented for that status and media type."""
    where = f"{method} {route} -> {resp.status}"
    responses = operation(spec, method, route)["responses"]
    doc_resp = responses.get(str(resp.status))
    if doc_resp is None:
        errors.append(f"{where}: status not documented (documented: {sorted(responses)})")
        return None
    doc_resp = resolve(spec, doc_resp)
    content = doc_resp.get("content")
    if not content:
        if resp.body:
            errors.append(f"{where}: documented without a body, answered {resp.body[:80]!r}")
        return None
    ctype = resp.headers.get("content-type", "").split(";")[0].strip()
    if ctype not in content and f"{ctype.split('/')[0]}/*" not in content and "*/*" not in content:
        errors.append(f"{where}: content-type {ctype!r}, documented {sorted(content)}")
        return None
    if ctype != "application/json" or ctype not in content:  # a media range: the body as it is
        return resp.body
    body = json.loads(resp.body)
    check(spec, content[ctype]["schema"], body, where, errors)
    return body


# ---- live ------------------------------------------------------------------------


class Api:
    def __init__(self, d, token):
        self.d, self.token = d, token

    def call(self, method, path, body=None, headers=None, auth=True, raw=None):
        h = {"Authorization": f"Bearer {self.token}"} if auth else {}
        h.update(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        return http_request(self.d.port, method, path, body=data, headers=h, timeout=10.0)


@pytest.fixture
def live(daemon, tmp_path):
    """renewd on the demo store, with a vendor admin (API token) made by
    renewctl and a partner admin of the distributor with a password."""
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    p = renewctl("user", "create", "--vendor", "sentinel", "--email", "a@b.example", "--role", "vendor-admin",
                 data=data, check=True)
    token = p.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"rd_[A-Za-z0-9_-]{43}", token), p.stdout
    p = renewctl("user", "create", "--vendor", "sentinel", "--email", "pa@b.example", "--role", "partner-admin",
                 "--partner", "1", "--password-stdin", data=data, input=PASSWORD + "\n", timeout=60)
    assert p.returncode == 0, p.stderr
    return Api(daemon(data=data), token)


def make_activity(spec, api, errors):
    """Creates what the demo lacks, so that no list is empty: a contact
    (create and change: audit entries), an API token and a dry-run import."""
    r = api.call("POST", "/api/v1/contacts", {"customer_id": 1, "name": "Ada Price", "email": "ada@abbott.example",
                                              "external_id": "CT-1"})
    contact = check_response(spec, "POST", "/api/v1/contacts", r, errors)
    assert r.status == 201, r
    r = api.call("PATCH", f"/api/v1/contacts/{contact['id']}", {"title": "IT lead", "customer_id": 2})
    check_response(spec, "PATCH", "/api/v1/contacts/{id}", r, errors)
    assert r.status == 200, r
    r = api.call("POST", "/api/v1/tokens", {"name": "openapi test", "expires_in_days": 30})
    check_response(spec, "POST", "/api/v1/tokens", r, errors)
    assert r.status == 201, r
    r = api.call("POST", "/api/v1/webhooks/subscriptions", {"url": "http://127.0.0.1:9/hook", "events": ["order.paid"]})
    check_response(spec, "POST", "/api/v1/webhooks/subscriptions", r, errors)
    assert r.status == 201, r
    # a partner's inbound batch refused whole (422): it stays in the inbox with its feed's report
    r = api.call("POST", "/api/v1/webhooks/subscriptions",
                 {"url": "http://127.0.0.1:9/hook", "events": ["order.paid"], "partner_id": 1})
    assert r.status == 201, r
    from test_feeds2 import sign
    sub, body, ts = r.json(), b'[{"external_id": "NOT-KNOWN-1"}]', str(int(time.time()))
    vendor = api.call("GET", "/api/v1/vendor").json()["id"]
    r = api.call("POST", f"/webhooks/inbound/{sub['id']}?vendor={vendor}", raw=body, auth=False,
                 headers={"Content-Type": "application/json", "webhook-id": "openapi-1", "webhook-timestamp": ts,
                          "webhook-signature": sign(sub["secret"], "openapi-1", ts, body)})
    check_response(spec, "POST", "/webhooks/inbound/{id}", r, errors)
    assert r.status == 422, r
    csv = b"external_id,name,email,country\nCUST-9001,New Customer,it@new.example,GB\nCUST-9002,,x,GBR\n"
    r = api.call("POST", "/api/v1/imports?kind=customers&dry_run=true&atomic=false", raw=csv,
                 headers={"Content-Type": "text/csv"})
    imp = check_response(spec, "POST", "/api/v1/imports", r, errors)
    assert r.status == 202, r
    r = api.call("POST", "/api/v1/feeds?dry_run=true", raw=b"external_id,quantity\nK-20001,7\n",
                 headers={"Content-Type": "text/csv"})
    check_response(spec, "POST", "/api/v1/feeds", r, errors)
    assert r.status == 202, r
    # a document on contract 1
    r = api.call("POST", "/api/v1/contracts/1/documents?name=contract.bin&kind=contract", raw=b"\x00\x01bytes",
                 headers={"Content-Type": "application/octet-stream"})
    check_response(spec, "POST", "/api/v1/contracts/{id}/documents", r, errors)
    assert r.status == 201, r
    # a deal registration (docs/programmes.md), approved and won with its proof
    r = api.call("POST", "/api/v1/deals", {"partner_id": 2, "customer": {"name": "Openapi Deal Ltd"},
                                           "products": [1], "close_date": "2099-01-01"})
    deal = check_response(spec, "POST", "/api/v1/deals", r, errors)
    assert r.status == 201, r
    r = api.call("POST", f"/api/v1/deals/{deal['id']}/approve", {})
    check_response(spec, "POST", "/api/v1/deals/{id}/approve", r, errors)
    assert r.status == 200, r
    r = api.call("POST", f"/api/v1/deals/{deal['id']}/win?name=proof.bin", raw=b"\x00proof",
                 headers={"Content-Type": "application/octet-stream"})
    check_response(spec, "POST", "/api/v1/deals/{id}/win", r, errors)
    assert r.status == 200, r
    # an order (docs/orders.md), paid and fulfilled
    r = api.call("POST", "/api/v1/plugins/payment-po/enablements", {"config": {}})
    assert r.status == 201, r
    opp = api.call("GET", "/api/v1/opportunities?state=pending_decision&limit=1").json()["items"][0]
    r = api.call("POST", f"/api/v1/opportunities/{opp['id']}/decision", {"publish": "vendor"})
    assert r.status == 200, r
    body = {"opportunity_id": opp["id"], "payment_option": "purchase_order", "po_number": "PO-1"}
    r = api.call("POST", "/api/v1/orders", body, headers={"Idempotency-Key": "openapi-1"})
    order = check_response(spec, "POST", "/api/v1/orders", r, errors)
    assert r.status == 201, r
    r = api.call("POST", "/api/v1/orders", body, headers={"Idempotency-Key": "openapi-1"})
    check_response(spec, "POST", "/api/v1/orders", r, errors)
    assert r.status == 200, r
    r = api.call("POST", f"/api/v1/orders/{order['id']}/payments", {"amount": order["total"], "reference": "T-1"})
    check_response(spec, "POST", "/api/v1/orders/{id}/payments", r, errors)
    assert r.status == 200 and r.json()["state"] == "fulfilled", r
    # a lead, qualified, routed (docs/programmes.md), and a routing dry run
    r = api.call("POST", "/api/v1/leads", {"company": "Lead Co", "email": "ann@lead.example", "country": "GB"})
    lead = check_response(spec, "POST", "/api/v1/leads", r, errors)
    assert r.status == 201, r
    r = api.call("POST", f"/api/v1/leads/{lead['id']}/qualify", {"product": "WSG-STD", "region": "london"})
    check_response(spec, "POST", "/api/v1/leads/{id}/qualify", r, errors)
    assert r.status == 200, r
    r = api.call("POST", f"/api/v1/leads/{lead['id']}/route")
    check_response(spec, "POST", "/api/v1/leads/{id}/route", r, errors)
    assert r.status == 200, r
    r = api.call("POST", "/api/v1/leads/dry-run", {"version": 1, "last": 5})
    check_response(spec, "POST", "/api/v1/leads/dry-run", r, errors)
    assert r.status == 200, r
    deadline = time.monotonic() + 20
    while True:
        r = api.call("GET", f"/api/v1/imports/{imp['id']}")
        assert r.status == 200, r
        if r.json()["status"] != "running":
            break
        assert time.monotonic() < deadline, f"import still running: {r.body[:300]!r}"
        time.sleep(0.05)


def test_live_answers_match_the_document(spec, live):
    """GET on every parameterless GET route (every list, /api/v1/me,
    /api/v1/vendor, health...), then GET of the first item of each list by
    id: statuses, media types, keys and types as documented."""
    errors = []
    make_activity(spec, live, errors)
    get_routes = sorted(p for m, p in routes() & documented(spec) if m == "GET")
    bodies = {}
    for route in get_routes:
        if "{" in route or route == "/api/v1/portal" or is_page(spec, route) or route.startswith("/api/v1/operator/"):
            continue  # the portal takes a customer's link (see below); pages have their own suites;
            # the operator's routes take an operator token (test_operator.py)
        r = live.call("GET", route)
        assert r.status == 200, f"GET {route}: {r}"
        bodies[route] = check_response(spec, "GET", route, r, errors)
    lists = {route: b for route, b in bodies.items() if isinstance(b, dict) and "items" in b}
    for route in ("/api/v1/partners", "/api/v1/customers", "/api/v1/contacts", "/api/v1/products",
                  "/api/v1/contracts", "/api/v1/users", "/api/v1/tokens", "/api/v1/audit", "/api/v1/imports",
                  "/api/v1/feeds"):
        assert route in lists, f"GET {route} did not answer a list"
        assert lists[route]["items"], f"GET {route} answered an empty list: nothing was checked"
    assert "/api/v1/me" in bodies and "/api/v1/vendor" in bodies
    # single records, by the id of each list's first item
    for route in get_routes:
        if "{" not in route or is_page(spec, route) or route.startswith("/api/v1/operator/"):
            continue
        if route == "/api/v1/policies/{kind}/{version}":
            url = f"/api/v1/policies/margin/{bodies['/api/v1/policies']['margin']['versions'][0]['version']}"
        elif route == "/api/v1/plugins/{name}/enablements":  # by the first plugin's name (a built-in)
            url = f"/api/v1/plugins/{bodies['/api/v1/plugins']['items'][0]['name']}/enablements"
        elif route.startswith("/api/v1/opportunities/{id}/"):  # the first opportunity's quote, links...
            url = route.replace("{id}", str(lists["/api/v1/opportunities"]["items"][0]["id"]))
        elif route.startswith("/api/v1/contracts/{id}/"):  # contract 1 holds the document make_activity added
            url = route.replace("{id}", "1")
        elif route.startswith("/api/v1/documents/{id}"):
            url = route.replace("{id}", str(live.call("GET", "/api/v1/contracts/1/documents").json()["items"][0]["id"]))
        elif route.startswith("/api/v1/deals/{id}/"):  # the won registration's proof
            url = route.replace("{id}", str(lists["/api/v1/deals"]["items"][0]["id"]))
        elif route.startswith("/api/v1/statements/{id}"):
            continue  # statements need the test clock: test_live_statements_match_the_document
        else:
            assert route.endswith("/{id}") and "{" not in route[: -len("/{id}")], \
                f"this test does not know how to fill in the parameters of GET {route}: teach it"
            base = route[: -len("/{id}")]
            assert base in lists, f"no list to take an id for GET {route} from"
            url = f"{base}/{lists[base]['items'][0]['id']}"
        r = live.call("GET", url)
        assert r.status == 200, f"GET {url}: {r}"
        check_response(spec, "GET", route, r, errors)
    assert not errors, "live answers that differ from docs/openapi.yaml:\n" + summary(errors)
    live.d.stop()  # a clean exit (under ASan: no leaks on these paths)


def test_live_pagination_follows_the_document(spec, live):
    """For every list that documents `limit` and `cursor` (and the audit
    log's filters), walking next_cursor two items at a time gives exactly
    the items of one large page, in the same order."""
    errors = []
    make_activity(spec, live, errors)
    ids = []
    for name in ("B", "C"):  # audit entries of different contacts, interleaved
        r = live.call("POST", "/api/v1/contacts", {"customer_id": 3, "name": name})
        assert r.status == 201, r
        ids.append(r.json()["id"])
    for i in ids + ids[:1]:
        r = live.call("PATCH", f"/api/v1/contacts/{i}", {"title": f"t{i}"})
        assert r.status == 200, r
    me = live.call("GET", "/api/v1/me").json()["id"]
    urls = []
    for m, route in sorted(routes() & documented(spec)):
        params = [resolve(spec, p) for p in operation(spec, m, route).get("parameters", [])]
        if m == "GET" and {"limit", "cursor"} <= {p["name"] for p in params} and not route.startswith("/api/v1/operator/"):
            urls.append((route, route))
    urls += [("/api/v1/audit", "/api/v1/audit?object=contacts"), ("/api/v1/audit", f"/api/v1/audit?user={me}"),
             ("/api/v1/audit", f"/api/v1/audit?object=contacts&object_id={ids[0]}")]
    for route, url in urls:
        sep = "&" if "?" in url else "?"
        r = live.call("GET", f"{url}{sep}limit=500")
        whole = check_response(spec, "GET", route, r, errors)
        assert r.status == 200 and whole["next_cursor"] is None, r
        walked, cursor = [], None
        for _ in range(len(whole["items"]) + 2):
            r = live.call("GET", f"{url}{sep}limit=2" + (f"&cursor={cursor}" if cursor else ""))
            page = check_response(spec, "GET", route, r, errors)
            assert r.status == 200 and len(page["items"]) <= 2, r
            walked += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        want = [item["id"] for item in whole["items"]]
        if walked != want:
            errors.append(f"GET {url}: pages of 2 gave ids {walked}, one page {want}")
    assert not errors, summary(errors)
    live.d.stop()


def test_live_policies_match_the_document(spec, live):
    """Upload a margin version (and one whose vectors fail), dry-run it,
    activate it: the answers are as documented."""
    errors = []
    src = (REPO / "scripts" / "policies" / "margin-reseller.lua").read_text()
    vectors = json.loads((REPO / "scripts" / "policies" / "margin-reseller.vectors.json").read_text())
    r = live.call("POST", "/api/v1/policies/margin", {"source": src, "vectors": vectors, "note": "openapi test"})
    new = check_response(spec, "POST", "/api/v1/policies/{kind}", r, errors)
    assert r.status == 201, r
    bad = [dict(v, expect=[["reseller", 9999]]) if "expect" in v else v for v in vectors]
    r = live.call("POST", "/api/v1/policies/margin", {"source": src, "vectors": bad})
    check_response(spec, "POST", "/api/v1/policies/{kind}", r, errors)
    assert r.status == 422 and r.json()["error"]["code"] == "vectors_failed", r
    r = live.call("POST", "/api/v1/policies/margin", {"source": "function margin(", "vectors": vectors})
    check_response(spec, "POST", "/api/v1/policies/{kind}", r, errors)
    assert r.status == 422 and r.json()["error"]["code"] == "policy_error", r
    r = live.call("POST", f"/api/v1/policies/margin/{new['version']}/dry-run")
    report = check_response(spec, "POST", "/api/v1/policies/{kind}/{version}/dry-run", r, errors)
    assert r.status == 200 and report["lines_changed"] and report["largest_changes"], r
    r = live.call("POST", f"/api/v1/policies/margin/{new['version']}/activate")
    check_response(spec, "POST", "/api/v1/policies/{kind}/{version}/activate", r, errors)
    assert r.status == 200, r
    r = live.call("GET", "/api/v1/policies")
    listed = check_response(spec, "GET", "/api/v1/policies", r, errors)
    assert listed["margin"]["active"] == new["version"], listed
    for method, url, route, status in [
            ("GET", "/api/v1/policies/pricing/1", "/api/v1/policies/{kind}/{version}", 404),
            ("POST", "/api/v1/policies/routing/1/dry-run", "/api/v1/policies/{kind}/{version}/dry-run", 400)]:
        r = live.call(method, url)
        assert r.status == status, f"{method} {url}: {r}"
        check_response(spec, method, route, r, errors)
    assert not errors, summary(errors)
    live.d.stop()


def test_live_session_matches_the_document(spec, live):
    """Log in with a password (a partner admin: partner_scope is not
    empty), ask who I am with the cookie, log out."""
    errors = []
    r = live.call("POST", "/api/v1/session", {"vendor": "sentinel", "email": "PA@b.example", "password": PASSWORD},
                  auth=False)
    check_response(spec, "POST", "/api/v1/session", r, errors)
    assert r.status == 200, r
    m = re.match(r"rd_session=([^;]+);", r.headers.get("set-cookie", ""))
    assert m, r.headers
    cookie = {"Cookie": f"rd_session={m.group(1)}"}
    r = live.call("GET", "/api/v1/me", headers=cookie, auth=False)
    me = check_response(spec, "GET", "/api/v1/me", r, errors)
    assert r.status == 200 and me["partner_id"] == 1 and me["partner_scope"], r
    r = live.call("DELETE", "/api/v1/session", headers=cookie, auth=False)
    check_response(spec, "DELETE", "/api/v1/session", r, errors)
    assert r.status == 204, r
    assert not errors, summary(errors)
    live.d.stop()


def test_live_errors_are_documented(spec, live):
    """Refusals come with a documented status and the Error shape."""
    errors = []
    cases = [
        ("GET", "/api/v1/partners", "/api/v1/partners?colour=red", None, False, 401),
        ("GET", "/api/v1/partners", "/api/v1/partners?colour=red", None, True, 400),
        ("GET", "/api/v1/contracts", "/api/v1/contracts?limit=501", None, True, 400),
        ("GET", "/api/v1/contracts/{id}", "/api/v1/contracts/99999", None, True, 404),
        ("PATCH", "/api/v1/contracts/{id}", "/api/v1/contracts/1", {"colour": "red"}, True, 400),
        ("POST", "/api/v1/products", "/api/v1/products", {"sku": "WSG-STD", "name": "Again"}, True, 409),
        ("DELETE", "/api/v1/customers/{id}", "/api/v1/customers/1", None, True, 409),
        ("POST", "/api/v1/customers/{id}/merge", "/api/v1/customers/1/merge", {"from": [1]}, True, 400),
        ("DELETE", "/api/v1/tokens/{id}", "/api/v1/tokens/99999", None, True, 404),
        ("GET", "/api/v1/imports", "/api/v1/imports?limit=5", None, True, 400),
        ("POST", "/api/v1/session", "/api/v1/session", {"vendor": "sentinel", "email": "pa@b.example",
                                                        "password": "wrong-password"}, False, 401),
    ]
    for method, route, url, body, auth, status in cases:
        r = live.call(method, url, body, auth=auth)
        assert r.status == status, f"{method} {url}: expected {status}, got {r}"
        check_response(spec, method, route, r, errors)
    # a method the path does not take: 405, which every operation of the path documents
    r = live.call("PUT", "/api/v1/vendor", {"name": "x"})
    assert r.status == 405, r
    for m in ("get", "patch"):
        check_response(spec, m.upper(), "/api/v1/vendor", r, errors)
    # a partner admin may not change the vendor: 403
    r = live.call("POST", "/api/v1/session", {"vendor": "sentinel", "email": "pa@b.example", "password": PASSWORD},
                  auth=False)
    assert r.status == 200, r
    cookie = r.headers["set-cookie"].split(";")[0]
    r = live.call("PATCH", "/api/v1/vendor", {"name": "x"}, headers={"Cookie": cookie}, auth=False)
    assert r.status == 403, r
    check_response(spec, "PATCH", "/api/v1/vendor", r, errors)
    assert not errors, summary(errors)
    live.d.stop()


def test_live_renewals_match_the_document(spec, live):
    """The renewal routes: the clock (the real one here: setting it is
    refused), the schedule, a decision, the outbox, the customer's link
    (taken from the customer notice in the mail folder), a customer's
    request and its task."""
    errors = []

    def call(method, route, url=None, body=None, status=200, **kw):
        r = live.call(method, url or route, body, **kw)
        assert r.status == status, f"{method} {url or route}: expected {status}, got {r}"
        return check_response(spec, method, route, r, errors)

    for route in ("/api/v1/clock", "/api/v1/schedule"):
        call("GET", route)
    call("POST", "/api/v1/clock", body={"date": "2099-01-01"}, status=409)
    call("POST", "/api/v1/clock", body={"date": "soon"}, status=400)
    call("GET", "/api/v1/schedule", "/api/v1/schedule?days=401", status=400)
    pending = call("GET", "/api/v1/opportunities", "/api/v1/opportunities?state=pending_decision&limit=500")["items"]
    assert pending, "the first sweep made no opportunity"
    opp = pending[0]
    route = "/api/v1/opportunities/{id}/decision"
    url = f"/api/v1/opportunities/{opp['id']}/decision"
    call("POST", route, url, {"publish": "sideways"}, status=400)
    call("POST", route, url, {"publish": "vendor"})
    call("POST", route, url, {"publish": "vendor"}, status=409)
    call("GET", "/api/v1/opportunities/{id}", f"/api/v1/opportunities/{opp['id']}")
    call("GET", "/api/v1/opportunities", "/api/v1/opportunities?attention=maybe", status=400)
    # the customer notice, delivered into DATA/mail: its link token opens the portal
    token, deadline = None, time.monotonic() + 20
    while token is None:
        for eml in (live.d.data / "mail").glob("*.eml"):
            raw = eml.read_bytes()
            if f"X-Renewd-Ref: notice:{opp['id']}\r\n".encode() in raw:
                token = re.search(rb"/c/(rd_[A-Za-z0-9_-]{43})", raw).group(1).decode()
        assert token or time.monotonic() < deadline, "the customer notice was not delivered"
        time.sleep(0.05)
    link = {"Authorization": f"Bearer {token}"}
    portal = call("GET", "/api/v1/portal", headers=link, auth=False)
    assert portal["opportunity"]["id"] == opp["id"], portal
    call("GET", "/api/v1/portal", status=401)  # an API token is not a customer's link
    call("POST", "/api/v1/portal/actions", body={"action": "buy"}, headers=link, auth=False, status=400)
    done = call("POST", "/api/v1/portal/actions", body={"action": "callback", "message": "Call me"}, headers=link,
                auth=False, status=201)
    done2 = call("POST", "/api/v1/portal/actions", body={"action": "contact_reseller"}, headers=link, auth=False,
                 status=201)
    tasks = call("GET", "/api/v1/tasks")["items"]
    assert [t["id"] for t in tasks] == [done["task_id"], done2["task_id"]], tasks
    call("PATCH", "/api/v1/tasks/{id}", f"/api/v1/tasks/{done['task_id']}", {"done": 1})
    call("PATCH", "/api/v1/tasks/{id}", "/api/v1/tasks/99999", {"done": 1}, status=404)
    assert call("GET", "/api/v1/outbox", "/api/v1/outbox?kind=task")["items"], "no task e-mail"
    assert not errors, summary(errors)
    live.d.stop()


def test_live_statements_match_the_document(spec, daemon, tmp_path):
    """A paid order's commission entries, and the statement the next month's
    statement day issues (the test clock): list, record, CSV and PDF as
    documented (docs/commissions.md)."""
    import datetime
    errors = []
    data = tmp_path / "store-st"
    data.mkdir()
    demo_load(data)
    p = renewctl("user", "create", "--vendor", "sentinel", "--email", "a@b.example", "--role", "vendor-admin",
                 data=data, check=True)
    api = Api(daemon(data=data, args=["--test-clock", "1"]), p.stdout.strip().splitlines()[-1])
    make_activity(spec, api, errors)
    today = datetime.date.fromisoformat(api.call("GET", "/api/v1/clock").json()["today"])
    day = api.call("GET", "/api/v1/vendor").json()["statement_day"]
    r = api.call("POST", "/api/v1/clock",
                 {"date": (today.replace(day=1) + datetime.timedelta(days=32)).replace(day=day).isoformat()})
    assert r.status == 200, r
    for route in ("/api/v1/commissions", "/api/v1/statements"):
        r = api.call("GET", route)
        body = check_response(spec, "GET", route, r, errors)
        assert r.status == 200 and body["items"], (route, r)
    first = body["items"][0]["id"]
    for route in ("/api/v1/statements/{id}", "/api/v1/statements/{id}/csv", "/api/v1/statements/{id}/pdf"):
        r = api.call("GET", route.replace("{id}", str(first)))
        assert r.status == 200, (route, r)
        check_response(spec, "GET", route, r, errors)
    r = api.call("GET", "/api/v1/statements/999999")
    check_response(spec, "GET", "/api/v1/statements/{id}", r, errors)
    assert r.status == 404, r
    assert not errors, summary(errors)
    api.d.stop()


# ---- a document for typed clients ------------------------------------------------


def test_free_form_objects_say_so(spec):
    """A generated client reads an object schema without properties as an
    empty object (TypeScript: Record<string, never>): every such schema says
    additionalProperties, so a free-form object (a plugin's configuration, an
    audit entry's record) is typed as one."""
    bad = []

    def walk(node, where):
        if isinstance(node, dict):
            t = node.get("type")
            is_obj = t == "object" or (isinstance(t, list) and "object" in t)
            if is_obj and not any(k in node for k in ("properties", "additionalProperties", "patternProperties",
                                                       "allOf", "oneOf", "anyOf", "$ref")):
                bad.append(where)
            for k, v in node.items():
                walk(v, f"{where}/{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}/{i}")

    walk(spec, "#")
    assert not bad, f"object schemas without properties or additionalProperties: {bad}"
    config = spec["components"]["schemas"]["EnablementCreate"]["properties"]["config"]
    assert config.get("additionalProperties") is True, config


def enum_filters(spec):
    """[(list route, query parameter, its enum values)] of every GET list."""
    out = []
    for path, item in spec["paths"].items():
        op = item.get("get")
        if not op or "{" in path or not path.startswith("/api/"):
            continue
        for p in item.get("parameters", []) + op.get("parameters", []):
            p = resolve(spec, p)
            if p.get("in") != "query":
                continue
            schema = resolve(spec, p.get("schema", {}))
            values = schema.get("enum") or resolve(spec, schema.get("items", {})).get("enum")
            if values:
                out.append((path, p["name"], values))
    return out


def companion(live, path, name, value):
    """The other parameters a documented value needs to be answered (the
    reports' CSV names one of the answer's tables; a drill-down to contracts
    names what the contracts are of)."""
    if path.startswith("/api/v1/reports/") and name == "format" and value == "csv":
        tables = live.call("GET", path).json()["tables"]
        return f"&table={sorted(tables)[0]}"
    if path == "/api/v1/reports/drilldown" and name == "by" and value == "contract":
        return "&customer=1"
    return ""


def test_enum_filters_refuse_unknown_values(spec, live):
    """Every list filter with a set of values refuses any other value with a
    400 naming the parameter (a typo is not an empty list), and takes each
    documented value: the document's enum and renewd's agree."""
    filters = enum_filters(spec)
    routes_with = {path for path, _, _ in filters}
    # the filters that answered an empty list to a typo before
    for must in ("/api/v1/orders", "/api/v1/opportunities", "/api/v1/outbox", "/api/v1/leads"):
        assert must in routes_with, f"GET {must}: its state filter has no enum in the document"
    assert ("/api/v1/outbox", "kind") in {(p, n) for p, n, _ in filters}
    wrong = []
    for path, name, values in filters:
        r = live.call("GET", f"{path}?{name}=no-such-{name}")
        err = r.json().get("error", {}) if r.status == 400 else {}
        if r.status != 400 or err.get("field") != name:
            wrong.append(f"GET {path}?{name}=no-such-{name}: {r.status} {r.body[:160]!r}")
        check_response(spec, "GET", path, r, wrong)
        for v in values:
            r = live.call("GET", f"{path}?{name}={v}{companion(live, path, name, v)}")
            if r.status != 200:
                wrong.append(f"GET {path}?{name}={v}: {r.status} {r.body[:160]!r}")
            check_response(spec, "GET", path, r, wrong)
    assert not wrong, "\n".join(wrong)


def test_document_downloads_declare_their_media_type(spec, live):
    """A download is served with the media type it was uploaded with, and the
    document names it: a PDF is application/pdf, for the API and the portal."""
    for route in ("/api/v1/documents/{id}/content", "/api/v1/deals/{id}/proof", "/portal/documents/{id}"):
        content = operation(spec, "GET", route)["responses"]["200"]["content"]
        assert "application/pdf" in content and "application/octet-stream" not in content, (route, sorted(content))
    pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
    r = live.call("POST", "/api/v1/contracts/1/documents?name=Terms.pdf", raw=pdf,
                  headers={"Content-Type": "application/pdf"})
    assert r.status == 201, r
    doc = r.json()
    r = live.call("GET", f"/api/v1/documents/{doc['id']}/content")
    assert r.status == 200 and r.body == pdf, r
    assert r.headers["content-type"].split(";")[0] == "application/pdf", r.headers
    errors = []
    check_response(spec, "GET", "/api/v1/documents/{id}/content", r, errors)
    assert not errors, errors


def test_payment_options_show_their_labels(daemon, tmp_path):
    """The plugin ABI's payment option label (ops V2, appended): the shipped
    payment plugins' labels are in GET /api/v1/plugins and on the customer's
    purchase page instead of the internal names; a V1 plugin built before the
    field (tests/plugins/tp_good.c) still loads and its option shows its name."""
    from conftest import BUILD, ApiClient, api_user
    from test_orders import csrf_of, open_portal, purchase_form

    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    token, uid = api_user(data, email="admin@x.example")
    gold = ApiClient(None, *api_user(data, email="gold@x.example", role="partner-admin", partner="3"))
    pdir = tmp_path / "plugins"
    pdir.mkdir()
    (pdir / "tp-good.so").write_bytes((BUILD / "tests" / "plugins" / "tp-good.so").read_bytes())
    d = daemon(data=data, args=["--test-clock", "1", "--plugin-dir", str(pdir)])
    gold.__init__(d, gold.token, gold.user_id)
    admin = ApiClient(d, token, uid)
    plugins = {p["name"]: p for p in admin.get("/api/v1/plugins")["items"]}
    want = {"payment-po": ["Purchase order"], "payment-bml": ["Bill Me Later (pay on invoice terms)"],
            "payment-card": ["Pay by card"], "tp-good": ["tp_card"]}
    for name, labels in want.items():
        assert plugins[name]["state"] == "loaded" and plugins[name]["labels"] == labels, plugins[name]
    assert len(plugins["tp-good"]["options"]) == len(plugins["tp-good"]["labels"])
    admin.ok("POST", "/api/v1/plugins/payment-po/enablements", {"config": {}}, status=201)
    admin.ok("POST", "/api/v1/plugins/payment-bml/enablements", {"config": {"terms_days": 45}}, status=201)
    admin.ok("POST", "/api/v1/plugins/tp-good/enablements", {"config": {"account": "A-1"}}, status=201)
    o, c, page = open_portal(d, data, gold, admin, "K-20006")
    status, _, body = c.open("/portal/accept", {"csrf": csrf_of(page), "accept": "yes"})
    assert status == 200, body[:300]
    page, _, _ = purchase_form(c)
    shown = dict(re.findall(r'name="option" value="([a-z_]+)"[^>]*>\s*([^<]+?)\s*</label>', page))
    assert shown == {"purchase_order": "Purchase order", "bill_me_later": "Bill Me Later (pay on invoice terms)",
                     "tp_card": "tp_card"}, (shown, page[:2000])
    d.stop()
