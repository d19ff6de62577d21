"""Real parts for the Web UI tests: ``itk serve`` and ``itk gateway-sim`` as subprocesses on real
ports, and headless Chromium driven by Playwright. Screenshots go to ``test-output/webui/``."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-output" / "webui"


def _chromium() -> str | None:
    """The same browser the plugin would pick (``ITK_BROWSER_PATH``, Playwright's, a system one);
    None means Playwright's own Chromium. No browser at all fails the tests, it never skips them."""
    from ignition_toolbox.browser import find_browser
    from ignition_toolbox.core import StepFailedError

    try:
        return find_browser().path
    except StepFailedError:  # only Playwright's own Chromium, which launch() finds by itself
        return None


CHROMIUM = _chromium()
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ITK = [
    sys.executable,
    "-c",
    "import sys; from ignition_toolbox.core.cli import main; sys.exit(main())",
]
SIM_TOKEN = "ci:ci-secret"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Process:
    proc: subprocess.Popen[str]
    url: str
    lines: list[str] = field(default_factory=list)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _start(args: list[str], pattern: str, env: dict[str, str], timeout: float = 30) -> Process:
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT
    )
    assert proc.stdout is not None
    lines: list[str] = []
    found: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            match = re.search(pattern, line)
            if match and not found:
                found.append(match.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    if not ready.wait(timeout) or not found:
        proc.kill()
        raise RuntimeError(f"{args[3:5]} did not start:\n{''.join(lines)}")
    return Process(proc, found[0], lines)


def base_env(tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "XDG_DATA_HOME": str(tmp / "xdg-data"),
        "XDG_CONFIG_HOME": str(tmp / "xdg-config"),
        **({"ITK_BROWSER_PATH": CHROMIUM} if CHROMIUM else {}),
    }


def start_server(tmp: Path, *, auth: bool = False) -> Process:
    """``itk serve`` on a free port, with no origin configuration: the served UI is same-origin."""
    port = free_port()
    # The tests' module files live under pytest's base temp folder: let steps read them there.
    env = {**base_env(tmp), "ITK_FILES_DIRS": str(tmp.parent)}
    args = [
        *ITK,
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(tmp / "data"),
        "--secret-key-file",
        str(tmp / "secret.key"),
    ]
    if auth:
        args.append("--auth")
    return _start(args, r"itk: listening on (http://\S+)", env)


def start_sim(tmp: Path) -> Process:
    return _start(
        [
            *ITK,
            "gateway-sim",
            "--port",
            "0",
            "--restart-seconds",
            "3",
            "--grace-seconds",
            "0.1",
            "--api-token",
            SIM_TOKEN,
            "--allow-unsigned-modules",
        ],
        r"gateway-sim: listening on (http://\S+)",
        base_env(tmp),
    )


@pytest.fixture(scope="session")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    process = start_sim(tmp_path_factory.mktemp("sim"))
    yield process
    process.stop()


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Process]:
    process = start_server(tmp_path_factory.mktemp("itk"))
    yield process
    process.stop()


@pytest.fixture
def api(server: Process) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=15) as client:
        yield client


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield instance
        finally:
            await instance.close()


class PageErrors(list[str]):
    """JavaScript errors of a page; a test ends by asserting there were none."""


async def new_page(browser: Any, *, width: int = 1280, height: int = 720) -> tuple[Any, PageErrors]:
    context = await browser.new_context(
        viewport={"width": width, "height": height}, accept_downloads=True
    )
    context.set_default_timeout(15_000)
    page = await context.new_page()
    errors = PageErrors()
    page.on("pageerror", lambda error: errors.append(str(error)))

    def on_console(message: Any) -> None:
        # Chromium logs every 4xx answer as "Failed to load resource"; the UI handles those.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    page.on("console", on_console)
    return page, errors


async def shot(page: Any, name: str, *, full_page: bool = False) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=full_page)
    return path


def wait_until(predicate: Any, timeout: float = 20, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(interval)


__all__ = [
    "ROOT",
    "SHOTS",
    "SIM_TOKEN",
    "PageErrors",
    "Process",
    "api",
    "browser",
    "new_page",
    "server",
    "shot",
    "sim",
    "start_server",
    "start_sim",
    "wait_until",
]
