"""Redaction of secrets in text that is logged: URL userinfo, secret query parameters.

:func:`install` applies the userinfo rule to every log record of the process, whatever
logger made it (httpx, dramatiq, gunicorn, peewee, ours) and whatever handler formats
it. Every process calls it at start-up: the workers and the scheduler through
:func:`shared.broker.setup`, the gateway from its gunicorn settings, the ``kbm`` command
from its entry point.

Why a log-record factory rather than a filter on each handler: a handler filter only
guards the handlers that exist when it is added, and handlers keep appearing later
(Dramatiq's ``basicConfig`` in each worker process, gunicorn's on every reload, pytest's
capture handler, a library that configures its own). The factory makes every record of
every logger, so one call covers them all. The record redacts lazily, when its message
is first formatted, so a record nobody formats costs nothing, and a message without
``@`` costs one substring test.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus

#: What replaces a secret query parameter's value.
REDACTED = "REDACTED"

# After "//" (with a scheme or not; backslashes read as browsers do), the userinfo runs
# to the authority's last "@" (as urllib splits it): it cannot hold "/", "\\", "?", "#"
# or whitespace, nor the quotes and angle brackets that end a URL in logged JSON, HTML or
# prose (and are never valid in one).
_USERINFO = re.compile(r'((?:[A-Za-z][A-Za-z0-9+.-]*:)?[/\\]{2})[^\s/\\?#"<>]*@')
# A query parameter: ``name=value`` after "?", "&" or ";" (or at the start of a bare
# query string); the value runs to the next "&", "#" or whitespace.
_PARAM = re.compile(r"(?P<name>(?:^|(?<=[?&;]))[^=&;?#\s]+)=(?P<value>[^&#\s]*)")
_SECRET_WORDS = ("token", "key", "secret", "password", "auth")


def redact_urls(text: str) -> str:
    """Return ``text`` with the userinfo (``user:pass@``) of every URL in it removed."""
    if "@" not in text:
        return text
    return _USERINFO.sub(r"\1", text)


def is_secret_name(name: str) -> bool:
    """Tell whether a parameter or header name says its value is a credential."""
    lowered = unquote_plus(name).lower()
    return any(word in lowered for word in _SECRET_WORDS)


def redact_secret_params(text: str) -> str:
    """Return ``text`` with the values of secret-named query parameters redacted.

    A parameter is secret when its (percent-decoded) name contains token, key, secret,
    password or auth: ``?access_token=abc&page=2`` becomes
    ``?access_token=REDACTED&page=2``.
    """
    if "=" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        if match["value"] and is_secret_name(match["name"]):
            return f"{match['name']}={REDACTED}"
        return match[0]

    return _PARAM.sub(replace, text)


class RedactingLogRecord(logging.LogRecord):
    """A log record whose message and exception text never show URL userinfo."""

    def getMessage(self) -> str:
        """Return the formatted message with URL userinfo removed.

        When something was removed, the record keeps the redacted text as its message
        (as ``QueueHandler.prepare`` does), so handlers that read ``msg`` or pickle the
        record after formatting do not see the secret either.
        """
        message = super().getMessage()
        redacted = redact_urls(message)
        if redacted != message:
            self.msg, self.args = redacted, None
        return redacted

    @property
    def exc_text(self) -> str | None:
        """Return the formatted exception, as stored (redacted) by the setter."""
        return self.__dict__.get("exc_text")

    @exc_text.setter
    def exc_text(self, value: str | None) -> None:
        # Formatters store the traceback here once, then append it to every output.
        self.__dict__["exc_text"] = redact_urls(value) if value else value


_RecordFactory = Callable[..., logging.LogRecord]


_CLASSES: dict[type[logging.LogRecord], type[logging.LogRecord]] = {
    logging.LogRecord: RedactingLogRecord
}


def _redacting_class(cls: type[logging.LogRecord]) -> type[logging.LogRecord]:
    if cls not in _CLASSES:
        # Another library's record class (from a factory set before ours): keep its ways.
        _CLASSES[cls] = type(f"Redacting{cls.__name__}", (RedactingLogRecord, cls), {})
    return _CLASSES[cls]


def _redacting(previous: _RecordFactory) -> _RecordFactory:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        # Changing the class of the record the previous factory made keeps whatever it
        # did (extra attributes, its own class) and adds the redaction.
        if not isinstance(record, RedactingLogRecord):
            record.__class__ = _redacting_class(type(record))
        if record.stack_info:
            record.stack_info = redact_urls(record.stack_info)
        return record

    factory.redacts_urls = True  # type: ignore[attr-defined]
    return factory


def install() -> None:
    """Redact URL userinfo in every log record this process makes from now on.

    Safe to call again: the factory is wrapped once.
    """
    current = logging.getLogRecordFactory()
    if not getattr(current, "redacts_urls", False):
        logging.setLogRecordFactory(_redacting(current))
