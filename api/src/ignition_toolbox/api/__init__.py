"""Ignition Toolbox server: the API_GUIDE.md REST API and WebSocket on Quart, Hypercorn and Tortoise."""

from .app import create_app
from .executions import ExecutionManager
from .permissions import ROLE_PERMISSIONS, ROUTES, Permission
from .server import serve
from .settings import Settings

__all__ = [
    "ROLE_PERMISSIONS",
    "ROUTES",
    "ExecutionManager",
    "Permission",
    "Settings",
    "create_app",
    "serve",
]
