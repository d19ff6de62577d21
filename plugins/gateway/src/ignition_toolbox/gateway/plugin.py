"""The gateway plugin's hook implementations (entry point ``gateway`` of group ``ignition_toolbox``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ignition_toolbox.core import PlaybookRoot, ResourceType, StepType, hookimpl

from .cli import add_parser
from .resource import GATEWAY_RESOURCE
from .steps import STEP_TYPES


@hookimpl
def itk_step_types() -> list[StepType]:
    return list(STEP_TYPES)


@hookimpl
def itk_resource_types() -> list[ResourceType]:
    return [GATEWAY_RESOURCE]


def _shipped_playbooks() -> Path | None:
    """``playbooks/gateway`` of a source checkout; an installed wheel ships none yet."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "playbooks" / "gateway"
        if candidate.is_dir() and (parent / "plugins" / "gateway").is_dir():
            return candidate
    return None


@hookimpl
def itk_playbook_roots() -> list[PlaybookRoot]:
    path = _shipped_playbooks()
    return [PlaybookRoot(name="gateway", path=path, prefix="gateway")] if path else []


@hookimpl
def itk_register_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    add_parser(subparsers)
