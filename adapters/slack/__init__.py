"""The Slack adapter: slash commands and modals turned into engine commands.

:func:`build_app` makes the Bolt app (``/incident``, ``/resolve-incident``, ``/close-incident``);
:func:`create_asgi_app` serves it over HTTP for uvicorn; ``firebell run`` puts them together (or
uses Socket Mode). The Slack *plugin* (``firebell.plugins.slack``) does the rest: channels,
messages, announcements, in reaction to the events these commands append.
"""

from __future__ import annotations

from firebell.adapters.slack.app import SlackSetupError, api_base_url, build_app
from firebell.adapters.slack.http import EVENTS_PATH, create_asgi_app, database_check

__all__ = [
    "EVENTS_PATH",
    "SlackSetupError",
    "api_base_url",
    "build_app",
    "create_asgi_app",
    "database_check",
]
