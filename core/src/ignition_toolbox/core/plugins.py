"""The plugin manager: entry points of the group ``ignition_toolbox`` plus the core's built-ins."""

from __future__ import annotations

import argparse
import difflib
import logging
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pluggy
from jsonschema import Draft202012Validator

from . import hookspecs
from .errors import PluginConflictError, ValidationError
from .events import EventSink
from .steps import PlaybookRoot, ResourceType, StepType

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = hookspecs.PROJECT
BUILTIN_NAME = "core"


@dataclass
class PluginInfo:
    name: str
    distribution: str | None
    version: str | None
    step_types: list[str] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)
    playbook_roots: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "step_types": self.step_types,
            "resources": self.resources,
            "playbook_roots": self.playbook_roots,
        }


def _disabled_from_env() -> set[str]:
    return {n.strip() for n in os.environ.get("ITK_DISABLE_PLUGINS", "").split(",") if n.strip()}


class PluginManager:
    """Loads plugins once and indexes what they contribute.

    ``disabled`` names plugins (entry-point names, or ``core``) to leave out; ``ITK_DISABLE_PLUGINS``
    (comma separated) adds to it. ``extra`` registers plugin objects directly, which tests use.
    """

    def __init__(
        self,
        *,
        entry_points: bool = True,
        disabled: Iterable[str] = (),
        extra: Iterable[tuple[str, object]] = (),
    ) -> None:
        self.disabled = set(disabled) | _disabled_from_env()
        self._pm = pluggy.PluginManager(hookspecs.PROJECT)
        self._pm.add_hookspecs(hookspecs)
        self._dists: dict[str, tuple[str | None, str | None]] = {}
        if BUILTIN_NAME not in self.disabled:
            from . import builtins

            self._register(
                BUILTIN_NAME, builtins, ("ignition-toolbox-core", _version("ignition-toolbox-core"))
            )
        if entry_points:
            for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
                if ep.name in self.disabled or self._pm.has_plugin(ep.name):
                    continue
                try:
                    plugin = ep.load()
                except Exception as exc:
                    log.warning(
                        "plugin %s failed to load and is left out: %s: %s",
                        ep.name,
                        type(exc).__name__,
                        exc,
                    )
                    log.debug("plugin %s load failure", ep.name, exc_info=True)
                    continue
                dist = ep.dist
                self._register(
                    ep.name, plugin, (dist.name if dist else None, dist.version if dist else None)
                )
        for name, plugin in extra:
            if name not in self.disabled:
                self._register(name, plugin, (None, None))
        self.step_types: dict[str, StepType] = {}
        self.resource_types: dict[str, ResourceType] = {}
        self._owners: dict[str, str] = {}
        self._infos: dict[str, PluginInfo] = {}
        self._validators: dict[str, Draft202012Validator] = {}
        self._index()

    def _register(self, name: str, plugin: object, dist: tuple[str | None, str | None]) -> None:
        self._pm.register(plugin, name=name)
        self._dists[name] = dist

    def _per_plugin(self, hook_name: str) -> list[tuple[str, list[Any]]]:
        """Call one hook on every plugin separately, so each contribution has a known owner."""
        results = []
        for name in self._dists:  # registration order: built-ins, entry points, extras
            plugin = self._pm.get_plugin(name)
            impl = getattr(plugin, hook_name, None)
            if impl is None or not callable(impl):
                continue
            results.append((name, list(impl() or [])))
        return results

    def _index(self) -> None:
        for name in self._dists:
            dist, version = self._dists[name]
            self._infos[name] = PluginInfo(name, dist, version)
        for name, types in self._per_plugin("itk_step_types"):
            for step_type in types:
                if step_type.name in self.step_types:
                    raise PluginConflictError(
                        f"step type '{step_type.name}' is claimed by both plugin "
                        f"'{self._owners[step_type.name]}' and plugin '{name}'",
                        {
                            "step_type": step_type.name,
                            "plugins": [self._owners[step_type.name], name],
                        },
                    )
                Draft202012Validator.check_schema(step_type.parameters)
                self.step_types[step_type.name] = step_type
                self._owners[step_type.name] = name
                self._infos[name].step_types.append(step_type.name)
        for name, resources in self._per_plugin("itk_resource_types"):
            for resource in resources:
                key = f"resource:{resource.name}"
                if resource.name in self.resource_types:
                    raise PluginConflictError(
                        f"resource '{resource.name}' is claimed by both plugin "
                        f"'{self._owners[key]}' and plugin '{name}'"
                    )
                self.resource_types[resource.name] = resource
                self._owners[key] = name
                self._infos[name].resources.append(resource.name)
        for name, roots in self._per_plugin("itk_playbook_roots"):
            self._infos[name].playbook_roots.extend(r.name for r in roots)

    # -- queries -------------------------------------------------------------------------------

    def plugins(self) -> list[PluginInfo]:
        return sorted(self._infos.values(), key=lambda p: (p.name != BUILTIN_NAME, p.name))

    def owner_of(self, step_type: str) -> str | None:
        return self._owners.get(step_type)

    def step_type(self, name: str) -> StepType:
        try:
            return self.step_types[name]
        except KeyError:
            near = difflib.get_close_matches(name, list(self.step_types), n=3, cutoff=0.5)
            raise ValidationError(
                f"unknown step type '{name}'"
                + (f"; did you mean {', '.join(near)}?" if near else ""),
                {"step_type": name, "suggestions": near},
            ) from None

    def resource_type(self, name: str) -> ResourceType:
        try:
            return self.resource_types[name]
        except KeyError:
            raise ValidationError(
                f"no installed plugin provides the resource '{name}'", {"resource": name}
            ) from None

    def parameter_validator(
        self, step_type: str, schema_for: Callable[[StepType], dict[str, Any]] | None = None
    ) -> Draft202012Validator:
        """A cached validator: the pre-run (template-tolerant) one when ``schema_for`` is given."""
        key = f"{step_type}:{'pre' if schema_for else 'run'}"
        validator = self._validators.get(key)
        if validator is None:
            declared = self.step_types[step_type]
            schema = schema_for(declared) if schema_for else declared.parameters
            validator = self._validators[key] = Draft202012Validator(schema)
        return validator

    def playbook_roots(self) -> list[PlaybookRoot]:
        roots: list[PlaybookRoot] = []
        for _name, found in self._per_plugin("itk_playbook_roots"):
            roots.extend(found)
        return roots

    def event_observers(self) -> list[EventSink]:
        observers: list[EventSink] = []
        for _name, found in self._per_plugin("itk_event_observers"):
            observers.extend(found)
        return observers

    def cleanup_orphans(self) -> int:
        """Every plugin's crash cleanup; a failing plugin is logged and skipped."""
        removed = 0
        for name in self._dists:
            impl = getattr(self._pm.get_plugin(name), "itk_cleanup_orphans", None)
            if impl is None:
                continue
            try:
                removed += int(impl() or 0)
            except Exception:
                log.exception("plugin %s failed to clean up orphans", name)
        return removed

    def register_commands(self, subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
        self._pm.hook.itk_register_commands(subparsers=subparsers)

    # -- playbooks -----------------------------------------------------------------------------

    def parse_playbook(self, text: str | bytes, source: str = "<playbook>") -> Any:
        from .playbook import parse_playbook

        return parse_playbook(text, self, source)

    def load_playbook_file(self, path: str | os.PathLike[str]) -> Any:
        from .playbook import parse_playbook

        file = Path(path)
        return parse_playbook(file.read_bytes(), self, file.name)


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


__all__ = ["ENTRY_POINT_GROUP", "PluginInfo", "PluginManager"]
