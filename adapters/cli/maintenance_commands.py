"""The commands that look after the log and the deliveries: ``replay`` rebuilds the read model
from the event log, ``retry`` queues parked deliveries again, ``deliver`` delivers what is due
now (what ``firebell run`` does continuously)."""

from __future__ import annotations

import sys

import click
from firebell.adapters.cli.cli_state import CliState, json_option, pass_state
from firebell.adapters.cli.output import echo_json

__all__ = ["deliver", "replay", "retry"]


@click.command()
@json_option
@pass_state
def replay(state: CliState, as_json: bool) -> None:
    """Rebuild the read model from the event log (same result, from scratch)."""
    store = state.open().store
    total = store.count_events()
    with click.progressbar(length=total, label="Replaying events", file=sys.stderr) as bar:
        seen = 0

        def progress(count: int) -> None:
            nonlocal seen
            bar.update(count - seen)
            seen = count

        count = store.rebuild_read_model(progress)
    incidents = store.count_incidents()
    if as_json:
        echo_json({"events": count, "incidents": incidents})
    else:
        click.echo(f"Rebuilt {incidents} incidents from {count} events.")


@click.command()
@click.option("--plugin", default=None, help="Only this plugin's deliveries.")
@click.option(
    "--skipped",
    is_flag=True,
    help="Deliver the skipped deliveries instead (incidents that ended while the plugin was "
    "off), with the events the plugin missed.",
)
@pass_state
def retry(state: CliState, plugin: str | None, skipped: bool) -> None:
    """Queue parked (failed) deliveries again, after fixing their cause, and deliver.

    With --skipped: deliver anyway what was skipped because the incident ended while the
    plugin was switched off; the plugin also gets the events it missed, so it hears the end.
    """
    firebell = state.open()
    if plugin is not None:
        # A plugin no longer installed may still have deliveries in the log; a typo has none.
        known = sorted({*firebell.host.installed, *firebell.deliverer.outbox.backlog()})
        if plugin not in known:
            raise click.BadParameter(
                f"no plugin {plugin!r} is installed or has deliveries; known plugins: "
                f"{', '.join(known) or 'none'}",
                param_hint="--plugin",
            )
    now = firebell.engine.clock()
    if skipped:
        count = firebell.deliverer.stale.requeue_skipped(plugin=plugin, now=now)
    else:
        count = firebell.deliverer.outbox.requeue_failed(plugin=plugin, now=now)
    click.echo(f"Queued {count} {'delivery' if count == 1 else 'deliveries'} again.")
    state.deliver()


@click.command()
@pass_state
def deliver(state: CliState) -> None:
    """Deliver pending events to the plugins now (what `firebell run` does continuously).

    Reminders that fell due are sent first (docs/timeline.md), so a cron job of
    `firebell deliver` keeps them going without `firebell run`.
    """
    from firebell.core.reminders import ReminderScheduler

    firebell = state.open()
    firebell.deliverer.release_dead_leases()
    ReminderScheduler(firebell.engine).run_once()
    state.deliver()
    click.echo("Delivered what was due.")
