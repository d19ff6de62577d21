"""Acting on elements: click, fill, type, press, select, check, hover."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from playwright.async_api import Error as PlaywrightError

from ignition_toolbox.core import Secret, StepContext, StepFailedError, StepType

from ..masking import SECRET_FIELD_PROBE
from ..secret_input import fill_secret, type_secret
from ..session import BrowserSession
from .schema import SELECTOR, SELECTOR_OUTPUT, TIMEOUT, output, params, step_type

if TYPE_CHECKING:
    from playwright.async_api import Locator

SECRET = {
    "type": "boolean",
    "default": False,
    "description": "Treat the value as a secret (always so for password inputs and [data-secret])",
}


async def _secret_guarded(
    ctx: StepContext,
    session: BrowserSession,
    p: dict[str, Any],
    value: str,
    act: Callable[[Locator], Awaitable[None]],
) -> None:
    """Run ``act`` on the element, redacting ``value`` if the element is a secret field.

    Finding out costs no extra round trip to the page: ``act`` first runs on a probe that matches
    the element and, when the element is a secret field, its parent too (``SECRET_FIELD_PROBE``).
    Strict mode refuses two matches before anything is typed, so on a secret field the probe fails
    at once; the value is then marked secret and ``act`` runs again on the element alone (a trace
    shows that refused first attempt). A probe that fails for any other reason (no such element,
    the page went away, a cancel) also marks the value: the trace already holds the action's
    arguments, and redacting too much is the safe side.
    """
    locator = session.page.locator(p["selector"])
    if p.get("secret"):
        ctx.mark_secret(value)
        await act(locator)
        return
    try:
        await act(locator.locator(SECRET_FIELD_PROBE))
        return
    except BaseException as exc:
        ctx.mark_secret(value)
        if not (isinstance(exc, PlaywrightError) and "strict mode violation" in str(exc)):
            raise
    await act(locator)


async def _click(ctx: StepContext, session: BrowserSession, p: dict[str, Any]) -> dict[str, Any]:
    await session.page.locator(p["selector"]).click(
        button=p.get("button", "left"),
        click_count=p.get("click_count", 1),
        modifiers=p.get("modifiers"),
        force=p.get("force", False),
        timeout=session.timeout_ms(p),
    )
    return {"selector": p["selector"]}


async def _fill(ctx: StepContext, session: BrowserSession, p: dict[str, Any]) -> dict[str, Any]:
    timeout = session.timeout_ms(p)
    if isinstance(p["value"], Secret):
        locator = session.page.locator(p["selector"])
        await fill_secret(ctx, locator, p["value"], timeout_ms=timeout)
        return {"selector": p["selector"]}

    async def act(locator: Locator) -> None:
        await locator.fill(p["value"], timeout=timeout)

    await _secret_guarded(ctx, session, p, p["value"], act)
    return {"selector": p["selector"]}


async def _type(ctx: StepContext, session: BrowserSession, p: dict[str, Any]) -> dict[str, Any]:
    timeout = session.timeout_ms(p)
    if isinstance(p["text"], Secret):
        locator = session.page.locator(p["selector"])
        delay_ms = float(p.get("delay", 0)) * 1000
        await type_secret(ctx, locator, p["text"], delay_ms=delay_ms, timeout_ms=timeout)
        return {"selector": p["selector"]}

    async def act(locator: Locator) -> None:
        await locator.press_sequentially(
            p["text"], delay=float(p.get("delay", 0)) * 1000, timeout=timeout
        )

    await _secret_guarded(ctx, session, p, p["text"], act)
    return {"selector": p["selector"]}


async def _press(ctx: StepContext, session: BrowserSession, p: dict[str, Any]) -> dict[str, Any]:
    if p.get("selector"):
        await session.page.locator(p["selector"]).press(p["key"], timeout=session.timeout_ms(p))
    else:
        await session.page.keyboard.press(p["key"])
    return {"key": p["key"], "selector": p.get("selector")}


async def _select(ctx: StepContext, session: BrowserSession, p: dict[str, Any]) -> dict[str, Any]:
    given = [k for k in ("value", "label", "index") if k in p]
    if len(given) != 1:
        raise StepFailedError(
            "browser.select needs exactly one of value, label or index",
            {"given": given},
            code="validation_error",
        )
    key = given[0]
    chosen = p[key]
    selected = await session.page.locator(p["selector"]).select_option(
        **{key: chosen}, timeout=session.timeout_ms(p)
    )
    return {"selector": p["selector"], "selected": selected}


async def _check(ctx: StepContext, session: BrowserSession, p: dict[str, Any]) -> dict[str, Any]:
    checked = p.get("checked", True)
    locator = session.page.locator(p["selector"])
    await locator.set_checked(checked, force=p.get("force", False), timeout=session.timeout_ms(p))
    return {"selector": p["selector"], "checked": await locator.is_checked()}


async def _hover(ctx: StepContext, session: BrowserSession, p: dict[str, Any]) -> dict[str, Any]:
    await session.page.locator(p["selector"]).hover(
        force=p.get("force", False), timeout=session.timeout_ms(p)
    )
    return {"selector": p["selector"]}


_ONE_OR_MANY_STRINGS = {
    "anyOf": [
        {"type": "string"},
        {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 100},
    ]
}
_ONE_OR_MANY_INTS = {
    "anyOf": [
        {"type": "integer", "minimum": 0},
        {"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 1},
    ]
}
FORCE = {"type": "boolean", "default": False, "description": "Skip actionability checks"}

STEP_TYPES: list[StepType] = [
    step_type(
        "click",
        "Click an element",
        _click,
        params(
            ["selector"],
            selector=SELECTOR,
            button={"enum": ["left", "right", "middle"], "default": "left"},
            click_count={"type": "integer", "minimum": 1, "maximum": 3, "default": 1},
            modifiers={
                "type": "array",
                "items": {"enum": ["Alt", "Control", "ControlOrMeta", "Meta", "Shift"]},
                "uniqueItems": True,
            },
            force=FORCE,
            timeout=TIMEOUT,
        ),
        SELECTOR_OUTPUT,
        description="Waits until the element is visible, stable, enabled and receives events.",
    ),
    step_type(
        "fill",
        "Set the value of an input, textarea or contenteditable",
        _fill,
        params(
            ["selector", "value"],
            selector=SELECTOR,
            value={
                "type": "string",
                "maxLength": 100000,
                "writeOnly": True,
                "description": "The text; may be a secret passed whole, typed only into a page "
                "on the origin its credential is bound to",
            },
            secret=SECRET,
            timeout=TIMEOUT,
        ),
        SELECTOR_OUTPUT,
        description="Values filled into password inputs are redacted from logs, outputs and traces.",
    ),
    step_type(
        "type",
        "Type text key by key into an element (for inputs that react to each key)",
        _type,
        params(
            ["selector", "text"],
            selector=SELECTOR,
            text={
                "type": "string",
                "maxLength": 10000,
                "writeOnly": True,
                "description": "The text; may be a secret passed whole, typed only into a page "
                "on the origin its credential is bound to",
            },
            delay={
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "default": 0,
                "description": "Seconds between keys",
            },
            secret=SECRET,
            timeout=TIMEOUT,
        ),
        SELECTOR_OUTPUT,
    ),
    step_type(
        "press",
        "Press a key or chord (Enter, Tab, Control+A) on an element or the focused one",
        _press,
        params(
            ["key"],
            key={"type": "string", "minLength": 1, "maxLength": 100},
            selector=SELECTOR,
            timeout=TIMEOUT,
        ),
        output(key={"type": "string"}, selector={"type": ["string", "null"]}),
    ),
    step_type(
        "select",
        "Choose options of a <select> by value, label or index",
        _select,
        params(
            ["selector"],
            selector=SELECTOR,
            value=_ONE_OR_MANY_STRINGS,
            label=_ONE_OR_MANY_STRINGS,
            index=_ONE_OR_MANY_INTS,
            timeout=TIMEOUT,
        ),
        output(
            selector={"type": "string"}, selected={"type": "array", "items": {"type": "string"}}
        ),
        description="Give exactly one of value, label or index; a list selects several options.",
    ),
    step_type(
        "check",
        "Check or uncheck a checkbox or radio button",
        _check,
        params(
            ["selector"],
            selector=SELECTOR,
            checked={"type": "boolean", "default": True},
            force=FORCE,
            timeout=TIMEOUT,
        ),
        output(selector={"type": "string"}, checked={"type": "boolean"}),
    ),
    step_type(
        "hover",
        "Move the mouse over an element",
        _hover,
        params(["selector"], selector=SELECTOR, force=FORCE, timeout=TIMEOUT),
        SELECTOR_OUTPUT,
    ),
]
