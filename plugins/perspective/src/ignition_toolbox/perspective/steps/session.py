"""Opening a Perspective session, logging in, and waiting until it is ready."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from ignition_toolbox.browser import BrowserSession
from ignition_toolbox.core import StepContext, StepFailedError, StepType

from ..locators import find_once
from ..login import log_in
from ..pagestate import CLIENT_PATH, page_state
from ..readiness import LOGIN_REQUIRED, wait_ready
from .schema import LOCATOR, TIMEOUT, output, params, step_type

STABLE = {
    "type": "number",
    "minimum": 0,
    "maximum": 60,
    "default": 0.5,
    "description": "Seconds the set of component paths must stay unchanged",
}


def client_url(ctx: StepContext, p: dict[str, Any]) -> str:
    if p.get("url"):
        return str(p["url"])
    base = p.get("gateway_url") or ctx.gateway_url
    if not base:
        raise StepFailedError(
            "perspective.open needs url, or project with a gateway_url "
            "(a parameter or the execution's gateway)",
            code="validation_error",
        )
    if not p.get("project"):
        raise StepFailedError("perspective.open needs url or project", code="validation_error")
    page = str(p.get("page") or "").strip("/")
    url = f"{str(base).rstrip('/')}{CLIENT_PATH}{quote(str(p['project']))}"
    return url + (f"/{quote(page)}" if page else "")


async def _open(ctx: StepContext, session: BrowserSession, p: dict[str, Any]) -> dict[str, Any]:
    state = page_state(session)
    if state.marker is not None and not p.get("reopen", False):
        raise StepFailedError(
            "a Perspective page is already open in this execution; move within it with "
            "perspective.navigate (a second page load starts a new Perspective page), "
            "or set reopen: true",
            {"open_url": state.url},
            code="validation_error",
        )
    url = client_url(ctx, p)
    timeout = session.timeout_s(p)
    page = session.page
    state.watch(page)
    response = await page.goto(url, wait_until="domcontentloaded", timeout=timeout * 1000)
    state.opens += 1
    await state.plant_marker(page)
    result: dict[str, Any] = {"url": page.url, "status": response.status if response else None}
    if p.get("wait_ready", True):
        ready = await wait_ready(ctx, page, timeout=timeout, stable=p.get("stable", 0.5))
        result["state"] = ready.state
        result["components"] = ready.components
    return result


async def _login(ctx: StepContext, session: BrowserSession, p: dict[str, Any]) -> dict[str, Any]:
    credential = await ctx.credential(p.get("credential"))
    if not credential.username or not credential.password:
        raise StepFailedError(
            f"credential {credential.name!r} needs a username and a password",
            {"credential": credential.name},
            code="validation_error",
        )
    timeout = session.timeout_s(p)
    page = session.page
    state = page_state(session)
    password = credential.secret("password")
    assert password is not None  # checked above
    result = await log_in(ctx, page, credential.username, password, timeout=timeout)
    if not result["already_logged_in"]:
        # The login flow loaded the client page again: that new document is now "the" page.
        await state.plant_marker(page)
    if p.get("wait_ready", True):
        ready = await wait_ready(ctx, page, timeout=timeout, stable=p.get("stable", 0.5))
        if ready.state == LOGIN_REQUIRED:
            raise StepFailedError("the page still asks for a login after logging in")
        result["components"] = ready.components
    # O6 checks the app bar's div.username for the logged-in user once the page is back.
    shown = page.locator("div.username, div.user-info span")
    if await shown.count():
        result["user"] = (await shown.first.inner_text()).strip() or None
    if result["user"] and result["user"] != credential.username:
        raise StepFailedError(
            f"logged in, but the page shows user {result['user']!r}, not {credential.username!r}",
            {"shown": result["user"]},
        )
    return {**result, "username": credential.username}


async def _wait_ready(
    ctx: StepContext, session: BrowserSession, p: dict[str, Any]
) -> dict[str, Any]:
    page = session.page
    primary = p.get("primary")

    async def present() -> bool:
        component, _ = await find_once(page, primary)
        return component is not None

    ready = await wait_ready(
        ctx,
        page,
        timeout=session.timeout_s(p),
        stable=p.get("stable", 0.5),
        primary=present if primary else None,
    )
    if ready.state == LOGIN_REQUIRED and not p.get("allow_login", False):
        raise StepFailedError(
            "the page asks for a login (IdP form); add a perspective.login step, "
            "or set allow_login: true to accept this state",
            {"url": ready.url},
        )
    return ready.output()


READY_OUTPUT = output(
    state={"enum": ["ready", "login_required"]},
    url={"type": "string"},
    components={"type": "integer"},
    content_components={"type": "integer"},
    elapsed={"type": "number"},
)

STEP_TYPES: list[StepType] = [
    step_type(
        "open",
        "Open a Perspective project page (once; later moves stay in-app)",
        _open,
        params(
            [],
            url={
                "type": "string",
                "minLength": 1,
                "maxLength": 4000,
                "description": "Full client URL; or give project (and page)",
            },
            project={"type": "string", "minLength": 1, "maxLength": 200},
            page={"type": "string", "maxLength": 1000, "description": "Page URL, e.g. /motors"},
            gateway_url={
                "type": "string",
                "minLength": 1,
                "maxLength": 2000,
                "description": "Default: the execution's gateway",
            },
            wait_ready={"type": "boolean", "default": True},
            stable=STABLE,
            reopen={
                "type": "boolean",
                "default": False,
                "description": "Allow a second page load in this execution",
            },
            timeout=TIMEOUT,
        ),
        output(
            url={"type": "string"},
            status={"type": ["integer", "null"]},
            state={"enum": ["ready", "login_required"]},
            components={"type": "integer"},
        ),
        description="Builds {gateway}/data/perspective/client/<project>/<page>. A terminal state "
        "(project not found, trial expired, session closed) fails the step with its header text; "
        "a login form is reported as state login_required.",
    ),
    step_type(
        "login",
        "Log in through the Ignition IdP form with a credential from the vault",
        _login,
        params(
            [],
            credential={
                "type": "string",
                "minLength": 1,
                "maxLength": 200,
                "description": "Credential name; default: the execution's credential",
            },
            wait_ready={"type": "boolean", "default": True},
            stable=STABLE,
            timeout=TIMEOUT,
        ),
        output(
            user={"type": ["string", "null"]},
            username={"type": "string"},
            url={"type": "string"},
            already_logged_in={"type": "boolean"},
            components={"type": "integer"},
        ),
        description="Handles the interstitial, then username → CONTINUE → password → CONTINUE. "
        "A rejected password fails with the form's message; the password never reaches logs.",
    ),
    step_type(
        "wait_ready",
        "Wait until the Perspective page is ready (IGNITION.md §3d)",
        _wait_ready,
        params(
            [],
            primary={**LOCATOR, "description": "A component that must also be present"},
            stable=STABLE,
            allow_login={
                "type": "boolean",
                "default": False,
                "description": "Accept a login form as the outcome",
            },
            timeout=TIMEOUT,
        ),
        READY_OUTPUT,
        description="No spinner, no terminal state (fails with its header), content components "
        "under C whose paths stay unchanged for `stable` seconds, and the primary component.",
    ),
]
