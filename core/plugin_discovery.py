"""Finding the installed plugins: the ``firebell`` entry points, their distributions, two
packages claiming one name, and registering each with the hook specs.

Built-in plugins and pip-installed ones are found the same way; a plugin that fails to import
or whose hooks do not match the specs is remembered with its error instead of stopping Firebell.
"""

from __future__ import annotations

import difflib
import importlib.metadata
from collections.abc import Collection, Iterable, Mapping

import attrs
import pluggy
from firebell.core import hookspecs

__all__ = [
    "BUILT_IN_DISTRIBUTION",
    "ENTRY_POINT_GROUP",
    "InstalledPlugin",
    "create_plugin_manager",
    "entry_point_claims",
    "unknown_hooks",
]

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
