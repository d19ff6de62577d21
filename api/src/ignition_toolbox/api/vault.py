"""The credential vault (SR-5): AES-256-GCM, additional data binding each ciphertext to its row
name and key version, and a versioned keyring kept outside the data directory.

A refusal to start is better than a server that silently cannot decrypt what it stores, so a missing
or mismatched key stops start-up and no new key is written over it.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ignition_toolbox.core import atomic_write

from .models import CredentialRecord

PLACEHOLDER = "$encrypted$"


class VaultError(Exception):
    """The keyring is missing, malformed or does not match the stored credentials."""


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
            raise VaultError("a stored credential does not decrypt with this key") from None
        value: dict[str, Any] = json.loads(plaintext)
        return value

    async def verify_all(self) -> None:
        for record in await CredentialRecord.all():
            self.decrypt(record)

    async def rotate(self) -> int:
        """New key version, re-encrypt row by row (mixed versions stay readable), drop old keys."""
        if self.keyring.path is None:
            raise VaultError("rotate-key needs a key file, not ITK_SECRET_KEY")
        version = self.keyring.add_version()
        self.keyring.save()
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
    await vault.verify_all()
    return vault


__all__ = ["PLACEHOLDER", "Keyring", "Vault", "VaultError", "open_vault"]
