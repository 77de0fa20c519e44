"""connector-webhook (core/services/hooks.c, core/api/hooks.c): outbound event
subscriptions signed per Standard Webhooks in a CloudEvents 1.0 envelope,
and inbound signed batches.

Every signature is checked by an independent implementation: the npm
`standardwebhooks` and `cloudevents` packages, through
tests/integration/webhook_check.mjs run with node.  The subscribers are
HTTP servers this test starts on 127.0.0.1 (renewd runs with
--outbound-hosts 127.0.0.1).

* test_outbound_events_verify_and_parse: a subscription; a partner's
  decision (opportunity.decided, quote.published), its order
  (order.placed) and the vendor's payment (order.paid) reach the
  subscriber, each verified by standardwebhooks and parsed as CloudEvents by
  the cloudevents package, a tampered copy refused; the delivery log says
  delivered with the subscriber's status.
* test_retries_exhausted_and_redelivery: a subscriber answering 500 is
  retried with backoff until webhook_max_attempts, then the delivery is
  exhausted and a webhook.exhausted event goes to the subscription that asked
  for it; a manual redelivery to the repaired subscriber delivers it.
* test_rotation_signs_with_both_secrets: after a rotation each delivery
  carries two signatures, and both the old and the new secret verify it.
* test_allow_list_and_bad_input: a URL outside outbound_hosts is never
  connected to (the log says why); bad subscriptions are refused with the
  field; a partner's user may not manage subscriptions.
* test_inbound_batches: a batch signed by standardwebhooks is accepted and
  stored in the inbox; tampered, stale, replayed, unsigned and unknown-endpoint
  batches are refused with the reason, nothing of them stored; the inbox
  lists the accepted ones with their verification result and body.
* test_events_stay_with_their_vendor: another vendor's subscription gets
  none of this vendor's events; its admin sees and changes none of them.
* test_secrets_key_rotation_keeps_subscription_secrets: `renewctl secrets
  rotate` seals subscription secrets again; deliveries still verify.
"""
import base64
import http.server
import json
import os
import subprocess
import threading
import time

from conftest import ApiClient, api_user, assert_json_error, demo_load, http_request, renewctl
from test_quote_pdf import opportunity_of

HERE = os.path.dirname(os.path.abspath(__file__))
CHECK = os.path.join(HERE, "webhook_check.mjs")
NODE_TIMEOUT = 60


class Subscriber:
    """An HTTP server on 127.0.0.1 recording each POST; answers `status`."""

    def __init__(self):
        self.got, self.status, self.lock = [], 200, threading.Lock()
        outer = self

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                with outer.lock:
                    outer.got.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                      "body": body.decode()})
                    status = outer.status
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def url(self, path="/hook"):
        return f"http://127.0.0.1:{self.port}{path}"

    def events(self, path=None):
        with self.lock:
            return [m for m in self.got if path is None or m["path"] == path]

    def wait(self, pred, timeout=30.0, what="deliveries"):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            got = self.events()
            if pred(got):
                return got
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}: {self.events()}")

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def boot(daemon, tmp_path, extra=(), other=None):
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    token, uid = api_user(data, email="admin@x.example")
    gold = api_user(data, email="gold@x.example", role="partner-admin", partner="3")
    if other is not None:  # a second vendor and its admin: other["admin"] once renewd runs
        renewctl("vendor", "create", "--name", "Other Vendor Ltd", "--slug", "othervendor", "--currency", "EUR",
                 data=data, check=True)
        other["token"] = api_user(data, email="admin@other.example", vendor="othervendor")
    d = daemon(data=data, args=["--test-clock", "1", "--sched-interval-ms", "100000", "--outbound-hosts", "127.0.0.1",
                                "--webhook-retry-ms", "50", "--webhook-max-attempts", "3", *extra])
    if other is not None:
        other["admin"] = ApiClient(d, *other["token"])
    return d, data, ApiClient(d, token, uid), ApiClient(d, *gold)


def node_verify(tmp_path, secrets, messages):
    f = tmp_path / f"check-{time.monotonic_ns()}.json"
    f.write_text(json.dumps({"secrets": secrets, "messages": [{"headers": m["headers"], "body": m["body"]}
                                                               for m in messages]}))
    p = subprocess.run(["node", CHECK, "verify", str(f)], capture_output=True, text=True, timeout=NODE_TIMEOUT)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def node_sign(tmp_path, secret, mid, ts, body):
    f = tmp_path / f"body-{time.monotonic_ns()}.json"
    f.write_text(body)
    p = subprocess.run(["node", CHECK, "sign", secret, mid, str(ts), str(f)], capture_output=True, text=True,
                       timeout=NODE_TIMEOUT)
    assert p.returncode == 0, p.stderr
    return p.stdout


