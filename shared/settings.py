"""Settings: every environment variable, read once into one typed object.

``Settings.from_env()`` is called once at process start (the broker setup callable, the
gateway factory, the CLI) and the object is passed down. An invalid value fails with a
:class:`~shared.errors.ConfigurationError` that names the variable.

The ai and notion services' own variables (``AI_RPM``, ``NOTION_PROPERTY_NAME``, …) are
fields too, declared in ``shared/service_settings.py``; ``settings.ai`` and
``settings.notion`` hand them over as the services' frozen dataclasses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.errors import ConfigurationError
from shared.schedule import Schedule, parse_jobs, parse_zone
from shared.service_settings import BLANK_IS_DEFAULT, ServiceSettings

DEFAULT_CATEGORIES = (
    "Technology",
    "Science",
    "Business",
    "Politics",
    "Health",
    "Culture",
    "Sports",
    "Education",
    "Environment",
    "Other",
)

#: The settings the parser's fetch guard applies: what parser workers report to the doctor.
FETCH_GUARD_FIELDS = (
    "fetch_allow_private",
    "fetch_max_bytes",
    "fetch_connect_timeout",
    "fetch_read_timeout",
)

CommaList = Annotated[tuple[str, ...], NoDecode]
SecondsList = Annotated[tuple[float, ...], NoDecode]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class Settings(ServiceSettings, BaseSettings):
    """All settings of every process; see the README's environment table."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    database_url: str = "sqlite:///data/kbm.sqlite3"
    redis_url: str = "redis://localhost:6379/0"

    api_host: str = "127.0.0.1"
    api_port: int = Field(5000, ge=1, le=65535)
    api_token: SecretStr | None = None
    #: More full-access tokens, comma-separated: rotate by adding the new one here first.
    api_tokens: SecretStr | None = None
    #: Read-only tokens, comma-separated (dashboards): GET requests only.
    api_read_tokens: SecretStr | None = None
    #: Requests per second per token (or per client without a token), with a burst.
    api_rate_limit: float = Field(20.0, gt=0)
    api_rate_burst: int = Field(60, ge=1)
    #: Unfinished tasks one token may have at once.
    api_max_open_tasks: int = Field(100, ge=1)
    api_url: str = "http://127.0.0.1:5000"
    api_max_body_bytes: int = Field(1_048_576, ge=1024)
    api_max_urls: int = Field(1000, ge=1)
    #: Largest export file ``POST /api/imports`` and ``kbm import`` take (64 MiB).
    import_max_bytes: int = Field(67_108_864, ge=1024)
    #: Host names the gateway answers to besides loopback ones (comma-separated); without
    #: a token it answers loopback names only, which stops DNS rebinding.
    api_allowed_hosts: CommaList = ()
    #: Wrong tokens one client address may send per minute; 429 beyond.
    api_auth_failures: int = Field(10, ge=1)

    ai_provider: Literal["auto", "openai", "local"] = "auto"
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"
    categories: CommaList = DEFAULT_CATEGORIES
    summary_sentences: int = Field(3, ge=1, le=20)

    publisher: Literal["auto", "notion", "markdown"] = "auto"
    notion_token: SecretStr | None = None
    notion_database_id: str | None = None
    notion_base_url: str = "https://api.notion.com"
    notion_rate_limit: float = Field(3.0, gt=0)
    export_dir: Path = Path("export")

    fetch_allow_private: bool = False
    fetch_max_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    fetch_connect_timeout: float = Field(10.0, gt=0)
    fetch_read_timeout: float = Field(20.0, gt=0)
    fetch_user_agent: str = "NotionKBManager/0.1 (+https://github.com/notion-kb-manager)"

    parsing_timeout: float = Field(60, gt=0)
    ai_timeout: float = Field(120, gt=0)
    notion_timeout: float = Field(60, gt=0)
    default_timeout: float = Field(180, gt=0)
    #: Retries of a failed stage and the seconds before each (the last one repeats);
    #: each stage queue may have its own (below), else these shared ones apply.
    max_retries: int = Field(3, ge=0, le=20)
    retry_delays: SecondsList = (0.0, 30.0, 300.0)
    parsing_max_retries: int | None = Field(None, ge=0, le=20)
    ai_max_retries: int | None = Field(None, ge=0, le=20)
    notion_max_retries: int | None = Field(None, ge=0, le=20)
    parsing_retry_delays: SecondsList | None = None
    ai_retry_delays: SecondsList | None = None
    notion_retry_delays: SecondsList | None = None
    #: Local mode's delays (``kbm run --local``, ``make demo``), for every stage: someone
    #: is watching, so a dead link fails in seconds, not the services' minutes.
    local_retry_delays: SecondsList = (1.0, 5.0)
    #: Starts of one stage of one item before it fails for good (poison guard); hard
    #: kills are not counted by Dramatiq's retries, so this bounds them.
    max_deliveries: int = Field(8, ge=1, le=100)
    #: Slack added to a stage's time limit before a running item counts as abandoned.
    reconcile_grace: float = Field(30.0, ge=0)
    #: How long a queued item may wait while its queue still holds messages.
    reconcile_queued_after: float = Field(900.0, gt=0)
    #: Finished tasks, their items and dead letters older than this many days are removed.
    retention_days: float = Field(30.0, gt=0)
    #: Dramatiq broker tuning for prompt recovery of a killed worker's messages.
    heartbeat_timeout_ms: int = Field(20_000, ge=5_000)
    maintenance_chance: int = Field(10_000, ge=1, le=1_000_000)
    scheduler_lock_seconds: int = Field(50, ge=5)
    #: Admission control: messages of task items in flight (queued or running) per stage
    #: queue, over all tasks, and per task; the rest wait in the database to be fed.
    queue_max_in_flight: int = Field(100, ge=1, le=100_000)
    task_max_in_flight: int = Field(50, ge=1, le=100_000)
    #: A normal-priority task of at most this many items is fed as high priority (0: never).
    promote_tasks_up_to: int = Field(10, ge=0)

    worker_count_parsing: int = Field(3, ge=1)
    worker_count_ai: int = Field(2, ge=1)
    worker_count_notion: int = Field(2, ge=1)
    worker_count_default: int = Field(1, ge=1)
    worker_threads: int = Field(4, ge=1)
    worker_poll_ms: int = Field(50, ge=10)
    #: Address ``kbm worker`` serves its Prometheus metrics on (Dramatiq's
    #: ``dramatiq_prom_host``): loopback, unless a scraper in another container needs it.
    worker_metrics_host: str = Field("127.0.0.1", min_length=1)
    #: Port ``kbm worker`` serves its Prometheus metrics on (``--metrics-port`` wins); ``kbm
    #: up`` gives its worker commands this port, the next, … Dramatiq's own
    #: ``dramatiq_prom_port`` is read too, when ``WORKER_METRICS_PORT`` is unset.
    worker_metrics_port: int = Field(
        9191,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("worker_metrics_port", "dramatiq_prom_port"),
    )

    #: The least severe log records every process writes (``kbm -v``: DEBUG).
    log_level: LogLevel = "INFO"
    #: ``production`` makes ``kbm doctor`` strict about settings meant for development
    #: only (``FETCH_ALLOW_PRIVATE=1`` fails it instead of warning).
    kbm_environment: Literal["development", "production"] = "development"

    #: Recurring jobs, ``kind=cron`` separated by ``;`` (see ``shared.schedule``).
    recurring_jobs: str = ""
    #: The IANA zone the cron expressions of ``recurring_jobs`` are read in.
    scheduler_tz: str = "UTC"

    @field_validator("recurring_jobs")
    @classmethod
    def _valid_jobs(cls, value: str) -> str:
        parse_jobs(value)
        return value

    @field_validator("scheduler_tz")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        parse_zone(value or "UTC")
        return value

    def schedule(self) -> Schedule:
        """Return the recurring jobs and their zone."""
        return Schedule.parse(self.recurring_jobs, self.scheduler_tz)

    @field_validator("api_allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(name.strip() for name in value.split(",") if name.strip())
        return value

    @field_validator("categories", mode="before")
    @classmethod
    def _split_names(cls, value: Any) -> Any:
        if isinstance(value, str):
            names = tuple(name.strip() for name in value.split(",") if name.strip())
            if not names:
                raise ValueError("give at least one name, separated by commas")
            return names
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_name(cls, value: Any) -> Any:
        # Any case is accepted; the error shows the value as it was written.
        if isinstance(value, str):
            name = value.strip().upper()
            if name not in get_args(LogLevel):
                raise ValueError(f"expected one of {', '.join(get_args(LogLevel))}")
            return name
        return value

    @field_validator(
        "retry_delays",
        "parsing_retry_delays",
        "ai_retry_delays",
        "notion_retry_delays",
        "local_retry_delays",
        mode="before",
    )
    @classmethod
    def _split_seconds(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                delays = tuple(float(part) for part in value.split(",") if part.strip())
            except ValueError as ex:
                raise ValueError("expected seconds separated by commas, e.g. 0,30,300") from ex
            if not delays or any(delay < 0 for delay in delays):
                raise ValueError("expected non-negative seconds separated by commas")
            return delays
        return value

    # Defined after the parsers: Pydantic runs a field's "before" validators last defined
    # first, so a blank value is the default before any parser sees it.
    @field_validator(
        "parsing_max_retries",
        "ai_max_retries",
        "notion_max_retries",
        "parsing_retry_delays",
        "ai_retry_delays",
        "notion_retry_delays",
        *BLANK_IS_DEFAULT,
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: Any, info: ValidationInfo) -> Any:
        # `PARSING_MAX_RETRIES=` (an env file's blank line) means "the shared value",
        # `AI_RPM=` the default.
        if isinstance(value, str) and not value.strip():
            return cls.model_fields[str(info.field_name)].get_default(call_default_factory=True)
        return value

    @field_validator("task_max_in_flight")
    @classmethod
    def _within_queue_cap(cls, value: int, info: ValidationInfo) -> int:
        queue_cap = info.data.get("queue_max_in_flight")
        if queue_cap is not None and value > queue_cap:
            raise ValueError(
                f"must not exceed QUEUE_MAX_IN_FLIGHT ({queue_cap}): a task's share of a "
                "queue is at most the whole queue"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(
            ("postgresql://", "postgres://", "sqlite:///", "sqlite://:memory:")
        ):
            raise ValueError("expected postgresql://… or sqlite:///path")
        return value

    @field_validator("redis_url")
    @classmethod
    def _known_redis(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("expected redis://host:port/db")
        return value

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Read the environment (and ``.env``); raise a clear error naming the variable."""
        try:
            return cls(**overrides)
        except ValidationError as ex:
            problems = []
            for error in ex.errors():
                if not error["loc"]:
                    # A rule over several fields names them; its input is every setting,
                    # secrets included, so it is not shown.
                    problems.append(error["msg"].removeprefix("Value error, "))
                    continue
                name = _variable(str(error["loc"][0]))
                problems.append(f"{name}: {error['msg']} (got {error.get('input')!r})")
            raise ConfigurationError("invalid setting " + "; ".join(problems)) from None

    def full_tokens(self) -> list[str]:
        """Return every full-access token (``API_TOKEN`` and ``API_TOKENS``), blanks dropped."""
        return _split_secret(self.api_token) + _split_secret(self.api_tokens)

    def read_tokens(self) -> list[str]:
        """Return the read-only tokens (``API_READ_TOKENS``)."""
        return _split_secret(self.api_read_tokens)

    def stage_timeout(self, queue: str) -> float:
        """Return the time limit in seconds of a queue's messages."""
        return float(getattr(self, f"{queue}_timeout"))

    def stage_retries(self, queue: str) -> int:
        """Return how often a queue's failed message is retried.

        ``PARSING_MAX_RETRIES`` and its siblings when set, else ``MAX_RETRIES``.
        """
        own: int | None = getattr(self, f"{queue}_max_retries", None)
        return self.max_retries if own is None else own

    def stage_retry_delays(self, queue: str) -> tuple[float, ...]:
        """Return the seconds before each retry of a queue's messages.

        ``PARSING_RETRY_DELAYS`` and its siblings when set, else ``RETRY_DELAYS``.
        """
        own: tuple[float, ...] | None = getattr(self, f"{queue}_retry_delays", None)
        return self.retry_delays if own is None else own

    def retry_delay(self, queue: str, retry: int) -> float:
        """Return the delay in seconds before retry number ``retry`` (0-based) of a queue.

        A schedule shorter than the retries repeats its last delay.
        """
        delays = self.stage_retry_delays(queue)
        return delays[min(retry, len(delays) - 1)]

    def stage_max_deliveries(self, queue: str) -> int:
        """Return the starts of one stage before its item fails (the poison guard).

        ``MAX_DELIVERIES``, but never fewer than the stage's own attempts (its retries
        plus one): the guard bounds deliveries Dramatiq does not count, such as a
        worker killed mid-message, and must not cut a stage's retries short.
        """
        return max(self.max_deliveries, self.stage_retries(queue) + 1)

    @property
    def production(self) -> bool:
        """Whether these are a production deployment's settings (``KBM_ENVIRONMENT``)."""
        return self.kbm_environment == "production"

    def worker_count(self, queue: str) -> int:
        """Return how many processes a local launcher starts for a queue."""
        return int(getattr(self, f"worker_count_{queue}"))

    def fetch_guard(self) -> dict[str, Any]:
        """Return the fetch guard's settings by variable name, e.g. ``FETCH_ALLOW_PRIVATE``."""
        return {name.upper(): getattr(self, name) for name in FETCH_GUARD_FIELDS}


def _variable(field: str) -> str:
    """Return how an error names a field's variable, with its fallback names if any."""
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info is not None else None
    if not isinstance(alias, AliasChoices):
        return field.upper()
    others = [str(choice) for choice in alias.choices[1:]]
    return f"{field.upper()} (or {', '.join(others)})"


def _split_secret(secret: SecretStr | None) -> list[str]:
    if secret is None:
        return []
    return [part.strip() for part in secret.get_secret_value().split(",") if part.strip()]


_current: Settings | None = None


def get_settings() -> Settings:
    """Return the process's settings, read from the environment on first use."""
    global _current
    if _current is None:
        _current = Settings.from_env()
    return _current


def use_settings(settings: Settings) -> None:
    """Make ``settings`` the process's settings (set once at start: setup, local mode)."""
    global _current
    _current = settings
