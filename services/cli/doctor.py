"""``kbm doctor``: the original system's six checks and the rest of the stack's.

Each check answers ok or not, what it saw, and when it fails a one-line fix. Nothing
here prints a secret: tokens and keys are only ever said to be set or not.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import dramatiq
import redis

from services.cli.launch import QUEUE_TO_SERVICE
from shared.broker import build_broker
from shared.db import bind_database, database
from shared.middleware.registry import FETCH_GUARD
from shared.migrations import LATEST_VERSION, pending_versions
from shared.models import Task
from shared.monitoring import RECONCILER_LAST_RUN, RECONCILER_LATE_S, Monitor, unconsumed
from shared.pipeline import PARSE, QUEUES
from shared.redis_broker import Keys
from shared.settings import Settings

PROBE_QUEUE = "default"
PROBE_SECONDS = 10.0


@dataclass(frozen=True)
class Check:
    """One check's outcome."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    #: Passed, but with something to know (the fix says what to change when it matters).
    warning: bool = False


class Doctor:
    """Run the checks against the configured Redis, database, AI provider and publisher."""

    def __init__(self, settings: Settings, *, probe_seconds: float = PROBE_SECONDS) -> None:
        self.settings = settings
        self.probe_seconds = probe_seconds
        self.client = redis.Redis.from_url(
            settings.redis_url, socket_connect_timeout=3, socket_timeout=5
        )

    def run(self) -> list[Check]:
        """Run every check in order; a check that crashes is reported, not raised."""
        checks: list[Check] = []
        for name, probe in (
            ("Redis connection", self.redis_connection),
            ("Queue creation", self.queue_creation),
            ("Worker availability", self.worker_availability),
            ("Job enqueueing", self.job_enqueueing),
            ("Scheduler", self.scheduler),
            ("Task service", self.task_service),
            ("Queue statistics", self.queue_statistics),
            ("Database and migrations", self.database),
            ("AI provider", self.ai_provider),
            ("Publisher", self.publisher),
            ("Fetch guard", self.fetch_guard),
        ):
            try:
                checks.append(probe())
            except Exception as ex:  # one broken part must not hide the others
                checks.append(Check(name, False, f"{type(ex).__name__}: {ex}", FIXES.get(name, "")))
        return checks

    def redis_connection(self) -> Check:
        """Ping Redis."""
        started = time.perf_counter()
        self.client.ping()
        took = (time.perf_counter() - started) * 1000
        return Check(
            "Redis connection", True, f"{_redacted(self.settings.redis_url)} ({took:.1f} ms)"
        )

    def queue_creation(self) -> Check:
        """Declare the four queues on a broker."""
        broker = build_broker(self.settings)
        declared = sorted(broker.get_declared_queues())
        missing = [queue for queue in QUEUES if queue not in declared]
        return Check(
            "Queue creation",
            not missing,
            "declared " + ", ".join(QUEUES),
            FIXES["Queue creation"] if missing else "",
        )

    def worker_availability(self) -> Check:
        """Find workers that sent a heartbeat in the last minute, on every queue."""
        monitor = Monitor(self.client, window_s=self.settings.heartbeat_timeout_ms / 1000)
        # The doctor's own probe broker sends heartbeats too: only worker processes count.
        workers = monitor.worker_processes()
        if not workers:
            return Check(
                "Worker availability",
                False,
                "no worker process has sent a heartbeat lately (HEARTBEAT_TIMEOUT_MS)",
                FIXES["Worker availability"],
            )
        alive = f"{len(workers)} worker processes alive"
        idle = unconsumed(QUEUES, workers)
        if not idle:
            return Check("Worker availability", True, alive)
        depths = monitor.queue_depths()
        waiting = [f"{depths[q]['waiting']} in {q}" for q in idle if depths[q]["waiting"]]
        return Check(
            "Worker availability",
            False,
            f"{alive}, but no worker consumes {', '.join(idle)}"
            + (f" (messages waiting: {', '.join(waiting)})" if waiting else ""),
            "start the missing workers: "
            + ", ".join(f"`kbm worker {QUEUE_TO_SERVICE[queue]}`" for queue in idle),
        )

    def scheduler(self) -> Check:
        """Tell whether the reconciler ran lately: the scheduler ticks, a worker runs it."""
        last = self.client.get(RECONCILER_LAST_RUN)
        if last is None:
            # A stack started less than a minute ago has not ticked yet: said, not failed.
            return Check(
                "Scheduler",
                True,
                "the reconciler has not run yet (it runs every minute once `kbm scheduler` ticks)",
                FIXES["Scheduler"],
                warning=True,
            )
        age = time.time() - float(last)
        detail = f"the reconciler last ran {age:.0f} s ago"
        if age > RECONCILER_LATE_S:
            return Check("Scheduler", False, f"{detail}; it runs every minute", FIXES["Scheduler"])
        return Check("Scheduler", True, detail)

    def job_enqueueing(self) -> Check:
        """Send a ping to the default queue and wait for a worker to take it."""
        broker = build_broker(self.settings)
        marker = uuid.uuid4().hex[:8]
        message: dramatiq.Message[Any] = dramatiq.Message(
            queue_name=PROBE_QUEUE, actor_name="ping", args=(marker,), kwargs={}, options={}
        )
        sent = broker.enqueue(message)
        deadline = time.monotonic() + self.probe_seconds
        keys = Keys()
        key = keys.messages(PROBE_QUEUE)
        dead_ids, dead_messages = keys.dead(PROBE_QUEUE)
        while time.monotonic() < deadline:
            # A message stays in the queue's hash until a worker acknowledges it, and a
            # worker that does not know the actor acknowledges it into the dead letters.
            rid = sent.options["redis_message_id"]
            if not self.client.hexists(key, rid):
                if self.client.zscore(dead_ids, rid) is not None:
                    self.client.zrem(dead_ids, rid)
                    self.client.hdel(dead_messages, rid)
                    return Check(
                        "Job enqueueing",
                        False,
                        "the default worker dead-lettered the ping: it does not know the actor",
                        FIXES["Job enqueueing (old worker)"],
                    )
                return Check(
                    "Job enqueueing",
                    True,
                    f"a default worker took a ping within {self.probe_seconds:g} s",
                )
            time.sleep(0.1)
        # Nobody took it: take the probe back rather than leave it for a later worker.
        rid = sent.options["redis_message_id"]
        self.client.lrem(keys.queue(PROBE_QUEUE), 0, rid)
        self.client.hdel(key, rid)
        return Check(
            "Job enqueueing",
            False,
            f"the ping was not taken within {self.probe_seconds:g} s",
            FIXES["Job enqueueing"],
        )

    def task_service(self) -> Check:
        """Read the tasks table through the models the task service uses."""
        bind_database(self.settings.database_url)
        with database.connection_context():
            count = Task.select().count()
        return Check("Task service", True, f"{count} tasks recorded")

    def queue_statistics(self) -> Check:
        """Read every queue's depths."""
        depths = Monitor(self.client).queue_depths()
        text = "; ".join(
            f"{queue}: {counts['waiting']} waiting, {counts['delayed']} delayed, "
            f"{counts['dead']} dead"
            for queue, counts in depths.items()
        )
        return Check("Queue statistics", True, text)

    def database(self) -> Check:
        """Connect to the database and check that every migration is applied."""
        bind_database(self.settings.database_url)
        pending = pending_versions()
        applied = LATEST_VERSION - len(pending)
        detail = f"{_redacted(self.settings.database_url)}, schema {applied}/{LATEST_VERSION}"
        return Check(
            "Database and migrations",
            not pending,
            detail,
            FIXES["Database and migrations"] if pending else "",
        )

    def ai_provider(self) -> Check:
        """Say which provider enriches, and reach an OpenAI-compatible server's model list."""
        from services.ai.enrich import build_provider

        provider = build_provider(self.settings)
        if provider.name != "openai":
            return Check(
                "AI provider",
                True,
                f"{provider.name} (offline; set OPENAI_API_KEY or OPENAI_BASE_URL for a model)",
            )
        import openai

        key = (
            self.settings.openai_api_key.get_secret_value()
            if self.settings.openai_api_key
            else "unset"
        )
        client = openai.OpenAI(
            api_key=key, base_url=self.settings.openai_base_url, max_retries=0, timeout=10
        )
        models = [model.id for model in client.models.list()]
        wanted = self.settings.openai_model
        if models and wanted not in models:
            return Check(
                "AI provider",
                False,
                f"the server does not list model {wanted!r}",
                FIXES["AI provider"],
            )
        return Check("AI provider", True, f"openai-compatible server answers; model {wanted}")

    def publisher(self) -> Check:
        """Check where pages go: the Notion database's schema and access, or the folder."""
        from services.notion.doctor import check_notion

        diagnosis = check_notion(self.settings)
        return Check(
            "Publisher",
            diagnosis.ok,
            "; ".join(diagnosis.lines),
            "" if diagnosis.ok else FIXES["Publisher"],
        )

    def fetch_guard(self) -> Check:
        """Report the fetch guard of the running parser workers, or say none runs.

        The workers' own settings decide what they fetch, not this process's: each
        parser process reports its guard in its worker registry entry.
        """
        monitor = Monitor(self.client, window_s=self.settings.heartbeat_timeout_ms / 1000)
        parsers = monitor.worker_entries(PARSE.queue)
        reports = {
            f"{entry.get('host')}:{entry.get('pid')}": entry[FETCH_GUARD]
            for entry in parsers
            if FETCH_GUARD in entry
        }
        silent = len(parsers) - len(reports)
        if not reports:
            seen = (
                f"{_parsers(silent)} running do not report their fetch guard (older release)"
                if silent
                else "no parser worker is running"
            )
            return _guard_check(
                self.settings.fetch_guard(),
                f"{seen}; this doctor's environment",
                production=self.settings.production,
            )
        whose = _parsers(len(reports)) + (f" ({silent} more do not report it)" if silent else "")
        differing = _differing(reports)
        if differing:
            return Check(
                "Fetch guard",
                False,
                f"{whose} disagree: " + "; ".join(differing),
                FIXES["Fetch guard (workers disagree)"],
            )
        return _guard_check(
            next(iter(reports.values())), whose, production=self.settings.production
        )


