"""``firebell replay`` rebuilds the read model from the log alone, identical to what it was."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import sqlalchemy as sa
from cli_support import run_firebell, write_config
from firebell.core import (
    CommandRefused,
    Firebell,
    Incident,
    Link,
    RecordedEvent,
    hookimpl,
    open_firebell,
)
from firebell.core.config import parse_config
from firebell.core.schema import incidents, resources


class Channels:
    """Links a channel to each new incident and fails on every third status update."""

    @hookimpl
    def firebell_incident_created(self, incident: Incident) -> Link:
        return Link("channel", f"C-{incident.id}", f"https://chat.example/{incident.id}")

    @hookimpl
    def firebell_incident_status_update_posted(self, event: RecordedEvent) -> None:
        if event.position % 3 == 0:
            raise RuntimeError("chat is down")


def random_workload(firebell: Firebell, seed: int) -> None:
    """Declare and drive incidents at random; deliver now and then."""
    rng = random.Random(seed)
    engine = firebell.engine
    names: list[str] = []
    for step in range(60):
        if not names or rng.random() < 0.2:
            names.append(
                engine.declare(
                    title=f"incident {step}",
                    severity=rng.choice(["SEV0", "SEV1", "SEV2"]),
                    reporter=rng.choice(["U_ANA", "cli:bob"]),
                    customer_facing=rng.random() < 0.3,
                ).incident.id
            )
            continue
        name = rng.choice(names)
        action = rng.choice(["resolve", "reopen", "close", "severity", "update", "commander"])
        try:
            if action == "resolve":
                engine.resolve(name, actor="U_ANA", summary=f"step {step}")
            elif action == "reopen":
                engine.reopen(name, actor="U_ANA")
            elif action == "close":
                engine.close(name, actor="U_ANA")
            elif action == "severity":
                engine.change_severity(name, rng.choice(["SEV0", "SEV1", "SEV2"]), actor="U_ANA")
            elif action == "update":
                engine.post_update(name, f"update {step}", actor="U_ANA")
            else:
                engine.assign_commander(name, rng.choice(["U_ANA", "U_BOB"]), actor="U_ANA")
        except CommandRefused:
            pass
        if rng.random() < 0.3:
            firebell.deliverer.drain()
    firebell.deliverer.drain()


def snapshot(firebell: Firebell) -> list[Incident]:
    return sorted(firebell.store.list_incidents(limit=10_000), key=lambda i: i.id)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_replay_rebuilds_identical_incidents(tmp_path: Path, seed: int) -> None:
    config = write_config(tmp_path)
    database = f"sqlite:///{tmp_path / 'firebell.db'}"
    document = {"firebell": {"database_url": database}, "plugins": {"channels": {}}}
    firebell = open_firebell(
        parse_config(document, path=None, environ={}),
        entry_points=False,
        extra_plugins={"channels": Channels()},
        retry_base=3600.0,  # failed deliveries stay failed: failing_plugins is part of the state
    )
    try:
        random_workload(firebell, seed)
        before = snapshot(firebell)
        assert any(i.failing_plugins for i in before) and all(i.resources for i in before)
        events = firebell.store.count_events()
        with firebell.store.write() as connection:
            connection.execute(resources.delete())
            connection.execute(incidents.delete())
        assert firebell.store.list_incidents() == []

        replayed = run_firebell(["--config", str(config), "replay", "--json"])
        assert replayed.code == 0, replayed
        assert replayed.json() == {"events": events, "incidents": len(before)}
        assert snapshot(firebell) == before
        for incident in before:
            found = firebell.store.find_incident_by_resource("channel", f"C-{incident.id}")
            assert found == incident
    finally:
        firebell.close()


def test_replay_repairs_a_read_model_that_drifted(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    name = run_firebell(["--config", str(config), "declare", "x", "-s", "SEV1", "--json"]).json()[
        "incident"
    ]["id"]
    firebell = open_firebell(config)
    try:
        right = firebell.store.get_incident(name)
        with firebell.store.write() as connection:
            connection.execute(
                sa.update(incidents).values(data=sa.func.replace(incidents.c.data, "SEV1", "SEV0"))
            )
        assert firebell.store.get_incident(name) != right
        assert run_firebell(["--config", str(config), "replay"]).code == 0
        assert firebell.store.get_incident(name) == right
    finally:
        firebell.close()
