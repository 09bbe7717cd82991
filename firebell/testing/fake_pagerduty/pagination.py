"""PagerDuty's classic pagination (``limit``, ``offset``, ``more``, ``total``)."""

from __future__ import annotations

import copy
from typing import Any

from firebell.testing.fake_http import Answer, Request
from firebell.testing.fake_pagerduty.errors import _invalid_input


def _page(request: Request, wrapper: str, items: list[dict[str, Any]]) -> Answer:
    """One page of classic (``limit``/``offset``/``more``) pagination."""
    try:
        limit = int(request.query.get("limit", "25"))
        offset = int(request.query.get("offset", "0"))
    except ValueError:
        return _invalid_input("limit and offset must be integers")
    if limit < 1 or offset < 0:
        return _invalid_input("limit must be positive and offset must not be negative")
    limit = min(limit, 100)
    page = items[offset : offset + limit]
    total = len(items) if request.query.get("total") == "true" else None
    return Answer(
        200,
        {
            wrapper: copy.deepcopy(page),
            "limit": limit,
            "offset": offset,
            "more": offset + len(page) < len(items),
            "total": total,
        },
    )
