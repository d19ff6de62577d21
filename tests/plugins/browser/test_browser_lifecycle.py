"""The browser's life: found, launched lazily, closed at the end, killed on cancel, reaped after a crash."""

from __future__ import annotations

import asyncio
import subprocess
import time

import psutil
import pytest
from playwright.async_api import async_playwright

from ignition_toolbox.browser import (
    INSTALL_HINT,
    count_marked,
    find_browser,
    launcher,
    reap_orphans,
)
from ignition_toolbox.core import Execution, PluginManager, StepFailedError

pytestmark = pytest.mark.browser


def wait_until(predicate, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_the_plugin_is_found_through_its_entry_point():
    plugins = PluginManager()
    info = next(p for p in plugins.plugins() if p.name == "browser")
    assert info.distribution == "ignition-toolbox-browser"
    assert "browser" in info.resources
    assert len(info.step_types) == 21
    for name in info.step_types:
        declared = plugins.step_types[name]
        assert declared.resources == ("browser",)
        assert declared.parameters["additionalProperties"] is False
        assert declared.output["type"] == "object"


def test_itk_browser_path_overrides_and_must_name_an_executable(monkeypatch, tmp_path):
    system = find_browser()
    monkeypatch.setenv(launcher.ENV_BROWSER_PATH, str(tmp_path / "missing"))
    with pytest.raises(StepFailedError, match="ITK_BROWSER_PATH"):
        find_browser()
    if system.path:
        monkeypatch.setenv(launcher.ENV_BROWSER_PATH, system.path)
        assert find_browser() == launcher.BrowserExecutable(system.path, "env")


async def test_playwright_chromium_is_preferred_when_installed(monkeypatch, tmp_path):
    fake = tmp_path / "chrome"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    monkeypatch.delenv(launcher.ENV_BROWSER_PATH, raising=False)
    monkeypatch.setattr(launcher, "_playwright_chromium", lambda _pw: str(fake))
    async with async_playwright() as pw:
        assert find_browser(pw) == launcher.BrowserExecutable(None, "playwright")


def _no_browser_anywhere(monkeypatch):
    monkeypatch.delenv(launcher.ENV_BROWSER_PATH, raising=False)
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(launcher, "_USUAL_LOCATIONS", {"linux": ()})
    monkeypatch.setattr(launcher, "_playwright_chromium", lambda _pw: None)


def test_without_any_browser_the_error_says_how_to_install_one(monkeypatch):
    _no_browser_anywhere(monkeypatch)
    with pytest.raises(StepFailedError) as caught:
        find_browser()
    assert caught.value.message == INSTALL_HINT
    assert "playwright install chromium" in INSTALL_HINT and "apt install chromium" in INSTALL_HINT


async def test_without_a_browser_only_browser_steps_fail(monkeypatch, run_playbook, site):
    _no_browser_anywhere(monkeypatch)
    text = f"""
name: no browser here
steps:
  - {{id: before, type: utility.log, parameters: {{message: starting}}}}
  - {{id: open, type: browser.navigate, on_failure: continue, parameters: {{url: "{site}/form"}}}}
  - {{id: after, type: utility.log, parameters: {{message: still running}}}}
"""
    run = await run_playbook(text)
    assert run.status == "completed"
    assert run.result("open").status == "failed"
    assert "playwright install chromium" in run.result("open").error["message"]
    assert run.result("after").status == "completed"


def _marked_pids(label: str) -> list[int]:
    found = []
    for proc in psutil.process_iter():
        try:
            if any(
                a.startswith(launcher.MARKER_SWITCH) and a.endswith(label) for a in proc.cmdline()
            ):
                found.append(proc.pid)
        except psutil.Error:
            continue
    return found


async def test_cancel_during_a_long_wait_closes_the_browser_within_5_seconds(
    plugins, site, tmp_path
):
    text = f"""
name: long wait
steps:
  - {{id: open, type: browser.navigate, parameters: {{url: "{site}/form"}}}}
  - {{id: long, type: browser.wait, parameters: {{selector: "#never", timeout: 120}}}}
"""
    events = []

    async def sink(event):
        events.append(event)

    execution = Execution(
        plugins.parse_playbook(text), plugins=plugins, sink=sink, artifacts_dir=tmp_path
    )
    task = asyncio.create_task(execution.run())
    for _ in range(200):
        if any(e.type == "step_result" and e.step_id == "long" for e in events):
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    pids = _marked_pids(execution.execution_id)
    assert pids, "no marked Chromium while the step runs"

    started = time.monotonic()
    await execution.cancel()
    status = await asyncio.wait_for(task, 10)
    elapsed = time.monotonic() - started

    assert status == "cancelled"
    assert execution.step_results[-1].status == "cancelled"
    assert elapsed < 5, elapsed
    assert wait_until(lambda: not any(psutil.pid_exists(p) for p in pids), 5.0 - elapsed)
    assert count_marked(execution.execution_id) == 0
    assert not [a for a in events if a.type == "artifact"], "a cancel is not a failure"


def test_reap_orphans_kills_marked_browsers_of_dead_owners_only(tmp_path):
    executable = find_browser().path or "chromium"
    common = [executable, "--headless=new", "--no-sandbox", "--disable-gpu", "about:blank"]
    orphan = subprocess.Popen(
        [*common, f"--user-data-dir={tmp_path / 'a'}", f"{launcher.MARKER_SWITCH}=1.1.orphan-test"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ours = subprocess.Popen(
        [*common, f"--user-data-dir={tmp_path / 'b'}", launcher.marker_arg("ours-test")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_until(
            lambda: bool(_marked_pids("orphan-test")) and bool(_marked_pids("ours-test"))
        )
        assert reap_orphans() >= 1
        assert orphan.wait(timeout=5) is not None
        assert ours.poll() is None, "a browser of a live owner was killed"
        assert reap_orphans(label="ours-test", include_live_owners=True) == 1
        assert ours.wait(timeout=5) is not None
    finally:
        for proc in (orphan, ours):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
