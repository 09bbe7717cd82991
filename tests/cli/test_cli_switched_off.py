"""A plugin switched off while an incident ends: skipped when back on, listed, delivered on demand."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from cli_support import Outcome, run_firebell, write_config


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
