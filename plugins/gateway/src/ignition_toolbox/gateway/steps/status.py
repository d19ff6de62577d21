"""Liveness, info, readiness and restart steps."""

from __future__ import annotations

from typing import Any

from ignition_toolbox.core import StepContext, StepType

from ..errors import GatewayError
from ..readiness import wait_for_ready, wait_for_restart
from ..versions import short_version, version_at_least
from .connect import INTERVAL, TIMEOUT, connect, output, parameters

READY_OUTPUT = {
    "state": {"type": "string"},
    "waited_seconds": {"type": "number"},
    "attempts": {"type": "integer"},
    "states_seen": {"type": "array", "items": {"type": "string"}},
}


async def ping(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    client = await connect(ctx, params)
    body = await client.status_ping(timeout=params.get("timeout"))
    state = str(body.get("state", "UNKNOWN"))
    if params.get("require_running", True) and state != "RUNNING":
        raise GatewayError(
            f"Gateway {client.base_url} is {state}, not RUNNING", details={"state": state}
        )
    return {"url": client.base_url, "state": state, "details": str(body.get("details", ""))}


async def info(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    """gwinfo always (no token needed); the 8.3 ``gateway-info`` too when a token is available."""
    client = await connect(ctx, params)
    gw = await client.gwinfo()
    version = gw.get("Version", "")
    result: dict[str, Any] = {
        "url": client.base_url,
        "name": gw.get("PlatformName", ""),
        "version": short_version(version),
        "full_version": version,
        "edition": gw.get("PlatformEdition", ""),
        "state": gw.get("ContextStatus", ""),
        "redundancy": gw.get("RedundancyStatus", ""),
        "flavour": "8.3" if version_at_least(version, "8.3") else "8.1",
        "gwinfo": gw,
        "gateway_info": None,
    }
    use_api = params.get("api", "auto")
    if use_api == "never" or (
        use_api == "auto" and (not client.api_token or result["flavour"] != "8.3")
    ):
        return result
    details = await client.gateway_info()
    result["gateway_info"] = details
    result["full_version"] = details.get("ignitionVersion", version)
    result["name"] = details.get("name", result["name"])
    result["edition"] = details.get("edition", result["edition"])
    return result


async def wait_ready(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    client = await connect(ctx, params)
    result = await wait_for_ready(
        client,
        sleep=ctx.sleep,
        timeout=params.get("timeout", 300),
        interval=params.get("interval", 2),
    )
    return {k: result[k] for k in READY_OUTPUT}


async def restart(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    client = await connect(ctx, params)
    pending = await client.pending_restart_tasks()
    await client.restart()
    await ctx.log(f"Restart requested on {client.base_url} ({len(pending)} pending task(s))")
    out: dict[str, Any] = {
        "restarted": True,
        "pending_tasks": len(pending),
        "waited": False,
        "state": "RESTARTING",
        "waited_seconds": 0.0,
    }
    if not params.get("wait", True):
        return out
    result = await wait_for_restart(
        client,
        sleep=ctx.sleep,
        timeout=params.get("timeout", 300),
        interval=params.get("interval", 2),
        grace=params.get("grace", 10),
    )
    out.update(waited=True, state=result["state"], waited_seconds=result["waited_seconds"])
    return out


STEP_TYPES = [
    StepType(
        name="gateway.ping",
        summary="Check the gateway answers /StatusPing (no credential needed)",
        handler=ping,
        parameters=parameters(
            {
                "timeout": {**TIMEOUT, "description": "Seconds to wait for the answer"},
                "require_running": {
                    "type": "boolean",
                    "default": True,
                    "description": "Fail unless the state is RUNNING",
                },
            }
        ),
        output=output(
            {"url": {"type": "string"}, "state": {"type": "string"}, "details": {"type": "string"}}
        ),
        resources=("gateway",),
    ),
    StepType(
        name="gateway.info",
        summary="Read the gateway's name, version and edition",
        description="Uses /system/gwinfo (no token); adds /data/api/v1/gateway-info on 8.3 when the "
        "credential has an API token (api: auto), always (always) or never (never).",
        handler=info,
        parameters=parameters({"api": {"enum": ["auto", "always", "never"], "default": "auto"}}),
        output=output(
            {
                "url": {"type": "string"},
                "name": {"type": "string"},
                "version": {"type": "string"},
                "full_version": {"type": "string"},
                "edition": {"type": "string"},
                "state": {"type": "string"},
                "redundancy": {"type": "string"},
                "flavour": {"enum": ["8.1", "8.3"]},
                "gwinfo": {"type": "object"},
                "gateway_info": {"type": ["object", "null"]},
            }
        ),
        resources=("gateway",),
    ),
    StepType(
        name="gateway.wait_for_ready",
        summary="Wait until the gateway is RUNNING and its REST API answers",
        handler=wait_ready,
        parameters=parameters({"timeout": {**TIMEOUT, "default": 300}, "interval": INTERVAL}),
        output=output(READY_OUTPUT),
        resources=("gateway",),
    ),
    StepType(
        name="gateway.restart",
        summary="Restart the gateway and (by default) wait until it is ready again",
        handler=restart,
        parameters=parameters(
            {
                "wait": {"type": "boolean", "default": True},
                "timeout": {**TIMEOUT, "default": 300},
                "interval": INTERVAL,
                "grace": {
                    "type": "number",
                    "minimum": 0,
                    "default": 10,
                    "description": "Seconds to watch for the gateway going down first",
                },
            }
        ),
        output=output(
            {
                "restarted": {"type": "boolean"},
                "pending_tasks": {"type": "integer"},
                "waited": {"type": "boolean"},
                "state": {"type": "string"},
                "waited_seconds": {"type": "number"},
            }
        ),
        resources=("gateway",),
    ),
]
