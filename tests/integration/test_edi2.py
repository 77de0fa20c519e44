"""EDI, second round (plugins/edi-kit, core/services/edi.c,
core/daemon/dropfolder.c): 867 resale reports imported as the
distributor's feed, inbound folders watched instead of polled, and a failed
outbound write retried without spending control numbers.

renewd runs on the demo store (test_edi's boot(): connector-x12 enabled for
DIST-NW, partner 1).  867 files are built by node-x12's generator
(tests/integration/x12_check.mjs build), renewd's 997s parsed by its strict
parser.

* test_x12_867_resale_report_is_a_feed: an 867 naming a new contract and
  a known one with other seats: one contract accepted with the distributor
  as its source, the differing seats held for review (nothing overwritten),
  an accepting 997 for the PT group, the file in processed/ with the feed's
  report; the same file again changes nothing.
* test_x12_867_malformed_rejected: counts (SE01, CTT01, CTT02), control
  numbers (GE02), qualifiers (PTD01, N103, LIN02, QTY01, REF01, DTM01), an
  unknown product and a good contract next to an unknown product: each in
  failed/ with a report naming what is wrong, a rejecting 997, nothing
  applied.
* test_edi_inbound_folders_watched_not_polled: with the fallback scan an
  hour apart, an idle renewd opens no inbound folder (it used to read it
  every 500 ms), and a file dropped there is still handled at once.
* test_x12_failed_write_retried: the outbound folder is gone when an order
  is placed: the order says "retrying" with the attempts and the reason,
  the log says so, no control number is spent; the 997s owed for an
  applied and a refused file are retried too; once the folder is back the
  850 and both 997s appear with the next three control numbers, each once.
"""
import ctypes
import json
import os
import shutil
import time

import pytest

from conftest import ApiClient
from test_edi import boot, build, drop, jsen, order, outbound, parse, place, report, seg, wait_for

NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def jsen867(gctl, ictl, ptds, ctt=None, hash_total=None, st02="0001"):
    """An 867 (PT group) from node-x12's generator: ptds are lists of segments."""
    body = [("BPT", "00", f"R-{ictl}", "20270101", "DD"), ("DTM", "090", "20261201"), ("DTM", "091", "20261231")]
    for p in ptds:
        body += p
    lins = sum(1 for p in ptds for s in p if s[0] == "LIN")
    qty = sum(int(s[2]) for p in ptds for s in p if s[0] == "QTY" and s[2].isdigit())
    body.append(("CTT", str(lins if ctt is None else ctt), str(qty if hash_total is None else hash_total)))
    return {"options": {"elementDelimiter": "*", "segmentTerminator": "~"},
            "header": ["00", " " * 10, "00", " " * 10, "01", "DISTNW".ljust(15), "ZZ", "RENEWD".ljust(15), "270101",
                       "1200", "U", "00401", str(ictl).zfill(9), "0", "T", ">"],
            "functionalGroups": [{"header": ["PT", "DISTNW", "RENEWD", "20270101", "1200", str(gctl), "X", "004010"],
                                  "transactions": [{"header": ["867", st02],
                                                    "segments": [{"tag": t, "elements": list(e)} for t, *e in body]}]}]}


def ptd(ext, customer, sku, qty, reseller="RES-GOLD", start="20270101", end="20271231",
        qual="92", ptd01="SS", lin02="VP", qty01="39", ref01="CT", dtm01="036"):
    p = [("PTD", ptd01)]
    if ext:
        p.append(("REF", ref01, ext))
    p += [("DTM", "007", start)] if start else []
    p += [("DTM", dtm01, end)] if end else []
    p += [("N1", "EN", "End Customer", qual, customer),
          ("N1", "BY", "Reseller", "92", reseller), ("LIN", "", lin02, sku), ("QTY", qty01, str(qty), "EA")]
    return p


def drop867(tmp_path, inb, name, j):
    build(tmp_path, j, tmp_path / name)
    (tmp_path / name).rename(inb / name)


