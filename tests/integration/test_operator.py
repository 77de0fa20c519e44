"""The platform operator and renewctl beside a running renewd (issue 18, item 2).

A vendor and its first administrator are created through the operator API
(an operator token made by renewctl), then onboarded with renewctl (a user,
an import, a policy, a plugin enablement) while the same renewd keeps
serving: no restart, and every change is served at once.  renewctl reads
renewd's configuration file (--config) instead of --data.  A suspended
vendor's users, tokens and customer links are refused; a vendor admin
cannot use the operator API, and an operator token opens no vendor route.
"""
import json
import re
import time

from conftest import (REPO, RENEWCTL, assert_json_error, demo_load, http_request, renewctl, store_args)

PASSWORD = "operator-test-password"


def call(port, method, path, body=None, token=None, headers=None):
    h = dict(headers or {})
    if token:
        h["Authorization"] = f"Bearer {token}"
    if body is not None:
        h["Content-Type"] = "application/json"
        body = json.dumps(body)
    return http_request(port, method, path, body=body, headers=h)


def write_config(path, data, **options):
    """renewd's configuration file for data (its --store URL too when the
    tests run on PostgreSQL): renewd and renewctl both read it."""
    conf = {"data": str(data), **options}
    store = store_args(data)
    if store:
        conf["store"] = store[1]
    path.write_text(json.dumps(conf))
    return path


def ctl(config, *args, stdin=None):
    import subprocess
    return subprocess.run([str(RENEWCTL), "--config", str(config)] + [str(a) for a in args], input=stdin,
                          capture_output=True, text=True, timeout=30)


def start(daemon, tmp_path, demo=True):
    data = tmp_path / "data"
    data.mkdir()
    if demo:
        demo_load(data)
    config = tmp_path / "renewd.json"
    write_config(config, data, test_clock=1, outbound_hosts="127.0.0.1:9")
    d = daemon(data=data, args=["--config", str(config)])
    return d, config


def operator_token(config):
    p = ctl(config, "operator", "token", "create", "--name", "platform ops")
    assert p.returncode == 0, p.stderr
    token = p.stdout.strip()
    assert re.fullmatch(r"rd_[A-Za-z0-9_-]{43}", token), p.stdout
    return token, p.stderr


