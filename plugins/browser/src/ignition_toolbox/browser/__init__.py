"""Playwright browser steps for Ignition Toolbox, with a masked live view and failure traces.

The public surface other plugins build on (the Perspective plugin reuses the browser resource)::

    session: BrowserSession = await ctx.resource("browser")
    await session.page.locator(...).click()
    await session.screenshot(ctx, "dock.png", element="#dock")
"""

from .failures import browser_step, browser_step_type, translate
from .launcher import (
    ENV_BROWSER_PATH,
    INSTALL_HINT,
    BrowserExecutable,
    count_marked,
    find_browser,
    reap_orphans,
)
from .liveview import LiveView
from .masking import DEFAULT_MASK_SELECTORS, Masker
from .options import DEFAULT_MASK_COLOR, BrowserOptions, LiveViewOptions
from .secret_input import fill_secret, type_secret
from .session import RESOURCE_NAME, BrowserSession, open_browser
from .steps.assertions import poll, text_matches
from .tracing import scrub_trace

__all__ = [
    "DEFAULT_MASK_COLOR",
    "DEFAULT_MASK_SELECTORS",
    "ENV_BROWSER_PATH",
    "INSTALL_HINT",
    "RESOURCE_NAME",
    "BrowserExecutable",
    "BrowserOptions",
    "BrowserSession",
    "LiveView",
    "LiveViewOptions",
    "Masker",
    "browser_step",
    "browser_step_type",
    "count_marked",
    "fill_secret",
    "find_browser",
    "open_browser",
    "poll",
    "reap_orphans",
    "scrub_trace",
    "text_matches",
    "translate",
    "type_secret",
]
