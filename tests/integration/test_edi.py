"""EDI connectors (plugins/connector-x12, core/services/edi.c): orders to a
distributor in ANSI X12 through folders, checked with an independent parser
(the npm node-x12 package, through tests/integration/x12_check.mjs).

renewd runs on the demo store (test_quote_pdf's start()); connector-x12 is
enabled for DIST-NW (partner 1), RES-GOLD's distributor, with its trading-
partner ids, qualifiers, separators and folders.

* test_x12_order_flow: RES-GOLD orders by PO; renewd writes an 850 into the
  outbound folder that node-x12 parses strictly (counts, control numbers)
  and reads back unchanged, with the order's number, PO, lines and total;
  node-x12's generator builds the distributor's 997, 855 and 810, dropped
  into the inbound folder: the order becomes accepted, acknowledged, then
  invoiced with the 810's amount; renewd answers the 855 and 810 with
  accepting 997s (node-x12 parses them); files move to processed/ with a
  report; the control numbers never repeat, also across a restart.
* test_x12_malformed_corpus: a corpus of bad interchanges (wrong SE01, SE02,
  GE01, GE02, IEA01, IEA02, an unknown qualifier, another sender, a wrong
  envelope, an unknown order, a bad amount, a second set naming an unknown
  order) each lands in failed/ with a report naming what is wrong, gets a
  rejecting 997 when it is not itself a 997, and changes no order.
* test_x12_enablement_config: bad trading-partner settings are refused
  field by field (400 invalid_config), nothing enabled.
"""
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import ApiClient
from test_quote_pdf import opportunity_of, start

HERE = Path(__file__).resolve().parent
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def node(*args):
    r = subprocess.run([NODE, str(HERE / "x12_check.mjs"), *map(str, args)], capture_output=True, text=True,
                       timeout=60, cwd=HERE)
    assert r.returncode == 0, r.stderr
    return r.stdout


def parse(path):
    return json.loads(node("parse", path))


def build(tmp_path, jsen, out):
    spec = tmp_path / "jsen.json"
    spec.write_text(json.dumps(jsen))
    node("build", spec, out)
    return out


def wait_for(cond, what, timeout=30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def config(tmp_path):
    out, inb = tmp_path / "x12-out", tmp_path / "x12-in"
    out.mkdir(exist_ok=True)
    inb.mkdir(exist_ok=True)
    return {"sender_qualifier": "ZZ", "sender_id": "RENEWD", "receiver_qualifier": "01", "receiver_id": "DISTNW",
            "outbound_dir": str(out), "inbound_dir": str(inb), "element_separator": "*", "segment_terminator": "~",
            "component_separator": ">", "usage": "T"}, out, inb


def boot(daemon, tmp_path):
    d, data, admin, u, _ = start(daemon, tmp_path, users=[("gold@x.example", "partner-admin", "3")])
    admin.ok("POST", "/api/v1/plugins/payment-po/enablements", {"config": {}}, status=201)
    cfg, out, inb = config(tmp_path)
    admin.ok("POST", "/api/v1/plugins/connector-x12/enablements", {"partner_id": 1, "config": cfg}, status=201)
    return d, data, admin, u["gold@x.example"], out, inb


def place(gold, contract, key, po):
    o = opportunity_of(gold, contract)
    gold.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "partner"}, status=200)
    r = gold.call("POST", "/api/v1/orders", {"opportunity_id": o["id"], "payment_option": "purchase_order",
                                             "po_number": po}, headers={"Idempotency-Key": key})
    assert r.status in (200, 201), r
    return r.json()


def outbound(out, prefix):
    return sorted(p for p in out.iterdir() if p.name.startswith(prefix) and p.suffix == ".x12")


def order(admin, oid):
    return admin.get(f"/api/v1/orders/{oid}")


def seg(tx, tag):
    return next(s["elements"] for s in tx["segments"] if s["tag"] == tag)


def jsen(fid, gctl, ictl, st, segments, sender="DISTNW", qual="01"):
    return {"options": {"elementDelimiter": "*", "segmentTerminator": "~"},
            "header": ["00", " " * 10, "00", " " * 10, qual, sender.ljust(15), "ZZ", "RENEWD".ljust(15), "270101",
                       "1200", "U", "00401", str(ictl).zfill(9), "0", "T", ">"],
            "functionalGroups": [{"header": [fid, sender, "RENEWD", "20270101", "1200", str(gctl), "X", "004010"],
                                  "transactions": [{"header": [st, "0001"],
                                                    "segments": [{"tag": t, "elements": e} for t, *e in segments]}]}]}


def drop(tmp_path, inb, name, j):
    build(tmp_path, j, tmp_path / name)
    (tmp_path / name).rename(inb / name)  # the same file system: the folder never sees half a file


