"""Listening sockets, bound before a server says where it serves.

uvicorn binds its own sockets once it runs, so a port in use showed up after the "serving on …"
line as uvicorn's raw error and its exit code. Binding first turns that into one message that
says what to do, before anything claims to be up; uvicorn then serves on these sockets.
"""

from __future__ import annotations

import errno
import os
import socket

from firebell.core.errors import FirebellError

__all__ = ["CannotListen", "bind_sockets"]


class CannotListen(FirebellError):
    """Raised when a server cannot listen on its host and port: the port is in use, the host is
    not an address of this machine, or the port needs rights the process lacks."""


def bind_sockets(
    host: str, port: int, *, host_option: str = "--host", port_option: str = "--port"
) -> list[socket.socket]:
    """TCP sockets bound to ``port`` on every address ``host`` names (both of ``localhost``).

    ``host_option`` and ``port_option`` say in messages where the person chooses them (an
    option, or a ``plugins.toml`` key). With ``port`` 0 the system picks a free port, the same
    on every address. The sockets are not listening yet; uvicorn (asyncio) starts that.
    """
    try:
        found = socket.getaddrinfo(
            host or None,
            port,
            type=socket.SOCK_STREAM,
            proto=socket.IPPROTO_TCP,  # asyncio sets TCP_NODELAY on accepted ones only for these
            flags=socket.AI_PASSIVE,
        )
    except socket.gaierror as error:
        raise CannotListen(
            f"cannot listen on {host!r}: {error.strerror or error}; choose another host ({host_option})."
        ) from None
    bound: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in dict.fromkeys(found):
            sock = socket.socket(family, kind, proto)
            bound.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:  # as asyncio does: IPv4 gets a socket of its own
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind((address[0], port, *address[2:]))
            port = sock.getsockname()[1]  # port 0: the one picked, for the other addresses too
    except OSError as error:
        for sock in bound:
            sock.close()
        raise CannotListen(_refusal(host, port, error, host_option, port_option)) from None
    return bound


def _refusal(host: str, port: int, error: OSError, host_option: str, port_option: str) -> str:
    if error.errno == errno.EADDRINUSE:
        return (
            f"port {port} is in use on {host} (another firebell?); choose another port "
            f"({port_option}) or stop the other process."
        )
    if error.errno == errno.EADDRNOTAVAIL:
        return (
            f"cannot listen on {host}: it is not an address of this machine; choose another "
            f"host ({host_option})."
        )
    if error.errno in (errno.EACCES, errno.EPERM):
        return (
            f"cannot listen on port {port} ({os.strerror(error.errno).lower()}): ports below "
            f"1024 need privileges; choose a higher port ({port_option})."
        )
    return (
        f"cannot listen on {host}:{port} ({error.strerror or error}); check {host_option} "
        f"and {port_option}."
    )
