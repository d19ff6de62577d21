"""Playbook routes: the guide's shapes, writes confined to the writable root, hostile paths."""

from __future__ import annotations

import pytest
from api_support import OK_YAML, Running


async def test_list_playbooks_has_guide_fields(running: Running) -> None:
    response = await running.client.get("/api/playbooks")
    assert response.status_code == 200
    playbooks = (await response.get_json())["playbooks"]
    ok = next(p for p in playbooks if p["path"] == "gateway/ok.yaml")
    assert {k: ok[k] for k in ("name", "path", "domain", "description", "version")} == {
        "name": "OK Playbook",
        "path": "gateway/ok.yaml",
        "domain": "gateway",
        "description": "Quick checks",
        "version": "1.0",
    }
    bad = next(p for p in playbooks if p["path"] == "examples/bad.yaml")
    assert bad["valid"] is False


async def test_get_playbook_details_shape(running: Running) -> None:
    response = await running.client.get("/api/playbooks/gateway/ok.yaml")
    assert response.status_code == 200
    body = await response.get_json()
    assert body["name"] == "OK Playbook"
    assert body["version"] == "1.0"
    assert body["parameters"][0] == {
        "name": "gateway_url",
        "type": "string",
        "required": False,
        "description": "Gateway base URL",
    }
    assert body["steps"][0] == {"id": "first", "name": "First step", "type": "utility.log"}


async def test_invalid_playbook_file_is_a_validation_error(running: Running) -> None:
    response = await running.client.get("/api/playbooks/examples/bad.yaml")
    assert response.status_code == 400
    assert (await response.get_json())["detail"]["error"] == "validation_error"


async def test_duplicate_writes_into_the_writable_root(running: Running) -> None:
    response = await running.client.post(
        "/api/playbooks/duplicate",
        json={"source_path": "gateway/ok.yaml", "new_name": "My Custom Playbook"},
    )
    assert response.status_code == 200
    assert await response.get_json() == {
        "message": "Playbook duplicated successfully",
        "new_path": "gateway/my-custom-playbook.yaml",
    }
    written = running.state.settings.writable_playbooks_dir / "gateway" / "my-custom-playbook.yaml"
    assert "My Custom Playbook" in written.read_text()
    detail = await running.client.get("/api/playbooks/gateway/my-custom-playbook.yaml")
    assert (await detail.get_json())["name"] == "My Custom Playbook"


async def test_put_creates_then_updates_and_delete_removes(running: Running) -> None:
    body = OK_YAML.replace("OK Playbook", "Mine")
    created = await running.client.put("/api/playbooks/mine/new.yaml", data=body)
    assert created.status_code == 201
    updated = await running.client.put("/api/playbooks/mine/new.yaml", data=body)
    assert updated.status_code == 200
    exported = await running.client.get("/api/playbooks/mine/new.yaml/export")
    assert (await exported.get_data(as_text=True)) == body
    deleted = await running.client.delete("/api/playbooks/mine/new.yaml")
    assert deleted.status_code == 200
    missing = await running.client.get("/api/playbooks/mine/new.yaml")
    assert missing.status_code == 404
    assert (await missing.get_json())["detail"]["error"] == "playbook_not_found"


async def test_put_rejects_invalid_yaml_without_writing(running: Running) -> None:
    response = await running.client.put(
        "/api/playbooks/x.yaml", data="!!python/object/apply:os.system ['touch pwned']\n"
    )
    assert response.status_code == 400
    assert (await response.get_json())["detail"]["error"] == "validation_error"
    assert not (running.state.settings.writable_playbooks_dir / "x.yaml").exists()


async def test_read_only_playbooks_cannot_be_deleted(running: Running) -> None:
    response = await running.client.delete("/api/playbooks/gateway/ok.yaml")
    assert response.status_code == 400
    assert (await response.get_json())["detail"]["error"] == "validation_error"


@pytest.mark.parametrize(
    "url",
    [
        "/api/playbooks/..%2F..%2Fetc%2Fpasswd",
        "/api/playbooks/%2e%2e/x.yaml",
        "/api/playbooks/gateway%5C..%5Csecret.yaml",
        "/api/playbooks/C:x.yaml",
        "/api/playbooks/good.yaml%00.txt",
        "/api/playbooks/x.json",
        "/api/playbooks/X.YAML",
    ],
)
async def test_hostile_paths_are_invalid_path(running: Running, url: str) -> None:
    response = await running.client.get(url)
    assert response.status_code == 400, await response.get_data(as_text=True)
    body = await response.get_json()
    assert body["detail"]["error"] == "invalid_path"


async def test_missing_playbook_does_not_leak_base_dir(running: Running) -> None:
    response = await running.client.get("/api/playbooks/gateway/nope.yaml")
    assert response.status_code == 404
    text = await response.get_data(as_text=True)
    assert str(running.state.settings.data_dir) not in text
    assert "repo-playbooks" not in text


async def test_start_with_traversal_in_json_is_invalid_path(running: Running) -> None:
    for path in ("../etc/passwd", "gateway/../../x.yaml"):
        response = await running.client.post("/api/executions", json={"playbook_path": path})
        assert response.status_code == 400
        assert (await response.get_json())["detail"]["error"] == "invalid_path"
