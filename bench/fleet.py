"""Fleet benchmark: the module upgrade playbook against many simulated gateways at once.

Prints the fleet's wall time over a single gateway's (target <= 1.5x) and the gateway client's
per-call overhead against a bare httpx call (target <= 1.2x), and writes the figures as JSON.

By default the runs go through the server, as a user's would: ``itk serve`` is started as a
subprocess, one credential per gateway is created with ``POST /api/credentials``, the ``.modl`` is
uploaded with ``POST /api/modules``, every run is started with ``POST /api/executions`` and its end is
seen on the ``/ws/executions`` WebSocket. ``--in-process`` drives the core executor directly instead
(no server, no database). The simulators run in child processes in both modes, so their CPU is not
charged to the process under test.

    .venv/bin/python bench/fleet.py --gateways 50 --max-concurrent 50 --restart-seconds 2 [--rounds 5]
    .venv/bin/python bench/fleet.py --profile-server /tmp/server.prof   # then: python -m pstats
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import os
import re
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from ignition_toolbox.api.server import event_loop_factory
from ignition_toolbox.core import (
    Credential,
    Execution,
    MappingCredentials,
    Playbook,
    PluginManager,
)
from ignition_toolbox.gateway import GatewayClient
from ignition_toolbox.gateway.sim import SimGateway, make_modl, running

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = ROOT / "playbooks" / "gateway" / "module_upgrade.yaml"
PLAYBOOK_PATH = "gateway/module_upgrade.yaml"
TOKEN = "itk:sim-secret"  # the simulator's default API token
MODULE = "com.example.fleet"
MODULE_FILE = "fleet-1.1.0.modl"
TERMINAL = {"completed", "failed", "cancelled", "interrupted"}
LISTENING = re.compile(r"itk: listening on (http://\S+)")
ITK = "import sys; from ignition_toolbox.core.cli import main; sys.exit(main())"
PROFILED_ITK = (
    "import cProfile, sys; from ignition_toolbox.core.cli import main; "
    "out = sys.argv.pop(1); cProfile.run('main()', out)"
)


# -- simulators -------------------------------------------------------------------------------


def make_gateway(restart_seconds: float) -> SimGateway:
    """A gateway already running version 1.0.0 of the module, so the playbook really upgrades."""
    gw = SimGateway(restart_seconds=restart_seconds, restore_seconds=0.05)
    gw.upload_module(make_modl(MODULE, "Fleet", "1.0.0", signed=True), "fleet.modl")
    gw.accept_certificate(MODULE)
    gw.install_module(MODULE)
    gw.restart()
    gw.clock.advance(restart_seconds + 1)
    gw.sync()
    return gw


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
            sys.executable,
            __file__,
            "--serve-sims",
            str(share),
            "--restart-seconds",
            str(restart_seconds),
            stdout=asyncio.subprocess.PIPE,
        )
        children.append(child)
        assert child.stdout is not None
        while (line := (await child.stdout.readline()).decode().strip()) != "ready":
            if not line:
                raise SystemExit("simulator process died")
            urls.append(line)
    return urls, children


async def stop(process: Any, grace: float = 15.0) -> None:
    if process.returncode is not None:
        return
    process.terminate()
    try:
        await asyncio.wait_for(process.wait(), grace)
    except TimeoutError:
        process.kill()
        await process.wait()


# -- the client's own overhead ----------------------------------------------------------------


async def call_overhead(url: str, calls: int) -> dict[str, float]:
    """Median ``/StatusPing`` time of a bare httpx client and of ``GatewayClient``.

    The two are timed in alternation, one call each in turn, so a neighbour stealing the CPU for a
    while slows both alike instead of whichever happened to be running then.
    """
    bare_times: list[float] = []
    ours_times: list[float] = []
    async with httpx.AsyncClient(base_url=url) as bare, GatewayClient(url, api_token=TOKEN) as ours:
        for round_ in range(calls + 20):
            t = time.perf_counter()
            (await bare.get("/StatusPing")).json()
            b = time.perf_counter() - t
            t = time.perf_counter()
            await ours.status_ping()
            o = time.perf_counter() - t
            if round_ >= 20:  # the first calls warm connections and caches
                bare_times.append(b)
                ours_times.append(o)
    bare_ms = statistics.median(bare_times) * 1000
    ours_ms = statistics.median(ours_times) * 1000
    return {"bare_ms": bare_ms, "client_ms": ours_ms, "ratio": ours_ms / bare_ms}


# -- mode 1: through the server ---------------------------------------------------------------


class Server:
    """``itk serve`` in a subprocess; its output is drained (a full pipe would block it)."""

    def __init__(self, process: Any, url: str, tail: collections.deque[str]) -> None:
        self.process = process
        self.url = url
        self.tail = tail
        self.started_seconds = 0.0


@contextlib.asynccontextmanager
async def start_server(
    work: Path, max_concurrent: int, profile: Path | None
) -> AsyncIterator[Server]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ITK_")}
    env["XDG_DATA_HOME"] = str(work / "xdg-data")
    env["XDG_CONFIG_HOME"] = str(work / "xdg-config")
    prefix = ["-c", PROFILED_ITK, str(profile)] if profile else ["-c", ITK]
    args = [
        *prefix,
        "serve",
        "--port",
        "0",
        "--max-concurrent",
        str(max_concurrent),
        "--data-dir",
        str(work / "data"),
        "--secret-key-file",
        str(work / "key"),
    ]
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    tail: collections.deque[str] = collections.deque(maxlen=200)
    url = ""
    try:
        while not url:
            raw = await asyncio.wait_for(process.stdout.readline(), 60)
            if not raw:
                raise SystemExit("itk serve exited:\n" + "".join(tail))
            line = raw.decode(errors="replace")
            tail.append(line)
            if match := LISTENING.search(line):
                url = match.group(1)
    except BaseException:
        await stop(process)
        raise

    async def drain() -> None:
        assert process.stdout is not None
        while raw := await process.stdout.readline():
            tail.append(raw.decode(errors="replace"))

    drainer = asyncio.create_task(drain())
    server = Server(process, url, tail)
    server.started_seconds = time.perf_counter() - started
    try:
        yield server
    finally:
        await stop(process)
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(drainer, 5)


class Watcher:
    """Reads ``/ws/executions`` and resolves a future per execution when it reaches a final state."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        self.messages = 0
        self._closed: RuntimeError | None = None
        self._ends: dict[str, asyncio.Future[tuple[str, float]]] = {}
        self._task = asyncio.create_task(self._read())

    def _end(self, execution_id: str) -> asyncio.Future[tuple[str, float]]:
        if execution_id not in self._ends:
            self._ends[execution_id] = asyncio.get_running_loop().create_future()
        return self._ends[execution_id]

    async def _read(self) -> None:
        try:
            async for raw in self.socket:
                self.messages += 1
                message = json.loads(raw)
                data = message.get("data") or {}
                if message.get("type") == "execution_update" and data.get("status") in TERMINAL:
                    end = self._end(data["execution_id"])
                    if not end.done():
                        end.set_result((data["status"], time.perf_counter()))
            reason = f"closed with code {self.socket.close_code}"
        except Exception as exc:  # the error goes to every waiter below
            reason = f"failed: {exc!r}"
        error = RuntimeError(f"the WebSocket {reason} before every execution ended")
        for end in self._ends.values():
            if not end.done():
                end.set_exception(error)
        self._closed = error

    async def finished(self, execution_id: str, timeout: float) -> tuple[str, float]:
        if self._closed is not None and not self._end(execution_id).done():
            raise self._closed
        return await asyncio.wait_for(asyncio.shield(self._end(execution_id)), timeout)

    async def aclose(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def cpu_seconds(pid: int) -> float:
    """User plus system CPU a process has used (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """``(busy, total)`` CPU seconds of the whole machine so far (Linux ``/proc/stat``)."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except OSError:
        return 0.0, 0.0
    idle = values[3] + values[4]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / tick, sum(values) / tick


async def step_figures(
    api: httpx.AsyncClient, execution_ids: list[str], fleet_started: float
) -> dict[str, dict[str, float]]:
    """From the server's own step records, per step across the runs: the median duration, and the
    median and latest moment it was done (seconds after the first POST)."""
    durations: dict[str, list[float]] = collections.defaultdict(list)
    done: dict[str, list[float]] = collections.defaultdict(list)
    for execution_id in execution_ids:
        detail = (await api.get(f"/api/executions/{execution_id}")).json()
        for step in detail.get("step_results", []):
            if step.get("started_at") and step.get("completed_at"):
                started = datetime.fromisoformat(step["started_at"].replace("Z", "+00:00"))
                ended = datetime.fromisoformat(step["completed_at"].replace("Z", "+00:00"))
                durations[step["step_id"]].append((ended - started).total_seconds())
                done[step["step_id"]].append(ended.timestamp() - fleet_started)
    return {
        "fleet_step_p50_seconds": {k: round(statistics.median(v), 3) for k, v in durations.items()},
        "fleet_step_done_p50_seconds": {k: round(statistics.median(v), 3) for k, v in done.items()},
        "fleet_step_done_max_seconds": {k: round(max(v), 3) for k, v in done.items()},
    }


async def through_server(
    api: httpx.AsyncClient, watcher: Watcher, credential: str, module_path: str, timeout: float
) -> tuple[str, float, float, str]:
    """One run: ``(status, seconds from POST to its final update, seconds the POST took, id)``."""
    started = time.perf_counter()
    response = await api.post(
        "/api/executions",
        json={
            "playbook_path": PLAYBOOK_PATH,
            "parameters": {"module_path": module_path},
            "credential_name": credential,
        },
    )
    posted = time.perf_counter() - started
    if response.status_code != 202:
        raise SystemExit(f"POST /api/executions: {response.status_code} {response.text[:500]}")
    execution_id = response.json()["execution_id"]
    status, ended = await watcher.finished(execution_id, timeout)
    return status, ended - started, posted, execution_id


async def server_mode(
    args: argparse.Namespace, work: Path, urls: list[str], sims: list[Any]
) -> dict[str, Any]:
    import websockets

    async with contextlib.AsyncExitStack() as stack:
        server = await stack.enter_async_context(
            start_server(work, args.max_concurrent, args.profile_server)
        )
        api = await stack.enter_async_context(httpx.AsyncClient(base_url=server.url, timeout=60))
        for index, url in enumerate(urls):
            created = await api.post(
                "/api/credentials",
                json={
                    "name": f"fleet-{index}",
                    "username": "admin",
                    "password": "password",
                    "gateway_url": url,
                    "api_token": TOKEN,
                },
            )
            if created.status_code != 201:
                raise SystemExit(f"POST /api/credentials: {created.status_code} {created.text}")
        modl = make_modl(MODULE, "Fleet", "1.1.0", signed=True)
        uploaded = await api.post(f"/api/modules?fileName={MODULE_FILE}", content=modl)
        if uploaded.status_code != 201:
            raise SystemExit(f"POST /api/modules: {uploaded.status_code} {uploaded.text}")
        module_path = uploaded.json()["path"]
        ws_url = server.url.replace("http://", "ws://", 1) + "/ws/executions"
        socket = await stack.enter_async_context(websockets.connect(ws_url, max_size=None))
        watcher = Watcher(socket)
        stack.push_async_callback(watcher.aclose)
        timeout = args.run_timeout

        singles = []
        single_ids = []
        for index in range(args.single_runs):
            single_started = time.time()
            status, seconds, _, single_id = await through_server(
                api, watcher, f"fleet-{index}", module_path, timeout
            )
            single_ids.append((single_id, single_started))
            if status != "completed":
                raise SystemExit(f"single-gateway run ended {status}:\n{''.join(server.tail)}")
            singles.append(seconds)

        fleet_credentials = [f"fleet-{i}" for i in range(args.single_runs, len(urls))]
        cpu_before = cpu_seconds(server.process.pid)
        sims_before = sum(cpu_seconds(child.pid) for child in sims)
        busy_before, total_before = machine_busy()
        bench_before = time.process_time()
        started = time.perf_counter()
        fleet_started = time.time()
        results = await asyncio.gather(
            *(through_server(api, watcher, c, module_path, timeout) for c in fleet_credentials)
        )
        fleet = time.perf_counter() - started
        server_cpu = cpu_seconds(server.process.pid) - cpu_before
        sims_cpu = sum(cpu_seconds(child.pid) for child in sims) - sims_before
        bench_cpu = time.process_time() - bench_before
        busy_after, total_after = machine_busy()
        steps = await step_figures(api, [r[3] for r in results], fleet_started)
        single_id, single_started = single_ids[-1]
        single_steps = await step_figures(api, [single_id], single_started)
    return {
        "mode": "server",
        "server_start_seconds": round(server.started_seconds, 3),
        "singles": singles,
        "fleet": fleet,
        "runs": [(status, seconds) for status, seconds, *_ in results],
        "post_p50_ms": round(statistics.median(r[2] for r in results) * 1000, 1),
        "post_max_ms": round(max(r[2] for r in results) * 1000, 1),
        "websocket_messages": watcher.messages,
        "server_cpu_over_fleet_wall": round(server_cpu / fleet, 3),
        "simulators_cpu_over_fleet_wall": round(sims_cpu / fleet, 3),
        "bench_cpu_over_fleet_wall": round(bench_cpu / fleet, 3),
        "machine_busy_fraction": round(
            (busy_after - busy_before) / max(1e-9, total_after - total_before), 3
        ),
        "machine_cpus": os.cpu_count(),
        **steps,
        "single_step_seconds": single_steps["fleet_step_p50_seconds"],
        "single_step_done_seconds": single_steps["fleet_step_done_p50_seconds"],
    }


# -- mode 2: the core executor in this process ------------------------------------------------


async def in_process(
    pm: PluginManager, playbook: Playbook, url: str, modl: Path, artifacts: Path
) -> tuple[str, float]:
    creds = MappingCredentials({"gw": Credential(name="gw", api_token=TOKEN, gateway_url=url)})
    execution = Execution(
        playbook,
        plugins=pm,
        parameters={"module_path": str(modl)},
        gateway_url=url,
        credential_name="gw",
        credentials=creds,
        artifacts_dir=artifacts,
    )
    started = time.perf_counter()
    status = await execution.run()
    return status, time.perf_counter() - started


async def in_process_mode(
    args: argparse.Namespace, work: Path, urls: list[str], sims: list[Any]
) -> dict[str, Any]:
    pm = PluginManager()
    playbook = pm.load_playbook_file(PLAYBOOK)  # parsed once, as a server could cache it
    modl = work / MODULE_FILE
    make_modl(MODULE, "Fleet", "1.1.0", signed=True, path=modl)
    singles = []
    for index in range(args.single_runs):
        status, seconds = await in_process(pm, playbook, urls[index], modl, work / f"s{index}")
        if status != "completed":
            raise SystemExit(f"single-gateway run ended {status}")
        singles.append(seconds)
    limit = asyncio.Semaphore(args.max_concurrent)

    async def one(index: int, url: str) -> tuple[str, float]:
        async with limit:
            return await in_process(pm, playbook, url, modl, work / f"gw{index}")

    cpu_before = time.process_time()
    started = time.perf_counter()
    runs = await asyncio.gather(*(one(i, u) for i, u in enumerate(urls[args.single_runs :])))
    fleet = time.perf_counter() - started
    return {
        "mode": "executor",
        "process_cpu_over_fleet_wall": round((time.process_time() - cpu_before) / fleet, 3),
        "singles": singles,
        "fleet": fleet,
        "runs": list(runs),
    }


# -- figures ----------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


async def main(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="itk-fleet-"))
    runner: Callable[[argparse.Namespace, Path, list[str], list[Any]], Awaitable[dict[str, Any]]]
    runner = in_process_mode if args.in_process else server_mode
    urls, children = await spawn_sims(
        args.gateways + args.single_runs, args.restart_seconds, args.sim_procs
    )
    try:
        measured = await runner(args, work, urls, children)
        overhead = await call_overhead(urls[0], args.calls)
    finally:
        for child in children:
            await stop(child, 5)
    runs: list[tuple[str, float]] = measured.pop("runs")
    singles: list[float] = measured.pop("singles")
    fleet: float = measured.pop("fleet")
    single = statistics.median(singles)
    durations = [seconds for _, seconds in runs]
    failed = sum(1 for status, _ in runs if status != "completed")
    return {
        "gateways": args.gateways,
        "max_concurrent": args.max_concurrent,
        "restart_seconds": args.restart_seconds,
        **measured,
        "simulator_processes": len(children),
        "single_seconds": round(single, 3),
        "single_runs_seconds": [round(s, 3) for s in singles],
        "fleet_seconds": round(fleet, 3),
        "fleet_over_single": round(fleet / single, 3),
        "failed": failed,
        "per_gateway_p50_seconds": round(percentile(durations, 0.5), 3),
        "per_gateway_p90_seconds": round(percentile(durations, 0.9), 3),
        "per_gateway_max_seconds": round(max(durations), 3),
        "client_call_ms": round(overhead["client_ms"], 3),
        "bare_httpx_call_ms": round(overhead["bare_ms"], 3),
        "client_over_bare": round(overhead["ratio"], 3),
        "targets": {"fleet_over_single": 1.5, "client_over_bare": 1.2},
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--gateways", type=int, default=50)
    parser.add_argument("--max-concurrent", type=int, default=50)
    parser.add_argument("--restart-seconds", type=float, default=2.0)
    parser.add_argument("--calls", type=int, default=300, help="calls timed for the overhead")
    parser.add_argument(
        "--single-runs", type=int, default=3, help="single-gateway runs (the median is used)"
    )
    parser.add_argument("--sim-procs", type=int, default=4, help="processes hosting simulators")
    parser.add_argument("--run-timeout", type=float, default=300.0, help="seconds per run")
    parser.add_argument(
        "--in-process", action="store_true", help="run the core executor here, not the server"
    )
    parser.add_argument(
        "--profile-server", type=Path, metavar="FILE", help="run the server under cProfile"
    )
    parser.add_argument(
        "--rounds", type=int, default=5, help="whole measurements; the median round is reported"
    )
    parser.add_argument("--serve-sims", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "fleet.json")
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse_args()
    if arguments.serve_sims:
        # The simulators stand in for remote gateways, whose CPU is not the server's: the
        # server's own loop choice (uvloop where installed) keeps their share of this box low.
        with (
            contextlib.suppress(KeyboardInterrupt),
            asyncio.Runner(loop_factory=event_loop_factory()) as runner,
        ):
            runner.run(serve_sims(arguments.serve_sims, arguments.restart_seconds))
        raise SystemExit(0)
    # Each round starts fresh simulators and a fresh server. This machine's runs vary by +-5 %
    # from one to the next, so the figures are those of the median round, with every round's
    # ratio beside them.
    rounds = sorted(
        (asyncio.run(main(arguments)) for _ in range(arguments.rounds)),
        key=lambda f: f["fleet_over_single"],
    )
    figures = rounds[len(rounds) // 2]
    figures["rounds_fleet_over_single"] = [f["fleet_over_single"] for f in rounds]
    figures["failed"] = sum(f["failed"] for f in rounds)
    for key, value in figures.items():
        print(f"{key:>26}: {value}")
    arguments.output.parent.mkdir(parents=True, exist_ok=True)
    arguments.output.write_text(json.dumps(figures, indent=2) + "\n")
    if figures["failed"]:
        raise SystemExit(f"{figures['failed']} run(s) did not complete")
