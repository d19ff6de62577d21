"""Fixtures for the browser plugin tests: pages served on 127.0.0.1 and a playbook runner.

Every test drives real headless Chromium. The pages are plain HTML served by ``http.server`` in a
thread, so the tests need nothing but the plugin and a Chromium.
"""

from __future__ import annotations

import html
import http.server
import json
import threading
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ignition_toolbox.browser import plugin as browser_plugin
from ignition_toolbox.core import Event, Execution, PluginManager

HERE = Path(__file__).parent
PLAYBOOKS = HERE.parents[2] / "playbooks" / "browser"

_STYLE = (
    "<style>body{margin:0;background:#fff;font:16px sans-serif} *{caret-color:transparent}</style>"
)


def _page(title: str, body: str, script: str = "") -> str:
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title>{_STYLE}</head>"
        f"<body>{body}<script>{script}</script></body></html>"
    )


FORM = _page(
    "Form",
    """
<h1 id="title">Test form</h1>
<p id="intro">  Welcome to   the test   page.  </p>
<input id="name" name="name" placeholder="Name">
<input id="password" type="password" name="password">
<input id="keys" placeholder="keys"><span id="key-log"></span>
<select id="color"><option value="r">red</option><option value="g">green</option><option value="b">blue</option></select>
<select id="multi" multiple><option value="a">A</option><option value="b">B</option><option value="c">C</option></select>
<label><input id="agree" type="checkbox"> agree</label>
<label><input id="radio-a" type="radio" name="r" value="a"> a</label>
<button id="disabled-btn" disabled>disabled</button>
<button id="counter" onclick="document.getElementById('count').textContent = ++window.clicks">count</button>
<span id="count">0</span>
<div id="hidden" style="display:none">hidden text</div>
<div id="hover-target" style="width:100px;height:30px;background:#eee">hover me</div>
<div id="tooltip" style="display:none">tooltip!</div>
<input id="file" type="file" multiple><span id="file-names"></span>
<a id="dl" href="/download">download</a>
<a id="next" href="/page/2">next</a>
<a id="popup" href="/page/3" target="_blank">popup</a>
<div class="item">one</div><div class="item">two</div><div class="item">three</div>
<div id="later-box"></div>
""",
    """
window.clicks = 0;
document.getElementById('hover-target').addEventListener('mouseenter', () => {
  document.getElementById('tooltip').style.display = 'block'; });
document.getElementById('keys').addEventListener('keydown', (e) => {
  document.getElementById('key-log').textContent += e.key + ','; });
document.getElementById('file').addEventListener('change', (e) => {
  const names = [];
  for (const f of e.target.files) names.push(f.name + ':' + f.size);
  document.getElementById('file-names').textContent = names.join(';'); });
setTimeout(() => { const d = document.createElement('div'); d.id = 'later';
  d.textContent = 'arrived late'; document.getElementById('later-box').appendChild(d); }, 400);
""",
)

LOGIN = _page(
    "Sign in",
    """
<h1>Sign in</h1>
<div id="error" style="color:#c00">{error}</div>
<form method="post" action="/login">
  <input id="username" name="username" autocomplete="username">
  <input id="password" name="password" type="password" autocomplete="current-password">
  <button id="submit" type="submit">Sign in</button>
</form>
""",
)

DASHBOARD = _page(
    "Dashboard",
    """
<h1 id="welcome">Welcome, {user}</h1>
<nav><a id="to-page-1" href="/page/1">Page 1</a></nav>
<table id="status"><tr><td>Gateway</td><td class="state">Running</td></tr></table>
""",
)

MASK = _page(
    "Masking",
    """
<div style="padding:40px">
  <input id="pw" type="password" style="width:300px;height:60px;font-size:40px;border:0;background:#0a0">
  <div id="secret" data-secret style="margin-top:30px;width:300px;height:60px;background:#00a;color:#fff">TOKEN-123</div>
  <div class="pin" style="margin-top:30px;width:300px;height:60px;background:#a00;color:#fff">4711</div>
  <div id="plain" style="margin-top:30px;width:300px;height:60px;background:#0aa">plain</div>
</div>
""",
)

