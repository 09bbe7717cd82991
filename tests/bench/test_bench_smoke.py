"""The benchmarks still run: ``python -m bench --quick --smoke`` prints the whole table.

Tiny sizes, a short fake-service delay, no timing asserted: this only keeps ``bench/`` from
rotting as the code it measures changes (a renamed method, a new required setting).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]


def test_the_smoke_run_prints_every_part_of_the_table(tmp_path: Path) -> None:
    environ = {**os.environ, "FIREBELL_BENCH_RESULTS": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--smoke"],
        cwd=REPOSITORY,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-4000:]
    lines = done.stdout.splitlines()
    header = next(line for line in lines if line.startswith("| part "))
    assert [cell.strip() for cell in header.strip("|").split("|")] == [
        "part",
        "measure",
        "Firebell",
        "baseline",
        "ratio",
        "goal",
        "met",
    ]
    parts = {line.split("|")[1].strip() for line in lines if line.startswith("| ")}
    assert {"event-log", "read-model", "declare", "burst"} <= parts
    assert "event-log-pg" in parts  # measured, or a line saying why it was skipped
    written = json.loads((tmp_path / "latest-smoke.json").read_text())
    assert written["mode"] == "smoke"
    assert written["machine"]["nproc"] >= 1
    measures = {(r["part"], r["measure"]) for r in written["results"]}
    assert ("declare", "ack to Slack, median") in measures
