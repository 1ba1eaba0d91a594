"""``kbm import`` and ``kbm submit -f`` against the real gateway served over HTTP."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from click.testing import CliRunner

from services.cli.main import cli
from shared.models import Link, Task
from shared.settings import Settings
from tests.imports.make_fixtures import DUPLICATES, REFUSED, VARIANTS

ROWS = 300


def _kbm(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_kbm_import_prints_the_report(served_gateway: str, exports: dict[str, Path]) -> None:
    code, text = _kbm("import", str(exports["netscape"]))
    assert code == 0, text
    assert (
        f"Netscape bookmark file: {ROWS + DUPLICATES + VARIANTS + len(REFUSED)} rows read" in text
    )
    assert "new links" in text and f"{ROWS}" in text
    assert "refused rows:" in text and "credentials" in text
    assert "task 1 queued" in text
    code, text = _kbm("import", str(exports["netscape"]), "--json")
    report = json.loads(text)
    assert (report["links_new"], report["already_known"], report["task_id"]) == (0, ROWS, None)
    assert Task.select().count() == 1


def test_kbm_import_dry_run_and_an_omnivore_folder(
    served_gateway: str, exports: dict[str, Path], tmp_path: Path
) -> None:
    folder = tmp_path / "omnivore-export"
    with zipfile.ZipFile(exports["omnivore"]) as archive:
        archive.extractall(folder)
    code, text = _kbm("import", str(folder), "--dry-run")
    assert code == 0, text
    assert "dry run: nothing imported" in text
    assert Link.select().count() == 0
    code, text = _kbm("import", str(folder), "--json")
    assert json.loads(text)["links_new"] == ROWS


def test_kbm_import_of_a_bad_file_is_one_line(served_gateway: str, tmp_path: Path) -> None:
    bad = tmp_path / "export.csv"
    bad.write_bytes(b"title,url,tags\nA,https://example.org/a,x\n")
    result = CliRunner().invoke(cli, ["import", str(bad)])
    assert result.exit_code != 0
    assert "'time_added'" in str(result.exception) + result.output
    assert "Traceback" not in result.output


def test_submit_f_over_the_cap_goes_through_the_import(
    served_gateway: str, tmp_path: Path, settings: Settings
) -> None:
    count = settings.api_max_urls + 500
    listing = tmp_path / "urls.txt"
    listing.write_text("".join(f"https://example.org/a/{n}\n" for n in range(count)))
    code, text = _kbm("submit", "-f", str(listing), "--json")
    assert code == 0, text
    created = json.loads(text[text.index("{") :])
    assert created["total_items"] == count
    assert Task.get_by_id(created["task_id"]).total_items == count


def test_kbm_import_refuses_a_1_gb_file_before_sending_it(
    served_gateway: str, tmp_path: Path
) -> None:
    big = tmp_path / "huge.csv"
    with big.open("wb") as sparse:  # a gigabyte that takes no disk
        sparse.truncate(1 << 30)
    result = CliRunner().invoke(cli, ["import", str(big)])
    assert result.exit_code != 0
    assert "over the import limit" in result.output
    assert "IMPORT_MAX_BYTES" in result.output
