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


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('enabled = "yes"', "[firebell.web] enabled must be true or false, got 'yes'."),
        ('token = "plain-text-secret"', "[firebell.web] token is a secret: write token = { env ="),
        ('token = { env = "FB_TEST_WEB_TOKEN" }', "token (from FB_TEST_WEB_TOKEN) is too short"),
        ("port = 70000", "[firebell.web] port must be a whole number from 0 to 65535"),
        ("allow_action = true", "[firebell.web] has unknown key 'allow_action'. Valid keys:"),
    ],
)
def test_doctor_reports_what_firebell_web_would_refuse(
    tmp_path: Path, table: str, expected: str
) -> None:
    config = write_config(tmp_path, f"\n[firebell.web]\n{table}\n")
    env = {"FB_TEST_WEB_TOKEN": "short"}
    web = run_firebell(["--config", str(config), "web", "--port", "0"], env=env)
    assert web.code == 2, web
    refusal = web.stderr.strip().removeprefix("error: ")
    assert refusal.startswith(f"{config}: ") and expected in refusal

    doctor = run_firebell(["--config", str(config), "doctor"], env=env)
    assert doctor.code == 1, doctor
    assert f"fail web: {refusal}" in doctor.stdout.splitlines()
    assert doctor.stdout.strip().endswith("1 problem found.")


def test_doctor_says_how_a_valid_web_table_serves_the_console(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        '\n[firebell.web]\nenabled = true\nport = 8181\ntoken = { env = "FB_TEST_WEB_TOKEN" }\n',
    )
    doctor = run_firebell(["--config", str(config), "doctor"], env={"FB_TEST_WEB_TOKEN": "x" * 24})
    assert doctor.code == 0, doctor
    assert (
        f"ok   web: {config}: [firebell.web] is valid: `firebell run` and `firebell web` serve "
        "the console on http://127.0.0.1:8181/incidents, with a token for other clients; it is "
        "read-only"
    ) in doctor.stdout.splitlines()
