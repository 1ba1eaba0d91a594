"""The tables: links and what each stage made of them, tasks and their items.

PostgreSQL is the source of truth: every state a user or the reconciler needs is here,
never only in Redis.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from peewee import (
    AutoField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    FloatField,
    ForeignKeyField,
    IntegerField,
    Model,
    TextField,
)

from shared.db import database


def utcnow() -> datetime:
    """Return the current UTC time as a naive datetime (how every column stores it)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Status(StrEnum):
    """Statuses of tasks, items and stage runs."""

    PENDING = "pending"
    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)


class JSONField(TextField):
    """JSON stored as text, the same on PostgreSQL and SQLite."""

    def db_value(self, value: Any) -> str | None:
        """Encode a Python value."""
        return None if value is None else json.dumps(value, ensure_ascii=False)

    def python_value(self, value: str | None) -> Any:
        """Decode a stored value."""
        return None if value is None else json.loads(value)


class BaseModel(Model):
    """Base of every table: bound to the shared database proxy."""

    class Meta:
        database = database
        legacy_table_names = False


class Link(BaseModel):
    """A submitted URL, unique by its normalised form."""

    id = AutoField()
    url = TextField()
    normalized_url = TextField(unique=True)
    status = CharField(max_length=16, default="new", index=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)
    # What the user kept with the link in the service they imported it from (migration 7).
    user_title = TextField(null=True)
    #: The user's own tags (kept apart from the enrichment's).
    user_tags = JSONField(null=True)
    saved_at = DateTimeField(null=True)
    #: ``unread``, ``read`` or ``archived``.
    read_status = CharField(max_length=16, null=True)
    favourite = BooleanField(null=True)
    note = TextField(null=True)
    #: ``[{"text": …, "note": …}]``.
    highlights = JSONField(null=True)
    folder = TextField(null=True)
    #: The format of the export it came from first (``pocket-csv``, ``netscape``…).
    imported_from = CharField(max_length=32, null=True)


#: The link's columns that hold what an import kept (``shared/imports``, migration 7).
LIBRARY_FIELDS = (
    "user_title",
    "user_tags",
    "saved_at",
    "read_status",
    "favourite",
    "note",
    "highlights",
    "folder",
    "imported_from",
)


class Content(BaseModel):
    """The article the parse stage extracted from a link's page."""

    link_id: int
    duplicate_of_id: int | None

    link = ForeignKeyField(Link, backref="contents", unique=True, on_delete="CASCADE")
    final_url = TextField()
    title = TextField()
    text = TextField()
    authors = JSONField(default=list)
    published_at = DateField(null=True)
    language = CharField(max_length=16, null=True)
    top_image = TextField(null=True)
    word_count = IntegerField()
    content_hash = CharField(max_length=64, index=True)
    #: The article's structure for publishers: a list of blocks (see ``shared/blocks.py``).
    blocks = JSONField(null=True)
    canonical_url = TextField(null=True)
    #: What kind of page it is: article, service, product, collection, forum, listing or
    #: documentation (``services/parser/page_type.py``); None for content parsed before.
    page_type = CharField(max_length=32, null=True)
    #: The first link whose article had the same content hash, when this one repeats it.
    duplicate_of = ForeignKeyField(Link, null=True, on_delete="SET NULL", backref="duplicates")
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)


class Enrichment(BaseModel):
    """What the AI stage made of an article."""

    link = ForeignKeyField(Link, backref="enrichments", unique=True, on_delete="CASCADE")
    summary = TextField()
    category = CharField(max_length=100)
    tags = JSONField(default=list)
    sentiment = CharField(max_length=16)
    sentiment_score = FloatField()
    language = CharField(max_length=16, null=True)
    provider = CharField(max_length=32)
    model = CharField(max_length=100)
    prompt_tokens = IntegerField(default=0)
    completion_tokens = IntegerField(default=0)
    cost_usd = FloatField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)


class Tag(BaseModel):
    """A tag of the knowledge base's vocabulary; enrichment prefers the most used ones.

    ``key`` is the tag's normal form (``services/ai/tagwords.py``): unique, so that two
    spellings of one tag saved at once are one row. It is empty until the ai service
    computes it (a tag added by the notion service, a renamed tag).
    """

    id = AutoField()
    name = CharField(max_length=100, unique=True)
    key = CharField(max_length=100, null=True, unique=True)
    #: Where the tag came from first: ``ai`` (enrichment), ``user`` (an import's tags),
    #: ``notion`` (an option of the database's Tags property) or ``edit`` (a rename);
    #: empty for a tag saved before the vocabulary had sources.
    source = CharField(max_length=16, null=True, default="ai")


class LinkTag(BaseModel):
    """Which tags a link carries."""

    link = ForeignKeyField(Link, on_delete="CASCADE")
    tag = ForeignKeyField(Tag, on_delete="CASCADE", index=True)

    class Meta:
        indexes = ((("link", "tag"), True),)
        primary_key = False


class Publication(BaseModel):
    """Where a link was published: a Notion page or a Markdown file."""

    link = ForeignKeyField(Link, backref="publications", unique=True, on_delete="CASCADE")
    publisher = CharField(max_length=32)
    page_id = CharField(max_length=200)
    page_url = TextField(null=True)
    path = TextField(null=True)
    #: ``creating`` until every block is written, then ``complete``: a retry resumes.
    state = CharField(max_length=16, default="complete")
    blocks_written = IntegerField(default=0)
    content_hash = CharField(max_length=64, null=True)
    #: The property values last written to the Notion page (name -> value), so that a
    #: value the user changed in Notion since is recognised and kept.
    written_properties = JSONField(null=True)
    created_at = DateTimeField(default=utcnow)
    updated_at = DateTimeField(default=utcnow)


