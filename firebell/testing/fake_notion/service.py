"""The fake Notion served over HTTP: every endpoint routed behind the token and ``Notion-Version``
checks, the test set-up and inspection, and Notion's answers for what the fake does not serve."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

from firebell.testing.fake_http import Answer, Request
from firebell.testing.fake_notion.block_parsing import _block_text
from firebell.testing.fake_notion.databases import DatabasesMethods
from firebell.testing.fake_notion.defaults import (
    NOTION_DATA_SOURCE_ID,
    NOTION_DATABASE_ID,
    NOTION_TOKEN,
    NOTION_VERSION,
    POSTMORTEM_SCHEMA,
)
from firebell.testing.fake_notion.errors import _error_body, _invalid, _Refused
from firebell.testing.fake_notion.formats import _dashed, _key, _now
from firebell.testing.fake_notion.objects import FakeBlock, _Block, _Database, _DataSource, _Page
from firebell.testing.fake_notion.property_values import _simple_value


class FakeNotion(DatabasesMethods):
    """Notion's REST API, version 2025-09-03, for the real ``notion_client``.

    Starts with one database (:data:`NOTION_DATABASE_ID`) holding one data source
    (:data:`NOTION_DATA_SOURCE_ID`) with :data:`POSTMORTEM_SCHEMA`, and accepts
    :data:`NOTION_TOKEN`.
    Pass ``requests_per_second`` (e.g. :data:`NOTION_REQUESTS_PER_SECOND`) to answer 429
    ``rate_limited`` past that rate.
    """

    def __init__(
        self,
        *,
        token: str = NOTION_TOKEN,
        requests_per_second: float | None = None,
        retry_after: int = 1,
        **service: Any,
    ) -> None:
        super().__init__(**service)
        self.tokens: set[str] = {token}
        self._databases: dict[str, _Database] = {}
        self._data_sources: dict[str, _DataSource] = {}
        self._pages: dict[str, _Page] = {}
        self._blocks: dict[str, _Block] = {}
        self._children: dict[str, list[str]] = {}
        self._property_ids = itertools.count(1)
        self.add_database(NOTION_DATABASE_ID, NOTION_DATA_SOURCE_ID, POSTMORTEM_SCHEMA)
        if requests_per_second is not None:
            self.rate_limit(r"^/v1/", requests_per_second, retry_after=retry_after)
        for method, path, handler in [
            ("GET", "/v1/databases/{database_id}", self._retrieve_database),
            ("GET", "/v1/data_sources/{data_source_id}", self._retrieve_data_source),
            ("POST", "/v1/data_sources/{data_source_id}/query", self._query_data_source),
            ("POST", "/v1/pages", self._create_page),
            ("GET", "/v1/pages/{page_id}", self._retrieve_page),
            ("PATCH", "/v1/pages/{page_id}", self._update_page),
            ("GET", "/v1/blocks/{block_id}", self._retrieve_block),
            ("PATCH", "/v1/blocks/{block_id}", self._update_block),
            ("DELETE", "/v1/blocks/{block_id}", self._delete_block),
            ("GET", "/v1/blocks/{block_id}/children", self._list_children),
            ("PATCH", "/v1/blocks/{block_id}/children", self._append_children),
        ]:
            self.route(method, path, self._guarded(handler))

    # -- set-up and inspection ---------------------------------------------------------------

    def add_database(
        self,
        database_id: str,
        data_source_id: str,
        properties_schema: Mapping[str, str | Mapping[str, Any]],
        *,
        title: str = "Post-mortems",
    ) -> None:
        """Create a database (or add a data source to an existing one) with this schema.

        ``properties_schema`` maps a property name to its type (``"rich_text"``) or to Notion's
        property configuration (``{"select": {"options": ["SEV1", "SEV2"]}}``); options may be
        plain names. Exactly one property must be the ``title``.
        """
        properties = {
            name: self._schema_property(name, config) for name, config in properties_schema.items()
        }
        titles = [name for name, p in properties.items() if p["type"] == "title"]
        if len(titles) != 1:
            raise ValueError(f"a data source needs exactly one title property, got {titles!r}")
        now = _now()
        with self._lock:
            database = self._databases.setdefault(
                _key(database_id), _Database(_dashed(_key(database_id)), title, [], now)
            )
            source = _DataSource(_dashed(_key(data_source_id)), database.id, title, properties, now)
            self._data_sources[_key(data_source_id)] = source
            database.data_source_ids.append(source.id)

    @property
    def pages(self) -> list[dict[str, Any]]:
        """Every page created so far (trashed ones too), as ``pages.retrieve`` returns them."""
        with self._lock:
            return [self._page_object(page) for page in self._pages.values()]

    def page(self, page_id: str) -> dict[str, Any]:
        """One page, as ``pages.retrieve`` returns it; ``KeyError`` if there is none."""
        with self._lock:
            return self._page_object(self._pages[_key(page_id)])

    def page_properties(self, page_id: str) -> dict[str, Any]:
        """A page's property values as plain Python: text, option name, number, date start…"""
        with self._lock:
            page = self._pages[_key(page_id)]
            return {name: _simple_value(value) for name, value in page.properties.items()}

    def page_blocks(self, page_id: str) -> list[FakeBlock]:
        """The page's blocks that are not in the trash, depth first, with their plain text."""
        with self._lock:
            if _key(page_id) not in self._pages:
                raise KeyError(page_id)
            found: list[FakeBlock] = []
            self._flatten(_key(page_id), 0, found)
            return found

    def _flatten(self, parent: str, depth: int, found: list[FakeBlock]) -> None:
        for child in self._children.get(parent, []):
            block = self._blocks[child]
            if block.in_trash:
                continue
            checked = block.content.get("checked") if block.type == "to_do" else None
            found.append(FakeBlock(block.id, block.type, _block_text(block), depth, checked))
            self._flatten(child, depth + 1, found)

    # -- the fake's answers to the unexpected ------------------------------------------------

    def rate_limited_body(self) -> Any:
        """Notion's 429 body."""
        return _error_body(429, "rate_limited", "You have been rate limited. Please try again.")

    def not_found(self, request: Request) -> Answer:
        """Notion answers an unknown path or method with 400 ``invalid_request_url``."""
        return Answer(400, _error_body(400, "invalid_request_url", "Invalid request URL."))

    def _guarded(self, handler: Callable[[Request], Any]) -> Callable[[Request], Answer]:
        def answer(request: Request) -> Answer:
            try:
                self._check_headers(request)
                return Answer(200, handler(request))
            except _Refused as refused:
                body = _error_body(refused.status, refused.code, refused.message)
                return Answer(refused.status, body)
            except Exception as e:  # a bug in the fake: say so loudly rather than drop the line
                message = f"FakeNotion failed: {e!r}"
                return Answer(500, _error_body(500, "internal_server_error", message))

        return answer

    def _check_headers(self, request: Request) -> None:
        authorization = request.header("Authorization") or ""
        scheme, _, token = authorization.partition(" ")
        if scheme != "Bearer" or token not in self.tokens:
            raise _Refused(401, "unauthorized", "API token is invalid.")
        version = request.header("Notion-Version")
        if version is None:
            raise _Refused(
                400,
                "missing_version",
                "Notion-Version header failed validation: Notion-Version header should be "
                "defined, instead was `undefined`.",
            )
        if version != NOTION_VERSION:
            raise _invalid(
                f"This fake speaks Notion-Version {NOTION_VERSION} only, not {version!r}."
            )
