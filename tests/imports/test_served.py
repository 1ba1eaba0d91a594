"""An import through the gateway as gunicorn serves it: longer than the worker timeout."""

from __future__ import annotations

from pathlib import Path

import httpx

from shared.models import Link
from shared.settings import Settings
from tests.api.test_served import TOKEN, _start_gateway, _stop
from tests.imports.make_fixtures import library, pocket_csv

ROWS = 30_000


def test_an_import_longer_than_the_worker_timeout_is_answered(
    settings: Settings, tmp_path: Path
) -> None:
    # With a 2 s timeout, a worker whose loop the import blocked would be killed by the
    # arbiter; the import runs in a thread while the loop keeps the heartbeat.
    process, url = _start_gateway(settings, tmp_path, {"GUNICORN_CMD_ARGS": "--timeout 2"})
    try:
        body = pocket_csv(library(ROWS))
        response = httpx.post(
            f"{url}/api/imports",
            content=body,
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/csv"},
            timeout=300,
        )
        assert response.status_code == 202, response.text
        report = response.json()["data"]
        assert (report["links_new"], report["items_queued"]) == (ROWS, ROWS)
        assert Link.select().count() == ROWS
        log = (tmp_path / "gunicorn.log").read_text()
        assert "WORKER TIMEOUT" not in log
    finally:
        _stop(process)
