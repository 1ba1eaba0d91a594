"""What the loopback Notion server does to a request besides answering it.

Faults injected on demand (:class:`Fault`), the record of every request
(:class:`RequestRecord`) and the token buckets of Notion's rate limits
(:class:`TokenBucket`).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from tests.notion.notion_rules import NotionError


@dataclass
class Fault:
    """A fault for the requests that match ``method`` and the ``path`` regex.

    Actions: ``error`` answers ``status``/``code`` without doing anything; ``error_after``
    does the request, then answers the error; ``hang`` waits ``seconds`` and closes the
    connection without doing anything; ``lose`` does the request, waits ``seconds`` and
    closes the connection without an answer (the create that succeeds unseen).
    """

    action: str
    method: str | None = None
    path: str | None = None
    skip: int = 0
    times: int = 1
    status: int = 500
    code: str = "internal_server_error"
    seconds: float = 0.0
    retry_after: float | None = None
    #: ``additional_data.rate_limit_reason`` of the answer (a 429's limit).
    reason: str | None = None
    #: Answer only every Nth matching request (0: every one, after ``skip``).
    every: int = 0
    hits: int = 0
    seen: int = 0

    def matches(self, method: str, path: str) -> bool:
        """Tell whether this fault concerns a request."""
        return (self.method is None or self.method == method) and (
            self.path is None or re.search(self.path, path) is not None
        )

    def error(self) -> NotionError:
        """Return the error answer this fault gives."""
        error = NotionError(self.status, self.code, f"Injected fault: {self.code}.")
        if self.retry_after is not None:
            error.headers["Retry-After"] = str(self.retry_after)
        if self.reason is not None:
            error.additional_data = {"rate_limit_reason": self.reason}
        return error


def next_fault(faults: list[Fault], method: str, path: str) -> Fault | None:
    """Return the fault that hits this request, counting it, or None."""
    for fault in faults:
        if fault.times <= 0 or not fault.matches(method, path):
            continue
        if fault.skip > 0:
            fault.skip -= 1
            continue
        fault.seen += 1
        if fault.every and fault.seen % fault.every:
            continue
        fault.times -= 1
        fault.hits += 1
        return fault
    return None


@dataclass
class RequestRecord:
    """One request as the server saw it."""

    method: str
    path: str
    status: int = 0
    at: float = 0.0
    size: int = 0
    blocks: int = 0
    page_id: str | None = None
    fault: str | None = None


@dataclass
class TokenBucket:
    """A rate limit: ``rate`` requests per second, bursts of ``capacity``; starts full."""

    rate: float
    capacity: float
    tokens: float = -1.0
    at: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.capacity

    def take(self) -> float:
        """Take a token; return 0, or the seconds until one is available."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate
