"""The Slack app manifest asks for what the adapter and the Slack plugin use, and no less."""

from __future__ import annotations

import re
from pathlib import Path

from firebell.plugins.slack.doctor import REQUIRED_SCOPES

MANIFEST = Path(__file__).resolve().parents[2] / "slack-app-manifest.yaml"

#: Scopes the adapter itself needs: the slash commands, and user-group membership for
#: [firebell.permissions] rules naming groups (usergroups.users.list).
ADAPTER_SCOPES = ("commands", "usergroups:read")


def _bot_scopes(text: str) -> set[str]:
    block = text.split("    bot:\n", 1)[1].split("\nsettings:", 1)[0]
    return set(re.findall(r"^      - ([a-z.:_]+)$", block, flags=re.MULTILINE))


def test_the_manifest_grants_every_scope_the_adapter_and_the_plugin_use() -> None:
    scopes = _bot_scopes(MANIFEST.read_text(encoding="utf-8"))

    missing = (set(REQUIRED_SCOPES) | set(ADAPTER_SCOPES)) - scopes
    assert not missing, f"slack-app-manifest.yaml lacks {sorted(missing)}"


def test_the_manifest_declares_the_three_commands_escaped_with_help() -> None:
    text = MANIFEST.read_text(encoding="utf-8")
    commands = re.findall(
        r"- command: (/[a-z-]+)\n"
        r"      url: (\S+)\n"
        r"      description: (.+)\n"
        r"      usage_hint: (.+)\n"
        r"      should_escape: (\w+)\n",
        text,
    )

    assert [c[0] for c in commands] == ["/incident", "/resolve-incident", "/close-incident"]
    for _command, url, description, hint, escape in commands:
        # Escaped mentions (<@U123|name>) are what `/incident commander @name` parses.
        assert url.endswith("/slack/events") and description and hint and escape == "true"


def test_the_manifest_enables_socket_mode_and_interactivity() -> None:
    text = MANIFEST.read_text(encoding="utf-8")

    assert "  socket_mode_enabled: true\n" in text
    assert re.search(
        r"  interactivity:\n    is_enabled: true\n    request_url: \S+/slack/events\n", text
    )
