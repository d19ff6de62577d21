"""Executor overhead: per-step cost and concurrency scaling, with the real executor and templates.

    .venv/bin/python bench/engine.py [--steps 1000] [--concurrent 100] [--concurrent-steps 100]

Prints the figures and writes them to bench/results/engine.json. Targets (issue 2): per-step p50
≤ 100 µs; 100 concurrent executions of 100 steps finish within 1.5× the time of one run of their
total steps.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import json
import platform
import statistics
import time
import tracemalloc
from pathlib import Path
from typing import Any

from ignition_toolbox.core import Event, Execution, PluginManager, StepResultEvent


def playbook_text(steps: int) -> str:
    lines = ["name: bench", "parameters:", "  - {name: base, type: integer, default: 1}", "steps:"]
    lines += [
        f"  - {{id: s{i}, type: utility.set_variable, parameters: {{name: v{i % 10}, value: '{{{{ parameter.base + {i} }}}}'}}}}"
        for i in range(steps)
    ]
    return "\n".join(lines) + "\n"


class StepTimer:
    """A sink that times each step from its `running` event to its `completed` event."""

    def __init__(self) -> None:
        self.started: dict[int, int] = {}
        self.durations: list[float] = []

    async def __call__(self, event: Event) -> None:
        if isinstance(event, StepResultEvent):
            if event.status == "running":
                self.started[event.step_index] = time.perf_counter_ns()
            else:
                self.durations.append(
                    (time.perf_counter_ns() - self.started.pop(event.step_index)) / 1000
                )


async def discard(event: Event) -> None:
    return None


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def per_step(plugins: PluginManager, steps: int) -> dict[str, Any]:
    playbook = plugins.parse_playbook(playbook_text(steps), "bench.yaml")
    # Warm the template cache and the validators, as a long-running server would be.
    await Execution(playbook, plugins=plugins).run()
    timer = StepTimer()
    started = time.perf_counter()
    status = await Execution(playbook, plugins=plugins, sink=timer).run()
    wall = time.perf_counter() - started
    assert status == "completed"
    return {
        "steps": steps,
        "wall_seconds": round(wall, 4),
        "per_step_wall_us": round(wall / steps * 1e6, 1),
        "step_p50_us": round(statistics.median(timer.durations), 1),
        "step_p99_us": round(percentile(timer.durations, 99), 1),
    }


async def concurrency(plugins: PluginManager, executions: int, steps: int) -> dict[str, Any]:
    small = plugins.parse_playbook(playbook_text(steps), "bench.yaml")
    # One playbook holding every step of all executions; built as a model, since its YAML would
    # exceed the 512 KiB file cap.
    template = small.steps[0]
    big = dataclasses.replace(
        small,
        steps=tuple(
            dataclasses.replace(
                template,
                id=f"s{i}",
                # The same templates as the small playbook, so both runs hit a warm template cache.
                parameters={
                    "name": f"v{i % 10}",
                    "value": f"{{{{ parameter.base + {i % steps} }}}}",
                },
            )
            for i in range(steps * executions)
        ),
    )
    await Execution(small, plugins=plugins).run()
    await Execution(big, plugins=plugins).run()
    started = time.perf_counter()
    await Execution(big, plugins=plugins, sink=discard).run()
    serial = time.perf_counter() - started

    gc.collect()
    runs = [Execution(small, plugins=plugins, sink=discard) for _ in range(executions)]
    started = time.perf_counter()
    statuses = await asyncio.gather(*(r.run() for r in runs))
    concurrent = time.perf_counter() - started
    assert set(statuses) == {"completed"}

    # Memory is measured in a separate pass: tracemalloc slows every allocation several-fold.
    gc.collect()
    tracemalloc.start()
    runs = [Execution(small, plugins=plugins, sink=discard) for _ in range(executions)]
    await asyncio.gather(*(r.run() for r in runs))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "executions": executions,
        "steps_each": steps,
        "one_run_of_all_steps_seconds": round(serial, 4),
        "concurrent_seconds": round(concurrent, 4),
        "ratio": round(concurrent / serial, 3),
        "peak_memory_per_execution_kib": round(peak / executions / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--concurrent", type=int, default=100)
    parser.add_argument("--concurrent-steps", type=int, default=100)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results" / "engine.json"))
    args = parser.parse_args()

    plugins = PluginManager(entry_points=False)
    single = asyncio.run(per_step(plugins, args.steps))
    scaling = asyncio.run(concurrency(plugins, args.concurrent, args.concurrent_steps))
    figures = {
        "machine": {"python": platform.python_version(), "cpus": __import__("os").cpu_count()},
        "per_step": single,
        "concurrency": scaling,
        "targets": {"step_p50_us": 100, "concurrency_ratio": 1.5},
        "met": {
            "step_p50": single["step_p50_us"] <= 100,
            "concurrency_ratio": scaling["ratio"] <= 1.5,
        },
    }
    print(f"per-step overhead ({single['steps']} set_variable steps with a template each):")
    print(
        f"  p50 {single['step_p50_us']} µs   p99 {single['step_p99_us']} µs   wall/step {single['per_step_wall_us']} µs"
    )
    print(f"{scaling['executions']} concurrent executions × {scaling['steps_each']} steps:")
    print(
        f"  {scaling['concurrent_seconds']} s vs {scaling['one_run_of_all_steps_seconds']} s for one run of all steps"
        f" → ratio {scaling['ratio']} (target ≤ 1.5)"
    )
    print(f"  peak memory per execution {scaling['peak_memory_per_execution_kib']} KiB")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2))
    print(f"written {out}")


if __name__ == "__main__":
    main()
