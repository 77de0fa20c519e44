"""Typed message contexts: the sweep's messages are the same bytes as with
the JSON-tree contexts they replace.

The sweep builds each message's context as a typed tree in an arena
(core/template/tval.c) and the Mustache renderer reads it through a field
lookup; `--mail-json-contexts 1` keeps the path before (the context built as
a jansson tree, rendered and its parameters written from it).  The same
weeks of the demo programme run in both, with names that test escaping
(quotes, a backslash, markup, an apostrophe, UTF-8): what the SMTP server
receives and what the outbox API shows must be the same, byte for byte
(only the Date header, the customers' random link tokens, the port each
daemon bound and the PDFs' stamps may differ: test_send_time.canonical).

* test_same_bytes_typed_or_json: two weeks with a Monday (quotes, pullbacks,
  customer and sales notices, reminders, digests), in both formats queued
  (parameters rendered at send time, and rendered at queue time).
"""
import re

from test_send_time import AT_QUEUE, compare, days_with_a_monday, odd_names, outbox_view, run_days, ODD

JSON_CONTEXTS = ["--mail-json-contexts", "1"]


def test_same_bytes_typed_or_json(daemon, tmp_path):
    days = days_with_a_monday(14)
    old, old_box, _ = run_days(daemon, tmp_path / "json", JSON_CONTEXTS, days, setup=odd_names)
    new, new_box, _ = run_days(daemon, tmp_path / "typed", [], days, setup=odd_names)
    assert [v for v in new.values() if ODD.encode() in v], "no message carries the odd names"
    kinds = {re.search(rb"X-Renewd-Kind: (\S+)", v).group(1).decode() for v in new.values()}
    assert {"quote_notice", "pullback", "customer_notice", "sales_notice", "reminder", "digest"} <= kinds, kinds
    assert len(new) > 50, len(new)
    compare(old, new, "SMTP bytes, JSON contexts vs typed")
    ov, nv = outbox_view(old_box), outbox_view(new_box)
    assert ov.keys() == nv.keys()
    for k in ov:
        assert ov[k] == nv[k], (k, ov[k], nv[k])
    # rendered when queued (the text stored), typed contexts against JSON ones
    old_q, _, _ = run_days(daemon, tmp_path / "json-q", JSON_CONTEXTS + AT_QUEUE, days, setup=odd_names)
    new_q, _, _ = run_days(daemon, tmp_path / "typed-q", AT_QUEUE, days, setup=odd_names)
    assert len(new_q) == len(new), (len(new_q), len(new))
    compare(old_q, new_q, "SMTP bytes rendered at queue, JSON contexts vs typed")
