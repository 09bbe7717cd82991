"""The commands that read incidents and plugins without changing anything: ``list``, ``show``
and ``plugins``, each with ``--json`` for scripts."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
import click
from firebell.adapters.cli.cli_state import CliState, json_option, pass_state
from firebell.adapters.cli.delivery_notes import next_attempt_text
from firebell.adapters.cli.incident_names import find_incident
from firebell.adapters.cli.output import (
    echo_json,
    incident_json,
    print_incident,
    print_incident_table,
)
from firebell.core import ConfigError, Firebell, IncidentState
from firebell.core.config import FirebellConfig, load_config
from firebell.core.hung_calls import HUNG_AFTER
from firebell.core.outbox import Outbox, PluginBacklog
from firebell.core.plugin_host import InstalledPlugin, create_plugin_manager
from firebell.core.runtime import redact_secrets
from firebell.core.store import EventStore
from firebell.core.timeline import format_duration

__all__ = ["list_incidents", "plugins", "show"]


@click.command(name="list")
@click.option(
    "--state",
    "state_filter",
    type=click.Choice([s.value for s in IncidentState]),
    default=None,
    help="Only incidents in this state.",
)
@click.option("--severity", "severity_filter", default=None, help="Only this severity.")
@click.option("--search", default=None, help="Text in the name or title.")
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(min=1),
    help="How many (newest first).",
)
@click.option(
    "--offset", default=0, type=click.IntRange(min=0), help="Skip this many (for paging)."
)
@json_option
@pass_state
def list_incidents(
    state: CliState,
    state_filter: str | None,
    severity_filter: str | None,
    search: str | None,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """List incidents, newest first."""
    firebell = state.open_to_read()
    incidents = firebell.store.list_incidents(
        state=IncidentState(state_filter) if state_filter else None,
        severity=_configured_severity(firebell, severity_filter),
        search=search,
        limit=limit,
        offset=offset,
    )
    if as_json:
        echo_json([incident_json(i) for i in incidents])
    else:
        print_incident_table(incidents)


def _configured_severity(firebell: Firebell, name: str | None) -> str | None:
    """The configured severity ``name`` stands for (any case), as ``stats --severity`` reads it;
    a usage error listing the severities when there is none (a filter on it would match none)."""
    if name is None:
        return None
    found = firebell.settings.severity(name)
    if found is None:
        names = ", ".join(s.name for s in firebell.settings.severities)
        raise click.BadParameter(f"{name!r} is not one of {names}", param_hint="--severity")
    return found.name


@click.command()
@click.argument("name")
@json_option
@pass_state
def show(state: CliState, name: str, as_json: bool) -> None:
    """Show incident NAME: state, links and full timeline."""
    firebell = state.open_to_read()
    incident = find_incident(firebell.engine, name)
    events = firebell.store.select_events(incident.id)
    # What the plugins have not done of it: pending, parked, skipped (with why).
    undone = [
        attrs.evolve(b, last_error=firebell.redact(b.last_error) if b.last_error else None)
        for b in firebell.deliverer.outbox.backlog(incident_id=incident.id).values()
        if b.pending or b.failed or b.skipped
    ]
    if as_json:
        from firebell.adapters.cli.output import event_json

        echo_json(
            {
                "incident": incident_json(incident),
                "events": [event_json(e) for e in events],
                "deliveries": {
                    b.plugin: attrs.asdict(b, filter=lambda a, _: a.name != "plugin")
                    for b in undone
                },
            }
        )
    else:
        print_incident(incident, events, undone)


@click.command()
@json_option
@pass_state
def plugins(state: CliState, as_json: bool) -> None:
    """List plugins: enabled or not, where from, import error, backlog, last error and when
    the next attempt is.

    A plugin that cannot be imported or configured stops every other command; this one lists
    the plugins all the same (with the import errors), and says why Firebell cannot start.
    """
    try:
        listing = _Listing.of(state.open_to_read())
        problem = None
    except ConfigError as error:
        # plugins.toml itself reads (a problem there is raised again here); what stops Firebell
        # is one of the plugins it switches on, which is what this command is for.
        listing = _Listing.without_host(load_config(state.config, require_secrets=False))
        problem = error
    rows = listing.rows()
    if as_json:
        echo_json(rows)
    else:
        for row in rows:
            _print_row(row, listing.backlog.get(str(row["name"])))
    if problem is not None:
        click.secho(
            f"note: Firebell cannot start with this configuration: {problem}",
            fg="yellow",
            err=True,
        )


@attrs.frozen
class _Listing:
    """What ``firebell plugins`` lists: every installed plugin (each imported, to report its
    import error), which are on and whom they wait for, and the outbox's figures."""

    installed: Mapping[str, InstalledPlugin]
    enabled: Mapping[str, tuple[str, ...]]
    backlog: Mapping[str, PluginBacklog]
    redact: Callable[[str], str]
    #: The environment variables of each table's secrets that are not set.
    unset: Mapping[str, list[str]]

    @classmethod
    def of(cls, firebell: Firebell) -> _Listing:
        """The listing of an opened Firebell: its plugin host says what is on."""
        # The host imported only the enabled plugins; import the others too, for their errors.
        _, everything = create_plugin_manager()
        installed = {**everything, **firebell.host.installed}
        installed.update({n: p for n, p in everything.items() if n not in firebell.host.enabled})
        return cls(
            installed,
            {name: plugin.after for name, plugin in firebell.host.enabled.items()},
            firebell.deliverer.outbox.backlog(),
            firebell.redact,
            _unset_secrets(firebell.settings),
        )

    @classmethod
    def without_host(cls, settings: FirebellConfig) -> _Listing:
        """The listing when the plugin host cannot start (an enabled plugin that fails to
        import): the plugins ``settings`` switch on, and the log's figures read directly."""
        _, everything = create_plugin_manager()
        store = EventStore(settings.database_url)
        try:
            store.create_tables()
            backlog = Outbox(store, ()).backlog()
        finally:
            store.dispose()
        return cls(
            everything,
            {name: settings.plugins[name].after or () for name in settings.enabled_plugins()},
            backlog,
            lambda text: redact_secrets(text, settings),
            _unset_secrets(settings),
        )

    def rows(self) -> list[dict[str, Any]]:
        """One JSON-ready row per installed plugin, by name."""
        return [self._row(name, found) for name, found in sorted(self.installed.items())]

    def _row(self, name: str, installed: InstalledPlugin) -> dict[str, Any]:
        figures = self.backlog.get(name)
        return {
            "name": name,
            "enabled": name in self.enabled,
            "source": installed.source,
            "import_error": installed.error,
            "pending": figures.pending if figures else 0,
            "failed": figures.failed if figures else 0,
            "delivered": figures.done if figures else 0,
            "skipped": figures.skipped if figures else 0,
            "last_error": self.redact(figures.last_error)
            if figures and figures.last_error
            else None,
            "skip_reason": figures.skip_reason if figures else None,
            "under_way": figures.under_way if figures else 0,
            "under_way_since": figures.under_way_since.isoformat()
            if figures and figures.under_way_since
            else None,
            "next_attempt_at": figures.next_attempt_at.isoformat()
            if figures and figures.next_attempt_at
            else None,
            "after": list(self.enabled.get(name, ())),
            "secrets_not_set": self.unset.get(name, []),
        }


