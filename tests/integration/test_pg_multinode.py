"""Several renewd nodes on one PostgreSQL store (docs/scaling.md, "Claims
and leases"): the scheduler's work for a vendor is done by the node that
holds its claim, and each outbox message is claimed by the node that sends
it, so that

- a simulated month of renewals with every node sweeping every day takes
  each action once and sends each e-mail once;
- a node SIGKILLed in the middle of a sweep leaves its claim behind, which
  another node takes over once the lease has run out, nothing lost or
  repeated.

Each node runs the test clock (set on every node, as the clock is per
process) and delivers to its own maildir, so the e-mails sent are the .eml
files of all the nodes' maildirs together.
"""
import datetime
import signal
import threading
import time

import pytest

import pgcluster
from conftest import Daemon, api_request
from pgcluster import action_keys, claims, mail_ids, node_id, outbox, swept, today

cluster = pgcluster.cluster  # the module's cluster (a fixture)

pytestmark = pytest.mark.skipif(not pgcluster.available(), reason="postgresql-15 is not installed (scripts/deps)")

LEASE_MS = 1500
WAIT = 30.0


def world(cluster, tmp_path, nodes, lease_ms=LEASE_MS, extra=()):
    """The demo store on a fresh database, a vendor admin's token, and
    `nodes` renewd processes on it, started, each with its own data
    directory (extra: more flags for every node)."""
    db, url, token, dirs, args = pgcluster.world(cluster, tmp_path, nodes, lease_ms, prefix="mn", extra=extra)
    return db, url, token, pgcluster.start(tmp_path, dirs, args, range(nodes))


def set_clock_everywhere(daemons, token, date):
    """Sets the clock on every node at once (each sweeps as it moves);
    returns the actions each node reports."""
    out = [None] * len(daemons)

    def one(i):
        r = api_request(daemons[i].port, "POST", "/api/v1/clock", {"date": date.isoformat()}, token=token,
                        timeout=60.0)
        out[i] = r

    ts = [threading.Thread(target=one, args=(i,)) for i in range(len(daemons))]
    for t in ts:
        t.start()
    for t in ts:
        t.join(90)
    for r in out:
        assert r is not None and r.status == 200, r and (r.status, r.body[:300])
    return [r.json()["actions"] for r in out]


def wait_delivered(daemons, token):
    """Waits until nothing is queued and every message marked sent is a file;
    returns (outbox, the files' Message-IDs)."""
    deadline = time.monotonic() + WAIT
    while True:
        box = outbox(daemons[-1], token)
        queued = [m for m in box if m["state"] == "queued"]
        sent = [m for m in box if m["state"] == "sent"]
        files = mail_ids(daemons)
        if not queued and len(files) >= len(sent):
            return box, files
        assert time.monotonic() < deadline, f"{len(queued)} queued, {len(sent)} sent, {len(files)} files"
        time.sleep(0.1)


def assert_once(cluster, db, daemons, token):
    box, ids = wait_delivered(daemons, token)
    sent = [m for m in box if m["state"] == "sent"]
    assert len(ids) == len(set(ids)), f"{len(ids) - len(set(ids))} message(s) sent more than once"
    assert len(ids) == len(sent), (len(ids), len(sent))
    keys = action_keys(cluster, db)
    assert len(keys) == len(set(keys)), "an action was taken twice"
    return keys, ids


def test_a_month_on_three_nodes_takes_each_action_and_sends_each_mail_once(cluster, tmp_path):
    db, url, token, daemons = world(cluster, tmp_path, 3)
    try:
        t0 = today(daemons[0], token)
        started = time.monotonic()
        taken = 0
        for i in range(1, 31):
            taken += sum(set_clock_everywhere(daemons, token, t0 + datetime.timedelta(days=i)))
        keys, ids = assert_once(cluster, db, daemons, token)
        assert taken > 0 and len(keys) >= taken, (taken, len(keys))
        assert len(ids) > 0
        # more than one node did some of the sending
        per_node = [len(list((d.data / "mail").rglob("*.eml"))) for d in daemons]
        print(f"\nthree nodes, 30 days: {taken} actions, {len(ids)} e-mails {per_node} in "
              f"{time.monotonic() - started:.1f} s")
        for d in daemons:
            d.stop()
    finally:
        for d in daemons:
            d.close()


