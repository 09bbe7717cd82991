"""Building the ``pagerduty`` clients and turning their errors into Firebell's.

The clients retry by themselves: 429 without limit, network errors three times, with waits of
seconds. A delivery thread must not block for minutes, and the outbox already retries durably
with backoff (honouring ``Retry-After``), so the clients are tuned to try once: a 429 is tried a
second time after half a second (the client cannot be told not to retry it at all), a 5xx or a
network error not at all. One hook call then takes at most a few times ``timeout``.
"""

from __future__ import annotations

import ssl
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar, cast

import httpx2
import pagerduty
from firebell.core.errors import FirebellError, PermanentPluginError, RetryLater
from firebell.plugins.pagerduty.config import PagerDutyConfig

__all__ = [
    "RETRY_HINT",
    "error_details",
    "events_client",
    "events_client_for",
    "failure",
    "json_object",
    "rest_client",
    "rest_client_for",
    "retry_after_seconds",
    "translate_errors",
]

C = TypeVar("C", bound=pagerduty.ApiClient)

RETRY_HINT = "then run `firebell retry --plugin pagerduty`"
"""How a person queues the parked deliveries again once the cause is fixed."""


def _verify(config: PagerDutyConfig) -> ssl.SSLContext | bool:
    if config.ca_bundle is None:
        return True
    return ssl.create_default_context(cafile=config.ca_bundle)


def _tune(client: pagerduty.ApiClient, config: PagerDutyConfig) -> None:
    # The timeout= keyword is ignored by pagerduty 7 (a class attribute shadows it): set it here.
    client.timeout = config.timeout  # type: ignore[assignment]
    # Replaces the Events client's 5xx retries; a 429 needs an entry or it is retried forever.
    client.retry = {429: 1}
    client.max_http_attempts = 1
    client.max_network_attempts = 0
    client.sleep_timer = 0.25  # the one 429 retry waits 0.25 * 2 = 0.5 s


def rest_client(config: PagerDutyConfig) -> pagerduty.RestApiV2Client:
    """A REST API v2 client for ``config`` (``From:`` is the requester email)."""
    assert config.api_key is not None  # the settings refuse rest mode without it
    client = pagerduty.RestApiV2Client(
        config.api_key.reveal(),
        default_from=config.requester_email,
        base_url=config.base_url,
        verify=_verify(config),
    )
    _tune(client, config)
    return client


def events_client(config: PagerDutyConfig) -> pagerduty.EventsApiV2Client:
    """An Events API v2 client for ``config``'s routing key."""
    assert config.routing_key is not None  # the settings refuse events mode without it
    client = pagerduty.EventsApiV2Client(
        config.routing_key.reveal(), base_url=config.base_url, verify=_verify(config)
    )
    _tune(client, config)
    return client


_clients: weakref.WeakKeyDictionary[PagerDutyConfig, pagerduty.ApiClient] = (
    weakref.WeakKeyDictionary()
)
_clients_lock = threading.Lock()


def _kept(config: PagerDutyConfig, make: Callable[[PagerDutyConfig], C]) -> C:
    # One settings object has one mode, so it needs one kind of client only.
    with _clients_lock:
        client = _clients.get(config)
        if client is None:
            client = _clients[config] = make(config)
            weakref.finalize(config, client.close)
        return cast(C, client)


def rest_client_for(config: PagerDutyConfig) -> pagerduty.RestApiV2Client:
    """The REST client of ``config``, made on first use and kept: its connection to PagerDuty
    stays open between deliveries (no TLS handshake per call); closed with the settings."""
    return _kept(config, rest_client)


def events_client_for(config: PagerDutyConfig) -> pagerduty.EventsApiV2Client:
    """The Events client of ``config``, kept like :func:`rest_client_for`'s."""
    return _kept(config, events_client)


def retry_after_seconds(response: httpx2.Response) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or a date) or ``ratelimit-reset``."""
    for header in ("retry-after", "ratelimit-reset"):
        value = response.headers.get(header)
        if not value:
            continue
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            continue
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return max(0.0, (moment - datetime.now(UTC)).total_seconds())
    return None


def error_details(response: httpx2.Response) -> str:
    """PagerDuty's own words from an error body: the message and the listed errors."""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    # REST: {"error": {"message", "code", "errors"}}; Events: {"status", "message", "errors"}.
    error = body.get("error", body)
    if not isinstance(error, dict):
        return str(error)
    parts = [str(error.get("message") or "")]
    errors = error.get("errors")
    if isinstance(errors, list):
        parts.extend(str(item) for item in errors)
    return "; ".join(part for part in parts if part)


