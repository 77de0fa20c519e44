"""Imports: POST /api/v1/imports (CSV and JSON Lines for every kind, BOM,
dry run, idempotent re-import, atomic and non-atomic, per-row errors,
broken files, the upload limit, progress) and `renewctl import` (summary,
progress bar, exit codes, --dry-run, --no-atomic, refusing a live store).

The demo data set (examples/demo/demo.json) is the starting point: vendor
"sentinel", partners DIST-NW / RES-PLAT / RES-GOLD / RES-SILV, customers
CUST-1001..CUST-1025, products WSG-STD, WSG-PLUS, DLP-EP, EML-SEC,
WSG-STD-2 and contracts K-20001..K-20030.
"""
import json
import os
import re
import socket
import subprocess
import time
from urllib.parse import urlencode

import pytest

import conftest
from conftest import (ApiClient, api_user, assert_json_error, demo_load, raw_connect, recv_http_response, renewctl,
                      start_api, table_entries)

KINDS = ("customers", "contacts", "products", "contracts")


# ---- helpers ---------------------------------------------------------------------


def render(rows, fmt, bom=False):
    """rows (dicts, in column order) as a CSV file with a header row (lists
    joined by ';') or as JSON Lines; bytes."""
    if fmt == "jsonl":
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    else:
        cols = []
        for r in rows:
            cols += [k for k in r if k not in cols]

        def cell(v):
            v = ";".join(v) if isinstance(v, list) else str(v)
            return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\r\n') else v
        text = ",".join(cols) + "\r\n" + "".join(",".join(cell(r.get(c, "")) for c in cols) + "\r\n" for r in rows)
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


def one(api, kind, **filters):
    items = api.get(f"/api/v1/{kind}?{urlencode(filters)}")["items"]
    assert len(items) == 1, (kind, filters, items)
    return items[0]


def none(api, kind, **filters):
    items = api.get(f"/api/v1/{kind}?{urlencode(filters)}")["items"]
    assert items == [], (kind, filters, items)


def counts(api):
    return {k: len(api.items(f"/api/v1/{k}")) for k in KINDS}


def ids(api):
    """External id / SKU -> id for the demo's partners, customers, products."""
    out = {}
    for kind, key in (("partners", "external_id"), ("customers", "external_id"), ("products", "sku")):
        for item in api.items(f"/api/v1/{kind}"):
            out[item[key]] = item["id"]
    return out


def assert_errors(doc, expected):
    """doc["errors"] matches [(row, column, message regex), ...] exactly."""
    got = doc["errors"]
    assert len(got) == len(expected), json.dumps(got, indent=1)
    for e, (row, column, pattern) in zip(got, expected):
        assert set(e) == {"row", "column", "message"}, e
        assert (e["row"], e["column"]) == (row, column), (e, (row, column))
        assert re.search(pattern, e["message"]), (e, pattern)


@pytest.fixture
def api(daemon, tmp_path):
    """A renewd on the demo data; the vendor-admin's client.  renewd must
    stop cleanly afterwards (under ASan: no leaks).  (This module's own
    `api`: it overrides the shared one in conftest.py on purpose.)"""
    d, admin, _ = start_api(daemon, tmp_path / "store")
    yield admin
    if d.running():
        d.stop()


# ---- every kind, CSV and JSON Lines -------------------------------------------------

CUSTOMERS = [
    {"external_id": "IC-1", "name": "Ionic Widgets Ltd", "email": "it@ionic.example", "phone": "+44 20 7946 9001",
     "address_line1": "1 Mill Lane", "address_line2": "Unit 4", "city": "Reading", "region": "Berkshire",
     "postcode": "RG1 1AA", "country": "GB", "segment": "smb"},
    {"external_id": "IC-2", "name": "Zoë's Café, \"Kraków\" branch", "email": "kasa@zoe.example", "country": "PL"},
    {"external_id": "IC-3", "name": "Third Co"},
]
CONTACTS = [
    {"external_id": "ICT-1", "customer_external_id": "IC-1", "name": "Ann Ion", "email": "ann@ionic.example",
     "phone": "+44 7700 900001", "title": "IT manager"},
    {"external_id": "ICT-2", "customer_external_id": "CUST-1001", "name": "Bob Abbott", "title": "Director"},
]
PRODUCTS = [
    {"sku": "IP-1", "name": "Ion Shield", "line": "Web Security", "price_annual_GBP": "1200", "price_monthly_GBP": "110",
     "price_annual_EUR": "1400", "upsell_skus": ["WSG-PLUS"], "crosssell_skus": ["DLP-EP", "EML-SEC"]},
    {"sku": "IP-2", "name": "Ion Lite", "line": "Web Security", "price_flex_USD": "99"},
]
CONTRACTS = [
    {"external_id": "IK-1", "customer_external_id": "IC-1", "product_sku": "IP-1", "reseller_external_id": "RES-GOLD",
     "distributor_external_id": "DIST-NW", "quantity": "25", "start": "2026-01-01", "end": "2027-01-01",
     "term": "annual", "currency": "EUR", "status": "live", "flags": ["warranty_only", "consolidated"]},
    {"external_id": "IK-2", "customer_external_id": "CUST-1002", "product_sku": "WSG-STD",
     "reseller_external_id": "RES-SILV", "quantity": "3", "start": "2025-06-01", "end": "2025-09-01",
     "term": "quarterly"},
]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_import_every_kind(api, fmt):
    before = counts(api)
    for kind, rows in (("customers", CUSTOMERS), ("contacts", CONTACTS), ("products", PRODUCTS),
                       ("contracts", CONTRACTS)):
        doc = api.run_import(kind, render(rows, fmt), fmt)
        assert doc["status"] == "succeeded", doc
        assert (doc["kind"], doc["format"], doc["dry_run"], doc["atomic"]) == (kind, fmt, False, True)
        assert (doc["rows"], doc["rows_ok"], doc["rows_failed"]) == (len(rows), len(rows), 0), doc
        assert (doc["created"], doc["updated"], doc["errors"]) == (len(rows), 0, []), doc
        assert doc["user_id"] == api.user_id and doc["finished_at"] and "progress" not in doc
    after = counts(api)
    assert after == {k: before[k] + n for k, n in (("customers", 3), ("contacts", 2), ("products", 2),
                                                   ("contracts", 2))}
    ref = ids(api)

    c = one(api, "customers", external_id="IC-1")
    assert {k: c[k] for k in CUSTOMERS[0]} == CUSTOMERS[0]
    c = one(api, "customers", external_id="IC-2")
    assert (c["name"], c["email"], c["country"], c["city"]) == ("Zoë's Café, \"Kraków\" branch", "kasa@zoe.example",
                                                                "PL", "")

    contacts = api.get(f"/api/v1/contacts?customer={ref['IC-1']}")["items"]
    assert [(x["external_id"], x["name"], x["email"], x["phone"], x["title"]) for x in contacts] == [
        ("ICT-1", "Ann Ion", "ann@ionic.example", "+44 7700 900001", "IT manager")]
    contacts = api.get(f"/api/v1/contacts?customer={ref['CUST-1001']}")["items"]
    assert [x["external_id"] for x in contacts] == ["ICT-2"]

    p = one(api, "products", sku="IP-1")
    assert (p["name"], p["line"]) == ("Ion Shield", "Web Security")
    assert sorted((x["term"], x["currency"], x["amount"]) for x in p["prices"]) == [
        ("annual", "EUR", 1400), ("annual", "GBP", 1200), ("monthly", "GBP", 110)]
    assert p["upsell"] == [ref["WSG-PLUS"]]
    assert p["crosssell"] == [ref["DLP-EP"], ref["EML-SEC"]]
    p = one(api, "products", sku="IP-2")
    assert p["prices"] == [{"currency": "USD", "term": "flex", "amount": 99}] and p["upsell"] == []

    k = one(api, "contracts", external_id="IK-1")
    assert (k["customer_id"], k["product_id"], k["reseller_id"], k["distributor_id"]) == (
        ref["IC-1"], ref["IP-1"], ref["RES-GOLD"], ref["DIST-NW"])
    assert (k["quantity"], k["start"], k["end"], k["term"], k["currency"], k["status"], k["flags"]) == (
        25, "2026-01-01", "2027-01-01", "annual", "EUR", "live", ["warranty_only", "consolidated"])
    k = one(api, "contracts", external_id="IK-2")
    # Defaults as for a create through the API: the reseller's distributor is
    # of record, the vendor's currency, status live.
    assert (k["customer_id"], k["product_id"], k["reseller_id"], k["distributor_id"]) == (
        ref["CUST-1002"], ref["WSG-STD"], ref["RES-SILV"], ref["DIST-NW"])
    assert (k["term"], k["currency"], k["status"], k["flags"]) == ("quarterly", "GBP", "live", [])

    # Every finished import is listed, newest first, without its errors.
    listed = api.get("/api/v1/imports")["items"]
    assert [x["kind"] for x in listed] == ["contracts", "products", "contacts", "customers"]
    assert all(x["status"] == "succeeded" and "errors" not in x for x in listed)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
