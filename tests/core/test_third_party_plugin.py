"""A plugin distribution is pip-installed for real; its step type is listed, validated and runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SAMPLE = Path(__file__).parent / "sample_plugin"
ITK = [sys.executable, "-m", "ignition_toolbox.core.cli"]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(SAMPLE),
        ],
        check=True,
        cwd=tmp_path_factory.mktemp("build"),
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(target), env.get("PYTHONPATH")]))
    return env


def itk(
    env: dict[str, str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ITK, *args], env=env, capture_output=True, text=True, cwd=cwd, timeout=60
    )


def test_the_installed_plugin_is_listed_with_its_distribution(installed: dict[str, str]) -> None:
    result = itk(installed, "plugins", "--json")
    plugins = {p["name"]: p for p in json.loads(result.stdout)}
    assert plugins["sample"]["distribution"] == "itk-sample-plugin"
    assert plugins["sample"]["version"] == "0.3.0"
    assert plugins["sample"]["step_types"] == ["sample.shout"]
    types = {t["name"]: t for t in json.loads(itk(installed, "step-types", "--json").stdout)}
    assert types["sample.shout"]["parameters"]["required"] == ["text"]
    assert types["sample.shout"]["plugin"] == "sample"


def test_its_parameters_are_validated_and_it_runs(
    installed: dict[str, str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nsteps:\n  - {id: s, type: sample.shout, parameters: {text: hi, times: 9}}\n"
    )
    result = itk(installed, "validate", str(bad))
    assert result.returncode == 2 and "steps[0].parameters.times" in result.stdout
    good = tmp_path / "good.yaml"
    good.write_text(
        "name: good\nsteps:\n  - {id: s, type: sample.shout, parameters: {text: hi, times: 2}}\n"
    )
    result = itk(installed, "run", str(good), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["step_results"][0]["output"] == {"text": "HI!!"}


def test_without_the_plugin_the_step_type_is_unknown(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text("name: good\nsteps:\n  - {id: s, type: sample.shout, parameters: {text: hi}}\n")
    result = itk(dict(os.environ), "validate", str(good))
    assert result.returncode == 2 and "unknown step type 'sample.shout'" in result.stdout
