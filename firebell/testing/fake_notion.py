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
"""

from __future__ import annotations

import copy
import itertools
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from firebell.testing.fake_http import Answer, FakeService, Fault, Request

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

NOTION_VERSION = "2025-09-03"
"""The only ``Notion-Version`` the fake speaks (notion-client 3.x sends it by default)."""

NOTION_TOKEN = "ntn_firebell_fake_notion_token"
"""The integration token the fake accepts unless told otherwise."""

NOTION_DATABASE_ID = "0442a94f-7f60-45fe-9cad-3d06bb956d4d"
"""The pre-created post-mortem database."""

NOTION_DATA_SOURCE_ID = "967c8594-e690-4082-af5c-c48a237fc657"
"""The single data source of :data:`NOTION_DATABASE_ID`."""

NOTION_REQUESTS_PER_SECOND = 3.0
"""Notion's documented average rate limit per integration."""

MAX_BLOCKS_PER_REQUEST = 100
"""Most block children one create or append request may carry (per array)."""

MAX_RICH_TEXT_LENGTH = 2000
"""Most characters in one rich-text item's ``text.content``."""

POSTMORTEM_SCHEMA: Mapping[str, Mapping[str, Any]] = {
    "Name": {"title": {}},
    "Title": {"rich_text": {}},
    "Severity": {"select": {"options": ["SEV1", "SEV2", "SEV3", "SEV4"]}},
    "Status": {"status": {"options": ["Open", "Resolved", "Closed"]}},
    "Slack channel": {"url": {}},
    "PagerDuty": {"url": {}},
    "Declared at": {"date": {}},
    "Duration (minutes)": {"number": {"format": "number"}},
    "Incident": {"rich_text": {}},
}
"""The default database's properties: the post-mortem schema Firebell's Notion plugin expects."""

_PARENT_PAGE_ID = "59d04046-7397-4b5e-ac65-7e2905fefb16"
_BOT_USER = {"object": "user", "id": "3c0f1d2e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"}
_TEXT_BLOCKS = frozenset(
    {
        "paragraph",
        "heading_1",
        "heading_2",
        "heading_3",
        "bulleted_list_item",
        "numbered_list_item",
        "to_do",
        "toggle",
        "quote",
        "callout",
    }
)
_PLAIN_BLOCKS = frozenset({"divider", "table_of_contents", "breadcrumb"})
_URL_BLOCKS = frozenset({"bookmark", "embed"})
_BLOCK_TYPES = _TEXT_BLOCKS | _PLAIN_BLOCKS | _URL_BLOCKS | {"code", "equation"}
_TEXT_PROPERTIES = frozenset({"title", "rich_text", "url", "email", "phone_number"})
_WRITABLE_PROPERTIES = _TEXT_PROPERTIES | {
    "select",
    "multi_select",
    "status",
    "number",
    "date",
    "checkbox",
    "people",
    "relation",
    "files",
}
_DEFAULT_ANNOTATIONS = {
    "bold": False,
    "italic": False,
    "strikethrough": False,
    "underline": False,
    "code": False,
    "color": "default",
}
# Depth of block arrays one request may nest: children, their children, and theirs.
_MAX_NESTING = 3


def notion_fault(status: int, code: str, message: str | None = None, **fault: Any) -> Fault:
    """A :class:`Fault` whose body has Notion's error shape, e.g. ``notion_fault(503,
    "service_unavailable")``; extra keyword arguments (``headers``, ``delay``) go to the fault."""
    body = _error_body(status, code, message or f"Injected {code}.")
    return Fault(status=status, body=body, **fault)


@attrs.frozen
class FakeBlock:
    """One block of a page as :meth:`FakeNotion.page_blocks` lists it (depth 0 is top level)."""

    id: str
    type: str
    text: str
    depth: int = 0
    checked: bool | None = None


