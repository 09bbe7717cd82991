"""Hypothesis drives the engine through random commands and checks it against a simple model.

The commands are the lifecycle's and the follow-ups' (added and done, allowed after the close
too, unlike everything else). Commands come one at a time, several at once from threads, and repeated with the same
idempotency key (also at once). After every step the log must replay to the read model,
versions must be contiguous, positions increasing, and no idempotency key may have written twice.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import attrs
import pytest
from core_support import Linker, assert_log_consistent
from firebell.core import AppendResult, CommandRefused, Engine, IncidentState, open_firebell
from firebell.core.config import parse_config
from firebell.core.timeline_commands import add_follow_up, complete_follow_up
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    invariant,
    multiple,
    rule,
)

SEVERITIES = ("SEV0", "SEV1", "SEV2")
PEOPLE = ("U_ANA", "U_BOB", "U_CAROL")
KEYS = st.one_of(st.none(), st.sampled_from([f"key-{n}" for n in range(5)]))
COMMANDS = st.one_of(
    st.tuples(st.sampled_from(["resolve", "reopen", "close"]), st.none()),
    st.tuples(st.just("severity"), st.sampled_from(SEVERITIES)),
    st.tuples(st.just("commander"), st.sampled_from(PEOPLE)),
    st.tuples(st.just("update"), st.sampled_from(["Rolled back", "Still looking", "Better"])),
    st.tuples(st.just("followup"), st.sampled_from(["Add an alert", "Write the runbook"])),
    st.tuples(st.just("done"), st.sampled_from(["1", "2", "3"])),
)


@attrs.define
class Model:
    """What we expect of one incident."""

    state: IncidentState
    severity: str
    commander: str | None = None
    #: Whether each follow-up (by number) is done.
    follow_ups: dict[int, bool] = attrs.Factory(dict)

    def allows(self, kind: str, arg: str | None) -> bool:
        """Whether the engine should accept ``kind`` now."""
        # Follow-ups go on after the close (the tasks of the post-mortem meeting).
        if kind == "followup":
            return True
        if kind == "done":
            assert arg is not None
            return self.follow_ups.get(int(arg)) is False
        if self.state is IncidentState.CLOSED:
            return False
        return {
            "resolve": self.state is IncidentState.OPEN,
            "reopen": self.state is IncidentState.RESOLVED,
            "close": self.state is IncidentState.RESOLVED,
            "severity": arg != self.severity,
            "commander": arg != self.commander,
            "update": True,
        }[kind]

    def apply(self, kind: str, arg: str | None) -> None:
        """Change as the accepted command ``kind`` changes the incident."""
        if kind == "resolve":
            self.state = IncidentState.RESOLVED
        elif kind == "reopen":
            self.state = IncidentState.OPEN
        elif kind == "close":
            self.state = IncidentState.CLOSED
        elif kind == "severity":
            assert arg is not None
            self.severity = arg
        elif kind == "commander":
            self.commander = arg
        elif kind == "followup":
            self.follow_ups[len(self.follow_ups) + 1] = False
        elif kind == "done":
            assert arg is not None
            self.follow_ups[int(arg)] = True


def run(engine: Engine, incident: str, kind: str, arg: str | None, key: str | None) -> AppendResult:
    """Run one command as a Slack user would."""
    if kind == "resolve":
        return engine.resolve(incident, actor="U_ANA", idempotency_key=key)
    if kind == "reopen":
        return engine.reopen(incident, actor="U_ANA", idempotency_key=key)
    if kind == "close":
        return engine.close(incident, actor="U_ANA", idempotency_key=key)
    assert arg is not None
    if kind == "severity":
        return engine.change_severity(incident, arg, actor="U_ANA", idempotency_key=key)
    if kind == "commander":
        return engine.assign_commander(incident, arg, actor="U_ANA", idempotency_key=key)
    if kind == "followup":
        return add_follow_up(engine, incident, arg, actor="U_ANA", idempotency_key=key)
    if kind == "done":
        return complete_follow_up(engine, incident, arg, actor="U_ANA", idempotency_key=key)
    return engine.post_update(incident, arg, actor="U_ANA", idempotency_key=key)


def in_threads(count: int, work: Any) -> list[Any]:
    """Run ``work(i)`` for i in range(count) on threads released together; results or errors."""
    barrier = threading.Barrier(count)
    outcomes: list[Any] = [None] * count

    def go(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = work(index)
        except Exception as error:
            outcomes[index] = error

    threads = [threading.Thread(target=go, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


class EngineMachine(RuleBasedStateMachine):
    """The engine on a real SQLite file, with one plugin linking a channel to every incident."""

    incidents = Bundle("incidents")

    def __init__(self) -> None:
        super().__init__()
        self.folder = Path(tempfile.mkdtemp(prefix="firebell-machine-"))
        document = {
            "firebell": {"database_url": f"sqlite:///{self.folder / 'firebell.db'}"},
            "plugins": {"linker": {}},
        }
        self.firebell = open_firebell(
            parse_config(document, path=None, environ={}),
            entry_points=False,
            extra_plugins={"linker": Linker()},
            max_workers=2,
        )
        self.engine = self.firebell.engine
        self.store = self.firebell.store
        self.model: dict[str, Model] = {}
        #: Every idempotency key that wrote, and the incident it wrote to.
        self.keys: dict[str, str] = {}
        self.delivered: set[str] = set()
        self.fresh = 0

    def teardown(self) -> None:
        try:
            self.check_rebuild()
        finally:
            self.firebell.close()
            shutil.rmtree(self.folder, ignore_errors=True)

    def fresh_key(self) -> str:
        self.fresh += 1
        return f"fresh-{self.fresh}"

    # -- rules -----------------------------------------------------------------------------

    @rule(
        target=incidents,
        title=st.sampled_from(["Checkout failing", "API slow", "Login errors"]),
        severity=st.sampled_from([None, *SEVERITIES]),
        key=KEYS,
    )
    def declare(self, title: str, severity: str | None, key: str | None) -> Any:
        before = self.store.count_events()
        result = self.engine.declare(
            title=title, severity=severity, reporter="U_REPORTER", idempotency_key=key
        )
        if key is not None and key in self.keys:
            assert result.duplicate
            assert result.incident.id == self.keys[key]
            assert self.store.count_events() == before
            return multiple()
        assert not result.duplicate
        assert self.store.count_events() == before + 1
        name = result.incident.id
        assert name not in self.model
        self.model[name] = Model(IncidentState.OPEN, severity or "SEV2")
        if key is not None:
            self.keys[key] = name
        return name

    @rule(incident=incidents, command=COMMANDS, key=KEYS)
    def command(self, incident: str, command: tuple[str, str | None], key: str | None) -> None:
        kind, arg = command
        before = self.store.count_events()
        if key is not None and key in self.keys:
            result = run(self.engine, incident, kind, arg, key)
            assert result.duplicate
            assert result.incident.id == self.keys[key]
            assert self.store.count_events() == before
            return
        model = self.model[incident]
        if model.allows(kind, arg):
            result = run(self.engine, incident, kind, arg, key)
            assert not result.duplicate
            assert len(result.events) == 1
            model.apply(kind, arg)
            if key is not None:
                self.keys[key] = incident
            assert self.store.count_events() == before + 1
        else:
            with pytest.raises(CommandRefused) as refused:
                run(self.engine, incident, kind, arg, key)
            assert incident in str(refused.value)
            assert self.store.count_events() == before

    @rule(incident=incidents)
    def wrap_up(self, incident: str) -> None:
        """Resolve and close it, as far as it allows: closed incidents come up often enough to
        try every command on them (follow-ups, which go on, and the rest, refused)."""
        model = self.model[incident]
        for kind in ("resolve", "close"):
            if model.allows(kind, None):
                run(self.engine, incident, kind, None, None)
                model.apply(kind, None)

    @rule(incident=incidents, commands=st.lists(COMMANDS, min_size=2, max_size=4))
    def concurrent_commands(self, incident: str, commands: list[tuple[str, str | None]]) -> None:
        keys = [self.fresh_key() for _ in commands]
        outcomes = in_threads(
            len(commands),
            lambda i: run(self.engine, incident, commands[i][0], commands[i][1], keys[i]),
        )
        written = {
            event.causation_id: event
            for event in self.store.select_events(incident)
            if event.causation_id in keys
        }
        for key, outcome in zip(keys, outcomes, strict=True):
            if isinstance(outcome, AppendResult):
                assert not outcome.duplicate
                assert written[key].position == outcome.events[0].position
            else:
                assert isinstance(outcome, CommandRefused), outcome
                assert incident in str(outcome)
                assert key not in written
        # The order the log holds must be one the model accepts, command by command.
        model = self.model[incident]
        for event in sorted(written.values(), key=lambda e: e.position):
            assert event.causation_id is not None
            kind, arg = commands[keys.index(event.causation_id)]
            assert model.allows(kind, arg), (kind, arg, model)
            model.apply(kind, arg)
            self.keys[event.causation_id] = incident

    @rule(incident=incidents, command=COMMANDS, copies=st.integers(min_value=2, max_value=3))
    def repeated_at_once(self, incident: str, command: tuple[str, str | None], copies: int) -> None:
        """A double click: the same command with the same key from several threads at once."""
        kind, arg = command
        key = self.fresh_key()
        before = self.store.count_events()
        model = self.model[incident]
        outcomes = in_threads(copies, lambda _i: run(self.engine, incident, kind, arg, key))
        if model.allows(kind, arg):
            assert all(isinstance(o, AppendResult) for o in outcomes), outcomes
            assert sorted(o.duplicate for o in outcomes) == [False] + [True] * (copies - 1)
            assert len({o.events[0].position for o in outcomes}) == 1
            assert self.store.count_events() == before + 1
            model.apply(kind, arg)
            self.keys[key] = incident
        else:
            assert all(isinstance(o, CommandRefused) for o in outcomes), outcomes
            assert self.store.count_events() == before

    @rule()
    def deliver(self) -> None:
        self.firebell.deliverer.drain()
        for name in self.model:
            incident = self.engine.get(name)
            channel = incident.resource("channel", plugin="linker")
            assert channel is not None and channel.external_id == f"C-{name}"
            assert self.store.find_incident_by_resource("channel", f"C-{name}") == incident
            self.delivered.add(name)

    @rule()
    def check_rebuild(self) -> None:
        before = sorted(self.store.list_incidents(limit=10_000), key=lambda i: i.id)
        assert self.store.rebuild_read_model() == self.store.count_events()
        assert sorted(self.store.list_incidents(limit=10_000), key=lambda i: i.id) == before
        for name in self.delivered:
            assert self.store.find_incident_by_resource("channel", f"C-{name}") is not None

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def read_model_is_the_log_replayed(self) -> None:
        assert_log_consistent(self.store)
        for name, model in self.model.items():
            incident = self.engine.get(name)
            assert (incident.state, incident.severity, incident.commander) == (
                model.state,
                model.severity,
                model.commander,
            )
            assert {f.id: f.done for f in incident.follow_ups} == model.follow_ups

    @invariant()
    def an_idempotency_key_writes_once(self) -> None:
        written = Counter(
            event.causation_id
            for event in self.store.select_events()
            if event.causation_id is not None and not event.causation_id.startswith("link:")
        )
        assert set(written) == set(self.keys)
        assert all(count == 1 for count in written.values()), written
        links = Counter(
            event.causation_id
            for event in self.store.select_events()
            if event.causation_id is not None and event.causation_id.startswith("link:")
        )
        assert all(count == 1 for count in links.values()), links


EngineMachine.TestCase.settings = settings(
    max_examples=50,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestEngineMachine = EngineMachine.TestCase
