"""Reading the page into step outputs: ``browser.get_text``, ``get_attribute``, ``evaluate``.

Outputs feed later steps through ``{{ step.<id>.<key> }}``.
"""

from __future__ import annotations

import json
from typing import Any

from ignition_toolbox.core import SecretUseError, StepContext, StepFailedError, StepType

from ..session import BrowserSession
from .schema import SELECTOR, TIMEOUT, output, params, step_type

MAX_RESULT_BYTES = 256 * 1024


async def _get_text(ctx: StepContext, session: BrowserSession, p: dict[str, Any]) -> dict[str, Any]:
    locator = session.page.locator(p["selector"])
    source = p.get("source", "inner_text")
    timeout = session.timeout_ms(p)
    if source == "value":
        text = await locator.input_value(timeout=timeout)
    elif source == "text_content":
        text = await locator.text_content(timeout=timeout) or ""
    else:
        text = await locator.inner_text(timeout=timeout)
    return {"selector": p["selector"], "text": text}


async def _get_attribute(
    ctx: StepContext, session: BrowserSession, p: dict[str, Any]
) -> dict[str, Any]:
    value = await session.page.locator(p["selector"]).get_attribute(
        p["attribute"], timeout=session.timeout_ms(p)
    )
    return {
        "selector": p["selector"],
        "attribute": p["attribute"],
        "value": value,
        "present": value is not None,
    }


async def _evaluate(ctx: StepContext, session: BrowserSession, p: dict[str, Any]) -> dict[str, Any]:
    if session.secret_typed is not None:
        raise SecretUseError(
            f"browser.evaluate is refused: {session.secret_typed} was typed in this browser, and "
            "the playbook's JavaScript could read it",
            {"secret": session.secret_typed},
        )
    session.scripts_ran = True
    if p.get("selector"):
        result = await session.page.locator(p["selector"]).evaluate(
            p["expression"], p.get("arg"), timeout=session.timeout_ms(p)
        )
    else:
        result = await session.page.evaluate(p["expression"], p.get("arg"))
    try:
        encoded = json.dumps(result)
    except (TypeError, ValueError):
        raise StepFailedError(
            "the expression returned a value that is not JSON", code="validation_error"
        ) from None
    if len(encoded) > MAX_RESULT_BYTES:
        raise StepFailedError(
            f"the result is {len(encoded)} bytes of JSON; at most {MAX_RESULT_BYTES} are kept",
            {"size": len(encoded)},
            code="validation_error",
        )
    return {"result": result}


STEP_TYPES: list[StepType] = [
    step_type(
        "get_text",
        "Read an element's text (or an input's value) into the step output",
        _get_text,
        params(
            ["selector"],
            selector=SELECTOR,
            source={"enum": ["inner_text", "text_content", "value"], "default": "inner_text"},
            timeout=TIMEOUT,
        ),
        output(selector={"type": "string"}, text={"type": "string"}),
    ),
    step_type(
        "get_attribute",
        "Read an element's attribute into the step output",
        _get_attribute,
        params(
            ["selector", "attribute"],
            selector=SELECTOR,
            attribute={"type": "string", "minLength": 1, "maxLength": 200},
            timeout=TIMEOUT,
        ),
        output(
            selector={"type": "string"},
            attribute={"type": "string"},
            value={"type": ["string", "null"]},
            present={"type": "boolean"},
        ),
    ),
    step_type(
        "evaluate",
        "Run a JavaScript expression or function in the page and return its JSON result",
        _evaluate,
        params(
            ["expression"],
            expression={"type": "string", "minLength": 1, "maxLength": 100000},
            arg={"description": "A JSON value passed to a function expression"},
            selector={**SELECTOR, "description": "Evaluate with this element as the argument"},
            timeout=TIMEOUT,
        ),
        output(result={"description": "The JSON value the expression returned"}),
        description="The code runs inside the page's sandbox, never on the server. "
        "'document.title' or '(el, arg) => el.value' (with selector).",
    ),
]
