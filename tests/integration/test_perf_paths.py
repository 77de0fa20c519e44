"""The performance paths of issue 20 against a real daemon: lists whose
filters are served from an index give exactly the lists the table walk
gives, and the buffered access log loses no line.

Index-served lists (core/services/listing.c, core/api/crud.c): on a mixed
data set (several customers, partners and end dates, another vendor's
records, a contract ending 1970-01-01, which has no end-date index entry,
and one dated before 1970), every index-served filter is compared, page by
page at several page sizes and for vendor and partner callers, with the
unfiltered list (the table walk) filtered the way the API documents.  And
with the same filter next to one no index serves (status), whose walk is
the table's.

Buffered access log (core/util/log.c, flushed by the server's loop): every
request's line is in the log after SIGTERM and after SIGINT; a line shows
up while the daemon is idle (flushed per loop iteration, not only at exit);
with log_file, the same.
"""
import datetime
import re
import signal
import time

import pytest

from conftest import API_PASSWORD, api_ok, api_request

PAGE_SIZES = (1, 2, 3, 7, 500)


def walk(api, path, as_="admin", limit=500):
    """Every item of a list, following next_cursor at this page size."""
    sep = "&" if "?" in path else "?"
    items, cursor = [], None
    for _ in range(5000):
        url = f"{path}{sep}limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        doc = api_ok(api.call("GET", url, as_=as_))
        assert len(doc["items"]) <= limit
        items += doc["items"]
        cursor = doc["next_cursor"]
        if cursor is None:
            return items
        assert cursor == str(doc["items"][-1]["id"]), doc
    raise AssertionError(f"{path}: next_cursor never ended")


def same_as_walk(api, res, query, pred, as_="admin", base=""):
    """The filtered list (index-served) equals the table walk filtered by pred,
    at every page size; returns how many matched."""
    whole = walk(api, f"/api/v1/{res}" + (f"?{base}" if base else ""), as_=as_)
    want = [x for x in whole if pred(x)]
    assert [x["id"] for x in whole] == sorted(x["id"] for x in whole)
    q = f"{base}&{query}" if base else query
    for limit in PAGE_SIZES:
        got = walk(api, f"/api/v1/{res}?{q}", as_=as_, limit=limit)
        assert got == want, f"{res}?{q} limit={limit}: {[x['id'] for x in got]} != {[x['id'] for x in want]}"
    return len(want)


@pytest.fixture(scope="module")
def mixed(api):
    """Adds a mixed data set to the module's store; returns its names."""
    w = api.world
    ids = {"customers": [], "contracts": [], "resellers": []}
    dist = api.ok("POST", "/api/v1/partners", {"external_id": "PERF-DIST", "name": "Perf Distribution",
                                               "kind": "distributor", "tier": "gold"}, status=201)["id"]
    for i in range(3):
        ids["resellers"].append(api.ok("POST", "/api/v1/partners", {
            "external_id": f"PERF-RES-{i}", "name": f"Perf Reseller {i}", "kind": "reseller", "tier": "silver",
            "parent_id": dist}, status=201)["id"])
    for i in range(5):
        ids["customers"].append(api.ok("POST", "/api/v1/customers", {
            "external_id": f"PERF-C-{i}", "name": f"Perf Customer {i}"}, status=201)["id"])
        for k in range(i % 3 + 1):
            api.ok("POST", "/api/v1/contacts", {"customer_id": ids["customers"][-1], "name": f"Perf contact {i}.{k}"},
                   status=201)
    today = datetime.date.today()
    ends = [today + datetime.timedelta(days=d) for d in (-400, -10, 0, 1, 29, 30, 31, 90, 365, 800)]
    n = 0
    for i, end in enumerate(ends * 4):
        cust = ids["customers"][i % 5]
        res = ids["resellers"][i % 3] if i % 4 else w.partners["RES-GOLD"]
        body = {"external_id": f"PERF-K-{i}", "customer_id": cust, "product_id": 1 + i % 3, "reseller_id": res,
                "quantity": 1 + i, "start": (end - datetime.timedelta(days=364)).isoformat(),
                "end": end.isoformat()}
        ids["contracts"].append(api.ok("POST", "/api/v1/contracts", body, status=201)["id"])
        n += 1
    # Ends with no end-date index entry (day 0) and before it.
    for ext, start, end in (("PERF-EPOCH", "1970-01-01", "1970-01-01"), ("PERF-OLD", "1969-01-01", "1969-12-31")):
        r = api.call("POST", "/api/v1/contracts", {"external_id": ext, "customer_id": ids["customers"][0],
                                                   "product_id": 1, "reseller_id": ids["resellers"][0],
                                                   "quantity": 1, "start": start, "end": end}, as_="admin")
        if r.status == 201:
            ids["contracts"].append(r.json()["id"])
    # One cancelled, so that status filters differ from the index's hits.
    api.ok("DELETE", f"/api/v1/contracts/{ids['contracts'][3]}", status=200)
    ids["dist"] = dist
    return ids