def deliveries(admin, **q):
    qs = "&".join(f"{k}={v}" for k, v in q.items())
    return admin.get("/api/v1/webhooks/deliveries" + (f"?{qs}" if qs else ""))["items"]


def wait_state(admin, pred, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        items = deliveries(admin)
        if pred(items):
            return items
        time.sleep(0.05)
    raise AssertionError(f"delivery log never matched: {deliveries(admin)}")


def test_outbound_events_verify_and_parse(daemon, tmp_path):
    sub = Subscriber()
    try:
        d, data, admin, gold = boot(daemon, tmp_path)
        vendor = admin.get("/api/v1/vendor")["id"]
        s = admin.ok("POST", "/api/v1/webhooks/subscriptions",
                     {"url": sub.url(), "description": "ERP",
                      "events": ["opportunity.decided", "quote.published", "order.placed", "order.paid"]}, status=201)
        secret = s["secret"]
        assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 32
        assert "secret" not in admin.get(f"/api/v1/webhooks/subscriptions/{s['id']}")
        assert [x["id"] for x in admin.get("/api/v1/webhooks/subscriptions")["items"]] == [s["id"]]

        admin.ok("POST", "/api/v1/plugins/payment-po/enablements", {"config": {}}, status=201)
        o = opportunity_of(admin, "K-20003")
        gold.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "partner"}, status=200)
        r = gold.call("POST", "/api/v1/orders", {"opportunity_id": o["id"], "payment_option": "purchase_order",
                                                 "po_number": "PO-9"}, headers={"Idempotency-Key": "k-1"})
        assert r.status in (200, 201), r
        order = r.json()
        admin.ok("POST", f"/api/v1/orders/{order['id']}/payments", {"amount": order["total"], "reference": "r-1"})

        want = ["opportunity.decided", "quote.published", "order.placed", "order.paid"]
        got = sub.wait(lambda g: len(g) >= 4)
        assert len(got) == 4, got
        res = node_verify(tmp_path, [secret], got)
        assert all(x["ok"] for x in res), res
        events = [x["event"] for x in res]
        assert [e["type"] for e in events] == ["com.renewd." + t for t in want]
        assert all(e["specversion"] == "1.0" and e["source"] == f"/renewd/vendors/{vendor}" for e in events)
        assert events[0]["subject"] == f"opportunity/{o['id']}" and events[0]["data"]["publish"] == "partner"
        assert events[2]["subject"] == f"order/{order['id']}" and events[2]["data"]["number"] == order["number"]
        assert events[3]["data"]["state"] == "paid" and events[3]["data"]["total"] == order["total"]
        assert len({e["id"] for e in events}) == 4
        for m, e in zip(got, events):
            assert m["headers"]["webhook-id"] == e["id"]
            assert m["headers"]["content-type"].startswith("application/cloudevents+json")
            assert abs(int(m["headers"]["webhook-timestamp"]) - time.time()) < 120

        # a tampered body, another secret, a changed id: standardwebhooks refuses each
        bad = [dict(got[0], body=got[0]["body"].replace('"partner"', '"vendor"')),
               dict(got[1], headers={**got[1]["headers"], "webhook-id": "msg_forged"})]
        assert [x["ok"] for x in node_verify(tmp_path, [secret], bad)] == [False, False]
        other = "whsec_" + base64.b64encode(b"\x01" * 32).decode()
        assert not node_verify(tmp_path, [other], got[:1])[0]["ok"]

        log = wait_state(admin, lambda it: len(it) == 4 and all(x["state"] == "delivered" for x in it))
        assert all(x["attempts"] == 1 and x["last_status"] == 200 and x["subscription_id"] == s["id"] for x in log)
        assert [x["type"] for x in log] == list(reversed(want))  # newest first
        assert deliveries(admin, state="queued") == []
        assert_json_error(admin.call("GET", "/api/v1/webhooks/deliveries?state=lost"), 400)
        d.stop()
        raw = b"".join(p.read_bytes() for p in data.iterdir() if p.is_file())
        assert secret.encode() not in raw and base64.b64decode(secret[6:]) not in raw
    finally:
        sub.close()


