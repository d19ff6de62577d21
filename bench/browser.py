"""Browser plugin benchmark: launch time, per-step overhead against bare Playwright, live view.

Prints the figures and writes them as JSON (``--out``, default ``bench/results/browser.json``).

* launch: seconds from the first browser step asking for the resource to a ready page (Playwright
  driver + Chromium + context + tracing + live view), against a bare ``launch()`` + ``new_page()``;
* per-step overhead: the median time of a step type run by the executor (templating, schema
  validation, events, the failure wrapper, tracing and the live view all on, as in production)
  divided by the same action in bare Playwright on the same page;
* with tracing and live view on, also the same action in bare Playwright on the plugin's own page,
  traced and streamed alike (``bare_in_session_ms``, ``ratio_same_config``): the plugin's own share
  of the overhead, the rest being Playwright's tracing and Chromium's screencast capture;
* the same without tracing and live view, to show where the overhead goes;
* live view: frames per second delivered to the event sink on an animated page (cap 5 fps) and the
  capture-to-sink latency p50/p99 (CDP capture timestamp to the sink receiving the event; the
  WebSocket hop of the server comes on top).
"""

from __future__ import annotations

import argparse
import asyncio
import http.server
import json
import os
import platform
import statistics
import sys
import threading
import time
import types
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright

from ignition_toolbox.browser import find_browser
from ignition_toolbox.browser import plugin as browser_plugin
from ignition_toolbox.core import (
    Execution,
    PluginManager,
    StepType,
    closed_object,
    hookimpl,
    object_output,
)

PAGE = """<!doctype html><html><head><title>Bench</title></head><body>
<input id="name"><button id="btn" onclick="n.textContent=++c">go</button><span id="n">0</span>
<script>var c=0;</script></body></html>"""
ANIMATED = """<!doctype html><html><body style="margin:0">
<div id="b" style="width:200px;height:200px;background:#08f;position:relative"></div>
<script>let x=0;(function f(){x=(x+4)%600;b.style.left=x+'px';requestAnimationFrame(f)})()</script>
</body></html>"""

# step type -> (parameters, bare Playwright equivalent on a page)
ACTIONS: dict[str, tuple[dict[str, Any], Any]] = {
    "browser.click": ({"selector": "#btn"}, lambda p: p.locator("#btn").click()),
    "browser.fill": (
        {"selector": "#name", "value": "abc"},
        lambda p: p.locator("#name").fill("abc"),
    ),
    "browser.get_text": ({"selector": "#n"}, lambda p: p.locator("#n").inner_text()),
    "browser.verify": ({"selector": "#btn"}, lambda p: p.locator("#btn").count()),
    "browser.evaluate": ({"expression": "1 + 1"}, lambda p: p.evaluate("1 + 1")),
}


_IN_SESSION: dict[str, float] = {}


async def _bare_in_session(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    """The bare actions on the plugin's own page: same browser, context, tracing and live view."""
    session = await ctx.resource("browser")
    for name, (_params, bare) in ACTIONS.items():
        started = time.perf_counter()
        for _ in range(params["n"]):
            await bare(session.page)
        _IN_SESSION[name] = (time.perf_counter() - started) / params["n"]
    return {}


bench_plugin = types.ModuleType("itk_bench_browser")
bench_plugin.itk_step_types = hookimpl(  # type: ignore[attr-defined]
    lambda: [
        StepType(
            name="bench.bare_in_session",
            summary="Bare Playwright actions on the browser resource's page (benchmark only)",
            description="",
            handler=_bare_in_session,
            parameters=closed_object(["n"], n={"type": "integer", "minimum": 1}),
            output=object_output(),
            resources=("browser",),
        )
    ]
)


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = (ANIMATED if self.path == "/animated" else PAGE).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _run(plugins: PluginManager, text: str, sink: Any = None) -> Execution:
    async def discard(_event: Any) -> None:
        pass

    execution = Execution(plugins.parse_playbook(text), plugins=plugins, sink=sink or discard)
    status = await execution.run()
    if status != "completed":
        raise SystemExit(f"benchmark playbook {status}: {execution.error}")
    return execution


async def bench_launch(plugins: PluginManager, base: str, rounds: int) -> dict[str, Any]:
    plugin_times, bare_times = [], []
    executable = find_browser()
    for _ in range(rounds):
        started = time.perf_counter()
        await _run(
            plugins,
            f"name: l\nsteps:\n  - {{id: a, type: browser.navigate, parameters: {{url: '{base}/'}}}}",
        )
        plugin_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=executable.path)
            page = await browser.new_page()
            await page.goto(f"{base}/")
            await browser.close()
        bare_times.append(time.perf_counter() - started)
    return {
        "plugin_seconds_median": statistics.median(plugin_times),
        "bare_playwright_seconds_median": statistics.median(bare_times),
        "note": "open + one navigate + close, per execution",
    }


