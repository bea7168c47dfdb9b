"""Acceptance 5: schemathesis against /api/v1/openapi.json finds no server error and no response that
violates the documented schema.  Bounded: a few examples per operation, authenticated as an insurer
supervisor on a small seeded county (SQLite), well under two minutes."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from test_api import auth, make_app, upload_march

from claims.lifecycle.database import upgrade


@pytest.fixture(scope="module")
def api_app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("schemathesis")
    url = f"sqlite:///{tmp / 'relief.db'}"
    upgrade(url)
    app = make_app(url, tmp)
    upload_march(app.test_client())
    yield app
    app.extensions["relief_engine"].dispose()


def test_api_conforms_to_its_openapi_document(api_app):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", api_app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), database=None,
                  phases=[Phase.explicit, Phase.generate])
        def check(case) -> None:
            case.call_and_validate(headers=auth("insurer_supervisor"),
                                   checks=[not_a_server_error, response_schema_conformance])

        check()
