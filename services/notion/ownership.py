"""What on a page is the integration's, and what is the user's.

People edit the pages they collect. The integration writes only its own properties, and
of those only the ones the user has not changed since it last wrote them: it keeps what
it last wrote (``Publication.written_properties``, as plain values) and compares it with
the page as it is now. Tags are merged: the tags the user added stay (and become the
link's tags), the ones the user removed stay removed, whatever the link's tags become.
Blocks are the integration's when its bot user created them (``created_by``); it
removes no other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: The property holding the link's tags is merged rather than owned.
MULTI_SELECT = "multi_select"
#: Options a multi-select value may hold.
MAX_OPTIONS = 100


@dataclass(frozen=True)
class Merge:
    """The result of comparing a page's properties with what the integration wants.

    ``to_write`` is the request's ``properties`` (empty: nothing to send); ``written``
    what the integration has now written (name → plain value); ``tags`` the page's tags
    after the write, when the page has a tags property.
    """

    to_write: dict[str, Any]
    written: dict[str, Any]
    tags: list[str] | None


def plain(payload: dict[str, Any] | None) -> Any:
    """Return a property value (``{"select": {...}}``, or Notion's answer) as a plain value.

    Text becomes its string, a select its option's name, a multi-select its names, a
    date its start day; what the integration never writes compares as itself.
    """
    if not payload:
        return None
    kind = payload.get("type") or next(
        (key for key in payload if key not in ("id", "type", "name")), None
    )
    if kind is None:
        return None
    value = payload.get(kind)
    if kind in ("title", "rich_text"):
        return "".join(_item_text(item) for item in value or []) or None
    if kind in ("select", "status"):
        return value.get("name") if isinstance(value, dict) else None
    if kind == MULTI_SELECT:
        return [option.get("name") for option in value or [] if isinstance(option, dict)]
    if kind == "date":
        return str(value.get("start"))[:10] if isinstance(value, dict) else None
    return value


def merge(
    ours: dict[str, dict[str, Any]],
    current: dict[str, dict[str, Any]],
    written: dict[str, Any] | None,
    *,
    tags: str | None = None,
) -> Merge:
    """Compare the values the integration wants (``ours``) with the page's (``current``).

    ``written`` holds what the integration last wrote (``None``: not known, a page
    published before this was kept; every owned value is then written, tags merged).
    ``tags`` names the multi-select property whose user-added options are kept.
    """
    to_write: dict[str, Any] = {}
    now_written: dict[str, Any] = {}
    page_tags: list[str] | None = None
    for name, payload in ours.items():
        wanted = plain(payload)
        present = plain(current.get(name)) if name in current else None
        before = written.get(name) if written is not None else None
        if name == tags:
            names, ours_part = _merged_tags(wanted or [], present or [], before)
            page_tags = names
            now_written[name] = ours_part
            if names != (present or []):
                to_write[name] = {MULTI_SELECT: [{"name": option} for option in names]}
            continue
        if written is not None and name in written and name in current and present != before:
            # The user changed it in Notion since it was written: it is theirs now.
            now_written[name] = before
            continue
        now_written[name] = wanted
        if name not in current or present != wanted:
            to_write[name] = payload
    return Merge(to_write, now_written, page_tags)


def written_values(ours: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Return the plain values of properties just written (a create)."""
    return {name: plain(payload) for name, payload in ours.items()}


def owned(block: dict[str, Any], bot_id: str) -> bool:
    """Tell whether the integration's bot user created ``block``."""
    author = block.get("created_by") or {}
    return bool(bot_id) and author.get("id") == bot_id


def _merged_tags(
    wanted: list[str], present: list[str], before: list[str] | None
) -> tuple[list[str], list[str]]:
    """Return the tags a page should have, and the part of them to remember as ours.

    The page keeps ours without those the user removed, and the ones the user added.
    What is remembered leaves the user's out (so they stay theirs however the link's own
    tags change) and keeps the removed ones in (so they stay removed).
    """
    if before is None:
        return list(dict.fromkeys([*wanted, *present]))[:MAX_OPTIONS], list(wanted)
    removed = set(before) - set(present)
    added = [name for name in present if name not in before]
    kept = dict.fromkeys([*(name for name in wanted if name not in removed), *added])
    remembered = [name for name in wanted if name not in added]
    remembered += [name for name in before if name in removed and name not in remembered]
    return list(kept)[:MAX_OPTIONS], remembered


def _item_text(item: Any) -> str:
    if not isinstance(item, dict):
        return ""
    text = item.get("text")
    if isinstance(text, dict) and isinstance(text.get("content"), str):
        return str(text["content"])
    return str(item.get("plain_text") or "")
