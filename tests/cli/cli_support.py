"""Helpers for the CLI tests: run ``firebell`` in-process through its real entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner
from firebell.adapters.cli.main import main

__all__ = [
    "FIREBELL_BIN",
    "Outcome",
    "install_flaky_plugin",
    "install_on_path",
    "install_plugin",
    "run_firebell",
    "run_firebell_process",
    "write_config",
]

#: The console script installed beside this Python.
FIREBELL_BIN = str(Path(sys.executable).with_name("firebell"))

#: Variables a developer's shell may hold that would change what the tests see.
_CLEAN_ENV: dict[str, str | None] = {"FIREBELL_CONFIG": None, "FIREBELL_DATABASE_URL": None}


@attrs.frozen
class Outcome:
    """What one ``firebell`` run gave: exit code, standard output, standard error."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """Standard output parsed as JSON."""
        return json.loads(self.stdout)


def run_firebell(args: Sequence[str], env: Mapping[str, str | None] | None = None) -> Outcome:
    """Run ``firebell ARGS`` in this process through ``main`` (exit codes included)."""
    runner = CliRunner()
    with runner.isolation(env={**_CLEAN_ENV, **(env or {})}) as (out, err, _mixed):
        try:
            main(list(args))
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        sys.stdout.flush()
        sys.stderr.flush()
        return Outcome(code, out.getvalue().decode(), err.getvalue().decode())


def run_firebell_process(
    args: Sequence[str], env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Outcome:
    """Run the installed ``firebell`` console script in a subprocess."""
    environ = {k: v for k, v in os.environ.items() if k not in _CLEAN_ENV}
    completed = subprocess.run(
        [FIREBELL_BIN, *args],
        stdin=subprocess.DEVNULL,  # no terminal, as in a script
        capture_output=True,
        text=True,
        env={**environ, **(env or {})},
        cwd=cwd,
        timeout=120,
    )
    return Outcome(completed.returncode, completed.stdout, completed.stderr)


def write_config(folder: Path, extra: str = "", *, database: str = "firebell.db") -> Path:
    """A plugins.toml with the local plugins (console, markdown) and an SQLite log in ``folder``."""
    path = folder / "plugins.toml"
    path.write_text(
        textwrap.dedent(
            f"""\
            [firebell]
            database_url = "sqlite:///{(folder / database).as_posix()}"

            [plugins.console]

            [plugins.markdown]
            folder = "{(folder / "postmortems").as_posix()}"
            """
        )
        + extra,
        encoding="utf-8",
    )
    return path


FLAKY_PLUGIN = textwrap.dedent(
    """
    '''A third-party plugin for the tests: refuses while its switch file exists.'''
    from pathlib import Path

    import attrs
    from firebell.core import Link, PermanentPluginError, PluginSpec, Secret, hookimpl


    @attrs.frozen
    class FlakyConfig:
        switch: str
        token: Secret


    @hookimpl
    def firebell_plugin_spec():
        return PluginSpec(config_class=FlakyConfig, description="Refuses while broken.")


    @hookimpl
    def firebell_incident_created(incident, config):
        if Path(config.switch).exists():
            raise PermanentPluginError(
                f"the service refused token {config.token.reveal()}; "
                "fix it, then run firebell retry --plugin flaky."
            )
        return Link("document", f"flaky-{incident.id}", None, "Flaky doc")
    """
)


def install_plugin(folder: Path, entry_name: str, module: str, source: str, version: str) -> Path:
    """Write ``module`` as an installed distribution in ``folder`` with a ``firebell`` entry point.

    Put ``folder`` on ``sys.path`` (or ``PYTHONPATH``) and the ``firebell`` entry-point group
    lists it as ``entry_name``, exactly like a pip-installed plugin.
    """
    (folder / f"{module}.py").write_text(source, encoding="utf-8")
    dist = folder / f"{module}-{version}.dist-info"
    dist.mkdir()
    name = module.replace("_", "-")
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8"
    )
    (dist / "entry_points.txt").write_text(
        f"[firebell]\n{entry_name} = {module}\n", encoding="utf-8"
    )
    return folder


def install_flaky_plugin(folder: Path) -> Path:
    """Install the ``flaky`` plugin (distribution ``fbtest-flaky 1.2.3``) in ``folder``."""
    return install_plugin(folder, "flaky", "fbtest_flaky", FLAKY_PLUGIN, "1.2.3")


def install_on_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, source: str
) -> Path:
    """Install ``source`` as the plugin ``name`` (module ``fbtest_<name>``, distribution
    ``fbtest-<name> 0.1``) in ``tmp_path/site``, put first on ``sys.path`` for this test;
    returns the folder, where the module lies."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(install_plugin(site, name, f"fbtest_{name}", source, "0.1")))
    return site