def test_retries_exhausted_and_redelivery(daemon, tmp_path):
    sub = Subscriber()
    try:
        d, data, admin, gold = boot(daemon, tmp_path)
        broken = admin.ok("POST", "/api/v1/webhooks/subscriptions",
                          {"url": sub.url("/broken"), "events": ["opportunity.decided"]}, status=201)
        watcher = admin.ok("POST", "/api/v1/webhooks/subscriptions",
                           {"url": sub.url("/ops"), "events": ["webhook.exhausted"]}, status=201)
        sub.status = 500
        o = opportunity_of(admin, "K-20003")
        gold.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "partner"}, status=200)
        log = wait_state(admin, lambda it: any(x["state"] == "exhausted" for x in it))
        x = next(x for x in log if x["subscription_id"] == broken["id"])
        assert x["state"] == "exhausted" and x["attempts"] == 3 and x["last_status"] == 500
        assert "500" in x["last_error"]
        assert len(sub.events("/broken")) == 3
        # the webhook.exhausted event: queued for the watcher (which fails too at first)
        sub.status = 200
        got = sub.wait(lambda g: any(m["path"] == "/ops" and m["headers"] and json.loads(m["body"])["type"] ==
                                     "com.renewd.webhook.exhausted" for m in g), what="the exhausted event")
        ops = [m for m in got if m["path"] == "/ops"][-1]
        ev = node_verify(tmp_path, [watcher["secret"]], [ops])[0]
        assert ev["ok"], ev
        assert ev["event"]["data"]["delivery_id"] == x["id"] and ev["event"]["data"]["event_id"] == x["event_id"]
        assert ev["event"]["data"]["type"] == "opportunity.decided"
        # manual redelivery: the same event id, delivered now, verified
        r = admin.ok("POST", f"/api/v1/webhooks/deliveries/{x['id']}/redeliver", status=202)
        assert r["state"] == "queued"
        wait_state(admin, lambda it: next(y for y in it if y["id"] == x["id"])["state"] == "delivered")
        again = sub.events("/broken")[-1]
        assert again["headers"]["webhook-id"] == x["event_id"]
        assert node_verify(tmp_path, [broken["secret"]], [again])[0]["ok"]
        assert_json_error(admin.call("POST", "/api/v1/webhooks/deliveries/999999/redeliver"), 404)
    finally:
        sub.close()


def test_rotation_signs_with_both_secrets(daemon, tmp_path):
    sub = Subscriber()
    try:
        d, data, admin, gold = boot(daemon, tmp_path)
        s = admin.ok("POST", "/api/v1/webhooks/subscriptions", {"url": sub.url(), "events": ["*"]}, status=201)
        old = s["secret"]
        r = admin.ok("POST", f"/api/v1/webhooks/subscriptions/{s['id']}/rotate", {"keep_seconds": 3600})
        new = r["secret"]
        assert new != old and new.startswith("whsec_") and "previous_secret_until" in r
        assert_json_error(admin.call("POST", f"/api/v1/webhooks/subscriptions/{s['id']}/rotate",
                                     {"keep_seconds": -1}), 400)
        o = opportunity_of(admin, "K-20003")
        gold.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"}, status=200)
        got = sub.wait(lambda g: len(g) >= 1)
        assert len(got[0]["headers"]["webhook-signature"].split(" ")) == 2
        assert node_verify(tmp_path, [old, new], got[:1])[0]["ok"]
        # keep 0: the old secret stops signing at once
        admin.ok("POST", f"/api/v1/webhooks/subscriptions/{s['id']}/rotate", {"keep_seconds": 0})
        admin.ok("PATCH", f"/api/v1/webhooks/subscriptions/{s['id']}", {"state": "paused"})
        assert admin.get(f"/api/v1/webhooks/subscriptions/{s['id']}")["state"] == "paused"
    finally:
        sub.close()