def contracts(admin):
    return {k["id"]: k for k in admin.items("/api/v1/contracts")}


def by_ext(admin, ext):
    items = admin.get(f"/api/v1/contracts?external_id={ext}")["items"]
    return items[0] if items else None


def known_contract(admin):
    """A demo contract in DIST-NW's channel, with its customer's and product's ids."""
    for k in admin.items("/api/v1/contracts"):
        if k.get("distributor_id") == 1 and k.get("external_id"):
            cust = admin.get(f"/api/v1/customers/{k['customer_id']}")
            prod = admin.get(f"/api/v1/products/{k['product_id']}")
            res = admin.get(f"/api/v1/partners/{k['reseller_id']}")
            return k, cust["external_id"], prod["sku"], res["external_id"]
    raise AssertionError("no contract in DIST-NW's channel")


def acks(out, n):
    return wait_for(lambda: (lambda f: f if len(f) >= n else None)(outbound(out, "997-")), f"{n} 997s")


def ak(path):
    p = parse(path)
    assert "error" not in p, p
    tx = p["groups"][0]["transactions"][0]
    return seg(tx, "AK1"), seg(tx, "AK9")[0]


def test_x12_867_resale_report_is_a_feed(daemon, tmp_path):
    d, data, admin, gold, out, inb = boot(daemon, tmp_path)
    k, cust, sku, res = known_contract(admin)
    before = contracts(admin)
    reviews_before = len(admin.get("/api/v1/feed-reviews")["items"])
    # the second PTD names no dates: they stay as they are
    j = jsen867(701, 701, [ptd("R867-1", "CUST-1002", "DLP-EP", 25),
                           ptd(k["external_id"], cust, sku, k["quantity"] + 4, reseller=res, start="", end="")])
    drop867(tmp_path, inb, "resale.x12", j)
    rep = report(inb, "resale.x12", "processed")
    assert rep["result"] == "applied" and rep["status"] == "succeeded", rep
    assert (rep["accepted"], rep["merged"], rep["queued"], rep["rejected"]) == (1, 1, 1, []), rep  # merged: its sources
    assert rep["rows"] == ["ST 0001 PTD 1", "ST 0001 PTD 2"], rep
    new = by_ext(admin, "R867-1")
    assert new and new["quantity"] == 25 and new["feed_sources"] == ["distributor"], new
    assert (new["start"], new["end"]) == ("2027-01-01", "2027-12-31"), new
    feed = admin.get(f"/api/v1/feeds/{rep['import_id']}")
    assert feed["source"] == "distributor" and feed["partner_id"] == 1, feed
    # the known contract's seats are the vendor's: held for review, not overwritten
    assert by_ext(admin, k["external_id"])["quantity"] == k["quantity"]
    reviews = admin.get("/api/v1/feed-reviews")["items"]
    assert len(reviews) == reviews_before + 1, reviews
    (ack,) = acks(out, 1)
    assert ak(ack) == (["PT", "701"], "A")
    # the same report again: nothing changes, and it is answered again
    after = contracts(admin)
    assert len(after) == len(before) + 1
    drop867(tmp_path, inb, "resale-again.x12", {**j, "header": j["header"][:12] + ["000000702"] + j["header"][13:]})
    rep = report(inb, "resale-again.x12", "processed")
    assert (rep["accepted"], rep["merged"], rep["queued"]) == (0, 0, 0), rep
    assert contracts(admin) == after
    assert len(admin.get("/api/v1/feed-reviews")["items"]) == len(reviews)
    acks(out, 2)


