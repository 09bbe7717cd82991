"""The incident's record at the command line: its timeline, notes and follow-ups.

``firebell timeline NAME [--format text|markdown|json]``, ``firebell note NAME TEXT``,
``firebell followup NAME TEXT [--owner WHO]``, ``firebell followup-done NAME NUMBER`` and
``firebell followups`` (the open ones of every incident). ``firebell close`` asks before closing
an incident without follow-ups (:func:`confirm_close`). See docs/timeline.md.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click
from firebell.adapters.cli.cli_state import actor_id
from firebell.adapters.cli.incident_names import find_incident
from firebell.adapters.cli.people import follow_up_json, person_id, person_text
from firebell.core import timeline_commands
from firebell.core.incident import FollowUp, Incident, IncidentState
from firebell.core.runtime import Firebell
from firebell.core.store import AppendResult
from firebell.core.timeline import TimelineEntry, follow_up_line, incident_timeline
from firebell.core.timeline_events import FollowUpAdded

__all__ = [
    "confirm_close",
    "follow_up_text",
    "followup",
    "followup_done",
    "followups",
    "note",
    "print_follow_ups",
    "print_timeline",
    "timeline",
    "timeline_json",
]

F = TypeVar("F", bound=Callable[..., Any])

FORMATS = ("text", "markdown", "json")


def _firebell(ctx: click.Context) -> Firebell:
    firebell: Firebell = ctx.obj.open()
    return firebell


def _options(function: F) -> F:
    """``--as``, ``--key`` and ``--json``, as the lifecycle commands have them."""
    function = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")(
        function
    )
    function = click.option(
        "--key", "idempotency_key", default=None, help="Idempotency key: repeat safely."
    )(function)
    return click.option(
        "--as", "actor", default=None, help="Who is acting (default cli:<your login>)."
    )(function)


def _named(ctx: click.Context, name: str) -> str:
    """The name of the incident ``name`` stands for (its channel's name copied from Slack too)."""
    return find_incident(_firebell(ctx).engine, name).id


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, sort_keys=True, default=str))


def _delivered(ctx: click.Context, result: AppendResult) -> Incident:
    """Deliver what the command appended (as the lifecycle commands do); the incident now."""
    if not result.duplicate:
        ctx.obj.deliver(result)
    return _firebell(ctx).store.get_incident(result.incident.id) or result.incident


# -- showing -------------------------------------------------------------------------------------


def timeline_json(entry: TimelineEntry) -> dict[str, Any]:
    """A timeline line as JSON: ``at`` (ISO 8601 UTC), ``actor`` (a name when the log holds
    one), ``actor_id`` (as recorded: a Slack user id, ``cli:…``), ``text``, ``type``, ``link``."""
    return {
        "at": entry.moment.isoformat() if entry.moment else entry.at,
        "actor": entry.actor,
        "actor_id": entry.actor_id if entry.actor_id is not None else entry.actor,
        "text": entry.text,
        "type": entry.type,
        "link": entry.link,
    }


def follow_up_text(task: FollowUp, names: Mapping[str, str] | None = None) -> str:
    """``#2 [ ] Alert on card timeouts — Ana Lima (U0ANA)``: the owner by ``names`` where known."""
    owner = person_text(task.owner, names or {}) if task.owner else None
    return f"#{task.id} [{'x' if task.done else ' '}] {follow_up_line(task.text, owner)}"


def print_timeline(entries: list[TimelineEntry]) -> None:
    """The merged timeline, one line each: time, what, who."""
    if not entries:
        click.echo("  (nothing yet)")
    for entry in entries:
        link = f"  <{entry.link}>" if entry.link else ""
        click.echo(f"  {entry.at}  {entry.text}  — {entry.actor}{link}")


def print_follow_ups(incident: Incident) -> None:
    """The incident's follow-ups, numbered, done ones ticked."""
    if not incident.follow_ups:
        click.echo(f"  (none yet: firebell followup {incident.id} TEXT --owner WHO)")
    for task in incident.follow_ups:
        click.echo(f"  {follow_up_text(task, incident.names)}")


@click.command(name="timeline")
@click.argument("name")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text for people, markdown as the post-mortem has it, json for scripts.",
)
@click.pass_context
def timeline(ctx: click.Context, name: str, output_format: str) -> None:
    """Print the timeline of incident NAME: events and marked messages, by time (UTC)."""
    firebell: Firebell = ctx.obj.open_to_read()
    incident = find_incident(firebell.engine, name)
    entries = incident_timeline(firebell.store.select_events(incident.id))
    if output_format == "json":
        _echo_json({"incident": incident.id, "timeline": [timeline_json(e) for e in entries]})
    elif output_format == "markdown":
        click.echo("\n".join(entry.as_markdown() for entry in entries))
    else:
        click.secho(f"{incident.id}  {incident.title}  (times in UTC)", bold=True)
        print_timeline(entries)


# -- writing ---------------------------------------------------------------------------------------


