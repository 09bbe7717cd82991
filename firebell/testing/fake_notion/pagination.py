"""One page of a Notion list (``results``, ``next_cursor``, ``has_more``) from a start cursor."""

from __future__ import annotations

import uuid
from typing import Any

from firebell.testing.fake_notion.errors import _body_invalid, _invalid
from firebell.testing.fake_notion.formats import _key


def _paginate(
    results: list[dict[str, Any]], cursor: Any, page_size: Any, kind: str
) -> dict[str, Any]:
    size = 100 if page_size is None else page_size
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 100:
        raise _body_invalid(
            f"page_size should be an integer from 1 to 100, instead was `{size!r}`."
        )
    start = 0
    if cursor is not None:
        ids = [_key(r["id"]) for r in results]
        if not isinstance(cursor, str) or _key(cursor) not in ids:
            raise _invalid(f"start_cursor {cursor!r} is not a cursor from this list.")
        start = ids.index(_key(cursor))
    window = results[start : start + size]
    has_more = start + size < len(results)
    return {
        "object": "list",
        "results": window,
        "next_cursor": results[start + size]["id"] if has_more else None,
        "has_more": has_more,
        "type": kind,
        kind: {},
        "request_id": str(uuid.uuid4()),
    }
