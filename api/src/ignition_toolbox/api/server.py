"""Serving the app on Hypercorn: a pre-bound socket (so ``--port 0`` can report its port), the
``itk: listening on`` line an Electron shell waits for, and a SIGTERM that stops runs cleanly.
The same clean stop follows the end of a watched parent process (``--parent-pid``) or of standard
input (``--stdin-watch``), so a shell that dies cannot leave the server running.

Two transport choices keep one execution's viewers from costing more than its frames: WebSockets
are served without permessage-deflate, and a peer that stops reading is cut off by the kernel.

Hypercorn, Quart and the app are imported once the port is bound, so a busy port is reported (and
the process gone) a second or more sooner than after importing them.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

from .settings import Settings, is_loopback

if TYPE_CHECKING:
    from hypercorn.config import Config
    from quart import Quart

    from ignition_toolbox.core import PluginManager

log = logging.getLogger(__name__)


def hypercorn_config(settings: Settings) -> Config:
    from hypercorn.config import Config

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


def decline_websocket_compression() -> None:
    """Hypercorn always offers wsproto's ``PerMessageDeflate``; it looks the name up per handshake."""
    from hypercorn.protocol import ws_stream
    from wsproto.extensions import Extension

    class DeclinedDeflate(Extension):
        """permessage-deflate keeps compression state per connection, so every viewer would
        deflate every ~70 KB frame again: measured with 100 viewers at 10 frames/s, the execution
        ran 4.5× slower. Frames are base64 JPEG and hardly compress; browsers offer deflate, we
        decline it."""

        name = "permessage-deflate"

        def offer(self) -> bool:
            return False

        def accept(self, offer: str) -> None:
            return None

    ws_stream.PerMessageDeflate = DeclinedDeflate  # type: ignore[attr-defined,assignment]


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


