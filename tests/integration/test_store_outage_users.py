"""A store failure is never a wrong answer: a user's partner (docs/security.md,
"A store failure is never a wrong answer, continued").  A vendor admin
creates a partner user while the store cannot read the partner it names
(core/services/users.c, rd_user_check): 503 with Retry-After, not 400 "a
partner role needs the partner_id of a partner", which blames a correct
request; nothing is created, and the same request succeeds once the store
answers.

The failure is made as in test_store_outage_more.py: renewd on a PostgreSQL
store with a short statement timeout, the partners' table locked by another
session until renewd's statement is cancelled."""
import pytest

import pgcluster
from pgcluster import Locker
from conftest import api_list_all, api_request
from test_store_outage_more import REQ_BOUND, assert_503, node

cluster = pgcluster.cluster  # the module's cluster (a fixture)

pytestmark = pytest.mark.skipif(not pgcluster.available(), reason="postgresql-15 is not installed (scripts/deps)")


def test_a_partner_user_whose_partner_the_store_fails_to_read_answers_503_not_400(cluster, tmp_path):
    db, url, data, token, a = node(cluster, tmp_path)
    lock = None
    try:
        partner = next(p for p in api_list_all(a.port, "/api/v1/partners", token) if p["kind"] == "reseller")
        body = {"email": "outage-user@sentinel.example", "name": "Outage User", "role": "partner-admin",
                "partner_id": partner["id"], "password": "correct horse battery staple"}
        lock = Locker(cluster, db, "t_partners")
        assert_503(api_request(a.port, "POST", "/api/v1/users", body, token=token, timeout=REQ_BOUND + 5),
                   "a partner user while the partners' table is locked")
        lock.release()
        lock = None
        assert not [u for u in api_list_all(a.port, "/api/v1/users", token) if u["email"] == body["email"]]
        r = api_request(a.port, "POST", "/api/v1/users", body, token=token)
        assert r.status == 201, (r.status, r.body[:300])
        assert r.json()["partner_id"] == partner["id"]
        # a partner that does not exist is still the caller's mistake
        r = api_request(a.port, "POST", "/api/v1/users", dict(body, email="nobody-user@sentinel.example",
                                                              partner_id=partner["id"] + 100000), token=token)
        assert r.status == 400 and r.json()["error"]["field"] == "partner_id", (r.status, r.body[:300])
        a.stop()
    finally:
        if lock:
            lock.release()
        a.close()