def test_allow_list_and_bad_input(daemon, tmp_path):
    sub = Subscriber()
    try:
        d, data, admin, gold = boot(daemon, tmp_path)
        # localhost is not 127.0.0.1 on the allow-list: never connected to
        s = admin.ok("POST", "/api/v1/webhooks/subscriptions",
                     {"url": f"http://localhost:{sub.port}/x", "events": ["opportunity.decided"]}, status=201)
        o = opportunity_of(admin, "K-20003")
        gold.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "partner"}, status=200)
        log = wait_state(admin, lambda it: it and it[0]["state"] == "exhausted")
        assert "outbound_hosts" in log[0]["last_error"], log
        assert sub.events() == []
        for body, field in (({"url": "ftp://127.0.0.1/x", "events": ["order.paid"]}, "url"),
                            ({"url": sub.url(), "events": ["order.shipped"]}, "events"),
                            ({"url": sub.url(), "events": []}, "events"),
                            ({"url": sub.url()}, "events"),
                            ({"events": ["order.paid"]}, "url"),
                            ({"url": sub.url(), "events": ["order.paid"], "colour": "red"}, "colour"),
                            ({"url": sub.url(), "events": ["order.paid"], "secret": "hunter2"}, "secret"),
                            ({"url": sub.url(), "events": ["order.paid"], "partner_id": 999}, "partner_id")):
            r = admin.call("POST", "/api/v1/webhooks/subscriptions", body)
            assert_json_error(r, 400)
            assert r.json()["error"]["field"] == field, (body, r)
        assert_json_error(admin.call("PATCH", f"/api/v1/webhooks/subscriptions/{s['id']}", {"state": "off"}), 400)
        assert gold.call("GET", "/api/v1/webhooks/subscriptions").status == 403
        assert gold.call("POST", "/api/v1/webhooks/subscriptions",
                         {"url": sub.url(), "events": ["order.paid"]}).status == 403
        assert len(admin.get("/api/v1/webhooks/subscriptions")["items"]) == 1
        admin.ok("DELETE", f"/api/v1/webhooks/subscriptions/{s['id']}", status=204)
        assert_json_error(admin.call("GET", f"/api/v1/webhooks/subscriptions/{s['id']}"), 404)
    finally:
        sub.close()


def test_inbound_batches(daemon, tmp_path):
    d, data, admin, gold = boot(daemon, tmp_path)
    vendor = admin.get("/api/v1/vendor")["id"]
    s = admin.ok("POST", "/api/v1/webhooks/subscriptions",
                 {"url": "http://127.0.0.1:9/unused", "events": ["order.paid"], "partner_id": 3}, status=201)
    out_only = admin.ok("POST", "/api/v1/webhooks/subscriptions",
                        {"url": "http://127.0.0.1:9/unused", "events": ["order.paid"]}, status=201)
    secret = s["secret"]
    path = f"/webhooks/inbound/{s['id']}?vendor={vendor}"
    body = json.dumps([{"external_id": "K-20002", "end": "2028-01-31"}])  # RES-GOLD's contract (test_feeds2.py)

    def post(b, mid, ts, sig, p=path):
        h = {"Content-Type": "application/json", "webhook-id": mid, "webhook-timestamp": str(ts),
             "webhook-signature": sig}
        return http_request(d.port, "POST", p, body=b.encode(), headers={k: v for k, v in h.items() if v is not None})

    now = int(time.time())
    sig = node_sign(tmp_path, secret, "msg_1", now, body)
    r = post(body, "msg_1", now, sig)
    assert r.status == 200, r  # imported as the partner's feed
    assert r.json()["verified"] is True and r.json()["inbox_id"] > 0
    first = r.json()["inbox_id"]
    # replayed: the same id, even freshly signed
    r = post(body, "msg_1", now, node_sign(tmp_path, secret, "msg_1", now, body))
    assert_json_error(r, 409, "replayed")
    # tampered body
    r = post(body.replace("2028", "2029"), "msg_2", now, node_sign(tmp_path, secret, "msg_2", now, body))
    assert_json_error(r, 400, "invalid_signature")
    # another partner's secret
    other = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    assert_json_error(post(body, "msg_3", now, node_sign(tmp_path, other, "msg_3", now, body)), 400, "invalid_signature")
    # stale, correctly signed
    old = now - 600
    assert_json_error(post(body, "msg_4", old, node_sign(tmp_path, secret, "msg_4", old, body)), 400, "stale")
    # missing headers, non-JSON, an endpoint with no partner, an unknown one
    r = post(body, "msg_5", now, None)
    assert_json_error(r, 400) and r.json()["error"]["field"] == "webhook-signature"
    assert_json_error(post("not json", "msg_6", now, node_sign(tmp_path, secret, "msg_6", now, "not json")), 400)
    p2 = f"/webhooks/inbound/{out_only['id']}?vendor={vendor}"
    assert_json_error(post(body, "msg_7", now, node_sign(tmp_path, out_only["secret"], "msg_7", now, body), p2), 404)
    assert_json_error(post(body, "msg_8", now, sig, f"/webhooks/inbound/99999?vendor={vendor}"), 404)
    # a second, fresh batch is accepted
    r = post(body, "msg_9", now, node_sign(tmp_path, secret, "msg_9", now, body))
    assert r.status == 200, r
    assert r.json()["inbox_id"] == first + 1  # nothing refused was stored
    inbox = admin.get("/api/v1/webhooks/inbox")["items"]
    assert [(b["id"], b["webhook_id"], b["partner_id"], b["verified"]) for b in inbox] == \
        [(first + 1, "msg_9", 3, True), (first, "msg_1", 3, True)]
    assert inbox[1]["body"] == json.loads(body) and inbox[0]["subscription_id"] == s["id"]
    assert admin.get("/api/v1/webhooks/inbox?partner_id=2")["items"] == []
    assert_json_error(admin.call("GET", "/api/v1/webhooks/inbox?partner_id=x"), 400)
    assert gold.call("GET", "/api/v1/webhooks/inbox").status == 403


