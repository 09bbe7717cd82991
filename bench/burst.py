"""Part ``burst``: 100 incidents declared within one second, under Slack's rate limits.

A large outage hits many teams at once. The declare forms are opened first (untimed); then 100
signed submissions reach the app 10 ms apart, and the clock runs until every delivery is done.
Fake Slack enforces its documented per-method tiers (:data:`RATE_LIMITS`: e.g.
``conversations.create`` 20 per minute with a burst of 20, ``chat.postMessage`` one per second
per channel) with its clock running ``time_scale`` times faster than the wall clock, so a burst
that takes Slack's limits minutes takes seconds here. ``Retry-After`` stays in whole real
seconds (at least 1), as Slack sends it.

The baseline is the bound the limits set: for every rate-limit bucket (a method, or a method
and channel), the time its calls need beyond the first burst at the bucket's (scaled) rate; the
slowest bucket bounds the whole burst. 429 answers are counted, and the bench checks that none
became a parked delivery or an ``IntegrationFailed`` event (a warning responders would see).

PagerDuty runs too (each incident's page is bookmarked and announced in Slack); Notion and
Statuspage are left out: their own limits (3 and 1 requests per second, enforced by the
plugins' client-side limiters in real time) would bound 100 post-mortems at about 100 s and 100
status incidents at about 200 s whatever Firebell did, and they cannot be scaled like Slack's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from firebell.core.events import IntegrationFailed

from bench.measure import Result, Sizes, median, p95
from bench.services import Running, Stamp, running_firebell
from firebell.testing import slack_requests as sr
from firebell.testing.fake_slack import RATE_LIMITS

__all__ = ["measure_burst", "rate_limit_bound"]

Log = Callable[[str], None]
PART = "burst"
SPACING = 0.010


def rate_limit_bound(stamps: list[Stamp], time_scale: float) -> tuple[float, str]:
    """The least time Slack's limits allow for the answered calls in ``stamps``, and its bucket."""
    buckets: Counter[tuple[str, str]] = Counter()
    for stamp in stamps:
        if stamp.service != "slack" or stamp.status == 429:
            continue
        limit = RATE_LIMITS.get(stamp.method)
        if limit is None:
            continue
        channel = str(stamp.params().get("channel", "")) if limit.per_channel else ""
        buckets[(stamp.method, channel)] += 1
    bound, which = 0.0, "-"
    for (method, channel), count in buckets.items():
        limit = RATE_LIMITS[method]
        per_second = limit.per_minute / 60.0 * time_scale
        seconds = max(0, count - limit.burst) / per_second
        if seconds > bound:
            bound = seconds
            which = f"{method}{' in ' + channel if channel else ''}: {count} calls"
    return bound, which


def _open_forms(running: Running, count: int) -> list[dict[str, Any]]:
    with ThreadPoolExecutor(max_workers=10) as pool:
        return list(pool.map(lambda _i: running.open_form(), range(count)))


def measure_burst(
    sizes: Sizes, log: Log, *, time_scale: float, delay: float = 0.05
) -> list[Result]:
    """Declare ``sizes.burst_incidents`` incidents within a second; time until all is done."""
    count = sizes.burst_incidents
    with running_firebell(
        delay=delay,
        slack_rate_limits=True,
        time_scale=time_scale,
        notion=False,
        statuspage=False,
    ) as running:
        forms = _open_forms(running, count)
        # views.open has a bucket of its own: the burst below starts with full buckets.
        running.wait_quiet()
        bodies = [running.submission(view, f"Outage, team {i + 1}") for i, view in enumerate(forms)]
        last_position = max((e.position for e in running.store.select_events()), default=0)
        # The Slack side runs in a process of its own (bench.sender): here the fakes would
        # compete with it for the interpreter lock and add their waits to the acks it times.
        job = {
            "url": running.events_url,
            "spacing": SPACING,
            "requests": [
                {"body": body.decode(), "headers": dict(sr.headers_for(body))} for body in bodies
            ],
        }
        started = time.perf_counter()
        sender = subprocess.run(
            [sys.executable, "-m", "bench.sender"],
            input=json.dumps(job),
            capture_output=True,
            text=True,
            check=False,
        )
        if sender.returncode != 0:
            raise RuntimeError(f"the burst's sender failed: {sender.stderr[-2000:]}")
        timed = json.loads(sender.stdout.strip().splitlines()[-1])
        acks: list[float] = timed["took"]
        sent_at: list[float] = timed["sent_at"]
        submitted = max(sent_at)
        answered = max(s + t for s, t in zip(sent_at, acks, strict=True))
        running.wait_quiet(timeout=900, check_parked=False)
        stamps = [
            s for s in running.stamps.since(started) if not s.request.path.startswith("/commands")
        ]
        done = max(s.at for s in stamps) - started
        backlog = running.outbox.backlog()
        parked = sum(b.failed for b in backlog.values())
        new_events = running.store.select_events(after=last_position)
        failures = [e for e in new_events if isinstance(e.data, IntegrationFailed)]
        incidents = {e.incident_id for e in new_events}
        too_many = Counter(s.method for s in stamps if s.status == 429)
    bound, bucket = rate_limit_bound(stamps, time_scale)
    slack_calls = sum(1 for s in stamps if s.service == "slack" and s.status != 429)
    log(
        f"  {count} submissions sent within {submitted:.2f} s (the last answered at "
        f"{answered:.2f} s); done after {done:.1f} s; {slack_calls} Slack "
        f"calls answered, {sum(too_many.values())} answered 429 ({dict(too_many)}); "
        f"bound {bound:.1f} s by {bucket}; parked {parked}, IntegrationFailed {len(failures)}"
    )
    if len(incidents) != count:
        raise RuntimeError(f"expected {count} incidents, the log has events of {len(incidents)}")
    verdict = "none parked" if not parked and not failures else "SOME FAILED"
    extra = {
        "incidents": count,
        "time_scale": time_scale,
        "delay_s": delay,
        "sent_within_s": submitted,
        "answered_within_s": answered,
        "slack_calls": slack_calls,
        "responses_429": dict(too_many),
        "parked": parked,
        "integration_failed": [str(e.data) for e in failures],
        "binding_bucket": bucket,
        "acks": [
            {"sent_at_s": round(at, 4), "ack_ms": round(took * 1000, 1)}
            for at, took in zip(sent_at, acks, strict=True)
        ],
    }
    ack_ms = [a * 1000 for a in acks]
    return [
        Result(
            PART,
            f"{count} incidents in 1 s, all side effects done (Slack clock x{time_scale:g})",
            done,
            "s",
            baseline=bound,
            baseline_name=f"rate-limit bound: {bucket}",
            goal=1.5,
            better="lower",
            extra=extra,
        ),
        Result(
            PART,
            f"{sum(too_many.values())} answers 429: how many became parked or IntegrationFailed",
            float(parked + len(failures)),
            "",
            goal=0.0,
            better="lower",
            note=f"{parked} parked, {len(failures)} IntegrationFailed: {verdict}",
        ),
        Result(
            PART,
            "ack to Slack under the burst, median",
            median(ack_ms),
            "ms",
            goal=50.0,
            better="lower",
        ),
        Result(
            PART, "ack to Slack under the burst, p95", p95(ack_ms), "ms", goal=50.0, better="lower"
        ),
    ]
