"""The OpenAPI 3.1 document, built from the URL map and the permission table so neither can drift."""

from __future__ import annotations

import re
from typing import Any

from quart import Quart

from .permissions import IGNORED_ENDPOINTS, ROUTES

_CONVERTER = re.compile(r"<(?:(?P<conv>[a-z]+)(?:\([^)]*\))?:)?(?P<name>\w+)>")

ERROR_SCHEMA = {
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {
            "type": "object",
            "required": ["error", "message", "details"],
            "properties": {
                "error": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object"},
                "request_id": {"type": "string"},
            },
        }
    },
}


def openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    parameters: list[dict[str, Any]] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        schema: dict[str, Any] = {"type": "integer" if match.group("conv") == "int" else "string"}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
        return "{" + name + "}"

    return _CONVERTER.sub(replace, rule), parameters


def document(app: Quart) -> dict[str, Any]:
    from .routes.health import VERSION

    paths: dict[str, dict[str, Any]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint in IGNORED_ENDPOINTS:
            continue
        spec = ROUTES.get(rule.endpoint)
        path, parameters = openapi_path(rule.rule)
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}) or ["GET"]
        for method in methods:
            operation: dict[str, Any] = {
                "operationId": f"{rule.endpoint}.{method.lower()}",
                "summary": spec.summary if spec else "",
                "x-permission": spec.permission.value if spec else None,
                "parameters": parameters,
                "responses": {
                    str(spec.success if spec else 200): {"description": "Success"},
                    "default": {
                        "description": "Error",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                        },
                    },
                },
            }
            if getattr(rule, "websocket", False):
                operation["x-websocket"] = True
            if spec is not None and spec.permission.value != "public":
                operation["security"] = [{"ApiKey": []}]
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Ignition Toolbox API", "version": VERSION},
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR_SCHEMA},
            "securitySchemes": {"ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
        },
    }


__all__ = ["document", "openapi_path"]
