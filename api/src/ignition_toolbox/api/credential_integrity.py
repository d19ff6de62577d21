"""Credential rows that fail their integrity check (SR-5): reported, and kept out of use.

A row whose ciphertext does not authenticate (swapped from another row, damaged, written without
the key) is evidence of tampering or corruption, so each detection leaves both a structured log
event and an audit row. The row itself stays unusable, since every use decrypts first, until a
PUT enters its secrets again.
"""

from __future__ import annotations

import logging
from typing import Any

from . import audit, logs
from .models import CredentialRecord
from .vault import CredentialIntegrityError, Vault

log = logging.getLogger(__name__)

EVENT = "credential.integrity_failure"


async def report(name: str, *, where: str, actor: str | None = None, ip: str | None = None) -> None:
    """Log and audit one detection; ``where`` says what tried to use the row (startup, test,
    execution, update)."""
    logs.event(log, EVENT, level=logging.ERROR, credential=name, where=where)
    await audit.record(
        EVENT, actor=actor, target=name, outcome="failure", ip=ip, details={"where": where}
    )


async def repaired(name: str, *, actor: str | None = None, ip: str | None = None) -> None:
    """A PUT entered the secrets of a row that had failed: it is usable again."""
    logs.event(log, "credential.integrity_repaired", level=logging.INFO, credential=name)
    await audit.record("credential.integrity_repaired", actor=actor, target=name, ip=ip)


async def open_secrets(
    vault: Vault,
    record: CredentialRecord,
    *,
    where: str,
    actor: str | None = None,
    ip: str | None = None,
) -> dict[str, Any]:
    """Decrypt ``record``; a row that does not authenticate is reported before the error (an
    ``internal_error``) goes on to the caller."""
    try:
        return vault.decrypt(record)
    except CredentialIntegrityError:
        await report(record.name, where=where, actor=actor, ip=ip)
        raise


__all__ = ["EVENT", "open_secrets", "repaired", "report"]
