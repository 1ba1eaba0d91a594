"""Access is decided on the routed resource: every route, method and spelling of its path.

The walk takes the routes from Falcon's router itself, so a route added later is walked
too; it is closed unless its resource declares otherwise, and the expectations below
name the few that may.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import falcon
import falcon.testing
import pytest
from falcon.inspect import inspect_routes
from pydantic import SecretStr

from services.api.auth import Access, access_of
from services.api.routes import MAX_ID
from shared.settings import Settings

FULL, READ = "full-token", "read-token"
#: Routes any caller may read: no data of the knowledge base.
OPEN_ROUTES = {"/api/monitoring/health", "/api/openapi.json", "/metrics"}
#: Routes a read-only token may GET; every other method of them needs the full token.
READ_ROUTES = {
    "/api/links",
    "/api/links/{id:id}",
    "/api/tasks/history",
    "/api/tasks/history/{id:id}",
    "/api/tasks/history/{id:id}/items",
    "/api/feeds",
    "/api/feeds/{id:id}",
    "/api/tags",
    "/api/monitoring/workers",
    "/api/monitoring/queues",
    "/api/monitoring/dead-letters",
}
METHODS = sorted(falcon.constants.HTTP_METHODS)
DENIED = {401, 403, 404}


def _app(settings: Settings) -> falcon.App:
    from services.api.app import create_app

    return create_app(
        settings.model_copy(
            update={
                "api_token": SecretStr(FULL),
                "api_read_tokens": SecretStr(READ),
                "api_rate_limit": 1e6,
                "api_rate_burst": 10**6,
                "api_auth_failures": 10**6,
            }
        )
    )


def spellings(path: str) -> Iterator[str]:
    """Yield ``path`` and other spellings a client might try to slip past a check."""
    yield path
    yield "/" + path  # a doubled leading slash
    yield "///" + path.lstrip("/")
    yield path.replace("/", "//")  # every slash doubled
    yield "/" + path[1:].replace("/", "%2F")  # encoded slashes
    yield "/" + path[1:].replace("/", "%2f", 1)
    yield "/./" + path.lstrip("/")  # dot segments
    yield "/x/.." + path
    yield path.replace("/api/", "/api/./", 1)
    yield path + "/"  # a trailing slash
    yield path + "/."
    yield path.upper()
    yield path.replace("api", "Api", 1)
    yield path + ";x=1"
    yield "/%61pi" + path.removeprefix("/api") if path.startswith("/api") else path + "%00"


def _concrete(template: str) -> str:
    return re.sub(r"\{\w+:\w+\}", "1", template)


def _templates(app: falcon.App) -> list[str]:
    return sorted(route.path for route in inspect_routes(app))


def test_the_walk_sees_every_route_and_only_the_named_ones_are_not_closed(
    settings: Settings,
) -> None:
    app = _app(settings)
    resources = {
        route.path: app._router.find(_concrete(route.path))[0] for route in inspect_routes(app)
    }
    assert len(resources) >= 20
    declared = {template: access_of(resource) for template, resource in resources.items()}
    assert {t for t, access in declared.items() if access is Access.OPEN} == OPEN_ROUTES
    assert {t for t, access in declared.items() if access is Access.READ} == READ_ROUTES
    # A sink is no routed resource: only an open one (the dashboard's files) is allowed.
    for _, sink, _ in app._sinks:
        assert access_of(sink) is Access.OPEN, sink


def test_an_undeclared_resource_is_closed(settings: Settings) -> None:
    class Undeclared:
        def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
            resp.media = {"secret": 1}

    app = _app(settings)
    app.add_route("/api/new-thing", Undeclared())
    client = falcon.testing.TestClient(app)
    assert client.simulate_get("/api/new-thing").status_code == 401
    assert client.simulate_get("//api/new-thing").status_code == 401
    read = client.simulate_get("/api/new-thing", headers={"Authorization": f"Bearer {READ}"})
    assert read.status_code == 403
    full = client.simulate_get("/api/new-thing", headers={"Authorization": f"Bearer {FULL}"})
    assert full.json == {"secret": 1}


@pytest.mark.filterwarnings("ignore::wsgiref.validate.WSGIWarning")  # CONNECT, TRACE
@pytest.mark.parametrize(
    "credentials",
    [None, "Bearer wrong-token", f"Bearer {FULL}x", f"Basic {FULL}", READ],
    ids=["none", "wrong", "longer", "basic", "read-only"],
)
def test_every_route_method_and_spelling_needs_its_token(
    settings: Settings, credentials: str | None
) -> None:
    app = _app(settings)
    client = falcon.testing.TestClient(app)
    headers = {}
    if credentials == READ:
        headers["Authorization"] = f"Bearer {READ}"
    elif credentials is not None:
        headers["Authorization"] = credentials
    walked = 0
    leaks: list[tuple[str, str, int]] = []
    for template in _templates(app):
        if template in OPEN_ROUTES:
            continue
        for method in METHODS:
            if credentials == READ and template in READ_ROUTES and method in ("GET", "HEAD"):
                continue  # what a read-only token is for
            for path in spellings(_concrete(template)):
                status = client.simulate_request(method, path, headers=headers).status_code
                walked += 1
                if status not in DENIED:
                    leaks.append((method, path, status))
    assert leaks == []
    assert walked > 1000


def test_the_full_token_reaches_every_route(settings: Settings) -> None:
    app = _app(settings)
    client = falcon.testing.TestClient(app)
    for template in _templates(app):
        response = client.simulate_get(
            _concrete(template), headers={"Authorization": f"Bearer {FULL}"}
        )
        assert response.status_code not in (401, 403), (template, response.text)


@pytest.mark.parametrize(
    "digits", ["\u0661", "\u06f1", "\uff11", "+1", " 1", "1_0", "0", "00", str(MAX_ID + 1)]
)
def test_ids_are_ascii_digits_of_a_possible_row(settings: Settings, digits: str) -> None:
    app = _app(settings)
    client = falcon.testing.TestClient(app, headers={"Authorization": f"Bearer {FULL}"})
    client.simulate_post("/api/pipeline", json={"urls": ["https://example.com/a"]})
    assert client.simulate_get("/api/tasks/history/1").status_code == 200
    response = client.simulate_get(f"/api/tasks/history/{digits}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
