"""Times as a person writes and reads them: in their own zone; UTC on the wire.

``--at`` takes an ISO 8601 time (with a zone, or without one for the local zone), a time
of day (``08:30``, the next one), or a delay (``+10m``, ``+2h``, ``+1d``); a time that
has passed is refused unless ``--now`` says to start at once. The API's UTC times are
shown in the local zone with its name.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import click

_DELAY = re.compile(r"^\+\s*(\d+)\s*([smhd])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}
_TIME_OF_DAY = re.compile(r"^(\d{1,2}):(\d{2})$")


def parse_at(text: str, *, now: datetime | None = None) -> str:
    """Return ``--at``'s time as ISO 8601 in UTC; raise ``click.BadParameter`` otherwise."""
    now = (now or datetime.now(UTC)).astimezone()
    value = text.strip()
    delay = _DELAY.match(value)
    if delay:
        moment = now + timedelta(seconds=int(delay[1]) * _SECONDS[delay[2]])
    elif clock := _TIME_OF_DAY.match(value):
        hour, minute = int(clock[1]), int(clock[2])
        if hour > 23 or minute > 59:
            raise click.BadParameter(f"{text!r} is not a time of day", param_hint="--at")
        moment = datetime.combine(now.date(), time(hour, minute), now.tzinfo)
        if moment <= now:
            moment += timedelta(days=1)
    else:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise click.BadParameter(
                f"{text!r}: give 2026-12-24T08:00, 08:30 or +10m", param_hint="--at"
            ) from None
        if moment.tzinfo is None:
            moment = moment.astimezone()  # the local zone, as the person meant it
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def refuse_past(run_at: str, text: str, *, now: datetime | None = None) -> None:
    """Refuse an ``--at`` time (``run_at``, as :func:`parse_at` returns it) that has passed.

    A task scheduled in the past would start at once, which is seldom what the person
    meant (a wrong date, a time zone mistaken): ``--now`` says it is.
    """
    moment = datetime.fromisoformat(run_at.replace("Z", "+00:00"))
    if moment < (now or datetime.now(UTC)):
        raise click.BadParameter(
            f"{text!r} is in the past ({local(run_at)}); give a later time, "
            "or add --now to start the task at once",
            param_hint="--at",
        )


def local(iso_time: str | None) -> str:
    """Return an API time (UTC, ISO 8601) in the local zone, or ``-``."""
    if not iso_time:
        return "-"
    moment = datetime.fromisoformat(iso_time.replace("Z", "+00:00")).astimezone()
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z")
