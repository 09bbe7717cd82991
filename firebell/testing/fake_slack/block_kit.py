"""What Slack refuses in Block Kit blocks and in modal views, in Slack's own message format."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from firebell.testing.fake_slack.limits import MAX_MODAL_BLOCKS, MAX_PRIVATE_METADATA, MAX_VIEW_TEXT

_BLOCK_TYPES = frozenset(
    {
        "actions",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "video",
    }
)


def _too_long(value: Any, limit: int, pointer: str) -> list[str]:
    text = value.get("text") if isinstance(value, dict) else value
    if isinstance(text, str) and len(text) > limit:
        return [f"[ERROR] must be less than {limit + 1} characters [json-pointer:{pointer}]"]
    return []


def _block_problems(blocks: list[Any], pointer: str, max_blocks: int) -> list[str]:
    """What Slack would refuse in a list of Block Kit blocks, in its message format."""
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"[ERROR] no more than {max_blocks} items allowed [json-pointer:{pointer}]")
    seen: set[str] = set()
    for i, block in enumerate(blocks):
        here = f"{pointer}/{i}"
        if not isinstance(block, dict) or block.get("type") not in _BLOCK_TYPES:
            kind = block.get("type") if isinstance(block, dict) else block
            problems.append(f"[ERROR] unsupported type: {kind} [json-pointer:{here}/type]")
            continue
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            problems += _too_long(block_id, 255, f"{here}/block_id")
            if block_id in seen:
                problems.append(f"[ERROR] duplicate block_id [json-pointer:{here}/block_id]")
            seen.add(block_id)
        kind = block["type"]
        if kind == "section":
            if "text" not in block and "fields" not in block:
                problems.append(f"[ERROR] must provide text or fields [json-pointer:{here}]")
            problems += _too_long(block.get("text"), 3000, f"{here}/text")
            fields = block.get("fields") or []
            if len(fields) > 10:
                problems.append(
                    f"[ERROR] no more than 10 items allowed [json-pointer:{here}/fields]"
                )
            for j, field in enumerate(fields):
                problems += _too_long(field, 2000, f"{here}/fields/{j}")
        elif kind == "header":
            problems += _too_long(block.get("text"), 150, f"{here}/text")
        elif kind == "context" and len(block.get("elements") or []) > 10:
            problems.append(f"[ERROR] no more than 10 items allowed [json-pointer:{here}/elements]")
        elif kind == "actions" and len(block.get("elements") or []) > 25:
            problems.append(f"[ERROR] no more than 25 items allowed [json-pointer:{here}/elements]")
        elif kind == "input":
            problems += _too_long(block.get("label"), 2000, f"{here}/label")
            if "element" not in block:
                problems.append(f"[ERROR] missing required field: element [json-pointer:{here}]")
            element = block.get("element") or {}
            max_length = element.get("max_length") if isinstance(element, dict) else None
            if isinstance(max_length, int) and max_length > 3000:
                problems.append(
                    f"[ERROR] must be at most 3000 [json-pointer:{here}/element/max_length]"
                )
    return problems


def _view_problems(view: Mapping[str, Any]) -> list[str]:
    """What Slack would refuse in a modal view."""
    problems: list[str] = []
    if view.get("type") != "modal":
        problems.append("[ERROR] must be a valid enum value [json-pointer:/view/type]")
    if not isinstance(view.get("title"), dict):
        problems.append("[ERROR] missing required field: title [json-pointer:/view]")
    for name in ("title", "submit", "close"):
        problems += _too_long(view.get(name), MAX_VIEW_TEXT, f"/view/{name}/text")
    problems += _too_long(
        view.get("private_metadata"), MAX_PRIVATE_METADATA, "/view/private_metadata"
    )
    problems += _too_long(view.get("callback_id"), 255, "/view/callback_id")
    blocks = view.get("blocks", [])
    if not isinstance(blocks, list):
        return [*problems, "[ERROR] must be an array [json-pointer:/view/blocks]"]
    problems += _block_problems(blocks, "/view/blocks", MAX_MODAL_BLOCKS)
    has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks)
    if has_input and "submit" not in view:
        problems.append(
            "[ERROR] must provide a submit property when using input blocks [json-pointer:/view]"
        )
    return problems
