"""The plugin contract check: hook implementations match the specs and survive redelivery.

::

    from firebell.testing import check_plugin_contract

    def test_contract(tmp_path):
        check_plugin_contract("example", table={"path": str(tmp_path / "audit.jsonl")},
                              count_effects=lambda: count_lines(tmp_path / "audit.jsonl"))

:func:`check_plugin_contract` does two things and raises :class:`PluginContractError` (an
``AssertionError``) listing every problem it found:

1. **Specs.** The plugin registers with the hook specs (pluggy refuses a parameter the spec does
   not have), names no hook that does not exist, marks every ``firebell_*`` function with
   ``@hookimpl``, uses no wrappers, and ``firebell_plugin_spec`` returns a ``PluginSpec``.
2. **Redelivery.** It drives a whole incident lifecycle through a real engine on a temporary
   SQLite log with the plugin enabled, and *every event hook is called twice* with the same
   arguments, as when a process crashes between the vendor call and its record: the second call
   must return the same links (a different one means a second thing was created outside) and
   must not change ``count_effects()`` (a caller-supplied count of what the plugin made outside:
   channels in the fake Slack, lines in a file, ...).
3. **Doctor.** A ``firebell_doctor`` implementation is called once and must return ``None`` or a
   list of lines (problems are the service's business; raising or returning a string is not).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import attrs
import pluggy

from firebell.core import hookspecs
from firebell.core.errors import NothingToDo, RetryLater
from firebell.core.hookspecs import Link, PluginSpec, hookimpl
from firebell.core.incident import Incident
from firebell.core.plugin_host import ENTRY_POINT_GROUP, hook_name_for, unknown_hooks
from firebell.core.runtime import Firebell
from firebell.testing.lifecycle import FULL_LIFECYCLE, IncidentLifecycle
from firebell.testing.temporary import temporary_firebell

__all__ = [
    "ContractReport",
    "HookCall",
    "PluginContractError",
    "check_plugin_contract",
    "event_hook_names",
    "hook_names",
    "spec_problems",
]

#: Hooks that are not called per event (and so are not called twice).
SETUP_HOOKS = frozenset({"firebell_plugin_spec", "firebell_check_settings", "firebell_doctor"})


class PluginContractError(AssertionError):
    """Raised when a plugin breaks the plugin contract; the message lists every problem."""


@attrs.frozen
class HookCall:
    """One doubled hook call: the links each call returned and the effects counted around them."""

    hook: str
    event_type: str
    position: int
    first: tuple[Link, ...]
    second: tuple[Link, ...]
    effects: tuple[Any, Any, Any]


@attrs.frozen
class ContractReport:
    """What :func:`check_plugin_contract` saw: the plugin's name, hooks and every doubled call."""

    name: str
    hooks: tuple[str, ...]
    calls: tuple[HookCall, ...]
    event_types: tuple[str, ...]


def hook_names() -> list[str]:
    """Every hook in ``firebell.core.hookspecs``, in the module's order."""
    return [
        name
        for name, value in vars(hookspecs).items()
        if name.startswith("firebell_") and hasattr(value, "firebell_spec")
    ]


def event_hook_names() -> list[str]:
    """The hooks called for events (all but the setup and operations hooks)."""
    return [name for name in hook_names() if name not in SETUP_HOOKS]


def _resolve(plugin: object) -> tuple[object, str]:
    if not isinstance(plugin, str):
        default = getattr(plugin, "__name__", type(plugin).__name__).rsplit(".", 1)[-1]
        return plugin, default
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name == plugin:
            return entry_point.load(), plugin
    try:
        module = importlib.import_module(plugin)
    except ImportError as error:
        raise PluginContractError(
            f"no plugin {plugin!r}: it is neither a {ENTRY_POINT_GROUP!r} entry point nor an "
            f"importable module ({error}). pip install the package (pip install -e .) first."
        ) from error
    return module, plugin.rsplit(".", 1)[-1]


def spec_problems(plugin: object, name: str) -> list[str]:
    """What is wrong with ``plugin``'s hook implementations as declared (no hook is called).

    Registers it with the hook specs in a fresh plugin manager, the way the host does.
    """
    problems: list[str] = []
    known = set(hook_names())
    for attribute in dir(plugin):
        value = getattr(plugin, attribute, None)
        if (
            attribute.startswith("firebell_")
            and inspect.isroutine(value)
            and not hasattr(value, "firebell_impl")
        ):
            problems.append(
                f"{attribute} is not marked @hookimpl, so Firebell never calls it; decorate it "
                "with firebell.core.hookimpl."
            )
    manager = pluggy.PluginManager(ENTRY_POINT_GROUP)
    manager.add_hookspecs(hookspecs)
    try:
        manager.register(plugin, name=name)
    except pluggy.PluginValidationError as error:
        problems.append(
            f"the hook implementations do not match the specs: {error}. A hook may take any "
            "subset of its spec's parameters (see docs/hooks.md), no others."
        )
        return problems
    problems.extend(unknown_hooks(manager, name))  # what Firebell warns of when it loads it
    for hook_name in known:
        for impl in getattr(manager.hook, hook_name).get_hookimpls():
            if impl.plugin_name == name and (impl.hookwrapper or impl.wrapper):
                problems.append(
                    f"{hook_name} is a wrapper; Firebell calls each plugin's implementation on "
                    "its own, so plain @hookimpl functions only."
                )
    spec_function = getattr(plugin, "firebell_plugin_spec", None)
    if spec_function is not None and hasattr(spec_function, "firebell_impl"):
        try:
            spec = spec_function()
        except Exception as error:
            problems.append(f"firebell_plugin_spec raised {type(error).__name__}: {error}")
        else:
            if spec is not None and not isinstance(spec, PluginSpec):
                problems.append(
                    f"firebell_plugin_spec returned {spec!r}; return a firebell.core.PluginSpec"
                )
            elif (
                spec is not None
                and spec.config_class is not None
                and not attrs.has(spec.config_class)
            ):
                problems.append(
                    f"PluginSpec.config_class {spec.config_class!r} is not an attrs class; "
                    "Firebell builds it from the plugin's table with cattrs."
                )
    return problems


