"""A pip-installed plugin through the CLI: listed with its distribution, parked, retried, no secrets."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from cli_support import (
    install_flaky_plugin,
    install_on_path,
    install_plugin,
    run_firebell,
    write_config,
)

TOKEN = "tok-9f8e7d6c5b4a-s3cret"


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """plugins.toml with console, markdown and the installed ``flaky`` plugin (broken for now)."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(install_flaky_plugin(site)))
    (tmp_path / "broken").touch()
    return write_config(
        tmp_path,
        f'\n[plugins.flaky]\nswitch = "{(tmp_path / "broken").as_posix()}"\n'
        'token = { env = "FLAKY_TOKEN" }\n',
    )


def test_a_parked_plugin_is_reported_and_retried_without_showing_its_secret(
    config: Path, tmp_path: Path
) -> None:
    env = {"FLAKY_TOKEN": TOKEN}

    def firebell(*args: str) -> str:
        outcome = run_firebell(["--config", str(config), *args], env=env)
        assert outcome.code == 0, outcome
        everything = outcome.stdout + outcome.stderr
        assert TOKEN not in everything, f"the secret leaked in `firebell {' '.join(args)}`"
        return everything

    declared = run_firebell(["--config", str(config), "declare", "Search down", "--json"], env=env)
    assert declared.code == 0 and TOKEN not in declared.stdout + declared.stderr
    name = declared.json()["incident"]["id"]
    assert declared.json()["incident"]["failing_plugins"] == ["flaky"]
    assert (
        "note: plugin flaky: 0 pending, 1 failed; last error: PermanentPluginError"
        in declared.stderr
    )
    assert "token <FLAKY_TOKEN>" in declared.stderr
    # What to do about a parked delivery (not `firebell run`: it does not retry those), once:
    # the plugin's message says it already.
    [note] = [line for line in declared.stderr.splitlines() if line.startswith("note:")]
    assert note.endswith("; fix it, then run firebell retry --plugin flaky.")
    assert note.count("retry --plugin flaky") == 1
    assert "retries them" not in declared.stderr and ".." not in declared.stderr

    rows = {
        row["name"]: row
        for row in run_firebell(["--config", str(config), "plugins", "--json"], env=env).json()
    }
    flaky = rows["flaky"]
    assert (flaky["enabled"], flaky["source"], flaky["failed"]) == (True, "fbtest-flaky 1.2.3", 1)
    assert flaky["last_error"].startswith(
        "PermanentPluginError: the service refused token <FLAKY_TOKEN>"
    )
    assert rows["markdown"]["failed"] == 0, "the others were not held up"
    listing = firebell("plugins")
    assert "flaky" in listing and "fbtest-flaky 1.2.3" in listing and "last error:" in listing
    shown = firebell("show", name)
    assert "flaky failed (gave up; needs attention)" in shown
    firebell("show", name, "--json")
    firebell("list", "--json")
    firebell("replay", "--json")

    (tmp_path / "broken").unlink()  # the cause is fixed
    retried = firebell("retry", "--plugin", "flaky")
    assert "Queued 1 delivery again: 1 failed, 0 retrying." in retried
    rows = {
        row["name"]: row
        for row in run_firebell(["--config", str(config), "plugins", "--json"], env=env).json()
    }
    assert (rows["flaky"]["failed"], rows["flaky"]["pending"]) == (0, 0)
    incident = run_firebell(["--config", str(config), "show", name, "--json"], env=env).json()
    assert incident["incident"]["failing_plugins"] == []
    assert "flaky works again  — plugin:flaky" in firebell("show", name)
    assert ("flaky", "document", f"flaky-{name}") in {
        (r["plugin"], r["kind"], r["external_id"]) for r in incident["incident"]["resources"]
    }
    types = [e["type"] for e in incident["events"]]
    assert types.count("incident.integration_failed") == 1
    assert types.count("incident.integration_recovered") == 1
    assert "Queued 0 deliveries again." in firebell("retry")


def test_a_missing_secret_stops_the_commands_that_deliver_with_exit_2(config: Path) -> None:
    outcome = run_firebell(["--config", str(config), "declare", "x"], env={"FLAKY_TOKEN": None})
    assert outcome.code == 2
    assert f"{config}: [plugins.flaky] token refers to the environment variable FLAKY_TOKEN" in (
        outcome.stderr
    )


MISSPELT = textwrap.dedent(
    """
    from firebell.core import hookimpl


    @hookimpl
    def firebell_incident_created(incidnet):
        pass
    """
)


def test_an_installed_plugin_with_a_misspelt_hook_does_not_break_firebell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(
        str(install_plugin(site, "misspelt", "fbtest_misspelt", MISSPELT, "0.1"))
    )
    config = write_config(tmp_path)
    declared = run_firebell(["--config", str(config), "declare", "x"])
    assert declared.code == 0, "not enabled: it must not matter"
    rows = {
        row["name"]: row
        for row in run_firebell(["--config", str(config), "plugins", "--json"]).json()
    }
    assert rows["misspelt"]["enabled"] is False
    assert (
        "Argument(s) {'incidnet'} are declared in the hookimpl" in rows["misspelt"]["import_error"]
    )

    config.write_text(config.read_text() + "\n[plugins.misspelt]\n")
    outcome = run_firebell(["--config", str(config), "list"])
    assert outcome.code == 2
    assert f"{config}: [plugins.misspelt]: the plugin from fbtest-misspelt 0.1" in outcome.stderr
    assert "firebell_incident_created(incidnet)" in outcome.stderr


BROKEN = "import nonexistent_module_xyz\n"


def test_plugins_lists_a_plugin_that_fails_to_import_enabled_or_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install_on_path(tmp_path, monkeypatch, "broken", BROKEN)
    config = write_config(tmp_path)
    error = "ModuleNotFoundError: No module named 'nonexistent_module_xyz'"
    assert run_firebell(["--config", str(config), "declare", "x"]).code == 0

    for enabled in (False, True):
        if enabled:
            config.write_text(config.read_text() + "\n[plugins.broken]\n")
            assert run_firebell(["--config", str(config), "list"]).code == 2, "it stops Firebell"
        text = run_firebell(["--config", str(config), "plugins"])
        listed = run_firebell(["--config", str(config), "plugins", "--json"])

        assert (text.code, listed.code) == (0, 0), (text, listed)
        # On the plugin's own line: `firebell plugins | grep broken` shows it.
        [line] = [line for line in text.stdout.splitlines() if line.startswith("broken ")]
        status = "enabled " if enabled else "disabled"
        assert line == (
            f"broken       {status} fbtest-broken 0.1        pending=0 failed=0 delivered=0 "
            f"import error: {error}"
        )
        rows = {row["name"]: row for row in listed.json()}
        assert (rows["broken"]["enabled"], rows["broken"]["import_error"]) == (enabled, error)
        assert rows["markdown"]["enabled"] and rows["markdown"]["delivered"] > 0, "from the log"
        assert "markdown     enabled  built-in" in text.stdout
        why = (
            f"note: Firebell cannot start with this configuration: {config}: [plugins.broken]: "
            f"the plugin from fbtest-broken 0.1 failed to import: {error}\n"
        )
        for outcome in (text, listed):
            assert outcome.stderr == (why if enabled else "")
