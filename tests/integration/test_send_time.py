"""Messages queued as templates + parameters and rendered at send time.

The sweep stores a message as its subject, the parameters its text and HTML
templates read and the version of those templates (kept in the store); the
text is rendered when the message is sent, and when the outbox API or the
console shows it.  `--mail-render-at-queue 1` stores messages rendered when
they are queued, the format before.  These tests run the same days on the
demo store in both formats and compare what the SMTP server receives, byte
for byte: only the Date header (the time of sending), the customers' link
tokens (random), the port each daemon bound (in links) and the quote PDFs'
creation stamps may differ.

* test_same_bytes_either_format: two weeks of the demo programme (quotes,
  pullbacks, notices with their sales notices and PDFs, reminders, a
  Monday's digests) in both formats: the same messages, the same bytes, and
  the outbox API shows the same text (links redacted as before).
* test_the_templates_of_queue_time: a partner's branding pack enabled while
  its messages wait for the mail server: they go with the templates they
  were queued with, in both formats (the version is pinned).
* test_messages_stored_rendered_still_send: messages queued rendered by one
  daemon are sent as they are by a daemon that queues the new format.
"""
import datetime
import email
import re
import threading
from email import policy as email_policy

from test_branding import midnight  # noqa: F401  (the fixture: the second branding pack)
from test_renewals import MAIL_WAIT, _Controller, set_clock, start_world, wait_outbox_drained

TOKEN = re.compile(rb"/c/[A-Za-z0-9_-]+")
BASE = re.compile(rb"http://127\.0\.0\.1:[0-9]+")  # public_url: the port each daemon bound
PDF_STAMP = re.compile(rb"/(CreationDate|ModDate) \([^)]*\)|/ID \[[^\]]*\]")
BOUNDARY = re.compile(rb'boundary="[^"]*"')  # a hash of the text part, which holds the token
AT_QUEUE = ["--mail-render-at-queue", "1"]