def test_vendor_onboarded_through_operator_api_and_renewctl_while_running(daemon, tmp_path):
    d, config = start(daemon, tmp_path, demo=False)
    pid = d.pid
    op, said = operator_token(config)
    # renewctl says that it wrote beside the running renewd, naming it.
    assert f"renewd (pid {pid}) is running" in said and "writing beside it" in said, said
    assert "no restart" in said, said

    r = call(d.port, "POST", "/api/v1/operator/vendors", token=op, body={
        "name": "Acme Security", "slug": "acme", "currency": "GBP",
        "admin": {"email": "Boss@Acme.example", "name": "Acme Boss", "password": PASSWORD}})
    assert r.status == 201, r
    v = r.json()
    assert v["slug"] == "acme" and v["suspended"] is False and v["admin"]["role"] == "vendor-admin", v
    assert v["admin"]["email"] == "boss@acme.example", v
    admin_token = v["admin"]["token"]
    # The same slug again is a conflict; bad values name their field.
    r = call(d.port, "POST", "/api/v1/operator/vendors", token=op, body={
        "name": "Acme again", "slug": "acme", "currency": "GBP", "admin": {"email": "x@acme.example"}})
    assert_json_error(r, 409, "conflict")
    r = call(d.port, "POST", "/api/v1/operator/vendors", token=op, body={
        "name": "Bad", "slug": "Bad Slug", "currency": "GBP", "admin": {"email": "x@bad.example"}})
    assert assert_json_error(r, 400)["field"] == "slug"

    # The new admin signs in with the password given to the operator API.
    r = call(d.port, "POST", "/api/v1/session", {"vendor": "acme", "email": "boss@acme.example", "password": PASSWORD})
    assert r.status in (200, 201), r
    cookie = re.match(r"rd_session=([^;]*)", r.headers.get_all("set-cookie")[0]).group(1)
    r = call(d.port, "GET", "/api/v1/me", headers={"Cookie": f"rd_session={cookie}"})
    assert r.status == 200 and r.json()["role"] == "vendor-admin", r

    # renewctl onboards it beside the running daemon, through the config file.
    p = ctl(config, "user", "create", "--vendor", "acme", "--email", "sales@acme.example", "--role", "vendor-sales",
            "--password-stdin", stdin=PASSWORD + "\n")
    assert p.returncode == 0, p.stderr
    assert f"pid {pid}" in p.stderr, p.stderr
    sales = p.stdout.strip()
    r = call(d.port, "GET", "/api/v1/me", token=sales)
    assert r.status == 200 and r.json()["role"] == "vendor-sales", r

    csv = tmp_path / "customers.csv"
    csv.write_text("external_id,name,email,country\nAC-1,Anvil Works,it@anvil.example,GB\n"
                   "AC-2,Bolt Ltd,it@bolt.example,GB\n")
    p = ctl(config, "import", "--vendor", "acme", "--kind", "customers", csv)
    assert p.returncode == 0, p.stdout + p.stderr
    r = call(d.port, "GET", "/api/v1/customers", token=admin_token)
    assert r.status == 200, r
    assert sorted(c["external_id"] for c in r.json()["items"]) == ["AC-1", "AC-2"], r.json()

    pol = REPO / "examples" / "policies"
    p = ctl(config, "policy", "push", "--vendor", "acme", "--kind", "margin", "--vectors",
            pol / "margin-acme.vectors.json", "--activate", pol / "margin-acme.lua")
    assert p.returncode == 0, p.stdout + p.stderr
    r = call(d.port, "GET", "/api/v1/policies", token=admin_token)
    assert r.status == 200 and r.json()["margin"]["active"] == 2, r

    p = ctl(config, "plugin", "enable", "--vendor", "acme", "--plugin", "payment-po", "--config", "{}")
    assert p.returncode == 0, p.stdout + p.stderr
    r = call(d.port, "GET", "/api/v1/plugins/payment-po/enablements", token=admin_token)
    assert r.status == 200 and len(r.json()["items"]) == 1, r

    # One renewd all along.
    assert d.running() and d.pid == pid
    r = call(d.port, "GET", "/api/v1/operator/vendors", token=op)
    assert r.status == 200 and [x["slug"] for x in r.json()["items"]] == ["acme"], r
    assert renewctl("check", data=d.data).returncode == 0
    d.stop()


def test_vendor_admin_cannot_use_operator_api_nor_operator_a_vendor_route(daemon, tmp_path):
    d, config = start(daemon, tmp_path)
    op, _ = operator_token(config)
    p = ctl(config, "user", "create", "--vendor", "sentinel", "--email", "admin@sentinel.example", "--role",
            "vendor-admin")
    assert p.returncode == 0, p.stderr
    admin = p.stdout.strip()
    for method, path, body in (("GET", "/api/v1/operator/vendors", None),
                               ("POST", "/api/v1/operator/vendors", {"name": "X", "slug": "x", "currency": "GBP",
                                                                      "admin": {"email": "a@x.example"}}),
                               ("POST", "/api/v1/operator/vendors/1/suspend", {"reason": "mine now"})):
        assert_json_error(call(d.port, method, path, body, token=admin), 403, "forbidden")
        assert_json_error(call(d.port, method, path, body), 401, "unauthenticated")
    assert call(d.port, "GET", "/api/v1/operator/vendors/1", token=op).json()["suspended"] is False
    # An operator token is no vendor's credential.
    assert_json_error(call(d.port, "GET", "/api/v1/me", token=op), 401)
    assert_json_error(call(d.port, "GET", "/api/v1/contracts", token=op), 401)
    # A revoked operator token opens nothing.
    listed = ctl(config, "operator", "token", "list")
    assert "platform ops" in listed.stdout, listed
    assert ctl(config, "operator", "token", "revoke", "1").returncode == 0
    assert_json_error(call(d.port, "GET", "/api/v1/operator/vendors", token=op), 401, "unauthenticated")
    d.stop()


