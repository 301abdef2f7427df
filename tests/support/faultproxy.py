"""An HTTP proxy in front of the real kube-apiserver that injects faults the server won't produce
on demand (429 storms, 503s, HTML login pages, truncated bodies).

Like `kubectl proxy`, it listens on plain HTTP on 127.0.0.1 and forwards each request to the real
server with the admin credentials; a request that matches a queued fault gets the fault's answer
instead (the real server never sees it). Every request it receives is recorded in ``seen``, every
connection counted in ``connections``. Given a server-side TLS context it listens on HTTPS instead.
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-encoding", "content-length", "te",
              "trailer", "upgrade", "proxy-authorization", "proxy-authenticate"}


@dataclass
class Fault:
    method: str
    path: re.Pattern[str]
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    faulted: bool


class FaultProxy:
    """Start with ``start()``; point a client at ``url``; queue faults with ``inject``."""

    def __init__(self, upstream: requests.Session, upstream_url: str, *, tls: ssl.SSLContext | None = None) -> None:
        self.upstream = upstream
        self.upstream_url = upstream_url
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self.connections = 0  # TCP connections accepted (a TLS handshake alone counts)
        self._lock = threading.Lock()
        self._server = _Server(self, self._handler_class(), tls)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        scheme = "https" if self._server.tls else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def inject(self, method: str, path_regex: str, status: int, body: bytes = b"", *, times: int = 1,
               headers: dict[str, str] | None = None) -> None:
        """The next ``times`` requests matching ``method`` and ``path_regex`` get this answer."""
        with self._lock:
            self.faults.append(Fault(method.upper(), re.compile(path_regex), status, body, headers or {}, times))

    def requests_to(self, path_regex: str) -> list[Seen]:
        pattern = re.compile(path_regex)
        return [s for s in self.seen if pattern.search(s.path)]

    def _take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.times > 0 and fault.method == method and fault.path.search(path):
                    fault.times -= 1
                    return fault
        return None

    def _counted(self) -> None:
        with self._lock:
            self.connections += 1

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - quiet
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                fault = proxy._take_fault(self.command, self.path)
                proxy.seen.append(Seen(self.command, self.path, dict(self.headers), fault is not None))
                if fault:
                    self._answer(fault.status, fault.headers, fault.body)
                else:
                    self._forward(body)

            def _forward(self, body: bytes | None) -> None:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"host"}}
                upstream = proxy.upstream.request(self.command, proxy.upstream_url + self.path, headers=headers,
                                                  data=body, stream=True, timeout=(5, 120))
                with upstream:
                    keep = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
                    if "watch=true" in self.path or "watch=1" in self.path:
                        self._stream(upstream.status_code, keep, upstream)
                    else:
                        self._answer(upstream.status_code, keep, upstream.content)

            def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _stream(self, status: int, headers: dict[str, str], upstream: requests.Response) -> None:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    for chunk in upstream.raw.stream(65536, decode_content=True):
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        return Handler


class _Server(ThreadingHTTPServer):
    """Counts connections; with ``tls``, does each handshake in the connection's own thread."""

    daemon_threads = True

    def __init__(self, proxy: FaultProxy, handler: type[BaseHTTPRequestHandler], tls: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), handler)
        self.proxy = proxy
        self.tls = tls

    def finish_request(self, request: socket.socket, client_address: tuple[str, int]) -> None:  # type: ignore[override]
        self.proxy._counted()
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        try:
            wrapped = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            super().finish_request(wrapped, client_address)
        finally:
            wrapped.close()
