"""The hook API's meta-tests: every hook is documented with its exact signature, every hook is
called by a real lifecycle, and no hook or parameter is ever renamed or removed."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import Any

import pytest
from firebell.adapters.cli.doctor_command import run_checks
from firebell.core import (
    HOOKSPEC_VERSION,
    Incident,
    Link,
    NothingToDo,
    RetryLater,
    hookimpl,
    hookspecs,
)

from firebell.testing import IncidentLifecycle, temporary_firebell
from firebell.testing.contract import hook_names

ROOT = Path(__file__).resolve().parents[2]
HOOKS_MD = ROOT / "docs" / "hooks.md"
EVENT_PARAMETERS = ("event", "incident", "config", "history", "settings", "attempt")
#: The event hooks' parameters now (the released ones, then those added since).
EVENT_PARAMETERS_NOW = (*EVENT_PARAMETERS, "link_now")

#: The hook API as released, by HOOKSPEC_VERSION. A new hook bumps the version and adds a row;
#: a hook may gain parameters (at the end) but never lose or rename one.
RELEASED: dict[int, dict[str, tuple[str, ...]]] = {
    1: {
        "firebell_plugin_spec": (),
        **{
            f"firebell_incident_{name}": EVENT_PARAMETERS
            for name in (
                "created",
                "resolved",
                "reopened",
                "closed",
                "severity_changed",
                "status_update_posted",
                "commander_assigned",
                "resource_linked",
                "integration_failed",
                "integration_recovered",
            )
        },
        "firebell_event": EVENT_PARAMETERS,
    },
    2: {"firebell_doctor": ("config", "settings")},
    3: {
        f"firebell_{name}": EVENT_PARAMETERS
        for name in (
            "timeline_entry_added",
            "timeline_entry_removed",
            "followup_added",
            "followup_done",
            "reminder_sent",
        )
    },
    # 4 added no hook: every event hook gained ``link_now`` (a plugin using it needs 4).
    4: {},
    5: {"firebell_person_named": EVENT_PARAMETERS},
    6: {"firebell_check_settings": ("config", "settings")},
    7: {"firebell_incident_integration_skipped": EVENT_PARAMETERS},
}


def spec_signature(name: str) -> tuple[list[tuple[str, str]], str]:
    """A spec's parameters (name, annotation) and return annotation, as normalized source."""
    signature = inspect.signature(getattr(hookspecs, name))
    parameters = [(p.name, _normalize(str(p.annotation))) for p in signature.parameters.values()]
    return parameters, _normalize(str(signature.return_annotation))


def _normalize(annotation: str) -> str:
    return ast.unparse(ast.parse(annotation, mode="eval"))


def documented_signatures() -> dict[str, tuple[list[tuple[str, str]], str]]:
    """Every ``def firebell_…(...) -> …: ...`` in a python block of docs/hooks.md."""
    found: dict[str, tuple[list[tuple[str, str]], str]] = {}
    for block in re.findall(r"```python\n(.*?)```", HOOKS_MD.read_text(), re.DOTALL):
        if not block.lstrip().startswith("def firebell_"):
            continue
        function = ast.parse(block).body[0]
        assert isinstance(function, ast.FunctionDef)
        parameters = [
            (a.arg, ast.unparse(a.annotation) if a.annotation else "") for a in function.args.args
        ]
        returns = ast.unparse(function.returns) if function.returns else ""
        found[function.name] = (parameters, returns)
    return found


@pytest.mark.parametrize("name", hook_names())
def test_every_hook_is_documented_with_its_exact_signature(name: str) -> None:
    documented = documented_signatures()
    assert name in documented, f"docs/hooks.md has no signature block for {name}"
    assert documented[name] == spec_signature(name), (
        f"docs/hooks.md shows {name} with a signature other than core/hookspecs.py's"
    )
    section = HOOKS_MD.read_text().split(f"### {name}\n", 1)
    assert len(section) == 2, f"docs/hooks.md has no '### {name}' section"
    body = section[1].split("\n### ", 1)[0]
    assert "**When:**" in body and "**Return:**" in body, f"{name}: say when and what it returns"
    assert "<!-- test -->\n```python" in body, f"{name}: add a runnable example"


def test_the_docs_document_no_hook_that_does_not_exist() -> None:
    assert set(documented_signatures()) == set(hook_names())


