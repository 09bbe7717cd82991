"""``--deliver-timeout`` bounds a plugin call that never returns: the command says so and exits."""

from __future__ import annotations

import json
import os
import re
import subprocess
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cli_support import FIREBELL_BIN, install_plugin, write_config
from firebell.core import open_firebell
from firebell.core.config import load_config
from firebell.core.schema import deliveries

HANGING_PLUGIN = textwrap.dedent(
    """
    '''A vendor that accepts the connection and never answers, while its switch file exists.'''
    import time
    from pathlib import Path

    import attrs
    from firebell.core import PluginSpec, hookimpl


    @attrs.frozen
    class HangConfig:
        switch: str
        journal: str


    @hookimpl
    def firebell_plugin_spec():
        return PluginSpec(config_class=HangConfig, description="Hangs while switched.")


    @hookimpl
    def firebell_incident_created(incident, config, attempt):
        if Path(config.switch).exists():
            while True:  # never returns, and no timeout would help: it is not even I/O
                time.sleep(1)
        with open(config.journal, "a") as journal:
            journal.write(f"{incident.id} {attempt}\\n")
    """
)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """plugins.toml with console, markdown and the installed ``hang`` plugin (hanging for now)."""
    return switched_plugin_config(
        tmp_path, monkeypatch, "hang", "fbtest_hang", HANGING_PLUGIN, switch="hanging"
    )


def switched_plugin_config(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    module: str,
    source: str,
    *,
    switch: str,
) -> Path:
    """plugins.toml with console, markdown and the plugin ``name`` (``source``, installed as
    ``module`` in ``tmp_path/site``), its ``switch`` file made (the vendor misbehaves while it
    exists) and its ``journal`` beside it."""
    site = tmp_path / "site"
    site.mkdir()
    install_plugin(site, name, module, source, "0.1.0")
    monkeypatch.syspath_prepend(str(site))  # for the Firebell the test opens itself
    (tmp_path / switch).touch()
    return write_config(
        tmp_path,
        f'\n[plugins.{name}]\nswitch = "{(tmp_path / switch).as_posix()}"\n'
        f'journal = "{(tmp_path / "journal.txt").as_posix()}"\n',
    )


def test_a_hung_plugin_call_does_not_hold_the_command_and_is_delivered_after_its_lease(
    config: Path, tmp_path: Path
) -> None:
    environ = environment(tmp_path)
    started = time.monotonic()
    declared = declare_stuck(config, environ)
    took = time.monotonic() - started
    claimed_by = datetime.now(UTC)

    assert declared.returncode == 0, declared.stderr
    # One second of delivery, one of grace; the rest is the interpreter and the imports.
    assert took < 20, f"took {took:.1f} s"
    match = re.search(r"^(\d{8}-[a-z]+-[a-z]+): declared\.", declared.stdout, re.M)
    assert match, declared.stdout
    name = match.group(1)
    note = " ".join(declared.stderr.split())
    assert (
        f"note: plugin hang is still delivering incident.created of {name} after "
        "--deliver-timeout 1s; not waiting for it any longer. Nothing is lost: its lease ends at "
    ) in note
    assert "then `firebell run` (or the next command) delivers it again" in note
    # The hung call; the markdown plugin's link, for which hang has no hook, was done for it as
    # it was appended (it would wait behind the hung call otherwise: one incident's events in
    # order).
    assert "note: plugin hang: 1 pending, 0 failed" in note
    assert (tmp_path / "postmortems" / f"{name}.md").exists(), "the others were not held up"
    # Its lease is held (the call may still run): `firebell plugins` says since when.
    listed = run_plugins(config, environ)
    assert listed["hang"]["pending"] == 1 and listed["hang"]["under_way"] == 1
    started = datetime.fromisoformat(listed["hang"]["under_way_since"])
    assert claimed_by - timedelta(seconds=30) < started <= claimed_by
    assert listed["markdown"]["under_way"] == 0 and listed["markdown"]["under_way_since"] is None

    (tmp_path / "hanging").unlink()  # the vendor answers again
    settings = load_config(config, environ={})
    early = open_firebell(settings)
    try:
        early.deliverer.drain(timeout=30)
        assert not (tmp_path / "journal.txt").exists(), "delivered again while its lease holds"
        (row,) = [b for b in early.deliverer.outbox.backlog().values() if b.plugin == "hang"]
        assert (row.pending, row.done) == (1, 1)
    finally:
        early.close()

    after_lease = claimed_by + timedelta(minutes=5, seconds=1)
    later = open_firebell(settings, clock=lambda: after_lease)
    try:
        later.deliverer.drain(timeout=30)
        assert (tmp_path / "journal.txt").read_text() == f"{name} 2\n"
        backlog = later.deliverer.outbox.backlog()["hang"]
        assert (backlog.pending, backlog.failed, backlog.done) == (0, 0, 2)
        assert later.deliverer.outbox.lease_owners() == []
    finally:
        later.close()


def test_plugins_tells_of_a_call_with_no_answer_for_minutes(config: Path, tmp_path: Path) -> None:
    environ = environment(tmp_path)
    assert declare_stuck(config, environ).returncode == 0
    text = run_firebell(config, environ, "plugins").stdout
    assert re.search(r"^hang +under way: 1 call, the oldest started \d+s ago$", text, re.M), text
    settings = load_config(config, environ={})
    firebell = open_firebell(settings)
    try:
        # As if the call had started four minutes ago, its lease renewed since.
        with firebell.store.write() as connection:
            connection.execute(
                deliveries.update()
                .where(deliveries.c.plugin == "hang")
                .values(updated_at=datetime.now(UTC) - timedelta(minutes=4))
            )
    finally:
        firebell.close()
    text = " ".join(run_firebell(config, environ, "plugins").stdout.split())
    assert (
        "under way: 1 call, the oldest started 4m ago (no answer for over 3m: the service may "
        "be hanging; see `firebell run`'s log)"
    ) in text


def environment(tmp_path: Path) -> dict[str, str]:
    """The tests' environment, with the ``hang`` plugin's package on the path."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FIREBELL_")}
    environ["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "site"), environ.get("PYTHONPATH", "")])
    return environ


def declare_stuck(config: Path, environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``firebell declare Stuck`` with ``--deliver-timeout 1``, the ``hang`` plugin hanging."""
    try:
        return run_firebell(config, environ, "--deliver-timeout", "1", "declare", "Stuck")
    except subprocess.TimeoutExpired as hung:
        pytest.fail(f"firebell declare did not exit with a plugin call hanging: {hung.stderr!r}")


def run_firebell(
    config: Path, environ: dict[str, str], *args: str
) -> subprocess.CompletedProcess[str]:
    """``firebell --config config *args``, its output captured."""
    return subprocess.run(
        [FIREBELL_BIN, "--config", str(config), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
    )


def run_plugins(config: Path, environ: dict[str, str]) -> dict[str, dict[str, object]]:
    """``firebell plugins --json``, by plugin name."""
    listed = run_firebell(config, environ, "plugins", "--json")
    assert listed.returncode == 0, listed.stderr
    return {row["name"]: row for row in json.loads(listed.stdout)}
