"""What a command says, after its wait for the plugins, about the deliveries not done.

A call still running after ``--deliver-timeout`` gets a note of its own; so does a plugin that
failed (with its last error and what to do) or is switched off (nothing delivers to it). The
plugins that only have pending deliveries, which the next ``firebell run`` or ``firebell
deliver`` makes, share one line: with ``--deliver-timeout 0`` that is every plugin.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime

from firebell.core import Firebell
from firebell.core.outbox import PluginBacklog
from firebell.core.timeline import format_duration

__all__ = ["left_to_deliver", "next_attempt_text"]

_DELIVERS_PENDING = "`firebell run` (or `firebell deliver`) delivers"


def next_attempt_text(at: datetime, now: datetime | None = None) -> str:
    """``next attempt 23:22:35 UTC (in 17s)``, or ``next attempt due now`` once it is due."""
    now = datetime.now(UTC) if now is None else now
    if at <= now:
        return "next attempt due now"
    return f"next attempt {at:%H:%M:%S} UTC (in {format_duration(at - now)})"


def left_to_deliver(firebell: Firebell, deliver_timeout: float) -> Iterator[str]:
    """The notes (``note: …``) on what is left after a command's wait of ``deliver_timeout``
    seconds: calls still running, then each plugin's pending and failed deliveries."""
    for running in firebell.deliverer.running():
        claim = running.claim
        yield (
            f"note: plugin {claim.plugin} is still delivering {claim.event_type} of "
            f"{claim.incident_id} after --deliver-timeout {deliver_timeout:g}s; "
            "not waiting for it any longer. Nothing is lost: its lease ends at "
            f"{running.lease_until:%H:%M:%S} UTC, then `firebell run` (or the next command) "
            "delivers it again; on this machine sooner: `firebell deliver` at once, a "
            "running `firebell run` within 10 s."
        )
    only_pending = []
    for figures in firebell.deliverer.outbox.backlog().values():
        if not (figures.pending or figures.failed):
            continue
        if figures.plugin not in firebell.host.enabled:
            yield _switched_off(firebell, figures)
        elif figures.failed or figures.last_error:
            yield _failing(firebell, figures)
        else:
            only_pending.append(figures)
    if only_pending:
        yield _pending(only_pending)


def _pending(plugins: Sequence[PluginBacklog]) -> str:
    """One note for the plugins with nothing but pending deliveries (no error so far)."""
    if len(plugins) == 1:
        [figures] = plugins
        return (
            f"note: plugin {figures.plugin}: {figures.pending} pending, 0 failed. "
            f"{_DELIVERS_PENDING} the pending ones."
        )
    counts = ", ".join(
        f"{figures.plugin} {figures.pending}" for figures in sorted(plugins, key=_by_name)
    )
    return f"note: pending deliveries: {counts}; none failed. {_DELIVERS_PENDING} them."


def _by_name(figures: PluginBacklog) -> str:
    return figures.plugin


def _failing(firebell: Firebell, figures: PluginBacklog) -> str:
    """A note on a plugin with failed deliveries, or pending ones that failed before."""
    error = firebell.redact(figures.last_error).rstrip(".") if figures.last_error else None
    what_next = []
    at = figures.next_attempt_at
    if figures.pending and at is not None and at > datetime.now(UTC):
        # Backing off: rerunning `firebell deliver` now would do nothing.
        what_next.append(
            f"{next_attempt_text(at)} by `firebell run` (or `firebell deliver`); once the cause "
            f"is fixed, `firebell retry --plugin {figures.plugin}` tries now"
        )
    elif figures.pending:
        what_next.append(f"{_DELIVERS_PENDING} the pending ones")
    # A plugin's own message may say it already ("…, then run `firebell retry …`").
    if figures.failed and "firebell retry" not in (error or ""):
        what_next.append(
            f"run `firebell retry --plugin {figures.plugin}` after fixing the cause "
            "of the failed ones"
        )
    advice = "; ".join(what_next)
    last = f"; last error: {error}" if error else ""
    return (
        f"note: plugin {figures.plugin}: {figures.pending} pending, {figures.failed} failed"
        f"{last}." + (f" {advice[0].upper()}{advice[1:]}." if advice else "")
    )


def _switched_off(firebell: Firebell, figures: PluginBacklog) -> str:
    """A note on a plugin that is off: no command delivers to it, so none is advised."""
    error = firebell.redact(figures.last_error).rstrip(".") if figures.last_error else None
    last = f"; last error: {error}" if error else ""
    table = firebell.settings.plugins.get(figures.plugin)
    switch = (
        f"`enabled = true` in [plugins.{figures.plugin}]"
        if table is not None
        else f"its [plugins.{figures.plugin}] table back"
    )
    where = firebell.settings.path or "plugins.toml"
    return (
        f"note: plugin {figures.plugin} is switched off: {figures.pending} pending, "
        f"{figures.failed} failed{last}. They wait until it is switched on again in {where} "
        f"({switch}); no command delivers to it before."
    )
