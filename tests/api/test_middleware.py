from __future__ import annotations

import io
import json

import falcon
import pytest
import redis
from falcon.testing import TestClient
from pydantic import SecretStr

from services.api.body import BoundedJSONHandler
from services.api.middleware import BodyLimit
from shared.settings import Settings
from tests.api.conftest import assert_problem, client_with, urls

TOKEN = "s3cret-token"


@pytest.fixture()
def guarded(settings: Settings) -> TestClient:
    """Return a client of a gateway that requires the bearer token."""
    return client_with(settings, api_token=SecretStr(TOKEN))


def test_a_request_without_the_token_is_a_401_problem_with_a_bearer_challenge(
    guarded: TestClient,
) -> None:
    result = guarded.simulate_get("/api/tasks/history")

    assert_problem(result, 401)
    assert result.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {TOKEN}x", "Bearer ", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN[:-1]}"],
)
def test_a_wrong_token_is_refused(guarded: TestClient, authorization: str) -> None:
    result = guarded.simulate_get("/api/tasks/history", headers={"Authorization": authorization})

    assert_problem(result, 401)
    assert "Bearer" in result.headers["www-authenticate"]


def test_the_right_token_is_let_through(guarded: TestClient, redis_client: redis.Redis) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}

    listed = guarded.simulate_get("/api/tasks/history", headers=headers)
    created = guarded.simulate_post("/api/pipeline", json={"urls": urls(1)}, headers=headers)

    assert listed.status_code == 200
    assert created.status_code == 202
    assert redis_client.llen("dramatiq:parsing") == 1


def test_the_scheme_of_the_authorization_header_is_case_insensitive(guarded: TestClient) -> None:
    result = guarded.simulate_get(
        "/api/tasks/history", headers={"Authorization": f"bearer {TOKEN}"}
    )

    assert result.status_code == 200


def test_health_and_the_document_need_no_token(guarded: TestClient) -> None:
    assert guarded.simulate_get("/api/monitoring/health").status_code == 200
    assert guarded.simulate_get("/api/openapi.json").status_code == 200


def test_a_refused_request_never_reaches_the_task_service(
    guarded: TestClient, redis_client: redis.Redis
) -> None:
    result = guarded.simulate_post("/api/pipeline", json={"urls": urls(2)})

    assert result.status_code == 401
    assert redis_client.llen("dramatiq:parsing") == 0


def test_no_token_is_asked_for_when_none_is_configured(client: TestClient) -> None:
    assert client.simulate_get("/api/tasks/history").status_code == 200


def test_a_body_announced_over_the_cap_is_a_413_problem(
    settings: Settings, redis_client: redis.Redis
) -> None:
    capped = client_with(settings, api_max_body_bytes=1024)
    body = json.dumps({"urls": urls(40)})
    assert len(body) > 1024

    result = capped.simulate_post(
        "/api/pipeline", body=body, headers={"Content-Type": "application/json"}
    )

    problem = assert_problem(result, 413)
    assert "1024" in problem["detail"]
    assert problem["title"] == "Request body too large"  # a title like the others, no number
    assert redis_client.llen("dramatiq:parsing") == 0


def test_a_body_under_the_cap_is_accepted(settings: Settings) -> None:
    capped = client_with(settings, api_max_body_bytes=1024)

    assert capped.simulate_post("/api/pipeline", json={"urls": urls(3)}).status_code == 202


def test_the_json_reader_stops_at_the_cap_whatever_the_headers_said() -> None:
    handler = BoundedJSONHandler(max_bytes=16)
    stream = io.BytesIO(b'{"urls": ["' + b"a" * 10_000 + b'"]}')

    with pytest.raises(falcon.HTTPContentTooLarge):
        handler.deserialize(stream, falcon.MEDIA_JSON, None)
    assert stream.tell() == 17


def test_a_chunked_body_without_a_length_is_refused_with_411() -> None:
    req = falcon.testing.create_req(
        method="POST", path="/api/links", headers={"Transfer-Encoding": "chunked"}
    )
    assert req.content_length is None

    with pytest.raises(falcon.HTTPLengthRequired):
        BodyLimit(1024).process_request(req, falcon.Response())


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None]
)
def test_a_body_that_is_not_declared_json_is_a_415_problem(
    client: TestClient, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}

    result = client.simulate_post("/api/links", body='{"urls": []}', headers=headers)

    assert_problem(result, 415)


def test_json_with_a_charset_parameter_is_accepted(client: TestClient) -> None:
    result = client.simulate_post(
        "/api/links",
        body=json.dumps({"urls": urls(1)}),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )

    assert result.status_code == 201


def test_a_post_without_a_body_needs_no_content_type(client: TestClient) -> None:
    task_id = client.simulate_post("/api/pipeline", json={"urls": urls(1)}).json["data"]["task_id"]

    assert client.simulate_post(f"/api/tasks/history/{task_id}/cancel").status_code == 200
