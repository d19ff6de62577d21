"""SR-16 and SECURITY.md case 68: at DEBUG, with every library logging, no record carries an
``itk_`` key, an ``api_key=``/``ticket=`` value, URL userinfo or a stored secret."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from api_support import Running, role_keys, wait_status

from ignition_toolbox.api.keys import generate_key
from ignition_toolbox.api.logs import RedactingFilter, redact

SECRET = "S3CR3T-6f1c2d"


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.addFilter(RedactingFilter())
        self.setFormatter(logging.Formatter("%(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def debug_records() -> Iterator[_Capture]:
    root = logging.getLogger()
    handler, level = _Capture(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def test_filter_redacts_keys_query_values_and_userinfo(debug_records: _Capture) -> None:
    key = generate_key()
    log = logging.getLogger("itk.test")
    log.debug("key %s in a message", key)
    log.debug("GET /ws/executions?api_key=%s&x=1", key)
    log.debug("GET /ws/executions?ticket=tk-123456&x=1")
    log.debug("connecting to %s", "https://admin:hunter2@gw.example:8043/main")
    log.info("args that are not strings: %d %r", 3, {"k": key})
    text = "\n".join(debug_records.lines)
    assert key not in text and key[4:] not in text
    assert "tk-123456" not in text and "hunter2" not in text
    assert "admin:" not in text and "gw.example:8043/main" in text
    assert redact(f"X-API-Key: {key}") == "X-API-Key: itk_***"


async def test_run_with_a_credential_logs_no_secret_or_key(
    secured: Running, debug_records: _Capture
) -> None:
    keys = await role_keys()
    admin = {"X-API-Key": keys["admin"]}
    created = await secured.client.post(
        "/api/credentials",
        json={
            "name": "plant-gw",
            "username": "operator",
            "password": SECRET,
            "gateway_url": "http://127.0.0.1:9",
        },
        headers=admin,
    )
    assert created.status_code == 201
    response = await secured.client.post(
        "/api/executions",
        json={
            "playbook_path": "examples/cred.yaml",
            "parameters": {"cred": "plant-gw"},
            "credential_name": "plant-gw",
        },
        headers=admin,
    )
    assert response.status_code == 202
    execution_id = (await response.get_json())["execution_id"]
    await wait_status(secured.client, execution_id, {"completed", "failed"}, headers=admin)
    await secured.client.get(f"/api/executions?api_key={keys['user']}")
    assert debug_records.lines, "nothing was logged at DEBUG"
    text = "\n".join(debug_records.lines)
    assert SECRET not in text
    for raw in keys.values():
        assert raw not in text and raw[4:] not in text
