"""Ignition Toolbox server: the API_GUIDE.md REST API and WebSocket on Quart, Hypercorn and Tortoise.

Names load on first use: every ``itk`` command loads this package's plugin (for ``itk serve``), and
``itk run`` should not pay for importing Quart, Hypercorn and Tortoise.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .executions import ExecutionManager
    from .permissions import ROLE_PERMISSIONS, ROUTES, Permission
    from .server import serve
    from .settings import Settings

_HOMES = {
    "create_app": ".app",
    "ExecutionManager": ".executions",
    "ROLE_PERMISSIONS": ".permissions",
    "ROUTES": ".permissions",
    "Permission": ".permissions",
    "serve": ".server",
    "Settings": ".settings",
}

__all__ = [
    "ROLE_PERMISSIONS",
    "ROUTES",
    "ExecutionManager",
    "Permission",
    "Settings",
    "create_app",
    "serve",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(_HOMES[name], __name__), name)
    globals()[name] = value
    return value
