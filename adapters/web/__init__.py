"""The web console: incidents, timelines and metrics in a browser (``firebell web``).

:func:`create_app` makes the Starlette app over a :class:`~firebell.core.Firebell`;
:func:`serve` runs it with uvicorn and :func:`start_in_background` beside ``firebell run``.
Read-only unless ``[firebell.web] allow_actions = true``; local clients only unless a shared
token is configured (docs/web.md).
"""

from __future__ import annotations

from firebell.adapters.web.app import PAGE_SIZE, create_app
from firebell.adapters.web.server import BackgroundConsole, serve, start_in_background
from firebell.adapters.web.settings import WebSettings, web_settings

__all__ = [
    "PAGE_SIZE",
    "BackgroundConsole",
    "WebSettings",
    "create_app",
    "serve",
    "start_in_background",
    "web_settings",
]
