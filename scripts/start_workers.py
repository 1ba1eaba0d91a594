"""Start workers the way the original system's script did; ``--stats`` shows the queues.

Kept for deployments written for the original system (systemd units, supervisor,
compose files): ``python scripts/start_workers.py --queue parsing --workers 3`` runs the
parser service's Dramatiq workers; without ``--queue`` every service runs with its
``WORKER_COUNT_*`` processes until Ctrl-C. Each service serves its metrics on its own
port, as under ``kbm up`` (``WORKER_METRICS_PORT`` for the parser, +1 for ai, +2 for
notion, +3 for default), so the original one-unit-per-queue setups share no port.
"""

from __future__ import annotations

import argparse
import sys

import redis

from services.cli import launch, output
from shared.errors import ConfigurationError
from shared.monitoring import Monitor, unconsumed
from shared.redact import redact_urls
from shared.settings import Settings


def print_stats(settings: Settings) -> None:
    """Print queue depths and the live worker processes, read from Redis.

    Brokers that only send (the gateway, ``kbm doctor``'s probe) have heartbeats too;
    they are no workers and are not counted.
    """
    monitor = Monitor(redis.Redis.from_url(settings.redis_url, socket_timeout=5))
    depths = monitor.queue_depths()
    rows = [[queue, *counts.values()] for queue, counts in depths.items()]
    print(output.table(["queue", "waiting", "delayed", "unacked", "dead"], rows))
    workers = monitor.worker_processes()
    print(f"\n{len(workers)} workers with a heartbeat in the last minute")
    for worker in workers:
        held = ", ".join(f"{queue}: {count}" for queue, count in worker["queues"].items())
        print(
            f"  {worker['id']}  {','.join(worker['consumes'])}  pid {worker['pid']} on "
            f"{worker['host']}  {worker['last_heartbeat_age_s']} s ago"
            + (f"  holding {held}" if held else "")
        )
    for queue in unconsumed(depths, workers):
        waiting = depths[queue]["waiting"]
        print(f"no worker consumes {queue}" + (f": {waiting} messages wait" if waiting else ""))


def _positive(text: str) -> int:
    """Return a count of processes: a whole number from 1."""
    try:
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {count}")
    return count


def main(argv: list[str] | None = None) -> int:
    """Parse the original script's options and run what they ask for."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queue", help="parsing, ai, notion or default (or a service name)")
    parser.add_argument(
        "--workers", type=_positive, help="worker processes of --queue (default WORKER_COUNT_*)"
    )
    parser.add_argument("--threads", type=int, help="threads per process")
    parser.add_argument(
        "--metrics-port",
        type=int,
        help="Prometheus port of --queue's workers (default: WORKER_METRICS_PORT, +1 for ai, "
        "+2 for notion, +3 for default, so one host's units never share one)",
    )
    parser.add_argument("--stats", action="store_true", help="show queues and workers, then exit")
    args = parser.parse_args(argv)
    if args.workers is not None and not args.queue:
        parser.error(
            "--workers needs --queue; without it every service runs, each with its "
            "WORKER_COUNT_* processes (WORKER_COUNT_PARSING=5 …)"
        )
    settings = Settings.from_env()
    if args.stats:
        try:
            print_stats(settings)
        except redis.RedisError as ex:
            print(f"error: Redis at {redact_urls(settings.redis_url)}: {ex}", file=sys.stderr)
            return 1
        return 0
    try:
        launch.check_database(settings)
    except ConfigurationError as ex:
        print(f"error: {ex}", file=sys.stderr)
        return 1
    if args.queue:
        try:
            service = launch.service_name(args.queue)
        except ValueError as ex:
            parser.error(str(ex))
        port = args.metrics_port or launch.side_by_side_port(settings, service)
        launch.exec_command(
            launch.worker_command(
                service, settings, processes=args.workers, threads=args.threads, metrics_port=port
            )
        )
    # One metrics port per command, as `kbm up`: WORKER_METRICS_PORT, the next, …
    return launch.run_together(launch.worker_commands(settings, threads=args.threads))


if __name__ == "__main__":
    sys.exit(main())
