"""Files in and out of the page: ``browser.upload_file`` and ``browser.download``.

An upload reads inline content from the playbook, a file of this execution's artifacts (a download
of an earlier step), or an input file where the caller allows one (``ctx.resolve_file``: the server
confines these to its upload folders, so a playbook cannot post arbitrary server files to a page).
A download becomes an artifact of the execution.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from ignition_toolbox.core import StepContext, StepFailedError, StepType

from ..session import BrowserSession
from .schema import SELECTOR, TIMEOUT, output, params, step_type


def _resolve_upload(ctx: StepContext, path: str) -> Path:
    if not Path(path).is_absolute():
        artifacts = ctx.execution.artifacts_dir.resolve()
        try:
            kept = (artifacts / path).resolve(strict=True)
        except (OSError, RuntimeError):
            kept = None
        if kept is not None and kept.is_relative_to(artifacts) and kept.is_file():
            return kept
    return ctx.resolve_file(path, "Upload")


def _payloads(ctx: StepContext, files: list[dict[str, Any]]) -> list[Any]:
    payloads: list[Any] = []
    for spec in files:
        if "path" in spec:
            payloads.append(_resolve_upload(ctx, spec["path"]))
            continue
        content = spec["content"]
        data = (
            base64.b64decode(content, validate=True)
            if spec.get("encoding") == "base64"
            else content.encode("utf-8")
        )
        payloads.append(
            {
                "name": spec["name"],
                "mimeType": spec.get("mime_type", "application/octet-stream"),
                "buffer": data,
            }
        )
    return payloads


def _name_of(payload: Any) -> str:
    return payload.name if isinstance(payload, Path) else str(payload["name"])


async def _upload(ctx: StepContext, session: BrowserSession, p: dict[str, Any]) -> dict[str, Any]:
    payloads = _payloads(ctx, p["files"])
    await session.page.locator(p["selector"]).set_input_files(
        payloads, timeout=session.timeout_ms(p)
    )
    return {"selector": p["selector"], "files": [_name_of(x) for x in payloads]}


async def _download(ctx: StepContext, session: BrowserSession, p: dict[str, Any]) -> dict[str, Any]:
    page = session.page
    async with page.expect_download(timeout=session.timeout_ms(p)) as info:
        await page.locator(p["selector"]).click(timeout=session.timeout_ms(p))
    download = await info.value
    failure = await download.failure()
    if failure:
        raise StepFailedError(f"the download failed: {failure}", {"url": download.url})
    filename = p.get("filename") or download.suggested_filename or "download"
    staged = ctx.new_artifact_path(f".download-{ctx.step_id}")
    await download.save_as(staged)
    event = await ctx.add_artifact(filename, path=staged, kind="download")
    return {
        "artifact_id": event.artifact_id,
        "filename": filename,
        "path": event.path.name,
        "size": event.size,
        "url": download.url,
    }


_FILE = {
    "anyOf": [
        {
            "type": "object",
            "required": ["path"],
            "additionalProperties": False,
            "properties": {"path": {"type": "string", "minLength": 1, "maxLength": 4096}},
        },
        {
            "type": "object",
            "required": ["name", "content"],
            "additionalProperties": False,
            "properties": {
                "name": {"type": "string", "minLength": 1, "maxLength": 255},
                "content": {"type": "string", "maxLength": 10_000_000},
                "encoding": {"enum": ["text", "base64"], "default": "text"},
                "mime_type": {"type": "string", "maxLength": 255},
            },
        },
    ]
}

STEP_TYPES: list[StepType] = [
    step_type(
        "upload_file",
        "Set the files of an <input type=file>",
        _upload,
        params(
            ["selector", "files"],
            selector=SELECTOR,
            files={"type": "array", "items": _FILE, "minItems": 1, "maxItems": 20},
            timeout=TIMEOUT,
        ),
        output(selector={"type": "string"}, files={"type": "array", "items": {"type": "string"}}),
        description="Each file is inline ({name, content, encoding, mime_type}) or a path: "
        "relative to this execution's artifacts (e.g. an earlier download's `path`), or an input "
        "file the runner allows (on a server: its uploads and --files-dir folders).",
    ),
    step_type(
        "download",
        "Click an element that starts a download and keep the file as an artifact",
        _download,
        params(
            ["selector"],
            selector=SELECTOR,
            filename={"type": "string", "minLength": 1, "maxLength": 255},
            timeout=TIMEOUT,
        ),
        output(
            artifact_id={"type": "string"},
            filename={"type": "string"},
            path={"type": "string", "description": "The file's name inside the artifacts"},
            size={"type": "integer"},
            url={"type": "string"},
        ),
    ),
]