def test_secrets_key_rotation_keeps_subscription_secrets(daemon, tmp_path):
    """`renewctl secrets rotate` seals a subscription's secret again under the
    new key: after it, deliveries still verify under the same whsec_ secret."""
    sub = Subscriber()
    try:
        d, data, admin, gold = boot(daemon, tmp_path)
        s = admin.ok("POST", "/api/v1/webhooks/subscriptions",
                     {"url": sub.url(), "events": ["opportunity.decided"]}, status=201)
        d.stop()
        old_key = (data / "secrets.key").read_bytes()
        p = renewctl("secrets", "rotate", data=data)
        assert p.returncode == 0, (p.stdout, p.stderr)
        assert (data / "secrets.key").read_bytes() != old_key
        d = daemon(data=data, args=["--test-clock", "1", "--sched-interval-ms", "100000", "--outbound-hosts",
                                    "127.0.0.1", "--webhook-retry-ms", "50", "--webhook-max-attempts", "3"])
        admin, gold = ApiClient(d, admin.token), ApiClient(d, gold.token)
        o = opportunity_of(admin, "K-20003")
        gold.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "partner"}, status=200)
        got = sub.wait(lambda g: len(g) >= 1)
        assert node_verify(tmp_path, [s["secret"]], got[:1])[0]["ok"]
        log = wait_state(admin, lambda it: it and it[0]["state"] == "delivered")
        assert log[0]["attempts"] == 1
    finally:
        sub.close()


def test_events_stay_with_their_vendor(daemon, tmp_path):
    """Another vendor's subscription to every event gets none of this
    vendor's, and its admin cannot see or touch this vendor's subscriptions,
    deliveries or inbox."""
    sub = Subscriber()
    try:
        other = {}
        d, data, admin, gold = boot(daemon, tmp_path, other=other)
        mine = admin.ok("POST", "/api/v1/webhooks/subscriptions",
                        {"url": sub.url("/mine"), "events": ["*"]}, status=201)
        theirs = other["admin"].ok("POST", "/api/v1/webhooks/subscriptions",
                                   {"url": sub.url("/theirs"), "events": ["*"]}, status=201)
        o = opportunity_of(admin, "K-20003")
        gold.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "partner"}, status=200)
        sub.wait(lambda g: len([m for m in g if m["path"] == "/mine"]) >= 2)
        wait_state(admin, lambda it: len(it) == 2 and all(x["state"] == "delivered" for x in it))
        time.sleep(0.5)  # two worker ticks: nothing more may arrive
        assert sub.events("/theirs") == []
        oa = other["admin"]
        assert oa.get("/api/v1/webhooks/deliveries")["items"] == []
        assert [x["id"] for x in oa.get("/api/v1/webhooks/subscriptions")["items"]] == [theirs["id"]]
        x = deliveries(admin)[0]
        assert_json_error(oa.call("POST", f"/api/v1/webhooks/deliveries/{x['id']}/redeliver"), 404)
        if mine["id"] != theirs["id"]:
            assert_json_error(oa.call("GET", f"/api/v1/webhooks/subscriptions/{mine['id']}"), 404)
            assert_json_error(oa.call("DELETE", f"/api/v1/webhooks/subscriptions/{mine['id']}"), 404)
        assert admin.get(f"/api/v1/webhooks/subscriptions/{mine['id']}")["url"] == sub.url("/mine")
    finally:
        sub.close()
