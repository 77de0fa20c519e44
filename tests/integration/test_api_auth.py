"""Authentication (core/edge/call.c, core/api/session.c, core/auth/auth.c) against a real
daemon: bearer tokens, the rd_session cookie, logout, the login limiter, API
tokens, disabled users and passwords.

Logins go through the failed-login limiter, which counts per vendor+e-mail
and per client address; every test that logs in therefore connects from its
own loopback address (127.0.2.x ...) so that tests do not share a budget."""
import hashlib
import itertools
import re
import threading
import time

import pytest

from conftest import API_PASSWORD, api_ok, api_request, assert_json_error

TOKEN_RE = re.compile(r"rd_[A-Za-z0-9_-]{43}")
_addr = itertools.count(1)


def fresh_address():
    """A loopback address no other test has used against this daemon."""
    n = next(_addr)
    return f"127.0.{2 + n // 250}.{1 + n % 250}"


def login(api, email, password=API_PASSWORD, vendor="sentinel", source=None):
    return api_request(api.port, "POST", "/api/v1/session", {"vendor": vendor, "email": email, "password": password},
                       source=source or fresh_address())


def session_cookie(resp):
    """The rd_session value from a successful login's Set-Cookie."""
    sc = resp.headers.get_all("set-cookie") or []
    assert len(sc) == 1, sc
    m = re.fullmatch(r"rd_session=([^;]*)(; .*)?", sc[0])
    assert m, sc
    return m.group(1), sc[0]


def assert_401(resp, message=None):
    err = assert_json_error(resp, 401, "unauthenticated")
    assert resp.headers.get("www-authenticate", "").startswith("Bearer"), resp.headers
    if message:
        assert message in err["message"], err
    return err


def new_user(api, role="vendor-sales", partner=None, password=API_PASSWORD):
    body = {"email": f"auth-{next(_addr)}@sentinel.example", "name": "Auth test", "role": role,
            "password": password}
    if partner:
        body["partner_id"] = partner
    return api.ok("POST", "/api/v1/users", body, status=201)


# ---- no credentials or bad ones ---------------------------------------------------------------

PROTECTED = [("GET", "/api/v1/me"), ("GET", "/api/v1/partners"), ("POST", "/api/v1/partners"),
             ("GET", "/api/v1/contracts/1"), ("PATCH", "/api/v1/customers/1"), ("DELETE", "/api/v1/contacts/1"),
             ("GET", "/api/v1/tokens"), ("POST", "/api/v1/tokens"), ("DELETE", "/api/v1/tokens/1"),
             ("GET", "/api/v1/vendor"), ("PATCH", "/api/v1/vendor"), ("GET", "/api/v1/audit"),
             ("GET", "/api/v1/imports"), ("DELETE", "/api/v1/session"), ("GET", "/api/v1/users")]


@pytest.mark.parametrize("method,path", PROTECTED)
def test_no_credentials_is_401_with_www_authenticate(api, method, path):
    body = {"name": "x"} if method in ("POST", "PATCH") else None
    r = api.call(method, path, body)
    assert_json_error(r, 401, "unauthenticated")
    assert r.headers["www-authenticate"] == "Bearer"


def test_malformed_and_unknown_tokens(api):
    good = api.world.tokens["vsales"]
    assert api.ok("GET", "/api/v1/me", as_="vsales")["email"] == api.world.emails["vsales"]
    # The scheme is case-insensitive.
    api_ok(api.call("GET", "/api/v1/me", headers={"Authorization": f"bearer {good}"}))
    malformed = ["", "abc", "rd_", "rd_short", good[:-1], good + "A", good[:10] + "!" + good[11:],
                 "xx" + good[2:], good.replace("rd_", "RD_"), " " + good, good + " ", "rd_" + "A" * 44]
    for tok in malformed:
        r = api.call("GET", "/api/v1/me", headers={"Authorization": f"Bearer {tok}"})
        assert_401(r, "malformed")
        assert "invalid_token" in r.headers["www-authenticate"]
    for header in (f"Basic {good}", f"Token {good}", good, "Bearer"):
        assert_401(api.call("GET", "/api/v1/me", headers={"Authorization": header}), "malformed")
    # Well formed, but never issued.
    for tok in ("rd_" + "A" * 43, "rd_" + "_" * 43, good[:-1] + ("A" if good[-1] != "A" else "B")):
        assert_401(api.call("GET", "/api/v1/me", token=tok), "not known")


