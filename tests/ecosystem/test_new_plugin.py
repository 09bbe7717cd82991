"""``firebell new-plugin NAME``: the scaffold installs with pip, passes its own tests and lint,
and Firebell finds it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from ecosystem_support import pip_install_target, run_firebell
from firebell.adapters.cli.main import cli
from firebell.adapters.cli.new_plugin_command import package_names


def test_the_scaffold_installs_and_its_tests_pass(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["new-plugin", "opsgenie-lite", "--directory", str(tmp_path)])
    assert result.exit_code == 0, result.output
    package = tmp_path / "firebell-opsgenie-lite"
    assert sorted(str(p.relative_to(package)) for p in package.rglob("*") if p.is_file()) == [
        "README.md",
        "firebell_opsgenie_lite/__init__.py",
        "firebell_opsgenie_lite/py.typed",
        "pyproject.toml",
        "tests/test_firebell_opsgenie_lite.py",
    ]
    lint = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."],
        cwd=package,
        capture_output=True,
        text=True,
    )
    assert lint.returncode == 0, lint.stdout

    site = tmp_path / "site"
    pip_install_target(package, site)
    assert (site / "firebell_opsgenie_lite-0.1.0.dist-info" / "entry_points.txt").exists()

    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(package / "tests")],
        cwd=package,
        env={**os.environ, "PYTHONPATH": str(site)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "3 passed" in tests.stdout

    (tmp_path / "plugins.toml").write_text(
        f'[firebell]\ndatabase_url = "sqlite:///{tmp_path / "f.db"}"\n'
        f'[plugins.opsgenie-lite]\nfolder = "{tmp_path / "records"}"\n'
    )
    listed = run_firebell("plugins", "--json", cwd=tmp_path, pythonpath=str(site))
    assert listed.returncode == 0, listed.stderr
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["opsgenie-lite"]["source"] == "firebell-opsgenie-lite 0.1.0"
    assert rows["opsgenie-lite"]["enabled"] is True
    doctor = run_firebell("doctor", cwd=tmp_path, pythonpath=str(site))
    assert "ok   opsgenie-lite: the service accepts the settings" in doctor.stdout, doctor.stdout


def test_an_existing_folder_is_not_overwritten(tmp_path: Path) -> None:
    (tmp_path / "firebell-jira").mkdir()
    result = CliRunner().invoke(cli, ["new-plugin", "jira", "-d", str(tmp_path)])
    assert result.exit_code == 1
    assert "exists already" in result.output
    assert list((tmp_path / "firebell-jira").iterdir()) == []


@pytest.mark.parametrize("name", ["Jira", "9lives", "my plugin", "a--b", "x" * 41, "-x"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(click.BadParameter, match="is not a plugin name"):
        package_names(name)


def test_names_are_derived_consistently() -> None:
    assert package_names("google-docs") == {
        "name": "google-docs",
        "distribution": "firebell-google-docs",
        "module": "firebell_google_docs",
        "config_class": "GoogleDocsConfig",
        "kind": "google-docs-record",
        "title": "Google Docs",
    }
