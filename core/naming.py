"""Incident names: ``YYYYMMDD-adjective-animal`` from the UTC date and bundled word lists."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from functools import cache
from importlib.resources import files

__all__ = ["NameGenerator", "adjectives", "animals"]


@cache
def _words(filename: str) -> tuple[str, ...]:
    text = files("firebell.core").joinpath("words", filename).read_text(encoding="ascii")
    return tuple(word for word in text.split() if word)


def adjectives() -> tuple[str, ...]:
    """The bundled adjectives (lowercase ASCII)."""
    return _words("adjectives.txt")


def animals() -> tuple[str, ...]:
    """The bundled animals (lowercase ASCII)."""
    return _words("animals.txt")


class NameGenerator:
    """Draws incident names; ``rng`` is injectable so tests can force collisions.

    Uniqueness is not checked here: the event log refuses a second stream with the same name and
    the engine draws again.
    """

    def __init__(self, rng: random.Random | None = None) -> None:
        self._rng = rng or random.SystemRandom()

    def draw(self, moment: datetime) -> str:
        """A name for an incident declared at ``moment`` (dated in UTC whatever its zone)."""
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
        adjective = self._rng.choice(adjectives())
        animal = self._rng.choice(animals())
        return f"{moment:%Y%m%d}-{adjective}-{animal}"
