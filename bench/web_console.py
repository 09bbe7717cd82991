"""Part ``web``: the web console's pages and ``firebell list``'s filters on a big read model.

On SQLite and on PostgreSQL (``scripts/postgres start``, as the ``postgres`` part finds it) it
fills a new log with 100,000 incidents in a full run (10,000 quick) as the console's scale test
does (:mod:`firebell.testing.bulk_incidents`): severities SEV0, SEV1 and SEV2 in turn, every
fourth incident resolved, titles ``Bulk incident number N``; PostgreSQL's tables are then
vacuumed and analyzed, as autovacuum would leave them.

The console is served by uvicorn in a thread and fetched over loopback with httpx, every page
once a round, round after round; the same filters are timed in process as ``firebell list``
runs them (:meth:`EventStore.list_incidents`, the first page of 50). Each filtered page's
baseline is the plain first page ``/incidents`` of the same run and database.
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable
from contextlib import AbstractContextManager

import httpx
from firebell.core.incident import IncidentState

from bench.backends import PostgresBackend, SqliteBackend, postgres_url
from bench.measure import Result, Sizes, median, p95, timed
from bench.read_model import open_log
from firebell.testing.asgi_server import serve_in_thread
from firebell.testing.bulk_incidents import bulk_name, fill_incidents

__all__ = ["LIST_FILTERS", "PAGES", "measure_web_console"]

Log = Callable[[str], None]
PART = "web"


#: The pages fetched each round (query strings of ``/incidents``), as docs/web.md lists them;
#: ``{last}`` is the last page's number. The first is every other page's baseline.
PAGES: tuple[str, ...] = (
    "",
    "?page=2",
    "?page={last}",
    "?state=resolved",
    "?state=open&severity=SEV1",
    "?severity=SEV0",
    "?q=number+12345",
    "?q=bulk-09999",
    "?q=no+such+words",
    "?q=incident",
)
#: A ``firebell list`` filter: state, severity, search.
Filter = tuple[IncidentState | None, str | None, str | None]
#: The filters timed in process, as ``firebell list`` runs them.
LIST_FILTERS: tuple[Filter, ...] = (
    (None, None, None),
    (IncidentState.RESOLVED, None, None),
    (IncidentState.OPEN, "SEV1", None),
    (None, "SEV0", None),
    (None, None, "number 12345"),
    (None, None, "no such words"),
)


def _page_label(query: str, last: int) -> str:
    shown = query.format(last=last)
    label = f"/incidents{shown}"
    if "{last}" in query:
        label += " (the last)"
    return label


def _measure_one(
    backend_name: str,
    url: str,
    count: int,
    samples: int,
    log: Log,
) -> list[Result]:
    part = f"{PART}-pg" if backend_name == "PostgreSQL" else PART
    from firebell.adapters.web import PAGE_SIZE, create_app

    firebell = open_log(url)
    results: list[Result] = []
    try:
        started = time.perf_counter()
        fill_incidents(firebell.store, count)
        log(f"  {backend_name}: {count:,} incidents in {time.perf_counter() - started:.1f} s")
        assert firebell.store.count_incidents() == count
        last = -(-count // PAGE_SIZE)
        app = create_app(firebell)
        warmed = app.state.console.stats.warm()
        if warmed is not None:
            warmed.join()
        server, thread, base = serve_in_thread(app)
        rng = random.Random(11)
        pages = [*(_page_label(q, last) for q in PAGES), "/incidents/<name>", "/metrics"]
        page_ms: dict[str, list[float]] = {label: [] for label in pages}
        list_ms: dict[str, list[float]] = {_filter_label(f): [] for f in LIST_FILTERS}
        try:
            with httpx.Client(base_url=base, timeout=30.0) as client:

                def fetch(path: str) -> None:
                    response = client.get(path)
                    assert response.status_code == 200, (path, response.status_code)

                def list_first_page(chosen: Filter) -> None:
                    state, severity, search = chosen
                    firebell.store.list_incidents(
                        state=state, severity=severity, search=search, limit=50
                    )

                queries = [
                    *(f"/incidents{q.format(last=last)}" for q in PAGES),
                    None,
                    "/metrics",
                ]
                for round_number in range(samples + 1):  # the first round warms up
                    for label, path in zip(pages, queries, strict=True):
                        target = path or f"/incidents/{bulk_name(rng.randrange(count))}"
                        elapsed = 1000 * timed(functools.partial(fetch, target))
                        if round_number:
                            page_ms[label].append(elapsed)
                    for chosen in LIST_FILTERS:
                        elapsed = 1000 * timed(functools.partial(list_first_page, chosen))
                        if round_number:
                            list_ms[_filter_label(chosen)].append(elapsed)
        finally:
            server.should_exit = True
            thread.join()
    finally:
        firebell.close()
    scale = f"{count:,} incidents"
    results += _lines(part, "page", page_ms, pages[0], scale)
    results += _lines(
        part, "firebell list", list_ms, _filter_label(LIST_FILTERS[0]), scale, in_process=True
    )
    return results


def _filter_label(chosen: Filter) -> str:
    state, severity, search = chosen
    options = []
    if state is not None:
        options.append(f"--state {state.value}")
    if severity is not None:
        options.append(f"--severity {severity}")
    if search is not None:
        options.append(f'--search "{search}"')
    return " ".join(options) or "(no filter)"


def _lines(
    part: str,
    kind: str,
    samples: dict[str, list[float]],
    plain: str,
    scale: str,
    *,
    in_process: bool = False,
) -> list[Result]:
    results: list[Result] = []
    base = median(samples[plain])
    for label, values in samples.items():
        name = f"{kind} {label}" if in_process else label
        extra = {"samples_ms": values}
        shown = f"{name}, median, {scale}" if label == plain else f"{name}, median"
        results.append(
            Result(
                part,
                shown,
                median(values),
                "ms",
                baseline=None if label == plain else base,
                baseline_name="" if label == plain else f"{plain} median",
                better="lower",
                extra=extra,
            )
        )
        results.append(Result(part, f"{name}, p95", p95(values), "ms", goal=100.0, better="lower"))
    return results


def measure_web_console(sizes: Sizes, log: Log, *, smoke: bool) -> list[Result]:
    """The console's pages and ``firebell list``'s filters on SQLite and PostgreSQL."""
    count = sizes.log_events // sizes.events_per_incident
    samples = max(2, sizes.latency_samples // 2)
    results: list[Result] = []
    backends: list[tuple[str, Callable[[], AbstractContextManager[str]], Callable[[], None]]]
    sqlite = SqliteBackend()
    backends = [("SQLite", sqlite.new_log, sqlite.cleanup)]
    url, source = postgres_url(start=not smoke)
    if url is None:
        log(f"  PostgreSQL skipped: {source}")
        results.append(Result(f"{PART}-pg", "skipped", 0.0, "", note=f"no PostgreSQL: {source}"))
    else:
        log(f"  PostgreSQL from {source}")
        postgres = PostgresBackend(url)
        backends.append(("PostgreSQL", postgres.new_log, postgres.cleanup))
    for name, new_log, cleanup in backends:
        try:
            with new_log() as log_url:
                results += _measure_one(name, log_url, count, samples, log)
        finally:
            cleanup()
    return results
