"""Acting on components the way a user does: click, fill (and commit), toggle, select, navigate."""

from __future__ import annotations

import re
import time
from typing import Any

from ignition_toolbox.browser import BrowserSession, fill_secret
from ignition_toolbox.core import (
    REDACTED,
    Secret,
    StepContext,
    StepFailedError,
    StepTimeoutError,
    StepType,
)

from ..locators import Component, describe, resolve
from ..pagestate import CLIENT_PATH, page_state
from ..readiness import wait_ready
from .schema import COMPONENT_OUTPUT, LOCATOR, TIMEOUT, output, params, step_type

_ENABLED_JS = """
e => {
  const control = e.matches('button, input, select, textarea') ? e : e.querySelector('button, input, select, textarea');
  const cls = Array.from(e.classList).find((c) => c.endsWith('--disabled'));
  if (cls) return 'class ' + cls;
  if (e.hasAttribute('disabled')) return 'disabled attribute';
  if (control && control.disabled) return 'disabled ' + control.tagName.toLowerCase();
  return null;
}
"""

_SELECTED_JS = """
e => {
  const sw = e.matches('.ia_toggleSwitch') ? e : e.querySelector('.ia_toggleSwitch');
  if (sw) return sw.classList.contains('ia_toggleSwitch--selected') || sw.getAttribute('aria-checked') === 'true';
  const cb = e.matches('.ia_checkbox') ? e : e.querySelector('.ia_checkbox');
  if (cb) {
    if (cb.hasAttribute('aria-checked')) return cb.getAttribute('aria-checked') === 'true';
    const icon = cb.querySelector('.ia_checkbox__checkedIcon');
    return !!icon && (icon.checkVisibility ? icon.checkVisibility() : true);
  }
  const input = e.matches('input[type=checkbox]') ? e : e.querySelector('input[type=checkbox]');
  return input ? input.checked : null;
}
"""


async def _component(
    ctx: StepContext, session: BrowserSession, p: dict[str, Any], key: str = "locator"
) -> Component:
    return await resolve(ctx, session.page, p[key], session.timeout_s(p))


async def _require_enabled(component: Component, spec: dict[str, Any]) -> None:
    why = await component.locator.evaluate(_ENABLED_JS)
    if why:
        raise StepFailedError(
            f"component {describe(spec)} (path {component.path}) is disabled ({why})",
            {"locator": spec, **component.summary(), "disabled_by": why},
        )


async def _click(ctx: StepContext, session: BrowserSession, p: dict[str, Any]) -> dict[str, Any]:
    component = await _component(ctx, session, p)
    await _require_enabled(component, p["locator"])
    await _press(component, session, p)
    return component.summary()


async def _press(component: Component, session: BrowserSession, p: dict[str, Any]) -> None:
    target = component.locator
    # §3b: the attribute may sit on a wrapper; the inner <button> is what takes the click.
    if not await target.evaluate("e => e.matches('button')"):
        inner = target.locator("button")
        if await inner.count() == 1:
            target = inner
    await target.click(timeout=session.timeout_ms(p))


def _input_of(component: Component) -> Any:
    return component.locator.locator(
        "xpath=self::input | self::textarea | .//input | .//textarea"
    ).first


async def _fill(ctx: StepContext, session: BrowserSession, p: dict[str, Any]) -> dict[str, Any]:
    component = await _component(ctx, session, p)
    await _require_enabled(component, p["locator"])
    value = p["value"]
    field = _input_of(component)
    timeout = session.timeout_ms(p)
    secret = isinstance(value, Secret)
    if secret:
        await fill_secret(ctx, field, value, timeout_ms=timeout)
    else:
        text = format(value, "g") if isinstance(value, float) else str(value)
        if p.get("secret") or await field.evaluate("e => e.type === 'password'"):
            ctx.mark_secret(text)
        await field.fill(text, timeout=timeout)
    commit = p.get("commit", "blur")
    if commit == "enter":
        await field.press("Enter", timeout=timeout)
    elif commit == "blur":
        await field.evaluate("e => e.blur()")
    await ctx.sleep(0.05)
    shown = REDACTED if secret else await field.input_value()
    return {**component.summary(), "committed": commit != "none", "displayed": shown}