def customer_link(d, admin, timeout=20.0):
    """Publishes one opportunity and returns the /c/ path from its notice."""
    deadline = time.monotonic() + timeout
    opp = None
    while time.monotonic() < deadline and opp is None:
        items = call(d.port, "GET", "/api/v1/opportunities?state=pending_decision&limit=1", token=admin).json()["items"]
        opp = items[0]["id"] if items else None
        if opp is None:
            time.sleep(0.2)
    assert opp, "the scheduler priced no opportunity"
    r = call(d.port, "POST", f"/api/v1/opportunities/{opp}/decision", {"publish": "vendor"}, token=admin)
    assert r.status == 200, r
    while time.monotonic() < deadline:
        for f in sorted((d.data / "mail").glob("*.eml")):
            m = re.search(r"http://[^/\s]+(/c/rd_[A-Za-z0-9_-]+)", f.read_text(errors="replace"))
            if m:
                return m.group(1)
        time.sleep(0.1)
    raise AssertionError("no customer notice with a link")


def test_suspended_vendor_is_refused_and_resumed(daemon, tmp_path):
    d, config = start(daemon, tmp_path)
    op, _ = operator_token(config)
    p = ctl(config, "user", "create", "--vendor", "sentinel", "--email", "admin@sentinel.example", "--role",
            "vendor-admin", "--password-stdin", stdin=PASSWORD + "\n")
    assert p.returncode == 0, p.stderr
    admin = p.stdout.strip()
    link = customer_link(d, admin)

    r = call(d.port, "POST", "/api/v1/operator/vendors/1/suspend", {"reason": "unpaid invoice"}, token=op)
    assert r.status == 200 and r.json()["suspended"] is True and r.json()["suspended_reason"] == "unpaid invoice", r
    assert_json_error(call(d.port, "POST", "/api/v1/operator/vendors/99/suspend", {}, token=op), 404)

    # Its token, its password login and its customer link: all refused.
    err = assert_json_error(call(d.port, "GET", "/api/v1/me", token=admin), 401)
    assert "suspended" in err["message"], err
    r = call(d.port, "POST", "/api/v1/session", {"vendor": "sentinel", "email": "admin@sentinel.example",
                                                 "password": PASSWORD})
    assert r.status == 401, r
    r = http_request(d.port, "GET", link)
    assert r.status == 404 and b"suspended" in r.body, r
    assert not r.headers.get_all("set-cookie"), r.headers
    token = link.rsplit("/", 1)[1]
    assert_json_error(call(d.port, "GET", "/api/v1/portal", token=token), 403, "suspended")

    r = call(d.port, "POST", "/api/v1/operator/vendors/1/resume", token=op)
    assert r.status == 200 and r.json()["suspended"] is False, r
    assert call(d.port, "GET", "/api/v1/me", token=admin).status == 200
    r = http_request(d.port, "GET", link)
    assert r.status in (302, 303) and r.headers.get_all("set-cookie"), r
    # The operator's acts are in the vendor's audit log.
    r = call(d.port, "GET", "/api/v1/audit?limit=200", token=admin)
    notes = [a.get("note", "") for a in r.json()["items"]]
    assert any("operator 1 (platform ops): vendor suspended" in n for n in notes), notes
    d.stop()


