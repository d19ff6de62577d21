"""Fleet benchmark: the module upgrade playbook against many simulated gateways at once.

Prints the fleet's wall time over a single gateway's (target <= 1.5x) and the gateway client's
per-call overhead against a bare httpx call (target <= 1.2x), and writes the figures as JSON.

This version drives the core executor directly (one process, simulators on real loopback ports). The
issue's full form runs the executions through the server's ``POST /api/executions``; that mode needs
the API package and is not implemented here yet.

    .venv/bin/python bench/fleet.py --gateways 50 --max-concurrent 50 --restart-seconds 2
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx

from ignition_toolbox.core import Credential, Execution, MappingCredentials, PluginManager
from ignition_toolbox.gateway import GatewayClient
from ignition_toolbox.gateway.sim import SimGateway, make_modl, running

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = ROOT / "playbooks" / "gateway" / "module_upgrade.yaml"
TOKEN = "itk:sim-secret"
MODULE = "com.example.fleet"


def make_gateway(restart_seconds: float) -> SimGateway:
    gw = SimGateway(restart_seconds=restart_seconds, restore_seconds=0.05)
    gw.upload_module(make_modl(MODULE, "Fleet", "1.0.0", signed=True), "fleet.modl")
    gw.accept_certificate(MODULE)
    gw.install_module(MODULE)
    gw.restart()
    gw.clock.advance(restart_seconds + 1)
    gw.sync()
    return gw


async def upgrade(pm: PluginManager, url: str, modl: Path, artifacts: Path) -> tuple[str, float]:
    creds = MappingCredentials({"gw": Credential(name="gw", api_token=TOKEN, gateway_url=url)})
    execution = Execution(
        pm.load_playbook_file(PLAYBOOK), plugins=pm, parameters={"module_file": str(modl)},
        gateway_url=url, credential_name="gw", credentials=creds, artifacts_dir=artifacts,
    )
    started = time.perf_counter()
    status = await execution.run()
    return status, time.perf_counter() - started


async def call_overhead(url: str, calls: int) -> dict[str, float]:
    async def bare() -> list[float]:
        async with httpx.AsyncClient(base_url=url) as client:
            times = []
            for _ in range(calls):
                t = time.perf_counter()
                (await client.get("/StatusPing")).json()
                times.append(time.perf_counter() - t)
            return times

    async def ours() -> list[float]:
        async with GatewayClient(url, api_token=TOKEN) as client:
            times = []
            for _ in range(calls):
                t = time.perf_counter()
                await client.status_ping()
                times.append(time.perf_counter() - t)
            return times

    await bare()
    await ours()  # warm both
    b, o = await bare(), await ours()
    return {"bare_ms": statistics.median(b) * 1000, "client_ms": statistics.median(o) * 1000,
            "ratio": statistics.median(o) / statistics.median(b)}


async def serve_sims(count: int, restart_seconds: float) -> None:
    """Child-process mode: host ``count`` simulators and print their URLs, one a line."""
    async with AsyncExitStack() as stack:
        for _ in range(count):
            server = await stack.enter_async_context(running(make_gateway(restart_seconds)))
            print(server.url, flush=True)
        print("ready", flush=True)
        await asyncio.Event().wait()


async def spawn_sims(count: int, restart_seconds: float, procs: int) -> tuple[list[str], list[Any]]:
    """Simulators run in child processes so their CPU is not charged to the toolbox's event loop."""
    urls: list[str] = []
    children = []
    for share in [count // procs + (1 if i < count % procs else 0) for i in range(procs)]:
        if not share:
            continue
        child = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--serve-sims", str(share),
            "--restart-seconds", str(restart_seconds), stdout=asyncio.subprocess.PIPE)
        children.append(child)
        assert child.stdout is not None
        while (line := (await child.stdout.readline()).decode().strip()) != "ready":
            if not line:
                raise SystemExit("simulator process died")
            urls.append(line)
    return urls, children


async def main(args: argparse.Namespace) -> dict[str, Any]:
    pm = PluginManager()
    work = Path(tempfile.mkdtemp(prefix="itk-fleet-"))
    modl = work / "fleet-1.1.0.modl"
    make_modl(MODULE, "Fleet", "1.1.0", signed=True, path=modl)
    urls, children = await spawn_sims(args.gateways + 1, args.restart_seconds, args.sim_procs)
    try:
        status, single = await upgrade(pm, urls[0], modl, work / "single")
        if status != "completed":
            raise SystemExit(f"single-gateway run ended {status}")
        limit = asyncio.Semaphore(args.max_concurrent)

        async def one(index: int, url: str) -> tuple[str, float]:
            async with limit:
                return await upgrade(pm, url, modl, work / f"gw{index}")

        started = time.perf_counter()
        results = await asyncio.gather(*(one(i, u) for i, u in enumerate(urls[1:])))
        fleet = time.perf_counter() - started
        overhead = await call_overhead(urls[0], args.calls)
    finally:
        for child in children:
            child.terminate()
            await child.wait()
    failed = sum(1 for status, _ in results if status != "completed")
    return {
        "gateways": args.gateways, "max_concurrent": args.max_concurrent,
        "restart_seconds": args.restart_seconds, "mode": "executor",
        "simulator_processes": len(children),
        "single_seconds": round(single, 3), "fleet_seconds": round(fleet, 3),
        "fleet_over_single": round(fleet / single, 3), "failed": failed,
        "per_gateway_p50_seconds": round(statistics.median(d for _, d in results), 3),
        "client_call_ms": round(overhead["client_ms"], 3),
        "bare_httpx_call_ms": round(overhead["bare_ms"], 3),
        "client_over_bare": round(overhead["ratio"], 3),
        "targets": {"fleet_over_single": 1.5, "client_over_bare": 1.2},
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateways", type=int, default=50)
    parser.add_argument("--max-concurrent", type=int, default=50)
    parser.add_argument("--restart-seconds", type=float, default=2.0)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--sim-procs", type=int, default=4,
                        help="Child processes hosting the simulators")
    parser.add_argument("--serve-sims", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "fleet.json")
    arguments = parser.parse_args()
    if arguments.serve_sims:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_sims(arguments.serve_sims, arguments.restart_seconds))
        raise SystemExit(0)
    figures = asyncio.run(main(arguments))
    for key, value in figures.items():
        print(f"{key:>26}: {value}")
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(figures, indent=2))
