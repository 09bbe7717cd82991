"""What a command says about the deliveries it left undone: one line for the plugins that only
have pending deliveries, and a plugin's last error only when there is one."""

from __future__ import annotations

from pathlib import Path

from cli_support import Outcome, run_firebell, write_config


def fb(config: Path, *args: str) -> Outcome:
    """``firebell --config CONFIG ARGS``, which must succeed."""
    outcome = run_firebell(["--config", str(config), *args])
    assert outcome.code == 0, outcome
    return outcome


def notes(outcome: Outcome) -> list[str]:
    """The notes on standard error (the console plugin writes its lines there too)."""
    return [line for line in outcome.stderr.splitlines() if line.startswith("note:")]


def test_with_no_time_to_deliver_one_line_says_what_is_pending(tmp_path: Path) -> None:
    config = write_config(tmp_path)

    declared = fb(config, "--deliver-timeout", "0", "declare", "Disk full", "--json")
    name = declared.json()["incident"]["id"]
    updated = fb(config, "--deliver-timeout", "0", "update", name, "Cleaning up")

    assert notes(declared) == [
        "note: pending deliveries: console 1, markdown 1; none failed. `firebell run` (or "
        "`firebell deliver`) delivers them."
    ]
    [pending] = notes(updated)
    assert pending.startswith("note: pending deliveries: console 2, markdown ")
    assert "last error" not in declared.stderr + updated.stderr
    assert notes(fb(config, "deliver")) == []
