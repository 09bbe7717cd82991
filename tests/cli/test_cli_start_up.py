"""What a CLI command loads: `firebell list` starts without Alembic, the Slack adapter or the
web console (a quarter to half a second of imports), and every command is still there."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
from firebell.adapters.cli.main import LAZY_COMMANDS, cli

HEAVY = ("alembic", "slack_bolt", "slack_sdk", "starlette", "jinja2", "uvicorn")

PROBE = """
import json, sys
from firebell.adapters.cli.main import main
try:
    main(["list", "--json"])
except SystemExit as exit:
    assert not exit.code, exit.code
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_listing_incidents_imports_no_adapter_and_no_migrations(tmp_path: Path) -> None:
    environ = {"FIREBELL_DATABASE_URL": f"sqlite:///{tmp_path}/log.db", "PATH": "/usr/bin"}
    loaded: list[list[str]] = []
    for _ in range(2):  # a new log (created and stamped with Alembic), then an existing one
        run = subprocess.run(
            [sys.executable, "-c", PROBE],
            cwd=tmp_path,
            env=environ,
            capture_output=True,
            text=True,
            check=True,
        )
        loaded.append(json.loads(run.stdout.strip().splitlines()[-1]))
    assert "alembic" in loaded[0]  # the probe sees what a command imports
    assert [name for name in HEAVY if name in loaded[1]] == []


def test_every_command_module_is_listed_and_loads(tmp_path: Path) -> None:
    names = cli.list_commands(click.Context(cli))
    assert set(LAZY_COMMANDS) <= set(names)
    for name in LAZY_COMMANDS:
        command = cli.get_command(click.Context(cli), name)
        assert command is not None and command.name == name