@pytest.mark.parametrize("bom", [True, False], ids=["bom", "no-bom"])
def test_utf8_with_and_without_bom(api, fmt, bom):
    rows = [{"external_id": "BOM-1", "name": "Łódź Café Ørsted ☕", "city": "Zürich"},
            {"external_id": "BOM-2", "name": "Second"}]
    doc = api.run_import("customers", render(rows, fmt, bom=bom), fmt)
    assert doc["status"] == "succeeded" and doc["created"] == 2 and doc["errors"] == [], doc
    c = one(api, "customers", external_id="BOM-1")  # the BOM is not part of the first column's name
    assert (c["name"], c["city"]) == ("Łódź Café Ørsted ☕", "Zürich")


# ---- dry run, atomic, non-atomic: one file with every kind of bad row -----------------

HEADER = ("external_id,customer_external_id,product_sku,reseller_external_id,quantity,start,end,currency")
BAD_CONTRACTS = [
    # (line, expected (column, message pattern) or None for a good row)
    (b"NK-1,CUST-1003,WSG-PLUS,RES-PLAT,10,2026-03-01,2027-03-01,GBP", None),
    (b"NK-2,CUST-1003,WSG-PLUS,RES-PLAT,10,2026-03-01,2027-03-01,GBP,extra", (None, r"row has 9 fields, the header 8")),
    (b"NK-\xff3,CUST-1003,WSG-PLUS,RES-PLAT,10,2026-03-01,2027-03-01,GBP", ("external_id", r"not valid UTF-8")),
    (b"NK-4,CUST-1003,WSG-PLUS,RES-PLAT,10,2026-02-30,2027-03-01,GBP", ("start", r"calendar date.*2026-02-30")),
    (b"NK-5,CUST-1003,WSG-PLUS,RES-PLAT,10,2026-03-01,03/01/2027,GBP", ("end", r"calendar date")),
    (b"NK-6,CUST-1003,WSG-PLUS,RES-PLAT,-5,2026-03-01,2027-03-01,GBP", ("quantity", r"whole number")),
    (b"NK-7,CUST-9999,WSG-PLUS,RES-PLAT,10,2026-03-01,2027-03-01,GBP", ("customer_external_id", r"CUST-9999.*names no")),
    (b"NK-8,CUST-1003,NO-SUCH-SKU,RES-PLAT,10,2026-03-01,2027-03-01,GBP", ("product_sku", r"NO-SUCH-SKU")),
    (b"NK-9,CUST-1003,WSG-PLUS,RES-NOPE,10,2026-03-01,2027-03-01,GBP", ("reseller_external_id", r"RES-NOPE")),
    (b"NK-10,CUST-1003,WSG-PLUS,RES-PLAT,10,2026-03-01,2027-03-01,EURO", ("currency", r"currency")),
    (b"NK-11,CUST-1003,WSG-PLUS,RES-PLAT,10,2026-03-01,2027-03-01,gb1", ("currency", r"ISO 4217")),
    (b"NK-12,CUST-1003,WSG-PLUS,RES-PLAT,10,2027-03-01,2026-03-01,GBP", ("end", r"before start")),
    (b"K-20001,CUST-1001,WSG-STD,RES-PLAT,4242,2026-01-01,2027-01-01,GBP", None),  # an update
    (b"NK-14,CUST-1003,WSG-PLUS", (None, r"row has 3 fields, the header 8")),
    (b"NK-15,CUST-1003,WSG-PLUS,RES-PLAT,0,2026-03-01,2027-03-01,GBP", ("quantity", r"quantity")),
]


def bad_contracts_file():
    return (HEADER.encode() + b"\n" + b"\n".join(line for line, _ in BAD_CONTRACTS) + b"\n")


