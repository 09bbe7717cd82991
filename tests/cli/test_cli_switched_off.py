"""A plugin switched off while an incident ends: skipped when back on, listed, delivered on demand."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_support import Outcome, run_firebell, write_config
from firebell.core import open_firebell
from firebell.core.config import load_config


def fb(config: Path, *args: str) -> Outcome:
    """``firebell --config CONFIG ARGS``, which must succeed."""
    outcome = run_firebell(["--config", str(config), *args])
    assert outcome.code == 0, outcome
    return outcome


def switch_markdown(config: Path, *, on: bool) -> None:
    """Set ``enabled`` in the ``[plugins.markdown]`` table of ``config``."""
    text = config.read_text(encoding="utf-8").replace(
        "[plugins.markdown]\nenabled = false\n", "[plugins.markdown]\n"
    )
    if not on:
        text = text.replace("[plugins.markdown]\n", "[plugins.markdown]\nenabled = false\n")
    config.write_text(text, encoding="utf-8")


def test_an_incident_closed_while_markdown_was_off_gets_no_post_mortem_unless_asked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    config = write_config(tmp_path)
    # Declared, and the process gone before markdown wrote anything (no time to deliver).
    declared = fb(config, "--deliver-timeout", "0", "declare", "Disk full", "--json")
    name = json.loads(declared.stdout)["incident"]["id"]
    postmortem = tmp_path / "postmortems" / f"{name}.md"

    switch_markdown(config, on=False)
    fb(config, "resolve", name)
    fb(config, "close", name, "--yes")
    switch_markdown(config, on=True)

    caplog.set_level(logging.WARNING, logger="firebell.delivery")
    fb(config, "deliver")
    assert not postmortem.exists(), "a post-mortem for an incident closed while markdown was off"
    reason = f"skipped: markdown was off when {name} was closed ("
    [warning] = [r.getMessage() for r in caplog.records if "was off when" in r.getMessage()]
    assert warning.startswith(f"plugin markdown: 1 pending delivery of {name} {reason}")

    rows = {row["name"]: row for row in fb(config, "plugins", "--json").json()}
    markdown = rows["markdown"]
    assert (markdown["pending"], markdown["failed"], markdown["skipped"]) == (0, 0, 1)
    assert markdown["skip_reason"].startswith(reason)
    assert (
        "`firebell retry --skipped --plugin markdown` delivers it anyway"
        in (markdown["skip_reason"])
    )
    assert rows["console"]["skipped"] == 0, "console was on all along"
    listing = fb(config, "plugins").stdout
    assert "delivered=0 skipped=1" in listing
    assert f"last {reason}" in listing

    shown = fb(config, "show", name).stdout
    assert "undone:    markdown: 1 skipped" in shown
    assert reason in shown
    assert "`firebell retry --skipped --plugin markdown` delivers it anyway" in shown
    undone = fb(config, "show", name, "--json").json()["deliveries"]
    assert list(undone) == ["markdown"]
    assert (undone["markdown"]["skipped"], undone["markdown"]["pending"]) == (1, 0)

    retried = fb(config, "retry", "--skipped", "--plugin", "markdown")
    # The created event put back, and the resolve and the close it missed.
    assert "Queued 3 deliveries again." in retried.stdout
    assert postmortem.exists()
    rows = {row["name"]: row for row in fb(config, "plugins", "--json").json()}
    assert (rows["markdown"]["pending"], rows["markdown"]["skipped"]) == (0, 0)
    assert fb(config, "show", name, "--json").json()["deliveries"] == {}
    assert "Queued 0 deliveries again." in fb(config, "retry", "--skipped").stdout


def test_the_note_after_a_command_does_not_promise_to_deliver_to_a_plugin_that_is_off(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path)
    declared = fb(config, "--deliver-timeout", "0", "declare", "Disk full", "--json")
    name = json.loads(declared.stdout)["incident"]["id"]
    switch_markdown(config, on=False)

    resolved = fb(config, "resolve", name)

    [note] = [line for line in resolved.stderr.splitlines() if "plugin markdown" in line]
    assert note == (
        "note: plugin markdown is switched off: 1 pending, 0 failed. "
        f"They wait until it is switched on again in {config} (`enabled = true` in "
        "[plugins.markdown]); no command delivers to it before."
    )
    # Delivering really does nothing for it, as the note says.
    assert "plugin markdown is switched off: 1 pending" in fb(config, "deliver").stderr


def test_the_skip_of_a_failing_plugin_is_a_plain_statement_in_the_post_mortem(
    tmp_path: Path,
) -> None:
    # markdown fails for the incident (its folder cannot be made), and is switched off
    # while the incident is resolved and closed.
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the post-mortems' folder should go", encoding="utf-8")
    config = write_config(tmp_path)
    config.write_text(
        config.read_text(encoding="utf-8").replace(
            (tmp_path / "postmortems").as_posix(), (blocker / "pm").as_posix()
        ),
        encoding="utf-8",
    )
    # Declared an hour ago: markdown's first retry (2 s after its failure) is due for the CLI.
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    firebell = open_firebell(load_config(config, environ={}), clock=lambda: an_hour_ago)
    try:
        name = firebell.engine.declare(title="Disk full", reporter="cli:ana").incident.id
        firebell.deliverer.drain()
        assert firebell.engine.get(name).failing_plugins == ("markdown",)
    finally:
        firebell.close()
    switch_markdown(config, on=False)
    fb(config, "resolve", name)
    fb(config, "close", name, "--yes")
    switch_markdown(config, on=True)
    blocker.unlink()

    delivered = fb(config, "deliver")

    plain = (
        "markdown: 1 delivery skipped (it was off when the incident was closed and had created "
        "nothing for it)"
    )
    # The console labels it for what it is: no update of the incident.
    assert f"[firebell] Plugin status: {name} — {plain}\n" in delivered.stderr
    assert "Incident update" not in delivered.stderr
    # The timeline states what happened; the operator's advice is where the operator looks.
    advice = "`firebell retry --skipped --plugin markdown` delivers it anyway"
    shown = fb(config, "show", name).stdout
    assert f"  {plain}  — plugin:markdown\n" in shown
    assert shown.count(advice) == 1, "the advice once: under 'undone', not in the timeline"
    assert advice in fb(config, "plugins").stdout

    fb(config, "retry", "--skipped", "--plugin", "markdown")

    postmortem = (blocker / "pm" / f"{name}.md").read_text(encoding="utf-8")
    [line] = [line for line in postmortem.splitlines() if "skipped" in line]
    assert line.endswith(f" — {plain} (plugin:markdown)")
    assert "firebell retry" not in postmortem, "advice that outlives its use"
    assert advice not in fb(config, "show", name).stdout, "done: nothing left to advise"
