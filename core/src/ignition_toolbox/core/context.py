"""What a step handler and a resource opener can see and do.

``ExecutionContext`` is shared by every step of one execution (and by the resources opened for it);
``StepContext`` adds the step being run. Handlers must use ``ctx.sleep`` for their own waits and polls,
so that pause, skip and cancel reach them.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .credentials import Credential, CredentialResolver
from .errors import StepFailedError, ToolboxError
from .events import ArtifactEvent, Event, EventSink, LogEvent, ScreenshotFrameEvent
from .secrets import Secrets, reveal

if TYPE_CHECKING:
    from contextlib import AsyncExitStack

    from .playbook import Playbook, Step
    from .plugins import PluginManager

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class Controls:
    """Pause, cancel and skip signals shared by an execution and its nested playbooks."""

    def __init__(self) -> None:
        self.running = asyncio.Event()
        self.running.set()
        self.paused = asyncio.Event()
        self.cancelled = False

    async def wait_if_paused(self) -> None:
        await self.running.wait()

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of *running* time: the clock stops while the execution is paused."""
        loop = asyncio.get_running_loop()
        remaining = max(0.0, float(seconds))
        while True:
            await self.running.wait()
            if remaining <= 0:
                return
            started = loop.time()
            try:
                async with asyncio.timeout(remaining):  # no extra task per sleep, unlike wait_for
                    await self.paused.wait()
            except TimeoutError:
                return
            remaining -= loop.time() - started


