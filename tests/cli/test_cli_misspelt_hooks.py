"""A plugin function marked ``@hookimpl`` whose name is no hook (``firebell_incident_closd``) is
never called: every command warns of it when it loads the plugin, and doctor shows it."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from cli_support import install_plugin, run_firebell_process, write_config

TYPO = textwrap.dedent(
    """
    from firebell.core import hookimpl


    @hookimpl
    def firebell_incident_created(incident):
        pass


    @hookimpl
    def firebell_incident_closd(incident):
        pass
    """
)
PROBLEM = (
    "firebell_incident_closd is not a Firebell hook (misspelt?), so it is never called; did you "
    "mean firebell_incident_closed?"
)


def installed(tmp_path: Path) -> dict[str, str]:
    site = tmp_path / "site"
    site.mkdir()
    install_plugin(site, "typo", "fbtest_typo", TYPO, "0.1")
    return {"PYTHONPATH": str(site)}


def test_every_command_warns_of_a_misspelt_hook_naming_the_closest(tmp_path: Path) -> None:
    environ = installed(tmp_path)
    config = write_config(tmp_path, "\n[plugins.typo]\n")

    declared = run_firebell_process(["--config", str(config), "declare", "hook typo"], environ)

    assert declared.code == 0, declared
    assert "declared" in declared.stdout
    warnings = [line for line in declared.stderr.splitlines() if " WARNING " in line]
    assert len(warnings) == 1, declared.stderr
    assert re.fullmatch(
        rf"\S+ \S+ WARNING firebell\.plugin_host plugin typo \(fbtest-typo 0\.1\): "
        rf"{re.escape(PROBLEM)}",
        warnings[0],
    )


def test_doctor_shows_the_misspelt_hook_as_a_warning(tmp_path: Path) -> None:
    environ = installed(tmp_path)
    config = write_config(tmp_path, "\n[plugins.typo]\n")

    doctor = run_firebell_process(["--config", str(config), "doctor"], environ)

    assert doctor.code == 0, doctor
    lines = doctor.stdout.splitlines()
    assert "ok   plugin typo: settings are valid (fbtest-typo 0.1)" in lines
    assert f"warn plugin typo: {PROBLEM}" in lines
    assert lines[-1] == "No problems found; 1 warning."
    assert doctor.stderr == ""  # said once, in the report, not again in a log line


def test_a_disabled_plugin_with_a_misspelt_hook_is_not_warned_of(tmp_path: Path) -> None:
    environ = installed(tmp_path)
    config = write_config(tmp_path, "\n[plugins.typo]\nenabled = false\n")

    listed = run_firebell_process(["--config", str(config), "list"], environ)

    assert (listed.code, listed.stderr) == (0, "")
