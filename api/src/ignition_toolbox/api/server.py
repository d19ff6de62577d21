"""Serving the app on Hypercorn: a pre-bound socket (so ``--port 0`` can report its port), the
``itk: listening on`` line an Electron shell waits for, and a SIGTERM that stops runs cleanly.

Two transport choices keep one execution's viewers from costing more than its frames: WebSockets
are served without permessage-deflate, and a peer that stops reading is cut off by the kernel.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable

from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Config, Sockets
from hypercorn.utils import wrap_app
from wsproto.extensions import Extension

from ignition_toolbox.core import PluginManager

from . import logs
from .app import create_app, prepare, startup_error, stop_activity
from .settings import Settings, is_loopback

log = logging.getLogger(__name__)


def hypercorn_config(settings: Settings) -> Config:
    config = Config()
    config.include_server_header = False
    config.accesslog = None
    # Runs and WebSockets are already drained by stop_activity before Hypercorn waits on sockets.
    config.graceful_timeout = 2.0
    config.websocket_max_message_size = 64 * 1024
    config.websocket_ping_interval = 20
    config.h11_max_incomplete_size = 64 * 1024
    config.keep_alive_timeout = 5
    config.read_timeout = 30
    return config


class _DeclinedDeflate(Extension):
    """permessage-deflate keeps compression state per connection, so every viewer would deflate
    every ~70 KB frame again: measured with 100 viewers at 10 frames/s, the execution ran 4.5×
    slower. Frames are base64 JPEG and hardly compress; browsers offer deflate, we decline it."""

    name = "permessage-deflate"

    def offer(self) -> bool:
        return False

    def accept(self, offer: str) -> None:
        return None


def decline_websocket_compression() -> None:
    """Hypercorn always offers wsproto's ``PerMessageDeflate``; it looks the name up per handshake."""
    from hypercorn.protocol import ws_stream

    ws_stream.PerMessageDeflate = _DeclinedDeflate  # type: ignore[misc,assignment]


def listening_socket(host: str, port: int, stalled_peer_seconds: float) -> socket.socket:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    # The protocol is named, not left 0 as socket.create_server leaves it: asyncio turns Nagle off
    # only on sockets whose proto is IPPROTO_TCP, and with Nagle on, a response written as headers
    # then body waits for the client's delayed ACK — measured 44 ms on every request, 0.3 ms without.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        if os.name == "posix":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(False)
    if hasattr(socket, "TCP_USER_TIMEOUT"):
        # Inherited by accepted sockets (Linux). Data a peer leaves unread past this long (zero
        # window) errors the socket, so a stalled viewer is dropped and its buffers freed: asyncio
        # would otherwise wait forever to flush them before closing, whatever the app does.
        sock.setsockopt(
            socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT, int(stalled_peer_seconds * 1000)
        )
    return sock


def display_url(host: str, port: int) -> str:
    shown = f"[{host.strip('[]')}]" if ":" in host.strip("[]") else host
    return f"http://{shown}:{port}"


async def serve_async(settings: Settings, plugins: PluginManager | None = None) -> int:
    app = create_app(settings, plugins=plugins)
    try:
        await prepare(app)
    except Exception as exc:
        print(
            f"itk: error: {startup_error(app) or type(exc).__name__}", file=sys.stderr, flush=True
        )
        return 1
    try:
        sock = listening_socket(settings.host, settings.port, settings.ws_send_timeout)
    except OSError as exc:
        print(
            f"itk: error: cannot listen on {settings.host}:{settings.port}: {exc.strerror}",
            file=sys.stderr,
        )
        await stop_activity(app)
        return 1
    port = sock.getsockname()[1]
    decline_websocket_compression()
    # What start-up allocated (modules, schemas, the plugin registry) lives as long as the server:
    # frozen, the collector's full passes no longer walk it, which shortens the pauses that made
    # the tail of request latency.
    gc.freeze()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for name in ("SIGTERM", "SIGINT"):
        if hasattr(signal, name):
            try:
                loop.add_signal_handler(getattr(signal, name), stop.set)
            except NotImplementedError:  # Windows
                signal.signal(getattr(signal, name), lambda *_: stop.set())

    async def shutdown_trigger() -> None:
        # Hypercorn awaits this only once the listening servers exist, so the port is live now.
        print(f"itk: listening on {display_url(settings.host, port)}", flush=True)
        await stop.wait()
        await stop_activity(app)

    try:
        await worker_serve(
            wrap_app(app, 0, "asgi"),
            hypercorn_config(settings),
            sockets=Sockets([], [sock], []),
            shutdown_trigger=shutdown_trigger,
        )
    except Exception as exc:
        reason = startup_error(app) or f"{type(exc).__name__}"
        print(f"itk: error: {reason}", file=sys.stderr, flush=True)
        return 1
    finally:
        sock.close()
    reason = startup_error(app)
    if reason:
        print(f"itk: error: {reason}", file=sys.stderr, flush=True)
        return 1
    return 0


def serve(settings: Settings, plugins: PluginManager | None = None) -> int:
    if not settings.auth and not is_loopback(settings.host):
        print(
            f"itk: error: refusing to listen on {settings.host} without --auth "
            "(only loopback addresses may run without API keys)",
            file=sys.stderr,
        )
        return 2
    logs.install()
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        return runner.run(serve_async(settings, plugins))


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (not on Windows): the server runs every execution, its
    gateway calls and its database writes on one loop, and uvloop's costs per callback and per
    socket operation are lower — measured 10 % less CPU per gateway upgrade (bench/fleet.py).
    ``ITK_EVENT_LOOP=asyncio`` keeps the standard loop."""
    if os.environ.get("ITK_EVENT_LOOP", "").lower() == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


__all__ = [
    "decline_websocket_compression",
    "display_url",
    "event_loop_factory",
    "hypercorn_config",
    "listening_socket",
    "serve",
    "serve_async",
]
