"""The database and data source endpoints: retrieve them, and query a data source's pages with
filters, sorts and pagination."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from firebell.testing.fake_http import Request
from firebell.testing.fake_notion.defaults import _BOT_USER, _PARENT_PAGE_ID
from firebell.testing.fake_notion.errors import _body_invalid, _invalid
from firebell.testing.fake_notion.filters import _operator
from firebell.testing.fake_notion.formats import _key
from firebell.testing.fake_notion.objects import _DataSource, _Page
from firebell.testing.fake_notion.pages import PagesMethods
from firebell.testing.fake_notion.pagination import _paginate
from firebell.testing.fake_notion.property_values import _TEXT_PROPERTIES, _simple_value
from firebell.testing.fake_notion.rich_text import _rich_text


class DatabasesMethods(PagesMethods):
    """``/v1/databases/…`` and ``/v1/data_sources/…``: retrieved, and a data source's pages queried."""

    def _retrieve_database(self, request: Request) -> dict[str, Any]:
        key = self._path_id(request, "database_id")
        database = self._databases.get(key)
        if database is None:
            raise self._missing("database", request.path_params["database_id"])
        return {
            "object": "database",
            "id": database.id,
            "title": _rich_text([{"text": {"content": database.title}}], "title"),
            "description": [],
            "parent": {"type": "page_id", "page_id": _PARENT_PAGE_ID},
            "is_inline": False,
            "in_trash": False,
            "is_locked": False,
            "created_time": database.created_time,
            "last_edited_time": database.created_time,
            "data_sources": [
                {"id": ds, "name": self._data_sources[_key(ds)].name}
                for ds in database.data_source_ids
            ],
            "icon": None,
            "cover": None,
            "url": f"https://www.notion.so/{_key(database.id)}",
            "public_url": None,
        }

    def _retrieve_data_source(self, request: Request) -> dict[str, Any]:
        self._path_id(request, "data_source_id")
        source = self._data_source(request.path_params["data_source_id"])
        return {
            "object": "data_source",
            "id": source.id,
            "created_time": source.created_time,
            "last_edited_time": source.created_time,
            "created_by": _BOT_USER,
            "last_edited_by": _BOT_USER,
            "title": _rich_text([{"text": {"content": source.name}}], "title"),
            "description": [],
            "icon": None,
            "properties": copy.deepcopy(source.properties),
            "parent": {"type": "database_id", "database_id": source.database_id},
            "database_parent": {"type": "page_id", "page_id": _PARENT_PAGE_ID},
            "archived": False,
            "in_trash": False,
            "url": f"https://www.notion.so/{_key(source.id)}",
        }

    def _query_data_source(self, request: Request) -> dict[str, Any]:
        self._path_id(request, "data_source_id")
        source = self._data_source(request.path_params["data_source_id"])
        body = self._json(request)
        matches: Callable[[_Page], bool] = lambda page: True  # noqa: E731
        if body.get("filter") is not None:
            matches = self._compile_filter(source, body["filter"], "body.filter")
        include_trash = bool(body.get("in_trash") or body.get("archived"))
        pages = [
            page
            for page in self._pages.values()
            if page.data_source_id == source.id
            and (include_trash or not page.in_trash)
            and matches(page)
        ]
        for sort in reversed(body.get("sorts") or []):
            pages.sort(
                key=self._sort_key(source, sort), reverse=sort.get("direction") == "descending"
            )
        listed = [self._page_object(page) for page in pages]
        return _paginate(
            listed, body.get("start_cursor"), body.get("page_size"), "page_or_data_source"
        )

    def _sort_key(self, source: _DataSource, sort: Any) -> Callable[[_Page], tuple[bool, Any]]:
        if not isinstance(sort, dict):
            raise _body_invalid(f"body.sorts should contain objects, instead was `{sort!r}`.")
        if sort.get("timestamp") in ("created_time", "last_edited_time"):
            field = sort["timestamp"]
            return lambda page: (False, getattr(page, field))
        name = sort.get("property")
        schema = source.lookup(name) if isinstance(name, str) else None
        if schema is None:
            raise _invalid(f"Could not find sort property with name or id: {name}")

        def key(page: _Page) -> tuple[bool, Any]:
            value = _simple_value(page.properties[schema["name"]])
            return (value is None, value if value is not None else "")

        return key

    def _compile_filter(
        self, source: _DataSource, spec: Any, where: str
    ) -> Callable[[_Page], bool]:
        if not isinstance(spec, dict):
            raise _body_invalid(f"{where} should be an object, instead was `{spec!r}`.")
        for compound in ("and", "or"):
            if compound in spec:
                parts = spec[compound]
                if not isinstance(parts, list):
                    raise _body_invalid(f"{where}.{compound} should be an array.")
                tests = [
                    self._compile_filter(source, part, f"{where}.{compound}[{i}]")
                    for i, part in enumerate(parts)
                ]
                combine = all if compound == "and" else any
                return lambda page: combine(test(page) for test in tests)
        name = spec.get("property")
        schema = source.lookup(name) if isinstance(name, str) else None
        if schema is None:
            raise _invalid(f"Could not find property with name or id: {name}")
        prop_type = schema["type"]
        kinds = [k for k in spec if k != "property"]
        if len(kinds) != 1:
            raise _body_invalid(f"{where} should name exactly one filter condition.")
        kind = kinds[0]
        compatible = kind == prop_type or (kind == "rich_text" and prop_type in _TEXT_PROPERTIES)
        if not compatible:
            raise _body_invalid(
                f"{where}.{kind} does not apply to property {name!r} of type {prop_type}."
            )
        condition = spec[kind]
        if not isinstance(condition, dict) or len(condition) != 1:
            raise _body_invalid(f"{where}.{kind} should have exactly one operator.")
        operator, operand = next(iter(condition.items()))
        test = _operator(prop_type, operator, operand, f"{where}.{kind}")
        prop_name = schema["name"]
        return lambda page: test(_simple_value(page.properties[prop_name]))
