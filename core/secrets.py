"""Secrets in configuration: written as environment-variable references, resolved when read.

``api_key = { env = "PAGERDUTY_API_KEY" }`` in ``plugins.toml`` becomes a :class:`Secret` whose
``repr`` and ``str`` never show the value; code asks for it with :meth:`Secret.reveal`.
"""

from __future__ import annotations

import attrs

__all__ = ["Secret"]


@attrs.frozen(repr=False)
class Secret:
    """A secret value and the environment variable it came from; never printed."""

    env: str
    _value: str = attrs.field(alias="value")

    def reveal(self) -> str:
        """The secret itself, for the one call that needs it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret(env={self.env!r})"

    __str__ = __repr__
