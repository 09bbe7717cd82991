"""What to change under a post-mortem page's headings to show the timeline or the follow-ups.

A section is a heading and the blocks under it, up to the next heading as big or bigger. Of
those, only the blocks the integration wrote (the author of the heading, which it wrote with
the skeleton) are its to replace; blocks people added stay. These functions only read blocks
and say what to write: :class:`~firebell.plugins.notion.postmortem.Postmortems` makes the calls.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs
from firebell.core import FollowUp
from firebell.core.timeline import follow_up_line
from firebell.plugins.notion.content import TIMELINE_PLACEHOLDER, Block, block_text, to_do

__all__ = [
    "SectionEdit",
    "ToDoUpdate",
    "follow_up_text",
    "follow_ups_edit",
    "section",
    "timeline_edit",
    "timeline_section",
]

_HEADINGS = {"heading_1": 1, "heading_2": 2, "heading_3": 3}


@attrs.frozen
class ToDoUpdate:
    """A to-do of the integration's to rewrite in place: its ``text`` (the owner's name learned
    since) or its box (``checked``); ``what`` the call does, for messages."""

    block_id: str
    text: str
    checked: bool
    what: str


@attrs.frozen
class SectionEdit:
    """What to change in a section, in this order: ``updates`` to make in place, ``stale``
    blocks to delete, and ``new`` blocks to write after the block ``after``."""

    stale: list[Block]
    after: str
    new: list[Block]
    updates: list[ToDoUpdate] = attrs.Factory(list)


def timeline_section(blocks: Sequence[Block]) -> tuple[Block, list[Block]] | None:
    """The Timeline heading and the blocks under it (up to the next heading as big or bigger)."""
    return section(blocks, "timeline")


def section(blocks: Sequence[Block], word: str) -> tuple[Block, list[Block]] | None:
    """The first heading containing ``word`` and the blocks under it (to the next heading as
    big or bigger)."""
    for index, block in enumerate(blocks):
        level = _HEADINGS.get(str(block.get("type")))
        if level is None or word not in block_text(block).lower():
            continue
        under = []
        for following in blocks[index + 1 :]:
            other = _HEADINGS.get(str(following.get("type")))
            if other is not None and other <= level:
                break
            under.append(following)
        return block, under
    return None


def timeline_edit(head: Block, under: Sequence[Block], new: Sequence[Block]) -> SectionEdit:
    """What makes the Timeline section (``head`` and the blocks ``under`` it) show the bullets
    ``new``: the placeholder goes, and so do the integration's bullets from the first that
    differs from ``new``; the rest of ``new`` is written after the last bullet kept."""
    author = _creator(head)
    ours = [b for b in under if b.get("type") == "bulleted_list_item" and _by(b, author)]
    placeholders = [
        b for b in under if b.get("type") == "paragraph" and block_text(b) == TIMELINE_PLACEHOLDER
    ]
    keep = 0
    while keep < min(len(ours), len(new)) and block_text(ours[keep]) == block_text(new[keep]):
        keep += 1
    after = str(ours[keep - 1]["id"]) if keep else str(head["id"])
    return SectionEdit(stale=[*placeholders, *ours[keep:]], after=after, new=list(new[keep:]))


def follow_up_text(task: FollowUp, names: Mapping[str, str]) -> str:
    """The text of ``task``'s to-do, its owner by ``names`` where known."""
    owner = names.get(task.owner, task.owner) if task.owner else None
    return follow_up_line(task.text, owner)


def follow_ups_edit(
    head: Block, under: Sequence[Block], lines: Sequence[tuple[FollowUp, str]]
) -> SectionEdit:
    """What makes the to-dos of the Mitigation section (``head`` and the blocks ``under`` it)
    match ``lines``, each follow-up with its to-do's text (see :func:`follow_up_text`): the
    integration's to-dos to rewrite (a box to tick, an owner's name learned since), the
    skeleton's empty to-do to clear, and the to-dos missing, to write after its last one."""
    author = _creator(head)
    ours = [b for b in under if b.get("type") == "to_do" and _by(b, author)]
    unused = [b for b in ours if block_text(b)]
    matched: list[tuple[FollowUp, str, Block | None]] = []
    for task, text in lines:
        block = next((b for b in unused if block_text(b) == text), None)
        if block is not None:
            unused.remove(block)
        matched.append((task, text, block))
    missing: list[Block] = []
    updates: list[ToDoUpdate] = []
    for task, text, block in matched:
        if block is None and task.owner:
            # The same task under another owner text: written before the name was known.
            block = next((b for b in unused if block_text(b).startswith(f"{task.text} — ")), None)
            if block is not None:
                unused.remove(block)
        if block is None:
            missing.append(to_do(text, checked=task.done))
            continue
        checked = _checked(block)
        if block_text(block) != text or (task.done and not checked):
            updates.append(
                ToDoUpdate(
                    str(block["id"]),
                    text,
                    checked or task.done,
                    "tick the follow-up" if block_text(block) == text else "name the owner",
                )
            )
    written = [b for b in ours if block_text(b)]
    return SectionEdit(
        stale=[b for b in ours if not block_text(b)],  # the skeleton's empty to-do
        after=str(written[-1]["id"]) if written else str(head["id"]),
        new=missing,
        updates=updates,
    )


def _checked(block: Block) -> bool:
    content = block.get("to_do")
    return bool(content.get("checked")) if isinstance(content, dict) else False


def _creator(block: Block) -> str | None:
    created_by = block.get("created_by")
    return str(created_by.get("id")) if isinstance(created_by, dict) else None


def _by(block: Block, author: str | None) -> bool:
    """Whether ``block`` was written by ``author`` (the integration, which wrote the heading)."""
    return author is None or _creator(block) == author
