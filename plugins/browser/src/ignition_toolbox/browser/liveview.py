"""The live view: a CDP screencast of the current page, sent as ``screenshot_frame`` events.

Chromium's screencast only produces a frame when the page repaints, so an idle page costs nothing.
Frames arrive as fast as the page paints; the view keeps only the newest one and sends at most
``fps`` frames a second (latest wins, and the last frame of a burst is always sent, so a viewer never
keeps a stale picture). Secrets are already masked in the pixels by the overlay of ``masking``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from .options import LiveViewOptions

if TYPE_CHECKING:
    from playwright.async_api import BrowserContext, CDPSession, Page

    from ignition_toolbox.core import ExecutionContext

log = logging.getLogger(__name__)


class LiveView:
    """Streams one page at a time; ``attach`` moves the stream to another page (a popup, a tab)."""

    def __init__(self, execution: ExecutionContext, options: LiveViewOptions) -> None:
        self._execution = execution
        self._options = options
        self._cdp: CDPSession | None = None
        self._page: Page | None = None
        self._latest: tuple[str, float] | None = None
        self._fresh = asyncio.Event()
        self._pump_task: asyncio.Task[None] | None = None
        self._acks: set[asyncio.Future[Any]] = set()
        self.frames_captured = 0
        self.frames_sent = 0

    @property
    def page(self) -> Page | None:
        return self._page

    async def attach(self, context: BrowserContext, page: Page) -> None:
        if page is self._page and self._cdp is not None:
            return
        await self._detach()
        cdp = await context.new_cdp_session(page)
        cdp.on("Page.screencastFrame", lambda params: self._on_frame(cdp, params))
        await cdp.send(
            "Page.startScreencast",
            {
                "format": "jpeg",
                "quality": self._options.quality,
                "maxWidth": self._options.max_width,
                "maxHeight": self._options.max_width * 2,
                "everyNthFrame": 1,
            },
        )
        self._cdp, self._page = cdp, page
        if self._pump_task is None:
            self._pump_task = asyncio.create_task(self._pump(), name="itk-live-view")

    def _on_frame(self, cdp: CDPSession, params: dict[str, Any]) -> None:
        ack = asyncio.ensure_future(
            cdp.send("Page.screencastFrameAck", {"sessionId": params["sessionId"]})
        )
        self._acks.add(ack)
        ack.add_done_callback(self._ack_done)
        if cdp is not self._cdp:
            return
        captured = params.get("metadata", {}).get("timestamp") or time.time()
        self._latest = (params["data"], float(captured))
        self.frames_captured += 1
        self._fresh.set()

    def _ack_done(self, future: asyncio.Future[Any]) -> None:
        self._acks.discard(future)
        if not future.cancelled():
            future.exception()  # a closed page refuses the ack; nothing to do about it

    async def _pump(self) -> None:
        interval = 1.0 / self._options.fps
        while True:
            await self._fresh.wait()
            self._fresh.clear()
            if self._latest is None:
                continue
            data, captured = self._latest
            try:
                await self._execution.emit_frame(
                    base64.b64decode(data), "image/jpeg", captured_at_ms=int(captured * 1000)
                )
                self.frames_sent += 1
            except Exception:
                log.exception("the event sink refused a live-view frame; dropped")
            await asyncio.sleep(interval)

    async def _detach(self) -> None:
        cdp, self._cdp, self._page = self._cdp, None, None
        if cdp is None:
            return
        with contextlib.suppress(Exception):
            await cdp.send("Page.stopScreencast")
        with contextlib.suppress(Exception):
            await cdp.detach()

    async def stop(self) -> None:
        """Stop streaming; safe to call twice and on a browser that already went away."""
        if self._pump_task is not None:
            self._pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._pump_task
            self._pump_task = None
        await self._detach()
        for ack in list(self._acks):
            ack.cancel()


__all__ = ["LiveView"]