def expected_bad_errors():
    return [(i + 2, exp[0], exp[1]) for i, (_, exp) in enumerate(BAD_CONTRACTS) if exp]


def test_dry_run_reports_every_bad_row_and_writes_nothing(api):
    before = counts(api)
    k1 = one(api, "contracts", external_id="K-20001")
    doc = api.run_import("contracts", bad_contracts_file(), dry_run="true")
    assert doc["status"] == "succeeded" and doc["dry_run"] is True, doc
    n_bad = len(expected_bad_errors())
    assert (doc["rows"], doc["rows_ok"], doc["rows_failed"]) == (len(BAD_CONTRACTS), 2, n_bad), doc
    assert (doc["created"], doc["updated"]) == (1, 1), doc
    assert re.match(r"dry run, nothing written", doc["message"]), doc
    assert_errors(doc, expected_bad_errors())
    # Nothing written: counts, the would-be update, the would-be create, no audit entry.
    assert counts(api) == before
    assert one(api, "contracts", external_id="K-20001") == k1
    none(api, "contracts", external_id="NK-1")
    assert api.get(f"/api/v1/audit?object=imports&object_id={doc['id']}")["items"] == []
    # The dry run is recorded as an import.
    assert api.get("/api/v1/imports")["items"][0]["id"] == doc["id"]


def test_failing_atomic_import_leaves_nothing_behind(api):
    before = counts(api)
    k1 = one(api, "contracts", external_id="K-20001")
    cust = api.get("/api/v1/customers?limit=5")["items"]
    doc = api.run_import("contracts", bad_contracts_file())  # atomic by default
    assert doc["status"] == "failed" and doc["atomic"] is True, doc
    assert (doc["rows_ok"], doc["rows_failed"]) == (2, len(expected_bad_errors())), doc
    assert doc["message"].startswith("nothing applied"), doc
    assert_errors(doc, expected_bad_errors())
    assert counts(api) == before
    assert one(api, "contracts", external_id="K-20001") == k1  # quantity not 4242
    none(api, "contracts", external_id="NK-1")
    assert api.get("/api/v1/customers?limit=5")["items"] == cust
    assert api.get(f"/api/v1/audit?object=imports&object_id={doc['id']}")["items"] == []


def test_non_atomic_applies_the_good_rows_and_reports_the_bad(api):
    before = counts(api)
    doc = api.run_import("contracts", bad_contracts_file(), atomic="false")
    assert doc["status"] == "succeeded" and doc["atomic"] is False, doc
    assert (doc["rows_ok"], doc["rows_failed"], doc["created"], doc["updated"]) == (
        2, len(expected_bad_errors()), 1, 1), doc
    assert_errors(doc, expected_bad_errors())
    assert counts(api)["contracts"] == before["contracts"] + 1
    assert one(api, "contracts", external_id="K-20001")["quantity"] == 4242
    assert one(api, "contracts", external_id="NK-1")["quantity"] == 10
    for bad in ("NK-2", "NK-4", "NK-6", "NK-7", "NK-10", "NK-15"):
        none(api, "contracts", external_id=bad)
    audit = api.get(f"/api/v1/audit?object=imports&object_id={doc['id']}")["items"]
    assert [(a["action"], a["user_id"]) for a in audit] == [("import", api.user_id)]


def test_per_row_errors_for_customers_contacts_and_products(api):
    cases = {
        "customers": (b"external_id,name,email,country\n"
                      b"E-1,Good,a@good.example,GB\n"
                      b"E-2,Bad \xff\xfe name,a@x.example,GB\n"          # invalid UTF-8
                      b"E-3,Over long \xc0\xaf,a@x.example,GB\n"          # over-long encoding
                      b"E-4,No mail,not-an-address,GB\n"
                      b"E-5,Bad country,a@x.example,gb\n"
                      b",No external id but fine,,\n"
                      b"E-7,,a@x.example,GB\n",                           # name is required
                      [(3, "name", "UTF-8"), (4, "name", "UTF-8"), (5, "email", "e-mail"),
                       (6, "country", "ISO 3166"), (8, "name", "required")]),
        "contacts": (b"external_id,customer_external_id,name\n"
                     b"EC-1,CUST-1001,Good\n"
                     b"EC-2,CUST-0000,Nobody's\n"
                     b"EC-3,,Orphan\n",
                     [(3, "customer_external_id", "CUST-0000"), (4, "customer_id", "required")]),
        "products": (b"sku,name,price_annual_GBP,upsell_skus\n"
                     b"EP-1,Good,100,WSG-STD\n"
                     b"EP-2,Negative price,-1,\n"
                     b"EP-3,Not a number,12.50,\n"
                     b"EP-4,Unknown upsell,100,WSG-STD;NOPE-1\n",
                     [(3, "price_annual_GBP", "minor units"), (4, "price_annual_GBP", "minor units"),
                      (5, "upsell_skus", "NOPE-1")]),
    }
    for kind, (body, expected) in cases.items():
        doc = api.run_import(kind, body, dry_run="true")
        assert doc["status"] == "succeeded", doc
        assert_errors(doc, expected)
        n_rows = body.count(b"\n") - 1
        assert (doc["rows"], doc["rows_failed"], doc["rows_ok"]) == (n_rows, len(expected), n_rows - len(expected))


def test_many_bad_rows_list_the_first_errors(api):
    n = 300
    body = (HEADER + "\n" + "".join(
        f"ME-{i},CUST-{9000 + i},WSG-PLUS,RES-PLAT,10,2026-03-01,2027-03-01,GBP\n" for i in range(n))).encode()
    doc = api.run_import("contracts", body, dry_run="true")
    assert (doc["rows"], doc["rows_failed"], doc["rows_ok"]) == (n, n, 0), doc
    errors = doc["errors"]
    # The first ones, in order, as many as the record holds (at most 100).
    assert 40 <= len(errors) <= 100, len(errors)
    assert [e["row"] for e in errors] == list(range(2, 2 + len(errors)))
    assert all(e["column"] == "customer_external_id" and f"CUST-{9000 + e['row'] - 2}" in e["message"]
               for e in errors)


