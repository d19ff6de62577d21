"""R4 at CI scale: ``kill -9`` a real ``itk serve`` at 10 random moments of mixed load.

Load: executions of a playbook with short ``utility.sleep`` steps (some paused), credential creates
and playbook saves, with a WebSocket client recording every step it hears completed. After each
restart the invariants of SECURITY.md 4.I hold: every execution id acknowledged with a 202 exists;
no row is left ``pending``/``running``/``paused`` (swept rows are ``interrupted`` with reason
``server_restart``); every step reported completed over the WebSocket is persisted completed; every
credential acknowledged with a 201 exists and decrypts (with the key file, and in a run that uses
one); every acknowledged playbook save is on disk whole; ``PRAGMA integrity_check`` is ``ok``.
Restart-to-healthy (process start to the first 200 from ``/api/health``) is printed as p50/p95.

The kill moments and load choices come from a seed, printed at the start and in every failure
message; ``ITK_CHAOS_SEED=<seed>`` replays them (thread timing still varies).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import sqlite3
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import websockets
from api_support import ServerProcess, start_server

from ignition_toolbox.api.executions import SERVER_RESTART_ERROR
from ignition_toolbox.api.vault import Keyring, Vault

pytestmark = pytest.mark.timeout(240)

KILLS = 10
ACTIVE = ("pending", "running", "paused")
CHAOS_YAML = """\
name: Chaos Playbook
version: "1.0"
parameters:
  - name: seconds
    type: float
    default: 0.05
steps:
  - {id: a, name: A, type: utility.sleep, parameters: {seconds: "{{ parameter.seconds }}"}}
  - {id: b, name: B, type: utility.sleep, parameters: {seconds: "{{ parameter.seconds }}"}}
  - {id: c, name: C, type: utility.sleep, parameters: {seconds: "{{ parameter.seconds }}"}}
  - {id: d, name: D, type: utility.sleep, parameters: {seconds: "{{ parameter.seconds }}"}}
