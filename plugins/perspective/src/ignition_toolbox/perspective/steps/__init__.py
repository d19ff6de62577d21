"""Every Perspective step type, gathered for the plugin hook."""

from __future__ import annotations

from ignition_toolbox.core import StepType

from . import actions, capture, checks, session, shell


def step_types() -> list[StepType]:
    return [
        *session.STEP_TYPES,
        *capture.STEP_TYPES,
        *actions.STEP_TYPES,
        *checks.STEP_TYPES,
        *shell.STEP_TYPES,
    ]


__all__ = ["step_types"]
