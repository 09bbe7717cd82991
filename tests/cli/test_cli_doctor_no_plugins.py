"""``firebell doctor`` where no plugin is on (a fresh pip install has no plugins.toml): not a
failure, but not "All good." either; it says where a plugins.toml comes from."""

from __future__ import annotations

from pathlib import Path

from cli_support import run_firebell_process

ADVICE = (
    "incidents are recorded, but nobody hears of them. `firebell demo` writes a plugins.toml to "
    "start from (in firebell-demo/); docs/configuration.md describes the plugins and their tables"
)


def test_doctor_without_a_plugins_toml_says_no_plugin_is_configured(tmp_path: Path) -> None:
    doctor = run_firebell_process(["doctor"], cwd=tmp_path)

    assert doctor.code == 0, doctor
    assert doctor.stdout.splitlines() == [
        "ok   config: no plugins.toml here: the built-in defaults apply",
        "ok   config: <defaults>: [firebell] is valid (3 severities, default SEV2)",
        f"warn plugins: no plugin is configured: {ADVICE}",
        "ok   database: sqlite:///firebell.db does not exist yet; Firebell creates it",
        "No problems found; 1 warning.",
    ]


def test_doctor_with_every_plugin_switched_off_says_so(tmp_path: Path) -> None:
    (tmp_path / "plugins.toml").write_text("[plugins.console]\nenabled = false\n")

    doctor = run_firebell_process(["doctor"], cwd=tmp_path)

    assert doctor.code == 0, doctor
    assert f"warn plugins: no plugin is enabled in plugins.toml: {ADVICE}" in doctor.stdout
    assert doctor.stdout.splitlines()[-1] == "No problems found; 1 warning."
