"""``firebell doctor`` with Slack enabled: does the bot token have every bot scope that the
``slack-app-manifest.yaml`` beside ``plugins.toml`` (or here) asks for? The Slack plugin's own
check covers only the scopes the plugin uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from firebell.adapters.cli.doctor_report import Check
from firebell.core.config import FirebellConfig
from firebell.core.runtime import redact_secrets
from firebell.core.secrets import Secret

__all__ = ["MANIFEST_NAME", "check_manifest", "manifest_bot_scopes", "manifest_problems"]

MANIFEST_NAME = "slack-app-manifest.yaml"


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


def check_manifest(config: Any, settings: FirebellConfig) -> Check:
    """The ``slack app`` line: whether the bot token has the bot scopes of the manifest found
    beside ``plugins.toml`` (or here); ``skip`` when there is none."""
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