def _unset_secrets(settings: FirebellConfig) -> dict[str, list[str]]:
    """For each table, the variables of its secrets that are not set (this command needs none)."""
    unset = {name: table.unset_secrets() for name, table in settings.plugins.items()}
    return {name: [secret.env for secret in secrets] for name, secrets in unset.items() if secrets}


def _print_row(row: Mapping[str, Any], figures: PluginBacklog | None) -> None:
    """A plugin's line (with its import error), then its notes, each starting with its name
    (``grep NAME`` shows them all)."""
    status = "enabled " if row["enabled"] else "disabled"
    skipped = f" skipped={row['skipped']}" if row["skipped"] else ""
    line = (
        f"{row['name']:<12} {status} {row['source']:<24} "
        f"pending={row['pending']} failed={row['failed']} delivered={row['delivered']}"
        f"{skipped}"
    )
    if row["import_error"]:
        line += click.style(f" import error: {row['import_error']}", fg="red")
    click.echo(line)
    # Each note under the plugin's line starts with its name too: ``grep NAME`` keeps them.
    note = f"{row['name']:<12}   "
    if row["secrets_not_set"]:
        click.secho(
            f"{note}not set: {', '.join(row['secrets_not_set'])}; export "
            f"{'it' if len(row['secrets_not_set']) == 1 else 'them'} before `firebell run` or a "
            "command that delivers",
            fg="red",
        )
    if row["last_error"]:
        click.secho(f"{note}last error: {row['last_error']}", fg="yellow")
    if figures and figures.next_attempt_at:
        click.secho(f"{note}{next_attempt_text(figures.next_attempt_at)}", fg="yellow")
    if row["skip_reason"]:
        click.secho(f"{note}last {row['skip_reason']}", fg="yellow")
    if figures and figures.under_way_since:
        click.echo(f"{note}{_under_way(figures.under_way, figures.under_way_since)}")


def _under_way(calls: int, since: datetime) -> str:
    """``under way: 2 calls, the oldest started 4m ago (…)``: claimed, their lease held."""
    running = datetime.now(UTC) - since
    text = (
        f"under way: {calls} call{'s' if calls != 1 else ''}, the oldest started "
        f"{format_duration(running)} ago"
    )
    if running >= HUNG_AFTER:
        text += (
            f" (no answer for over {format_duration(HUNG_AFTER)}: the service may be hanging; "
            "see `firebell run`'s log)"
        )
    return text
