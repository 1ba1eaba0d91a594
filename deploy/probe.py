"""Container probes: liveness (the process), readiness (Redis, database, schema), HTTP.

Images carry no curl and workers serve no health route, so orchestrators run this script:

    python /app/deploy/probe.py alive dramatiq   # liveness: the service's process runs
    python /app/deploy/probe.py ready            # readiness: Redis, database, migrations
    python /app/deploy/probe.py http URL         # an HTTP check (the gateway's health)

``alive`` looks at processes only, never at Redis or the database: a worker must not be
restarted because a dependency is down (restarting cannot fix that; readiness reports it).
``ready`` runs the same checks as the gateway's ``GET /api/monitoring/health``, from the
same settings (environment and ``.env``). Exit status 0 is healthy, 1 is not; one line
says why.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

#: Seconds a probe may wait on a connection: orchestrators kill slower probes anyway.
TIMEOUT_S = 3.0
USAGE = "usage: probe.py alive NAME | ready | http URL"


def alive(name: str, proc: Path = Path("/proc")) -> tuple[bool, str]:
    """Tell whether a live process (not a zombie) has ``name`` in its command line."""
    own = os.getpid()
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == own:
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            # The state follows the parenthesised command name, which may contain spaces.
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if state not in ("Z", "X") and any(name.encode() in part for part in argv):
            return True, f"process {entry.name} runs {name}"
    return False, f"no live process runs {name}"


def ready() -> tuple[bool, str]:
    """Tell whether Redis answers, the database answers and its schema is current."""
    # libpq's connect timeout: an unreachable database fails the probe instead of hanging.
    os.environ.setdefault("PGCONNECT_TIMEOUT", str(int(TIMEOUT_S)))
    import redis

    from shared.db import bind_database
    from shared.monitoring import Monitor
    from shared.settings import Settings

    settings = Settings.from_env()
    bind_database(settings.database_url)
    client = redis.Redis.from_url(
        settings.redis_url, socket_connect_timeout=TIMEOUT_S, socket_timeout=TIMEOUT_S
    )
    health = Monitor(client).health()
    failed = [
        f"{name} ({_reason(check)})" for name, check in health["checks"].items() if not check["ok"]
    ]
    if failed:
        return False, "not ready: " + ", ".join(failed)
    return True, "ready: redis, database and migrations ok"


def _reason(check: dict[str, Any]) -> str:
    if check.get("error"):
        return str(check["error"])
    if check.get("pending"):
        return f"pending {check['pending']}: run kbm migrate"
    return "unknown"


def http(url: str) -> tuple[bool, str]:
    """Tell whether ``url`` answers a 2xx status."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as response:
            return True, f"{url} answered {response.status}"
    except urllib.error.HTTPError as ex:
        return False, f"{url} answered {ex.code}"
    except OSError as ex:
        return False, f"{url} failed: {ex}"


def main(argv: list[str]) -> int:
    """Run the probe named by ``argv``; print why and return the exit status."""
    match argv:
        case ["alive", name]:
            ok, why = alive(name)
        case ["ready"]:
            try:
                ok, why = ready()
            except Exception as ex:  # a misconfiguration is "not ready", said in one line
                ok, why = False, f"not ready: {type(ex).__name__}: {ex}"
        case ["http", url]:
            ok, why = http(url)
        case _:
            print(USAGE, file=sys.stderr)
            return 2
    print(why, file=sys.stdout if ok else sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
