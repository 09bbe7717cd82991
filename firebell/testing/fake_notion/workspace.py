"""What a fake Notion workspace holds (databases, data sources, pages, blocks) and the lookups
every group of endpoints shares: the JSON body, ids from the path, objects or 404."""

from __future__ import annotations

import itertools
import re
from typing import Any

from firebell.testing.fake_http import FakeService, Request
from firebell.testing.fake_notion.errors import _body_invalid, _invalid, _Refused
from firebell.testing.fake_notion.formats import _key
from firebell.testing.fake_notion.objects import _Block, _Database, _DataSource, _Page


class NotionWorkspace(FakeService):
    """The state of a fake Notion workspace and the lookups every group of endpoints needs.

    :class:`~firebell.testing.fake_notion.FakeNotion` sets these attributes up in its
    ``__init__``; the endpoints build on this class: blocks, then pages (which hold blocks), then
    databases and data sources (whose queries list pages).
    """

    _databases: dict[str, _Database]
    _data_sources: dict[str, _DataSource]
    _pages: dict[str, _Page]
    _blocks: dict[str, _Block]
    _children: dict[str, list[str]]
    _property_ids: itertools.count[int]

    # -- lookups -----------------------------------------------------------------------------

    def _json(self, request: Request) -> dict[str, Any]:
        try:
            body = request.json()
        except ValueError as e:
            raise _Refused(400, "invalid_json", "Error parsing JSON body.") from e
        if not isinstance(body, dict):
            raise _body_invalid(f"body should be an object, instead was `{body!r}`.")
        return body

    def _path_id(self, request: Request, name: str) -> str:
        raw = request.path_params[name]
        key = _key(raw)
        if not re.fullmatch(r"[0-9a-f]{32}", key):
            raise _invalid(
                f"path failed validation: path.{name} should be a valid uuid, instead was "
                f"`{raw!r}`."
            )
        return key

    def _missing(self, kind: str, object_id: str) -> _Refused:
        return _Refused(
            404,
            "object_not_found",
            f"Could not find {kind} with ID: {object_id}. Make sure the relevant pages and "
            "databases are shared with your integration.",
        )

    def _data_source(self, data_source_id: str) -> _DataSource:
        source = self._data_sources.get(_key(data_source_id))
        if source is None:
            raise self._missing("data_source", data_source_id)
        return source

    def _page_or_missing(self, request: Request) -> _Page:
        key = self._path_id(request, "page_id")
        page = self._pages.get(key)
        if page is None:
            raise self._missing("page", request.path_params["page_id"])
        return page
