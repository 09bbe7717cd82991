"""Finding, configuring and calling plugins.

Built-in plugins and pip-installed ones are found the same way, through the ``firebell``
entry-point group; ``plugins.toml`` switches them on. Each plugin is called on its own, so an
exception in one never stops another (pluggy would stop at the first raising implementation).
"""

from __future__ import annotations

import difflib
import importlib.metadata
import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

import attrs
import pluggy
from firebell.core import hookspecs
from firebell.core.config import FirebellConfig
from firebell.core.errors import ConfigError
from firebell.core.hookspecs import Link, PluginSpec
from firebell.core.plugin_tables import structure_plugin_config
from firebell.core.subscribers import Subscribers

__all__ = [
    "InstalledPlugin",
    "PluginHost",
    "create_plugin_manager",
    "entry_point_claims",
    "hook_name_for",
    "unknown_hooks",
]

log = logging.getLogger("firebell.plugin_host")

ENTRY_POINT_GROUP = "firebell"
#: The distribution whose entry points are the built-in plugins.
BUILT_IN_DISTRIBUTION = "firebell"


def unknown_hooks(manager: pluggy.PluginManager, plugin: str) -> list[str]:
    """What is wrong with each ``@hookimpl`` function of ``plugin`` that is no Firebell hook (a
    misspelt name: pluggy registers it, and nothing ever calls it), naming the closest hook.

    ``optionalhook=True`` marks a hook of a newer Firebell on purpose; those are left out.
    """
    known = [name for name, caller in vars(manager.hook).items() if caller.spec is not None]
    problems = []
    for name, caller in sorted(vars(manager.hook).items()):
        if caller.spec is not None:
            continue
        if any(i.plugin_name == plugin and not i.optionalhook for i in caller.get_hookimpls()):
            closest = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {closest[0]}?" if closest else "docs/hooks.md lists the hooks."
            problems.append(
                f"{name} is not a Firebell hook (misspelt?), so it is never called; {hint}"
            )
    return problems


def hook_name_for(event_type: str) -> str:
    """The hook an event type is delivered to: ``incident.created`` -> ``firebell_incident_created``."""
    return "firebell_" + event_type.replace(".", "_").replace("-", "_")


@attrs.frozen
class InstalledPlugin:
    """A plugin the host knows of: where it came from and, when it failed to import, why.

    ``claimed_by`` lists the distributions (``name version``) declaring an entry point of this
    name when there are several: the plugin is then not loaded at all, and Firebell does not
    start until one of them is renamed (see :meth:`PluginHost.__init__`).
    """

    name: str
    source: str
    error: str | None = None
    claimed_by: tuple[str, ...] = ()


def entry_point_claims() -> dict[str, list[str]]:
    """Every plugin name of the ``firebell`` entry-point group, with the distributions
    (``name version``) that declare it: one, unless two packages claim the same name."""
    return _claims(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))


def _claims(entry_points: Iterable[importlib.metadata.EntryPoint]) -> dict[str, list[str]]:
    claims: dict[str, list[str]] = {}
    for entry_point in entry_points:
        claims.setdefault(entry_point.name, []).append(_distribution_of(entry_point))
    return claims