def test_expiring_token_carries_its_expiry(api):
    """A token with expires_in_days works until then (an expired one cannot be
    made within a test: the shortest expiry is a day) and reports it."""
    doc = api.ok("POST", "/api/v1/tokens", {"name": "one day", "expires_in_days": 1}, status=201, as_="vsales")
    t0 = time.strptime(doc["created_at"], "%Y-%m-%dT%H:%M:%SZ")
    t1 = time.strptime(doc["expires_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert time.mktime(t1) - time.mktime(t0) == 86400
    assert api_ok(api.call("GET", "/api/v1/me", token=doc["token"]))["id"] == api.world.user_ids["vsales"]
    never = api.ok("POST", "/api/v1/tokens", {"name": "forever"}, status=201, as_="vsales")
    assert never["expires_at"] is None


# ---- sessions ---------------------------------------------------------------------------------


def test_login_sets_an_http_only_session_cookie(api):
    w = api.world
    r = login(api, w.emails["gold-sales"])
    doc = api_ok(r)
    assert doc["user_id"] == w.user_ids["gold-sales"] and doc["vendor_id"] == 1
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", doc["expires_at"])
    value, raw = session_cookie(r)
    assert TOKEN_RE.fullmatch(value), raw
    attrs = {a.strip().split("=")[0].lower(): a.strip() for a in raw.split(";")[1:]}
    assert "httponly" in attrs and attrs["path"] == "Path=/" and attrs["samesite"] == "SameSite=Lax"
    assert attrs["max-age"] == "Max-Age=43200"
    assert value not in r.body.decode(), "the session secret travels in the cookie only"

    me = api_ok(api.call("GET", "/api/v1/me", cookie=value))
    assert me["id"] == w.user_ids["gold-sales"] and me["role"] == "partner-sales"
    assert me["partner_scope"] == [w.partners["RES-GOLD"]]
    # The cookie among others.
    me2 = api_ok(api.call("GET", "/api/v1/me", headers={"Cookie": f"theme=dark; rd_session={value}; lang=en"}))
    assert me2["id"] == me["id"]
    # A session acts with the user's role like a token does.
    assert api_ok(api.call("GET", f"/api/v1/contracts/{w.contracts['gold']}", cookie=value))["id"] == w.contracts["gold"]
    assert_json_error(api.call("GET", f"/api/v1/contracts/{w.contracts['plat']}", cookie=value), 404)
    # Sessions are not listed among API tokens.
    toks = api_ok(api.call("GET", "/api/v1/tokens", cookie=value))["items"]
    assert all(t["kind"] == "api" for t in toks), toks
    # Cookie names that merely contain rd_session do not count.
    assert_json_error(api.call("GET", "/api/v1/me", headers={"Cookie": f"xrd_session={value}"}), 401)


def test_token_and_session_are_not_interchangeable(api):
    value, _ = session_cookie(api_ok_resp(login(api, api.world.emails["cm"])))
    api_token = api.world.tokens["cm"]
    assert_401(api.call("GET", "/api/v1/me", cookie=api_token), "wrong place")
    assert_401(api.call("GET", "/api/v1/me", token=value), "wrong place")
    # Both still work in their own place.
    api_ok(api.call("GET", "/api/v1/me", cookie=value))
    api_ok(api.call("GET", "/api/v1/me", token=api_token))
    # With both, the Authorization header is the credential.
    api_ok(api.call("GET", "/api/v1/me", token=api_token, cookie="garbage"))
    assert_401(api.call("GET", "/api/v1/me", token="garbage", cookie=value), "malformed")


def api_ok_resp(r, status=200):
    api_ok(r, status)
    return r


def test_logout_ends_the_session(api):
    r = api_ok_resp(login(api, api.world.emails["dist-sales"]))
    value, _ = session_cookie(r)
    other, _ = session_cookie(api_ok_resp(login(api, api.world.emails["dist-sales"])))
    api_ok(api.call("GET", "/api/v1/me", cookie=value))
    out = api.call("DELETE", "/api/v1/session", cookie=value)
    api_ok(out, 204)
    cleared = out.headers.get_all("set-cookie")
    assert len(cleared) == 1 and cleared[0].startswith("rd_session=;") and "Max-Age=0" in cleared[0], cleared
    assert_401(api.call("GET", "/api/v1/me", cookie=value), "revoked")
    assert_401(api.call("DELETE", "/api/v1/session", cookie=value), "revoked")
    # Only that session ended.
    api_ok(api.call("GET", "/api/v1/me", cookie=other))
    api_ok(api.call("GET", "/api/v1/me", as_="dist-sales"))


def test_logout_with_an_api_token_is_refused(api):
    assert_json_error(api.call("DELETE", "/api/v1/session", as_="vsales"), 400, "invalid")
    api_ok(api.call("GET", "/api/v1/me", as_="vsales"))


def test_wrong_password_and_unknown_user_answer_alike(api):
    w = api.world
    disabled = new_user(api)
    api.ok("PATCH", f"/api/v1/users/{disabled['id']}", {"disabled": 1})
    attempts = [
        (w.emails["vsales"], "wrong-password-1", "sentinel"),          # wrong password
        ("nobody@sentinel.example", API_PASSWORD, "sentinel"),        # no such user
        (w.emails["vsales"], API_PASSWORD, "no-such-vendor"),          # no such vendor
        (w.emails["other-admin"], API_PASSWORD, "sentinel"),           # a user of another vendor
        (disabled["email"], API_PASSWORD, "sentinel"),                 # a disabled user
        (w.emails["vsales"], API_PASSWORD.upper(), "sentinel"),        # case matters in passwords
    ]
    bodies = set()
    for email, pw, vendor in attempts:
        r = login(api, email, pw, vendor)
        err = assert_json_error(r, 401, "unauthenticated")
        assert not r.headers.get_all("set-cookie"), r.headers
        bodies.add((err["message"], err["field"]))
    assert len(bodies) == 1, bodies
    # The e-mail is not case-sensitive; the right password works.
    r = login(api, w.emails["vsales"].upper())
    assert api_ok(r)["user_id"] == w.user_ids["vsales"]


@pytest.mark.parametrize("body", [
    {"vendor": "sentinel", "email": "a@b.example"},
    {"email": "a@b.example", "password": "xxxxxxxxxxxx"},
    {"vendor": "sentinel", "password": "xxxxxxxxxxxx"},
    {"vendor": "sentinel", "email": "a@b.example", "password": "xxxxxxxxxxxx", "remember": True},
    {"vendor": "sentinel", "email": 5, "password": "xxxxxxxxxxxx"},
    {"vendor": "sentinel", "email": "a@b.example", "password": None},
    {"vendor": "sentinel", "email": "a" * 120 + "@b.example", "password": "xxxxxxxxxxxx"},
    {"vendor": "sentinel", "email": "a@b.example", "password": "x" * 257},
    {"vendor": "s" * 64, "email": "a@b.example", "password": "xxxxxxxxxxxx"},
])
def test_login_body_is_validated(api, body):
    r = api_request(api.port, "POST", "/api/v1/session", body, source=fresh_address())
    assert_json_error(r, 400, "invalid")


@pytest.mark.parametrize("body", [b"", b"{", b"[]", b"\"x\""])
def test_login_body_must_be_a_json_object(api, body):
    assert_json_error(api_request(api.port, "POST", "/api/v1/session", body, source=fresh_address()), 400, "bad_json")


# ---- the failed-login limiter --------------------------------------------------------------------


def assert_429(resp):
    err = assert_json_error(resp, 429, "too_many_attempts")
    ra = resp.headers.get("retry-after")
    assert ra and ra.isdigit() and 0 < int(ra) <= 900, resp.headers
    assert ra in err["message"]
    assert not resp.headers.get_all("set-cookie")


def test_limit_per_email(api):
    user = new_user(api)
    for _ in range(5):  # each from its own address: only the e-mail's budget is spent
        assert_json_error(login(api, user["email"], "not-the-password"), 401)
    assert_429(login(api, user["email"]))  # even the right password, from a fresh address
    assert_429(login(api, user["email"].upper()))  # the e-mail is one key whatever its case
    # Another user from the same kind of fresh address is not affected...
    api_ok(login(api, api.world.emails["gold-admin"]))
    # ...and the same e-mail at another vendor is another key.
    assert_json_error(login(api, user["email"], vendor="othervendor"), 401)
    # Tokens keep working: the limiter guards logins only.
    tok = api.ok("POST", "/api/v1/tokens", {"name": "t"}, status=201, as_="admin")  # admin's own
    api_ok(api.call("GET", "/api/v1/me", token=tok["token"]))


def test_limit_per_address_unknown_users(api):
    addr = fresh_address()
    for i in range(5):
        assert_json_error(login(api, f"nobody{i}@sentinel.example", source=addr), 401)
    assert_429(login(api, api.world.emails["gold-admin"], source=addr))
    api_ok(login(api, api.world.emails["gold-admin"], source=fresh_address()))


def test_limit_per_address_wrong_passwords(api):
    """Guessing one password against many known users from one address
    (password spraying) is limited per address too."""
    addr = fresh_address()
    victims = ["cm", "vsales", "gold-sales", "dist-sales", "se-sales"]
    for v in victims:
        assert_json_error(login(api, api.world.emails[v], "Spring2026!!", source=addr), 401)
    assert_429(login(api, api.world.emails["dist-admin"], source=addr))
    # A victim can still log in from elsewhere: one failure is far from its own limit.
    api_ok(login(api, api.world.emails["se-sales"]))


def _concurrently(api, attempts):
    """Sends logins (email, password, source) all at once; returns the responses."""
    out = [None] * len(attempts)

    def one(i, email, pw, source):
        out[i] = login(api, email, pw, source=source)

    threads = [threading.Thread(target=one, args=(i, *a)) for i, a in enumerate(attempts)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(r is not None for r in out)
    return out


def test_limit_holds_for_attempts_in_flight_together(api):
    """Attempts sent together, before any has been verified, cannot get past
    the limit of 5: per e-mail, and per address."""
    user = new_user(api)
    got = _concurrently(api, [(user["email"], f"guess-{i}-xxxxx", fresh_address()) for i in range(16)])
    statuses = sorted(r.status for r in got)
    assert statuses.count(401) <= 5 and statuses.count(401) + statuses.count(429) == 16, statuses
    assert_429(login(api, user["email"]))

    addr = fresh_address()
    got = _concurrently(api, [(f"ghost{i}@sentinel.example", "whatever-xxxxx", addr) for i in range(16)])
    statuses = sorted(r.status for r in got)
    assert statuses.count(401) <= 5 and statuses.count(401) + statuses.count(429) == 16, statuses
    assert_429(login(api, api.world.emails["gold-admin"], source=addr))


def test_correct_logins_do_not_use_up_the_address_budget(api):
    addr = fresh_address()
    for _ in range(7):
        api_ok(login(api, api.world.emails["gold-admin"], source=addr))
    assert_json_error(login(api, api.world.emails["gold-admin"], "wrong-password", source=addr), 401)


def test_success_resets_the_email_budget(api):
    user = new_user(api)
    # Without the reset the sixth failure would already be refused with 429.
    for _ in range(2):
        for _ in range(3):
            assert_json_error(login(api, user["email"], "not-the-password"), 401)
        api_ok(login(api, user["email"]))


def test_login_works_for_every_role(api):
    for name in ("admin", "gold-admin"):  # others log in in the tests above
        r = login(api, api.world.emails[name])
        value, _ = session_cookie(api_ok_resp(r))
        assert api_ok(api.call("GET", "/api/v1/me", cookie=value))["id"] == api.world.user_ids[name]
    r = login(api, api.world.emails["other-admin"], vendor="othervendor")
    value, _ = session_cookie(api_ok_resp(r))
    me = api_ok(api.call("GET", "/api/v1/me", cookie=value))
    assert me["vendor"]["slug"] == "othervendor" and me["id"] == api.world.user_ids["other-admin"]


# ---- API tokens --------------------------------------------------------------------------------


def test_token_create_list_revoke(api):
    w = api.world
    doc = api.ok("POST", "/api/v1/tokens", {"name": "ci pipeline"}, status=201, as_="gold-admin")
    secret = doc["token"]
    assert TOKEN_RE.fullmatch(secret)
    assert doc["name"] == "ci pipeline" and doc["kind"] == "api" and doc["user_id"] == w.user_ids["gold-admin"]
    assert doc["revoked_at"] is None and doc["expires_at"] is None
    assert "hash" not in doc and "vendor_id" not in doc
    me = api_ok(api.call("GET", "/api/v1/me", token=secret))
    assert me["id"] == w.user_ids["gold-admin"] and me["partner_scope"] == [w.partners["RES-GOLD"]]

    r = api.call("GET", "/api/v1/tokens", as_="gold-admin")
    listed = api_ok(r)
    assert listed["next_cursor"] is None
    # Neither the secret nor its stored hash (BLAKE2b-256, hex) is listed.
    digest = hashlib.blake2b(secret.encode(), digest_size=32).hexdigest()
    assert secret.encode() not in r.body and digest.encode() not in r.body
    mine = [t for t in listed["items"] if t["id"] == doc["id"]]
    assert mine == [{k: v for k, v in doc.items() if k != "token"}]
    for t in listed["items"]:
        assert set(t) == {"id", "user_id", "name", "kind", "created_at", "expires_at", "revoked_at"}, t
        assert t["user_id"] == w.user_ids["gold-admin"]
    # The secret appears nowhere else either: not in anyone's list, not in the audit log.
    for body in (api.call("GET", "/api/v1/tokens", as_="admin").body,
                 api.call("GET", "/api/v1/audit?object=tokens&limit=500", as_="admin").body):
        assert secret.encode() not in body and digest.encode() not in body

    api_ok(api.call("DELETE", f"/api/v1/tokens/{doc['id']}", as_="gold-admin"), 204)
    assert_401(api.call("GET", "/api/v1/me", token=secret), "revoked")
    after = [t for t in api.ok("GET", "/api/v1/tokens", as_="gold-admin")["items"] if t["id"] == doc["id"]]
    assert after[0]["revoked_at"] is not None
    # Revoking twice is harmless; unknown ids are 404.
    api_ok(api.call("DELETE", f"/api/v1/tokens/{doc['id']}", as_="gold-admin"), 204)
    for bad in ("999999", "0", "abc"):
        assert_json_error(api.call("DELETE", f"/api/v1/tokens/{bad}", as_="gold-admin"), 404, "not_found")


def test_a_token_can_revoke_itself(api):
    doc = api.ok("POST", "/api/v1/tokens", {"name": "self"}, status=201, as_="vsales")
    api_ok(api.call("DELETE", f"/api/v1/tokens/{doc['id']}", token=doc["token"]), 204)
    assert_401(api.call("GET", "/api/v1/me", token=doc["token"]), "revoked")


def test_tokens_made_with_a_session(api):
    value, _ = session_cookie(api_ok_resp(login(api, api.world.emails["dist-admin"])))
    doc = api_ok(api.call("POST", "/api/v1/tokens", {"name": "from the browser"}, cookie=value), 201)
    assert api_ok(api.call("GET", "/api/v1/me", token=doc["token"]))["id"] == api.world.user_ids["dist-admin"]
    # Logging out does not take the API token with it.
    api_ok(api.call("DELETE", "/api/v1/session", cookie=value), 204)
    api_ok(api.call("GET", "/api/v1/me", token=doc["token"]))


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "n" * 128}, {"name": 5}, {"name": None},
                                  {"name": "t", "expires_in_days": -1}, {"name": "t", "expires_in_days": 3651},
                                  {"name": "t", "expires_in_days": "1"}, {"name": "t", "expires_in_days": 1.5},
                                  {"name": "t", "scope": "read"}, {"name": "t", "token": "rd_" + "A" * 43}])
