"""The margin policy's memo in the running daemon (core/policy/margin.c):

  * the sweep reuses the answer of a slow policy for lines that agree on
    every field it read: 300 alike contracts are priced in one turn of the
    loop, where without the memo they take ten slices or more
    (test_trust_policy.py::test_a_slow_policy_gets_slices_of_the_loop runs
    the same script with memoise = false);
  * activating another version starts a new memo: the next sweep's alike
    lines are priced by the new version's rule, not the old answers.
"""
import datetime
import time

from conftest import ApiClient
from test_trust_policy import (ARGS, VECTORS, add_contracts, make_store, opportunities, store_root,  # noqa: F401
                               timed_clock)

SLOW = """\
-- succeeds, slowly, for quantity 16: about 1 ms of CPU time per call
local shares = { platinum = 3300, gold = %d, silver = 2000 }

function margin(line)
  if line.quantity == 16 then
    local n = 0
    for i = 1, 100000 do n = n + i end
  end
  return "reseller", shares[line.partner.tier] or 0, line.partner.tier
end
"""

WAITS = "the rest of the vendor's work waits for the next turn"


def sweep_to(d, admin, day):
    """Moves the clock to day and waits for the sweep's last turn; returns
    the log lines it wrote."""
    before = len(d.log())
    timed_clock(admin, day)
    deadline = time.monotonic() + 60
    while True:
        log = d.log()[before:]
        if log.count("\"sweep to ") > log.count(WAITS):
            return log
        assert time.monotonic() < deadline, "the sweep did not end within 60 s"
        time.sleep(0.1)


def test_the_sweep_reuses_answers_and_activation_starts_a_new_memo(daemon, store_root):
    data, token, uid = make_store(store_root)
    d = daemon(data=data, args=ARGS)
    admin = ApiClient(d, token, uid)
    v1 = admin.ok("POST", "/api/v1/policies/margin", {"source": SLOW % 2500, "vectors": VECTORS},
                  status=201)["version"]
    admin.ok("POST", f"/api/v1/policies/margin/{v1}/activate", status=200)
    today = datetime.date.fromisoformat(admin.get("/api/v1/clock")["today"])
    gold = [p for p in admin.items("/api/v1/partners") if p["external_id"] == "RES-GOLD"][0]
    base = dict([k for k in admin.items("/api/v1/contracts") if k["external_id"] == "K-20002"][0])
    base["reseller_id"] = gold["id"]
    window = admin.get("/api/v1/vendor")["renewal_window_days"]
    day1 = today + datetime.timedelta(days=1)
    n = 300
    first = add_contracts(admin, "MEMO1", [16] * n, day1 + datetime.timedelta(days=window), base)
    log = sweep_to(d, admin, day1)
    # One slow call; the other 599 (two publish modes each) from the memo.
    assert log.count(WAITS) == 0, [line for line in log.splitlines() if WAITS in line]
    opps = opportunities(admin)
    assert all(k in opps for k in first), f"{sum(k in opps for k in first)} of {n} quoted"
    for k in first:
        assert opps[k]["attention"] == 0, opps[k]
        assert opps[k]["lines"][0]["margins"]["partner"]["shares"][0]["bp"] == 2500, opps[k]["lines"]

    # Version 2 pays gold 2000 (its vectors say so); the same lines again.
    vectors2 = [dict(v) for v in VECTORS]
    vectors2[0]["expect"] = [["reseller", 2000]]
    v2 = admin.ok("POST", "/api/v1/policies/margin", {"source": SLOW % 2000, "vectors": vectors2},
                  status=201)["version"]
    admin.ok("POST", f"/api/v1/policies/margin/{v2}/activate", status=200)
    day2 = day1 + datetime.timedelta(days=1)
    second = add_contracts(admin, "MEMO2", [16] * n, day2 + datetime.timedelta(days=window), base)
    sweep_to(d, admin, day2)
    opps = opportunities(admin)
    assert all(k in opps for k in second), f"{sum(k in opps for k in second)} of {n} quoted"
    for k in second:
        assert opps[k]["attention"] == 0, opps[k]
        assert opps[k]["lines"][0]["margins"]["partner"]["shares"][0]["bp"] == 2000, opps[k]["lines"]
    d.stop()