PARENT_POLL_SECONDS = 0.5


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` still runs; cheap enough to ask every half second."""
    if os.name == "nt":
        import ctypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x00100000, False, pid)  # SYNCHRONIZE
        if not handle:
            denied = ctypes.get_last_error() == 5  # type: ignore[attr-defined]
            return bool(denied)  # access denied: it exists
        try:
            return bool(kernel32.WaitForSingleObject(handle, 0) == 0x102)  # WAIT_TIMEOUT
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


async def wait_for_exit(pid: int) -> None:
    """Returns once process ``pid`` is gone. On Linux a pidfd wakes the loop at its exit (and,
    unlike polling, counts an unreaped zombie as gone and cannot mistake a reused pid); elsewhere
    the process is polled every PARENT_POLL_SECONDS."""
    loop = asyncio.get_running_loop()
    fd = -1
    if hasattr(os, "pidfd_open"):
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            return
        except OSError:  # kernel without pidfds, or a sandbox refusing them
            fd = -1
    if fd >= 0:
        exited: asyncio.Future[None] = loop.create_future()

        def readable() -> None:
            if not exited.done():
                exited.set_result(None)

        try:
            loop.add_reader(fd, readable)
        except (NotImplementedError, OSError, ValueError):
            os.close(fd)
        else:
            try:
                await exited
            finally:
                loop.remove_reader(fd)
                os.close(fd)
            return
    while process_alive(pid):
        await asyncio.sleep(PARENT_POLL_SECONDS)


def watch_stdin(loop: asyncio.AbstractEventLoop, at_end: Callable[[], None]) -> None:
    """Calls ``at_end`` on the loop once standard input ends: its writer closed it or died. What
    is read is thrown away. A thread reads, as pipes, files and consoles all block alike there."""

    def read() -> None:
        try:
            fd = sys.stdin.fileno() if sys.stdin is not None else -1
            while fd >= 0 and os.read(fd, 65536):
                pass
        except (OSError, ValueError):
            pass
        # RuntimeError: the loop is already closed, the server stopped first.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(at_end)

    threading.Thread(target=read, name="itk-stdin-watch", daemon=True).start()


def say(line: str, stream: TextIO) -> None:
    """A status line for the shell. Once the shell is gone its pipes have no reader, and that is
    no reason to fail the stop it triggers: the stream is pointed at the null device instead (as
    the Python docs advise), so neither this nor the flush at exit raises BrokenPipeError."""
    try:
        print(line, file=stream, flush=True)
    except (BrokenPipeError, ConnectionResetError):
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, stream.fileno())
            os.close(devnull)


def display_url(host: str, port: int) -> str:
    shown = f"[{host.strip('[]')}]" if ":" in host.strip("[]") else host
    return f"http://{shown}:{port}"


async def release(app: Quart) -> None:
    """What the app's ``after_serving`` does, for a serve that failed before it could run: an
    open aiosqlite thread would keep the failed process alive."""
    from .app import stop_activity
    from .database import close_database
    from .state import EXTENSION, AppState

    await stop_activity(app)
    state: AppState = app.extensions[EXTENSION]
    if state.database is not None:
        await state.auth.failures.close()
        await close_database(state.database)
        state.database = None


def bind(settings: Settings) -> socket.socket | None:
    """The port first: one in use is refused before the database, the vault and the workers
    start, whose threads and tasks would otherwise keep the failed process alive."""
    try:
        return listening_socket(settings.host, settings.port, settings.ws_send_timeout)
    except OSError as exc:
        print(
            f"itk: error: cannot listen on {settings.host}:{settings.port}: {exc.strerror}",
            file=sys.stderr,
            flush=True,
        )
        return None


async def serve_async(
    settings: Settings, plugins: PluginManager | None = None, sock: socket.socket | None = None
) -> int:
    """Serves on ``sock``, bound by ``serve`` (or here, if not given) and closed on return."""
    if sock is None and (sock := bind(settings)) is None:
        return 1
    from hypercorn.asyncio.run import worker_serve
    from hypercorn.config import Sockets
    from hypercorn.utils import wrap_app

    from .app import create_app, prepare, startup_error, stop_activity

    app = create_app(settings, plugins=plugins)
    try:
        await prepare(app)
    except Exception as exc:
        sock.close()
        print(
            f"itk: error: {startup_error(app) or type(exc).__name__}", file=sys.stderr, flush=True
        )
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

    def stop_because(reason: str) -> None:
        if not stop.is_set():
            stop.set()
            say(f"itk: {reason}; stopping", sys.stderr)

    watchers: list[asyncio.Task[None]] = []
    if settings.parent_pid is not None:
        parent = settings.parent_pid

        async def watch_parent() -> None:
            await wait_for_exit(parent)
            stop_because(f"parent process {parent} is gone")

        watchers.append(asyncio.create_task(watch_parent()))
    if settings.stdin_watch:
        watch_stdin(loop, lambda: stop_because("standard input ended"))

    async def shutdown_trigger() -> None:
        # Hypercorn awaits this only once the listening servers exist, so the port is live now.
        say(f"itk: listening on {display_url(settings.host, port)}", sys.stdout)
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
        await release(app)
        return 1
    finally:
        for watcher in watchers:
            watcher.cancel()
        sock.close()
    failure = startup_error(app)
    if failure:
        print(f"itk: error: {failure}", file=sys.stderr, flush=True)
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
    sock = bind(settings)
    if sock is None:
        return 1
    try:
        # Imported now, before the loop runs, as when they were imported with this module:
        # imported inside a running uvloop loop, a request pipelined behind a body the app
        # refused was lost (test_a_4xx_before_the_body_never_costs_the_next_request). Why is
        # not known yet.
        import hypercorn.asyncio.run  # noqa: F401

        from . import app, logs  # noqa: F401

        logs.install()
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            return runner.run(serve_async(settings, plugins, sock))
    finally:
        sock.close()


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
    "bind",
    "decline_websocket_compression",
    "display_url",
    "event_loop_factory",
    "hypercorn_config",
    "listening_socket",
    "process_alive",
    "serve",
    "serve_async",
    "wait_for_exit",
    "watch_stdin",
]
