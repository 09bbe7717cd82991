"""The outbox's contract, on SQLite and PostgreSQL: claims, leases, order, dependencies, failures.

Times are given explicitly (``now=``), so leases and back-off are exact, not slept through.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import attrs
import pytest
import sqlalchemy as sa
from contract_support import T0, Recorder, declare, settings_for, update
from firebell.core import (
    IntegrationFailed,
    IntegrationRecovered,
    Link,
    PermanentPluginError,
    RecordedEvent,
    ResourceLinked,
    RetryLater,
)
from firebell.core.delivery import Deliverer
from firebell.core.outbox import Claim, Outbox
from firebell.core.plugin_host import PluginHost
from firebell.core.schema import deliveries
from firebell.core.store import EventStore

LEASE = timedelta(minutes=5)
PLUGINS = ["slack", "pager"]
NO_DEPENDENCIES: dict[str, tuple[str, ...]] = {}


@pytest.fixture
def outbox(store: EventStore) -> Outbox:
    """An outbox for the plugins ``slack`` and ``pager``."""
    return Outbox(store, PLUGINS)


def claim(
    outbox: Outbox,
    *,
    owner: str = "worker-1",
    at: timedelta = timedelta(0),
    limit: int = 10,
    dependencies: dict[str, tuple[str, ...]] = NO_DEPENDENCIES,
    plugins: list[str] | None = None,
) -> list[Claim]:
    """Claim as ``owner`` at T0 + ``at``."""
    return outbox.claim(
        owner=owner,
        now=T0 + at,
        lease=LEASE,
        dependencies=dependencies,
        limit=limit,
        plugins=plugins,
    )


def keys(claims: list[Claim]) -> set[tuple[int, str]]:
    """(position, plugin) of each claim."""
    return {(c.position, c.plugin) for c in claims}


def statuses(store: EventStore) -> dict[tuple[int, str], str]:
    """The status of every outbox row."""
    with store.read() as connection:
        rows = connection.execute(
            sa.select(deliveries.c.position, deliveries.c.plugin, deliveries.c.status)
        ).all()
    return {(r.position, r.plugin): r.status for r in rows}


# -- claims and leases ---------------------------------------------------------------------------


def test_claims_lease_each_ready_delivery_to_one_owner(store: EventStore, outbox: Outbox) -> None:
    a = declare(store, "a", subscribers=PLUGINS).events[0].position
    b = declare(store, "b", subscribers=PLUGINS).events[0].position

    first = claim(outbox, owner="worker-1", limit=3)
    second = claim(outbox, owner="worker-2", limit=10)

    assert len(first) == 3 and len(second) == 1
    assert keys(first) | keys(second) == {(a, "slack"), (a, "pager"), (b, "slack"), (b, "pager")}
    assert not keys(first) & keys(second)
    assert {c.attempt for c in first + second} == {1}
    assert claim(outbox, owner="worker-3") == []
    assert outbox.lease_owners() == ["worker-1", "worker-2"] or sorted(outbox.lease_owners()) == [
        "worker-1",
        "worker-2",
    ]


def test_an_expired_lease_lets_another_owner_take_the_delivery(
    store: EventStore, outbox: Outbox
) -> None:
    declare(store, "a", subscribers=["slack"])
    [taken] = claim(outbox, owner="worker-1")

    assert claim(outbox, owner="worker-2", at=LEASE - timedelta(seconds=1)) == []
    [retaken] = claim(outbox, owner="worker-2", at=LEASE + timedelta(seconds=1))

    assert (retaken.position, retaken.plugin) == (taken.position, taken.plugin)
    assert retaken.attempt == 2


def test_released_leases_are_claimable_at_once(store: EventStore, outbox: Outbox) -> None:
    declare(store, "a", subscribers=PLUGINS)
    claim(outbox, owner="dead-worker")

    assert outbox.release_leases(["dead-worker"]) == 2
    assert outbox.release_leases([]) == 0
    assert len(claim(outbox, owner="worker-2")) == 2
    assert outbox.lease_owners() == ["worker-2"]


def test_claims_respect_the_limit_and_the_plugin_filter(store: EventStore, outbox: Outbox) -> None:
    for name in "abc":
        declare(store, name, subscribers=PLUGINS)
    assert len(claim(outbox, limit=2)) == 2
    pager_only = claim(outbox, owner="pager-worker", plugins=["pager"])
    assert pager_only and {c.plugin for c in pager_only} == {"pager"}


def test_a_plugin_gets_one_incidents_events_in_order(store: EventStore, outbox: Outbox) -> None:
    first = declare(store, "a", subscribers=["slack"]).events[0]
    later = store.insert_events(
        "a",
        [update("one"), update("two")],
        actor="U",
        occurred_at=T0,
        expected_version=1,
        subscribers=["slack"],
    ).events
    other = declare(store, "b", subscribers=["slack"]).events[0]

    # Only the oldest of a's events is ready; b's does not wait for a's.
    assert keys(claim(outbox, owner="w1")) == {(first.position, "slack"), (other.position, "slack")}
    assert claim(outbox, owner="w2", at=timedelta(seconds=1)) == []

    [done] = [c for c in claim(outbox, owner="w3", at=LEASE * 2) if c.incident_id == "a"]
    outbox.complete(done, [], now=T0 + LEASE * 2)
    assert keys(claim(outbox, owner="w4", at=LEASE * 2)) == {(later[0].position, "slack")}


def test_a_failed_delivery_holds_back_the_incidents_later_events(
    store: EventStore, outbox: Outbox
) -> None:
    declare(store, "a", subscribers=["slack"])
    store.insert_events(
        "a", [update()], actor="U", occurred_at=T0, expected_version=1, subscribers=["slack"]
    )
    [first] = claim(outbox)
    outbox.fail(first, "Slack said 500", now=T0, retry_at=T0 + timedelta(seconds=30))

    # The retry is not due, and the update waits behind it (so does the failure report).
    assert claim(outbox, at=timedelta(seconds=10), plugins=["slack"]) == []
    [again] = claim(outbox, at=timedelta(seconds=31), plugins=["slack"])
    assert (again.position, again.attempt) == (first.position, 2)


def test_after_waits_for_the_other_plugin_to_finish_the_same_event(
    store: EventStore, outbox: Outbox
) -> None:
    position = declare(store, "a", subscribers=PLUGINS).events[0].position
    pager_after_slack = {"pager": ("slack",)}

    [slack] = claim(outbox, dependencies=pager_after_slack)
    assert slack.plugin == "slack"
    assert claim(outbox, owner="w2", dependencies=pager_after_slack) == []

    outbox.complete(slack, [], now=T0)
    [pager] = claim(outbox, owner="w2", dependencies=pager_after_slack)
    assert (pager.position, pager.plugin) == (position, "pager")


def test_after_waits_while_the_other_plugin_is_at_its_first_attempt(
    store: EventStore, outbox: Outbox
) -> None:
    declare(store, "a", subscribers=PLUGINS)
    pager_after_slack = {"pager": ("slack",)}
    claimed = claim(outbox, dependencies=pager_after_slack, plugins=["slack"])
    assert [c.plugin for c in claimed] == ["slack"]

    assert claim(outbox, owner="w2", dependencies=pager_after_slack, plugins=["pager"]) == []


def test_after_stops_waiting_once_the_other_plugin_failed_once(
    store: EventStore, outbox: Outbox
) -> None:
    # A dependency's outage must not hold its dependants (paging must not wait for Slack).
    declare(store, "a", subscribers=PLUGINS)
    pager_after_slack = {"pager": ("slack",)}
    [slack] = claim(outbox, dependencies=pager_after_slack, plugins=["slack"])
    outbox.fail(slack, "timeout", now=T0, retry_at=T0 + timedelta(seconds=5))

    ready = claim(outbox, owner="w2", dependencies=pager_after_slack, plugins=["pager"])
    assert (slack.position, "pager") in keys(ready)


def test_after_stops_waiting_once_the_other_plugin_is_parked(
    store: EventStore, outbox: Outbox
) -> None:
    declare(store, "a", subscribers=PLUGINS)
    pager_after_slack = {"pager": ("slack",)}
    [slack] = claim(outbox, dependencies=pager_after_slack)
    outbox.fail(slack, "invalid_auth", now=T0, retry_at=None)

    ready = claim(outbox, owner="w2", dependencies=pager_after_slack, plugins=["pager"])
    assert (slack.position, "pager") in keys(ready)


# -- outcomes ------------------------------------------------------------------------------------


def test_complete_records_links_once_and_delivers_them_too(
    store: EventStore, outbox: Outbox
) -> None:
    position = declare(store, "a", subscribers=PLUGINS).events[0].position
    slack = next(c for c in claim(outbox) if c.plugin == "slack")
    link = Link("channel", "C42", "https://slack/C42", "#inc-a")

    outbox.complete(slack, [link], now=T0)
    # A repeated delivery (after a crash) reports the same link: it is not recorded twice.
    outbox.complete(slack, [link], now=T0)

    linked = [e for e in store.select_events("a") if isinstance(e.data, ResourceLinked)]
    assert [e.data for e in linked] == [
        ResourceLinked("slack", "channel", "C42", "https://slack/C42", "#inc-a")
    ]
    assert linked[0].actor == "plugin:slack"
    assert store.find_incident_by_resource("channel", "C42").id == "a"  # type: ignore[union-attr]
    assert statuses(store)[(position, "slack")] == "done"
    # Every plugin hears of the link, like of any other event.
    assert {p for (pos, p) in statuses(store) if pos == linked[0].position} == set(PLUGINS)


def test_a_retried_failure_is_reported_once_and_its_recovery_once(
    store: EventStore, outbox: Outbox
) -> None:
    declare(store, "a", subscribers=PLUGINS)
    store.insert_events(
        "a", [update()], actor="U", occurred_at=T0, expected_version=1, subscribers=PLUGINS
    )

    for attempt in range(1, 4):
        at = timedelta(minutes=attempt)
        [pager] = claim(outbox, at=at, plugins=["pager"])
        assert pager.attempt == attempt
        outbox.fail(pager, f"HTTP 503 #{attempt}", now=T0 + at, retry_at=T0 + at)
    assert outbox.backlog()["pager"].last_error == "HTTP 503 #3"

    [pager] = claim(outbox, at=timedelta(minutes=10), plugins=["pager"])
    outbox.complete(pager, [], now=T0 + timedelta(minutes=10))
    [next_one] = claim(outbox, at=timedelta(minutes=10), plugins=["pager"])
    outbox.complete(next_one, [], now=T0 + timedelta(minutes=10))

    history = [e.data for e in store.select_events("a")]
    failed = [d for d in history if isinstance(d, IntegrationFailed)]
    recovered = [d for d in history if isinstance(d, IntegrationRecovered)]
    assert failed == [IntegrationFailed("pager", "incident.created", "HTTP 503 #1", True)]
    assert recovered == [IntegrationRecovered("pager", "incident.created", 4)]
    assert store.get_incident("a").failing_plugins == ()  # type: ignore[union-attr]


def test_a_failing_integration_report_does_not_report_itself(
    store: EventStore, outbox: Outbox
) -> None:
    declare(store, "a", subscribers=PLUGINS)
    [pager] = claim(outbox, plugins=["pager"])
    outbox.fail(pager, "down", now=T0, retry_at=None)
    report = next(e for e in store.select_events("a") if isinstance(e.data, IntegrationFailed))
    outbox.complete(next(c for c in claim(outbox, plugins=["slack"])), [], now=T0)
    slack_report = next(
        c for c in claim(outbox, plugins=["slack"]) if c.position == report.position
    )

    outbox.fail(slack_report, "Slack is down too", now=T0, retry_at=T0)

    reports = [e for e in store.select_events("a") if isinstance(e.data, IntegrationFailed)]
    assert [r.data.plugin for r in reports] == ["pager"]  # type: ignore[attr-defined]


def test_a_permanent_failure_is_parked_until_requeued(store: EventStore, outbox: Outbox) -> None:
    position = declare(store, "a", subscribers=PLUGINS).events[0].position
    [pager] = claim(outbox, plugins=["pager"])
    outbox.fail(pager, "401 invalid token", now=T0, retry_at=None)

    assert statuses(store)[(position, "pager")] == "failed"
    assert (position, "pager") not in keys(claim(outbox, at=timedelta(days=1), plugins=["pager"]))
    figures = outbox.backlog()["pager"]
    assert (figures.failed, figures.last_error) == (1, "401 invalid token")
    report = next(e for e in store.select_events("a") if isinstance(e.data, IntegrationFailed))
    assert report.data == IntegrationFailed("pager", "incident.created", "401 invalid token", False)

    assert outbox.requeue_failed(plugin="slack", now=T0) == 0
    assert outbox.requeue_failed(plugin="pager", now=T0 + timedelta(hours=1)) == 1
    [again] = claim(outbox, owner="w2", at=timedelta(hours=1), plugins=["pager"])
    assert (again.position, again.attempt) == (position, 1)


def test_a_parked_plugin_is_not_recovered_until_the_parked_delivery_is_done(
    store: EventStore, outbox: Outbox
) -> None:
    declare(store, "a", subscribers=PLUGINS)
    [pager] = claim(outbox, plugins=["pager"])
    outbox.fail(pager, "401", now=T0, retry_at=None)
    store.insert_events(
        "a", [update()], actor="U", occurred_at=T0, expected_version=None, subscribers=PLUGINS
    )

    # Later events (the failure report, the update) go through; the creation is still undone.
    for later in claim(outbox, owner="w2", plugins=["pager"]):
        outbox.complete(later, [], now=T0)
    assert store.get_incident("a").failing_plugins == ("pager",)  # type: ignore[union-attr]

    outbox.requeue_failed(plugin="pager", now=T0)
    [retried] = claim(outbox, owner="w3", plugins=["pager"])
    assert retried.position == pager.position
    outbox.complete(retried, [], now=T0)
    assert store.get_incident("a").failing_plugins == ()  # type: ignore[union-attr]


def test_retry_now_makes_the_retrying_deliveries_due_but_not_one_under_way(
    store: EventStore, outbox: Outbox
) -> None:
    a = declare(store, "a", subscribers=PLUGINS).events[0].position
    b = declare(store, "b", subscribers=PLUGINS).events[0].position
    pager = {c.position: c for c in claim(outbox, plugins=["pager"])}
    outbox.fail(pager[a], "503", now=T0, retry_at=T0 + timedelta(minutes=5), announce=False)
    outbox.fail(pager[b], "503", now=T0, retry_at=T0 + timedelta(minutes=10), announce=False)
    assert outbox.backlog(now=T0)["pager"].next_attempt_at == T0 + timedelta(minutes=5)
    assert outbox.backlog(now=T0)["slack"].next_attempt_at is None, "never failed"
    # Another process, its clock 6 minutes ahead, is trying a's creation again (lease held).
    [under_way] = claim(outbox, owner="w2", at=timedelta(minutes=6), plugins=["pager"])
    assert under_way.position == a

    assert outbox.retry_now(plugins=["slack"], now=T0) == 0
    assert outbox.retry_now(plugins=["pager"], now=T0 + timedelta(minutes=1)) == 1
    assert outbox.backlog(now=T0 + timedelta(minutes=1))["pager"].next_attempt_at == (
        T0 + timedelta(minutes=1)
    ), "b due now; a, under way, is not waiting for a retry"
    [retried] = claim(outbox, owner="w3", at=timedelta(minutes=1), plugins=["pager"])
    assert (retried.position, retried.attempt) == (b, 2)
    assert outbox.retry_now(now=T0 + timedelta(minutes=1)) == 0, "nothing else waits"


def test_backlog_counts_each_plugins_deliveries(store: EventStore, outbox: Outbox) -> None:
    declare(store, "a", subscribers=PLUGINS)
    declare(store, "b", subscribers=PLUGINS)
    assert outbox.has_ready_or_leased(T0)
    claims = claim(outbox)
    for c in claims:
        if c.plugin == "slack":
            outbox.complete(c, [], now=T0)
    pager = [c for c in claims if c.plugin == "pager"]
    outbox.fail(pager[0], "boom", now=T0, retry_at=None)
    outbox.fail(pager[1], "slow", now=T0, retry_at=T0 + timedelta(hours=1))

    backlog = outbox.backlog()
    # Each pager failure recorded an IntegrationFailed event, itself delivered to both plugins.
    assert (backlog["slack"].done, backlog["slack"].failed) == (2, 0)
    assert backlog["slack"].pending == 2
    assert (backlog["pager"].done, backlog["pager"].failed) == (0, 1)
    assert backlog["pager"].pending == 3
    assert not outbox.has_ready_or_leased(T0 - timedelta(seconds=1))


# -- the worker ----------------------------------------------------------------------------------


@attrs.define
class Worker:
    """A deliverer with recorders ``slack`` and ``pager`` (which waits for slack).

    ``plan[incident]`` lists what pager raises on that incident's creation, one per attempt.
    """

    deliverer: Deliverer
    slack: Recorder
    pager: Recorder
    plan: dict[str, list[Exception]]

    def declare(self, store: EventStore, name: str) -> None:
        """Declare ``name`` with both plugins subscribed."""
        declare(store, name, subscribers=self.deliverer.host.subscribers)


@pytest.fixture
def worker(store: EventStore) -> Iterator[Worker]:
    """A :class:`Worker` on ``store`` (no back-off, at most 3 attempts)."""
    plan: dict[str, list[Exception]] = {}

    def fail(event: RecordedEvent, attempt: int) -> Exception | None:
        planned = plan.get(event.incident_id) if event.type == "incident.created" else None
        return planned.pop(0) if planned else None

    slack = Recorder("slack", link_kind="channel")
    pager = Recorder("pager", after=["slack"], fail=fail)
    host = PluginHost.from_config(
        settings_for(store.url, ["slack", "pager"]),
        entry_points=False,
        extra={"slack": slack, "pager": pager},
    )
    deliverer = Deliverer(store, host, retry_base=0.0, max_attempts=3)
    yield Worker(deliverer, slack, pager, plan)
    deliverer.close()


def test_the_worker_delivers_everything_in_order_and_retries(
    store: EventStore, worker: Worker
) -> None:
    worker.plan["a"] = [RetryLater("503 from the pager", retry_after=0.0)]
    worker.declare(store, "a")
    store.insert_events(
        "a",
        [update("one"), update("two")],
        actor="U",
        occurred_at=T0,
        expected_version=1,
        subscribers=worker.deliverer.host.subscribers,
    )

    for _ in range(3):
        worker.deliverer.drain()

    positions = [e.position for e in store.select_events("a")]
    assert sorted(set(worker.slack.positions())) == positions
    assert sorted(set(worker.pager.positions())) == positions
    assert worker.slack.positions() == sorted(worker.slack.positions())  # one incident: in order
    assert [a for p, a in worker.pager.seen if p == positions[0]] == [1, 2]
    incident = store.get_incident("a")
    assert incident is not None and incident.resource("channel") is not None
    assert incident.failing_plugins == ()
    types = [e.type for e in store.select_events("a")]
    assert types.count("incident.integration_failed") == 1
    assert types.count("incident.integration_recovered") == 1


def test_the_worker_parks_after_max_attempts_and_on_permanent_errors(
    store: EventStore, worker: Worker
) -> None:
    worker.plan["a"] = [RetryLater("503")] * 3
    worker.plan["b"] = [PermanentPluginError("401 bad token")]
    worker.plan["c"] = [RetryLater("503")] * 2
    for name in "abc":
        worker.declare(store, name)

    for _ in range(3):
        worker.deliverer.drain()

    attempts: dict[str, list[int]] = {}
    created = {declared.position: declared.incident_id for declared in store.select_events()}
    for position, attempt in worker.pager.seen:
        if store.select_events(after=position - 1, limit=1)[0].type == "incident.created":
            attempts.setdefault(created[position], []).append(attempt)
    assert attempts == {"a": [1, 2, 3], "b": [1], "c": [1, 2, 3]}
    figures = worker.deliverer.outbox.backlog()["pager"]
    assert (figures.failed, figures.pending) == (2, 0)
    states = {i.id: i.failing_plugins for i in store.list_incidents()}
    assert states == {"a": ("pager",), "b": ("pager",), "c": ()}
