"""How an OpenAI-compatible server's failures read, from the SDK's exceptions.

Pure functions over :mod:`openai`'s errors for the ``openai`` provider: the server's own
message, the wait it asks for, whether a later try may pass, the outcome the metrics
count, whether the request overflowed the context window or used a structured mode the
server refuses, and which setting to fix when no retry can help.
"""

from __future__ import annotations

import email.utils
import re
import time

import openai

from shared.ai_settings import StructuredMode

_CONTEXT_ERROR = re.compile(
    r"context[ _]length|context window|maximum context|too many tokens|prompt is too long|"
    r"exceeds? the (?:model'?s? )?(?:maximum|context)",
    re.IGNORECASE,
)
_CONTEXT_LIMIT = re.compile(r"(?:maximum context length|context window|limit) (?:is|of) (\d+)")
_FORMAT_ERROR = re.compile(r"response_format|json_schema|json_object|structured output", re.I)


def is_transient(ex: openai.APIStatusError) -> bool:
    """Tell whether an error status may pass on a later try (timeouts, conflicts, 5xx)."""
    return ex.status_code in (408, 409) or ex.status_code >= 500


def outcome_of(ex: openai.APIError) -> str:
    """Return the ``kbm_ai_requests_total`` outcome of a failure worth another try."""
    if isinstance(ex, openai.APITimeoutError):
        return "timeout"
    if isinstance(ex, openai.APIConnectionError):
        return "connection_error"
    return "server_error"


def describe(ex: openai.APIError) -> str:
    """Return what went wrong, in a few words for an error message."""
    if isinstance(ex, openai.APITimeoutError):
        return "the request timed out"
    if isinstance(ex, openai.APIConnectionError):
        return f"cannot connect ({ex.__cause__ or ex})"
    if isinstance(ex, openai.APIStatusError):
        return f"HTTP {ex.status_code}: {error_text(ex)}"
    return str(ex)


def error_text(ex: openai.APIError) -> str:
    """Return the server's own error message, without the SDK's decoration."""
    body = ex.body
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])
    return ex.message


def exceeds_context(ex: openai.APIStatusError) -> bool:
    """Tell whether a rejected request was too long for the model's context window."""
    if ex.code == "context_length_exceeded" or ex.status_code == 413:
        return True
    return ex.code != "model_not_found" and bool(_CONTEXT_ERROR.search(error_text(ex)))


def context_limit(text: str) -> int | None:
    """Return the context window an error message names, if it names one."""
    match = _CONTEXT_LIMIT.search(text)
    return int(match.group(1)) if match else None


def refuses_format(ex: openai.APIStatusError) -> bool:
    """Tell whether a rejection is about the request's ``response_format``."""
    return (ex.param or "").startswith("response_format") or bool(
        _FORMAT_ERROR.search(error_text(ex))
    )


def retry_after(ex: openai.APIError) -> float | None:
    """Return the seconds the server asks to wait (retry-after-ms, retry-after), if any."""
    if not isinstance(ex, openai.APIStatusError):
        return None
    headers = ex.response.headers
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        try:
            return max(0.0, float(milliseconds) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:  # the other form of the header: an HTTP date
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def rejection_advice(ex: openai.APIStatusError, model: str, mode: StructuredMode) -> str:
    """Return what to fix after an answer no retry can change, naming the setting."""
    status = ex.status_code
    if ex.code == "insufficient_quota":
        return "the account behind OPENAI_API_KEY has no quota left (check its billing)"
    if status == 401:
        return "the server refused the key: check OPENAI_API_KEY"
    if status == 403:
        return f"OPENAI_API_KEY may not use model {model}: check OPENAI_MODEL"
    if status == 404 or ex.code == "model_not_found":
        return (
            f"model {model} or its endpoint was not found: check OPENAI_MODEL, and "
            "OPENAI_BASE_URL (it usually ends in /v1)"
        )
    if ex.param == "temperature":
        return f"model {model} refuses AI_TEMPERATURE: unset it"
    return (
        f"the request was rejected as invalid (structured mode {mode}): check "
        "OPENAI_MODEL, OPENAI_BASE_URL and the AI_* settings"
    )
