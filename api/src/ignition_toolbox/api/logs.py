"""The redaction filter every log handler gets (SR-16): API keys, ``api_key=``/``ticket=`` query
values and URL userinfo never reach a log line, whatever library wrote it."""

from __future__ import annotations

import logging
import re
from typing import Any

_PATTERNS = (
    (re.compile(r"itk_[0-9A-Za-z]{8,}", re.IGNORECASE), "itk_***"),
    (re.compile(r"((?:api_key|ticket|token|password)=)[^&\s\"']+", re.IGNORECASE), r"\1***"),
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@", re.IGNORECASE), r"\1***@"),
)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


def event(
    logger: logging.Logger, name: str, *, level: int = logging.WARNING, **fields: Any
) -> None:
    """Log a structured event: ``name key=value ...`` as the text, for plain handlers, and the same
    as ``record.event`` and ``record.fields`` for handlers that keep structure. The text passes the
    redaction filter like any other; callers still pass no secrets."""
    text = " ".join([name, *(f"{key}={value}" for key, value in fields.items())])
    logger.log(level, "%s", text, extra={"event": name, "fields": dict(fields)})


def install(level: int = logging.INFO) -> None:
    """Configure the root logger once, with the filter on every handler it has."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(level)
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


__all__ = ["RedactingFilter", "event", "install", "redact"]
