"""WebSocket fan-out over real sockets: M viewers of one execution that emits frames of ~50 KB at
10 frames/s, plus one client that never reads.

    .venv/bin/python bench/server_ws.py [--clients 100] [--frames 100] [--fps 10] [--size 50000]
                                        [--client-processes 2] [--no-deflate]

Prints the figures and writes bench/results/server_ws.json. Targets (issue 3): frames delivered per
healthy client ≥ 95 %; capture-to-receipt p99 ≤ 250 ms; execution wall time with viewers ≤ 1.1× the
time without; the stalled client is dropped (SECURITY.md R3: within ≤ 5 s of stalling).

The server runs in its own process with only the core built-ins and bench/server_ws_plugin.py's
``bench.frames`` step. Viewers are ordinary ``websockets`` clients and, like browsers, offer
permessage-deflate unless ``--no-deflate``. They run in ``--client-processes`` processes so one
client event loop is not what limits delivery. Frames carry their capture time (ms since the epoch);
latency is receipt time minus that, on the same machine's clock.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

BENCH = Path(__file__).resolve().parent

PLAYBOOK = """\
name: Frames
version: "1.0"
parameters:
  - {name: count, type: integer, default: 100}
  - {name: fps, type: float, default: 10}
  - {name: size, type: integer, default: 50000}
steps:
  - id: live
    name: Live view
    type: bench.frames
    parameters:
      count: "{{ parameter.count }}"
      fps: "{{ parameter.fps }}"
      size: "{{ parameter.size }}"
"""

# The server process: only the core built-ins plus the bench plugin, no entry points; more
# handshakes per minute than the production default so 100 viewers from one IP may connect.
SERVER = """\
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
import server_ws_plugin
from ignition_toolbox.api.server import serve
from ignition_toolbox.api.settings import Settings
from ignition_toolbox.core import PluginManager
settings = Settings(
    port=0,
    data_dir=Path(sys.argv[2]),
    playbooks_dir=Path(sys.argv[3]),
    secret_key_file=Path(sys.argv[4]),
    ws_handshake_limit="10000/minute",
    bootstrap_admin=False,
)
plugins = PluginManager(entry_points=False, extra=[("benchframes", server_ws_plugin)])
sys.exit(serve(settings, plugins))
"""


def _drain(process: subprocess.Popen[str], lines: list[str]) -> None:
    """Keep reading the server's output so its logging never blocks on a full pipe."""
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line)


