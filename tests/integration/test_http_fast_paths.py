"""The request path's fast paths (issue 20, docs/performance.md "a GET and a
list near bare h2o"; docs/security.md "Request path caches") against a real
daemon: the principal cache that skips the token's look-ups while nothing was
written, the records' JSON kept per stored version for GETs and lists, and
the access log line and request id written without printf.
Each cache must never answer with what a write before the request changed:
a revocation, a disabled user, a partner's scope, a record's new fields."""
import http.client
import json
import re
import time

from conftest import api_ok, api_request


def conn(api):
    """A persistent connection (keep-alive): the requests on it follow each
    other on one socket, as a client's do."""
    return http.client.HTTPConnection("127.0.0.1", api.port, timeout=10)


def call(c, method, path, token, body=None):
    headers = {"Authorization": f"Bearer {token}"}
    if body is not None:
        body = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    return r.status, data, r


def test_a_revoked_token_is_refused_by_the_very_next_request(api):
    """The token's records are taken from the cache while the store holds no
    new write; its revocation is a write, so the next request, on another
    connection or the same one, is refused."""
    a, b = conn(api), conn(api)
    k = api.world.contracts["gold"]
    for i in range(20):
        doc = api.ok("POST", "/api/v1/tokens", {"name": f"fast {i}"}, status=201, as_="admin")
        for _ in range(3):  # warm: the cache holds it, checked in the current snapshot
            status, body, _ = call(a, "GET", f"/api/v1/contracts/{k}", doc["token"])
            assert status == 200, body
        status, body, _ = call(b, "DELETE", f"/api/v1/tokens/{doc['id']}", doc["token"] if i % 2 else
                               api.world.tokens["admin"])
        assert status == 204, body
        for c in (a, b):
            status, body, r = call(c, "GET", f"/api/v1/contracts/{k}", doc["token"])
            assert status == 401, (i, body)
            assert b"revoked" in body and r.getheader("www-authenticate", "").startswith("Bearer"), body
    a.close()
    b.close()


def test_a_disabled_user_and_a_new_role_take_effect_at_once(api):
    """The user record is part of what the cache keeps: a change to it is
    seen by the next request."""
    user = api.ok("POST", "/api/v1/users", {"email": "fast-role@sentinel.example", "name": "Fast role",
                                            "role": "vendor-admin", "password": "a long enough password"},
                  status=201)
    # A token of that user's own, made through its session.
    s = http.client.HTTPConnection("127.0.0.1", api.port, timeout=10)
    s.request("POST", "/api/v1/session", body=json.dumps({"vendor": "sentinel", "email": user["email"],
                                                           "password": "a long enough password"}),
              headers={"Content-Type": "application/json"})
    r = s.getresponse()
    r.read()
    assert r.status in (200, 201), r.status
    cookie = r.getheader("set-cookie").split(";")[0]
    s.request("POST", "/api/v1/tokens", body=b'{"name": "mine"}',
              headers={"Content-Type": "application/json", "Cookie": cookie})
    r = s.getresponse()
    mine = json.loads(r.read())
    assert r.status == 201, mine
    s.close()
    token = mine["token"]
    a = conn(api)
    for _ in range(3):
        status, body, _ = call(a, "GET", "/api/v1/audit?limit=1", token)
        assert status == 200, body
    # A vendor-sales user may not read the audit log: the next request says so.
    api.ok("PATCH", f"/api/v1/users/{user['id']}", {"role": "vendor-sales"})
    status, body, _ = call(a, "GET", "/api/v1/audit?limit=1", token)
    assert status == 403, body
    api.ok("PATCH", f"/api/v1/users/{user['id']}", {"disabled": 1})
    status, body, _ = call(a, "GET", f"/api/v1/contracts/{api.world.contracts['gold']}", token)
    assert status == 401 and b"disabled" in body, body
    api.ok("PATCH", f"/api/v1/users/{user['id']}", {"disabled": 0, "role": "vendor-admin"})
    status, body, _ = call(a, "GET", "/api/v1/audit?limit=1", token)
    assert status == 200, body
    a.close()


