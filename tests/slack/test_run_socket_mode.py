"""``firebell run`` in Socket Mode, as a subprocess against a local Socket Mode server.

Slack's Socket Mode: the app calls ``apps.connections.open`` with its app-level token, opens the
WebSocket URL it gets, receives a ``hello``, then envelopes (a slash command's fields in
``payload``) that it acknowledges by sending back their ``envelope_id``. The server here speaks
just enough WebSocket (RFC 6455) for the real slack_sdk client.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from firebell.testing.fake_http import Answer, FakeService, Fault, Request
from firebell.testing.fake_slack import BOT_TOKEN, TEAM_ID, FakeSlack

APP_TOKEN = "xapp-1-firebell-test"
_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class SocketModeServer:
    """Accepts WebSocket connections, greets with ``hello`` and records what the app sends."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.received: list[dict[str, Any]] = []
        self.connections: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/link/?ticket=test"

    def close(self) -> None:
        self.listener.close()
        for connection in self.connections:
            connection.close()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = connection.recv(1024)
            if not chunk:
                return
            request += chunk
        key = next(
            line.split(b":", 1)[1].strip()
            for line in request.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        accept = base64.b64encode(hashlib.sha1(key + _WS_GUID).digest())
        connection.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        with self.lock:
            self.connections.append(connection)
        self.send(connection, {"type": "hello", "num_connections": 1, "debug_info": {}})
        try:
            while True:
                opcode, payload = _read_frame(connection)
                if opcode == 0x8:
                    return
                if opcode == 0x9:
                    _write_frame(connection, 0xA, payload)
                elif opcode == 0x1:
                    with self.lock:
                        self.received.append(json.loads(payload))
        except (OSError, ConnectionError):
            return

    def send(self, connection: socket.socket, message: dict[str, Any]) -> None:
        _write_frame(connection, 0x1, json.dumps(message).encode())

    def send_to_latest(self, message: dict[str, Any]) -> None:
        with self.lock:
            connection = self.connections[-1]
        self.send(connection, message)


def _recv_exactly(connection: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = connection.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _read_frame(connection: socket.socket) -> tuple[int, bytes]:
    first, second = _recv_exactly(connection, 2)
    length = second & 0x7F
    if length == 126:
        length = struct.unpack("!H", _recv_exactly(connection, 2))[0]
    elif length == 127:
        length = struct.unpack("!Q", _recv_exactly(connection, 8))[0]
    mask = _recv_exactly(connection, 4) if second & 0x80 else b"\0\0\0\0"
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(_recv_exactly(connection, length)))
    return first & 0x0F, payload


def _write_frame(connection: socket.socket, opcode: int, payload: bytes) -> None:
    header = bytes([0x80 | opcode])
    if len(payload) < 126:
        header += bytes([len(payload)])
    elif len(payload) < 65536:
        header += bytes([126]) + struct.pack("!H", len(payload))
    else:
        header += bytes([127]) + struct.pack("!Q", len(payload))
    connection.sendall(header + payload)


class Gateway(FakeService):
    """The Web API as the app sees it: ``apps.connections.open`` here, the rest from FakeSlack."""

    def __init__(self, slack: FakeSlack, socket_url: str) -> None:
        super().__init__()
        self.socket_url = socket_url
        self.route("POST", "/api/apps.connections.open", self._open)
        self.route("POST", "/api/{method}", self._forward)
        self.slack = slack

    def _open(self, request: Request) -> Answer:
        if request.header("authorization") != f"Bearer {APP_TOKEN}":
            return Answer(200, {"ok": False, "error": "invalid_auth"})
        return Answer(200, {"ok": True, "url": self.socket_url})

    def _forward(self, request: Request) -> Answer:
        answer = self.slack.dispatch(request)
        assert not isinstance(answer, Fault)
        return answer


@pytest.fixture
def socket_mode() -> Iterator[tuple[FakeSlack, SocketModeServer, Gateway]]:
    server = SocketModeServer()
    with FakeSlack() as slack:
        slack.route("POST", "/commands/{team}/{first}/{second}", lambda _r: Answer(200, raw=b"ok"))
        with Gateway(slack, server.url) as gateway:
            yield slack, server, gateway
    server.close()


def _wait(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _start(tmp_path: Path, gateway: Gateway, app_token: str) -> subprocess.Popen[str]:
    config = tmp_path / "plugins.toml"
    config.write_text(f'[firebell]\ndatabase_url = "sqlite:///{tmp_path / "f.db"}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "FIREBELL_"))}
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=app_token, SLACK_API_URL=gateway.url + "/api/"
    )
    return subprocess.Popen(
        [sys.executable, "-m", "firebell.adapters.cli.main", "--config", str(config), "run"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_socket_mode_answers_slash_commands_and_stops_on_sigterm(
    tmp_path: Path, socket_mode: tuple[FakeSlack, SocketModeServer, Gateway]
) -> None:
    slack, server, gateway = socket_mode
    process = _start(tmp_path, gateway, APP_TOKEN)
    try:
        _wait(lambda: server.connections or process.poll() is not None, 30, "the WebSocket")
        assert process.poll() is None
        reply_to = f"{slack.url}/commands/{TEAM_ID}/1/socket"
        server.send_to_latest(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": {
                    "team_id": TEAM_ID,
                    "channel_id": "C0000GENERAL",
                    "user_id": "U0000REPORT",
                    "command": "/incident",
                    "text": "help",
                    "response_url": reply_to,
                    "trigger_id": "1.2.socket",
                },
            }
        )
        _wait(lambda: any(m.get("envelope_id") == "env-1" for m in server.received), 10, "the ack")
        _wait(lambda: slack.calls_to("^/commands/"), 10, "the help reply")
        reply = json.loads(slack.calls_to("^/commands/")[0].request.body)
        assert "/incident update" in reply["text"]

        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()

    assert process.returncode == 0, stderr
    assert "connected to Slack in Socket Mode" in stderr and "stopped" in stderr
    assert "Traceback" not in stderr


def test_a_refused_app_token_is_a_clear_startup_error(
    tmp_path: Path, socket_mode: tuple[FakeSlack, SocketModeServer, Gateway]
) -> None:
    _, _, gateway = socket_mode
    process = _start(tmp_path, gateway, "xapp-1-wrong")
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == 2
    assert "Slack refused SLACK_APP_TOKEN: invalid_auth" in stderr
    assert "xapp-1-wrong" not in stderr and "Traceback" not in stderr
