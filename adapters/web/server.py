"""Serving the console with uvicorn: in the foreground (``firebell web``) or beside ``firebell run``.

uvicorn runs with ``proxy_headers`` off, so the client address the access rule looks at is the
socket's peer and never a header someone could forge.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Sequence

import uvicorn
from firebell.adapters.listening import bind_sockets
from firebell.adapters.web.app import create_app
from firebell.adapters.web.settings import WebSettings, web_settings
from firebell.core.runtime import Firebell

__all__ = ["BackgroundConsole", "serve", "start_in_background", "uvicorn_config"]

log = logging.getLogger("firebell.web")

_START_TIMEOUT = 10.0


def uvicorn_config(
    firebell: Firebell, settings: WebSettings, *, host: str, port: int, log_level: str = "info"
) -> uvicorn.Config:
    """The uvicorn configuration for the console on ``host:port``.

    The metrics start computing in the background at once, so the first visit finds them.
    """
    app = create_app(firebell, settings)
    app.state.console.stats.warm()
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="off",
        proxy_headers=False,
        server_header=False,
        timeout_graceful_shutdown=5,
    )


def serve(
    firebell: Firebell,
    settings: WebSettings,
    *,
    host: str,
    port: int,
    log_level: str = "info",
    sockets: Sequence[socket.socket] | None = None,
) -> None:
    """Serve the console until SIGINT or SIGTERM, on ``sockets`` when they are bound already
    (:func:`~firebell.adapters.listening.bind_sockets`), else on ``host:port``."""
    uvicorn.Server(
        uvicorn_config(firebell, settings, host=host, port=port, log_level=log_level)
    ).run(sockets=list(sockets) if sockets else None)


class BackgroundConsole:
    """The console served by uvicorn in a thread (on ``sockets`` when given); :meth:`stop` ends
    it."""

    def __init__(
        self, config: uvicorn.Config, sockets: Sequence[socket.socket] | None = None
    ) -> None:
        self.server = uvicorn.Server(config)
        bound = list(sockets) if sockets else None
        self.thread = threading.Thread(
            target=lambda: self.server.run(sockets=bound), name="firebell-web", daemon=True
        )

    def start(self) -> BackgroundConsole:
        """Start serving and wait until the port is open (or raise ``RuntimeError``)."""
        self.thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the web console did not start on {self.server.config.host}:"
                    f"{self.server.config.port} (is the port taken? see the log above)"
                )
            time.sleep(0.02)
        return self

    @property
    def port(self) -> int:
        """The port it listens on (the real one when started with port 0)."""
        for server in self.server.servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return int(self.server.config.port)

    @property
    def url(self) -> str:
        """``http://host:port``."""
        host = self.server.config.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}"

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the requests in flight and stop."""
        self.server.should_exit = True
        self.thread.join(timeout)


def start_in_background(
    firebell: Firebell, settings: WebSettings | None = None, *, log_level: str = "info"
) -> BackgroundConsole | None:
    """Serve the console beside ``firebell run`` when ``[firebell.web] enabled = true``.

    Its port is bound first: one in use raises :class:`~firebell.adapters.listening.CannotListen`
    saying so.
    """
    settings = settings or web_settings(firebell.settings)
    if not settings.enabled:
        return None
    sockets = bind_sockets(
        settings.host,
        settings.port,
        host_option="[firebell.web] host in plugins.toml",
        port_option="[firebell.web] port in plugins.toml",
    )
    config = uvicorn_config(
        firebell, settings, host=settings.host, port=settings.port, log_level=log_level
    )
    console = BackgroundConsole(config, sockets).start()
    log.info("web console on %s/incidents", console.url)
    return console