# ---- idempotency ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_reimport_is_idempotent(api, fmt):
    customers = [{"external_id": f"ID-{i:03d}", "name": f"Idem Customer {i}", "email": f"it@idem{i}.example",
                  "postcode": f"ID{i} 1AA"} for i in range(60)]
    customers.append({"external_id": "CUST-1005", "name": "Elm Street Surgery (renamed)"})  # an existing one
    contracts = [{"external_id": f"IDK-{i:03d}", "customer_external_id": f"ID-{i % 60:03d}", "product_sku": "EML-SEC",
                  "reseller_external_id": "RES-GOLD", "quantity": str(1 + i), "start": "2026-02-01",
                  "end": "2027-02-01"} for i in range(45)]
    before = counts(api)
    first_c = api.run_import("customers", render(customers, fmt), fmt)
    first_k = api.run_import("contracts", render(contracts, fmt), fmt)
    assert (first_c["status"], first_c["created"], first_c["updated"]) == ("succeeded", 60, 1), first_c
    assert (first_k["status"], first_k["created"], first_k["updated"]) == ("succeeded", 45, 0), first_k
    mid = counts(api)
    assert mid["customers"] == before["customers"] + 60 and mid["contracts"] == before["contracts"] + 45
    sample = (one(api, "customers", external_id="ID-007"), one(api, "contracts", external_id="IDK-044"),
              one(api, "customers", external_id="CUST-1005"))
    assert sample[2]["name"] == "Elm Street Surgery (renamed)" and sample[2]["email"] == "it@elm.example"

    again_c = api.run_import("customers", render(customers, fmt), fmt)
    again_k = api.run_import("contracts", render(contracts, fmt), fmt)
    # Re-sent: every row matches its record byte for byte, nothing is written.
    assert (again_c["status"], again_c["created"], again_c["updated"], again_c["unchanged"]) == \
        ("succeeded", 0, 0, 61), again_c
    assert (again_k["status"], again_k["created"], again_k["updated"], again_k["unchanged"]) == \
        ("succeeded", 0, 0, 45), again_k
    assert counts(api) == mid
    assert (one(api, "customers", external_id="ID-007"), one(api, "contracts", external_id="IDK-044"),
            one(api, "customers", external_id="CUST-1005")) == sample


def test_products_reimport_updates_prices_in_place(api):
    body = b"sku,name,price_annual_GBP,price_annual_EUR\nRP-1,Repeat,100,120\n"
    assert api.run_import("products", body)["created"] == 1
    doc = api.run_import("products", b"sku,price_annual_GBP\nRP-1,150\n")  # only the GBP price changes
    assert (doc["created"], doc["updated"]) == (0, 1), doc
    p = one(api, "products", sku="RP-1")
    assert p["name"] == "Repeat"
    assert sorted((x["currency"], x["amount"]) for x in p["prices"]) == [("EUR", 120), ("GBP", 150)]


# ---- broken files ------------------------------------------------------------------------


@pytest.mark.parametrize("body,row", [
    (b"external_id,name\nUQ-1,Fine\nUQ-2,Fine too\nUQ-3,\"never closed\nUQ-4,after\n", 4),
    (b"external_id,name\nUQ-1,Fine\nUQ-2,\"closed\"then text\nUQ-3,after\n", 3),
], ids=["unclosed-at-end", "text-after-quote"])
def test_unbalanced_quotes_fail_naming_the_row(api, body, row):
    before = counts(api)
    for atomic in ("true", "false"):
        doc = api.run_import("customers", body, atomic=atomic)
        assert doc["status"] == "failed", doc
        assert doc["message"].startswith("nothing applied") and f"row {row}" in doc["message"], doc
        assert counts(api) == before
        none(api, "customers", external_id="UQ-1")


@pytest.mark.parametrize("kind,header,column", [
    ("customers", "external_id,nme", "nme"),
    ("customers", "external_id,name,id", "id"),
    ("contacts", "external_id,customer,name", "customer"),
    ("products", "sku,name,price_annual_gbp", "price_annual_gbp"),
    ("products", "sku,name,price_weekly_GBP", "price_weekly_GBP"),
    ("products", "sku,name,prices", "prices"),  # lists come as price_<term>_<CUR> and *_skus columns
    ("products", "sku,name,upsell", "upsell"),
    ("contracts", "external_id,customer_ext,product_sku", "customer_ext"),
])
def test_unknown_column_fails_naming_it(api, kind, header, column):
    before = counts(api)
    doc = api.run_import(kind, f"{header}\nX-1,a,b\n".encode(), atomic="false")
    assert doc["status"] == "failed", doc
    assert f'unknown column "{column}"' in doc["message"] and "row 1" in doc["message"], doc
    assert counts(api) == before


def test_an_error_quoting_a_long_value_keeps_its_message(api):
    """A row error quotes the value it is about, cut at 64 bytes: cut inside
    a character of a non-ASCII value, the message was not UTF-8 and the report
    listed no error for the row it counted as failed (the console: "Row
    errors: None"); the same for a file's unknown column."""
    ext = "a" + "\u00e9" * 40  # the cut at 64 bytes falls inside an "é"
    body = ("external_id,customer_external_id,product_sku,reseller_external_id,quantity,start,end\n"
            f"KX-1,{ext},WSG-STD,RES-GOLD,5,2026-01-01,2027-01-01\n").encode()
    doc = api.run_import("contracts", body, atomic="false")
    assert doc["rows_failed"] == 1 and len(doc["errors"]) == 1, doc
    (e,) = doc["errors"]
    assert e["row"] == 2 and e["column"] == "customer_external_id" and "a\u00e9" in e["message"], e
    doc = api.run_import("customers", f"external_id,{ext}\nX-1,a\n".encode())
    assert doc["status"] == "failed" and "unknown column" in doc.get("message", ""), doc


def test_duplicate_column_fails(api):
    doc = api.run_import("customers", b"external_id,name,name\nX-1,a,b\n")
    assert doc["status"] == "failed" and 'column "name" appears twice' in doc["message"], doc


def test_empty_files(api):
    r = api.import_start("customers", b"")
    assert_json_error(r, 400, "invalid")
    doc = api.run_import("customers", b"\n")
    assert doc["status"] == "failed" and "empty" in doc["message"], doc
    doc = api.run_import("customers", b"external_id,name\n")  # a header and no rows
    assert (doc["status"], doc["rows"], doc["created"]) == ("succeeded", 0, 0), doc
    doc = api.run_import("customers", b"\n  \n", "jsonl")
    assert (doc["status"], doc["rows"], doc["created"]) == ("succeeded", 0, 0), doc
    assert len(api.get("/api/v1/imports")["items"]) == 3  # the 400 left no record


