"""Reading ``plugins.toml``: the engine's settings, the severities and one table per plugin.

Every error names the file, the table and the key, and says what would be valid. Secrets are
environment-variable references (``{ env = "NAME" }``) resolved here, when read.
"""

from __future__ import annotations

import json
import os
import tomllib
import typing
from collections import abc
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import attrs
import cattrs
from firebell.core.database import database_url_problem
from firebell.core.errors import ConfigError
from firebell.core.permissions import VALID_ENTRIES, entry_problem
from firebell.core.record_settings import (
    ReminderSettings,
    parse_close_requires_followups,
    parse_reminders,
)
from firebell.core.secrets import Secret, secrets_in

__all__ = [
    "DEFAULT_SEVERITIES",
    "FirebellConfig",
    "PluginTable",
    "Severity",
    "load_config",
    "parse_config",
    "read_config_file",
    "structure_plugin_config",
]

T = TypeVar("T")

DEFAULT_DATABASE_URL = "sqlite:///firebell.db"


@attrs.frozen
class Severity:
    """A severity level: its short name (``SEV1``) and what it means."""

    name: str
    description: str


#: The seed's three severities.
DEFAULT_SEVERITIES = (
    Severity("SEV0", "Product is unusable for most users"),
    Severity("SEV1", "Product is unusable for some users or degraded for most"),
    Severity("SEV2", "Product is degraded for some users but still usable for most"),
)


@attrs.frozen
class PluginTable:
    """One ``[plugins.<name>]`` table: whether it is on, whom it waits for, and its own keys."""

    name: str
    enabled: bool
    options: Mapping[str, Any]
    after: tuple[str, ...] | None = None

    def unset_secrets(self) -> list[Secret]:
        """Its secrets whose environment variable is not set (loaded without requiring them)."""
        return [secret for secret in secrets_in(self.options) if not secret.is_set]


@attrs.frozen
class FirebellConfig:
    """The whole configuration: where it came from, the database, severities, plugins."""

    path: Path | None
    database_url: str
    severities: tuple[Severity, ...] = DEFAULT_SEVERITIES
    default_severity: str = "SEV2"
    plugins: Mapping[str, PluginTable] = attrs.field(factory=dict)
    permissions: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
    #: The ``[firebell.web]`` table as written, secrets resolved; the web console
    #: (``firebell.adapters.web``) checks its keys when it starts.
    web: Mapping[str, Any] = attrs.field(factory=dict)
    #: ``confirm``: closing an incident without follow-ups asks first; ``off``: it does not.
    close_requires_followups: str = "confirm"
    reminders: ReminderSettings = attrs.field(factory=ReminderSettings)

    @property
    def source(self) -> str:
        """The file's name for messages (or ``<defaults>`` when there is none)."""
        return str(self.path) if self.path else "<defaults>"

    def severity(self, name: str) -> Severity | None:
        """The severity called ``name`` (case-insensitive), or None."""
        for severity in self.severities:
            if severity.name.lower() == name.lower():
                return severity
        return None

    def severity_problems(self, key: str, names: Iterable[str]) -> list[str]:
        """A line for each of ``names`` that is not one of the severities (ignoring case), as
        a plugin's ``firebell_check_settings`` returns it: ``"severities: 'SEV-1' is not one of
        the severities (SEV0, SEV1, SEV2)"``. ``key`` is the plugin's key that names them."""
        known = ", ".join(severity.name for severity in self.severities)
        return [
            f"{key}: {name!r} is not one of the severities ({known})"
            for name in names
            if self.severity(name) is None
        ]

    def enabled_plugins(self) -> list[str]:
        """Names of the plugins switched on, in the file's order."""
        return [name for name, table in self.plugins.items() if table.enabled]

    def require_secrets(self) -> None:
        """Raise :class:`ConfigError` for the first secret whose environment variable is not
        set (the plugins' tables in order, then ``[firebell.web]``), naming file, table, key
        and variable: what a command that delivers checks before it starts."""
        for table in self.plugins.values():
            for secret in secrets_in(table.options):
                secret.require()
        for secret in secrets_in(self.web):
            secret.require()


_ENGINE_KEYS = {
    *("database_url", "default_severity", "severities", "permissions", "web"),
    *("close_requires_followups", "reminders"),
}
_PERMISSION_ACTIONS = {
    *("declare", "resolve", "reopen", "close", "severity", "update", "commander"),
    *("timeline", "followup"),
}