def test_contract_filters_from_the_index_equal_the_table_walk(api, mixed):
    for cid in mixed["customers"] + [api.world.customers["gold"], 999999]:
        same_as_walk(api, "contracts", f"customer={cid}", lambda k, c=cid: k["customer_id"] == c)
    # A partner: its contracts as reseller or as distributor of record.
    for pid in mixed["resellers"] + [mixed["dist"], api.world.partners["RES-GOLD"], 999999]:
        same_as_walk(api, "contracts", f"partner={pid}",
                     lambda k, p=pid: p in (k["reseller_id"], k["distributor_id"]))
    # A key given twice, or once percent-encoded: refused before any walk
    # (test_http's duplicate-parameter test), the index path's included.
    a, b = mixed["customers"][0], mixed["customers"][1]
    for q in (f"customer={a}&customer={b}", f"customer={a}&%63ustomer={b}", f"%63ustomer={a}&customer={b}"):
        r = api.call("GET", f"/api/v1/contracts?{q}", as_="admin")
        assert r.status == 400 and r.json()["error"]["field"] == "customer", (q, r.status)
    for ext in ("PERF-K-0", "PERF-K-17", "K-20003", "PERF-EPOCH", "NO-SUCH", "perf-k-0", "PERF-K-1%20"):
        e = ext.replace("%20", " ")
        same_as_walk(api, "contracts", f"external_id={ext}", lambda k, e=e: k["external_id"] == e)
    # An empty value, and one too long for an index key: the walk answers, the same way.
    same_as_walk(api, "contracts", "external_id=", lambda k: k["external_id"] == "")
    same_as_walk(api, "contracts", "external_id=" + "X" * 300, lambda k: False)
    today = datetime.date.today()
    for lo, hi in ((0, 30), (-10, 1), (30, 30), (31, 29), (-5000, 5000), (1, None), (None, 30), (-400, None),
                   (None, -20000), (-20000, None)):
        q, pred = [], []
        if lo is not None:
            lo_s = (today + datetime.timedelta(days=lo)).isoformat()
            q.append(f"end_from={lo_s}")
        if hi is not None:
            hi_s = (today + datetime.timedelta(days=hi)).isoformat()
            q.append(f"end_to={hi_s}")
        got = same_as_walk(api, "contracts", "&".join(q),
                           lambda k, lo=lo_s if lo is not None else None, hi=hi_s if hi is not None else None:
                           k["end"] is not None and (lo is None or k["end"] >= lo) and (hi is None or k["end"] <= hi)
                           or (k["end"] is None and (lo is None or lo <= "1970-01-01") and
                               (hi is None or hi >= "1970-01-01")))
        if (lo, hi) == (0, 30):
            assert got >= 4


def test_index_served_filter_beside_one_the_index_does_not_serve(api, mixed):
    """status alone walks the table; status with customer, external_id or an
    end range is index-served and still filtered by status."""
    cid = mixed["customers"][3]
    for status in ("live", "cancelled"):
        same_as_walk(api, "contracts", f"customer={cid}", lambda k, c=cid: k["customer_id"] == c,
                     base=f"status={status}")
        same_as_walk(api, "contracts", "external_id=PERF-K-3", lambda k: k["external_id"] == "PERF-K-3",
                     base=f"status={status}")
        lo = datetime.date.today().isoformat()
        same_as_walk(api, "contracts", f"end_from={lo}", lambda k: k["end"] is not None and k["end"] >= lo,
                     base=f"status={status}")
    # Two index-served filters at once: one is walked, the other checked.
    k = api.ok("GET", "/api/v1/contracts?external_id=PERF-K-5")["items"][0]
    same_as_walk(api, "contracts", f"customer={k['customer_id']}&external_id=PERF-K-5",
                 lambda x: x["id"] == k["id"])
    other = next(c for c in mixed["customers"] if c != k["customer_id"])
    same_as_walk(api, "contracts", f"customer={other}&external_id=PERF-K-5", lambda x: False)


def test_partner_callers_see_the_same_through_the_index(api, mixed):
    """A partner's list is scoped: the index path checks the scope on every hit."""
    w = api.world
    cust = api.ok("GET", "/api/v1/contracts?external_id=PERF-K-0")["items"][0]["customer_id"]
    for who in ("gold-admin", "dist-admin", "gold-sales"):
        same_as_walk(api, "contracts", f"customer={cust}", lambda k, c=cust: k["customer_id"] == c, as_=who)
        same_as_walk(api, "contracts", "external_id=PERF-K-0", lambda k: k["external_id"] == "PERF-K-0", as_=who)
        same_as_walk(api, "contracts", f"customer={w.customers['gold']}",
                     lambda k: k["customer_id"] == w.customers["gold"], as_=who)
        lo = (datetime.date.today() - datetime.timedelta(days=20)).isoformat()
        same_as_walk(api, "contracts", f"end_from={lo}", lambda k: k["end"] is not None and k["end"] >= lo, as_=who)


