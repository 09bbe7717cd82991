"""A process killed in the middle of a delivery: its work is picked up again, nothing is skipped."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core_support import FixedClock, Recorder
from firebell.core import Incident, hookimpl, open_firebell
from firebell.core.config import parse_config
from firebell.core.outbox import Outbox

from firebell.testing.pytest_plugin import MakeFirebell

PLUGIN = textwrap.dedent(
    """
    '''A plugin that writes down each delivery, and hangs on one event when told to.'''
    import os
    import time
    from pathlib import Path

    from firebell.core import hookimpl


    class Journal:
        def __init__(self, folder, name, hang_at=None):
            self.folder, self.name, self.hang_at = Path(folder), name, hang_at

        @hookimpl
        def firebell_event(self, event):
            if event.position == self.hang_at:
                (self.folder / "holding").write_text(str(os.getpid()))
                time.sleep(600)
            with open(self.folder / f"{self.name}.log", "a") as out:
                out.write(f"{os.getpid()} {event.incident_id} {event.position}\\n")
    """
)

DRIVER = textwrap.dedent(
    """
    import sys

    from firebell.core import open_firebell
    from firebell.core.config import parse_config
    from journal_plugin import Journal

    url, mode, folder = sys.argv[1], sys.argv[2], sys.argv[3]
    document = {"firebell": {"database_url": url}, "plugins": {"slow": {}, "quick": {}}}
    firebell = open_firebell(
        parse_config(document, path=None, environ={}),
        entry_points=False,
        extra_plugins={
            "slow": Journal(folder, "slow", hang_at=2 if mode == "crash" else None),
            "quick": Journal(folder, "quick"),
        },
        max_workers=2,
    )
    if mode == "crash":
        names = [
            firebell.engine.declare(title=f"incident {n}", reporter="cli:t").incident.id
            for n in range(3)
        ]
        for name in names:
            firebell.engine.post_update(name, "looking", actor="cli:t")
        firebell.deliverer.drain()  # hangs in slow's delivery of position 2
    else:
        print("released", firebell.deliverer.release_dead_leases(), flush=True)
        firebell.deliverer.drain()
    firebell.close()
    """
)


def journal(path: Path) -> list[tuple[int, str, int]]:
    """(pid, incident, position) for every delivery the plugin wrote down."""
    if not path.exists():
        return []
    rows = [line.split() for line in path.read_text().splitlines()]
    return [(int(pid), incident, int(position)) for pid, incident, position in rows]


def test_a_delivery_cut_short_by_sigkill_is_done_after_a_restart(tmp_path: Path) -> None:
    (tmp_path / "journal_plugin.py").write_text(PLUGIN, encoding="utf-8")
    (tmp_path / "driver.py").write_text(DRIVER, encoding="utf-8")
    url = f"sqlite:///{tmp_path / 'firebell.db'}"
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    command = [sys.executable, str(tmp_path / "driver.py"), url]

    crashing = subprocess.Popen(
        [*command, "crash", str(tmp_path)], env=env, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while not (tmp_path / "holding").exists():
        assert crashing.poll() is None, crashing.communicate()[1]
        assert time.monotonic() < deadline, "the plugin never got position 2"
        time.sleep(0.02)
    os.kill(crashing.pid, signal.SIGKILL)
    crashing.communicate(timeout=30)
    assert crashing.returncode == -signal.SIGKILL

    settings = parse_config({"firebell": {"database_url": url}}, path=None, environ={})
    fb = open_firebell(settings, entry_points=False)
    try:
        outbox = Outbox(fb.store, ["slow", "quick"])
        (owner,) = outbox.lease_owners()
        assert owner.startswith(f"{socket.gethostname()}:{crashing.pid}:")
        assert outbox.backlog()["slow"].pending >= 2, "the hung event and the one behind it"
        all_positions = [e.position for e in fb.store.select_events()]
        events_of = {e.position: e.incident_id for e in fb.store.select_events()}
    finally:
        fb.close()
    assert 2 not in {p for _, _, p in journal(tmp_path / "slow.log")}

    resumed = subprocess.run(
        [*command, "resume", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert resumed.returncode == 0, resumed.stderr
    released = resumed.stdout.split()
    assert released[0] == "released" and int(released[1]) >= 1, resumed.stdout

    for plugin in ("slow", "quick"):
        delivered = journal(tmp_path / f"{plugin}.log")
        assert {p for _, _, p in delivered} == set(all_positions), f"{plugin} skipped an event"
        for incident in set(events_of.values()):
            in_order = [p for _, i, p in delivered if i == incident]
            assert in_order == sorted(in_order), f"{plugin} got {incident} out of order"
    second_run = {p for pid, _, p in journal(tmp_path / "slow.log") if pid != crashing.pid}
    assert 2 in second_run
    fb = open_firebell(settings, entry_points=False)
    try:
        backlog = Outbox(fb.store, ["slow", "quick"]).backlog()
        assert all(b.pending == 0 and b.failed == 0 for b in backlog.values()), backlog
        assert Outbox(fb.store, []).lease_owners() == []
    finally:
        fb.close()


def test_a_lease_of_another_host_expires(make_firebell: MakeFirebell, clock: FixedClock) -> None:
    recorder = Recorder()
    fb = make_firebell(
        {"plugins": {"recorder": {}}},
        entry_points=False,
        extra_plugins={"recorder": recorder},
        clock=clock,
    )
    fb.engine.declare(title="x", reporter="U1")
    (claim,) = fb.deliverer.outbox.claim(
        owner="elsewhere:4242:abcdef",
        now=clock(),
        lease=timedelta(minutes=5),
        dependencies={},
        limit=10,
    )
    assert fb.deliverer.release_dead_leases() == 0, "another host's process may be alive"
    fb.deliverer.drain()
    clock.advance(4 * 60)
    fb.deliverer.drain()
    assert recorder.seen() == []
    clock.advance(61)
    fb.deliverer.drain()
    assert [c.attempt for c in recorder.seen("incident.created")] == [claim.attempt + 1]


def test_leases_of_dead_processes_on_this_host_are_released_and_live_ones_kept(
    make_firebell: MakeFirebell, clock: FixedClock
) -> None:
    recorder = Recorder()
    fb = make_firebell(
        {"plugins": {"recorder": {}}},
        entry_points=False,
        extra_plugins={"recorder": recorder},
        clock=clock,
    )
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_pid = int(finished.stdout)
    host = socket.gethostname()
    first = fb.engine.declare(title="x", reporter="U1").incident.id
    second = fb.engine.declare(title="y", reporter="U1").incident.id
    for owner in (f"{host}:{dead_pid}:aaaaaa", f"{host}:{os.getppid()}:bbbbbb"):
        fb.deliverer.outbox.claim(
            owner=owner, now=clock(), lease=timedelta(minutes=5), dependencies={}, limit=1
        )
    assert fb.deliverer.release_dead_leases() == 1
    fb.deliverer.drain()
    assert [c.incident_id for c in recorder.seen("incident.created")] == [first]
    assert fb.deliverer.outbox.lease_owners() == [f"{host}:{os.getppid()}:bbbbbb"]
    clock.advance(6 * 60)
    fb.deliverer.drain()
    assert [c.incident_id for c in recorder.seen("incident.created")] == [first, second]


class Gate:
    """A plugin whose first call waits until the test opens the gate; records what it got."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()
        self.seen: list[tuple[str, int]] = []

    @hookimpl
    def firebell_incident_created(self, incident: Incident, attempt: int) -> None:
        if not self.entered.is_set():
            self.entered.set()
            assert self.opened.wait(10), "the test never opened the gate"
        self.seen.append((incident.id, attempt))


