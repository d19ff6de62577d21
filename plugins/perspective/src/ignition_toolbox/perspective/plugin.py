"""The Perspective plugin's hook implementations (entry point ``perspective``).

It contributes step types only: the browser resource they run on belongs to the browser plugin.
"""

from __future__ import annotations

from pathlib import Path

from ignition_toolbox.core import PlaybookRoot, StepType, hookimpl

from .steps import step_types


@hookimpl
def itk_step_types() -> list[StepType]:
    return step_types()


def _shipped_playbooks() -> Path | None:
    """``playbooks/perspective`` of a source checkout; an installed wheel ships none yet."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "playbooks" / "perspective"
        if candidate.is_dir() and (parent / "plugins" / "perspective").is_dir():
            return candidate
    return None


@hookimpl
def itk_playbook_roots() -> list[PlaybookRoot]:
    path = _shipped_playbooks()
    return [PlaybookRoot(name="perspective", path=path, prefix="perspective")] if path else []