FIXES: dict[str, str] = {
    "Redis connection": "start Redis or set REDIS_URL (e.g. redis://localhost:6379/0)",
    "Queue creation": "check REDIS_URL points at a Redis you may write to",
    "Worker availability": "start workers: `kbm worker parser` (ai, notion, default) or `make up`",
    "Job enqueueing": "start the housekeeping worker: `kbm worker default`",
    "Scheduler": "run `kbm scheduler` (one per deployment) and a housekeeping worker "
    "(`kbm worker default`)",
    "Job enqueueing (old worker)": "restart `kbm worker default` with this release",
    "Task service": "check DATABASE_URL and run `kbm migrate`",
    "Queue statistics": "check REDIS_URL",
    "Database and migrations": "run `kbm migrate` (and check DATABASE_URL)",
    "AI provider": "check OPENAI_BASE_URL, OPENAI_API_KEY and OPENAI_MODEL (or AI_PROVIDER=local)",
    "Publisher": "check NOTION_TOKEN, NOTION_DATABASE_ID and the database's sharing with the "
    "integration (or PUBLISHER=markdown)",
    "Fetch guard": "unset FETCH_ALLOW_PRIVATE outside tests and local development",
    "Fetch guard (development)": "fine for local pages; unset FETCH_ALLOW_PRIVATE before "
    "fetching links you do not trust (KBM_ENVIRONMENT=production makes this a failure)",
    "Fetch guard (workers disagree)": "give every parser worker the same FETCH_* settings "
    "and restart them",
}