def test_other_lists_from_the_index_equal_the_table_walk(api, mixed):
    for i in range(5):
        same_as_walk(api, "customers", f"external_id=PERF-C-{i}", lambda c, e=f"PERF-C-{i}": c["external_id"] == e)
        cid = mixed["customers"][i]
        same_as_walk(api, "contacts", f"customer={cid}", lambda c, x=cid: c["customer_id"] == x)
    same_as_walk(api, "customers", "external_id=NO-SUCH", lambda c: False)
    for pid in (mixed["dist"], api.world.partners["DIST-NW"], 999999):
        same_as_walk(api, "partners", f"parent={pid}", lambda p, x=pid: p["parent_id"] == x)
    same_as_walk(api, "partners", "external_id=PERF-RES-1", lambda p: p["external_id"] == "PERF-RES-1")
    same_as_walk(api, "partners", "external_id=PERF-RES-1", lambda p: p["external_id"] == "PERF-RES-1",
                 base="kind=distributor")
    skus = {p["sku"] for p in api.all("/api/v1/products")}
    for sku in sorted(skus)[:3] + ["NO-SUCH-SKU"]:
        same_as_walk(api, "products", f"sku={sku}", lambda p, s=sku: p["sku"] == s)
    for who in ("gold-admin", "dist-admin"):
        same_as_walk(api, "contacts", f"customer={api.world.customers['gold']}",
                     lambda c: c["customer_id"] == api.world.customers["gold"], as_=who)
        same_as_walk(api, "partners", f"parent={api.world.partners['DIST-NW']}",
                     lambda p: p["parent_id"] == api.world.partners["DIST-NW"], as_=who)


# ---- the buffered access log ---------------------------------------------------

ACCESS = re.compile(r"comp=http req=(\S+) client=(\S+) vendor=(\S+) user=(\S+) msg=\"(\w+) (\S+) (\d+) ")


def access_lines(text):
    return {m.group(1): m for m in ACCESS.finditer(text)}


def fire(d, n, prefix):
    """n requests, each with its own request id; returns the ids."""
    ids = []
    for i in range(n):
        rid = f"{prefix}-{i}"
        r = d.get("/healthz" if i % 2 else "/api/v1/contracts", headers={"X-Request-Id": rid})
        assert r.status in (200, 401, 503), r.status
        ids.append(rid)
    return ids


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_no_access_line_is_lost_at_a_signal(daemon, sig):
    d = daemon()
    ids = fire(d, 300, f"lost-{sig.name}")
    d.stop(sig)  # asserts exit 0 and "stopped cleanly"
    log = d.log()
    seen = access_lines(log)
    missing = [i for i in ids if i not in seen]
    assert not missing, f"{len(missing)} access lines missing, e.g. {missing[:5]}"
    m = seen[ids[0]]
    assert (m.group(2), m.group(3), m.group(4), m.group(5)) == ("127.0.0.1", "-", "-", "GET")
    # Each line whole and in the order served; the last lines come after them.
    order = [m.group(1) for m in ACCESS.finditer(log) if m.group(1) in set(ids)]
    assert order == ids
    assert log.rindex("stopped cleanly") > log.rindex(f"req={ids[-1]} ")
    assert all(line.startswith("ts=") for line in log.splitlines() if line), log[-2000:]


def wait_lines(read, ids):
    deadline = time.monotonic() + 10
    text = ""
    while time.monotonic() < deadline:
        text = read()
        if all(i in access_lines(text) for i in ids):
            return text
        time.sleep(0.02)
    raise AssertionError(f"access lines of {ids} not written while idle:\n{text[-2000:]}")


def test_an_idle_daemon_writes_its_lines_without_waiting_for_exit(daemon):
    """Flushed once per loop iteration: the line of a request is in the log
    while the daemon sits idle afterwards."""
    d = daemon()
    wait_lines(d.log, fire(d, 3, "idle"))
    assert d.running()
    d.stop()


