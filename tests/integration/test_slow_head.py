"""A head sent a few bytes at a time costs renewd its length once, not its
length squared (docs/security.md, "The body limit is decided as before").

Before a head is whole, each read looks only at the bytes it brought for the
head's end; the whole head is read for its body limit once it has ended.  A
head looked through afresh on every read made one anonymous connection
trickling ~400 KB of short header lines (h2o buffers up to 417,792 bytes,
and its 100-header limit applies only once the head is whole) cost the event
loop seconds of CPU: 2.28 s for 360 KB in 20-byte writes, against 0.25 s now.

The bound is on renewd's CPU time for the whole trickle (not the wall
clock): 0.25-0.38 s here on the normal and the sanitizer builds alike (the
cost is h2o's and the kernel's per read), 1.56-2.28 s with the head looked
through on every read; the bound sits three times above the first and
below the second.  Serial: the daemon's CPU is read from /proc and wants
the machine to itself.
"""
import os
import time

import pytest

from conftest import raw_connect

pytestmark = pytest.mark.serial

STEP = 20  # bytes a write: each is (mostly) a read of its own for renewd


def cpu_of(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


def trickle(d, n_lines):
    """renewd's CPU seconds for each quarter of a head of n_lines short
    lines sent STEP bytes at a time (the connection closed before the head
    ends)."""
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X:aa\r\n" * n_lines
    quarter = len(head) // 4
    s = raw_connect(d.port, timeout=30)
    cpu = [cpu_of(d.pid)]
    try:
        for q in range(4):
            for i in range(q * quarter, len(head) if q == 3 else (q + 1) * quarter, STEP):
                s.sendall(head[i:min(i + STEP, len(head) if q == 3 else (q + 1) * quarter)])
                time.sleep(0.0001)
            time.sleep(0.3)  # renewd reads what is queued
            cpu.append(cpu_of(d.pid))
    finally:
        s.close()
    return [b - a for a, b in zip(cpu, cpu[1:])]


def test_a_trickled_head_costs_its_length_not_its_square(daemon):
    d = daemon()
    q = trickle(d, 60000)  # 360 KB
    assert d.running()
    assert sum(q) < 1.2, f"renewd's CPU seconds per quarter of a 360 KB head sent 20 bytes a write: {q}"
