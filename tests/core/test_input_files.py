"""Input files a step reads stay inside the folders the caller allows (the server sets them)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ignition_toolbox.core import Execution, PluginManager, StepType, hookimpl


async def _read(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    return {"text": ctx.resolve_file(params["path"], "Module").read_text()}


class Reader:
    @hookimpl
    def itk_step_types(self) -> list[StepType]:
        return [
            StepType(
                "test.read",
                "reads a file",
                _read,
                {"type": "object", "properties": {"path": {"type": "string"}}},
            )
        ]


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    allowed, outside = tmp_path / "uploads", tmp_path / "secret"
    allowed.mkdir()
    outside.mkdir()
    (allowed / "x.modl").write_text("inside")
    (outside / "passwd").write_text("outside")
    (allowed / "link.modl").symlink_to(outside / "passwd")
    return allowed, outside


async def read(
    path: str, files_dirs: list[Path] | None, tmp_path: Path
) -> tuple[str, dict[str, Any] | None, Any]:
    plugins = PluginManager(entry_points=False, extra=[("reader", Reader())])
    playbook = plugins.parse_playbook(
        f"name: r\nsteps:\n  - {{id: r, type: test.read, parameters: {{path: '{path}'}}}}\n"
    )
    ex = Execution(playbook, plugins=plugins, files_dirs=files_dirs, artifacts_dir=tmp_path / "a")
    status = await ex.run()
    return status, ex.step_results[0].error, ex.step_results[0].output


async def test_relative_and_absolute_paths_inside_the_allowed_folder_are_read(
    folders, tmp_path
) -> None:
    allowed, _ = folders
    assert (await read("x.modl", [allowed], tmp_path))[2] == {"text": "inside"}
    assert (await read(str(allowed / "x.modl"), [allowed], tmp_path))[2] == {"text": "inside"}


@pytest.mark.parametrize("path", ["../secret/passwd", "{outside}/passwd", "link.modl"])
async def test_paths_escaping_the_allowed_folder_are_refused(folders, tmp_path, path: str) -> None:
    allowed, outside = folders
    status, error, _ = await read(path.format(outside=outside), [allowed], tmp_path)
    assert status == "failed" and error["code"] == "invalid_path"
    assert str(outside) not in error["message"]


async def test_missing_files_name_only_the_file(folders, tmp_path) -> None:
    allowed, _ = folders
    _status, error, _ = await read("nope.modl", [allowed], tmp_path)
    assert (
        error["code"] == "validation_error"
        and error["message"] == "Module file 'nope.modl' does not exist"
    )


async def test_without_allowed_folders_the_cli_reads_the_users_paths(folders, tmp_path) -> None:
    _, outside = folders
    assert (await read(str(outside / "passwd"), None, tmp_path))[2] == {"text": "outside"}


# -- a caller's own path for a ``type: file`` parameter (desktop mode) ---------------------------

CALLER_PLAYBOOK = """\
name: caller files
parameters:
  - {name: module, type: file, required: false}
  - {name: fixed, type: file, default: "%(default)s"}
steps:
  - {id: r, type: test.read, parameters: {path: "%(path)s"}}
"""


async def read_parameter(
    tmp_path: Path,
    *,
    given: dict[str, Any],
    trusted: bool,
    path: str = "{{ parameter.module }}",
    default: str = "x.modl",
    files_dirs: list[Path],
) -> tuple[str, dict[str, Any] | None, Any]:
    plugins = PluginManager(entry_points=False, extra=[("reader", Reader())])
    playbook = plugins.parse_playbook(CALLER_PLAYBOOK % {"path": path, "default": default})
    ex = Execution(
        playbook,
        plugins=plugins,
        parameters=given,
        files_dirs=files_dirs,
        trust_caller_files=trusted,
        artifacts_dir=tmp_path / "a",
    )
    status = await ex.run()
    return status, ex.step_results[0].error, ex.step_results[0].output


async def test_a_trusted_callers_absolute_path_is_read_as_given(folders, tmp_path) -> None:
    allowed, outside = folders
    status, error, output = await read_parameter(
        tmp_path, given={"module": str(outside / "passwd")}, trusted=True, files_dirs=[allowed]
    )
    assert (status, error, output) == ("completed", None, {"text": "outside"})


async def test_an_untrusted_callers_path_stays_confined_and_says_why(folders, tmp_path) -> None:
    allowed, outside = folders
    status, error, _ = await read_parameter(
        tmp_path, given={"module": str(outside / "passwd")}, trusted=False, files_dirs=[allowed]
    )
    assert status == "failed" and error is not None
    assert error["code"] == "invalid_path"
    assert "outside the folders this server may read" in error["message"]
    assert "enforces API keys (--auth)" in error["message"]
    assert "--files-dir" in error["message"]
    assert error["details"]["source"] == "request"


async def test_a_path_written_in_the_playbook_stays_confined_when_trusted(
    folders, tmp_path
) -> None:
    allowed, outside = folders
    # A literal in the step's parameters.
    status, error, _ = await read_parameter(
        tmp_path, given={}, trusted=True, path=str(outside / "passwd"), files_dirs=[allowed]
    )
    assert status == "failed" and error is not None and error["code"] == "invalid_path"
    assert "written in the playbook" in error["message"]
    # A parameter's default the caller did not set.
    status, error, _ = await read_parameter(
        tmp_path,
        given={},
        trusted=True,
        path="{{ parameter.fixed }}",
        default=str(outside / "passwd"),
        files_dirs=[allowed],
    )
    assert status == "failed" and error is not None and error["code"] == "invalid_path"
    assert error["details"]["source"] == "playbook"


async def test_a_trusted_callers_relative_path_still_starts_in_uploads(folders, tmp_path) -> None:
    allowed, _ = folders
    status, _, output = await read_parameter(
        tmp_path, given={"module": "x.modl"}, trusted=True, files_dirs=[allowed]
    )
    assert (status, output) == ("completed", {"text": "inside"})
    status, error, _ = await read_parameter(
        tmp_path, given={"module": "../secret/passwd"}, trusted=True, files_dirs=[allowed]
    )
    assert status == "failed" and error is not None and error["code"] == "invalid_path"
    assert "give an absolute path" in error["message"]


async def test_a_trusted_path_for_a_string_parameter_is_not_a_file_parameter(
    folders, tmp_path
) -> None:
    allowed, outside = folders
    plugins = PluginManager(entry_points=False, extra=[("reader", Reader())])
    playbook = plugins.parse_playbook(
        "name: s\nparameters:\n  - {name: p, type: string}\n"
        "steps:\n  - {id: r, type: test.read, parameters: {path: '{{ parameter.p }}'}}\n"
    )
    ex = Execution(
        playbook,
        plugins=plugins,
        parameters={"p": str(outside / "passwd")},
        files_dirs=[allowed],
        trust_caller_files=True,
        artifacts_dir=tmp_path / "a",
    )
    assert await ex.run() == "failed"
    assert ex.step_results[0].error["code"] == "invalid_path"  # type: ignore[index]
