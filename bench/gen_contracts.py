#!/usr/bin/env python3
"""gen_contracts.py: writes a distributor's renewals export for the import
benchmark (bench/import_bench), deterministically.

    bench/gen_contracts.py N OUTDIR [--customers C] [--products P] [--resellers R]

Files written into OUTDIR:

  partners.jsonl   1 distributor (BD-0001) and R resellers (BR-0001..) under
                   it, one JSON object a line, for POST /api/v1/partners (the
                   importer does not take partners)
  customers.csv    C customers (BC-000001..) for `renewctl import --kind customers`
  products.csv     P products (BP-001..) with price_<term>_<CUR> columns
  contracts.csv    N contracts (BK-0000001..) naming the above by external id
                   and SKU: external_id, customer_external_id, product_sku,
                   reseller_external_id, distributor_external_id, quantity,
                   start, end, term, currency, status

The same arguments always give byte-identical files: every value is
derived from the row number by integer arithmetic (no random module), so
the output does not depend on the Python version.  Defaults: C = max(100,
N // 20), P = 40, R = 25.
"""
import argparse
import datetime
import json
import os
import sys

TERMS = ("annual", "quarterly", "monthly")
CURRENCIES = ("GBP", "EUR", "USD")
STATUSES = ("live",) * 8 + ("renewed", "expired")  # mostly live
WORDS = ("Abbey", "Beacon", "Cedar", "Delta", "Ember", "Falcon", "Granite", "Harbour", "Iris", "Juniper",
         "Kestrel", "Linden", "Meadow", "Nimbus", "Orchard", "Pioneer", "Quarry", "Raven", "Summit", "Thistle")
TRADES = ("Dental", "Logistics", "Legal", "Architects", "Surgery", "Accountants", "Academy", "Veterinary",
          "Engineering", "Hotels", "Marine", "Florists", "Brokers", "Housing", "Care Homes")
CITIES = (("London", "EC1A"), ("Leeds", "LS1"), ("Bristol", "BS1"), ("Glasgow", "G1"), ("Cardiff", "CF10"),
          ("Norwich", "NR1"), ("York", "YO1"), ("Belfast", "BT1"), ("Oxford", "OX1"), ("Bath", "BA1"))
BASE = datetime.date(2025, 1, 1).toordinal()


def mix(i, salt):
    """A cheap, well-spread 32-bit hash of (i, salt): deterministic everywhere."""
    x = (i * 2654435761 + salt * 40503 + 0x9E3779B9) & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x45D9F3B) & 0xFFFFFFFF
    x ^= x >> 16
    return x


def csv_cell(s):
    s = str(s)
    if any(c in s for c in ',"\r\n'):
        return '"' + s.replace('"', '""') + '"'
    return s


def write_csv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(",".join(header) + "\n")
        for row in rows:
            f.write(",".join(csv_cell(c) for c in row) + "\n")


def partners(n_resellers):
    yield {"external_id": "BD-0001", "name": "Bench Distribution Ltd", "kind": "distributor", "tier": "platinum",
           "email": "renewals@bench-dist.example"}
    tiers = ("platinum", "gold", "silver")
    for r in range(1, n_resellers + 1):
        yield {"external_id": f"BR-{r:04d}", "name": f"{WORDS[r % len(WORDS)]} Reseller {r}", "kind": "reseller",
               "tier": tiers[r % 3], "parent": "BD-0001", "email": f"sales@reseller{r}.example"}


def customers(n):
    for c in range(1, n + 1):
        h = mix(c, 1)
        city, area = CITIES[h % len(CITIES)]
        name = f"{WORDS[h % len(WORDS)]} {TRADES[(h >> 8) % len(TRADES)]} {c}"
        yield (f"BC-{c:06d}", name, f"it@customer{c}.example", f"+44 20 7946 {c % 10000:04d}",
               f"{1 + h % 200} High Street", city, f"{area} {1 + (h >> 4) % 9}AB", "GB",
               ("smb", "mid-market", "enterprise")[(h >> 12) % 3])


def products(n):
    for p in range(1, n + 1):
        h = mix(p, 2)
        annual = 1200 + (h % 40) * 100
        yield (f"BP-{p:03d}", f"Bench Product {p}", ("Web Security", "Data Security", "E-mail Security")[p % 3],
               annual, annual // 11, annual * 117 // 100)


def contracts(n, n_customers, n_products, n_resellers):
    for k in range(1, n + 1):
        h, g = mix(k, 3), mix(k, 4)
        term = TERMS[h % len(TERMS)]
        start = BASE + (g % 730)
        days = {"annual": 365, "quarterly": 91, "monthly": 30}[term]
        yield (f"BK-{k:07d}", f"BC-{1 + h % n_customers:06d}", f"BP-{1 + (h >> 8) % n_products:03d}",
               f"BR-{1 + (g >> 10) % n_resellers:04d}", "BD-0001", 1 + (g >> 4) % 500,
               datetime.date.fromordinal(start).isoformat(), datetime.date.fromordinal(start + days).isoformat(),
               term, CURRENCIES[(h >> 16) % len(CURRENCIES)], STATUSES[(g >> 20) % len(STATUSES)])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("n", type=int, help="number of contracts")
    ap.add_argument("outdir")
    ap.add_argument("--customers", type=int)
    ap.add_argument("--products", type=int, default=40)
    ap.add_argument("--resellers", type=int, default=25)
    a = ap.parse_args(argv)
    if a.n < 1 or a.products < 1 or a.resellers < 1:
        ap.error("N, --products and --resellers must be at least 1")
    n_customers = a.customers or max(100, a.n // 20)
    os.makedirs(a.outdir, exist_ok=True)
    with open(os.path.join(a.outdir, "partners.jsonl"), "w", encoding="utf-8") as f:
        for p in partners(a.resellers):
            f.write(json.dumps(p, sort_keys=True) + "\n")
    write_csv(os.path.join(a.outdir, "customers.csv"),
              ("external_id", "name", "email", "phone", "address_line1", "city", "postcode", "country", "segment"),
              customers(n_customers))
    write_csv(os.path.join(a.outdir, "products.csv"),
              ("sku", "name", "line", "price_annual_GBP", "price_monthly_GBP", "price_annual_EUR"),
              products(a.products))
    write_csv(os.path.join(a.outdir, "contracts.csv"),
              ("external_id", "customer_external_id", "product_sku", "reseller_external_id",
               "distributor_external_id", "quantity", "start", "end", "term", "currency", "status"),
              contracts(a.n, n_customers, a.products, a.resellers))
    print(f"wrote {a.outdir}: {a.resellers + 1} partners, {n_customers} customers, {a.products} products, "
          f"{a.n} contracts", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
