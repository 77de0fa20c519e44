#!/usr/bin/python3
"""fakegw: a Stripe-style card gateway for renewd's tests (never shipped).

Listens on 127.0.0.1 (an ephemeral port unless --port), prints the port on
stdout as its first line, and exits by itself after --lifetime seconds
(default 600).  Python 3 standard library only.

The API (Bearer --secret; form-encoded bodies, JSON answers):
  POST /v1/tokens                        a test card token (outcome=decline for a declined card)
  POST /v1/payment_intents               amount, currency, payment_method, capture_method,
                                         metadata[...]; Idempotency-Key required
  GET  /v1/payment_intents               ?metadata[order]=REF, ?metadata[idempotency_key]=KEY, ?limit=N
  GET  /v1/payment_intents/{id}
  POST /v1/payment_intents/{id}/confirm
  POST /v1/payment_intents/{id}/capture  amount_to_capture
  POST /v1/refunds                       payment_intent, amount
  POST /v1/checkout/sessions             a hosted payment page: amount, currency, capture_method,
                                         metadata[...], success_url, cancel_url; Idempotency-Key
                                         required; answers {id, url, payment_intent, status}
The hosted payment page (no auth: the customer's browser):
  GET  /pay/{session}                    an HTML card form (card number, expiry, CVC)
  POST /pay/{session}                    card_number=...: 4000000000000002 is declined (the page
                                         again, with the reason); any other 12-19 digits pay: the
                                         intent succeeds, the signed payment_intent.succeeded event is
                                         POSTed to the webhook URL (/control/config), then 303 to
                                         success_url
Every POST with an Idempotency-Key is idempotent as Stripe's are: the same
key, path and body answer the first answer again (Idempotent-Replayed: true);
the same key with another path or body answers 400 idempotency_error.

Control (no auth; JSON bodies), for tests:
  POST /control/fail_next      {"status": 500, "message": "...", "count": 1}: the next
                               API calls fail without acting
  POST /control/timeout_next   {"seconds": 3, "after": 0}: the next API call (after
                               `after` more) acts, then answers late
  POST /control/faults         {"every": 3, "status": 503, "drop_every": 5}: from now on every
                               `every`-th API call fails with `status` without acting, and
                               every `drop_every`-th has its connection closed without an
                               answer, also without acting (0 or absent: none); the count
                               of faults injected is in /control/state as faults_injected
  POST /control/webhook        {"type": "payment_intent.succeeded", "payment_intent": "pi_1",
                               "url": optional, "times": 1, "timestamp": optional,
                               "secret": optional, "object": optional}: a signed event (its
                               data.object the intent as it stands, with amount, amount_received
                               and currency, as a real gateway's; "object" overrides its fields),
                               POSTed to url `times` times when given, and returned as
                               {"body", "signature", "sent"}
  POST /control/config         {"webhook_url": "http://127.0.0.1:..."}: where a payment on the
                               hosted page is reported
  GET  /control/state          intents, charges (one per money movement), refunds, sessions,
                               the card numbers typed on the hosted page (cards_seen)
Webhook signature: header Gateway-Signature: t=TS,v1=HEX, HEX being
HMAC-SHA256(--webhook-secret, "TS.BODY").
"""
import argparse
import hashlib
import hmac
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
STATE = {
    "intents": {},      # id -> intent
    "order": [],        # intent ids in creation order
    "idem": {},         # key -> (fingerprint, status, body)
    "charges": [],      # {"intent", "amount", "kind"}: every money movement
    "refunds": {},      # id -> refund
    "tokens": {"tok_visa": "ok", "tok_chargeDeclined": "decline"},
    "fail_next": [],    # [(status, message)]
    "timeout_next": [], # [seconds]
    "seq": 0,
    "sessions": {},     # id -> checkout session
    "cards_seen": [],   # card numbers typed on the hosted page (the test checks renewd never saw one)
    "webhook_url": None,
    "faults": {"every": 0, "status": 503, "drop_every": 0},  # a schedule of failures (/control/faults)
    "calls": 0,             # API calls seen (the schedule counts them)
    "faults_injected": 0,
}
ARGS = None


def next_id(prefix):
    STATE["seq"] += 1
    return "%s_%06d%s" % (prefix, STATE["seq"], secrets.token_hex(4))


