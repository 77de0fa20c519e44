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
  rejecting 997 when it is not itself a 997, and changes no order; a
  symbolic link in the inbound folder is not followed.
* test_edifact_order_flow_and_malformed: the same for connector-edifact
  (ORDERS out, parsed by the npm edifact package and accepted by its ORDERS
  segment table; CONTRL, ORDRSP, INVOIC in; a malformed corpus refused with
  rejecting CONTRLs, nothing applied; control references never repeat).
* test_x12_enablement_config: bad trading-partner settings are refused
  field by field (422 invalid_config), nothing enabled.
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
    (ack,) = wait_for(lambda: outbound(out, "997-"), "renewd's 997")  # written once the file is applied
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

    wait_for(lambda: len(outbound(out, "997-")) == 3, "the 997s of the 810s")
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


def edi_fields(o):
    return {k: o[k] for k in ("edi_status", "edi_control", "edi_ack", "edi_invoice", "invoiced_amount")}


def raw(segments, ctl=601, sender="DISTNW", qual="01", receiver="RENEWD"):
    """An interchange written by hand (to break what a generator would not)."""
    isa = (f"ISA*00*{' ' * 10}*00*{' ' * 10}*{qual}*{sender.ljust(15)}*ZZ*{receiver.ljust(15)}*270101*1200*U*00401*"
           f"{str(ctl).zfill(9)}*0*T*>~")
    assert len(isa) == 106
    return isa + "".join(s + "~" for s in segments)


def group(fid, gctl, sets, count=None, gectl=None):
    body = [f"GS*{fid}*DISTNW*RENEWD*20270101*1200*{gctl}*X*004010", *sets]
    return body + [f"GE*{count if count is not None else sum(1 for s in sets if s.startswith('ST*'))}*{gectl or gctl}"]


def st(kind, ctl, body, count=None, sectl=None):
    return [f"ST*{kind}*{ctl}", *body, f"SE*{count if count is not None else len(body) + 2}*{sectl or ctl}"]