def test_token_create_validation(api, body):
    before = len(api.ok("GET", "/api/v1/tokens", as_="cm")["items"])
    assert_json_error(api.call("POST", "/api/v1/tokens", body, as_="cm"), 400, "invalid")
    assert len(api.ok("GET", "/api/v1/tokens", as_="cm")["items"]) == before


def test_token_create_edges(api):
    api.ok("POST", "/api/v1/tokens", {"name": "n" * 127, "expires_in_days": 3650}, status=201, as_="cm")
    assert_json_error(api.call("POST", "/api/v1/tokens", b"{", as_="cm"), 400, "bad_json")


# ---- disabled users, passwords -------------------------------------------------------------------


def test_disabled_user_is_locked_out_at_once(api):
    user = new_user(api, role="partner-sales", partner=api.world.partners["RES-GOLD"])
    value, _ = session_cookie(api_ok_resp(login(api, user["email"])))
    tok = api_ok(api.call("POST", "/api/v1/tokens", {"name": "mine"}, cookie=value), 201)["token"]
    api_ok(api.call("GET", "/api/v1/me", token=tok))

    api.ok("PATCH", f"/api/v1/users/{user['id']}", {"disabled": 1})
    assert_401(api.call("GET", "/api/v1/me", token=tok), "disabled")
    assert_401(api.call("GET", "/api/v1/me", cookie=value), "disabled")
    assert_401(api.call("GET", "/api/v1/partners", token=tok))
    assert_json_error(login(api, user["email"]), 401)

    api.ok("PATCH", f"/api/v1/users/{user['id']}", {"disabled": 0})
    api_ok(api.call("GET", "/api/v1/me", token=tok))
    api_ok(login(api, user["email"]))


