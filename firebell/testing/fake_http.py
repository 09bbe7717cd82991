"""A small threaded HTTP(S) server that the fake Slack, PagerDuty, Notion and Statuspage services share.

A fake service subclasses :class:`FakeService`, registers routes with :meth:`FakeService.route`,
and answers like the real API. Every fake supports the same fault injection (status codes, slow
answers, dropped connections, malformed bodies, rate limits with ``Retry-After``) and a fixed
per-request delay, so tests and benchmarks drive the real client libraries through every failure.
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

import attrs

__all__ = ["Answer", "Call", "FakeService", "Fault", "Request"]


@attrs.frozen
class Request:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    path_params: dict[str, str] = attrs.field(factory=dict)
    #: Every value of every query parameter: ``query`` keeps only the first, which loses the
    #: repeated ``statuses[]=…&statuses[]=…`` filters that PagerDuty-style APIs take.
    query_lists: dict[str, list[str]] = attrs.field(factory=dict)

    def json(self) -> Any:
        """The body parsed as JSON, or the form fields when the body is form-encoded."""
        if not self.body:
            return {}
        content_type = self.headers.get("content-type", "")
        if "application/x-www-form-urlencoded" in content_type:
            return {
                k: v[0] for k, v in parse_qs(self.body.decode(), keep_blank_values=True).items()
            }
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        """A request header, case-insensitively."""
        return self.headers.get(name.lower())


@attrs.frozen
class Answer:
    """What a route answers: a status, a JSON body (or raw bytes) and headers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = attrs.field(factory=dict)
    raw: bytes | None = None


@attrs.frozen
class Fault:
    """A failure to inject: a status with a body, a slow answer, a dropped connection or garbage."""

    status: int = 500
    body: Any = attrs.field(factory=lambda: {"error": "injected fault"})
    headers: dict[str, str] = attrs.field(factory=dict)
    delay: float = 0.0
    drop: bool = False
    raw: bytes | None = None


@attrs.frozen
class Call:
    """A request the fake answered, with the status it answered."""

    request: Request
    status: int

    @property
    def path(self) -> str:
        """The request path."""
        return self.request.path


Handler = Callable[[Request], Answer]


@attrs.define
class _PendingFault:
    pattern: re.Pattern[str]
    fault: Fault
    times: int


@attrs.define
class _RateLimit:
    pattern: re.Pattern[str]
    per_second: float
    retry_after: int
    status: int
    stamps: list[float] = attrs.field(factory=list)