def load_config(
    path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    require_secrets: bool = True,
) -> FirebellConfig:
    """Read ``path`` (default ``$FIREBELL_CONFIG`` or ``./plugins.toml``).

    A missing default file gives the built-in defaults; a missing file named explicitly is an
    error. ``FIREBELL_DATABASE_URL`` overrides the file's ``database_url``. A secret whose
    environment variable is not set is an error too, unless ``require_secrets`` is false (for
    a command that delivers nothing): it then has no value, and raises the same error when
    revealed (:meth:`FirebellConfig.require_secrets` checks them all later).
    """
    env = os.environ if environ is None else environ
    explicit = path is not None or "FIREBELL_CONFIG" in env
    chosen = Path(path or env.get("FIREBELL_CONFIG") or "plugins.toml")
    if not chosen.exists():
        if explicit:
            raise ConfigError(
                f"{chosen}: no such file. Pass --config PATH or set FIREBELL_CONFIG to an "
                "existing plugins.toml (the repository has an example)."
            )
        return parse_config({}, path=None, environ=env)
    return parse_config(
        read_config_file(chosen), path=chosen, environ=env, require_secrets=require_secrets
    )


def read_config_file(path: Path) -> dict[str, Any]:
    """The TOML document in ``path``, or a :class:`ConfigError` saying why it cannot be read."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}. Fix the syntax there.") from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text ({error}).") from error
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read ({error}).") from error


def parse_config(
    raw: Mapping[str, Any],
    *,
    path: Path | None,
    environ: Mapping[str, str],
    require_secrets: bool = True,
) -> FirebellConfig:
    """Validate the parsed TOML document; see :func:`load_config`."""
    source = str(path) if path else "<defaults>"
    unknown_top = set(raw) - {"firebell", "plugins"}
    if unknown_top:
        raise ConfigError(
            f"{source}: unknown table {sorted(unknown_top)[0]!r}. "
            "Valid top-level tables are [firebell] and [plugins.<name>]."
        )
    engine = _table(raw, "firebell", source)
    unknown = set(engine) - _ENGINE_KEYS
    if unknown:
        raise ConfigError(
            f"{source}: [firebell] has unknown key {sorted(unknown)[0]!r}. "
            f"Valid keys: {', '.join(sorted(_ENGINE_KEYS))}."
        )
    database_url = environ.get("FIREBELL_DATABASE_URL") or _string(
        engine, "database_url", source, "[firebell]", DEFAULT_DATABASE_URL
    )
    url_problem = database_url_problem(database_url)
    if url_problem is not None:
        where = (
            "FIREBELL_DATABASE_URL"
            if environ.get("FIREBELL_DATABASE_URL")
            else f"{source}: [firebell] database_url"
        )
        raise ConfigError(f"{where}: {url_problem}.")
    severities = _severities(engine, source)
    default_severity = _string(
        engine, "default_severity", source, "[firebell]", severities[-1].name
    )
    # Matched ignoring case, as everywhere else, and kept under the configured name.
    configured = next((s for s in severities if s.name.lower() == default_severity.lower()), None)
    if configured is None:
        raise ConfigError(
            f"{source}: [firebell] default_severity = {default_severity!r} is not one of the "
            f"severities ({', '.join(s.name for s in severities)})."
        )
    default_severity = configured.name
    plugins_raw = _table(raw, "plugins", source)
    plugins = {
        name: _plugin_table(name, table, source, environ) for name, table in plugins_raw.items()
    }
    settings = FirebellConfig(
        path=path,
        database_url=database_url,
        severities=severities,
        default_severity=default_severity,
        plugins=plugins,
        permissions=_permissions(engine, source),
        web=_web(engine, source, environ),
        close_requires_followups=parse_close_requires_followups(engine, source),
        reminders=parse_reminders(engine, source, [s.name for s in severities]),
    )
    if require_secrets:
        settings.require_secrets()
    return settings


def _table(raw: Mapping[str, Any], key: str, source: str) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(
            f"{source}: {key!r} must be a table ([{key}]), not {type(value).__name__}."
        )
    return value


def _string(table: Mapping[str, Any], key: str, source: str, where: str, default: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{source}: {where} {key} must be a non-empty string, got {value!r}.")
    return value


def _severities(engine: Mapping[str, Any], source: str) -> tuple[Severity, ...]:
    table = engine.get("severities")
    if table is None:
        return DEFAULT_SEVERITIES
    if not isinstance(table, dict) or not table:
        raise ConfigError(
            f'{source}: [firebell.severities] must be a table of NAME = "description", '
            'e.g. SEV0 = "Product is unusable for most users".'
        )
    severities = []
    seen: dict[str, str] = {}
    for name, description in table.items():
        if not isinstance(description, str):
            raise ConfigError(
                f"{source}: [firebell.severities] {name} must be a description string, "
                f"got {description!r}."
            )
        if not name.replace("-", "").replace("_", "").isalnum() or len(name) > 20:
            raise ConfigError(
                f"{source}: [firebell.severities] {name!r} is not a valid severity name "
                "(letters, digits, - and _, at most 20 characters)."
            )
        # Commands and filters match severities ignoring case: SEV1 and sev1 would be one.
        if name.lower() in seen:
            raise ConfigError(
                f"{source}: [firebell.severities] {seen[name.lower()]!r} and {name!r} differ only "
                "in case; severities are matched ignoring case, so keep one of them."
            )
        seen[name.lower()] = name
        severities.append(Severity(name, description))
    return tuple(severities)


def _permissions(engine: Mapping[str, Any], source: str) -> dict[str, tuple[str, ...]]:
    table = engine.get("permissions", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [firebell.permissions] must be a table.")
    result: dict[str, tuple[str, ...]] = {}
    for action, who in table.items():
        if action not in _PERMISSION_ACTIONS:
            raise ConfigError(
                f"{source}: [firebell.permissions] unknown action {action!r}. "
                f"Valid actions: {', '.join(sorted(_PERMISSION_ACTIONS))}."
            )
        if not isinstance(who, list) or not all(isinstance(w, str) for w in who):
            raise ConfigError(
                f"{source}: [firebell.permissions] {action} must be a list of strings such as "
                '["anyone"], ["commander", "reporter"], ["user:U123"] or ["group:S123"].'
            )
        for entry in who:
            problem = entry_problem(entry)
            if problem is not None:
                raise ConfigError(
                    f"{source}: [firebell.permissions] {action}: {problem}. Valid entries: "
                    f"{VALID_ENTRIES}."
                )
        result[action] = tuple(who)
    return result


def _web(engine: Mapping[str, Any], source: str, environ: Mapping[str, str]) -> dict[str, Any]:
    table = engine.get("web", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: [firebell.web] must be a table (enabled, port, token...).")
    return {
        key: _resolve_secrets(value, source, "[firebell.web]", key, environ)
        for key, value in table.items()
    }


def _plugin_table(name: str, table: Any, source: str, environ: Mapping[str, str]) -> PluginTable:
    where = f"[plugins.{name}]"
    if not isinstance(table, dict):
        raise ConfigError(f"{source}: {where} must be a table, got {table!r}.")
    enabled = table.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError(f"{source}: {where} enabled must be true or false, got {enabled!r}.")
    after = table.get("after")
    if after is not None and (
        not isinstance(after, list) or not all(isinstance(a, str) for a in after)
    ):
        raise ConfigError(f"{source}: {where} after must be a list of plugin names, got {after!r}.")
    options = {
        key: _resolve_secrets(value, source, where, key, environ)
        for key, value in table.items()
        if key not in {"enabled", "after"}
    }
    return PluginTable(name, enabled, options, tuple(after) if after is not None else None)


def _resolve_secrets(
    value: Any, source: str, where: str, key: str, environ: Mapping[str, str]
) -> Any:
    if isinstance(value, dict) and set(value) == {"env"}:
        variable = value["env"]
        if not isinstance(variable, str) or not variable:
            raise ConfigError(f"{source}: {where} {key}: env must name an environment variable.")
        if variable not in environ or not environ[variable]:
            return Secret(
                variable,
                None,
                unset=f"{source}: {where} {key} refers to the environment variable {variable}, "
                f"which is not set. Export {variable}=... before starting Firebell.",
            )
        return Secret(variable, environ[variable])
    return value


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
    try:
        return " without quotes" if isinstance(value, str) and float(value) == float(value) else ""
    except ValueError:
        return ""


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
        return f"expected {', '.join(choices[:-1])} or {choices[-1]}" if choices else None
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
