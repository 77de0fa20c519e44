"""Helpers for the crash-safety and load-with-faults tests
(test_crash_safety.py, test_load_faults.py).

* a seeded random source whose seed is printed (RENEWD_CRASH_SEED=N replays
  a failing run: the same kill delays, in the same order);
* whether the build under test is the AddressSanitizer one (the tests
  scale their rounds down there);
* killing renewd with SIGKILL after a random delay, and restarting it on
  the same data directory (ports and directories always come from the
  test's fixtures, so tests can run in parallel);
* an SMTP sink (aiosmtpd) that keeps each message with its Message-ID and
  can fail on a schedule (4xx answers, dropped connections);
* the figures each test prints: to the terminal (past pytest's capture) and
  into the JUnit XML as properties.
"""
import email
import json
import os
import random
import signal
import threading
import time
from email import policy as email_policy

from conftest import BUILD, renewctl

try:
    from aiosmtpd.controller import Controller
except ImportError:  # python3-aiosmtpd is in scripts/deps
    Controller = None


def is_asan():
    """True when BUILD was configured with a sanitizer (scripts/build asan)."""
    try:
        opts = json.loads((BUILD / "meson-info" / "intro-buildoptions.json").read_text())
    except (OSError, ValueError):
        return "asan" in BUILD.name
    for o in opts:
        if o.get("name") == "b_sanitize":
            return o.get("value") not in (None, "", "none")
    return "asan" in BUILD.name


ASAN = is_asan()


def scaled(normal, asan):
    return asan if ASAN else normal


def rng_for(name, capsys=None):
    """(random.Random, seed): the seed from RENEWD_CRASH_SEED or fresh;
    printed at once (past pytest's capture, with capsys) so that a failing
    run can be replayed."""
    env = os.environ.get("RENEWD_CRASH_SEED")
    seed = int(env) if env else int.from_bytes(os.urandom(4), "big")
    if capsys is not None:
        with capsys.disabled():
            print(f"\n  {name}: seed {seed} (RENEWD_CRASH_SEED={seed} replays it)", flush=True)
    return random.Random(f"{seed}:{name}"), seed


def figures(capsys, record_property, name, **fig):
    """Prints one line of figures past pytest's capture and records them
    in the JUnit XML (record_property)."""
    line = f"{name}: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in fig.items())
    for k, v in fig.items():
        record_property(k, v)
    with capsys.disabled():
        print("\n  " + line, flush=True)
    return line


def check_store(data):
    """renewctl check on a stopped (or killed) store: 0 problems."""
    p = renewctl("check", data=data, timeout=60)
    assert p.returncode == 0 and "problem:" not in p.stdout and " 0 problems" in p.stdout, (p.stdout, p.stderr)
    return p


class Killer:
    """SIGKILLs a daemon after a delay from a timer thread; .fired says
    whether it did (the work may have ended first)."""

    def __init__(self, d, delay):
        self.d, self.fired = d, False
        self.t = threading.Timer(delay, self._fire)
        self.t.daemon = True
        self.t.start()

    def _fire(self):
        if self.d.running():
            try:
                os.kill(self.d.pid, signal.SIGKILL)
                self.fired = True
            except ProcessLookupError:
                pass

    def wait(self, timeout=20.0):
        """Waits for the timer, then for the process to be gone."""
        self.t.join(timeout)
        self.d.kill()  # the timer may not have fired (the work ended first): killed now
        return self.fired


def restart(daemon, d, args, clients=()):
    """A new renewd on d's data directory; clients (ApiClients) follow it."""
    d.kill()
    d2 = daemon(data=d.data, args=args)
    for c in clients:
        c.daemon = d2
    return d2


# ---- an SMTP sink with Message-IDs and faults ---------------------------------------------


class _Controller(Controller or object):
    """aiosmtpd 1.4 connects to self.port to check the server is up, which
    fails with port 0: look up the port the server was given first."""

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class Sink:
    """Messages received, each a dict: message_id, ref, kind, rcpt, to.
    fault(every, what): from now on every `every`-th DATA is answered with
    451 (what="4xx") or its connection dropped (what="drop"); every=0 stops
    the faults.  .faults counts the faults injected."""

    def __init__(self):
        assert Controller is not None, "python3-aiosmtpd is missing: run scripts/deps"
        self.messages = []
        self.lock = threading.Lock()
        self.n = 0
        self.every = 0
        self.kinds = ("4xx",)
        self.faults = 0
        self.controller = _Controller(self, hostname="127.0.0.1", port=0)
        self.controller.start()
        self.port = self.controller.port

    def fault(self, every, kinds=("4xx", "drop")):
        with self.lock:
            self.every, self.kinds = every, tuple(kinds)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.n += 1
            kind = None
            if self.every and self.n % self.every == 0:
                kind = self.kinds[(self.n // self.every) % len(self.kinds)]
                self.faults += 1
            if kind is None:
                msg = email.message_from_bytes(envelope.content, policy=email_policy.default)
                self.messages.append({"message_id": str(msg["Message-ID"]), "ref": str(msg["X-Renewd-Ref"] or ""),
                                      "kind": str(msg["X-Renewd-Kind"]), "rcpt": list(envelope.rcpt_tos),
                                      "to": str(msg["To"])})
        if kind == "drop":
            server.transport.close()
            return "421 4.3.2 closing the connection"
        if kind == "4xx":
            return "451 4.3.0 try again later"
        return "250 OK"

    def received(self):
        with self.lock:
            return list(self.messages)

    def stop(self):
        self.controller.stop()


def duplicates_by(msgs, key):
    seen, dup = {}, 0
    for m in msgs:
        k = key(m)
        seen[k] = seen.get(k, 0) + 1
        if seen[k] > 1:
            dup += 1
    return dup


def wait_until(pred, timeout, what, step=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
        time.sleep(step)
