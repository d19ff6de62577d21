"""A recording HTTP stub on a real loopback port: the ``other`` origin of SECURITY.md §4.L.

Every request is kept whole — method, raw path with its query, raw header block and body — so a test
can look for a secret in any encoding anywhere in what reached it. Any GET answers a login page (a
username and a password input and a submit button posting back to the same URL, each input inside a
Perspective-like ``[data-component-path]`` wrapper, so browser, Perspective and IdP-style login steps
all find something to type into); any POST answers ``<h1>Welcome</h1>``. A GET of a path ending in
``/frame-host?src=URL`` answers a page that shows URL in an iframe (a cross-origin frame inside a
page of this origin).
"""

from __future__ import annotations

import html
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

LOGIN_PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>Stub login</title></head>
<body>
<h2>Sign in</h2>
<form class="login-form" method="post" action="">
  <div data-component="ia.input.textfield" data-component-path="C.0:0" id="user-comp">
    <input name="username" autocomplete="username" placeholder="Username">
  </div>
  <div data-component="ia.input.passwordfield" data-component-path="C.0:1" id="pass-comp">
    <input name="password" type="password" autocomplete="current-password" placeholder="Password">
  </div>
  <button type="submit">Continue</button>
</form>
</body></html>
"""
FRAME_HOST = (
    b"<!doctype html><html><head><title>Frame host</title></head><body><h2>Framed</h2>"
    b'<iframe id="framed" src="SRC" width="600" height="400"></iframe></body></html>'
)
WELCOME_PAGE = (
    b"<!doctype html><html><head><title>Welcome</title></head><body><h1>Welcome</h1></body></html>"
)


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str  # the raw request target: path and query exactly as sent
    headers: str  # the raw header block
    body: bytes

    def raw(self) -> bytes:
        return (
            f"{self.method} {self.path}\r\n{self.headers}\r\n".encode("latin-1", "replace")
            + self.body
        )


class RecordingStub:
    """``start()`` returns the base URL (``http://127.0.0.1:PORT``); ``records`` grows per request."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.records: list[Recorded] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def mark(self) -> int:
        with self._lock:
            return len(self.records)

    def since(self, mark: int = 0) -> list[Recorded]:
        with self._lock:
            return list(self.records[mark:])

    def raw_since(self, mark: int = 0) -> bytes:
        return b"\n".join(r.raw() for r in self.since(mark))

    def start(self) -> str:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            self.rfile.readline()
                            break
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    return b"".join(chunks)
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length > 0 else b""

            def _handle(self) -> None:
                body = self._body()
                with stub._lock:
                    stub.records.append(Recorded(self.command, self.path, str(self.headers), body))
                page = LOGIN_PAGE if self.command in ("GET", "HEAD") else WELCOME_PAGE
                target = urlsplit(self.path)
                if self.command == "GET" and target.path.endswith("/frame-host"):
                    src = parse_qs(target.query).get("src", ["about:blank"])[0]
                    page = FRAME_HOST.replace(b"SRC", html.escape(src, quote=True).encode())
                if self.path.startswith("/favicon"):
                    self.send_response(404)
                    page = b""
                else:
                    self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(page)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

        self._server = ThreadingHTTPServer((self.host, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


__all__ = ["FRAME_HOST", "LOGIN_PAGE", "WELCOME_PAGE", "Recorded", "RecordingStub"]
