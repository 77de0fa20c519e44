"""A store failure is never a wrong answer (docs/security.md, "A store
failure is never a wrong answer"): when the store cannot answer a caller's
look-up (a PostgreSQL database lost, a statement past its timeout, an LMDB
error), the request is answered 503 with Retry-After: the store's trouble,
not the caller's.  Never "not logged in" (a redirect to the login page, a
401), which throws a signed-in user out during an outage.

The failure is made as in test_pg_ops.py: renewd on a PostgreSQL store with
a short statement timeout, and the tokens' index locked by another session
until the look-up is cancelled.

- test_a_session_look_up_that_fails_answers_503_and_keeps_the_session: the
  console's page (rd_web_user, rd_call_session): 503 page, Retry-After, no
  redirect, the cookie kept; the same cookie serves the page once the lock
  is gone.
- test_a_customer_page_the_store_fails_answers_503_not_401_or_404: the
  portal (rd_web_customer, then the renewal's records): 503 page, not 401
  "this page needs your renewal link" nor 404 "no longer available".
"""
import urllib.parse

import pytest

import pgcluster
from pgcluster import Locker
from conftest import http_request

cluster = pgcluster.cluster  # the module's cluster (a fixture)

pytestmark = pytest.mark.skipif(not pgcluster.available(), reason="postgresql-15 is not installed (scripts/deps)")

STMT_TIMEOUT_MS = 800
REQ_BOUND = 8.0  # seconds a request may take at most while the store fails
PASSWORD = "correct horse battery staple"  # pgcluster.world's vendor admin


def node(cluster, tmp_path):
    db, url, token, dirs, args = pgcluster.world(cluster, tmp_path, 1, 3000, prefix="so",
                                                 extra=["--store-statement-timeout-ms", str(STMT_TIMEOUT_MS)])
    (a,) = pgcluster.start(tmp_path, dirs, args, [0])
    return db, token, a


def page(d, path, cookies, method="GET", form=None):
    h = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form).encode()
        h["Content-Type"] = "application/x-www-form-urlencoded"
    return http_request(d.port, method, path, body=body, headers=h, timeout=REQ_BOUND + 5)


def set_cookies(r):
    return {v.partition("=")[0]: v.partition("=")[2].split(";")[0] for v in r.headers.get_all("set-cookie") or []}


def assert_unavailable_page(r):
    """The 503 page: HTML, Retry-After, no redirect, no cookie taken away."""
    assert r.status == 503, (r.status, r.headers.get("location"), r.body[:300])
    assert r.headers.get("content-type", "").startswith("text/html"), r.headers
    assert r.headers.get("retry-after", "").isdigit(), r.headers
    assert not r.headers.get("location"), r.headers
    assert not r.headers.get_all("set-cookie"), r.headers.get_all("set-cookie")
    assert "unavailable" in r.body.decode().lower(), r.body[:600]


def test_a_session_look_up_that_fails_answers_503_and_keeps_the_session(cluster, tmp_path):
    db, token, a = node(cluster, tmp_path)
    lock = None
    try:
        r = page(a, "/login", None, "POST", {"vendor": "sentinel", "email": "admin@sentinel.example",
                                             "password": PASSWORD})
        cookies = set_cookies(r)
        assert r.status == 303 and cookies.get("rd_session"), (r.status, r.headers)
        start = r.headers["location"]
        ok = page(a, start, cookies)
        assert ok.status == 200, (ok.status, ok.headers.get("location"))
        lock = Locker(cluster, db, "i_tokens")
        r = page(a, start, cookies)
        assert_unavailable_page(r)
        lock.release()
        again = page(a, start, cookies)
        assert again.status == 200, (again.status, again.headers.get("location"))
        a.stop()
    finally:
        if lock:
            lock.release()
        a.close()


def customer_link(a, token):
    """A customer link's token: an opportunity published, its notice's link."""
    import re
    from conftest import api_list_all, api_request
    from test_pages_security import wait_mail
    for o in api_list_all(a.port, "/api/v1/opportunities", token):
        r = api_request(a.port, "POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"},
                        token=token)
        if r.status == 200:
            m = re.search(r"/c/(rd_[A-Za-z0-9_-]{43})", wait_mail(a.data, f"notice:{o['id']}"))
            assert m
            return m.group(1)
    raise AssertionError("no opportunity could be published")


def test_a_customer_page_the_store_fails_answers_503_not_401_or_404(cluster, tmp_path):
    """The portal (rd_web_customer, then the renewal's records): a store
    failure under the link's session answers 503, not 401 "this page needs
    your renewal link"; under the renewal's records, 503, not 404 "no longer
    available".  The same cookie serves the portal once the lock is gone."""
    db, token, a = node(cluster, tmp_path)
    lock = None
    try:
        link = customer_link(a, token)
        r = page(a, f"/c/{link}", None)
        cookies = set_cookies(r)
        assert r.status == 303 and r.headers["location"] == "/portal" and cookies.get("rd_customer"), r.status
        assert page(a, "/portal", cookies).status == 200
        for table in ("i_tokens", "t_opportunities"):
            lock = Locker(cluster, db, table)
            assert_unavailable_page(page(a, "/portal", cookies))
            lock.release()
            lock = None
            r = page(a, "/portal", cookies)
            assert r.status == 200, (table, r.status)
        a.stop()
    finally:
        if lock:
            lock.release()
        a.close()