async def _selected(component: Component) -> bool | None:
    result = await component.locator.evaluate(_SELECTED_JS)
    return None if result is None else bool(result)


async def _toggle(ctx: StepContext, session: BrowserSession, p: dict[str, Any]) -> dict[str, Any]:
    component = await _component(ctx, session, p)
    before = await _selected(component)
    if before is None:
        raise StepFailedError(
            f"component {describe(p['locator'])} (type {component.type}) is not a toggle switch "
            "or checkbox (no .ia_toggleSwitch, .ia_checkbox or checkbox input inside)",
            {"locator": p["locator"], **component.summary()},
        )
    want = p.get("state")
    if want is not None and before == want:
        return {**component.summary(), "selected": before, "changed": False}
    await _require_enabled(component, p["locator"])
    switch = component.locator.locator(".ia_toggleSwitch")
    target = switch.first if await switch.count() else component.locator
    await target.click(timeout=session.timeout_ms(p))
    deadline = time.monotonic() + session.timeout_s(p)
    while (after := await _selected(component)) == before:
        if time.monotonic() >= deadline:
            raise StepTimeoutError(
                f"component {describe(p['locator'])} stayed {'on' if before else 'off'} after "
                "the click",
                {"locator": p["locator"], **component.summary()},
            )
        await ctx.sleep(0.05)
    return {**component.summary(), "selected": bool(after), "changed": True}


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


async def _select(ctx: StepContext, session: BrowserSession, p: dict[str, Any]) -> dict[str, Any]:
    if ("option" in p) == ("value" in p):
        raise StepFailedError(
            "perspective.select needs exactly one of option (the label shown) or value",
            code="validation_error",
        )
    component = await _component(ctx, session, p)
    await _require_enabled(component, p["locator"])
    page = session.page
    timeout = session.timeout_ms(p)
    opener = component.locator.locator(".ia_dropdown__valueContainer")
    await (opener.first if await opener.count() else component.locator).click(timeout=timeout)
    # Option lists may render in a portal outside the component, so look page-wide.
    options = page.locator(".ia_dropdown__option").locator("visible=true")
    deadline = time.monotonic() + session.timeout_s(p)
    labels: list[str] = []
    while True:
        labels = [_norm(t) for t in await options.all_inner_texts()]
        if labels or time.monotonic() >= deadline:
            break
        await ctx.sleep(0.05)
    if "option" in p:
        wanted = _norm(str(p["option"]))
        index = labels.index(wanted) if wanted in labels else -1
    else:
        values = [await options.nth(i).get_attribute("data-value") for i in range(len(labels))]
        index = values.index(str(p["value"])) if str(p["value"]) in values else -1
    if index < 0:
        raise StepFailedError(
            f"dropdown {describe(p['locator'])} has no option "
            f"{p.get('option', p.get('value'))!r}; options shown: {labels}",
            {"locator": p["locator"], "options": labels},
        )
    await options.nth(index).click(timeout=timeout)
    return {**component.summary(), "selected": labels[index]}


async def _navigate(ctx: StepContext, session: BrowserSession, p: dict[str, Any]) -> dict[str, Any]:
    state = page_state(session)
    state.require_open()
    page = session.page
    if await state.marker_intact(page) is False:
        raise StepFailedError(
            "the Perspective page was reloaded before this step (its marker is gone); "
            "a previous step navigated with a page load",
            {"url": page.url},
        )
    before = page.url
    component = await _component(ctx, session, p)
    await _require_enabled(component, p["locator"])
    await _press(component, session, p)
    timeout = session.timeout_s(p)
    deadline = time.monotonic() + timeout
    expect_page = p.get("page")
    while True:
        intact = await state.marker_intact(page)
        url = page.url
        if intact is False or (intact is None and url != before and CLIENT_PATH not in url):
            raise StepFailedError(
                f"clicking {describe(p['locator'])} reloaded the page ({before} → {url}); "
                "Perspective navigation must stay in-app (history.pushState), not load a new page",
                {"from": before, "to": url, **component.summary()},
            )
        arrived = url != before if expect_page is None else _page_of(url) == _page_path(expect_page)
        if intact and arrived:
            break
        if time.monotonic() >= deadline:
            raise StepTimeoutError(
                f"clicking {describe(p['locator'])} did not navigate within {timeout:g} s: "
                f"expected page {expect_page or '(any other)'}, still at {url}",
                {"from": before, "to": url, "expected": expect_page},
            )
        await ctx.sleep(0.05)
    result: dict[str, Any] = {
        "from": before,
        "to": page.url,
        "page": _page_of(page.url),
        "reloaded": False,
    }
    if p.get("wait_ready", True):
        ready = await wait_ready(
            ctx, page, timeout=max(0.1, deadline - time.monotonic()), stable=p.get("stable", 0.3)
        )
        result["components"] = ready.components
        if await state.marker_intact(page) is False:
            raise StepFailedError(
                f"the page reloaded after clicking {describe(p['locator'])} ({page.url})",
                {"from": before, "to": page.url},
            )
    return result


