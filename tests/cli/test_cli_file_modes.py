"""The files Firebell writes (post-mortems, ``export -o``, ``stats --chart``) get the permissions
of any file written under the umask, not mkstemp's 0600; a file replaced keeps its mode."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import run_firebell, write_config


@pytest.fixture(params=[0o022, 0o027, 0o002], ids=lambda mask: f"umask-{mask:03o}")
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    mask: int = request.param
    before = os.umask(mask)
    try:
        yield mask
    finally:
        os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_new_files_get_the_umask_s_permissions(tmp_path: Path, umask: int) -> None:
    config = write_config(tmp_path)
    expected = 0o666 & ~umask

    def firebell(*args: str) -> str:
        outcome = run_firebell(["--config", str(config), *args])
        assert outcome.code == 0, outcome
        return outcome.stdout

    name = firebell("declare", "Checkout is down").split(":", 1)[0]
    postmortem = tmp_path / "postmortems" / f"{name}.md"
    firebell("export", "-o", str(tmp_path / "events.jsonl"))
    firebell("stats", "--chart", str(tmp_path / "incidents.svg"))

    assert oct(mode(postmortem)) == oct(expected)
    assert oct(mode(tmp_path / "events.jsonl")) == oct(expected)
    assert oct(mode(tmp_path / "incidents.svg")) == oct(expected)
    assert [p.name for p in tmp_path.rglob(".*") if p.is_file()] == [], "a temporary file is left"


def test_a_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    name = run_firebell(["--config", str(config), "declare", "Search is slow"]).stdout
    postmortem = tmp_path / "postmortems" / f"{name.split(':', 1)[0]}.md"
    postmortem.chmod(0o640)
    chart = tmp_path / "incidents.svg"
    chart.write_text("old")
    chart.chmod(0o604)

    resolved = run_firebell(["--config", str(config), "resolve", postmortem.stem])
    charted = run_firebell(["--config", str(config), "stats", "--chart", str(chart)])

    assert resolved.code == 0 and charted.code == 0, (resolved, charted)
    assert "Resolved" in postmortem.read_text(), "the post-mortem was not rewritten"
    assert oct(mode(postmortem)) == oct(0o640)
    assert chart.read_text() != "old"
    assert oct(mode(chart)) == oct(0o604)
