"""Typed errors. Each carries the API error code it maps to; the HTTP status lives in the server."""

from __future__ import annotations

from typing import Any


class ToolboxError(Exception):
    """Base of every error the toolbox raises on purpose.

    ``code`` is one of the API_GUIDE.md error codes; ``details`` is safe to show a client: it must
    never hold secrets, absolute paths or exception text from a library.
    """

    code = "internal_error"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    def to_dict(self) -> dict[str, Any]:
        """The ``detail`` object of the API error envelope."""
        return {"error": self.code, "message": self.message, "details": self.details}

    def to_record(self) -> dict[str, Any]:
        """The shape kept in step results and execution records."""
        return {"code": self.code, "message": self.message, "details": self.details}


class ValidationError(ToolboxError):
    code = "validation_error"


class InvalidPathError(ToolboxError):
    code = "invalid_path"


class PlaybookNotFoundError(ToolboxError):
    code = "playbook_not_found"


class ExecutionNotFoundError(ToolboxError):
    code = "execution_not_found"


class CredentialNotFoundError(ToolboxError):
    code = "credential_not_found"


class PermissionDeniedError(ToolboxError):
    code = "permission_denied"


class UnauthorizedError(ToolboxError):
    code = "unauthorized"


class RateLimitedError(ToolboxError):
    code = "rate_limited"

    def __init__(
        self, message: str, retry_after: int = 1, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message, details)
        self.retry_after = retry_after


class StepTimeoutError(ToolboxError):
    """A step, or a call it made, ran past its timeout."""

    code = "timeout_error"


class StepFailedError(ToolboxError):
    """A step handler's way to fail with a message an operator understands.

    ``code`` defaults to ``internal_error``; pass another API code when one fits better
    (``validation_error`` for a bad parameter, ``timeout_error`` for a wait that ran out).
    """

    def __init__(
        self, message: str, details: dict[str, Any] | None = None, code: str | None = None
    ) -> None:
        super().__init__(message, details)
        if code is not None:
            self.code = code


class PluginConflictError(ToolboxError):
    """Two plugins claim the same step type or resource."""


class InvalidTransitionError(ValidationError):
    """A control call (pause, resume, skip, cancel, retry) that the current state does not allow."""
