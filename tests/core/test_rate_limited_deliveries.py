"""A vendor's rate limit is waited out quietly: retried, never announced as a failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from firebell.core import IntegrationFailed, RetryLater, hookimpl

from firebell.testing.pytest_plugin import MakeFirebell


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class Throttled:
    """Rate-limited (or plainly failing) on its first call, fine on the second."""

    def __init__(self, *, rate_limited: bool) -> None:
        self.rate_limited = rate_limited
        self.calls = 0

    @hookimpl
    def firebell_incident_created(self) -> None:
        self.calls += 1
        if self.calls == 1:
            raise RetryLater("429 from the vendor", retry_after=30, rate_limited=self.rate_limited)


def _failures(firebell_events: list[object]) -> list[object]:
    return [e for e in firebell_events if isinstance(e, IntegrationFailed)]


def test_a_rate_limit_is_retried_after_retry_after_without_a_failure_notice(
    make_firebell: MakeFirebell,
) -> None:
    clock = Clock()
    plugin = Throttled(rate_limited=True)
    firebell = make_firebell(
        {"plugins": {"throttled": {}}}, extra_plugins={"throttled": plugin}, clock=clock
    )
    incident = firebell.engine.declare(title="Checkout down", reporter="U1").incident

    firebell.deliverer.drain()
    clock.now += timedelta(seconds=29)
    firebell.deliverer.drain()
    assert plugin.calls == 1  # Retry-After is honoured
    clock.now += timedelta(seconds=5)
    firebell.deliverer.drain()

    assert plugin.calls == 2
    events = [e.data for e in firebell.store.select_events(incident.id)]
    assert _failures(events) == []
    assert firebell.deliverer.outbox.backlog()["throttled"].done == 1


def test_an_ordinary_retry_is_announced_once(make_firebell: MakeFirebell) -> None:
    clock = Clock()
    plugin = Throttled(rate_limited=False)
    firebell = make_firebell(
        {"plugins": {"throttled": {}}}, extra_plugins={"throttled": plugin}, clock=clock
    )
    incident = firebell.engine.declare(title="Checkout down", reporter="U1").incident

    firebell.deliverer.drain()
    clock.now += timedelta(minutes=1)
    firebell.deliverer.drain()

    events = [e.data for e in firebell.store.select_events(incident.id)]
    assert len(_failures(events)) == 1
    assert firebell.store.get_incident(incident.id).failing_plugins == ()  # recovered
