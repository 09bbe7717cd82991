"""The block endpoints: retrieve, update and delete a block, list and append its children."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from firebell.testing.fake_http import Request
from firebell.testing.fake_notion.block_parsing import _parse_block
from firebell.testing.fake_notion.defaults import _BOT_USER
from firebell.testing.fake_notion.errors import _body_invalid, _invalid
from firebell.testing.fake_notion.formats import _key, _now, _plain, _shown
from firebell.testing.fake_notion.limits import _MAX_NESTING, MAX_BLOCKS_PER_REQUEST
from firebell.testing.fake_notion.objects import _Block, _NewBlock, _Page
from firebell.testing.fake_notion.pagination import _paginate
from firebell.testing.fake_notion.workspace import NotionWorkspace


class BlocksMethods(NotionWorkspace):
    """``/v1/blocks/…``: blocks retrieved, updated, trashed, listed and appended (pages are blocks too)."""

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
            # Notion replaces each field given and keeps those left out (a to-do's `checked`,
            # a paragraph's `color`): the request is read over what the block holds.
            raw = body[given]
            merged = {**copy.deepcopy(block.content), **raw} if isinstance(raw, dict) else raw
            parsed = _parse_block({block.type: merged}, "body", _MAX_NESTING)
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
