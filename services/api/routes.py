"""The ``{id:id}`` path converter of the gateway's routes."""

from __future__ import annotations

import re

from falcon.routing import BaseConverter

#: Ids are PostgreSQL integers from 1: anything beyond cannot exist.
MAX_ID = 2**31 - 1
#: ASCII digits only: ``int()`` would also read Arabic-Indic or full-width digits, ``+1``.
_ID = re.compile(r"[0-9]{1,10}\Z")


class IdConverter(BaseConverter):
    """Convert a path segment to a row id: ASCII digits, 1 to ``MAX_ID``; else no route."""

    def convert(self, value: str) -> int | None:
        """Return the id, or ``None`` (404) for anything no row can have."""
        if not _ID.match(value):
            return None
        number = int(value)
        return number if 1 <= number <= MAX_ID else None