def test_x12_malformed_corpus(daemon, tmp_path):
    d, data, admin, gold, out, inb = boot(daemon, tmp_path)
    placed = place(gold, "K-20003", "edi-0001", "PO-EDI-1")
    o = wait_for(lambda: (lambda x: x if x["edi_status"] == "sent" else None)(order(admin, placed["id"])), "sent")
    number = o["number"]
    bak = [f"BAK*00*AC*{number}*20270101"]
    inv = [f"BIG*20270102*INV-9**{number}", "TDS*5000"]
    good855 = st("855", "0001", bak)
    corpus = {
        "se01.x12": (raw(group("PR", 11, st("855", "0001", bak, count=7)) + ["IEA*1*000000601"]),
                     "SE01: the segment count says 7, the transaction set has 3"),
        "se02.x12": (raw(group("PR", 12, st("855", "0001", bak, sectl="0002")) + ["IEA*1*000000601"]),
                     "SE02: control number 0002 does not match ST02 0001"),
        "ge01.x12": (raw(group("PR", 13, good855, count=2) + ["IEA*1*000000601"]),
                     "GE01: the group says 2 transaction sets, it has 1"),
        "ge02.x12": (raw(group("PR", 14, good855, gectl=99) + ["IEA*1*000000601"]),
                     "GE02: control number 99 does not match GS06 14"),
        "iea01.x12": (raw(group("PR", 15, good855) + ["IEA*2*000000601"]),
                      "IEA01: the interchange says 2 groups, it has 1"),
        "iea02.x12": (raw(group("PR", 16, good855) + ["IEA*1*000000602"]),
                      "IEA02: control number 000000602 does not match ISA13 000000601"),
        "qualifier.x12": (raw(group("PR", 17, good855) + ["IEA*1*000000601"], qual="XX"),
                          'ISA05: unknown interchange id qualifier "XX"'),
        "sender.x12": (raw(group("PR", 18, good855) + ["IEA*1*000000601"], sender="SOMEONEELSE"),
                       "ISA05/ISA06: the sender 01/SOMEONEELSE is not this partner (01/DISTNW)"),
        "receiver.x12": (raw(group("PR", 19, good855) + ["IEA*1*000000601"], receiver="OTHER"),
                         "ISA07/ISA08: the receiver ZZ/OTHER is not us (ZZ/RENEWD)"),
        "edifact.x12": ("UNA:+.? 'UNB+UNOA:2+DISTNW+RENEWD+270101:1200+1'UNZ+0+1'",
                        "not an X12 interchange"),
        "no-iea.x12": (raw(group("PR", 20, good855)), "no IEA closes the interchange"),
        "no-se.x12": (raw(group("PR", 21, ["ST*855*0001", *bak]) + ["IEA*1*000000601"]),
                      "ST 0001: no SE closes the transaction set"),
        "wrong-group.x12": (raw(group("IN", 22, good855) + ["IEA*1*000000601"]),
                            "GS01: a 855 belongs in a PR group, not IN"),
        "unknown-set.x12": (raw(group("PR", 23, st("856", "0001", bak)) + ["IEA*1*000000601"]),
                            "ST01: transaction set 856 is not one renewd reads"),
        "bak02.x12": (raw(group("PR", 24, st("855", "0001", [f"BAK*00*ZZ*{number}*20270101"])) + ["IEA*1*000000601"]),
                      'BAK02: unknown acknowledgment type "ZZ"'),
        "tds.x12": (raw(group("IN", 25, st("810", "0001", [f"BIG*20270102*INV-9**{number}", "TDS*12a"]))
                        + ["IEA*1*000000601"]), 'TDS01: "12a" is not an amount'),
        "no-tds.x12": (raw(group("IN", 26, st("810", "0001", [f"BIG*20270102*INV-9**{number}"]))
                           + ["IEA*1*000000601"]), "the 810 lacks its TDS total"),
        "unknown-order.x12": (raw(group("IN", 27, st("810", "0001", ["BIG*20270102*INV-9**O-1999-999999", "TDS*5000"]))
                                  + ["IEA*1*000000601"]),
                              "the invoice: order O-1999-999999 is not an order sent to this distributor"),
        # the first set is good, the second names an unknown order: nothing of the file is applied
        "half.x12": (raw(group("IN", 28, st("810", "0001", inv)
                               + st("810", "0002", ["BIG*20270102*INV-10**O-1999-999999", "TDS*5000"]))
                         + ["IEA*1*000000601"]),
                     "order O-1999-999999 is not an order sent to this distributor"),
        "bad-997.x12": (raw(group("FA", 29, st("997", "0001", ["AK1*PO*1"], count=9)) + ["IEA*1*000000601"]),
                        "SE01: the segment count says 9"),
    }
    before = edi_fields(order(admin, placed["id"]))
    rejecting = 0
    for name, (text, why) in corpus.items():
        n997 = len(outbound(out, "997-"))
        (tmp_path / name).write_bytes(text.encode())
        (tmp_path / name).rename(inb / name)
        r = report(inb, name, "failed")
        assert r["result"] == "rejected" and why in r["error"], (name, r)
        assert (inb / "failed" / name).read_bytes() == text.encode()
        assert edi_fields(order(admin, placed["id"])) == before, name  # nothing applied
        if name == "bad-997.x12":
            continue  # a 997 is never answered with a 997
        rejecting += 1
        new = wait_for(lambda: (lambda f: f[n997:] if len(f) > n997 else None)(outbound(out, "997-")), f"997 for {name}")
        (f,) = new
        p = parse(f)
        assert "error" not in p, p
        tx = p["groups"][0]["transactions"][0]
        assert tx["header"][0] == "997" and seg(tx, "AK9")[0] == "R", (name, tx)
    assert not list(inb.glob("*.x12")) and not (inb / "processed").exists()
    time.sleep(0.5)
    assert len(outbound(out, "997-")) == rejecting  # one rejecting 997 each, and nothing else
    # a symbolic link in the inbound folder is not followed (the file it names is a good 810 for 7777)
    outside = tmp_path / "outside.x12"
    outside.write_bytes(raw(group("IN", 31, st("810", "0001", [f"BIG*20270102*INV-X**{number}", "TDS*7777"]))
                            + ["IEA*1*000000601"]).encode())
    (inb / "link.x12").symlink_to(outside)
    # the same order's good 810 is still taken afterwards
    (tmp_path / "ok.x12").write_bytes(raw(group("IN", 30, st("810", "0001", inv)) + ["IEA*1*000000601"]).encode())
    (tmp_path / "ok.x12").rename(inb / "ok.x12")
    assert report(inb, "ok.x12", "processed")["result"] == "applied"
    time.sleep(1.5)  # three ticks of the folder poll
    o = order(admin, placed["id"])
    assert (o["edi_status"], o["edi_invoice"], o["invoiced_amount"]) == ("invoiced", "INV-9", 5000)
    assert (inb / "link.x12").is_symlink() and outside.exists()


