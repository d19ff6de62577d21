"""``gateway.login``: check the execution's credential against the gateway, up front.

An API token is proven with an authenticated read (``/data/api/v1/gateway-info``, which needs a
security level with Gateway Read); a username and password through the gateway's web login (the IdP
flow of ``GatewayClient.login``). The client, and with it the web session, is the one the
per-execution ``gateway`` resource keeps, so the following steps reuse it instead of logging in again.
"""

from __future__ import annotations

from typing import Any

from ignition_toolbox.core import StepContext, StepFailedError, StepType

from ..errors import GatewayUnreachableError
from .connect import connect, credential_for, output, parameters

METHODS = ("auto", "token", "session")


async def login(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    credential = await credential_for(ctx, params)
    if credential is None:
        raise StepFailedError(
            "gateway.login needs a credential: start the execution with credential_name, or name "
            "one in the step's credential parameter",
            code="validation_error",
        )
    has_token = bool(credential.api_token)
    has_password = bool(credential.username and credential.password)
    method = params.get("method", "auto")
    use_token = has_token if method == "auto" else method == "token"
    use_password = has_password if method == "auto" else method == "session"
    if method == "token" and not has_token:
        raise StepFailedError(
            f"Credential '{credential.name}' has no API token (name:secret) to log in with",
            code="validation_error",
        )
    if method == "session" and not has_password:
        raise StepFailedError(
            f"Credential '{credential.name}' has no username and password to log in with",
            code="validation_error",
        )
    if not (use_token or use_password):
        raise StepFailedError(
            f"Credential '{credential.name}' has neither an API token nor a username and "
            "password: nothing to log in to the gateway with",
            code="validation_error",
        )
    client = await connect(ctx, params)
    result: dict[str, Any] = {
        "url": client.base_url,
        "credential": credential.name,
        "method": "+".join(
            m for m, used in (("token", use_token), ("session", use_password)) if used
        ),
        "user": "",
        "token_name": None,
        "username": None,
        "roles": [],
        "security_levels": [],
        "gateway": {},
    }
    try:
        if use_token:
            details = await client.gateway_info()
            details = details if isinstance(details, dict) else {}
            result["token_name"] = client.token_name
            result["user"] = client.token_name
            result["gateway"] = {
                key: details[key]
                for key in ("name", "ignitionVersion", "edition", "deploymentMode")
                if key in details
            }
        if use_password:
            session = await client.login()
            payload = (session or {}).get("userPayload") or {}
            username = str(payload.get("username") or client.username or "")
            result["username"] = username
            result["user"] = username
            result["roles"] = [str(r) for r in payload.get("roles") or []]
            result["security_levels"] = [str(s) for s in payload.get("securityLevels") or []]
    except GatewayUnreachableError as exc:
        raise GatewayUnreachableError(
            f"Cannot log in: {exc.message}; is the gateway running and the URL right?",
            details=dict(exc.details),
        ) from exc
    shown = result["user"] or credential.name
    await ctx.log(f"Logged in to {client.base_url} as {shown} ({result['method']})")
    return result


STEP_TYPES = [
    StepType(
        name="gateway.login",
        summary="Log in to the gateway with the credential and keep the session for later steps",
        description="Checks the credential before anything else runs: an API token with an "
        "authenticated read of /data/api/v1/gateway-info (its security level needs Gateway Read), "
        "a username and password through the gateway's web login (session). method: auto uses "
        "whatever the credential has (both when it has both); token or session insists on one. Fails "
        "naming the cause: unknown or disabled token, token without the security level, wrong "
        "username or password, gateway unreachable or restarting.",
        handler=login,
        parameters=parameters(
            {
                "method": {
                    "enum": list(METHODS),
                    "default": "auto",
                    "description": "What to check: the credential's API token (token), its "
                    "username and password through the web login (session), or (auto) "
                    "whatever it has",
                }
            }
        ),
        output=output(
            {
                "url": {"type": "string"},
                "credential": {"type": "string"},
                "method": {"enum": ["token", "session", "token+session"]},
                "user": {"type": "string", "description": "Who logged in: username or token name"},
                "token_name": {"type": ["string", "null"]},
                "username": {"type": ["string", "null"]},
                "roles": {"type": "array", "items": {"type": "string"}},
                "security_levels": {"type": "array", "items": {"type": "string"}},
                "gateway": {
                    "type": "object",
                    "description": "What gateway-info reports (token logins): name, version, "
                    "edition",
                },
            }
        ),
        resources=("gateway",),
    ),
]
