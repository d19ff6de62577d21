"""SECURITY.md §4.L row 115 in full (SR-22): hostile templates saved and run in a loop for 30 s
against a real server, with ``/api/health`` timed from a separate client, the server's RSS sampled,
and a cancel timed while a run grinds through templates that each hit the render deadline. Also
the per-render cost of ordinary templates, in this process.

    .venv/bin/python bench/template_limits.py [--seconds 30]

Then the same loop with templates that complete (the control), for a baseline on the same machine.
Prints the figures and writes bench/results/template_limits.json. Targets: each save or run
refused or failed with ``validation_error`` in < 1 s; health p99 < 100 ms; RSS growth < 50 MB;
cancel answered within 1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import timeit
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import psutil

HOSTILE = {
    "power": "{{ (7 ** 20000000) % 10 }}",
    "repeat": "{{ 'a' * 500000000 }}",
    "range": "{% for i in range(300000000) %}x{% endfor %}",
    "nested": "{% for i in range(100000) %}{% for j in range(3000) %}{% endfor %}{% endfor %}",
}
# The control: the same save-and-run cycle with templates that complete, so the hostile figures
# can be read against what the server and this shared machine give anyway.
CONTROL = {
    "power": "{{ (7 ** 20) % 10 }}",
    "repeat": "{{ 'a' * 5 }}",
    "range": "{% for i in range(3) %}x{% endfor %}",
    "nested": "{% for i in range(10) %}{% for j in range(3) %}{% endfor %}{% endfor %}",
}


def playbook(template: str, steps: int = 1, on_failure: str = "abort") -> str:
    quoted = template.replace("\\", "\\\\").replace('"', '\\"')
    body = "".join(
        f"  - id: s{i}\n    type: utility.log\n    on_failure: {on_failure}\n"
        f'    parameters: {{message: "{quoted}"}}\n'
        for i in range(steps)
    )
    return f"name: Hostile template\nversion: '1.0'\nsteps:\n{body}"


def start_server(data: Path, playbooks: Path) -> tuple[subprocess.Popen[str], str]:
    env = {
        **os.environ,
        "ITK_DISABLE_PLUGINS": "gateway,browser,perspective",
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            *("-m", "ignition_toolbox.api", "serve", "--port", "0"),
            *("--data-dir", str(data), "--playbooks-dir", str(playbooks)),
            *("--secret-key-file", str(data.parent / "secret.key")),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    for line in process.stdout:
        match = re.search(r"itk: listening on (http://\S+)", line)
        if match:
            # keep reading, or the server blocks once the pipe fills with its log lines
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return process, match.group(1)
    raise RuntimeError("server did not start")


class HealthProbe(threading.Thread):
    def __init__(self, url: str, pid: int) -> None:
        super().__init__(daemon=True)
        self.url, self.process = url, psutil.Process(pid)
        self.latencies: list[float] = []
        self.peak_rss = 0
        self.stopping = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while not self.stopping.is_set():
                started = time.perf_counter()
                assert client.get("/api/health").status_code == 200
                self.latencies.append(time.perf_counter() - started)
                self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)
                time.sleep(0.01)


def wait_final(client: httpx.Client, execution_id: str) -> dict[str, Any]:
    while True:
        body: dict[str, Any] = client.get(f"/api/executions/{execution_id}").json()
        if body["status"] in {"completed", "failed", "cancelled"}:
            return body
        time.sleep(0.005)


def save_and_run(
    client: httpx.Client, path: str, template: str, expect: str = "failed"
) -> tuple[float, float]:
    started = time.perf_counter()
    saved = client.put(f"/api/playbooks/{path}", content=playbook(template))
    save = time.perf_counter() - started
    if saved.status_code == 400:
        assert saved.json()["detail"]["error"] == "validation_error"
        return save, 0.0
    started = time.perf_counter()
    run = client.post("/api/executions", json={"playbook_path": path})
    assert run.status_code == 202, run.text
    final = wait_final(client, run.json()["execution_id"])
    assert final["status"] == expect, final["status"]
    if expect == "failed":
        assert final["step_results"][0]["error"]["code"] == "validation_error"
    return save, time.perf_counter() - started


def percentile(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100)[pct - 1] if len(values) > 1 else values[0]


def measure_server(seconds: float, templates: dict[str, str], expect: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "playbooks").mkdir()
        process, url = start_server(root / "data", root / "playbooks")
        try:
            with httpx.Client(base_url=url, timeout=30) as client:
                save_and_run(client, "limits/warmup.yaml", HOSTILE["repeat"])
                baseline = psutil.Process(process.pid).memory_info().rss
                probe = HealthProbe(url, process.pid)
                probe.start()
                saves: dict[str, list[float]] = {name: [] for name in templates}
                runs: dict[str, list[float]] = {name: [] for name in templates}
                ends = time.perf_counter() + seconds
                while time.perf_counter() < ends:
                    for name, template in templates.items():
                        path = f"limits/{name}.yaml"
                        save, run = save_and_run(client, path, template, expect)
                        saves[name].append(save)
                        runs[name].append(run)
                probe.stopping.set()
                probe.join(10)
                cancel = measure_cancel(client) if expect == "failed" else None
        finally:
            process.terminate()
            process.wait(30)
    return {
        "loop_seconds": seconds,
        "save_max_ms": {n: round(max(v) * 1000, 1) for n, v in saves.items()},
        "run_to_failed_ms": {
            n: {"p50": round(percentile(v, 50) * 1000, 1), "max": round(max(v) * 1000, 1)}
            for n, v in runs.items()
        },
        "cycles": sum(len(v) for v in runs.values()),
        "health": {
            "requests": len(probe.latencies),
            "p50_ms": round(percentile(probe.latencies, 50) * 1000, 1),
            "p99_ms": round(percentile(probe.latencies, 99) * 1000, 1),
            "max_ms": round(max(probe.latencies) * 1000, 1),
            "target_p99_ms": 100,
        },
        "rss_growth_mb": round((probe.peak_rss - baseline) / 2**20, 1),
        "cancel": cancel,
    }


def measure_cancel(client: httpx.Client) -> dict[str, float] | None:
    client.put(
        "/api/playbooks/limits/grind.yaml",
        content=playbook(HOSTILE["nested"], steps=200, on_failure="continue"),
    )
    execution_id = client.post(
        "/api/executions", json={"playbook_path": "limits/grind.yaml"}
    ).json()["execution_id"]
    while len(client.get(f"/api/executions/{execution_id}").json()["step_results"]) < 3:
        time.sleep(0.005)
    started = time.perf_counter()
    assert client.post(f"/api/executions/{execution_id}/cancel").status_code == 200
    answered = time.perf_counter() - started
    final = wait_final(client, execution_id)
    assert final["status"] == "cancelled"
    return {
        "answered_ms": round(answered * 1000, 1),
        "ended_ms": round((time.perf_counter() - started) * 1000, 1),
    }


def measure_render_cost() -> dict[str, float]:
    """Microseconds per ``render_string`` of templates as steps use them (best of 9)."""
    from ignition_toolbox.core.templating import render_string

    context = {"parameter": {"x": 5}, "a": "hello", "step": {}, "variable": {}}
    figures = {}
    for template in ("{{ parameter.x }}", "text {{ a }} text", "{{ parameter.x * 2 }}"):
        render_string(template, context)
        run = partial(render_string, template, context)
        best = min(timeit.repeat(run, number=50_000, repeat=9))
        figures[template] = round(best / 50_000 * 1e6, 2)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    results = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
        },
        "render_us": measure_render_cost(),
        "server": measure_server(args.seconds, HOSTILE, "failed"),
        "control": measure_server(args.seconds, CONTROL, "completed"),
    }
    print(json.dumps(results, indent=2))
    out = Path(__file__).parent / "results" / "template_limits.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
