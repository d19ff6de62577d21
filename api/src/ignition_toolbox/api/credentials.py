"""The credential store: validation, the public (secret-free) view, and resolution for steps.

Secrets leave the vault only through ``resolver``, which the executor calls inside a running step
(SR-6); nothing here returns them to a client.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from tortoise.exceptions import IntegrityError

from ignition_toolbox.core import Credential, CredentialNotFoundError, ValidationError

from .keys import iso
from .models import CredentialRecord
from .vault import PLACEHOLDER, Vault

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MAX_SECRET = 4096


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ValidationError(
            "Credential name must be 1-64 characters of letters, digits, '.', '_' or '-'",
            {"field": "name"},
        )
    return name


def check_gateway_url(url: Any, field: str = "gateway_url") -> str | None:
    """http/https only, a host, no userinfo (it would put a secret into a URL)."""
    if url is None or url == "":
        return None
    if not isinstance(url, str) or len(url) > 2048:
        raise ValidationError(f"{field} must be a URL string", {"field": field})
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValidationError(f"{field} is not a valid URL", {"field": field}) from None
    del port
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"{field} must be an http or https URL", {"field": field})
    if parts.username is not None or parts.password is not None:
        raise ValidationError(f"{field} must not contain user information", {"field": field})
    return url.rstrip("/")


def origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


def describe(record: CredentialRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "username": record.username,
        "gateway_url": record.gateway_url,
        "description": record.description,
        "password": PLACEHOLDER,
        "created_at": iso(record.created_at),
        "updated_at": iso(record.updated_at),
    }


def _secret(body: dict[str, Any], field: str, *, required: bool) -> str | None:
    value = body.get(field)
    if value is None:
        if required:
            raise ValidationError(f"{field} is required", {"field": field})
        return None
    if not isinstance(value, str) or len(value) > MAX_SECRET:
        raise ValidationError(f"{field} must be a string", {"field": field})
    if value == "" and required:
        raise ValidationError(f"{field} must not be empty", {"field": field})
    return value


ALLOWED_FIELDS = {"name", "username", "password", "gateway_url", "description", "api_token"}


def _check_fields(body: dict[str, Any]) -> None:
    unknown = sorted(set(body) - ALLOWED_FIELDS)
    if unknown:
        raise ValidationError(f"Unknown field(s): {', '.join(unknown)}", {"fields": unknown[:20]})


def _text(body: dict[str, Any], field: str, limit: int) -> str:
    value = body.get(field, "")
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise ValidationError(
            f"{field} must be a string of at most {limit} characters", {"field": field}
        )
    return value


async def create(vault: Vault, body: dict[str, Any]) -> CredentialRecord:
    _check_fields(body)
    name = check_name(body.get("name"))
    password = _secret(body, "password", required=True)
    if password == PLACEHOLDER:
        raise ValidationError("password must be the secret itself", {"field": "password"})
    api_token = _secret(body, "api_token", required=False)
    version, nonce, ciphertext = vault.encrypt(name, {"password": password, "api_token": api_token})
    try:
        return await CredentialRecord.create(
            name=name,
            username=_text(body, "username", 255),
            gateway_url=check_gateway_url(body.get("gateway_url")),
            description=_text(body, "description", 2000),
            key_version=version,
            nonce=nonce,
            ciphertext=ciphertext,
        )
    except IntegrityError:
        raise ValidationError(f"Credential '{name}' already exists", {"name": name}) from None


async def update(vault: Vault, name: str, body: dict[str, Any]) -> CredentialRecord:
    """``$encrypted$`` (or an absent field) keeps the stored secret, as AWX does."""
    _check_fields(body)
    record = await get(name)
    values = vault.decrypt(record)
    for field in ("password", "api_token"):
        if field in body and body[field] != PLACEHOLDER:
            value = _secret(body, field, required=field == "password")
            values[field] = value
    if "username" in body:
        record.username = _text(body, "username", 255)
    if "description" in body:
        record.description = _text(body, "description", 2000)
    if "gateway_url" in body:
        record.gateway_url = check_gateway_url(body.get("gateway_url"))
    record.key_version, record.nonce, record.ciphertext = vault.encrypt(record.name, values)
    await record.save()
    return record


async def get(name: str) -> CredentialRecord:
    check_name(name)
    record = await CredentialRecord.get_or_none(name=name)
    if record is None:
        raise CredentialNotFoundError(f"Credential '{name}' not found", {"name": name})
    return record


def resolver(
    vault: Vault, read: CredentialRecord | None = None
) -> Callable[[str], Awaitable[Credential]]:
    """Credentials by name for one execution. ``read`` is a row the start already read (the
    execution's own credential): using it saves the run a second read of the same row, and the run
    uses that credential as it was when the run was accepted."""

    async def resolve(name: str) -> Credential:
        record = read if read is not None and read.name == name else None
        if record is None:
            record = await CredentialRecord.get_or_none(name=name)
        if record is None:
            raise CredentialNotFoundError(f"Credential '{name}' not found", {"name": name})
        values = vault.decrypt(record)
        return Credential(
            name=record.name,
            username=record.username,
            password=values.get("password") or "",
            gateway_url=record.gateway_url,
            api_token=values.get("api_token"),
            description=record.description,
        )

    return resolve


__all__ = [
    "check_gateway_url",
    "check_name",
    "create",
    "describe",
    "get",
    "origin",
    "resolver",
    "update",
]