def create_plugin_manager(
    *,
    entry_points: bool = True,
    extra: Mapping[str, object] | None = None,
    load: Collection[str] | None = None,
) -> tuple[pluggy.PluginManager, dict[str, InstalledPlugin]]:
    """A plugin manager with the hook specs, the entry-point plugins and ``extra`` ones.

    Every installed plugin is listed; only those named in ``load`` (all when None) are imported,
    so a command pays for the plugins it uses, not for every vendor client installed. A plugin
    that fails to import, or whose hooks do not match the specs (a misspelt parameter), is
    remembered with its error (reported if it is enabled) instead of stopping every command.
    """
    manager = pluggy.PluginManager(ENTRY_POINT_GROUP)
    manager.add_hookspecs(hookspecs)
    installed: dict[str, InstalledPlugin] = {}
    if entry_points:
        found = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        claims = _claims(found)
        for entry_point in found:
            source = _source_of(entry_point)
            claimants = claims[entry_point.name]
            if len(claimants) > 1:
                # Which one pluggy got would depend on the order of sys.path; load neither.
                installed[entry_point.name] = InstalledPlugin(
                    entry_point.name,
                    " and ".join(claimants),
                    _clash(entry_point.name, claimants),
                    tuple(claimants),
                )
                continue
            if load is not None and entry_point.name not in load:
                installed.setdefault(entry_point.name, InstalledPlugin(entry_point.name, source))
                continue
            try:
                plugin = entry_point.load()
            except Exception as error:
                installed[entry_point.name] = InstalledPlugin(
                    entry_point.name, source, f"{type(error).__name__}: {error}"
                )
                continue
            error_text = None
            if manager.get_plugin(entry_point.name) is None:
                error_text = _register(manager, plugin, entry_point.name)
            installed[entry_point.name] = InstalledPlugin(entry_point.name, source, error_text)
    for name, plugin in (extra or {}).items():
        if manager.get_plugin(name) is not None:
            manager.unregister(name=name)
        manager.register(plugin, name=name)
        installed[name] = InstalledPlugin(name, "registered in code")
    return manager, installed


def _register(manager: pluggy.PluginManager, plugin: object, name: str) -> str | None:
    """Register ``plugin``; on a hook that does not match its spec, undo it and say why."""
    try:
        manager.register(plugin, name=name)
    except pluggy.PluginValidationError as error:
        if manager.get_plugin(name) is not None:
            manager.unregister(name=name)
        return f"{type(error).__name__}: {error}"
    return None


def _source_of(entry_point: importlib.metadata.EntryPoint) -> str:
    dist = entry_point.dist
    if dist is not None and dist.name == BUILT_IN_DISTRIBUTION:
        return "built-in"
    return _distribution_of(entry_point)


def _distribution_of(entry_point: importlib.metadata.EntryPoint) -> str:
    dist = entry_point.dist
    return "unknown distribution" if dist is None else f"{dist.name} {dist.version}"


def _clash(name: str, claimants: list[str]) -> str:
    built_in = [c for c in claimants if c.split(" ")[0] == BUILT_IN_DISTRIBUTION]
    others = sorted(c for c in claimants if c not in built_in)
    named = " and ".join([*(f"{c} (built-in)" for c in built_in), *others])
    packages = [c.split(" ")[0] for c in others]
    entry_point = "([project.entry-points.firebell] in its pyproject.toml)"
    if built_in:
        fix = (
            f"Rename the entry point in {' and '.join(packages)} {entry_point} and reinstall "
            f"it, or pip uninstall {' '.join(packages)}."
        )
    else:
        fix = f"Rename the entry point in all but one of them {entry_point} and reinstall those."
    return (
        f"Plugin name {name!r} is declared by several installed distributions, {named}, so "
        f"Firebell cannot tell which one [plugins.{name}] means. {fix}"
    )


@attrs.frozen
class EnabledPlugin:
    """A plugin switched on in ``plugins.toml``, with its validated config and ordering."""

    name: str
    source: str
    spec: PluginSpec
    config: Any
    after: tuple[str, ...]


