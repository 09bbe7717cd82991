"""What the fake stores (databases, data sources, pages, blocks) and :class:`FakeBlock`, a
page's block as a test sees it."""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class FakeBlock:
    """One block of a page as :meth:`FakeNotion.page_blocks` lists it (depth 0 is top level)."""

    id: str
    type: str
    text: str
    depth: int = 0
    checked: bool | None = None


@attrs.define
class _DataSource:
    id: str
    database_id: str
    name: str
    properties: dict[str, dict[str, Any]]
    created_time: str

    def lookup(self, name_or_id: str) -> dict[str, Any] | None:
        if name_or_id in self.properties:
            return self.properties[name_or_id]
        return next((p for p in self.properties.values() if p["id"] == name_or_id), None)


@attrs.define
class _Database:
    id: str
    title: str
    data_source_ids: list[str]
    created_time: str


@attrs.define
class _Page:
    id: str
    data_source_id: str
    database_id: str
    properties: dict[str, dict[str, Any]]
    created_time: str
    last_edited_time: str
    icon: Any = None
    cover: Any = None
    in_trash: bool = False


@attrs.define
class _Block:
    id: str
    parent_id: str
    parent_type: str
    type: str
    content: dict[str, Any]
    created_time: str
    last_edited_time: str
    in_trash: bool = False


@attrs.frozen
class _NewBlock:
    type: str
    content: dict[str, Any]
    children: tuple[_NewBlock, ...] = ()
