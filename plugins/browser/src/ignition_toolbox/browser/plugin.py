"""The browser plugin's hook implementations (entry point ``browser``)."""

from __future__ import annotations

from ignition_toolbox.core import ResourceType, StepType, hookimpl

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
