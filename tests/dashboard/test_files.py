"""The gateway serves the dashboard's files: types, CSP, revalidation, no token needed."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import falcon
import pytest
from falcon.testing import TestClient
from pydantic import SecretStr

from services.api.app import create_app
from services.api.dashboard.files import PATHS, STATIC_DIR, DashboardFiles
from shared.settings import Settings

TOKEN = "files-test-token"


@pytest.fixture()
def client(settings: Settings) -> TestClient:
    """Return a test client of a gateway that requires a token on its API."""
    return TestClient(create_app(settings.model_copy(update={"api_token": SecretStr(TOKEN)})))


class _Page(HTMLParser):
    """Collect what index.html loads and whether it carries inline code."""

    def __init__(self) -> None:
        super().__init__()
        self.assets: list[str] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        for name in ("src", "href"):
            value = found.get(name)
            if value and value.startswith("/dashboard/"):
                self.assets.append(value)
        if tag == "script" and not found.get("src"):
            self.inline.append("script")
        if "style" in found or tag == "style":
            self.inline.append(f"style on <{tag}>")
        self.inline += [f"{name} on <{tag}>" for name in found if name.startswith("on")]


def test_the_page_is_served_at_the_root_without_a_token_and_with_a_strict_policy(
    client: TestClient,
) -> None:
    result = client.simulate_get("/")

    assert result.status_code == 200
    assert result.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>KB Manager" in result.text
    policy = result.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert result.headers["x-content-type-options"] == "nosniff"
    assert result.headers["cache-control"] == "no-cache"
    assert result.headers["etag"]


def test_the_api_behind_the_page_still_needs_the_token(client: TestClient) -> None:
    assert client.simulate_get("/api/tasks/history").status_code == 401


def test_every_file_the_page_loads_is_served_with_its_type(client: TestClient) -> None:
    parser = _Page()
    parser.feed(client.simulate_get("/").text)
    types = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}

    assert {Path(asset).suffix for asset in parser.assets} == set(types)
    for asset in parser.assets:
        result = client.simulate_get(asset)
        assert result.status_code == 200, asset
        assert result.headers["content-type"].startswith(types[Path(asset).suffix]), asset
        assert "content-security-policy" in result.headers


def test_modules_import_only_files_that_are_served(client: TestClient) -> None:
    for script in STATIC_DIR.glob("*.js"):
        for name in re.findall(r'from "\./([\w.-]+)"', script.read_text()):
            assert client.simulate_get(f"/dashboard/{name}").status_code == 200, name


def test_the_page_has_no_inline_code_that_the_policy_would_block() -> None:
    parser = _Page()
    parser.feed((STATIC_DIR / "index.html").read_text())

    assert parser.inline == []


def test_an_unchanged_file_is_answered_304_when_the_browser_has_it(client: TestClient) -> None:
    etag = client.simulate_get("/dashboard/app.js").headers["etag"]

    result = client.simulate_get("/dashboard/app.js", headers={"If-None-Match": etag})

    assert result.status_code == 304
    assert result.content == b""


def test_head_answers_the_headers_without_the_body(client: TestClient) -> None:
    result = client.simulate_head("/")

    assert result.status_code == 200
    assert result.content == b""
    assert int(result.headers["content-length"]) > 0


@pytest.mark.parametrize(
    "path",
    ["/dashboard/missing.js", "/dashboard/../app.py", "/dashboard/", "/dashboard", "/index.html"],
)
def test_paths_beyond_the_shipped_files_are_not_found(client: TestClient, path: str) -> None:
    result = client.simulate_get(path)

    assert result.status_code == 404
    assert result.headers["content-type"] == "application/problem+json"


def test_writing_to_the_dashboard_is_not_allowed(client: TestClient) -> None:
    result = client.simulate_post("/", json={})

    assert result.status_code == 405
    assert result.headers["allow"] == "GET, HEAD"


def test_dashboard_requests_are_counted_under_their_own_route_labels(client: TestClient) -> None:
    client.simulate_get("/")
    client.simulate_get("/dashboard/app.js")

    metrics = client.simulate_get("/metrics").text

    assert 'route="/"' in metrics
    assert 'route="/dashboard/{name}"' in metrics


def test_a_gateway_installed_without_the_files_answers_404_saying_so(tmp_path: Path) -> None:
    app = falcon.App()
    app.add_sink(DashboardFiles(tmp_path / "absent"), prefix=PATHS)

    result = TestClient(app).simulate_get("/")

    assert result.status_code == 404
    assert "not installed" in result.json["description"]