class RawSink:
    """An SMTP server that keeps each message's bytes as received."""

    def __init__(self):
        self.raw = []
        self.lock = threading.Lock()
        self.port = 0
        self.phase = 0
        self.controller = None
        self.start()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.raw.append((tuple(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 OK"

    def start(self):
        self.phase += 1
        self.controller = _Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        self.port = self.controller.port

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def received(self):
        """As test_renewals' sink gives them (wait_outbox_drained counts them)."""
        with self.lock:
            return list(self.raw)


def canonical(raw):
    """A message's bytes with what may differ between two runs replaced:
    the Date header, link tokens, the daemon's port in links, the PDF's
    stamps, the MIME boundaries (made from the text, which holds the token); base64 parts decoded so
    that a token inside them is replaced too (the encoding is a function of
    the content)."""
    head, _, _ = raw.partition(b"\r\n\r\n")
    lines = [BOUNDARY.sub(b'boundary="B"', ln) for ln in head.split(b"\r\n") if not ln.startswith(b"Date: ")]
    out = [b"\r\n".join(lines)]
    msg = email.message_from_bytes(raw, policy=email_policy.compat32)
    for part in msg.walk():
        if part.is_multipart():
            out.append(b"multipart " + part.get_content_type().encode())
            continue
        body = part.get_payload(decode=True)
        if part.get_content_type() == "application/pdf":
            body = PDF_STAMP.sub(b"", body)
        out.append(part.get_content_type().encode() + b" " + str(part.get("Content-Transfer-Encoding")).encode())
        out.append(TOKEN.sub(b"/c/TOKEN", body))
    return BASE.sub(b"http://HOST", b"\n----\n".join(out))


def message_id(raw):
    return re.search(rb"\r\nMessage-ID: (\S+)\r\n", raw).group(1).decode()


def run_days(daemon, tmp, args, days, before_send=None, setup=None):
    """The demo store through `days` days from the clock's today, in the
    format `args` asks for.  before_send(daemon, world) runs with the mail
    server down after the first day's sweep.  Returns ({Message-ID: canonical
    bytes}, the outbox as the API shows it, how many times the store's files
    hold "Hello " and a name (the greeting rendered text starts with; the
    templates kept have "Hello {{"))."""
    sink = RawSink()
    try:
        tmp.mkdir()
        if before_send:
            # down before the first sweep at start, so that every message of
            # the first two days waits for before_send (stopped after the
            # start, the start's messages sometimes went before it)
            sink.stop()
        d, w, _ = start_world(daemon, tmp, sink, args=args)
        t0 = w.today
        if setup:
            setup(w)
        set_clock(w.admin, t0 + datetime.timedelta(days=1))
        if before_send:
            before_send(d, w)
            sink.start()
        for k in range(2, days + 1):
            set_clock(w.admin, t0 + datetime.timedelta(days=k))
        box = wait_outbox_drained(w.admin, sink, timeout=3 * MAIL_WAIT)
        got = {}
        for rcpt, raw in sink.received():
            assert message_id(raw) not in got, f"{message_id(raw)} received twice"
            got[message_id(raw)] = canonical(raw)
        d.stop()
        # rendered text in the store: what a message stored rendered holds
        stored = sum(len(re.findall(rb"Hello [^{]", f.read_bytes())) for f in w.data.glob("*.mdb"))
        return got, box, stored
    finally:
        sink.stop()


def days_with_a_monday(n):
    """n, or more so that the days walked include a Monday (digests)."""
    return n + 7


def compare(a, b, what):
    assert a.keys() == b.keys(), f"{what}: messages only in one run: {sorted(a.keys() ^ b.keys())[:10]}"
    differ = [k for k in a if a[k] != b[k]]
    if differ:
        k = differ[0]
        al, bl = a[k].split(b"\n"), b[k].split(b"\n")
        first = next(i for i in range(min(len(al), len(bl)) + 1) if i >= len(al) or i >= len(bl) or al[i] != bl[i])
        raise AssertionError(f"{what}: {len(differ)} message(s) differ, first {k} at line {first}: "
                             f"{al[first:first + 2]!r} vs {bl[first:first + 2]!r}")


def outbox_view(box):
    """The outbox as the API shows it, but the fields delivery changes."""
    keep = ("id", "kind", "to", "subject", "text", "html", "ref", "state", "opportunity_id", "partner_id",
            "customer_id")
    port = re.compile(r"http://127\.0\.0\.1:[0-9]+")
    return {m["id"]: {k: port.sub("http://HOST", v) if isinstance(v, str) else v for k, v in m.items() if k in keep}
            for m in box}


ODD = 'Q "quoted" \\ back <b>&amp;</b> it\'s Ünïcödé ✓ 東京'


def odd_names(w):
    """Names that test the parameters' JSON: quotes, a backslash, markup,
    an apostrophe and UTF-8 (in a partner's messages and in its customers')."""
    w.admin.ok("PATCH", "/api/v1/partners/3", {"name": "Gold " + ODD, "contact_block": "Call " + ODD}, status=200)
    for c in list(w.customers)[:5]:
        w.admin.ok("PATCH", f"/api/v1/customers/{c}", {"name": f"Customer {c} " + ODD}, status=200)


def test_same_bytes_either_format(daemon, tmp_path):
    days = days_with_a_monday(14)
    old, old_box, old_stored = run_days(daemon, tmp_path / "queue", AT_QUEUE, days, setup=odd_names)
    new, new_box, new_stored = run_days(daemon, tmp_path / "send", [], days, setup=odd_names)
    # the odd names went into messages (escaped in the HTML, as they are in the text)
    assert [v for v in new.values() if ODD.encode() in v], "no message carries the odd names"
    # the new format keeps no rendered text; the old one a greeting per channel message
    assert old_stored >= 20 and new_stored == 0, (old_stored, new_stored)
    kinds = {re.search(rb"X-Renewd-Kind: (\S+)", v).group(1).decode() for v in new.values()}
    # the days walked hold the sweep's daily kinds and a Monday's digests
    assert {"quote_notice", "pullback", "customer_notice", "sales_notice", "reminder", "digest"} <= kinds, kinds
    assert len(new) > 50, len(new)
    compare(old, new, "SMTP bytes, rendered at queue vs at send")
    # the outbox API shows the same text, the customers' links redacted as before
    ov, nv = outbox_view(old_box), outbox_view(new_box)
    assert ov.keys() == nv.keys()
    for k in ov:
        assert ov[k] == nv[k], (k, ov[k], nv[k])
    links = [m for m in new_box if m["kind"] == "customer_notice"]
    assert links and all("/c/" in m["text"] and not re.search(r"/c/rd_", m["text"] + m["html"]) for m in links), \
        [m["text"] for m in links[:1]]
    assert not any("params" in m or "template_version" in m for m in new_box)


def enable_midnight(d, w):
    """Partner 3 (gold) gets the midnight pack while its messages wait."""
    assert [m for m in w.admin.items("/api/v1/outbox?state=queued") if m["partner_id"] == 3]
    w.admin.ok("POST", "/api/v1/plugins/branding-midnight/enablements", {"partner_id": 3, "config": {}}, status=201)


def test_the_templates_of_queue_time(daemon, tmp_path, midnight):  # noqa: F811
    args = ["--plugin-dir", str(midnight)]
    old, _, _ = run_days(daemon, tmp_path / "queue", args + AT_QUEUE, 1, before_send=enable_midnight)
    new, _, _ = run_days(daemon, tmp_path / "send", args, 1, before_send=enable_midnight)
    compare(old, new, "queued before a pack was enabled")
    gold = [v for v in new.values() if b"X-Renewd-Kind: quote_notice" in v or b"X-Renewd-Kind: customer_notice" in v]
    assert gold
    # midnight's look (its colour) is in none of them: the default pack's templates, as when they were queued
    assert not [v for v in new.values() if b"#0f172a" in v]


def test_messages_stored_rendered_still_send(daemon, tmp_path):
    sink = RawSink()
    try:
        data_dir = tmp_path / "w"
        data_dir.mkdir()
        sink.stop()
        d, w, _ = start_world(daemon, data_dir, sink, args=AT_QUEUE)
        set_clock(w.admin, w.today + datetime.timedelta(days=1))
        queued = {m["id"]: m for m in w.admin.items("/api/v1/outbox?state=queued")}
        assert len(queued) > 5 and all(m["text"] and m["html"] for m in queued.values())
        d.stop()
        # the same store, a daemon that queues the new format: what was queued rendered goes as it is
        sink.start()
        d = daemon(data=w.data, args=["--test-clock", "1", "--mail-transport", f"smtp://127.0.0.1:{sink.port}",
                                      "--mail-retry-ms", "100", "--sched-interval-ms", "100000"])
        w.admin.daemon = d
        box = wait_outbox_drained(w.admin, sink, timeout=3 * MAIL_WAIT)
        sent = {m["id"]: m for m in box}
        for i, m in queued.items():
            assert sent[i]["state"] == "sent" and sent[i]["text"] == m["text"] and sent[i]["html"] == m["html"], i
        by_id = {message_id(raw): raw for _, raw in sink.received()}
        assert len(by_id) == len(sent)
        link = re.compile(r"/c/[^\s\"'<]*")
        for raw in by_id.values():
            mid = int(re.match(r"<renewd-\d+-(\d+)@", message_id(raw)).group(1))
            if mid not in queued:
                continue
            text = email.message_from_bytes(raw, policy=email_policy.default).get_body(("plain",)).get_content()
            assert link.sub("/c/X", text.replace("\r\n", "\n")).rstrip("\n") == \
                link.sub("/c/X", queued[mid]["text"]).rstrip("\n"), mid
        d.stop()
    finally:
        sink.stop()