def test_a_running_worker_takes_over_the_deliveries_of_a_process_that_ended_since(
    make_firebell: MakeFirebell,
) -> None:
    # A firebell declare that stopped (--deliver-timeout, Ctrl-C) while this worker ran: its
    # leases must not wait out their 5 minutes, as they would had the worker only looked at
    # start-up.
    gate = Gate()
    fb = make_firebell({"plugins": {"gate": {}}}, entry_points=False, extra_plugins={"gate": gate})
    fb.deliverer.max_workers = 1
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    dead_owner = f"{socket.gethostname()}:{int(finished.stdout)}:cccccc"
    stop = threading.Event()
    worker = threading.Thread(
        target=fb.deliverer.run_forever,
        args=(stop,),
        kwargs={"poll_interval": 0.05, "dead_lease_look": 0.2},
        daemon=True,
    )
    worker.start()
    try:
        first = fb.engine.declare(title="first", reporter="U1").incident.id
        assert gate.entered.wait(10)  # the worker's only slot is busy with the first incident
        second = fb.engine.declare(title="second", reporter="U1").incident.id
        (claim,) = fb.deliverer.outbox.claim(
            owner=dead_owner,
            now=datetime.now(UTC),
            lease=timedelta(minutes=5),
            dependencies={},
            limit=10,
        )
        assert claim.incident_id == second
        gate.opened.set()

        deadline = time.monotonic() + 10
        while len(gate.seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gate.seen == [(first, 1), (second, claim.attempt + 1)]
    finally:
        gate.opened.set()
        stop.set()
        fb.deliverer.wake()
        worker.join(10)
