"""Typing a secret into a page only where its binding allows (SR-21).

The element is pinned first (an element handle belongs to one document), its document's origin is
read from the page, and only then is the secret revealed for that origin. Should the frame navigate
between the check and the typing, the handle no longer matches an element and nothing is typed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ignition_toolbox.core import Secret, SecretUseError, StepContext

from .session import RESOURCE_NAME

if TYPE_CHECKING:
    from playwright.async_api import ElementHandle, Locator

# ``location.origin`` is what the browser itself compares: userinfo is gone, the host is
# canonical, and a sandboxed or opaque document reads "null" (which no binding allows).
_ORIGIN_OF = "e => e.ownerDocument.location.origin"


async def _bound_element(
    ctx: StepContext, locator: Locator, secret: Any, timeout_ms: float
) -> tuple[ElementHandle, str]:
    session = await ctx.resource(RESOURCE_NAME)
    label = secret.label if isinstance(secret, Secret) else "a secret"
    if session.scripts_ran:
        raise SecretUseError(
            f"{label} is not typed into this browser: browser.evaluate has run the playbook's "
            "JavaScript in it, which could read or intercept what is typed",
            {"secret": label},
        )
    session.secret_typed = label
    handle = await locator.element_handle(timeout=timeout_ms)
    try:
        origin = str(await handle.evaluate(_ORIGIN_OF))
        text: str = ctx.reveal(secret, origin, "typed")
    except BaseException:
        await handle.dispose()
        raise
    return handle, text


async def fill_secret(ctx: StepContext, locator: Locator, secret: Any, *, timeout_ms: float) -> None:
    """Fill ``secret`` into the element, if the element's document is on an allowed origin."""
    handle, text = await _bound_element(ctx, locator, secret, timeout_ms)
    try:
        await handle.fill(text, timeout=timeout_ms)
    finally:
        await handle.dispose()


async def type_secret(
    ctx: StepContext, locator: Locator, secret: Any, *, delay_ms: float, timeout_ms: float
) -> None:
    """Type ``secret`` key by key into the element, if its document is on an allowed origin."""
    handle, text = await _bound_element(ctx, locator, secret, timeout_ms)
    try:
        await handle.type(text, delay=delay_ms, timeout=timeout_ms)
    finally:
        await handle.dispose()


__all__ = ["fill_secret", "type_secret"]