#: What may create a task (``Task.source``).
TASK_SOURCES = ("request", "feed", "recurring", "import", "local")


class Task(BaseModel):
    """Links submitted together, run through the same stages."""

    id = AutoField()
    type = CharField(max_length=32)
    status = CharField(max_length=16, default=Status.PENDING, index=True)
    #: Who created it: a token's fingerprint or a client address (for per-caller limits).
    owner = CharField(max_length=64, null=True, index=True)
    stages = JSONField()
    #: What the caller asked for: ``high``, ``normal`` or ``low``.
    priority = CharField(max_length=8, default="normal")
    #: The priority items are fed by, 0 = high (a small normal task may be promoted).
    feed_rank = IntegerField(default=1)
    #: When items of this task were last fed to a queue: round-robin among equal ranks.
    fed_at = DateTimeField(null=True)
    #: When a task scheduled for later starts; until then it is pending and not fed.
    run_at = DateTimeField(null=True, index=True)
    #: What made it (:data:`TASK_SOURCES`): a request, a feed's poll, a recurring job, a
    #: library import, local mode.
    source = CharField(max_length=16, default="request")
    total_items = IntegerField(default=0)
    completed_items = IntegerField(default=0)
    failed_items = IntegerField(default=0)
    cancelled_items = IntegerField(default=0)
    created_at = DateTimeField(default=utcnow, index=True)
    started_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)
    updated_at = DateTimeField(default=utcnow)


class TaskItem(BaseModel):
    """One link of a task moving through the task's stages."""

    task_id: int
    link_id: int

    id = AutoField()
    task = ForeignKeyField(Task, backref="items", on_delete="CASCADE")
    link = ForeignKeyField(Link, on_delete="CASCADE", index=True)
    stage = CharField(max_length=16)
    status = CharField(max_length=16, default=Status.PENDING)
    attempts = IntegerField(default=0)
    error = TextField(null=True)
    created_at = DateTimeField(default=utcnow)
    started_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)
    updated_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = (
            (("task", "link"), True),
            (("task", "status"), False),
            # Feeding: a task's next items waiting at a stage, in order, and what is in
            # flight per stage; both stay cheap however many items wait.
            (("task", "stage", "status", "id"), False),
            (("stage", "status", "task"), False),
        )


class StageRun(BaseModel):
    """One stage of one item: its status, attempts, last error and timing."""

    item_id: int

    id = AutoField()
    item = ForeignKeyField(TaskItem, backref="stage_runs", on_delete="CASCADE")
    stage = CharField(max_length=16)
    status = CharField(max_length=16, default=Status.PENDING)
    attempts = IntegerField(default=0)
    error = TextField(null=True)
    queued_at = DateTimeField(null=True)
    started_at = DateTimeField(null=True)
    finished_at = DateTimeField(null=True)
    duration_ms = IntegerField(null=True)
    #: The broker id (Dramatiq heartbeat member) of the worker process running the stage.
    worker = CharField(max_length=64, null=True)

    class Meta:
        indexes = ((("item", "stage"), True),)


class Feed(BaseModel):
    """An RSS/Atom feed whose new entries are imported as a task on its schedule."""

    last_task_id: int | None

    id = AutoField()
    #: The feed's normalised URL.
    url = CharField(max_length=2048, unique=True)
    title = CharField(max_length=500, default="")
    every_seconds = IntegerField(default=3600)
    stages = JSONField()
    priority = CharField(max_length=8, default="normal")
    owner = CharField(max_length=64, null=True)
    #: Validators of the last answer, sent back as If-None-Match / If-Modified-Since.
    etag = CharField(max_length=500, null=True)
    last_modified = CharField(max_length=100, null=True)
    next_poll_at = DateTimeField(default=utcnow, index=True)
    last_polled_at = DateTimeField(null=True)
    last_outcome = CharField(max_length=64, null=True)
    #: Failed polls in a row; the feed is paused (with its error) past a limit.
    failures = IntegerField(default=0)
    paused = BooleanField(default=False)
    error = TextField(null=True)
    entries_seen = IntegerField(default=0)
    last_task = ForeignKeyField(Task, null=True, on_delete="SET NULL")
    created_at = DateTimeField(default=utcnow)


class FeedEntry(BaseModel):
    """An entry a feed was seen with: by its key (the feed's id for it) and its link."""

    id = AutoField()
    feed = ForeignKeyField(Feed, backref="entries", on_delete="CASCADE")
    key = CharField(max_length=500)
    url = CharField(max_length=2048)
    task = ForeignKeyField(Task, null=True, on_delete="SET NULL")
    seen_at = DateTimeField(default=utcnow)

    class Meta:
        indexes = ((("feed", "key"), True), (("feed", "url"), True))


class RecurringRun(BaseModel):
    """When a recurring job (``RECURRING_JOBS``) last ran: its scheduled time, in UTC."""

    kind = CharField(max_length=32, primary_key=True)
    last_run_at = DateTimeField()
    outcome = CharField(max_length=500, null=True)
    updated_at = DateTimeField(default=utcnow)


ALL_MODELS: tuple[type[BaseModel], ...] = (
    Link,
    Content,
    Enrichment,
    Tag,
    LinkTag,
    Publication,
    Task,
    TaskItem,
    StageRun,
    Feed,
    FeedEntry,
    RecurringRun,
)
