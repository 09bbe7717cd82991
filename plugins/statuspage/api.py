"""Talking to Statuspage's REST API v1 with plain httpx.

No maintained Python client speaks Statuspage's ``Authorization: OAuth <key>`` header, so this
module is the client: one ``httpx.Client`` per settings object, a limiter that keeps each API
key under Statuspage's 1 request per second, and every failure turned into Firebell's
:class:`~firebell.core.RetryLater` (it may pass) or :class:`~firebell.core.PermanentPluginError`
(someone must fix something). The key never appears in a message.
"""

from __future__ import annotations

import hashlib
import threading
import time
import weakref
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Final

import httpx
from firebell.core.errors import PermanentPluginError, RetryLater
from firebell.plugins.statuspage.config import StatuspageConfig

__all__ = [
    "MAX_LIMITER_WAIT",
    "RateLimiter",
    "StatuspageApi",
    "api_for",
    "limiter_for",
    "retry_after_seconds",
]

MAX_LIMITER_WAIT: Final = 20.0
"""Longest a delivery waits in line for the key's next free request slot before it gives up
with RetryLater (so that a burst of incidents does not tie up every delivery thread)."""

DEFAULT_RETRY_AFTER: Final = 1.0
"""Seconds to wait after a 420/429 that does not say how long."""

SPACING_MARGIN: Final = 1.1
"""Requests are spaced 10% wider than the rate allows: Statuspage counts when a request
arrives, and two requests sent exactly a second apart may arrive closer than that."""

JsonObject = dict[str, Any]


