"""schemathesis against the OpenAPI schema, in-process: no server errors, no schema violations.

Every operation gets generated requests, valid and invalid by the schema, with a token whose role
may use it; each answer must be a documented status, content type, headers and body shape, never
a 5xx, and a request the schema calls invalid must be refused. Examples are bounded (and
derandomized) so that the run takes well under a minute.
"""

from __future__ import annotations

import pytest
import schemathesis as st
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import Api
from tests.unit.factory import CaseBuilder

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance, negative_data_rejection]
NO_INPUT = ("/health", "/ready")
EXAMPLES = {st.GenerationMode.POSITIVE: 30, st.GenerationMode.NEGATIVE: 15}


def _role_for(method: str, path: str) -> tuple[str, str | None, bool]:
    if path in ("/network", "/tokens"):
        return "admin", None, False
    if method.upper() == "POST" and path == "/steps":
        return "clerk", "bs", False
    return "auditor", None, True


@pytest.mark.parametrize("mode", list(EXAMPLES), ids=lambda m: m.value)
def test_the_api_keeps_to_its_openapi_schema(api: Api, mode: st.GenerationMode) -> None:
    for case_id in ("BS-2026-000045", "C-1"):  # a few cases, so that reads find something
        raw = CaseBuilder(case_id).raw("application_received", 0)
        raw.pop("recorded_at")
        assert api.record(raw).status_code == 201
    api.catch_up()
    schema = st.openapi.from_asgi("/openapi.json", api.client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {(o.method.upper(), o.path) for o in operations} >= {
        ("POST", "/steps"), ("GET", "/cases/{case_id}"), ("GET", "/figures"),
        ("GET", "/clocks/open"), ("PUT", "/network"), ("GET", "/ready")}
    for operation in operations:
        if mode is st.GenerationMode.NEGATIVE and operation.path in NO_INPUT:
            continue  # nothing to make invalid
        role, point, pii = _role_for(operation.method, operation.path)
        _check(operation, mode, api.auth(role, point, pii=pii))


def _check(operation: st.APIOperation, mode: st.GenerationMode, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES[mode], deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def keeps_to_the_schema(case: st.Case) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    keeps_to_the_schema()
