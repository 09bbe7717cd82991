"""Part ``event-log``: appends per second and rebuilding the read model, against the raw driver.

Appends go through :meth:`EventStore.insert_events` exactly as commands call it: one
``StatusUpdatePosted`` per call (one transaction each) on an existing incident, with the version
the caller saw, an idempotency key (as Slack's commands give one) and an outbox row for each of
four plugins; and batched, many events per call (no key, as a plugin's records). The baselines
write with the driver alone in the same run: one bare event row per transaction and
``executemany`` batches of event rows (the issue's baselines), and the same rows an append
writes, by hand (:func:`bench.backends.append_by_hand`: the key's look-up and row, the incident's
row read, its JSON decoded, updated and encoded again, the events, the outbox rows).

Rebuilding runs :meth:`EventStore.rebuild_read_model` over a generated log (see
:mod:`bench.datagen`) against a raw ``SELECT`` of the same rows in position order, with and
without ``json.loads`` of each payload.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from firebell.core.events import IncidentCreated, RecordedEvent, StatusUpdatePosted
from firebell.core.incident import Incident, apply
from firebell.core.rebuild import DraftFold
from firebell.core.schema import metadata
from firebell.core.serialization import converter, dump_event, load_event
from firebell.core.store import EventStore
from sqlalchemy.dialects import postgresql, sqlite

from bench.backends import Backend, Consume, EventRow, HandEvent
from bench.datagen import PLUGINS
from bench.measure import Result, Sizes, median, rate, timed

__all__ = ["check_by_hand", "measure_appends", "measure_rebuild"]

Log = Callable[[str], None]

_STREAMS = 20
_UPDATE = StatusUpdatePosted(
    "Rolled back the 14:02 deploy of payments-api; error rate is falling.", False
)
# The same event as an append by hand is given it: type, schema version, payload.
_HAND_UPDATE: HandEvent = (_UPDATE.type, _UPDATE.schema_version, converter.unstructure(_UPDATE))


def _seed(store: EventStore, prefix: str, now: datetime | None = None) -> list[str]:
    """Declare :data:`_STREAMS` incidents (untimed) and return their names."""
    names = [f"20260601-{prefix}-{i:02d}" for i in range(_STREAMS)]
    now = now or datetime.now(UTC)
    for name in names:
        store.insert_events(
            name,
            [IncidentCreated(name, "Checkout is down", "Payments fail", "SEV2", "U0REPORT")],
            actor="U0REPORT",
            occurred_at=now,
            expected_version=0,
        )
    return names


def _firebell_single(url: str, count: int) -> float:
    store = EventStore(url)
    try:
        names = _seed(store, "fb")
        versions = dict.fromkeys(names, 1)
        now = datetime.now(UTC)

        def run() -> None:
            for i in range(count):
                name = names[i % _STREAMS]
                store.insert_events(
                    name,
                    [_UPDATE],
                    actor="U0REPORT",
                    occurred_at=now,
                    expected_version=versions[name],
                    idempotency_key=f"slack-command:{i}",
                    subscribers=PLUGINS,
                )
                versions[name] += 1

        return timed(run)
    finally:
        store.dispose()


def _firebell_batched(url: str, count: int, batch: int) -> float:
    store = EventStore(url)
    try:
        names = _seed(store, "fb")
        versions = dict.fromkeys(names, 1)
        now = datetime.now(UTC)
        payload = [_UPDATE] * batch

        def run() -> None:
            for i in range(count // batch):
                name = names[i % _STREAMS]
                store.insert_events(
                    name,
                    payload,
                    actor="U0REPORT",
                    occurred_at=now,
                    expected_version=versions[name],
                    subscribers=PLUGINS,
                )
                versions[name] += batch

        return timed(run)
    finally:
        store.dispose()


def _row(stream: str, version: int, at: object) -> EventRow:
    return (
        stream,
        version,
        _UPDATE.type,
        _UPDATE.schema_version,
        dump_event(_UPDATE),
        at,
        "U0REPORT",
        None,
    )


def _rows(backend: Backend, prefix: str, count: int, first_version: int) -> list[EventRow]:
    """``count`` rows spread over the streams in turn, as the one-per-transaction appends go."""
    at = backend.bind_time(datetime.now(UTC))
    return [
        _row(f"20260601-{prefix}-{i % _STREAMS:02d}", first_version + i // _STREAMS, at)
        for i in range(count)
    ]


def _batches(backend: Backend, count: int, batch: int) -> list[list[EventRow]]:
    """Batches of ``batch`` rows of one stream each, streams in turn, as the batched appends go."""
    at = backend.bind_time(datetime.now(UTC))
    versions = [1] * _STREAMS
    chunks = []
    for b in range(count // batch):
        stream = b % _STREAMS
        first = versions[stream]
        chunks.append([_row(f"20260601-raw-{stream:02d}", first + k, at) for k in range(batch)])
        versions[stream] += batch
    return chunks


def _raw_single(backend: Backend, url: str, count: int) -> float:
    rows = _rows(backend, "raw", count, 1)
    raw = backend.raw(url)
    try:

        def run() -> None:
            for row in rows:
                raw.insert_event(row)

        return timed(run)
    finally:
        raw.close()


def _raw_like_firebell(backend: Backend, url: str, count: int) -> float:
    store = EventStore(url)
    try:
        names = _seed(store, "fb")
    finally:
        store.dispose()
    # The same calls as _firebell_single's: stream, the version seen, the key.
    calls = [(names[i % _STREAMS], 1 + i // _STREAMS, f"slack-command:{i}") for i in range(count)]
    now = datetime.now(UTC)
    raw = backend.raw(url)
    try:

        def run() -> None:
            for stream, version, key in calls:
                raw.insert_like_firebell(
                    stream, version, [_HAND_UPDATE], now, "U0REPORT", key, PLUGINS
                )

        return timed(run)
    finally:
        raw.close()


def _raw_batched_like_firebell(backend: Backend, url: str, count: int, batch: int) -> float:
    store = EventStore(url)
    try:
        names = _seed(store, "fb")
    finally:
        store.dispose()
    # The same calls as _firebell_batched's.
    calls = [(names[b % _STREAMS], 1 + (b // _STREAMS) * batch) for b in range(count // batch)]
    payload = [_HAND_UPDATE] * batch
    now = datetime.now(UTC)
    raw = backend.raw(url)
    try:

        def run() -> None:
            for stream, version in calls:
                raw.insert_like_firebell(stream, version, payload, now, "U0REPORT", None, PLUGINS)

        return timed(run)
    finally:
        raw.close()


def _raw_batched(backend: Backend, url: str, count: int, batch: int) -> float:
    chunks = _batches(backend, count, batch)
    raw = backend.raw(url)
    try:

        def run() -> None:
            for chunk in chunks:
                raw.insert_events(chunk)

        return timed(run)
    finally:
        raw.close()


def _stored_rows(url: str) -> dict[str, list[Any]]:
    """Every row of the tables an append writes, as the driver returns them (SQLite: the
    stored text of times)."""
    store = EventStore(url)
    try:
        with store.read() as connection:
            return {
                table.name: connection.exec_driver_sql(
                    f"SELECT * FROM {table.name} ORDER BY "
                    + ", ".join(column.name for column in table.primary_key.columns)
                ).all()
                for table in (
                    metadata.tables[name]
                    for name in ("events", "incidents", "resources", "deliveries", "commands")
                )
            }
    finally:
        store.dispose()


def check_by_hand(backend: Backend) -> None:
    """Raise unless :func:`bench.backends.append_by_hand` writes exactly the rows Firebell's
    appends write, byte for byte: single appends with keys, then a batch, on two new logs."""
    now = datetime.now(UTC)
    written = []
    for by_hand in (False, True):
        with backend.new_log() as url:
            store = EventStore(url)
            try:
                names = _seed(store, "fb", now)
            finally:
                store.dispose()
            calls: list[tuple[str, int, str | None]] = [
                (names[i % _STREAMS], 1 + i // _STREAMS, f"k{i}") for i in range(40)
            ]
            calls.append((names[0], 3, None))  # then a batch, with no key
            if by_hand:
                raw = backend.raw(url)
                try:
                    for stream, version, key in calls:
                        count = 1 if key else 5
                        raw.insert_like_firebell(
                            stream, version, [_HAND_UPDATE] * count, now, "U0REPORT", key, PLUGINS
                        )
                finally:
                    raw.close()
            else:
                store = EventStore(url)
                try:
                    for stream, version, key in calls:
                        store.insert_events(
                            stream,
                            [_UPDATE] * (1 if key else 5),
                            actor="U0REPORT",
                            occurred_at=now,
                            expected_version=version,
                            idempotency_key=key,
                            subscribers=PLUGINS,
                        )
                finally:
                    store.dispose()
            written.append(_stored_rows(url))
    firebell, raw_rows = written
    for table, rows in firebell.items():
        if rows != raw_rows[table]:
            differ = next(
                (pair for pair in zip(rows, raw_rows[table], strict=False) if pair[0] != pair[1]),
                (len(rows), len(raw_rows[table])),
            )
            raise RuntimeError(
                f"the by-hand baseline on {backend.name} writes other {table} rows than "
                f"Firebell's appends (Firebell, by hand: {differ!r}): it measures something else"
            )


def measure_appends(sizes: Sizes, backend: Backend, log: Log) -> list[Result]:
    """Appends per second, one per transaction and batched, beside the raw driver."""
    part = "event-log" if backend.name == "SQLite" else "event-log-pg"
    check_by_hand(backend)
    single, batched = sizes.appends_single, sizes.appends_batched
    batch = sizes.batch_size
    samples: dict[str, list[float]] = {
        name: [] for name in ("fb1", "raw1", "rawlike", "fbN", "rawN", "rawlikeN")
    }
    runners: dict[str, Callable[[str], float]] = {
        "fb1": lambda url: single / _firebell_single(url, single),
        "raw1": lambda url: single / _raw_single(backend, url, single),
        "rawlike": lambda url: single / _raw_like_firebell(backend, url, single),
        "fbN": lambda url: batched / _firebell_batched(url, batched, batch),
        "rawN": lambda url: batched / _raw_batched(backend, url, batched, batch),
        "rawlikeN": lambda url: batched / _raw_batched_like_firebell(backend, url, batched, batch),
    }
    order = list(runners)
    for rep in range(sizes.reps):
        # Rotate the order so that no variant always runs first (or last) on a noisy machine.
        for name in order[rep % len(order) :] + order[: rep % len(order)]:
            with backend.new_log() as url:
                samples[name].append(runners[name](url))
        log(
            f"  {backend.name} appends, repetition {rep + 1}/{sizes.reps}: "
            + ", ".join(f"{k}={v[-1]:,.0f}/s" for k, v in samples.items())
        )
    m = {name: median(values) for name, values in samples.items()}
    extra = {"samples_per_s": samples, "plugins": list(PLUGINS), "batch": batch}
    return [
        Result(
            part,
            f"append, 1 event/transaction ({len(PLUGINS)} outbox rows)",
            m["fb1"],
            "/s",
            baseline=m["raw1"],
            baseline_name="raw INSERT",
            goal=0.5,
            extra=extra,
        ),
        Result(
            part,
            "append, 1 event/transaction, same SQL by hand",
            m["fb1"],
            "/s",
            baseline=m["rawlike"],
            baseline_name="raw, same rows",
            goal=0.5,
            note="the baseline writes the rows an append writes with the driver alone (the "
            "idempotency key looked up and recorded, the incident's row read, its JSON decoded, "
            "updated and encoded, the event, 4 outbox rows): the gap is Firebell's Python",
        ),
        Result(
            part,
            f"append, batches of {batch}",
            m["fbN"],
            "/s",
            baseline=m["rawN"],
            baseline_name="raw executemany",
            goal=0.5,
        ),
        Result(
            part,
            f"append, batches of {batch}, same SQL by hand",
            m["fbN"],
            "/s",
            baseline=m["rawlikeN"],
            baseline_name="raw, same rows",
            goal=0.5,
            note=f"the baseline writes the rows a batch writes ({len(PLUGINS)} outbox rows per "
            "event, the incident's JSON decoded and encoded once) with the driver alone",
        ),
    ]


def _rebuild(url: str, events: int) -> float:
    store = EventStore(url)
    try:
        started = time.perf_counter()
        counted = store.rebuild_read_model()
        seconds = time.perf_counter() - started
    finally:
        store.dispose()
    if counted != events:
        raise RuntimeError(f"the rebuild read {counted} events, not {events}")
    return seconds


def _decode(rows: Sequence[Any]) -> None:
    loads = json.loads
    for row in rows:
        loads(row[5])


def _stored_time(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite: naive UTC text
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    moment: datetime = value
    return moment


def _load(rows: Sequence[Any]) -> None:
    for position, incident_id, version, kind, schema, data, at, actor, causation in rows:
        RecordedEvent(
            incident_id,
            version,
            position,
            _stored_time(at),
            actor,
            causation,
            load_event(kind, schema, data),
        )


def _folder() -> Callable[[Sequence[Any]], None]:
    states: dict[str, Incident] = {}

    def fold(rows: Sequence[Any]) -> None:
        for position, incident_id, version, kind, schema, data, at, actor, causation in rows:
            event = RecordedEvent(
                incident_id,
                version,
                position,
                _stored_time(at),
                actor,
                causation,
                load_event(kind, schema, data),
            )
            states[incident_id] = apply(states.get(incident_id), event)

    return fold


class _Drafter:
    """The rebuild's own fold (:class:`DraftFold`) over the scan's rows, then the incidents'
    rows made (their JSON encoded): everything a rebuild does but its writes."""

    def __init__(self, backend: Backend) -> None:
        dialect = sqlite.dialect() if backend.name == "SQLite" else postgresql.psycopg.dialect()
        self.fold = DraftFold(dialect)

    def __call__(self, rows: Sequence[Any]) -> None:
        # The scan's column order, as the rebuild's query orders them.
        self.fold.add((r[0], r[1], r[2], r[6], r[7], r[8], r[3], r[4], r[5]) for r in rows)

    def finish(self) -> None:
        self.fold.incident_rows()
        self.fold.resource_rows()


def measure_rebuild(
    sizes: Sizes, backend: Backend, url: str, events: int, log: Log
) -> list[Result]:
    """Rebuilding the read model from ``events`` events at ``url``, beside raw scans.

    Between the raw scan and the rebuild, a ladder of what the rebuild does to each row, with
    the driver alone: ``json.loads``; then the event decoded by Firebell's converter
    (:func:`load_event`, cattrs) into a :class:`RecordedEvent`; then folded with
    :func:`apply` into incident states (the rebuild's way before :mod:`firebell.core.rebuild`).
    Beside them, the rebuild's own fold (:class:`DraftFold`) and the rows it makes: what is left
    above that rung is writing the read model. And a ceiling: the raw scan's time plus the
    read model's rows deleted and written back by the driver alone (:meth:`RawLog.
    rewrite_read_model`), which no rebuild that writes them anew can beat.
    """
    part = "event-log" if backend.name == "SQLite" else "event-log-pg"
    raw = backend.raw(url)
    ladder: dict[str, Callable[[], Consume | None]] = {
        "scan": lambda: None,
        "scan_json": lambda: _decode,
        "scan_load": lambda: _load,
        "scan_apply": _folder,
        "scan_draft": lambda: _Drafter(backend),
    }
    try:
        raw.scan()  # warm the caches: every variant then reads from memory
        samples: dict[str, list[float]] = {
            name: [] for name in (*ladder, "rebuild", "scan_rewrite")
        }
        reps = max(1, min(sizes.reps, 3))
        for rep in range(reps):
            for name, consumer in ladder.items():
                consume = consumer()
                started = time.perf_counter()
                raw.scan(consume)
                if isinstance(consume, _Drafter):
                    consume.finish()
                samples[name].append(rate(events, time.perf_counter() - started))
            samples["rebuild"].append(rate(events, _rebuild(url, events)))
            # Writing the read model by hand, after the raw scan's time: no rebuild that
            # rewrites the read model gets above this, however cheap its fold.
            rewrite = raw.rewrite_read_model()
            samples["scan_rewrite"].append(rate(events, events / samples["scan"][-1] + rewrite))
            log(
                f"  {backend.name} rebuild of {events:,} events, repetition {rep + 1}/{reps}: "
                + ", ".join(f"{k}={v[-1]:,.0f}/s" for k, v in samples.items())
            )
    finally:
        raw.close()
    m = {name: median(values) for name, values in samples.items()}
    extra = {"events": events, "samples_per_s": samples}
    scale = f"{events:,} events"
    return [
        Result(
            part,
            f"rebuild read model, {scale}",
            m["rebuild"],
            "/s",
            baseline=m["scan"],
            baseline_name="raw SELECT scan",
            goal=0.3,
            extra=extra,
        ),
        Result(
            part,
            f"rebuild read model, {scale}",
            m["rebuild"],
            "/s",
            baseline=m["scan_json"],
            baseline_name="raw scan + json.loads",
        ),
        Result(
            part,
            "  ladder: raw scan + load_event (cattrs)",
            m["scan_load"],
            "/s",
            baseline=m["scan"],
            baseline_name="raw SELECT scan",
        ),
        Result(
            part,
            "  ladder: raw scan + load_event + apply",
            m["scan_apply"],
            "/s",
            baseline=m["scan"],
            baseline_name="raw SELECT scan",
            note="the rebuild's ceiling when it decoded with cattrs and folded with apply",
        ),
        Result(
            part,
            "  ladder: raw scan + the rebuild's DraftFold and rows",
            m["scan_draft"],
            "/s",
            baseline=m["scan"],
            baseline_name="raw SELECT scan",
            note="everything the rebuild does but writing the read model (the rest of the gap)",
        ),
        Result(
            part,
            "  ceiling: raw scan + the read model's rows written by hand, no fold",
            m["scan_rewrite"],
            "/s",
            baseline=m["scan"],
            baseline_name="raw SELECT scan",
            note="the best any rebuild that writes the read model anew can do",
        ),
    ]
