"""Perspective step types for Ignition Toolbox, built on the browser plugin's resource.

Components are found by the real DOM hooks of IGNITION.md §3b (``data-component``,
``data-component-path``, ``meta.domId``); readiness follows §3d; navigation stays in-app (§3a).
"""

from .discovery import discover
from .locators import LOCATOR_SCHEMA, Component, describe, resolve
from .login import log_in
from .pagestate import PerspectivePageState, page_state
from .readiness import LOGIN_REQUIRED, READY, Readiness, wait_ready
from .steps import step_types

__all__ = [
    "LOCATOR_SCHEMA",
    "LOGIN_REQUIRED",
    "READY",
    "Component",
    "PerspectivePageState",
    "Readiness",
    "describe",
    "discover",
    "log_in",
    "page_state",
    "resolve",
    "step_types",
    "wait_ready",
]