class PluginHost:
    """The enabled plugins, ready to be called one at a time."""

    def __init__(
        self,
        settings: FirebellConfig,
        manager: pluggy.PluginManager,
        installed: Mapping[str, InstalledPlugin],
    ) -> None:
        self.settings = settings
        self.manager = manager
        self.installed = dict(installed)
        self.enabled: dict[str, EnabledPlugin] = {}
        #: For each enabled plugin, its ``@hookimpl`` functions that are no hook
        #: (:func:`unknown_hooks`); :meth:`from_config` logs them, ``firebell doctor`` shows them.
        self.unknown_hooks: dict[str, list[str]] = {}
        self._handles: dict[tuple[str, str], bool] = {}
        self._configure()

    @classmethod
    def from_config(
        cls,
        settings: FirebellConfig,
        *,
        entry_points: bool = True,
        extra: Mapping[str, object] | None = None,
    ) -> PluginHost:
        """Load the installed plugins and configure those ``settings`` switch on; log a warning
        for each of their functions marked ``@hookimpl`` that is no hook (never called)."""
        manager, installed = create_plugin_manager(
            entry_points=entry_points, extra=extra, load=settings.enabled_plugins()
        )
        host = cls(settings, manager, installed)
        for name, problems in host.unknown_hooks.items():
            for problem in problems:
                log.warning("plugin %s (%s): %s", name, host.enabled[name].source, problem)
        return host

    def _configure(self) -> None:
        source = self.settings.source
        names = self.settings.enabled_plugins()
        # Even when no table names it: the installation itself is ambiguous, and the one
        # a later [plugins.<name>] would get is not the one anybody meant.
        clashes = [found.error for found in self.installed.values() if found.claimed_by]
        if clashes:
            raise ConfigError(" ".join(error for error in clashes if error))
        for name in self.settings.plugins:
            if name not in self.installed:
                known = ", ".join(sorted(self.installed)) or "none"
                raise ConfigError(
                    f"{source}: [plugins.{name}]: no plugin named {name!r} is installed "
                    f"(installed: {known}). Check the spelling, or pip install the package "
                    "that provides it."
                )
            for waited in self.settings.plugins[name].after or ():
                # A disabled plugin may be named (waiting for it means not waiting), but a
                # name nothing answers to is a typo that would quietly drop the ordering.
                if waited not in self.installed:
                    known = ", ".join(sorted(self.installed)) or "none"
                    raise ConfigError(
                        f"{source}: [plugins.{name}] after: plugin {name!r} waits for "
                        f"{waited!r}, which is not a known plugin (installed: {known}). Check "
                        "the spelling."
                    )
        for name in names:
            found = self.installed[name]
            if found.error:
                raise ConfigError(
                    f"{source}: [plugins.{name}]: the plugin from {found.source} failed to "
                    f"import: {found.error}"
                )
            table = self.settings.plugins[name]
            spec = self._spec(name)
            config: Any = None
            if spec.config_class is None:
                if table.options:
                    raise ConfigError(
                        f"{source}: [plugins.{name}] has unknown key "
                        f"{sorted(table.options)[0]!r}; this plugin takes no settings."
                    )
            else:
                config = structure_plugin_config(
                    spec.config_class, table.options, source=source, plugin=name
                )
            self._check_settings(name, config)
            misspelt = unknown_hooks(self.manager, name)
            if misspelt:
                self.unknown_hooks[name] = misspelt
            after = table.after if table.after is not None else spec.after
            self.enabled[name] = EnabledPlugin(
                name, found.source, spec, config, tuple(a for a in after if a in names)
            )
        self._check_order()

    def _check_settings(self, name: str, config: Any) -> None:
        """Refuse what the plugin's ``firebell_check_settings`` finds wrong with its settings."""
        where = f"{self.settings.source}: [plugins.{name}]"
        values = {"config": config, "settings": self.settings}
        problems: list[str] = []
        for impl in self.manager.hook.firebell_check_settings.get_hookimpls():
            if impl.plugin_name != name:
                continue
            try:
                result = impl.function(**{arg: values[arg] for arg in impl.argnames})
            except Exception as error:
                raise ConfigError(
                    f"{where}: the plugin's firebell_check_settings raised "
                    f"{type(error).__name__}: {error}"
                ) from error
            if isinstance(result, str) or not isinstance(result, Sequence | None):
                raise ConfigError(
                    f"{where}: the plugin's firebell_check_settings returned {result!r}, not a "
                    "list of str"
                )
            problems.extend(str(line).rstrip(".") for line in result or ())
        if problems:
            raise ConfigError(f"{where} {'; '.join(problems)}.")

    def _spec(self, name: str) -> PluginSpec:
        for impl in self.manager.hook.firebell_plugin_spec.get_hookimpls():
            if impl.plugin_name == name:
                result = impl.function()
                if result is not None and not isinstance(result, PluginSpec):
                    raise ConfigError(
                        f"plugin {name!r}: firebell_plugin_spec returned {result!r}, "
                        "expected a firebell.core.PluginSpec"
                    )
                return result or PluginSpec()
        return PluginSpec()

    def _check_order(self) -> None:
        visiting: set[str] = set()
        done: set[str] = set()

        def visit(name: str, path: tuple[str, ...]) -> None:
            if name in done:
                return
            if name in visiting:
                members = path[path.index(name) :]
                cycle = " -> ".join((*members, name))
                tables = " or ".join(f"[plugins.{member}]" for member in members)
                raise ConfigError(
                    f"{self.settings.source}: [plugins.{path[-1]}] after: plugins wait for each "
                    f"other in a circle ({cycle}); change the `after` list in {tables} so that "
                    "one of them goes first."
                )
            visiting.add(name)
            for dependency in self.enabled[name].after:
                visit(dependency, (*path, name))
            visiting.discard(name)
            done.add(name)

        for name in self.enabled:
            visit(name, ())

    # -- calling ---------------------------------------------------------------------------

    @property
    def subscribers(self) -> list[str]:
        """The enabled plugins' names: each gets every event."""
        return list(self.enabled)

    @property
    def subscriptions(self) -> Subscribers:
        """The enabled plugins as the outbox takes them: a row for every event, written done
        for an event type the plugin has no hook for (:meth:`handles`)."""
        return Subscribers(tuple(self.enabled), self.handles)

    def handles(self, plugin: str, event_type: str) -> bool:
        """Whether a delivery of ``event_type`` calls anything of ``plugin``: the type's own
        hook or ``firebell_event`` (what :class:`~firebell.core.delivery.Deliverer` calls)."""
        key = (plugin, event_type)
        handled = self._handles.get(key)
        if handled is None:
            handled = self._handles[key] = self.implements(
                plugin, hook_name_for(event_type)
            ) or self.implements(plugin, "firebell_event")
        return handled

    def dependencies(self) -> dict[str, tuple[str, ...]]:
        """For each enabled plugin, the plugins whose delivery of an event it waits for."""
        return {name: plugin.after for name, plugin in self.enabled.items()}

    def implements(self, plugin: str, hook: str) -> bool:
        """Whether ``plugin`` implements ``hook``."""
        caller = getattr(self.manager.hook, hook, None)
        return caller is not None and any(i.plugin_name == plugin for i in caller.get_hookimpls())

    def call(
        self,
        plugin: str,
        hook: str,
        arguments: Mapping[str, Any],
        lazy: Mapping[str, Callable[[], Any]] | None = None,
    ) -> list[Link]:
        """Call ``plugin``'s implementation of ``hook`` with the arguments it asks for.

        ``lazy`` values are computed only when the implementation names them. Returns the links
        it created. Exceptions propagate to the caller (the delivery worker).
        """
        caller = getattr(self.manager.hook, hook, None)
        if caller is None:
            return []
        values = {"link_now": _linked_on_return, **arguments, "config": self.enabled[plugin].config}
        links: list[Link] = []
        for impl in caller.get_hookimpls():
            if impl.plugin_name != plugin:
                continue
            kwargs = {}
            for argname in impl.argnames:
                if argname in values:
                    kwargs[argname] = values[argname]
                elif lazy and argname in lazy:
                    values[argname] = kwargs[argname] = lazy[argname]()
            result = impl.function(**kwargs)
            links.extend(_links(plugin, hook, result))
        return links


def _linked_on_return(*_links: Link) -> None:
    """``link_now`` where nothing waits on the hook (a direct call, a test): the links are
    recorded from what the hook returns, as ever."""


def _links(plugin: str, hook: str, result: Any) -> list[Link]:
    if result is None:
        return []
    items = [result] if isinstance(result, Link) else list(result)
    for item in items:
        if not isinstance(item, Link):
            raise TypeError(
                f"plugin {plugin!r}: {hook} returned {item!r}; "
                "hooks return firebell.core.Link objects or None"
            )
    return items
