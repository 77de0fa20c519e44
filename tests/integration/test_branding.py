"""A second branding pack built out of tree (examples/branding-midnight)
gives one partner a different look for its pages and customer e-mails, and
leaves every other partner on the default pack."""
import email
import subprocess
import time
from email import policy
from pathlib import Path

import pytest

from conftest import REPO, start_api

MIDNIGHT = REPO / "examples" / "branding-midnight" / "midnight.c"


@pytest.fixture
def midnight(tmp_path):
    out = tmp_path / "plugins"
    out.mkdir()
    so = out / "branding-midnight.so"
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", f"-I{REPO / 'include'}", "-o", str(so), str(MIDNIGHT)],
                   check=True, timeout=60)
    return out


def mails(data, refs, timeout=15.0):
    """Delivered messages (maildir transport), once every ref in refs is there."""
    deadline = time.monotonic() + timeout
    while True:
        msgs = [email.message_from_bytes(f.read_bytes(), policy=policy.default)
                for f in sorted((Path(data) / "mail").glob("*.eml"))]
        if refs <= {m["X-Renewd-Ref"] for m in msgs}:
            return msgs
        assert time.monotonic() < deadline, f"not delivered: {refs - {m['X-Renewd-Ref'] for m in msgs}}"
        time.sleep(0.1)


def html_of(msg):
    return msg.get_body(preferencelist=("html",)).get_content()


def test_a_partner_with_its_own_pack(daemon, tmp_path, midnight):
    data = tmp_path / "store"
    d, admin, _ = start_api(daemon, data, args=["--test-clock", "1", "--plugin-dir", str(midnight)])
    plugins = {p["name"]: p for p in admin.get("/api/v1/plugins")["items"]}
    assert plugins["branding-midnight"]["state"] == "loaded", plugins["branding-midnight"]
    assert plugins["branding-midnight"]["kind"] == "branding"
    admin.ok("POST", "/api/v1/plugins/branding-midnight/enablements", {"partner_id": 3, "config": {}}, status=201)

    # Publish one opportunity of partner 3 (gold) and one of another partner.
    opps = admin.items("/api/v1/opportunities")
    mine = next(o for o in opps if o["reseller_id"] == 3 and o["state"] == "pending_decision")
    other = next(o for o in opps if o["reseller_id"] != 3 and o["state"] == "pending_decision")
    for o in (mine, other):
        admin.ok("POST", f"/api/v1/opportunities/{o['id']}/decision", {"publish": "vendor"})
    refs = {f"notice:{mine['id']}", f"notice:{other['id']}"}
    notices = [m for m in mails(data, refs) if m["X-Renewd-Kind"] == "customer_notice"]
    by_ref = {m["X-Renewd-Ref"]: m for m in notices}
    m_mine, m_other = by_ref[f"notice:{mine['id']}"], by_ref[f"notice:{other['id']}"]
    assert "See your renewal" in html_of(m_mine) and "#0f172a" in html_of(m_mine)
    assert "See your renewal" not in html_of(m_other) and "Review and renew online" in html_of(m_other)
    # Templates the pack lacks fall back to the default: the plain-text part is the same shape.
    assert "Dear " in m_mine.get_body(preferencelist=("plain",)).get_content()

    # The customer's pages: the partner's pack for its customer, the default for the other.
    for msg, css in ((m_mine, "/static/branding-midnight/midnight.css"), (m_other, "/static/site.css")):
        link = next(w for w in msg.get_body(preferencelist=("plain",)).get_content().split() if "/c/rd_" in w)
        path = link[link.index("/c/"):]
        r = d.get(path)
        assert r.status == 303, r
        cookie = r.headers["set-cookie"].split(";")[0]
        page = d.get("/portal", headers={"Cookie": cookie})
        assert page.status == 200, page
        assert css.encode() in page.body

    r = d.get("/static/branding-midnight/midnight.css")
    assert r.status == 200 and b"body.midnight" in r.body
    assert r.headers["content-type"].startswith("text/css")
    for bad in ("/static/branding-midnight/nope.css", "/static/payment-po/x.css", "/static/nopack/site.css",
                "/static/branding-midnight/..%2fpage%2flayout.html"):
        assert d.get(bad).status == 404, bad
    d.stop()
