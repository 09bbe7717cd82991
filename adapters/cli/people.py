"""How the CLI shows a person: by the name the incident recorded (``person.named``), with the id."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["person_text"]


def person_text(who: str, names: Mapping[str, str]) -> str:
    """``Ada Lovelace (U0123ABC)`` when ``names`` (id -> name) knows ``who``, else ``who`` alone."""
    name = names.get(who)
    return f"{name} ({who})" if name and name != who else who
