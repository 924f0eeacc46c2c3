"""Schema-driven fuzzing of the portal's JSON API: schemathesis generates requests from the
generated OpenAPI document, sent as a practitioner and as a MASH manager (each with the
session's CSRF header). No response may be a server error (5xx) and no traceback may be logged
(the conftest's log watch)."""

from __future__ import annotations

import pytest
import schemathesis
from fuzz_helpers import COUNTS, STATUSES, fuzz_settings
from schemathesis.checks import not_a_server_error

from schools_portal.app import SESSION_COOKIE

pytestmark = pytest.mark.fuzz


@pytest.fixture(scope="session")
def api_schema(app):
    return schemathesis.openapi.from_asgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@fuzz_settings(250)
def test_api_never_fails(case, session_cookies) -> None:
    COUNTS["api (schemathesis)"] += 1
    for key in ("oakfield_dsl", "manager"):
        cookie, token = session_cookies[key]
        response = case.call(cookies={SESSION_COOKIE: cookie}, headers={"X-CSRF-Token": token})
        STATUSES[f"api {response.status_code}"] += 1
        case.validate_response(response, checks=[not_a_server_error])
