"""The example third-party plugin, pip-installed: found by its entry point, configured from
plugins.toml, and given every event — through the real ``firebell`` command."""

from __future__ import annotations

import json
from pathlib import Path

from ecosystem_support import run_firebell
from firebell.core import open_firebell

PLUGINS_TOML = """\
[firebell]
database_url = "sqlite:///firebell.db"

[plugins.example]
path = "audit/firebell.jsonl"
signing_key = { env = "AUDIT_SIGNING_KEY" }
"""


def test_firebell_plugins_lists_it_with_its_distribution(
    example_path: str | None, tmp_path: Path
) -> None:
    (tmp_path / "plugins.toml").write_text(PLUGINS_TOML)
    result = run_firebell(
        "plugins", "--json", cwd=tmp_path, pythonpath=example_path, env={"AUDIT_SIGNING_KEY": "k"}
    )
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["example"]["enabled"] is True
    assert rows["example"]["source"] == "firebell-plugin-example 0.1.0"
    assert rows["example"]["import_error"] is None
    assert rows["console"]["source"] == "built-in"


def test_its_config_is_loaded_from_plugins_toml(example_path: str | None, tmp_path: Path) -> None:
    from firebell_plugin_example import AuditLogConfig

    path = tmp_path / "plugins.toml"
    path.write_text(
        PLUGINS_TOML.replace("sqlite:///firebell.db", f"sqlite:///{tmp_path / 'f.db'}")
        + 'events = ["incident.created"]\n'
    )
    import os

    os.environ["AUDIT_SIGNING_KEY"] = "from-the-environment"
    try:
        firebell = open_firebell(path)
    finally:
        del os.environ["AUDIT_SIGNING_KEY"]
    try:
        plugin = firebell.host.enabled["example"]
        assert plugin.source == "firebell-plugin-example 0.1.0"
        assert isinstance(plugin.config, AuditLogConfig)
        assert plugin.config.path == "audit/firebell.jsonl"
        assert plugin.config.events == ["incident.created"]
        assert plugin.config.signing_key is not None
        assert plugin.config.signing_key.reveal() == "from-the-environment"
    finally:
        firebell.close()


def test_declare_resolve_close_reach_it_through_the_command(
    example_path: str | None, tmp_path: Path
) -> None:
    from firebell_plugin_example import read_audit_log, verify_line

    (tmp_path / "plugins.toml").write_text(PLUGINS_TOML)
    env = {"AUDIT_SIGNING_KEY": "s3cret"}

    def firebell(*args: str) -> dict[str, object]:
        result = run_firebell(*args, "--json", cwd=tmp_path, pythonpath=example_path, env=env)
        assert result.returncode == 0, result.stderr
        answer: dict[str, object] = json.loads(result.stdout)
        return answer

    declared = firebell("declare", "Checkout is failing", "-s", "SEV1")
    name = str(declared["incident"]["id"])  # type: ignore[index]
    firebell("resolve", name)
    firebell("close", name)

    audit = tmp_path / "audit" / "firebell.jsonl"
    records = read_audit_log(audit)
    assert [r["type"] for r in records] == [
        "incident.created",
        "incident.resource_linked",
        "incident.resolved",
        "incident.closed",
    ]
    assert {r["incident_id"] for r in records} == {name}
    assert all(verify_line(line, "s3cret") for line in audit.read_text().splitlines())
    shown = firebell("show", name)
    kinds = {(r["kind"], r["plugin"]) for r in shown["incident"]["resources"]}  # type: ignore[index]
    assert ("audit-log", "example") in kinds
