"""The parts of the Perspective shell around views: docks and popups (IGNITION.md §3b shell parts).

Docks are ``div.docked-view-<side> > div[data-dock-id]``; an ``onDemand`` dock is attached but hidden
until its handle (``div.view-toggle``) or an action opens it. Popups are ``div.popup#popup-<id>`` with
a header, a body and ``svg.close-icon``; a modal one adds ``div.modal``.
"""

from __future__ import annotations

import time
from typing import Any

from ignition_toolbox.browser import BrowserSession
from ignition_toolbox.core import StepContext, StepFailedError, StepTimeoutError, StepType

from ..locators import resolve
from .schema import LOCATOR, TIMEOUT, output, params, step_type

_DOCK_JS = """
(id) => {
  const all = Array.from(document.querySelectorAll('[data-dock-id]'));
  const dock = all.find((d) => d.getAttribute('data-dock-id') === id);
  const ids = all.map((d) => d.getAttribute('data-dock-id'));
  if (!dock) return {found: false, ids: ids};
  const side = (Array.from((dock.closest('[class*="docked-view-"]') || {classList: []}).classList)
    .find((c) => c.startsWith('docked-view-')) || '').replace('docked-view-', '');
  return {found: true, ids: ids, side: side,
          visible: dock.checkVisibility ? dock.checkVisibility() : dock.offsetParent !== null};
}
"""


async def _dock_state(session: BrowserSession, dock_id: str) -> dict[str, Any]:
    result: dict[str, Any] = await session.page.evaluate(_DOCK_JS, dock_id)
    return result


