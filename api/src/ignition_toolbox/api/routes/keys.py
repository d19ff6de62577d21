"""API key routes: admins manage every key, everyone may list and revoke their own."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from quart import Blueprint

from ignition_toolbox.core import PermissionDeniedError, ToolboxError, ValidationError

from .. import audit, keys
from ..models import ApiKeyRecord
from ..permissions import ROLE_PERMISSIONS, Permission, allows, role_rank
from ..request_context import client_ip, json_object, principal
from ..state import current

blueprint = Blueprint("keys", __name__)


class KeyNotFoundError(ToolboxError):
    code = "not_found"


@blueprint.get("/api/me")
async def me() -> dict[str, Any]:
    """Who the caller is and what it may do, so a client shows only the controls that will work."""
    who = principal()
    return {
        "key_id": who.key_id,
        "name": who.name,
        "role": who.role,
        "auth_required": current().auth.required,
        "permissions": sorted(p.value for p in ROLE_PERMISSIONS[who.role]),
    }


def _unknown(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise ValidationError(
            f"Unknown field(s): {', '.join(unknown[:20])}", {"fields": unknown[:20]}
        )


async def _visible(key_id: str) -> ApiKeyRecord:
    """A key the caller may see: any for admins, otherwise only the caller's own."""
    who = principal()
    record = await ApiKeyRecord.get_or_none(id=key_id[:64])
    if record is None or (not allows(who.role, Permission.KEYS_MANAGE) and record.id != who.key_id):
        if record is not None:
            raise PermissionDeniedError("Access denied", {})
        raise KeyNotFoundError(f"API key '{key_id[:64]}' not found", {"key_id": key_id[:64]})
    return record


@blueprint.post("/api/keys")
async def create_key() -> tuple[dict[str, Any], int]:
    who = principal()
    body = await json_object()
    _unknown(body, {"name", "role", "expires_in_days"})
    role = keys.check_role(body.get("role"))
    if role_rank(role) > role_rank(who.role):
        raise PermissionDeniedError("A key cannot have a higher role than its creator", {})
    new = await keys.create_key(
        role,
        keys.check_name(body.get("name")),
        created_by=who.key_id,
        expires_in_days=keys.check_expiry(body.get("expires_in_days")),
    )
    await audit.record(
        "key.created",
        actor=who.actor,
        target=new.record.id,
        ip=client_ip(),
        details={"role": role},
    )
    return {**keys.describe(new.record), "key": new.raw}, 201


@blueprint.get("/api/keys")
async def list_keys() -> dict[str, Any]:
    who = principal()
    query = ApiKeyRecord.all().order_by("created_at")
    if not allows(who.role, Permission.KEYS_MANAGE):
        query = query.filter(id=who.key_id)
    return {"keys": [keys.describe(r) for r in await query]}


@blueprint.get("/api/keys/<key_id>")
async def get_key(key_id: str) -> dict[str, Any]:
    return keys.describe(await _visible(key_id))


@blueprint.patch("/api/keys/<key_id>")
async def update_key(key_id: str) -> dict[str, Any]:
    who = principal()
    record = await _visible(key_id)
    body = await json_object()
    _unknown(body, {"name", "role"})
    if "role" in body:
        role = keys.check_role(body["role"])
        if record.role == "admin" and role != "admin" and await keys.active_admin_count() <= 1:
            raise ValidationError("The last active admin key cannot lose its role", {})
        old, record.role = record.role, role
        await audit.record(
            "role.changed",
            actor=who.actor,
            target=record.id,
            ip=client_ip(),
            details={"from": old, "to": role},
        )
    if "name" in body:
        record.name = keys.check_name(body["name"])
    await record.save()
    return keys.describe(record)


@blueprint.delete("/api/keys/<key_id>")
async def revoke_key(key_id: str) -> dict[str, Any]:
    who = principal()
    record = await _visible(key_id)
    if record.revoked_at is None:
        if record.role == "admin" and await keys.active_admin_count() <= 1:
            raise ValidationError("The last active admin key cannot be revoked", {})
        record.revoked_at = datetime.now(UTC)
        await record.save(update_fields=["revoked_at"])
        current().hub.revoke_key(record.id)
        await audit.record("key.revoked", actor=who.actor, target=record.id, ip=client_ip())
    return {"message": "API key revoked successfully", "key_id": record.id}
