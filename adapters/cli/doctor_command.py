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

import inspect
import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import attrs
import click
from firebell.core.config import FirebellConfig, parse_config
from firebell.core.database import redact_url, sqlite_write_problem
from firebell.core.errors import ConfigError, DatabaseUnavailable
from firebell.core.plugin_host import InstalledPlugin, PluginHost, create_plugin_manager
from firebell.core.runtime import redact_secrets
from firebell.core.secrets import Secret
from firebell.core.store import EventStore

__all__ = [
    "Check",
    "doctor",
    "manifest_bot_scopes",
    "manifest_problems",
    "run_checks",
]

Status = Literal["ok", "fail", "skip"]

MANIFEST_NAME = "slack-app-manifest.yaml"


@attrs.frozen
class Check:
    """One line of the report: ``ok``, ``fail`` or ``skip``, what was checked, what was found."""

    status: Status
    subject: str
    message: str

    def line(self) -> str:
        """The line as printed."""
        return f"{self.status:<4} {self.subject}: {self.message}"


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
        valid &= _check_plugin(name, table, engine_raw, path, env, manager, installed, checks)
    if valid:
        try:
            settings = parse_config(raw, path=path, environ=env)
            PluginHost(settings, manager, installed)
        except ConfigError as error:
            checks.append(Check("fail", "plugins", str(error)))
        else:
            order = ", ".join(settings.enabled_plugins()) or "none"
            checks.append(Check("ok", "plugins", f"enabled: {order}"))
    checks.append(_check_database(base))
    return checks


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
        checks.append(
            Check("ok", "config", "no plugins.toml here: built-in defaults, no plugins enabled")
        )
        return {}, None
    try:
        return tomllib.loads(path.read_text(encoding="utf-8")), path
    except tomllib.TOMLDecodeError as error:
        checks.append(Check("fail", "config", f"{path}: not valid TOML: {error}. Fix the syntax."))
    except (OSError, UnicodeDecodeError) as error:
        checks.append(Check("fail", "config", f"{path}: cannot be read ({error})."))
    return None, None


def _check_plugin(
    name: str,
    table: Any,
    engine_raw: Mapping[str, Any],
    path: Path | None,
    env: Mapping[str, str],
    manager: Any,
    installed: Mapping[str, InstalledPlugin],
    checks: list[Check],
) -> bool:
    subject = f"plugin {name}"
    try:
        alone = parse_config({**engine_raw, "plugins": {name: table}}, path=path, environ=env)
        # Built for a disabled table too: its `after` is checked at start-up all the same, and
        # a wrong name there belongs on this plugin's line, as it does for an enabled one.
        host = PluginHost(alone, manager, installed)
        if not alone.plugins[name].enabled:
            checks.append(Check("skip", subject, "disabled (enabled = false); not checked"))
            return True
    except ConfigError as error:
        checks.append(Check("fail", subject, str(error)))
        return False
    enabled = host.enabled[name]
    checks.append(Check("ok", subject, f"settings are valid ({enabled.source})"))
    try:
        problems = _service_problems(host, name, alone)
    except Exception as error:
        message = redact_secrets(f"{type(error).__name__}: {error}", alone)
        checks.append(Check("fail", name, f"the check itself failed: {message}"))
        return True
    if problems is None:
        checks.append(Check("skip", name, "the plugin has no firebell_doctor check"))
    elif not problems:
        checks.append(Check("ok", name, "the service accepts the settings"))
    for problem in problems or []:
        text = redact_secrets(str(problem), alone)
        if text.lower().startswith(f"{name}: "):  # "slack: …" would read "fail slack: slack: …"
            text = text[len(name) + 2 :]
        checks.append(Check("fail", name, text))
    if name == "slack":
        checks.append(_check_manifest(enabled.config, alone))
    return True


def _service_problems(host: PluginHost, name: str, settings: FirebellConfig) -> list[str] | None:
    """The plugin's own check: its ``firebell_doctor`` hook, else its module's ``check``."""
    config = host.enabled[name].config
    values = {"config": config, "settings": settings}
    impls = [
        impl
        for impl in host.manager.hook.firebell_doctor.get_hookimpls()
        if impl.plugin_name == name
    ]
    if impls:
        problems: list[str] = []
        for impl in impls:
            result = impl.function(**{arg: values[arg] for arg in impl.argnames if arg in values})
            problems.extend(_lines(name, result))
        return problems
    check = getattr(host.manager.get_plugin(name), "check", None)
    if callable(check):
        # Built-in plugins written before the hook existed expose check(config[, settings]).
        wanted = inspect.signature(check).parameters
        return _lines(name, check(**{k: v for k, v in values.items() if k in wanted}))
    return None


def _lines(name: str, result: object) -> list[str]:
    if result is None:
        return []
    if isinstance(result, str) or not isinstance(result, Sequence):
        raise TypeError(f"plugin {name!r}: firebell_doctor returned {result!r}, not a list of str")
    return [str(item) for item in result]


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


