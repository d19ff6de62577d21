"""Credential rows that fail their integrity check (SR-5): a ciphertext swapped between two rows in
the SQLite file makes those rows unusable and reported (500, audit row, log event) until a PUT enters
their secrets again, and never stops the server from starting; a wrong or missing key still does."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path
from typing import Any

import api_test_plugin
import credential_step_plugin
import pytest
from api_support import start_server, wait_status

from ignition_toolbox.api import Settings, create_app
from ignition_toolbox.api.models import AuditRecord, CredentialRecord
from ignition_toolbox.api.vault import Keyring, VaultError
from ignition_toolbox.core import PluginManager

SECRET = "S3CR3T-9d2e41aa-integrity"
EVENT = "credential.integrity_failure"
# Resolves the execution's credential as gateway and Perspective login steps do.
USE_YAML = """\
name: Use a credential
version: "1.0"
steps:
  - id: use
    name: Log in
    type: testing.log_in
"""


def plugins() -> PluginManager:
    return PluginManager(
        entry_points=False,
        extra=[("testplugin", api_test_plugin), ("credstep", credential_step_plugin)],
    )


def database_file(settings: Settings) -> Path:
    return Path(settings.resolved_database_url.removeprefix("sqlite://"))


def swap_ciphertexts(db: Path, first: str, second: str) -> None:
    """What an attacker with write access to the DB file (and not the key) can do."""
    with sqlite3.connect(db) as connection:
        rows = dict(
            (name, (nonce, ciphertext))
            for name, nonce, ciphertext in connection.execute(
                "SELECT name, nonce, ciphertext FROM credentials WHERE name IN (?, ?)",
                (first, second),
            )
        )
        for name, other in ((first, second), (second, first)):
            connection.execute(
                "UPDATE credentials SET nonce = ?, ciphertext = ? WHERE name = ?",
                (*rows[other], name),
            )
    connection.close()


async def create_credentials(client: Any, *names: str) -> None:
    for name in names:
        response = await client.post(
            "/api/credentials",
            json={
                "name": name,
                "username": f"user-{name}",
                "password": f"{SECRET}-{name}",
                "gateway_url": "http://127.0.0.1:9",
            },
        )
        assert response.status_code == 201, await response.get_json()


def integrity_events(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if getattr(r, "event", None) == EVENT]


@pytest.fixture
def settings(make_settings: Any, playbooks_dir: Path) -> Settings:
    (playbooks_dir / "examples" / "use.yaml").write_text(USE_YAML)
    return make_settings()


async def run_with(client: Any, credential: str) -> dict[str, Any]:
    started = await client.post(
        "/api/executions",
        json={"playbook_path": "examples/use.yaml", "credential_name": credential},
    )
    assert started.status_code == 202, await started.get_json()
    execution_id = (await started.get_json())["execution_id"]
    return await wait_status(client, execution_id, {"completed", "failed"})


async def test_a_swapped_row_fails_the_test_with_a_500_an_audit_row_and_a_log_event(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    app = create_app(settings, plugins=plugins())
    async with app.test_app() as test_app:
        client = test_app.test_client()
        await create_credentials(client, "plant-a", "plant-b", "plant-c")
        swap_ciphertexts(database_file(settings), "plant-a", "plant-b")

        response = await client.post("/api/credentials/plant-a/test")
        assert response.status_code == 500
        body = await response.get_json()
        assert body["detail"]["error"] == "internal_error"
        message = body["detail"]["message"]
        assert "plant-a" in message and "integrity check" in message
        for internal in ("InvalidTag", "AESGCM", "aad", "Traceback", SECRET):
            assert internal not in json.dumps(body)

        audit = await AuditRecord.filter(action=EVENT).all()
        assert [(a.target, a.outcome, a.details["where"]) for a in audit] == [
            ("plant-a", "failure", "test")
        ]
        events = integrity_events(caplog)
        assert [(r.fields["credential"], r.fields["where"]) for r in events] == [  # type: ignore[attr-defined]
            ("plant-a", "test")
        ]
        assert (
            "credential.integrity_failure credential=plant-a where=test" in events[0].getMessage()
        )
        assert not any(SECRET in r.getMessage() for r in caplog.records)

        # A run that uses the row fails, saying why; an untouched row still works.
        failed = await run_with(client, "plant-b")
        assert failed["status"] == "failed", failed
        error = failed["step_results"][0]["error"]
        assert error["code"] == "internal_error"
        assert "Credential 'plant-b' failed its integrity check" in error["message"]
        assert SECRET not in json.dumps(failed)
        assert (await run_with(client, "plant-c"))["status"] == "completed"
        assert await AuditRecord.filter(action=EVENT, target="plant-b").count() == 1


async def test_a_damaged_row_never_stops_a_restart_and_a_put_with_secrets_repairs_it(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    first = create_app(settings, plugins=plugins())
    async with first.test_app() as test_app:
        await create_credentials(test_app.test_client(), "plant-a", "plant-b")
    # The only two rows are swapped: no row decrypts, yet the key is right (its check value says
    # so), so the server starts and reports both.
    swap_ciphertexts(database_file(settings), "plant-a", "plant-b")

    second = create_app(settings, plugins=plugins())
    async with second.test_app() as test_app:
        client = test_app.test_client()
        startup = await AuditRecord.filter(action=EVENT).order_by("target").all()
        assert [(a.target, a.details["where"]) for a in startup] == [
            ("plant-a", "startup"),
            ("plant-b", "startup"),
        ]
        assert {r.fields["credential"] for r in integrity_events(caplog)} == {  # type: ignore[attr-defined]
            "plant-a",
            "plant-b",
        }
        listed = await (await client.get("/api/credentials")).get_json()
        assert [c["name"] for c in listed["credentials"]] == ["plant-a", "plant-b"]

        # Rotation would strand a damaged row on a dropped key version: it refuses instead.
        with pytest.raises(VaultError, match="plant-a, plant-b"):
            await second.extensions["itk"].vault.rotate()

        # Keeping the stored secret is impossible: the PUT must bring it again.
        for body in ({"description": "x"}, {"password": "$encrypted$"}):
            kept = await client.put("/api/credentials/plant-a", json=body)
            assert kept.status_code == 400
            detail = (await kept.get_json())["detail"]
            assert (
                detail["error"] == "validation_error" and "send the password" in detail["message"]
            )
        repaired = await client.put("/api/credentials/plant-a", json={"password": "new-secret-a"})
        assert repaired.status_code == 200, await repaired.get_json()
        assert await AuditRecord.filter(action="credential.integrity_repaired").count() == 1
        record = await CredentialRecord.get(name="plant-a")
        assert second.extensions["itk"].vault.decrypt(record)["password"] == "new-secret-a"
        tested = await client.post("/api/credentials/plant-a/test", json={"timeout": 1})
        assert tested.status_code == 200, await tested.get_json()
        assert (await run_with(client, "plant-a"))["status"] == "completed"
        still = await client.post("/api/credentials/plant-b/test")
        assert still.status_code == 500

    third = create_app(settings, plugins=plugins())
    async with third.test_app():
        again = await AuditRecord.filter(action=EVENT).all()
        at_start = sorted(a.target for a in again if a.details["where"] == "startup")
        assert at_start == ["plant-a", "plant-b", "plant-b"]  # plant-a is whole again


async def test_a_wrong_or_missing_key_still_refuses_to_start(settings: Settings) -> None:
    app = create_app(settings, plugins=plugins())
    async with app.test_app() as test_app:
        await create_credentials(test_app.test_client(), "plant-a")
    key_file = settings.resolved_secret_key_file
    right = key_file.read_bytes()

    Keyring.new().save(key_file)  # same version number, different key
    with pytest.raises(Exception, match="not the key the stored credentials were encrypted with"):
        async with create_app(settings, plugins=plugins()).test_app():
            pass

    # A database from before check values existed: a version none of whose rows decrypts is a
    # wrong key, and it still refuses.
    with sqlite3.connect(database_file(settings)) as connection:
        connection.execute("DELETE FROM vault_keys")
    connection.close()
    with pytest.raises(Exception, match="no stored credential decrypts"):
        async with create_app(settings, plugins=plugins()).test_app():
            pass

    key_file.unlink()
    with pytest.raises(Exception, match="missing"):
        async with create_app(settings, plugins=plugins()).test_app():
            pass
    assert not key_file.exists()

    key_file.write_bytes(right)
    async with create_app(settings, plugins=plugins()).test_app() as test_app:
        response = await test_app.test_client().post(
            "/api/credentials/plant-a/test", json={"timeout": 1}
        )
        assert response.status_code == 200
        # The legacy database got its check value back on this start.
        with sqlite3.connect(database_file(settings)) as connection:
            assert connection.execute("SELECT count(*) FROM vault_keys").fetchone()[0] == 1
        connection.close()


def test_a_real_server_restarts_with_a_damaged_row(
    server_paths: tuple[Path, Path, Path],
) -> None:
    import httpx

    data_dir, playbooks, key_file = server_paths
    first = start_server(data_dir, playbooks, key_file)
    try:
        with httpx.Client(base_url=first.url, timeout=10) as client:
            for name in ("plant-a", "plant-b"):
                created = client.post(
                    "/api/credentials",
                    json={
                        "name": name,
                        "password": f"{SECRET}-{name}",
                        "gateway_url": "http://127.0.0.1:9",
                    },
                )
                assert created.status_code == 201, created.text
    finally:
        first.stop()
    swap_ciphertexts(data_dir / "itk.sqlite3", "plant-a", "plant-b")
    second = start_server(data_dir, playbooks, key_file)
    try:
        with httpx.Client(base_url=second.url, timeout=10) as client:
            response = client.post("/api/credentials/plant-a/test")
            assert response.status_code == 500
            assert response.json()["detail"]["error"] == "internal_error"
    finally:
        second.stop()
    output = "".join(second.output)
    assert EVENT in output and SECRET not in output
