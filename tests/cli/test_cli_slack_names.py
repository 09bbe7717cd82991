"""Slack user ids given to the CLI become names, like those of people acting in Slack: with the
Slack plugin enabled, a command looks the ids it recorded up (``users.info``, with the plugin's
token and ``api_url``) and records ``person.named``, so that ``show``, the JSON and the
post-mortems name them. A failed lookup changes nothing of what the command says or its exit
code; without the Slack plugin nothing is looked up. The real CLI against the fake Slack."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import Outcome, run_firebell, run_firebell_process, write_config

from firebell.testing.fake_http import Fault
from firebell.testing.fake_slack import FakeSlack

REPORTER = "U0000REPORT"
ANA = "U0ANA"
BEN = "U0BEN"
USERS_INFO = r"/api/users\.info$"
#: A line the CLI logs (the console plugin writes to standard error too), giving its level.
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d [\d:,]+ ([A-Z]+) ", re.MULTILINE)


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    """The fake Slack workspace, where Rita, Ana and Ben have names."""
    with FakeSlack() as slack:
        slack.add_user("rita", user_id=REPORTER, real_name="Rita Reporter")
        slack.add_user("ana", user_id=ANA, real_name="Ana Lyst")
        slack.add_user("ben", user_id=BEN, real_name="Ben Okafor")
        yield slack


def slack_table(fake: FakeSlack, *, enabled: bool = True) -> str:
    """The ``[plugins.slack]`` table pointing at ``fake``."""
    switch = "" if enabled else "enabled = false\n"
    return (
        f'\n[plugins.slack]\n{switch}bot_token = {{ env = "SLACK_BOT_TOKEN" }}\n'
        f'api_url = "{fake.url}/api/"\n'
    )


@pytest.fixture
def config(tmp_path: Path, fake: FakeSlack) -> Path:
    """plugins.toml with the Slack plugin (on the fake), the console and markdown ones."""
    return write_config(tmp_path, slack_table(fake))


def fb(config: Path, fake: FakeSlack, *args: str) -> Outcome:
    """``firebell --config CONFIG ARGS`` in this process, which must succeed."""
    outcome = run_firebell(["--config", str(config), *args], env={"SLACK_BOT_TOKEN": fake.token})
    assert outcome.code == 0, outcome
    return outcome


def declared(config: Path, fake: FakeSlack, *args: str) -> str:
    """The name of an incident declared with ``args``."""
    outcome = fb(config, fake, "declare", "Checkout failing", *args, "--json")
    name: str = outcome.json()["incident"]["id"]
    return name


def postmortem(tmp_path: Path, name: str) -> str:
    """The markdown post-mortem of incident ``name``."""
    return (tmp_path / "postmortems" / f"{name}.md").read_text(encoding="utf-8")


def test_ids_given_to_the_cli_are_named_from_slack(
    config: Path, fake: FakeSlack, tmp_path: Path
) -> None:
    declaration = fb(config, fake, "declare", "Checkout failing", "--as", REPORTER, "--json")
    incident = declaration.json()["incident"]
    name = incident["id"]
    assert (incident["reporter"], incident["reporter_name"]) == (REPORTER, "Rita Reporter")

    fb(config, fake, "commander", name, ANA, "--as", REPORTER)
    added = fb(config, fake, "followup", name, "Write RCA", "--owner", f"<@{BEN}>", "--json")
    assert (added.json()["follow_up"]["owner"], added.json()["follow_up"]["owner_name"]) == (
        BEN,
        "Ben Okafor",
    )

    shown = fb(config, fake, "show", name, "--json").json()["incident"]
    assert [(shown[f], shown[f"{f}_name"]) for f in ("reporter", "commander")] == [
        (REPORTER, "Rita Reporter"),
        (ANA, "Ana Lyst"),
    ]
    lines = [line.strip() for line in fb(config, fake, "show", name).stdout.splitlines()]
    assert "reporter:  Rita Reporter (U0000REPORT)" in lines
    assert "commander: Ana Lyst (U0ANA)" in lines
    assert "#1 [ ] Write RCA — Ben Okafor (U0BEN)" in lines
    document = postmortem(tmp_path, name)
    assert "by Rita Reporter." in document.splitlines()[2], "the header names the reporter"
    assert "- [ ] Write RCA — Ben Okafor" in document
    assert REPORTER not in document
    # Once named, a person is not asked for again.
    assert len(fake.calls_to(USERS_INFO)) == 3
    fb(config, fake, "update", name, "Rolled back", "--as", REPORTER)
    assert len(fake.calls_to(USERS_INFO)) == 3


@pytest.mark.parametrize(
    "failure",
    ["connection dropped", "token refused", "no users:read scope"],
)
def test_a_failed_lookup_changes_neither_the_output_nor_the_exit_code(
    tmp_path: Path, fake: FakeSlack, config: Path, failure: str
) -> None:
    if failure == "connection dropped":
        fake.fail_next(USERS_INFO, Fault(drop=True), times=100)
    elif failure == "token refused":
        refused = Fault(status=200, body={"ok": False, "error": "invalid_auth"})
        fake.fail_next(USERS_INFO, refused, times=100)
    else:
        fake.scopes.discard("users:read")
    environ = {"SLACK_BOT_TOKEN": fake.token}
    base = ["--config", str(config)]

    first = run_firebell_process([*base, "declare", "Checkout failing", "--as", ANA], environ)
    name = first.stdout.split(":")[0]
    assigned = run_firebell_process([*base, "commander", name, BEN, "--as", REPORTER], environ)

    assert (first.code, first.stdout) == (0, f"{name}: declared. State: open, SEV2.\n")
    assert (assigned.code, assigned.stdout) == (
        0,
        f"{name}: {BEN} is commander. State: open, SEV2.\n",
    )
    for outcome in (first, assigned):
        logged = LOG_LINE.findall(outcome.stderr)
        assert len(logged) <= 1 and all(level == "WARNING" for level in logged), outcome.stderr
    assert len(fake.calls_to(USERS_INFO)) <= 2, "one failed lookup per command, not one each"
    shown = run_firebell_process([*base, "show", name, "--json"], environ).json()["incident"]
    assert (shown["reporter_name"], shown["commander_name"]) == (None, None)
    # Slack answers again: the next command names whom it involves.
    fake.clear_faults()
    fake.scopes.add("users:read")
    fb(config, fake, "update", name, "Rolled back", "--as", ANA)
    shown = fb(config, fake, "show", name, "--json").json()["incident"]
    assert (shown["reporter"], shown["reporter_name"]) == (ANA, "Ana Lyst")


def test_only_an_enabled_slack_plugin_looks_people_up(
    tmp_path: Path, fake: FakeSlack, config: Path
) -> None:
    named = declared(config, fake, "--as", REPORTER)
    asked = len(fake.calls_to(USERS_INFO))
    (tmp_path / "off").mkdir()
    (tmp_path / "plain").mkdir()
    switched_off = write_config(tmp_path / "off", slack_table(fake, enabled=False))
    without_slack = write_config(tmp_path / "plain")

    for other in (switched_off, without_slack):
        name = declared(other, fake, "--as", REPORTER)
        fb(other, fake, "commander", name, ANA)
        shown = fb(other, fake, "show", name, "--json").json()["incident"]
        assert (shown["reporter_name"], shown["commander_name"]) == (None, None)

    assert asked == 1 and len(fake.calls_to(USERS_INFO)) == 1
    shown = fb(config, fake, "show", named, "--json").json()["incident"]
    assert shown["reporter_name"] == "Rita Reporter"
