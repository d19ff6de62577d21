"""The error envelope everywhere (framework errors included) and the credential vault."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from api_support import Running, isolated_plugins, wait_status
from quart import Quart

from ignition_toolbox.api import create_app
from ignition_toolbox.api.models import CredentialRecord
from ignition_toolbox.api.vault import Keyring, Vault, VaultError, open_vault

SECRET = "S3CR3T-4f1c2b7e-secret"


def assert_envelope(body: Any, code: str) -> None:
    assert set(body) == {"detail"}
    assert {"error", "message", "details"} <= set(body["detail"])
    assert body["detail"]["error"] == code


async def test_framework_404_405_and_413_use_the_envelope(running: Running) -> None:
    missing = await running.client.get("/api/nothing-here")
    assert missing.status_code == 404
    assert_envelope(await missing.get_json(), "not_found")
    wrong = await running.client.patch("/api/health")
    assert wrong.status_code == 405
    assert_envelope(await wrong.get_json(), "method_not_allowed")
    big = await running.client.post(
        "/api/executions",
        data=b"{" + b" " * (2 * 1024 * 1024) + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert big.status_code == 400
    body = await big.get_json()
    assert_envelope(body, "validation_error")
    assert body["detail"]["details"]["limit_bytes"] == 1024 * 1024


async def test_headers_have_no_server_and_are_not_cached(running: Running) -> None:
    response = await running.client.get("/api/health")
    assert "Server" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    "payload",
    [
        b"[" * 10_000 + b"]" * 10_000,
        b"not json",
        b"[1,2]",
        b'{"parameters": ' + b"[" * 100 + b"]" * 100 + b"}",
    ],
)
async def test_bad_json_bodies_are_validation_errors(running: Running, payload: bytes) -> None:
    response = await running.client.post(
        "/api/executions", data=payload, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert_envelope(await response.get_json(), "validation_error")


async def test_unhandled_errors_are_500_without_internals(make_settings: Any) -> None:
    app: Quart = create_app(make_settings(), plugins=isolated_plugins())

    async with app.test_app() as test_app:
        from ignition_toolbox.api import executions

        original = executions.detail_view

        async def broken(record: Any) -> Any:
            raise RuntimeError("SELECT * FROM secret_table /very/secret/path")

        executions.detail_view = broken  # type: ignore[assignment]
        import ignition_toolbox.api.routes.executions as route_module

        route_module.detail_view = broken  # type: ignore[assignment]
        try:
            client = test_app.test_client()
            started = await client.post(
                "/api/executions", json={"playbook_path": "gateway/ok.yaml"}
            )
            execution_id = (await started.get_json())["execution_id"]
            response = await client.get(f"/api/executions/{execution_id}")
        finally:
            executions.detail_view = original  # type: ignore[assignment]
            route_module.detail_view = original  # type: ignore[assignment]
        assert response.status_code == 500
        text = await response.get_data(as_text=True)
        assert "SELECT" not in text and "/very/secret" not in text and "Traceback" not in text
        body = json.loads(text)
        assert_envelope(body, "internal_error")
        assert body["detail"]["request_id"]


# -- credentials ---------------------------------------------------------------------------------


async def test_credentials_never_return_secrets(running: Running) -> None:
    created = await running.client.post(
        "/api/credentials",
        json={
            "name": "plant-gw",
            "username": "admin",
            "password": SECRET,
            "api_token": SECRET + "-token",
            "gateway_url": "http://localhost:8088",
            "description": "Local development gateway",
        },
    )
    assert created.status_code == 201
    assert await created.get_json() == {
        "message": "Credential saved successfully",
        "name": "plant-gw",
    }
    listing = await running.client.get("/api/credentials")
    text = await listing.get_data(as_text=True)
    assert SECRET not in text
    item = (await listing.get_json())["credentials"][0]
    assert {k: item[k] for k in ("name", "username", "gateway_url", "description")} == {
        "name": "plant-gw",
        "username": "admin",
        "gateway_url": "http://localhost:8088",
        "description": "Local development gateway",
    }
    one = await running.client.get("/api/credentials/plant-gw")
    assert (await one.get_json())["password"] == "$encrypted$"
    duplicate = await running.client.post(
        "/api/credentials", json={"name": "plant-gw", "username": "x", "password": "y12"}
    )
    assert duplicate.status_code == 400


async def test_placeholder_update_keeps_the_secret(running: Running) -> None:
    await running.client.post(
        "/api/credentials", json={"name": "gw", "username": "u", "password": SECRET}
    )
    kept = await running.client.put(
        "/api/credentials/gw", json={"password": "$encrypted$", "description": "changed"}
    )
    assert kept.status_code == 200
    record = await CredentialRecord.get(name="gw")
    assert running.state.vault.decrypt(record)["password"] == SECRET
    empty = await running.client.put("/api/credentials/gw", json={"password": ""})
    assert empty.status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x" * 10_000, "password": "p"},
        {"name": "bad\nname", "password": "p"},
        {"name": "../x", "password": "p"},
        {"name": "ok", "password": "p", "gateway_url": "https://u:p@host"},
        {"name": "ok", "password": "p", "gateway_url": "file:///etc/passwd"},
        {"name": "ok", "password": "p", "gateway_url": "gopher://x"},
        {"name": "ok"},
        {"name": "ok", "password": "p", "key_version": 3},
    ],
)
async def test_credential_input_is_validated(running: Running, body: dict[str, Any]) -> None:
    response = await running.client.post("/api/credentials", json=body)
    assert response.status_code == 400
    assert_envelope(await response.get_json(), "validation_error")


async def test_credential_delete_and_not_found(running: Running) -> None:
    await running.client.post("/api/credentials", json={"name": "gw", "password": "pw1"})
    deleted = await running.client.delete("/api/credentials/gw")
    assert await deleted.get_json() == {"message": "Credential deleted successfully"}
    again = await running.client.delete("/api/credentials/gw")
    assert again.status_code == 404
    assert_envelope(await again.get_json(), "credential_not_found")


async def test_execution_uses_credential_without_leaking_it(
    running: Running, tmp_path: Path
) -> None:
    await running.client.post(
        "/api/credentials",
        json={
            "name": "plant-gw",
            "username": "admin",
            "password": SECRET,
            "gateway_url": "http://127.0.0.1:8088",
        },
    )
    refused = await running.client.post(
        "/api/executions",
        json={
            "playbook_path": "examples/cred.yaml",
            "credential_name": "plant-gw",
            "gateway_url": "http://evil.example",
        },
    )
    assert refused.status_code == 400
    started = await running.client.post(
        "/api/executions",
        json={"playbook_path": "examples/cred.yaml", "credential_name": "plant-gw"},
    )
    assert started.status_code == 202
    execution_id = (await started.get_json())["execution_id"]
    detail = await wait_status(running.client, execution_id, {"completed", "failed"})
    assert detail["status"] == "completed", detail
    assert detail["credential"] == "plant-gw"
    assert detail["gateway_url"] == "http://127.0.0.1:8088"
    assert SECRET not in json.dumps(detail)
    assert "user admin" in json.dumps(detail)
    assert detail["step_results"][1]["output"] == {"sent": "***", "length": len(SECRET)}
    data_dir = running.state.settings.data_dir
    for file in data_dir.rglob("*"):
        if file.is_file():
            blob = file.read_bytes()
            assert SECRET.encode() not in blob, file
            assert SECRET.encode("utf-16-le") not in blob, file
            assert base64.b64encode(SECRET.encode()) not in blob, file


async def test_vault_rotation_and_wrong_key(make_settings: Any, tmp_path: Path) -> None:
    settings = make_settings()
    app = create_app(settings, plugins=isolated_plugins())
    async with app.test_app() as test_app:
        client = test_app.test_client()
        for n in range(3):
            await client.post(
                "/api/credentials", json={"name": f"c{n}", "password": f"{SECRET}{n}"}
            )
        vault: Vault = app.extensions["itk"].vault
        old_key = dict(vault.keyring.keys)
        version = await vault.rotate()
        assert version == 2
        records = await CredentialRecord.all()
        assert {r.key_version for r in records} == {2}
        assert [vault.decrypt(r)["password"] for r in sorted(records, key=lambda r: r.name)] == [
            f"{SECRET}{n}" for n in range(3)
        ]
        old_only = Vault(Keyring(old_key, 1))
        with pytest.raises(VaultError):
            old_only.decrypt(records[0])
        reloaded = Keyring.load(settings.resolved_secret_key_file)
        assert list(reloaded.keys) == [2]
        # The AAD binds each ciphertext to its row: swapping rows breaks decryption.
        first, second = records[0], records[1]
        first.ciphertext, first.nonce = second.ciphertext, second.nonce
        with pytest.raises(VaultError):
            vault.decrypt(first)
        # A missing key file with credentials present refuses, and writes no new key.
        key_file = settings.resolved_secret_key_file
        moved = key_file.with_suffix(".bak")
        key_file.rename(moved)
        with pytest.raises(VaultError):
            await open_vault(key_file=key_file, env_value=None, data_dir=settings.data_dir)
        assert not key_file.exists()
        # A different key refuses too.
        Keyring.new().save(key_file)
        with pytest.raises(VaultError):
            await open_vault(key_file=key_file, env_value=None, data_dir=settings.data_dir)
        moved.replace(key_file)


async def test_key_file_inside_data_dir_is_refused(make_settings: Any, tmp_path: Path) -> None:
    settings = make_settings(secret_key_file=tmp_path / "data" / "secret.key")
    app = create_app(settings, plugins=isolated_plugins())
    with pytest.raises(Exception, match="outside the data directory"):
        async with app.test_app():
            pass
