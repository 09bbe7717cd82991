"""``firebell doctor`` against the local fake Slack, PagerDuty, Notion and Statuspage servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner
from ecosystem_support import run_firebell
from firebell.adapters.cli.doctor_command import Check, manifest_bot_scopes, run_checks
from firebell.adapters.cli.main import cli
from firebell.core import hookimpl

from firebell.testing.fake_notion import NOTION_DATABASE_ID, NOTION_TOKEN, FakeNotion
from firebell.testing.fake_pagerduty import FakePagerDuty
from firebell.testing.fake_slack import DEFAULT_SCOPES, FakeSlack
from firebell.testing.fake_statuspage import (
    STATUSPAGE_API_KEY,
    STATUSPAGE_COMPONENT_API,
    STATUSPAGE_PAGE_ID,
    FakeStatuspage,
)

MANIFEST = """\
display_information:
  name: Firebell
features:
  bot_user:
    display_name: firebell  # the bot
oauth_config:
  scopes:
    bot:
      - channels:manage
      - chat:write
      - commands
      - "users:read"
settings:
  socket_mode_enabled: true
"""


@attrs.define
class Services:
    slack: FakeSlack
    pagerduty: FakePagerDuty
    notion: FakeNotion
    statuspage: FakeStatuspage
    folder: Path

    def environ(self, **changes: str) -> dict[str, str]:
        env = {
            "SLACK_BOT_TOKEN": self.slack.token,
            "PAGERDUTY_API_KEY": FakePagerDuty.API_KEY,
            "NOTION_TOKEN": NOTION_TOKEN,
            "STATUSPAGE_API_KEY": STATUSPAGE_API_KEY,
            **changes,
        }
        return {key: value for key, value in env.items() if value}

    def write_config(self, *, extra: str = "", **overrides: str) -> Path:
        bundle = self.pagerduty.write_ca_bundle(self.folder / "ca.pem")
        tables = {
            "slack": f'bot_token = {{ env = "SLACK_BOT_TOKEN" }}\napi_url = "{self.slack.url}/api/"',
            "pagerduty": (
                'api_key = { env = "PAGERDUTY_API_KEY" }\n'
                f'service_id = "{FakePagerDuty.SERVICE_ID}"\n'
                f'escalation_policy_id = "{FakePagerDuty.ESCALATION_POLICY_ID}"\n'
                f'requester_email = "{FakePagerDuty.USER_EMAIL}"\n'
                f'api_url = "{self.pagerduty.url}"\nca_bundle = "{bundle}"'
            ),
            "notion": (
                f'token = {{ env = "NOTION_TOKEN" }}\ndatabase_id = "{NOTION_DATABASE_ID}"\n'
                f'api_url = "{self.notion.url}"'
            ),
            "statuspage": (
                f'api_key = {{ env = "STATUSPAGE_API_KEY" }}\npage_id = "{STATUSPAGE_PAGE_ID}"\n'
                f'api_url = "{self.statuspage.url}/v1"\n'
                f'components = {{ "{STATUSPAGE_COMPONENT_API}" = "major_outage" }}'
            ),
            **overrides,
        }
        text = f'[firebell]\ndatabase_url = "sqlite:///{self.folder / "firebell.db"}"\n\n'
        text += "".join(f"[plugins.{name}]\n{body}\n\n" for name, body in tables.items())
        path = self.folder / "plugins.toml"
        path.write_text(text + extra, encoding="utf-8")
        return path


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    with (
        FakeSlack() as slack,
        FakePagerDuty() as pagerduty,
        FakeNotion() as notion,
        FakeStatuspage() as statuspage,
    ):
        yield Services(slack, pagerduty, notion, statuspage, tmp_path)


def lines(checks: list[Check]) -> list[str]:
    return [check.line() for check in checks]


def failures(checks: list[Check]) -> list[Check]:
    return [check for check in checks if check.status == "fail"]


def test_a_good_setup_passes_every_check_and_exits_0(services: Services) -> None:
    path = services.write_config()
    (services.folder / "slack-app-manifest.yaml").write_text(MANIFEST)
    runner = CliRunner()
    result = runner.invoke(cli, ["--config", str(path), "doctor"], env=services.environ())
    assert result.exit_code == 0, result.output
    out = result.output
    for subject in ("slack", "pagerduty", "notion", "statuspage"):
        assert f"ok   plugin {subject}: settings are valid (built-in)" in out
        assert f"ok   {subject}: the service accepts the settings" in out
    assert "ok   slack app: the token has every bot scope" in out
    assert "ok   plugins: enabled: slack, pagerduty, notion, statuspage" in out
    assert "does not exist yet; Firebell creates it" in out
    assert out.rstrip().endswith("All good.")
    # Each service was asked with its cheapest authenticated read, and nothing was written.
    assert services.slack.calls_to(r"auth\.test")
    assert services.pagerduty.calls_to(rf"/services/{FakePagerDuty.SERVICE_ID}$")
    assert services.statuspage.calls_to(rf"/pages/{STATUSPAGE_PAGE_ID}$")
    assert services.notion.calls
    for fake in (services.pagerduty, services.notion, services.statuspage):
        assert {call.request.method for call in fake.calls} == {"GET"}


def test_each_broken_service_gets_its_own_line_and_exit_1(services: Services) -> None:
    path = services.write_config()
    env = services.environ(
        SLACK_BOT_TOKEN="xoxb-revoked-token",
        PAGERDUTY_API_KEY="wrong-key",
        STATUSPAGE_API_KEY="0" * 32,
    )
    result = CliRunner().invoke(cli, ["--config", str(path), "doctor"], env=env)
    assert result.exit_code == 1
    failed = [line for line in result.output.splitlines() if line.startswith("fail")]
    assert {line.split(":")[0] for line in failed} >= {
        "fail slack",
        "fail pagerduty",
        "fail statuspage",
    }
    assert not any(line.startswith("fail notion") for line in failed)
    assert "SLACK_BOT_TOKEN" in result.output  # says which token to fix
    assert "fail slack: Slack:" not in result.output  # the plugin's own prefix is not doubled
    assert "xoxb-revoked-token" not in result.output and "wrong-key" not in result.output
    assert "problems found." in result.output


def test_missing_secrets_are_named_per_plugin_and_the_rest_still_checked(
    services: Services,
) -> None:
    path = services.write_config()
    checks = run_checks(path, environ=services.environ(NOTION_TOKEN="", PAGERDUTY_API_KEY=""))
    bad = {check.subject: check.message for check in failures(checks)}
    assert set(bad) == {"plugin notion", "plugin pagerduty"}
    assert "NOTION_TOKEN, which is not set" in bad["plugin notion"]
    assert "PAGERDUTY_API_KEY, which is not set" in bad["plugin pagerduty"]
    assert "ok   slack: the service accepts the settings" in lines(checks)
    assert "ok   statuspage: the service accepts the settings" in lines(checks)


def test_scopes_missing_from_the_manifest_are_named(tmp_path: Path) -> None:
    with FakeSlack(scopes=[s for s in DEFAULT_SCOPES if s != "commands"]) as slack:
        services = Services(slack, None, None, None, tmp_path)  # type: ignore[arg-type]
        path = tmp_path / "plugins.toml"
        path.write_text(
            f'[plugins.slack]\nbot_token = {{ env = "SLACK_BOT_TOKEN" }}\n'
            f'api_url = "{slack.url}/api/"\n'
        )
        (tmp_path / "slack-app-manifest.yaml").write_text(MANIFEST)
        checks = run_checks(path, environ=services.environ())
    assert [c.line() for c in failures(checks)] == [
        f"fail slack app: the app lacks the scopes commands that "
        f"{tmp_path / 'slack-app-manifest.yaml'} asks for: update the app from the manifest (or "
        "add them under OAuth & Permissions → Bot Token Scopes), reinstall it to the "
        "workspace, and run firebell doctor again"
    ]


def test_without_a_manifest_the_scope_check_says_so(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = services.write_config()
    monkeypatch.chdir(services.folder)
    checks = run_checks(path, environ=services.environ())
    assert (
        Check(
            "skip",
            "slack app",
            "no slack-app-manifest.yaml beside plugins.toml or here; scopes checked against the "
            "plugin's needs only",
        )
        in checks
    )
    assert not failures(checks)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[firebell\n", "not valid TOML"),
        ("[firebell]\ncolour = 1\n", "[firebell] has unknown key 'colour'"),
        ("[nonsense]\n", "unknown table 'nonsense'"),
    ],
)
def test_an_unreadable_file_is_one_line_and_exit_1(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "plugins.toml"
    path.write_text(text)
    result = CliRunner().invoke(cli, ["--config", str(path), "doctor"])
    assert result.exit_code == 1
    body = [line for line in result.output.splitlines() if not line.endswith("found.")]
    assert len(body) == 1 and body[0].startswith("fail config: ") and expected in body[0]


def test_a_missing_explicit_file_fails(tmp_path: Path) -> None:
    checks = run_checks(tmp_path / "nope.toml", environ={})
    assert [c.status for c in checks] == ["fail"]
    assert "no such file" in checks[0].message


def test_unknown_plugins_bad_keys_and_cycles_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "plugins.toml"
    path.write_text(
        f'[firebell]\ndatabase_url = "sqlite:///{tmp_path / "x.db"}"\n'
        '[plugins.jira]\n[plugins.console]\nstream = "printer"\n'
        "[plugins.markdown]\nenabled = false\nfolder = 3\n"
    )
    checks = run_checks(path, environ={})
    bad = {c.subject: c.message for c in failures(checks)}
    assert "no plugin named 'jira' is installed" in bad["plugin jira"]
    assert "[plugins.console]" in bad["plugin console"] and "stream" in bad["plugin console"]
    assert Check("skip", "plugin markdown", "disabled (enabled = false); not checked") in checks

    path.write_text(
        '[plugins.console]\nafter = ["markdown"]\n[plugins.markdown]\nafter = ["console"]\n'
        f'folder = "{tmp_path}"\n'
    )
    bad = {c.subject: c.message for c in failures(run_checks(path, environ={}))}
    assert "wait for each other in a circle" in bad["plugins"]


def test_a_wrong_after_is_on_its_plugins_line_whether_the_plugin_is_on_or_off(
    tmp_path: Path,
) -> None:
    path = tmp_path / "plugins.toml"
    database = f'[firebell]\ndatabase_url = "sqlite:///{tmp_path / "x.db"}"\n'
    reports = {}
    for enabled in ("true", "false"):
        path.write_text(f'{database}[plugins.console]\nenabled = {enabled}\nafter = ["nope"]\n')
        reports[enabled] = run_checks(path, environ={})

    for checks in reports.values():
        bad = {c.subject: c.message for c in failures(checks)}
        assert list(bad) == ["plugin console"], checks
        assert (
            "plugin 'console' waits for 'nope', which is not a known plugin"
            in bad["plugin console"]
        )
    assert not [c for c in reports["false"] if c.status == "skip"]  # not "not checked"


class Doctored:
    """A plugin with a doctor hook, to see the hook's results and errors on the report."""

    def __init__(self, answer: Any) -> None:
        self.answer = answer
        self.seen: list[Any] = []

    @hookimpl
    def firebell_doctor(self, config: Any, settings: Any) -> Any:
        self.seen.append((config, settings))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ([], [("ok", "the service accepts the settings")]),
        (None, [("ok", "the service accepts the settings")]),
        (
            ["key: rotate it", "doctored: folder: create it"],
            [("fail", "key: rotate it"), ("fail", "folder: create it")],
        ),
        (RuntimeError("boom"), [("fail", "the check itself failed: RuntimeError: boom")]),
        ("not a list", [("fail", "the check itself failed: TypeError: plugin 'doctored'")]),
    ],
)
def test_the_doctor_hook_decides_the_service_lines(
    tmp_path: Path, answer: Any, expected: list[tuple[str, str]]
) -> None:
    path = tmp_path / "plugins.toml"
    path.write_text("[plugins.doctored]\n")
    plugin = Doctored(answer)
    checks = run_checks(path, environ={}, extra_plugins={"doctored": plugin})
    got = [(c.status, c.message) for c in checks if c.subject == "doctored"]
    assert [status for status, _ in got] == [status for status, _ in expected]
    for (_, message), (_, start) in zip(got, expected, strict=True):
        assert message.startswith(start)
    config, settings = plugin.seen[0]
    assert config is None and settings.enabled_plugins() == ["doctored"]


