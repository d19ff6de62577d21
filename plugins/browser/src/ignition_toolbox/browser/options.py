"""Browser options of an execution: what a playbook (``metadata.options``) or a run may set.

Options live in the execution's options, either under a ``browser`` mapping or as flat keys (a
``browser`` mapping wins), so ``itk run --option headless=false`` and a playbook's
``metadata: {options: {browser: {viewport: ...}}}`` both work. They are validated once, when the
browser opens, and a bad value fails the first browser step with ``validation_error``.

No option names an executable: which browser runs is the operator's choice (``ITK_BROWSER_PATH``),
never a playbook's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from ignition_toolbox.core import StepFailedError

DEFAULT_MASK_COLOR = "#FF00FF"

OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "headless": {"type": "boolean", "default": True},
        "viewport": {
            "type": "object",
            "required": ["width", "height"],
            "additionalProperties": False,
            "properties": {
                "width": {"type": "integer", "minimum": 100, "maximum": 7680},
                "height": {"type": "integer", "minimum": 100, "maximum": 4320},
            },
        },
        "locale": {"type": "string", "pattern": r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$"},
        "timezone": {"type": "string", "minLength": 1, "maxLength": 64},
        "ignore_https_errors": {"type": "boolean", "default": False},
        "keep_trace": {
            "enum": ["on_failure", "always", "never"],
            "default": "on_failure",
            "description": "When to keep the Playwright trace (trace.zip) as an artifact",
        },
        "trace_snapshots": {
            "type": "boolean",
            "description": "Record a DOM snapshot before and after every action in the trace "
            "(costs a few milliseconds per action). Default: true when keep_trace is always, "
            "else false; a failed step always keeps the page's HTML.",
        },
        "screenshot_on_failure": {"type": "boolean", "default": True},
        "mask_selectors": {
            "type": "array",
            "items": {"type": "string", "minLength": 1, "maxLength": 500},
            "maxItems": 100,
        },
        "mask_color": {"type": "string", "pattern": "^#[0-9A-Fa-f]{6}$"},
        "default_timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": 3600},
        "live_view": {
            "oneOf": [
                {"type": "boolean"},
                {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "enabled": {"type": "boolean"},
                        "fps": {"type": "number", "exclusiveMinimum": 0, "maximum": 30},
                        "max_width": {"type": "integer", "minimum": 160, "maximum": 1280},
                        "quality": {"type": "integer", "minimum": 10, "maximum": 100},
                    },
                },
            ]
        },
    },
}

_KEYS = tuple(OPTIONS_SCHEMA["properties"])
_VALIDATOR = Draft202012Validator(OPTIONS_SCHEMA)


@dataclass(frozen=True)
class LiveViewOptions:
    enabled: bool = True
    fps: float = 5.0
    max_width: int = 1280
    quality: int = 60


@dataclass(frozen=True)
class BrowserOptions:
    """The validated browser options of one execution."""

    headless: bool = True
    viewport: tuple[int, int] = (1280, 720)
    locale: str | None = None
    timezone: str | None = None
    ignore_https_errors: bool = False
    keep_trace: str = "on_failure"
    trace_snapshots: bool = False
    screenshot_on_failure: bool = True
    mask_selectors: tuple[str, ...] = ()
    mask_color: str = DEFAULT_MASK_COLOR
    default_timeout: float = 30.0
    live_view: LiveViewOptions = field(default_factory=LiveViewOptions)

    @classmethod
    def from_options(cls, options: dict[str, Any] | None) -> BrowserOptions:
        """Read flat keys and the ``browser`` mapping; other plugins' keys are ignored."""
        options = options or {}
        merged = {k: options[k] for k in _KEYS if k in options}
        nested = options.get("browser")
        if nested is not None and not isinstance(nested, dict):
            raise StepFailedError(
                "options.browser must be a mapping", {"path": "browser"}, code="validation_error"
            )
        merged.update(nested or {})
        unknown = sorted(set(nested or {}) - set(_KEYS))
        if unknown:
            raise StepFailedError(
                f"unknown browser option(s): {', '.join(unknown)}; known: {', '.join(_KEYS)}",
                {"unknown": unknown},
                code="validation_error",
            )
        error = next(iter(_VALIDATOR.iter_errors(merged)), None)
        if error is not None:
            where = ".".join(map(str, error.absolute_path)) or "options"
            raise StepFailedError(
                f"browser option {where}: {error.message}", {"path": where}, code="validation_error"
            )
        live = merged.get("live_view", True)
        if isinstance(live, bool):
            live_view = LiveViewOptions(enabled=live)
        else:
            live_view = LiveViewOptions(**{"enabled": True, **live})
        viewport = merged.get("viewport")
        keep_trace = merged.get("keep_trace", "on_failure")
        return cls(
            headless=merged.get("headless", True),
            viewport=(viewport["width"], viewport["height"]) if viewport else (1280, 720),
            locale=merged.get("locale"),
            timezone=merged.get("timezone"),
            ignore_https_errors=merged.get("ignore_https_errors", False),
            keep_trace=keep_trace,
            trace_snapshots=merged.get("trace_snapshots", keep_trace == "always"),
            screenshot_on_failure=merged.get("screenshot_on_failure", True),
            mask_selectors=tuple(merged.get("mask_selectors", ())),
            mask_color=merged.get("mask_color", DEFAULT_MASK_COLOR),
            default_timeout=float(merged.get("default_timeout", 30.0)),
            live_view=live_view,
        )


__all__ = ["DEFAULT_MASK_COLOR", "OPTIONS_SCHEMA", "BrowserOptions", "LiveViewOptions"]
