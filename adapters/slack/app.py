"""Building Firebell's Bolt app: the Web API client, the token check and the listeners."""

from __future__ import annotations

import logging
import secrets

from firebell.adapters.slack.groups import DEFAULT_TTL, GroupDirectory
from firebell.adapters.slack.handlers import SUBMIT_DEADLINE, SlackAdapter
from firebell.adapters.slack.mark_lookups import DEFAULT_RETRY_BASE, DEFAULT_RETRY_MAX
from firebell.adapters.slack.people import PeopleDirectory
from firebell.adapters.slack.timeline_listeners import TimelineListeners
from firebell.core.errors import FirebellError
from firebell.core.runtime import Firebell
from firebell.plugins.slack.client import DEFAULT_API_URL, make_web_client
from slack_bolt import App
from slack_bolt.error import BoltError
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

__all__ = ["SlackSetupError", "api_base_url", "build_app"]

log = logging.getLogger("firebell.slack")


class SlackSetupError(FirebellError):
    """Raised when the Slack app cannot start: a token is missing or refused, or Slack is
    unreachable. The message names the environment variable to fix.
    """


class _DropTokenSkippedWarning(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns that the client's token wins; it is the same
    token, so the warning would only mislead an operator."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "`token` will be unused" not in record.getMessage()


_bolt_log = logging.getLogger("firebell.slack.bolt")
_bolt_log.addFilter(_DropTokenSkippedWarning())


def api_base_url(api_url: str | None) -> str | None:
    """``api_url`` with the trailing slash slack_sdk needs (None keeps the client's default)."""
    if not api_url:
        return None
    return api_url if api_url.endswith("/") else api_url + "/"


def build_app(
    firebell: Firebell,
    *,
    bot_token: str,
    signing_secret: str | None = None,
    api_url: str | None = None,
    group_ttl: float = DEFAULT_TTL,
    submit_deadline: float = SUBMIT_DEADLINE,
    lookup_retry_base: float = DEFAULT_RETRY_BASE,
    lookup_retry_max: float = DEFAULT_RETRY_MAX,
) -> App:
    """A Bolt app serving ``/incident``, ``/resolve-incident`` and ``/close-incident``.

    The bot token is checked with ``auth.test`` at once, so a wrong one stops start-up with a
    :class:`SlackSetupError` naming ``SLACK_BOT_TOKEN``. ``signing_secret`` is required to serve
    HTTP; without one (Socket Mode) every HTTP request fails verification. ``api_url`` defaults to
    ``$SLACK_API_URL``, then to Slack's own API (``firebell run`` passes the Slack plugin's).
    ``lookup_retry_base`` and ``lookup_retry_max`` pace the retries of a marked message's lookup
    that Slack refused (:mod:`~firebell.adapters.slack.mark_lookups`).
    """
    if not bot_token:
        raise SlackSetupError(
            "SLACK_BOT_TOKEN is not set. Export the app's Bot User OAuth Token (xoxb-…) from "
            "its OAuth & Permissions page; docs/slack-setup.md shows where."
        )
    if bot_token.startswith("xapp-"):
        raise SlackSetupError(
            "SLACK_BOT_TOKEN holds an app-level token (xapp-…). Put the Bot User OAuth Token "
            "(xoxb-…) there; the app-level token belongs in SLACK_APP_TOKEN."
        )
    client = make_web_client(bot_token, base_url=api_base_url(api_url))
    try:
        app = App(
            client=client,
            # Bolt reads SLACK_SIGNING_SECRET when given None and would verify with an empty key
            # when that is unset; a random secret makes every HTTP request fail instead.
            signing_secret=signing_secret or secrets.token_hex(32),
            logger=_bolt_log,
            name="firebell",
            # Run each listener on the thread that serves its request and answer as soon as it
            # returns. Otherwise Bolt runs it on a pool of 5 threads and looks every 10 ms
            # whether it acked: a modal's answer waited for the look (7 ms median) and, under a
            # burst, for a free thread (50 to 400 ms p95). Work after an ack goes to the
            # listeners' own pools (see SlackAdapter and TimelineListeners).
            process_before_response=True,
        )
    except BoltError as error:
        raise _token_refused(error, client) from None
    except (SlackClientError, OSError) as error:
        raise SlackSetupError(
            f"Cannot reach the Slack API at {client.base_url} to check SLACK_BOT_TOKEN "
            f"({type(error).__name__}: {error}). Check the network, and api_url in [plugins.slack] or SLACK_API_URL if you set one."
        ) from None
    groups = GroupDirectory(client, firebell.engine.permissions, ttl=group_ttl)
    people = PeopleDirectory(client)
    adapter = SlackAdapter(
        firebell, client, groups=groups, people=people, submit_deadline=submit_deadline
    )
    # The record's listeners first: their /incident matcher takes note, followup(s) and done.
    TimelineListeners.for_firebell(
        firebell,
        client,
        groups=groups,
        people=people,
        adapter=adapter,
        lookup_retry_base=lookup_retry_base,
        lookup_retry_max=lookup_retry_max,
    ).register(app)
    adapter.register(app)
    return app


def _token_refused(error: BoltError, client: WebClient) -> SlackSetupError:
    cause = error.__context__
    code = cause.response.get("error") if isinstance(cause, SlackApiError) else None
    where = "" if client.base_url == DEFAULT_API_URL else f" (at {client.base_url})"
    return SlackSetupError(
        f"Slack refused SLACK_BOT_TOKEN{where}: {code or 'auth.test failed'}. Copy the Bot User "
        "OAuth Token (xoxb-…) again from the app's OAuth & Permissions page, and reinstall the "
        "app to the workspace if it was removed."
    )
