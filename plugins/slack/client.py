"""The one place Firebell builds a Slack `WebClient` (used by the Slack plugin and adapter).

slack_sdk retries nothing but connection errors by default and raises every 429 as a failure.
Firebell's client waits out rate limits (honouring ``Retry-After``), retries Slack's 5xx answers and
dropped connections a few times, and gives up on a hung request after a timeout, so that only
real problems reach the caller.
"""

from __future__ import annotations

import os
from typing import Final
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

__all__ = [
    "DEFAULT_API_URL",
    "MAX_INLINE_RETRY_AFTER",
    "REQUEST_TIMEOUT",
    "CappedRateLimitRetryHandler",
    "GatewayErrorRetryHandler",
    "api_url_problem",
    "make_web_client",
    "retry_after_seconds",
]

DEFAULT_API_URL: Final = WebClient.BASE_URL
"""Slack's own Web API base URL, used when neither ``base_url`` nor ``SLACK_API_URL`` is set."""

REQUEST_TIMEOUT: Final = 30
"""Seconds one HTTP request to Slack may take before it is abandoned."""

MAX_INLINE_RETRY_AFTER: Final = 30
"""Longest ``Retry-After`` (seconds) the client sleeps through; longer waits surface as a 429."""

RATE_LIMIT_RETRIES: Final = 5
SERVER_ERROR_RETRIES: Final = 2
CONNECTION_ERROR_RETRIES: Final = 2


def retry_after_seconds(headers: object) -> float | None:
    """Return the ``Retry-After`` header of a Slack response in seconds, or None if absent.

    Accepts the header mappings slack_sdk hands around (values may be strings or lists of them).
    """
    if not hasattr(headers, "items"):
        return None
    for key, value in headers.items():
        if str(key).lower() != "retry-after":
            continue
        raw = value[0] if isinstance(value, list | tuple) and value else value
        try:
            return max(0.0, float(str(raw)))
        except ValueError:
            return None
    return None


class CappedRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Waits out HTTP 429 responses, unless Slack asks for a wait longer than ``max_wait``.

    A long ``Retry-After`` would block the delivery worker; instead the 429 is raised so the caller
    can schedule a later attempt (the Slack plugin turns it into ``RetryLater(retry_after=...)``).
    """

    def __init__(self, max_retry_count: int = RATE_LIMIT_RETRIES, *, max_wait: float) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        assert response is not None  # the parent only retries responses with status 429
        wait = retry_after_seconds(response.headers)
        return wait is None or wait <= self.max_wait


class GatewayErrorRetryHandler(ServerErrorRetryHandler):
    """Retries HTTP 500, 502, 503 and 504 (slack_sdk's own handler stops at 500 and 503).

    A proxy or load balancer in front of Slack (or GovSlack) answers 502/504 when it is briefly
    unable to reach the API; those pass as quickly as a 503 does.
    """

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code in (500, 502, 503, 504)


def api_url_problem(name: str, value: str) -> str | None:
    """What is wrong with ``value`` as a Slack Web API URL (``name`` says where it was set), or
    None: it must be an http(s) URL, like ``SLACK_API_URL`` for GovSlack or a test server."""
    parts = urlsplit(value)
    if parts.scheme in ("http", "https") and parts.netloc:
        return None
    return (
        f"{name} = {value!r} is not an http(s) URL. Unset it to use Slack's own API, or set it "
        f"like {DEFAULT_API_URL} (GovSlack: https://slack-gov.com/api/)."
    )


def make_web_client(
    token: str,
    *,
    base_url: str | None = None,
    timeout: int = REQUEST_TIMEOUT,
    max_inline_retry_after: float = MAX_INLINE_RETRY_AFTER,
) -> WebClient:
    """Return a slack_sdk `WebClient` with Firebell's retry handlers and timeout.

    ``base_url`` defaults to the ``SLACK_API_URL`` environment variable (GovSlack, tests), then to
    Slack's own API. Rate limits (429) are retried after ``Retry-After`` (up to
    ``max_inline_retry_after`` seconds each), HTTP 500/502/503/504 and connection errors a few times with
    backoff. Timeouts are not retried here: a request that timed out may have taken effect, so the
    caller decides (the Slack plugin retries the whole delivery, which checks before it posts).
    """
    from_environment = os.environ.get("SLACK_API_URL", "").strip()
    if not base_url and from_environment:
        problem = api_url_problem("SLACK_API_URL", from_environment)
        if problem is not None:
            raise ValueError(problem)
    url = base_url or from_environment or DEFAULT_API_URL
    handlers: list[RetryHandler] = [
        CappedRateLimitRetryHandler(max_wait=max_inline_retry_after),
        GatewayErrorRetryHandler(max_retry_count=SERVER_ERROR_RETRIES),
        ConnectionErrorRetryHandler(max_retry_count=CONNECTION_ERROR_RETRIES),
    ]
    return WebClient(token=token, base_url=url, timeout=timeout, retry_handlers=handlers)