def test_a_reference_the_store_fails_to_read_answers_503_not_400(cluster, tmp_path):
    """A contract, contact or partner created while the store cannot read
    what it names (services/records.c, shared with the import engine; the
    API's partner rules): 503, not 400 "reseller_id names no partner" /
    "customer_id names no customer" / "parent_id must be the id of a
    distributor", which tells the client its good request is wrong.  Nothing is written; the
    same request succeeds once the lock is gone."""
    from conftest import api_list_all, api_request
    db, token, a = node(cluster, tmp_path)
    lock = None
    try:
        k = api_list_all(a.port, "/api/v1/contracts", token)[0]
        contract = {f: k[f] for f in ("customer_id", "product_id", "reseller_id", "quantity", "start", "end",
                                      "currency")}
        contract["external_id"] = "OUTAGE-K"
        contact = {"customer_id": k["customer_id"], "external_id": "OUTAGE-C", "name": "Pat Outage",
                   "email": "pat@outage.example"}
        dist = next(p for p in api_list_all(a.port, "/api/v1/partners", token) if p["kind"] == "distributor")
        partner = {"external_id": "OUTAGE-P", "name": "Outage IT", "kind": "reseller", "tier": "gold",
                   "parent_id": dist["id"]}
        for path, body, table in (("/api/v1/contracts", contract, "t_partners"),
                                  ("/api/v1/contacts", contact, "t_customers"),
                                  ("/api/v1/partners", partner, "t_partners")):
            lock = Locker(cluster, db, table)
            r = api_request(a.port, "POST", path, body, token=token, timeout=REQ_BOUND + 5)
            assert r.status == 503, (path, r.status, r.body[:300])
            assert r.json()["error"]["code"] == "unavailable" and r.headers.get("retry-after"), r.headers
            lock.release()
            lock = None
            assert not [x for x in api_list_all(a.port, path, token) if x.get("external_id") == body["external_id"]]
            r = api_request(a.port, "POST", path, body, token=token)
            assert r.status == 201, (path, r.status, r.body[:300])
        a.stop()
    finally:
        if lock:
            lock.release()
        a.close()


def test_a_login_the_store_fails_to_look_up_answers_503_not_wrong_password(cluster, tmp_path):
    """A password login while the store cannot read the user (the users'
    index locked past the statement timeout): 503 `unavailable`, not 401
    "wrong vendor, e-mail or password"; the form is not sent back to
    /login?failed=1.  Neither counts against the failed-login limiter: the
    same login succeeds at once afterwards, more times than the limiter
    allows failures."""
    from conftest import api_request
    db, token, a = node(cluster, tmp_path)
    lock = None
    creds = {"vendor": "sentinel", "email": "admin@sentinel.example", "password": PASSWORD}
    try:
        lock = Locker(cluster, db, "i_users")
        for _ in range(6):  # beyond the limiter's failures per e-mail and address
            r = api_request(a.port, "POST", "/api/v1/session", creds, timeout=REQ_BOUND + 5)
            assert r.status == 503, (r.status, r.body[:300])
            assert r.json()["error"]["code"] == "unavailable" and r.headers.get("retry-after"), r.headers
        r = page(a, "/login", None, "POST", creds)
        assert r.status == 503 and r.headers.get("location") is None, (r.status, r.headers.get("location"))
        lock.release()
        lock = None
        r = api_request(a.port, "POST", "/api/v1/session", creds)
        assert r.status == 200, (r.status, r.body[:300])
        r = page(a, "/login", None, "POST", creds)
        assert r.status == 303 and set_cookies(r).get("rd_session"), (r.status, r.headers.get("location"))
        a.stop()
    finally:
        if lock:
            lock.release()
        a.close()


def test_a_link_token_the_store_fails_to_look_up_answers_503_not_401(cluster, tmp_path):
    """The customer's API (GET /api/v1/portal, the link's token as a bearer):
    a link look-up the store fails (the links' index locked) answers 503
    `unavailable`, not 401 "the link is not known, has expired or was
    revoked"; the same token works once the lock is gone."""
    from conftest import api_request
    db, token, a = node(cluster, tmp_path)
    lock = None
    try:
        link = customer_link(a, token)
        assert api_request(a.port, "GET", "/api/v1/portal", token=link).status == 200
        lock = Locker(cluster, db, "i_links")
        r = api_request(a.port, "GET", "/api/v1/portal", token=link, timeout=REQ_BOUND + 5)
        assert r.status == 503, (r.status, r.body[:300])
        assert r.json()["error"]["code"] == "unavailable" and r.headers.get("retry-after"), r.headers
        lock.release()
        lock = None
        r = api_request(a.port, "GET", "/api/v1/portal", token=link)
        assert r.status == 200, (r.status, r.body[:300])
        a.stop()
    finally:
        if lock:
            lock.release()
        a.close()