def report(inb, name, where):
    p = inb / where / f"{name}.report.json"
    wait_for(p.exists, f"{where}/{name}")
    return json.loads(p.read_text())


def test_x12_order_flow(daemon, tmp_path):
    d, data, admin, gold, out, inb = boot(daemon, tmp_path)
    placed = place(gold, "K-20003", "edi-0001", "PO-EDI-1")
    o = order(admin, placed["id"])
    assert o["distributor_id"] == 1
    f850 = wait_for(lambda: outbound(out, "850-"), "the 850")[0]
    o = wait_for(lambda: (lambda x: x if x["edi_status"] == "sent" else None)(order(admin, placed["id"])), "sent")
    p = parse(f850)
    assert "error" not in p, p
    assert p["reserialized"] == f850.read_text()  # node-x12 writes back exactly what renewd wrote
    isa = p["header"]
    assert (isa[4], isa[5].strip(), isa[6], isa[7].strip(), isa[14]) == ("ZZ", "RENEWD", "01", "DISTNW", "T")
    assert int(isa[12]) == int(o["edi_control"])
    (g,) = p["groups"]
    assert g["header"][0] == "PO" and g["header"][1:3] == ["RENEWD", "DISTNW"]
    (tx,) = g["transactions"]
    assert tx["header"][0] == "850"
    assert seg(tx, "BEG")[2] == o["number"]
    assert seg(tx, "REF") == ["PO", "PO-EDI-1"]
    assert seg(tx, "CUR") == ["BY", o["currency"]]
    amt = seg(tx, "AMT")
    assert amt[0] == "TT" and round(float(amt[1]) * 100) == o["total"]
    po1 = [s["elements"] for s in tx["segments"] if s["tag"] == "PO1"]
    assert len(po1) >= 1 and int(seg(tx, "CTT")[0]) == len(po1)
    assert all(e[2] == "EA" and e[5] == "VP" and e[6] for e in po1)

    # the distributor's 997 for the 850's group
    gctl = g["header"][5]
    drop(tmp_path, inb, "in-997.x12", jsen("FA", 501, 501, "997", [("AK1", "PO", gctl), ("AK9", "A", "1", "1", "1")]))
    assert report(inb, "in-997.x12", "processed")["result"] == "applied"
    assert order(admin, placed["id"])["edi_status"] == "accepted"
    assert outbound(out, "997-") == []  # a 997 is never answered

    # the 855
    drop(tmp_path, inb, "in-855.x12", jsen("PR", 502, 502, "855", [("BAK", "00", "AC", o["number"], "20270101")]))
    assert report(inb, "in-855.x12", "processed")["applied"] == 1
    o = order(admin, placed["id"])
    assert (o["edi_status"], o["edi_ack"]) == ("acknowledged", "AC")
    (ack,) = outbound(out, "997-")
    a = parse(ack)
    assert "error" not in a, a
    atx = a["groups"][0]["transactions"][0]
    assert atx["header"][0] == "997" and seg(atx, "AK1") == ["PR", "502"] and seg(atx, "AK9")[0] == "A"

    # the 810
    drop(tmp_path, inb, "in-810.x12", jsen("IN", 503, 503, "810", [("BIG", "20270102", "INV-77", "", o["number"]),
                                                                   ("TDS", "123456")]))
    assert report(inb, "in-810.x12", "processed")["result"] == "applied"
    o = order(admin, placed["id"])
    assert (o["edi_status"], o["edi_invoice"], o["invoiced_amount"]) == ("invoiced", "INV-77", 123456)
    # a re-sent file changes nothing
    drop(tmp_path, inb, "in-810-again.x12", jsen("IN", 504, 504, "810", [("BIG", "20270102", "INV-77", "",
                                                                           o["number"]), ("TDS", "123456")]))
    report(inb, "in-810-again.x12", "processed")
    assert order(admin, placed["id"]) == o

    controls = [int(parse(f)["header"][12]) for f in outbound(out, "")]
    assert len(controls) == len(set(controls)) == 4  # the 850, the 997s of the 855, the 810 and the re-sent 810
    # control numbers survive a restart: the next interchange takes a new one
    d.stop()
    d2 = daemon(data=data, args=["--test-clock", "1", "--sched-interval-ms", "100000"])
    gold2, admin2 = ApiClient(d2, gold.token, gold.user_id), ApiClient(d2, admin.token, admin.user_id)
    placed2 = place(gold2, "K-20006", "edi-0002", "PO-EDI-2")
    wait_for(lambda: order(admin2, placed2["id"])["edi_status"] == "sent", "the second 850")
    again = [int(parse(f)["header"][12]) for f in outbound(out, "")]
    assert len(again) == len(set(again)) == len(controls) + 1
    assert max(again) == int(order(admin2, placed2["id"])["edi_control"]) > max(controls)
