"""Blocks as a request gives them, checked and turned into what the fake stores, and a stored
block's plain text."""

from __future__ import annotations

import copy
from typing import Any

from firebell.testing.fake_notion.errors import _body_invalid
from firebell.testing.fake_notion.formats import _plain, _shown
from firebell.testing.fake_notion.limits import _MAX_NESTING, MAX_BLOCKS_PER_REQUEST
from firebell.testing.fake_notion.objects import _Block, _NewBlock
from firebell.testing.fake_notion.rich_text import _rich_text

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