class FakeService:
    """Base class for the fake services: routing, recording, delays, faults and rate limits.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`. ``url`` is the base URL
    once started. Pass ``ssl_context`` (e.g. from :mod:`trustme`) to serve HTTPS.
    """

    def __init__(self, *, delay: float = 0.0, ssl_context: ssl.SSLContext | None = None) -> None:
        self.delay = delay
        self.calls: list[Call] = []
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._faults: list[_PendingFault] = []
        self._limits: list[_RateLimit] = []
        self._lock = threading.RLock()
        self._ssl_context = ssl_context
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        # Connections being served: a keep-alive connection would otherwise go on being
        # answered by its handler thread after stop(), as if the service were still up.
        self._connections: set[socket.socket] = set()

    # -- routing -----------------------------------------------------------------------------

    def route(self, method: str, path: str, handler: Handler) -> None:
        """Answer ``method path`` with ``handler``; ``{name}`` segments become ``path_params``."""
        regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$"
        self._routes.append((method.upper(), re.compile(regex), handler))

    # -- faults and limits -------------------------------------------------------------------

    def fail_next(self, path_pattern: str, fault: Fault | None = None, *, times: int = 1) -> None:
        """Answer the next ``times`` requests whose path matches ``path_pattern`` with ``fault``."""
        with self._lock:
            self._faults.append(_PendingFault(re.compile(path_pattern), fault or Fault(), times))

    def clear_faults(self) -> None:
        """Forget every pending fault."""
        with self._lock:
            self._faults.clear()

    def rate_limit(
        self, path_pattern: str, per_second: float, *, retry_after: int = 1, status: int = 429
    ) -> None:
        """Answer ``status`` with ``Retry-After`` past ``per_second`` requests per path pattern."""
        with self._lock:
            self._limits.append(
                _RateLimit(re.compile(path_pattern), per_second, retry_after, status)
            )

    def calls_to(self, path_pattern: str) -> list[Call]:
        """The recorded calls whose path matches ``path_pattern``."""
        regex = re.compile(path_pattern)
        with self._lock:
            return [c for c in self.calls if regex.search(c.request.path)]

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL (``http://127.0.0.1:PORT`` or ``https://localhost:PORT``)."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        port = self._server.server_address[1]
        if self._ssl_context is not None:
            return f"https://localhost:{port}"
        return f"http://127.0.0.1:{port}"

    def start(self) -> Self:
        """Listen on an ephemeral port of the loopback interface, in a daemon thread.

        After :meth:`stop` it listens again on the port it had, keeping its state: a service
        restarted where its clients expect it.
        """
        server = ThreadingHTTPServer(("127.0.0.1", self._port), _make_handler(self))
        server.daemon_threads = True
        self._port = server.server_address[1]
        if self._ssl_context is not None:
            server.socket = self._ssl_context.wrap_socket(server.socket, server_side=True)
        self._server = server
        # A short poll interval keeps stop() fast; the default 0.5 s is paid by every test.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and drop the connections being served (connections are refused)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            open_connections = list(self._connections)
        for connection in open_connections:
            with suppress(OSError):  # already closed by its client
                connection.shutdown(socket.SHUT_RDWR)

    @contextmanager
    def stopped(self) -> Iterator[None]:
        """While inside, the service is not running: connections to its port are refused.

        Afterwards it is started again on the same port with its state kept, so clients that
        were pointed at it find it back.
        """
        self.stop()
        try:
            yield
        finally:
            self.start()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @contextmanager
    def down(self) -> Iterator[None]:
        """While inside, every request gets a dropped connection (a service outage)."""
        self.fail_next(".*", Fault(drop=True), times=10**9)
        try:
            yield
        finally:
            self.clear_faults()

    # -- dispatch ----------------------------------------------------------------------------

    def _take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for pending in self._faults:
                if pending.pattern.search(path):
                    pending.times -= 1
                    if pending.times <= 0:
                        self._faults.remove(pending)
                    return pending.fault
            now = time.monotonic()
            for limit in self._limits:
                if not limit.pattern.search(path):
                    continue
                window = [t for t in limit.stamps if now - t < 1.0]
                limit.stamps[:] = window
                if len(window) >= limit.per_second:
                    return Fault(
                        status=limit.status,
                        body=self.rate_limited_body(),
                        headers={"Retry-After": str(limit.retry_after)},
                    )
                limit.stamps.append(now)
        return None

    def rate_limited_body(self) -> Any:
        """The body answered with a rate-limit status; fakes override it to match their API."""
        return {"error": "rate_limited"}

    def not_found(self, request: Request) -> Answer:
        """The answer for a path no route knows; fakes override it to match their API."""
        return Answer(404, {"error": f"no route for {request.method} {request.path}"})

    def dispatch(self, request: Request) -> Answer | Fault:
        """Answer one request: injected fault, rate limit, or the matching route."""
        fault = self._take_fault(request.path)
        if fault is not None:
            return fault
        for method, regex, handler in self._routes:
            match = regex.match(request.path)
            if match and method == request.method:
                routed = attrs.evolve(request, path_params=match.groupdict())
                with self._lock:
                    return handler(routed)
        return self.not_found(request)

    def record(self, request: Request, status: int) -> None:
        """Remember a call."""
        with self._lock:
            self.calls.append(Call(request, status))


def _make_handler(service: FakeService) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes; with Nagle's algorithm on, a keep-alive
        # client's delayed ACK then stalls every answer by ~40 ms.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def setup(self) -> None:
            super().setup()
            with service._lock:
                service._connections.add(self.connection)

        def finish(self) -> None:
            with service._lock:
                service._connections.discard(self.connection)
            with suppress(OSError):  # the service was stopped under this connection
                super().finish()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            query_lists = parse_qs(parts.query)
            request = Request(
                method=self.command,
                path=parts.path,
                query={k: v[0] for k, v in query_lists.items()},
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
                query_lists=query_lists,
            )
            if service.delay:
                time.sleep(service.delay)
            answer = service.dispatch(request)
            if isinstance(answer, Fault):
                if answer.delay:
                    time.sleep(answer.delay)
                if answer.drop:
                    service.record(request, 0)
                    self.close_connection = True
                    self.connection.close()
                    return
            service.record(request, answer.status)
            if answer.raw is not None:
                payload = answer.raw
            elif answer.body is None:
                payload = b""
            else:
                payload = json.dumps(answer.body).encode()
            self.send_response(answer.status)
            headers = {"Content-Type": "application/json; charset=utf-8", **answer.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    return _Handler
