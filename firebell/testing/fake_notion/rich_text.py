"""Rich-text arrays checked and completed as Notion stores them (text, equations, mentions)."""

from __future__ import annotations

import copy
from typing import Any

from firebell.testing.fake_notion.errors import _body_invalid
from firebell.testing.fake_notion.formats import _shown
from firebell.testing.fake_notion.limits import MAX_RICH_TEXT_LENGTH

_DEFAULT_ANNOTATIONS = {
    "bold": False,
    "italic": False,
    "strikethrough": False,
    "underline": False,
    "code": False,
    "color": "default",
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
