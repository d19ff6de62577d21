"""The execution manager: a bounded queue drained by ``max_concurrent`` workers.

Every state change is written to the database before it is acknowledged or broadcast (SR-13), so a
client never hears of an execution or a completed step that a ``kill -9`` could lose. At start-up,
executions a crash left active are swept to ``interrupted``; nothing resumes by itself (SR-14).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import shutil
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ignition_toolbox.core import (
    TERMINAL,
    ArtifactEvent,
    Execution,
    ExecutionNotFoundError,
    ExecutionStateEvent,
    InvalidTransitionError,
    LogEvent,
    PlaybookLibrary,
    PluginManager,
    RateLimitedError,
    ScreenshotFrameEvent,
    StepResultEvent,
    ToolboxError,
    ValidationError,
)
from ignition_toolbox.core.events import Event
from ignition_toolbox.core.origins import same_origin

from . import audit, credentials, event_writes
from .broadcast import Hub
from .keys import iso
from .models import ArtifactRecord, CredentialRecord, ExecutionRecord, StepResultRecord
from .vault import Vault

log = logging.getLogger(__name__)

ACTIVE = ("pending", "running", "paused")
STATUSES = frozenset({*ACTIVE, *TERMINAL})
CONTROL_ACTIONS = ("pause", "resume", "skip", "cancel")
MAX_PARAMETERS = 200
MAX_PARAMETER_BYTES = 64 * 1024
SERVER_RESTART_ERROR = {
    "code": "internal_error",
    "reason": "server_restart",
    "message": "The server stopped while this execution was active",
}
SECRET_PLACEHOLDER = "$encrypted$"


@dataclass(frozen=True)
class StartRequest:
    playbook_path: str
    parameters: dict[str, Any]
    gateway_url: str | None
    credential_name: str | None
    debug_mode: bool

    @classmethod
    def parse(cls, body: Any) -> StartRequest:
        if not isinstance(body, dict):
            raise ValidationError("Request body must be a JSON object")
        allowed = {"playbook_path", "parameters", "gateway_url", "credential_name", "debug_mode"}
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise ValidationError(
                f"Unknown field(s): {', '.join(unknown[:20])}", {"fields": unknown[:20]}
            )
        path = body.get("playbook_path")
        if not isinstance(path, str) or not path:
            raise ValidationError("playbook_path is required", {"field": "playbook_path"})
        parameters = body.get("parameters") or {}
        if not isinstance(parameters, dict):
            raise ValidationError("parameters must be an object", {"field": "parameters"})
        if len(parameters) > MAX_PARAMETERS:
            raise ValidationError(
                f"At most {MAX_PARAMETERS} parameters",
                {"field": "parameters", "limit": MAX_PARAMETERS},
            )
        try:
            size = len(json.dumps(parameters))
        except (TypeError, ValueError, RecursionError):
            raise ValidationError(
                "parameters are not valid JSON values", {"field": "parameters"}
            ) from None
        if size > MAX_PARAMETER_BYTES:
            raise ValidationError(
                f"parameters are larger than {MAX_PARAMETER_BYTES} bytes",
                {"field": "parameters", "limit_bytes": MAX_PARAMETER_BYTES},
            )
        gateway_url = credentials.check_gateway_url(body.get("gateway_url"))
        credential_name = body.get("credential_name")
        if credential_name in (None, ""):
            credential_name = None
        else:
            credential_name = credentials.check_name(credential_name)
        debug = body.get("debug_mode", False)
        if not isinstance(debug, bool):
            raise ValidationError("debug_mode must be a boolean", {"field": "debug_mode"})
        return cls(path, parameters, gateway_url, credential_name, debug)

    def fingerprint(self) -> str:
        data = json.dumps(self.__dict__, sort_keys=True, default=str)
        return hashlib.sha256(data.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def step_view(row: StepResultRecord) -> dict[str, Any]:
    return {
        "step_index": row.step_index,
        "step_id": row.step_id,
        "step_name": row.step_name,
        "step_type": row.step_type,
        "status": row.status,
        "started_at": iso(row.started_at),
        "completed_at": iso(row.completed_at),
        "output": row.output,
        "error": row.error,
        "attempts": row.attempts,
    }


SUMMARY_FIELDS = (
    "id",
    "playbook_name",
    "playbook_path",
    "status",
    "started_at",
    "created_at",
    "completed_at",
    "current_step_index",
    "total_steps",
    "credential_name",
    "gateway_url",
    "debug_mode",
    "error",
)


def summary_from_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """The list shape from plain column values: the list is the API's hottest read, and building a
    model instance per row cost more than the query itself."""
    return {
        "execution_id": row["id"],
        "playbook_name": row["playbook_name"],
        "playbook_path": row["playbook_path"],
        "status": row["status"],
        "started_at": iso(row["started_at"] or row["created_at"]),
        "completed_at": iso(row["completed_at"]),
        "current_step_index": row["current_step_index"],
        "total_steps": row["total_steps"],
        "credential": row["credential_name"],
        "gateway_url": row["gateway_url"],
        "debug_mode": row["debug_mode"],
        "error": row["error"],
    }


def summary_view(record: ExecutionRecord) -> dict[str, Any]:
    return summary_from_row({name: getattr(record, name) for name in SUMMARY_FIELDS})


async def detail_view(record: ExecutionRecord) -> dict[str, Any]:
    steps = await StepResultRecord.filter(execution_id=record.id).order_by("step_index")
    return {
        **summary_view(record),
        "parameters": record.parameters,
        "step_results": [step_view(s) for s in steps],
    }


class ExecutionManager:
    def __init__(
        self,
        *,
        plugins: PluginManager,
        library: PlaybookLibrary,
        hub: Hub,
        vault: Vault,
        artifacts_root: Path,
        max_concurrent: int,
        max_queued: int,
        files_dirs: list[Path] | None = None,
        trust_caller_files: bool = False,
    ) -> None:
        self.files_dirs = files_dirs
        # Desktop mode (no API keys): a caller's absolute path for a file parameter is read as
        # given; with keys it stays inside files_dirs (ExecutionContext.resolve_file).
        self.trust_caller_files = trust_caller_files
        self.plugins = plugins
        self.library = library
        self.hub = hub
        self.vault = vault
        self.artifacts_root = artifacts_root
        self.max_concurrent = max(1, max_concurrent)
        self._queue: asyncio.Queue[Execution] = asyncio.Queue(maxsize=max_queued)
        self._live: dict[str, Execution] = {}
        self._dequeued: set[str] = set()
        self._last_step: dict[str, dict[str, Any]] = {}
        # The step index stored per live execution: a step event then costs one statement (two
        # when the current step moves).
        self._stored_index: dict[str, int] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._reserved = 0  # queue slots held by starts still writing their row
        self._commits = event_writes.GroupCommit()

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def commits(self) -> event_writes.GroupCommit:
        """The writes in flight, for rows written on a start's path (its audit row)."""
        return self._commits

    async def start(self) -> int:
        swept = await self.sweep()
        self._workers = [
            asyncio.create_task(self._worker(), name=f"itk-worker-{n}")
            for n in range(self.max_concurrent)
        ]
        return swept

    @staticmethod
    async def sweep() -> int:
        """Executions a crash left active become ``interrupted`` with their in-flight step."""
        ids = await ExecutionRecord.filter(status__in=ACTIVE).values_list("id", flat=True)
        if not ids:
            return 0
        now = _now()
        for start in range(0, len(ids), 500):
            chunk = list(ids[start : start + 500])
            await StepResultRecord.filter(
                execution_id__in=chunk, status__in=("running", "pending")
            ).update(status="interrupted", completed_at=now)
            await ExecutionRecord.filter(id__in=chunk, status__in=ACTIVE).update(
                status="interrupted", error=SERVER_RESTART_ERROR, completed_at=now
            )
        log.warning("marked %d execution(s) interrupted after an unclean stop", len(ids))
        return len(ids)

    async def shutdown(self, timeout: float) -> None:
        """Cancel everything; runs end ``cancelled``. Whatever outlives ``timeout`` is swept later."""
        for execution_id, execution in list(self._live.items()):
            try:
                await self._cancel(execution_id, execution)
            except ToolboxError:
                pass
            except Exception:
                log.exception("cancel during shutdown failed for %s", execution_id)
        if self._live:
            deadline = asyncio.get_running_loop().time() + timeout
            while self._live and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.05)
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers = []

    @property
    def active_count(self) -> int:
        return len(self._live)

    # -- starting ------------------------------------------------------------------------------

    async def submit(
        self, request: StartRequest, *, created_by: str | None, idempotency_key: str | None
    ) -> tuple[ExecutionRecord, bool]:
        """Persist a ``pending`` row, then queue. Returns (row, created)."""
        scoped_key = f"{created_by or 'local'}:{idempotency_key}" if idempotency_key else None
        fingerprint = request.fingerprint()
        if scoped_key is not None:
            existing = await ExecutionRecord.get_or_none(idempotency_key=scoped_key)
            if existing is not None:
                return self._same_request(existing, fingerprint), False

        # A fresh parse goes to a thread; the usual case, a file parsed before, does not, since
        # under load the hop to a thread and back costs more than the small read and the hash.
        path = request.playbook_path
        raw = self.library.read_bytes(path)
        playbook = self.library.parsed_before(raw, self.plugins, path) or (
            await asyncio.to_thread(self.library.parse, raw, self.plugins, path)
        )
        gateway_url = request.gateway_url
        declared = playbook.parameter("gateway_url")
        if gateway_url is None and declared is not None and declared.type == "string":
            # The playbook's own gateway_url parameter names the run's gateway: the same checks.
            gateway_url = credentials.check_gateway_url(
                request.parameters.get("gateway_url"), "parameters.gateway_url"
            )
        stored: CredentialRecord | None = None
        if request.credential_name:
            stored = await CredentialRecord.get_or_none(name=request.credential_name)
            if stored is None:
                from ignition_toolbox.core import CredentialNotFoundError

                raise CredentialNotFoundError(
                    f"Credential '{request.credential_name}' not found",
                    {"name": request.credential_name},
                )
            if gateway_url is None:
                gateway_url = stored.gateway_url
            elif stored.gateway_url and not same_origin(gateway_url, stored.gateway_url):
                raise ValidationError(
                    f"gateway_url is not the gateway credential '{stored.name}' is bound to",
                    {"field": "gateway_url", "credential": stored.name},
                )
        execution_id = str(uuid.uuid4())
        execution = Execution(
            playbook,
            plugins=self.plugins,
            parameters=request.parameters,
            sink=self._sink,
            execution_id=execution_id,
            gateway_url=gateway_url,
            credential_name=request.credential_name,
            credentials=credentials.resolver(self.vault, stored),
            debug=request.debug_mode,
            artifacts_dir=self.artifacts_root / execution_id,
            library=self.library,
            files_dirs=self.files_dirs,
            trust_caller_files=self.trust_caller_files,
        )
        stored_parameters = {
            p.name: SECRET_PLACEHOLDER
            if p.secret and execution.parameters.get(p.name) is not None
            else execution.parameters.get(p.name)
            for p in playbook.parameters
        }
        # A queue slot is reserved before the row is written and taken after, with no lock held
        # across the write: concurrent starts share the database instead of queueing one by one.
        if self._queue.qsize() + self._reserved >= self._queue.maxsize > 0:
            raise RateLimitedError(
                "Too many executions are waiting; try again later", retry_after=5
            )
        now = _now()
        row: dict[str, Any] = {
            "id": execution_id,
            "playbook_path": playbook.source,
            "playbook_name": playbook.name,
            "playbook_hash": playbook.content_hash,
            "status": "pending",
            "parameters": stored_parameters,
            "gateway_url": gateway_url,
            "credential_name": request.credential_name,
            "debug_mode": request.debug_mode,
            "current_step_index": 0,
            "total_steps": len(playbook.steps),
            "error": None,
            "created_by": created_by,
            "idempotency_key": scoped_key,
            "request_hash": fingerprint if scoped_key else None,
            "created_at": now,
            "started_at": now,
            "completed_at": None,
        }
        self._reserved += 1
        try:
            from tortoise.exceptions import IntegrityError

            try:
                if scoped_key is None:
                    # The common start: its row joins the writes in flight (group commit). With
                    # an Idempotency-Key the ORM's insert reports a reused key as IntegrityError.
                    await event_writes.insert_row(ExecutionRecord, row, self._commits)
                    record = ExecutionRecord(**row)
                else:
                    record = await ExecutionRecord.create(**row)
            except IntegrityError:
                existing = await ExecutionRecord.get_or_none(idempotency_key=scoped_key)
                if existing is None:
                    raise
                return self._same_request(existing, fingerprint), False
        finally:
            self._reserved -= 1
        self._live[execution_id] = execution
        self._queue.put_nowait(execution)
        self.hub.publish(execution_id, self._update(record.id, "pending", 0))
        return record, True

    @staticmethod
    def _same_request(existing: ExecutionRecord, fingerprint: str) -> ExecutionRecord:
        if existing.request_hash != fingerprint:
            raise ValidationError(
                "Idempotency-Key was already used with a different request",
                {"header": "Idempotency-Key"},
            )
        return existing

    # -- control -------------------------------------------------------------------------------

    async def control(self, execution_id: str, action: str) -> None:
        execution = self._live.get(execution_id)
        if execution is None:
            record = await ExecutionRecord.get_or_none(id=execution_id)
            if record is None:
                raise ExecutionNotFoundError(
                    f"Execution '{execution_id}' not found", {"execution_id": execution_id}
                )
            raise InvalidTransitionError(
                f"Cannot {action} an execution that is {record.status}",
                {"status": record.status, "execution_id": execution_id},
            )
        if action == "cancel":
            await self._cancel(execution_id, execution)
        elif action == "pause":
            await execution.pause()
        elif action == "resume":
            await execution.resume()
        elif action == "skip":
            await execution.skip()
        elif action == "retry":
            await execution.retry()
        else:
            raise ValidationError(f"Unknown action '{action}'")

    async def _cancel(self, execution_id: str, execution: Execution) -> None:
        # A queued run ends at once: the executor reports `cancelled` through the sink itself.
        await execution.cancel()

    async def delete(self, execution_id: str) -> int:
        """Delete a finished execution; returns its screenshot count.

        The row goes in one conditional statement (this id, a terminal status), so of concurrent
        deletes exactly one removes it and the others answer 404: a read, then a delete of what was
        read, let every one of them see the row and report success."""
        if execution_id in self._live:
            # Terminal in the database a moment before its worker lets go of it: still active.
            record = await self.get_record(execution_id)
            raise self._still_active(execution_id, record.status)
        screenshots = await ArtifactRecord.filter(
            execution_id=execution_id, kind="screenshot"
        ).count()
        deleted = await ExecutionRecord.filter(id=execution_id, status__in=tuple(TERMINAL)).delete()
        if not deleted:
            record = await self.get_record(execution_id)  # gone → execution_not_found
            raise self._still_active(execution_id, record.status)
        directory = self.artifacts_root / execution_id
        if directory.is_dir():
            await asyncio.to_thread(shutil.rmtree, directory, True)
        self._last_step.pop(execution_id, None)
        return screenshots

    @staticmethod
    def _still_active(execution_id: str, status: str) -> ValidationError:
        return ValidationError(
            "Execution is still active; cancel it first",
            {"status": status, "execution_id": execution_id},
        )

    async def cleanup(self, older_than: datetime) -> tuple[int, int]:
        """Delete terminal executions that ended before ``older_than``, with their artifacts.

        Returns (executions, screenshots) deleted. Rows go in chunks so no transaction is long."""
        ids = [
            str(i)
            for i in await ExecutionRecord.filter(
                status__in=tuple(TERMINAL), completed_at__lt=older_than
            ).values_list("id", flat=True)
            if str(i) not in self._live
        ]
        executions = screenshots = 0
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            screenshots += await ArtifactRecord.filter(
                execution_id__in=chunk, kind="screenshot"
            ).count()
            doomed = ExecutionRecord.filter(id__in=chunk, status__in=tuple(TERMINAL))
            # Counted first: SQLite's row count for a DELETE includes the cascaded step rows.
            executions += await doomed.count()
            await doomed.delete()
            for execution_id in chunk:
                directory = self.artifacts_root / execution_id
                if directory.is_dir():
                    await asyncio.to_thread(shutil.rmtree, directory, True)
        return executions, screenshots

    @staticmethod
    async def get_record(execution_id: str) -> ExecutionRecord:
        record = await ExecutionRecord.get_or_none(id=execution_id)
        if record is None:
            raise ExecutionNotFoundError(
                f"Execution '{execution_id}' not found", {"execution_id": execution_id}
            )
        return record

    # -- running -------------------------------------------------------------------------------

    async def _worker(self) -> None:
        while True:
            execution = await self._queue.get()
            execution_id = execution.execution_id
            try:
                if execution.controls.cancelled and execution.status == "cancelled":
                    continue
                self._dequeued.add(execution_id)
                await execution.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("execution %s ended with an error outside the executor", execution_id)
                await self._mark_failed(execution_id)
            finally:
                self._live.pop(execution_id, None)
                self._dequeued.discard(execution_id)
                self._last_step.pop(execution_id, None)
                self._stored_index.pop(execution_id, None)
                self._queue.task_done()

    async def _mark_failed(self, execution_id: str) -> None:
        try:
            await ExecutionRecord.filter(id=execution_id, status__in=ACTIVE).update(
                status="failed",
                error={"code": "internal_error", "message": "Internal server error"},
                completed_at=_now(),
            )
            self.hub.publish(execution_id, self._update(execution_id, "failed", 0))
        except Exception:
            log.exception("could not mark execution %s failed", execution_id)

    def _update(
        self, execution_id: str, status: str, index: int, extra: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "execution_id": execution_id,
            "status": status,
            "current_step_index": index,
        }
        if extra:
            data.update(extra)
        step = self._last_step.get(execution_id)
        if step is not None:
            data["step_result"] = step
        return {"type": "execution_update", "data": data}

    async def _sink(self, event: Event) -> None:
        """Persist, then broadcast. A failed write propagates so the executor fails the run."""
        if isinstance(event, ExecutionStateEvent):
            values: dict[str, Any] = {
                "status": event.status,
                "current_step_index": event.current_step_index,
                "total_steps": event.total_steps,
            }
            if event.status in TERMINAL:
                values["completed_at"] = event.timestamp
                values["error"] = event.error
            elif event.error is not None:
                values["error"] = event.error
            await event_writes.update_execution(event.execution_id, values, self._commits)
            self._stored_index[event.execution_id] = event.current_step_index
            self.hub.publish(
                event.execution_id,
                self._update(
                    event.execution_id,
                    event.status,
                    event.current_step_index,
                    {
                        "total_steps": event.total_steps,
                        "playbook_name": event.playbook_name,
                        "error": event.error,
                    },
                ),
            )
        elif isinstance(event, StepResultEvent):
            await event_writes.write_step(
                event.execution_id,
                event.step_index,
                step_id=event.step_id,
                step_name=event.step_name,
                step_type=event.step_type,
                status=event.status,
                started_at=event.started_at,
                completed_at=event.completed_at,
                output=event.output,
                error=event.error,
                attempts=event.attempts,
                commits=self._commits,
            )
            refused = (event.error or {}).get("details", {}).get("refused_origin")
            if event.status == "failed" and refused is not None:
                # A secret kept from an origin it is not bound to: someone may be trying.
                await audit.record(
                    "secret.refused",
                    actor=None,
                    target=event.execution_id,
                    outcome="failure",
                    details={
                        "credential": event.error["details"].get("credential"),
                        "refused_origin": refused,
                        "step_id": event.step_id,
                    },
                    commits=self._commits,
                )
            if self._stored_index.get(event.execution_id) != event.step_index:
                await event_writes.update_execution(
                    event.execution_id, {"current_step_index": event.step_index}, self._commits
                )
                self._stored_index[event.execution_id] = event.step_index
            self._last_step[event.execution_id] = {
                "step_index": event.step_index,
                "step_id": event.step_id,
                "step_name": event.step_name,
                "step_type": event.step_type,
                "status": event.status,
                "started_at": iso(event.started_at),
                "completed_at": iso(event.completed_at),
                "error": event.error,
                "attempts": event.attempts,
            }
            execution = self._live.get(event.execution_id)
            self.hub.publish(
                event.execution_id,
                self._update(
                    event.execution_id,
                    execution.status if execution else "running",
                    event.step_index,
                ),
            )
        elif isinstance(event, ScreenshotFrameEvent):
            if self.hub.wants_frames(event.execution_id):
                self.hub.publish_frame(
                    event.execution_id,
                    {
                        "type": "screenshot_frame",
                        "data": {
                            "execution_id": event.execution_id,
                            "frame": event.data_url(),
                            "timestamp": event.timestamp,
                        },
                    },
                )
        elif isinstance(event, ArtifactEvent):
            await ArtifactRecord.create(
                id=event.artifact_id,
                execution_id=event.execution_id,
                name=event.name[:255],
                kind=event.kind[:32],
                content_type=event.content_type[:128],
                filename=event.path.name,
                size=event.size,
                step_id=event.step_id,
            )
            self.hub.publish(
                event.execution_id,
                {
                    "type": "artifact",
                    "data": {
                        "execution_id": event.execution_id,
                        "artifact_id": event.artifact_id,
                        "name": event.name,
                        "kind": event.kind,
                        "content_type": event.content_type,
                        "size": event.size,
                        "step_id": event.step_id,
                    },
                },
            )
        elif isinstance(event, LogEvent):
            self.hub.publish(
                event.execution_id,
                {
                    "type": "execution_log",
                    "data": {
                        "execution_id": event.execution_id,
                        "level": event.level,
                        "message": event.message,
                        "step_id": event.step_id,
                        "timestamp": iso(event.timestamp),
                    },
                },
            )


__all__ = [
    "ACTIVE",
    "CONTROL_ACTIONS",
    "SERVER_RESTART_ERROR",
    "STATUSES",
    "SUMMARY_FIELDS",
    "ExecutionManager",
    "StartRequest",
    "detail_view",
    "step_view",
    "summary_from_row",
    "summary_view",
]
