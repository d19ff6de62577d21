"""Every playbook the repository ships validates against the installed step types."""

from __future__ import annotations

from pathlib import Path

import pytest

from ignition_toolbox.core import Execution, PluginManager

ROOT = Path(__file__).resolve().parents[2] / "playbooks"
SHIPPED = sorted(p.relative_to(ROOT).as_posix() for p in ROOT.rglob("*.y*ml"))


@pytest.fixture(scope="module")
def installed() -> PluginManager:
    return PluginManager()


@pytest.mark.parametrize("path", SHIPPED)
def test_shipped_playbook_is_valid(installed: PluginManager, path: str) -> None:
    playbook = installed.load_playbook_file(ROOT / path)
    assert playbook.name and playbook.description, "shipped playbooks say what they do"


async def test_the_example_runs(installed: PluginManager, tmp_path: Path) -> None:
    playbook = installed.load_playbook_file(ROOT / "examples/hello.yaml")
    execution = Execution(
        playbook, plugins=installed, parameters={"repeat": 3}, artifacts_dir=tmp_path
    )
    assert await execution.run() == "completed"
    assert len(execution.step_results[2].output["iterations"]) == 3
