"""``make eval-extract`` without ../shared/data: it says what is missing and where it looked."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import eval_extract, wcxb


def test_missing_benchmark_data_is_named_with_where_it_was_looked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given a checkout with nothing beside it
    data = tmp_path / "shared" / "data"
    pages, wcxb_dev = data / "pages", data / "wcxb-dev"
    available = wcxb.available
    monkeypatch.setattr(eval_extract, "PAGES", pages)
    monkeypatch.setattr(wcxb, "WCXB_DEV", wcxb_dev)
    monkeypatch.setattr(wcxb, "available", lambda: available(wcxb_dev))
    monkeypatch.setattr("sys.argv", ["eval_extract"])

    # When the evaluation runs
    with pytest.raises(SystemExit) as ended:
        eval_extract.main()

    # Then it fails with one line saying nothing was measured, after naming each folder
    assert ended.value.code == "no benchmark data found: nothing was measured"
    out = capsys.readouterr().out
    assert f"MISSING: the article benchmark's pages are not at {pages}" in out
    assert f"MISSING: WCXB's development split is not at {wcxb_dev}" in out
