"""Every gateway step type, in the order listings show them."""

from ignition_toolbox.core import StepType

from . import backups, login, modules, projects, request, status, tags, trial

STEP_TYPES: list[StepType] = [
    *login.STEP_TYPES,
    *status.STEP_TYPES,
    *modules.STEP_TYPES,
    *backups.STEP_TYPES,
    *projects.STEP_TYPES,
    *tags.STEP_TYPES,
    *trial.STEP_TYPES,
    *request.STEP_TYPES,
]

__all__ = ["STEP_TYPES"]
