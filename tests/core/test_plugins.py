"""The plugin manager: listing, disabling, and refusing step-type conflicts."""

from __future__ import annotations

from typing import Any

import pytest

from ignition_toolbox.core import PluginConflictError, PluginManager, StepType, hookimpl


async def _noop(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    return {}


class Claims:
    def __init__(self, *names: str) -> None:
        self.names = names

    @hookimpl
    def itk_step_types(self) -> list[StepType]:
        return [StepType(n, "claimed", _noop) for n in self.names]


def test_two_plugins_claiming_one_step_type_are_refused_naming_both() -> None:
    with pytest.raises(PluginConflictError) as caught:
        PluginManager(
            entry_points=False, extra=[("alpha", Claims("x.one")), ("beta", Claims("x.one"))]
        )
    assert "alpha" in caught.value.message and "beta" in caught.value.message
    assert caught.value.details["plugins"] == ["alpha", "beta"]


def test_a_builtin_cannot_be_claimed_twice_either() -> None:
    with pytest.raises(PluginConflictError, match="'core' and plugin 'evil'"):
        PluginManager(entry_points=False, extra=[("evil", Claims("utility.log"))])


def test_plugins_are_listed_with_what_they_contribute() -> None:
    manager = PluginManager(entry_points=False, extra=[("alpha", Claims("x.one", "x.two"))])
    infos = {p.name: p for p in manager.plugins()}
    assert infos["core"].distribution == "ignition-toolbox-core"
    assert "utility.sleep" in infos["core"].step_types
    assert infos["alpha"].step_types == ["x.one", "x.two"]
    assert manager.owner_of("x.two") == "alpha"


def test_a_plugin_can_be_disabled_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    manager = PluginManager(
        entry_points=False, disabled=["alpha"], extra=[("alpha", Claims("x.one"))]
    )
    assert "x.one" not in manager.step_types
    monkeypatch.setenv("ITK_DISABLE_PLUGINS", "core")
    assert "utility.log" not in PluginManager(entry_points=False).step_types


def test_invalid_step_names_are_refused_at_declaration() -> None:
    with pytest.raises(ValueError, match=r"domain\.action"):
        StepType("NoDomain", "bad", _noop)


class Leftovers:
    def __init__(self, count: int, fail: bool = False) -> None:
        self.count, self.fail, self.calls = count, fail, 0

    @hookimpl
    def itk_cleanup_orphans(self) -> int:
        self.calls += 1
        if self.fail:
            raise RuntimeError("cannot list processes")
        return self.count


def test_orphan_cleanup_asks_every_plugin_and_survives_a_failing_one() -> None:
    good, bad = Leftovers(2), Leftovers(5, fail=True)
    manager = PluginManager(entry_points=False, extra=[("good", good), ("bad", bad)])
    assert manager.cleanup_orphans() == 2
    assert (good.calls, bad.calls) == (1, 1)
