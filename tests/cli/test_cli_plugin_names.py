"""One plugin name, one package: a package declaring a built-in plugin's name (or another
package's) stops Firebell at start-up naming both, and ``firebell new-plugin`` will not scaffold
one."""

from __future__ import annotations

import importlib.metadata
import sys
import textwrap
from pathlib import Path

import pytest
from cli_support import install_flaky_plugin, install_plugin, run_firebell, write_config

#: A scaffold-like plugin that would take over ``[plugins.slack]`` if it were loaded.
IMPOSTOR = textwrap.dedent(
    """
    import attrs
    from firebell.core import PluginSpec, hookimpl


    @attrs.frozen
    class ImpostorConfig:
        folder: str = "records"


    @hookimpl
    def firebell_plugin_spec():
        return PluginSpec(config_class=ImpostorConfig)
    """
)

BUILT_IN = ("console", "markdown", "slack", "pagerduty", "notion", "statuspage")


def firebell_version() -> str:
    return importlib.metadata.version("firebell")


@pytest.mark.parametrize("first_on_path", [True, False])
def test_a_package_declaring_a_built_in_name_stops_every_command_naming_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, first_on_path: bool
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_plugin(site, "slack", "fbtest_slack", IMPOSTOR, "0.3")
    if first_on_path:  # found before Firebell itself: it used to replace the built-in plugin
        monkeypatch.syspath_prepend(str(site))
    else:
        monkeypatch.setattr(sys, "path", [*sys.path, str(site)])
    expected = (
        f"error: Plugin name 'slack' is declared by several installed distributions, "
        f"firebell {firebell_version()} (built-in) and fbtest-slack 0.3, so Firebell cannot tell "
        "which one [plugins.slack] means. Rename the entry point in fbtest-slack "
        "([project.entry-points.firebell] in its pyproject.toml) and reinstall it, or pip "
        "uninstall fbtest-slack."
    )

    config = write_config(tmp_path)  # Slack not even enabled: the installation is ambiguous
    (tmp_path / "slack").mkdir()
    with_slack = write_config(
        tmp_path / "slack", '\n[plugins.slack]\nbot_token = { env = "FB_TEST_SLACK_TOKEN" }\n'
    )
    for path, command in ((config, "list"), (with_slack, "declare")):
        outcome = run_firebell(
            ["--config", str(path), command, *(["x"] if command == "declare" else [])],
            env={"FB_TEST_SLACK_TOKEN": "xoxb-1"},
        )
        assert outcome.code == 2, outcome
        assert outcome.stderr.strip() == expected
        assert "bot_token" not in outcome.stderr, "not the impostor's config class"
    # `firebell plugins`, there to show such problems, lists the plugins and says it.
    listed = run_firebell(["--config", str(config), "plugins"])
    assert listed.code == 0, listed
    reason = expected.removeprefix("error: ")
    assert listed.stderr == f"note: Firebell cannot start with this configuration: {reason}\n"
    slack = next(line for line in listed.stdout.splitlines() if line.startswith("slack "))
    assert slack.endswith(f" import error: {reason}")

    doctor = run_firebell(["--config", str(config), "doctor"])
    assert doctor.code == 1, doctor
    assert f"fail plugin slack: {expected.removeprefix('error: ')}" in doctor.stdout.splitlines()


def test_two_packages_declaring_one_name_stop_firebell_until_one_is_renamed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for version, module in (("1.0", "fbtest_pager_a"), ("2.0", "fbtest_pager_b")):
        site = tmp_path / module
        site.mkdir()
        monkeypatch.syspath_prepend(str(install_plugin(site, "pager", module, IMPOSTOR, version)))
    outcome = run_firebell(["--config", str(write_config(tmp_path)), "list"])
    assert outcome.code == 2, outcome
    assert "Plugin name 'pager' is declared by several installed distributions" in outcome.stderr
    assert "fbtest-pager-a 1.0" in outcome.stderr and "fbtest-pager-b 2.0" in outcome.stderr
    assert "Rename the entry point in all but one of them" in outcome.stderr


def test_plugins_names_the_distribution_each_plugin_comes_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(install_flaky_plugin(site)))
    outcome = run_firebell(["--config", str(write_config(tmp_path)), "plugins", "--json"])
    sources = {row["name"]: row["source"] for row in outcome.json()}
    assert sources["flaky"] == "fbtest-flaky 1.2.3"
    assert {sources[name] for name in BUILT_IN} == {"built-in"}


@pytest.mark.parametrize("name", BUILT_IN)
def test_new_plugin_refuses_the_name_of_a_built_in_plugin(tmp_path: Path, name: str) -> None:
    outcome = run_firebell(["new-plugin", name, "-d", str(tmp_path)])
    assert outcome.code == 2, outcome
    assert f"'{name}' is the name of a built-in Firebell plugin" in outcome.stderr
    assert "Choose another name" in outcome.stderr
    assert list(tmp_path.iterdir()) == [], "nothing was written"


@pytest.mark.parametrize(
    ("name", "bare"), [("firebell-slack", "slack"), ("firebell_opsgenie", "opsgenie")]
)
def test_new_plugin_refuses_a_name_starting_with_firebell_and_says_the_bare_one(
    tmp_path: Path, name: str, bare: str
) -> None:
    outcome = run_firebell(["new-plugin", name, "-d", str(tmp_path)])

    assert outcome.code == 2, outcome
    assert f"{name!r} starts with 'firebell-'; give the bare name, {bare!r}" in outcome.stderr
    assert f"the package is named firebell-{bare}" in outcome.stderr
    assert list(tmp_path.iterdir()) == [], "nothing was written"


def test_new_plugin_refuses_a_name_another_package_installed_but_not_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(install_flaky_plugin(site)))
    install_plugin(site, "mine", "firebell_mine", IMPOSTOR, "0.1")
    out = tmp_path / "out"
    out.mkdir()
    outcome = run_firebell(["new-plugin", "flaky", "-d", str(out)])
    assert outcome.code == 2, outcome
    assert "'flaky' is the name of the plugin installed from fbtest-flaky 1.2.3" in outcome.stderr
    # firebell-mine is this scaffold's own distribution: reinstalling it replaces it.
    again = run_firebell(["new-plugin", "mine", "-d", str(out)])
    assert again.code == 0, again
    assert (out / "firebell-mine" / "pyproject.toml").exists()
