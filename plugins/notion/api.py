"""Talking to Notion: one client per configuration, rate limited, errors made actionable.

Every call goes through :meth:`NotionApi.call`, which turns what ``notion_client`` and httpx
raise into :class:`~firebell.core.RetryLater` (429, 5xx, timeouts, broken connections, malformed
answers) or :class:`~firebell.core.PermanentPluginError` (a bad token, a database not shared with
the integration) with a message that says what to fix. Messages never contain the token.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any

import httpx
import notion_client
from firebell.core import PermanentPluginError, RetryLater
from firebell.plugins.notion.config import DEFAULT_API_URL, NotionConfig
from firebell.plugins.notion.rate_limit import RateLimiter
from notion_client.errors import (
    APIErrorCode,
    APIResponseError,
    HTTPResponseError,
    RequestTimeoutError,
)

__all__ = ["NotionApi", "Schema"]

log = logging.getLogger("firebell.plugins.notion")

#: Property name → its schema object (``{"id", "name", "type", <type>: {...}}``).
Schema = Mapping[str, Mapping[str, Any]]

_INTEGRATIONS_URL = "https://www.notion.so/profile/integrations"
_MAX_MESSAGE = 300


class _HideTokens(logging.Filter):
    """Replaces integration tokens in the records ``notion_client`` logs by their variables'
    names: it logs Notion's error messages as they come (a warning for every failed request),
    and an error message may repeat the token it was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.tokens: dict[str, str] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        hidden = message
        for token, variable in list(self.tokens.items()):
            hidden = hidden.replace(token, f"<{variable}>")
        if hidden != message:
            record.msg, record.args = hidden, ()
        return True


_client_log = logging.getLogger("firebell.plugins.notion.client")
_hide_tokens = _HideTokens()
_client_log.addFilter(_hide_tokens)


