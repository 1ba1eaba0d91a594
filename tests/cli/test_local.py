"""Local mode and the demo: the whole pipeline in one process, nothing to set up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    # Nothing reachable on purpose: local mode must not need Redis or PostgreSQL.
    env["REDIS_URL"] = "redis://127.0.0.1:1/0"
    env["PYTHONPATH"] = str(ROOT)
    return env


def test_the_demo_imports_every_sample_article_without_redis_or_postgresql(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "demo"],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Task 1 completed: 5 completed, 0 failed" in result.stdout
    pages = sorted((tmp_path / "demo-output" / "export").glob("*.md"))
    assert len(pages) == 5
    front = yaml.safe_load(pages[0].read_text().split("---")[1])
    assert front["title"] and front["summary"] and 1 <= len(front["tags"]) <= 5
    assert front["category"] in {
        "Technology",
        "Science",
        "Business",
        "Politics",
        "Health",
        "Culture",
        "Sports",
        "Education",
        "Environment",
        "Other",
    }


def test_kbm_run_without_local_says_what_to_do_instead(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "services.cli.main", "run", "https://example.com/a"],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "kbm run needs --local" in result.stderr + result.stdout
