"""The dependency direction of ARCHITECTURE.md, and no code path that executes playbook text."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {
    "core": ROOT / "core/src/ignition_toolbox/core",
    "api": ROOT / "api/src/ignition_toolbox/api",
    "gateway": ROOT / "plugins/gateway/src/ignition_toolbox/gateway",
    "browser": ROOT / "plugins/browser/src/ignition_toolbox/browser",
    "perspective": ROOT / "plugins/perspective/src/ignition_toolbox/perspective",
}
ALLOWED = {
    "core": {"core"},
    "api": {"core", "api"},
    "gateway": {"core", "gateway"},
    "browser": {"core", "browser"},
    "perspective": {"core", "browser", "perspective"},
}


def imported_packages(source: Path) -> set[str]:
    found: set[str] = set()
    tree = ast.parse(source.read_text(encoding="utf-8"), str(source))
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "ignition_toolbox" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_each_package_imports_only_what_it_may(package: str) -> None:
    offending = {}
    for source in PACKAGES[package].rglob("*.py"):
        bad = imported_packages(source) - ALLOWED[package]
        if bad:
            offending[str(source.relative_to(ROOT))] = sorted(bad)
    assert offending == {}


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "x.py"
    sample.write_text(
        "from ignition_toolbox.api import app\nimport ignition_toolbox.gateway.client\n"
    )
    assert imported_packages(sample) == {"api", "gateway"}


def test_core_depends_only_on_its_four_libraries() -> None:
    text = (ROOT / "core/pyproject.toml").read_text()
    deps = re.search(r"dependencies = \[(.*?)\]", text, re.DOTALL).group(1)
    names = {
        re.match(r'\s*"([A-Za-z0-9_-]+)', line).group(1).lower()
        for line in deps.strip().splitlines()
        if line.strip()
    }
    assert names == {"pyyaml", "jsonschema", "pluggy", "jinja2"}


FORBIDDEN = re.compile(
    r"(?<![\w.])(exec|eval)\(|yaml\.load\(|full_load|unsafe_load|yaml\.Loader\b|shell=True"
)


def test_no_source_executes_text_or_loads_yaml_unsafely() -> None:
    offending = [
        f"{source.relative_to(ROOT)}:{number}"
        for package in PACKAGES.values()
        for source in package.rglob("*.py")
        for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), 1)
        if FORBIDDEN.search(line)
    ]
    assert offending == []
