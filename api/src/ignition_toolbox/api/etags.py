"""Entity tags for playbook files: a content hash, so an editor that read one version cannot
silently overwrite another (``If-Match`` on PUT and DELETE, SECURITY.md case 84)."""

from __future__ import annotations

import hashlib

from ignition_toolbox.core import ValidationError


def etag_for(content: bytes) -> str:
    return f'"{hashlib.sha256(content).hexdigest()}"'


def _listed(header: str) -> list[str]:
    return [part.strip() for part in header.split(",") if part.strip()]


def check_if_match(header: str | None, current: str | None) -> None:
    """``current`` is the stored file's tag, or None when there is no file yet. Strong comparison
    (RFC 9110 §13.1.1): a weak tag never matches. A mismatch is the guide's ``validation_error``."""
    if header is None:
        return
    if current is not None and any(tag in ("*", current) for tag in _listed(header)):
        return
    raise ValidationError(
        "The playbook changed since it was read (stale ETag); reload it and try again",
        {"header": "If-Match", "etag": current},
    )


__all__ = ["check_if_match", "etag_for"]