class ExecutionContext:
    """The execution as plugins see it. Created by the executor; never built by plugins."""

    def __init__(
        self,
        *,
        execution_id: str,
        playbook: Playbook,
        plugins: PluginManager,
        sink: EventSink,
        parameters: dict[str, Any],
        credentials: CredentialResolver,
        artifacts_dir: Path,
        gateway_url: str | None,
        credential_name: str | None,
        options: dict[str, Any],
        controls: Controls,
        secrets: Secrets,
        exit_stack: AsyncExitStack,
        resources: dict[str, Any],
        files_dirs: list[Path] | None = None,
        caller_files: frozenset[str] = frozenset(),
        trust_caller_files: bool = False,
    ) -> None:
        self.execution_id = execution_id
        self.playbook = playbook
        self.plugins = plugins
        self.parameters = parameters
        self.artifacts_dir = artifacts_dir
        self.files_dirs = files_dirs
        self.caller_files = caller_files
        self.trust_caller_files = trust_caller_files
        self.gateway_url = gateway_url
        self.credential_name = credential_name
        self.options = options
        self.controls = controls
        self.secrets = secrets
        self.variables: dict[str, Any] = {}
        self._sink = sink
        self._credentials = credentials
        self._credential_cache: dict[str, Credential] = {}
        self._exit_stack = exit_stack
        self._resources = resources
        self._resource_locks: dict[str, asyncio.Lock] = {}
        # The executor running this context; ``playbook.run`` uses it to start nested playbooks.
        self.runner: Any = None

    # -- credentials ---------------------------------------------------------------------------

    async def credential(self, name: str | None = None) -> Credential:
        """Resolve a credential (default: the execution's ``credential_name``) and mark its secrets."""
        name = name or self.credential_name
        if not name:
            raise StepFailedError(
                "This step needs a credential: give the execution a credential_name or name one",
                code="validation_error",
            )
        cached = self._credential_cache.get(name)
        if cached is None:
            cached = await self._credentials(name)
            self._credential_cache[name] = cached
            self.secrets.add(*cached.secrets())
        return cached

    # -- resources -----------------------------------------------------------------------------

    async def resource(self, name: str) -> Any:
        """Return the per-execution resource ``name``, opening it on first use."""
        if name in self._resources:
            return self._resources[name]
        lock = self._resource_locks.setdefault(name, asyncio.Lock())
        async with lock:
            if name not in self._resources:
                resource_type = self.plugins.resource_type(name)
                self._resources[name] = await self._exit_stack.enter_async_context(
                    resource_type.open(self)
                )
        return self._resources[name]

    def has_resource(self, name: str) -> bool:
        return name in self._resources

    # -- waiting -------------------------------------------------------------------------------

    async def sleep(self, seconds: float) -> None:
        """A pausable, cancellable sleep for a handler's own waits and polls."""
        await self.controls.sleep(seconds)

    async def wait_if_paused(self) -> None:
        await self.controls.wait_if_paused()

    @property
    def is_paused(self) -> bool:
        return self.controls.paused.is_set()

    # -- events --------------------------------------------------------------------------------

    async def emit(self, event: Event) -> None:
        await self._sink(event)

    async def log(self, message: str, level: str = "info", step_id: str | None = None) -> None:
        await self.emit(LogEvent(self.execution_id, level, self.secrets.redact(message), step_id))

    async def emit_frame(
        self, data: bytes, mime_type: str = "image/jpeg", captured_at_ms: int | None = None
    ) -> None:
        """Send one live-view frame. Callers mask secrets in the image before they call this."""
        if captured_at_ms is None:
            event = ScreenshotFrameEvent(self.execution_id, data, mime_type)
        else:
            event = ScreenshotFrameEvent(self.execution_id, data, mime_type, captured_at_ms)
        await self.emit(event)

    async def add_artifact(
        self,
        name: str,
        data: bytes | None = None,
        *,
        path: Path | None = None,
        kind: str = "file",
        content_type: str = "application/octet-stream",
        step_id: str | None = None,
    ) -> ArtifactEvent:
        """Keep a file with the execution: pass ``data`` or the ``path`` of a file to move in."""
        artifact_id = uuid.uuid4().hex
        safe = _SAFE_NAME.sub("_", name).strip("._") or "artifact"
        target = self.new_artifact_path(f"{artifact_id[:12]}-{safe}")
        if data is not None:
            await asyncio.to_thread(target.write_bytes, data)
        elif path is not None:
            await asyncio.to_thread(Path(path).replace, target)
        else:
            raise ToolboxError("add_artifact needs data or a path")
        event = ArtifactEvent(
            execution_id=self.execution_id,
            artifact_id=artifact_id,
            name=name,
            kind=kind,
            content_type=content_type,
            path=target,
            size=target.stat().st_size,
            step_id=step_id,
        )
        await self.emit(event)
        return event

    def resolve_file(self, path: str, what: str = "Input") -> Path:
        """An existing input file a step reads (a module, a backup, an upload).

        Where the caller set ``files_dirs`` (the server does), the file must lie inside one of them
        and relative paths start in the first; otherwise (the CLI) paths are the user's own.
        One exception: with ``trust_caller_files`` (the desktop server, no API keys) an absolute
        path the caller itself gave a ``type: file`` parameter (``caller_files``) is read as
        given. A path written in the playbook (a literal, a default) stays confined either way.
        """
        shown = Path(str(path)).name
        if "\x00" in str(path):
            raise StepFailedError(f"{what} file name is invalid", code="validation_error")
        if self.files_dirs is None:
            candidate = Path(path).expanduser()
        else:
            candidate = Path(path) if Path(path).is_absolute() else self.files_dirs[0] / path
        try:
            real = candidate.resolve(strict=True)
        except (OSError, RuntimeError):
            raise StepFailedError(
                f"{what} file '{shown}' does not exist", {"path": shown}, code="validation_error"
            ) from None
        if self.files_dirs is not None and not any(
            real.is_relative_to(d.resolve()) for d in self.files_dirs
        ):
            self._confined(str(path), shown, what)
        if not real.is_file():
            raise StepFailedError(
                f"{what} file '{shown}' is not a file", {"path": shown}, code="validation_error"
            )
        return real

    def _confined(self, path: str, shown: str, what: str) -> None:
        """Allow a caller's own absolute path when trusted; otherwise refuse, saying why."""
        from_caller = path in self.caller_files
        if from_caller and Path(path).is_absolute() and self.trust_caller_files:
            return
        if from_caller and self.trust_caller_files:
            reason = (
                "a relative path given with the request starts in the uploads folder and must "
                "stay inside it; give an absolute path to read the file where it is"
            )
        elif from_caller:
            reason = (
                "this server enforces API keys (--auth), so a path given with the request is "
                "read only from its uploads folder or a --files-dir folder: upload the file "
                "(POST /api/modules or /api/uploads) or serve with --files-dir"
            )
        else:
            reason = (
                "a path written in the playbook must lie in the server's uploads folder or a "
                "--files-dir folder; pass the file as a parameter instead"
            )
        raise StepFailedError(
            f"{what} file '{shown}' is outside the folders this server may read: {reason}",
            {"path": shown, "source": "request" if from_caller else "playbook"},
            code="invalid_path",
        )

    def new_artifact_path(self, filename: str) -> Path:
        """A path inside this execution's artifacts directory (created on demand)."""
        self.artifacts_dir.mkdir(parents=True, exist_ok=True)
        return self.artifacts_dir / _SAFE_NAME.sub("_", filename)


