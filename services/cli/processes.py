"""``kbm migrate``, ``api``, ``worker``, ``scheduler`` and ``up``: run the services."""

from __future__ import annotations

import sys

import click

from services.cli import launch
from services.cli.command import KbmCommand, settings


@click.command(cls=KbmCommand)
def migrate() -> None:
    """Create or upgrade the database schema (safe to run again)."""
    from shared.db import bind_database
    from shared.migrations import LATEST_VERSION
    from shared.migrations import migrate as run_migrations

    bind_database(settings().database_url)
    applied = run_migrations()
    for migration in applied:
        click.echo(f"applied {migration.version}: {migration.name}")
    click.echo(
        f"database schema at version {LATEST_VERSION}" + ("" if applied else " (up to date)")
    )


@click.command(cls=KbmCommand)
@click.option("--workers", type=int, default=None, help="gunicorn worker processes")
def api(workers: int | None) -> None:
    """Serve the HTTP gateway under gunicorn."""
    launch.exec_command(launch.api_command(settings(), workers=workers))


@click.command(cls=KbmCommand)
@click.argument("service", type=click.Choice(list(launch.SERVICES) + list(launch.QUEUE_TO_SERVICE)))
@click.option("--processes", "-p", type=int, default=None, help="worker processes (WORKER_COUNT_*)")
@click.option("--threads", "-t", type=int, default=None, help="threads per process")
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Prometheus port (default WORKER_METRICS_PORT, 9191)",
)
def worker(
    service: str, processes: int | None, threads: int | None, metrics_port: int | None
) -> None:
    """Run one service's Dramatiq workers on its queue."""
    command = launch.worker_command(
        service, settings(), processes=processes, threads=threads, metrics_port=metrics_port
    )
    launch.check_database(settings())
    launch.exec_command(command)


@click.command(cls=KbmCommand)
def scheduler() -> None:
    """Run the periodiq scheduler: reconciler every minute, cleanup every hour."""
    launch.check_database(settings())
    launch.exec_command(launch.scheduler_command(settings()))


@click.command(cls=KbmCommand)
@click.option("--no-migrate", is_flag=True, help="do not run migrations first")
def up(no_migrate: bool) -> None:
    """Run the gateway and every service's workers here; Ctrl-C stops them all."""
    current = settings()
    # One metrics port per worker command on this host: WORKER_METRICS_PORT, +1, …
    workers = launch.worker_commands(current)
    if not no_migrate:
        from shared.db import bind_database
        from shared.migrations import migrate as run_migrations

        bind_database(current.database_url)
        run_migrations()
    commands = [launch.api_command(current), launch.scheduler_command(current), *workers]
    for command in workers:
        click.echo(f"{command.name} metrics on http://{command.metrics_address}/metrics")
    click.echo(f"gateway on http://{current.api_host}:{current.api_port}; Ctrl-C stops all")
    sys.exit(launch.run_together(commands))


#: The commands of this module, as ``kbm`` adds them.
COMMANDS = (migrate, api, worker, scheduler, up)
