"""An e-mail's MIME boundary cannot be named by the text it carries.

The boundary was "renewd-VENDOR-MESSAGE" (the outbox's ids, one after the
other), and the text part goes as 8bit lines: a name a partner chose (a
deal registration's new customer) holding a line "--renewd-1-N--" closed the
multipart inside the text part, so the message's HTML part (and anything
after it) was lost, and lines of the attacker's choosing could be read as a
part of their own (a forged text/html part in a vendor's message).  The
boundary is now 128 bits of a hash of the text part itself (salted until the
text does not hold them): no text can name it, and the same message still
renders to the same bytes.
"""
import datetime

from test_deals import begin, register
from test_quote_pdf import wait_mail


def test_a_name_cannot_close_the_messages_multipart(daemon, tmp_path):
    d, data, admin, plat, gold, cm, other, today, products, contracts = begin(daemon, tmp_path)
    last = max([m["id"] for m in admin.items("/api/v1/outbox")] or [0])
    forged = "".join(f"\n--renewd-1-{n}--" for n in range(last + 1, last + 5))
    body = {"customer": {"name": "Quay" + forged, "email": "it@quay.example", "country": "GB"},
            "products": [products["WSG-PRO"]["id"] if "WSG-PRO" in products else next(iter(products.values()))["id"]],
            "seats": 4, "expected_value": 1000, "close_date": (today + datetime.timedelta(days=60)).isoformat()}
    r = plat.call("POST", "/api/v1/deals", body)
    if r.status == 400:
        raise AssertionError(f"the name is refused: {r.body[:200]!r}")
    x = r.json()
    refs = [m["ref"] for m in admin.items("/api/v1/outbox") if m["id"] > last]
    assert refs, "no message queued"
    for ref in refs:
        msg = wait_mail(data, ref)
        kinds = [p.get_content_type() for p in msg.walk()]
        assert "text/html" in kinds and "text/plain" in kinds, (ref, kinds)
        assert forged.strip() in msg.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n"), ref
        boundary = msg.get_boundary()
        assert boundary and not boundary.startswith(f"renewd-1-"), boundary