def err(status, etype, message, code=None, intent=None):
    e = {"type": etype, "message": message}
    if code:
        e["code"] = code
    if intent is not None:
        e["payment_intent"] = intent
    return status, {"error": e}


def intent_view(pi):
    return json.loads(json.dumps(pi))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet unless asked
        if ARGS.verbose:
            sys.stderr.write("fakegw: " + fmt % args + "\n")

    def answer(self, status, obj, extra=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self):
        self.route("GET", b"")

    def do_POST(self):
        self.route("POST", self.body())

    def route(self, method, raw):
        url = urllib.parse.urlsplit(self.path)
        if url.path.startswith("/control/"):
            return self.control(method, url.path, raw)
        if url.path.startswith("/pay/"):
            return self.pay(method, url.path[5:], raw)
        if self.headers.get("Authorization") != "Bearer " + ARGS.secret:
            return self.answer(401, {"error": {"type": "authentication_error", "message": "Invalid API key provided"}})
        with LOCK:
            STATE["calls"] += 1
            n, f = STATE["calls"], STATE["faults"]
            drop = bool(f["drop_every"] and n % f["drop_every"] == 0)
            scheduled = not drop and f["every"] and n % f["every"] == 0
            if drop or scheduled:
                STATE["faults_injected"] += 1
        if drop:  # the connection closes with no answer: the client cannot tell whether anything happened
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if scheduled:
            return self.answer(f["status"], {"error": {"type": "api_error", "message": "scheduled fault"}})
        with LOCK:
            fail = STATE["fail_next"].pop(0) if STATE["fail_next"] else None
            delay = None
            if STATE["timeout_next"]:
                if STATE["timeout_next"][0]["after"] > 0:
                    STATE["timeout_next"][0]["after"] -= 1
                else:
                    delay = STATE["timeout_next"].pop(0)["seconds"]
        if fail:
            return self.answer(fail[0], {"error": {"type": "api_error", "message": fail[1]}})
        params = dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        key = self.headers.get("Idempotency-Key")
        with LOCK:
            if method == "POST" and key:
                fp = hashlib.sha256(url.path.encode() + b"\0" + raw).hexdigest()
                seen = STATE["idem"].get(key)
                if seen and seen[0] != fp:
                    status, obj = err(400, "idempotency_error",
                                      "Keys for idempotent requests can only be used with the same parameters they were first used with.")
                    replayed = False
                elif seen:
                    status, obj, replayed = seen[1], seen[2], True
                else:
                    status, obj = self.api(method, url, params, key)
                    STATE["idem"][key] = (fp, status, obj)
                    replayed = False
            else:
                status, obj = self.api(method, url, params, key)
                replayed = False
        if delay:
            time.sleep(delay)  # acted already: the client gives up first
        self.answer(status, obj, {"Idempotent-Replayed": "true"} if replayed else None)

    # The API proper; called with LOCK held.
    def api(self, method, url, params, key):
        parts = [p for p in url.path.split("/") if p]
        if method == "POST" and parts == ["v1", "tokens"]:
            tok = "tok_" + secrets.token_hex(8)
            STATE["tokens"][tok] = "decline" if params.get("outcome") == "decline" else "ok"
            return 200, {"id": tok, "object": "token", "livemode": False}
        if parts[:2] == ["v1", "payment_intents"]:
            if method == "POST" and len(parts) == 2:
                return self.create(params, key)
            if method == "GET" and len(parts) == 2:
                q = dict(urllib.parse.parse_qsl(url.query))
                out = []
                for i in STATE["order"]:
                    pi = STATE["intents"][i]
                    if all(pi["metadata"].get(k[9:-1]) == v for k, v in q.items() if k.startswith("metadata[")):
                        out.append(intent_view(pi))
                limit = int(q.get("limit", "100"))
                return 200, {"object": "list", "data": out[:limit], "has_more": len(out) > limit}
            pi = STATE["intents"].get(parts[2]) if len(parts) >= 3 else None
            if pi is None:
                return err(404, "invalid_request_error", "No such payment_intent", "resource_missing")
            if method == "GET" and len(parts) == 3:
                return 200, intent_view(pi)
            if method == "POST" and len(parts) == 4 and parts[3] == "confirm":
                return self.confirm(pi)
            if method == "POST" and len(parts) == 4 and parts[3] == "capture":
                return self.capture(pi, params)
        if method == "POST" and parts == ["v1", "refunds"]:
            return self.refund(params)
        if method == "POST" and parts == ["v1", "checkout", "sessions"]:
            return self.session(params, key)
        return err(404, "invalid_request_error", "Unrecognized request URL (%s %s)" % (method, url.path))

    def create(self, params, key):
        if not key:
            return err(400, "invalid_request_error", "an Idempotency-Key header is required")
        try:
            amount = int(params.get("amount", ""))
        except ValueError:
            return err(400, "invalid_request_error", "Missing required param: amount.", "parameter_missing")
        cur = params.get("currency", "")
        if amount <= 0 or len(cur) != 3 or not cur.isalpha():
            return err(400, "invalid_request_error", "Invalid amount or currency", "parameter_invalid")
        pm = params.get("payment_method", "")
        if pm not in STATE["tokens"]:
            return err(400, "invalid_request_error", "No such PaymentMethod: '%s'" % pm[:40], "resource_missing")
        meta = {k[9:-1]: v for k, v in params.items() if k.startswith("metadata[") and k.endswith("]")}
        pi = {"id": next_id("pi"), "object": "payment_intent", "amount": amount, "currency": cur.lower(),
              "status": "requires_confirmation", "payment_method": pm,
              "capture_method": params.get("capture_method", "automatic"), "metadata": meta,
              "amount_received": 0, "amount_refunded": 0, "created": int(time.time())}
        STATE["intents"][pi["id"]] = pi
        STATE["order"].append(pi["id"])
        return 200, intent_view(pi)

    def confirm(self, pi):
        if pi["status"] not in ("requires_confirmation", "requires_payment_method"):
            return err(400, "invalid_request_error", "This PaymentIntent's status is %s" % pi["status"],
                       "payment_intent_unexpected_state", intent_view(pi))
        if STATE["tokens"].get(pi["payment_method"]) == "decline":
            pi["status"] = "requires_payment_method"
            pi["last_payment_error"] = {"code": "card_declined", "message": "Your card was declined."}
            return err(402, "card_error", "Your card was declined.", "card_declined", intent_view(pi))
        if pi["capture_method"] == "manual":
            pi["status"] = "requires_capture"
            STATE["charges"].append({"intent": pi["id"], "amount": pi["amount"], "kind": "authorisation"})
        else:
            pi["status"] = "succeeded"
            pi["amount_received"] = pi["amount"]
            STATE["charges"].append({"intent": pi["id"], "amount": pi["amount"], "kind": "charge"})
        return 200, intent_view(pi)

    def capture(self, pi, params):
        if pi["status"] != "requires_capture":
            return err(400, "invalid_request_error", "This PaymentIntent's status is %s" % pi["status"],
                       "payment_intent_unexpected_state", intent_view(pi))
        amount = int(params.get("amount_to_capture") or pi["amount"])
        if amount <= 0 or amount > pi["amount"]:
            return err(400, "invalid_request_error", "amount_to_capture is more than the amount", "amount_too_large")
        pi["status"] = "succeeded"
        pi["amount_received"] = amount
        STATE["charges"].append({"intent": pi["id"], "amount": amount, "kind": "capture"})
        return 200, intent_view(pi)

    def refund(self, params):
        pi = STATE["intents"].get(params.get("payment_intent", ""))
        if pi is None:
            return err(404, "invalid_request_error", "No such payment_intent", "resource_missing")
        amount = int(params.get("amount") or pi["amount_received"] - pi["amount_refunded"])
        if pi["status"] != "succeeded" or amount <= 0 or pi["amount_refunded"] + amount > pi["amount_received"]:
            return err(400, "invalid_request_error", "The refund is more than what is left to refund", "charge_already_refunded")
        pi["amount_refunded"] += amount
        r = {"id": next_id("re"), "object": "refund", "amount": amount, "payment_intent": pi["id"],
             "status": "succeeded", "currency": pi["currency"]}
        STATE["refunds"][r["id"]] = r
        STATE["charges"].append({"intent": pi["id"], "amount": -amount, "kind": "refund"})
        return 200, r

    def session(self, params, key):
        if not key:
            return err(400, "invalid_request_error", "an Idempotency-Key header is required")
        try:
            amount = int(params.get("amount", ""))
        except ValueError:
            return err(400, "invalid_request_error", "Missing required param: amount.", "parameter_missing")
        cur = params.get("currency", "")
        back = params.get("success_url", "")
        if amount <= 0 or len(cur) != 3 or not back.startswith(("http://", "https://")):
            return err(400, "invalid_request_error", "Invalid amount, currency or success_url", "parameter_invalid")
        meta = {k[9:-1]: v for k, v in params.items() if k.startswith("metadata[") and k.endswith("]")}
        pi = {"id": next_id("pi"), "object": "payment_intent", "amount": amount, "currency": cur.lower(),
              "status": "requires_payment_method", "payment_method": "",
              "capture_method": params.get("capture_method", "automatic"), "metadata": meta,
              "amount_received": 0, "amount_refunded": 0, "created": int(time.time())}
        STATE["intents"][pi["id"]] = pi
        STATE["order"].append(pi["id"])
        cs = {"id": next_id("cs"), "object": "checkout.session", "payment_intent": pi["id"], "status": "open",
              "url": "http://127.0.0.1:%d/pay/" % self.server.server_address[1], "success_url": back,
              "cancel_url": params.get("cancel_url", back), "amount_total": amount, "currency": cur.lower()}
        cs["url"] += cs["id"]
        STATE["sessions"][cs["id"]] = cs
        return 200, dict(cs)

    def page(self, status, html):
        data = html.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def pay(self, method, sid, raw):
        with LOCK:
            cs = STATE["sessions"].get(sid)
            pi = STATE["intents"].get(cs["payment_intent"]) if cs else None
        if cs is None:
            return self.page(404, "<p>No such payment page.</p>")
        why = ""
        if method == "POST":
            card = dict(urllib.parse.parse_qsl(raw.decode("utf-8", "replace"))).get("card_number", "").replace(" ", "")
            with LOCK:
                STATE["cards_seen"].append(card)
                if cs["status"] != "open":
                    why = "This payment is done already."
                elif not (card.isdigit() and 12 <= len(card) <= 19):
                    why = "Enter the card number (12 to 19 digits)."
                elif card == "4000000000000002":
                    pi["last_payment_error"] = {"code": "card_declined", "message": "Your card was declined."}
                    why = "Your card was declined."
                else:
                    pi.pop("last_payment_error", None)
                    pi["payment_method"] = "pm_card_" + card[-4:]
                    if pi["capture_method"] == "manual":
                        pi["status"] = "requires_capture"
                        STATE["charges"].append({"intent": pi["id"], "amount": pi["amount"], "kind": "authorisation"})
                    else:
                        pi["status"] = "succeeded"
                        pi["amount_received"] = pi["amount"]
                        STATE["charges"].append({"intent": pi["id"], "amount": pi["amount"], "kind": "charge"})
                    cs["status"] = "complete"
                hook = STATE["webhook_url"]
            if not why:
                if hook:  # the gateway reports the payment before the customer is back
                    kind = "payment_intent.succeeded" if pi["status"] == "succeeded" else "payment_intent.amount_capturable_updated"
                    cs["webhook"] = self.send_event({"type": kind, "payment_intent": pi["id"], "url": hook})["sent"]
                self.send_response(303)
                self.send_header("Location", cs["success_url"])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
        amount = "%d.%02d %s" % (cs["amount_total"] // 100, cs["amount_total"] % 100, cs["currency"].upper())
        err_html = '<p class="error" role="alert" id="pay-error">%s</p>' % why if why else ""
        return self.page(200 if not why else 402, (
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>fakegw: pay</title></head><body>"
            "<h1>Pay %s</h1>%s<form method=\"post\" action=\"/pay/%s\">"
            "<label for=\"card-number\">Card number</label><input id=\"card-number\" name=\"card_number\" "
            "autocomplete=\"cc-number\" inputmode=\"numeric\">"
            "<label for=\"card-expiry\">Expiry</label><input id=\"card-expiry\" name=\"expiry\" placeholder=\"MM/YY\">"
            "<label for=\"card-cvc\">CVC</label><input id=\"card-cvc\" name=\"cvc\">"
            "<button type=\"submit\" id=\"pay\">Pay</button></form>"
            "<p><a href=\"%s\" id=\"cancel\">Cancel and go back</a></p></body></html>")
            % (amount, err_html, sid, cs["cancel_url"].replace('"', "%22")))

    def control(self, method, path, raw):
        try:
            p = json.loads(raw or b"{}")
        except ValueError:
            return self.answer(400, {"error": "the body must be JSON"})
        if path == "/control/state":
            with LOCK:
                return self.answer(200, {"intents": [STATE["intents"][i] for i in STATE["order"]],
                                         "charges": STATE["charges"], "refunds": list(STATE["refunds"].values()),
                                         "sessions": list(STATE["sessions"].values()),
                                         "cards_seen": STATE["cards_seen"],
                                         "faults_injected": STATE["faults_injected"]})
        if path == "/control/config":
            with LOCK:
                if "webhook_url" in p:
                    STATE["webhook_url"] = p["webhook_url"]
            return self.answer(200, {"ok": True})
        if path == "/control/fail_next":
            with LOCK:
                STATE["fail_next"] += [(int(p.get("status", 500)), p.get("message", "An unexpected error occurred"))] * int(p.get("count", 1))
            return self.answer(200, {"ok": True})
        if path == "/control/faults":
            with LOCK:
                STATE["faults"] = {"every": int(p.get("every", 0)), "status": int(p.get("status", 503)),
                                   "drop_every": int(p.get("drop_every", 0))}
            return self.answer(200, {"ok": True})
        if path == "/control/timeout_next":
            with LOCK:
                STATE["timeout_next"].append({"seconds": float(p.get("seconds", 3)), "after": int(p.get("after", 0))})
            return self.answer(200, {"ok": True})
        if path == "/control/webhook":
            return self.webhook(p)
        return self.answer(404, {"error": "no such control"})

    def webhook(self, p):
        return self.answer(200, self.send_event(p))

    def send_event(self, p):
        """A signed event, POSTed to p["url"] p["times"] times when given."""
        with LOCK:
            pi = STATE["intents"].get(p.get("payment_intent", ""))
            obj = intent_view(pi) if pi else {"id": p.get("payment_intent", ""), "object": "payment_intent", "metadata": {}}
            obj.update(p.get("object") or {})  # a test's event that says something else about the payment
            event = {"id": p.get("event_id") or next_id("evt"), "object": "event",
                     "type": p.get("type", "payment_intent.succeeded"), "created": int(time.time()),
                     "data": {"object": obj}}
        body = json.dumps(event, separators=(",", ":")).encode()
        ts = int(p.get("timestamp", time.time()))
        secret = p.get("secret", ARGS.webhook_secret).encode()
        mac = hmac.new(secret, str(ts).encode() + b"." + body, hashlib.sha256).hexdigest()
        sig = "t=%d,v1=%s" % (ts, mac)
        sent = []
        url = p.get("url")
        for _ in range(int(p.get("times", 1)) if url else 0):
            if not url.startswith(("http://127.", "http://localhost", "http://[::1]")):
                sent.append("refused: loopback URLs only")
                continue
            req = urllib.request.Request(url, data=body, method="POST",
                                         headers={"Content-Type": "application/json", "Gateway-Signature": sig})
            try:
                with urllib.request.urlopen(req, timeout=10) as r:
                    sent.append(r.status)
            except urllib.error.HTTPError as e:
                sent.append(e.code)
            except OSError as e:
                sent.append("error: %s" % e)
        return {"body": body.decode(), "signature": sig, "sent": sent}


def main():
    global ARGS
    ap = argparse.ArgumentParser(description="A Stripe-style fake card gateway for tests")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--secret", default="sk_test_fakegw")
    ap.add_argument("--webhook-secret", default="whsec_fakegw")
    ap.add_argument("--lifetime", type=float, default=600, help="exit after this many seconds")
    ap.add_argument("-v", "--verbose", action="store_true")
    ARGS = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    srv.daemon_threads = True
    t = threading.Timer(ARGS.lifetime, lambda: os._exit(0))
    t.daemon = True
    t.start()
    # One write for the whole line: with PYTHONUNBUFFERED set, print() writes
    # the number and the newline apart, and a reader that stops at the
    # first read would close the pipe before the newline comes.
    os.write(1, b"%d\n" % srv.server_address[1])
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