# -- Slack ------------------------------------------------------------------------------------


def manifest_bot_scopes(text: str) -> list[str]:
    """The bot scopes a Slack app manifest (YAML) asks for: ``oauth_config.scopes.bot``."""
    scopes: list[str] = []
    stack: list[tuple[int, str]] = []
    collecting: int | None = None
    for raw_line in text.splitlines():
        line = raw_line.split(" #", 1)[0].rstrip()
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip())
        if collecting is not None:
            if stripped.startswith("- ") and indent >= collecting:
                scopes.append(stripped[2:].strip().strip("'\""))
                continue
            collecting = None
        key, colon, rest = stripped.partition(":")
        if not colon or stripped.startswith("- "):
            continue
        while stack and stack[-1][0] >= indent:
            stack.pop()
        stack.append((indent, key.strip()))
        if [k for _, k in stack[-3:]] == ["oauth_config", "scopes", "bot"]:
            rest = rest.strip()
            if rest.startswith("["):
                scopes.extend(s.strip().strip("'\"") for s in rest.strip("[]").split(",") if s)
            else:
                collecting = indent
    return scopes


def _find_manifest(settings: FirebellConfig) -> Path | None:
    folders = [settings.path.parent] if settings.path is not None else []
    for folder in [*folders, Path.cwd()]:
        if (folder / MANIFEST_NAME).is_file():
            return folder / MANIFEST_NAME
    return None


def _check_manifest(config: Any, settings: FirebellConfig) -> Check:
    manifest = _find_manifest(settings)
    if manifest is None:
        return Check(
            "skip",
            "slack app",
            f"no {MANIFEST_NAME} beside plugins.toml or here; scopes checked against the "
            "plugin's needs only",
        )
    try:
        problems = manifest_problems(config, manifest)
    except Exception as error:
        message = redact_secrets(f"{type(error).__name__}: {error}", settings)
        return Check("fail", "slack app", f"the check itself failed: {message}")
    if problems:
        return Check("fail", "slack app", redact_secrets("; ".join(problems), settings))
    return Check("ok", "slack app", f"the token has every bot scope {manifest} asks for")


def manifest_problems(config: Any, manifest: Path) -> list[str]:
    """Whether the bot token (``auth.test``'s ``x-oauth-scopes``) has the manifest's bot scopes.

    The Slack plugin's own check covers the scopes it uses; the manifest also holds those of the
    Slack adapter (slash commands, users), which an app installed from an old manifest lacks.
    """
    from firebell.plugins.slack.client import make_web_client
    from slack_sdk.errors import SlackApiError

    needed = manifest_bot_scopes(manifest.read_text(encoding="utf-8"))
    if not needed:
        return [f"{manifest} lists no bot scopes under oauth_config.scopes.bot"]
    token: Secret = config.bot_token
    client = make_web_client(token.reveal(), base_url=config.api_url, timeout=10)
    try:
        response = client.auth_test()
    except SlackApiError as error:
        code = error.response.get("error") if error.response is not None else None
        return [f"auth.test failed ({code}); see the slack line above for what to fix"]
    except OSError as error:
        return [f"cannot reach Slack at {client.base_url} ({error}); check api_url and the network"]
    granted = _header(response.headers, "x-oauth-scopes")
    if granted is None:
        return ["Slack did not say which scopes the token has (no x-oauth-scopes header)"]
    have = {scope.strip() for scope in granted.split(",") if scope.strip()}
    missing = [scope for scope in needed if scope not in have]
    if missing:
        return [
            f"the app lacks the scopes {', '.join(missing)} that {manifest} asks for: update "
            "the app from the manifest (or add them under OAuth & Permissions → Bot Token "
            "Scopes), reinstall it to the workspace, and run firebell doctor again"
        ]
    return []


def _header(headers: Any, name: str) -> str | None:
    for key, value in dict(headers or {}).items():
        if str(key).lower() == name:
            return str(value[0] if isinstance(value, list | tuple) else value)
    return None


# -- the command -------------------------------------------------------------------------------


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def doctor(ctx: click.Context, as_json: bool) -> None:
    """Check plugins.toml, every enabled plugin's settings and service, and the database."""
    checks = run_checks(getattr(ctx.obj, "config", None))
    _print(checks, as_json)
    if any(check.status == "fail" for check in checks):
        ctx.exit(1)


def _print(checks: Sequence[Check], as_json: bool) -> None:
    if as_json:
        import json

        click.echo(json.dumps([attrs.asdict(check) for check in checks], indent=2))
        return
    colours: dict[str, Callable[[str], str]] = {
        "ok": lambda text: click.style(text, fg="green"),
        "fail": lambda text: click.style(text, fg="red"),
        "skip": lambda text: click.style(text, fg="yellow"),
    }
    for check in checks:
        click.echo(colours[check.status](check.line()))
    failed = sum(check.status == "fail" for check in checks)
    click.echo(f"{failed} problem{'s' if failed != 1 else ''} found." if failed else "All good.")