async def bench_steps(
    plugins: PluginManager, base: str, n: int, options: str = "{}", same_config: bool = False
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    steps = [f"  - {{id: open, type: browser.navigate, parameters: {{url: '{base}/'}}}}"]
    for name, (params, _bare) in ACTIONS.items():
        sid = name.split(".")[1]
        steps.append(
            f"  - {{id: {sid}, type: {name}, loop: {list(range(n))}, parameters: {json.dumps(params)}}}"
        )
    _IN_SESSION.clear()
    if same_config:
        steps.append(f"  - {{id: bare, type: bench.bare_in_session, parameters: {{n: {n}}}}}")
    text = f"name: steps\nmetadata: {{options: {options}}}\nsteps:\n" + "\n".join(steps)
    execution = await _run(plugins, text)
    per_step: dict[str, float] = {}
    for result in execution.step_results[1:]:
        if result.step_type not in ACTIONS:
            continue
        assert result.started_at and result.completed_at
        per_step[result.step_type] = (result.completed_at - result.started_at).total_seconds() / n

    bare_each = await _bare_steps(base, n)
    same_each = dict(_IN_SESSION)
    for name in ACTIONS:
        results[name] = {
            "plugin_ms": round(per_step[name] * 1000, 2),
            "bare_playwright_ms": round(bare_each[name] * 1000, 2),
            "ratio": round(per_step[name] / bare_each[name], 2),
        }
        if name in same_each:
            # Bare Playwright on the plugin's own page (same browser, tracing and live view): what
            # is left is the plugin's own overhead; the rest is Playwright's tracing and capture.
            results[name]["bare_in_session_ms"] = round(same_each[name] * 1000, 2)
            results[name]["ratio_same_config"] = round(per_step[name] / same_each[name], 2)
    return results


async def _bare_steps(base: str, n: int) -> dict[str, float]:
    """Seconds per action in bare Playwright, on a page of its own."""
    each: dict[str, float] = {}
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=find_browser().path)
        page = await browser.new_page()
        await page.goto(f"{base}/")
        for name, (_params, bare) in ACTIONS.items():
            started = time.perf_counter()
            for _ in range(n):
                await bare(page)
            each[name] = (time.perf_counter() - started) / n
        await browser.close()
    return each


async def bench_live_view(plugins: PluginManager, base: str, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    received: list[float] = []

    async def sink(event: Any) -> None:
        if event.type == "screenshot_frame":
            now = time.time() * 1000
            received.append(now)
            latencies.append(now - event.timestamp)

    await _run(
        plugins,
        f"""
name: live
metadata: {{options: {{live_view: {{fps: 5}}}}}}
steps:
  - {{id: open, type: browser.navigate, parameters: {{url: '{base}/animated'}}}}
  - {{id: warm, type: utility.sleep, parameters: {{seconds: 0.5}}}}
  - {{id: watch, type: utility.sleep, parameters: {{seconds: {seconds}}}}}
""",
        sink,
    )
    window = [t for t in received if t >= received[-1] - seconds * 1000]
    fps = (len(window) - 1) / ((window[-1] - window[0]) / 1000) if len(window) > 1 else 0.0
    return {
        "fps_cap": 5,
        "fps": round(fps, 2),
        "frames": len(received),
        "capture_to_sink_ms_p50": round(_pct(latencies, 0.5), 1),
        "capture_to_sink_ms_p99": round(_pct(latencies, 0.99), 1),
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench/results/browser.json")
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--launches", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    plugins = PluginManager(
        entry_points=False, extra=[("browser", browser_plugin), ("bench", bench_plugin)]
    )

    figures: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "browser": find_browser().describe(),
        },
        "launch": await bench_launch(plugins, base, args.launches),
        "steps": await bench_steps(plugins, base, args.iterations, same_config=True),
        "steps_without_trace_and_live_view": await bench_steps(
            plugins, base, args.iterations, "{keep_trace: never, live_view: false}"
        ),
        "live_view": await bench_live_view(plugins, base, args.seconds),
    }
    server.shutdown()

    print(json.dumps(figures, indent=2))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    asyncio.run(main())
