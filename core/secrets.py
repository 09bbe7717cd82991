"""Secrets in configuration: written as environment-variable references, resolved when read.

``api_key = { env = "PAGERDUTY_API_KEY" }`` in ``plugins.toml`` becomes a :class:`Secret` whose
``repr`` and ``str`` never show the value; code asks for it with :meth:`Secret.reveal`. A
command that delivers nothing loads the configuration without requiring the variables
(:func:`firebell.core.config.load_config`): a variable that is not set becomes a secret without
a value, which says so when something reveals it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from firebell.core.errors import ConfigError

__all__ = ["Secret", "secrets_in"]


@attrs.frozen(repr=False)
class Secret:
    """A secret value and the environment variable it came from; never printed.

    ``value`` is None when the variable was not set; ``unset`` then says so, naming the file,
    the table, the key and the variable, and :meth:`reveal` raises it.
    """

    env: str
    _value: str | None = attrs.field(alias="value")
    _unset: str = attrs.field(default="", alias="unset")

    @property
    def is_set(self) -> bool:
        """Whether the variable had a value when the configuration was read."""
        return self._value is not None

    def require(self) -> None:
        """Raise :class:`ConfigError` when the variable was not set."""
        if self._value is None:
            raise ConfigError(self._unset or f"The environment variable {self.env} is not set.")

    def reveal(self) -> str:
        """The secret itself, for the one call that needs it (:meth:`require` first)."""
        self.require()
        assert self._value is not None
        return self._value

    def __repr__(self) -> str:
        return f"Secret(env={self.env!r})"

    __str__ = __repr__


def secrets_in(value: Any) -> list[Secret]:
    """Every :class:`Secret` in ``value`` (a secret, or tables and lists holding some), in order."""
    if isinstance(value, Secret):
        return [value]
    if isinstance(value, Mapping):
        return [secret for item in value.values() for secret in secrets_in(item)]
    if isinstance(value, list | tuple):
        return [secret for item in value for secret in secrets_in(item)]
    return []
