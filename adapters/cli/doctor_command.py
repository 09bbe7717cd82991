"""``firebell doctor``: is this installation ready? One line per check, saying what to fix.

It reads ``plugins.toml`` part by part so that every problem shows at once: the file and the
``[firebell]`` table, the ``[firebell.web]`` table as the web console checks it, then each
plugin's table on its own (its secrets, its keys, whether it is installed), then asks each
enabled plugin's service whether it accepts the settings (the ``firebell_doctor`` hook: the
cheapest authenticated read, e.g. Slack's ``auth.test``), then, with Slack enabled, whether the
token has every bot scope of ``slack-app-manifest.yaml``, then the order of the plugins and the
database. The exit status is 1 when a check failed, else 0.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from firebell.adapters.cli.doctor_plugin_checks import check_plugin
from firebell.adapters.cli.doctor_report import Check, print_report
from firebell.adapters.cli.doctor_slack_manifest import manifest_bot_scopes, manifest_problems
from firebell.core.config import FirebellConfig, parse_config, read_config_file
from firebell.core.database import redact_url, sqlite_write_problem
from firebell.core.errors import ConfigError, DatabaseUnavailable
from firebell.core.plugin_host import PluginHost, create_plugin_manager
from firebell.core.store import EventStore

__all__ = [
    "Check",
    "doctor",
    "manifest_bot_scopes",
    "manifest_problems",
    "run_checks",
]


def run_checks(
    config: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    extra_plugins: Mapping[str, object] | None = None,
    entry_points: bool = True,
) -> list[Check]:
    """Every check of ``firebell doctor`` on the ``plugins.toml`` at ``config``, in order."""
    env = os.environ if environ is None else environ
    checks: list[Check] = []
    raw, path = _read(config, env, checks)
    if raw is None:
        return checks
    engine_raw = {key: value for key, value in raw.items() if key != "plugins"}
    try:
        base = parse_config(engine_raw, path=path, environ=env)
    except ConfigError as error:
        checks.append(Check("fail", "config", str(error)))
        return checks
    checks.append(
        Check(
            "ok",
            "config",
            f"{base.source}: [firebell] is valid ({len(base.severities)} severities, "
            f"default {base.default_severity})",
        )
    )
    if base.web:
        checks.append(_check_web(base))
    tables = raw.get("plugins", {})
    if not isinstance(tables, dict):
        checks.append(Check("fail", "config", f"{base.source}: 'plugins' must be a table."))
        return checks
    manager, installed = create_plugin_manager(entry_points=entry_points, extra=extra_plugins)
    clashes = [found for found in installed.values() if found.claimed_by]
    for found in clashes:
        checks.append(Check("fail", f"plugin {found.name}", found.error or ""))
    if clashes:  # every command stops on these; the plugins' own checks would only repeat it
        checks.append(_check_database(base))
        return checks
    valid = True
    for name, table in tables.items():
        valid &= check_plugin(name, table, engine_raw, path, env, manager, installed, checks)
    if valid:
        try:
            settings = parse_config(raw, path=path, environ=env)
            PluginHost(settings, manager, installed)
        except ConfigError as error:
            checks.append(Check("fail", "plugins", str(error)))
        else:
            checks.append(_check_enabled(settings))
    checks.append(_check_database(base))
    return checks


def _check_enabled(settings: FirebellConfig) -> Check:
    """Which plugins are on; none is not a fault, but incidents would then reach nobody."""
    enabled = settings.enabled_plugins()
    if enabled:
        return Check("ok", "plugins", f"enabled: {', '.join(enabled)}")
    where = (
        f"no plugin is enabled in {settings.path}" if settings.path else "no plugin is configured"
    )
    return Check(
        "warn",
        "plugins",
        f"{where}: incidents are recorded, but nobody hears of them. `firebell demo` writes a "
        "plugins.toml to start from (in firebell-demo/); docs/configuration.md describes the "
        "plugins and their tables",
    )


def _read(
    config: str | Path | None, env: Mapping[str, str], checks: list[Check]
) -> tuple[dict[str, Any] | None, Path | None]:
    explicit = config is not None or "FIREBELL_CONFIG" in env
    path = Path(config or env.get("FIREBELL_CONFIG") or "plugins.toml")
    if not path.exists():
        if explicit:
            checks.append(
                Check(
                    "fail",
                    "config",
                    f"{path}: no such file. Pass --config PATH or set FIREBELL_CONFIG to an "
                    "existing plugins.toml.",
                )
            )
            return None, None
        checks.append(Check("ok", "config", "no plugins.toml here: the built-in defaults apply"))
        return {}, None
    try:
        return read_config_file(path), path
    except ConfigError as error:
        checks.append(Check("fail", "config", str(error)))
    return None, None


def _check_web(settings: FirebellConfig) -> Check:
    """The ``[firebell.web]`` table, checked as ``firebell web`` and ``firebell run`` check it."""
    # Imported here, as by `firebell web`: only a file with a [firebell.web] table needs it.
    from firebell.adapters.web import web_settings

    try:
        web = web_settings(settings)
    except ConfigError as error:
        return Check("fail", "web", str(error))
    host = f"[{web.host}]" if ":" in web.host else web.host
    where = f"http://{host}:{web.port}/incidents"
    served = "`firebell run` and `firebell web` serve" if web.enabled else "`firebell web` serves"
    access = "with a token for other clients" if web.token else "to this machine only (no token)"
    actions = "may declare and resolve" if web.allow_actions else "is read-only"
    return Check(
        "ok",
        "web",
        f"{settings.source}: [firebell.web] is valid: {served} the console on {where}, "
        f"{access}; it {actions}",
    )


def _check_database(settings: FirebellConfig) -> Check:
    from firebell.core.migrations import HEAD

    where = redact_url(settings.database_url)
    sqlite = re.match(r"^sqlite(\+\w+)?:///(?P<file>.+)$", settings.database_url)
    if sqlite and not Path(sqlite["file"]).exists():
        problem = sqlite_write_problem(sqlite["file"])
        if problem is not None:
            return Check("fail", "database", problem)
        return Check("ok", "database", f"{where} does not exist yet; Firebell creates it")
    try:
        store = EventStore(settings.database_url)
    except (ConfigError, DatabaseUnavailable) as error:
        return Check("fail", "database", str(error))
    try:
        revision = store.schema_revision()
        # A log that answers may still refuse every write: a standby, a read-only file.
        read_only = store.write_problem()
    except DatabaseUnavailable as error:
        return Check("fail", "database", str(error))
    except Exception as error:
        return Check(
            "fail",
            "database",
            f"cannot read {where}: {type(error).__name__}: {str(error).rstrip('.')}. "
            "Check database_url "
            "(or FIREBELL_DATABASE_URL) and that the server is up.",
        )
    finally:
        store.dispose()
    if read_only is not None:
        return Check("fail", "database", read_only)
    if revision == HEAD:
        return Check("ok", "database", f"{where} is at schema revision {HEAD}")
    if revision is None:
        return Check("ok", "database", f"{where} is empty; Firebell creates its tables")
    return Check(
        "fail",
        "database",
        f"{where} is at schema revision {revision}, this Firebell needs {HEAD}: back it up, "
        "then run `firebell db upgrade`.",
    )


# -- the command -------------------------------------------------------------------------------


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def doctor(ctx: click.Context, as_json: bool) -> None:
    """Check plugins.toml, every enabled plugin's settings and service, and the database."""
    checks = run_checks(getattr(ctx.obj, "config", None))
    print_report(checks, as_json)
    if any(check.status == "fail" for check in checks):
        ctx.exit(1)