def failure(error: pagerduty.Error, *, doing: str, config: PagerDutyConfig) -> FirebellError:
    """The Firebell error for a failed call: :class:`RetryLater` or :class:`PermanentPluginError`.

    ``doing`` says what was attempted ("opening the PagerDuty incident"). Messages say what to
    fix and never hold a key (the library's own 401 message shows the key's last characters).
    """
    response = error.response
    if response is None:
        cause = error.__cause__
        if isinstance(cause, httpx2.TimeoutException):
            return RetryLater(
                f"PagerDuty did not answer within {config.timeout:g} s while {doing}; "
                "Firebell will retry (raise timeout in [plugins.pagerduty] if this persists)"
            )
        reason = type(cause).__name__ if cause is not None else "network error"
        return RetryLater(
            f"could not reach PagerDuty at {config.base_url} while {doing} ({reason}); "
            "Firebell will retry. Check the network, or api_url if you changed it"
        )
    status = response.status_code
    details = error_details(response)
    said = f" PagerDuty said: {details}." if details else ""
    if status < 300:
        return RetryLater(
            f"PagerDuty answered {status} with a malformed body while {doing}; Firebell will retry"
        )
    if status == 401:
        return PermanentPluginError(_refused_key(config, doing))
    if status == 403:
        return PermanentPluginError(
            f"PagerDuty refused {doing} (403 Forbidden): the API key may not do this. Use a "
            "full-access (not read-only) REST API key, or a user key whose user may manage "
            f"incidents on the service, {RETRY_HINT}."
        )
    if status == 404:
        return PermanentPluginError(
            f"PagerDuty found nothing at {response.request.url.path} while {doing} (404).{said} "
            "Check service_id and escalation_policy_id in [plugins.pagerduty] (and that the "
            f"incident was not deleted), {RETRY_HINT}."
        )
    if status == 429:
        return RetryLater(
            f"PagerDuty is rate limiting Firebell (429) while {doing}; Firebell will retry",
            retry_after=retry_after_seconds(response),
            rate_limited=True,
        )
    if status >= 500 or status in (408, 409, 425):
        return RetryLater(
            f"PagerDuty answered {status} while {doing};{said} Firebell will retry",
            retry_after=retry_after_seconds(response),
        )
    return PermanentPluginError(
        f"PagerDuty refused {doing} ({status}).{said}" + _hint(details, config)
    )


def _refused_key(config: PagerDutyConfig, doing: str) -> str:
    if config.mode == "events" and config.routing_key is not None:
        return (
            f"the PagerDuty routing key was refused while {doing}; set "
            f"{config.routing_key.env} to the Integration Key of an Events API v2 integration, "
            f"{RETRY_HINT}"
        )
    variable = config.api_key.env if config.api_key is not None else "the api_key variable"
    return (
        f"the PagerDuty API key was refused (401) while {doing}; set {variable} to a valid "
        f"REST API key (PagerDuty > Integrations > API Access Keys), {RETRY_HINT}"
    )


def _hint(details: str, config: PagerDutyConfig) -> str:
    lowered = details.lower()
    if "routing key" in lowered or "routing_key" in lowered:
        return " " + _refused_key(config, "sending the event") + "."
    if "requester" in lowered or ("from" in lowered and "header" in lowered):
        return (
            f" Set requester_email (now {config.requester_email!r}) to the email of an existing "
            f"PagerDuty user, {RETRY_HINT}."
        )
    if "service" in lowered and "not found" in lowered:
        return (
            f" service_id = {config.service_id!r} is not a PagerDuty service; copy the id from "
            f"the service's page (…/service-directory/PXXXXXX), {RETRY_HINT}."
        )
    if "escalation policy" in lowered and "not found" in lowered:
        return (
            f" escalation_policy_id = {config.escalation_policy_id!r} is not a PagerDuty "
            f"escalation policy; copy the id from its page, {RETRY_HINT}."
        )
    return f" Fix the settings in [plugins.pagerduty], {RETRY_HINT}."


@contextmanager
def translate_errors(config: PagerDutyConfig, doing: str) -> Iterator[None]:
    """Raise the Firebell error for any ``pagerduty`` error inside the block."""
    try:
        yield
    except pagerduty.Error as error:
        raise failure(error, doing=doing, config=config) from error
    except pagerduty.UrlError as error:  # not a pagerduty.Error; api_url is checked at start-up
        raise PermanentPluginError(f"bad PagerDuty URL while {doing}: {error}") from error


def json_object(value: Any, *, doing: str) -> dict[str, Any]:
    """``value`` when it is a JSON object, else :class:`RetryLater` (an unexpected answer)."""
    if not isinstance(value, dict):
        raise RetryLater(
            f"PagerDuty answered with an unexpected body while {doing}; Firebell will retry"
        )
    return value
