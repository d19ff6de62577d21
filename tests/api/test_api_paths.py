"""No /api URL is ever merged or redirected: encoded slashes, double slashes and their variants get
400 ``invalid_path`` in the guide's envelope, on a real server (Hypercorn decodes ``%2F`` before the
router sees the path). A 405 names the allowed methods in ``Allow``."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from api_support import ServerProcess

UNSAFE = [
    "/api/playbooks/%2Fetc%2Fpasswd.yaml",
    "/api/playbooks/%2fetc%2fpasswd.yaml",
    "/api/playbooks//etc/passwd.yaml",
    "/api/playbooks/gateway%2F%2Fok.yaml",
    "/api/playbooks/gateway//ok.yaml",
    "/api/playbooks/gateway/%2Fok.yaml",
    "/api/playbooks/%252Fetc%252Fpasswd.yaml",
    "/api/playbooks/gateway%5Cok.yaml",
    "/api//playbooks",
    "/api//health",
    "//api/health",
    "/api/executions//cancel",
    "/api/playbooks/%2Fetc%2Fpasswd.yaml/export",
]


@pytest.fixture(scope="module")
def module_server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from api_support import start_server, write_playbooks

    root = tmp_path_factory.mktemp("paths")
    process = start_server(
        root / "data", write_playbooks(root / "playbooks"), root / "keys" / "secret.key"
    )
    yield process
    process.stop()


def raw_get(server: ServerProcess, path: str, method: str = "GET") -> httpx.Response:
    # httpx keeps the path as written (no normalising of // or %2F) when given a raw target.
    with httpx.Client(timeout=10) as client:
        request = client.build_request(method, server.url)
        request.url = request.url.copy_with(raw_path=path.encode())
        return client.send(request, follow_redirects=False)


@pytest.mark.parametrize("path", UNSAFE)
def test_unsafe_paths_are_400_invalid_path_never_a_redirect(
    module_server: ServerProcess, path: str
) -> None:
    response = raw_get(module_server, path)
    assert response.status_code == 400, (path, response.status_code, response.text[:200])
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("application/json")
    detail = response.json()["detail"]
    assert detail["error"] == "invalid_path"
    assert set(detail) >= {"error", "message", "details"}


def test_an_encoded_slash_between_segments_is_still_a_playbook_path(
    module_server: ServerProcess,
) -> None:
    response = raw_get(module_server, "/api/playbooks/gateway%2Fok.yaml")
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "OK Playbook"


def test_a_405_carries_allow(module_server: ServerProcess) -> None:
    response = raw_get(module_server, "/api/health", "DELETE")
    assert response.status_code == 405
    assert response.json()["detail"]["error"] == "method_not_allowed"
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert "GET" in allowed and "DELETE" not in allowed
    response = raw_get(module_server, "/api/executions", "PUT")
    assert response.status_code == 405
    assert {"GET", "POST"} <= {m.strip() for m in response.headers["allow"].split(",")}