def test_a_partners_scope_follows_a_move_at_once(api):
    """A distributor's scope (its resellers) is kept with the cached caller;
    a reseller moved to another distributor leaves it at the next request."""
    w = api.world
    tok = w.tokens["dist-admin"]
    gold = w.partners["RES-GOLD"]
    a = conn(api)
    for _ in range(3):
        status, body, _ = call(a, "GET", "/api/v1/me", tok)
        assert status == 200 and gold in json.loads(body)["partner_scope"], body
        status, body, _ = call(a, "GET", f"/api/v1/partners/{gold}", tok)
        assert status == 200, body
    api.ok("PATCH", f"/api/v1/partners/{gold}", {"parent_id": w.partners["DIST-SE"]})
    try:
        status, body, _ = call(a, "GET", "/api/v1/me", tok)
        assert status == 200 and gold not in json.loads(body)["partner_scope"], body
        status, body, _ = call(a, "GET", f"/api/v1/partners/{gold}", tok)
        assert status == 404, body
    finally:
        api.ok("PATCH", f"/api/v1/partners/{gold}", {"parent_id": w.partners["DIST-NW"]})
    status, body, _ = call(a, "GET", f"/api/v1/partners/{gold}", tok)
    assert status == 200, body
    a.close()


def test_a_write_is_seen_by_the_next_get_and_list_on_another_connection(api):
    """Each request sees every write committed before it: a PATCH on one
    connection, then a GET and a list on another, 40 times over."""
    tok = api.world.tokens["admin"]
    k = api.world.contracts["plat"]
    a, b = conn(api), conn(api)
    for _ in range(2):  # warm both: the list's records rendered once already
        assert call(b, "GET", f"/api/v1/contracts/{k}", tok)[0] == 200
        assert call(b, "GET", "/api/v1/contracts?limit=500", tok)[0] == 200
    for i in range(40):
        status, body, _ = call(a, "PATCH", f"/api/v1/contracts/{k}", tok, {"quantity": 100 + i})
        assert status == 200, body
        status, body, _ = call(b, "GET", f"/api/v1/contracts/{k}", tok)
        assert status == 200 and json.loads(body)["quantity"] == 100 + i, (i, body)
        status, body, _ = call(b, "GET", "/api/v1/contracts?limit=500", tok)
        items = {x["id"]: x for x in json.loads(body)["items"]}
        assert status == 200 and items[k]["quantity"] == 100 + i, (i, items.get(k))
        # The list's item is byte for byte the GET's.
        got = call(b, "GET", f"/api/v1/contracts/{k}", tok)[1]
        assert json.dumps(items[k], separators=(",", ":"), ensure_ascii=False).encode() == got
    a.close()
    b.close()


def test_the_access_log_line_and_the_request_id_keep_their_shape(api):
    """The access log line and the request id, now written without printf,
    read as before: 'client=A vendor=V user=U msg="METHOD PATH STATUS N.NNNms"'
    and sixteen hex digits, or the client's own X-Request-Id."""
    k = api.world.contracts["gold"]
    a = conn(api)
    status, _, r = call(a, "GET", f"/api/v1/contracts/{k}", api.world.tokens["admin"])
    assert status == 200
    rid = r.getheader("x-request-id")
    assert re.fullmatch(r"[0-9a-f]{16}", rid), rid
    a.request("GET", "/api/v1/nowhere", headers={"X-Request-Id": "fast-path.1"})
    r2 = a.getresponse()
    r2.read()
    assert r2.status == 404 and r2.getheader("x-request-id") == "fast-path.1"
    a.close()
    api_ok(api.call("GET", "/healthz"))  # a later request: the loop flushed the lines before it
    log = api.daemon.log()
    uid = api.world.user_ids["admin"]
    line = re.search(rf"^ts=\d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{{3}}Z level=info comp=http req={rid} "
                     rf"client=127\.0\.0\.1 vendor=(\d+) user={uid} "
                     rf'msg="GET /api/v1/contracts/{k} 200 \d+\.\d{{3}}ms"$', log, re.M)
    assert line, log[-2000:]
    assert re.search(r'^ts=\S+ level=info comp=http req=fast-path\.1 client=127\.0\.0\.1 vendor=- user=- '
                     r'msg="GET /api/v1/nowhere 404 \d+\.\d{3}ms"$', log, re.M), log[-2000:]


def test_a_kept_contracts_colour_follows_the_vendors_window(api):
    """A contract's kept JSON is written whole with its colour pair (the
    entry's tail, kept with the day and window it was worked out for): when
    the vendor's renewal window changes, the next GET and list give the
    colour of the new window, and each list item is the GET's bytes."""
    import datetime
    from test_api_crud import colour_of
    tok = api.world.tokens["admin"]
    a = conn(api)
    today = datetime.datetime.now(datetime.timezone.utc).date()

    def check(window):
        for _ in range(2):  # the second from the entries the first kept
            status, body, _ = call(a, "GET", "/api/v1/contracts?limit=500", tok)
            assert status == 200, body
            items = json.loads(body)["items"]
            for k in items:
                assert k["colour"] == colour_of(k, today, window), (window, k)
                got = call(a, "GET", f"/api/v1/contracts/{k['id']}", tok)[1]
                assert json.dumps(k, separators=(",", ":"), ensure_ascii=False).encode() == got
        return {k["id"]: k["colour"] for k in items}

    before = check(90)
    status, body, _ = call(a, "PATCH", "/api/v1/vendor", tok, {"renewal_window_days": 365})
    assert status == 200, body
    try:
        after = check(365)
        assert any(before[i] == "green" and after[i] == "amber" for i in before), (before, after)
    finally:
        status, body, _ = call(a, "PATCH", "/api/v1/vendor", tok, {"renewal_window_days": 90})
        assert status == 200, body
    assert check(90) == before
    a.close()