def test_every_hook_has_a_one_line_docstring_saying_when() -> None:
    for name in hook_names():
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        assert doc.split("\n")[0].startswith(("Called", "Describe", "Check")), name


def test_released_hooks_keep_their_parameters_and_the_version_matches() -> None:
    assert max(RELEASED) == HOOKSPEC_VERSION, (
        "a hook was added or the version bumped: add the new hooks to RELEASED under "
        "HOOKSPEC_VERSION (and bump HOOKSPEC_VERSION when adding a hook)"
    )
    released = {name: params for hooks in RELEASED.values() for name, params in hooks.items()}
    assert set(hook_names()) == set(released), (
        "hooks are never removed or renamed; a new one needs a HOOKSPEC_VERSION bump and a row "
        "in RELEASED"
    )
    for name, parameters in released.items():
        current = tuple(inspect.signature(getattr(hookspecs, name)).parameters)
        assert current[: len(parameters)] == parameters, (
            f"{name}: parameters {parameters} were released; only add new ones at the end"
        )


class Recorder:
    """A plugin implementing every hook, recording which were called with what."""

    def __init__(self) -> None:
        self.calls: dict[str, list[dict[str, Any]]] = {}

    def _record(self, hook: str, **arguments: Any) -> None:
        self.calls.setdefault(hook, []).append(arguments)


def _recording(hook: str, parameters: tuple[str, ...]) -> Any:
    source = f"def {hook}({', '.join(parameters)}):\n    _record({hook!r}, {', '.join(f'{p}={p}' for p in parameters)})\n"
    return source


def make_recorder() -> Recorder:
    recorder = Recorder()
    for name in hook_names():
        parameters = tuple(inspect.signature(getattr(hookspecs, name)).parameters)
        scope: dict[str, Any] = {"_record": recorder._record}
        exec(_recording(name, parameters), scope)
        setattr(recorder, name, hookimpl(scope[name]))
    return recorder


class Helper:
    """Links a resource (resource_linked), fails its first status update, so that
    integration_failed and integration_recovered happen, and fails its first severity change,
    then finds nothing left to do for it, so that integration_skipped happens."""

    def __init__(self) -> None:
        self.failed = False
        self.severity_failed = False

    @hookimpl
    def firebell_incident_severity_changed(self) -> None:
        if not self.severity_failed:
            self.severity_failed = True
            raise RetryLater("failing once on purpose", retry_after=0)
        raise NothingToDo("the severity changed before it could be told")

    @hookimpl
    def firebell_incident_created(self, incident: Incident) -> Link:
        return Link("ticket", f"T-{incident.id}", None, "Ticket")

    @hookimpl
    def firebell_incident_status_update_posted(self) -> None:
        if not self.failed:
            self.failed = True
            raise RetryLater("failing once on purpose", retry_after=0)


def test_every_hook_is_called_by_a_lifecycle_and_doctor(tmp_path: Path) -> None:
    recorder = make_recorder()
    with temporary_firebell({"recorder": recorder, "helper": Helper()}) as firebell:
        lifecycle = IncidentLifecycle(firebell)
        lifecycle.run()
        incident_id = lifecycle.incident_id
        events = lifecycle.events()
    config = tmp_path / "plugins.toml"
    config.write_text("[plugins.recorder]\n")
    checks = run_checks(config, environ={}, extra_plugins={"recorder": recorder})
    assert not [c for c in checks if c.status == "fail"]

    never = [name for name in hook_names() if name not in recorder.calls]
    assert never == [], f"hooks no lifecycle calls: {never}"
    for name in hook_names():
        if name in ("firebell_plugin_spec", "firebell_check_settings", "firebell_doctor"):
            continue
        for arguments in recorder.calls[name]:
            assert set(arguments) == set(EVENT_PARAMETERS_NOW)
            assert callable(arguments["link_now"])
            assert arguments["incident"].id == incident_id
            assert arguments["attempt"] >= 1
            assert arguments["history"][-1].position >= arguments["event"].position
            if name != "firebell_event":
                assert name == "firebell_" + arguments["event"].type.replace(".", "_")
    delivered = [arguments["event"].position for arguments in recorder.calls["firebell_event"]]
    assert delivered == [event.position for event in events]  # every event once, in order
