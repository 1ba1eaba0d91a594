"""Hostile and abusive callers: tokens, read-only tokens, budgets, open tasks, secrets."""

from __future__ import annotations

import logging

import falcon.testing
import pytest
from pydantic import SecretStr

from services.api.app import create_app
from shared.settings import Settings

FULL, NEXT, READ = "full-token-1", "full-token-2", "read-token-1"


def _client(settings: Settings, **update: object) -> falcon.testing.TestClient:
    secured = settings.model_copy(
        update={
            "api_token": SecretStr(FULL),
            "api_tokens": SecretStr(f" {NEXT} , "),
            "api_read_tokens": SecretStr(READ),
            **update,
        }
    )
    return falcon.testing.TestClient(create_app(secured))


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_every_configured_full_token_is_accepted_during_a_rotation(settings: Settings) -> None:
    client = _client(settings)
    for token in (FULL, NEXT):
        response = client.simulate_post(
            "/api/pipeline", json={"urls": ["https://example.com/a"]}, headers=_auth(token)
        )
        assert response.status_code == 202, response.text


def test_a_read_only_token_reads_but_cannot_write(settings: Settings) -> None:
    client = _client(settings)
    assert client.simulate_get("/api/tasks/history", headers=_auth(READ)).status_code == 200
    response = client.simulate_post(
        "/api/pipeline", json={"urls": ["https://example.com/a"]}, headers=_auth(READ)
    )
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "may only read" in response.json["detail"]


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer ", "Basic Zm9vOmJhcg==", f"Bearer {FULL}x", f"bearer {FULL[:-1]}"],
)
def test_a_missing_or_wrong_token_is_refused_without_echoing_it(
    settings: Settings, header: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    client = _client(settings)
    caplog.set_level(logging.DEBUG)
    headers = {"Authorization": header} if header is not None else {}
    response = client.simulate_get("/api/tasks/history", headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    for secret in (FULL, NEXT, READ):
        assert secret not in response.text
        assert secret not in caplog.text


def test_options_needs_a_token_like_every_method_and_answers_no_data(settings: Settings) -> None:
    client = _client(settings)
    assert client.simulate_options("/api/tasks/history/1").status_code == 401
    response = client.simulate_options("/api/tasks/history/1", headers=_auth(FULL))
    assert response.status_code == 200
    assert "GET" in response.headers["allow"]
    assert response.content == b""
    # The open routes answer it without one.
    assert client.simulate_options("/api/monitoring/health").status_code == 200


def test_wrong_tokens_spend_a_budget_per_client_address_then_429(settings: Settings) -> None:
    client = _client(settings, api_auth_failures=3)
    wrong = [
        client.simulate_get("/api/tasks/history", headers=_auth("guess")).status_code
        for _ in range(3)
    ]
    assert wrong == [401, 401, 401]
    # Over the budget, even the right token from that address waits: guessing is slow.
    refused = client.simulate_get("/api/tasks/history", headers=_auth(FULL))
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert "wrong tokens" in refused.json["detail"]
    # Another address has a budget of its own; no token at all spends nothing.
    other = client.simulate_get("/api/tasks/history", headers=_auth(FULL), remote_addr="192.0.2.7")
    assert other.status_code == 200
    for _ in range(5):
        missing = client.simulate_get("/api/tasks/history", remote_addr="192.0.2.8")
        assert missing.status_code == 401
    fine = client.simulate_get("/api/tasks/history", headers=_auth(FULL), remote_addr="192.0.2.8")
    assert fine.status_code == 200


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("localhost", True),
        ("localhost:5000", True),
        ("api.localhost:5000", True),
        ("127.0.0.1:5000", True),
        ("127.8.9.10", True),
        ("[::1]:5000", True),
        ("rebound.example", False),
        ("rebound.example:5000", False),
        ("127.0.0.1.nip.example", False),
        ("localhost.example", False),
        ("[::ffff:1.2.3.4]", False),
    ],
)
def test_without_a_token_only_loopback_hosts_are_served(
    settings: Settings, host: str, allowed: bool
) -> None:
    client = falcon.testing.TestClient(
        create_app(settings.model_copy(update={"api_allowed_hosts": ()}))
    )
    response = client.simulate_get("/api/tasks/history", headers={"Host": host})
    if allowed:
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 403
        assert response.json["title"] == "Host not allowed"
        assert "API_ALLOWED_HOSTS" in response.json["detail"]
    # Even the open routes: a rebinding page must learn nothing.
    health = client.simulate_get("/api/monitoring/health", headers={"Host": host})
    assert (health.status_code != 403) is allowed


