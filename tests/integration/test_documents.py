"""A contract's documents: uploaded through the API by the vendor's roles
that may change contracts, read by everyone who may read the contract (the
partner of record too), listed, downloaded byte for byte, removed, audited;
refused with the field named when the input is wrong; out of reach of
other partners; downloadable by the customer from the portal, and only
that customer's."""
import hashlib
import re

from conftest import ApiClient, api_user, assert_json_error, demo_load, http_request
from test_pages_security import Browser, publish  # noqa: F401

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"  # binary, with NULs


def upload(api, contract, body, name="Contract.pdf", kind=None, ctype="application/pdf", query=None):
    q = query if query is not None else "name=" + name.replace(" ", "%20") + (f"&kind={kind}" if kind else "")
    h = {"Content-Type": ctype} if ctype else {}
    return api.call("POST", f"/api/v1/contracts/{contract}/documents?{q}", body=body, headers=h)


def test_documents(daemon, tmp_path):
    data = tmp_path / "store"
    data.mkdir()
    demo_load(data)
    admin_tok = api_user(data, email="admin@x.example")
    gold_tok = api_user(data, email="gold@x.example", role="partner-admin", partner="3")  # RES-GOLD
    plat_tok = api_user(data, email="plat@x.example", role="partner-sales", partner="2")  # RES-PLAT
    d = daemon(data=data, args=["--test-clock", "1", "--sched-interval-ms", "3600000"])
    admin, gold, plat = ApiClient(d, *admin_tok), ApiClient(d, *gold_tok), ApiClient(d, *plat_tok)
    admin.d, admin.data = d, data
    contracts = {k["external_id"]: k for k in admin.items("/api/v1/contracts")}
    k = contracts["K-20003"]  # RES-GOLD's
    assert k["reseller_id"] == 3, k
    other = next(c for c in contracts.values() if c["reseller_id"] == 2)  # RES-PLAT's

    # Upload, read back, download byte for byte.
    r = upload(admin, k["id"], PDF, name="Renewal contract K-20003.pdf")
    assert r.status == 201, r
    doc = r.json()
    assert doc["name"] == "Renewal contract K-20003.pdf" and doc["kind"] == "contract", doc
    assert doc["size"] == len(PDF) and doc["sha256"] == hashlib.sha256(PDF).hexdigest(), doc
    assert doc["content_type"] == "application/pdf" and doc["contract_id"] == k["id"], doc
    assert doc["customer_id"] == k["customer_id"], doc
    assert_json_error(upload(gold, k["id"], b"certificate", name="cert.txt"), 403)  # partners read, the vendor writes
    cert = upload(admin, k["id"], b"certificate", name="cert.txt", kind="certificate", ctype="text/plain; charset=utf-8")
    assert cert.status == 201, cert
    assert cert.json()["content_type"] == "text/plain", cert.json()
    listed = admin.get(f"/api/v1/contracts/{k['id']}/documents")["items"]
    assert [x["id"] for x in listed] == [doc["id"], cert.json()["id"]], listed
    assert admin.get(f"/api/v1/documents/{doc['id']}") == doc
    r = admin.call("GET", f"/api/v1/documents/{doc['id']}/content")
    assert r.status == 200 and r.body == PDF, r
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == 'attachment; filename="Renewal contract K-20003.pdf"'
    assert gold.call("GET", f"/api/v1/documents/{doc['id']}/content").body == PDF

    # Another partner sees none of it; nobody sees a contract that does not exist.
    for path in (f"/api/v1/contracts/{k['id']}/documents", f"/api/v1/documents/{doc['id']}",
                 f"/api/v1/documents/{doc['id']}/content"):
        assert_json_error(plat.call("GET", path), 404)
    assert_json_error(upload(plat, k["id"], PDF), 403)
    assert_json_error(upload(admin, 999999, PDF), 404)
    assert_json_error(plat.call("DELETE", f"/api/v1/documents/{doc['id']}"), 403)
    assert_json_error(http_request(d.port, "GET", f"/api/v1/documents/{doc['id']}/content"), 401)

    # Bad input, each named; nothing is stored.
    before = len(admin.get(f"/api/v1/contracts/{k['id']}/documents")["items"])
    for r, field in ((upload(admin, k["id"], PDF, query=""), "name"),
                     (upload(admin, k["id"], PDF, name="../etc/passwd"), "name"),
                     (upload(admin, k["id"], PDF, name="a%22b.pdf"), "name"),
                     (upload(admin, k["id"], PDF, name="x" * 200), "name"),
                     (upload(admin, k["id"], PDF, name="%0Aevil"), "name"),
                     (upload(admin, k["id"], PDF, kind="passport"), "kind"),
                     (upload(admin, k["id"], PDF, ctype="pdf"), "content-type"),
                     (upload(admin, k["id"], PDF, ctype="text/<script>"), "content-type"),
                     (upload(admin, k["id"], b""), "body"),
                     (upload(admin, k["id"], PDF, query="name=a.pdf&owner=x"), "owner")):
        assert assert_json_error(r, 400)["field"] == field, (field, r)
    r = upload(admin, k["id"], b"\0" * (16 * 1024 * 1024 + 1))
    assert assert_json_error(r, 413)["field"] == "body", r
    assert len(admin.get(f"/api/v1/contracts/{k['id']}/documents")["items"]) == before

    # The customer downloads it from the portal; another customer cannot.
    o, customer, token = publish(admin, "K-20003")
    assert customer["id"] == k["customer_id"]
    b = Browser(d)
    assert b.get(f"/c/{token}").status == 303
    page = b.get("/portal").text
    assert f'href="/portal/documents/{doc["id"]}"' in page and "Renewal contract K-20003.pdf" in page, page
    r = b.get(f"/portal/documents/{doc['id']}")
    assert r.status == 200 and r.body == PDF and r.headers["content-type"] == "application/pdf", r
    theirs = upload(admin, other["id"], b"not yours", name="other.pdf").json()
    assert other["customer_id"] != k["customer_id"]
    r = b.get(f"/portal/documents/{theirs['id']}")
    assert r.status == 404 and r.body != b"not yours", r
    assert Browser(d).get(f"/portal/documents/{doc['id']}").status in (303, 401)  # no link session

    # Removal: gone from the list and the download; audited both ways.
    assert_json_error(gold.call("DELETE", f"/api/v1/documents/{cert.json()['id']}"), 403)
    assert admin.call("DELETE", f"/api/v1/documents/{cert.json()['id']}").status == 204
    assert_json_error(admin.call("GET", f"/api/v1/documents/{cert.json()['id']}/content"), 404)
    assert_json_error(admin.call("DELETE", f"/api/v1/documents/{cert.json()['id']}"), 404)
    audit = admin.get("/api/v1/audit?object=documents&limit=100")["items"]
    acts = sorted((a["object_id"], a["action"]) for a in audit)
    assert (doc["id"], "create") in acts and (cert.json()["id"], "delete") in acts, acts
    d.stop()
