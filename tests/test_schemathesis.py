"""schemathesis against /api/v1/openapi.json (issue 13 item 8; acceptance 5 of the API issue): every
operation, reads and writes, finds no server error (no response ≥ 500) and no response that violates the
documented schema.  Authenticated with an API token (CSRF-exempt: a token and no session cookie) as an
insurer supervisor, who may write nearly everything, and as a village clerk (scoped writes); on a small
seeded county, SQLite always and PostgreSQL when configured (the ``db_url`` fixture).  Bounded: a few
dozen examples per operation, no deadline, no example database — well under two minutes per database.

Odd values the generator seldom reaches (NUL bytes, 20-digit numbers, 10,000-character strings, CR/LF)
are given explicitly to every operation as extra examples (:func:`odd_cases`).
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from test_api import auth, make_app, upload_march

ODD = ["\x00", "a\x00b", "99999999999999999999", "-99999999999999999999", "x" * 10_000, "2025-03\r\nX", "\r\n",
       "𝔘ñíçødé ‮ 测试", "1e400", "NaN", ""]
ODD_NUMBERS = [10**20, -(10**20), 2**31, 2**63, 0, -1]
#: query parameters tried on every operation (a list takes them; others ignore them)
QUERY_NAMES = ["page", "page_size", "village_code", "line_id", "q", "sort", "policy_id", "batch_id", "department"]
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                    phases=[Phase.explicit, Phase.generate])


@pytest.fixture
def api_app(db_url, tmp_path):
    app = make_app(db_url, tmp_path)
    upload_march(app.test_client())
    yield app
    app.extensions["relief_engine"].dispose()


def operations(app) -> list:
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    found = [result.ok() for result in schema.get_all_operations()]
    methods = {op.method.upper() for op in found}
    assert len(found) >= 15 and {"GET", "POST"} <= methods  # reads and writes
    return found


@pytest.mark.parametrize("role", ["insurer_supervisor", "village_clerk"])
def test_api_conforms_to_its_openapi_document(api_app, role):
    for operation in operations(api_app):
        @given(case=operation.as_strategy())
        @SETTINGS
        def check(case) -> None:
            case.call_and_validate(headers=auth(role), checks=[not_a_server_error, response_schema_conformance])

        check()


def test_odd_values_in_every_parameter_and_field_are_never_a_server_error(api_app):
    """A few generated cases of each operation, each query parameter and body field replaced in turn by every
    odd value (NUL, a 20-digit number, 10,000 characters, CR/LF, …): never a server error."""
    client = api_app.test_client()
    for operation in operations(api_app):
        @given(case=operation.as_strategy())
        @settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case) -> None:
            query = dict(case.query or {})
            body = case.body if isinstance(case.body, dict) else None
            fields = [("query", k) for k in {*query, *QUERY_NAMES}] + [("body", k) for k in (body or {})]
            for where, name in fields:
                for value in [*ODD, *ODD_NUMBERS]:
                    q, b = dict(query), (dict(body) if body is not None else None)
                    if where == "query":
                        q[name] = str(value)
                    else:
                        b[name] = value
                    response = client.open(case.formatted_path, method=case.method, query_string=q,
                                           headers=auth("insurer_supervisor"), **({"json": b} if b is not None else {}))
                    assert response.status_code < 500, (case.method, case.formatted_path, name, repr(value)[:40],
                                                        response.get_data(as_text=True)[:300])

        check()
