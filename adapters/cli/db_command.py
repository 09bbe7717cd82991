"""``firebell db``: the event log's schema revisions (``current``) and upgrades (``upgrade``).

A new log is created at the newest revision when Firebell first opens it, and an SQLite log is
upgraded when opened. A PostgreSQL log is shared by several processes, so it is upgraded only
when an operator runs ``firebell db upgrade`` (after a backup, from one process); until then
every other command refuses to open it and says so.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import click
from firebell.core.config import load_config
from firebell.core.database import redact_url
from firebell.core.store import EventStore

__all__ = ["db"]


@contextmanager
def _store(ctx: click.Context) -> Iterator[EventStore]:
    # The main group's state holds --config; run alone, the default plugins.toml is used.
    config = getattr(ctx.obj, "config", None)
    # Only the database: the plugins' secrets need not be set.
    store = EventStore(load_config(config, require_secrets=False).database_url)
    try:
        yield store
    finally:
        store.dispose()


@click.group()
def db() -> None:
    """The event log's database: schema revision and upgrades."""


@db.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def upgrade(ctx: click.Context, as_json: bool) -> None:
    """Upgrade the event log's schema to this Firebell's (back the database up first)."""
    from firebell.core.migrations import BASELINE

    with _store(ctx) as store:
        done = store.upgrade_schema()
        where = redact_url(store.url)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "database": where,
                    "before": done.before,
                    "after": done.after,
                    "adopted": done.adopted,
                    "added": list(done.added),
                }
            )
        )
    elif done.adopted:
        click.echo(
            f"Adopted {where}: a log from before schema revisions were tracked, stamped "
            f"{BASELINE}" + (f", then upgraded to {done.after}." if done.after != BASELINE else ".")
        )
    elif done.before == done.after and done.added:
        click.echo(
            f"{where} is already at schema revision {done.after}; added the search's "
            f"indexes {', '.join(done.added)}."
        )
    elif done.before == done.after:
        click.echo(f"{where} is already at schema revision {done.after}; nothing to do.")
    elif done.before is None:
        click.echo(f"Created the event log in the empty database {where} at {done.after}.")
    else:
        click.echo(f"Upgraded {where} from {done.before} to schema revision {done.after}.")


@db.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_context
def current(ctx: click.Context, as_json: bool) -> None:
    """Show the log's schema revision and whether `firebell db upgrade` is needed."""
    from firebell.core.migrations import HEAD

    with _store(ctx) as store:
        revision = store.schema_revision()
        where = redact_url(store.url)
    if as_json:
        click.echo(
            json.dumps(
                {"database": where, "revision": revision, "head": HEAD, "current": revision == HEAD}
            )
        )
    elif revision == HEAD:
        click.echo(f"{where}: schema revision {revision} (up to date).")
    else:
        shown = revision or "none (empty, or from before revisions were tracked)"
        click.echo(
            f"{where}: schema revision {shown}; this Firebell needs {HEAD}. "
            "Run `firebell db upgrade` (after a backup)."
        )
