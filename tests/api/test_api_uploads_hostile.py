"""Hostile uploads (SECURITY.md SR-19, SR-23, §4.L row 116) against the real app: each refused with a
400 ``validation_error`` in under a second, with peak RSS growth under 50 MB, and nothing left in
the uploads folder; and the honest files of every kind still go in."""

from __future__ import annotations

import json
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
import pytest
import zip_builders as zb

from ignition_toolbox.core.archives import ArchiveError, open_zip, unsafe_name_reason

XML = zb.MODULE_XML
MB = 1_000_000


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Built once: each streams 200 MiB through zlib."""
    folder = tmp_path_factory.mktemp("bombs")
    return {
        "zero-200mib-entry": zb.zero_bomb(folder / "zero.modl"),
        "module-xml-lies-about-its-size": zb.lying_module_xml(folder / "lying.modl"),
    }


@contextmanager
def peak_rss_growth() -> Iterator[list[int]]:
    """Sample this process's RSS every millisecond; yields a list holding the peak growth."""
    process = psutil.Process()
    baseline = process.memory_info().rss
    result = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            result[0] = max(result[0], process.memory_info().rss - baseline)
            time.sleep(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield result
    finally:
        done.set()
        sampler.join()


def listing(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


async def assert_refused(running: Any, route: str, name: str, data: bytes) -> dict[str, Any]:
    folder = running.state.settings.uploads_dir
    before = listing(folder)
    with peak_rss_growth() as growth:
        started = time.perf_counter()
        response = await running.client.post(f"{route}?fileName={name}", data=data)
        elapsed = time.perf_counter() - started
    body = await response.get_json()
    assert response.status_code == 400, (name, body)
    assert body["detail"]["error"] == "validation_error", (name, body)
    assert elapsed < 1.0, f"{name}: refused after {elapsed:.2f} s"
    assert growth[0] < 50 * MB, f"{name}: RSS grew by {growth[0] / MB:.0f} MB"
    assert listing(folder) == before, "a refused upload left something on disk"
    return body["detail"]


# -- /api/modules: SECURITY.md §4.L row 116 ------------------------------------------------------

HOSTILE_MODULES: dict[str, bytes] = {
    "dotdot-traversal": zb.build_zip({"module.xml": XML, "../../x": b"pwned"}),
    "absolute-name": zb.build_zip({"module.xml": XML, "/abs/x": b"pwned"}),
    "backslash-traversal": zb.build_zip({"module.xml": XML, "lib\\..\\..\\x": b"pwned"}),
    "drive-name": zb.build_zip({"module.xml": XML, "C:/Windows/x": b"pwned"}),
    "duplicate-module-xml": zb.build_zip({"module.xml": XML}, duplicate="module.xml"),
    "doctype-entity": zb.build_zip(
        {
            "module.xml": b'<!DOCTYPE m [<!ENTITY e "x">]>'
            b"<modules><module><id>&e;</id><name>n</name><version>1</version></module></modules>"
        }
    ),
    "billion-laughs": zb.build_zip(
        {
            "module.xml": b'<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
            + b"".join(
                f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode()
                for i in range(8)
            )
            + b"]><modules><module><id>&i;</id></module></modules>"
        }
    ),
    "xxe": zb.build_zip(
        {
            "module.xml": b'<!DOCTYPE m [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
            b"<modules><module><id>&e;</id></module></modules>"
        }
    ),
    "20000-entries": zb.many_entries(20_000),
    "only-Module.xml": zb.build_zip({"Module.xml": XML}),
    "only-dir/module.xml": zb.build_zip({"dir/module.xml": XML}),
    "only-./module.xml": zb.build_zip({"./module.xml": XML}),
    "no-id-name-version": zb.build_zip({"module.xml": b"<modules><module/></modules>"}),
    "wrong-root": zb.build_zip({"module.xml": b"<plugin/>"}),
    "malformed-xml": zb.build_zip({"module.xml": b"<modules><module>"}),
    "encrypted-entry-flag": b"",  # filled in below
    "bzip2-entry": zb.build_zip({"module.xml": XML, "x.bin": b"x" * 100}, zipfile.ZIP_BZIP2),
    "not-a-zip": b"PK\x03\x04" + b"\0" * 4096,
    "empty-body": b"",
}


def _encrypted_flag() -> bytes:
    """A module whose extra entry has the 'encrypted' flag bit set in both headers."""
    data = bytearray(zb.build_zip({"module.xml": XML, "secret.bin": b"x"}, zipfile.ZIP_STORED))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.rfind(signature)
        data[at + offset] |= 0x1
    return bytes(data)


HOSTILE_MODULES["encrypted-entry-flag"] = _encrypted_flag()


async def test_hostile_modules_are_refused(running: Any) -> None:
    # One app for all the cases (starting one costs more than the checks); names say which failed.
    for case, data in HOSTILE_MODULES.items():
        name = f"{case.replace('/', '-')}.modl"
        detail = await assert_refused(running, "/api/modules", name, data)
        assert "Traceback" not in detail["message"], case


async def test_module_bombs_are_refused_without_inflating(
    running: Any, bombs: dict[str, bytes]
) -> None:
    zero = await assert_refused(running, "/api/modules", "zero.modl", bombs["zero-200mib-entry"])
    assert "compressed more than 100:1 (zip bomb?)" in zero["message"], zero
    lying = bombs["module-xml-lies-about-its-size"]
    liar = await assert_refused(running, "/api/modules", "lying.modl", lying)
    assert "module.xml cannot be read" in liar["message"], liar


async def test_refusals_say_why(running: Any) -> None:
    messages = {
        case: (
            await (
                await running.client.post(
                    "/api/modules?fileName=x.modl", data=HOSTILE_MODULES[case]
                )
            ).get_json()
        )["detail"]["message"]
        for case in ("dotdot-traversal", "doctype-entity", "20000-entries", "only-Module.xml")
    }
    assert "unsafe entry name '../../x'" in messages["dotdot-traversal"]
    assert "forbidden XML features" in messages["doctype-entity"]
    assert "more than 10000 entries" in messages["20000-entries"]
    assert "no module.xml at its root" in messages["only-Module.xml"]


async def test_the_same_hostile_zips_are_refused_on_the_general_route(
    running: Any, bombs: dict[str, bytes]
) -> None:
    for case in ("dotdot-traversal", "doctype-entity", "20000-entries", "only-dir/module.xml"):
        await assert_refused(running, "/api/uploads", "hostile.modl", HOSTILE_MODULES[case])
    await assert_refused(running, "/api/uploads", "bomb.modl", bombs["zero-200mib-entry"])


async def test_an_honest_module_is_stored_under_its_name(running: Any) -> None:
    data = zb.modl({"license.html": b"<p>EULA</p>", "doc/index.html": b"<h1>Doc</h1>"})
    response = await running.client.post("/api/modules?fileName=Up 1.0.modl", data=data)
    assert response.status_code == 201, await response.get_json()
    assert listing(running.state.settings.uploads_dir) == ["Up 1.0.modl"]
    assert (running.state.settings.uploads_dir / "Up 1.0.modl").read_bytes() == data


# -- gateway backups and project zips --------------------------------------------------------


def _bomb_entry() -> bytes:
    """2 MiB of zeros deflated: far past 100:1, and big enough that the ratio counts."""
    return bytes(2 * 1024 * 1024)


HOSTILE_BACKUPS: dict[str, bytes] = {
    "traversal": zb.gwbk({"../../etc/cron.d/x": b"* * * * * root sh"}),
    "absolute": zb.gwbk({"/etc/passwd": b"x"}),
    "backslash": zb.gwbk({"projects\\..\\..\\x": b"x"}),
    "ratio-bomb": zb.gwbk({"db.bin": _bomb_entry()}),
    "not-a-backup": zb.build_zip({"readme.txt": b"hello", "projects/a/project.json": b"{}"}),
    "marker-with-doctype": zb.build_zip(
        {"gateway.xml": b'<!DOCTYPE g [<!ENTITY e "x">]><gateway name="&e;"/>'}
    ),
    "not-a-zip": b"just some text",
}


async def test_hostile_backups_are_refused(running: Any) -> None:
    for case, data in HOSTILE_BACKUPS.items():
        await assert_refused(running, "/api/uploads", f"{case}.gwbk", data)


async def test_backup_entry_cap(running: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from ignition_toolbox.api import uploads
    from ignition_toolbox.core.archives import ZipLimits

    monkeypatch.setattr(uploads, "BACKUP_LIMITS", ZipLimits(max_entries=100))
    crowded = zb.gwbk({f"projects/p/{i}.json": b"{}" for i in range(150)})
    detail = await assert_refused(running, "/api/uploads", "big.gwbk", crowded)
    assert "more than 100 entries" in detail["message"]


async def test_backups_of_the_simulator_and_of_a_real_gateway_shape_are_accepted(
    running: Any,
) -> None:
    sim = await running.client.post("/api/uploads?fileName=sim.gwbk", data=zb.gwbk())
    assert sim.status_code == 201, await sim.get_json()
    real = zb.build_zip(
        {
            "backupinfo.xml": b"<backupInfo><version>8.1.33</version></backupInfo>",
            "db_backup_sqlite.idb": b"SQLite format 3\0" + bytes(4096),
            "redundancy.xml": b"<redundancy/>",
        }
    )
    shaped = await running.client.post("/api/uploads?fileName=real.gwbk", data=real)
    assert shaped.status_code == 201, await shaped.get_json()


HOSTILE_PROJECTS: dict[str, bytes] = {
    "traversal": zb.project_zip(extra={"../x.json": b"{}"}),
    "absolute": zb.project_zip(extra={"/x.json": b"{}"}),
    "ratio-bomb": zb.project_zip(extra={"big.bin": _bomb_entry()}),
    "no-project-json": zb.build_zip({"views/Main/view.json": b"{}"}),
    "project-json-two-levels-down": zb.project_zip("a/b/"),
    "two-projects": zb.build_zip({"a/project.json": b"{}", "b/project.json": b"{}"}),
    "project-json-not-json": zb.build_zip({"project.json": b"{not json"}),
    "project-json-not-an-object": zb.build_zip({"project.json": b"[1, 2]"}),
    "Project.json-wrong-case": zb.build_zip({"Project.json": b"{}"}),
    "not-a-zip": b"plain text",
}


async def test_hostile_project_zips_are_refused(running: Any) -> None:
    for case, data in HOSTILE_PROJECTS.items():
        await assert_refused(running, "/api/uploads", f"{case}.zip", data)


async def test_project_json_at_the_root_or_one_folder_down_is_accepted(running: Any) -> None:
    for name, prefix in (("root.zip", ""), ("nested.zip", "demo/")):
        response = await running.client.post(
            f"/api/uploads?fileName={name}", data=zb.project_zip(prefix)
        )
        assert response.status_code == 201, (name, await response.get_json())


# -- text kinds --------------------------------------------------------------------------------

HOSTILE_TEXT: dict[str, tuple[str, bytes]] = {
    "json-malformed": (".json", b'{"tags": ['),
    "json-deep": (".json", b"[" * 100_000 + b"]" * 100_000),
    "json-not-utf8": (".json", b'{"name": "\xff\xfe"}'),
    "xml-doctype": (".xml", b'<!DOCTYPE t [<!ENTITY e "x">]><tags>&e;</tags>'),
    "xml-xxe": (".xml", b'<!DOCTYPE t [<!ENTITY e SYSTEM "file:///etc/passwd">]><t>&e;</t>'),
    "xml-malformed": (".xml", b"<tags><tag></tags>"),
    "csv-nul": (".csv", b"name,value\nx,\0\n"),
    "csv-not-utf8": (".csv", b"name,value\n\xff,1\n"),
    "csv-field-too-big": (".csv", b'"' + b"x" * 200_000 + b'"\n'),
}


async def test_hostile_text_files_are_refused(running: Any) -> None:
    for case, (ending, data) in HOSTILE_TEXT.items():
        await assert_refused(running, "/api/uploads", f"{case}{ending}", data)


async def test_honest_text_files_are_accepted(running: Any) -> None:
    for name, data in (
        ("tags.json", json.dumps({"tags": [{"name": "T1", "value": 1}]}).encode()),
        ("tags.xml", b'<?xml version="1.0"?><Tags><Tag name="T1"/></Tags>'),
        ("tags.csv", '\ufeffname,value\nT1,1\nT2,"a, b"\n'.encode()),
    ):
        response = await running.client.post(f"/api/uploads?fileName={name}", data=data)
        assert response.status_code == 201, (name, await response.get_json())
    assert listing(running.state.settings.uploads_dir) == ["tags.csv", "tags.json", "tags.xml"]


# -- the core checks, directly ------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["../x", "a/../../x", "/x", "\\x", "a\\b", "C:x", "c:/x", "a//b", "./a", "a/./b", "a\0b", ".."],
)
def test_unsafe_names(name: str) -> None:
    assert unsafe_name_reason(name) is not None


@pytest.mark.parametrize("name", ["module.xml", "lib/gateway.jar", "dir/", "a b/c-d_e.1.json"])
def test_plain_names(name: str) -> None:
    assert unsafe_name_reason(name) is None


def test_a_directory_that_claims_few_entries_but_holds_many_is_refused_before_parsing(
    tmp_path: Path,
) -> None:
    """zipfile walks the directory by its byte size, not its declared count: the count in the end
    record is rewritten to 1 here, and the signature count still refuses it."""
    data = bytearray(zb.many_entries(200))
    end = data.rfind(b"PK\x05\x06")
    data[end + 8 : end + 12] = (1).to_bytes(2, "little") * 2
    path = tmp_path / "few.zip"
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveError, match="more than 50 entries"):
        open_zip(path, max_entries=50)
    with open_zip(path, max_entries=500) as archive:
        assert len(archive.infolist()) == 201
