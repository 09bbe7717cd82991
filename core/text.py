"""Cleaning text that people type: no invisible or direction-changing characters, sane lengths."""

from __future__ import annotations

import re
import unicodedata

from firebell.core.errors import InvalidInput

__all__ = ["MAX_DESCRIPTION", "MAX_TITLE", "MAX_UPDATE", "clean_text", "require_text"]

MAX_TITLE = 150
MAX_DESCRIPTION = 3000
MAX_UPDATE = 3000

# Zero-width characters and bidirectional overrides can hide or reorder text (a description
# that reads differently than it is). Newlines and tabs stay.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def clean_text(text: str) -> str:
    """``text`` in NFC without control, zero-width or bidi-override characters, stripped."""
    text = unicodedata.normalize("NFC", text)
    text = _INVISIBLE.sub("", text)
    text = "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch) != "Cc")
    return text.strip()


#: What to write in a required ``field`` left empty (by default, the title's advice).
_WHAT_TO_WRITE = {
    "update": "say in a few words what changed",
    "note": "say in a few words what happened",
    "follow-up": "say in a few words what is to be done",
}


def require_text(text: str, *, field: str, limit: int, required: bool = True) -> str:
    """The cleaned ``text``, or :class:`InvalidInput` naming ``field`` when empty or too long."""
    cleaned = clean_text(text)
    if required and not cleaned:
        advice = _WHAT_TO_WRITE.get(field, "say in a few words what is wrong")
        raise InvalidInput(f"The {field} is empty; {advice}.", field=field)
    if len(cleaned) > limit:
        raise InvalidInput(
            f"The {field} is {len(cleaned)} characters long; keep it under {limit} "
            "(put the details in the incident channel).",
            field=field,
        )
    return cleaned
