"""Module steps: read a ``.modl``, upload, accept, install, uninstall, list and wait.

The gateway-side flow is IGNITION.md §2b: upload raw bytes → accept certificate and EULA (409 means
already accepted, which is fine) → install (lands INACTIVE or ``shouldUpgrade`` until a restart).
Before uploading, the module's own ``module.xml`` is checked against the gateway so the failure says
"module com.x requires Ignition 8.3.2, gateway runs 8.3.0" rather than "400".
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from ignition_toolbox.core import StepContext, StepFailedError, StepTimeoutError, StepType

from ..client import GatewayClient, Stopwatch
from ..errors import GatewayError
from ..modl import ModlError, ModuleMetadata, read_modl
from ..readiness import poll_pause
from ..versions import parse_version, short_version, version_at_least
from .connect import INTERVAL, TIMEOUT, connect, local_file, output, parameters

MODULE_ID = {"type": "string", "minLength": 1, "description": "Module id, e.g. com.example.mod"}
MODULE_ITEM = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "version": {"type": "string"},
        "state": {"type": "string"},
    },
}
METADATA_OUTPUT = {
    "id": {"type": "string"},
    "name": {"type": "string"},
    "version": {"type": "string"},
    "description": {"type": "string"},
    "required_ignition_version": {"type": "string"},
    "required_framework_version": {"type": "string"},
    "free_module": {"type": "boolean"},
    "license": {"type": "string"},
    "documentation": {"type": "string"},
    "hooks": {"type": "array"},
    "depends": {"type": "array"},
    "jars": {"type": "array"},
    "signed": {"type": "boolean"},
    "has_eula": {"type": "boolean"},
}


async def load_module(ctx: StepContext, path: str) -> tuple[ModuleMetadata, bytes, str]:
    file = local_file(ctx, path, "Module")
    try:
        data, meta = await asyncio.to_thread(_read_module, file)
    except ModlError as exc:
        raise StepFailedError(
            f"{file.name} is not a usable Ignition module: {exc}",
            {"file": file.name},
            code="validation_error",
        ) from exc
    return meta, data, file.name


def _read_module(file: Path) -> tuple[bytes, ModuleMetadata]:
    """Read and inspect in one worker-thread hop: under load each hop waits for a busy loop."""
    data = file.read_bytes()
    return data, read_modl(data)


async def module_info(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    meta, _, _ = await load_module(ctx, params["path"])
    return meta.to_dict()


async def _check_compatible(client: GatewayClient, meta: ModuleMetadata) -> None:
    """Refuse early, in words, what the gateway would refuse with a bare 400."""
    info = await client.gateway_info()
    have = str(info.get("ignitionVersion", ""))
    need = meta.required_ignition_version
    if need and have and not version_at_least(have, need):
        raise StepFailedError(
            f"Module {meta.id} {meta.version} requires Ignition {need}, gateway runs "
            f"{short_version(have)}",
            {"module_id": meta.id, "required": need, "gateway_version": short_version(have)},
            code="validation_error",
        )
    if not meta.signed and info.get("allowUnsignedModules") is False:
        raise StepFailedError(
            f"Module {meta.id} is unsigned and the gateway does not allow unsigned modules "
            "(enable Allow Unsigned Modules, or sign the module)",
            {"module_id": meta.id},
            code="validation_error",
        )


async def _upload(
    ctx: StepContext, client: GatewayClient, params: dict[str, Any]
) -> tuple[ModuleMetadata, dict[str, Any]]:
    meta, data, file_name = await load_module(ctx, params["path"])
    if params.get("check_compatibility", True):
        await _check_compatible(client, meta)
    try:
        staged = await client.upload_module(data, file_name)
    except GatewayError as exc:
        raise GatewayError(
            f"Upload of {file_name} ({meta.id} {meta.version}) failed: {exc.message}",
            status=exc.status,
            details=exc.details,
            code=exc.code,
        ) from exc
    module_id = str(staged.get("moduleId") or meta.id)
    await ctx.log(f"Uploaded {file_name}: {module_id} {meta.version}")
    state = {
        "module_id": module_id,
        "name": meta.name,
        "version": meta.version,
        "contains_cert": bool(staged.get("containsCert")),
        "cert_accepted": bool(staged.get("certAccepted", not staged.get("containsCert"))),
        "contains_eula": bool(staged.get("containsEula")),
        "license_accepted": bool(staged.get("licenseAccepted", not staged.get("containsEula"))),
    }
    await _accept(ctx, client, state, params)
    return meta, state


async def _accept(
    ctx: StepContext, client: GatewayClient, state: dict[str, Any], params: dict[str, Any]
) -> None:
    module_id = state["module_id"]
    if params.get("accept_certificate") and not state["cert_accepted"]:
        await client.accept_certificate(module_id)
        state["cert_accepted"] = True
        await ctx.log(f"Accepted the certificate of {module_id}")
    if params.get("accept_eula") and not state["license_accepted"]:
        await client.accept_eula(module_id)
        state["license_accepted"] = True
        await ctx.log(f"Accepted the EULA of {module_id}")


async def upload_module(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    client = await connect(ctx, params)
    _, state = await _upload(ctx, client, params)
    return state


async def install_module(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    client = await connect(ctx, params)
    if params.get("path"):
        _, state = await _upload(ctx, client, params)
    else:
        module_id = params["module_id"]
        state = {
            "module_id": module_id,
            "name": "",
            "version": "",
            "contains_cert": False,
            "cert_accepted": False,
            "contains_eula": False,
            "license_accepted": False,
        }
        if params.get("accept_certificate"):
            state["cert_accepted"] = True
            await client.accept_certificate(module_id)
        if params.get("accept_eula"):
            state["license_accepted"] = True
            await client.accept_eula(module_id)
    module_id = state["module_id"]
    if state["contains_cert"] and not state["cert_accepted"]:
        raise StepFailedError(
            f"Module {module_id} is signed with a certificate that must be accepted first: set "
            "accept_certificate: true",
            {"module_id": module_id},
            code="validation_error",
        )
    if state["contains_eula"] and not state["license_accepted"]:
        raise StepFailedError(
            f"Module {module_id} has a license (EULA) that must be accepted first: set "
            "accept_eula: true",
            {"module_id": module_id},
            code="validation_error",
        )
    before = {m.get("id"): m for m in await client.modules()}
    try:
        result = await client.install_module(module_id)
    except GatewayError as exc:
        raise GatewayError(
            f"Gateway refused to install {module_id}: {exc.gateway_message or exc.message} (was it "
            "uploaded, and its certificate and EULA accepted?)",
            status=exc.status,
            details=exc.details,
            code=exc.code,
        ) from exc
    if isinstance(result, dict) and result.get("success") is False:
        raise GatewayError(f"Gateway refused to install {module_id}", details={"result": result})
    action = "upgrade" if module_id in before else "install"
    await ctx.log(f"{action.title()} of {module_id} scheduled; it takes effect at the next restart")
    return {
        **state,
        "action": action,
        "restart_required": True,
        "previous_version": str(before.get(module_id, {}).get("version", "")),
    }


async def uninstall_module(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    client = await connect(ctx, params)
    module_id = params["module_id"]
    installed = {m.get("id") for m in await client.modules()}
    if module_id not in installed:
        if params.get("missing_ok", False):
            return {"module_id": module_id, "uninstalled": False, "restart_required": False}
        raise StepFailedError(
            f"Module {module_id} is not installed on {client.base_url}",
            {"module_id": module_id},
            code="validation_error",
        )
    verdict = await client.uninstall_module(module_id)
    failed = (verdict.get("failedUninstalls") or {}).get("uninstall") or []
    if verdict.get("success") is False or module_id in failed:
        raise GatewayError(
            f"Gateway refused to uninstall {module_id} (HTTP 200 with success=false)",
            details={"failed": failed},
        )
    return {"module_id": module_id, "uninstalled": True, "restart_required": True}


async def list_modules(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    client = await connect(ctx, params)
    modules = await client.modules()
    quarantined = await client.quarantined() if params.get("include_quarantined", True) else []
    return {
        "modules": modules,
        "quarantined": quarantined,
        "count": len(modules),
        "ids": [m.get("id") for m in modules],
    }


async def wait_for_module(ctx: StepContext, params: dict[str, Any]) -> dict[str, Any]:
    """Poll the module list until the module has the wanted state/version (or is gone)."""
    client = await connect(ctx, params)
    module_id = params["module_id"]
    want_state = params.get("state", "ACTIVE")
    want_version = params.get("version")
    absent = params.get("absent", False)
    timeout = params.get("timeout", 300)
    interval = params.get("interval", 2)
    watch = Stopwatch()
    last: dict[str, Any] | None = None
    while True:
        try:
            modules = await watch.timed(client.modules())
            last = next((m for m in modules if m.get("id") == module_id), None)
            if absent and last is None:
                return {
                    "module_id": module_id,
                    "present": False,
                    "state": "",
                    "version": "",
                    "waited_seconds": round(watch.elapsed, 3),
                }
            if not absent and last is not None and _matches(last, want_state, want_version):
                return {
                    "module_id": module_id,
                    "present": True,
                    "state": str(last.get("state")),
                    "version": str(last.get("version")),
                    "waited_seconds": round(watch.elapsed, 3),
                }
            # Quarantine ends a wait early, so it is looked at only while the wait goes on.
            if not absent:
                quarantined = await watch.timed(client.quarantined())
                bad = next((m for m in quarantined if m.get("id") == module_id), None)
                if bad:
                    raise GatewayError(
                        f"Module {module_id} {bad.get('version', '')} is quarantined: "
                        f"{bad.get('reason', 'no reason given')}",
                        details={"module": bad},
                    )
        except GatewayError as exc:
            if exc.reason not in ("restarting", "unreachable"):
                raise
        if watch.elapsed >= timeout:
            seen = f"{last.get('state')} {last.get('version')}" if last else "not installed"
            wanted = (
                "removed" if absent else f"{want_state}{' ' + want_version if want_version else ''}"
            )
            raise StepTimeoutError(
                f"Module {module_id} did not become {wanted} within {timeout:g} s (now: {seen})",
                {"module_id": module_id, "last": last},
            )
        await watch.pause(ctx.sleep, poll_pause(watch.elapsed, interval))


def _matches(item: dict[str, Any], state: str | None, version: str | None) -> bool:
    if state and str(item.get("state", "")).upper() != state.upper():
        return False
    if version and parse_version(str(item.get("version"))) != parse_version(version):
        return False
    return not (version and item.get("shouldUpgrade"))


STAGED = {
    "module_id": {"type": "string"},
    "name": {"type": "string"},
    "version": {"type": "string"},
    "contains_cert": {"type": "boolean"},
    "cert_accepted": {"type": "boolean"},
    "contains_eula": {"type": "boolean"},
    "license_accepted": {"type": "boolean"},
}
ACCEPT = {
    "accept_certificate": {
        "type": "boolean",
        "default": False,
        "description": "Accept the module's signing certificate",
    },
    "accept_eula": {
        "type": "boolean",
        "default": False,
        "description": "Accept the module's license (EULA)",
    },
}
PATH = {"type": "string", "minLength": 1, "description": "Path of the .modl file"}

STEP_TYPES = [
    StepType(
        name="gateway.module_info",
        summary="Read a local .modl file's module.xml (never extracted)",
        handler=module_info,
        parameters=parameters({"path": PATH}, ("path",), connection=False),
        output=output(METADATA_OUTPUT),
    ),
    StepType(
        name="gateway.upload_module",
        summary="Upload a .modl to the gateway, optionally accepting its certificate and EULA",
        handler=upload_module,
        parameters=parameters(
            {"path": PATH, **ACCEPT, "check_compatibility": {"type": "boolean", "default": True}},
            ("path",),
        ),
        output=output(STAGED),
        resources=("gateway",),
    ),
    StepType(
        name="gateway.install_module",
        summary="Install (or upgrade) a module: from a .modl path in one step, or an uploaded id",
        description="Takes effect at the next restart: a new module is INACTIVE until then, an "
        "upgrade keeps the old version running with shouldUpgrade true.",
        handler=install_module,
        parameters=parameters(
            {
                "path": PATH,
                "module_id": MODULE_ID,
                **ACCEPT,
                "check_compatibility": {"type": "boolean", "default": True},
            },
            oneOf=[{"required": ["path"]}, {"required": ["module_id"]}],
        ),
        output=output(
            {
                **STAGED,
                "action": {"enum": ["install", "upgrade"]},
                "restart_required": {"type": "boolean"},
                "previous_version": {"type": "string"},
            }
        ),
        resources=("gateway",),
    ),
    StepType(
        name="gateway.uninstall_module",
        summary="Mark a module for removal at the next restart",
        handler=uninstall_module,
        parameters=parameters(
            {"module_id": MODULE_ID, "missing_ok": {"type": "boolean", "default": False}},
            ("module_id",),
        ),
        output=output(
            {
                "module_id": {"type": "string"},
                "uninstalled": {"type": "boolean"},
                "restart_required": {"type": "boolean"},
            }
        ),
        resources=("gateway",),
    ),
    StepType(
        name="gateway.list_modules",
        summary="List installed (and quarantined) modules",
        handler=list_modules,
        parameters=parameters({"include_quarantined": {"type": "boolean", "default": True}}),
        output=output(
            {
                "modules": {"type": "array", "items": MODULE_ITEM},
                "quarantined": {"type": "array"},
                "count": {"type": "integer"},
                "ids": {"type": "array", "items": {"type": "string"}},
            }
        ),
        resources=("gateway",),
    ),
    StepType(
        name="gateway.wait_for_module",
        summary="Wait until a module has a state (default ACTIVE) and version, or is gone",
        handler=wait_for_module,
        parameters=parameters(
            {
                "module_id": MODULE_ID,
                "state": {"type": "string", "default": "ACTIVE"},
                "version": {"type": "string"},
                "absent": {"type": "boolean", "default": False},
                "timeout": {**TIMEOUT, "default": 300},
                "interval": INTERVAL,
            },
            ("module_id",),
        ),
        output=output(
            {
                "module_id": {"type": "string"},
                "present": {"type": "boolean"},
                "state": {"type": "string"},
                "version": {"type": "string"},
                "waited_seconds": {"type": "number"},
            }
        ),
        resources=("gateway",),
    ),
]
