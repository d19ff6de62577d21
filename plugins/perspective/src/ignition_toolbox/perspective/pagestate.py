"""What the plugin remembers about the browser's Perspective page between steps of one execution.

A Perspective session is a single-page app (IGNITION.md §3a): after ``perspective.open`` every move
must stay in-app. ``perspective.open`` plants a marker in the page's JavaScript realm; a reload or
``page.goto`` wipes it, which is how ``perspective.navigate`` tells an in-app navigation from a
reload on any gateway, real or simulated. Console errors are collected from the moment of opening
for ``perspective.verify_no_errors``.
"""

from __future__ import annotations

import secrets
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ignition_toolbox.core import StepFailedError

if TYPE_CHECKING:
    from playwright.async_api import ConsoleMessage, Page

    from ignition_toolbox.browser import BrowserSession

MARKER = "__itkPerspectiveMarker"
CLIENT_PATH = "/data/perspective/client/"


@dataclass
class PerspectivePageState:
    marker: str | None = None
    url: str | None = None
    opens: int = 0
    console_errors: list[str] = field(default_factory=list)
    watched: weakref.WeakSet[Any] = field(default_factory=weakref.WeakSet)

    def watch(self, page: Page) -> None:
        """Collect console errors and uncaught page errors of ``page`` (once per page)."""
        if page in self.watched:
            return
        self.watched.add(page)

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.console_errors.append(message.text[:500])

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.console_errors.append(str(error)[:500]))

    async def plant_marker(self, page: Page) -> str:
        self.marker = secrets.token_hex(8)
        await page.evaluate("([name, value]) => { window[name] = value; }", [MARKER, self.marker])
        self.url = page.url
        return self.marker

    async def marker_intact(self, page: Page) -> bool | None:
        """True while the page opened by ``perspective.open`` is still the same document.

        ``None`` when the page is between documents (a navigation is in flight).
        """
        try:
            value = await page.evaluate("(name) => window[name] || null", MARKER)
        except Exception:
            return None
        return value == self.marker

    def require_open(self) -> None:
        if self.marker is None:
            raise StepFailedError(
                "no Perspective page is open in this execution; start with perspective.open",
                code="validation_error",
            )


_STATES: weakref.WeakKeyDictionary[BrowserSession, PerspectivePageState] = (
    weakref.WeakKeyDictionary()
)


def page_state(session: BrowserSession) -> PerspectivePageState:
    """The Perspective state kept for one execution's browser session."""
    state = _STATES.get(session)
    if state is None:
        state = _STATES[session] = PerspectivePageState()
    return state


__all__ = ["CLIENT_PATH", "MARKER", "PerspectivePageState", "page_state"]
