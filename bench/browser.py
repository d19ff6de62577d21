"""Browser plugin benchmark: launch time, per-step overhead against bare Playwright, live view.

Prints the figures and writes them as JSON (``--out``, default ``bench/results/browser.json``).

* launch: seconds from the first browser step asking for the resource to a ready page (Playwright
  driver + Chromium + context + tracing + live view), against a bare ``launch()`` + ``new_page()``;
* per-step overhead, like against like: each step type run by the executor (templating, schema
  validation, events, the failure wrapper) against the same action in bare Playwright on a browser
  set up the same way (same Chromium and switches, same tracing, same CDP screencast), in three
  configurations:

  - ``default``: the production default, a trace always recording (without DOM snapshots, kept on
    failure) and the live view on; bare Playwright traces and screencasts alike;
  - ``trace_snapshots``: ``keep_trace: always`` (a trace with DOM snapshots); bare alike;
  - ``plain``: no trace, no live view; bare Playwright with nothing.

  A step's time runs from its start to the next step's start, so the executor's bookkeeping between
  steps counts. Plugin and bare runs alternate over ``--rounds`` rounds, one browser at a time
  (running both at once would let one's repaints and trace writes land on the other's timings);
  each action's figures are the p50 and p90 over every round, ``ratio_p50`` is the plugin's p50
  over bare's and ``ratio_p50_rounds`` the range of that ratio between rounds (the machine's
  load drifts from round to round);
* live view: frames per second delivered to the event sink on an animated page (cap 5 fps) and the
  capture-to-sink latency p50/p99 (CDP capture timestamp to the sink receiving the event; the
  WebSocket hop of the server comes on top).
"""

from __future__ import annotations

import argparse
import asyncio
import http.server
import itertools
import json
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright

from ignition_toolbox.browser import LiveViewOptions, find_browser
from ignition_toolbox.browser import plugin as browser_plugin
from ignition_toolbox.browser.launcher import LAUNCH_ARGS
from ignition_toolbox.core import Execution, PluginManager

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


WARMUP = 3  # leading samples of each action left out, on both sides


@dataclass(frozen=True)
class Config:
    """A plugin configuration and the bare Playwright set-up that matches it."""

    options: str
    trace_snapshots: bool | None  # None: no tracing
    screencast: bool


CONFIGS = {
    "default": Config("{}", trace_snapshots=False, screencast=True),
    "trace_snapshots": Config("{keep_trace: always}", trace_snapshots=True, screencast=True),
    "plain": Config(
        "{keep_trace: never, live_view: false}", trace_snapshots=None, screencast=False
    ),
}


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


@asynccontextmanager
async def _bare_page(base: str, config: Config) -> AsyncIterator[Any]:
    """A bare Playwright page, traced and screencast as ``config`` says."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=find_browser().path, args=list(LAUNCH_ARGS)
        )
        context = await browser.new_context(viewport={"width": 1280, "height": 720})
        if config.trace_snapshots is not None:
            await context.tracing.start(
                snapshots=config.trace_snapshots, screenshots=False, sources=False
            )
            await context.tracing.start_chunk()
        page = await context.new_page()
        if config.screencast:
            await _screencast(context, page)
        await page.goto(f"{base}/")
        yield page
        await browser.close()


async def _plugin_samples(
    plugins: PluginManager, base: str, n: int, options: str
) -> dict[str, list[float]]:
    """Seconds per step, from each step's start to the next one's, as the executor ran them."""
    steps = [f"  - {{id: open, type: browser.navigate, parameters: {{url: '{base}/'}}}}"]
    for name, (params, _bare) in ACTIONS.items():
        steps += [
            f"  - {{id: {name.split('.')[1]}_{i}, type: {name}, parameters: {json.dumps(params)}}}"
            for i in range(n)
        ]
    steps.append("  - {id: end, type: browser.evaluate, parameters: {expression: '0'}}")
    text = f"name: steps\nmetadata: {{options: {options}}}\nsteps:\n" + "\n".join(steps)
    results = (await _run(plugins, text)).step_results
    samples: dict[str, list[float]] = {name: [] for name in ACTIONS}
    for result, following in itertools.pairwise(results[1:]):
        assert result.started_at and following.started_at
        samples[result.step_type].append((following.started_at - result.started_at).total_seconds())
    return samples


async def _bare_samples(base: str, n: int, config: Config) -> dict[str, list[float]]:
    """Seconds per action in bare Playwright, on a browser set up as ``config`` says."""
    samples: dict[str, list[float]] = {name: [] for name in ACTIONS}
    async with _bare_page(base, config) as page:
        for name, (_params, bare) in ACTIONS.items():
            for _ in range(n):
                started = time.perf_counter()
                await bare(page)
                samples[name].append(time.perf_counter() - started)
    return samples


async def _screencast(context: Any, page: Any) -> None:
    """The live view's CDP screencast, every frame acknowledged, nothing else done with it."""
    options = LiveViewOptions()
    cdp = await context.new_cdp_session(page)
    acks: set[asyncio.Future[Any]] = set()

    def on_frame(params: dict[str, Any]) -> None:
        ack = asyncio.ensure_future(
            cdp.send("Page.screencastFrameAck", {"sessionId": params["sessionId"]})
        )
        acks.add(ack)
        ack.add_done_callback(acks.discard)

    cdp.on("Page.screencastFrame", on_frame)
    await cdp.send(
        "Page.startScreencast",
        {
            "format": "jpeg",
            "quality": options.quality,
            "maxWidth": options.max_width,
            "maxHeight": options.max_width * 2,
            "everyNthFrame": 1,
        },
    )


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


async def bench_steps(
    plugins: PluginManager, base: str, n: int, rounds: int, config: Config
) -> dict[str, Any]:
    plugin: dict[str, list[float]] = {name: [] for name in ACTIONS}
    bare: dict[str, list[float]] = {name: [] for name in ACTIONS}
    round_ratios: dict[str, list[float]] = {name: [] for name in ACTIONS}
    for _ in range(rounds):
        mine = await _plugin_samples(plugins, base, n, config.options)
        theirs = await _bare_samples(base, n, config)
        for name in ACTIONS:
            plugin[name] += mine[name][WARMUP:]
            bare[name] += theirs[name][WARMUP:]
            round_ratios[name].append(
                statistics.median(mine[name][WARMUP:]) / statistics.median(theirs[name][WARMUP:])
            )
    results: dict[str, Any] = {"options": config.options}
    for name in ACTIONS:
        results[name] = {
            "plugin_ms_p50": _ms(_pct(plugin[name], 0.5)),
            "plugin_ms_p90": _ms(_pct(plugin[name], 0.9)),
            "bare_ms_p50": _ms(_pct(bare[name], 0.5)),
            "bare_ms_p90": _ms(_pct(bare[name], 0.9)),
            "ratio_p50": round(_pct(plugin[name], 0.5) / _pct(bare[name], 0.5), 2),
            "ratio_p50_rounds": [
                round(min(round_ratios[name]), 2),
                round(max(round_ratios[name]), 2),
            ],
        }
    return results


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
    parser.add_argument("--iterations", type=int, default=30, help="of each action per round")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--launches", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    plugins = PluginManager(entry_points=False, extra=[("browser", browser_plugin)])

    figures: dict[str, Any] = {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": sys.version.split()[0],
            "browser": find_browser().describe(),
        },
        "launch": await bench_launch(plugins, base, args.launches),
        "steps": {
            name: await bench_steps(plugins, base, args.iterations, args.rounds, config)
            for name, config in CONFIGS.items()
        },
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
