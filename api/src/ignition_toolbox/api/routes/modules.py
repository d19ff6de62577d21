"""Module uploads: a ``.modl`` sent to the server lands in DATA_DIR/uploads, where gateway steps
may read it (the server confines step input files to its upload and configured folders)."""

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

_MODULE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,120}\.modl$")
_ZIP_MAGIC = b"PK\x03\x04"


def _file_name() -> str:
    name = request.args.get("fileName", "")
    if not _MODULE_NAME.match(name) or ".." in name:
        raise ValidationError(
            "fileName must be a plain .modl file name (letters, digits, '._ -')",
            {"field": "fileName"},
        )
    return name


@blueprint.post("/api/modules")
async def upload_module() -> tuple[dict[str, Any], int]:
    """The body is the raw .modl (as Ignition's own upload takes it); ``?fileName=`` names it."""
    name = _file_name()
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
            if check.read(len(_ZIP_MAGIC)) != _ZIP_MAGIC:
                raise ValidationError("A .modl file is a zip archive; this is not one", {})
        os.replace(temp, folder / name)
    finally:
        Path(temp).unlink(missing_ok=True)
    await audit.record(
        "module.uploaded",
        actor=principal().actor,
        target=name,
        ip=client_ip(),
        details={"size": size, "sha256": digest.hexdigest()},
    )
    return {
        "message": "Module uploaded successfully",
        "path": name,
        "size": size,
        "sha256": digest.hexdigest(),
    }, 201
