"""Part ``declare``: from a signed ``/incident`` form submission to the last side effect done.

Firebell runs as ``firebell run`` serves it (see :mod:`bench.services`), every fake service
answering each call after the same delay. The clock starts when the signed ``view_submission``
is sent to the app and stops at the last of the side effects a responder waits for:

- Slack: the channel created, its topic set, the runbook bookmarked, the responders invited, the
  summary posted, the reporter's DM sent, the announcement in each of the three channels;
- PagerDuty: the incident created; Notion: the post-mortem page created; Statuspage: the status
  incident opened (the incident is customer facing).

"Quiet" is later: every delivery done, including the Slack plugin bookmarking the PagerDuty,
Notion and Statuspage links and updating the summary.

Baselines, from the same run: the *sum of delays* (every call the fakes received, times the
delay: what a bot making its calls one after another pays) and the *critical path*: two delays,
``conversations.create`` and then the calls that need the new channel's id, all at once
(everything that does not need the channel, like ``conversations.open`` for the DM or a lookup,
could run beside the create). The ack is the HTTP answer to the submission.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import attrs

from bench.measure import Result, Sizes, median, p95
from bench.services import RUNBOOK, Delivered, Running, Stamp, running_firebell
from firebell.testing import slack_requests as sr
from firebell.testing.fake_statuspage import STATUSPAGE_PAGE_ID

__all__ = ["DeclareRun", "declare_once", "format_waterfall", "measure_declare"]

Log = Callable[[str], None]
PART = "declare"
#: Seconds between declarations: longer than Statuspage's 1.1 s request spacing and Notion's
#: 1.05 s window.
SETTLE = 1.2


@attrs.frozen
class DeclareRun:
    """One declaration, timed: seconds from sending the submission."""

    ack: float
    done: float
    quiet: float
    calls: int
    calls_until_done: int
    milestones: dict[str, float]
    waterfall: list[tuple[float, str, str]]
    deliveries: list[Delivered]


def _first(stamps: list[Stamp], predicate: Callable[[Stamp], bool]) -> Stamp | None:
    return next((s for s in stamps if predicate(s)), None)


def _milestones(
    stamps: list[Stamp], channel_id: str, announcements: tuple[str, ...]
) -> dict[str, Stamp | None]:
    def slack(method: str, **params: str) -> Callable[[Stamp], bool]:
        def match(stamp: Stamp) -> bool:
            if stamp.service != "slack" or stamp.method != method or stamp.status != 200:
                return False
            given = stamp.params()
            return all(given.get(k) == v for k, v in params.items())

        return match

    def dm(stamp: Stamp) -> bool:
        # To the DM channel, or to the reporter's user id (which opens it on the way).
        return slack("chat.postMessage")(stamp) and str(
            stamp.params().get("channel", "")
        ).startswith(("D", "U"))

    def bookmark(stamp: Stamp) -> bool:
        return slack("bookmarks.add", channel_id=channel_id)(stamp) and (
            stamp.params().get("link") == RUNBOOK
        )

    found: dict[str, Stamp | None] = {
        "channel created": _first(stamps, slack("conversations.create")),
        "topic": _first(stamps, slack("conversations.setTopic", channel=channel_id)),
        "runbook bookmark": _first(stamps, bookmark),
        "invites": _first(stamps, slack("conversations.invite", channel=channel_id)),
        "summary": _first(stamps, slack("chat.postMessage", channel=channel_id)),
        "DM": _first(stamps, dm),
    }
    for index, channel in enumerate(announcements, start=1):
        found[f"announcement {index}"] = _first(stamps, slack("chat.postMessage", channel=channel))
    found["PagerDuty incident"] = _first(
        stamps,
        lambda s: s.service == "pagerduty" and s.method == "POST /incidents" and s.status == 201,
    )
    found["Notion page"] = _first(
        stamps,
        lambda s: s.service == "notion" and s.method == "POST /v1/pages" and s.status == 200,
    )
    status_create = f"POST /v1/pages/{STATUSPAGE_PAGE_ID}/incidents"
    found["Statuspage incident"] = _first(
        stamps,
        lambda s: s.service == "statuspage" and s.method == status_create and s.status == 201,
    )
    return found


def declare_once(running: Running, title: str, *, settle: float = SETTLE) -> DeclareRun:
    """Declare one incident through the form and wait until every delivery is done."""
    view = running.open_form()
    running.wait_quiet()
    # Statuspage's and Notion's client-side limiters are per process: let the slots the last
    # declaration took expire, so that each declaration is timed on its own.
    time.sleep(settle)
    body = running.submission(view, title)
    headers = sr.headers_for(body)
    started = time.perf_counter()
    answer = running.http.post(running.events_url, content=body, headers=headers)
    acked = time.perf_counter()
    if answer.status_code != 200 or answer.content:
        raise RuntimeError(f"the submission was refused: {answer.status_code} {answer.text}")
    running.wait_quiet()
    # The reply on the response_url is the adapter's, not a side effect anyone waits for.
    stamps = [
        s for s in running.stamps.since(started) if not s.request.path.startswith("/commands")
    ]
    incident = running.store.list_incidents(limit=1)[0]
    if incident.title != title:
        raise RuntimeError(f"expected {title!r}, the newest incident is {incident.title!r}")
    channel = incident.resource("channel", plugin="slack")
    if channel is None:
        raise RuntimeError(f"{incident.id} has no channel: {running.outbox.backlog()}")
    found = _milestones(stamps, channel.external_id, running.announcement_channels)
    missing = [name for name, stamp in found.items() if stamp is None]
    if missing:
        raise RuntimeError(f"{incident.id}: side effects missing: {', '.join(missing)}")
    milestones = {name: stamp.at - started for name, stamp in found.items() if stamp is not None}
    done = max(milestones.values())
    quiet = max(s.at for s in stamps) - started
    return DeclareRun(
        ack=acked - started,
        done=done,
        quiet=quiet,
        calls=len(stamps),
        calls_until_done=sum(1 for s in stamps if s.at - started <= done),
        milestones=milestones,
        waterfall=[(s.at - started, s.service, s.method) for s in stamps],
        deliveries=[
            attrs.evolve(d, start=d.start - started, end=d.end - started)
            for d in running.deliveries_since(started)
        ],
    )


def format_waterfall(run: DeclareRun, delay: float) -> str:
    """The calls and deliveries of one declaration, in order, in ms from the submission."""
    lines = [f"ack at {run.ack * 1000:.0f} ms; calls answered (each waits {delay * 1000:.0f} ms):"]
    lines += [
        f"  {at * 1000:7.0f} ms  {service:<10} {method}" for at, service, method in run.waterfall
    ]
    lines.append("deliveries (start - end):")
    lines += [
        f"  {d.start * 1000:7.0f} - {d.end * 1000:5.0f} ms  {d.plugin:<10} {d.event} ({d.outcome})"
        for d in sorted(run.deliveries, key=lambda d: d.start)
    ]
    lines.append(f"done at {run.done * 1000:.0f} ms, quiet at {run.quiet * 1000:.0f} ms")
    return "\n".join(lines)


def measure_declare(sizes: Sizes, delay: float, log: Log) -> list[Result]:
    """Declare ``sizes.declare_runs`` incidents one after another; medians against baselines."""
    runs: list[DeclareRun] = []
    with running_firebell(delay=delay) as running:
        # The first declaration pays once-per-process costs (auth.test, TLS handshakes, the
        # Notion data source lookup); it is not counted.
        smoke = sizes.mode == "smoke"  # checks the bench runs: no warm-up, no pauses
        if not smoke:
            declare_once(running, "Warm-up: checkout is down")
        for index in range(sizes.declare_runs):
            run = declare_once(
                running, f"Checkout is down #{index + 1}", settle=0 if smoke else SETTLE
            )
            runs.append(run)
            log(
                f"  declare {index + 1}/{sizes.declare_runs}: ack {run.ack * 1000:.0f} ms, "
                f"done {run.done * 1000:.0f} ms, quiet {run.quiet * 1000:.0f} ms, {run.calls} calls"
            )
    middle = sorted(runs, key=lambda r: r.done)[len(runs) // 2]
    log(format_waterfall(middle, delay))
    critical = 2 * delay
    done = median([r.done for r in runs])
    quiet = median([r.quiet for r in runs])
    calls = median([float(r.calls) for r in runs])
    calls_done = median([float(r.calls_until_done) for r in runs])
    ack = [r.ack * 1000 for r in runs]
    extra: dict[str, Any] = {
        "delay_s": delay,
        "runs": [attrs.asdict(r) for r in runs],
        "median_run_waterfall": format_waterfall(middle, delay),
    }
    ms = 1000
    return [
        Result(
            PART,
            f"declare to done ({delay * ms:.0f} ms per call)",
            done * ms,
            "ms",
            baseline=critical * ms,
            baseline_name="critical path, 2 calls",
            goal=1.25,
            better="lower",
            extra=extra,
        ),
        Result(
            PART,
            "declare to done",
            done * ms,
            "ms",
            baseline=calls_done * delay * ms,
            baseline_name=f"sum of delays, {calls_done:.0f} calls",
            better="lower",
        ),
        Result(
            PART,
            "declare to quiet (every delivery done)",
            quiet * ms,
            "ms",
            baseline=calls * delay * ms,
            baseline_name=f"sum of delays, {calls:.0f} calls",
            better="lower",
        ),
        Result(PART, "ack to Slack, median", median(ack), "ms", goal=50.0, better="lower"),
        Result(PART, "ack to Slack, p95", p95(ack), "ms", goal=50.0, better="lower"),
    ]
