"""Packaging: every package folder is in pyproject's list, and a built wheel holds it all."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
#: Where each top-level folder installs.
FOLDERS = {
    "firebell": "firebell",
    "core": "firebell.core",
    "plugins": "firebell.plugins",
    "adapters": "firebell.adapters",
}


def setuptools_table() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        table: dict[str, Any] = tomllib.load(handle)["tool"]["setuptools"]
    return table


def package_folders() -> dict[str, Path]:
    """Every folder with an ``__init__.py`` under the four roots, by its package name."""
    found: dict[str, Path] = {}
    for folder, package in FOLDERS.items():
        for init in sorted((ROOT / folder).rglob("__init__.py")):
            relative = init.parent.relative_to(ROOT / folder)
            if any(part.startswith(".") or part == "__pycache__" for part in relative.parts):
                continue
            found[".".join([package, *relative.parts])] = init.parent
    return found


def folder_of(package: str) -> Path:
    """Where a package of the ``firebell`` namespace lives in the repository."""
    folder, name = max(
        ((f, n) for f, n in FOLDERS.items() if package == n or package.startswith(n + ".")),
        key=lambda found: len(found[1]),
    )
    return ROOT / folder / Path(*package[len(name) :].split(".")[1:])


def data_folders() -> dict[str, Path]:
    """The folders of data files pyproject lists as packages (no ``__init__.py``), by name."""
    folders = {package: folder_of(package) for package in setuptools_table()["package-data"]}
    return {package: f for package, f in folders.items() if not (f / "__init__.py").exists()}


def test_every_package_folder_is_listed_with_its_mapping() -> None:
    table = setuptools_table()
    listed = set(table["packages"])
    folders = package_folders()
    missing = sorted(set(folders) - listed)
    assert not missing, f"add these to [tool.setuptools] packages in pyproject.toml: {missing}"
    stale = sorted(listed - set(folders) - set(data_folders()))
    assert not stale, f"listed in pyproject.toml but no folder with __init__.py: {stale}"
    for package, folder in data_folders().items():
        assert package in listed and folder.is_dir(), f"data folder {package} ({folder})"
    mapping = table["package-dir"]
    for folder, package in FOLDERS.items():
        assert mapping.get(package) == folder, f'package-dir needs "{package}" = "{folder}"'


def test_every_entry_point_names_a_listed_package_or_module() -> None:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        project = tomllib.load(handle)["project"]
    listed = set(setuptools_table()["packages"])
    targets = [
        *project["entry-points"]["firebell"].values(),
        *project["entry-points"]["pytest11"].values(),
        *(script.partition(":")[0] for script in project["scripts"].values()),
    ]
    for target in targets:
        module = target.partition(":")[0]
        assert module in listed or module.rpartition(".")[0] in listed, target


def test_package_data_globs_match_files() -> None:
    folders = {**package_folders(), **data_folders()}
    for package, patterns in setuptools_table()["package-data"].items():
        for pattern in patterns:
            assert list(folders[package].glob(pattern)), f"{package}: {pattern} matches nothing"


@pytest.mark.slow
def test_a_built_wheel_holds_every_package_and_data_file(tmp_path: Path) -> None:
    # Build from a copy so the checkout's build/ and egg-info stay untouched.
    source = tmp_path / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, source / name)
    for folder in FOLDERS:
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    out = tmp_path / "out"
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    # setuptools warns (even under --quiet) of data folders missing from `packages`.
    assert "would be ignored" not in built.stdout + built.stderr, built.stderr
    (wheel,) = out.glob("firebell-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())

    assert "firebell/py.typed" in names
    words = {n for n in names if n.startswith("firebell/core/words/") and n.endswith(".txt")}
    assert words == {"firebell/core/words/adjectives.txt", "firebell/core/words/animals.txt"}
    for package, package_folder in package_folders().items():
        path = package.replace(".", "/")
        for module in package_folder.glob("*.py"):
            assert f"{path}/{module.name}" in names, f"{path}/{module.name} is not in the wheel"
    folders = {**package_folders(), **data_folders()}
    for package, patterns in setuptools_table()["package-data"].items():
        for pattern in patterns:
            for data in folders[package].glob(pattern):
                relative = data.relative_to(folders[package]).as_posix()
                assert f"{package.replace('.', '/')}/{relative}" in names, (package, relative)
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[firebell]" in text and "console = firebell.plugins.console" in text
    assert "firebell = firebell.adapters.cli.main:main" in text
