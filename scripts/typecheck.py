"""Run mypy (strict) over the installed layout of the ``firebell`` package.

mypy cannot follow setuptools' editable finder for the package-dir mapping (core/ ->
firebell.core, ...), so this lays the package out as symlinks under build/typecheck and checks
that tree.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TREE = ROOT / "build" / "typecheck"
MAPPING = {"core": "core", "plugins": "plugins", "adapters": "adapters"}


def main() -> int:
    shutil.rmtree(TREE, ignore_errors=True)
    package = TREE / "firebell"
    package.mkdir(parents=True)
    for item in (ROOT / "firebell").iterdir():
        if item.name != "__pycache__":
            (package / item.name).symlink_to(item)
    for name, folder in MAPPING.items():
        (package / name).symlink_to(ROOT / folder)
    command = [
        sys.executable,
        "-m",
        "mypy",
        "--config-file",
        str(ROOT / "pyproject.toml"),
        "-p",
        "firebell",
    ]
    return subprocess.call(command, cwd=TREE)


if __name__ == "__main__":
    sys.exit(main())