def test_x12_enablement_config(daemon, tmp_path):
    d, data, admin, gold, out, inb = boot(daemon, tmp_path)
    cfg, _, _ = config(tmp_path)
    bad = {**cfg, "sender_qualifier": "QQ", "receiver_id": "x" * 16, "outbound_dir": "relative/dir",
           "element_separator": "~", "usage": "X", "colour": "blue"}
    del bad["inbound_dir"]
    r = admin.call("POST", "/api/v1/plugins/connector-x12/enablements", {"partner_id": 2, "config": bad})
    assert r.status == 422, r
    err = r.json()["error"]
    assert err["code"] == "invalid_config", err
    text = json.dumps(r.json())
    for field in ("sender_qualifier", "receiver_id", "outbound_dir", "inbound_dir", "segment_terminator", "usage",
                  "colour"):
        assert field in text, (field, text)
    listed = admin.get("/api/v1/plugins/connector-x12/enablements")
    listed = listed.get("items", listed) if isinstance(listed, dict) else listed
    assert [e["partner_id"] for e in listed] == [1]  # only boot()'s


# ---- EDIFACT (plugins/connector-edifact), checked with the npm edifact package ----

def edifact(path):
    r = subprocess.run([NODE, str(HERE / "edifact_check.mjs"), "parse", str(path)], capture_output=True, text=True,
                       timeout=60, cwd=HERE)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def boot_edifact(daemon, tmp_path):
    d, data, admin, u, _ = start(daemon, tmp_path, users=[("gold@x.example", "partner-admin", "3")])
    admin.ok("POST", "/api/v1/plugins/payment-po/enablements", {"config": {}}, status=201)
    out, inb = tmp_path / "edi-out", tmp_path / "edi-in"
    out.mkdir()
    inb.mkdir()
    cfg = {"sender_qualifier": "ZZZ", "sender_id": "RENEWD", "receiver_qualifier": "14", "receiver_id": "5412345000013",
           "outbound_dir": str(out), "inbound_dir": str(inb), "syntax": "UNOC"}
    admin.ok("POST", "/api/v1/plugins/connector-edifact/enablements", {"partner_id": 1, "config": cfg}, status=201)
    return d, data, admin, u["gold@x.example"], out, inb


def interchange(ref, messages, sender="5412345000013:14", una=True, unz_count=None, unz_ref=None):
    """messages: [(type, [segments between UNH and UNT])]; counts computed unless overridden per message."""
    text = "UNA:+.? '" if una else ""
    text += f"UNB+UNOC:3+{sender}+RENEWD:ZZZ+270101:1200+{ref}'"
    for n, (mtype, body, *count) in enumerate(messages, 1):
        version = "D:3:UN" if mtype == "CONTRL" else "D:97A:UN"
        segs = [f"UNH+{n}+{mtype}:{version}", *body]
        text += "".join(s + "'" for s in segs)
        text += f"UNT+{count[0] if count else len(segs) + 1}+{n}'"
    text += f"UNZ+{unz_count if unz_count is not None else len(messages)}+{unz_ref or ref}'"
    return text


def drop_edi(tmp_path, inb, name, text, check=True):
    p = tmp_path / name
    p.write_text(text)
    if check:  # what the distributor sends is valid to the independent parser first
        parsed = edifact(p)
        assert "error" not in parsed and all(not e for e in parsed["tracked"].values()), parsed
    p.rename(inb / name)


def outbound_edi(out, prefix):
    return sorted(p for p in out.iterdir() if p.name.startswith(prefix) and p.suffix == ".edi")


def by_name(parsed, name):
    return [s["elements"] for s in parsed["segments"] if s["name"] == name]


