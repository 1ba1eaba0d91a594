"""Process launchers: the gateway under gunicorn and one Dramatiq command per service."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from shared.errors import ConfigurationError
from shared.redis_broker import SPARE_THREADS
from shared.settings import Settings

#: Service → (queue it consumes, module declaring its actors).
SERVICES: dict[str, tuple[str, str]] = {
    "parser": ("parsing", "services.parser.actors"),
    "ai": ("ai", "services.ai.actors"),
    "notion": ("notion", "services.notion.actors"),
    "default": ("default", "services.scheduler.actors"),
}
#: The setup callable Dramatiq runs before it imports a service's actors: the shared one,
#: or the service's own where it adds middleware of its own.
SETUPS: dict[str, str] = {
    "parser": "services.parser.worker:setup",
    "notion": "services.notion.worker:setup",
}
DEFAULT_SETUP = "shared.broker:setup"
#: Environment of a service's worker processes beyond the shared one; a variable set in
#: the environment already is left as it is.
#: Parser: one glibc malloc arena. Its threads fetch concurrently but extract one at a
#: time (``GATE``); with an arena per thread each kept the peak of the pages it had
#: extracted, and a process grew to 264 MiB after 500 items (204 MiB with one arena).
SERVICE_ENV: dict[str, dict[str, str]] = {"parser": {"MALLOC_ARENA_MAX": "1"}}
#: Queue names are accepted too, as the original ``start_workers.py --queue parsing``.
QUEUE_TO_SERVICE = {queue: service for service, (queue, _) in SERVICES.items()}

MAX_PORT = 65535
#: How long a stopping worker command waits for its messages in flight (Dramatiq's
#: ``--worker-shutdown-timeout``); ``kbm up`` waits a little longer before SIGKILL.
WORKER_SHUTDOWN_SECONDS = 25.0
STOP_GRACE_SECONDS = WORKER_SHUTDOWN_SECONDS + 5

GUNICORN_CONF = Path(__file__).resolve().parents[1] / "api" / "gunicorn.conf.py"


class MetricsFolder:
    """Dramatiq's multiprocess metrics folder of one worker command, private to this process.

    Dramatiq only creates its folder (``dramatiq_prom_db``) and never empties it, and the
    exposition server sums every file in it: a fixed path would mix two stacks' metrics, or
    a restarted command's with its dead predecessor's. So every start gets a new empty
    folder from :func:`tempfile.mkdtemp`; only folders made here are ever removed.
    """

    def __init__(self, service: str) -> None:
        self.prefix = f"kbm-metrics-{service}-"
        self.path: str | None = None

    def fresh(self) -> str:
        """Make a new empty folder for a start, removing the one made for the previous start."""
        self.remove()
        self.path = tempfile.mkdtemp(prefix=self.prefix)
        return self.path

    def remove(self) -> None:
        """Remove the folder made here, if any (never one this object did not make)."""
        if self.path is not None:
            shutil.rmtree(self.path, ignore_errors=True)
            self.path = None


@dataclass(frozen=True)
class Command:
    """A process to start: its name for logs, argv and extra environment."""

    name: str
    argv: list[str]
    env: dict[str, str]
    #: Where a worker command serves its metrics (``host:port``), for the operator.
    metrics_address: str | None = None
    #: A worker command's metrics folder, made anew for each start.
    metrics_folder: MetricsFolder | None = field(default=None, compare=False)

    def prepare(self) -> dict[str, str]:
        """Return the extra environment of a new start (with a new empty metrics folder)."""
        if self.metrics_folder is None:
            return dict(self.env)
        folder = self.metrics_folder.fresh()
        # Dramatiq's name for it and prometheus_client's: every process reads the same one.
        return {**self.env, "dramatiq_prom_db": folder, "PROMETHEUS_MULTIPROC_DIR": folder}

    def cleanup(self) -> None:
        """Remove what :meth:`prepare` made, once the process has stopped."""
        if self.metrics_folder is not None:
            self.metrics_folder.remove()


def dramatiq_verbosity(settings: Settings) -> list[str]:
    """Return the options that make ``dramatiq`` or ``periodiq`` log at ``LOG_LEVEL`` at once.

    Both set up logging at INFO, or DEBUG with ``-v``, before they import the setup
    callable, which then applies ``LOG_LEVEL`` (``shared.logs``): only DEBUG needs the
    option, for the lines logged before (the launcher's own, the boot).
    """
    return ["-v"] if settings.log_level == "DEBUG" else []


def log_level_env(settings: Settings) -> dict[str, str]:
    """Return the environment that gives a started process this process's log level.

    ``kbm -v`` means DEBUG for what the command starts, whatever ``LOG_LEVEL`` says.
    """
    return {"LOG_LEVEL": settings.log_level}


def service_name(name: str) -> str:
    """Return the service for a service or queue name; raise ``ValueError`` if unknown."""
    if name in SERVICES:
        return name
    if name in QUEUE_TO_SERVICE:
        return QUEUE_TO_SERVICE[name]
    known = ", ".join([*SERVICES, *QUEUE_TO_SERVICE])
    raise ValueError(f"unknown service or queue {name!r}; choose from {known}")


def worker_command(
    service: str,
    settings: Settings,
    *,
    processes: int | None = None,
    threads: int | None = None,
    metrics_port: int | None = None,
) -> Command:
    """Return the ``dramatiq`` command that runs one service's workers.

    Its metrics are served on ``WORKER_METRICS_HOST`` (loopback by default) and
    ``metrics_port``, else ``WORKER_METRICS_PORT`` (9191), from a multiprocess folder of its
    own made at each start (:class:`MetricsFolder`).
    """
    name = service_name(service)
    queue, module = SERVICES[name]
    argv = [
        sys.executable,
        "-m",
        "dramatiq",
        SETUPS.get(name, DEFAULT_SETUP),
        module,
        "--queues",
        queue,
        "--processes",
        str(processes or settings.worker_count(queue)),
        "--threads",
        # One more thread than the prefetch: the spare one runs high-ranked messages.
        str((threads or settings.worker_threads) + SPARE_THREADS),
        # Kubernetes gives 30 s of grace: finish in-flight work well within it.
        "--worker-shutdown-timeout",
        str(int(WORKER_SHUTDOWN_SECONDS * 1000)),
        *dramatiq_verbosity(settings),
    ]
    # The consumer's idle poll interval: Dramatiq's 1 s default adds ~0.4 s per stage.
    env = {"dramatiq_worker_timeout": str(settings.worker_poll_ms), **log_level_env(settings)}
    # A native crash (an extension's heap corruption, SIGSEGV) prints every thread's
    # Python stack to the log instead of only the C library's last words.
    env["PYTHONFAULTHANDLER"] = "1"
    # Dramatiq prefetches twice its threads; messages held in a worker cannot be
    # overtaken by a high-priority item at the head of the queue: hold one per thread.
    # The consumer fetches as soon as a thread acknowledges (shared.redis_broker), so a
    # thread waits one Redis round trip for its next message, not a poll interval; a
    # message moved to the head of the queue is taken at once into the spare thread.
    env["dramatiq_queue_prefetch"] = str(threads or settings.worker_threads)
    host = settings.worker_metrics_host
    port = settings.worker_metrics_port if metrics_port is None else metrics_port
    # Dramatiq's own variable names, lower-case as it reads them. It binds 0.0.0.0 unless
    # told otherwise: the setting decides, never its default.
    env |= {"dramatiq_prom_host": host, "dramatiq_prom_port": str(port)}
    env |= {
        variable: value
        for variable, value in SERVICE_ENV.get(name, {}).items()
        if variable not in os.environ
    }
    return Command(
        f"worker-{name}",
        argv,
        env,
        metrics_address=_address(host, port),
        metrics_folder=MetricsFolder(name),
    )


def worker_commands(settings: Settings, *, threads: int | None = None) -> list[Command]:
    """Return every service's worker command, as ``kbm up`` runs them on one host.

    Their metrics ports are ``WORKER_METRICS_PORT``, the next, … one per command.
    """
    return [
        worker_command(
            service, settings, threads=threads, metrics_port=side_by_side_port(settings, service)
        )
        for service in SERVICES
    ]


def side_by_side_port(settings: Settings, service: str) -> int:
    """Return the metrics port of ``service``'s command among the others on one host.

    ``WORKER_METRICS_PORT`` for the parser, the next for ai, then notion, then default:
    what ``kbm up`` gives them, and ``scripts/start_workers.py --queue`` too.
    """
    base = settings.worker_metrics_port
    last = base + len(SERVICES) - 1
    if last > MAX_PORT:
        raise ConfigurationError(
            f"invalid setting WORKER_METRICS_PORT: the {len(SERVICES)} worker commands of "
            f"one host serve their metrics on ports {base} to {last}, beyond {MAX_PORT} "
            f"(got {base})"
        )
    return base + list(SERVICES).index(service_name(service))


def _address(host: str, port: int) -> str:
    """Return ``host:port``, an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def scheduler_command(settings: Settings) -> Command:
    """Return the periodiq command that sends the housekeeping ticks."""
    periodiq = str(Path(sys.executable).with_name("periodiq"))
    argv = [periodiq, "shared.broker:setup", "services.scheduler.actors"]
    return Command("scheduler", argv + dramatiq_verbosity(settings), log_level_env(settings))


def api_command(settings: Settings, *, workers: int | None = None) -> Command:
    """Return the gunicorn command that serves the gateway."""
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "--config",
        str(GUNICORN_CONF),
        # gunicorn's own logger (start-up, workers, errors) at LOG_LEVEL.
        "--log-level",
        settings.log_level.lower(),
        "--bind",
        f"{settings.api_host}:{settings.api_port}",
    ]
    if workers:
        argv += ["--workers", str(workers)]
    # The app is the configuration's ``wsgi_app`` (the gateway behind its event loop).
    return Command("api", argv, log_level_env(settings))