def test_api_allowed_hosts_extends_the_loopback_names(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"api_allowed_hosts": ("kb.internal",)}))
    client = falcon.testing.TestClient(app)
    for host in ("kb.internal", "KB.internal:8080", "localhost"):
        assert client.simulate_get("/api/tasks/history", headers={"Host": host}).status_code == 200
    assert (
        client.simulate_get("/api/tasks/history", headers={"Host": "kb.other"}).status_code == 403
    )


def test_a_caller_over_its_request_budget_gets_429_with_retry_after(settings: Settings) -> None:
    client = _client(settings, api_rate_limit=1.0, api_rate_burst=3)
    statuses = [
        client.simulate_get("/api/tasks/history", headers=_auth(FULL)).status_code for _ in range(5)
    ]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]
    refused = client.simulate_get("/api/tasks/history", headers=_auth(FULL))
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["content-type"].startswith("application/problem+json")
    # Another caller has a budget of its own.
    assert client.simulate_get("/api/tasks/history", headers=_auth(NEXT)).status_code == 200


def test_a_caller_cannot_hold_more_open_tasks_than_allowed(settings: Settings) -> None:
    client = _client(settings, api_max_open_tasks=2)
    for n in range(2):
        response = client.simulate_post(
            "/api/pipeline", json={"urls": [f"https://example.com/{n}"]}, headers=_auth(FULL)
        )
        assert response.status_code == 202
    refused = client.simulate_post(
        "/api/pipeline", json={"urls": ["https://example.com/x"]}, headers=_auth(FULL)
    )
    assert refused.status_code == 429
    assert "at most 2" in refused.json["detail"]
    other = client.simulate_post(
        "/api/pipeline", json={"urls": ["https://example.com/y"]}, headers=_auth(NEXT)
    )
    assert other.status_code == 202


def test_a_thousand_links_take_a_few_batched_statements_not_a_thousand(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    client = _client(settings, api_max_urls=1000)
    urls = [f"https://example.com/article/{n}" for n in range(1000)]
    caplog.set_level(logging.DEBUG, logger="peewee")
    caplog.set_level(logging.DEBUG, logger="shared.db")  # the bulk inserts
    response = client.simulate_post("/api/pipeline", json={"urls": urls}, headers=_auth(FULL))
    assert response.status_code == 202
    assert response.json["data"]["total_items"] == 1000
    statements = [record for record in caplog.records if record.name in ("peewee", "shared.db")]
    inserts = [record for record in statements if "INSERT" in str(record.msg)]
    # The links and the items in pages of 1000 (one INSERT each), the task, and one
    # INSERT of the stage runs of the first batch fed (the rest wait to be fed).
    assert len(inserts) == 4, [str(record.msg)[:60] for record in inserts]
    assert len(statements) < 40


def test_too_many_urls_in_one_request_are_refused_naming_the_limit(settings: Settings) -> None:
    client = _client(settings, api_max_urls=10)
    urls = [f"https://example.com/{n}" for n in range(11)]
    response = client.simulate_post("/api/pipeline", json={"urls": urls}, headers=_auth(FULL))
    assert response.status_code == 400
    assert response.json["field"] == "urls"
    assert "at most 10" in response.json["detail"]
