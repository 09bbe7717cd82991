"""Helpers of the ecosystem tests: installing plugin packages with pip, running ``firebell``."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "firebell-plugin-example"


def pip_install_target(package: Path, target: Path) -> None:
    """``pip install --no-deps --target target package``: a real build and install, in isolation.

    The target folder holds the package and its ``.dist-info`` (with the entry points), so
    putting it on ``sys.path``/``PYTHONPATH`` makes it an installed distribution there only.
    """
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(package),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )


def run_firebell(
    *args: str, cwd: Path, pythonpath: str | None = None, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the ``firebell`` command in a new process (as a person would), in ``cwd``."""
    environ = {**os.environ, **(env or {})}
    environ.pop("FIREBELL_CONFIG", None)
    environ.pop("FIREBELL_DATABASE_URL", None)
    if pythonpath:
        environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (pythonpath, environ.get("PYTHONPATH")) if p
        )
    return subprocess.run(
        [sys.executable, "-m", "firebell.adapters.cli.main", *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