def _links(result: Any) -> tuple[Link, ...]:
    if result is None:
        return ()
    if isinstance(result, Link):
        return (result,)
    return tuple(result)


def _identities(links: Sequence[Link]) -> set[tuple[str, str]]:
    return {(link.kind, link.external_id) for link in links if isinstance(link, Link)}


class _Doubler:
    """Builds the stand-in plugin whose event hooks call the real ones twice."""

    def __init__(self, count_effects: Callable[[], Any] | None) -> None:
        self.count_effects = count_effects or (lambda: None)
        self.calls: list[HookCall] = []
        self.problems: list[str] = []
        self._lock = threading.Lock()

    def stand_in(self, plugin: object) -> object:
        namespace = SimpleNamespace()
        for attribute in dir(plugin):
            value = getattr(plugin, attribute, None)
            if not (inspect.isroutine(value) and hasattr(value, "firebell_impl")):
                continue
            if attribute in SETUP_HOOKS:
                setattr(namespace, attribute, value)
            else:
                setattr(namespace, attribute, self._twice(attribute, value))
        return namespace

    def _twice(self, hook: str, function: Callable[..., Any]) -> Callable[..., Any]:
        # The stand-in asks for ``event`` and ``attempt`` besides what the plugin asks for (the
        # host passes what a hook's parameters name), so that it can report the event and
        # repeat the call as a later attempt; the plugin still gets only its own parameters.
        wanted = [  # what pluggy passes: the parameters without defaults
            name
            for name, parameter in inspect.signature(function).parameters.items()
            if parameter.default is inspect.Parameter.empty
            and parameter.kind is not inspect.Parameter.KEYWORD_ONLY
        ]
        names = list(dict.fromkeys([*wanted, "event", "attempt"]))
        source = (
            f"def {hook}({', '.join(names)}):\n"
            f"    return _call({{{', '.join(f'{n!r}: {n}' for n in names)}}})\n"
        )
        scope: dict[str, Any] = {"_call": lambda values: self._call(hook, function, wanted, values)}
        exec(source, scope)
        stand_in: Callable[..., Any] = scope[hook]
        stand_in.firebell_impl = function.firebell_impl  # type: ignore[attr-defined]
        stand_in.__doc__ = function.__doc__
        return stand_in

    def _call(
        self, hook: str, function: Callable[..., Any], wanted: list[str], values: dict[str, Any]
    ) -> Any:
        event = values["event"]
        where = f"{hook} on {event.type} (position {event.position})"
        kwargs = {name: values[name] for name in wanted}
        repeat = {**kwargs, "attempt": values["attempt"] + 1} if "attempt" in kwargs else kwargs
        before = self.count_effects()
        first = function(**kwargs)
        middle = self.count_effects()
        try:
            second = function(**repeat)
        except RetryLater as error:
            self._problem(
                f"{where}: the repeated call raised RetryLater ({error}); a delivery that "
                "already took effect must succeed when repeated, not wait"
            )
            return first
        except Exception as error:
            self._problem(
                f"{where}: the repeated call raised {type(error).__name__}: {error}; a "
                "repeated delivery must find what the first call made and succeed"
            )
            return first
        after = self.count_effects()
        call = HookCall(
            hook,
            event.type,
            event.position,
            _links(first),
            _links(second),
            (before, middle, after),
        )
        with self._lock:
            self.calls.append(call)
        if _identities(call.first) != _identities(call.second):
            self._problem(
                f"{where}: the first call returned {list(call.first)!r}, the repeated call "
                f"{list(call.second)!r}; a repeated delivery must not create a second thing "
                "outside (look in incident.resources or use the service's deduplication)"
            )
        if after != middle:
            self._problem(
                f"{where}: count_effects() was {middle!r} after the first call and "
                f"{after!r} after the repeated one; calling a hook twice with the same "
                "event must not create two things outside"
            )
        return first

    def _problem(self, text: str) -> None:
        with self._lock:
            self.problems.append(text)


