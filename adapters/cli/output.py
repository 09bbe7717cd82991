"""How the CLI prints incidents: text for people, JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click
from firebell.adapters.cli.delivery_notes import next_attempt_text
from firebell.adapters.cli.people import follow_up_json, person_text
from firebell.adapters.cli.timeline_command import print_follow_ups, print_timeline
from firebell.core import Incident, RecordedEvent
from firebell.core.outbox import PluginBacklog
from firebell.core.serialization import converter
from firebell.core.timeline import incident_timeline

__all__ = ["echo_json", "incident_json", "print_incident", "print_incident_table"]

#: The incident's fields that hold a person's id; :func:`incident_json` adds ``<field>_name``.
PERSON_FIELDS = ("reporter", "commander", "resolved_by", "closed_by")


def incident_json(incident: Incident) -> dict[str, Any]:
    """An incident as a JSON-ready dict (the read model's stable shape), plus the recorded name
    of each person in it (``reporter_name``, ``commander_name``, ``resolved_by_name``,
    ``closed_by_name``, and each follow-up's ``owner_name``, ``added_by_name`` and
    ``done_by_name``; null when none was recorded) beside the ids, which stay as they were."""
    data: dict[str, Any] = converter.unstructure(incident)
    names = incident.names
    for field in PERSON_FIELDS:
        who = getattr(incident, field)
        data[f"{field}_name"] = names.get(who) if who else None
    data["follow_ups"] = [follow_up_json(task, names) for task in incident.follow_ups]
    return data


def event_json(event: RecordedEvent) -> dict[str, Any]:
    """An event as a JSON-ready dict: its place in the log, who, when, and its payload."""
    return {
        "position": event.position,
        "incident_id": event.incident_id,
        "version": event.version,
        "type": event.type,
        "schema_version": event.data.schema_version,
        "occurred_at": event.occurred_at.isoformat(),
        "actor": event.actor,
        "causation_id": event.causation_id,
        "data": converter.unstructure(event.data),
    }


def echo_json(value: Any) -> None:
    """Print ``value`` as indented JSON."""
    click.echo(json.dumps(value, indent=2, sort_keys=True, default=str))


def print_incident(
    incident: Incident,
    events: Sequence[RecordedEvent],
    undone: Sequence[PluginBacklog] = (),
) -> None:
    """State, people, links, the plugins' deliveries not done (``undone``: pending, parked or
    skipped, with the last error and the next attempt) and the full timeline of one incident."""
    names = incident.names
    commander = person_text(incident.commander, names) if incident.commander else "(none yet)"
    click.secho(f"{incident.id}  {incident.title}", bold=True)
    click.echo(f"  state:     {incident.state.value}")
    click.echo(f"  severity:  {incident.severity}")
    click.echo(f"  reporter:  {person_text(incident.reporter, names)}")
    click.echo(f"  commander: {commander}")
    click.echo(f"  declared:  {incident.declared_at:%Y-%m-%d %H:%M:%S UTC}")
    if incident.resolved_at:
        by = f" by {person_text(incident.resolved_by, names)}" if incident.resolved_by else ""
        click.echo(f"  resolved:  {incident.resolved_at:%Y-%m-%d %H:%M:%S UTC}{by}")
    if incident.closed_at:
        by = f" by {person_text(incident.closed_by, names)}" if incident.closed_by else ""
        click.echo(f"  closed:    {incident.closed_at:%Y-%m-%d %H:%M:%S UTC}{by}")
    if incident.description:
        click.echo(f"  description: {incident.description}")
    for resource in incident.resources:
        click.echo(
            f"  {resource.kind:<10} {resource.url or resource.external_id}  ({resource.plugin})"
        )
    if incident.failing_plugins:
        click.secho(f"  failing:   {', '.join(incident.failing_plugins)}", fg="yellow")
    for backlog in undone:
        counts = ", ".join(
            f"{count} {what}"
            for count, what in (
                (backlog.pending, "pending"),
                (backlog.failed, "failed"),
                (backlog.skipped, "skipped"),
            )
            if count
        )
        click.secho(f"  undone:    {backlog.plugin}: {counts}", fg="yellow")
        for note in (
            backlog.last_error and f"last error: {backlog.last_error}",
            backlog.next_attempt_at and next_attempt_text(backlog.next_attempt_at),
            backlog.skip_reason,
        ):
            if note:
                click.secho(f"             {note}", fg="yellow")
    # The same timeline and follow-ups as the post-mortem (docs/timeline.md).
    click.echo("")
    click.secho("Timeline (UTC)", bold=True)
    print_timeline(incident_timeline(events))
    click.echo("")
    click.secho("Follow-ups", bold=True)
    print_follow_ups(incident)


def print_incident_table(incidents: Sequence[Incident]) -> None:
    """One line per incident."""
    if not incidents:
        click.echo("No incidents.")
        return
    for incident in incidents:
        click.echo(
            f"{incident.id:<40} {incident.state.value:<9} {incident.severity:<6} "
            f"{incident.declared_at:%Y-%m-%d %H:%M}  {incident.title}"
        )
