"""Trial state and reset. Reset needs a web session (IdP login), not an API token (C1, live)."""

from __future__ import annotations

from typing import Any

from ignition_toolbox.core import StepContext, StepType

from ..errors import GatewayAuthError
from .connect import connect, output, parameters

TRIAL = {
    "license_mode": {"type": "string"},
    "trial_state": {"type": "string"},
    "seconds_left": {"type": "integer"},
    "expired": {"type": "boolean"},
}


def _trial(body: dict[str, Any]) -> dict[str, Any]:
    return {
        "license_mode": str(body.get("licenseMode", "")),
        "trial_state": str(body.get("trialState", "")),
        "seconds_left": int(body.get("trialSecondsLeft") or 0),
        "expired": bool(body.get("expired")),
    }


async def trial_status(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    client = await connect(ctx, params)
    return _trial(await client.trial())


async def reset_trial(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    client = await connect(ctx, params)
    before = _trial(await client.trial())
    if not before["expired"] and params.get("only_if_expired", True):
        await ctx.log(f"Trial not expired ({before['seconds_left']} s left); nothing to reset")
        return {**before, "reset": False}
    try:
        after = _trial(await client.reset_trial())
    except GatewayAuthError as exc:
        if exc.status == 403 and not before["expired"]:
            raise GatewayAuthError(
                "The gateway resets a trial only once it has expired "
                f"({before['seconds_left']} s left)",
                status=403,
                code="validation_error",
            ) from exc
        raise
    await ctx.log("Trial reset")
    return {**after, "reset": True}


STEP_TYPES = [
    StepType(
        name="gateway.trial_status",
        summary="Read the trial license state (no credential needed)",
        handler=trial_status,
        parameters=parameters(),
        output=output(TRIAL),
        resources=("gateway",),
    ),
    StepType(
        name="gateway.reset_trial",
        summary="Reset an expired trial through a web login (username and password)",
        handler=reset_trial,
        parameters=parameters({"only_if_expired": {"type": "boolean", "default": True}}),
        output=output({**TRIAL, "reset": {"type": "boolean"}}),
        resources=("gateway",),
    ),
]
