"""``firebell new-plugin NAME``: scaffold a third-party plugin as its own pip package.

It writes ``firebell-NAME/`` with a ``pyproject.toml`` (the ``firebell`` entry point), a module
of ``@hookimpl`` functions with a validated config class, tests using the ``firebell.testing``
fixtures and contract check, and a README. The generated plugin works as it is: it keeps one
JSON record per incident in a folder, standing in for the service you will call; replace the
marked parts with your service's API. ``pip install -e firebell-NAME`` and its tests pass.
"""

from __future__ import annotations

import re
from pathlib import Path
from string import Template

import click
from firebell.adapters.cli.problems import writing

__all__ = ["check_name_is_free", "new_plugin", "package_names", "render_package"]

_NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")


def package_names(name: str) -> dict[str, str]:
    """The names derived from plugin ``name``: distribution, module, config class, link kind."""
    if not _NAME.match(name) or len(name) > 40:
        raise click.BadParameter(
            f"{name!r} is not a plugin name: use lowercase letters and digits, words joined by "
            "'-' or '_', starting with a letter (like 'opsgenie' or 'google-docs').",
            param_hint="NAME",
        )
    bare = re.sub(r"^firebell[-_]", "", name)
    if bare != name:
        # The package is firebell-NAME already; firebell-x would make firebell-firebell-x.
        raise click.BadParameter(
            f"{name!r} starts with 'firebell-'; give the bare name, {bare!r}: the package is "
            f"named firebell-{bare} and the plugin {bare}.",
            param_hint="NAME",
        )
    words = re.split(r"[-_]", name)
    return {
        "name": name,
        "distribution": f"firebell-{name}",
        "module": "firebell_" + "_".join(words),
        "config_class": "".join(word.capitalize() for word in words) + "Config",
        "kind": f"{name}-record",
        "title": " ".join(word.capitalize() for word in words),
    }


_PYPROJECT = """\
[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "$distribution"
version = "0.1.0"
description = "A Firebell plugin for $title."
readme = "README.md"
license = "Apache-2.0"
requires-python = ">=3.11"
dependencies = ["firebell>=0.1"]

[project.optional-dependencies]
test = ["pytest>=8"]

# Firebell finds the plugin through this entry point; [plugins.$name] in plugins.toml enables it.
[project.entry-points.firebell]
$name = "$module"

[tool.setuptools]
packages = ["$module"]

[tool.setuptools.package-data]
$module = ["py.typed"]

[tool.pytest.ini_options]
testpaths = ["tests"]

[tool.ruff]
line-length = 100

[tool.ruff.lint]
select = ["E", "F", "W", "I", "B", "UP"]
"""

_MODULE = '''\
"""The $title plugin for Firebell.

Enable it in ``plugins.toml``::

    [plugins.$name]
    folder = "$name-records"

It keeps one JSON record per incident in ``folder``, standing in for the service this plugin
will talk to: replace ``_create_record`` and ``_update_record`` with calls to its API (and take
the API key as ``api_key: Secret`` in the config, written ``{ env = "VARIABLE" }``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import attrs
from firebell.core import Incident, Link, PluginSpec, RecordedEvent, hookimpl

__all__ = ["$config_class"]

LINK_KIND = "$kind"


def _check_folder(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if not value.strip():
        raise ValueError("folder: name the folder the records go to")


@attrs.frozen
class $config_class:
    """``[plugins.$name]``: the plugin's settings.

    ``folder`` holds one record per incident (default ``$name-records``).
    """

    folder: str = attrs.field(default="$name-records", validator=_check_folder)


@hookimpl
def firebell_plugin_spec() -> PluginSpec:
    """The plugin's settings (add ``after=("slack",)`` to get the incident channel first)."""
    return PluginSpec(config_class=$config_class, description="$title for Firebell.")


@hookimpl
def firebell_incident_created(incident: Incident, config: $config_class) -> Link:
    """Create the incident's record, unless an earlier (repeated) delivery did already."""
    path = _path(config, incident)
    if not path.exists():  # a repeated delivery must not create a second record
        _create_record(path, incident)
    return Link(LINK_KIND, incident.id, path.resolve().as_uri(), f"$title: {incident.id}")


@hookimpl
def firebell_incident_resolved(incident: Incident, config: $config_class) -> None:
    """Mark the record resolved."""
    _update_record(_path(config, incident), incident)


@hookimpl
def firebell_incident_reopened(incident: Incident, config: $config_class) -> None:
    """Mark the record open again."""
    _update_record(_path(config, incident), incident)


@hookimpl
def firebell_incident_closed(incident: Incident, config: $config_class) -> None:
    """Mark the record closed."""
    _update_record(_path(config, incident), incident)


@hookimpl
def firebell_event(event: RecordedEvent, incident: Incident, config: $config_class) -> None:
    """Called for every event after its own hook (here: nothing more to do)."""


@hookimpl
def firebell_doctor(config: $config_class) -> list[str]:
    """What ``firebell doctor`` reports: the records' folder must be writable."""
    folder = Path(config.folder).resolve()
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is None or not os.access(existing, os.W_OK):
        return [f"folder: {folder} cannot be written; choose another folder"]
    return []


# -- stand-ins for the service's API -----------------------------------------------------------


def _path(config: $config_class, incident: Incident) -> Path:
    return Path(config.folder) / f"{incident.id}.json"


def _record(incident: Incident) -> dict[str, Any]:
    return {
        "incident": incident.id,
        "title": incident.title,
        "severity": incident.severity,
        "state": incident.state.value,
    }


def _create_record(path: Path, incident: Incident) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_record(incident), indent=2), encoding="utf-8")


def _update_record(path: Path, incident: Incident) -> None:
    _create_record(path, incident)
'''

