"""The redaction filter every log handler gets (SR-16): API keys, ``api_key=``/``ticket=`` query
values and URL userinfo never reach a log line, whatever library wrote it."""

from __future__ import annotations

import logging
import re

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


__all__ = ["RedactingFilter", "install", "redact"]