def test_json_output_lists_every_check(tmp_path: Path) -> None:
    import json

    path = tmp_path / "plugins.toml"
    path.write_text(f'[plugins.markdown]\nfolder = "{tmp_path}"\n')
    result = CliRunner().invoke(cli, ["--config", str(path), "doctor", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {"status": "ok", "subject": "plugin markdown"}.items() <= rows[1].items()


def test_manifest_scopes_are_read_in_block_and_flow_style() -> None:
    assert manifest_bot_scopes(MANIFEST) == [
        "channels:manage",
        "chat:write",
        "commands",
        "users:read",
    ]
    flow = "oauth_config:\n  scopes:\n    user: [search:read]\n    bot: [chat:write, 'commands']\n"
    assert manifest_bot_scopes(flow) == ["chat:write", "commands"]
    assert manifest_bot_scopes("features:\n  bot: [x]\n") == []


def test_the_repository_manifest_is_read_and_the_fake_grants_it() -> None:
    manifest = Path(__file__).resolve().parents[2] / "slack-app-manifest.yaml"
    scopes = manifest_bot_scopes(manifest.read_text(encoding="utf-8"))
    assert {"channels:manage", "chat:write", "commands"} <= set(scopes)
    assert set(scopes) <= set(DEFAULT_SCOPES), "the fake Slack should grant what the app asks for"


def test_broken_services_are_told_what_to_fix_without_delivery_advice(
    services: Services,
) -> None:
    path = services.write_config(
        pagerduty=(
            'api_key = { env = "PAGERDUTY_API_KEY" }\n'
            f'service_id = "{FakePagerDuty.SERVICE_ID}"\n'
            f'requester_email = "{FakePagerDuty.USER_EMAIL}"\napi_url = "https://localhost:1"'
        ),
        notion=(
            f'token = {{ env = "NOTION_TOKEN" }}\ndatabase_id = "{"0" * 32}"\n'
            f'api_url = "{services.notion.url}"'
        ),
        statuspage=(
            f'api_key = {{ env = "STATUSPAGE_API_KEY" }}\npage_id = "{STATUSPAGE_PAGE_ID}"\n'
            'api_url = "http://127.0.0.1:1/v1"'
        ),
    )
    env = services.environ(SLACK_BOT_TOKEN="xoxb-revoked-token")

    doctor = run_firebell("--config", str(path), "doctor", cwd=services.folder, env=env)

    assert doctor.returncode == 1, doctor
    failed = {
        line.split(":")[0].removeprefix("fail "): line.split(": ", 1)[1]
        for line in doctor.stdout.splitlines()
        if line.startswith("fail ")
    }
    assert set(failed) == {"slack", "pagerduty", "notion", "statuspage"}, doctor.stdout
    assert failed["pagerduty"] == (
        "could not reach PagerDuty at https://localhost:1 while reading services/"
        f"{FakePagerDuty.SERVICE_ID} (ConnectError). Check the network, or api_url if you "
        "changed it"
    )
    assert failed["statuspage"].startswith(
        "could not reach Statuspage at http://127.0.0.1:1/v1 to read the page (ConnectError"
    )
    assert failed["statuspage"].endswith(").")
    assert failed["slack"].endswith("in SLACK_BOT_TOKEN, restart Firebell.")
    assert failed["notion"].endswith("(database menu ••• → Connections → add it).")
    for line in failed.values():  # doctor retries nothing and parks nothing
        assert "retry" not in line and "trying again" not in line, line
    # The Notion client's own log lines (a warning per refused request) stay out of the report.
    assert doctor.stderr == ""
