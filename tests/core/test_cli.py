"""`itk run`, `validate`, `step-types`, `schema` as a user or a CI job calls them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

ITK = [sys.executable, "-m", "ignition_toolbox.core.cli"]

PLAYBOOK = """\
name: CLI check
parameters:
  - {name: n, type: integer, default: 1}
steps:
  - {id: first, type: utility.log, parameters: {message: "n={{ parameter.n }}"}}
  - {id: check, type: utility.assert, parameters: {condition: "{{ parameter.n > 1 }}", message: n must exceed 1}}
finally:
  - {id: cleanup, type: utility.log, parameters: {message: cleanup}}
"""


def itk(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ITK, *args], capture_output=True, text=True, timeout=60, env=env)


@pytest.fixture
def playbook(tmp_path: Path) -> Path:
    path = tmp_path / "check.yaml"
    path.write_text(PLAYBOOK)
    return path


def test_run_exits_0_when_completed_and_1_when_failed(playbook: Path) -> None:
    ok = itk("run", str(playbook), "-p", "n=2")
    assert ok.returncode == 0, ok.stderr
    assert "✔ check" in ok.stdout and "CLI check: completed" in ok.stdout
    failed = itk("run", str(playbook))
    assert failed.returncode == 1
    assert "n must exceed 1" in failed.stdout
    assert "✔ cleanup" in failed.stdout


def test_run_exits_2_for_an_invalid_playbook_or_parameter(tmp_path: Path, playbook: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nsteps:\n  - {id: a, type: utility.nope}\n")
    result = itk("run", str(bad))
    assert result.returncode == 2 and "unknown step type" in result.stderr
    result = itk("run", str(playbook), "-p", "n=many")
    assert result.returncode == 2 and "not a valid integer" in result.stderr
    assert itk("run", str(tmp_path / "missing.yaml")).returncode == 2


def test_junit_report_has_one_testcase_per_step(playbook: Path, tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    itk("run", str(playbook), "--junit", str(report))
    suite = ET.parse(report).getroot().find("testsuite")
    assert suite.get("tests") == "3" and suite.get("failures") == "1"
    cases = suite.findall("testcase")
    assert [c.get("name").split(":")[0] for c in cases] == ["first", "check", "cleanup"]
    assert cases[1].find("failure").get("message") == "n must exceed 1"


def test_json_output_is_machine_readable(playbook: Path) -> None:
    result = itk("run", str(playbook), "-p", "n=3", "--json")
    data = json.loads(result.stdout)
    assert data["status"] == "completed"
    assert [s["step_id"] for s in data["step_results"]] == ["first", "check", "cleanup"]


def test_credentials_come_from_the_environment_and_stay_secret(tmp_path: Path) -> None:
    path = tmp_path / "cred.yaml"
    path.write_text(
        "name: c\nsteps:\n  - {id: a, type: utility.log, parameters: {message: 'user={{ credential.plant-gw.username }}'}}\n"
    )
    env = {
        **os.environ,
        "ITK_CREDENTIAL_PLANT_GW_USERNAME": "admin",
        "ITK_CREDENTIAL_PLANT_GW_PASSWORD": "S3CR3T-cli",
    }
    result = itk("run", str(path), "--json", env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["step_results"][0]["output"]["message"] == "user=admin"

    leaky = tmp_path / "leaky.yaml"
    leaky.write_text(
        "name: c\nsteps:\n  - {id: a, type: utility.log, parameters: {message: 'pw={{ credential.plant-gw.password }}'}}\n"
    )
    result = itk("run", str(leaky), "--json", env=env)
    assert result.returncode == 2
    assert "credential 'plant-gw' password is a secret" in result.stderr
    assert "S3CR3T-cli" not in result.stdout + result.stderr


def test_ctrl_c_cancels_cleanly_and_runs_finally_steps(tmp_path: Path) -> None:
    path = tmp_path / "long.yaml"
    path.write_text(
        "name: long\nsteps:\n  - {id: wait, type: utility.sleep, parameters: {seconds: 60}}\nfinally:\n  - {id: bye, type: utility.log, parameters: {message: bye}}\n"
    )
    process = subprocess.Popen(
        [*ITK, "run", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    first = process.stdout.readline()  # printed once the run (and its Ctrl-C handler) started
    assert first.startswith("long: running")
    time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    out = first + out
    assert process.returncode == 1
    assert "■ wait" in out and "✔ bye" in out and "long: cancelled" in out
    assert "cancelling" in err


def test_validate_reports_file_line_and_path(tmp_path: Path, playbook: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\nsteps:\n  - id: a\n    type: utility.sleep\n    parameters: {seconds: soon}\n"
    )
    result = itk("validate", str(playbook), str(bad))
    assert result.returncode == 2
    assert f"ok       {playbook}" in result.stdout
    assert f"{bad}:5:" in result.stdout and "steps[0].parameters.seconds" in result.stdout


def test_step_types_and_schema_come_from_the_declarations() -> None:
    listed = json.loads(itk("step-types", "--json").stdout)
    sleep = next(t for t in listed if t["name"] == "utility.sleep")
    assert sleep["parameters"]["required"] == ["seconds"] and sleep["plugin"] == "core"
    schema = json.loads(itk("schema").stdout)
    assert "utility.sleep" in schema["$defs"]["step"]["properties"]["type"]["enum"]
    docs = itk("step-types", "--markdown").stdout
    assert "## `utility.sleep`" in docs and "| `seconds` | number | yes |" in docs