def _guard_check(guard: dict[str, Any], whose: str, *, production: bool) -> Check:
    """Return the check of one fetch guard, saying whose it is.

    Private addresses open (``FETCH_ALLOW_PRIVATE=1``, what local pages need) fail the
    check in production (``KBM_ENVIRONMENT=production``) and are a warning elsewhere.
    """
    limits = ", ".join(
        f"{name}={_shown(value)}" for name, value in guard.items() if name != "FETCH_ALLOW_PRIVATE"
    )
    if guard.get("FETCH_ALLOW_PRIVATE"):
        detail = (
            f"{whose}: FETCH_ALLOW_PRIVATE=1, private and loopback addresses can be reached "
            f"({limits})"
        )
        if production:
            return Check("Fetch guard", False, detail, FIXES["Fetch guard"])
        return Check("Fetch guard", True, detail, FIXES["Fetch guard (development)"], warning=True)
    return Check(
        "Fetch guard",
        True,
        f"{whose}: on, private, loopback and metadata addresses are refused ({limits})",
    )


def _differing(reports: dict[str, dict[str, Any]]) -> list[str]:
    """Return, per setting the workers disagree on, each value and the workers using it."""
    names = sorted({name for guard in reports.values() for name in guard})
    differing = []
    for name in names:
        users: dict[str, list[str]] = {}
        for worker, guard in sorted(reports.items()):
            users.setdefault(_shown(guard.get(name)), []).append(worker)
        if len(users) > 1:
            uses = [f"{value} on {', '.join(workers)}" for value, workers in users.items()]
            differing.append(f"{name}=" + " vs ".join(uses))
    return differing


def _parsers(count: int) -> str:
    """Return "1 parser worker" or "N parser workers"."""
    return f"{count} parser worker" + ("" if count == 1 else "s")


def _shown(value: Any) -> str:
    """Return a setting's value as it would be written in the environment."""
    if isinstance(value, bool):
        return "1" if value else "0"
    return "unset" if value is None else str(value)


def _redacted(url: str) -> str:
    """Return a URL without its password."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user + ':***' if ':' in credentials else user}@{host}"