class _Companion:
    """A helper plugin enabled beside the one under test, so that every event hook fires.

    It links a resource on ``incident.created`` (``incident.resource_linked``), fails its first
    delivery of a status update (``incident.integration_failed``, then ``..._recovered``), and
    fails its first of a severity change, then finds nothing left to do for it
    (``incident.integration_skipped``).
    """

    def __init__(self) -> None:
        self.failed = False
        self.severity_failed = False

    @hookimpl
    def firebell_incident_severity_changed(self) -> None:
        """Fail once, then have nothing left to do."""
        if not self.severity_failed:
            self.severity_failed = True
            raise RetryLater("contract check: failing once on purpose", retry_after=0)
        raise NothingToDo("contract check: nothing left to do on purpose")

    @hookimpl
    def firebell_incident_created(self, incident: Incident) -> Link:
        """Link a made-up resource."""
        return Link("contract-check", incident.id, None, "Contract check")

    @hookimpl
    def firebell_incident_status_update_posted(self) -> None:
        """Fail once, then succeed."""
        if not self.failed:
            self.failed = True
            raise RetryLater("contract check: failing once on purpose", retry_after=0)


COMPANION = "contract-companion"


def check_plugin_contract(
    plugin: object,
    *,
    name: str | None = None,
    table: Mapping[str, Any] | None = None,
    document: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    count_effects: Callable[[], Any] | None = None,
    steps: tuple[str, ...] = FULL_LIFECYCLE,
    directory: str | Path | None = None,
) -> ContractReport:
    """Check that ``plugin`` keeps the plugin contract; raise :class:`PluginContractError` if not.

    ``plugin`` is a module or object of ``@hookimpl`` functions, or the name of an installed
    plugin (its ``firebell`` entry point) or of a module. ``name`` is the name it is enabled
    under (default: the entry point's or the module's last part). ``table`` is its
    ``[plugins.<name>]`` table, ``document`` the rest of ``plugins.toml`` (other plugins it needs,
    ``[firebell]``), ``environ`` the environment its secrets come from. ``count_effects`` returns
    a comparable count of what the plugin created outside. ``steps`` are the
    :class:`~firebell.testing.lifecycle.IncidentLifecycle` steps to take (all by default).
    ``directory`` holds the temporary SQLite log (default: a temporary directory).
    """
    target, default_name = _resolve(plugin)
    name = name or default_name
    problems = spec_problems(target, name)
    if problems:
        raise PluginContractError(_message(name, problems))
    doubler = _Doubler(count_effects)
    raw: dict[str, Any] = {key: dict(value) for key, value in (document or {}).items()}
    raw.setdefault("plugins", {})[name] = dict(table or {})
    stand_ins = {name: doubler.stand_in(target), COMPANION: _Companion()}
    with temporary_firebell(
        stand_ins, document=raw, environ=environ, directory=directory
    ) as firebell:
        lifecycle = IncidentLifecycle(firebell)
        lifecycle.run(steps)
        left = lifecycle.undelivered()
        event_types = tuple(lifecycle.event_types())
        hooks = tuple(hook for hook in hook_names() if firebell.host.implements(name, hook))
        doctor_problems = _doctor_problems(firebell, name)
    problems = [*doubler.problems, *doctor_problems]
    if name in left:
        problems.append(
            f"deliveries to {name!r} did not all succeed during the lifecycle ({left[name]}); "
            "the check needs a working setup (point the plugin at the fakes in firebell.testing)"
        )
    # Every hook whose event happened must have been doubled; hooks of events this lifecycle
    # does not produce are not (they are checked by the tests of whatever produces them).
    called = {call.hook for call in doubler.calls}
    due = {hook_name_for(event_type) for event_type in event_types} | {"firebell_event"}
    for hook in hooks:
        if hook in due and hook not in called and not doubler.problems:
            problems.append(f"{hook} was never called during the lifecycle ({', '.join(steps)})")
    if problems:
        raise PluginContractError(_message(name, problems))
    return ContractReport(name, hooks, tuple(doubler.calls), event_types)


def _doctor_problems(firebell: Firebell, name: str) -> list[str]:
    """Call the plugin's ``firebell_doctor`` once: it must return None or a list of str."""
    values = {"config": firebell.host.enabled[name].config, "settings": firebell.settings}
    problems = []
    for impl in firebell.host.manager.hook.firebell_doctor.get_hookimpls():
        if impl.plugin_name != name:
            continue
        try:
            result = impl.function(**{arg: values[arg] for arg in impl.argnames})
        except Exception as error:
            problems.append(
                f"firebell_doctor raised {type(error).__name__}: {error}; return the problem as "
                "a line instead, so that firebell doctor can print it"
            )
            continue
        if result is not None and (
            isinstance(result, str)
            or not isinstance(result, Sequence)
            or not all(isinstance(line, str) for line in result)
        ):
            problems.append(f"firebell_doctor returned {result!r}; return a list of str or None")
    return problems


def _message(name: str, problems: Sequence[str]) -> str:
    lines = "\n".join(f"  - {problem}" for problem in problems)
    return f"plugin {name!r} breaks the Firebell plugin contract:\n{lines}"