def _page_path(page: str) -> str:
    return "/" + page.strip("/")


def _page_of(url: str) -> str:
    """The page URL within the project: ``/data/perspective/client/demo/motors`` → ``/motors``."""
    path = url.split("?", 1)[0].split("#", 1)[0]
    if CLIENT_PATH not in path:
        return path
    rest = path.split(CLIENT_PATH, 1)[1]
    _, _, page = rest.partition("/")
    return "/" + page.strip("/")


COMPONENT = output(**COMPONENT_OUTPUT)

STEP_TYPES: list[StepType] = [
    step_type(
        "click",
        "Click a component (the inner button of a button component)",
        _click,
        params(["locator"], locator=LOCATOR, timeout=TIMEOUT),
        COMPONENT,
        description="Fails at once, naming why, when the component is disabled "
        "(ia_button--disabled, a disabled attribute or control).",
    ),
    step_type(
        "fill",
        "Type into a text field or numeric entry field and commit the value",
        _fill,
        params(
            ["locator", "value"],
            locator=LOCATOR,
            value={
                "type": ["string", "number"],
                "writeOnly": True,
                "description": "May be a secret passed whole, typed only into a page on the "
                "origin its credential is bound to",
            },
            commit={
                "enum": ["blur", "enter", "none"],
                "default": "blur",
                "description": "Perspective commits a field's value on blur or Enter",
            },
            secret={"type": "boolean", "default": False},
            timeout=TIMEOUT,
        ),
        output(**COMPONENT_OUTPUT, committed={"type": "boolean"}, displayed={"type": "string"}),
        description="`displayed` is the field's text after the commit: a numeric entry field "
        "that rejects the value (not a number, out of range) shows its previous value.",
    ),
    step_type(
        "toggle",
        "Switch a toggle switch or checkbox on, off, or over",
        _toggle,
        params(
            ["locator"],
            locator=LOCATOR,
            state={
                "type": ["boolean", "null"],
                "default": None,
                "description": "true/false for a target state; omit to flip",
            },
            timeout=TIMEOUT,
        ),
        output(**COMPONENT_OUTPUT, selected={"type": "boolean"}, changed={"type": "boolean"}),
    ),
    step_type(
        "select",
        "Choose a dropdown option by its label or value",
        _select,
        params(
            ["locator"],
            locator=LOCATOR,
            option={"type": "string", "maxLength": 2000, "description": "The label shown"},
            value={"type": ["string", "number", "boolean"]},
            timeout=TIMEOUT,
        ),
        output(**COMPONENT_OUTPUT, selected={"type": "string"}),
        description="Give exactly one of option or value.",
    ),
    step_type(
        "navigate",
        "Navigate in-app by clicking a menu item, link or button; fails if the page reloads",
        _navigate,
        params(
            ["locator"],
            locator=LOCATOR,
            page={
                "type": "string",
                "maxLength": 1000,
                "description": "The page URL expected afterwards, e.g. /motors",
            },
            wait_ready={"type": "boolean", "default": True},
            stable={"type": "number", "minimum": 0, "maximum": 60, "default": 0.3},
            timeout=TIMEOUT,
        ),
        output(
            **{"from": {"type": "string"}},
            to={"type": "string"},
            page={"type": "string"},
            reloaded={"type": "boolean"},
            components={"type": "integer"},
        ),
        description="The page opened by perspective.open carries a marker; a reload or a new page "
        "load loses it and the step fails, because a Perspective test must navigate as a user "
        "does (IGNITION.md §3a).",
    ),
]
