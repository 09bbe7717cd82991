"""Configuration errors read the same from every command, in plain words: only an unknown key
lists the valid keys, and no message ends in two full stops."""

from __future__ import annotations

from pathlib import Path

from cli_support import run_firebell_process


def test_doctor_and_the_other_commands_say_the_same_of_bad_toml(tmp_path: Path) -> None:
    config = tmp_path / "plugins.toml"
    config.write_text("[firebell\n", encoding="utf-8")

    listing = run_firebell_process(["--config", str(config), "list"])
    doctor = run_firebell_process(["--config", str(config), "doctor"])

    assert listing.code == 2
    said = listing.stderr.strip().removeprefix("error: ")
    assert said.startswith(f"{config}: not valid TOML: ") and said.endswith("Fix the syntax there.")
    assert doctor.code == 1
    assert doctor.stdout.splitlines()[0] == f"fail config: {said}"


def test_a_plugins_own_message_keeps_one_full_stop_and_no_list_of_keys(tmp_path: Path) -> None:
    config = tmp_path / "plugins.toml"
    config.write_text(
        '[plugins.notion]\ntoken = { env = "NOTION_TOKEN" }\ndatabase_id = "post-mortems"\n',
        encoding="utf-8",
    )

    outcome = run_firebell_process(
        ["--config", str(config), "list"], env={"NOTION_TOKEN": "ntn_test"}
    )

    assert outcome.code == 2
    assert outcome.stderr.strip() == (
        f"error: {config}: [plugins.notion] database_id = 'post-mortems' is not a Notion "
        "database id; copy the database's link from Notion (Share → Copy link) and use the 32 "
        "hexadecimal digits before '?v='."
    )
