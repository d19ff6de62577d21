"""Playbook ETags: GET and PUT carry the content hash; ``If-Match`` turns concurrent edits into one
winner and stale-ETag refusals (SECURITY.md case 84)."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from api_support import OK_YAML, Running


def _body(n: int) -> bytes:
    return OK_YAML.replace("Quick checks", f"Edit number {n}").encode()


def _tag(content: bytes) -> str:
    return f'"{hashlib.sha256(content).hexdigest()}"'


async def _put(running: Running, content: bytes, headers: dict[str, str] | None = None) -> Any:
    return await running.client.put(
        "/api/playbooks/mine/edit.yaml", data=content, headers=headers or {}
    )


async def test_get_and_put_carry_the_content_hash(running: Running) -> None:
    created = await _put(running, _body(0))
    assert created.status_code == 201
    assert created.headers["ETag"] == _tag(_body(0))
    fetched = await running.client.get("/api/playbooks/mine/edit.yaml")
    assert fetched.headers["ETag"] == _tag(_body(0))
    shipped = await running.client.get("/api/playbooks/gateway/ok.yaml")
    assert shipped.headers["ETag"] == _tag(OK_YAML.encode())


async def test_concurrent_puts_with_if_match_have_one_winner(running: Running) -> None:
    first = await _put(running, _body(0))
    tag = first.headers["ETag"]
    bodies = [_body(n) for n in range(1, 21)]
    responses = await asyncio.gather(*(_put(running, b, {"If-Match": tag}) for b in bodies))
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 1 and statuses.count(400) == 19
    for response in responses:
        if response.status_code == 400:
            detail = (await response.get_json())["detail"]
            assert detail["error"] == "validation_error"
            assert "stale ETag" in detail["message"]
    winner = bodies[statuses.index(200)]
    on_disk = running.state.settings.writable_playbooks_dir / "mine" / "edit.yaml"
    assert on_disk.read_bytes() == winner
    assert (await running.client.get("/api/playbooks/mine/edit.yaml")).headers["ETag"] == _tag(
        winner
    )


async def test_concurrent_puts_without_if_match_leave_exactly_one_body(running: Running) -> None:
    bodies = [_body(n) for n in range(20)]
    responses = await asyncio.gather(*(_put(running, b) for b in bodies))
    assert all(r.status_code in (200, 201) for r in responses)
    on_disk = running.state.settings.writable_playbooks_dir / "mine" / "edit.yaml"
    assert on_disk.read_bytes() in bodies
    leftovers = [p.name for p in on_disk.parent.iterdir() if p.name != "edit.yaml"]
    assert leftovers == []


async def test_if_match_rules(running: Running) -> None:
    # No file yet: nothing can match, not even "*".
    assert (await _put(running, _body(0), {"If-Match": "*"})).status_code == 400
    tag = (await _put(running, _body(0))).headers["ETag"]
    assert (await _put(running, _body(1), {"If-Match": f"W/{tag}"})).status_code == 400
    assert (await _put(running, _body(1), {"If-Match": f'"other", {tag}'})).status_code == 200
    assert (await _put(running, _body(2), {"If-Match": "*"})).status_code == 200
    stale = await running.client.delete("/api/playbooks/mine/edit.yaml", headers={"If-Match": tag})
    assert stale.status_code == 400
    fresh = _tag(_body(2))
    deleted = await running.client.delete(
        "/api/playbooks/mine/edit.yaml", headers={"If-Match": fresh}
    )
    assert deleted.status_code == 200