def test_x12_867_malformed_rejected(daemon, tmp_path):
    d, data, admin, gold, out, inb = boot(daemon, tmp_path)
    good = ptd("R867-BAD", "CUST-1002", "DLP-EP", 5)

    def with_(**kw):
        return ptd("R867-BAD", "CUST-1002", "DLP-EP", 5, **kw)

    corpus = {
        "ctt01.x12": (jsen867(801, 801, [good], ctt=2), "CTT01: the report says 2 line items, it has 1"),
        "ctt02.x12": (jsen867(802, 802, [good], hash_total=9), "CTT02: the hash total says 9, the quantities add up to 5"),
        "ptd01.x12": (jsen867(803, 803, [with_(ptd01="XX")]), 'PTD01: unknown product transfer type "XX"'),
        "n103.x12": (jsen867(804, 804, [with_(qual="ZZ")]), 'PTD 1 N103: unknown id qualifier "ZZ"'),
        "lin02.x12": (jsen867(805, 805, [with_(lin02="BP")]), 'PTD 1 LIN02: unknown product id qualifier "BP"'),
        "qty01.x12": (jsen867(806, 806, [with_(qty01="01")]), 'PTD 1 QTY01: unknown quantity qualifier "01"'),
        "ref01.x12": (jsen867(807, 807, [with_(ref01="PO")]), 'PTD 1 REF01: unknown reference qualifier "PO"'),
        "dtm01.x12": (jsen867(808, 808, [with_(dtm01="999")]), 'PTD 1 DTM01: unknown date qualifier "999"'),
        "product.x12": (jsen867(809, 809, [ptd("R867-BAD", "CUST-1002", "NO-SUCH-SKU", 5)]), "NO-SUCH-SKU"),
        "half.x12": (jsen867(810, 810, [ptd("R867-OK", "CUST-1002", "DLP-EP", 3),
                                        ptd("R867-BAD", "CUST-1002", "NO-SUCH-SKU", 5)]), "NO-SUCH-SKU"),
    }
    before = contracts(admin)
    seen = 0
    for name, (j, why) in corpus.items():
        drop867(tmp_path, inb, name, j)
        r = report(inb, name, "failed")
        assert r["result"] == "rejected" and why in r["error"] + json.dumps(r.get("rejected", [])), (name, r)
        assert contracts(admin) == before, name  # nothing applied
        seen += 1
        f = acks(out, seen)[-1]
        g = parse(f)["groups"][0]["transactions"][0]
        assert seg(g, "AK9")[0] == "R", (name, g)
    # the unknown product's report names the PTD loop it came from
    r = report(inb, "half.x12", "failed")
    assert [e["ptd"] for e in r["rejected"]] == ["ST 0001 PTD 2"], r
    assert by_ext(admin, "R867-OK") is None
    # counts and control numbers of hand-made files
    build(tmp_path, jsen867(820, 820, [good]), tmp_path / "g.x12")
    good_text = (tmp_path / "g.x12").read_text()
    assert "SE*14*0001" in good_text and "GE*1*820" in good_text, good_text
    hand = {
        "se01.x12": (good_text.replace("SE*14*0001", "SE*13*0001"), "SE01: the segment count says 13"),
        "ge02.x12": (good_text.replace("GE*1*820", "GE*1*821"), "GE02: control number 821 does not match GS06 820"),
    }
    for name, (text, why) in hand.items():
        (tmp_path / name).write_text(text)
        (tmp_path / name).rename(inb / name)
        r = report(inb, name, "failed")
        assert r["result"] == "rejected" and why in r["error"], (name, r)
        seen += 1
        assert seg(parse(acks(out, seen)[-1])["groups"][0]["transactions"][0], "AK9")[0] == "R"
    assert contracts(admin) == before
    time.sleep(0.5)
    assert len(outbound(out, "997-")) == seen  # one rejecting 997 each


IN_OPEN = 0x20


class Opens:
    """Counts the times anything opens the folder path (inotify IN_OPEN on it)."""

    def __init__(self, path):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_NONBLOCK)
        assert self.fd >= 0
        assert self.libc.inotify_add_watch(self.fd, str(path).encode(), IN_OPEN) >= 0

    def count(self):
        n = 0
        while True:
            try:
                buf = os.read(self.fd, 65536)
            except BlockingIOError:
                return n
            i = 0
            while i < len(buf):
                n += 1
                i += 16 + int.from_bytes(buf[i + 12:i + 16], "little")

    def close(self):
        os.close(self.fd)


