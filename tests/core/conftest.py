from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ignition_toolbox.core import Event, Execution, PluginManager


@pytest.fixture(scope="session")
def plugins() -> PluginManager:
    return PluginManager(entry_points=False)


class Recorder:
    """An event sink that keeps every event, for assertions on order and content."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    async def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: str) -> list[Any]:
        return [e for e in self.events if e.type == kind]

    def statuses(self) -> list[str]:
        return [e.status for e in self.of("execution_state")]

    def steps(self, status: str | None = None) -> list[tuple[str, str]]:
        return [
            (e.step_id, e.status)
            for e in self.of("step_result")
            if status is None or e.status == status
        ]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def make_execution(
    plugins: PluginManager, recorder: Recorder, tmp_path
) -> Callable[..., Execution]:
    def make(text: str, **kwargs: Any) -> Execution:
        playbook = plugins.parse_playbook(text, source="test.yaml")
        kwargs.setdefault("sink", recorder)
        kwargs.setdefault("artifacts_dir", tmp_path / "artifacts")
        return Execution(playbook, plugins=kwargs.pop("plugins", plugins), **kwargs)

    return make
