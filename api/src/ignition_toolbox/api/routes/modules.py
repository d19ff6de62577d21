"""Uploads of step input files: a ``.modl``, a gateway backup, a project zip or a tag export sent to
the server lands in DATA_DIR/uploads, where steps may read it (the server confines step input
files to its upload and configured folders). ``/api/modules`` is the module-only form SECURITY.md
names; ``/api/uploads`` takes every kind a shipped playbook's ``type: file`` parameter accepts."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from quart import Blueprint, request

from ignition_toolbox.core import ValidationError

from .. import audit
from ..request_context import client_ip, principal
from ..state import current

blueprint = Blueprint("modules", __name__)

_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,120}$")
_ZIP_MAGIC = b"PK\x03\x04"
# Endings a step may read, and whether the file must be a zip archive.
KINDS: dict[str, bool] = {
    ".modl": True,
    ".gwbk": True,
    ".zip": True,
    ".json": False,
    ".xml": False,
    ".csv": False,
}


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
    """Any input file kind of ``KINDS``: the raw body, named by ``?fileName=``."""
    return await _store(_file_name(tuple(KINDS)), "file.uploaded", "File uploaded successfully")


async def _store(name: str, action: str, message: str) -> tuple[dict[str, Any], int]:
    settings = current().settings
    folder = settings.uploads_dir
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, temp = tempfile.mkstemp(prefix=".upload-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            async for chunk in request.body:
                size += len(chunk)
                if size > settings.max_upload_bytes:
                    raise ValidationError(
                        "The module is larger than this server accepts",
                        {"limit_bytes": settings.max_upload_bytes},
                    )
                digest.update(chunk)
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        with open(temp, "rb") as check:
            if KINDS["." + name.rsplit(".", 1)[-1].lower()] and check.read(4) != _ZIP_MAGIC:
                raise ValidationError(
                    f"A {name.rsplit('.', 1)[-1]} file is a zip archive; this is not one", {}
                )
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
