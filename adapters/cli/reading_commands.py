"""The commands that read incidents and plugins without changing anything: ``list``, ``show``
and ``plugins``, each with ``--json`` for scripts."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import click
from firebell.adapters.cli.cli_state import CliState, json_option, pass_state
from firebell.adapters.cli.incident_names import find_incident
from firebell.adapters.cli.output import (
    echo_json,
    incident_json,
    print_incident,
    print_incident_table,
)
from firebell.core import Firebell, IncidentState
from firebell.core.hung_calls import HUNG_AFTER
from firebell.core.plugin_host import create_plugin_manager
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
    firebell = state.open()
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
    firebell = state.open()
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
    """List plugins: enabled or not, where from, backlog and last error."""
    firebell = state.open()
    backlog = firebell.deliverer.outbox.backlog()
    # The host imported only the enabled plugins; import the others too, to report their errors.
    _, everything = create_plugin_manager()
    rows = []
    for name, installed in sorted({**everything, **firebell.host.installed}.items()):
        if name not in firebell.host.enabled and name in everything:
            installed = everything[name]
        figures = backlog.get(name)
        rows.append(
            {
                "name": name,
                "enabled": name in firebell.host.enabled,
                "source": installed.source,
                "import_error": installed.error,
                "pending": figures.pending if figures else 0,
                "failed": figures.failed if figures else 0,
                "delivered": figures.done if figures else 0,
                "skipped": figures.skipped if figures else 0,
                "last_error": firebell.redact(figures.last_error)
                if figures and figures.last_error
                else None,
                "skip_reason": figures.skip_reason if figures else None,
                "under_way": figures.under_way if figures else 0,
                "under_way_since": figures.under_way_since.isoformat()
                if figures and figures.under_way_since
                else None,
                "after": list(firebell.host.enabled[name].after)
                if name in firebell.host.enabled
                else [],
            }
        )
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        status = "enabled " if row["enabled"] else "disabled"
        skipped = f" skipped={row['skipped']}" if row["skipped"] else ""
        click.echo(
            f"{row['name']:<12} {status} {row['source']:<24} "
            f"pending={row['pending']} failed={row['failed']} delivered={row['delivered']}"
            f"{skipped}"
        )
        if row["import_error"]:
            click.secho(f"{'':<12} import error: {row['import_error']}", fg="red")
        if row["last_error"]:
            click.secho(f"{'':<12} last error: {row['last_error']}", fg="yellow")
        if row["skip_reason"]:
            click.secho(f"{'':<12} last {row['skip_reason']}", fg="yellow")
        figures = backlog.get(str(row["name"]))
        if figures and figures.under_way_since:
            click.secho(f"{'':<12} {_under_way(figures.under_way, figures.under_way_since)}")


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