"""


def saved_playbook(writer: int, revision: int) -> bytes:
    return (
        f"name: Saved {writer} revision {revision}\n"
        'version: "1.0"\n'
        "steps:\n"
        f"  - {{id: log, type: utility.log, parameters: {{message: 'rev {revision}'}}}}\n"
    ).encode()


@dataclass
class Ledger:
    """What the clients were told; the server must never contradict it after a crash."""

    executions: set[str] = field(default_factory=set)
    completed_steps: set[tuple[str, int]] = field(default_factory=set)
    credentials: dict[str, str] = field(default_factory=dict)
    # path -> every body sent in order, and the index of the newest one acknowledged.
    playbook_bodies: dict[str, list[bytes]] = field(default_factory=dict)
    playbook_acked: dict[str, int] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    paused: int = 0
    requests: int = 0


class Load:
    """Clients hammering one server until it dies; every task ends at its first transport error."""

    def __init__(self, server: ServerProcess, ledger: Ledger, rng: random.Random, cycle: int):
        self.server = server
        self.ledger = ledger
        self.rng = rng
        self.cycle = cycle
        self.subscribed = asyncio.Event()
        self.acknowledged: set[str] = set()

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.server.url, timeout=30) as client:
            tasks = [
                asyncio.create_task(self.watch()),
                *(asyncio.create_task(self.start_runs(client, n)) for n in range(2)),
                asyncio.create_task(self.create_credentials(client)),
                asyncio.create_task(self.save_playbooks(client)),
            ]
            await asyncio.gather(*tasks)

    def _unexpected(self, what: str, response: httpx.Response) -> None:
        self.ledger.unexpected.append(f"{what}: {response.status_code} {response.text[:300]}")

    async def watch(self) -> None:
        """Every step the WebSocket reports completed; the default subscription is everything."""
        try:
            async with websockets.connect(self.server.ws_url + "/ws/executions") as ws:
                self.subscribed.set()
                async for raw in ws:
                    message = json.loads(raw)
                    if message.get("type") != "execution_update":
                        continue
                    step = message["data"].get("step_result")
                    if step and step["status"] == "completed":
                        self.ledger.completed_steps.add(
                            (message["data"]["execution_id"], step["step_index"])
                        )
        except (OSError, websockets.ConnectionClosed):
            pass
        finally:
            self.subscribed.set()

    async def start_runs(self, client: httpx.AsyncClient, worker: int) -> None:
        """Starts a run every few tens of ms; worker 0 also pauses one now and then and resumes
        it on its next turn, so some kills land on a paused run."""
        await self.subscribed.wait()
        paused: str | None = None
        try:
            while True:
                if paused is not None:
                    resumed = await client.post(f"/api/executions/{paused}/resume")
                    self.ledger.requests += 1
                    if resumed.status_code not in (200, 400):
                        self._unexpected("resume", resumed)
                    paused = None
                seconds = self.rng.choice((0.02, 0.05, 0.1))
                response = await client.post(
                    "/api/executions",
                    json={"playbook_path": "chaos/run.yaml", "parameters": {"seconds": seconds}},
                )
                self.ledger.requests += 1
                if response.status_code != 202:
                    self._unexpected("POST /api/executions", response)
                    continue
                execution_id = response.json()["execution_id"]
                self.ledger.executions.add(execution_id)
                self.acknowledged.add(execution_id)
                if worker == 0 and self.rng.random() < 0.3:
                    answer = await client.post(f"/api/executions/{execution_id}/pause")
                    self.ledger.requests += 1
                    if answer.status_code == 200:
                        self.ledger.paused += 1
                        paused = execution_id
                    elif answer.status_code != 400:  # 400: it already finished
                        self._unexpected("pause", answer)
                # Pacing, not waiting for anything: about as many starts as the workers finish.
                await asyncio.sleep(self.rng.uniform(0, 0.1))
        except httpx.TransportError:
            pass

    async def create_credentials(self, client: httpx.AsyncClient) -> None:
        serial = 0
        try:
            while True:
                serial += 1
                name = f"chaos-{self.cycle}-{serial}"
                password = f"pw-{self.rng.getrandbits(64):016x}"
                response = await client.post(
                    "/api/credentials",
                    json={
                        "name": name,
                        "username": "operator",
                        "password": password,
                        "gateway_url": "http://127.0.0.1:9",
                    },
                )
                self.ledger.requests += 1
                if response.status_code == 201:
                    self.ledger.credentials[name] = password
                else:
                    self._unexpected("POST /api/credentials", response)
        except httpx.TransportError:
            pass

    async def save_playbooks(self, client: httpx.AsyncClient) -> None:
        try:
            while True:
                writer = self.rng.randrange(3)
                path = f"chaos/saved-{writer}.yaml"
                bodies = self.ledger.playbook_bodies.setdefault(path, [])
                body = saved_playbook(writer, len(bodies))
                bodies.append(body)
                response = await client.put(f"/api/playbooks/{path}", content=body)
                self.ledger.requests += 1
                if response.status_code in (200, 201):
                    self.ledger.playbook_acked[path] = len(bodies) - 1
                else:
                    self._unexpected("PUT /api/playbooks", response)
        except httpx.TransportError:
            pass


def wait_healthy(server: ServerProcess, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(server.url + "/api/health", timeout=5).status_code == 200:
                return
        time.sleep(0.01)
    raise AssertionError("server never became healthy:\n" + "".join(server.output[-30:]))


def wait_terminal(client: httpx.Client, execution_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body: dict[str, Any] = client.get(f"/api/executions/{execution_id}").json()
        if body["status"] not in ACTIVE or time.monotonic() > deadline:
            return body
        time.sleep(0.02)


def check_invariants(
    server: ServerProcess,
    paths: tuple[Path, Path, Path],
    ledger: Ledger,
    recent: set[str],
) -> int:
    """Everything a client was told still holds, through the API and in the file itself.

    The runs acknowledged since the last restart (``recent``) are read through the API one by
    one; every run ever acknowledged is checked in the database. Returns how many of the recent
    runs the crash interrupted."""
    data_dir, _playbooks, key_file = paths
    interrupted = 0
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for execution_id in sorted(recent):
            response = client.get(f"/api/executions/{execution_id}")
            assert response.status_code == 200, f"acknowledged execution {execution_id} lost"
            body = response.json()
            assert body["status"] not in ACTIVE, f"{execution_id} left {body['status']}"
            if body["status"] == "interrupted":
                interrupted += 1
                assert body["error"]["code"] == SERVER_RESTART_ERROR["code"], body
                assert body["error"]["reason"] == SERVER_RESTART_ERROR["reason"], body
                assert not [s for s in body["step_results"] if s["status"] in ACTIVE], body
        for status in ACTIVE:
            left = client.get("/api/executions", params={"status": status}).json()
            assert left == [], f"rows left {status}: {left}"
        names = {c["name"] for c in client.get("/api/credentials").json()["credentials"]}
        missing = set(ledger.credentials) - names
        assert not missing, f"acknowledged credentials lost: {sorted(missing)}"

        if ledger.credentials:
            # The server's own vault reads one of them: a run that uses it completes.
            name = max(ledger.credentials)
            started = client.post(
                "/api/executions",
                json={"playbook_path": "examples/cred.yaml", "credential_name": name},
            )
            assert started.status_code == 202, started.text
            ledger.executions.add(started.json()["execution_id"])
            run = wait_terminal(client, started.json()["execution_id"])
            assert run["status"] == "completed", f"a run using credential {name} ended {run}"

    database = data_dir / "itk.sqlite3"
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        stored = {row[0] for row in connection.execute("SELECT id FROM executions")}
        lost = ledger.executions - stored
        assert not lost, f"acknowledged executions lost: {sorted(lost)}"
        active = connection.execute(
            "SELECT id, status FROM executions WHERE status IN (?, ?, ?)", ACTIVE
        ).fetchall()
        assert not active, f"rows left active: {active}"
        persisted = set(
            connection.execute(
                "SELECT execution_id, step_index FROM step_results WHERE status = 'completed'"
            )
        )
        lost_steps = ledger.completed_steps - persisted
        assert not lost_steps, f"steps reported completed, not persisted: {sorted(lost_steps)}"
        rows = connection.execute(
            "SELECT name, key_version, nonce, ciphertext FROM credentials"
        ).fetchall()
    finally:
        connection.close()
    vault = Vault(Keyring.load(key_file))
    by_name = {
        name: SimpleNamespace(name=name, key_version=version, nonce=nonce, ciphertext=ciphertext)
        for name, version, nonce, ciphertext in rows
    }
    for name, password in ledger.credentials.items():
        record: Any = by_name[name]
        assert vault.decrypt(record)["password"] == password, f"credential {name} garbled"

    for path, bodies in ledger.playbook_bodies.items():
        acked = ledger.playbook_acked.get(path)
        if acked is None:
            continue
        on_disk = (data_dir / "playbooks" / path).read_bytes()
        # The newest acknowledged body, or one sent after it whose answer the kill cut off.
        assert on_disk in bodies[acked:], f"{path} holds neither the acknowledged nor a later body"
    return interrupted


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def load_then_kill(server: ServerProcess, load: Load, delay: float) -> None:
    running = asyncio.create_task(load.run())
    await load.subscribed.wait()
    await asyncio.sleep(delay)  # the random kill moment itself, not a wait for anything
    server.process.kill()
    await asyncio.wait_for(running, 60)


def test_kill_9_at_random_moments_under_mixed_load(
    server_paths: tuple[Path, Path, Path],
) -> None:
    seed = int(os.environ.get("ITK_CHAOS_SEED") or random.SystemRandom().randrange(2**32))
    print(f"\nchaos seed: {seed} (replay with ITK_CHAOS_SEED={seed})")
    rng = random.Random(seed)
    playbooks = server_paths[1]
    (playbooks / "chaos").mkdir(parents=True, exist_ok=True)
    (playbooks / "chaos" / "run.yaml").write_text(CHAOS_YAML)
    ledger = Ledger()
    ready_times: list[float] = []
    interrupted = 0
    recent: set[str] = set()
    kill_points = [rng.uniform(0.05, 1.5) for _ in range(KILLS)]
    server: ServerProcess | None = None
    try:
        for cycle in range(KILLS + 1):
            began = time.monotonic()
            server = start_server(*server_paths, timeout=60)
            wait_healthy(server)
            if cycle:
                ready_times.append(time.monotonic() - began)
            try:
                interrupted += check_invariants(server, server_paths, ledger, recent)
            except AssertionError as exc:
                raise AssertionError(f"after kill {cycle} (seed {seed}): {exc}") from exc
            if cycle == KILLS:
                break
            load = Load(server, ledger, random.Random(rng.getrandbits(32)), cycle)
            asyncio.run(load_then_kill(server, load, kill_points[cycle]))
            server.process.wait(30)
            recent = load.acknowledged
        assert not ledger.unexpected, f"seed {seed}: unexpected answers: {ledger.unexpected[:10]}"
    finally:
        if server is not None and server.process.poll() is None:
            server.stop(signal.SIGKILL)

    print(
        f"chaos: {KILLS} kills, {len(ledger.executions)} executions acknowledged "
        f"({interrupted} interrupted, {ledger.paused} paused), "
        f"{len(ledger.completed_steps)} WS-completed steps, {len(ledger.credentials)} credentials, "
        f"{sum(len(v) for v in ledger.playbook_bodies.values())} playbook saves, "
        f"{ledger.requests} requests"
    )
    print(
        f"restart to healthy: p50 {statistics.median(ready_times):.3f} s, "
        f"p95 {percentile(ready_times, 0.95):.3f} s, max {max(ready_times):.3f} s"
    )
    assert len(ready_times) == KILLS
    assert ledger.executions and ledger.completed_steps and ledger.credentials
    assert interrupted > 0, f"seed {seed}: no kill ever cut off a run"
