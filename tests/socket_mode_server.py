"""A loopback Socket Mode server: the WebSocket end of Slack that a Socket Mode app connects to.

Only the standard library. It speaks what slack_sdk's builtin SocketModeClient needs:

* the RFC 6455 opening handshake (101 + Sec-WebSocket-Accept),
* text frames (server -> client unmasked, client -> server masked, as the RFC requires),
  ping -> pong (the client pings right after connecting and every ping_interval, and
  treats a connection without pongs as stale), close,
* Slack's messages: `hello` on connect, envelopes ({"envelope_id", "type", "payload",
  "accepts_response_payload"}) pushed by the test, and `disconnect` to ask for a reconnect.

What the client sends back (acks: {"envelope_id": ..., "payload": ...}) is recorded so tests
can read it, the way SlackServer records Web API calls.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import socket
import struct
import threading
import time

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONTINUATION, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
TICKET = "loopback-ticket"


def accept_key(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """One unmasked, final frame (server -> client)."""
    header = bytes([0x80 | opcode])
    length = len(payload)
    if length <= 125:
        header += bytes([length])
    elif length <= 0xFFFF:
        header += bytes([126]) + struct.pack("!H", length)
    else:
        header += bytes([127]) + struct.pack("!Q", length)
    return header + payload


class ProtocolError(Exception):
    pass


class _Connection:
    """One accepted client: the handshake, then a reader loop in its own thread."""

    def __init__(self, server: "SocketModeServer", sock: socket.socket, number: int) -> None:
        self.server, self.sock, self.number = server, sock, number
        self.path = ""
        self.open = False
        self._buffer = b""
        self._send_lock = threading.Lock()

    # ---- reading ---------------------------------------------------------------------------

    def _read_exact(self, count: int) -> bytes:
        while len(self._buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("client closed the connection")
            self._buffer += chunk
        data, self._buffer = self._buffer[:count], self._buffer[count:]
        return data

    def _read_http_request(self) -> tuple[str, dict]:
        while b"\r\n\r\n" not in self._buffer:
            if len(self._buffer) > 16384:
                raise ProtocolError("handshake request too long")
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("client closed the connection during the handshake")
            self._buffer += chunk
        head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        request_line, *lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return request_line, headers

    def _read_frame(self) -> tuple[bool, int, bytes]:
        b1, b2 = self._read_exact(2)
        fin, opcode, masked, length = bool(b1 & 0x80), b1 & 0x0F, bool(b2 & 0x80), b2 & 0x7F
        if b1 & 0x70:
            raise ProtocolError("reserved bits set without an extension")
        if not masked:
            raise ProtocolError("client frames must be masked (RFC 6455 5.1)")
        if length == 126:
            (length,) = struct.unpack("!H", self._read_exact(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._read_exact(8))
        mask = self._read_exact(4)
        data = self._read_exact(length)
        return fin, opcode, bytes(byte ^ mask[i % 4] for i, byte in enumerate(data))

    # ---- the connection's life -------------------------------------------------------------

    def handshake(self) -> None:
        request_line, headers = self._read_http_request()
        method, path, _ = (request_line.split(" ") + ["", "", ""])[:3]
        key = headers.get("sec-websocket-key", "")
        valid = (method == "GET" and headers.get("upgrade", "").lower() == "websocket"
                 and "upgrade" in headers.get("connection", "").lower()
                 and headers.get("sec-websocket-version") == "13" and key and f"ticket={TICKET}" in path)
        if not valid:
            self.sock.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            raise ProtocolError(f"bad handshake: {request_line!r} {headers!r}")
        self.path = path
        self.sock.sendall((
            "HTTP/1.1 101 Switching Protocols\r\n"
            "Upgrade: websocket\r\n"
            "Connection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n").encode())
        self.open = True

    def send(self, opcode: int, payload: bytes) -> None:
        with self._send_lock:
            self.sock.sendall(encode_frame(opcode, payload))

    def send_json(self, message: dict) -> None:
        self.send(OP_TEXT, json.dumps(message).encode())

    def run(self) -> None:
        try:
            self.handshake()
            self.send_json({"type": "hello", "num_connections": 1,
                            "debug_info": {"host": "applink-loopback", "approximate_connection_time": 18060},
                            "connection_info": {"app_id": "A0STOCK"}})
            self.server._connected(self)
            message, message_opcode = b"", None
            while True:
                fin, opcode, data = self._read_frame()
                if opcode == OP_PING:
                    self.send(OP_PONG, data)
                elif opcode == OP_PONG:
                    pass
                elif opcode == OP_CLOSE:
                    self.send(OP_CLOSE, data[:2])
                    break
                elif opcode in (OP_TEXT, OP_BINARY, OP_CONTINUATION):
                    if opcode != OP_CONTINUATION:
                        message, message_opcode = b"", opcode
                    message += data
                    if fin:
                        if message_opcode != OP_TEXT:
                            raise ProtocolError("Socket Mode clients send text frames only")
                        self.server._received(json.loads(message.decode("utf-8")))
                else:
                    raise ProtocolError(f"unknown opcode {opcode}")
        except ProtocolError as error:
            self.server._protocol_error(str(error))
        except (ConnectionError, OSError):
            pass  # the client went away (it closes the old socket when it reconnects)
        finally:
            self.close()

    def close(self) -> None:
        with self.server._changed:  # waiters (wait_for_handover) watch `open`
            self.open = False
            self.server._changed.notify_all()
        try:
            self.sock.close()
        except OSError:
            pass


class SocketModeServer:
    def __init__(self) -> None:
        self.connections: list[_Connection] = []
        self.messages: list[dict] = []  # everything the client sent, in order (acks)
        self.protocol_errors: list[str] = []
        self._envelopes = itertools.count(1)
        self._changed = threading.Condition()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._stopped = False
        self._thread = threading.Thread(target=self._accept_loop, daemon=True, name="socket-mode-server")

    @property
    def url(self) -> str:
        """What apps.connections.open hands out (Slack's is wss://wss-primary.slack.com/link/?ticket=...)."""
        return f"ws://127.0.0.1:{self._listener.getsockname()[1]}/link/?ticket={TICKET}&app_id=A0STOCK"

    def start(self) -> "SocketModeServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped = True
        self._listener.close()
        for connection in list(self.connections):
            connection.close()

    # ---- what tests do ---------------------------------------------------------------------

    def wait_for_connection(self, count: int = 1, timeout: float = 15.0) -> None:
        """Block until `count` clients have connected (and been sent `hello`)."""
        self._wait(lambda: len(self.connections) >= count,
                   lambda: f"{len(self.connections)} of {count} Socket Mode connections", timeout)

    def wait_for_handover(self, timeout: float = 15.0) -> None:
        """After a `disconnect`: block until the client has closed every connection but its newest."""
        def handed_over() -> bool:
            return len(self.connections) >= 2 and [c.open for c in self.connections][:-1] == \
                [False] * (len(self.connections) - 1) and self.connections[-1].open

        self._wait(handed_over, lambda: f"a handover; connections open: {[c.open for c in self.connections]}",
                   timeout)

    def push(self, envelope_type: str, payload: dict, accepts_response_payload: bool = False) -> str:
        """Send an envelope to the live connection, as Slack does; returns its envelope_id."""
        envelope_id = f"env-{next(self._envelopes)}-{time.monotonic_ns()}"
        envelope = {"envelope_id": envelope_id, "type": envelope_type, "payload": payload,
                    "accepts_response_payload": accepts_response_payload}
        self._live().send_json(envelope)
        return envelope_id

    def push_slash_command(self, command: str, text: str, response_url: str, user_id: str = "U0BUYER",
                           channel_id: str = "C0WORK", trigger_id: str = "trigger-sm-1") -> str:
        return self.push("slash_commands", {
            "token": "legacy-verification-token", "team_id": "T0TEST", "team_domain": "test",
            "channel_id": channel_id, "channel_name": "work", "user_id": user_id, "user_name": user_id.lower(),
            "command": command, "text": text, "api_app_id": "A0STOCK", "is_enterprise_install": "false",
            "response_url": response_url, "trigger_id": trigger_id,
        }, accepts_response_payload=True)

    def push_interactive(self, payload: dict) -> str:
        return self.push("interactive", payload, accepts_response_payload=payload.get("type") == "view_submission")

    def request_reconnect(self, reason: str = "refresh_requested") -> None:
        """Slack's `disconnect` message: the client should open a new connection."""
        self._live().send_json({"type": "disconnect", "reason": reason,
                                "debug_info": {"host": "applink-loopback"}})

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> dict:
        """The client's acknowledgement of one envelope ({"envelope_id": ..., "payload"?: ...})."""
        found: list[dict] = []

        def acked() -> bool:
            found[:] = [m for m in self.messages if m.get("envelope_id") == envelope_id]
            return bool(found)

        self._wait(acked, lambda: f"an ack for {envelope_id}; received {self.messages}", timeout)
        return found[0]

    # ---- internals -------------------------------------------------------------------------

    def _live(self) -> _Connection:
        with self._changed:
            live = [connection for connection in self.connections if connection.open]
        if not live:
            raise AssertionError("no live Socket Mode connection to send to")
        return live[-1]

    def _wait(self, done, describe, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not done():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"waited {timeout}s for {describe()}; protocol errors: "
                                         f"{self.protocol_errors}")
                self._changed.wait(remaining)

    def _accept_loop(self) -> None:
        number = itertools.count(1)
        while not self._stopped:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return  # stopped
            connection = _Connection(self, sock, next(number))
            threading.Thread(target=connection.run, daemon=True, name=f"socket-mode-{connection.number}").start()

    def _connected(self, connection: _Connection) -> None:
        with self._changed:
            self.connections.append(connection)
            self._changed.notify_all()

    def _received(self, message: dict) -> None:
        with self._changed:
            self.messages.append(message)
            self._changed.notify_all()

    def _protocol_error(self, error: str) -> None:
        with self._changed:
            self.protocol_errors.append(error)
            self._changed.notify_all()