_TESTS = '''\
"""Tests of the $title plugin, with the fixtures Firebell's pytest plugin provides.

The plugin is found through its entry point, so install the package first: pip install -e .
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from firebell.core import ConfigError
from firebell.testing import IncidentLifecycle, check_plugin_contract
from firebell.testing.pytest_plugin import MakeFirebell


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "records"


@pytest.fixture
def firebell_document(folder: Path) -> dict[str, Any]:
    """Enable the plugin for the ``firebell`` fixture."""
    return {"plugins": {"$name": {"folder": str(folder)}}}


def test_a_lifecycle_keeps_one_record_up_to_date(
    incident_lifecycle: IncidentLifecycle, folder: Path
) -> None:
    incident = incident_lifecycle.declare()
    assert incident.resource("$kind") is not None
    incident_lifecycle.resolve()
    incident_lifecycle.close()
    incident_lifecycle.assert_delivered()
    record = json.loads((folder / f"{incident.id}.json").read_text())
    assert record["state"] == "closed"
    assert len(list(folder.iterdir())) == 1


def test_unknown_settings_are_refused(make_firebell: MakeFirebell) -> None:
    with pytest.raises(ConfigError, match="colour"):
        make_firebell({"plugins": {"$name": {"colour": "red"}}})


def test_the_plugin_keeps_the_contract(tmp_path: Path, folder: Path) -> None:
    check_plugin_contract(
        "$name",
        table={"folder": str(folder)},
        count_effects=lambda: len(list(folder.glob("*.json"))),
        directory=tmp_path,
    )
'''

_README = """\
# $distribution

A Firebell plugin for $title.

```sh
pip install -e .            # then, in Firebell's plugins.toml:
```

```toml
[plugins.$name]
folder = "$name-records"
```

`firebell plugins` lists it; `firebell doctor` runs its `firebell_doctor` check.

## Developing

```sh
pip install -e ".[test]"
python -m pytest
```

The tests use the fixtures of `firebell.testing` (`firebell`, `incident_lifecycle`,
`make_firebell`, `fake_slack`) and `check_plugin_contract`, which calls every hook twice with the
same event to prove a repeated delivery creates nothing twice. The hooks are documented in
Firebell's docs/hooks.md.
"""


def render_package(name: str) -> dict[str, str]:
    """The scaffold's files (relative path -> text) for plugin ``name``."""
    names = package_names(name)
    module = names["module"]
    return {
        "pyproject.toml": Template(_PYPROJECT).substitute(names),
        "README.md": Template(_README).substitute(names),
        f"{module}/__init__.py": Template(_MODULE).substitute(names),
        f"{module}/py.typed": "",
        f"tests/test_{module}.py": Template(_TESTS).substitute(names),
    }


def check_name_is_free(name: str) -> None:
    """Refuse a ``name`` a distribution other than ``firebell-NAME`` declares already (a
    built-in plugin's above all): two plugins of one name stop Firebell at start-up."""
    from firebell.core.plugin_host import BUILT_IN_DISTRIBUTION, entry_point_claims

    def normalized(distribution: str) -> str:  # PEP 503: Foo_Bar and foo-bar are one
        return re.sub(r"[-_.]+", "-", distribution).lower()

    ours = normalized(package_names(name)["distribution"])
    for claimant in entry_point_claims().get(name, []):
        owner = claimant.split(" ")[0]
        if owner == BUILT_IN_DISTRIBUTION:
            raise click.BadParameter(
                f"{name!r} is the name of a built-in Firebell plugin; a package declaring it "
                "would stop Firebell at start-up. Choose another name (like "
                f"'{name}-extra' or your company's prefix).",
                param_hint="NAME",
            )
        if normalized(owner) != ours:
            raise click.BadParameter(
                f"{name!r} is the name of the plugin installed from {claimant}; two packages "
                "declaring one plugin name stop Firebell at start-up. Choose another name.",
                param_hint="NAME",
            )


@click.command(name="new-plugin")
@click.argument("name")
@click.option(
    "-d",
    "--directory",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Where to create the package folder firebell-NAME.",
)
def new_plugin(name: str, directory: Path) -> None:
    """Scaffold a plugin called NAME as a pip package (firebell-NAME/) with tests.

    NAME may not be that of a built-in plugin (console, markdown, slack, ...) or of a plugin
    another package installed.
    """
    check_name_is_free(name)
    files = render_package(name)
    target = directory / package_names(name)["distribution"]
    if target.exists():
        raise click.ClickException(f"{target} exists already; choose another NAME or --directory.")
    with writing(target, option="--directory"):
        for relative, text in files.items():
            path = target / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    click.echo(f"Created {target}/ with:")
    for relative in files:
        click.echo(f"  {relative}")
    click.echo(
        f"Next: pip install -e {target}, run its tests with python -m pytest {target}, then add "
        f"[plugins.{name}] to plugins.toml. See docs/writing-plugins.md."
    )