def test_a_node_killed_mid_sweep_is_taken_over_after_its_lease(cluster, tmp_path):
    lease = 3000
    db, url, token, (a, b) = world(cluster, tmp_path, 2, lease_ms=lease)
    try:
        t0 = today(a, token)
        set_clock_everywhere([a, b], token, t0 + datetime.timedelta(days=1))
        wait_delivered([a, b], token)
        # A alone catches up a year (a long sweep, a write per day); it is
        # killed while it holds a vendor's claim.
        target = t0 + datetime.timedelta(days=366)

        def catch_up():
            try:
                api_request(a.port, "POST", "/api/v1/clock", {"date": target.isoformat()}, token=token, timeout=60.0)
            except OSError:
                pass  # killed before it answered: expected

        t = threading.Thread(target=catch_up)
        t.start()
        a_id = node_id(a)
        held = None
        deadline = time.monotonic() + WAIT
        while held is None and time.monotonic() < deadline:
            now_ms = time.time() * 1000
            for vendor, (until, owner) in claims(cluster, db).items():
                if owner.endswith(a_id) and until > now_ms:
                    held = vendor
        assert held is not None, "node A was never seen holding a claim"
        a.proc.send_signal(signal.SIGKILL)
        killed_at = time.monotonic()
        a.proc.wait(10)
        t.join(10)
        before = swept(cluster, db)
        assert before.get(held, t0) < target, "A finished the vendor's sweep before it was killed"
        until, owner = claims(cluster, db)[held]
        assert owner.endswith(a_id), "the dead node's claim is gone"
        # B, at the same date, passes the vendor by while A's lease runs
        # (nothing of it is written before the lease's end, in real time)...
        set_clock_everywhere([b], token, target)
        deadline = time.monotonic() + WAIT
        while swept(cluster, db).get(held) == before.get(held):
            assert time.monotonic() < deadline, "nobody took the dead node's work over"
            time.sleep(0.05)
        moved_ms = time.time() * 1000
        assert moved_ms >= until, f"B swept the vendor {until - moved_ms:.0f} ms before A's lease was over"
        # ... and takes it over once the lease is over (its timer sweeps).
        assert pgcluster.wait_until(lambda: swept(cluster, db).get(held) == target, WAIT, step=0.2), \
            (swept(cluster, db), claims(cluster, db))
        took = time.monotonic() - killed_at
        # one read: B drops the claim after its sweep and its timer may take
        # it again between two reads (each state alone is right)
        until, owner = claims(cluster, db)[held]
        assert owner.endswith(node_id(b)) or until == 0, (until, owner)
        keys, ids = assert_once(cluster, db, [a, b], token)
        print(f"\nkilled holding vendor {held}'s claim at {before.get(held)}; B took over after {took:.1f} s "
              f"(lease {lease} ms): {len(keys)} actions, {len(ids)} e-mails")
        b.stop()
    finally:
        a.close()
        b.close()


def key_rows(cluster, db):
    """The action_keys table: (tenant, key) per row."""
    out = cluster.psql(db, "SELECT tenant, encode(val, 'hex') FROM t_action_keys")
    return [(t, bytes.fromhex(h)) for t, h in (line.split("|") for line in out.splitlines())]


