"""Serving the simulator on a real port with Hypercorn.

The listening socket is opened here (port 0 picks a free port) so the real port can be printed and
reused: while the gateway is meant to be down (restart ``down_seconds`` or a drop fault) the server is
shut down and the port really refuses connections, then it comes back on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import Callable
from typing import Any

from hypercorn.asyncio import serve as hypercorn_serve
from hypercorn.config import Config

from .app import SimASGI, create_app
from .state import SimGateway


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named so asyncio turns Nagle off on accepted sockets (see the API's server.py).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.setblocking(False)
    return sock


def _config(sock: socket.socket) -> Config:
    config = Config()
    config.bind = [f"fd://{sock.fileno()}"]
    config.accesslog = None
    config.errorlog = None
    config.graceful_timeout = 0.2
    config.keep_alive_timeout = 5
    return config


class SimServer:
    """A running simulator: ``url`` is known once ``started`` is set."""

    def __init__(self, app: SimASGI, host: str = "127.0.0.1", port: int = 0):
        self.app = app
        app.drop_when_down = True
        self.gateway: SimGateway = app.gateway
        self.host = host
        self.port = port
        self.started = asyncio.Event()
        self._stop = asyncio.Event()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self) -> None:
        self._stop.set()

    async def run(self, announce: Callable[[str], Any] | None = None) -> None:
        while not self._stop.is_set():
            sock = _listen(self.host, self.port)
            self.port = sock.getsockname()[1]
            down = asyncio.Event()
            watcher = asyncio.create_task(self._watch_down(down))
            try:
                if not self.started.is_set():
                    self.started.set()
                    if announce is not None:
                        announce(f"gateway-sim: listening on {self.url}")
                stop_wait = asyncio.create_task(self._stop.wait())
                down_wait = asyncio.create_task(down.wait())

                async def trigger(
                    a: asyncio.Task[Any] = stop_wait, b: asyncio.Task[Any] = down_wait
                ) -> None:
                    await asyncio.wait({a, b}, return_when=asyncio.FIRST_COMPLETED)

                await hypercorn_serve(self.app, _config(sock), shutdown_trigger=trigger)
                stop_wait.cancel()
                down_wait.cancel()
            finally:
                watcher.cancel()
                with contextlib.suppress(OSError):
                    sock.close()
            while not self._stop.is_set() and self.gateway.refusing_connections():
                await asyncio.sleep(0.02)

    async def _watch_down(self, down: asyncio.Event) -> None:
        while not self.gateway.refusing_connections():
            await asyncio.sleep(0.02)
        down.set()


async def serve_async(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    gateway: SimGateway | None = None,
    announce: Callable[[str], Any] | None = None,
    **options: Any,
) -> None:
    """Serve until cancelled. ``options`` are ``SimOptions`` fields when no gateway is given."""
    server = SimServer(create_app(gateway, **options), host, port)
    await server.run(announce)


def serve(host: str = "127.0.0.1", port: int = 0, **options: Any) -> None:
    """Blocking entry point of ``itk gateway-sim``: prints the listening line, serves until Ctrl-C."""

    def announce(line: str) -> None:
        print(line, flush=True)

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_async(host, port, announce=announce, **options))
    sys.stdout.flush()


@contextlib.asynccontextmanager
async def running(gateway: SimGateway | None = None, host: str = "127.0.0.1", **options: Any):  # type: ignore[no-untyped-def]
    """``async with running(gw) as server:`` serve in the background (tests, benchmarks)."""
    server = SimServer(create_app(gateway, **options), host, 0)
    task = asyncio.create_task(server.run())
    await server.started.wait()
    try:
        yield server
    finally:
        server.stop()
        try:
            await asyncio.wait_for(task, 5)
        except (TimeoutError, asyncio.CancelledError):
            task.cancel()


__all__ = ["SimServer", "running", "serve", "serve_async"]
