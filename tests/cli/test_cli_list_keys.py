"""A list key written as a string (`responders = "U0ANA"`) stops every command with one message
saying how to write it, whichever plugin's table it is in."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import run_firebell_process

SLACK = '[plugins.slack]\nbot_token = { env = "SLACK_BOT_TOKEN" }\n'
PAGERDUTY = (
    '[plugins.pagerduty]\napi_key = { env = "PAGERDUTY_API_KEY" }\nservice_id = "PSERVICE1"\n'
    'requester_email = "oncall@example.com"\n'
)


@pytest.mark.parametrize(
    ("table", "key", "value"),
    [
        (SLACK, "announcement_channels", "C0123"),
        (SLACK, "responders", "U0ANA"),
        (SLACK, "cc_usergroups", "S0ONCALL"),
        (PAGERDUTY, "severities", "SEV0"),
    ],
    ids=["announcement_channels", "responders", "cc_usergroups", "pagerduty-severities"],
)
def test_a_string_for_a_list_is_refused_with_the_list_to_write(
    tmp_path: Path, table: str, key: str, value: str
) -> None:
    config = tmp_path / "plugins.toml"
    config.write_text(f'{table}{key} = "{value}"\n', encoding="utf-8")

    outcome = run_firebell_process(
        ["--config", str(config), "list"],
        env={"SLACK_BOT_TOKEN": "xoxb-test", "PAGERDUTY_API_KEY": "u+test"},
    )

    plugin = table.split("]")[0].removeprefix("[plugins.")
    assert (outcome.code, outcome.stdout) == (2, "")
    assert outcome.stderr.strip() == (
        f"error: {config}: [plugins.{plugin}] {key}: expected a list such as "
        f"[\"{value}\"], not a string ('{value}')."
    )