def test_deleted_user_is_locked_out(api):
    user = new_user(api)
    value, _ = session_cookie(api_ok_resp(login(api, user["email"])))
    api.ok("DELETE", f"/api/v1/users/{user['id']}", status=204)
    assert_401(api.call("GET", "/api/v1/me", cookie=value), "gone")


def test_nobody_disables_or_re_roles_themselves(api):
    me = api.world.user_ids["admin"]
    for change in ({"disabled": 1}, {"role": "vendor-sales"}):
        r = api.call("PATCH", f"/api/v1/users/{me}", change, as_="admin")
        assert assert_json_error(r, 400, "invalid")["field"] == "role"
    assert api.ok("GET", "/api/v1/me")["role"] == "vendor-admin"


@pytest.mark.parametrize("password", ["", "short", "123456789", "x" * 257])
def test_weak_passwords_are_refused(api, password):
    body = {"email": f"weak-{next(_addr)}@sentinel.example", "name": "W", "role": "vendor-sales",
            "password": password}
    r = api.call("POST", "/api/v1/users", body, as_="admin")
    assert assert_json_error(r, 400, "invalid")["field"] == "password"
    assert not [u for u in api.all("/api/v1/users") if u["email"] == body["email"]]
    uid = api.world.user_ids["vsales"]
    r = api.call("PATCH", f"/api/v1/users/{uid}", {"password": password}, as_="admin")
    assert assert_json_error(r, 400, "invalid")["field"] == "password"


