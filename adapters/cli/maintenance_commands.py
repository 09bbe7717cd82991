"""The commands that look after the log and the deliveries: ``replay`` rebuilds the read model
from the event log, ``retry`` queues parked deliveries again and makes retrying ones due now,
``deliver`` delivers what is due now (what ``firebell run`` does continuously)."""

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
    store = state.open_to_read().store  # the plugins are not called
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
    """Queue failed (parked) deliveries again after fixing their cause, make retrying ones
    (backing off) due now, and deliver.

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
        click.echo(f"Queued {count} {_deliveries(count)} again.")
    else:
        outbox = firebell.deliverer.outbox
        failed = outbox.requeue_failed(plugin=plugin, now=now)
        # Those backing off too (the plugin failed, the next attempt is minutes away): the
        # cause is fixed, so now. Only the plugins on: a plugin that is off delivers nothing.
        plugins = [plugin] if plugin is not None else list(firebell.host.enabled)
        retrying = outbox.retry_now(plugins=plugins, now=now)
        click.echo(_queued(failed, retrying))
    state.deliver()


def _deliveries(count: int) -> str:
    return "delivery" if count == 1 else "deliveries"


def _queued(failed: int, retrying: int) -> str:
    """``Queued 3 deliveries again: 1 failed, 2 retrying (due now, not at their next attempt).``"""
    total = failed + retrying
    if not total:
        return "Queued 0 deliveries again."
    later = " (due now, not at their next attempt)" if retrying else ""
    return (
        f"Queued {total} {_deliveries(total)} again: {failed} failed, {retrying} retrying{later}."
    )


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
