"""Assertions: ``browser.verify``, ``verify_text``, ``verify_attribute``, ``verify_state``.

Each assertion re-checks until it holds or its timeout runs out (pages settle asynchronously), then
fails with ``validation_error`` naming what was expected and what was found. The polling sleeps
with ``ctx.sleep``, so a paused execution stops the clock and a cancel ends the wait at once.
Each check looks at the session's current page, so a popup opened by the previous step counts.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable
from typing import Any

from playwright.async_api import Locator

from ignition_toolbox.core import StepContext, StepFailedError, StepType

from ..session import BrowserSession
from .schema import SELECTOR, TEXT_MATCH, output, params, step_type

POLL_INTERVAL = 0.1
DEFAULT_ASSERT_TIMEOUT = 5.0

ASSERT_TIMEOUT = {
    "type": "number",
    "minimum": 0,
    "maximum": 3600,
    "default": DEFAULT_ASSERT_TIMEOUT,
    "description": "Seconds to keep re-checking before the assertion fails (0: check once)",
}

Probe = Callable[[], Awaitable[tuple[bool, Any]]]


async def poll(ctx: StepContext, timeout: float, probe: Probe) -> tuple[bool, Any]:
    """Run ``probe`` until it passes or ``timeout`` seconds of running time have gone by."""
    loop = asyncio.get_running_loop()
    spent = 0.0
    while True:
        started = loop.time()
        passed, found = await probe()
        spent += loop.time() - started
        if passed or spent >= timeout:
            return passed, found
        await ctx.sleep(POLL_INTERVAL)
        spent += POLL_INTERVAL


async def _single(locator: Locator, selector: str) -> Locator | None:
    count = await locator.count()
    if count == 0:
        return None
    if count > 1:
        raise StepFailedError(
            f"selector {selector!r} matches {count} elements; the assertion needs exactly one "
            "(e.g. add '>> nth=0')",
            {"selector": selector, "found": count},
            code="validation_error",
        )
    return locator


def _normalize(text: str) -> str:
    return " ".join(text.split())


def text_matches(found: str, expected: str, match: str, ignore_case: bool, normalize: bool) -> bool:
    if match == "regex":
        return re.search(expected, found, re.IGNORECASE if ignore_case else 0) is not None
    if normalize:
        found, expected = _normalize(found), _normalize(expected)
    if ignore_case:
        found, expected = found.casefold(), expected.casefold()
    return found == expected if match == "exact" else expected in found


def _fail(message: str, details: dict[str, Any]) -> StepFailedError:
    return StepFailedError(message, details, code="validation_error")


def _timeout(p: dict[str, Any]) -> float:
    return float(p.get("timeout", DEFAULT_ASSERT_TIMEOUT))


async def _verify(ctx: StepContext, session: BrowserSession, p: dict[str, Any]) -> dict[str, Any]:
    selector = p["selector"]
    exists = p.get("exists", True)
    wanted_count = p.get("count")

    async def probe() -> tuple[bool, int]:
        count = await session.page.locator(selector).count()
        if wanted_count is not None:
            return count == wanted_count, count
        return (count > 0) == exists, count

    passed, count = await poll(ctx, _timeout(p), probe)
    if not passed:
        if wanted_count is not None:
            expected = f"{wanted_count} element(s)"
        else:
            expected = "at least one element" if exists else "no element"
        raise _fail(
            f"expected {expected} matching {selector!r}, found {count}",
            {"selector": selector, "expected": expected, "found": count},
        )
    return {"selector": selector, "exists": count > 0, "count": count}


async def _read_text(locator: Locator, source: str) -> str:
    if source == "value":
        return await locator.input_value(timeout=1000)
    if source == "text_content":
        return await locator.text_content(timeout=1000) or ""
    return await locator.inner_text(timeout=1000)


async def _verify_text(
    ctx: StepContext, session: BrowserSession, p: dict[str, Any]
) -> dict[str, Any]:
    selector, expected = p["selector"], p["expected"]
    match = p.get("match", "exact")
    if match == "regex":
        try:
            re.compile(expected)
        except re.error as exc:
            raise _fail(f"expected is not a valid regex: {exc}", {"expected": expected}) from None

    async def probe() -> tuple[bool, str | None]:
        one = await _single(session.page.locator(selector), selector)
        if one is None:
            return False, None
        text = await _read_text(one, p.get("source", "inner_text"))
        ok = text_matches(
            text, expected, match, p.get("ignore_case", False), p.get("normalize_whitespace", True)
        )
        return ok, text

    passed, found = await poll(ctx, _timeout(p), probe)
    if not passed:
        how = {"exact": "equal to", "contains": "containing", "regex": "matching"}[match]
        if found is None:
            message = f"expected text {how} {expected!r} in {selector!r}, found no such element"
        else:
            message = f"expected text {how} {expected!r} in {selector!r}, found {found!r}"
        raise _fail(
            message, {"selector": selector, "expected": expected, "match": match, "found": found}
        )
    return {"selector": selector, "text": found, "matched": True}


async def _verify_attribute(
    ctx: StepContext, session: BrowserSession, p: dict[str, Any]
) -> dict[str, Any]:
    selector, attribute = p["selector"], p["attribute"]
    expected = p.get("expected")
    match = p.get("match", "exact")
    present_wanted = p.get("present", True)

    async def probe() -> tuple[bool, Any]:
        one = await _single(session.page.locator(selector), selector)
        if one is None:
            return False, "<no element>"
        value = await one.get_attribute(attribute, timeout=1000)
        if not present_wanted:
            return value is None, value
        if value is None:
            return False, None
        if expected is None:
            return True, value
        return text_matches(value, expected, match, p.get("ignore_case", False), False), value

    passed, found = await poll(ctx, _timeout(p), probe)
    if not passed:
        if not present_wanted:
            wanted = "to be absent"
        elif expected is None:
            wanted = "to be present"
        else:
            wanted = f"to be {match} {expected!r}"
        shown = (
            "no such element"
            if found == "<no element>"
            else ("no such attribute" if found is None else repr(found))
        )
        raise _fail(
            f"expected attribute {attribute!r} of {selector!r} {wanted}, found {shown}",
            {"selector": selector, "attribute": attribute, "expected": expected, "found": found},
        )
    return {"selector": selector, "attribute": attribute, "value": found}


_STATES: dict[str, str] = {
    "visible": "is_visible",
    "hidden": "is_hidden",
    "enabled": "is_enabled",
    "disabled": "is_disabled",
    "checked": "is_checked",
    "unchecked": "is_checked",
    "editable": "is_editable",
}


async def _verify_state(
    ctx: StepContext, session: BrowserSession, p: dict[str, Any]
) -> dict[str, Any]:
    selector, state = p["selector"], p["state"]

    async def describe(one: Locator) -> list[str]:
        seen = ["visible" if await one.is_visible() else "hidden"]
        seen.append("enabled" if await one.is_enabled() else "disabled")
        with contextlib.suppress(Exception):
            seen.append("checked" if await one.is_checked() else "unchecked")
        return seen

    async def probe() -> tuple[bool, Any]:
        one = await _single(session.page.locator(selector), selector)
        if one is None:
            return state == "hidden", "missing"
        try:
            value = await getattr(one, _STATES[state])(timeout=1000)
        except Exception as exc:
            return False, str(exc).splitlines()[0]
        ok = (not value) if state == "unchecked" else bool(value)
        return ok, None if ok else ", ".join(await describe(one))

    passed, found = await poll(ctx, _timeout(p), probe)
    if not passed:
        raise _fail(
            f"expected {selector!r} to be {state}, found it {found}",
            {"selector": selector, "expected": state, "found": found},
        )
    return {"selector": selector, "state": state}


STEP_TYPES: list[StepType] = [
    step_type(
        "verify",
        "Assert that an element exists (or does not, or exists a given number of times)",
        _verify,
        params(
            ["selector"],
            selector=SELECTOR,
            exists={"type": "boolean", "default": True},
            count={"type": "integer", "minimum": 0},
            timeout=ASSERT_TIMEOUT,
        ),
        output(selector={"type": "string"}, exists={"type": "boolean"}, count={"type": "integer"}),
    ),
    step_type(
        "verify_text",
        "Assert an element's text: exact, contains or regex",
        _verify_text,
        params(
            ["selector", "expected"],
            selector=SELECTOR,
            expected={"type": "string", "maxLength": 100000},
            match=TEXT_MATCH,
            ignore_case={"type": "boolean", "default": False},
            normalize_whitespace={"type": "boolean", "default": True},
            source={"enum": ["inner_text", "text_content", "value"], "default": "inner_text"},
            timeout=ASSERT_TIMEOUT,
        ),
        output(selector={"type": "string"}, text={"type": "string"}, matched={"type": "boolean"}),
        description="source 'value' reads an input's current value.",
    ),
    step_type(
        "verify_attribute",
        "Assert an element's attribute: present, absent or with a value",
        _verify_attribute,
        params(
            ["selector", "attribute"],
            selector=SELECTOR,
            attribute={"type": "string", "minLength": 1, "maxLength": 200},
            expected={"type": "string"},
            match=TEXT_MATCH,
            ignore_case={"type": "boolean", "default": False},
            present={"type": "boolean", "default": True},
            timeout=ASSERT_TIMEOUT,
        ),
        output(
            selector={"type": "string"},
            attribute={"type": "string"},
            value={"type": ["string", "null"]},
        ),
    ),
    step_type(
        "verify_state",
        "Assert an element is visible, hidden, enabled, disabled, checked, unchecked or editable",
        _verify_state,
        params(
            ["selector", "state"],
            selector=SELECTOR,
            state={"enum": list(_STATES)},
            timeout=ASSERT_TIMEOUT,
        ),
        output(selector={"type": "string"}, state={"type": "string"}),
    ),
]
