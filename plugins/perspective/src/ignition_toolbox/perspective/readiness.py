"""The readiness predicate of IGNITION.md §3d: when a Perspective page can be tested.

There is no official "ready" event, and ``networkidle`` never settles over Perspective's WebSocket
(the reference's mistake, R19). So: the URL is a client page, no loading spinner, no terminal state
(a terminal state fails with its header text), then either a login form (reported, not an error) or
content components under ``C`` whose set of paths has stopped changing for a short while.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ignition_toolbox.core import StepFailedError, StepTimeoutError

from .pagestate import CLIENT_PATH

if TYPE_CHECKING:
    from playwright.async_api import Page

    from ignition_toolbox.core import StepContext

READY = "ready"
LOGIN_REQUIRED = "login_required"

_PROBE_JS = """
() => {
  const visible = (e) => !!e && (e.checkVisibility ? e.checkVisibility() : e.offsetParent !== null);
  const term = document.querySelector('div.terminal-state-page');
  const header = term && term.querySelector('.terminal-state-header');
  const message = term && term.querySelector('.terminal-state-section p, section p');
  const loginField = ['input.username-field', 'input.password-field', 'input[name=username]',
                      'input[name=j_username]', 'input[type=password]']
    .some((s) => Array.from(document.querySelectorAll(s)).some(visible));
  const interstitial = Array.from(document.querySelectorAll('p.panel-description')).some(visible);
  const paths = Array.from(document.querySelectorAll('[data-component-path]'))
    .map((e) => e.getAttribute('data-component-path'));
  return {
    url: location.href,
    spinner: Array.from(document.querySelectorAll('.ignition-loading-spinner')).some(visible),
    terminal: term ? {header: (header ? header.textContent : term.textContent || '').trim(),
                      message: message ? message.textContent.trim() : ''} : null,
    login: loginField || interstitial,
    content: paths.filter((p) => p.startsWith('C')).length,
    components: paths.length,
    signature: paths.join('|'),
  };
}
"""


@dataclass
class Readiness:
    state: str
    url: str
    components: int
    content: int
    elapsed: float

    def output(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "url": self.url,
            "components": self.components,
            "content_components": self.content,
            "elapsed": round(self.elapsed, 3),
        }


async def probe(page: Page) -> dict[str, Any] | None:
    """One look at the page; ``None`` while it is between documents."""
    try:
        result: dict[str, Any] = await page.evaluate(_PROBE_JS)
    except Exception:
        return None
    return result


def _why_not(last: dict[str, Any] | None, stable_for: float, stable: float) -> str:
    if last is None:
        return "the page never finished loading"
    if CLIENT_PATH not in last["url"] and not last["login"]:
        return f"the page is not a Perspective client page ({last['url']})"
    if last["spinner"]:
        return "the loading spinner (.ignition-loading-spinner) is still shown"
    if not last["content"]:
        return (
            f"no content components ([data-component-path^='C']) appeared "
            f"({last['components']} component(s) elsewhere, e.g. docks)"
        )
    return f"component paths were still changing (stable for {stable_for:.2f} s of {stable:g} s)"


async def wait_ready(
    ctx: StepContext,
    page: Page,
    *,
    timeout: float,
    stable: float = 0.5,
    primary: Any = None,
) -> Readiness:
    """Wait for §3d readiness. ``primary`` is an async callable returning True once it is present."""
    started = time.monotonic()
    deadline = started + timeout
    last: dict[str, Any] | None = None
    since = started
    stable_for = 0.0
    while True:
        now = time.monotonic()
        seen = await probe(page)
        if seen is not None:
            if seen.get("terminal"):
                term = seen["terminal"]
                raise StepFailedError(
                    f"Perspective shows a terminal state: {term['header']}"
                    + (f" — {term['message']}" if term["message"] else ""),
                    {"terminal_state": term["header"], "url": seen["url"]},
                )
            if seen["login"] and not seen["spinner"]:
                return Readiness(LOGIN_REQUIRED, seen["url"], seen["components"], 0, now - started)
            candidate = CLIENT_PATH in seen["url"] and not seen["spinner"] and seen["content"] > 0
            if last is None or seen["signature"] != last["signature"] or not candidate:
                since = now
            last = seen
            stable_for = now - since
            if candidate and stable_for >= stable and (primary is None or await primary()):
                return Readiness(
                    READY, seen["url"], seen["components"], seen["content"], now - started
                )
        if now >= deadline:
            reason = _why_not(last, stable_for, stable)
            if last is not None and primary is not None and stable_for >= stable:
                reason = "the primary component never appeared"
            raise StepTimeoutError(
                f"the Perspective page was not ready within {timeout:g} s: {reason}",
                {"timeout": timeout, "url": last["url"] if last else page.url},
            )
        await ctx.sleep(0.1)


__all__ = ["LOGIN_REQUIRED", "READY", "Readiness", "probe", "wait_ready"]
