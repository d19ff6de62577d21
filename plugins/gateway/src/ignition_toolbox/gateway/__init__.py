"""Ignition gateway support for Ignition Toolbox: REST client, step types and a simulated gateway.

The step types and the ``gateway`` resource reach the toolbox through ``plugin.py`` (entry point
``gateway``); the simulator lives in ``ignition_toolbox.gateway.sim``.
"""

from .client import GatewayClient, parse_gwinfo
from .errors import (
    GatewayAuthError,
    GatewayConflictError,
    GatewayError,
    GatewayNotFoundError,
    GatewayRestartingError,
    GatewayUnreachableError,
)
from .modl import ModlError, ModuleMetadata, read_modl
from .readiness import wait_for_ready, wait_for_restart
from .resource import GATEWAY_RESOURCE, GatewayConnections
from .versions import parse_version, version_at_least

__all__ = [
    "GATEWAY_RESOURCE",
    "GatewayAuthError",
    "GatewayClient",
    "GatewayConflictError",
    "GatewayConnections",
    "GatewayError",
    "GatewayNotFoundError",
    "GatewayRestartingError",
    "GatewayUnreachableError",
    "ModlError",
    "ModuleMetadata",
    "parse_gwinfo",
    "parse_version",
    "read_modl",
    "version_at_least",
    "wait_for_ready",
    "wait_for_restart",
]