def test_jsonl_lines_that_are_not_json_objects(api):
    lines = [
        b'{"external_id": "JL-1", "name": "Good one"}',
        b"this is not JSON",
        b"[1, 2, 3]",
        b'{"external_id": "JL-4", "name": 1.5}',
        b'{"external_id": "JL-5", "name": "x", "bogus": 1}',
        b'{"external_id": "JL-6", "name": "trunc',
        b'{"external_id": "JL-7", "name": "dup", "name": "dup"}',
        b"",
        b'{"external_id": "JL-9", "name": "Good two", "email": null}',
    ]
    body = b"\n".join(lines) + b"\n"
    before = counts(api)
    doc = api.run_import("customers", body, "jsonl")
    assert doc["status"] == "failed" and doc["message"].startswith("nothing applied"), doc
    expected = [(2, None, "malformed JSON"), (3, None, "not a JSON object"), (4, "name", "string"),
                (5, "bogus", "unknown field"), (6, None, "malformed JSON"), (7, None, "duplicate")]
    assert_errors(doc, expected)
    assert (doc["rows"], doc["rows_ok"], doc["rows_failed"]) == (8, 2, 6), doc
    assert counts(api) == before
    doc = api.run_import("customers", body, "jsonl", atomic="false")
    assert (doc["status"], doc["created"]) == ("succeeded", 2), doc
    assert_errors(doc, expected)
    assert one(api, "customers", external_id="JL-9")["name"] == "Good two"


def test_jsonl_lists_must_be_lists_of_strings(api):
    lines = [
        b'{"sku": "JP-1", "name": "Good", "upsell_skus": ["WSG-STD"], "price_annual_GBP": 100}',
        b'{"sku": "JP-2", "name": "Ids are not SKUs", "upsell_skus": ["WSG-STD", 5]}',
        b'{"sku": "JP-3", "name": "Prices are columns", "prices": [{"currency": "GBP", "term": "annual", "amount": 1}]}',
        b'{"sku": "JP-4", "name": "Upsell ids", "upsell": [1]}',
    ]
    doc = api.run_import("products", b"\n".join(lines), "jsonl", atomic="false")
    assert doc["created"] == 1, doc
    assert_errors(doc, [(2, "upsell_skus", "list of strings"), (3, "prices", "unknown field"),
                        (4, "upsell", "unknown field")])
    p = one(api, "products", sku="JP-1")
    assert p["prices"] == [{"currency": "GBP", "term": "annual", "amount": 100}] and len(p["upsell"]) == 1


def garbage(n, seed=7):
    """Deterministic binary noise (NUL bytes, high bytes, newlines)."""
    out, x = bytearray(), seed
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        out.append((x >> 16) & 0xFF)
    return bytes(out)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_garbage_binary_body_fails_cleanly(api, fmt):
    before = counts(api)
    for body in (garbage(300000), b"external_id,name\n" + garbage(50000, 11), b"\x00" * 4096):
        doc = api.run_import("customers", body, fmt)
        assert doc["status"] == "failed", doc
        assert doc["message"].startswith("nothing applied"), doc
    assert counts(api) == before
    assert api.get("/healthz")["status"] == "ok"


def test_nul_byte_in_a_csv_value_is_a_row_error(api):
    doc = api.run_import("customers", b"external_id,name\nNB-1,Acme\x00Evil\nNB-2,Fine\n", atomic="false")
    assert doc["created"] == 1, doc
    assert_errors(doc, [(2, "name", "NUL")])
    none(api, "customers", external_id="NB-1")


def long_row(fmt, length):
    """A file whose second row (CSV) / first line (JSONL) is `length` bytes
    long without its newline."""
    if fmt == "csv":
        return b"external_id,name\nLR-1,Fine\nLR-2," + b"x" * (length - 5) + b"\n"
    head = b'{"external_id": "LR-2", "name": "'
    return head + b"x" * (length - len(head) - 2) + b'"}\n'


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_row_length_limit_is_one_mebibyte(daemon, tmp_path, fmt):
    d, api, _ = start_api(daemon, tmp_path / "store", args=("--max-import-bytes", str(4 << 20)))
    limit = 1 << 20
    # Exactly the limit: read, and refused as a value (a name is short).
    doc = api.run_import("customers", long_row(fmt, limit), fmt, atomic="false")
    assert doc["status"] == "succeeded", doc
    assert_errors(doc, [(3 if fmt == "csv" else 1, "name", "at most 127 bytes")])
    # One byte more: the file cannot be read, nothing is applied.
    before = counts(api)
    doc = api.run_import("customers", long_row(fmt, limit + 1).replace(b"LR-1", b"LR-3"), fmt, atomic="false")
    assert doc["status"] == "failed", doc
    assert re.search(r"(row|line) %d is longer than 1048576 bytes" % (3 if fmt == "csv" else 1), doc["message"]), doc
    none(api, "customers", external_id="LR-3")
    assert counts(api) == before
    # An unclosed quote never ends its row: stopped at the limit, not at the end of the upload.
    doc = api.run_import("customers", b'external_id,name\nLR-1,"' + b"y" * (5 << 18) + b"\n", atomic="false")
    assert doc["status"] == "failed" and "row 2 is longer than 1048576 bytes" in doc["message"], doc
    assert doc["rows"] == 0 and doc["bytes"] > 5 << 18


