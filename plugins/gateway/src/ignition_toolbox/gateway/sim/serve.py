"""Serving the simulator on a real port with uvicorn.

The listening socket is opened here (port 0 picks a free port) so the real port can be printed and
reused: while the gateway is meant to be down (restart ``down_seconds`` or a drop fault) the server is
shut down and the port really refuses connections, then it comes back on the same port.

The simulator stands in for gateways on other machines, yet in tests and in bench/fleet.py dozens of
them share this machine's cores with the toolbox under test. uvicorn with its C HTTP parser
(httptools) answers a simulator request for about half the CPU Hypercorn with h11 needs (0.21 against
0.39 ms, measured here), so the stand-in takes less of the machine from what is being measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

from .app import SimASGI, create_app
from .state import SimGateway

try:
    import httptools  # noqa: F401  (uvicorn's C parser; h11 when it is missing)

    _HTTP = "httptools"
except ImportError:  # pragma: no cover - a platform without a wheel
    _HTTP = "h11"


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


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: several simulators share a process (tests, the fleet
    benchmark, a test suite's event loop), and that process's own handling of Ctrl-C stays."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _server(app: SimASGI) -> _Server:
    config = uvicorn.Config(
        app,
        http=_HTTP,
        lifespan="off",
        log_config=None,  # leave the host process's logging as it is
        # Quiet, as under Hypercorn with errorlog=None: a dropped answer (a fault or a restart's
        # down window) would otherwise print "ASGI callable returned without completing response".
        log_level="critical",
        access_log=False,
        server_header=False,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=1,
    )
    return _Server(config)


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
                server = _server(self.app)
                serving = asyncio.create_task(server.serve(sockets=[sock]))
                stop_wait = asyncio.create_task(self._stop.wait())
                down_wait = asyncio.create_task(down.wait())
                await asyncio.wait(
                    {serving, stop_wait, down_wait}, return_when=asyncio.FIRST_COMPLETED
                )
                server.should_exit = True
                stop_wait.cancel()
                down_wait.cancel()
                await serving
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
