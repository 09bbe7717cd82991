"""People by name at the command line: ``show``, ``list --json``, ``followups`` and ``commander``
show the names the log recorded (``person.named``) beside the ids, and the ids alone otherwise;
a Slack mention pasted where the CLI takes a person is taken as the id it names."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import Outcome, run_firebell, write_config
from firebell.core import Firebell, open_firebell
from firebell.core.config import load_config
from firebell.core.timeline_commands import add_follow_up, complete_follow_up

ANA = {"U0ANA": "Ana Lima"}
BEN = {"U0BEN": "Ben Okafor"}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """plugins.toml with the console and markdown plugins and a log in ``tmp_path``."""
    return write_config(tmp_path)


@pytest.fixture
def firebell(config: Path) -> Iterator[Firebell]:
    """The Firebell of ``config``, opened as the Slack adapter opens it (it records names)."""
    opened = open_firebell(load_config(config, environ={}))
    yield opened
    opened.close()


def fb(config: Path, *args: str) -> Outcome:
    """``firebell --config CONFIG ARGS``, which must succeed."""
    outcome = run_firebell(["--config", str(config), *args])
    assert outcome.code == 0, outcome
    return outcome


def named_incident(firebell: Firebell) -> str:
    """An incident reported by Ana (named), commanded by Ben (named), with a follow-up Ben owns,
    resolved by Cal (never named) and closed by Ana."""
    engine = firebell.engine
    name = engine.declare(title="Checkout failing", reporter="U0ANA", names=ANA).incident.id
    engine.assign_commander(name, "U0BEN", actor="U0ANA", names={**ANA, **BEN})
    add_follow_up(engine, name, "Alert on 502s", actor="U0BEN", owner="U0BEN", names=BEN)
    engine.resolve(name, actor="U0CAL")
    engine.close(name, actor="U0ANA", names=ANA)
    firebell.deliverer.drain()
    return name


def test_show_prints_people_by_name_with_their_ids(config: Path, firebell: Firebell) -> None:
    name = named_incident(firebell)

    shown = fb(config, "show", name).stdout

    lines = [line.strip() for line in shown.splitlines()]
    assert "reporter:  Ana Lima (U0ANA)" in lines
    assert "commander: Ben Okafor (U0BEN)" in lines
    assert re.search(r"^  resolved:  \S+ \S+ UTC by U0CAL$", shown, re.M), "no name: the id"
    assert re.search(r"^  closed:    \S+ \S+ UTC by Ana Lima \(U0ANA\)$", shown, re.M)
    assert "#1 [ ] Alert on 502s — Ben Okafor (U0BEN)" in lines
    assert "U0ANA" not in shown.replace("(U0ANA)", ""), "Ana shows by name everywhere"


def test_show_prints_the_id_alone_when_no_name_was_recorded(config: Path) -> None:
    declared = fb(config, "declare", "Checkout failing", "--as", "cli:ana", "--json").json()
    name = declared["incident"]["id"]
    fb(config, "commander", name, "U0BEN", "--as", "cli:ana")
    fb(config, "followup", name, "Alert on 502s", "--owner", "U0BEN")

    lines = [line.strip() for line in fb(config, "show", name).stdout.splitlines()]

    assert "reporter:  cli:ana" in lines
    assert "commander: U0BEN" in lines
    assert "#1 [ ] Alert on 502s — U0BEN" in lines


def test_show_json_keeps_the_ids_and_adds_the_names(config: Path, firebell: Firebell) -> None:
    name = named_incident(firebell)

    incident = fb(config, "show", name, "--json").json()["incident"]

    people = ("reporter", "commander", "resolved_by", "closed_by")
    assert [incident[field] for field in people] == ["U0ANA", "U0BEN", "U0CAL", "U0ANA"]
    assert [incident[f"{field}_name"] for field in people] == [
        "Ana Lima",
        "Ben Okafor",
        None,
        "Ana Lima",
    ]
    assert {p["id"]: p["name"] for p in incident["people"]} == {**ANA, **BEN}


def test_list_json_gives_the_names_from_the_read_model(config: Path, firebell: Firebell) -> None:
    named = named_incident(firebell)
    unnamed = firebell.engine.declare(title="Search slow", reporter="U0DEE").incident.id

    listed = {i["id"]: i for i in fb(config, "list", "--json").json()}

    assert (listed[named]["reporter_name"], listed[named]["commander_name"]) == (
        "Ana Lima",
        "Ben Okafor",
    )
    assert listed[named]["commander"] == "U0BEN"
    assert (listed[unnamed]["reporter"], listed[unnamed]["reporter_name"]) == ("U0DEE", None)
    assert listed[unnamed]["commander_name"] is None


def test_followups_and_commander_name_known_people(config: Path, firebell: Firebell) -> None:
    engine = firebell.engine
    name = engine.declare(title="Checkout failing", reporter="U0ANA", names=ANA).incident.id
    add_follow_up(engine, name, "Alert on 502s", actor="U0ANA", owner="U0BEN", names=BEN)
    firebell.deliverer.drain()

    assert "  #1 [ ] Alert on 502s — Ben Okafor (U0BEN)\n" in fb(config, "followups").stdout
    assigned = fb(config, "commander", name, "U0BEN", "--as", "cli:ana").stdout
    assert assigned == f"{name}: Ben Okafor (U0BEN) is commander. State: open, SEV2.\n"


def test_follow_up_json_gives_the_names_beside_the_ids(config: Path, firebell: Firebell) -> None:
    engine = firebell.engine
    name = engine.declare(title="Checkout failing", reporter="U0ANA", names=ANA).incident.id
    add_follow_up(engine, name, "Alert on 502s", actor="U0ANA", owner="U0BEN", names=BEN)
    add_follow_up(engine, name, "Write RCA", actor="U0ANA", owner="U0CAL")  # Cal never named
    add_follow_up(engine, name, "Page on 5xx", actor="U0BEN", owner="U0BEN")
    complete_follow_up(engine, name, 3, actor="U0ANA")
    firebell.deliverer.drain()
    people = ("owner", "added_by", "done_by")

    listed = fb(config, "followups", "--json").json()
    assert [(task["id"], [task[f] for f in people]) for task in listed] == [
        (1, ["U0BEN", "U0ANA", None]),
        (2, ["U0CAL", "U0ANA", None]),
    ], "the ids stay as they were"
    assert [[task[f"{f}_name"] for f in people] for task in listed] == [
        ["Ben Okafor", "Ana Lima", None],
        [None, "Ana Lima", None],
    ]

    shown = fb(config, "show", name, "--json").json()["incident"]["follow_ups"]
    assert [[task[f"{f}_name"] for f in people] for task in shown] == [
        ["Ben Okafor", "Ana Lima", None],
        [None, "Ana Lima", None],
        ["Ben Okafor", "Ben Okafor", "Ana Lima"],
    ]
    assert shown[2]["done_by"] == "U0ANA"

    added = fb(config, "followup", name, "Rotate keys", "--owner", "U0BEN", "--json").json()
    assert (added["follow_up"]["owner"], added["follow_up"]["owner_name"]) == (
        "U0BEN",
        "Ben Okafor",
    )


def test_a_slack_mention_pasted_as_a_person_is_taken_as_its_id(
    config: Path, firebell: Firebell
) -> None:
    engine = firebell.engine
    name = engine.declare(title="Checkout failing", reporter="U0ANA", names=ANA).incident.id
    engine.assign_commander(name, "U0ANA", actor="U0ANA", names=ANA)
    add_follow_up(engine, name, "Alert on 502s", actor="U0ANA", owner="U0BEN", names=BEN)
    firebell.deliverer.drain()

    fb(config, "followup", name, "Write RCA", "--owner", "<@U0BEN>")
    fb(config, "followup", name, "Page on 5xx", "--owner", " <@U0BEN|ben> ", "--as", "<@U0ANA>")
    assigned = fb(config, "commander", name, "<@U0BEN|ben>", "--as", "<@U0ANA|ana>").stdout

    assert assigned == f"{name}: Ben Okafor (U0BEN) is commander. State: open, SEV2.\n"
    incident = fb(config, "show", name, "--json").json()["incident"]
    assert (incident["commander"], incident["commander_name"]) == ("U0BEN", "Ben Okafor")
    tasks = incident["follow_ups"]
    assert [(t["owner"], t["owner_name"]) for t in tasks] == [("U0BEN", "Ben Okafor")] * 3
    assert tasks[1]["added_by"].startswith("cli:"), "by the login: no --as"
    assert (tasks[1]["added_by_name"], tasks[2]["added_by"], tasks[2]["added_by_name"]) == (
        None,
        "U0ANA",
        "Ana Lima",
    )
    shown = fb(config, "show", name).stdout
    assert "<@" not in shown
    assert "  #2 [ ] Write RCA — Ben Okafor (U0BEN)\n" in shown
    # What is not a mention is kept as given: a name, an id, a cli: login.
    fb(config, "followup", name, "Tell support", "--owner", "Dee from support")
    assert "  #4 [ ] Tell support — Dee from support\n" in fb(config, "followups").stdout


def test_commander_me_is_whoever_acts_and_a_word_is_refused(config: Path) -> None:
    name = fb(config, "declare", "Checkout failing", "--as", "cli:ana", "--json").json()
    name = name["incident"]["id"]

    assert fb(config, "commander", name, "me", "--as", "<@U0BEN|ben>").stdout == (
        f"{name}: U0BEN is commander. State: open, SEV2.\n"
    )
    assert (
        fb(config, "commander", name, "Me", "--as", "cli:ana", "--json").json()["incident"][
            "commander"
        ]
        == "cli:ana"
    )
    by_login = fb(config, "commander", name, "@me", "--json").json()["incident"]["commander"]
    assert by_login.startswith("cli:") and by_login != "cli:ana", "no --as: the login"
    assert fb(config, "commander", name, "@U0CAL", "--json").json()["incident"]["commander"] == (
        "U0CAL"
    )

    for word in ("nobody", "Dee from support", "WHOEVER", "cli:"):
        refused = run_firebell(["--config", str(config), "commander", name, word])
        assert refused.code == 1, (word, refused)
        assert refused.stderr == (
            f"error: {word!r} is not a person Firebell knows. Give a Slack user id (U0123ABCDEF), "
            "a mention pasted from Slack (<@U0123ABCDEF>), `me` (whoever acts: "
            f"{by_login}) or cli:<login>.\n"
        )
    incident = fb(config, "show", name, "--json").json()
    assert incident["incident"]["commander"] == "U0CAL", "nothing was recorded"
    assigned = [e for e in incident["events"] if e["type"] == "incident.commander_assigned"]
    assert len(assigned) == 4


def test_a_follow_up_owned_by_me_is_owned_by_whoever_acts(config: Path) -> None:
    name = fb(config, "declare", "Checkout failing", "--json").json()["incident"]["id"]

    fb(config, "followup", name, "Write RCA", "--owner", "me", "--as", "<@U0ANA>")
    fb(config, "followup", name, "Alert on 502s", "--owner", "myself", "--as", "cli:ben")

    tasks = fb(config, "show", name, "--json").json()["incident"]["follow_ups"]
    assert [(t["owner"], t["added_by"]) for t in tasks] == [
        ("U0ANA", "U0ANA"),
        ("cli:ben", "cli:ben"),
    ]