class NotionApi:
    """The Notion calls the plugin makes, for one ``[plugins.notion]`` configuration.

    The data source id and its property schema are looked up once and kept (the schema is
    forgotten when Notion refuses a page's properties, so a fixed database is seen again).
    """

    def __init__(self, config: NotionConfig) -> None:
        self.config = config
        self.limiter = RateLimiter(config.requests_per_second)
        self._http = httpx.Client(event_hooks={"request": [self._before_request]})
        if config.token.reveal():
            _hide_tokens.tokens[config.token.reveal()] = config.token.env
        self.client = notion_client.Client(
            client=self._http,
            auth=config.token.reveal(),
            base_url=config.api_url,
            timeout_ms=int(config.timeout_seconds * 1000),
            # Retries are the delivery worker's job: it waits without holding a thread.
            retry=False,
            logger=_client_log,
        )
        self._lock = threading.RLock()
        self._data_source_id: str | None = None
        self._schema: Schema | None = None

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def _before_request(self, _request: httpx.Request) -> None:
        self.limiter.acquire()

    # -- calling -----------------------------------------------------------------------------

    def call(
        self, what: str, request: Callable[[], Any], *, page_id: str | None = None
    ) -> dict[str, Any]:
        """Run one request and return its answer.

        ``what`` says what the request is for, in messages; ``page_id`` names the post-mortem
        page it works on, so that a 404 points at the page rather than at the database.
        """
        try:
            answer = request()
        except APIResponseError as error:
            raise self._api_error(what, error, page_id) from error
        except HTTPResponseError as error:
            raise self._http_error(what, error) from error
        except RequestTimeoutError as error:
            raise RetryLater(
                f"Notion did not answer within {self.config.timeout_seconds:g} s "
                f"(to {what}); will retry."
            ) from error
        except httpx.HTTPError as error:
            raise RetryLater(
                f"Could not reach Notion at {self.config.api_url} (to {what}): "
                f"{type(error).__name__}; will retry."
            ) from error
        except json.JSONDecodeError as error:
            raise RetryLater(
                f"Notion answered with malformed JSON (to {what}); will retry."
            ) from error
        if not isinstance(answer, dict):
            raise RetryLater(
                f"Notion answered with {type(answer).__name__} (to {what}); will retry."
            )
        return answer

    def _api_error(self, what: str, error: APIResponseError, page_id: str | None) -> Exception:
        notion_says = str(error)[:_MAX_MESSAGE]
        code = error.code
        if code == APIErrorCode.Unauthorized:
            return PermanentPluginError(
                f"Notion refused the token in {self.config.token.env} (401 unauthorized) "
                f"when trying to {what}. Set {self.config.token.env} to the integration's "
                f"Internal Integration Secret ({_INTEGRATIONS_URL}), restart Firebell and run "
                "`firebell retry`."
            )
        if code == APIErrorCode.RestrictedResource:
            return PermanentPluginError(
                f"Notion says the integration may not {what} (403 restricted_resource). Give it "
                f"the Read, Update and Insert content capabilities ({_INTEGRATIONS_URL}) and "
                "run `firebell retry`."
            )
        if code == APIErrorCode.ObjectNotFound and page_id is not None:
            return PermanentPluginError(
                f"Notion cannot find the post-mortem page {page_id} to {what} (404 "
                "object_not_found): it was deleted or is no longer shared with the integration. "
                "Restore it from Notion's trash or share it again, then run `firebell retry`."
            )
        if code == APIErrorCode.ObjectNotFound:
            return PermanentPluginError(
                f"Notion cannot find what it needs to {what} (404 object_not_found): {notion_says} "
                f"Check database_id ({self.config.database_id}) and share the database with "
                "the integration (database menu ••• → Connections → add it), then run "
                "`firebell retry`."
            )
        if code == APIErrorCode.RateLimited:
            retry_after = _retry_after(error.headers)
            return RetryLater(
                f"Notion is rate limiting requests (429) to {what}; retrying in {retry_after:g} s.",
                retry_after=retry_after,
                rate_limited=True,
            )
        if code in (
            APIErrorCode.InternalServerError,
            APIErrorCode.ServiceUnavailable,
            APIErrorCode.GatewayTimeout,
            APIErrorCode.ConflictError,
        ):
            return RetryLater(
                f"Notion failed to {what} ({error.status} {code.value}): {notion_says} Will retry."
            )
        # validation_error, invalid_request, invalid_json…: the same request would fail again.
        self.forget_schema()
        return PermanentPluginError(
            f"Notion refused to {what} ({error.status} {code.value}): {notion_says} "
            "Check [plugins.notion] properties and status_values against the database "
            "(`firebell doctor`), then run `firebell retry`."
        )

    def _http_error(self, what: str, error: HTTPResponseError) -> Exception:
        # An answer that is not a Notion error: a proxy, a gateway, or api_url points elsewhere.
        status = error.status
        if status in (401, 403, 404):
            return PermanentPluginError(
                f"{self.config.api_url} answered {status} to a request to {what}, and not in "
                f"Notion's format. Check api_url (normally {DEFAULT_API_URL}) and the token "
                f"in {self.config.token.env}, then run `firebell retry`."
            )
        return RetryLater(
            f"{self.config.api_url} answered {status} to a request to {what} (not a Notion "
            "error); will retry.",
            retry_after=_retry_after(error.headers) if status == 429 else None,
        )

    # -- the database ------------------------------------------------------------------------

    def data_source_id(self) -> str:
        """The post-mortems database's (first) data source, looked up once per process."""
        with self._lock:
            if self._data_source_id is None:
                database_id = self.config.database_id
                database = self.call(
                    "open the post-mortems database",
                    lambda: self.client.databases.retrieve(database_id),
                )
                sources = database.get("data_sources")
                if not isinstance(sources, list) or not sources:
                    raise PermanentPluginError(
                        f"The Notion database {database_id} has no data source. Is database_id "
                        "the id of a database (not of a page or a view)?"
                    )
                self._data_source_id = str(sources[0]["id"])
            return self._data_source_id

    def schema(self) -> Schema:
        """The data source's properties by name (looked up once, again after a refusal)."""
        data_source_id = self.data_source_id()
        with self._lock:
            if self._schema is None:
                source = self.call(
                    "read the post-mortems database's properties",
                    lambda: self.client.data_sources.retrieve(data_source_id),
                )
                properties = source.get("properties")
                if not isinstance(properties, dict):
                    raise RetryLater("Notion's data source answer has no properties; will retry.")
                self._schema = properties
            return self._schema

    def forget_schema(self) -> None:
        """Read the schema again next time (it was found wanting; someone may fix it)."""
        with self._lock:
            self._schema = None

    # -- pages and blocks --------------------------------------------------------------------

    def find_page(self, property_name: str, value: str) -> dict[str, Any] | None:
        """The first page (not in the trash) whose text property ``property_name`` equals ``value``."""
        data_source_id = self.data_source_id()
        answer = self.call(
            "look for an existing post-mortem page",
            lambda: self.client.data_sources.query(
                data_source_id,
                filter={"property": property_name, "rich_text": {"equals": value}},
                page_size=10,
            ),
        )
        for page in answer.get("results", []):
            if page.get("object") == "page" and not page.get("in_trash"):
                return dict(page)
        return None

    def children(self, page_id: str) -> Iterator[dict[str, Any]]:
        """Every top-level block of a page, following the pages of the list."""
        cursor: str | None = None
        while True:
            options: dict[str, Any] = {"page_size": 100}
            if cursor:
                options["start_cursor"] = cursor
            answer = self.call(
                "read the post-mortem page",
                partial(self.client.blocks.children.list, page_id, **options),
                page_id=page_id,
            )
            yield from answer.get("results", [])
            cursor = answer.get("next_cursor")
            if not answer.get("has_more") or not cursor:
                return


def _retry_after(headers: httpx.Headers) -> float:
    value = headers.get("retry-after")
    try:
        return max(float(value), 0.0) if value is not None else 1.0
    except ValueError:
        return 1.0
