"""Building a plugin's config class from its ``[plugins.<name>]`` table.

cattrs does the work, made strict where it would guess (``"false"`` is no boolean, ``"10"`` no
number, ``"U0ANA"`` no list of its letters) and made to speak of keys and values as
``plugins.toml`` has them: every error names the file, the table and the key.
"""

from __future__ import annotations

import json
import typing
from collections import abc
from collections.abc import Mapping
from typing import Any, TypeVar

import attrs
import cattrs
from firebell.core.errors import ConfigError
from firebell.core.secrets import Secret

__all__ = ["structure_plugin_config"]

T = TypeVar("T")

_plugin_converter = cattrs.Converter(forbid_extra_keys=True)
_plugin_converter.register_structure_hook(Secret, lambda value, _: _require_secret(value))


class _ReadableError(ValueError):
    """A structuring error whose message is written for people (shown as is)."""


def _strict_bool(value: Any, _: type) -> bool:
    # cattrs would call bool("false") and get True; TOML has real booleans.
    if isinstance(value, bool):
        return value
    raise _ReadableError(f"expected true or false, got {value!r}")


_plugin_converter.register_structure_hook(bool, _strict_bool)


# cattrs calls str(value), int(value) and float(value), so `folder = 3` became "3" and
# `retries = 2.5` became 2; a wrong type in plugins.toml is refused instead.
def _strict_str(value: Any, _: type) -> str:
    if isinstance(value, str):
        return value
    raise _ReadableError(f"expected a string in quotes, got {value!r}")


def _strict_int(value: Any, _: type) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise _ReadableError(f"expected a whole number{_unquoted(value)}, got {value!r}")


def _strict_float(value: Any, _: type) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    raise _ReadableError(f"expected a number{_unquoted(value)}, got {value!r}")


def _unquoted(value: Any) -> str:
    # timeout = "10" is the likely slip: say what to change.
    if not isinstance(value, str):
        return ""
    try:
        float(value)
    except ValueError:
        return ""
    return " without quotes"


_plugin_converter.register_structure_hook(str, _strict_str)
_plugin_converter.register_structure_hook(int, _strict_int)
_plugin_converter.register_structure_hook(float, _strict_float)

_LISTS = (list, tuple, set, frozenset, abc.Sequence, abc.MutableSequence, abc.Set)
# Lists are structured by this copy; the converter itself first refuses a string for one.
_list_converter = _plugin_converter.copy()


def _is_list(type_: Any) -> bool:
    return typing.get_origin(type_) in _LISTS or type_ in _LISTS


def _strict_list(value: Any, type_: Any) -> Any:
    # cattrs takes a string for a list of its letters: `responders = "U0ANA"` would be checked,
    # or matched, letter by letter.
    if isinstance(value, str):
        raise _ReadableError(
            f"expected a list such as [{json.dumps(value, ensure_ascii=False)}], not a string "
            f"({value!r})"
        )
    return _list_converter.structure(value, type_)


_plugin_converter.register_structure_hook_func(_is_list, _strict_list)


def _require_secret(value: Any) -> Secret:
    if isinstance(value, Secret):
        return value
    raise _ReadableError(
        'secrets are written as environment-variable references: key = { env = "VARIABLE" }'
    )


def structure_plugin_config(
    cls: type[T], options: Mapping[str, Any], *, source: str, plugin: str
) -> T:
    """Build the plugin's config class from its table, or raise a :class:`ConfigError`.

    The message names the file, the table and the offending key.
    """
    try:
        return _plugin_converter.structure(dict(options), cls)
    except cattrs.BaseValidationError as error:
        lines = cattrs.transform_error(error, path="key", format_exception=_format_exception)
        details = "; ".join(_describe(line) for line in lines).rstrip(".")
        # The valid keys help with a key that is not one of them, not with a valid key's value.
        unknown = error.subgroup(lambda e: isinstance(e, cattrs.ForbiddenExtraKeysError))
        valid = ", ".join(a.name for a in attrs.fields(cls)) if attrs.has(cls) else "?"
        listed = f" Valid keys: {valid}." if unknown is not None else ""
        raise ConfigError(f"{source}: [plugins.{plugin}] {details}.{listed}") from error
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{source}: [plugins.{plugin}] {str(error).rstrip('.')}.") from error


def _format_exception(exc: BaseException, type_: type | None) -> str:
    if isinstance(exc, cattrs.ForbiddenExtraKeysError):
        keys = ", ".join(repr(key) for key in sorted(exc.extra_fields))
        return f"unknown key{'s' if len(exc.extra_fields) > 1 else ''} {keys}"
    # A config class's own validator raises ValueError with a message meant for people (also
    # from its __init__, when it checks keys together); cattrs would reduce it to "invalid
    # value" or "invalid type (…)".
    readable_value_error = (
        isinstance(exc, ValueError) and bool(str(exc)) and (type_ is None or attrs.has(type_))
    )
    if isinstance(exc, _ReadableError) or readable_value_error:
        # attrs' own validators (in_, instance_of...) raise ValueError(message, attribute, ...):
        # str() of that is a tuple with the attribute's repr; the message alone is for people.
        first = exc.args[0] if exc.args else ""
        return first if len(exc.args) > 1 and isinstance(first, str) else str(exc)
    return _plain_words(exc, type_) or cattrs.v.format_exception(exc, type_)


def _plain_words(exc: BaseException, type_: type | None) -> str | None:
    """What cattrs would say in its own terms ("invalid value for type, expected
    tuple[str, ...] | None"), in the words of plugins.toml; None for anything else."""
    expected = _without_none(type_)
    origin = typing.get_origin(expected)
    if origin is typing.Literal:
        choices = [_toml_value(choice) for choice in typing.get_args(expected)]
        if len(choices) < 2:
            return f"expected {choices[0]}" if choices else None
        return f"expected {', '.join(choices[:-1])} or {choices[-1]}"
    if isinstance(exc, AttributeError) and "'items'" in str(exc):
        return 'expected a table, like { name = "value" }'
    if isinstance(exc, TypeError | ValueError) and origin in (list, tuple, set, frozenset):
        return 'expected a list, like ["a", "b"]'
    return None


def _without_none(type_: type | None) -> Any:
    """``X`` for ``X | None`` (an optional key), else ``type_`` itself."""
    arguments = [a for a in typing.get_args(type_) if a is not type(None)]
    if type_ is not None and type(None) in typing.get_args(type_) and len(arguments) == 1:
        return arguments[0]
    return type_


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'"{value}"' if isinstance(value, str) else repr(value)


def _describe(line: str) -> str:
    # cattrs says "required field missing @ key.api_key"; turn it into "api_key: required …".
    message, _, where = line.partition(" @ ")
    key = where.removeprefix("key").lstrip(".")
    if not key:  # about the table as a whole: the message names its keys itself
        return message
    key = key.replace("['", ".").replace("']", "").replace("[", ".").replace("]", "")
    return f"{key}: {message}"
