"""A fake Notion API (version ``2025-09-03``) that the real ``notion_client.Client`` talks to.

Point the real client at it and it answers like ``https://api.notion.com``: a database holds data
sources, pages live in a data source and have block children, errors have Notion's shape::

    with FakeNotion() as notion:
        client = notion_client.Client(auth=NOTION_TOKEN, base_url=notion.url)
        database = client.databases.retrieve(NOTION_DATABASE_ID)
        source_id = database["data_sources"][0]["id"]

It enforces the limits that bite in production: at most 100 blocks per request, at most 2000
characters per rich-text item, property values that match the data source schema, status options
that exist, and (with ``requests_per_second``) a 429 ``rate_limited`` with ``Retry-After``.
``notion_fault`` builds Notion-shaped errors for :meth:`FakeService.fail_next`.

The package holds one module per concern: :mod:`.service` (:class:`FakeNotion`: routing, headers,
set-up and inspection), :mod:`.workspace` (its state and shared lookups), the endpoints
(:mod:`.blocks`, :mod:`.pages`, :mod:`.databases`), what requests carry (:mod:`.rich_text`,
:mod:`.block_parsing`, :mod:`.property_values`, :mod:`.filters`, :mod:`.pagination`) and the pieces
they share: :mod:`.defaults`, :mod:`.limits`, :mod:`.objects`, :mod:`.errors` and :mod:`.formats`.
"""

from __future__ import annotations

from firebell.testing.fake_notion.defaults import (
    NOTION_DATA_SOURCE_ID,
    NOTION_DATABASE_ID,
    NOTION_TOKEN,
    NOTION_VERSION,
    POSTMORTEM_SCHEMA,
)
from firebell.testing.fake_notion.errors import notion_fault
from firebell.testing.fake_notion.limits import (
    MAX_BLOCKS_PER_REQUEST,
    MAX_RICH_TEXT_LENGTH,
    NOTION_REQUESTS_PER_SECOND,
)
from firebell.testing.fake_notion.objects import FakeBlock
from firebell.testing.fake_notion.service import FakeNotion

__all__ = [
    "MAX_BLOCKS_PER_REQUEST",
    "MAX_RICH_TEXT_LENGTH",
    "NOTION_DATABASE_ID",
    "NOTION_DATA_SOURCE_ID",
    "NOTION_REQUESTS_PER_SECOND",
    "NOTION_TOKEN",
    "NOTION_VERSION",
    "POSTMORTEM_SCHEMA",
    "FakeBlock",
    "FakeNotion",
    "notion_fault",
]
