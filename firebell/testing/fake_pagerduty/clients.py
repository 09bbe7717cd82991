"""The real ``pagerduty`` clients tuned for tests: few retries, short waits, a set timeout."""

from __future__ import annotations

import pagerduty

_RETRIED_STATUSES = (429, 500, 502, 503, 504)


def _tune(client: pagerduty.ApiClient, *, retries: int, timeout: float) -> None:
    """Cap retries, set the per-request timeout and shrink waits to milliseconds (tests)."""
    # pagerduty infers ``int`` from its default of 60; httpx2 takes any number of seconds.
    client.timeout = timeout  # type: ignore[assignment]
    client.retry.update(dict.fromkeys(_RETRIED_STATUSES, retries))
    client.max_network_attempts = 1
    client.sleep_timer = 0.005
