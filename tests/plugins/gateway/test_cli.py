"""``itk gateway-sim`` serves on a real port, and ``itk run`` drives gateway playbooks against it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ignition_toolbox.gateway.sim import make_modl

ROOT = Path(__file__).resolve().parents[3]
ITK = [
    sys.executable,
    "-c",
    "import sys; from ignition_toolbox.core.cli import main; sys.exit(main())",
]


@pytest.fixture
def sim_url() -> Iterator[str]:
    proc = subprocess.Popen(
        [
            *ITK,
            "gateway-sim",
            "--port",
            "0",
            "--restart-seconds",
            "1",
            "--grace-seconds",
            "0.1",
            "--api-token",
            "ci:ci-secret",
            "--allow-unsigned-modules",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.fullmatch(r"gateway-sim: listening on (http://127\.0\.0\.1:\d+)\n", line)
        assert match, line
        yield match.group(1)
    finally:
        proc.terminate()
        proc.wait(10)


def test_gateway_sim_command_serves(sim_url: str) -> None:
    assert httpx.get(f"{sim_url}/StatusPing").json() == {"state": "RUNNING"}
    info = httpx.get(
        f"{sim_url}/data/api/v1/gateway-info", headers={"X-Ignition-API-Token": "ci:ci-secret"}
    ).json()
    assert info["allowUnsignedModules"] is True
    assert (
        httpx.get(
            f"{sim_url}/data/api/v1/gateway-info",
            headers={"X-Ignition-API-Token": "itk:sim-secret"},
        ).status_code
        == 401
    )


def test_itk_run_module_install_against_the_command(sim_url: str, tmp_path: Path) -> None:
    modl = tmp_path / "cli.modl"
    make_modl("com.example.cli", "CLI", "1.0.0", path=modl)
    env = {**os.environ, "ITK_CREDENTIAL_GW_API_TOKEN": "ci:ci-secret"}
    done = subprocess.run(
        [
            *ITK,
            "run",
            str(ROOT / "playbooks/gateway/module_install.yaml"),
            "--gateway-url",
            sim_url,
            "--credential",
            "gw",
            "-p",
            f"module_file={modl}",
            "--artifacts-dir",
            str(tmp_path / "a"),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ci-secret" not in done.stdout + done.stderr
    modules = httpx.get(
        f"{sim_url}/data/api/v1/modules/healthy", headers={"X-Ignition-API-Token": "ci:ci-secret"}
    ).json()["items"]
    assert {"id": "com.example.cli", "state": "ACTIVE"}.items() <= next(
        m for m in modules if m["id"] == "com.example.cli"
    ).items()
