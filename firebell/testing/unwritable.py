"""Files and folders made unwritable for a test, also when the tests run as root."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = ["unwritable"]


@contextmanager
def unwritable(*paths: Path) -> Iterator[None]:
    """``paths`` made unwritable for this process while the block runs: immutable (``chattr
    +i``) when the tests run as root, whom file modes do not stop, else read-only modes."""
    if os.geteuid() == 0:
        done = subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"root, and chattr +i does not work here: {done.stderr.strip()}")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", *map(str, paths)], check=True)
        return
    modes = {path: path.stat().st_mode for path in paths}
    for path in paths:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        yield
    finally:
        for path, mode in modes.items():
            path.chmod(mode)
