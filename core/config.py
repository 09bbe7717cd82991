"""Reading ``plugins.toml``: the engine's settings, the severities and one table per plugin.

Every error names the file, the table and the key, and says what would be valid. Secrets are
environment-variable references (``{ env = "NAME" }``) resolved here, when read. A plugin's
table becomes its config class in :mod:`firebell.core.plugin_tables`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
from firebell.core.database import database_url_problem
from firebell.core.errors import ConfigError
from firebell.core.permissions import VALID_ENTRIES, entry_problem
from firebell.core.plugin_tables import structure_plugin_config
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
