"""bench/fleet.py in a tiny configuration, so the benchmark cannot rot between the runs that matter.

Two simulated gateways with a 0.5 s restart: the server mode starts ``itk serve``, creates the
credentials, uploads the module, starts the runs and watches them over the WebSocket; the in-process
mode runs the core executor. Only completion and the shape of the figures are checked, not the
ratios, which depend on the machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
BENCH = ROOT / "bench" / "fleet.py"
TINY = ["--gateways", "2", "--restart-seconds", "0.5", "--single-runs", "1", "--calls", "20"]
TINY += ["--sim-procs", "1", "--run-timeout", "60", "--rounds", "1"]


def run_bench(tmp_path: Path, *extra: str) -> dict[str, object]:
    output = tmp_path / "fleet.json"
    done = subprocess.run(
        [sys.executable, str(BENCH), *TINY, *extra, "--output", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "fleet_over_single" in done.stdout
    figures: dict[str, object] = json.loads(output.read_text())
    return figures


def check_figures(figures: dict[str, object]) -> None:
    assert figures["gateways"] == 2 and figures["failed"] == 0
    for key in ("single_seconds", "fleet_seconds", "fleet_over_single", "client_over_bare"):
        value = figures[key]
        assert isinstance(value, float) and value > 0, (key, value)
    # Every run includes a 0.5 s restart, so none can be faster than that.
    assert isinstance(figures["single_seconds"], float) and figures["single_seconds"] >= 0.5


def test_fleet_bench_runs_through_the_server(tmp_path: Path) -> None:
    pytest.importorskip("ignition_toolbox.api")
    pytest.importorskip("websockets")
    figures = run_bench(tmp_path)
    check_figures(figures)
    assert figures["mode"] == "server"
    # Each run's steps were persisted and read back from the server.
    steps = figures["fleet_step_p50_seconds"]
    assert isinstance(steps, dict) and "restart" in steps and "verify" in steps
    assert isinstance(figures["websocket_messages"], int) and figures["websocket_messages"] > 0


def test_fleet_bench_in_process_mode(tmp_path: Path) -> None:
    figures = run_bench(tmp_path, "--in-process")
    check_figures(figures)
    assert figures["mode"] == "executor"
