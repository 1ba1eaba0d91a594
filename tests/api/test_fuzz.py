"""Schemathesis against the gateway's own OpenAPI document, on the real stack.

Every operation gets generated valid and invalid requests; no answer may be a 5xx, and
every answer must match the document (status, content type, schema); invalid input must
be refused. The operations are
walked here rather than through schemathesis' pytest plugin, which does not support this
pytest yet.
"""

from __future__ import annotations

import json
import re
from typing import Any

import falcon
import falcon.testing
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pydantic import SecretStr

from services.api.app import create_app
from services.api.openapi import OPERATIONS
from shared.settings import Settings

TOKEN = "fuzz-token"
EXAMPLES_PER_OPERATION = 30


def test_no_input_makes_the_gateway_fail_or_break_its_document(settings: Settings) -> None:
    app: falcon.App = create_app(
        settings.model_copy(
            update={
                "api_token": SecretStr(TOKEN),
                "api_rate_limit": 10_000.0,
                "api_rate_burst": 10_000,
            }
        )
    )
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    # Every documented operation but the document itself, which schemathesis leaves out.
    assert len(operations) == len(OPERATIONS) - 1

    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(
                headers={"Authorization": f"Bearer {TOKEN}"},
                # A URL's host and port rules go beyond what JSON Schema says: such a URL
                # is schema-valid yet rightly refused with a 400 naming the field.
                excluded_checks=[schemathesis.checks.positive_data_acceptance],
            )

        check()


BODY_OPERATIONS = [op for op in OPERATIONS if op.body is not None]
#: Text with what broke the gateway before: lone surrogates, credentials, control bytes.
HOSTILE_TEXT = st.one_of(
    st.text(),
    st.text(alphabet=st.characters(codec=None, categories=["Cs", "Cc", "Zs"])),
    st.sampled_from(
        [
            "https://user:pass@example.com/a",
            "https://example.com/\ud800",
            "http://[::1",
            "javascript:alert(1)",
            "https://example.com/" + "a" * 3000,
        ]
    ),
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | HOSTILE_TEXT,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            HOSTILE_TEXT | st.sampled_from(["urls", "url", "ids", "stages"]), children, max_size=4
        )
    ),
    max_leaves=20,
)


def _encode(document: Any, depth: int) -> bytes:
    """Return ``document`` as JSON (surrogates as escapes), wrapped ``depth`` lists deep."""
    return ("[" * depth + json.dumps(document) + "]" * depth).encode()


def test_no_json_body_makes_any_route_answer_5xx(settings: Settings) -> None:
    client = falcon.testing.TestClient(
        create_app(
            settings.model_copy(
                update={
                    "api_token": SecretStr(TOKEN),
                    "api_rate_limit": 10_000.0,
                    "api_rate_burst": 10_000,
                }
            )
        )
    )
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    statuses: set[int] = set()

    def walk(method: str, path: str) -> None:
        @given(
            document=JSON_VALUES | st.fixed_dictionaries({"urls": st.lists(HOSTILE_TEXT)}),
            depth=st.sampled_from([0, 0, 0, 1, 50, 3000]),
        )
        @hypothesis_settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def check(document: Any, depth: int) -> None:
            result = client.simulate_request(
                method, path, body=_encode(document, depth), headers=headers
            )
            statuses.add(result.status_code)
            assert result.status_code < 500, (method, path, result.text)

        check()

    for op in BODY_OPERATIONS:
        walk(op.method, re.sub(r"\{\w+:\w+\}", "1", op.template))
    assert 400 in statuses
