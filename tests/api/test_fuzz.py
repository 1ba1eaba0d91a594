"""Schemathesis against the gateway's own OpenAPI document, on the real stack.

Every operation gets generated valid and invalid requests; no answer may be a 5xx, and
every answer must match the document (status, content type, schema); invalid input must
be refused. The operations are
walked here rather than through schemathesis' pytest plugin, which does not support this
pytest yet.
"""

from __future__ import annotations

import falcon
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
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