def test_edi_inbound_folders_watched_not_polled(daemon, tmp_path):
    d, data, admin, gold, out, inb = boot(daemon, tmp_path)
    d.stop()
    opens = Opens(inb)
    try:
        d = daemon(data=data, args=["--test-clock", "1", "--sched-interval-ms", "100000", "--feeds-poll-ms", "3600000"])
        admin = ApiClient(d, admin.token, admin.user_id)
        wait_for(opens.count, "the scan at start (it sets the watches up)")
        time.sleep(0.5)
        opens.count()
        time.sleep(2.5)
        assert opens.count() == 0  # idle: nobody reads the inbound folder (it was every 500 ms)
    finally:
        opens.close()
    start = time.monotonic()
    drop867(tmp_path, inb, "prompt.x12", jsen867(901, 901, [ptd("R867-W", "CUST-1002", "DLP-EP", 2)]))
    rep = report(inb, "prompt.x12", "processed")
    assert rep["accepted"] == 1 and time.monotonic() - start < 20, rep
    assert by_ext(admin, "R867-W")["quantity"] == 2


def test_x12_failed_write_retried(daemon, tmp_path):
    d, data, admin, gold, out, inb = boot(daemon, tmp_path)
    first = place(gold, "K-20003", "edi2-0001", "PO-EDI2-1")
    o1 = wait_for(lambda: (lambda x: x if x["edi_status"] == "sent" else None)(order(admin, first["id"])), "sent")
    last = int(o1["edi_control"])
    shutil.rmtree(out)  # the outbound folder is gone
    # an 855 (applied; its accepting 997 cannot be written) and a malformed one (its rejecting 997 neither)
    drop(tmp_path, inb, "ack.x12", jsen("PR", 511, 511, "855", [("BAK", "00", "AC", o1["number"], "20270101")]))
    assert report(inb, "ack.x12", "processed")["result"] == "applied"
    bad = jsen("PR", 512, 512, "855", [("BAK", "00", "ZZ", o1["number"], "20270101")])
    drop(tmp_path, inb, "bad.x12", bad)
    assert 'BAK02: unknown acknowledgment type "ZZ"' in report(inb, "bad.x12", "failed")["error"]
    second = place(gold, "K-20006", "edi2-0002", "PO-EDI2-2")
    o2 = wait_for(lambda: (lambda x: x if x["edi_status"] == "retrying" and x["edi_attempts"] >= 2 else None)(
        order(admin, second["id"])), "two failed attempts")
    assert "outbound folder" in o2["edi_error"] and "no control number taken" in o2["edi_error"], o2
    assert o2["edi_control"] == ""
    log = d.log()
    assert "the order was not written (attempt 1), retried in 1000 ms" in log
    assert log.count("a functional acknowledgement was not written (attempt 1)") == 2, log
    out.mkdir()
    sent = wait_for(lambda: (lambda x: x if x["edi_status"] == "sent" else None)(order(admin, second["id"])),
                    "the order sent once the folder is back", timeout=40)
    wait_for(lambda: len(outbound(out, "997-")) == 2, "both 997s once the folder is back", timeout=40)
    (f850,) = outbound(out, "850-")
    p = parse(f850)
    assert "error" not in p, p
    assert int(p["header"][12]) == int(sent["edi_control"])
    assert seg(p["groups"][0]["transactions"][0], "BEG")[2] == sent["number"]
    assert sent["edi_error"] == "" and sent["edi_attempts"] >= 2
    answers = {tuple(ak(f)[0]): ak(f)[1] for f in outbound(out, "997-")}
    assert answers == {("PR", "511"): "A", ("PR", "512"): "R"}, answers
    # nothing was spent while the folder was gone: the next three numbers, each once
    controls = sorted(int(parse(f)["header"][12]) for f in outbound(out, ""))
    assert controls == [last + 1, last + 2, last + 3], (last, controls)
    assert not [n for n in os.listdir(out) if n.startswith(".")]  # no temporary file left
    time.sleep(1.5)
    assert len(outbound(out, "")) == 3  # and nothing written twice