def check_database(settings: Settings) -> None:
    """Raise ``ConfigurationError`` when the services' database has none of the schema.

    Every worker process checks the schema when it starts (``shared.broker.setup``),
    and waits there for a ``kbm migrate`` under way; the launcher checks first so that
    the wrong database is one line, not one traceback per process.
    """
    from shared.db import bind_database
    from shared.migrations import require_schema

    bind_database(settings.database_url)
    require_schema(settings.database_url, wait=False)


def exec_command(command: Command) -> None:
    """Replace this process with ``command`` (what a container's entry point wants)."""
    # The metrics folder outlives this process (it becomes Dramatiq's): one per start, in
    # the temporary folder (a container's fresh tmpfs).
    env = command.prepare()
    os.execvpe(command.argv[0], command.argv, {**os.environ, **env})


def run_together(
    commands: list[Command],
    *,
    grace: float = STOP_GRACE_SECONDS,
    max_restarts: int = 3,
    restart_window: float = 60.0,
    backoff: float = 1.0,
) -> int:
    """Run ``commands`` side by side until Ctrl-C; stop them all on the end.

    A command that exits on its own (a worker process killed by the kernel takes its
    whole Dramatiq command down) is started again after a pause that doubles from
    ``backoff``, as docker compose's ``restart: unless-stopped`` would. One that exits
    more than ``max_restarts`` times within ``restart_window`` seconds is broken, not
    unlucky: the rest are stopped and its exit code returned. Ctrl-C returns 0.
    """

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    # A supervisor's SIGTERM (or a closed terminal's SIGHUP) stops the children too.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGHUP, stop)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    exits: dict[str, list[float]] = {command.name: [] for command in commands}

    def start(command: Command) -> None:
        env = command.prepare()
        processes[command.name] = subprocess.Popen(
            command.argv, env={**os.environ, **env}, start_new_session=True
        )

    for command in commands:
        print(f"starting {command.name}: {' '.join(command.argv[2:])}", flush=True)
        start(command)
    code = 0
    try:
        while True:
            for command in commands:
                process = processes[command.name]
                if process.poll() is None:
                    continue
                now = time.monotonic()
                recent = [at for at in exits[command.name] if now - at < restart_window]
                exits[command.name] = [*recent, now]
                if len(recent) >= max_restarts:
                    print(
                        f"{command.name} exited with code {process.returncode} "
                        f"{len(recent) + 1} times within {restart_window:g} s; stopping the rest",
                        flush=True,
                    )
                    code = process.returncode or 1
                    raise StopIteration
                pause = backoff * 2 ** len(recent)
                print(
                    f"{command.name} exited with code {process.returncode}; "
                    f"starting it again in {pause:g} s",
                    flush=True,
                )
                time.sleep(pause)
                start(command)
            time.sleep(0.5)
    except (KeyboardInterrupt, StopIteration):
        pass
    finally:
        stop_all(processes, grace)
        for command in commands:
            command.cleanup()
    return code


def stop_all(processes: dict[str, subprocess.Popen[bytes]], grace: float) -> None:
    """Stop every command: one SIGTERM, ``grace`` seconds, SIGKILL only if still running.

    The SIGTERM goes to each command's own process only: Dramatiq's and gunicorn's main
    processes pass it on to their workers once and wait for them to finish their
    messages. Sent to the whole process group, a Dramatiq worker would get it twice, and
    the second one kills it at once ("Killing worker process…"), its message unfinished.
    SIGKILL goes to the whole group, so that nothing of a command outlives it.
    """
    for process in processes.values():
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    for name, process in processes.items():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            print(f"{name} did not stop within {grace:g} s; killing it", flush=True)
            _kill_group(process)
        except KeyboardInterrupt:
            # A second Ctrl-C: no more grace for anyone.
            print("stopping now: killing what is still running", flush=True)
            for other in processes.values():
                _kill_group(other)
            return


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a command's whole process group (its leader may have gone already)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