def test_password_lengths_at_the_limits_and_changes(api):
    user = new_user(api, password="p" * 10)
    # The user changes its own password (a vendor-sales may: own user).
    value, _ = session_cookie(api_ok_resp(login(api, user["email"], "p" * 10)))
    long_pw = "L" * 256
    api_ok(api.call("PATCH", f"/api/v1/users/{user['id']}", {"password": long_pw}, cookie=value))
    assert_json_error(login(api, user["email"], "p" * 10), 401)
    api_ok(login(api, user["email"], long_pw))



def test_a_new_password_ends_the_users_other_sessions(api):
    """Whoever signed in with the old password (a stolen or forgotten
    session, in another browser) is signed out when the password is
    changed, by the user or by an admin: its session cookie is 401 at the
    very next request.  The session that made the change goes on, and API
    tokens (credentials of their own, revoked one by one) are kept; other
    users' sessions are untouched."""
    user = new_user(api, role="partner-sales", partner=api.world.partners["RES-GOLD"])
    other = new_user(api, role="partner-sales", partner=api.world.partners["RES-GOLD"])
    mine, _ = session_cookie(api_ok_resp(login(api, user["email"])))
    thief, _ = session_cookie(api_ok_resp(login(api, user["email"])))
    others, _ = session_cookie(api_ok_resp(login(api, other["email"])))
    tok = api_ok(api.call("POST", "/api/v1/tokens", {"name": "script"}, cookie=mine), 201)["token"]
    for c in (mine, thief, others):
        api_ok(api.call("GET", "/api/v1/me", cookie=c))  # warm: the principal cache holds each
    # the user changes its own password from its session
    api_ok(api.call("PATCH", f"/api/v1/users/{user['id']}", {"password": "a brand new password"}, cookie=mine))
    assert_401(api.call("GET", "/api/v1/me", cookie=thief), "revoked")
    assert_401(api.call("GET", "/api/v1/contracts", cookie=thief))
    api_ok(api.call("GET", "/api/v1/me", cookie=mine))
    api_ok(api.call("GET", "/api/v1/me", token=tok))
    api_ok(api.call("GET", "/api/v1/me", cookie=others))
    # an admin sets it again: every session of the user ends, the admin's own goes on
    thief2, _ = session_cookie(api_ok_resp(login(api, user["email"], "a brand new password")))
    admin_s, _ = session_cookie(api_ok_resp(login(api, api.world.emails["admin"])))
    api_ok(api.call("PATCH", f"/api/v1/users/{user['id']}", {"password": "the admins new password"},
                    cookie=admin_s))
    for c in (mine, thief2):
        assert_401(api.call("GET", "/api/v1/me", cookie=c), "revoked")
    api_ok(api.call("GET", "/api/v1/me", cookie=admin_s))
    api_ok(api.call("GET", "/api/v1/me", token=tok))
    api_ok(api.call("GET", "/api/v1/me", cookie=others))
    # a change without a password ends nothing
    s3, _ = session_cookie(api_ok_resp(login(api, user["email"], "the admins new password")))
    api.ok("PATCH", f"/api/v1/users/{user['id']}", {"name": "Renamed"})
    api_ok(api.call("GET", "/api/v1/me", cookie=s3))

