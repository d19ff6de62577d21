"""What the running app holds, reachable from routes as ``current()``."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from quart import current_app

if TYPE_CHECKING:
    from tortoise.context import TortoiseContext

    from ignition_toolbox.core import PlaybookLibrary, PluginManager

    from .auth import Authenticator
    from .broadcast import Hub
    from .executions import ExecutionManager
    from .settings import Settings
    from .vault import Vault

EXTENSION = "itk"


@dataclass
class AppState:
    settings: Settings
    plugins: PluginManager
    library: PlaybookLibrary
    hub: Hub
    auth: Authenticator
    started: float = field(default_factory=time.monotonic)
    database: TortoiseContext | None = None
    vault: Vault | None = None
    manager: ExecutionManager | None = None
    degraded: bool = False
    # Serialises playbook writes so an If-Match check and the write it guards are one step.
    playbook_writes: asyncio.Lock = field(default_factory=asyncio.Lock)
    extra: dict[str, Any] = field(default_factory=dict)

    def require_manager(self) -> ExecutionManager:
        assert self.manager is not None, "the app has not started serving"
        return self.manager

    def require_vault(self) -> Vault:
        assert self.vault is not None, "the app has not started serving"
        return self.vault


def current() -> AppState:
    state: AppState = current_app.extensions[EXTENSION]
    return state


__all__ = ["EXTENSION", "AppState", "current"]
