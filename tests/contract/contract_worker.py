"""A Firebell process for the several-processes tests, run as ``python contract_worker.py ...``.

``deliver URL FOLDER GO``
    Delivers the log's events to two recording plugins, ``alpha`` (which links a resource on
    each creation) and ``beta`` (which waits for alpha), until nothing is pending; each delivery
    is a JSON line in ``FOLDER/<pid>.jsonl``.
``declare URL COUNT GO``
    Declares COUNT incidents, drawing names from a small pool so that processes collide, and
    prints their names as a JSON list.

Both say they are ready (a file ``ready-<pid>`` beside GO), then wait until GO exists, so
that every process starts at the same moment.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from contract_support import Recorder, settings_for
from firebell.core import open_firebell
from firebell.core.naming import NameGenerator

DEADLINE_SECONDS = 120.0


class SmallWorld(random.Random):
    """Draws from the first 20 words of each list only: 400 names, so draws often collide."""

    def choice(self, seq: Sequence[str]) -> str:  # type: ignore[override]
        """One of the first 20 items."""
        return seq[self.randrange(min(len(seq), 20))]


def _wait_for(go: Path) -> None:
    (go.parent / f"ready-{os.getpid()}").touch()
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not go.exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"{go} never appeared")
        time.sleep(0.01)


def deliver(url: str, folder: Path, go: Path) -> int:
    """Deliver until no delivery is pending; returns how many this process ran."""
    path = folder / f"{os.getpid()}.jsonl"
    plugins = {
        "alpha": Recorder("alpha", link_kind="thing", pause=0.002, path=path),
        "beta": Recorder("beta", after=["alpha"], pause=0.001, path=path),
    }
    firebell = open_firebell(
        settings_for(url, list(plugins)), extra_plugins=plugins, entry_points=False
    )
    try:
        _wait_for(go)
        delivered = 0
        deadline = time.monotonic() + DEADLINE_SECONDS
        while time.monotonic() < deadline:
            delivered += firebell.deliverer.drain()
            backlog = firebell.deliverer.outbox.backlog()
            if all(figures.pending == 0 for figures in backlog.values()):
                return delivered
            time.sleep(0.01)  # what is left is leased by the other processes
        raise SystemExit("deliveries still pending at the deadline")
    finally:
        firebell.close()


def declare(url: str, count: int, go: Path) -> list[str]:
    """Declare ``count`` incidents; returns their names."""
    firebell = open_firebell(
        settings_for(url),
        entry_points=False,
        names=NameGenerator(SmallWorld()),
    )
    try:
        _wait_for(go)
        return [
            firebell.engine.declare(title=f"Outage {i}", reporter="U_LOAD").incident.id
            for i in range(count)
        ]
    finally:
        firebell.close()


def main(argv: list[str]) -> None:
    """Run the mode named by ``argv[0]``."""
    mode, url, *rest = argv
    if mode == "deliver":
        print(deliver(url, Path(rest[0]), Path(rest[1])))
    elif mode == "declare":
        print(json.dumps(declare(url, int(rest[0]), Path(rest[1]))))
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