def test_renewctl_reads_renewd_config_and_version(tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    demo_load(data)
    config = tmp_path / "renewd.json"
    write_config(config, data)
    p = ctl(config, "check")
    assert p.returncode == 0 and str(data) in p.stdout, p
    import subprocess
    v = subprocess.run([str(RENEWCTL), "--version"], capture_output=True, text=True, timeout=10)
    assert v.returncode == 0 and re.match(r"renewctl \d+\.\d+\.\d+ \(store schema \d+\)", v.stdout), v
    bad = tmp_path / "bad.json"
    write_config(bad, data, no_such_option=1)
    p = ctl(bad, "check")
    assert p.returncode == 2 and "unknown option \"no_such_option\"" in p.stderr, p
    # Without a running renewd a write takes the lock and says nothing of one.
    p = ctl(config, "vendor", "create", "--name", "Quiet", "--slug", "quiet", "--currency", "EUR")
    assert p.returncode == 0 and "beside" not in p.stderr, p


def test_suspended_vendor_is_not_swept_and_catches_up_when_resumed(daemon, tmp_path):
    """A suspended vendor gets no renewal quotes nor mail (its links would
    open nothing); resumed, the next sweep catches up."""
    import datetime
    data = tmp_path / "data"
    data.mkdir()
    demo_load(data)
    config = tmp_path / "renewd.json"
    write_config(config, data, test_clock=1, sched_interval_ms=3600000)
    d = daemon(data=data, args=["--config", str(config)])
    op, _ = operator_token(config)
    admin = ctl(config, "user", "create", "--vendor", "sentinel", "--email", "admin@sentinel.example", "--role",
                "vendor-admin").stdout.strip()
    other = call(d.port, "POST", "/api/v1/operator/vendors", token=op, body={
        "name": "Other", "slug": "other", "currency": "EUR", "admin": {"email": "a@other.example"}}).json()
    other_admin = other["admin"]["token"]

    def quotes():
        r = call(d.port, "GET", "/api/v1/opportunities?limit=500", token=admin)
        assert r.status == 200, r
        return len(r.json()["items"])

    today = datetime.date.fromisoformat(call(d.port, "GET", "/api/v1/clock", token=admin).json()["today"])
    before = quotes()
    # The start's sweep's mail delivered first (nothing queued, no batch in flight).
    deadline = time.monotonic() + 30
    while call(d.port, "GET", "/api/v1/outbox?state=queued&limit=1", token=admin).json()["items"]:
        assert time.monotonic() < deadline, "the outbox did not drain"
        time.sleep(0.1)
    assert call(d.port, "POST", "/api/v1/operator/vendors/1/suspend", {"reason": "test"}, token=op).status == 200
    mails = len(list((data / "mail").glob("*.eml")))
    # The clock moves 60 days (the other vendor's admin moves it): the sweep
    # passes sentinel by.
    r = call(d.port, "POST", "/api/v1/clock", {"date": (today + datetime.timedelta(days=60)).isoformat()},
             token=other_admin)
    assert r.status == 200, r
    time.sleep(0.5)  # a mail delivery would have happened by now (the worker is kicked by the sweep)
    assert len(list((data / "mail").glob("*.eml"))) == mails
    assert call(d.port, "POST", "/api/v1/operator/vendors/1/resume", token=op).status == 200
    assert quotes() == before, "sentinel was swept while suspended"
    r = call(d.port, "POST", "/api/v1/clock", {"date": (today + datetime.timedelta(days=61)).isoformat()}, token=admin)
    assert r.status == 200, r
    assert quotes() > before, "the resumed vendor did not catch up"
    d.stop()


def test_operator_answers_match_the_document(daemon, tmp_path):
    """Every operator route's answers (and refusals) as docs/openapi.yaml says."""
    import yaml
    from test_openapi import SPEC_PATH, check_response, summary
    spec = yaml.safe_load(SPEC_PATH.read_text())
    d, config = start(daemon, tmp_path)
    op, _ = operator_token(config)
    errors = []
    body = {"name": "Doc Vendor", "slug": "doc", "currency": "EUR",
            "admin": {"email": "a@doc.example", "name": "A", "password": PASSWORD}}
    for method, route, url, b, tok in (
            ("POST", "/api/v1/operator/vendors", "/api/v1/operator/vendors", body, op),
            ("POST", "/api/v1/operator/vendors", "/api/v1/operator/vendors", body, op),  # 409
            ("POST", "/api/v1/operator/vendors", "/api/v1/operator/vendors", {"slug": 1}, op),  # 400
            ("GET", "/api/v1/operator/vendors", "/api/v1/operator/vendors?limit=1", None, op),
            ("GET", "/api/v1/operator/vendors", "/api/v1/operator/vendors", None, None),  # 401
            ("GET", "/api/v1/operator/vendors/{id}", "/api/v1/operator/vendors/2", None, op),
            ("GET", "/api/v1/operator/vendors/{id}", "/api/v1/operator/vendors/9", None, op),  # 404
            ("POST", "/api/v1/operator/vendors/{id}/suspend", "/api/v1/operator/vendors/2/suspend", {"reason": "r"}, op),
            ("POST", "/api/v1/operator/vendors/{id}/suspend", "/api/v1/operator/vendors/2/suspend", {"reason": 5}, op),
            ("POST", "/api/v1/operator/vendors/{id}/resume", "/api/v1/operator/vendors/2/resume", None, op)):
        r = call(d.port, method, url, b, token=tok)
        check_response(spec, method, route, r, errors)
    assert not errors, summary(errors)
    d.stop()


def test_renewctl_grows_the_map_beside_renewd(daemon, tmp_path):
    """An import beside renewd that grows the store's map (renewd started with
    a 1 MiB map): renewd adopts the new size, serves the rows and writes
    after it, and the store checks clean."""
    data = tmp_path / "data"
    data.mkdir()
    demo_load(data)
    d = daemon(data=data, args=["--test-clock", "1", "--map-size-bytes", "1048576"])
    admin = renewctl("user", "create", "--vendor", "sentinel", "--email", "big@sentinel.example", "--role",
                     "vendor-admin", data=data, check=True).stdout.strip()
    csv = tmp_path / "big.csv"
    with open(csv, "w") as f:
        f.write("external_id,name,email,country\n")
        for i in range(30000):
            f.write(f"BIG-{i},Customer number {i} with a long enough name,it{i}@big.example,GB\n")
    p = renewctl("import", "--vendor", "sentinel", "--kind", "customers", csv, data=data, timeout=120)
    assert p.returncode == 0 and "imported 30000 rows" in p.stdout, p
    r = call(d.port, "GET", "/api/v1/customers?limit=1&cursor=30000", token=admin)
    assert r.status == 200 and r.json()["items"][0]["external_id"].startswith("BIG-"), r
    r = call(d.port, "POST", "/api/v1/customers", {"external_id": "AFTER-1", "name": "Written by renewd after"},
             token=admin)
    assert r.status == 201, r
    assert renewctl("check", data=data).returncode == 0
    d.stop()


def test_renewctl_reads_beside_a_running_renewd_and_says_no_write(daemon, tmp_path):
    """The commands that only read run beside renewd as the docs say (only
    secrets rotate and clock set need it stopped): schedule preview and clock
    show were refused ("in use by another renewd"); and policy list/show,
    plugin enablements and operator token list said "written; renewd serves
    the change" of a change they never made."""
    d, config = start(daemon, tmp_path)
    for args in (["schedule", "preview", "--vendor", "sentinel", "--days", "30"], ["clock", "show"],
                 ["policy", "list", "--vendor", "sentinel"],
                 ["policy", "show", "--vendor", "sentinel", "--kind", "margin", "--version", "1"],
                 ["plugin", "enablements", "--vendor", "sentinel"], ["operator", "token", "list"]):
        p = ctl(config, *args)
        assert p.returncode == 0, (args, p.stderr)
        assert "in use" not in p.stderr and "written" not in p.stderr and "writing" not in p.stderr, (args, p.stderr)
    p = ctl(config, "schedule", "preview", "--vendor", "sentinel", "--days", "30")
    assert "nothing was taken" in p.stdout, p.stdout
    # The two that write what renewd holds in memory still refuse.
    for args in (["clock", "set", "2030-01-01"], ["secrets", "rotate"]):
        p = ctl(config, *args)
        assert p.returncode != 0 and "in use by another renewd" in p.stderr, (args, p.stderr)
    assert d.get("/healthz").json()["status"] == "ok"