# ---- the upload limit ----------------------------------------------------------------------


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_upload_over_max_import_bytes_is_413(daemon, tmp_path):
    d, api, _ = start_api(daemon, tmp_path / "store", args=("--max-import-bytes", "65536"))
    rows = b"".join(b"LIM-%05d,Limit customer %05d\n" % (i, i) for i in range(3000))
    body = (b"external_id,name\n" + rows)[:65536]
    body = body[:body.rindex(b"\n") + 1]
    at_limit = body + b"LIM-X,x" + b"y" * (65536 - len(body) - 8) + b"\n"
    assert len(at_limit) == 65536
    doc = api.run_import("customers", at_limit)  # exactly the limit is fine
    assert doc["status"] == "succeeded" and doc["bytes"] == 65536, doc
    n_imports = len(api.get("/api/v1/imports")["items"])
    rss0 = rss_kib(d.pid)

    # Just over, with a Content-Length: a JSON 413 naming the import limit.
    err = assert_json_error(api.import_start("customers", at_limit + b"\n"), 413, "body_too_large")
    assert "65536" in err["message"], err

    # A declared gigabyte (and a little of it sent) is refused before it is read.
    for head in (f"Content-Length: {1 << 30}\r\n", "Transfer-Encoding: chunked\r\n"):
        s = raw_connect(d.port)
        try:
            s.sendall((f"POST /api/v1/imports?kind=customers HTTP/1.1\r\nHost: t\r\n"
                       f"Authorization: Bearer {api.token}\r\n{head}\r\n").encode())
            chunk = b"external_id,name\n" + b"z" * 65519
            try:
                for _ in range(64):  # 4 MiB, or until renewd closes
                    s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk) if "chunked" in head else chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass
            try:
                status, headers, rbody = recv_http_response(s, time.monotonic() + 10)
            except (AssertionError, ConnectionResetError):
                status = None  # the reset can beat the response to the client; the checks below still hold
            if status is not None:
                assert_json_error((status, headers, rbody), 413, "body_too_large")
                assert "65536" in json.loads(rbody)["error"]["message"]
        finally:
            s.close()

    assert d.get("/healthz").status == 200
    assert rss_kib(d.pid) - rss0 < 64 * 1024, "renewd's memory grew by more than 64 MiB for refused uploads"
    assert len(api.get("/api/v1/imports")["items"]) == n_imports  # refused uploads leave no import behind
    d.stop()


# ---- progress of a big import ----------------------------------------------------------------


def test_progress_of_a_big_import(daemon, tmp_path):
    d, api, _ = start_api(daemon, tmp_path / "store", args=("--max-import-bytes", str(64 << 20)))
    n = 200000
    body = big_contracts(n)
    r = api.import_start("contracts", body)
    assert r.status == 202, r
    started = r.json()
    assert started["status"] == "running" and started["bytes"] == len(body)
    assert started["progress"]["bytes_total"] == len(body)
    polls = []
    # a bound, not a measure: the polls (every 10 ms, answered now while the
    # rows are written) share the 2 cores with the import under ASan
    doc = api.import_wait(started["id"], timeout=240, on_poll=polls.append)
    running = [p for p in polls if p["status"] == "running"]
    assert running, "never saw the import running"
    moving = [p for p in running if p["rows"] > 0 and p["progress"]["bytes_done"] > 0]
    assert moving, f"no poll showed progress: {running[:3]}"
    for p in moving:
        pr = p["progress"]
        assert set(pr) == {"bytes_done", "bytes_total", "percent", "rows_per_second", "phase", "rows_written"}, pr
        assert pr["phase"] in ("checking", "writing") and 0 <= pr["rows_written"] <= n
        assert 0 < pr["bytes_done"] <= pr["bytes_total"] == len(body)
        assert 0 < pr["percent"] <= 100 and pr["rows_per_second"] >= 0
        assert p["rows"] <= n
    assert doc["status"] == "succeeded", doc
    assert (doc["rows"], doc["rows_ok"], doc["created"], doc["updated"]) == (n, n, n, 0), doc
    assert "progress" not in doc and doc["finished_at"]
    listed = api.get("/api/v1/imports")["items"]
    assert listed[0]["id"] == doc["id"] and listed[0]["status"] == "succeeded" and listed[0]["created"] == n
    audit = api.get(f"/api/v1/audit?object=imports&object_id={doc['id']}")["items"]
    assert [(a["action"], a["object"], a["object_id"], a["user_id"]) for a in audit] == [
        ("import", "imports", doc["id"], api.user_id)]
    k = one(api, "contracts", external_id="BIG-123456")
    assert k["quantity"] == 1 + 123456 % 97
    d.stop()


def big_contracts(n):
    custs = [f"CUST-{c}" for c in range(1001, 1025)]
    skus = ("WSG-STD", "WSG-PLUS", "DLP-EP", "EML-SEC")
    resellers = ("RES-PLAT", "RES-GOLD", "RES-SILV")
    return ("external_id,customer_external_id,product_sku,reseller_external_id,quantity,start,end\n" + "".join(
        f"BIG-{i:06d},{custs[i % 24]},{skus[i % 4]},{resellers[i % 3]},{1 + i % 97},2026-0{1 + i % 9}-01,2027-01-01\n"
        for i in range(n))).encode()


def test_stop_during_an_import_applies_nothing(daemon, tmp_path):
    d, api, _ = start_api(daemon, tmp_path / "store", args=("--max-import-bytes", str(64 << 20)))
    before = counts(api)
    r = api.import_start("contracts", big_contracts(200000))
    assert r.status == 202, r
    import_id = r.json()["id"]
    d.stop()  # SIGTERM while the rows are being checked: a clean stop, no leak
    d2 = daemon(data=d.data)
    api.daemon = d2
    doc = api.get(f"/api/v1/imports/{import_id}")
    assert doc["status"] in ("failed", "succeeded"), doc
    if doc["status"] == "failed":  # stopped in time: nothing of it applied
        assert doc["message"].startswith("nothing applied"), doc
        assert counts(api) == before
        none(api, "contracts", external_id="BIG-000000")
    else:  # it had finished: all of it applied
        assert counts(api)["contracts"] == before["contracts"] + 200000
    d2.stop()


# ---- request validation and permissions ------------------------------------------------------


def test_import_request_validation_and_permissions(daemon, tmp_path):
    d, api, users = start_api(daemon, tmp_path / "store", users=[
        ("cm@sentinel.example", "channel-manager", None), ("sales@sentinel.example", "vendor-sales", None),
        ("padmin@sentinel.example", "partner-admin", "2")])
    body = b"external_id,name\nPV-1,x\n"
    for query, field in (("kind=bogus", "kind"), ("format=csv", "kind"), ("kind=customers&format=xml", "format"),
                         ("kind=customers&dry_run=maybe", "dry_run"), ("kind=customers&atomic=2", "atomic"),
                         ("kind=customers&colour=red", "colour"), ("kind=partners", "kind"),
                         ("kind=users", "kind")):
        err = assert_json_error(api.call("POST", f"/api/v1/imports?{query}", body), 400, "invalid")
        assert err["field"] == field, (query, err)
    assert_json_error(api.call("GET", "/api/v1/imports/999"), 404)
    assert_json_error(api.call("GET", "/api/v1/imports?kind=customers"), 400)
    assert_json_error(d.request("POST", "/api/v1/imports?kind=customers", body=body), 401)

    cm = users["cm@sentinel.example"]
    assert cm.run_import("customers", body)["status"] == "succeeded"
    # A channel manager may not create products through the API, so not by import either.
    assert_json_error(cm.import_start("products", b"sku,name\nPV-P,x\n"), 403, "forbidden")
    none(api, "products", sku="PV-P")
    for email in ("sales@sentinel.example", "padmin@sentinel.example"):
        assert_json_error(users[email].import_start("customers", body), 403, "forbidden")
        assert_json_error(users[email].call("GET", "/api/v1/imports"), 403, "forbidden")
    assert len(api.get("/api/v1/imports")["items"]) == 1


