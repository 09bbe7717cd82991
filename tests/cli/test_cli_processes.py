"""The installed ``firebell`` console script, run as people run it: in its own processes."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from cli_support import FIREBELL_BIN, run_firebell, run_firebell_process, write_config


def test_the_demo_runs_a_whole_lifecycle(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    outcome = run_firebell_process(["demo", "--folder", str(folder)], cwd=tmp_path)
    assert outcome.code == 0, outcome.stderr
    match = re.search(r"^(\d{8}-[a-z]+-[a-z]+)  Checkout requests failing$", outcome.stdout, re.M)
    assert match, outcome.stdout
    name = match.group(1)
    for line in (
        "state:     closed",
        "Severity changed from SEV1 to SEV2",
        "Closed: Post-mortem held",
    ):
        assert line in outcome.stdout
    postmortem = folder / "postmortems" / f"{name}.md"
    assert f"Post-mortem: {postmortem}" in outcome.stdout
    assert "## 4. Mitigation tasks" in postmortem.read_text()
    assert f"[firebell] Incident closed: {name}" in outcome.stderr, "the console announcer spoke"
    assert (folder / "plugins.toml").exists() and (folder / "firebell.db").exists()

    listed = run_firebell_process(["--config", str(folder / "plugins.toml"), "list", "--json"])
    assert listed.code == 0
    assert [(i["id"], i["state"]) for i in json.loads(listed.stdout)] == [(name, "closed")]


def test_declare_and_an_error_through_the_console_script(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    declared = run_firebell_process(["--config", str(config), "declare", "Queue stuck", "--json"])
    assert declared.code == 0, declared.stderr
    name = json.loads(declared.stdout)["incident"]["id"]
    refused = run_firebell_process(["--config", str(config), "close", name])
    assert refused.code == 1
    assert f"error: {name} is still open. Resolve it first" in refused.stderr
    bad = run_firebell_process(["list"], env={"FIREBELL_CONFIG": str(tmp_path / "nope.toml")})
    assert bad.code == 2 and "nope.toml: no such file" in bad.stderr


def test_several_firebell_processes_declaring_at_once_lose_nothing(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    processes = [
        subprocess.Popen(
            [FIREBELL_BIN, "--config", str(config), "declare", f"load {n}"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(4)
    ]
    names = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        assert "locked" not in stderr
        names += re.findall(r"^(\d{8}-[a-z]+-[a-z]+): declared\.", stdout, re.M)
    assert len(names) == 4 and len(set(names)) == 4
    listed = run_firebell(["--config", str(config), "list", "--json"]).json()
    assert sorted(i["id"] for i in listed) == sorted(names)
    assert run_firebell(["--config", str(config), "replay", "--json"]).json() == {
        "events": 8,  # each: created, and the markdown plugin's document link
        "incidents": 4,
    }
    plugins = {
        r["name"]: r for r in run_firebell(["--config", str(config), "plugins", "--json"]).json()
    }
    assert (plugins["markdown"]["pending"], plugins["markdown"]["failed"]) == (0, 0)
    assert len(list((tmp_path / "postmortems").glob("*.md"))) == 4
