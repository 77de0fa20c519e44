"""What the api and edi_records fuzzing harnesses found (docs/fuzzing.md,
docs/security.md "Fuzzing"), each through the real daemon."""
import json

from conftest import assert_json_error


def test_an_unknown_query_parameter_that_is_not_utf8_gets_a_400_not_a_500(api):
    # The name of an unknown parameter is quoted in the error; bytes that
    # are not UTF-8 made the error unencodable (a 500 "the response could
    # not be encoded").  Now they are shown as "?" and the reply is the 400.
    for path in ("/api/v1/reports/scorecards?%9A%DA=1", "/api/v1/contracts?%FF", "/api/v1/orders?a%C3=1"):
        r = api.call("GET", path, as_="admin")
        err = assert_json_error(r, 400)
        assert "?" in json.loads(r.body)["error"]["message"], r.body