# ---- renewctl import ---------------------------------------------------------------------------

SUMMARY_RE = (r"^imported (\d+) rows: (\d+) new, (\d+) updated, (\d+) unchanged, (\d+) with errors skipped "
              r"\(\d+\.\d\d s\)$")
BAR_RE = r"^\[[#.]{20}\] +(\d+\.\d)%  (\d+) rows  \d+ rows/s$"


def ctl_import(data, path, *extra, kind="customers", vendor="sentinel"):
    return renewctl("import", "--vendor", vendor, "--kind", kind, *extra, path, data=data)


def summary(p):
    m = re.match(SUMMARY_RE, p.stdout.strip())
    assert m, f"no summary line: {p.stdout!r} {p.stderr!r}"
    return tuple(int(x) for x in m.groups())


def bar_lines(p):
    return [re.match(BAR_RE, line) for line in p.stderr.splitlines() if line.startswith("[")]


@pytest.fixture
def store(tmp_path):
    data = tmp_path / "ctl"
    data.mkdir()
    demo_load(data)
    return data


def test_renewctl_imports_every_kind(store, tmp_path, daemon):
    paths = {}
    for kind, rows, fmt, bom in (("customers", CUSTOMERS, "csv", True), ("contacts", CONTACTS, "jsonl", False),
                                 ("products", PRODUCTS, "csv", False), ("contracts", CONTRACTS, "jsonl", True)):
        paths[kind] = tmp_path / f"{kind}.{fmt}"  # the format follows the file name
        paths[kind].write_bytes(render(rows, fmt, bom=bom))
        p = ctl_import(store, paths[kind], kind=kind)
        assert p.returncode == 0, (p.stdout, p.stderr)
        assert summary(p) == (len(rows), len(rows), 0, 0, 0)
        bars = bar_lines(p)
        assert bars and all(bars), p.stderr
        assert bars[-1].groups() == ("100.0", str(len(rows))), p.stderr
    # Again: nothing new.
    p = ctl_import(store, paths["contracts"], kind="contracts")
    assert p.returncode == 0 and summary(p) == (2, 0, 0, 2, 0), p.stdout
    # An explicit --format wins over the name.
    odd = tmp_path / "customers.txt"
    odd.write_bytes(render(CUSTOMERS, "jsonl"))
    p = ctl_import(store, odd, "--format", "jsonl")
    assert p.returncode == 0 and summary(p) == (3, 0, 0, 3, 0), (p.stdout, p.stderr)

    token, uid = api_user(store)
    d = daemon(data=store)
    api = ApiClient(d, token, uid)
    ref = ids(api)
    k = one(api, "contracts", external_id="IK-1")
    assert (k["customer_id"], k["product_id"], k["quantity"], k["flags"]) == (
        ref["IC-1"], ref["IP-1"], 25, ["warranty_only", "consolidated"])
    assert one(api, "customers", external_id="IC-2")["name"] == "Zoë's Café, \"Kraków\" branch"
    assert [x["external_id"] for x in api.get(f"/api/v1/contacts?customer={ref['IC-1']}")["items"]] == ["ICT-1"]
    audit = api.get("/api/v1/audit?object=imports")["items"]
    assert len(audit) == 6 and all(a["action"] == "import" and a["note"] == "renewctl import" for a in audit), audit
    d.stop()


def test_renewctl_dry_run_atomic_and_no_atomic(store, tmp_path):
    good = tmp_path / "good.csv"
    good.write_bytes(b"external_id,name\nRC-1,One\nRC-2,Two\n")
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"external_id,name,email\nRC-1,One,\nRC-2,Two,\nRC-3,Three,not-an-email\n")
    n0 = table_entries(store, "t:customers")

    p = ctl_import(store, bad, "--dry-run")
    assert p.returncode == 1, p
    assert p.stdout.strip() == "dry run: 3 rows read, 2 valid (2 new, 0 updates), 1 with errors; nothing written"
    assert "row 4, column email: email is not an e-mail address" in p.stderr
    p = ctl_import(store, good, "--dry-run")
    assert p.returncode == 0, p
    assert p.stdout.strip() == "dry run: 2 rows read, 2 valid (2 new, 0 updates), 0 with errors; nothing written"
    assert table_entries(store, "t:customers") == n0

    p = ctl_import(store, bad)
    assert p.returncode == 1, p
    assert p.stdout.strip() == ("nothing applied: 1 of 3 rows have errors (the import is atomic; "
                                "--no-atomic applies the good rows)")
    assert "row 4, column email" in p.stderr
    assert table_entries(store, "t:customers") == n0

    p = ctl_import(store, bad, "--no-atomic")
    assert p.returncode == 1, p  # rows were skipped: still an error exit
    assert summary(p) == (2, 2, 0, 0, 1)
    assert table_entries(store, "t:customers") == n0 + 2
    p = ctl_import(store, good)
    assert p.returncode == 0 and summary(p) == (2, 0, 0, 2, 0)
    assert table_entries(store, "t:customers") == n0 + 2


def test_renewctl_progress_bar_on_stderr(store, tmp_path):
    path = tmp_path / "many.csv"
    # On PostgreSQL renewctl writes row at a time (docs/scaling.md, "Measured
    # figures"): 30,000 rows took longer than renewctl's timeout on a loaded
    # machine; the bar's shape is the same at 5,000.
    n = 5000 if conftest.PG_MODE else 30000
    path.write_bytes(b"external_id,name,city\n" + b"".join(
        b"PB-%06d,Progress customer %06d,Leeds\n" % (i, i) for i in range(n)))
    p = ctl_import(store, path)
    assert p.returncode == 0, p
    assert summary(p) == (n, n, 0, 0, 0)
    bars = bar_lines(p)
    assert len(bars) >= 2 and all(bars), p.stderr  # every stderr line of the bar has the shape
    assert bars[0].groups() == ("0.0", "0")
    assert bars[-1].groups() == ("100.0", str(n))
    assert p.stdout.count("\n") == 1, "the progress bar belongs on stderr"


