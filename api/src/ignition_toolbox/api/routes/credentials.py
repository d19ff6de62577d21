"""Credential routes. Secrets go in, never come out: responses show ``$encrypted$``."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, request

from ignition_toolbox.core import ValidationError

from .. import audit, credential_integrity, credentials, gateway_check
from ..models import CredentialRecord
from ..request_context import client_ip, json_object, principal
from ..state import current

blueprint = Blueprint("credentials", __name__)


@blueprint.get("/api/credentials")
async def list_credentials() -> dict[str, Any]:
    rows = await CredentialRecord.all().order_by("name")
    return {"credentials": [credentials.describe(r) for r in rows]}


@blueprint.get("/api/credentials/<name>")
async def get_credential(name: str) -> dict[str, Any]:
    return credentials.describe(await credentials.get(name))


@blueprint.post("/api/credentials")
async def create_credential() -> tuple[dict[str, Any], int]:
    record = await credentials.create(current().require_vault(), await json_object())
    await audit.record(
        "credential.created", actor=principal().actor, target=record.name, ip=client_ip()
    )
    return {"message": "Credential saved successfully", "name": record.name}, 201


@blueprint.put("/api/credentials/<name>")
async def update_credential(name: str) -> dict[str, Any]:
    record = await credentials.update(
        current().require_vault(),
        name,
        await json_object(),
        actor=principal().actor,
        ip=client_ip(),
    )
    await audit.record(
        "credential.updated", actor=principal().actor, target=record.name, ip=client_ip()
    )
    return {"message": "Credential updated successfully", "name": record.name}


@blueprint.delete("/api/credentials/<name>")
async def delete_credential(name: str) -> dict[str, Any]:
    credentials.check_name(name)
    deleted = await CredentialRecord.filter(name=name).delete()
    if not deleted:
        from ignition_toolbox.core import CredentialNotFoundError

        raise CredentialNotFoundError(f"Credential '{name}' not found", {"name": name})
    await audit.record("credential.deleted", actor=principal().actor, target=name, ip=client_ip())
    return {"message": "Credential deleted successfully"}


@blueprint.post("/api/credentials/<name>/test")
async def test_credential(name: str) -> dict[str, Any]:
    record = await credentials.get(name)
    body = await json_object() if await request.get_data() else {}
    timeout = gateway_check.parse_timeout(body)
    # Decrypt first: a reachable gateway says nothing about a row whose secrets are damaged, and
    # such a row must fail here (500, reported) as it would in a run.
    await credential_integrity.open_secrets(
        current().require_vault(), record, where="test", actor=principal().actor, ip=client_ip()
    )
    if not record.gateway_url:
        raise ValidationError(
            f"Credential '{name}' is not bound to a gateway", {"field": "gateway_url"}
        )
    result = await gateway_check.status_ping(record.gateway_url, timeout)
    await audit.record(
        "credential.tested",
        actor=principal().actor,
        target=name,
        ip=client_ip(),
        details={"reachable": result["reachable"]},
    )
    return result
