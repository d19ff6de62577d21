"""SR-7 and SECURITY.md cases 23–35: one path validator, containment, atomic writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ignition_toolbox.core import (
    InvalidPathError,
    PlaybookLibrary,
    PlaybookNotFoundError,
    PlaybookRoot,
    PluginManager,
    ValidationError,
    validate_relative_path,
)

GOOD = "name: Ok\ndescription: fine\nversion: '2.0'\ndomain: gateway\nsteps:\n  - {id: a, type: utility.log, parameters: {message: hi}}\n"


@pytest.mark.parametrize(
    "path",
    [
        "../etc/passwd",
        "gateway/../../x.yaml",
        "..%2F..%2Fetc%2Fpasswd",
        "%2e%2e/x.yaml",
        "/etc/passwd.yaml",
        "C:\\Windows\\win.ini",
        "C:x.yaml",
        "\\\\host\\share\\x.yaml",
        "//host/share/x.yaml",
        "gateway\\..\\..\\secret.yaml",
        "good.yaml\x00.txt",
        "x.yml.txt",
        "x.json",
        ".yaml",
        "X.YAML",
        "CON.yaml",
        "aux.yaml",
        "x.yaml::$DATA",
        "x.yaml.",
        "x.yaml ",
        "a//b.yaml",
        "./a.yaml",
        "",
    ],
)
def test_unsafe_paths_are_invalid(path: str) -> None:
    with pytest.raises(InvalidPathError) as caught:
        validate_relative_path(path)
    assert caught.value.code == "invalid_path"


@pytest.mark.parametrize(
    "path", ["x" * 5000 + ".yaml", "/".join(["a"] * 300) + "/x.yaml", "a" * 256 + ".yaml"]
)
def test_oversized_paths_are_validation_errors(path: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_relative_path(path)
    assert caught.value.code == "validation_error"


@pytest.mark.parametrize("path", ["ok.yaml", "gateway/module_upgrade.yaml", "a b/c-d_e.1.yml"])
def test_ordinary_paths_are_accepted(path: str) -> None:
    assert str(validate_relative_path(path)) == path


@pytest.fixture
def library(tmp_path: Path) -> PlaybookLibrary:
    user, shipped = tmp_path / "user", tmp_path / "shipped"
    (shipped / "gateway").mkdir(parents=True)
    (shipped / "gateway/ok.yaml").write_text(GOOD)
    (shipped / "gateway/broken.yaml").write_text("name: [unclosed\n")
    (tmp_path / "outside.yaml").write_text(GOOD)
    return PlaybookLibrary(
        [PlaybookRoot("shipped", shipped), PlaybookRoot("user", user, writable=True)]
    )


def test_listing_flags_invalid_files_instead_of_failing(
    library: PlaybookLibrary, plugins: PluginManager
) -> None:
    entries = {e.path: e for e in library.entries(plugins)}
    assert entries["gateway/ok.yaml"].describe() == {
        "name": "Ok",
        "path": "gateway/ok.yaml",
        "domain": "gateway",
        "description": "fine",
        "version": "2.0",
        "valid": True,
        "writable": False,
    }
    broken = entries["gateway/broken.yaml"]
    assert broken.valid is False and broken.error.startswith("gateway/broken.yaml:2:1:")


def test_missing_playbooks_are_not_found_with_the_relative_path_only(
    library: PlaybookLibrary, tmp_path: Path
) -> None:
    with pytest.raises(PlaybookNotFoundError) as caught:
        library.locate("gateway/nope.yaml")
    assert str(tmp_path) not in caught.value.message
    assert caught.value.details == {"path": "gateway/nope.yaml"}


def test_symlinks_escaping_the_root_are_refused_inside_ones_allowed(
    library: PlaybookLibrary, tmp_path: Path
) -> None:
    shipped = tmp_path / "shipped"
    os.symlink(tmp_path / "outside.yaml", shipped / "escape.yaml")
    os.symlink(tmp_path, shipped / "linkdir")
    os.symlink(shipped / "gateway/ok.yaml", shipped / "alias.yaml")
    with pytest.raises(InvalidPathError):
        library.read_bytes("escape.yaml")
    with pytest.raises(InvalidPathError):
        library.read_bytes("linkdir/outside.yaml")
    assert library.read_bytes("alias.yaml") == GOOD.encode()


def test_a_directory_named_like_a_playbook_is_invalid(
    library: PlaybookLibrary, tmp_path: Path
) -> None:
    (tmp_path / "shipped/dir.yaml").mkdir()
    with pytest.raises(InvalidPathError):
        library.read_bytes("dir.yaml")


def test_writes_go_to_the_writable_root_atomically(
    library: PlaybookLibrary, tmp_path: Path
) -> None:
    assert library.write("new/deeper/p.yaml", GOOD.encode()) is True
    assert (tmp_path / "user/new/deeper/p.yaml").read_text() == GOOD
    assert library.write("new/deeper/p.yaml", GOOD.encode()) is False
    assert not list((tmp_path / "user/new/deeper").glob(".itk-*"))
    with pytest.raises(InvalidPathError):
        library.write("sub/../../x.yaml", b"x")
    assert not (tmp_path / "x.yaml").exists()


def test_read_only_playbooks_cannot_be_deleted(library: PlaybookLibrary) -> None:
    with pytest.raises(ValidationError, match="read-only"):
        library.delete("gateway/ok.yaml")


def test_duplicate_copies_under_a_slug_of_the_new_name(
    library: PlaybookLibrary, plugins: PluginManager
) -> None:
    new_path = library.duplicate("gateway/ok.yaml", "My Custom Playbook", plugins)
    assert new_path == "gateway/my-custom-playbook.yaml"
    copy = library.load(new_path, plugins)
    assert copy.name == "My Custom Playbook"
    assert (
        library.duplicate("gateway/ok.yaml", "My Custom Playbook", plugins)
        == "gateway/my-custom-playbook-2.yaml"
    )
    assert library.is_writable(new_path) and not library.is_writable("gateway/ok.yaml")


def test_a_prefixed_root_mounts_under_its_domain_and_is_listed_once(
    tmp_path: Path, plugins: PluginManager
) -> None:
    repo, shipped = tmp_path / "repo", tmp_path / "plugin"
    (repo / "gateway").mkdir(parents=True)
    shipped.mkdir()
    (repo / "gateway/ok.yaml").write_text(GOOD)
    (shipped / "ok.yaml").write_text(GOOD)
    (shipped / "extra.yaml").write_text(GOOD.replace("name: Ok", "name: Extra"))
    library = PlaybookLibrary(
        [PlaybookRoot("repo", repo), PlaybookRoot("plugin", shipped, prefix="gateway")]
    )
    assert [e.path for e in library.entries(plugins)] == ["gateway/extra.yaml", "gateway/ok.yaml"]
    assert library.load("gateway/extra.yaml", plugins).name == "Extra"
    assert library.locate("gateway/ok.yaml")[0].name == "repo"
    with pytest.raises(PlaybookNotFoundError):
        library.locate("extra.yaml")


def test_parsed_playbooks_are_reused_until_the_file_changes(
    library: PlaybookLibrary, plugins: PluginManager, tmp_path: Path
) -> None:
    first = library.load("gateway/ok.yaml", plugins)
    assert library.load("gateway/ok.yaml", plugins) is first
    (tmp_path / "shipped/gateway/ok.yaml").write_text(GOOD.replace("name: Ok", "name: Changed"))
    changed = library.load("gateway/ok.yaml", plugins)
    assert changed.name == "Changed" and changed.content_hash != first.content_hash
