"""The browser resource: one Playwright browser, context and current page per execution.

The core opens it on the first step that asks for ``browser`` and closes it when the execution
ends — completed, failed or cancelled — so no Chromium outlives its execution. Closing is bounded:
if a graceful close does not finish in time (or is itself cancelled), the browser's marked process
tree is killed.

``BrowserSession`` is the public surface other plugins (Perspective) build on: ``page``,
``context``, ``masker``, ``screenshot(ctx, name, ...)`` and ``timeout_ms(params)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from ignition_toolbox.core import ExecutionContext, StepFailedError

from . import launcher
from .liveview import LiveView
from .masking import Masker
from .options import BrowserOptions
from .page_html import page_html
from .tracing import Tracer

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, Locator, Page, Playwright

    from ignition_toolbox.core import StepContext
    from ignition_toolbox.core.events import ArtifactEvent

log = logging.getLogger(__name__)

CLOSE_TIMEOUT = 10.0
RESOURCE_NAME = "browser"


class BrowserSession:
    """One execution's browser. Build it with ``open_browser``; steps get it from the resource."""

    def __init__(self, execution: ExecutionContext, options: BrowserOptions) -> None:
        self.execution = execution
        self.options = options
        self.masker = Masker(options.mask_selectors, options.mask_color)
        self.label = execution.execution_id
        self.launch_seconds: float | None = None
        self.executable: launcher.BrowserExecutable | None = None
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._context: BrowserContext | None = None
        self._page: Page | None = None
        self._tracer: Tracer | None = None
        self._live: LiveView | None = None
        self._closed = False
        # Playbook JavaScript (browser.evaluate) could read a typed secret or listen for one being
        # typed, so one browser session does one or the other: the first that happens wins.
        self.scripts_ran = False
        self.secret_typed: str | None = None

    # -- public surface ------------------------------------------------------------------------

    @property
    def page(self) -> Page:
        """The current page: the newest open one (a popup or new tab becomes current)."""
        if self._page is None or self._page.is_closed():
            pages = [p for p in self.context.pages if not p.is_closed()]
            if not pages:
                raise StepFailedError("the browser has no open page")
            self._page = pages[-1]
        return self._page

    @property
    def context(self) -> BrowserContext:
        if self._context is None:
            raise StepFailedError("the browser is not open")
        return self._context

    @property
    def live_view(self) -> LiveView | None:
        return self._live

    def timeout_ms(self, params: dict[str, Any], key: str = "timeout") -> float:
        """A step's ``timeout`` (seconds) in the milliseconds Playwright wants."""
        seconds = params.get(key)
        return float(self.options.default_timeout if seconds is None else seconds) * 1000

    def timeout_s(self, params: dict[str, Any], key: str = "timeout") -> float:
        return self.timeout_ms(params, key) / 1000

    async def screenshot(
        self,
        ctx: StepContext | ExecutionContext,
        name: str,
        *,
        full_page: bool = False,
        element: str | Locator | None = None,
        kind: str = "screenshot",
    ) -> ArtifactEvent:
        """Take a masked PNG of the page (or one element) and keep it as an artifact."""
        page = self.page
        mask = self.masker.locators(page)
        common: dict[str, Any] = {
            "type": "png",
            "mask": mask,
            "mask_color": self.masker.color,
            "animations": "disabled",
            "caret": "hide",
        }
        if element is not None:
            locator = page.locator(element) if isinstance(element, str) else element
            data = await locator.screenshot(**common)
        else:
            data = await page.screenshot(full_page=full_page, **common)
        if not name.lower().endswith(".png"):
            name += ".png"
        event: ArtifactEvent = await ctx.add_artifact(
            name, data, kind=kind, content_type="image/png"
        )
        return event

    async def save_trace(self, ctx: StepContext, name: str | None = None) -> ArtifactEvent | None:
        """Keep the trace recorded since the last save (``trace-<step>.zip``) and go on tracing."""
        if self._tracer is None:
            return None
        event: ArtifactEvent | None = await self._tracer.save(
            name or f"trace-{ctx.step_id}.zip", step_id=ctx.step_id
        )
        return event

    async def keep_page_html(self, ctx: StepContext, name: str) -> ArtifactEvent:
        """Keep the current page's HTML, secrets removed (see ``page_html``), as an artifact."""
        html = await page_html(self.page, self.masker, self.execution.secrets.values())
        event: ArtifactEvent = await ctx.add_artifact(
            name, html.encode("utf-8"), kind="html", content_type="text/html; charset=utf-8"
        )
        return event

    async def keep_failure_evidence(self, ctx: StepContext) -> None:
        """Screenshot, page HTML and trace at the moment a step failed; never fails the caller."""
        if self._context is None or self._closed:
            return
        try:
            async with asyncio.timeout(10):
                if self.options.screenshot_on_failure:
                    with contextlib.suppress(Exception):
                        await self.screenshot(ctx, f"failure-{ctx.step_id}.png")
                if self.options.keep_trace != "never":
                    with contextlib.suppress(Exception):
                        await self.keep_page_html(ctx, f"failure-{ctx.step_id}.html")
                    await self.save_trace(ctx)
        except Exception:
            log.exception("could not keep the evidence of a failed browser step")

    async def follow_current_page(self) -> None:
        """Point the live view at the current page (after a popup opened or a tab closed)."""
        if self._live is not None and self._context is not None:
            page = self.page
            if page is not self._live.page:
                with contextlib.suppress(Exception):
                    await self._live.attach(self._context, page)

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        from playwright.async_api import async_playwright

        started = time.perf_counter()
        self._playwright = await async_playwright().start()
        self.executable = launcher.find_browser(self._playwright)
        downloads = self.execution.new_artifact_path(".downloads")
        downloads.mkdir(parents=True, exist_ok=True)
        try:
            self._browser = await launcher.launch(
                self._playwright,
                self.executable,
                label=self.label,
                headless=self.options.headless,
                downloads_path=downloads,
            )
        except Exception as exc:
            raise StepFailedError(
                f"Chromium did not start ({self.executable.describe()}): "
                f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}. "
                + launcher.INSTALL_HINT,
                {"browser": self.executable.source},
            ) from None
        width, height = self.options.viewport
        self._context = await self._browser.new_context(
            viewport={"width": width, "height": height},
            locale=self.options.locale,
            timezone_id=self.options.timezone,
            ignore_https_errors=self.options.ignore_https_errors,
            accept_downloads=True,
        )
        self._context.set_default_timeout(self.options.default_timeout * 1000)
        self._context.set_default_navigation_timeout(self.options.default_timeout * 1000)
        await self.masker.install(self._context)
        self._context.on("page", self._on_page)
        if self.options.keep_trace != "never":
            self._tracer = Tracer(
                self._context, self.execution, snapshots=self.options.trace_snapshots
            )
            await self._tracer.start()
        self._page = await self._context.new_page()
        await self.masker.validate(self._page)
        if self.options.live_view.enabled:
            self._live = LiveView(self.execution, self.options.live_view)
            await self._live.attach(self._context, self._page)
        self.launch_seconds = time.perf_counter() - started
        await self.execution.log(
            f"browser started in {self.launch_seconds:.2f} s: {self.executable.describe()}",
            "debug",
        )

    def _on_page(self, page: Page) -> None:
        self._page = page
        page.on("close", lambda _page: self._on_close(_page))

    def _on_close(self, page: Page) -> None:
        if self._page is page:
            self._page = None

    async def close(self) -> None:
        """Close everything; kill the marked process tree if that does not finish in time."""
        if self._closed:
            return
        self._closed = True
        task = asyncio.ensure_future(self._close_gracefully())
        try:
            await asyncio.wait_for(asyncio.shield(task), CLOSE_TIMEOUT)
        except TimeoutError:
            log.warning("the browser did not close within %s s; killing it", CLOSE_TIMEOUT)
            launcher.reap_orphans(label=self.label, include_live_owners=True)
        except asyncio.CancelledError:
            launcher.reap_orphans(label=self.label, include_live_owners=True)
            raise
        except Exception:
            log.exception("closing the browser failed; killing it")
            launcher.reap_orphans(label=self.label, include_live_owners=True)

    async def _close_gracefully(self) -> None:
        if self._live is not None:
            await self._live.stop()
        if self._tracer is not None:
            if self.options.keep_trace == "always":
                with contextlib.suppress(Exception):
                    await self._tracer.save("trace.zip", restart=False)
            with contextlib.suppress(Exception):
                await self._tracer.stop()
        if self._context is not None:
            with contextlib.suppress(Exception):
                await self._context.close()
        if self._browser is not None:
            with contextlib.suppress(Exception):
                await self._browser.close()
        if self._playwright is not None:
            with contextlib.suppress(Exception):
                await self._playwright.stop()


@asynccontextmanager
async def open_browser(execution: ExecutionContext) -> AsyncIterator[BrowserSession]:
    """The ``browser`` resource opener the core calls on the first browser step."""
    options = BrowserOptions.from_options(execution.options)
    session = BrowserSession(execution, options)
    try:
        await session.start()
        yield session
    finally:
        await session.close()


__all__ = ["RESOURCE_NAME", "BrowserSession", "open_browser"]
