"""Configuring and calling plugins.

Built-in plugins and pip-installed ones are found the same way, through the ``firebell``
entry-point group (:mod:`firebell.core.plugin_discovery`); ``plugins.toml`` switches them on.
Each plugin is called on its own, so an exception in one never stops another (pluggy would stop
at the first raising implementation).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
import pluggy
from firebell.core.config import FirebellConfig
from firebell.core.errors import ConfigError
from firebell.core.hookspecs import Link, PluginSpec
from firebell.core.plugin_discovery import (
    BUILT_IN_DISTRIBUTION,
    ENTRY_POINT_GROUP,
    InstalledPlugin,
    create_plugin_manager,
    entry_point_claims,
    unknown_hooks,
)
from firebell.core.plugin_tables import structure_plugin_config
from firebell.core.subscribers import Subscribers

__all__ = [
    "BUILT_IN_DISTRIBUTION",
    "ENTRY_POINT_GROUP",
    "InstalledPlugin",
    "PluginHost",
    "create_plugin_manager",
    "entry_point_claims",
    "hook_name_for",
    "unknown_hooks",
]

log = logging.getLogger("firebell.plugin_host")


def hook_name_for(event_type: str) -> str:
    """The hook an event type is delivered to: ``incident.created`` -> ``firebell_incident_created``."""
    return "firebell_" + event_type.replace(".", "_").replace("-", "_")


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
