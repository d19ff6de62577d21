"""The one table of route permissions (SR-1). Routes are checked against it before any handler
runs, the role-matrix test is generated from it, and the OpenAPI document is built from it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Permission(StrEnum):
    PUBLIC = "public"
    AUTHENTICATED = "authenticated"
    PLAYBOOKS_READ = "playbooks:read"
    PLAYBOOKS_WRITE = "playbooks:write"
    EXECUTIONS_READ = "executions:read"
    EXECUTIONS_CONTROL = "executions:control"
    EXECUTIONS_DELETE = "executions:delete"
    SCREENSHOTS_READ = "screenshots:read"
    CREDENTIALS_READ = "credentials:read"
    CREDENTIALS_WRITE = "credentials:write"
    KEYS_MANAGE = "keys:manage"
    AUDIT_READ = "audit:read"
    MODULES_UPLOAD = "modules:upload"
    MAINTENANCE = "maintenance"


ROLES = ("readonly", "executor", "user", "admin")

_READONLY = frozenset(
    {
        Permission.PUBLIC,
        Permission.AUTHENTICATED,
        Permission.PLAYBOOKS_READ,
        Permission.EXECUTIONS_READ,
        Permission.CREDENTIALS_READ,
    }
)
_EXECUTOR = _READONLY | {Permission.EXECUTIONS_CONTROL, Permission.SCREENSHOTS_READ}
_USER = _EXECUTOR | {
    Permission.PLAYBOOKS_WRITE,
    Permission.CREDENTIALS_WRITE,
    Permission.EXECUTIONS_DELETE,
}
_ADMIN = _USER | {
    Permission.KEYS_MANAGE,
    Permission.AUDIT_READ,
    Permission.MODULES_UPLOAD,
    Permission.MAINTENANCE,
}

ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "readonly": _READONLY,
    "executor": _EXECUTOR,
    "user": _USER,
    "admin": _ADMIN,
}


def role_rank(role: str) -> int:
    return ROLES.index(role)


def allows(role: str, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS.get(role, frozenset())


@dataclass(frozen=True)
class RouteSpec:
    """One route: its permission and the summary the OpenAPI document shows."""

    permission: Permission
    summary: str
    success: int = 200


# Keyed by Quart endpoint name (blueprint.function). A route missing here is denied to everyone.
ROUTES: dict[str, RouteSpec] = {
    "health.health": RouteSpec(Permission.PUBLIC, "Health check"),
    "meta.openapi_document": RouteSpec(Permission.PLAYBOOKS_READ, "This OpenAPI document"),
    "meta.step_types": RouteSpec(Permission.PLAYBOOKS_READ, "Step types of the installed plugins"),
    "meta.plugins": RouteSpec(Permission.PLAYBOOKS_READ, "Installed plugins"),
    "playbooks.list_playbooks": RouteSpec(Permission.PLAYBOOKS_READ, "List playbooks"),
    "playbooks.get_playbook": RouteSpec(Permission.PLAYBOOKS_READ, "Get playbook details"),
    "playbooks.put_playbook": RouteSpec(
        Permission.PLAYBOOKS_WRITE, "Create or replace a playbook (YAML body)"
    ),
    "playbooks.delete_playbook": RouteSpec(Permission.PLAYBOOKS_WRITE, "Delete a playbook"),
    "playbooks.export_playbook": RouteSpec(Permission.PLAYBOOKS_WRITE, "Export a playbook's YAML"),
    "playbooks.duplicate_playbook": RouteSpec(Permission.PLAYBOOKS_WRITE, "Duplicate a playbook"),
    "executions.start_execution": RouteSpec(Permission.EXECUTIONS_CONTROL, "Start execution", 202),
    "executions.list_executions": RouteSpec(Permission.EXECUTIONS_READ, "List executions"),
    "executions.get_execution": RouteSpec(Permission.EXECUTIONS_READ, "Get execution status"),
    "executions.control_execution": RouteSpec(
        Permission.EXECUTIONS_CONTROL,
        "Pause, resume, skip, cancel or retry (debug mode) an execution",
    ),
    "executions.delete_execution": RouteSpec(
        Permission.EXECUTIONS_DELETE, "Delete a finished execution"
    ),
    "executions.list_artifacts": RouteSpec(
        Permission.SCREENSHOTS_READ, "List an execution's artifacts"
    ),
    "executions.get_artifact": RouteSpec(Permission.SCREENSHOTS_READ, "Download an artifact"),
    "executions.get_screenshot": RouteSpec(
        Permission.SCREENSHOTS_READ, "Download the n-th screenshot of an execution"
    ),
    "executions.get_report": RouteSpec(
        Permission.EXECUTIONS_READ, "Execution report (format=junit|html|json)"
    ),
    "credentials.list_credentials": RouteSpec(Permission.CREDENTIALS_READ, "List credentials"),
    "credentials.get_credential": RouteSpec(Permission.CREDENTIALS_READ, "Get one credential"),
    "credentials.create_credential": RouteSpec(
        Permission.CREDENTIALS_WRITE, "Create credential", 201
    ),
    "credentials.update_credential": RouteSpec(Permission.CREDENTIALS_WRITE, "Update credential"),
    "credentials.delete_credential": RouteSpec(Permission.CREDENTIALS_WRITE, "Delete credential"),
    "credentials.test_credential": RouteSpec(
        Permission.CREDENTIALS_WRITE, "Check that the credential's gateway answers /StatusPing"
    ),
    "keys.create_key": RouteSpec(Permission.KEYS_MANAGE, "Create an API key", 201),
    "keys.me": RouteSpec(Permission.AUTHENTICATED, "The caller's role and permissions"),
    "keys.list_keys": RouteSpec(Permission.AUTHENTICATED, "List API keys (own, or all for admin)"),
    "keys.get_key": RouteSpec(Permission.AUTHENTICATED, "Get one API key (own, or any for admin)"),
    "keys.update_key": RouteSpec(Permission.KEYS_MANAGE, "Change an API key's role or name"),
    "keys.revoke_key": RouteSpec(
        Permission.AUTHENTICATED, "Revoke an API key (own, or any for admin)"
    ),
    "audit.list_audit": RouteSpec(Permission.AUDIT_READ, "Audit events"),
    "modules.upload_module": RouteSpec(
        Permission.MODULES_UPLOAD, "Upload a .modl for gateway steps (raw body, ?fileName=)", 201
    ),
    "modules.upload_file": RouteSpec(
        Permission.MODULES_UPLOAD,
        "Upload a step input file (.modl, .gwbk, .zip, .json, .xml, .csv; raw body, ?fileName=)",
        201,
    ),
    "maintenance.cleanup": RouteSpec(
        Permission.MAINTENANCE, "Delete finished executions older than N days, with artifacts"
    ),
    "websocket.executions_ws": RouteSpec(
        Permission.EXECUTIONS_READ, "WebSocket of execution updates and screenshot frames"
    ),
    "webui.index": RouteSpec(Permission.PUBLIC, "Web UI page (its API calls carry the key)"),
    "webui.asset": RouteSpec(Permission.PUBLIC, "Web UI static assets"),
}

# Quart registers a static route when a static folder exists; the app is built without one.
IGNORED_ENDPOINTS = frozenset({"static"})


def permission_for(endpoint: str | None) -> Permission | None:
    if endpoint is None:
        return None
    spec = ROUTES.get(endpoint)
    return spec.permission if spec else None


__all__ = [
    "IGNORED_ENDPOINTS",
    "ROLES",
    "ROLE_PERMISSIONS",
    "ROUTES",
    "Permission",
    "RouteSpec",
    "allows",
    "permission_for",
    "role_rank",
]
