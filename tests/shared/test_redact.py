"""URL userinfo never reaches a log, whichever logger writes it and however."""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import dramatiq.broker
import httpx
import pytest

import shared.settings
from services.cli import main as cli_main
from shared import redact
from shared.broker import setup
from shared.redact import RedactingLogRecord, redact_secret_params, redact_urls
from shared.settings import Settings


@pytest.fixture()
def installed() -> Iterator[None]:
    """Install the redaction for one test, then put back the factory found before."""
    previous = logging.getLogRecordFactory()
    redact.install()
    yield
    logging.setLogRecordFactory(previous)


@pytest.fixture()
def stream() -> Iterator[io.StringIO]:
    """Return what a plain StreamHandler on the root logger writes, at INFO."""
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield output
    root.removeHandler(handler)
    root.setLevel(old_level)


@pytest.fixture()
def loopback() -> Iterator[str]:
    """Serve 200 "ok" on 127.0.0.1 with http.server; return its address."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_userinfo_is_removed_from_every_url_in_a_string() -> None:
    text = "fetch http://user:pass@a.example/x?q=1 then redis://:pass@cache:6379/0 done"

    assert redact_urls(text) == "fetch http://a.example/x?q=1 then redis://cache:6379/0 done"


def test_urls_without_userinfo_and_other_at_signs_are_kept() -> None:
    text = 'https://medium.com/@someone/post by a@b.example, {"u":"http://h/","e":"c@d.e"}'

    assert redact_urls(text) == text


def test_a_password_holding_at_signs_is_removed_whole() -> None:
    assert redact_urls("postgresql://kbm:p@ss@db:5432/kbm") == "postgresql://db:5432/kbm"


def test_text_without_an_at_sign_is_returned_as_is() -> None:
    text = "GET http://example.com/path"

    assert redact_urls(text) is text


def test_secret_named_query_parameters_lose_their_values() -> None:
    line = "GET /api/tasks?page=2&access_token=abc&X%2DApi%2DKey=def&author=me HTTP/1.1"

    assert redact_secret_params(line) == (
        "GET /api/tasks?page=2&access_token=REDACTED&X%2DApi%2DKey=REDACTED"
        "&author=REDACTED HTTP/1.1"
    )
    assert redact_secret_params("token=abc&page=2") == "token=REDACTED&page=2"
    assert redact_secret_params("/a?page=2&q=monk") == "/a?page=2&q=monk"


def test_httpx_request_log_shows_no_credentials(
    installed: None, loopback: str, stream: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="httpx")

    with httpx.Client() as client:
        response = client.get(f"http://user:pass@{loopback}/article?id=7")

    assert response.status_code == 200
    assert f"HTTP Request: GET http://{loopback}/article?id=7" in caplog.text
    assert f"http://{loopback}/article?id=7" in stream.getvalue()
    assert "pass" not in caplog.text
    assert "pass" not in stream.getvalue()


def test_percent_args_fstrings_and_tracebacks_show_no_credentials(
    installed: None, stream: io.StringIO, caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("kbm.test")
    url = "https://user:pass@host.example/feed.xml"

    logger.info("fetching %s and %s", url, "ftp://anon:pass@files.example/x")
    logger.warning(f"giving up on {url}")
    logger.info("dict args %(url)s", {"url": url})
    try:
        raise ValueError(f"cannot reach {url}")
    except ValueError:
        logger.exception("fetch failed")

    assert "https://host.example/feed.xml" in caplog.text
    assert "ftp://files.example/x" in caplog.text
    assert "ValueError: cannot reach https://host.example/feed.xml" in stream.getvalue()
    assert "pass" not in caplog.text
    assert "pass" not in stream.getvalue()
    assert all("pass" not in record.getMessage() for record in caplog.records)


def test_install_is_idempotent_and_keeps_the_previous_factory() -> None:
    previous = logging.getLogRecordFactory()

    def tagging(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.tagged = True
        return record

    logging.setLogRecordFactory(tagging)
    try:
        redact.install()
        factory = logging.getLogRecordFactory()
        redact.install()

        assert logging.getLogRecordFactory() is factory
        record = factory("kbm", logging.INFO, __file__, 1, "at %s", ("http://u:pass@h/",), None)
        assert isinstance(record, RedactingLogRecord)
        assert record.tagged  # type: ignore[attr-defined]
        assert record.getMessage() == "at http://h/"
    finally:
        logging.setLogRecordFactory(previous)


@pytest.fixture()
def factory_restored() -> Iterator[None]:
    """Put back, after the test, the log-record factory found before it."""
    previous = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)
    yield
    logging.setLogRecordFactory(previous)


def test_worker_and_scheduler_setup_installs_the_redaction(
    factory_restored: None, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the process-wide state setup changes, put back after the test
    monkeypatch.setattr("dramatiq.broker.global_broker", dramatiq.broker.global_broker)
    monkeypatch.setattr("shared.settings._current", shared.settings._current)

    # dramatiq calls setup in each worker process, periodiq in its process.
    setup(settings, stub=True)

    assert getattr(logging.getLogRecordFactory(), "redacts_urls", False)


def test_the_kbm_command_installs_the_redaction(
    factory_restored: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.argv", ["kbm", "--help"])

    cli_main.main()

    assert getattr(logging.getLogRecordFactory(), "redacts_urls", False)