def test_password_hashes_are_never_shown(api):
    user = new_user(api)
    api.ok("PATCH", f"/api/v1/users/{user['id']}", {"password": "another-password-1"})
    responses = [
        api.call("GET", "/api/v1/users?limit=500", as_="admin"),
        api.call("GET", f"/api/v1/users/{user['id']}", as_="admin"),
        api.call("GET", "/api/v1/me", as_="admin"),
        api.call("GET", f"/api/v1/audit?object=users&object_id={user['id']}", as_="admin"),
        api.call("GET", "/api/v1/audit?limit=500", as_="admin"),
        api.call("GET", "/api/v1/users", as_="gold-admin"),
    ]
    for r in responses:
        api_ok(r)
        assert b"password_hash" not in r.body and b"$argon2" not in r.body and b"another-password" not in r.body
        assert API_PASSWORD.encode() not in r.body
    listed = api.ok("GET", "/api/v1/users?limit=500")["items"]
    assert user["id"] in [u["id"] for u in listed]
    assert all("password" not in u and "password_hash" not in u for u in listed)
    # The audit log notes that a password was set, without it.
    entries = api.ok("GET", f"/api/v1/audit?object=users&object_id={user['id']}")["items"]
    assert [e["note"] for e in entries] == ["password set", "password set"]


