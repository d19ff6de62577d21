"""Uploads of step input files: a ``.modl``, a gateway backup, a project zip or a tag export sent to
the server lands in DATA_DIR/uploads, where steps may read it (the server confines step input
files to its upload and configured folders). ``/api/modules`` is the module-only form SECURITY.md
names; ``/api/uploads`` takes every kind a shipped playbook's ``type: file`` parameter accepts."""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from quart import Blueprint, request

from ignition_toolbox.core import ValidationError

from .. import audit, uploads
from ..request_context import client_ip, principal
from ..state import current

blueprint = Blueprint("modules", __name__)

_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,120}$")


def _file_name(allowed: tuple[str, ...]) -> str:
    name = request.args.get("fileName", "")
    ending = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if not _FILE_NAME.match(name) or ".." in name or ending not in allowed or name == ending:
        raise ValidationError(
            f"fileName must be a plain file name (letters, digits, '._ -') ending in "
            f"{', '.join(allowed)}",
            {"field": "fileName"},
        )
    return name


@blueprint.post("/api/modules")
async def upload_module() -> tuple[dict[str, Any], int]:
    """The body is the raw .modl (as Ignition's own upload takes it); ``?fileName=`` names it."""
    return await _store(_file_name((".modl",)), "module.uploaded", "Module uploaded successfully")


@blueprint.post("/api/uploads")
async def upload_file() -> tuple[dict[str, Any], int]:
    """Any input file kind of ``uploads.CHECKS``: the raw body, named by ``?fileName=``."""
    return await _store(
        _file_name(tuple(uploads.CHECKS)), "file.uploaded", "File uploaded successfully"
    )


async def _store(name: str, action: str, message: str) -> tuple[dict[str, Any], int]:
    """Stream the body into a temp file beside the target, check it, then rename it into place.

    The body is never held whole (an upload may be hundreds of MB), the check runs off the event
    loop, and a refusal, a dropped connection or an error leaves nothing behind: the temp file is
    removed unless the rename already consumed it."""
    settings = current().settings
    folder = settings.uploads_dir
    folder.mkdir(parents=True, exist_ok=True)
    ending = "." + name.rsplit(".", 1)[-1].lower()
    digest = hashlib.sha256()
    size = 0
    fd, temp = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            async for chunk in request.body:
                size += len(chunk)
                if size > settings.max_upload_bytes:
                    raise ValidationError(
                        "The upload is larger than this server accepts",
                        {"limit_bytes": settings.max_upload_bytes},
                    )
                digest.update(chunk)
                handle.write(chunk)
            handle.flush()
            await asyncio.to_thread(os.fsync, handle.fileno())
        await asyncio.to_thread(uploads.check, Path(temp), ending)
        os.replace(temp, folder / name)
    finally:
        Path(temp).unlink(missing_ok=True)
    await audit.record(
        action,
        actor=principal().actor,
        target=name,
        ip=client_ip(),
        details={"size": size, "sha256": digest.hexdigest()},
    )
    return {
        "message": message,
        "path": name,
        "size": size,
        "sha256": digest.hexdigest(),
    }, 201
