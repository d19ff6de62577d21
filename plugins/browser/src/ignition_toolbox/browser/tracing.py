"""Playwright traces (``trace.zip``, viewable with ``playwright show-trace``) kept as artifacts.

Tracing runs from the moment the browser context opens, in chunks: a failed step saves the chunk
so far and starts a new one, so each failure's trace shows what led to it. A playbook asking for
``keep_trace: always`` also gets the last chunk when the browser closes.

Tracing is always on (a failure cannot be foreseen), so by default it records only what is cheap:
actions with their arguments, timing, call logs, console and network. DOM snapshots cost a few
milliseconds on every action and are recorded only with ``trace_snapshots`` (the default when
traces are kept always); a failed step keeps the page's HTML instead (``page_html``).

A trace records action arguments, DOM snapshots and network bodies, so a password typed into a
form would be in it in clear text. Before a trace becomes an artifact, every text entry in the zip
is scrubbed of the execution's known secrets (resolved credentials, secret parameters and values
filled into password fields). Screencast screenshots are not recorded in traces: they could not be
masked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.parse
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext

    from ignition_toolbox.core import ExecutionContext
    from ignition_toolbox.core.events import ArtifactEvent


def _secret_values(execution: ExecutionContext) -> list[str]:
    return execution.secrets.values()


def scrub_text(text: str, secrets: list[str]) -> str:
    """Replace every secret, raw, JSON-escaped or URL-encoded, with ``***``."""
    for secret in secrets:
        for form in {
            secret,
            json.dumps(secret)[1:-1],
            json.dumps(secret, ensure_ascii=False)[1:-1],
            urllib.parse.quote(secret, safe=""),
            urllib.parse.quote_plus(secret, safe=""),
        }:
            if form:
                text = text.replace(form, "***")
    return text


def scrub_trace(source: Path, target: Path, secrets: list[str]) -> None:
    """Copy a trace zip, replacing every secret (raw, JSON-escaped, URL-encoded) in text entries."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if secrets:
                with contextlib.suppress(UnicodeDecodeError):
                    data = scrub_text(data.decode("utf-8"), secrets).encode("utf-8")
            dst.writestr(info, data)


class Tracer:
    """One browser context's trace, saved in chunks."""

    def __init__(
        self, context: BrowserContext, execution: ExecutionContext, *, snapshots: bool
    ) -> None:
        self._context = context
        self._execution = execution
        self._snapshots = snapshots
        self._active = False

    async def start(self) -> None:
        await self._context.tracing.start(
            snapshots=self._snapshots, screenshots=False, sources=False
        )
        await self._context.tracing.start_chunk()
        self._active = True

    async def save(self, name: str, *, step_id: str | None = None, restart: bool = True) -> Any:
        """Save the chunk recorded so far as an artifact named ``name``; return its event."""
        if not self._active:
            return None
        raw = self._execution.new_artifact_path(f".raw-{name}")
        self._active = False
        await self._context.tracing.stop_chunk(path=str(raw))
        if restart:
            await self._context.tracing.start_chunk()
            self._active = True
        clean = self._execution.new_artifact_path(f".clean-{name}")
        secrets = _secret_values(self._execution)
        try:
            await asyncio.to_thread(scrub_trace, raw, clean, secrets)
        finally:
            raw.unlink(missing_ok=True)
        event: ArtifactEvent = await self._execution.add_artifact(
            name, path=clean, kind="trace", content_type="application/zip", step_id=step_id
        )
        return event

    async def stop(self) -> None:
        if self._active:
            self._active = False
            await self._context.tracing.stop()


__all__ = ["Tracer", "scrub_text", "scrub_trace"]