def test_query_keys_are_read_percent_decoded(api):
    """A query parameter's name is matched as it decodes ('%6C' is 'l',
    '+' a space): "%6Cimit" is the page's limit, "li+mit" an unknown
    parameter named as it decodes; plain names as before."""
    tok = api.world.tokens["admin"]
    a = conn(api)
    status, body, _ = call(a, "GET", "/api/v1/contracts?%6Cimit=1", tok)
    assert status == 200 and len(json.loads(body)["items"]) == 1, body
    status, body, _ = call(a, "GET", "/api/v1/contracts?limit=2&cur%73or=", tok)
    assert status == 400 and json.loads(body)["error"]["field"] == "cursor", body
    status, body, _ = call(a, "GET", "/api/v1/contracts?li+mit=1", tok)
    assert status == 400 and json.loads(body)["error"]["field"] == "li mit", body
    status, body, _ = call(a, "GET", "/api/v1/contracts?limits=1", tok)
    assert status == 400 and json.loads(body)["error"]["field"] == "limits", body
    status, body, _ = call(a, "GET", "/api/v1/contracts?limit=2", tok)
    assert status == 200 and len(json.loads(body)["items"]) == 2, body
    a.close()


def test_a_nul_byte_in_a_path_parameter_or_the_query_is_refused_not_cut(api):
    """'%00' decodes to a NUL byte, where every C string of the request
    ended: "3%00junk" was read as the id 3, "partner%00x" as the filter
    partner, "K-20003%00x" as the external id K-20003 (the index source and
    the filter both cut there).  Each is bad input: 400 naming what is
    wrong, never a record or a list answered for a shorter text."""
    tok = api.world.tokens["gold-admin"]
    k = api.world.contracts["gold"]
    a = conn(api)
    status, body, _ = call(a, "GET", f"/api/v1/contracts/{k}", tok)
    assert status == 200, body
    ext = json.loads(body)["external_id"]
    for path, field in ((f"/api/v1/contracts/{k}%00junk", "id"), (f"/api/v1/contracts/{k}%00", "id"),
                        (f"/api/v1/contracts?partner%00x={api.world.partners['RES-GOLD']}", None),
                        (f"/api/v1/contracts?external_id={ext}%00x", None), ("/api/v1/contracts?limit=1%00", None),
                        (f"/partner/contracts/{k}%00junk", "id")):
        status, body, _ = call(a, "GET", path, tok)
        assert status == 400, (path, status, body)
        err = json.loads(body)["error"]
        assert err["code"] == "invalid" and err["field"] == field and "NUL" in err["message"], (path, err)
        assert ext.encode() not in body, (path, body)
    # The same names and values without the NUL byte: as ever.
    status, body, _ = call(a, "GET", f"/api/v1/contracts?external_id={ext}", tok)
    assert status == 200 and [x["id"] for x in json.loads(body)["items"]] == [k], body
    a.close()


def test_a_query_parameter_given_twice_is_refused(api):
    """A parameter given twice (as written, or once percent-encoded) was
    read as its first value by every handler: "partner=3&partner=2" listed
    partner 3's contracts, "limit=1&%6Cimit=2" one contract.  Which one the
    caller meant is not for renewd to guess: 400 naming the parameter, for
    every route (the pages' and the portal's too)."""
    tok = api.world.tokens["gold-admin"]
    gold = api.world.partners["RES-GOLD"]
    a = conn(api)
    for path, field in ((f"/api/v1/contracts?partner={gold}&partner=2", "partner"),
                        (f"/api/v1/contracts?partner={gold}&%70artner={gold}", "partner"),
                        ("/api/v1/contracts?limit=1&%6Cimit=2", "limit"), ("/api/v1/contracts?cursor=1&x=1&cursor=2", "cursor"),
                        ("/api/v1/reports/dashboard?currency=GBP&currency=EUR", "currency"),
                        ("/partner/contracts?cursor=1&cursor=2", "cursor")):
        status, body, _ = call(a, "GET", path, tok)
        assert status == 400, (path, status, body[:300])
        err = json.loads(body)["error"]
        assert err["code"] == "invalid" and err["field"] == field and "twice" in err["message"], (path, err)
    # each once, in any order, and empty pieces: as ever
    status, body, _ = call(a, "GET", f"/api/v1/contracts?limit=2&&partner={gold}&", tok)
    assert status == 200 and len(json.loads(body)["items"]) == 2, body
    a.close()


