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
from ignition_toolbox.core.origins import OriginError, parse_origin, special_address

from . import credential_integrity
from .keys import iso
from .models import CredentialRecord
from .vault import PLACEHOLDER, CredentialIntegrityError, Vault

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
MAX_SECRET = 4096


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ValidationError(
            "Credential name must be 1-64 characters of letters, digits, '.', '_' or '-'",
            {"field": "name"},
        )
    return name


def check_gateway_url(
    url: Any, field: str = "gateway_url", *, allow_special: bool | None = None
) -> str | None:
    """http/https only, a host, no userinfo (it would put a secret into a URL), and not an
    address no gateway lives at (link-local, unspecified, multicast: ``core.origins``).

    Literal addresses are judged in every spelling ``parse_origin`` reads (``0xa9.0xfe0001``,
    ``2852039166``, ``[::ffff:169.254.0.1]``); names are not resolved, so no lookup is made and a
    name's later answer is not this check's business. ``allow_special`` defaults to the running
    server's ``allow_special_gateway_addresses`` setting (refused outside a server).
    """
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
    try:
        host = parse_origin(url).host
    except OriginError as exc:
        raise ValidationError(
            f"{field} is not a valid URL: {exc.message}", {"field": field}
        ) from None
    reason = special_address(host)
    if reason is not None and not _special_addresses_allowed(allow_special):
        raise ValidationError(
            f"{field} names {reason} ({host}), where no gateway lives; a server started with "
            "--allow-special-gateway-addresses accepts it",
            {"field": field, "address": host},
        )
    return url.rstrip("/")


def _special_addresses_allowed(explicit: bool | None) -> bool:
    if explicit is not None:
        return explicit
    from quart import has_app_context

    if not has_app_context():
        return False
    from .state import current

    return current().settings.allow_special_gateway_addresses


def describe(record: CredentialRecord) -> dict[str, Any]:
    return {
        "name": record.name,
        "username": record.username,
        "gateway_url": record.gateway_url,
        "extra_origins": list(record.extra_origins or []),
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


ALLOWED_FIELDS = {
    "name",
    "username",
    "password",
    "gateway_url",
    "extra_origins",
    "description",
    "api_token",
}
MAX_EXTRA_ORIGINS = 8


def check_extra_origins(value: Any) -> list[str]:
    """A short list of further origins the secrets may go to (an identity provider's login page).

    Each is checked like a gateway URL and kept as its canonical origin, so a comparison later
    cannot be fooled by another spelling of the same host.
    """
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_EXTRA_ORIGINS:
        raise ValidationError(
            f"extra_origins must be a list of at most {MAX_EXTRA_ORIGINS} URLs",
            {"field": "extra_origins"},
        )
    origins: list[str] = []
    for item in value:
        url = check_gateway_url(item, "extra_origins")
        if url is None:
            raise ValidationError(
                "extra_origins must not hold empty URLs", {"field": "extra_origins"}
            )
        origin = str(parse_origin(url))
        if origin not in origins:
            origins.append(origin)
    return origins


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
            extra_origins=check_extra_origins(body.get("extra_origins")),
            description=_text(body, "description", 2000),
            key_version=version,
            nonce=nonce,
            ciphertext=ciphertext,
        )
    except IntegrityError:
        raise ValidationError(f"Credential '{name}' already exists", {"name": name}) from None


async def update(
    vault: Vault,
    name: str,
    body: dict[str, Any],
    *,
    actor: str | None = None,
    ip: str | None = None,
) -> CredentialRecord:
    """``$encrypted$`` (or an absent field) keeps the stored secret, as AWX does; a row that
    failed its integrity check has nothing to keep, so there the secrets must come again."""
    _check_fields(body)
    record = await get(name)
    values, repairing = await _stored_secrets(vault, record, body, actor=actor, ip=ip)
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
    if "extra_origins" in body:
        record.extra_origins = check_extra_origins(body.get("extra_origins"))
    record.key_version, record.nonce, record.ciphertext = vault.encrypt(record.name, values)
    await record.save()
    if repairing:
        await credential_integrity.repaired(record.name, actor=actor, ip=ip)
    return record


async def _stored_secrets(
    vault: Vault,
    record: CredentialRecord,
    body: dict[str, Any],
    *,
    actor: str | None,
    ip: str | None,
) -> tuple[dict[str, Any], bool]:
    """The row's secrets and ``False``; for a row that fails its integrity check, empty secrets and
    ``True`` when the body enters them again (a repair), else a refusal naming what to send."""
    try:
        return vault.decrypt(record), False
    except CredentialIntegrityError:
        await credential_integrity.report(record.name, where="update", actor=actor, ip=ip)
    for field in ("password", "api_token"):
        kept = body.get(field) == PLACEHOLDER or (field == "password" and field not in body)
        if kept:
            raise ValidationError(
                f"Credential '{record.name}' failed its integrity check, so its stored secrets "
                "cannot be kept: send the password again (and the api_token, if it has one) "
                "to repair it",
                {"field": field, "name": record.name},
            )
    return {"password": None, "api_token": None}, True


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
        values = await credential_integrity.open_secrets(vault, record, where="execution")
        return Credential(
            name=record.name,
            username=record.username,
            password=values.get("password") or "",
            gateway_url=record.gateway_url,
            api_token=values.get("api_token"),
            description=record.description,
            extra_origins=tuple(record.extra_origins or ()),
        )

    return resolve


__all__ = [
    "check_extra_origins",
    "check_gateway_url",
    "check_name",
    "create",
    "describe",
    "get",
    "resolver",
    "update",
]
