"""The commands that change an incident: ``declare``, ``resolve``, ``reopen``, ``close``,
``severity``, ``update`` and ``commander``.

Each appends its events, says what it recorded, then gives the events to the plugins (for at
most ``--deliver-timeout`` seconds); with ``--json`` it prints the incident afterwards, with what
the plugins linked. Ctrl-C during that wait ends it at once: the events are in the log.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import click
from firebell.adapters.cli.cli_state import (
    CliState,
    Interrupted,
    actor_id,
    actor_option,
    json_option,
    pass_state,
)
from firebell.adapters.cli.incident_names import find_incident
from firebell.adapters.cli.output import echo_json, incident_json
from firebell.adapters.cli.people import commander_id, person_text
from firebell.adapters.cli.public_updates import internal_only_note
from firebell.core import AppendResult, CommandRefused
from firebell.core.events import IncidentCreated
from firebell.core.text import clean_text

__all__ = ["close", "commander", "declare", "reopen", "resolve", "severity", "update"]


def _report(
    state: CliState,
    result: AppendResult,
    as_json: bool,
    verb: str,
    recorded: str | None = None,
) -> None:
    """Say what the command recorded, then give it to the plugins.

    The text is printed before the plugins' turn, so that the incident's name is known however
    long they take. The JSON comes after it, with what they linked (``resources``), unless
    Ctrl-C cuts the wait short: then it is printed at once, and the note on standard error says
    that the incident ``recorded`` (``was <verb>`` by default) and the plugins finish later.
    """
    incident = result.incident
    if not as_json:
        note = " (already done earlier with the same idempotency key)" if result.duplicate else ""
        click.echo(
            f"{incident.id}: {verb}{note}. State: {incident.state.value}, {incident.severity}."
        )
    if not result.duplicate:
        try:
            state.deliver(result)
        except Interrupted:
            if as_json:
                echo_json({"incident": incident_json(incident), "duplicate": False})
            raise Interrupted(
                f"Incident {incident.id} {recorded or f'was {verb}'}; its integrations will "
                "finish with `firebell run` (or `firebell deliver`)."
            ) from None
    if as_json:
        incident = state.open().store.get_incident(incident.id) or incident
        echo_json({"incident": incident_json(incident), "duplicate": result.duplicate})


def _named(state: CliState, name: str) -> str:
    """The name of the incident ``name`` stands for (its channel's name copied from Slack too)."""
    return find_incident(state.open().engine, name).id


@click.command()
@click.argument("title")
@click.option("-d", "--description", default="", help="What is happening.")
@click.option("-s", "--severity", default=None, help="Severity name (default from plugins.toml).")
@click.option(
    "--customer-facing", is_flag=True, help="Customers see it (opens a status page incident)."
)
@click.option("--key", "idempotency_key", default=None, help="Idempotency key: repeat safely.")
@actor_option
@json_option
@pass_state
def declare(
    state: CliState,
    title: str,
    description: str,
    severity: str | None,
    customer_facing: bool,
    idempotency_key: str | None,
    actor: str | None,
    as_json: bool,
) -> None:
    """Declare an incident called TITLE."""
    firebell = state.open()
    result = firebell.engine.declare(
        title=title,
        description=description,
        severity=severity,
        customer_facing=customer_facing,
        reporter=actor_id(actor),
        source="cli",
        idempotency_key=idempotency_key,
    )
    if result.duplicate and idempotency_key is not None:
        level = firebell.settings.severity(severity or firebell.settings.default_severity)
        asked = {
            "title": clean_text(title),
            "severity": level.name if level is not None else severity,
            "description": clean_text(description),
            "customer_facing": customer_facing,
        }
        _check_same_declaration(idempotency_key, result, asked)
    _report(state, result, as_json, "declared")


def _check_same_declaration(key: str, earlier: AppendResult, asked: Mapping[str, object]) -> None:
    """Refuse (:class:`CommandRefused`) a declaration whose ``--key`` was used before for
    another one (``asked``: its title, severity, description and customer facing), saying what
    differs: it is a new incident, which the key would silently turn into the earlier one. The
    same request again passes: that is what the key is for."""
    name = earlier.incident.id
    first = earlier.events[0].data if earlier.events else None
    if not isinstance(first, IncidentCreated):
        what = earlier.events[0].type if earlier.events else "another command"
        raise CommandRefused(
            f"The idempotency key {key!r} was used for {what} on {name}, not to declare an "
            "incident. Use another --key."
        )
    shown: dict[str, Callable[[Any], str]] = {
        "title": repr,
        "description": lambda text: repr(text) if text else "none",
        "severity": str,
        "customer_facing": lambda flag: "yes" if flag else "no",
    }
    differences = [
        f"{field.replace('_', ' ')} ({show(getattr(first, field))}, not {show(asked[field])})"
        for field, show in shown.items()
        if getattr(first, field) != asked[field]
    ]
    if differences:
        listed = ", ".join(differences[:-1]) + (" and " if len(differences) > 1 else "")
        raise CommandRefused(
            f"The idempotency key {key!r} belongs to {name}, which was declared with another "
            f"{listed}{differences[-1]}. Use another --key to declare a new incident; the "
            f"same request with this key gives {name} again."
        )


@click.command()
@click.argument("name")
@click.option("--summary", default="", help="What fixed it.")
@actor_option
@json_option
@pass_state
def resolve(state: CliState, name: str, summary: str, actor: str | None, as_json: bool) -> None:
    """Mark incident NAME resolved."""
    result = state.open().engine.resolve(
        _named(state, name), actor=actor_id(actor), summary=summary
    )
    _report(state, result, as_json, "resolved")


@click.command()
@click.argument("name")
@click.option("--reason", default="", help="Why it is not over.")
@actor_option
@json_option
@pass_state
def reopen(state: CliState, name: str, reason: str, actor: str | None, as_json: bool) -> None:
    """Reopen resolved incident NAME."""
    result = state.open().engine.reopen(_named(state, name), actor=actor_id(actor), reason=reason)
    _report(state, result, as_json, "reopened")


@click.command()
@click.argument("name")
@click.option("--summary", default="", help="Outcome of the post-mortem.")
@click.option("--yes", "-y", is_flag=True, help="Close without asking, even with no follow-ups.")
@actor_option
@json_option
@pass_state
def close(
    state: CliState, name: str, summary: str, yes: bool, actor: str | None, as_json: bool
) -> None:
    """Close resolved incident NAME after its post-mortem."""
    from firebell.adapters.cli.timeline_command import confirm_close

    name = _named(state, name)
    confirm_close(state.open(), name, yes=yes)
    result = state.open().engine.close(name, actor=actor_id(actor), summary=summary)
    _report(state, result, as_json, "closed")


@click.command()
@click.argument("name")
@click.argument("level")
@actor_option
@json_option
@pass_state
def severity(state: CliState, name: str, level: str, actor: str | None, as_json: bool) -> None:
    """Change the severity of incident NAME to LEVEL."""
    result = state.open().engine.change_severity(_named(state, name), level, actor=actor_id(actor))
    now = result.incident.severity
    _report(state, result, as_json, f"severity is now {now}", f"is now {now}")


@click.command()
@click.argument("name")
@click.argument("text")
@click.option(
    "--public",
    is_flag=True,
    help="Also publish it on the incident's status page incident (Statuspage; a note says "
    "when the incident has none).",
)
@actor_option
@json_option
@pass_state
def update(
    state: CliState, name: str, text: str, public: bool, actor: str | None, as_json: bool
) -> None:
    """Post a status update TEXT on incident NAME."""
    result = state.open().engine.post_update(
        _named(state, name), text, actor=actor_id(actor), public=public
    )
    _report(state, result, as_json, "update posted", "has the update")
    note = internal_only_note(state.open(), result.incident.id) if public else None
    if note is not None:
        click.secho(note, fg="yellow", err=True)


@click.command()
@click.argument("name")
@click.argument("person")
@actor_option
@json_option
@pass_state
def commander(state: CliState, name: str, person: str, actor: str | None, as_json: bool) -> None:
    """Make PERSON the commander of NAME: a Slack user id, a mention pasted from Slack, `me`
    (whoever --as names) or cli:<login>."""
    person = commander_id(person, me=actor_id(actor))
    result = state.open().engine.assign_commander(
        _named(state, name), person, actor=actor_id(actor)
    )
    shown = person_text(person, result.incident.names)
    _report(state, result, as_json, f"{shown} is commander", f"has {shown} as commander")
