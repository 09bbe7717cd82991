"""Files and folders a command is told to write, where it may not: one line, exit code 2.

The folders are made unwritable for real (immutable as root, read-only modes otherwise); the
installed ``firebell`` runs as a subprocess, as a person would run it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import Outcome, run_firebell_process, write_config

from firebell.testing.unwritable import unwritable


@pytest.fixture
def locked(tmp_path: Path) -> Iterator[Path]:
    """A folder this process cannot write, beside a plugins.toml with one incident declared."""
    write_config(tmp_path)
    assert run_firebell_process(["declare", "Checkout is down"], cwd=tmp_path).code == 0
    folder = tmp_path / "locked"
    folder.mkdir()
    with unwritable(folder):
        yield folder


def _one_line_error(outcome: Outcome) -> str:
    assert outcome.code == 2, outcome
    assert "Traceback" not in outcome.stderr
    [line] = outcome.stderr.splitlines()
    assert line.startswith("error: cannot write ")
    return line


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["export", "-o", "locked/out.jsonl"], "locked/out.jsonl"),
        (["stats", "--chart", "locked/chart.svg"], "locked/chart.svg"),
        (["new-plugin", "opsgenie", "-d", "locked"], "locked/firebell-opsgenie"),
        (["demo", "--folder", "locked"], "locked"),
        (["demo", "--folder", "locked/demo"], "locked/demo"),
    ],
)
def test_an_unwritable_output_path_is_one_line_naming_it_and_the_option(
    locked: Path, args: list[str], shown: str
) -> None:
    outcome = run_firebell_process(args, cwd=locked.parent)

    line = _one_line_error(outcome)
    option = args[-2]
    long_option = {"-o": "--output", "-d": "--directory"}.get(option, option)
    assert line.startswith(f"error: cannot write {shown} (")
    assert line.endswith(f"; choose another {long_option}, or make locked writable.")
    assert list(locked.iterdir()) == []


def test_an_output_path_on_a_file_system_that_takes_no_files_is_one_line(tmp_path: Path) -> None:
    write_config(tmp_path)

    outcome = run_firebell_process(["export", "-o", "/proc/out.jsonl"], cwd=tmp_path)

    assert "cannot write /proc/out.jsonl (no such file or directory)" in _one_line_error(outcome)