def test_a_change_in_flight_when_its_token_is_revoked_is_not_applied(api):
    """A user change that sets a password is authenticated, then its
    password hashed on the thread pool (tens of ms), then written: a
    revocation of the caller's token committed meanwhile did not stop the
    write (a partner admin's new password for its sales person landed after
    the partner admin's token was revoked, audited in that order).  Now the
    write checks its caller again in its own transaction: 401, nothing
    changed.  The order is the audit's (its ids are the commits' order)."""
    import threading
    target = api.ok("POST", "/api/v1/users", {"email": "in-flight@sentinel.example", "name": "In flight",
                                              "role": "partner-sales", "partner_id": api.world.partners["RES-GOLD"],
                                              "password": "the first password"}, status=201)

    def audit(obj, oid, action):
        items = api.ok("GET", f"/api/v1/audit?object={obj}&object_id={oid}&limit=500")["items"]
        return [a["id"] for a in items if a["action"] == action]

    raced = 0
    for i in range(8):
        tok = api.ok("POST", "/api/v1/tokens", {"name": f"in flight {i}"}, status=201, as_="gold-admin")
        before = set(audit("users", target["id"], "update"))
        out = {}

        def change():
            out["r"] = api.call("PATCH", f"/api/v1/users/{target['id']}", {"password": f"a new password {i}"},
                                token=tok["token"])

        th = threading.Thread(target=change)
        th.start()
        time.sleep(0.005)
        assert api.call("DELETE", f"/api/v1/tokens/{tok['id']}", as_="admin").status == 204
        th.join()
        [revoked] = audit("tokens", tok["id"], "revoke")
        changed = [a for a in audit("users", target["id"], "update") if a not in before]
        assert all(a < revoked for a in changed), f"a change committed after its token's revocation: {changed} > {revoked}"
        if out["r"].status == 200:
            assert changed, out["r"]
            continue  # committed before the revocation: nothing to show this round
        raced += 1
        assert out["r"].status == 401 and b"revoked" in out["r"].body and not changed, out["r"]
    assert raced, "no change was still in flight when its token was revoked"


def test_a_partner_page_user_created_while_its_admin_is_disabled_is_not(api):
    """The partner portal's new-user form hashes the password on the thread
    pool between the partner admin's check and the save: an admin disabled
    in that time still made the user (a partner admin about to be let go
    leaves an account behind).  Now the caller is checked again before the
    save: the form answers the login page, no user made.  The order is the
    audit's (its ids are the commits' order)."""
    import threading
    from test_pages_security import Browser
    pa = api.ok("POST", "/api/v1/users", {"email": "pa-flight@sentinel.example", "name": "PA in flight",
                                          "role": "partner-admin", "partner_id": api.world.partners["RES-GOLD"],
                                          "password": "partner admin password"}, status=201)

    def audit(obj, oid=None):
        q = f"/api/v1/audit?object={obj}&limit=500" + (f"&object_id={oid}" if oid else "")
        return api.ok("GET", q)["items"]

    raced = 0
    for i in range(8):
        api.ok("PATCH", f"/api/v1/users/{pa['id']}", {"disabled": 0})
        b = Browser(api)
        r = b.post("/login", {"vendor": "sentinel", "email": pa["email"], "password": "partner admin password"})
        assert r.status == 303, r
        csrf = b.csrf("/partner/users")
        email = f"made-in-flight-{i}@sentinel.example"
        out = {}
        th = threading.Thread(target=lambda: out.update(r=b.post("/partner/users", {
            "csrf": csrf, "email": email, "name": "Made", "role": "partner-sales", "password": "a made password"})))
        th.start()
        time.sleep(0.005)
        api.ok("PATCH", f"/api/v1/users/{pa['id']}", {"disabled": 1})
        th.join()
        disabled = max(a["id"] for a in audit("users", pa["id"]) if a["action"] == "update")
        made = [a["id"] for a in audit("users") if a["action"] == "create" and (a["after"] or {}).get("email") == email]
        assert all(a < disabled for a in made), f"a user made after its partner admin was disabled: {made} > {disabled}"
        if made:
            continue  # saved before the admin was disabled: nothing to show this round
        raced += 1
        assert out["r"].status == 303 and out["r"].headers["location"] == "/login", out["r"]
    assert raced, "no form was still in flight when its admin was disabled"