def start_server(root: Path, lines: list[str]) -> tuple[subprocess.Popen[str], str]:
    playbooks = root / "playbooks"
    (playbooks / "bench").mkdir(parents=True)
    (playbooks / "bench" / "frames.yaml").write_text(PLAYBOOK)
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SERVER,
            str(BENCH),
            str(root / "data"),
            str(playbooks),
            str(root / "secret.key"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    for line in process.stdout:
        match = re.search(r"itk: listening on (http://\S+)", line)
        if match:
            threading.Thread(target=_drain, args=(process, lines), daemon=True).start()
            return process, match.group(1)
    raise RuntimeError("server did not start")


def _parse_time(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


async def run_execution(url: str, frames: int, fps: float, size: int) -> dict[str, Any]:
    """Start the frames playbook, wait for it to complete, return its wall times."""
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        response = await http.post(
            "/api/executions",
            json={
                "playbook_path": "bench/frames.yaml",
                "parameters": {"count": frames, "fps": fps, "size": size},
            },
        )
        response.raise_for_status()
        execution_id = response.json()["execution_id"]
        while True:
            body = (await http.get(f"/api/executions/{execution_id}")).json()
            if body["status"] in ("completed", "failed", "cancelled"):
                break
            await asyncio.sleep(0.2)
    assert body["status"] == "completed", body
    step = body["step_results"][0]
    return {
        "execution_id": execution_id,
        "wall_s": _parse_time(body["completed_at"]) - _parse_time(body["started_at"]),
        "step_emitting_s": step["output"]["elapsed_s"],
    }


# -- viewers (in child processes) ------------------------------------------------------------


async def _viewers(
    ws_url: str, count: int, deflate: bool, ready: Any, go: Any, stop: Any
) -> list[dict[str, Any]]:
    from websockets.asyncio.client import connect

    async def viewer() -> dict[str, Any]:
        latencies: list[float] = []
        updates = 0
        async with connect(
            ws_url,
            max_size=4 * 1024 * 1024,
            compression="deflate" if deflate else None,
            open_timeout=60,
        ) as ws:
            await connected.put(None)
            while True:
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    if stop.is_set():
                        break
                    continue
                received = time.time() * 1000
                message = json.loads(raw)
                if message["type"] == "screenshot_frame":
                    latencies.append(received - message["data"]["timestamp"])
                elif message["type"] == "execution_update":
                    updates += 1
        return {"frames": len(latencies), "latencies_ms": latencies, "updates": updates}

    connected: asyncio.Queue[None] = asyncio.Queue()
    tasks = [asyncio.create_task(viewer()) for _ in range(count)]
    for _ in range(count):
        await connected.get()
    ready.set()
    return list(await asyncio.gather(*tasks))


def _viewer_process(
    ws_url: str, count: int, deflate: bool, ready: Any, go: Any, stop: Any, out: Any
) -> None:
    out.send(asyncio.run(_viewers(ws_url, count, deflate, ready, go, stop)))


class StalledClient:
    """Completes the handshake, then never reads; a small receive buffer makes it stall early."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect((host, int(port)))
        self.sock.sendall(
            (
                "GET /ws/executions HTTP/1.1\r\n"
                f"Host: {host}:{port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        assert head.startswith(b"HTTP/1.1 101"), head
        self.local_port = self.sock.getsockname()[1]

    def connected_on_server(self, server: psutil.Process) -> bool:
        return any(
            c.raddr and c.raddr.port == self.local_port and c.status == psutil.CONN_ESTABLISHED
            for c in server.net_connections(kind="tcp")
        )


async def watch_stalled(
    stalled: StalledClient, server: psutil.Process, began: float, until: asyncio.Event
) -> float | None:
    """Seconds from the start of streaming to the server dropping the stalled client."""
    while not until.is_set():
        if not stalled.connected_on_server(server):
            return time.perf_counter() - began
        await asyncio.sleep(0.1)
    return None


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(len(ordered) * fraction + 0.5) - 1))]


async def with_viewers(
    url: str, pid: int, args: argparse.Namespace
) -> tuple[dict[str, Any], list[dict[str, Any]], float | None]:
    ws_url = url.replace("http://", "ws://") + "/ws/executions"
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    go = context.Event()
    processes, pipes, readies = [], [], []
    share = [args.clients // args.client_processes] * args.client_processes
    share[0] += args.clients - sum(share)
    for count in share:
        ready = context.Event()
        receive, send = context.Pipe(duplex=False)
        process = context.Process(
            target=_viewer_process,
            args=(ws_url, count, not args.no_deflate, ready, go, stop, send),
        )
        process.start()
        processes.append(process)
        pipes.append(receive)
        readies.append(ready)
    for ready in readies:
        while not ready.wait(0.1):
            await asyncio.sleep(0)
    stalled = StalledClient(url)
    server = psutil.Process(pid)
    watching = asyncio.Event()
    began = time.perf_counter()
    watcher = asyncio.create_task(watch_stalled(stalled, server, began, watching))
    run = await run_execution(url, args.frames, args.fps, args.size)
    await asyncio.sleep(1.0)  # let the last frames and the final update arrive
    watching.set()
    dropped_after = await watcher
    stop.set()
    results: list[dict[str, Any]] = []
    for pipe in pipes:
        results.extend(await asyncio.to_thread(pipe.recv))
    for process in processes:
        process.join(30)
    stalled.sock.close()
    return run, results, dropped_after


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--size", type=int, default=50_000)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--no-deflate", action="store_true", help="viewers do not offer deflate")
    parser.add_argument("--out", default=str(BENCH / "results" / "server_ws.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server_output: list[str] = []
        process, url = start_server(Path(tmp), server_output)
        try:
            asyncio.run(run_execution(url, 10, args.fps, args.size))  # warm-up
            alone = asyncio.run(run_execution(url, args.frames, args.fps, args.size))
            viewed, viewers, dropped_after = asyncio.run(with_viewers(url, process.pid, args))
        finally:
            process.terminate()
            try:
                process.wait(30)
            finally:
                sys.stderr.write("".join(server_output[-40:]))
    delivered = [v["frames"] / args.frames for v in viewers]
    latencies = [ms for v in viewers for ms in v["latencies_ms"]]
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "setup": {
            "viewers": args.clients,
            "stalled_clients": 1,
            "frames": args.frames,
            "fps": args.fps,
            "frame_bytes": args.size,
            "message_bytes_approx": len(json.dumps({"frame": "x" * (args.size * 4 // 3)})) + 120,
            "viewers_offer_deflate": not args.no_deflate,
            "client_processes": args.client_processes,
        },
        "frames_delivered_per_healthy_client": {
            "min": min(delivered),
            "median": statistics.median(delivered),
            "mean": statistics.fmean(delivered),
            "clients_at_or_above_95pct": sum(d >= 0.95 for d in delivered),
            "target": 0.95,
        },
        "capture_to_receipt_ms": {
            "p50": percentile(latencies, 0.50),
            "p95": percentile(latencies, 0.95),
            "p99": percentile(latencies, 0.99),
            "max": max(latencies),
            "target_p99": 250,
        },
        "execution_wall_s": {
            "without_viewers": alone["wall_s"],
            "with_viewers": viewed["wall_s"],
            "ratio": viewed["wall_s"] / alone["wall_s"],
            "step_emitting_s_without": alone["step_emitting_s"],
            "step_emitting_s_with": viewed["step_emitting_s"],
            "target_ratio": 1.1,
        },
        "stalled_client": {
            "dropped": dropped_after is not None,
            "dropped_after_s": dropped_after,
            "target_s": 5.0,
        },
        "healthy_clients_got_final_update": sum(v["updates"] > 0 for v in viewers),
    }
    print(json.dumps(results, indent=2))
    out = Path(args.out)
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
