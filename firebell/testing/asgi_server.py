"""An ASGI app (Firebell's Slack adapter or web console) served by uvicorn on a free local port,
in a thread of the calling process: for end-to-end tests and the bench's in-process mode."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

__all__ = ["serve_in_thread"]

#: Seconds uvicorn gets to start.
START_TIMEOUT = 10.0


def serve_in_thread(app: Any) -> tuple[uvicorn.Server, threading.Thread, str]:
    """Start serving ``app``; returns the server (set ``should_exit`` to stop it), its thread
    and its base URL."""
    # IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY on the accepted connections only
    # when the listening socket says TCP, and without it every keep-alive response after the
    # first waited 40 ms for the client's delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start serving {app!r}")
        time.sleep(0.01)
    return server, thread, f"http://127.0.0.1:{port}"
