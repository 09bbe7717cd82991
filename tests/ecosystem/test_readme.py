"""The README's "Using it" commands work as shown, right after the demo (``scripts/demo`` runs
``firebell demo`` from the checkout's root)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
FIREBELL_BIN = str(Path(sys.executable).with_name("firebell"))


def using_it_commands() -> str:
    section = README.read_text(encoding="utf-8").split("## Using it\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"^```sh\n(.*?)^```", section, re.DOTALL | re.MULTILINE)
    assert match, "no sh block under 'Using it'"
    return match.group(1)


def test_the_using_it_commands_work_after_the_demo(tmp_path: Path) -> None:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("FIREBELL_", "SLACK_"))}
    demo = subprocess.run(
        [FIREBELL_BIN, "demo"], cwd=tmp_path, env=environ, capture_output=True, text=True
    )
    assert demo.returncode == 0, demo.stderr
    commands = using_it_commands()
    assert ".venv/bin/firebell" in commands

    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", commands.replace(".venv/bin/firebell", FIREBELL_BIN)],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    assert "Checkout requests failing" in done.stdout, "the demo's incident is not listed"
    resolved = re.search(r"^(\d{8}-[a-z]+-[a-z]+): resolved\.", done.stdout, re.M)
    assert resolved, done.stdout
    name = resolved.group(1)
    assert f"{name}  Checkout failing" in done.stdout, "show did not find the declared incident"
    assert f"{name}: update posted." in done.stdout
    assert "error" not in done.stderr.lower()