def test_the_audit_filters_by_user_and_object_together(api):
    """GET /api/v1/audit?object=...&user=... answered the object's entries of
    every user (the user filter was dropped when an object was named): each
    filter given is applied now, with the object's id too."""
    w = api.world
    gold = api.ok("GET", "/api/v1/me", as_="gold-admin")
    mine = api.ok("POST", "/api/v1/users", {"email": "audit-both@sentinel.example", "name": "Both",
                                             "role": "partner-sales", "partner_id": w.partners["RES-GOLD"],
                                             "password": "a long enough password"}, status=201, as_="gold-admin")
    api.ok("PATCH", f"/api/v1/users/{mine['id']}", {"name": "Both again"}, as_="admin")
    everyone = api.ok("GET", "/api/v1/audit?object=users&limit=500")["items"]
    assert {e["user_id"] for e in everyone} >= {gold["id"], w.user_ids["admin"]}, everyone
    for path in (f"/api/v1/audit?object=users&user={gold['id']}&limit=500",
                 f"/api/v1/audit?object=users&object_id={mine['id']}&user={gold['id']}&limit=500"):
        items = api.ok("GET", path)["items"]
        assert items and all(e["user_id"] == gold["id"] and e["object"] == "users" for e in items), (path, items)
    items = api.ok("GET", f"/api/v1/audit?object=users&object_id={mine['id']}&user={w.user_ids['admin']}")["items"]
    assert [e["object_id"] for e in items] == [mine["id"]] and items[0]["user_id"] == w.user_ids["admin"], items
