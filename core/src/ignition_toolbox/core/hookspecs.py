"""The whole plugin contract of Ignition Toolbox, on one page.

A plugin is a module (or object) with functions named after these hooks, decorated with
``ignition_toolbox.core.hookimpl``, and registered under the entry-point group ``ignition_toolbox``::

    [project.entry-points.ignition_toolbox]
    my_plugin = "my_package.plugin"

The core's own steps (``utility.*``, ``playbook.run``) and the first-party gateway, browser and
Perspective plugins use exactly these hooks.
"""

# Hook specifications are signatures with docstrings; pluggy never calls their bodies.
# mypy: disable-error-code="empty-body"
from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from .events import EventSink
    from .steps import PlaybookRoot, ResourceType, StepType

PROJECT = "ignition_toolbox"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def itk_step_types() -> list[StepType]:
    """Return the step types this plugin contributes.

    Names are ``domain.action`` and must be unique across all plugins: two plugins claiming one name
    stop the plugin manager with an error naming both.
    """


@hookspec
def itk_resource_types() -> list[ResourceType]:
    """Return the per-execution resources this plugin can provide (a browser, a gateway client).

    A resource is opened the first time a step asks for it (``await ctx.resource(name)``) and closed
    when the execution ends, whether it completed, failed or was cancelled.
    """


@hookspec
def itk_playbook_roots() -> list[PlaybookRoot]:
    """Return read-only folders of playbooks this plugin ships, listed after the writable root."""


@hookspec
def itk_event_observers() -> list[EventSink]:
    """Return async callables that see every event of every execution (reporters, metrics).

    Observers run after the caller's own sink; an observer that raises is logged and ignored, so a
    faulty reporter never fails a run.
    """


@hookspec
def itk_cleanup_orphans() -> int | None:
    """Clean up what a crashed process left behind (browser processes, temp files).

    A server calls this once at start, before it runs anything (SECURITY.md SR-14); return how many
    leftovers were removed. Runs in a worker thread, so blocking calls are fine.
    """


@hookspec
def itk_register_commands(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``itk`` subcommands.

    Add a parser with ``subparsers.add_parser(name, help=...)`` and set ``func`` with
    ``parser.set_defaults(func=callable)``; the callable receives the parsed ``argparse.Namespace``
    and returns the process exit code.
    """
