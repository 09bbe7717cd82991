"""``--deliver-timeout`` bounds a plugin call that never returns: the command says so and exits."""

from __future__ import annotations

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
    site = tmp_path / "site"
    site.mkdir()
    install_plugin(site, "hang", "fbtest_hang", HANGING_PLUGIN, "0.1.0")
    monkeypatch.syspath_prepend(str(site))  # for the Firebell this test opens itself
    (tmp_path / "hanging").touch()
    return write_config(
        tmp_path,
        f'\n[plugins.hang]\nswitch = "{(tmp_path / "hanging").as_posix()}"\n'
        f'journal = "{(tmp_path / "journal.txt").as_posix()}"\n',
    )


def test_a_hung_plugin_call_does_not_hold_the_command_and_is_delivered_after_its_lease(
    config: Path, tmp_path: Path
) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("FIREBELL_")}
    environ["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "site"), environ.get("PYTHONPATH", "")])
    started = time.monotonic()
    try:
        declared = subprocess.run(
            [FIREBELL_BIN, "--config", str(config), "--deliver-timeout", "1", "declare", "Stuck"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=environ,
            timeout=60,
        )
    except subprocess.TimeoutExpired as hung:
        pytest.fail(f"firebell declare did not exit with a plugin call hanging: {hung.stderr!r}")
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
