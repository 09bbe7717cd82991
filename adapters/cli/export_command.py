"""``firebell export``: the event log as JSON Lines, for audits and analytics.

One event a line, in log order, each a JSON object with these keys (the schema is stable: keys
are only ever added)::

    position        int     place in the whole log (increasing, never reused)
    incident_id     str     the incident's name, e.g. "20260601-honest-rhino"
    version         int     place in the incident's own stream (1 = incident.created)
    type            str     the event's stable name, e.g. "incident.resolved"
    schema_version  int     version of the payload's shape for that type
    occurred_at     str     ISO 8601 time in UTC
    actor           str     who did it: a Slack user id, "cli:<login>" or "plugin:<name>"
    causation_id    str|null  the idempotency key of the command that appended it
    data            object  the event's payload (fields of the event class)

``--since N`` keeps events after log position N (so an export can continue where the last one
stopped: pass the last line's ``position``); ``--since 2026-06-01`` (or a full ISO time) keeps
events that occurred at or after that time (UTC unless the time says otherwise).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import attrs
import click
from firebell.adapters.cli.incident_names import find_incident
from firebell.adapters.cli.output import event_json
from firebell.adapters.cli.problems import writing
from firebell.core.config import load_config
from firebell.core.engine import Engine
from firebell.core.events import RecordedEvent
from firebell.core.files import replacing
from firebell.core.store import EventStore

__all__ = ["Since", "export", "iter_export", "parse_since"]

_BATCH = 1000


@attrs.frozen
class Since:
    """Where an export starts: after a log position, or at a time."""

    position: int = 0
    time: datetime | None = None

    def keeps(self, event: RecordedEvent) -> bool:
        """Whether ``event`` is in the export."""
        return event.position > self.position and (
            self.time is None or event.occurred_at >= self.time
        )


def parse_since(text: str | None) -> Since:
    """``--since``: a log position (``1200``) or an ISO date or time (``2026-06-01T14:00Z``)."""
    if text is None or not text.strip():
        return Since()
    text = text.strip()
    if text.isdigit():
        return Since(position=int(text))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"{text!r} is neither a log position (a whole number such as 1200) nor an ISO date "
            "or time (such as 2026-06-01 or 2026-06-01T14:00:00Z).",
            param_hint="--since",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return Since(time=moment)


def iter_export(
    store: EventStore, *, since: Since = Since(), incidents: Sequence[str] = ()
) -> Iterator[RecordedEvent]:
    """The events an export holds, in log order, read in batches.

    ``incidents`` are incident ids; one given twice is read once (each event is one line).
    """
    if incidents:
        chosen = sorted(
            (
                e
                for name in dict.fromkeys(incidents)
                for e in store.select_events(name, after=since.position)
            ),
            key=lambda e: e.position,
        )
        yield from (e for e in chosen if since.keeps(e))
        return
    after = since.position
    while True:
        batch = store.select_events(after=after, limit=_BATCH)
        if not batch:
            return
        yield from (e for e in batch if since.keeps(e))
        after = batch[-1].position


def _line(event: RecordedEvent) -> str:
    return json.dumps(event_json(event), sort_keys=True, ensure_ascii=False, default=str)


def _write(events: Iterator[RecordedEvent], out: IO[str]) -> int:
    count = 0
    for event in events:
        out.write(_line(event) + "\n")
        count += 1
    return count


@click.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to FILE (replaced only once complete) instead of standard output.",
)
@click.option(
    "--since",
    default=None,
    help="Only events after log position N, or at/after an ISO date or time (UTC).",
)
@click.option(
    "--incident",
    "incidents",
    multiple=True,
    help="Only this incident's events (repeat for several).",
)
@click.pass_context
def export(
    ctx: click.Context, output: Path | None, since: str | None, incidents: tuple[str, ...]
) -> None:
    """Write the event log as JSON Lines (one event a line) for audits and analytics."""
    start = parse_since(since)
    # The main group's state holds --config; run alone, the default plugins.toml is used.
    settings = load_config(getattr(ctx.obj, "config", None), require_secrets=False)
    store = EventStore(settings.database_url)
    try:
        store.create_tables()
        engine = Engine(store, settings)
        names = [find_incident(engine, name).id for name in incidents]
        events = iter_export(store, since=start, incidents=names)
        if output is None:
            count = _write(events, sys.stdout)
            sys.stdout.flush()
        else:
            with writing(output, option="--output"):
                count = _write_file(output, events)
    finally:
        store.dispose()
    where = str(output) if output is not None else "standard output"
    click.echo(f"Exported {count} events to {where}.", err=True)


def _write_file(path: Path, events: Iterator[RecordedEvent]) -> int:
    # Written beside the target and renamed into place: an interrupted export leaves the last
    # complete file, never half of one.
    folder = path.resolve().parent
    if not folder.is_dir():
        raise click.BadParameter(f"{folder} is not an existing folder.", param_hint="--output")
    with replacing(path) as out:
        return _write(events, out)
