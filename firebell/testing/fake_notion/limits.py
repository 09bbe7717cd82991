"""The Notion API limits the fake enforces: request rate, blocks per request, rich-text length
and how deep one request may nest blocks."""

from __future__ import annotations

NOTION_REQUESTS_PER_SECOND = 3.0
"""Notion's documented average rate limit per integration."""

MAX_BLOCKS_PER_REQUEST = 100
"""Most block children one create or append request may carry (per array)."""

MAX_RICH_TEXT_LENGTH = 2000
"""Most characters in one rich-text item's ``text.content``."""

# Depth of block arrays one request may nest: children, their children, and theirs.
_MAX_NESTING = 3
