"""The Ignition IdP login form as Perspective and the gateway show it (IGNITION.md §2c, §3c).

The form is two-step (username, CONTINUE, password, CONTINUE) and may be preceded by an interstitial
("You must log in to continue." with a continue button). Real pages use ``div.submit-button``
(O6); the reference clicked ``text='CONTINUE'`` (R10), whose case is uncertain. So each round looks
at what is on screen and does the one thing that moves the flow on, with fallbacks for each hook.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ignition_toolbox.browser import fill_secret
from ignition_toolbox.core import Secret, StepFailedError, StepTimeoutError

if TYPE_CHECKING:
    from playwright.async_api import Page

    from ignition_toolbox.core import StepContext

USERNAME = "input.username-field, input[name=username], input[name=j_username]"
PASSWORD = "input.password-field, input[name=password], input[type=password]"
CONTINUE = (
    "div.submit-button",
    "button.submit-button",
    "button[type=submit]",
    "text=/^continue$/i",
)
ERROR = ".login-error, .error-message, .notification.error"
PASSWORD_FILL_TIMEOUT_MS = 10_000

_STATE_JS = """
([user, pass, err]) => {
  const vis = (s) => Array.from(document.querySelectorAll(s)).find((e) =>
    e.checkVisibility ? e.checkVisibility() : e.offsetParent !== null) || null;
  const u = vis(user), p = vis(pass), e = vis(err);
  return {
    url: location.href,
    username: !!u, password: !!p,
    interstitial: !u && !p && !!vis('p.panel-description'),
    error: e ? e.textContent.trim() : null,
    done: !location.pathname.startsWith('/idp/') && location.protocol.startsWith('http') &&
      !u && !p && !vis('p.panel-description'),
    user: (document.querySelector('div.username') || {}).textContent || null,
  };
}
"""


async def _state(page: Page) -> dict[str, Any] | None:
    try:
        result: dict[str, Any] = await page.evaluate(_STATE_JS, [USERNAME, PASSWORD, ERROR])
    except Exception:
        return None
    return result


async def _continue(page: Page) -> str:
    for selector in CONTINUE:
        candidates = page.locator(selector)
        for i in range(await candidates.count()):
            button = candidates.nth(i)
            if await button.is_visible():
                await button.click(timeout=5000)
                return selector
    raise StepFailedError(
        f"the login form has no visible continue button (tried {', '.join(CONTINUE)})"
    )


async def _settle_after_password(ctx: StepContext, page: Page, until: float) -> None:
    """Give the gateway time to answer before the form is looked at again (no double submit)."""
    while time.monotonic() < until:
        seen = await _state(page)
        if seen is not None and (seen["error"] or seen["done"] or not seen["password"]):
            return
        await ctx.sleep(0.1)


async def log_in(
    ctx: StepContext, page: Page, username: str, password: Secret, *, timeout: float
) -> dict[str, Any]:
    """Drive the form until the page it protects is back; fail on a rejected password.

    Done means: off the IdP (``/idp/...``) with no login field or interstitial in sight, which holds
    for a Perspective client page and for the gateway web UI alike.
    """
    deadline = time.monotonic() + timeout
    actions: list[str] = []
    submitted_password = False
    last: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        seen = await _state(page)
        if seen is None:
            await ctx.sleep(0.1)
            continue
        last = seen
        if submitted_password and seen["error"]:
            raise StepFailedError(
                f"the gateway rejected the login for user {username!r}: {seen['error']}",
                {"user": username, "url": seen["url"]},
            )
        if seen["done"]:
            user = (seen["user"] or "").strip() or None
            return {"user": user, "url": seen["url"], "already_logged_in": not actions}
        if seen["password"]:
            field = page.locator(PASSWORD).locator("visible=true").first
            # Typed only when the login form is on an origin the credential is bound to.
            await fill_secret(ctx, field, password, timeout_ms=PASSWORD_FILL_TIMEOUT_MS)
            await _continue(page)
            actions.append("password")
            submitted_password = True
            await _settle_after_password(ctx, page, min(deadline, time.monotonic() + 5))
            continue
        if seen["username"]:
            field = page.locator(USERNAME).locator("visible=true").first
            if await field.input_value() != username:
                await field.fill(username)
            await _continue(page)
            actions.append("username")
            await ctx.sleep(0.2)
            continue
        if seen["interstitial"]:
            await _continue(page)
            actions.append("interstitial")
            await ctx.sleep(0.3)
            continue
        await ctx.sleep(0.1)
    where = last["url"] if last else page.url
    raise StepTimeoutError(
        f"login did not reach the Perspective page within {timeout:g} s "
        f"(steps done: {', '.join(actions) or 'none'}; now at {where})",
        {"timeout": timeout, "url": where, "steps": actions},
    )


__all__ = ["CONTINUE", "PASSWORD", "USERNAME", "log_in"]