def test_action_keys_rest_on_the_primary_key(cluster, tmp_path):
    """Every action's key is a row of action_keys under the table's primary
    key; with the actions' key index emptied behind renewd's back (what a
    check-then-insert that missed a concurrent insert would see) and the
    vendor's days swept again, no action is taken and no e-mail sent twice."""
    db, url, token, (a, b) = world(cluster, tmp_path, 2)
    try:
        t0 = today(a, token)
        for i in range(1, 8):
            set_clock_everywhere([a, b], token, t0 + datetime.timedelta(days=i))
        keys, ids = assert_once(cluster, db, [a, b], token)
        assert keys, "the week took no action"
        rows = key_rows(cluster, db)
        assert sorted(rows) == sorted((t, k.rstrip(b"\0")) for t, k in keys), (len(rows), len(keys))
        n_actions = int(cluster.psql(db, "SELECT count(*) FROM t_actions").strip())
        cluster.psql(db, "DELETE FROM i_actions WHERE ix = 'key'")
        back = (t0 - datetime.date(1970, 1, 1)).days  # swept up to t0 again: a week to redo
        le = back.to_bytes(4, "little").hex()
        cluster.psql(db, f"UPDATE rd_meta SET val = '\\x{le}'::bytea WHERE key LIKE 'sweep:%'")
        cluster.psql(db, "UPDATE rd_meta SET val = '\\x0000000000000000'::bytea WHERE key LIKE 'claim:%'")
        set_clock_everywhere([a, b], token, t0 + datetime.timedelta(days=8))
        assert pgcluster.wait_until(lambda: all(d == t0 + datetime.timedelta(days=8)
                                                for d in swept(cluster, db).values()), WAIT, step=0.2)
        box, again = wait_delivered([a, b], token)
        assert len(again) == len(set(again)), f"{len(again) - len(set(again))} message(s) sent again"
        taken = int(cluster.psql(db, "SELECT count(*) FROM t_actions").strip()) - n_actions
        day8 = [k for _, k in key_rows(cluster, db)]
        assert len(day8) == len(set(day8))
        assert taken == len(key_rows(cluster, db)) - len(rows), (taken, len(rows))
        for d in (a, b):
            d.stop()
    finally:
        a.close()
        b.close()


def test_a_node_restarted_on_its_data_directory_takes_its_claim_back_at_once(cluster, tmp_path):
    """The node id lives in DATA/node-id: a node killed holding a claim and
    started again on its data directory goes on without waiting out its
    lease (here far longer than the test)."""
    lease = 60000
    db, url, token, (a,) = world(cluster, tmp_path, 1, lease_ms=lease)
    a2 = None
    try:
        t0 = today(a, token)
        a_id = node_id(a)
        target = t0 + datetime.timedelta(days=366)
        # nothing in flight: messages a dead node claimed wait out the lease
        wait_delivered([a], token)

        def catch_up():
            try:
                api_request(a.port, "POST", "/api/v1/clock", {"date": target.isoformat()}, token=token, timeout=60.0)
            except OSError:
                pass  # killed before it answered: expected

        t = threading.Thread(target=catch_up)
        t.start()
        assert pgcluster.wait_until(lambda: any(o.endswith(a_id) and u > time.time() * 1000
                                                for u, o in claims(cluster, db).values()), WAIT, step=0.01)
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait(10)
        t.join(10)
        killed_at = time.monotonic()
        a2 = Daemon(a.data, a.args, tmp_path / "node0-again.log")
        a2.wait_ready()
        set_clock_everywhere([a2], token, target)
        assert pgcluster.wait_until(lambda: all(d == target for d in swept(cluster, db).values()), WAIT, step=0.1)
        assert time.monotonic() - killed_at < lease / 1000 / 2
        assert node_id(a2) == a_id
        assert_once(cluster, db, [a2], token)
        a2.stop()
    finally:
        a.close()
        if a2:
            a2.close()


def test_a_second_renewd_on_a_data_directory_in_use_is_refused(cluster, tmp_path):
    """Two nodes on one data directory would share its node-id, and each
    would take the other's claims as its own at once (the restart rule):
    the sweep's actions and the outbox's sends could then be taken twice.
    The second renewd on a directory a running renewd holds is refused, as
    on LMDB, naming the other's pid; renewctl writes beside it as on LMDB."""
    from conftest import run_renewd_expect_failure
    db, url, token, dirs, args = pgcluster.world(cluster, tmp_path, 1, LEASE_MS, prefix="dup")
    first = pgcluster.start(tmp_path, dirs, args, [0])[0]
    try:
        rc, err = run_renewd_expect_failure(["--data", str(dirs[0]), "--listen", "127.0.0.1:0"] + args)
        assert rc == 1 and "in use by another renewd" in err and f"pid {first.pid}" in err, (rc, err)
        assert first.proc.poll() is None
    finally:
        first.stop()
    # Stopped, the directory takes a renewd again.
    again = pgcluster.start(tmp_path, dirs, args, [0])[0]
    again.stop()
