"""Delivering the outbox (issue 21, item 5: a delivery that is not kicked
when it should be; docs/operations.md, "Mail delivery").

* A mail server that cannot be reached costs one connection per pass of
  the outbox, not one per message: the first message of a batch finds out,
  the others are each counted as a failed attempt with its error, at once,
  without being rendered or sent (each message used to wait for its own
  render, connection and commit, one after the other: on a loaded machine
  hundreds of messages sat with 0 attempts for 30 s).
* Several messages go over one SMTP session (one connection per batch of
  up to 32, each message its own MAIL FROM / RCPT TO / DATA); a recipient
  the server refuses fails that message alone; each message is sent once.
* When the server answers again, the messages waiting for a retry are
  brought forward: they go at once, not at the end of their own backoff,
  which grew while the server was away.

The time-dependent figures (messages/s) are printed, not asserted."""
import datetime
import email
import socket
import threading
import time
from email import policy as email_policy

import pytest

from crashkit import _Controller, figures, scaled, wait_until
from test_renewals import outbox_queued, set_clock, start_world

pytestmark = pytest.mark.serial  # prints a rate (messages/s)

REFUSED = "refused-team@sentinel.example"


class Sink:
    """An SMTP server (aiosmtpd) that counts its sessions (EHLO/HELO),
    refuses RCPT TO:<REFUSED> with 550 and can be stopped and started
    again on the same port."""

    def __init__(self, port=0):
        self.messages = []
        self.sessions = 0
        self.refused = 0
        self.lock = threading.Lock()
        self.port = port
        self.controller = None

    def start(self):
        self.controller = _Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        self.port = self.controller.port
        return self

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        with self.lock:
            self.sessions += 1
        session.host_name = hostname
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == REFUSED:
            with self.lock:
                self.refused += 1
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email_policy.default)
        with self.lock:
            self.messages.append({"message_id": str(msg["Message-ID"]), "rcpt": list(envelope.rcpt_tos),
                                  "at": time.monotonic(), "wall": time.time()})
        return "250 OK"

    def received(self):
        with self.lock:
            return list(self.messages)


class Silent:
    """A mail server that is not there: it takes each connection and closes
    it without a word (counted)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.done.is_set():
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            c.close()

    def stop(self):
        self.done.set()
        self.thread.join(5)
        self.sock.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def when(s):
    """A message's next_at (null: due at once) as a Unix time."""
    if s is None:
        return 0.0
    if isinstance(s, (int, float)):
        return float(s)
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def queue_a_season(admin, today, days=120):
    """Moves the clock: the demo's programme queues its messages (173 for
    the first 120 days)."""
    doc = set_clock(admin, today + datetime.timedelta(days=days))
    box = admin.items("/api/v1/outbox")
    assert doc["actions"] and len(box) > 100, (doc, len(box))
    return box


def test_a_server_that_cannot_be_reached_costs_one_connection_per_pass(daemon, tmp_path):
    silent = Silent()
    try:
        d, w, _ = start_world(daemon, tmp_path, silent, args=["--mail-retry-ms", "1000"])
        t0 = time.monotonic()
        box = queue_a_season(w.admin, w.today)
        # every message tried and failed, each with its error, promptly
        tried = wait_until(lambda: (lambda q: q if q and all(m["attempts"] >= 1 and m["last_error"] for m in q)
                                    else None)(w.admin.items("/api/v1/outbox?state=queued")),
                           scaled(30, 60), "every message tried once")
        took = time.monotonic() - t0
        attempts = sum(m["attempts"] for m in w.admin.items("/api/v1/outbox"))
        conns = silent.connections
        d.stop()
    finally:
        silent.stop()
    print(f"\n  unreachable server: {len(box)} messages tried in {took:.1f} s, {attempts} attempts, "
          f"{conns} connections")
    assert len(tried) == len(box)
    assert all("SMTP" in m["last_error"] for m in tried), tried[:3]
    # one connection for each pass (a batch of up to 32), not one per message
    assert conns * 8 <= attempts, (conns, attempts)


