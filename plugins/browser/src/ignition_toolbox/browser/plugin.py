"""The browser plugin's hook implementations (entry point ``browser``)."""

from __future__ import annotations

from pathlib import Path

from ignition_toolbox.core import PlaybookRoot, ResourceType, StepType, hookimpl

from .session import RESOURCE_NAME, open_browser
from .steps import step_types


@hookimpl
def itk_step_types() -> list[StepType]:
    return step_types()


@hookimpl
def itk_resource_types() -> list[ResourceType]:
    return [
        ResourceType(
            name=RESOURCE_NAME,
            open=open_browser,
            summary="A Playwright Chromium per execution, launched on its first browser step",
        )
    ]


def _shipped_playbooks() -> Path | None:
    """``playbooks/browser`` of a source checkout; an installed wheel ships none yet."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "playbooks" / "browser"
        if candidate.is_dir() and (parent / "plugins" / "browser").is_dir():
            return candidate
    return None


@hookimpl
def itk_playbook_roots() -> list[PlaybookRoot]:
    path = _shipped_playbooks()
    return [PlaybookRoot(name="browser", path=path, prefix="browser")] if path else []


@hookimpl
def itk_cleanup_orphans() -> int:
    """Chromium processes left by a crashed server (marked at launch) are killed at start."""
    from .launcher import reap_orphans

    return reap_orphans()
