"""Tortoise models of everything the server keeps. The schema changes only through migrations/."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

APP_LABEL = "itk"


class ExecutionRecord(Model):
    """One execution. Written before the start is acknowledged, so every id a client saw exists."""

    id = fields.CharField(max_length=36, primary_key=True)
    playbook_path = fields.CharField(max_length=1024)
    playbook_name = fields.CharField(max_length=255)
    playbook_hash = fields.CharField(max_length=64)
    status = fields.CharField(max_length=16, db_index=True)
    parameters = fields.JSONField(default=dict)
    gateway_url = fields.CharField(max_length=2048, null=True)
    credential_name = fields.CharField(max_length=64, null=True)
    debug_mode = fields.BooleanField(default=False)
    current_step_index = fields.IntField(default=0)
    total_steps = fields.IntField(default=0)
    error = fields.JSONField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    started_at = fields.DatetimeField(null=True)
    completed_at = fields.DatetimeField(null=True)
    created_by = fields.CharField(max_length=64, null=True)
    idempotency_key = fields.CharField(max_length=255, null=True, unique=True)
    request_hash = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "executions"
        app = APP_LABEL


class StepResultRecord(Model):
    id = fields.IntField(primary_key=True)
    execution: fields.ForeignKeyRelation[ExecutionRecord] = fields.ForeignKeyField(
        f"{APP_LABEL}.ExecutionRecord", related_name="steps", on_delete=fields.CASCADE
    )
    step_index = fields.IntField()
    step_id = fields.CharField(max_length=128)
    step_name = fields.CharField(max_length=255)
    step_type = fields.CharField(max_length=128)
    status = fields.CharField(max_length=16)
    started_at = fields.DatetimeField(null=True)
    completed_at = fields.DatetimeField(null=True)
    output = fields.JSONField(null=True)
    error = fields.JSONField(null=True)
    attempts = fields.IntField(default=0)

    class Meta:
        table = "step_results"
        app = APP_LABEL
        unique_together = (("execution", "step_index"),)


class ArtifactRecord(Model):
    id = fields.CharField(max_length=32, primary_key=True)
    execution: fields.ForeignKeyRelation[ExecutionRecord] = fields.ForeignKeyField(
        f"{APP_LABEL}.ExecutionRecord", related_name="artifacts", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=255)
    kind = fields.CharField(max_length=32)
    content_type = fields.CharField(max_length=128)
    filename = fields.CharField(max_length=255)
    size = fields.BigIntField(default=0)
    step_id = fields.CharField(max_length=128, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "artifacts"
        app = APP_LABEL


class CredentialRecord(Model):
    """Metadata in clear, secrets only as AES-GCM ciphertext bound to the row name and key version."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64, unique=True)
    username = fields.CharField(max_length=255, default="")
    gateway_url = fields.CharField(max_length=2048, null=True)
    # Origins besides the gateway's that may receive the secrets (an identity provider's login).
    extra_origins = fields.JSONField(default=list)
    description = fields.TextField(default="")
    key_version = fields.IntField()
    nonce = fields.BinaryField()
    ciphertext = fields.BinaryField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "credentials"
        app = APP_LABEL


class VaultKeyRecord(Model):
    """A check value per key version, never key material.

    HMAC-SHA256 of a fixed label under the key. Start-up compares it with the key it was given, so
    a wrong key (refuse to start) is told apart from one damaged credential row (that row alone
    becomes unusable).
    """

    version = fields.IntField(primary_key=True, generated=False)
    fingerprint = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "vault_keys"
        app = APP_LABEL


class ApiKeyRecord(Model):
    """Only the SHA-256 of a key is kept. The raw key is shown once, at creation."""

    id = fields.CharField(max_length=32, primary_key=True)
    name = fields.CharField(max_length=128)
    role = fields.CharField(max_length=16)
    key_hash = fields.CharField(max_length=64, unique=True)
    display_prefix = fields.CharField(max_length=12)
    created_by = fields.CharField(max_length=32, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    expires_at = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "api_keys"
        app = APP_LABEL


class AuditRecord(Model):
    """Append-only through the API: there is no route that updates or deletes these rows."""

    id = fields.IntField(primary_key=True)
    timestamp = fields.DatetimeField(auto_now_add=True, db_index=True)
    actor = fields.CharField(max_length=64, null=True)
    action = fields.CharField(max_length=64, db_index=True)
    target = fields.CharField(max_length=255, null=True)
    outcome = fields.CharField(max_length=16, default="success")
    ip = fields.CharField(max_length=64, null=True)
    details = fields.JSONField(default=dict)

    class Meta:
        table = "audit_events"
        app = APP_LABEL


__all__ = [
    "APP_LABEL",
    "ApiKeyRecord",
    "ArtifactRecord",
    "AuditRecord",
    "CredentialRecord",
    "ExecutionRecord",
    "StepResultRecord",
    "VaultKeyRecord",
]
