from __future__ import annotations

import redis
from falcon.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from shared.settings import Settings
from tests.api.conftest import client_with, urls


def _samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    result = client.simulate_get("/metrics")
    assert result.status_code == 200
    assert result.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(result.text)
        for sample in family.samples
    }


def test_requests_are_counted_by_route_template_and_status(client: TestClient) -> None:
    client.simulate_get("/api/tasks/history/31337")
    client.simulate_get("/api/tasks/history/31338")
    client.simulate_get("/api/tasks/history")

    samples = _samples(client)

    template = "/api/tasks/history/{id:id}"
    key = (("method", "GET"), ("route", template), ("status", "404"))
    assert samples[("kbm_gateway_requests_total", key)] == 2
    listed = (("method", "GET"), ("route", "/api/tasks/history"), ("status", "200"))
    assert samples[("kbm_gateway_requests_total", listed)] == 1
    timed = (("method", "GET"), ("route", template))
    assert samples[("kbm_gateway_request_duration_seconds_count", timed)] == 2


def test_metric_labels_never_carry_raw_paths(client: TestClient) -> None:
    client.simulate_get("/api/tasks/history/31337")
    client.simulate_get("/no/such/route/31339")

    text = client.simulate_get("/metrics").text

    assert "31337" not in text
    assert "31339" not in text
    assert 'route="unmatched"' in text


def test_queue_depths_are_read_from_redis_at_scrape_time(
    client: TestClient, redis_client: redis.Redis
) -> None:
    client.simulate_post("/api/pipeline", json={"urls": urls(2)})

    samples = _samples(client)

    waiting = (("queue", "parsing"), ("state", "waiting"))
    assert samples[("kbm_queue_messages", waiting)] == redis_client.llen("dramatiq:parsing") == 2
    assert samples[("kbm_redis_up", ())] == 1


def test_a_scrape_still_answers_when_redis_is_down(settings: Settings) -> None:
    unreachable = client_with(settings, redis_url="redis://127.0.0.1:1/0")

    samples = _samples(unreachable)

    assert samples[("kbm_redis_up", ())] == 0
    assert not any(name == "kbm_queue_messages" for name, _ in samples)
