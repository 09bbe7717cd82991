"""The page endpoints (create, retrieve, update) and the property values they check and store."""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Mapping
from typing import Any

from firebell.testing.fake_http import Request
from firebell.testing.fake_notion.blocks import BlocksMethods
from firebell.testing.fake_notion.defaults import _BOT_USER
from firebell.testing.fake_notion.errors import _body_invalid, _invalid
from firebell.testing.fake_notion.formats import _key, _now, _plain
from firebell.testing.fake_notion.objects import _DataSource, _Page
from firebell.testing.fake_notion.property_values import _empty_value, _option, _property_value


class PagesMethods(BlocksMethods):
    """``/v1/pages``: pages created in a data source, retrieved and updated, with their property values."""

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
