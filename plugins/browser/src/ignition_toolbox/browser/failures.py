"""How browser steps fail: Playwright errors become typed toolbox errors, with evidence kept.

The executor does not call plugins when a step fails, so every browser handler runs inside
``browser_step``, which catches the failure, keeps a masked screenshot and the trace at that
moment as artifacts, and re-raises. A step cut off by its playbook ``timeout`` is a failure too
(evidence kept); a cancelled execution is not (nothing is kept, teardown is not delayed).
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from ignition_toolbox.core import StepFailedError, StepTimeoutError, StepType, ToolboxError

from .session import RESOURCE_NAME, BrowserSession

if TYPE_CHECKING:
    from ignition_toolbox.core import StepContext

BrowserHandler = Callable[
    ["StepContext", BrowserSession, dict[str, Any]], Awaitable[dict[str, Any]]
]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _first_line(exc: BaseException) -> str:
    text = _ANSI.sub("", str(exc)).strip()
    line = text.splitlines()[0] if text else type(exc).__name__
    return line.removeprefix("Error: ").strip()


def translate(exc: PlaywrightError, params: dict[str, Any], timeout_s: float) -> ToolboxError:
    """A Playwright error as an operator reads it: what was waited for, for how long."""
    selector = params.get("selector")
    details: dict[str, Any] = {"selector": selector} if selector else {}
    if isinstance(exc, PlaywrightTimeoutError):
        details["timeout"] = timeout_s
        what = f"selector {selector!r}" if selector else "the page"
        return StepTimeoutError(f"timed out after {timeout_s:g} s waiting for {what}", details)
    message = _first_line(exc)
    if "strict mode violation" in message:
        found = re.search(r"resolved to (\d+) elements", message)
        count = found.group(1) if found else "several"
        return StepFailedError(
            f"selector {selector!r} matches {count} elements; make it match one "
            "(e.g. add '>> nth=0')",
            {**details, "found": count},
            code="validation_error",
        )
    return StepFailedError(message, details)


def _stopped_by_operator(ctx: StepContext) -> bool:
    """Cancel or skip (not a playbook ``timeout``)."""
    return ctx.stop_reason is not None


def browser_step(handler: BrowserHandler) -> Callable[[StepContext, dict[str, Any]], Any]:
    """Give a handler the session, translate its errors and keep evidence when it fails."""

    @functools.wraps(handler)
    async def run(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
        session: BrowserSession = await ctx.resource(RESOURCE_NAME)
        try:
            output = await handler(ctx, session, params)
        except ToolboxError:
            await session.keep_failure_evidence(ctx)
            raise
        except PlaywrightError as exc:
            error = translate(exc, params, session.timeout_s(params))
            await session.keep_failure_evidence(ctx)
            raise error from None
        except asyncio.CancelledError:
            if not _stopped_by_operator(ctx):
                await session.keep_failure_evidence(ctx)
            raise
        await session.follow_current_page()
        return output

    return run


__all__ = ["browser_step", "translate"]


def browser_step_type(
    name: str,
    summary: str,
    handler: BrowserHandler,
    parameters: dict[str, Any],
    output: dict[str, Any],
    description: str = "",
    secret_parameters: tuple[str, ...] = (),
) -> StepType:
    """A step type on the browser resource whose failures keep a screenshot and a trace.

    The browser plugin declares its own steps with it, and so can any plugin built on the browser
    (the Perspective plugin does).
    """
    return StepType(
        name=name,
        summary=summary,
        description=description,
        handler=browser_step(handler),
        parameters=parameters,
        output=output,
        resources=(RESOURCE_NAME,),
        secret_parameters=secret_parameters,
    )
