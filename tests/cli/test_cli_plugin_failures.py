"""A plugin failing during a CLI command is one line on the terminal (its traceback only with
-v), and ``firebell doctor`` finds the Markdown plugin's folder that cannot be written before an
incident does.

The folder is made unwritable for real (immutable as root, read-only modes otherwise) and the
installed ``firebell`` runs as a subprocess.
"""

from __future__ import annotations

from pathlib import Path

from cli_support import run_firebell_process, write_config

from firebell.testing.unwritable import unwritable


def _locked_postmortems(tmp_path: Path) -> Path:
    write_config(tmp_path)
    folder = tmp_path / "postmortems"
    folder.mkdir()
    return folder


def test_a_plugin_raising_during_a_command_is_one_line_without_v(tmp_path: Path) -> None:
    folder = _locked_postmortems(tmp_path)
    with unwritable(folder):
        quiet = run_firebell_process(["--deliver-timeout", "5", "declare", "Quiet"], cwd=tmp_path)
        verbose = run_firebell_process(
            ["-v", "--deliver-timeout", "5", "declare", "Verbose"], cwd=tmp_path
        )

    assert quiet.code == 0 and ": declared." in quiet.stdout
    assert "Traceback" not in quiet.stderr
    [raised] = [line for line in quiet.stderr.splitlines() if "raised" in line]
    assert "WARNING firebell.delivery plugin markdown raised on incident.created" in raised
    assert ": PermissionError: [Errno " in raised and f"'{folder}/." in raised
    assert raised.endswith("(-v shows the traceback)")
    # That it is retried, and when, is the closing note's to say, once; -v logs each attempt.
    assert "failed on incident.created" not in quiet.stderr
    assert "note: plugin markdown: 1 pending, 0 failed; last error: PermissionError" in " ".join(
        quiet.stderr.split()
    )
    assert verbose.code == 0 and "Traceback (most recent call last)" in verbose.stderr
    assert "plugin markdown failed on incident.created for " in verbose.stderr


def test_doctor_finds_a_postmortem_folder_that_cannot_be_written(tmp_path: Path) -> None:
    folder = _locked_postmortems(tmp_path)
    with unwritable(folder):
        locked = run_firebell_process(["doctor"], cwd=tmp_path)
    writable = run_firebell_process(["doctor"], cwd=tmp_path)

    assert locked.code == 1
    assert f"fail markdown: the post-mortems' folder {folder} cannot be written (" in locked.stdout
    assert "[plugins.markdown] folder" in locked.stdout
    assert writable.code == 0 and "ok   markdown:" in writable.stdout


def test_doctor_finds_a_missing_postmortem_folder_that_cannot_be_created(tmp_path: Path) -> None:
    parent = _locked_postmortems(tmp_path)
    config = tmp_path / "plugins.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('postmortems"', 'postmortems/2026"'), encoding="utf-8")
    with unwritable(parent):
        locked = run_firebell_process(["doctor"], cwd=tmp_path)

    assert locked.code == 1
    assert (
        f"folder {parent / '2026'} (to be created in {parent}) cannot be written" in locked.stdout
    )