def test_messages_share_a_session_and_a_refused_recipient_fails_alone(daemon, tmp_path, capsys, record_property):
    sink = Sink().start()
    try:
        # (a refused message is tried once here: each refusal costs a new
        # connection, libcurl closes the session after a failed transfer)
        d, w, _ = start_world(daemon, tmp_path, sink, notify=False, args=["--mail-retry-ms", "60000"])
        w.admin.ok("PATCH", "/api/v1/vendor", {"notify_email": REFUSED})
        t0 = time.monotonic()
        box = queue_a_season(w.admin, w.today)
        to_refused = [m for m in box if m["to"] == REFUSED]
        others = [m for m in box if m["to"] != REFUSED]
        assert to_refused and others, "the season sends nothing to the vendor's team: the test does not test it"
        wait_until(lambda: len(sink.received()) >= len(others), scaled(30, 60), "every deliverable message")
        rate = len(others) / (max(m["at"] for m in sink.received()) - t0)
        # the server has a message once its DATA is taken; renewd marks it
        # sent when the server's 250 reaches it, a moment later: wait for
        # every message's outcome, then judge it

        def settled():
            b = {m["id"]: m for m in w.admin.items("/api/v1/outbox")}
            done = all(m["id"] in b and b[m["id"]]["state"] == "sent" for m in others) and \
                all(m["id"] in b and b[m["id"]]["attempts"] >= 1 for m in to_refused)
            return b if done else None
        box = wait_until(settled, scaled(30, 60), "every message's outcome recorded", step=0.2)
        got = sink.received()
        sessions = sink.sessions
        d.stop()
    finally:
        sink.stop()
    figures(capsys, record_property, "outbox over one session", messages=len(got), sessions=sessions,
            refused=len(to_refused), messages_per_second=round(rate, 1))
    # each deliverable message sent once, and marked so
    ids = [m["message_id"] for m in got]
    assert len(ids) == len(set(ids)) == len(others)
    assert all(box[m["id"]]["state"] == "sent" and box[m["id"]]["attempts"] == 1 for m in others)
    # the refused ones: queued, tried, with the server's answer; the others went on
    for m in to_refused:
        b = box[m["id"]]
        assert b["state"] == "queued" and b["attempts"] >= 1 and "SMTP" in b["last_error"], b
    # several messages per session: a batch of up to 32 shares one connection
    assert sessions * 3 <= len(got), (sessions, len(got))


def test_waiting_messages_go_at_once_when_the_server_answers_again(daemon, tmp_path):
    port = free_port()
    sink = Sink(port)
    try:
        # (on PostgreSQL, where messages are claimed, only those due later
        # than the claim lease are brought forward: a short lease here)
        d, w, _ = start_world(daemon, tmp_path, sink, args=["--mail-retry-ms", "2000", "--claim-lease-ms", "2000"])
        admin = w.admin
        today = w.today + datetime.timedelta(days=120)
        box = queue_a_season(admin, w.today)
        # the server is away: every message fails until its next try is at
        # least 10 s away (its backoff grew: 2, 4, 8, 16 s ...)
        def far():
            q = admin.items("/api/v1/outbox?state=queued")
            soonest = min(when(m["next_at"]) for m in q) if q else 0
            return q if len(q) == len(box) and soonest - time.time() >= 10 else None
        waiting = wait_until(far, scaled(90, 120), "every message's next try 10 s away")
        own = {m["id"]: when(m["next_at"]) for m in waiting}
        sink.start()
        # a new message (the next days' actions) goes at once; the waiting
        # ones follow it, before their own retries are due
        moved = 0
        while len(admin.items("/api/v1/outbox")) == len(box):
            today += datetime.timedelta(days=1)
            set_clock(admin, today)
            moved += 1
            assert moved < 60, "no new message in 60 days"
        # (the whole outbox read once nothing is queued: read back to back,
        # its list held the loop that records each delivery and sends the next)
        after = wait_until(lambda: None if outbox_queued(admin) else
                           (lambda b: b if len(sink.received()) >= len(b) and
                            all(m["state"] == "sent" for m in b) else None)(admin.items("/api/v1/outbox")),
                           scaled(40, 80), "every message delivered")
        got = sink.received()
        d.stop()
    finally:
        sink.stop()
    by_id = {m["id"]: m for m in after}
    sent_at = {}
    for m in got:
        # Message-ID <renewd-VENDOR-ID@renewd>
        sent_at[int(m["message_id"].split("-")[2].split("@")[0])] = m["wall"]
    early = [i for i in own if sent_at[i] < own[i]]
    print(f"\n  recovery: {len(early)} of {len(own)} waiting messages delivered before their own retry "
          f"was due (clock moved {moved} day(s) for a new message)")
    # before: none could go before its own retry (a message is collected
    # only once it is due)
    assert len(early) * 2 >= len(own), (len(early), len(own))
    assert all(by_id[i]["attempts"] >= 2 for i in own)
    ids = [m["message_id"] for m in got]
    assert len(ids) == len(set(ids))
