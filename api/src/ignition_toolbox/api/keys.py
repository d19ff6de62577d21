"""API keys (SR-3): ``itk_`` + 256 random bits + CRC32, stored as SHA-256, with mandatory expiry.

The checksum lets a mistyped or forged key be refused without touching the database.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ignition_toolbox.core import ValidationError

from .models import ApiKeyRecord
from .permissions import ROLES

PREFIX = "itk_"
MAX_KEY_LENGTH = 128
DEFAULT_EXPIRY_DAYS = 90
MAX_EXPIRY_DAYS = 365
_SHAPE = re.compile(r"itk_[0-9a-f]{72}")


def _checksum(body: str) -> str:
    return f"{zlib.crc32(body.encode('ascii')) & 0xFFFFFFFF:08x}"


def generate_key() -> str:
    body = secrets.token_hex(32)
    return f"{PREFIX}{body}{_checksum(body)}"


def is_well_formed(raw: str) -> bool:
    """Exact shape and a matching checksum; cheap enough to run before any lookup."""
    if len(raw) > MAX_KEY_LENGTH or not _SHAPE.fullmatch(raw):
        return False
    body, check = raw[4:68], raw[68:]
    return secrets.compare_digest(_checksum(body), check)


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


def describe(record: ApiKeyRecord) -> dict[str, Any]:
    """What a listing may show: never the hash, never the full key."""
    now = datetime.now(UTC)
    return {
        "key_id": record.id,
        "name": record.name,
        "role": record.role,
        "display_prefix": record.display_prefix,
        "created_at": iso(record.created_at),
        "expires_at": iso(record.expires_at),
        "last_used": iso(record.last_used_at),
        "revoked": record.revoked_at is not None,
        "active": record.revoked_at is None and record.expires_at > now,
        "created_by": record.created_by,
    }


def iso(value: datetime | str | None) -> str | None:
    """A UTC timestamp as the API writes it; text is taken as already written so."""
    if value is None or isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class NewKey:
    record: ApiKeyRecord
    raw: str


def check_role(role: Any) -> str:
    if not isinstance(role, str) or role not in ROLES:
        raise ValidationError(
            f"role must be one of {', '.join(ROLES)}", {"field": "role", "allowed": list(ROLES)}
        )
    return role


def check_expiry(days: Any) -> int:
    if days is None:
        return DEFAULT_EXPIRY_DAYS
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_EXPIRY_DAYS:
        raise ValidationError(
            f"expires_in_days must be an integer from 1 to {MAX_EXPIRY_DAYS}",
            {"field": "expires_in_days", "min": 1, "max": MAX_EXPIRY_DAYS},
        )
    return days


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not 1 <= len(name) <= 128 or not name.isprintable():
        raise ValidationError("name must be 1 to 128 printable characters", {"field": "name"})
    return name


async def create_key(
    role: str, name: str, *, created_by: str | None = None, expires_in_days: int | None = None
) -> NewKey:
    days = check_expiry(expires_in_days)
    raw = generate_key()
    record = await ApiKeyRecord.create(
        id=uuid.uuid4().hex,
        name=check_name(name),
        role=check_role(role),
        key_hash=hash_key(raw),
        display_prefix=raw[:12],
        created_by=created_by,
        expires_at=datetime.now(UTC) + timedelta(days=days),
    )
    return NewKey(record, raw)


async def active_admin_count() -> int:
    return await ApiKeyRecord.filter(
        role="admin", revoked_at=None, expires_at__gt=datetime.now(UTC)
    ).count()


async def find_active(raw: str) -> tuple[ApiKeyRecord | None, str]:
    """Look a well-formed key up; the second item is the failure reason for the audit row."""
    record = await ApiKeyRecord.get_or_none(key_hash=hash_key(raw))
    if record is None:
        return None, "unknown"
    if record.revoked_at is not None:
        return None, "revoked"
    expires = record.expires_at
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    if expires <= datetime.now(UTC):
        return None, "expired"
    return record, "ok"


__all__ = [
    "DEFAULT_EXPIRY_DAYS",
    "MAX_EXPIRY_DAYS",
    "PREFIX",
    "NewKey",
    "active_admin_count",
    "check_expiry",
    "check_name",
    "check_role",
    "create_key",
    "describe",
    "find_active",
    "generate_key",
    "hash_key",
    "is_well_formed",
]
