"""Turning Slack client errors into the engine's ``RetryLater`` and ``PermanentPluginError``.

Rate limits and brief outages are already retried inside the client (see
:mod:`firebell.plugins.slack.client`); what still reaches here is either lasting (a bad token, a
missing scope: retrying cannot help, a person must act) or an outage that outlived the client's
retries (the delivery is tried again later).
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final
from urllib.error import URLError

from firebell.core.errors import PermanentPluginError, RetryLater
from firebell.plugins.slack.client import retry_after_seconds
from slack_sdk.errors import SlackApiError, SlackClientError, SlackRequestError

__all__ = ["api_error_code", "slack_errors"]

#: Errors that say the token itself is wrong: nothing works until it is replaced.
_TOKEN_ERRORS: Final = {
    "invalid_auth": "Slack does not accept the bot token",
    "not_authed": "no bot token reached Slack",
    "account_inactive": "the bot token belongs to a deactivated user or an uninstalled app",
    "token_revoked": "the bot token was revoked",
    "token_expired": "the bot token expired",
}

#: Slack errors that a later attempt may not meet.
_TRANSIENT_ERRORS: Final = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)


#: How slack_sdk words the error it makes up for an answer that is not JSON.
_NOT_JSON: Final = "Received a response in a non-JSON format"

_NOT_JSON_ADVICE: Final = (
    "it is probably a proxy or a brief outage between Firebell and Slack, trying again later"
)


def api_error_code(error: SlackApiError) -> str:
    """The ``error`` code of a Slack API error answer (``""`` when the body had none)."""
    code = error.response.get("error") if error.response is not None else None
    return str(code or "")


def _method(error: SlackApiError) -> str:
    url = getattr(error.response, "api_url", "") or ""
    return url.rstrip("/").rsplit("/", 1)[-1] or "a Slack API method"


def _translate(error: SlackApiError, token_env: str) -> PermanentPluginError | RetryLater:
    code = api_error_code(error)
    method = _method(error)
    status = error.response.status_code if error.response is not None else 0
    if status == 429 or code in ("ratelimited", "rate_limited"):
        wait = retry_after_seconds(error.response.headers) if error.response is not None else None
        return RetryLater(
            f"Slack rate-limited {method}; trying again after {wait or 'a while'} s",
            retry_after=wait,
            rate_limited=True,
        )
    if code.startswith(_NOT_JSON):
        # slack_sdk stands in an error code for a body it could not read (an HTML error page).
        return RetryLater(
            f"Slack answered {method} with HTTP {status} and a body that is not JSON; "
            + _NOT_JSON_ADVICE
        )
    if status >= 500 or code in _TRANSIENT_ERRORS:
        return RetryLater(
            f"Slack failed on {method} (HTTP {status}, {code or 'no error code'}); "
            "it is probably a brief outage, trying again later"
        )
    if code in _TOKEN_ERRORS:
        return PermanentPluginError(
            f"{_TOKEN_ERRORS[code]} ({code} on {method}). Put the app's Bot User OAuth Token "
            f"(xoxb-…, from the app's OAuth & Permissions page) in {token_env}, restart Firebell, "
            "then run `firebell retry --plugin slack`."
        )
    if code == "missing_scope":
        needed = error.response.get("needed") or "a scope"
        return PermanentPluginError(
            f"the Slack app lacks the {needed} scope that {method} needs. Add {needed} to the "
            "app's bot token scopes (OAuth & Permissions, or the app manifest), reinstall the "
            "app to the workspace, then run `firebell retry --plugin slack`."
        )
    return PermanentPluginError(
        f"Slack refused {method}: {code or f'HTTP {status}'}. Fix the cause (see the Slack "
        "plugin's documentation for this error), then run `firebell retry --plugin slack`."
    )


@contextmanager
def slack_errors(token_env: str) -> Iterator[None]:
    """Re-raise Slack client failures as ``RetryLater`` or ``PermanentPluginError``.

    ``token_env`` names the environment variable holding the bot token, for the message.
    """
    try:
        yield
    except SlackApiError as error:
        raise _translate(error, token_env) from error
    except json.JSONDecodeError as error:
        # slack_sdk parses a body starting with "{" itself and lets a broken one escape.
        raise RetryLater(f"Slack answered with malformed JSON; {_NOT_JSON_ADVICE}") from error
    except (URLError, TimeoutError, ConnectionError, http.client.HTTPException) as error:
        raise RetryLater(
            f"Slack could not be reached ({type(error).__name__}: {error}); trying again later"
        ) from error
    except SlackRequestError as error:
        raise PermanentPluginError(
            f"the Slack client refused the request ({error}); check api_url in [plugins.slack] "
            "and SLACK_API_URL"
        ) from error
    except SlackClientError as error:
        raise RetryLater(f"the Slack client failed ({type(error).__name__}: {error})") from error