def test_renewctl_imports_beside_a_running_renewd(store, tmp_path, daemon):
    """renewctl import runs beside renewd (docs/operations.md): on LMDB it
    names the running renewd (it writes beside it through the directory's
    lock; PostgreSQL's nodes share the database and there is no lock to
    name), and renewd serves the imported rows at once on either store."""
    path = tmp_path / "c.csv"
    path.write_bytes(b"external_id,name\nLIVE-1,Live\n")
    d = daemon(data=store)
    p = ctl_import(store, path)
    assert p.returncode == 0 and summary(p) == (1, 1, 0, 0, 0), p
    if not conftest.PG_MODE:
        assert f"renewd (pid {d.pid}) is running" in p.stderr and "no restart" in p.stderr, p.stderr
    tok = renewctl("user", "create", "--vendor", "sentinel", "--email", "live@sentinel.example", "--role",
                   "vendor-admin", data=store, check=True).stdout.strip()
    r = d.get("/api/v1/customers?limit=500", headers={"Authorization": f"Bearer {tok}"})
    assert r.status == 200 and "LIVE-1" in [c["external_id"] for c in r.json()["items"]], r
    d.stop()
    p = ctl_import(store, path)
    assert p.returncode == 0 and summary(p) == (1, 0, 0, 1, 0), p
    assert "beside" not in p.stderr, p.stderr


@pytest.mark.skipif(conftest.PG_MODE, reason="LMDB's one writer shared with renewctl (nodes share PostgreSQL)")
def test_a_long_renewctl_import_beside_renewd_does_not_stop_it(store, tmp_path, daemon):
    """renewctl import beside a running renewd holds LMDB's one writer, across
    the two processes, while its rows are written: a write that reached
    renewd meanwhile (a request, the sweep) blocked its event loop on LMDB's
    lock until the import committed: every request, /healthz included,
    waited seconds.  renewd now sees the beside writer and answers such a
    write as behind its own imports (503 unavailable, Retry-After, nothing
    applied), and keeps serving reads; after the import it writes again."""
    n = 1200000  # its write holds the writer for seconds
    path = tmp_path / "big.csv"
    with open(path, "w") as f:
        f.write("external_id,name,email\n")
        for i in range(n):
            f.write(f"B{i},Customer number {i} with a name long enough to take some room,b{i}@example.com\n")
    d = daemon(data=store)
    tok = renewctl("user", "create", "--vendor", "sentinel", "--email", "side@sentinel.example", "--role",
                   "vendor-admin", data=store, check=True).stdout.strip()
    auth = {"Authorization": f"Bearer {tok}", "Content-Type": "application/json"}
    p = subprocess.Popen([str(conftest.RENEWCTL), "--data", str(store), "import", "--vendor", "sentinel", "--kind",
                          "customers", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    worst, refused, i = 0.0, 0, 0
    while p.poll() is None:
        i += 1
        t0 = time.monotonic()
        r = d.request("POST", "/api/v1/customers", body=json.dumps({"external_id": f"SIDE-{i}", "name": "x"}),
                      headers=auth, timeout=60)
        h = d.get("/healthz", timeout=60)
        worst = max(worst, time.monotonic() - t0)
        assert h.status == 200, h
        if r.status == 503:
            assert_json_error(r, 503, "unavailable")
            assert r.headers.get("retry-after"), r.headers
            refused += 1
        else:
            assert r.status == 201, r
        time.sleep(0.05)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert worst < 1.5, f"renewd stopped for {worst:.1f} s behind renewctl's import ({refused} write(s) refused)"
    r = d.request("POST", "/api/v1/customers", body=json.dumps({"external_id": "AFTER", "name": "x"}), headers=auth)
    assert r.status == 201, r
    d.stop()


def test_renewctl_import_usage_and_broken_files(store, tmp_path):
    ok = tmp_path / "ok.csv"
    ok.write_bytes(b"external_id,name\nUS-1,x\n")
    n0 = table_entries(store, "t:customers")
    p = ctl_import(store, ok, vendor="nosuch")
    assert p.returncode == 1 and 'no vendor with slug "nosuch"' in p.stderr, p
    p = ctl_import(store, ok, kind="partners")
    assert p.returncode == 2 and "--kind customers|contacts|products|contracts" in p.stderr, p
    p = ctl_import(store, ok, "--format", "xml")
    assert p.returncode == 2 and "--format must be csv or jsonl" in p.stderr, p
    p = renewctl("import", "--vendor", "sentinel", "--kind", "customers", data=store)
    assert p.returncode == 2 and "missing the file" in p.stderr, p
    p = ctl_import(store, ok, "--bogus")
    assert p.returncode == 2 and "unexpected argument --bogus" in p.stderr, p
    p = ctl_import(store, tmp_path / "absent.csv")
    assert p.returncode == 1 and "cannot open" in p.stderr, p
    (tmp_path / "a-dir.csv").mkdir()  # was "the file is empty"
    p = ctl_import(store, tmp_path / "a-dir.csv")
    assert p.returncode == 1 and "is a directory" in p.stderr, p

    for name, body, message in (
            ("empty.csv", b"", "the file is empty"),
            ("unknown.csv", b"external_id,nme\nUS-2,x\n", 'unknown column "nme"'),
            ("quote.csv", b"external_id,name\nUS-3,ok\nUS-4,\"open\n", "row 3"),
            ("long.csv", b"external_id,name\nUS-5," + b"x" * (1 << 20) + b"\n", "row 2 is longer than 1048576 bytes"),
            ("garbage.csv", garbage(100000), "nothing applied")):
        path = tmp_path / name
        path.write_bytes(body)
        p = ctl_import(store, path, "--no-atomic")
        assert p.returncode == 1, (name, p)
        assert message in p.stderr and "nothing applied" in p.stderr, (name, p.stderr)
    p = ctl_import(store, tmp_path / "garbage.csv", "--format", "jsonl")
    assert p.returncode == 1 and "nothing applied" in p.stdout, p
    assert table_entries(store, "t:customers") == n0
