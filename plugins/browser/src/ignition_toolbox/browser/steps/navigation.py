"""Going places: ``browser.navigate``, ``browser.wait_for_url``, ``browser.set_viewport``."""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from ignition_toolbox.core import StepContext, StepFailedError, StepTimeoutError, StepType

from ..session import BrowserSession
from .schema import TIMEOUT, WAIT_UNTIL, output, params, step_type

ALLOWED_SCHEMES = ("http", "https", "about")


def _checked_url(url: str) -> str:
    """Only web pages: ``file:`` and friends would let a playbook screenshot the server's disk."""
    scheme = urllib.parse.urlsplit(url).scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise StepFailedError(
            f"URL scheme {scheme or '(none)'!r} is not allowed; use one of "
            f"{', '.join(ALLOWED_SCHEMES)} (and give an absolute URL)",
            {"url": url},
            code="validation_error",
        )
    return url


async def _navigate(ctx: StepContext, session: BrowserSession, p: dict[str, Any]) -> dict[str, Any]:
    response = await session.page.goto(
        _checked_url(p["url"]),
        wait_until=p.get("wait_until", "load"),
        timeout=session.timeout_ms(p),
    )
    page = session.page
    status = response.status if response is not None else None
    if status is not None and status >= 400 and not p.get("allow_error_status", False):
        raise StepFailedError(
            f"navigating to {p['url']} returned HTTP {status}; expected a status below 400 "
            "(set allow_error_status to accept it)",
            {"url": page.url, "status": status},
            code="validation_error",
        )
    return {"url": page.url, "status": status, "title": await page.title()}


async def _wait_for_url(
    ctx: StepContext, session: BrowserSession, p: dict[str, Any]
) -> dict[str, Any]:
    match = p.get("match", "glob")
    target: Any = p["url"]
    if match == "regex":
        target = re.compile(p["url"])
    elif match == "exact":
        wanted = p["url"]
        target = lambda url: url == wanted  # noqa: E731
    page = session.page
    try:
        await page.wait_for_url(
            target, wait_until=p.get("wait_until", "load"), timeout=session.timeout_ms(p)
        )
    except PlaywrightTimeoutError:
        raise StepTimeoutError(
            f"the URL did not match {p['url']!r} ({match}) within {session.timeout_s(p):g} s; "
            f"found {page.url!r}",
            {"expected": p["url"], "found": page.url, "timeout": session.timeout_s(p)},
        ) from None
    return {"url": page.url}


async def _set_viewport(
    ctx: StepContext, session: BrowserSession, p: dict[str, Any]
) -> dict[str, Any]:
    await session.page.set_viewport_size({"width": p["width"], "height": p["height"]})
    return {"width": p["width"], "height": p["height"]}


STEP_TYPES: list[StepType] = [
    step_type(
        "navigate",
        "Open a URL in the current page",
        _navigate,
        params(
            ["url"],
            url={"type": "string", "minLength": 1, "maxLength": 8192},
            wait_until=WAIT_UNTIL,
            allow_error_status={"type": "boolean", "default": False},
            timeout=TIMEOUT,
        ),
        output(
            url={"type": "string"},
            status={"type": ["integer", "null"]},
            title={"type": "string"},
        ),
        description="http, https and about: URLs only. An HTTP status of 400 or more fails the "
        "step unless allow_error_status is true.",
    ),
    step_type(
        "wait_for_url",
        "Wait until the page's URL matches (glob, regex or exact)",
        _wait_for_url,
        params(
            ["url"],
            url={"type": "string", "minLength": 1, "maxLength": 8192},
            match={"enum": ["glob", "regex", "exact"], "default": "glob"},
            wait_until=WAIT_UNTIL,
            timeout=TIMEOUT,
        ),
        output(url={"type": "string"}),
        description="glob uses Playwright's URL globs: '**/dashboard' matches any origin.",
    ),
    step_type(
        "set_viewport",
        "Resize the page's viewport",
        _set_viewport,
        params(
            ["width", "height"],
            width={"type": "integer", "minimum": 100, "maximum": 7680},
            height={"type": "integer", "minimum": 100, "maximum": 4320},
        ),
        output(width={"type": "integer"}, height={"type": "integer"}),
    ),
]