def test_log_file_gets_every_line_while_idle_and_at_exit(daemon, tmp_path):
    logf = tmp_path / "renewd-file.log"
    d = daemon(args=["--log-file", str(logf)], wait=False)

    def read():
        return logf.read_text(errors="replace") if logf.exists() else ""

    deadline = time.monotonic() + 20
    m = None
    while time.monotonic() < deadline and not m:
        m = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", read())
        assert d.running(), d.log()
        time.sleep(0.02)
    assert m, read()
    d.port = int(m.group(1))
    wait_lines(read, fire(d, 3, "file-idle"))
    ids = fire(d, 200, "file-exit")
    d.send(signal.SIGTERM)
    assert d.wait() == 0
    text = read()
    seen = access_lines(text)
    assert [i for i in ids if i not in seen] == []
    assert text.rindex("stopped cleanly") > text.rindex(f"req={ids[-1]} ")


# ---- the principal cache (core/edge/call.c) ---------------------------------------

_user_seq = iter(range(1, 10**6))


def perf_user(api, role="vendor-sales", partner=None):
    body = {"email": f"perf-{next(_user_seq)}@sentinel.example", "name": "Perf cache", "role": role,
            "password": API_PASSWORD}
    if partner:
        body["partner_id"] = partner
    user = api.ok("POST", "/api/v1/users", body, status=201)
    r = api_request(api.port, "POST", "/api/v1/session", {"vendor": "sentinel", "email": user["email"],
                                                          "password": API_PASSWORD},
                    source=f"127.9.{next(_user_seq) % 250}.{next(_user_seq) % 250 + 1}")
    api_ok(r)
    cookie = re.match(r"rd_session=([^;]*)", r.headers.get_all("set-cookie")[0]).group(1)
    tok = api_ok(api.call("POST", "/api/v1/tokens", {"name": "perf"}, cookie=cookie), 201)
    return user, cookie, tok


def me(api, token=None, cookie=None):
    return api.call("GET", "/api/v1/me", token=token, cookie=cookie)


def assert_refused(r, why):
    assert r.status == 401, (r.status, r.body[:300])
    assert why in r.json()["error"]["message"], r.body


def test_a_revoked_token_is_refused_on_the_next_request(api):
    user, cookie, tok = perf_user(api)
    for _ in range(5):  # the cache holds it now
        assert api_ok(me(api, token=tok["token"]))["id"] == user["id"]
    api_ok(api.call("DELETE", f"/api/v1/tokens/{tok['id']}", token=tok["token"]), 204)
    assert_refused(me(api, token=tok["token"]), "revoked")
    assert_refused(api.call("GET", "/api/v1/contracts?limit=1", token=tok["token"]), "revoked")
    # A session ended by logout: refused on its next request too.
    for _ in range(3):
        api_ok(me(api, cookie=cookie))
    api_ok(api.call("DELETE", "/api/v1/session", cookie=cookie), 204)
    assert me(api, cookie=cookie).status == 401


def test_changes_to_the_user_apply_on_the_next_request(api):
    w = api.world
    user, _, tok = perf_user(api, role="partner-sales", partner=w.partners["RES-GOLD"])
    t = tok["token"]
    for _ in range(3):
        doc = api_ok(me(api, token=t))
    assert doc["role"] == "partner-sales" and doc["partner_scope"] == [w.partners["RES-GOLD"]]
    api.ok("PATCH", f"/api/v1/users/{user['id']}", {"partner_id": w.partners["DIST-NW"]})
    doc = api_ok(me(api, token=t))
    assert doc["partner_scope"][0] == w.partners["DIST-NW"] and len(doc["partner_scope"]) > 1, doc
    api.ok("PATCH", f"/api/v1/users/{user['id']}", {"role": "partner-admin"})
    assert api_ok(me(api, token=t))["role"] == "partner-admin"
    api.ok("PATCH", f"/api/v1/users/{user['id']}", {"disabled": 1})
    assert_refused(me(api, token=t), "disabled")
    api.ok("PATCH", f"/api/v1/users/{user['id']}", {"disabled": 0})
    assert api_ok(me(api, token=t))["id"] == user["id"]
    api.ok("DELETE", f"/api/v1/users/{user['id']}", status=204)
    assert_refused(me(api, token=t), "gone")


@pytest.mark.watchdog(300)  # 140 Argon2id hashes (70 users made and logged in): ~30 s of CPU, 90+ s under stress-ng
def test_many_tokens_each_answer_as_their_own_user(api):
    """More tokens than the cache has slots, used in turn: each is its own user."""
    made = [perf_user(api) for _ in range(70)]
    for _ in range(2):
        for user, _, tok in made:
            assert api_ok(me(api, token=tok["token"]))["id"] == user["id"]
    api_ok(api.call("DELETE", f"/api/v1/tokens/{made[7][2]['id']}", token=made[7][2]["token"]), 204)
    for i, (user, _, tok) in enumerate(made):
        r = me(api, token=tok["token"])
        if i == 7:
            assert_refused(r, "revoked")
        else:
            assert api_ok(r)["id"] == user["id"]
