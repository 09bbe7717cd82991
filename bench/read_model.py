"""Part ``read-model``: ``firebell list`` and ``firebell show`` on a big log, and start-up time.

On a generated SQLite log (100,000 incidents, 1,000,000 events in a full run; see
:mod:`bench.datagen`) it times, in process, what the CLI commands do after opening the log:
``list`` is :meth:`EventStore.list_incidents` (the first page, 50 incidents) and ``show`` is
:meth:`Engine.get`, :meth:`EventStore.select_events` and the plugins' backlog
(:meth:`Outbox.backlog`) of a random incident. The CLI run end to
end in a subprocess is reported as context beside a bare interpreter's start.

Start-up is what ``firebell run`` does before it serves: :func:`open_firebell`, releasing dead
leases and the delivery worker's first claim. It must not grow with the log, so it is timed on a
1,000-event log and on the big one in the same run.
"""

from __future__ import annotations

import random
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from firebell.core.config import parse_config
from firebell.core.runtime import Firebell, open_firebell

from bench.datagen import cached_sqlite_log, incident_name
from bench.measure import Result, Sizes, median, p95, timed

__all__ = ["measure_read_model", "open_log"]

Log = Callable[[str], None]
PART = "read-model"


def open_log(url: str) -> Firebell:
    """A Firebell on ``url`` with no plugins (``list`` and ``show`` need none)."""
    settings = parse_config(
        {"firebell": {"database_url": url}}, path=Path("bench.toml"), environ={}
    )
    return open_firebell(settings, entry_points=False)


def _startup(url: str) -> float:
    def start() -> None:
        firebell = open_log(url)
        try:
            firebell.deliverer.release_dead_leases()
            firebell.deliverer.drain()
        finally:
            firebell.close()

    return timed(start)


def _cli(config: Path, *arguments: str) -> float:
    command = [sys.executable, "-m", "firebell.adapters.cli.main", "--config", str(config)]

    def run() -> None:
        subprocess.run([*command, *arguments], check=True, capture_output=True)

    return timed(run)


def measure_read_model(sizes: Sizes, log: Log) -> list[Result]:
    """List, show and start-up on the big generated log."""
    events = sizes.log_events
    incidents = events // sizes.events_per_incident
    path, made = cached_sqlite_log(events, per_incident=sizes.events_per_incident)
    log(f"  log of {events:,} events: {path} ({'made now' if made else 'reused'})")
    small_path, _ = cached_sqlite_log(sizes.startup_small, per_incident=sizes.events_per_incident)
    url = f"sqlite:///{path}"
    rng = random.Random(7)
    results: list[Result] = []

    firebell = open_log(url)
    try:
        assert firebell.store.count_incidents() == incidents
        list_ms: list[float] = []
        show_ms: list[float] = []
        for _ in range(sizes.latency_samples):
            list_ms.append(1000 * timed(lambda: firebell.store.list_incidents(limit=50)))
            name = incident_name(rng.randrange(incidents))

            def show(name: str = name) -> None:
                incident = firebell.engine.get(name)
                history = firebell.store.select_events(incident.id)
                assert len(history) == sizes.events_per_incident
                # What firebell show reports of the deliveries (none undone in this log).
                backlog = firebell.deliverer.outbox.backlog(incident_id=incident.id)
                assert not any(b.pending or b.failed or b.skipped for b in backlog.values())

            show_ms.append(1000 * timed(show))
    finally:
        firebell.close()
    scale = f"{incidents:,} incidents, {events:,} events"
    for label, samples in (("list (first page of 50)", list_ms), ("show NAME", show_ms)):
        extra = {"samples_ms": samples, "incidents": incidents, "events": events}
        results.append(
            Result(
                PART,
                f"{label}, median, {scale}",
                median(samples),
                "ms",
                goal=50.0,
                better="lower",
                extra=extra,
            )
        )
        results.append(Result(PART, f"{label}, p95", p95(samples), "ms", goal=50.0, better="lower"))

    # The CLI end to end: interpreter, imports, opening the log, the query, printing.
    with tempfile.TemporaryDirectory(prefix="firebell-bench-") as folder:
        config = Path(folder) / "plugins.toml"
        config.write_text(f'[firebell]\ndatabase_url = "{url}"\n')
        name = incident_name(rng.randrange(incidents))
        cli_runs = 1 if sizes.mode == "smoke" else max(3, sizes.reps)
        bare = median(
            [
                timed(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True))
                for _ in range(cli_runs)
            ]
        )
        for label, arguments in (("list", ("list",)), ("show", ("show", name))):
            seconds = median([_cli(config, *arguments) for _ in range(cli_runs)])
            results.append(
                Result(
                    PART,
                    f"CLI `firebell {label}` end to end (subprocess)",
                    1000 * seconds,
                    "ms",
                    baseline=1000 * bare,
                    baseline_name="python -c pass",
                    better="lower",
                    note="context: mostly interpreter start and imports" if label == "show" else "",
                )
            )

    # Start-up must not grow with the log: 1k events against the big log, interleaved.
    small_url = f"sqlite:///{small_path}"
    small: list[float] = []
    big: list[float] = []
    _startup(small_url)
    _startup(url)  # warm imports and the OS page cache for both
    for _ in range(sizes.reps if sizes.mode == "smoke" else max(3, sizes.reps)):
        small.append(1000 * _startup(small_url))
        big.append(1000 * _startup(url))
    log(f"  start-up: {sizes.startup_small:,} events {small}, {events:,} events {big}")
    results.append(
        Result(
            PART,
            f"start-up (open + release leases + first claim), {events:,} events",
            median(big),
            "ms",
            baseline=median(small),
            baseline_name=f"{sizes.startup_small:,} events",
            goal=1.5,
            better="lower",
            note="goal: flat in the log's length (ratio <= 1.5x allows for noise)",
            extra={"small_ms": small, "big_ms": big},
        )
    )
    return results