async def _wait_dock(
    ctx: StepContext, session: BrowserSession, dock_id: str, visible: bool, timeout: float
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        seen = await _dock_state(session, dock_id)
        if seen["found"] and seen["visible"] == visible:
            return seen
        if time.monotonic() >= deadline:
            if not seen["found"]:
                raise StepFailedError(
                    f"dock {dock_id!r} is not on the page; docks found: {seen['ids'] or 'none'}",
                    {"dock_id": dock_id, "docks": seen["ids"]},
                )
            raise StepTimeoutError(
                f"dock {dock_id!r} ({seen['side']}) is {'shown' if seen['visible'] else 'hidden'}"
                f", expected {'shown' if visible else 'hidden'} within {timeout:g} s",
                {"dock_id": dock_id, "visible": seen["visible"]},
            )
        await ctx.sleep(0.05)


async def _dock(ctx: StepContext, session: BrowserSession, p: dict[str, Any]) -> dict[str, Any]:
    dock_id = p["dock_id"]
    action = p.get("action", "verify")
    timeout = session.timeout_s(p)
    if action == "verify":
        want = p.get("expect", "visible")
        if want == "attached":
            deadline = time.monotonic() + timeout
            while not (seen := await _dock_state(session, dock_id))["found"]:
                if time.monotonic() >= deadline:
                    raise StepFailedError(
                        f"dock {dock_id!r} is not attached; docks found: {seen['ids'] or 'none'}",
                        {"dock_id": dock_id, "docks": seen["ids"]},
                    )
                await ctx.sleep(0.05)
        else:
            seen = await _wait_dock(ctx, session, dock_id, want == "visible", timeout)
        return {
            "dock_id": dock_id,
            "visible": seen["visible"],
            "side": seen["side"],
            "changed": False,
        }
    want_visible = action == "open"
    seen = await _dock_state(session, dock_id)
    if not seen["found"]:
        seen = await _wait_dock(ctx, session, dock_id, not want_visible, timeout)
    if seen["visible"] == want_visible:
        return {
            "dock_id": dock_id,
            "visible": seen["visible"],
            "side": seen["side"],
            "changed": False,
        }
    page = session.page
    if p.get("handle"):
        component = await resolve(ctx, page, p["handle"], timeout)
        await component.locator.click(timeout=timeout * 1000)
    else:
        own = page.locator(f'[data-dock-toggle="{dock_id}"]')
        side = page.locator(
            f"div.docked-view-{seen['side']} div.view-toggle, div.toggle-{seen['side']}"
        )
        handle = own if await own.count() else side
        if not await handle.count():
            raise StepFailedError(
                f"dock {dock_id!r} has no handle (div.view-toggle) to {action} it; "
                "give handle: a locator of the component that toggles it",
                {"dock_id": dock_id},
            )
        await handle.first.click(timeout=timeout * 1000)
    seen = await _wait_dock(ctx, session, dock_id, want_visible, timeout)
    return {"dock_id": dock_id, "visible": seen["visible"], "side": seen["side"], "changed": True}


_POPUP_JS = """
(id) => {
  const popup = document.getElementById('popup-' + id);
  const open = Array.from(document.querySelectorAll('div.popup')).map((p) => p.id.replace(/^popup-/, ''));
  if (!popup) return {open: false, popups: open};
  const header = popup.querySelector('.popup-header');
  return {open: popup.checkVisibility ? popup.checkVisibility() : true, popups: open,
          title: header ? header.textContent.replace(/\\s+/g, ' ').trim() : '',
          modal: !!document.querySelector('div.modal')};
}
"""


async def _popup(ctx: StepContext, session: BrowserSession, p: dict[str, Any]) -> dict[str, Any]:
    popup_id = p["popup_id"]
    action = p.get("action", "verify")
    timeout = session.timeout_s(p)
    deadline = time.monotonic() + timeout
    page = session.page
    want_open = action in ("verify", "close")
    while (seen := await page.evaluate(_POPUP_JS, popup_id))["open"] != want_open:
        if time.monotonic() >= deadline:
            raise StepTimeoutError(
                f"popup {popup_id!r} (div.popup#popup-{popup_id}) is "
                f"{'not open' if want_open else 'still open'} after {timeout:g} s; "
                f"open popups: {seen['popups'] or 'none'}",
                {"popup_id": popup_id, "popups": seen["popups"]},
            )
        await ctx.sleep(0.05)
    if want_open and p.get("title") and p["title"] not in seen.get("title", ""):
        raise StepFailedError(
            f"popup {popup_id!r} has title {seen.get('title')!r}, expected it to contain "
            f"{p['title']!r}",
            {"popup_id": popup_id, "title": seen.get("title")},
        )
    result = {
        "popup_id": popup_id,
        "open": seen["open"],
        "title": seen.get("title"),
        "modal": seen.get("modal", False),
    }
    if action == "close":
        await page.locator(f'[id="popup-{popup_id}"] .close-icon').first.click(
            timeout=timeout * 1000
        )
        while (await page.evaluate(_POPUP_JS, popup_id))["open"]:
            if time.monotonic() >= deadline:
                raise StepTimeoutError(
                    f"popup {popup_id!r} did not close after clicking its close icon",
                    {"popup_id": popup_id},
                )
            await ctx.sleep(0.05)
        result["open"] = False
    return result


STEP_TYPES: list[StepType] = [
    step_type(
        "dock",
        "Open, close or check a dock",
        _dock,
        params(
            ["dock_id"],
            dock_id={"type": "string", "minLength": 1, "maxLength": 200},
            action={"enum": ["open", "close", "verify"], "default": "verify"},
            expect={
                "enum": ["visible", "hidden", "attached"],
                "default": "visible",
                "description": "For verify; attached means on the page, shown or not",
            },
            handle={**LOCATOR, "description": "What to click to open/close (default: its handle)"},
            timeout=TIMEOUT,
        ),
        output(
            dock_id={"type": "string"},
            visible={"type": "boolean"},
            side={"type": "string"},
            changed={"type": "boolean"},
        ),
    ),
    step_type(
        "popup",
        "Check that a popup is open (and its title), close it, or check it is closed",
        _popup,
        params(
            ["popup_id"],
            popup_id={"type": "string", "minLength": 1, "maxLength": 200},
            action={"enum": ["verify", "close", "verify_closed"], "default": "verify"},
            title={"type": "string", "description": "Text the popup header must contain"},
            timeout=TIMEOUT,
        ),
        output(
            popup_id={"type": "string"},
            open={"type": "boolean"},
            title={"type": ["string", "null"]},
            modal={"type": "boolean"},
        ),
    ),
]
