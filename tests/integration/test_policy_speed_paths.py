"""Issue 20, the policy row: the memo's faster paths keep its answers exact
and the sandbox's stops, and the vendor console names a cancelled check.

- The console's upload of a policy version runs its check on the thread
  pool; a stop of renewd (SIGTERM) cancels the check.  The page answered
  500 "The policy could not be checked" for that (the API already answered
  503 `unavailable`): it now answers 503 naming what happened (renewd is
  stopping, nothing was stored), with the source kept in the form.
- A check whose script the budget stops is a failing vector named as such
  (422, "instruction budget exceeded"), not a 500.

The memo's exactness under the new field reads is shown without HTTP, in
tests/unit/test_policy_reads.c.
"""
import json
import re
import time
import urllib.parse

import pytest

from conftest import (_api_user_create, API_PASSWORD, demo_load, http_request, raw_connect,
                      recv_http_response, start_api)

CSRF_RE = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


def console_login(d, email):
    """Logs in to the console; returns (cookie header, csrf token of /vendor/policies)."""
    body = urllib.parse.urlencode({"vendor": "sentinel", "email": email, "password": API_PASSWORD}).encode()
    r = http_request(d.port, "POST", "/login", body=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=30.0)
    assert r.status == 303, r
    cookies = [v.split(";")[0] for v in r.headers.get_all("set-cookie") or [] if v.startswith("rd_session=")]
    assert cookies, r.headers
    cookie = cookies[0]
    r = http_request(d.port, "GET", "/vendor/policies", headers={"Cookie": cookie}, timeout=30.0)
    assert r.status == 200, r
    return cookie, CSRF_RE.search(r.body.decode()).group(1)


def console_world(daemon, tmp_path, args=()):
    data = tmp_path / "data"
    data.mkdir()
    demo_load(data)
    _api_user_create(data, "sentinel", "boss@sentinel.example", "vendor-admin", password=True)
    d, admin, _ = start_api(daemon, data, demo=False, args=list(args))
    return d, admin


def endless_vectors(n):
    return [{"name": f"v{i}", "line": {}, "expect": [["reseller", 0]]} for i in range(n)]


@pytest.mark.serial  # a stop while the check runs: timings, not beside another worker's tests
def test_console_check_cancelled_by_a_stop_is_503_naming_it(daemon, tmp_path):
    """SIGTERM while the console's upload check runs a script that never
    returns: the page is 503 and says renewd is stopping and nothing was
    stored (before: 500 "The policy could not be checked")."""
    d, admin = console_world(daemon, tmp_path, args=["--shutdown-timeout-ms", "60000"])
    before = admin.get("/api/v1/policies")
    cookie, csrf = console_login(d, "boss@sentinel.example")
    src = "function margin(line)\n  while true do end\nend\n"
    form = urllib.parse.urlencode({"source": src, "vectors": json.dumps(endless_vectors(1000)), "note": "spin",
                                   "csrf": csrf}).encode()
    head = (f"POST /vendor/policies/margin HTTP/1.1\r\nHost: t\r\nCookie: {cookie}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(form)}\r\n\r\n").encode()
    s = raw_connect(d.port, timeout=30)
    try:
        s.sendall(head + form)
        time.sleep(0.5)  # the check is under way (it needs seconds of CPU time)
        d.send(15)
        status, headers, resp = recv_http_response(s, time.monotonic() + 30)
    finally:
        s.close()
    rc = d.wait(30)
    page = resp.decode()
    assert status == 503, (status, page[:2000])
    assert headers.get("content-type", "").startswith("text/html"), headers
    assert "renewd is stopping" in page and "nothing was stored" in page, page[:3000]
    assert "while true do end" in page  # the source kept, to upload again
    assert rc == 0 and "stopped cleanly" in d.log(), d.log()
    d2 = daemon(data=d.data)
    admin.daemon = d2
    assert admin.get("/api/v1/policies") == before


def test_console_check_stopped_by_the_budget_names_the_budget(daemon, tmp_path):
    """A script the instruction budget stops: each vector fails naming the
    budget (422, the version not stored), on every vector, not a 500."""
    d, admin = console_world(daemon, tmp_path)
    before = admin.get("/api/v1/policies")
    cookie, csrf = console_login(d, "boss@sentinel.example")
    src = ("function margin(line)\n  if line.quantity == 7 then while true do end end\n"
           "  return 'reseller', 100, 'flat'\nend\n")
    vectors = [{"name": "fine", "line": {"quantity": 1}, "expect": [["reseller", 100]]},
               {"name": "spins", "line": {"quantity": 7}, "expect": [["reseller", 100]]},
               {"name": "fine again", "line": {"quantity": 2}, "expect": [["reseller", 100]]},
               {"name": "spins again", "line": {"quantity": 7}, "expect": [["reseller", 100]]}]
    form = urllib.parse.urlencode({"source": src, "vectors": json.dumps(vectors), "note": "", "csrf": csrf}).encode()
    r = http_request(d.port, "POST", "/vendor/policies/margin", body=form,
                     headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}, timeout=60.0)
    page = r.body.decode()
    assert r.status == 422, (r.status, page[:2000])
    assert "2 of 4 test vectors failed" in page, page[:3000]
    assert page.count("instruction budget exceeded") == 2, page[:3000]
    assert admin.get("/api/v1/policies") == before


@pytest.mark.serial  # a stop while the dry run runs: timings
def test_console_dry_run_cancelled_by_a_stop_is_503_naming_it(daemon, tmp_path):
    """SIGTERM while the console's dry run prices the live contracts with a
    candidate that spins on every one of them: 503 naming the stop (before:
    422 "Dry run failed")."""
    d, admin = console_world(daemon, tmp_path, args=["--shutdown-timeout-ms", "60000"])
    src = ("function margin(line)\n  if (line.list.amount or 0) > 0 then while true do end end\n"
           "  return 'reseller', 100, 'flat'\nend\n")
    vectors = [{"name": "free", "line": {"list": {"amount": 0}}, "expect": [["reseller", 100]]}]
    r = admin.call("POST", "/api/v1/policies/margin", {"source": src, "vectors": vectors})
    assert r.status == 201, r
    version = json.loads(r.body)["version"]
    # The largest budget: each line spins until its 250 ms of CPU time, the
    # candidate's calls until their 2.5 s together (the stop comes first).
    assert admin.call("PATCH", "/api/v1/vendor", {"policy_instructions": 100000000}).status == 200
    cookie, csrf = console_login(d, "boss@sentinel.example")
    form = urllib.parse.urlencode({"csrf": csrf}).encode()
    head = (f"POST /vendor/policies/margin/{version}/dry-run HTTP/1.1\r\nHost: t\r\nCookie: {cookie}\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(form)}\r\n\r\n").encode()
    s = raw_connect(d.port, timeout=30)
    try:
        s.sendall(head + form)
        time.sleep(0.3)  # under way
        d.send(15)
        status, headers, resp = recv_http_response(s, time.monotonic() + 30)
    finally:
        s.close()
    rc = d.wait(30)
    page = resp.decode()
    assert status == 503, (status, page[:3000])
    assert "renewd is stopping" in page and "nothing was changed" in page, page[:3000]
    assert rc == 0 and "stopped cleanly" in d.log(), d.log()
