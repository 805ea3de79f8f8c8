"""The witness over HTTP/1.1 (keep-alive): ``POST /add-checkpoint``, nothing else.

The body must come with a ``Content-Length`` of at most ``MAX_BODY`` bytes (411 without one,
413 above it; chunked bodies are refused with 411); ``Witness.add_checkpoint`` answers the rest.
Another path is 404, another standard method on this path 405 (``Allow: POST``), a method
HTTP does not define 501, as http.server answers it. Every error body is one line of plain text
that names what was wrong. A connection idle for ``TIMEOUT`` seconds is closed, so a client
that sends half a request holds one thread for that long at most.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from recorder.witness.request import MAX_BODY
from recorder.witness.witness import TEXT_TYPE, Response, Witness

__all__ = ["PATH", "TIMEOUT", "WitnessServer", "parse_listen"]

PATH = "/add-checkpoint"
TIMEOUT = 30.0
_DECIMAL = re.compile(r"[0-9]{1,18}")

log = logging.getLogger("bodycam.witness")


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6); ValueError names what is wrong."""
    host, sep, port = value.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if (
        not sep
        or not _DECIMAL.fullmatch(port)
        or int(port) > 65535
        or not host.isprintable()
        or not host.strip()
        or " " in host
    ):
        raise ValueError(f"{value!r}: give HOST:PORT, e.g. 127.0.0.1:7380 or [::1]:7380")
    return host, int(port)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = TIMEOUT
    error_content_type = TEXT_TYPE
    error_message_format = "%(code)d %(message)s: %(explain)s\n"
    server: WitnessServer

    def setup(self) -> None:
        super().setup()
        # The headers and the body go out as two writes; without this, Nagle's algorithm holds
        # the second until the client's delayed ACK, 40 ms a request on a kept-alive connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        if self.path != PATH:
            self.close_connection = True  # the body is left unread
            self._send(Response.text(404, f"no such endpoint {self.path[:80]!r}; POST {PATH}"))
            return
        length = self._length()
        if isinstance(length, Response):
            self.close_connection = True  # the body, if any, is left unread
            self._send(length)
            return
        body = self.rfile.read(length)
        if len(body) < length:  # the client went away, or timed out mid-body
            self.close_connection = True
            return
        try:
            answer = self.server.witness.add_checkpoint(body)
        except Exception:  # a bug: said so, logged, and the state is as its last commit left it
            log.exception("add-checkpoint failed")
            answer = Response.text(500, "internal error of the witness; nothing was cosigned")
        self._send(answer)

    def _length(self) -> int | Response:
        """The body's length, or the answer to a request whose body is not to be read."""
        if "Transfer-Encoding" in self.headers:
            return Response.text(411, "send the body with a Content-Length, not chunked")
        values = self.headers.get_all("Content-Length") or []
        if not values:
            return Response.text(411, "a Content-Length is required")
        if len(values) > 1 or not _DECIMAL.fullmatch(values[0].strip()):
            return Response.text(400, f"Content-Length is one decimal number: {values[:2]!r}")
        length = int(values[0])
        if length > MAX_BODY:
            return Response.text(413, f"the body is at most {MAX_BODY} bytes, not {length}")
        return length

    def _not_allowed(self) -> None:
        self.close_connection = True
        if self.path == PATH:
            allow = ("Allow", "POST")
            self._send(Response.text(405, f"{self.command} is not allowed; POST {PATH}", allow))
        else:
            self._send(Response.text(404, f"no such endpoint {self.path[:80]!r}; POST {PATH}"))

    do_GET = do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed

    def _send(self, r: Response) -> None:
        self.send_response(r.status)
        self.send_header("Content-Type", r.content_type)
        self.send_header("Content-Length", str(len(r.body)))
        for k, v in r.headers:
            self.send_header(k, v)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(r.body)

    def version_string(self) -> str:
        return "bodycam-witness"

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)


class WitnessServer(ThreadingHTTPServer):
    """A thread per connection; :meth:`close` (safe to call twice) stops it and waits."""

    daemon_threads = True
    request_queue_size = 1024
    """The listen backlog (the kernel caps it at net.core.somaxconn): socketserver's default of
    5 resets connections when a fleet's docks connect at once (issue 9, the fleet bench)."""

    def __init__(self, address: tuple[str, int], witness: Witness) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, _Handler)
        self.witness = witness
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.socket.getsockname()[:2]
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def start(self) -> None:
        """Serve in a background thread (tests, and ``serve`` until a signal)."""
        self._thread = threading.Thread(target=self.serve_forever, name="witness", daemon=True)
        self._thread.start()

    def close(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()
