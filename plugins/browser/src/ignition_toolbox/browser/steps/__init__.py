"""Every browser step type, gathered for the plugin hook."""

from __future__ import annotations

from ignition_toolbox.core import StepType

from . import actions, assertions, capture, files, navigation, reading, waits


def step_types() -> list[StepType]:
    return [
        *navigation.STEP_TYPES,
        *actions.STEP_TYPES,
        *files.STEP_TYPES,
        *waits.STEP_TYPES,
        *assertions.STEP_TYPES,
        *reading.STEP_TYPES,
        *capture.STEP_TYPES,
    ]


__all__ = ["step_types"]
