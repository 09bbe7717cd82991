"""The CLI takes an incident by its name or by its Slack channel's name as people copy it
(``#incd-<name>``, ``incd-<name>-resolved``), and suggests the one incident whose name ends
with a name that matches nothing, without acting on it."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cli_support import Outcome, run_firebell, write_config
from firebell.core import open_firebell
from firebell.core.config import load_config
from firebell.core.naming import NameGenerator


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """plugins.toml with the console and markdown plugins and a log in ``tmp_path``."""
    return write_config(tmp_path)


def fb(config: Path, *args: str) -> Outcome:
    """``firebell --config CONFIG ARGS``."""
    return run_firebell(["--config", str(config), *args])


def declare(config: Path, title: str = "Checkout failing") -> str:
    outcome = fb(config, "declare", title, "--json")
    assert outcome.code == 0, outcome
    name: str = outcome.json()["incident"]["id"]
    return name


def test_the_channel_name_copied_from_slack_names_the_incident(config: Path) -> None:
    name = declare(config)

    shown = fb(config, "show", f"#incd-{name}")
    assert shown.code == 0, shown
    assert shown.stdout.startswith(f"{name}  Checkout failing\n")
    assert fb(config, "note", f"#INCD-{name.upper()}", "Rolled back").code == 0
    resolved = fb(config, "resolve", f"#incd-{name}")
    assert resolved.code == 0 and resolved.stdout.startswith(f"{name}: resolved."), resolved

    # Resolved, the channel is called incd-<name>-resolved: that is what people see and copy.
    for text in (f"incd-{name}-resolved", f"#incd-{name}-resolved", f"{name}-resolved"):
        found = fb(config, "timeline", text)
        assert found.code == 0, (text, found)
        assert f"{name}  Checkout failing" in found.stdout
    assert fb(config, "followup", f"incd-{name}-resolved", "Alert on 502s").code == 0
    assert fb(config, "followup-done", f"#incd-{name}-resolved", "1").code == 0
    # A second channel name (the first was taken) is the same incident too.
    reopened = fb(config, "reopen", f"incd-{name}-2-resolved", "--json")
    assert reopened.code == 0 and reopened.json()["incident"]["id"] == name
    assert fb(config, "export", "--incident", f"#incd-{name}").code == 0

    [task] = fb(config, "show", f"#incd-{name}", "--json").json()["incident"]["follow_ups"]
    assert task["done_at"] is not None


def declare_on(config: Path, day: int) -> str:
    """An incident declared on 2026-06-<day>, named by the same draw whatever the day."""
    firebell = open_firebell(
        load_config(config, environ={}),
        clock=lambda: datetime(2026, 6, day, 12, tzinfo=UTC),
        names=NameGenerator(random.Random(7)),
    )
    try:
        return firebell.engine.declare(title="Checkout failing", reporter="cli:ana").incident.id
    finally:
        firebell.close()


def test_a_name_that_matches_nothing_suggests_the_incident_it_ends_with(config: Path) -> None:
    name = declare_on(config, 1)
    tail = name.split("-", 1)[1]  # adjective-animal, as said aloud

    for command in (["show", tail], ["resolve", tail], ["show", f"#incd-{tail}-resolved"]):
        refused = fb(config, *command)
        assert refused.code == 1, refused
        typed = command[1]
        assert refused.stderr == (
            f"error: There is no incident called {typed!r}. Did you mean {name}? "
            "`firebell list` shows them.\n"
        )
    assert fb(config, "show", name, "--json").json()["incident"]["state"] == "open", (
        "a suggestion is not acted on"
    )
    unknown = fb(config, "show", "no-such-thing")
    assert unknown.code == 1
    assert "There is no incident called 'no-such-thing'" in unknown.stderr
    assert "Did you mean" not in unknown.stderr

    # Two incidents end with it (the same draw a day later): no guess.
    assert declare_on(config, 2).endswith(tail)
    ambiguous = fb(config, "show", tail)
    assert ambiguous.code == 1
    assert "There is no incident called" in ambiguous.stderr
    assert "Did you mean" not in ambiguous.stderr
