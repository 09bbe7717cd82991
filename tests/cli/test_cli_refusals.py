"""What ``firebell`` refuses before it does harm: settings that would silently do nothing (or
lock people out), and command-line values that match nothing. Each refusal says what is valid."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import run_firebell, write_config


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ('"comander"', "resolve: 'comander' is not a valid entry (did you mean 'commander'?)"),
        ('"commander", "Commander"', "resolve: 'Commander' is not a valid entry (did you mean"),
        ('"boss"', "resolve: 'boss' is not a valid entry."),
        ('"user:@ana"', "resolve: 'user:@ana' is not a valid entry: after user: comes a Slack"),
        ('"group:oncall"', "resolve: 'group:oncall' is not a valid entry: after group: comes"),
    ],
)
def test_a_permission_entry_that_matches_nobody_stops_every_command_and_fails_doctor(
    tmp_path: Path, who: str, expected: str
) -> None:
    config = write_config(tmp_path, f"\n[firebell.permissions]\nresolve = [{who}]\n")
    outcome = run_firebell(["--config", str(config), "declare", "x"])
    assert outcome.code == 2, outcome
    assert outcome.stderr.startswith(f"error: {config}: [firebell.permissions] {expected}")
    assert "Valid entries: " in outcome.stderr and '"group:S0123ABCDEF"' in outcome.stderr
    assert len(outcome.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "firebell.db").exists(), "nothing was recorded"

    doctor = run_firebell(["--config", str(config), "doctor"])
    assert doctor.code == 1, doctor
    assert f"fail config: {config}: [firebell.permissions] {expected}" in doctor.stdout


def test_valid_permission_entries_are_accepted_by_doctor(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        '\n[firebell.permissions]\nresolve = ["commander", "user:U0123ALICE", '
        '"user:web:ana@example.com", "group:S0123ONCALL"]\n',
    )
    doctor = run_firebell(["--config", str(config), "doctor"])
    assert doctor.code == 0, doctor
    assert doctor.stdout.strip().endswith("All good.")
