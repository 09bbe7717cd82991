"""``python -m bench [PART ...] [--quick | --smoke] [--delay MS] [--reps N]``.

Parts: ``event-log`` (SQLite appends and rebuild), ``read-model`` (list, show, start-up),
``declare`` (declare to done through the Slack app), ``burst`` (100 incidents under Slack's rate
limits), ``postgres`` (the event-log part on PostgreSQL), ``web`` (the web console's pages and
``firebell list``'s filters on SQLite and PostgreSQL). No part named: all of them. The table
goes to stdout, progress to stderr, the results as JSON to ``bench/results/``.

``python -m bench profile [--delay MS]`` profiles the declare path instead (see
:mod:`bench.profile_declare`; the delay defaults to 0 there).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence

from bench.measure import Result, Sizes
from bench.report import format_table, machine, write_json

__all__ = ["PARTS", "main"]

PARTS = ("event-log", "read-model", "declare", "burst", "postgres", "web")


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _event_log(sizes: Sizes, options: argparse.Namespace) -> list[Result]:
    from bench.backends import SqliteBackend
    from bench.datagen import cached_sqlite_log
    from bench.event_log import measure_appends, measure_rebuild

    backend = SqliteBackend()
    try:
        results = measure_appends(sizes, backend, _log)
        started = time.perf_counter()
        path, made = cached_sqlite_log(sizes.log_events, per_incident=sizes.events_per_incident)
        if made:
            _log(
                f"  generated {sizes.log_events:,} events in "
                f"{time.perf_counter() - started:.1f} s (with the read model) at {path}"
            )
        results += measure_rebuild(sizes, backend, f"sqlite:///{path}", sizes.log_events, _log)
        return results
    finally:
        backend.cleanup()


def _postgres(sizes: Sizes, options: argparse.Namespace) -> list[Result]:
    from firebell.core.store import EventStore

    from bench.backends import PostgresBackend, postgres_url
    from bench.datagen import fill_log
    from bench.event_log import measure_appends, measure_rebuild

    url, source = postgres_url(start=not options.smoke)
    if url is None:
        _log(f"  PostgreSQL skipped: {source}")
        return [Result("event-log-pg", "skipped", 0.0, "", note=f"no PostgreSQL server: {source}")]
    _log(f"  PostgreSQL from {source}")
    backend = PostgresBackend(url)
    try:
        results = measure_appends(sizes, backend, _log)
        with backend.new_log() as log_url:
            store = EventStore(log_url)
            started = time.perf_counter()
            try:
                fill_log(store, sizes.log_events, per_incident=sizes.events_per_incident)
            finally:
                store.dispose()
            _log(
                f"  generated {sizes.log_events:,} events on PostgreSQL in "
                f"{time.perf_counter() - started:.1f} s"
            )
            results += measure_rebuild(sizes, backend, log_url, sizes.log_events, _log)
        return results
    finally:
        backend.cleanup()


def _read_model(sizes: Sizes, options: argparse.Namespace) -> list[Result]:
    from bench.read_model import measure_read_model

    return measure_read_model(sizes, _log)


def _web(sizes: Sizes, options: argparse.Namespace) -> list[Result]:
    from bench.web_console import measure_web_console

    return measure_web_console(sizes, _log, smoke=options.smoke)


def _declare(sizes: Sizes, options: argparse.Namespace) -> list[Result]:
    from bench.declare import measure_declare

    return measure_declare(sizes, options.delay / 1000.0, _log)


def _burst(sizes: Sizes, options: argparse.Namespace) -> list[Result]:
    from bench.burst import measure_burst

    return measure_burst(sizes, _log, time_scale=options.time_scale, delay=options.delay / 1000.0)


def _profile(options: argparse.Namespace) -> None:
    from bench.profile_declare import profile_declare

    sizes = Sizes.for_mode("smoke" if options.smoke else "quick" if options.quick else "full")
    delay = 0.0 if options.delay is None else options.delay / 1000.0
    print(profile_declare(sizes, delay, _log))


_RUNNERS: dict[str, Callable[[Sizes, argparse.Namespace], list[Result]]] = {
    "event-log": _event_log,
    "read-model": _read_model,
    "declare": _declare,
    "burst": _burst,
    "postgres": _postgres,
    "web": _web,
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Firebell's benchmarks, each against a baseline measured in the same run.",
    )
    parser.add_argument("parts", nargs="*", metavar="PART", help=f"any of {', '.join(PARTS)}")
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes (100k events), fewer repetitions"
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, to check the bench runs (wins over --quick)",
    )
    parser.add_argument(
        "--delay",
        type=float,
        default=None,
        help="ms every fake service waits before answering (default 50; 10 with --smoke)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=20.0,
        help="burst: how much faster fake Slack's rate-limit clock runs than the wall clock",
    )
    parser.add_argument("--reps", type=int, default=None, help="repetitions (default per size)")
    parser.add_argument("--no-json", action="store_true", help="do not write bench/results/")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """Run the chosen parts and print the table."""
    parser = _parser()
    options = parser.parse_args(argv)
    if options.parts == ["profile"]:
        _profile(options)
        return
    unknown = [part for part in options.parts if part not in PARTS]
    if unknown:
        parser.error(f"unknown part {unknown[0]!r}; choose from {', '.join(PARTS)}")
    mode = "smoke" if options.smoke else "quick" if options.quick else "full"
    sizes = Sizes.for_mode(mode)
    if options.reps:
        import attrs

        sizes = attrs.evolve(sizes, reps=options.reps)
    if options.delay is None:
        options.delay = 10.0 if options.smoke else 50.0
    parts = list(dict.fromkeys(options.parts)) or list(PARTS)
    info = machine()
    _log(
        f"firebell bench ({mode}): {', '.join(parts)} on {info['nproc']} CPUs, {info['cpu']}, "
        f"Python {info['python']}, SQLite {info['sqlite']}"
    )
    results: list[Result] = []
    for part in parts:
        started = time.perf_counter()
        _log(f"{part} ...")
        results += _RUNNERS[part](sizes, options)
        _log(f"{part} done in {time.perf_counter() - started:.1f} s")
    print(
        f"\nFirebell bench, {mode} run: {info['nproc']} CPUs ({info['cpu']}), "
        f"Python {info['python']}, SQLite {info['sqlite']}\n"
    )
    print(format_table(results))
    if not options.no_json:
        path = write_json(
            results,
            mode=mode,
            parts=parts,
            options={"delay_ms": options.delay, "time_scale": options.time_scale},
        )
        print(f"\nJSON: {path}")