def test_edifact_order_flow_and_malformed(daemon, tmp_path):
    d, data, admin, gold, out, inb = boot_edifact(daemon, tmp_path)
    placed = place(gold, "K-20003", "edi-0001", "PO-EDI-1")
    o = wait_for(lambda: (lambda x: x if x["edi_status"] == "sent" else None)(order(admin, placed["id"])), "sent")
    (f,) = outbound_edi(out, "ORDERS-")
    p = edifact(f)
    assert "error" not in p, p
    assert p["tracked"] == {"ORDERS": []}  # the ORDERS segment table accepts every segment, in order
    names = [s["name"] for s in p["segments"]]
    assert names[0] == "UNB" and names[-1] == "UNZ"
    unb, unz, unt = by_name(p, "UNB")[0], by_name(p, "UNZ")[0], by_name(p, "UNT")[0]
    assert unb[1] == ["RENEWD", "ZZZ"] and unb[2] == ["5412345000013", "14"] and unb[0] == ["UNOC", "3"]
    assert unb[4] == [o["edi_control"]] and unz == [["1"], [o["edi_control"]]]
    assert int(unt[0][0]) == names.index("UNT") - names.index("UNH") + 1 and unt[1] == by_name(p, "UNH")[0][0]
    assert by_name(p, "UNH")[0][1] == ["ORDERS", "D", "97A", "UN"]
    assert by_name(p, "BGM")[0] == [["220"], [o["number"]], ["9"]]
    assert ["ON", "PO-EDI-1"] in [e[0] for e in by_name(p, "RFF")]
    assert by_name(p, "CUX")[0][0][:2] == ["2", o["currency"]]
    moa = by_name(p, "MOA")[0][0]
    assert moa[0] == "86" and round(float(moa[1]) * 100) == o["total"]
    lins = by_name(p, "LIN")
    assert lins and by_name(p, "CNT")[0][0] == ["2", str(len(lins))]

    # CONTRL for our ORDERS, then ORDRSP, then INVOIC
    drop_edi(tmp_path, inb, "contrl.edi",
             interchange("9001", [("CONTRL", [f"UCI+{o['edi_control']}+RENEWD:ZZZ+5412345000013:14+7"])]), check=False)
    assert report(inb, "contrl.edi", "processed")["result"] == "applied"
    assert order(admin, placed["id"])["edi_status"] == "accepted"
    drop_edi(tmp_path, inb, "ordrsp.edi", interchange("9002", [("ORDRSP", ["BGM+231+R-1+29", "DTM+137:20270101:102",
                                                                           f"RFF+ON:{o['number']}"])]), check=False)
    assert report(inb, "ordrsp.edi", "processed")["result"] == "applied"
    o2 = order(admin, placed["id"])
    assert (o2["edi_status"], o2["edi_ack"]) == ("acknowledged", "29")
    (ack,) = wait_for(lambda: outbound_edi(out, "CONTRL-"), "renewd's CONTRL")
    a = edifact(ack)
    assert "error" not in a, a
    assert by_name(a, "UCI")[0][0] == ["9002"] and by_name(a, "UCI")[0][3] == ["7"]
    drop_edi(tmp_path, inb, "invoic.edi", interchange("9003", [("INVOIC", [
        "BGM+380+INV-5+9", "DTM+137:20270102:102", f"RFF+ON:{o['number']}", "CUX+2:EUR:4", "UNS+S",
        "MOA+77:1234.56"])]))
    assert report(inb, "invoic.edi", "processed")["result"] == "applied"
    o2 = order(admin, placed["id"])
    assert (o2["edi_status"], o2["edi_invoice"], o2["invoiced_amount"]) == ("invoiced", "INV-5", 123456)
    wait_for(lambda: len(outbound_edi(out, "CONTRL-")) == 2, "the INVOIC's CONTRL")

    # malformed interchanges: failed/ with a report, a rejecting CONTRL, nothing applied
    inv = ["BGM+380+INV-6+9", f"RFF+ON:{o['number']}", "MOA+77:1.00"]
    corpus = {
        "unt.edi": (interchange("9101", [("INVOIC", inv, 9)]), "UNT 0074: the segment count says 9, the message has 5"),
        "unz-ref.edi": (interchange("9102", [("INVOIC", inv)], unz_ref="9999"),
                        "UNZ 0020: control reference 9999 does not match UNB 9102"),
        "unz-count.edi": (interchange("9103", [("INVOIC", inv)], unz_count=3),
                          "UNZ 0036: the interchange says 3 messages, it has 1"),
        "qualifier.edi": (interchange("9104", [("INVOIC", inv)], sender="5412345000013:77"),
                          'UNB 0007: unknown partner identification code qualifier "77"'),
        "sender.edi": (interchange("9105", [("INVOIC", inv)], sender="OTHER:14"),
                       "UNB 0004: the sender OTHER:14 is not this partner (5412345000013:14)"),
        "version.edi": (interchange("9106", [("INVOIC", inv)]).replace("INVOIC:D:97A", "INVOIC:D:01B"),
                        "UNH S009: INVOIC:D:01B:UN is not D97A"),
        "x12.edi": ("ISA*00*          *00*          *ZZ*X~", "not an EDIFACT interchange"),
        "unknown-order.edi": (interchange("9107", [("INVOIC", ["BGM+380+INV-7+9", "RFF+ON:O-1999-999999",
                                                               "MOA+77:1.00"])]),
                              "order O-1999-999999 is not an order sent to this distributor"),
        "moa.edi": (interchange("9108", [("INVOIC", ["BGM+380+INV-8+9", f"RFF+ON:{o['number']}", "MOA+77:1x"])]),
                    'MOA 5004: "1x" is not an amount'),
    }
    before = edi_fields(order(admin, placed["id"]))
    for name, (text, why) in corpus.items():
        n = len(outbound_edi(out, "CONTRL-"))
        drop_edi(tmp_path, inb, name, text, check=False)
        r = report(inb, name, "failed")
        assert r["result"] == "rejected" and why in r["error"], (name, r)
        assert edi_fields(order(admin, placed["id"])) == before, name
        new = wait_for(lambda: (lambda f: f[n:] if len(f) > n else None)(outbound_edi(out, "CONTRL-")), f"CONTRL {name}")
        c = edifact(new[0])
        assert "error" not in c and by_name(c, "UCI")[0][3] == ["4"], (name, c)
    refs = [by_name(edifact(f), "UNB")[0][4][0] for f in outbound_edi(out, "")]
    assert len(refs) == len(set(refs))  # control references never repeat


