"""Input files the caller names: in desktop mode (no --auth) an absolute path given for a ``type:
file`` parameter is read as given; with --auth it stays inside uploads and --files-dir, and the
failure says so. A path written in the playbook stays confined in both modes. And the request's
top-level gateway_url / credential_name fill the playbook's parameters of those roles."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from api_support import role_keys, wait_status

LITERAL_YAML = """\
name: Read a fixed file
parameters:
  - {name: extra, type: file, default: "%s"}
steps:
  - {id: read, type: testing.read_file, parameters: {path: "%s"}}
"""


async def start(client: Any, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
    response = await client.post("/api/executions", json=body, headers=headers or {})
    assert response.status_code == 202, await response.get_data()
    execution_id = (await response.get_json())["execution_id"]
    await wait_status(client, execution_id, {"completed", "failed"}, headers=headers)
    return await (
        await client.get(f"/api/executions/{execution_id}", headers=headers or {})
    ).get_json()


def outside_file(tmp_path: Path) -> Path:
    path = tmp_path / "elsewhere" / "module.modl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"12345")
    return path


async def test_desktop_mode_reads_a_callers_absolute_path_as_given(
    running: Any, tmp_path: Path
) -> None:
    path = outside_file(tmp_path)
    detail = await start(
        running.client,
        {"playbook_path": "examples/read.yaml", "parameters": {"path": str(path)}},
    )
    assert detail["status"] == "completed", detail
    assert detail["step_results"][0]["output"] == {"size": 5}


async def test_auth_mode_confines_a_callers_path_and_says_so(secured: Any, tmp_path: Path) -> None:
    path = outside_file(tmp_path)
    keys = await role_keys()
    headers = {"X-API-Key": keys["executor"]}
    detail = await start(
        secured.client,
        {"playbook_path": "examples/read.yaml", "parameters": {"path": str(path)}},
        headers,
    )
    assert detail["status"] == "failed"
    error = detail["step_results"][0]["error"]
    assert error["code"] == "invalid_path"
    assert "enforces API keys (--auth)" in error["message"]
    assert "uploads folder or a --files-dir folder" in error["message"]
    assert str(path.parent) not in error["message"]


async def test_a_path_written_in_the_playbook_stays_confined_in_desktop_mode(
    running: Any, playbooks_dir: Path, tmp_path: Path
) -> None:
    path = outside_file(tmp_path)
    (playbooks_dir / "examples" / "literal.yaml").write_text(LITERAL_YAML % (path, path))
    (playbooks_dir / "examples" / "default.yaml").write_text(
        LITERAL_YAML % (path, "{{ parameter.extra }}")
    )
    for playbook in ("examples/literal.yaml", "examples/default.yaml"):
        detail = await start(running.client, {"playbook_path": playbook})
        assert detail["status"] == "failed", playbook
        error = detail["step_results"][0]["error"]
        assert error["code"] == "invalid_path"
        assert "a path written in the playbook must lie" in error["message"]


async def test_the_top_level_gateway_url_fills_the_parameter(running: Any) -> None:
    response = await running.client.post(
        "/api/executions",
        json={"playbook_path": "gateway/ok.yaml", "gateway_url": "http://gw.example:8088"},
    )
    assert response.status_code == 202, await response.get_data()
    execution_id = (await response.get_json())["execution_id"]
    detail = await wait_status(running.client, execution_id, {"completed", "failed"})
    assert detail["parameters"]["gateway_url"] == "http://gw.example:8088"
    assert detail["gateway_url"] == "http://gw.example:8088"


async def test_a_parameter_and_top_level_field_that_disagree_are_400(running: Any) -> None:
    response = await running.client.post(
        "/api/executions",
        json={
            "playbook_path": "gateway/ok.yaml",
            "parameters": {"gateway_url": "http://one.example:8088"},
            "gateway_url": "http://two.example:8088",
        },
    )
    assert response.status_code == 400
    detail = (await response.get_json())["detail"]
    assert detail["error"] == "validation_error"
    assert detail["details"]["field"] == "gateway_url"


async def test_the_gateway_url_parameter_alone_gets_the_top_level_checks(running: Any) -> None:
    response = await running.client.post(
        "/api/executions",
        json={
            "playbook_path": "gateway/ok.yaml",
            "parameters": {"gateway_url": "http://169.254.169.254/latest"},
        },
    )
    assert response.status_code == 400
    detail = (await response.get_json())["detail"]
    assert detail["error"] == "validation_error"
    assert detail["details"]["field"] == "parameters.gateway_url"