@click.command()
@click.argument("name")
@click.argument("text")
@_options
@click.pass_context
def note(
    ctx: click.Context,
    name: str,
    text: str,
    actor: str | None,
    idempotency_key: str | None,
    as_json: bool,
) -> None:
    """Write TEXT on the timeline of incident NAME, now."""
    result = timeline_commands.add_note(
        _firebell(ctx).engine,
        _named(ctx, name),
        text,
        actor=actor_id(actor),
        idempotency_key=idempotency_key,
    )
    incident = _delivered(ctx, result)
    if as_json:
        _echo_json({"incident": incident.id, "duplicate": result.duplicate})
    else:
        click.echo(f"{incident.id}: note added to the timeline.")


@click.command()
@click.argument("name")
@click.argument("text")
@click.option(
    "--owner",
    default=None,
    help="Who will do it: a Slack user id (or a mention pasted from Slack), `me` (whoever "
    "acts) or a name.",
)
@_options
@click.pass_context
def followup(
    ctx: click.Context,
    name: str,
    text: str,
    owner: str | None,
    actor: str | None,
    idempotency_key: str | None,
    as_json: bool,
) -> None:
    """Record TEXT as a follow-up (mitigation task) of incident NAME."""
    result = timeline_commands.add_follow_up(
        _firebell(ctx).engine,
        _named(ctx, name),
        text,
        owner=person_id(owner, me=actor_id(actor)) if owner is not None else None,
        actor=actor_id(actor),
        idempotency_key=idempotency_key,
    )
    incident = _delivered(ctx, result)
    added = next((e.data for e in result.events if isinstance(e.data, FollowUpAdded)), None)
    number = added.follow_up_id if added is not None else None
    if as_json:
        task = incident.follow_up(number) if number is not None else None
        _echo_json(
            {
                "incident": incident.id,
                "follow_up": follow_up_json(task, incident.names) if task else None,
                "duplicate": result.duplicate,
            }
        )
    else:
        click.echo(
            f"{incident.id}: follow-up #{number} recorded. "
            f"`firebell followup-done {incident.id} {number}` when it is done."
        )


@click.command(name="followup-done")
@click.argument("name")
@click.argument("number")
@_options
@click.pass_context
def followup_done(
    ctx: click.Context,
    name: str,
    number: str,
    actor: str | None,
    idempotency_key: str | None,
    as_json: bool,
) -> None:
    """Mark follow-up NUMBER of incident NAME done."""
    result = timeline_commands.complete_follow_up(
        _firebell(ctx).engine,
        _named(ctx, name),
        number,
        actor=actor_id(actor),
        idempotency_key=idempotency_key,
    )
    incident = _delivered(ctx, result)
    left = sum(1 for task in incident.follow_ups if not task.done)
    if as_json:
        _echo_json({"incident": incident.id, "open": left, "duplicate": result.duplicate})
    else:
        click.echo(f"{incident.id}: follow-up #{number.lstrip('#')} done; {left} still open.")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def followups(ctx: click.Context, as_json: bool) -> None:
    """List the follow-ups not done yet, of every incident (newest incident first)."""
    found = timeline_commands.open_follow_ups(ctx.obj.open_to_read().store)
    if as_json:
        _echo_json(
            [
                {
                    "incident": incident.id,
                    "title": incident.title,
                    "state": incident.state.value,
                    **follow_up_json(task, incident.names),
                }
                for incident, task in found
            ]
        )
        return
    if not found:
        click.echo("No open follow-ups.")
        return
    current = None
    for incident, task in found:
        if incident.id != current:
            current = incident.id
            click.secho(f"{incident.id}  {incident.title}  ({incident.state.value})", bold=True)
        click.echo(f"  {follow_up_text(task, incident.names)}")


# -- closing -------------------------------------------------------------------------------------


def confirm_close(firebell: Firebell, name: str, *, yes: bool) -> None:
    """Ask before closing incident ``name`` without follow-ups (``close_requires_followups``).

    Asks nothing with ``yes``, when the setting is ``off``, when the incident has follow-ups or
    cannot be closed anyway (the close then says why). A "no" aborts the command. Without a
    terminal to ask on (a script, a cron job) it warns on stderr and lets the close go on:
    the question is for people, and ``--yes`` silences the warning.
    """
    if yes or firebell.settings.close_requires_followups == "off":
        return
    incident = firebell.engine.get(name)
    if incident.follow_ups or incident.state is not IncidentState.RESOLVED:
        return
    advice = f"`firebell followup {incident.id} TEXT --owner WHO` records them"
    if not sys.stdin.isatty():
        click.secho(
            f"warning: closing {incident.id} without follow-ups ({advice}; --yes silences this).",
            fg="yellow",
            err=True,
        )
        return
    click.echo(
        f"{incident.id} has no follow-ups. A post-mortem usually ends with mitigation tasks: "
        f"{advice}.",
        err=True,
    )
    click.confirm("Close it without follow-ups?", abort=True, err=True)