ANIMATED = _page(
    "Animated",
    '<div id="box" style="width:200px;height:200px;background:#08f;position:relative"></div>',
    """
let x = 0;
function step() { x = (x + 4) % 600; document.getElementById('box').style.left = x + 'px';
  requestAnimationFrame(step); }
requestAnimationFrame(step);
""",
)


def _numbered(n: int) -> str:
    nxt = (
        f'<a id="next" href="/page/{n + 1}">Next</a>'
        if n < 3
        else '<a id="home" href="/dashboard">Home</a>'
    )
    return _page(
        f"Page {n}", f'<h1 id="heading">Page {n}</h1><p class="content">This is page {n}.</p>{nxt}'
    )


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: str | bytes, headers: dict[str, str] | None = None) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Type", "text/html; charset=utf-8")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        path = url.path
        if path == "/form":
            self._send(200, FORM)
        elif path == "/login":
            error = "Invalid username or password" if "error" in query else ""
            self._send(200, LOGIN.replace("{error}", error))
        elif path == "/dashboard":
            user = self.headers.get("Cookie", "").partition("user=")[2].split(";")[0]
            if not user:
                self._send(303, "", {"Location": "/login"})
                return
            self._send(200, DASHBOARD.replace("{user}", user))
        elif path.startswith("/page/"):
            self._send(200, _numbered(int(path.rsplit("/", 1)[1])))
        elif path == "/mask":
            self._send(200, MASK)
        elif path == "/framed":
            # A page that frames another URL (an origin check must look at the frame's document).
            src = html.escape(query.get("src", ["/form"])[0], quote=True)
            self._send(200, _page("Framed", f'<iframe src="{src}" width=600 height=400></iframe>'))
        elif path == "/animated":
            self._send(200, ANIMATED)
        elif path == "/download":
            self._send(
                200,
                b"id,value\n1,42\n",
                {
                    "Content-Type": "text/csv",
                    "Content-Disposition": 'attachment; filename="report.csv"',
                },
            )
        elif path == "/json":
            self._send(200, json.dumps({"ok": True}), {"Content-Type": "application/json"})
        else:
            self._send(404, _page("Not found", "<h1>404</h1>"))

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(length).decode())
        user = form.get("username", [""])[0]
        password = form.get("password", [""])[0]
        if self.path == "/login" and user == "admin" and password == "s3cret-pass":
            self._send(303, "", {"Location": "/dashboard", "Set-Cookie": f"user={user}; Path=/"})
        else:
            self._send(303, "", {"Location": "/login?error=1"})


@pytest.fixture(scope="session")
def site() -> Iterator[str]:
    """Base URL of the test pages (a threaded HTTP server on a free port of 127.0.0.1)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="session")
def plugins() -> PluginManager:
    """The core plus this plugin only, so other plugins' work in progress cannot break these tests."""
    return PluginManager(entry_points=False, extra=[("browser", browser_plugin)])


@dataclass
class Run:
    status: str
    execution: Execution
    events: list[Event] = field(default_factory=list)

    def of(self, kind: str) -> list[Any]:
        return [e for e in self.events if e.type == kind]

    def output(self, step_id: str) -> dict[str, Any]:
        result = next(r for r in self.execution.step_results if r.step_id == step_id)
        assert result.status == "completed", (step_id, result.status, result.error)
        return result.output or {}

    def result(self, step_id: str) -> Any:
        return next(r for r in self.execution.step_results if r.step_id == step_id)

    def artifacts(self, kind: str | None = None) -> list[Any]:
        return [a for a in self.of("artifact") if kind is None or a.kind == kind]


RunPlaybook = Callable[..., Awaitable[Run]]


@pytest.fixture
def run_playbook(plugins: PluginManager, tmp_path: Path) -> RunPlaybook:
    async def run(
        text: str,
        *,
        parameters: dict[str, Any] | None = None,
        source: str = "test.yaml",
        **kwargs: Any,
    ) -> Run:
        playbook = plugins.parse_playbook(text, source=source)
        events: list[Event] = []

        async def sink(event: Event) -> None:
            events.append(event)

        kwargs.setdefault("artifacts_dir", tmp_path / "artifacts")
        execution = Execution(
            playbook, plugins=plugins, parameters=parameters or {}, sink=sink, **kwargs
        )
        status = await execution.run()
        return Run(status, execution, events)

    return run