class _Refused(Exception):
    """Raised inside a handler to answer with a Notion error."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _invalid(message: str) -> _Refused:
    return _Refused(400, "validation_error", message)


def _body_invalid(message: str) -> _Refused:
    return _invalid(f"body failed validation: {message}")


def _error_body(status: int, code: str, message: str) -> dict[str, Any]:
    return {
        "object": "error",
        "status": status,
        "code": code,
        "message": message,
        "request_id": str(uuid.uuid4()),
    }


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _key(object_id: str) -> str:
    return object_id.replace("-", "").lower()


def _dashed(hex_id: str) -> str:
    return str(uuid.UUID(hex_id))


def _shown(value: Any) -> str:
    return "undefined" if value is None else repr(value)


def _plain(rich_text: list[dict[str, Any]]) -> str:
    return "".join(str(item.get("plain_text", "")) for item in rich_text)


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


class FakeNotion(FakeService):
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

    # -- databases and data sources ----------------------------------------------------------

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

    # -- pages -------------------------------------------------------------------------------

    def _create_page(self, request: Request) -> dict[str, Any]:
        body = self._json(request)
        source = self._parent_source(body.get("parent"))
        values = self._property_values(source, body.get("properties") or {})
        children = self._parse_blocks(body.get("children", []), "body.children", 1)
        now = _now()
        page = _Page(
            id=str(uuid.uuid4()),
            data_source_id=source.id,
            database_id=source.database_id,
            properties={},
            created_time=now,
            last_edited_time=now,
            icon=body.get("icon"),
            cover=body.get("cover"),
        )
        for name, schema in source.properties.items():
            page.properties[name] = values.get(name) or _empty_value(schema)
        self._commit_options(source, page.properties)
        self._pages[_key(page.id)] = page
        self._children[_key(page.id)] = []
        self._insert(page.id, "page_id", children, None)
        return self._page_object(page)

    def _parent_source(self, parent: Any) -> _DataSource:
        if not isinstance(parent, dict):
            raise _body_invalid("body.parent should be defined, instead was `undefined`.")
        if "data_source_id" in parent:
            return self._data_source(str(parent["data_source_id"]))
        if "database_id" in parent:
            database = self._databases.get(_key(str(parent["database_id"])))
            if database is None:
                raise self._missing("database", str(parent["database_id"]))
            if len(database.data_source_ids) != 1:
                raise _invalid(
                    "Database has more than one data source; create the page with a "
                    "data_source_id parent."
                )
            return self._data_source(database.data_source_ids[0])
        raise _body_invalid(
            "body.parent.data_source_id should be defined, instead was `undefined` "
            "(this fake creates pages in data sources only)."
        )

    def _retrieve_page(self, request: Request) -> dict[str, Any]:
        return self._page_object(self._page_or_missing(request))

    def _update_page(self, request: Request) -> dict[str, Any]:
        page = self._page_or_missing(request)
        body = self._json(request)
        trash = body.get("in_trash", body.get("archived"))
        if trash is not None and not isinstance(trash, bool):
            raise _body_invalid(f"body.in_trash should be a boolean, instead was `{trash!r}`.")
        if page.in_trash and trash is not False and body.get("properties"):
            raise _invalid(
                "Can't edit page that is archived. You must unarchive the page before editing."
            )
        source = self._data_source(page.data_source_id)
        values = self._property_values(source, body.get("properties") or {})
        page.properties.update(values)
        self._commit_options(source, page.properties)
        if trash is not None:
            page.in_trash = trash
        for field in ("icon", "cover"):
            if field in body:
                setattr(page, field, body[field])
        page.last_edited_time = _now()
        return self._page_object(page)

    def _page_object(self, page: _Page) -> dict[str, Any]:
        title = next(
            (_plain(v["title"]) for v in page.properties.values() if v["type"] == "title"), ""
        )
        slug = "-".join(re.findall(r"[A-Za-z0-9]+", title))
        url_name = f"{slug}-{_key(page.id)}" if slug else _key(page.id)
        return {
            "object": "page",
            "id": page.id,
            "created_time": page.created_time,
            "last_edited_time": page.last_edited_time,
            "created_by": _BOT_USER,
            "last_edited_by": _BOT_USER,
            "cover": copy.deepcopy(page.cover),
            "icon": copy.deepcopy(page.icon),
            "parent": {
                "type": "data_source_id",
                "data_source_id": page.data_source_id,
                "database_id": page.database_id,
            },
            "archived": page.in_trash,
            "in_trash": page.in_trash,
            "is_locked": False,
            "properties": copy.deepcopy(page.properties),
            "url": f"https://www.notion.so/{url_name}",
            "public_url": None,
        }

    # -- property values ---------------------------------------------------------------------

    def _property_values(self, source: _DataSource, given: Any) -> dict[str, dict[str, Any]]:
        if not isinstance(given, dict):
            raise _body_invalid(f"body.properties should be an object, instead was `{given!r}`.")
        values: dict[str, dict[str, Any]] = {}
        for name, value in given.items():
            schema = source.lookup(name)
            if schema is None:
                raise _invalid(f"{name} is not a property that exists.")
            values[schema["name"]] = _property_value(schema, value, f"body.properties.{name}")
        return values

    def _schema_property(self, name: str, config: str | Mapping[str, Any]) -> dict[str, Any]:
        if isinstance(config, str):
            prop_type, settings = config, {}
        else:
            kinds = [k for k in config if k != "type"]
            if not config.get("type") and len(kinds) != 1:
                raise ValueError(f"property {name!r} needs one type, got {dict(config)!r}")
            prop_type = str(config.get("type") or kinds[0])
            settings = dict(config.get(prop_type) or {})
        if "options" in settings:
            settings["options"] = [_option(o) for o in settings["options"]]
        elif prop_type in ("select", "multi_select", "status"):
            settings["options"] = []
        prop_id = "title" if prop_type == "title" else f"fb{next(self._property_ids):02d}"
        return {"id": prop_id, "name": name, "type": prop_type, prop_type: settings}

    def _commit_options(self, source: _DataSource, values: dict[str, dict[str, Any]]) -> None:
        # Notion creates a select option the first time a page uses it; mirror that.
        for name, value in values.items():
            prop_type = value["type"]
            if prop_type not in ("select", "multi_select"):
                continue
            chosen = value[prop_type]
            for choice in chosen if isinstance(chosen, list) else [chosen] if chosen else []:
                options = source.properties[name][prop_type]["options"]
                known = next((o for o in options if o["name"] == choice["name"]), None)
                if known is None:
                    known = _option(choice["name"])
                    options.append(known)
                choice.update(known)

    # -- blocks ------------------------------------------------------------------------------

    def _container(self, request: Request) -> tuple[str, str]:
        """The key of the page or block at ``{block_id}`` and its parent type for new children."""
        key = self._path_id(request, "block_id")
        if key in self._pages:
            if self._pages[key].in_trash:
                raise _invalid("Can't edit block that is archived. You must unarchive it first.")
            return key, "page_id"
        block = self._blocks.get(key)
        if block is None:
            raise self._missing("block", request.path_params["block_id"])
        if block.in_trash:
            raise _invalid("Can't edit block that is archived. You must unarchive it first.")
        return key, "block_id"

    def _block_or_missing(self, request: Request) -> _Block:
        key = self._path_id(request, "block_id")
        block = self._blocks.get(key)
        if block is None:
            raise self._missing("block", request.path_params["block_id"])
        return block

    def _retrieve_block(self, request: Request) -> dict[str, Any]:
        key = self._path_id(request, "block_id")
        if key in self._pages:
            page = self._pages[key]
            return self._child_page_block(page)
        return self._block_object(self._block_or_missing(request))

    def _child_page_block(self, page: _Page) -> dict[str, Any]:
        title = next(
            (_plain(v["title"]) for v in page.properties.values() if v["type"] == "title"), ""
        )
        return {
            "object": "block",
            "id": page.id,
            "parent": {"type": "data_source_id", "data_source_id": page.data_source_id},
            "created_time": page.created_time,
            "last_edited_time": page.last_edited_time,
            "created_by": _BOT_USER,
            "last_edited_by": _BOT_USER,
            "has_children": bool(self._children.get(_key(page.id))),
            "archived": page.in_trash,
            "in_trash": page.in_trash,
            "type": "child_page",
            "child_page": {"title": title},
        }

    def _list_children(self, request: Request) -> dict[str, Any]:
        key = self._path_id(request, "block_id")
        if key not in self._pages and key not in self._blocks:
            raise self._missing("block", request.path_params["block_id"])
        page_size = request.query.get("page_size")
        size = int(page_size) if page_size and page_size.isdigit() else page_size
        children = [
            self._block_object(self._blocks[child])
            for child in self._children.get(key, [])
            if not self._blocks[child].in_trash
        ]
        return _paginate(children, request.query.get("start_cursor"), size, "block")

    def _append_children(self, request: Request) -> dict[str, Any]:
        parent, parent_type = self._container(request)
        body = self._json(request)
        if "children" not in body:
            raise _body_invalid("body.children should be defined, instead was `undefined`.")
        children = self._parse_blocks(body["children"], "body.children", 1)
        after = self._position(parent, body)
        parent_id = self._pages[parent].id if parent_type == "page_id" else self._blocks[parent].id
        created = self._insert(parent_id, parent_type, children, after)
        return _paginate([self._block_object(self._blocks[k]) for k in created], None, 100, "block")

    def _position(self, parent: str, body: dict[str, Any]) -> str | None:
        """Where appended children go: ``None`` = the end, ``""`` = the start, else a block key."""
        after: Any = body.get("after")
        position = body.get("position")
        if position is not None:
            kind = position.get("type") if isinstance(position, dict) else None
            if kind == "end":
                return None
            if kind == "start":
                return ""
            if kind != "after_block":
                raise _body_invalid(
                    "body.position.type should be one of `end`, `start`, `after_block`, "
                    f"instead was `{_shown(kind)}`."
                )
            after = (position.get("after_block") or {}).get("id")
        if after is None:
            return None
        if not isinstance(after, str) or _key(after) not in self._children.get(parent, []):
            raise _invalid(f"Block {after} is not a child of the block being appended to.")
        return _key(after)

    def _update_block(self, request: Request) -> dict[str, Any]:
        key = self._path_id(request, "block_id")
        if key in self._pages:
            raise _invalid("Use pages.update to change a page.")
        block = self._block_or_missing(request)
        body = self._json(request)
        trash = body.get("in_trash", body.get("archived"))
        if trash is not None and not isinstance(trash, bool):
            raise _body_invalid(f"body.in_trash should be a boolean, instead was `{trash!r}`.")
        types = [t for t in body if t not in ("type", "in_trash", "archived")]
        if block.in_trash and trash is not False:
            raise _invalid(
                "Can't edit block that is archived. You must unarchive the block before editing."
            )
        for given in types:
            if given != block.type:
                raise _body_invalid(
                    f"body.{given} should not be present: block {block.id} is a {block.type}."
                )
            parsed = _parse_block({block.type: body[given]}, "body", _MAX_NESTING)
            block.content = parsed.content
        if trash is not None:
            block.in_trash = trash
        block.last_edited_time = _now()
        return self._block_object(block)

    def _delete_block(self, request: Request) -> dict[str, Any]:
        key = self._path_id(request, "block_id")
        if key in self._pages:
            page = self._pages[key]
            page.in_trash = True
            return self._child_page_block(page)
        block = self._block_or_missing(request)
        if block.in_trash:
            raise _invalid("Can't edit block that is archived. You must unarchive it first.")
        block.in_trash = True
        block.last_edited_time = _now()
        return self._block_object(block)

    def _parse_blocks(self, given: Any, where: str, level: int) -> list[_NewBlock]:
        if not isinstance(given, list):
            raise _body_invalid(f"{where} should be an array, instead was `{given!r}`.")
        if len(given) > MAX_BLOCKS_PER_REQUEST:
            raise _body_invalid(
                f"{where}.length should be ≤ `{MAX_BLOCKS_PER_REQUEST}`, instead was "
                f"`{len(given)}`."
            )
        return [_parse_block(item, f"{where}[{i}]", level) for i, item in enumerate(given)]

    def _insert(
        self, parent_id: str, parent_type: str, blocks: list[_NewBlock], after: str | None
    ) -> list[str]:
        siblings = self._children.setdefault(_key(parent_id), [])
        if after is None:
            index = len(siblings)
        elif after == "":
            index = 0
        else:
            index = siblings.index(after) + 1
        created: list[str] = []
        now = _now()
        for new in blocks:
            block = _Block(
                str(uuid.uuid4()), parent_id, parent_type, new.type, new.content, now, now
            )
            self._blocks[_key(block.id)] = block
            self._children[_key(block.id)] = []
            siblings.insert(index + len(created), _key(block.id))
            created.append(_key(block.id))
            self._insert(block.id, "block_id", list(new.children), None)
        return created

    def _block_object(self, block: _Block) -> dict[str, Any]:
        return {
            "object": "block",
            "id": block.id,
            "parent": {"type": block.parent_type, block.parent_type: block.parent_id},
            "created_time": block.created_time,
            "last_edited_time": block.last_edited_time,
            "created_by": _BOT_USER,
            "last_edited_by": _BOT_USER,
            "has_children": any(
                not self._blocks[c].in_trash for c in self._children.get(_key(block.id), [])
            ),
            "archived": block.in_trash,
            "in_trash": block.in_trash,
            "type": block.type,
            block.type: copy.deepcopy(block.content),
        }


# -- values, blocks and filters (pure functions) -----------------------------------------------


def _option(given: Any) -> dict[str, Any]:
    if isinstance(given, str):
        given = {"name": given}
    return {
        "id": given.get("id") or uuid.uuid4().hex[:8],
        "name": given["name"],
        "color": given.get("color", "default"),
    }


def _rich_text(given: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(given, list):
        raise _body_invalid(f"{where} should be an array, instead was `{given!r}`.")
    if len(given) > 100:
        raise _body_invalid(f"{where}.length should be ≤ `100`, instead was `{len(given)}`.")
    items: list[dict[str, Any]] = []
    for i, item in enumerate(given):
        at = f"{where}[{i}]"
        if not isinstance(item, dict):
            raise _body_invalid(f"{at} should be an object, instead was `{item!r}`.")
        kind = item.get("type") or next(
            (k for k in ("text", "mention", "equation") if k in item), None
        )
        annotations = {**_DEFAULT_ANNOTATIONS, **(item.get("annotations") or {})}
        if kind == "text":
            text = item.get("text")
            content = text.get("content") if isinstance(text, dict) else None
            if not isinstance(content, str):
                raise _body_invalid(
                    f"{at}.text.content should be a string, instead was `{content!r}`."
                )
            if len(content) > MAX_RICH_TEXT_LENGTH:
                raise _body_invalid(
                    f"{at}.text.content.length should be ≤ `{MAX_RICH_TEXT_LENGTH}`, instead was "
                    f"`{len(content)}`."
                )
            link = text.get("link") if isinstance(text, dict) else None
            href = link.get("url") if isinstance(link, dict) else None
            items.append(
                {
                    "type": "text",
                    "text": {"content": content, "link": {"url": href} if href else None},
                    "annotations": annotations,
                    "plain_text": content,
                    "href": href,
                }
            )
        elif kind == "equation":
            expression = (item.get("equation") or {}).get("expression")
            if not isinstance(expression, str):
                raise _body_invalid(f"{at}.equation.expression should be a string.")
            items.append(
                {
                    "type": "equation",
                    "equation": {"expression": expression},
                    "annotations": annotations,
                    "plain_text": expression,
                    "href": None,
                }
            )
        elif kind == "mention":
            items.append(
                {
                    "type": "mention",
                    "mention": copy.deepcopy(item.get("mention")),
                    "annotations": annotations,
                    "plain_text": str(item.get("plain_text", "")),
                    "href": None,
                }
            )
        else:
            raise _body_invalid(
                f"{at}.text should be defined, instead was `undefined` (type {_shown(kind)})."
            )
    return items


def _parse_block(given: Any, where: str, level: int) -> _NewBlock:
    if not isinstance(given, dict):
        raise _body_invalid(f"{where} should be an object, instead was `{given!r}`.")
    kinds = [k for k in given if k not in ("object", "type")]
    block_type = given.get("type") or (kinds[0] if len(kinds) == 1 else None)
    if block_type not in _BLOCK_TYPES:
        raise _body_invalid(
            f"{where}.type should be a block type this fake knows "
            f"({', '.join(sorted(_BLOCK_TYPES))}), instead was `{_shown(block_type)}`."
        )
    raw = given.get(block_type)
    if not isinstance(raw, dict):
        raise _body_invalid(
            f"{where}.{block_type} should be an object, instead was `{_shown(raw)}`."
        )
    at = f"{where}.{block_type}"
    content: dict[str, Any]
    if block_type in _TEXT_BLOCKS:
        content = {
            "rich_text": _rich_text(raw.get("rich_text"), f"{at}.rich_text"),
            "color": raw.get("color", "default"),
        }
        if block_type == "to_do":
            content["checked"] = bool(raw.get("checked", False))
        if block_type.startswith("heading_"):
            content["is_toggleable"] = bool(raw.get("is_toggleable", False))
        if block_type == "callout" and "icon" in raw:
            content["icon"] = copy.deepcopy(raw["icon"])
    elif block_type == "code":
        content = {
            "rich_text": _rich_text(raw.get("rich_text"), f"{at}.rich_text"),
            "caption": _rich_text(raw.get("caption", []), f"{at}.caption"),
            "language": str(raw.get("language", "plain text")),
        }
    elif block_type in _URL_BLOCKS:
        if not isinstance(raw.get("url"), str):
            raise _body_invalid(
                f"{at}.url should be a string, instead was `{_shown(raw.get('url'))}`."
            )
        content = {
            "url": raw["url"],
            "caption": _rich_text(raw.get("caption", []), f"{at}.caption"),
        }
    elif block_type == "equation":
        if not isinstance(raw.get("expression"), str):
            raise _body_invalid(f"{at}.expression should be a string.")
        content = {"expression": raw["expression"]}
    else:
        content = {"color": raw["color"]} if "color" in raw else {}
    children: list[_NewBlock] = []
    if raw.get("children") is not None:
        if level >= _MAX_NESTING:
            raise _body_invalid(f"{at}.children should not be present: nested too deeply.")
        given_children = raw["children"]
        if not isinstance(given_children, list):
            raise _body_invalid(f"{at}.children should be an array.")
        if len(given_children) > MAX_BLOCKS_PER_REQUEST:
            raise _body_invalid(
                f"{at}.children.length should be ≤ `{MAX_BLOCKS_PER_REQUEST}`, instead was "
                f"`{len(given_children)}`."
            )
        children = [
            _parse_block(child, f"{at}.children[{i}]", level + 1)
            for i, child in enumerate(given_children)
        ]
    return _NewBlock(block_type, content, tuple(children))


def _block_text(block: _Block) -> str:
    if "rich_text" in block.content:
        return _plain(block.content["rich_text"])
    if "url" in block.content:
        return str(block.content["url"])
    return str(block.content.get("expression", ""))


def _property_value(schema: dict[str, Any], given: Any, where: str) -> dict[str, Any]:
    name, prop_type = schema["name"], schema["type"]
    if prop_type not in _WRITABLE_PROPERTIES:
        raise _invalid(f"{name} is a {prop_type} property, which cannot be written.")
    if not isinstance(given, dict) or prop_type not in given:
        raise _invalid(f"{name} is expected to be {prop_type}.")
    raw = given[prop_type]
    at = f"{where}.{prop_type}"
    value: Any
    if prop_type in ("title", "rich_text"):
        value = _rich_text(raw, at)
    elif prop_type in ("url", "email", "phone_number"):
        if raw is not None and not isinstance(raw, str):
            raise _body_invalid(f"{at} should be a string or `null`, instead was `{raw!r}`.")
        if isinstance(raw, str) and len(raw) > 2000:
            raise _body_invalid(f"{at}.length should be ≤ `2000`, instead was `{len(raw)}`.")
        value = raw
    elif prop_type == "number":
        if raw is not None and (isinstance(raw, bool) or not isinstance(raw, int | float)):
            raise _body_invalid(f"{at} should be a number or `null`, instead was `{raw!r}`.")
        value = raw
    elif prop_type == "checkbox":
        if not isinstance(raw, bool):
            raise _body_invalid(f"{at} should be a boolean, instead was `{raw!r}`.")
        value = raw
    elif prop_type == "date":
        value = _date_value(raw, at)
    elif prop_type == "select":
        value = None if raw is None else _chosen_option(schema, raw, at, create=True)
    elif prop_type == "status":
        value = None if raw is None else _chosen_option(schema, raw, at, create=False)
    elif prop_type == "multi_select":
        if not isinstance(raw, list):
            raise _body_invalid(f"{at} should be an array, instead was `{raw!r}`.")
        value = [_chosen_option(schema, o, f"{at}[{i}]", create=True) for i, o in enumerate(raw)]
    else:
        value = copy.deepcopy(raw)
    return {"id": schema["id"], "type": prop_type, prop_type: value}


def _date_value(raw: Any, at: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("start"), str):
        raise _body_invalid(f"{at}.start should be defined, instead was `undefined`.")
    for edge in ("start", "end"):
        if raw.get(edge) is not None:
            try:
                datetime.fromisoformat(str(raw[edge]))
            except ValueError as e:
                raise _body_invalid(
                    f"{at}.{edge} should be a valid ISO 8601 date string, instead was "
                    f"`{raw[edge]!r}`."
                ) from e
    return {"start": raw["start"], "end": raw.get("end"), "time_zone": raw.get("time_zone")}


def _chosen_option(schema: dict[str, Any], raw: Any, at: str, *, create: bool) -> dict[str, Any]:
    prop_type = schema["type"]
    options: list[dict[str, Any]] = schema[prop_type]["options"]
    if not isinstance(raw, dict) or not (isinstance(raw.get("name"), str) or "id" in raw):
        raise _body_invalid(f"{at}.name should be defined, instead was `undefined`.")
    known = next(
        (o for o in options if o["name"] == raw.get("name") or o["id"] == raw.get("id")), None
    )
    if known is not None:
        return dict(known)
    if "name" not in raw:
        raise _invalid(f"Invalid option id {raw['id']!r} for {schema['name']}.")
    if not create:
        raise _invalid(
            f'Invalid status option. Status option "{raw["name"]}" does not exist for '
            f'"{schema["name"]}".'
        )
    if "," in raw["name"] or len(raw["name"]) > 100:
        raise _invalid(f"Invalid select option {raw['name']!r}: no commas, at most 100 characters.")
    return {"name": raw["name"], "color": raw.get("color", "default")}


def _empty_value(schema: dict[str, Any]) -> dict[str, Any]:
    prop_type = schema["type"]
    empty: Any = None
    if prop_type in ("title", "rich_text", "multi_select", "people", "relation", "files"):
        empty = []
    elif prop_type == "checkbox":
        empty = False
    elif prop_type == "status" and schema["status"]["options"]:
        empty = dict(schema["status"]["options"][0])
    return {"id": schema["id"], "type": prop_type, prop_type: empty}


def _simple_value(value: dict[str, Any]) -> Any:
    prop_type = value["type"]
    raw = value[prop_type]
    if prop_type in ("title", "rich_text"):
        return _plain(raw)
    if prop_type in ("select", "status"):
        return raw["name"] if raw else None
    if prop_type == "multi_select":
        return [o["name"] for o in raw]
    if prop_type == "date":
        return raw["start"] if raw else None
    return raw


def _operator(prop_type: str, operator: str, operand: Any, where: str) -> Callable[[Any], bool]:
    if operator == "is_empty":
        return lambda value: value in (None, "", [])
    if operator == "is_not_empty":
        return lambda value: value not in (None, "", [])
    if prop_type in _TEXT_PROPERTIES or prop_type in ("select", "status"):
        text_ops: dict[str, Callable[[str, str], bool]] = {
            "equals": lambda v, o: v == o,
            "does_not_equal": lambda v, o: v != o,
        }
        if prop_type in _TEXT_PROPERTIES:
            text_ops.update(
                contains=lambda v, o: o in v,
                does_not_contain=lambda v, o: o not in v,
                starts_with=lambda v, o: v.startswith(o),
                ends_with=lambda v, o: v.endswith(o),
            )
        if operator in text_ops and isinstance(operand, str):
            op = text_ops[operator]
            return lambda value: op(value or "", operand)
    elif prop_type == "number" and isinstance(operand, int | float):
        number_ops: dict[str, Callable[[float, float], bool]] = {
            "equals": lambda v, o: v == o,
            "does_not_equal": lambda v, o: v != o,
            "greater_than": lambda v, o: v > o,
            "less_than": lambda v, o: v < o,
            "greater_than_or_equal_to": lambda v, o: v >= o,
            "less_than_or_equal_to": lambda v, o: v <= o,
        }
        if operator in number_ops:
            nop = number_ops[operator]
            return lambda value: value is not None and nop(value, operand)
    elif prop_type == "checkbox" and isinstance(operand, bool):
        if operator in ("equals", "does_not_equal"):
            return lambda value: (value == operand) == (operator == "equals")
    elif prop_type == "date" and isinstance(operand, str):
        date_ops: dict[str, Callable[[str, str], bool]] = {
            "equals": lambda v, o: v[: len(o)] == o,
            "before": lambda v, o: v < o,
            "after": lambda v, o: v > o,
            "on_or_before": lambda v, o: v <= o,
            "on_or_after": lambda v, o: v >= o,
        }
        if operator in date_ops:
            dop = date_ops[operator]
            return lambda value: value is not None and dop(value, operand)
    raise _body_invalid(
        f"{where}.{operator} is not a filter this fake supports for a {prop_type} property "
        f"(operand `{operand!r}`)."
    )


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
