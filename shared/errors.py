"""The error tree: what is worth retrying and what can never succeed.

Actors declare ``throws=PermanentError``: a permanent failure ends the item at once,
anything else is retried on the stage's schedule.
"""

from __future__ import annotations


class KbmError(Exception):
    """Base of every error the project raises on purpose."""


class PermanentError(KbmError):
    """A failure that no retry can fix (bad input, 404, no article in the page)."""


class RetryableError(KbmError):
    """A failure that may pass on a later attempt (timeouts, 5xx, rate limits)."""


class ConfigurationError(PermanentError):
    """A setting is missing or invalid; the message names the variable."""


class FetchError(RetryableError):
    """The page could not be fetched this time (network error, timeout, 5xx, 429)."""


class FetchRejected(PermanentError):
    """The page can never be fetched as asked (4xx, blocked address, too large, not HTML)."""


class ExtractionError(PermanentError):
    """The page was fetched but holds no article text."""


class EnrichmentError(RetryableError):
    """The AI provider failed this time."""


class UnusableEnrichment(PermanentError):
    """A deterministic provider's answer breaks the contract: asking again gives it again."""


class PublishError(RetryableError):
    """The publisher failed this time."""


class MissingInput(PermanentError):
    """A stage ran before the stage it depends on produced its output."""


class NotFound(PermanentError):
    """A task, item or link that does not exist was asked for."""


class InvalidRequest(PermanentError):
    """A request's input breaks a rule; ``field`` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class TooManyOpenTasks(PermanentError):
    """A caller already has as many unfinished tasks as it may (``API_MAX_OPEN_TASKS``)."""


class Conflict(PermanentError):
    """The request cannot apply to the current state (e.g. retrying a running task)."""


class RateLimited(RetryableError):
    """A remote API asked us to wait; the retry honours ``retry_after`` seconds.

    Waiting for a rate limit does not use up one of the item's attempts (see
    ``shared/middleware/retries.py``).
    """

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = max(0.0, retry_after)


#: Seconds to wait before retrying a message that met an infrastructure outage.
OUTAGE_RETRY_SECONDS = 5.0


def outage_wait(exception: BaseException) -> float | None:
    """Return how long to wait before a retry that must not use up an attempt, if any.

    A remote API's rate limit, or our own database or Redis being unreachable, says
    nothing about the item: the message waits and tries again without spending one of
    its retries. Anything else returns ``None`` and is retried on the normal schedule.
    """
    if isinstance(exception, RateLimited):
        return exception.retry_after
    # Imported here: the error tree must not depend on the drivers at import time.
    import peewee
    import redis

    if isinstance(exception, peewee.OperationalError | peewee.InterfaceError):
        return OUTAGE_RETRY_SECONDS
    if isinstance(exception, redis.ConnectionError | redis.TimeoutError):
        return OUTAGE_RETRY_SECONDS
    return None
