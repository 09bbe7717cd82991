"""What ``firebell`` refuses before it does harm: settings that would silently do nothing (or
lock people out), and command-line values that match nothing. Each refusal says what is valid."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from cli_support import install_plugin, run_firebell, write_config

#: A plugin that is installed for a while, then uninstalled.
GONE = textwrap.dedent(
    """
    from firebell.core import hookimpl


    @hookimpl
    def firebell_incident_created(incident):
        return None
    """
)


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


def test_retry_refuses_a_plugin_name_that_nothing_answers_to(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    outcome = run_firebell(["--config", str(config), "retry", "--plugin", "nope"])
    assert outcome.code == 2, outcome
    assert "Invalid value for --plugin: no plugin 'nope' is installed or has deliveries" in (
        outcome.stderr
    )
    known = outcome.stderr.strip().split("known plugins: ")[1].split(", ")
    assert {"console", "markdown", "slack"} <= set(known) and known == sorted(known)
    assert outcome.stdout == "", "nothing was queued"

    # An installed plugin, enabled or not, is a name retry accepts.
    for plugin in ("markdown", "slack"):
        accepted = run_firebell(["--config", str(config), "retry", "--plugin", plugin])
        assert accepted.code == 0, accepted
        assert accepted.stdout.startswith("Queued 0 deliveries again.")


def test_a_plugin_no_longer_installed_can_still_be_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(install_plugin(site, "gone", "fbtest_gone", GONE, "0.1")))
    config = write_config(tmp_path, "\n[plugins.gone]\n")
    assert run_firebell(["--config", str(config), "declare", "x"]).code == 0
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(site)])  # uninstalled
    config.write_text(config.read_text().replace("[plugins.gone]", ""), encoding="utf-8")

    accepted = run_firebell(["--config", str(config), "retry", "--plugin", "gone"])
    assert accepted.code == 0, "its deliveries are still in the log"
    assert accepted.stdout.startswith("Queued 0 deliveries again.")


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--severity", "SEV9"], "Invalid value for --severity: 'SEV9' is not one of SEV0, SEV1"),
        (["--limit", "-1"], "Invalid value for '--limit': -1 is not in the range x>=1."),
        (["--limit", "0"], "Invalid value for '--limit': 0 is not in the range x>=1."),
        (["--offset", "-5"], "Invalid value for '--offset': -5 is not in the range x>=0."),
    ],
)
def test_list_refuses_what_can_match_nothing_as_stats_does(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    config = write_config(tmp_path)
    outcome = run_firebell(["--config", str(config), "list", *args])
    assert outcome.code == 2, outcome
    assert expected in outcome.stderr
    assert "No incidents." not in outcome.stdout


def test_list_and_stats_read_a_severity_in_any_case_the_same(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    declared = run_firebell(["--config", str(config), "declare", "x", "-s", "SEV1", "--json"])
    name = declared.json()["incident"]["id"]
    listed = run_firebell(["--config", str(config), "list", "--severity", "sev1", "--json"])
    assert [incident["id"] for incident in listed.json()] == [name]
    stats = run_firebell(["--config", str(config), "stats", "--severity", "sev1", "--json"])
    assert stats.code == 0, stats
    stats_refusal = run_firebell(["--config", str(config), "stats", "--severity", "SEV9"])
    list_refusal = run_firebell(["--config", str(config), "list", "--severity", "SEV9"])
    assert list_refusal.code == stats_refusal.code == 2
    assert list_refusal.stderr.splitlines()[-1] == stats_refusal.stderr.splitlines()[-1]


def test_a_misspelt_after_stops_every_command_and_fails_doctor(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    config.write_text(
        config.read_text().replace("[plugins.console]\n", '[plugins.console]\nafter = ["slakc"]\n')
    )
    outcome = run_firebell(["--config", str(config), "list"])
    assert outcome.code == 2, outcome
    assert (
        f"error: {config}: [plugins.console] after: plugin 'console' waits for 'slakc', which "
        "is not a known plugin (installed: "
    ) in outcome.stderr
    doctor = run_firebell(["--config", str(config), "doctor"])
    assert doctor.code == 1
    assert "fail plugin console: " in doctor.stdout and "waits for 'slakc'" in doctor.stdout

    # Waiting for a plugin that is installed but off is allowed: it means not waiting.
    config.write_text(config.read_text().replace('"slakc"', '"slack"'))
    assert run_firebell(["--config", str(config), "list"]).code == 0


def test_severities_differing_only_in_case_are_refused(tmp_path: Path) -> None:
    config = write_config(
        tmp_path, '\n[firebell.severities]\nsev1 = "down"\nSEV1 = "down too"\nSEV2 = "slow"\n'
    )
    outcome = run_firebell(["--config", str(config), "declare", "x", "-s", "SEV1"])
    assert outcome.code == 2, outcome
    assert f"error: {config}: [firebell.severities] 'sev1' and 'SEV1' differ only in case" in (
        outcome.stderr
    )
