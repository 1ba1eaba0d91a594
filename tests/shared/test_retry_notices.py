"""Failed attempts told in one line each: the notices and the brief logs of local mode."""

from __future__ import annotations

import logging

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Retries

from shared.logs import brief_worker_logs
from shared.middleware.retries import RetryNotice, RetryNotices, short_cause


def _chained(outer: Exception, inner: BaseException) -> Exception:
    try:
        try:
            raise inner
        except BaseException as ex:
            raise outer from ex
    except Exception as ex:
        return ex


def test_the_cause_is_the_root_of_the_chain_in_a_few_words() -> None:
    refused = ConnectionRefusedError(111, "Connection refused")
    assert short_cause(_chained(RuntimeError("GET http://x/ failed"), refused)) == (
        "connection refused"
    )
    # A library that kept only the OS error's text
    assert short_cause(RuntimeError("[Errno 111] Connection refused")) == "connection refused"
    assert short_cause(ValueError("HTTP 500 Internal Server Error")) == (
        "HTTP 500 Internal Server Error"
    )
    assert short_cause(TimeoutError()) == "TimeoutError"


def test_a_notice_is_one_line_with_the_wait_or_the_end() -> None:
    notice = RetryNotice("parse_item", 6, 2, 5.0, "connection refused")
    assert notice.line() == "retrying in 5 s: connection refused"
    assert RetryNotice("parse_item", 6, 1, 0.24, "x").line() == "retrying in 0.2 s: x"
    assert RetryNotice("parse_item", 6, 1, 42.4, "x").line() == "retrying in 42 s: x"
    assert RetryNotice("parse_item", 6, 4, None, "x").line() == "gave up after attempt 4: x"


def test_every_failed_attempt_is_told_once_with_its_delay_then_the_last_one() -> None:
    # Given an actor that always fails, retried once after 10 to 20 ms
    broker = StubBroker()
    notices: list[RetryNotice] = []
    broker.add_middleware(RetryNotices(notices.append), before=Retries)

    @dramatiq.actor(broker=broker, max_retries=1, min_backoff=10, max_backoff=20)
    def always_fails(item: int) -> None:
        raise ConnectionError("[Errno 111] Connection refused")

    # When it runs
    always_fails.send(7)
    worker = dramatiq.Worker(broker, worker_timeout=50)
    worker.start()
    try:
        broker.join(always_fails.queue_name, fail_fast=False)
        worker.join()
    finally:
        worker.stop()

    # Then the first failure was told with its retry's delay, the second as the end
    assert [(n.item, n.attempt, n.cause) for n in notices] == [
        (7, 1, "connection refused"),
        (7, 2, "connection refused"),
    ]
    first, last = notices
    assert first.delay is not None and 0.005 <= first.delay <= 0.02
    assert last.delay is None


@pytest.fixture()
def dramatiq_logger() -> logging.Logger:
    return logging.getLogger("dramatiq.worker.WorkerThread")


def test_brief_logs_are_single_lines_without_the_failed_messages(
    dramatiq_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    with brief_worker_logs("INFO"):
        try:
            raise OSError("disk full")
        except OSError:
            dramatiq_logger.error("Failed to process message parse_item(6).", exc_info=True)
            dramatiq_logger.critical("Consumer encountered an\nunexpected error.", exc_info=True)
        dramatiq_logger.info("Shutting down...")
        logging.getLogger("shared.migrations").info("applied migration 1: create tables")
        logging.getLogger("trafilatura.core").warning("discarding data: https://e.org/")

    err = capsys.readouterr().err
    assert err == "critical: Consumer encountered an unexpected error. (OSError: disk full)\n"
    assert logging.getLogger("dramatiq").propagate is True
    # The libraries speak again once the run is over
    assert logging.getLogger("trafilatura").level == logging.NOTSET


def test_debug_keeps_every_line_and_its_traceback(
    dramatiq_logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG), brief_worker_logs("DEBUG"):
        try:
            raise OSError("disk full")
        except OSError:
            dramatiq_logger.error("Failed to process message parse_item(6).", exc_info=True)

    assert [record.exc_info is not None for record in caplog.records] == [True]
