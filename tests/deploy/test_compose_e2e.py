"""The compose stack end to end, on the images `make images` built (make compose-e2e).

docker-compose.yml as users run it, `up -d --scale parser=3`, plus a page server in the
stack's network (tests/deploy/e2e). The steps run in order on one stack and print what
they measured: links submitted through the gateway complete through parse, enrich (the
local provider) and publish (Markdown files in the export volume); each parser container
takes work; a parser container killed mid-run and a Redis restarted mid-run lose nothing
and publish nothing twice; `down` then `up` keeps the history; the gateway answers only
with the token; the stand-in Prometheus scrapes every target.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.deploy.e2e.stack import ComposeStack, client, wait_for
from tests.deploy.tools import OVERLAYS, ROOT, load_yaml, probe_commands, render_overlay

pytestmark = [pytest.mark.compose, pytest.mark.timeout(1500)]

PAGES = ROOT.parent / "shared" / "data" / "pages"
LINKS_PER_BATCH = 30
#: Links the original guide's worker service parses (pages of the first batch, new links).
GUIDE_LINKS = 5
ALL_LINKS = 2 * LINKS_PER_BATCH + GUIDE_LINKS
PARSERS = 3
#: Seconds the page server takes per page: work is in flight when a container is killed.
PAGE_DELAY = 2
#: Settings of the run, through the same .env users write (KBM_ENV_FILE).
SETTINGS = {
    # The page server is a container of the stack's private network.
    "FETCH_ALLOW_PRIVATE": "1",
    "AI_PROVIDER": "local",
    "PUBLISHER": "markdown",
    # Few slots per parser container, so the batch takes a while and spreads over all three.
    "WORKER_COUNT_PARSING": "1",
    "WORKER_THREADS": "2",
    # A killed container's messages come back within seconds, not a minute.
    "HEARTBEAT_TIMEOUT_MS": "5000",
    "MAINTENANCE_CHANCE": "200000",
    "RECONCILE_QUEUED_AFTER": "20",
    "RECONCILE_GRACE": "5",
    # Published on loopback at ports Docker picks: never in the way of another stack.
    "API_PUBLISH": "127.0.0.1:",
    "PROMETHEUS_PUBLISH": "127.0.0.1:",
}


def note(message: str) -> None:
    """Print one measured figure (make compose-e2e runs with -s)."""
    print(f"[compose e2e] {message}", flush=True)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ComposeStack]:
    """Start the stack from the built images; take it down with its volumes at the end."""
    missing = [
        image
        for image in _images()
        if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode
    ]
    assert not missing, f"images {missing} are not built: run `make images` first"
    assert len(list(PAGES.glob("*.html.gz"))) >= 2 * LINKS_PER_BATCH, f"pages missing in {PAGES}"
    folder = tmp_path_factory.mktemp("compose")
    token = secrets.token_urlsafe(24)
    values = {
        "POSTGRES_PASSWORD": secrets.token_urlsafe(18),
        "API_TOKEN": token,
        "GRAFANA_ADMIN_PASSWORD": secrets.token_urlsafe(18),
        **SETTINGS,
    }
    env_file = folder / "e2e.env"
    env_file.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "HOME": str(folder),
        "KBM_ENV_FILE": str(env_file),
        "PAGES_SOURCE": str(PAGES),
        "PAGE_DELAY": str(PAGE_DELAY),
    }
    project = f"kbm-e2e-{secrets.token_hex(3)}"
    compose = ComposeStack(project, env_file, env, token)
    try:
        started = time.monotonic()
        compose.compose("up", "-d", "--scale", f"parser={PARSERS}")
        compose.wait_healthy()
        note(f"up -d --scale parser={PARSERS}: healthy in {time.monotonic() - started:.0f} s")
        yield compose
    finally:
        logs = compose.compose("logs", "--tail=30", check=False)
        compose.compose("down", "--volumes", "--remove-orphans", "--timeout", "10", check=False)
        if logs:
            Path(folder / "logs.txt").write_text(logs)


def _images() -> list[str]:
    """Return every image the compose stack runs (Grafana's profile aside)."""
    services = load_yaml(ROOT / "docker-compose.yml")["services"]
    images = [
        re.sub(r"\$\{KBM_TAG:-([^}]*)\}", r"\1", service["image"])
        for service in services.values()
        if "profiles" not in service
    ]
    # The Dockerfile's last stage, which the original guide's `build: .` builds.
    return [*images, "kbm/all:dev"]


def gateway(stack: ComposeStack, token: str | None = "") -> httpx.Client:
    """Return a client of the stack's gateway (with its token unless told otherwise)."""
    chosen = stack.token if token == "" else token
    return client(stack.url("api", 5000), chosen)


def page_requests(stack: ComposeStack) -> dict[str, dict[str, int]]:
    """Return who fetched how many pages, and who is fetching now, by container address."""
    with httpx.Client(base_url=stack.url("pages", 8000), timeout=10) as pages:
        answer: dict[str, dict[str, int]] = pages.get("/_requests").json()
    return answer


def page_urls(batch: int) -> list[str]:
    """Return the links of one batch: distinct pages of the page server."""
    names = sorted(path.name.removesuffix(".html.gz") for path in PAGES.glob("*.html.gz"))
    chosen = names[batch * LINKS_PER_BATCH : (batch + 1) * LINKS_PER_BATCH]
    return [f"http://pages:8000/{name}.html" for name in chosen]


def submit(stack: ComposeStack, urls: list[str]) -> int:
    """Create a pipeline task of ``urls``; return its id."""
    with gateway(stack) as api:
        response = api.post("/api/pipeline", json={"urls": urls})
    assert response.status_code == 202, response.text
    return int(response.json()["data"]["task_id"])


def task(stack: ComposeStack, task_id: int) -> dict[str, Any]:
    """Return a task's status answer."""
    with gateway(stack) as api:
        response = api.get(f"/api/tasks/history/{task_id}")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()["data"]
    return found


def wait_done(stack: ComposeStack, task_id: int, timeout: float) -> dict[str, Any]:
    """Wait until a task has finished; return it."""

    def finished() -> dict[str, Any] | None:
        answer = task(stack, task_id)
        return answer if answer["status"] in ("completed", "failed", "cancelled") else None

    return wait_for(f"task {task_id} finished", finished, timeout, every=2)


def exported(stack: ComposeStack) -> list[str]:
    """Return the Markdown files in the export volume."""
    return stack.exec("notion", "ls", "/app/export").split()


def assert_published_once(stack: ComposeStack, expected_links: int) -> None:
    """Every link has exactly one file and one publication row."""
    files = [name for name in exported(stack) if name.endswith(".md")]
    link_ids = [int(re.search(r"-(\d+)\.md$", name).group(1)) for name in files]  # type: ignore[union-attr]
    assert len(link_ids) == len(set(link_ids)) == expected_links, sorted(link_ids)
    rows = stack.exec(
        "postgres",
        "psql",
        "-U",
        "kbm",
        "-d",
        "kbm",
        "-tA",
        "-c",
        "select count(*), count(distinct link_id) from publication",
    ).strip()
    assert rows == f"{expected_links}|{expected_links}", rows


def test_the_gateway_answers_only_with_the_token(stack: ComposeStack) -> None:
    with gateway(stack, token=None) as anonymous:
        assert anonymous.get("/api/tasks/history").status_code == 401
        assert (
            anonymous.post("/api/pipeline", json={"urls": ["http://pages:8000/x"]}).status_code
            == 401
        )
    with gateway(stack, token="wrong-" + secrets.token_hex(8)) as wrong:
        assert wrong.get("/api/tasks/history").status_code == 401
    with gateway(stack) as api:
        assert api.get("/api/tasks/history").status_code == 200
        assert api.get("/api/monitoring/health").status_code == 200


def test_prometheus_scrapes_every_target_up(stack: ComposeStack) -> None:
    base = stack.url("prometheus", 9090)
    expected = {"api": 1, "parser": PARSERS, "ai": 1, "notion": 1, "housekeeping": 1}

    def all_up() -> dict[str, int] | None:
        targets = httpx.get(f"{base}/api/v1/targets", timeout=10).json()["data"]["activeTargets"]
        up: dict[str, int] = {}
        for target in targets:
            if target["health"] == "up" and "service" in target["labels"]:
                service = target["labels"]["service"]
                up[service] = up.get(service, 0) + 1
        return up if up == expected else None

    started = time.monotonic()
    wait_for(f"Prometheus scraping {expected} up", all_up, timeout=120, every=3)
    note(
        f"Prometheus: {sum(expected.values())} targets up after {time.monotonic() - started:.0f} s"
    )


def test_a_parser_killed_mid_run_loses_nothing_and_publishes_nothing_twice(
    stack: ComposeStack,
) -> None:
    parsers = {stack.address(container): container for container in stack.containers("parser")}
    assert len(parsers) == PARSERS
    started = time.monotonic()
    task_id = submit(stack, page_urls(0))

    def busy_parser() -> str | None:
        in_flight = page_requests(stack)["in_flight"]
        return next((parsers[a] for a, n in in_flight.items() if n and a in parsers), None)

    victim = wait_for("a parser container fetching", busy_parser, timeout=60, every=0.2)
    served = page_requests(stack)["served"]
    subprocess.run(["docker", "kill", victim], check=True, capture_output=True)
    killed_at = time.monotonic() - started
    done = wait_done(stack, task_id, timeout=300)
    took = time.monotonic() - started
    assert (done["status"], done["completed_items"]) == ("completed", LINKS_PER_BATCH), done
    served = page_requests(stack)["served"]
    took_work = {address: served.get(address, 0) for address in parsers}
    assert all(took_work.values()), f"a parser container took no work: {took_work}"
    assert_published_once(stack, LINKS_PER_BATCH)
    note(
        f"{LINKS_PER_BATCH} links ({PAGE_DELAY} s per page) completed in {took:.0f} s; "
        f"one parser killed at {killed_at:.1f} s; "
        f"pages fetched per parser {sorted(took_work.values())}"
    )


def test_a_redis_restart_mid_run_loses_nothing(stack: ComposeStack) -> None:
    started = time.monotonic()
    task_id = submit(stack, page_urls(1))
    wait_for(
        "pages of the second batch fetched",
        lambda: sum(page_requests(stack)["served"].values()) >= LINKS_PER_BATCH + 4,
        timeout=120,
        every=0.2,
    )
    restart = time.monotonic()
    stack.compose("restart", "redis")
    restarted_in = time.monotonic() - restart
    done = wait_done(stack, task_id, timeout=420)
    took = time.monotonic() - started
    assert (done["status"], done["completed_items"]) == ("completed", LINKS_PER_BATCH), done
    assert_published_once(stack, 2 * LINKS_PER_BATCH)
    note(
        f"{LINKS_PER_BATCH} links with Redis restarted mid-run ({restarted_in:.1f} s) "
        f"completed in {took:.0f} s"
    )


def test_the_original_guides_compose_worker_runs_on_the_image_build_dot_builds(
    stack: ComposeStack,
) -> None:
    # docs/guide/migrating.md: the RQ guide's `worker-parsing` service (build: .,
    # `python scripts/start_workers.py --queue parsing --workers 3`) takes the parsing
    # queue alone while the stack's parsers are stopped.
    stack.compose("stop", "parser")
    stack.compose("--profile", "guide", "up", "-d", "--no-deps", "worker-parsing")
    (container,) = stack.containers("worker-parsing")
    address = stack.address(container)
    # Docker may give it the address a killed parser had: count from now on.
    before = page_requests(stack)["served"].get(address, 0)
    urls = [f"{url}?via=guide" for url in page_urls(0)[:GUIDE_LINKS]]
    started = time.monotonic()
    task_id = submit(stack, urls)
    done = wait_done(stack, task_id, timeout=240)
    assert (done["status"], done["completed_items"]) == ("completed", GUIDE_LINKS), done
    # Every page it fetched is a parse attempt of this task: one per link, plus any retry
    # (a fetch that timed out on a loaded machine is tried again, as it should be).
    with gateway(stack) as api:
        items = api.get(f"/api/tasks/history/{task_id}/items").json()["data"]["items"]
    attempts = sum(item["stages"]["parse"]["attempts"] for item in items)
    assert len(items) == GUIDE_LINKS and attempts >= GUIDE_LINKS
    assert page_requests(stack)["served"].get(address, 0) - before == attempts
    assert_published_once(stack, ALL_LINKS)
    stack.compose("--profile", "guide", "rm", "--stop", "--force", "worker-parsing")
    note(
        f"the original guide's worker-parsing service: {len(urls)} links "
        f"in {time.monotonic() - started:.0f} s"
    )


def test_down_then_up_keeps_the_task_history(stack: ComposeStack) -> None:
    with gateway(stack) as api:
        before = api.get("/api/tasks/history").json()["data"]
    started = time.monotonic()
    stack.compose("down", "--timeout", "45")
    stack.compose("up", "-d", "--scale", f"parser={PARSERS}")
    stack.wait_healthy()
    with gateway(stack) as api:
        after = api.get("/api/tasks/history").json()["data"]
    assert after == before
    assert_published_once(stack, ALL_LINKS)
    note(f"down, then up: history kept, healthy again in {time.monotonic() - started:.0f} s")


def test_every_kubernetes_probe_command_works_in_its_built_image(
    stack: ComposeStack, tmp_path: Path
) -> None:
    # The compose service of a target runs the image built from that target, with the
    # stack's Redis and database: the probe must pass there as it would in a pod.
    checked = set()
    for overlay in OVERLAYS:
        for target, argv in probe_commands(render_overlay(overlay, tmp_path / overlay)):
            if (target, tuple(argv)) in checked:
                continue
            checked.add((target, tuple(argv)))
            container = stack.containers(target)[0]
            done = subprocess.run(
                ["docker", "exec", container, *argv], capture_output=True, text=True, check=False
            )
            assert done.returncode == 0, (target, argv, done.stdout, done.stderr)
    assert {target for target, _ in checked} >= {
        "parser",
        "ai",
        "notion",
        "housekeeping",
        "scheduler",
    }
    note(f"{len(checked)} Kubernetes probe commands pass inside their images")


def test_every_image_runs_as_a_non_root_user(stack: ComposeStack) -> None:
    sizes = {}
    for image in _images():
        details = json.loads(
            subprocess.run(
                ["docker", "image", "inspect", image], capture_output=True, text=True, check=True
            ).stdout
        )[0]
        sizes[image] = details["Size"] / 1e6
        user = details["Config"].get("User") or ""
        assert user not in ("", "0", "root") and not user.startswith(("0:", "root:")), (image, user)
    for service in ("postgres", "redis", "prometheus", "api", "parser"):
        container = stack.containers(service)[0]
        uid = subprocess.run(
            ["docker", "exec", container, "id", "-u"], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert uid != "0", service
    note(
        "image sizes: "
        + ", ".join(f"{image} {size:.0f} MB" for image, size in sorted(sizes.items()))
    )
