"""Playbook routes: list, details, duplicate, and writes confined to the writable root."""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Blueprint, Response, request

from ignition_toolbox.core import (
    PlaybookLibrary,
    PlaybookNotFoundError,
    ValidationError,
    parse_playbook,
    validate_relative_path,
)

from .. import audit
from ..etags import check_if_match, etag_for
from ..request_context import client_ip, json_object, principal
from ..state import current

blueprint = Blueprint("playbooks", __name__)

MAX_PLAYBOOK_BYTES = 512 * 1024


@blueprint.get("/api/playbooks")
async def list_playbooks() -> dict[str, Any]:
    state = current()
    entries = await asyncio.to_thread(state.library.entries, state.plugins)
    return {"playbooks": [e.describe() for e in entries]}


@blueprint.get("/api/playbooks/<path:path>")
async def get_playbook(path: str) -> tuple[dict[str, Any], int, dict[str, str]]:
    state = current()
    playbook = await asyncio.to_thread(state.library.load, path, state.plugins)
    writable = await asyncio.to_thread(state.library.is_writable, path)
    body = {**playbook.describe(), "path": playbook.source, "writable": writable}
    return body, 200, {"ETag": f'"{playbook.content_hash}"'}


def _current_etag(library: PlaybookLibrary, path: str) -> str | None:
    try:
        return etag_for(library.read_bytes(path))
    except PlaybookNotFoundError:
        return None


@blueprint.get("/api/playbooks/<path:path>/export")
async def export_playbook(path: str) -> Response:
    state = current()
    data = await asyncio.to_thread(state.library.read_bytes, path)
    return Response(data, status=200, content_type="application/yaml; charset=utf-8")


@blueprint.put("/api/playbooks/<path:path>")
async def put_playbook(path: str) -> tuple[dict[str, Any], int, dict[str, str]]:
    state = current()
    validate_relative_path(path)
    content = await request.get_data()
    if len(content) > MAX_PLAYBOOK_BYTES:
        raise ValidationError(
            f"Playbook is larger than {MAX_PLAYBOOK_BYTES // 1024} KiB",
            {"limit_bytes": MAX_PLAYBOOK_BYTES},
        )
    await asyncio.to_thread(parse_playbook, content, state.plugins, path)
    if_match = request.headers.get("If-Match")
    async with state.playbook_writes:
        if if_match is not None:
            current_tag = await asyncio.to_thread(_current_etag, state.library, path)
            check_if_match(if_match, current_tag)
        created = await asyncio.to_thread(state.library.write, path, content)
    await audit.record(
        "playbook.created" if created else "playbook.updated",
        actor=principal().actor,
        target=path,
        ip=client_ip(),
    )
    message = "Playbook created successfully" if created else "Playbook saved successfully"
    return {"message": message, "path": path}, 201 if created else 200, {"ETag": etag_for(content)}


@blueprint.delete("/api/playbooks/<path:path>")
async def delete_playbook(path: str) -> dict[str, Any]:
    state = current()
    if_match = request.headers.get("If-Match")
    async with state.playbook_writes:
        if if_match is not None:
            check_if_match(if_match, await asyncio.to_thread(_current_etag, state.library, path))
        await asyncio.to_thread(state.library.delete, path)
    await audit.record("playbook.deleted", actor=principal().actor, target=path, ip=client_ip())
    return {"message": "Playbook deleted successfully", "path": path}


@blueprint.post("/api/playbooks/duplicate")
async def duplicate_playbook() -> dict[str, Any]:
    state = current()
    body = await json_object()
    unknown = sorted(set(body) - {"source_path", "new_name"})
    if unknown:
        raise ValidationError(
            f"Unknown field(s): {', '.join(unknown[:20])}", {"fields": unknown[:20]}
        )
    source, new_name = body.get("source_path"), body.get("new_name")
    if not isinstance(source, str) or not source:
        raise ValidationError("source_path is required", {"field": "source_path"})
    if not isinstance(new_name, str):
        raise ValidationError("new_name is required", {"field": "new_name"})
    new_path = await asyncio.to_thread(state.library.duplicate, source, new_name, state.plugins)
    await audit.record(
        "playbook.duplicated",
        actor=principal().actor,
        target=new_path,
        ip=client_ip(),
        details={"source_path": source},
    )
    return {"message": "Playbook duplicated successfully", "new_path": new_path}
