"""What the routes answer, as pydantic models: the response schemas of the OpenAPI document.

They describe the documents of ``shared.views`` and ``shared.monitoring``; the API
tests check real answers against them. They allow extra members: a view may grow.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from shared.models import Status


class Shape(BaseModel):
    """Base of the response models: members beyond the documented ones may appear."""

    model_config = ConfigDict(extra="allow")


class TaskCreated(Shape):
    """A task was created: queued, or pending until its ``run_at``."""

    task_id: int
    status: Literal["queued", "pending"]
    total_items: int
    run_at: str | None = None


class TaskSource(Shape):
    """Where a task came from (task lists say it)."""

    kind: Literal["feed", "scheduled", "recurring", "import", "local", "request"]
    #: The feed whose poll made it, for ``feed``.
    feed_id: int | None = None


class TaskSummary(Shape):
    """A task's status and counters, as lists show it."""

    id: int
    type: str
    status: Status
    stages: list[str]
    priority: Literal["high", "normal", "low"]
    #: The priority its items are fed by: a small normal task may be promoted to high.
    feed_priority: Literal["high", "normal", "low"]
    total_items: int
    completed_items: int
    failed_items: int
    cancelled_items: int
    pending_items: int
    progress: float
    #: When a task scheduled for later starts (UTC, kept once it started); None: at once.
    run_at: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    updated_at: str
    #: Task lists only: a feed's poll, a scheduled time, a recurring job or a request.
    source: TaskSource | None = None


class StageCounts(Shape):
    """One stage of a task: its runs by status, attempts and durations."""

    pending: int = 0
    queued: int = 0
    running: int = 0
    completed: int = 0
    failed: int = 0
    attempts: int = 0
    mean_ms: float | None = None
    max_ms: int | None = None


class TokenUsage(Shape):
    """Tokens the AI stage used for a task."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class Task(TaskSummary):
    """A task in full: counters, per-stage counts, timings and token usage."""

    duration_ms: int | None
    #: Items waiting in the database to be fed to their stage's queue.
    waiting_items: int
    #: Items fed to their queue (a message sent) and not yet running.
    queued_items: int
    running_items: int
    stage_counts: dict[str, StageCounts]
    usage: TokenUsage | None


class CancelledTask(Task):
    """A task after a cancel, with how many items the cancel stopped at once."""

    cancelled_now: int


class TaskPage(Shape):
    """One page of tasks, newest first."""

    tasks: list[TaskSummary]
    total: int
    limit: int
    offset: int


class ItemStage(Shape):
    """One stage of one item."""

    status: Status
    attempts: int
    error: str | None
    duration_ms: int | None


class Item(Shape):
    """One link of a task with its stage, status, attempts and error."""

    id: int
    task_id: int
    link_id: int
    url: str | None
    stage: str
    status: Status
    #: Attempts of the current stage; ``total_attempts``: every stage's together.
    attempts: int
    total_attempts: int
    error: str | None
    finished: bool
    started_at: str | None
    finished_at: str | None
    stages: dict[str, ItemStage] = {}


class ItemPage(Shape):
    """One page of a task's items."""

    items: list[Item]
    total: int
    limit: int
    offset: int


class Retried(Shape):
    """A retry: how many failed items were sent again."""

    task_id: int
    status: Literal["queued"]
    retried_items: int


class LinkSummary(Shape):
    """A link without what the stages made of it."""

    id: int
    url: str
    normalized_url: str
    status: str
    created_at: str
    updated_at: str


class Content(Shape):
    """The article the parse stage extracted."""

    title: str
    text: str
    authors: list[str]
    published_at: str | None
    language: str | None
    top_image: str | None
    word_count: int
    content_hash: str
    final_url: str


class Enrichment(Shape):
    """What the AI stage made of the article."""

    summary: str
    category: str
    tags: list[str]
    sentiment: str
    sentiment_score: float
    language: str | None
    provider: str
    model: str
    prompt_tokens: int
    completion_tokens: int


class Publication(Shape):
    """Where the link was published."""

    publisher: str
    page_id: str
    page_url: str | None
    path: str | None


class Library(Shape):
    """What the user kept with a link in the service it was imported from."""

    title: str | None
    tags: list[str]
    saved_at: str | None
    read_status: str | None
    favourite: bool | None
    note: str | None
    highlights: list[dict[str, Any]]
    folder: str | None
    imported_from: str | None


class Link(LinkSummary):
    """A link with its content, enrichment and publication once produced."""

    content: Content | None
    enrichment: Enrichment | None
    publication: Publication | None
    #: None for a link that was never imported from a library export.
    library: Library | None = None
    #: The user's tags and the enrichment's: ``{"name", "source": user|enrichment|both}``.
    tags: list[dict[str, str]] = []
    #: Each stage's latest run for this link: status, attempts, error, finish, task.
    stages: dict[str, dict[str, Any]] = {}


class LinkEntry(Shape):
    """A link as listings show it: title, summary, tags, category and its page."""

    id: int
    url: str
    status: str
    title: str
    summary: str | None
    category: str | None
    tags: list[str]
    sentiment: str | None
    language: str | None
    publication: Publication | None
    #: The Notion page's URL, else the Markdown file's path; None until published.
    page: str | None
    created_at: str
    updated_at: str


class LinkPage(Shape):
    """One page of links: best match first with a query, else newest first."""

    links: list[LinkEntry]
    total: int
    limit: int
    offset: int


class LinksCreated(Shape):
    """Links created or found, in submission order."""

    links: list[LinkSummary]
    link_ids: list[int]


class FieldError(Shape):
    """One invalid field and why."""

    field: str
    message: str


class Problem(Shape):
    """An error (RFC 9457 problem details)."""

    type: str
    title: str
    status: int
    detail: str | None = None
    field: str | None = None
    errors: list[FieldError] | None = None


class Feed(Shape):
    """A registered feed: its schedule, its last poll and what it imported."""

    id: int
    url: str
    title: str
    every_seconds: int
    stages: list[str]
    priority: Literal["high", "normal", "low"]
    status: Literal["active", "paused"]
    error: str | None
    failures: int
    entries_seen: int
    last_task_id: int | None
    last_polled_at: str | None
    last_outcome: str | None
    next_poll_at: str | None
    created_at: str


class FeedPage(Shape):
    """One page of feeds."""

    feeds: list[Feed]
    total: int
    limit: int
    offset: int


class FeedDeleted(Shape):
    """A feed was removed."""

    id: int
    deleted: Literal[True]
