"""Finding a Chromium to drive, launching it marked as ours, and reaping the ones left behind.

Playwright's own Chromium is preferred because its version matches the driver; a system Chromium or
Chrome is the fallback so that a machine without ``playwright install`` still runs browser steps.
Every browser we start carries an extra command-line switch naming the owning process, so a server
that restarts after a crash can find and kill exactly the Chromium processes an earlier run of it
left behind, and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

from ignition_toolbox.core import StepFailedError

if TYPE_CHECKING:
    from playwright.async_api import Browser, Playwright

ENV_BROWSER_PATH = "ITK_BROWSER_PATH"
MARKER_SWITCH = "--itk-browser-owner"

# Flags that keep a headless run quiet and self-contained (no updates, no sync, no phoning home).
LAUNCH_ARGS = (
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-default-apps",
)

_SYSTEM_NAMES = (
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "chrome",
    "msedge",
)

_USUAL_LOCATIONS = {
    "linux": (
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
        "/usr/bin/google-chrome-stable",
        "/snap/bin/chromium",
        "/opt/google/chrome/chrome",
    ),
    "darwin": (
        "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
        "/Applications/Chromium.app/Contents/MacOS/Chromium",
        "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge",
    ),
    "win32": (
        r"C:\Program Files\Google\Chrome\Application\chrome.exe",
        r"C:\Program Files (x86)\Google\Chrome\Application\chrome.exe",
        r"C:\Program Files\Chromium\Application\chrome.exe",
        r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
    ),
}

INSTALL_HINT = (
    "No Chromium browser was found. Install Playwright's Chromium with "
    "`python -m playwright install chromium`, or install Chromium or Google Chrome with your "
    "operating system's package manager (e.g. `apt install chromium`), or set "
    f"{ENV_BROWSER_PATH} to the browser executable."
)


@dataclass(frozen=True)
class BrowserExecutable:
    """Which browser will run. ``path`` is None for Playwright's own Chromium."""

    path: str | None
    source: str  # "env", "playwright" or "system"

    def describe(self) -> str:
        return f"{self.source} ({self.path or 'playwright chromium'})"


def _usable(path: str | os.PathLike[str] | None) -> bool:
    return bool(path) and Path(path).is_file() and os.access(path, os.X_OK)  # type: ignore[arg-type]


def _playwright_chromium(playwright: Playwright) -> str | None:
    """Where ``playwright install chromium`` puts its browser (it may not be there)."""
    try:
        return playwright.chromium.executable_path
    except Exception:
        return None


def find_browser(playwright: Playwright | None = None) -> BrowserExecutable:
    """Pick the browser: ``ITK_BROWSER_PATH``, then Playwright's Chromium, then a system one.

    Raises ``StepFailedError`` with install instructions when there is none, so only browser steps
    fail and everything else keeps working.
    """
    override = os.environ.get(ENV_BROWSER_PATH, "").strip()
    if override:
        if not _usable(override):
            raise StepFailedError(
                f"{ENV_BROWSER_PATH} names no executable file: {override}",
                {"variable": ENV_BROWSER_PATH},
                code="validation_error",
            )
        return BrowserExecutable(override, "env")
    if playwright is not None and _usable(_playwright_chromium(playwright)):
        return BrowserExecutable(None, "playwright")
    for name in _SYSTEM_NAMES:
        found = shutil.which(name)
        if _usable(found):
            return BrowserExecutable(found, "system")
    platform = "win32" if sys.platform.startswith("win") else sys.platform
    for candidate in _USUAL_LOCATIONS.get(platform, _USUAL_LOCATIONS["linux"]):
        if _usable(candidate):
            return BrowserExecutable(candidate, "system")
    raise StepFailedError(INSTALL_HINT, {"install": "python -m playwright install chromium"})


def owner_token() -> str:
    """This process's identity: pid plus start time, so a reused pid is not mistaken for us."""
    me = psutil.Process()
    return f"{me.pid}.{int(me.create_time() * 1000)}"


def _safe(label: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in label)[:64]


def marker_arg(label: str) -> str:
    """The switch that marks a browser as started by this process for ``label`` (an execution)."""
    return f"{MARKER_SWITCH}={owner_token()}.{_safe(label)}"


async def launch(
    playwright: Playwright,
    executable: BrowserExecutable,
    *,
    label: str,
    headless: bool = True,
    downloads_path: Path | None = None,
) -> Browser:
    """Start Chromium marked with ``label`` (Playwright itself adds ``--no-sandbox``)."""
    args = [*LAUNCH_ARGS, marker_arg(label)]
    return await playwright.chromium.launch(
        executable_path=executable.path,
        headless=headless,
        args=args,
        downloads_path=str(downloads_path) if downloads_path else None,
        handle_sigint=False,
        handle_sigterm=False,
        handle_sighup=False,
    )


def _marker_of(proc: psutil.Process) -> str | None:
    try:
        for arg in proc.cmdline():
            if arg.startswith(MARKER_SWITCH + "="):
                return arg.split("=", 1)[1]
    except (psutil.Error, OSError):
        return None
    return None


def _owner_alive(token: str) -> bool:
    pid_text, _, rest = token.partition(".")
    started_text = rest.split(".", 1)[0]
    try:
        owner = psutil.Process(int(pid_text))
        return int(owner.create_time() * 1000) == int(started_text)
    except (ValueError, psutil.Error):
        return False


def _kill_tree(proc: psutil.Process) -> int:
    try:
        family = [*proc.children(recursive=True), proc]
    except psutil.Error:
        family = [proc]
    for member in family:
        with contextlib.suppress(psutil.Error):
            member.kill()
    psutil.wait_procs(family, timeout=3)
    return 1


def reap_orphans(*, label: str | None = None, include_live_owners: bool = False) -> int:
    """Kill marked Chromium processes whose owning process is gone; return how many were killed.

    A server calls this at start (SR-14) to clean up after a crash. ``label`` limits the sweep to
    one execution's browser and, with ``include_live_owners``, also kills browsers of this very
    process — the last-resort cleanup when a graceful close did not finish in time.
    """
    killed = 0
    mine = owner_token()
    for proc in psutil.process_iter():
        token = _marker_of(proc)
        if token is None:
            continue
        if label is not None and not token.endswith("." + _safe(label)):
            continue
        owned_by_me = token.startswith(mine + ".")
        if owned_by_me and not include_live_owners:
            continue
        if not owned_by_me and _owner_alive(token):
            continue
        killed += _kill_tree(proc)
    return killed


def count_marked(label: str | None = None) -> int:
    """How many marked browsers (for ``label``, or all of this process) are running."""
    mine = owner_token()
    count = 0
    for proc in psutil.process_iter():
        token = _marker_of(proc)
        if token is None or not token.startswith(mine + "."):
            continue
        if label is None or token.endswith("." + _safe(label)):
            count += 1
    return count


__all__ = [
    "ENV_BROWSER_PATH",
    "INSTALL_HINT",
    "BrowserExecutable",
    "count_marked",
    "find_browser",
    "launch",
    "marker_arg",
    "reap_orphans",
]
