"""The credential vault (SR-5): AES-256-GCM, additional data binding each ciphertext to its row
name and key version, and a versioned keyring kept outside the data directory.

A refusal to start is better than a server that silently cannot decrypt what it stores, so a missing
or mismatched key stops start-up and no new key is written over it. One row that does not
authenticate under the right key is another matter (a swapped or damaged ciphertext): it must not
keep every other credential from being used, so start-up reports it and carries on, and the row
stays unusable until its secrets are entered again. The two are told apart by a check value per
key version kept in the database (``VaultKeyRecord``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ignition_toolbox.core import ToolboxError, atomic_write

from .models import CredentialRecord, VaultKeyRecord

PLACEHOLDER = "$encrypted$"


class VaultError(Exception):
    """The keyring is missing, malformed or does not match the stored credentials."""


class CredentialIntegrityError(VaultError, ToolboxError):
    """One row does not authenticate under the right key: its ciphertext was swapped, damaged or
    written by someone without the key. An ``internal_error`` (500) to a client; the message names
    the credential and the repair, nothing of the cryptography."""

    code = "internal_error"

    def __init__(self, name: str) -> None:
        ToolboxError.__init__(
            self,
            f"Credential '{name}' failed its integrity check and cannot be used; enter its "
            "secrets again (PUT with the password) to repair it",
            {"name": name},
        )
        self.name = name


_FINGERPRINT_LABEL = b"itk-vault-key-check|v1"


@dataclass
class Keyring:
    keys: dict[int, bytes] = field(default_factory=dict)
    current: int = 0
    path: Path | None = None

    @classmethod
    def new(cls, path: Path | None = None) -> Keyring:
        return cls({1: AESGCM.generate_key(256)}, 1, path)

    @classmethod
    def from_env_value(cls, value: str) -> Keyring:
        try:
            key = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise VaultError("ITK_SECRET_KEY is not valid base64") from None
        if len(key) != 32:
            raise VaultError("ITK_SECRET_KEY must be 32 bytes, base64-encoded")
        return cls({1: key}, 1, None)

    @classmethod
    def load(cls, path: Path) -> Keyring:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            keys = {int(v): base64.b64decode(k) for v, k in data["keys"].items()}
            current = int(data["current"])
        except FileNotFoundError:
            raise
        except (OSError, ValueError, KeyError, TypeError):
            raise VaultError(f"the secret key file {path} is malformed") from None
        if current not in keys or any(len(k) != 32 for k in keys.values()):
            raise VaultError(f"the secret key file {path} is malformed")
        return cls(keys, current, path)

    def save(self, path: Path | None = None) -> None:
        """Atomic and 0600: a crash mid-write leaves the previous keyring intact."""
        target = path or self.path
        if target is None:
            raise VaultError("this keyring came from ITK_SECRET_KEY and cannot be saved")
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        payload = json.dumps(
            {
                "current": self.current,
                "keys": {str(v): base64.b64encode(k).decode() for v, k in self.keys.items()},
            }
        ).encode()
        atomic_write(target, payload, mode=0o600)
        self.path = target

    def add_version(self) -> int:
        self.current = max(self.keys) + 1
        self.keys[self.current] = AESGCM.generate_key(256)
        return self.current

    def fingerprint(self, version: int) -> str:
        """A check value of one key: an HMAC of a fixed label, so it tells keys apart and gives
        nothing away about them."""
        return hmac.new(self.keys[version], _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()


def _aad(name: str, version: int) -> bytes:
    return f"itk-credential|{name}|v{version}".encode()


class Vault:
    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring

    def encrypt(self, name: str, secrets_: dict[str, Any]) -> tuple[int, bytes, bytes]:
        version = self.keyring.current
        nonce = secrets.token_bytes(12)
        plaintext = json.dumps(secrets_, separators=(",", ":")).encode()
        ciphertext = AESGCM(self.keyring.keys[version]).encrypt(
            nonce, plaintext, _aad(name, version)
        )
        return version, nonce, ciphertext

    def decrypt(self, record: CredentialRecord) -> dict[str, Any]:
        key = self.keyring.keys.get(record.key_version)
        if key is None:
            raise VaultError(f"no key version {record.key_version} in the keyring")
        try:
            plaintext = AESGCM(key).decrypt(
                bytes(record.nonce), bytes(record.ciphertext), _aad(record.name, record.key_version)
            )
        except InvalidTag:
            raise CredentialIntegrityError(record.name) from None
        value: dict[str, Any] = json.loads(plaintext)
        return value

    def authenticates(self, record: CredentialRecord) -> bool:
        try:
            self.decrypt(record)
        except CredentialIntegrityError:
            return False
        return True

    async def verify_all(self) -> list[str]:
        """Refuse a key that is not the one the rows were written with; return the names of the
        rows that fail on their own (the caller reports them, the server still starts).

        A key version the rows use must be in the keyring and match its stored check value. A
        database from before check values existed has none: there, a version is the right key when
        at least one of its rows authenticates, and its check value is recorded from then on.
        """
        records = await CredentialRecord.all()
        stored = {k.version: k.fingerprint for k in await VaultKeyRecord.all()}
        by_version: dict[int, list[CredentialRecord]] = defaultdict(list)
        for record in records:
            by_version[record.key_version].append(record)
        failed: list[str] = []
        for version, rows in sorted(by_version.items()):
            if version not in self.keyring.keys:
                raise VaultError(
                    f"the stored credentials use key version {version}, which the secret key "
                    "does not hold; restore the right key (no new key was written)"
                )
            bad = [r.name for r in rows if not self.authenticates(r)]
            if version in stored:
                if not hmac.compare_digest(stored[version], self.keyring.fingerprint(version)):
                    raise VaultError(
                        f"the secret key (version {version}) is not the key the stored "
                        "credentials were encrypted with; restore the right key "
                        "(no new key was written)"
                    )
            elif len(bad) == len(rows):
                raise VaultError(
                    f"no stored credential decrypts with key version {version} of this secret "
                    "key; restore the right key (no new key was written)"
                )
            failed.extend(bad)
        await self.record_fingerprints(keep=set(by_version))
        return sorted(failed)

    async def record_fingerprints(self, *, keep: Iterable[int] = ()) -> None:
        """Store the check value of every key version in the keyring. A stored value no row relies
        on (``keep`` lists the versions rows use, checked already) is replaced: it belonged to a
        key that was let go while nothing was encrypted with it."""
        for version in self.keyring.keys:
            fingerprint = self.keyring.fingerprint(version)
            existing = await VaultKeyRecord.get_or_none(version=version)
            if existing is None:
                await VaultKeyRecord.create(version=version, fingerprint=fingerprint)
            elif existing.fingerprint != fingerprint and version not in set(keep):
                existing.fingerprint = fingerprint
                await existing.save(update_fields=["fingerprint"])

    async def rotate(self) -> int:
        """New key version, re-encrypt row by row (mixed versions stay readable), drop old keys."""
        if self.keyring.path is None:
            raise VaultError("rotate-key needs a key file, not ITK_SECRET_KEY")
        damaged = [r.name for r in await CredentialRecord.all() if not self.authenticates(r)]
        if damaged:
            # Re-encrypting skips nothing silently: a damaged row left on a dropped key version
            # would stop the next start for good.
            raise VaultError(
                "rotate-key needs every credential readable; repair (PUT) or delete first: "
                + ", ".join(damaged)
            )
        version = self.keyring.add_version()
        self.keyring.save()
        # Recorded before any row moves to it, so a rotation killed halfway still starts.
        await self.record_fingerprints()
        for record in await CredentialRecord.all():
            if record.key_version == version:
                continue
            values = self.decrypt(record)
            record.key_version, record.nonce, record.ciphertext = self.encrypt(record.name, values)
            await record.save(update_fields=["key_version", "nonce", "ciphertext"])
        self.keyring.keys = {version: self.keyring.keys[version]}
        self.keyring.save()
        return version


async def open_vault(*, key_file: Path, env_value: str | None, data_dir: Path) -> Vault:
    """Load the keyring; create one only when there is nothing encrypted yet."""
    if env_value:
        keyring = Keyring.from_env_value(env_value)
    else:
        if key_file.resolve().is_relative_to(data_dir.resolve()):
            raise VaultError("the secret key file must live outside the data directory")
        try:
            keyring = Keyring.load(key_file)
        except FileNotFoundError:
            if await CredentialRecord.all().count():
                raise VaultError(
                    f"the secret key file {key_file} is missing but the database holds "
                    "encrypted credentials; restore the key (no new key was written)"
                ) from None
            keyring = Keyring.new()
            keyring.save(key_file)
    vault = Vault(keyring)
    failed = await vault.verify_all()
    if failed:
        from . import credential_integrity

        for name in failed:
            await credential_integrity.report(name, where="startup", actor="system")
    return vault


__all__ = [
    "PLACEHOLDER",
    "CredentialIntegrityError",
    "Keyring",
    "Vault",
    "VaultError",
    "open_vault",
]