class StepContext:
    """One step's view: the execution plus the step, with logs and artifacts tagged to it."""

    def __init__(self, execution: ExecutionContext, step: Step, attempt: int = 1) -> None:
        self.execution = execution
        self.step = step
        self.attempt = attempt

    # Delegation keeps handlers short: ``ctx.gateway_url``, ``await ctx.sleep(1)``.
    @property
    def execution_id(self) -> str:
        return self.execution.execution_id

    @property
    def step_id(self) -> str:
        return self.step.id

    @property
    def gateway_url(self) -> str | None:
        return self.execution.gateway_url

    @property
    def credential_name(self) -> str | None:
        return self.execution.credential_name

    @property
    def options(self) -> dict[str, Any]:
        return self.execution.options

    @property
    def variables(self) -> dict[str, Any]:
        return self.execution.variables

    @property
    def is_paused(self) -> bool:
        return self.execution.is_paused

    async def credential(self, name: str | None = None) -> Credential:
        return await self.execution.credential(name)

    async def resource(self, name: str) -> Any:
        return await self.execution.resource(name)

    async def sleep(self, seconds: float) -> None:
        await self.execution.sleep(seconds)

    async def wait_if_paused(self) -> None:
        await self.execution.wait_if_paused()

    async def log(self, message: str, level: str = "info") -> None:
        await self.execution.log(message, level, self.step.id)

    async def emit_frame(
        self, data: bytes, mime_type: str = "image/jpeg", captured_at_ms: int | None = None
    ) -> None:
        await self.execution.emit_frame(data, mime_type, captured_at_ms)

    @property
    def stop_reason(self) -> str | None:
        """Why the running step is being stopped by the operator: ``cancel``, ``skip`` or None."""
        if self.execution.controls.cancelled:
            return "cancel"
        if getattr(self.execution.runner, "skip_requested", False):
            return "skip"
        return None

    async def add_artifact(
        self,
        name: str,
        data: bytes | None = None,
        *,
        path: Path | None = None,
        kind: str = "file",
        content_type: str = "application/octet-stream",
    ) -> ArtifactEvent:
        return await self.execution.add_artifact(
            name, data, path=path, kind=kind, content_type=content_type, step_id=self.step.id
        )

    def new_artifact_path(self, filename: str) -> Path:
        return self.execution.new_artifact_path(filename)

    def resolve_file(self, path: str, what: str = "Input") -> Path:
        return self.execution.resolve_file(path, what)

    def reveal(self, value: Any, destination: str | None, what: str = "sent") -> Any:
        """The text of a secret parameter value for ``destination`` (the URL it will reach).

        A ``Secret`` bound to other origins raises ``SecretOriginError`` naming both; plain values
        come back as they are. Either way the text is redacted from the execution's records.
        """
        text = reveal(value, destination, what)
        if isinstance(text, str) and text is not value:
            self.execution.secrets.add(text)
        return text

    def mark_secret(self, *values: str | None) -> None:
        """Redact these values from every event and output of the execution from now on."""
        self.execution.secrets.add(*values)

    def redact(self, value: Any) -> Any:
        return self.execution.secrets.redact(value)