def test_edi_folders_cannot_reach_renewds_files_or_another_vendors(daemon, tmp_path):
    """Every regular file of an enablement's inbound_dir is read, and one
    that is not an EDI interchange (or is over 1 MiB) is moved into its
    failed/ folder.  A vendor admin could name any absolute folder: renewd's
    own data directory (its data.mdb and lock.mdb moved away: every vendor's
    store gone at the next start), the mail folder, or another vendor's EDI
    folders (its distributor's files taken and destroyed, its orders' files
    written over).  Now such a folder is refused (422 invalid_config naming
    the field), and nothing of the store is touched."""
    d, data, admin, u, other = start(daemon, tmp_path, users=[("gold@x.example", "partner-admin", "3")])
    cfg, out, inb = config(tmp_path)
    admin.ok("POST", "/api/v1/plugins/connector-x12/enablements", {"partner_id": 1, "config": cfg}, status=201)
    before = sorted(p.name for p in data.iterdir())
    for field, folder in (("inbound_dir", data), ("inbound_dir", data / "mail"), ("outbound_dir", data),
                          ("inbound_dir", data / "." / "mail" / ".."), ("outbound_dir", data / "mail" / "new")):
        r = admin.call("POST", "/api/v1/plugins/connector-x12/enablements",
                       {"partner_id": 1, "config": {**cfg, field: str(folder)}})
        assert r.status == 422, (field, folder, r)
        err = r.json()["error"]
        assert err["code"] == "invalid_config" and err["field"] == field and "data directory" in err["message"], err
    # another vendor's folders: neither of them, in either role
    pid = other.ok("POST", "/api/v1/partners", {"external_id": "OD", "name": "Other distributor", "kind": "distributor",
                                                 "tier": "gold"}, status=201)["id"]
    mine_out, mine_in = tmp_path / "other-out", tmp_path / "other-in"
    mine_out.mkdir()
    mine_in.mkdir()
    own = {**cfg, "outbound_dir": str(mine_out), "inbound_dir": str(mine_in)}
    for field, folder in (("inbound_dir", inb), ("inbound_dir", out), ("outbound_dir", inb), ("outbound_dir", out)):
        r = other.call("POST", "/api/v1/plugins/connector-x12/enablements",
                       {"partner_id": pid, "config": {**own, field: str(folder)}})
        assert r.status == 422, (field, folder, r)
        err = r.json()["error"]
        assert err["code"] == "invalid_config" and err["field"] == field and "another vendor" in err["message"], err
    other.ok("POST", "/api/v1/plugins/connector-x12/enablements", {"partner_id": pid, "config": own}, status=201)
    time.sleep(0.5)  # a scan of the folders
    assert sorted(p.name for p in data.iterdir()) == before
    assert admin.get("/api/v1/vendor")["slug"] == "sentinel"


def test_edi_folders_are_checked_against_a_relative_data_directory(daemon, tmp_path):
    """renewd started with a relative data directory (`--data store`, or
    `"data": "var/renewd"` in the configuration file): its folder was
    compared as written, never matched an absolute inbound_dir, and the
    check of renewd's own folders was off."""
    import os
    from conftest import api_user, demo_load
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    token, uid = api_user(data, email="admin@x.example")
    rel = Path(os.path.relpath(data))  # renewd runs in this process's working directory
    assert not rel.is_absolute()
    d = daemon(data=rel, args=["--test-clock", "1", "--sched-interval-ms", "100000"])
    admin = ApiClient(d, token, uid)
    cfg, out, inb = config(tmp_path)
    before = sorted(p.name for p in data.iterdir())
    r = admin.call("POST", "/api/v1/plugins/connector-x12/enablements",
                   {"partner_id": 1, "config": {**cfg, "inbound_dir": str(data)}})
    assert r.status == 422 and "data directory" in r.json()["error"]["message"], r
    time.sleep(0.3)
    assert sorted(p.name for p in data.iterdir()) == before
