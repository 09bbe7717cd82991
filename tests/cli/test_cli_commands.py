"""Every ``firebell`` command, as text and as JSON, and its errors and exit codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cli_support import Outcome, run_firebell, write_config


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """plugins.toml with the console and markdown plugins and a log in ``tmp_path``."""
    return write_config(tmp_path)


def fb(config: Path, *args: str) -> Outcome:
    """``firebell --config CONFIG ARGS``, which must succeed."""
    outcome = run_firebell(["--config", str(config), *args])
    assert outcome.code == 0, outcome
    return outcome


def declared_name(outcome: Outcome) -> str:
    match = re.match(r"^(\d{8}-[a-z]+-[a-z]+): declared\. State: open, (SEV\d)\.$", outcome.stdout)
    assert match, outcome.stdout
    return match.group(1)


def test_a_whole_lifecycle_in_text(config: Path, tmp_path: Path) -> None:
    declared = fb(
        config, "declare", "Checkout failing", "-d", "Errors on /checkout", "--as", "cli:ana"
    )
    name = declared_name(declared)
    assert f"[firebell] New incident: {name}" in declared.stderr, "the console announcer speaks"

    steps = [
        (("update", name, "Rolled back"), f"{name}: update posted. State: open, SEV2."),
        (("severity", name, "sev1"), f"{name}: severity is now SEV1. State: open, SEV1."),
        (("commander", name, "cli:bob"), f"{name}: cli:bob is commander. State: open, SEV1."),
        (("resolve", name, "--summary", "fixed"), f"{name}: resolved. State: resolved, SEV1."),
        (("reopen", name, "--reason", "back"), f"{name}: reopened. State: open, SEV1."),
        (("resolve", name), f"{name}: resolved. State: resolved, SEV1."),
        (("close", name, "--summary", "held"), f"{name}: closed. State: closed, SEV1."),
    ]
    for args, expected in steps:
        assert fb(config, *args, "--as", "cli:bob").stdout.strip() == expected

    listed = fb(config, "list").stdout
    assert re.search(rf"^{name}\s+closed\s+SEV1\s+\S+ \S+\s+Checkout failing$", listed, re.M)

    shown = fb(config, "show", f"incd-{name}").stdout
    assert shown.startswith(f"{name}  Checkout failing")
    for line in (
        "state:     closed",
        "commander: cli:bob",
        "Declared as SEV2: Checkout failing  — cli:ana",
        "Update: Rolled back  — cli:bob",
        "Severity changed from SEV2 to SEV1",
        "cli:bob is now the incident commander",
        "Resolved: fixed",
        "Reopened: back",
        "Closed: held",
        "markdown linked Post-mortem (Markdown)",
    ):
        assert line in shown, line
    postmortem = (tmp_path / "postmortems" / f"{name}.md").read_text()
    assert "## 2. Timeline" in postmortem and "Closed: held (cli:bob)" in postmortem


def test_a_whole_lifecycle_in_json(config: Path) -> None:
    declared = fb(config, "declare", "API slow", "-s", "SEV1", "--customer-facing", "--json")
    body = declared.json()
    name = body["incident"]["id"]
    assert body["duplicate"] is False
    incident = body["incident"]
    assert (incident["title"], incident["severity"], incident["state"]) == (
        "API slow",
        "SEV1",
        "open",
    )
    assert incident["customer_facing"] is True
    assert incident["reporter"].startswith("cli:")
    assert [r["kind"] for r in incident["resources"]] == ["document"], "delivered before returning"

    expected = [
        (("update", name, "Cache warmed", "--public"), "open", "SEV1", None),
        (("severity", name, "SEV0"), "open", "SEV0", None),
        (("commander", name, "cli:carol"), "open", "SEV0", "cli:carol"),
        (("resolve", name), "resolved", "SEV0", "cli:carol"),
        (("reopen", name), "open", "SEV0", "cli:carol"),
        (("resolve", name), "resolved", "SEV0", "cli:carol"),
        (("close", name), "closed", "SEV0", "cli:carol"),
    ]
    for args, state, severity, commander in expected:
        result = fb(config, *args, "--json").json()
        assert result["duplicate"] is False
        got = result["incident"]
        assert (got["id"], got["state"], got["severity"], got["commander"]) == (
            name,
            state,
            severity,
            commander,
        )

    shown = fb(config, "show", name, "--json").json()
    assert shown["incident"]["state"] == "closed"
    types = [e["type"] for e in shown["events"]]
    assert types[0] == "incident.created" and types[-1] == "incident.closed"
    assert "incident.resource_linked" in types
    update = next(e for e in shown["events"] if e["type"] == "incident.status_update_posted")
    assert update["data"] == {"text": "Cache warmed", "public": True}
    assert [e["position"] for e in shown["events"]] == sorted(
        e["position"] for e in shown["events"]
    )

    listed = fb(config, "list", "--json").json()
    assert [i["id"] for i in listed] == [name]


def test_declare_with_a_key_twice_is_one_incident(config: Path) -> None:
    first = fb(config, "declare", "Login errors", "--key", "slack-retry-1", "--json").json()
    again = fb(config, "declare", "Login errors", "--key", "slack-retry-1", "--json").json()
    assert again["duplicate"] is True
    assert again["incident"]["id"] == first["incident"]["id"]
    text = fb(config, "declare", "Login errors", "--key", "slack-retry-1").stdout
    assert "(already done earlier with the same idempotency key)" in text
    assert len(fb(config, "list", "--json").json()) == 1


def test_list_filters_and_pages(config: Path) -> None:
    names = [
        fb(config, "declare", title, "-s", severity, "--json").json()["incident"]["id"]
        for title, severity in (("Disk full", "SEV2"), ("DNS down", "SEV0"), ("Disk slow", "SEV2"))
    ]
    fb(config, "resolve", names[0])
    assert [i["id"] for i in fb(config, "list", "--state", "resolved", "--json").json()] == [
        names[0]
    ]
    assert [i["id"] for i in fb(config, "list", "--severity", "SEV0", "--json").json()] == [
        names[1]
    ]
    assert {i["id"] for i in fb(config, "list", "--search", "disk", "--json").json()} == {
        names[0],
        names[2],
    }
    everything = [i["id"] for i in fb(config, "list", "--json").json()]
    assert sorted(everything) == sorted(names)
    first = fb(config, "list", "--limit", "2", "--json").json()
    rest = fb(config, "list", "--limit", "2", "--offset", "2", "--json").json()
    assert [i["id"] for i in first + rest] == everything
    assert fb(config, "list", "--state", "closed").stdout.strip() == "No incidents."


def test_plugins_lists_enabled_and_installed_plugins(config: Path) -> None:
    fb(config, "declare", "x")
    rows = {row["name"]: row for row in fb(config, "plugins", "--json").json()}
    assert rows["console"]["enabled"] is True and rows["console"]["source"] == "built-in"
    assert rows["markdown"]["enabled"] is True
    assert rows["markdown"]["delivered"] >= 2 and rows["markdown"]["pending"] == 0
    assert rows["slack"]["enabled"] is False, "installed, not switched on"
    assert all(row["failed"] == 0 and row["last_error"] is None for row in rows.values())
    text = fb(config, "plugins").stdout
    assert re.search(
        r"^console\s+enabled\s+built-in\s+pending=0 failed=0 delivered=\d+", text, re.M
    )
    assert re.search(r"^slack\s+disabled", text, re.M)


def test_replay_deliver_and_retry(config: Path) -> None:
    name = fb(config, "declare", "x", "--json").json()["incident"]["id"]
    fb(config, "update", name, "looking")
    events = len(fb(config, "show", name, "--json").json()["events"])
    assert fb(config, "replay", "--json").json() == {"events": events, "incidents": 1}
    text = fb(config, "replay")
    assert text.stdout.strip() == f"Rebuilt 1 incidents from {events} events."
    assert "Replaying events" in text.stderr, "the progress bar goes to standard error"
    assert fb(config, "deliver").stdout.strip() == "Delivered what was due."
    assert fb(config, "retry").stdout.strip() == "Queued 0 deliveries again."


def test_the_version(config: Path) -> None:
    assert re.match(r"firebell, version \d+\.\d+", fb(config, "--version").stdout)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "20260601-no-such"], "There is no incident called '20260601-no-such'"),
        (["resolve", "20260601-no-such"], "There is no incident called '20260601-no-such'"),
        (["declare", " "], "The title is empty"),
        (["declare", "x", "-s", "SEV7"], "Unknown severity 'SEV7'; choose one of SEV0, SEV1, SEV2"),
    ],
)
def test_errors_exit_1_with_the_message_on_stderr(
    config: Path, args: list[str], message: str
) -> None:
    for as_json in ([], ["--json"]):
        outcome = run_firebell(["--config", str(config), *args, *as_json])
        assert outcome.code == 1, outcome
        assert message in outcome.stderr
        assert outcome.stdout == ""


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("reopen", "is still open; there is nothing to reopen"),
        ("close", "is still open. Resolve it first"),
        ("severity", "is already SEV2"),
    ],
)
def test_a_refused_transition_exits_1_naming_the_incident(
    config: Path, command: str, message: str
) -> None:
    name = fb(config, "declare", "x", "--json").json()["incident"]["id"]
    args = [command, name, *(["SEV2"] if command == "severity" else [])]
    outcome = run_firebell(["--config", str(config), *args])
    assert outcome.code == 1
    assert f"error: {name} {message}" in outcome.stderr


def test_resolving_twice_says_who_resolved_and_when(config: Path) -> None:
    name = fb(config, "declare", "x", "--json").json()["incident"]["id"]
    fb(config, "resolve", name, "--as", "cli:ana")
    outcome = run_firebell(["--config", str(config), "resolve", name])
    assert outcome.code == 1
    assert re.search(
        rf"{name} is already resolved, by cli:ana at \d{{4}}-\d\d-\d\d \d\d:\d\d UTC",
        outcome.stderr,
    )


def test_a_bad_config_exits_2_naming_file_table_and_key(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    config.write_text(config.read_text().replace('folder = "', 'foldr = "'))
    outcome = run_firebell(["--config", str(config), "list"])
    assert outcome.code == 2
    assert f"error: {config}: " in outcome.stderr
    assert "[plugins.markdown]" in outcome.stderr and "foldr" in outcome.stderr
    assert "Valid keys: folder" in outcome.stderr

    broken = tmp_path / "broken.toml"
    broken.write_text("[firebell\n")
    outcome = run_firebell(["--config", str(broken), "declare", "x", "--json"])
    assert (outcome.code, outcome.stdout) == (2, "")
    assert f"{broken}: not valid TOML" in outcome.stderr

    missing = tmp_path / "missing.toml"
    outcome = run_firebell(["--config", str(missing), "list"])
    assert outcome.code == 2 and f"{missing}: no such file" in outcome.stderr


def test_usage_errors_exit_2(config: Path) -> None:
    outcome = run_firebell(["--config", str(config), "declare"])
    assert outcome.code == 2 and "Missing argument 'TITLE'" in outcome.stderr
    outcome = run_firebell(["--config", str(config), "list", "--state", "sleeping"])
    assert outcome.code == 2 and "'sleeping' is not one of" in outcome.stderr


def test_firebell_config_and_database_url_come_from_the_environment(tmp_path: Path) -> None:
    config = write_config(tmp_path, database="from-file.db")
    declared = run_firebell(["declare", "x", "--json"], env={"FIREBELL_CONFIG": str(config)})
    assert declared.code == 0, declared
    assert (tmp_path / "from-file.db").exists()
    name = declared.json()["incident"]["id"]

    other = f"sqlite:///{tmp_path / 'from-env.db'}"
    env = {"FIREBELL_CONFIG": str(config), "FIREBELL_DATABASE_URL": other}
    listed = run_firebell(["list", "--json"], env=env)
    assert listed.code == 0 and listed.json() == [], "the variable wins over the file"
    run_firebell(["declare", "y"], env=env)
    assert (tmp_path / "from-env.db").exists()
    from_file = run_firebell(["list", "--json"], env={"FIREBELL_CONFIG": str(config)}).json()
    assert [i["id"] for i in from_file] == [name]
    # --config wins over FIREBELL_CONFIG.
    (tmp_path / "elsewhere").mkdir()
    elsewhere = write_config(tmp_path / "elsewhere")
    outcome = run_firebell(
        ["--config", str(elsewhere), "list", "--json"], env={"FIREBELL_CONFIG": str(config)}
    )
    assert outcome.code == 0 and outcome.json() == []


def test_a_key_reused_for_another_declaration_is_refused(config: Path) -> None:
    first = fb(config, "declare", "Key test", "--key", "abc123", "--json").json()["incident"]
    name = first["id"]

    again = fb(config, "declare", " Key test ", "--key", "abc123", "-s", "sev2")
    assert again.stdout == (
        f"{name}: declared (already done earlier with the same idempotency key). "
        "State: open, SEV2.\n"
    ), "the same request (the default severity named, spaces around the title) is a repeat"

    other = run_firebell(
        ["--config", str(config), "declare", "Other title", "--key", "abc123", "-s", "SEV0"]
    )
    assert other.code == 1, other
    assert other.stdout == ""
    assert other.stderr == (
        f"error: The idempotency key 'abc123' belongs to {name}, which was declared with another "
        "title ('Key test', not 'Other title') and severity (SEV2, not SEV0). Use another --key "
        f"to declare a new incident; the same request with this key gives {name} again.\n"
    )
    facing_args = ["declare", "Key test", "--key", "abc123", "--customer-facing"]
    facing = run_firebell(["--config", str(config), *facing_args, "-d", "Card payments fail"])
    assert facing.code == 1
    assert (
        "another description (none, not 'Card payments fail') and customer facing (no, not yes)."
    ) in facing.stderr

    fb(config, "note", name, "Rolled back", "--key", "note-1")
    used = run_firebell(["--config", str(config), "declare", "Key test", "--key", "note-1"])
    assert used.code == 1
    assert used.stderr == (
        f"error: The idempotency key 'note-1' was used for timeline.entry_added on {name}, not "
        "to declare an incident. Use another --key.\n"
    )
    assert [i["id"] for i in fb(config, "list", "--json").json()] == [name], "nothing declared"
