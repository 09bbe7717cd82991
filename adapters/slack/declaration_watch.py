"""Telling the reporter, on their slash command's ``response_url``, when Slack refused to set
up the incident they just declared.

The Slack plugin opens the channel after the declaration is recorded, on the delivery worker.
When it fails for good it says so in Slack (the channel, else the announcement channels); but
when Slack refuses the bot token itself the bot cannot post anywhere, and the reporter, told
"Firebell is opening its channel and will DM you a link", would wait for a DM that never comes.
A slash command's ``response_url`` takes posts without a token (for 30 minutes, 5 posts), so
the adapter keeps it (in the form's ``private_metadata`` for a form) and watches the new
incident in the event log until Slack has set it up or has failed for good, then says what
happened and what to do there. Watching the log rather than the delivery itself works whether
the worker runs in this process or another.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable

import attrs
from firebell.core.errors import DatabaseUnavailable
from firebell.core.events import IntegrationFailed
from firebell.core.incident import Incident
from firebell.core.runtime import Firebell
from firebell.core.secrets import Secret
from firebell.plugins.slack.text import escape_mrkdwn, safe
from slack_sdk.webhook import WebhookClient

__all__ = ["PATIENCE", "DeclarationWatch", "post_ephemeral", "setup_failed_text", "token_setting"]

log = logging.getLogger("firebell.slack")

PATIENCE = 20 * 60.0
"""Seconds a declaration is watched: well inside the 30 minutes a ``response_url`` lasts."""

#: The plugin whose set-up of a new incident is watched, and the event it sets it up on.
_SLACK = "slack"
_CREATED = "incident.created"

# Slack's answers meaning the bot token itself is refused (plugins/slack/errors.py words them).
_TOKEN_REFUSED = re.compile(
    r"\b(invalid_auth|not_authed|account_inactive|token_revoked|token_expired)\b"
)
_RETRY = "`firebell retry --plugin slack`"
# The failure as the delivery recorded it starts with the exception's class name.
_EXCEPTION_PREFIX = re.compile(r"^\w+(?:Error|Exception|Later): ")


def setup_failed_text(incident_id: str, error: str, *, token_setting: str) -> str:
    """The reply telling a reporter that Slack refused to set up ``incident_id``.

    ``error`` is the failure as the delivery recorded it; ``token_setting`` says where the bot
    token comes from (e.g. ``the SLACK_BOT_TOKEN environment variable``).
    """
    name = escape_mrkdwn(incident_id)
    reason = _EXCEPTION_PREFIX.sub("", error)
    refused = _TOKEN_REFUSED.search(reason)
    if refused is not None:
        return (
            f":warning: Slack refused Firebell's bot token (`{refused.group(1)}`), so *{name}* is "
            "recorded but has no channel, and Firebell cannot post in Slack: nobody has been "
            "told there. Page whoever must know by hand.\n"
            f"To fix it, whoever runs Firebell puts a valid Bot User OAuth Token (xoxb-…) in "
            f"{token_setting} (`bot_token` of `[plugins.slack]` in plugins.toml), restarts "
            "Firebell, then runs `firebell retry --plugin slack`: the channel is opened then, "
            f"under the incident's name *{name}*."
        )
    told = safe(reason, 1500)
    # The plugin's errors end with the retry to run after the fix: it is said once.
    when = "by that retry" if _RETRY in told else f"when {_RETRY} runs after the fix"
    return (
        f":warning: Slack refused to set up *{name}*: {told}\n"
        f"The incident is recorded under its name *{name}*; its channel is opened {when}."
    )


def token_setting(firebell: Firebell) -> str:
    """Where the Slack plugin's bot token comes from, in words for the person fixing it."""
    table = firebell.settings.plugins.get(_SLACK)
    secret = table.options.get("bot_token") if table is not None else None
    if isinstance(secret, Secret):
        return f"the {secret.env} environment variable"
    return "the bot token setting"


def post_ephemeral(url: str, text: str) -> None:
    """Post ``text`` as an ephemeral reply on ``url``; a failure is only logged."""
    if not url.startswith(("https://", "http://")):
        return
    try:
        WebhookClient(url, timeout=5).send(text=text, response_type="ephemeral")
    except Exception as error:
        log.warning("could not reply on the response_url: %s", error)


@attrs.define
class _Watched:
    incident_id: str
    response_url: str
    until: float


class DeclarationWatch:
    """Watches new incidents until the Slack plugin set them up or failed for good, and then
    tells the reporter through ``response_url`` when it failed.

    One thread, started on the first watch and ending when nothing is left to watch, reads
    the watched incidents (in one read transaction) every ``interval`` seconds, for at most
    ``patience`` seconds each.
    """

    def __init__(
        self,
        firebell: Firebell,
        *,
        interval: float = 0.5,
        patience: float = PATIENCE,
        post: Callable[[str, str], None] = post_ephemeral,
    ) -> None:
        self.firebell = firebell
        self.interval = interval
        self.patience = patience
        self._post = post
        self._watched: list[_Watched] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def enabled(self) -> bool:
        """Whether there is a set-up to watch: the Slack plugin is enabled."""
        return _SLACK in self.firebell.host.enabled

    def watch(self, incident_id: str, response_url: str | None) -> None:
        """Watch ``incident_id``, declared by the person ``response_url`` replies to."""
        if not response_url or not self.enabled:
            return
        with self._lock:
            until = time.monotonic() + self.patience
            self._watched.append(_Watched(incident_id, response_url, until))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="firebell-slack-declarations", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(self.interval)
            with self._lock:
                watched = list(self._watched)
            try:
                incidents = self._read({item.incident_id for item in watched})
            except DatabaseUnavailable:  # look again next time, within the patience
                incidents = None
            done = {id(item) for item in watched if self._settled(item, incidents)}
            with self._lock:
                self._watched = [item for item in self._watched if id(item) not in done]
                if not self._watched:
                    self._thread = None
                    return

    def _read(self, incident_ids: set[str]) -> dict[str, Incident | None]:
        """The watched incidents as the log has them now, in one read (a burst of declarations
        is watched at once)."""
        store = self.firebell.store
        with store.read() as connection:
            return {name: store.select_incident_in(connection, name) for name in incident_ids}

    def _settled(self, item: _Watched, incidents: dict[str, Incident | None] | None) -> bool:
        """Whether ``item`` needs no more watching (told, set up, or out of time); ``incidents``
        is None when the log could not be read."""
        if incidents is None:
            return time.monotonic() > item.until
        try:
            failure = self._failure(incidents[item.incident_id])
        except DatabaseUnavailable:  # look again next time, within the patience
            return time.monotonic() > item.until
        except Exception:
            log.exception("stopped watching the Slack set-up of %s", item.incident_id)
            return True
        if failure is None:
            return time.monotonic() > item.until
        if failure:
            text = setup_failed_text(
                item.incident_id, failure, token_setting=token_setting(self.firebell)
            )
            self._post(item.response_url, text)
        return True

    def _failure(self, incident: Incident | None) -> str | None:
        """The Slack set-up's lasting failure ("" when it is set up or gone), None while neither."""
        if incident is None or incident.resource("channel") is not None:
            return ""
        if _SLACK not in incident.failing_plugins:
            return None
        for recorded in self.firebell.store.select_events(incident.id):
            data = recorded.data
            if (
                isinstance(data, IntegrationFailed)
                and data.plugin == _SLACK
                and data.event_type == _CREATED
                and not data.will_retry
            ):
                return data.error
        return None  # failing, but to be retried: it may still work