class RateLimiter:
    """Spaces requests a little more than ``1 / per_second`` apart, across threads."""

    def __init__(
        self,
        per_second: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = MAX_LIMITER_WAIT,
    ) -> None:
        self.per_second = per_second
        self.clock = clock
        self.sleep = sleep
        self.max_wait = max_wait
        self._next_free = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Wait for the next free slot and take it; RetryLater if the line is too long."""
        with self._lock:
            now = self.clock()
            start = max(now, self._next_free)
            wait = start - now
            if wait > self.max_wait:
                raise RetryLater(
                    f"Statuspage requests for this API key are queued {wait:.0f} s ahead "
                    f"(limit {self.per_second:g}/s); trying again later.",
                    retry_after=wait,
                    rate_limited=True,
                )
            self._next_free = start + SPACING_MARGIN / self.per_second
        if wait > 0:
            self.sleep(wait)


_limiters: dict[tuple[str, str], RateLimiter] = {}
_limiters_lock = threading.Lock()


def limiter_for(config: StatuspageConfig) -> RateLimiter:
    """The process-wide limiter of ``config``'s API key (and API URL).

    Settings objects with the same key share one limiter (Statuspage counts per key), at the
    rate of the one whose client was made last (a reloaded configuration replaces the old).
    """
    digest = hashlib.sha256(config.api_key.reveal().encode()).hexdigest()
    with _limiters_lock:
        limiter = _limiters.get((config.api_url, digest))
        if limiter is None:
            limiter = _limiters[(config.api_url, digest)] = RateLimiter(config.requests_per_second)
        limiter.per_second = config.requests_per_second
        return limiter


def retry_after_seconds(headers: Mapping[str, str], *, now: datetime | None = None) -> float:
    """The wait a ``Retry-After`` header asks for (seconds or an HTTP date); 1 s if absent."""
    raw = headers.get("retry-after")
    if raw is None:
        return DEFAULT_RETRY_AFTER
    try:
        return max(0.0, float(raw))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


class StatuspageApi:
    """The few Statuspage calls Firebell makes, for one page.

    Every method raises RetryLater or PermanentPluginError on failure, with a message that says
    what failed and what to do.
    """

    def __init__(
        self,
        config: StatuspageConfig,
        *,
        limiter: RateLimiter | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        # The settings themselves are not kept: api_for() caches clients by settings weakly.
        self.page_id = config.page_id
        self.api_url = config.api_url
        self.key_env = config.api_key.env
        self.timeout = config.timeout
        self.limiter = limiter or limiter_for(config)
        self.client = httpx.Client(
            base_url=config.api_url,
            headers={
                "Authorization": f"OAuth {config.api_key.reveal()}",
                "Accept": "application/json",
                "User-Agent": "firebell-statuspage",
            },
            timeout=config.timeout,
            transport=transport,
        )

    def close(self) -> None:
        """Close the HTTP connections."""
        self.client.close()

    # -- calls -----------------------------------------------------------------------------

    @property
    def _page_path(self) -> str:
        return f"/pages/{self.page_id}"

    def page(self) -> JsonObject:
        """The page (``GET /pages/{page_id}``)."""
        return self._object(self._request("GET", self._page_path, what="read the page"))

    def components(self) -> list[JsonObject]:
        """The page's components (``GET /pages/{page_id}/components``)."""
        answer = self._request("GET", f"{self._page_path}/components", what="list the components")
        return self._list(answer)

    def unresolved_incidents(self) -> list[JsonObject]:
        """The page's open incidents, newest first (``GET .../incidents/unresolved``)."""
        answer = self._request(
            "GET", f"{self._page_path}/incidents/unresolved", what="list the open incidents"
        )
        return self._list(answer)

    def search_incidents(self, query: str) -> list[JsonObject]:
        """The page's incidents mentioning ``query``, resolved ones too, newest first."""
        answer = self._request(
            "GET",
            f"{self._page_path}/incidents",
            params={"q": query, "limit": "100"},
            what="search the incidents",
        )
        return self._list(answer)

    def incident(self, incident_id: str) -> JsonObject:
        """One incident with its updates."""
        answer = self._request(
            "GET",
            f"{self._page_path}/incidents/{incident_id}",
            what=f"read status incident {incident_id}",
            incident_id=incident_id,
        )
        return self._object(answer)

    def create_incident(self, fields: JsonObject) -> JsonObject:
        """Open an incident (``POST /pages/{page_id}/incidents``)."""
        answer = self._request(
            "POST",
            f"{self._page_path}/incidents",
            json={"incident": fields},
            what="create the status incident",
        )
        created = self._object(answer)
        if not isinstance(created.get("id"), str):
            raise RetryLater(
                "Statuspage answered the new incident without an id; checking again later."
            )
        return created

    def update_incident(self, incident_id: str, fields: JsonObject) -> JsonObject:
        """Change an incident; a ``body`` becomes a new incident update."""
        answer = self._request(
            "PATCH",
            f"{self._page_path}/incidents/{incident_id}",
            json={"incident": fields},
            what=f"update status incident {incident_id}",
            incident_id=incident_id,
        )
        return self._object(answer)

    # -- plumbing --------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        what: str,
        json: JsonObject | None = None,
        params: dict[str, str] | None = None,
        incident_id: str | None = None,
    ) -> Any:
        self.limiter.acquire()
        try:
            response = self.client.request(method, path, json=json, params=params)
        except httpx.TimeoutException as error:
            raise RetryLater(
                f"Statuspage did not answer within {self.timeout:g} s when asked to "
                f"{what} ({type(error).__name__}); trying again later."
            ) from error
        except httpx.TransportError as error:
            raise RetryLater(
                f"could not reach Statuspage at {self.api_url} to {what} "
                f"({type(error).__name__}: {error}); trying again later."
            ) from error
        self._check(response, what=what, incident_id=incident_id)
        try:
            return response.json()
        except ValueError as error:
            raise RetryLater(
                f"Statuspage answered {what} with HTTP {response.status_code} but a body that is "
                "not JSON; trying again later."
            ) from error

    def _check(self, response: httpx.Response, *, what: str, incident_id: str | None) -> None:
        status = response.status_code
        if status < 400:
            return
        detail = _error_detail(response)
        env = self.key_env
        page_id = self.page_id
        if status in (420, 429):
            wait = retry_after_seconds(response.headers)
            raise RetryLater(
                f"Statuspage rate-limited the request to {what} (HTTP {status}); "
                f"trying again in {wait:g} s.",
                retry_after=wait,
                rate_limited=True,
            )
        if status in (401, 403):
            raise PermanentPluginError(
                f"the Statuspage API key was refused (HTTP {status}) when asked to {what}; set "
                f"{env} to a valid key (Statuspage > your avatar > API info), then "
                "`firebell retry --plugin statuspage`."
            )
        if status == 404:
            if incident_id is not None:
                raise PermanentPluginError(
                    f"Statuspage has no incident {incident_id} on page id {page_id!r} "
                    "(deleted on Statuspage, or page_id changed); nothing more will be sent "
                    "to it for this incident."
                )
            raise PermanentPluginError(
                f"page id {page_id!r} not found on Statuspage (HTTP 404 when asked to {what}); "
                "set [plugins.statuspage] page_id to the id under Statuspage > your page > "
                "API info, and check that the key in "
                f"{env} belongs to that page's organisation."
            )
        if status >= 500:
            raise RetryLater(
                f"Statuspage failed to {what} (HTTP {status}{detail}); trying again later."
            )
        # 400/422 and the rest: the request itself is wrong (a component id not on the page,
        # a value Statuspage refuses); sending it again will not help.
        raise PermanentPluginError(
            f"Statuspage refused to {what} (HTTP {status}{detail}); check [plugins.statuspage] "
            "(component ids and statuses, page_id), then `firebell retry --plugin statuspage`."
        )

    @staticmethod
    def _object(value: Any) -> JsonObject:
        if not isinstance(value, dict):
            raise RetryLater(
                f"Statuspage answered with {type(value).__name__} where an object was expected; "
                "trying again later."
            )
        return value

    @staticmethod
    def _list(value: Any) -> list[JsonObject]:
        if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
            raise RetryLater(
                "Statuspage answered with something other than a list of objects; "
                "trying again later."
            )
        return value


def _error_detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, list):
        error = "; ".join(str(item) for item in error)
    return f": {str(error)[:300]}" if error else ""


_apis: weakref.WeakKeyDictionary[StatuspageConfig, StatuspageApi] = weakref.WeakKeyDictionary()
_apis_lock = threading.Lock()


def api_for(config: StatuspageConfig) -> StatuspageApi:
    """The client of ``config`` (made on first use; its connections close with the settings)."""
    with _apis_lock:
        api = _apis.get(config)
        if api is None:
            api = _apis[config] = StatuspageApi(config)
            weakref.finalize(config, api.client.close)
        return api
