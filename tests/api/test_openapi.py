from __future__ import annotations

from typing import Any

import falcon
import jsonschema
import pytest
from falcon.inspect import inspect_routes
from falcon.testing import Result, TestClient

from services.api import responses
from services.api.openapi import OPERATIONS, openapi_path
from tests.api.conftest import urls


def _routed(app: falcon.App) -> set[tuple[str, str]]:
    return {
        (openapi_path(route.path), method.method.lower())
        for route in inspect_routes(app)
        for method in route.methods
        if not method.internal
    }


def _documented(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(path, method) for path, item in document["paths"].items() for method in item}


@pytest.fixture()
def document(client: TestClient) -> dict[str, Any]:
    result = client.simulate_get("/api/openapi.json")
    assert result.status_code == 200
    doc: dict[str, Any] = result.json
    return doc


def test_the_document_is_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_every_route_of_the_app_is_documented(app: falcon.App, document: dict[str, Any]) -> None:
    assert _routed(app) - _documented(document) == set()


def test_every_documented_operation_is_routed(app: falcon.App, document: dict[str, Any]) -> None:
    assert _documented(document) - _routed(app) == set()
    assert len(OPERATIONS) == len(_documented(document))


def test_open_routes_are_documented_as_needing_no_token(document: dict[str, Any]) -> None:
    assert document["paths"]["/api/monitoring/health"]["get"]["security"] == []
    assert "security" not in document["paths"]["/api/pipeline"]["post"]


def test_request_bodies_come_from_the_models_and_forbid_unknown_fields(
    document: dict[str, Any],
) -> None:
    schemas = document["components"]["schemas"]
    ref = document["paths"]["/api/parsing/sync"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]["$ref"]
    body = schemas[ref.rsplit("/", 1)[1]]
    assert body["additionalProperties"] is False
    assert body["properties"]["async"]["const"] is True
    stages = schemas["PipelineBody"]["properties"]["stages"]["anyOf"][0]["items"]
    assert stages["enum"] == ["parse", "enrich", "publish"]


def test_query_parameters_are_documented_with_their_bounds(document: dict[str, Any]) -> None:
    params = {
        param["name"]: param
        for param in document["paths"]["/api/tasks/history"]["get"]["parameters"]
    }
    assert params["limit"]["schema"]["maximum"] == 200
    assert params["limit"]["schema"]["minimum"] == 1
    assert params["offset"]["schema"]["minimum"] == 0
    items = document["paths"]["/api/tasks/history/{id}/items"]["get"]["parameters"]
    assert {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}} in items


def _schema_of(document: dict[str, Any], path: str, method: str, status: int, media: str) -> Any:
    response = document["paths"][path][method]["responses"][str(status)]
    schema = response["content"][media]["schema"]
    # Resolve "#/components/..." references against the document itself.
    return {**schema, "components": document["components"]}


#: Task-creating routes and their bodies; ``None`` stands for the ids of two new links.
TASK_CREATIONS: list[tuple[str, dict[str, Any] | None]] = [
    ("/api/pipeline", {"urls": urls(2)}),
    ("/api/parsing/sync", {"urls": urls(2), "async": True}),
    ("/api/ai/process", None),
    ("/api/notion/import", None),
]


def _post_task(client: TestClient, path: str, body: dict[str, Any] | None) -> Result:
    if body is None:
        links = client.simulate_post("/api/links", json={"urls": urls(2)}).json["data"]
        body = {"link_ids": links["link_ids"]}
    result = client.simulate_post(path, json=body)
    assert result.status_code == 202
    return result


@pytest.mark.parametrize(("path", "body"), TASK_CREATIONS)
def test_task_creation_answers_match_the_documented_schema(
    client: TestClient, document: dict[str, Any], path: str, body: dict[str, Any] | None
) -> None:
    result = _post_task(client, path, body)

    schema = _schema_of(document, path, "post", 202, "application/json")
    jsonschema.Draft202012Validator(schema).validate(result.json)


def test_answers_of_every_kind_match_the_documented_schemas(
    client: TestClient, document: dict[str, Any]
) -> None:
    task_id = _post_task(client, "/api/pipeline", {"urls": urls(2)}).json["data"]["task_id"]
    link_id = client.simulate_post("/api/links", json={"urls": urls(1)}).json["data"]["link_ids"][0]
    answers = [
        ("/api/links", "post", client.simulate_post("/api/links", json={"urls": urls(1)})),
        ("/api/links/{id}", "get", client.simulate_get(f"/api/links/{link_id}")),
        ("/api/tasks/history", "get", client.simulate_get("/api/tasks/history")),
        ("/api/tasks/history/{id}", "get", client.simulate_get(f"/api/tasks/history/{task_id}")),
        (
            "/api/tasks/history/{id}/items",
            "get",
            client.simulate_get(f"/api/tasks/history/{task_id}/items"),
        ),
        (
            "/api/tasks/history/{id}/cancel",
            "post",
            client.simulate_post(f"/api/tasks/history/{task_id}/cancel"),
        ),
        (
            "/api/tasks/history/{id}/retry",
            "post",
            client.simulate_post(f"/api/tasks/history/{task_id}/retry"),
        ),
        ("/api/monitoring/queues", "get", client.simulate_get("/api/monitoring/queues")),
        ("/api/monitoring/workers", "get", client.simulate_get("/api/monitoring/workers")),
        ("/api/monitoring/health", "get", client.simulate_get("/api/monitoring/health")),
        ("/api/pipeline", "post", client.simulate_post("/api/pipeline", json={"urls": ["x"]})),
    ]
    for path, method, result in answers:
        media = result.headers["content-type"].split(";")[0]
        schema = _schema_of(document, path, method, result.status_code, media)
        jsonschema.Draft202012Validator(schema).validate(result.json)


def test_task_creation_answers_match_the_response_models(client: TestClient) -> None:
    # The document's schemas are generated from these models; this holds without jsonschema.
    for path, body in TASK_CREATIONS:
        data = _post_task(client, path, body).json["data"]
        assert responses.TaskCreated.model_validate(data).status == "queued"
