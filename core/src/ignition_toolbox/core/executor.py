"""One async state machine per execution.

Execution: ``pending → running ⇄ paused → completed | failed | cancelled`` (``interrupted`` is set by a
server that finds a run cut off by a crash). Steps: ``pending | running | completed | failed |
skipped | cancelled``. Control calls (``pause``, ``resume``, ``skip``, ``cancel``, ``retry``) may come
from any task at any moment; each state change is an event sent to the caller's sink before the
executor moves on, so a server can persist before it acknowledges or broadcasts.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import uuid
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from . import templating
from .context import Controls, ExecutionContext, StepContext
from .credentials import Credential, CredentialResolver, no_credentials
from .errors import (
    CredentialNotFoundError,
    InvalidTransitionError,
    PlaybookNotFoundError,
    StepFailedError,
    StepTimeoutError,
    ToolboxError,
    ValidationError,
)
from .events import (
    Event,
    EventSink,
    ExecutionStateEvent,
    LogEvent,
    StepResultEvent,
    discard,
    utcnow,
)
from .playbook import Playbook, Step, coerce_parameters
from .secrets import Secret, Secrets, SecretUseError, find_secrets, shadow

if TYPE_CHECKING:
    from .library import PlaybookLibrary
    from .plugins import PluginManager

log = logging.getLogger(__name__)

TERMINAL = frozenset({"completed", "failed", "cancelled", "interrupted"})
MAX_NESTING = 8


@dataclass
class StepResult:
    step_index: int
    step_id: str
    step_name: str
    step_type: str
    status: str = "pending"
    started_at: datetime | None = None
    completed_at: datetime | None = None
    output: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    attempts: int = 0
    iterations: list[dict[str, Any]] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        return {
            "step_id": self.step_id,
            "step_name": self.step_name,
            "step_type": self.step_type,
            "status": self.status,
            "started_at": self.started_at,
            "completed_at": self.completed_at,
            "output": self.output,
            "error": self.error,
            "attempts": self.attempts,
        }


class _SkipStep(Exception):
    """Raised inside the executor when the operator skipped the step being run."""


def _compose(sink: EventSink, observers: list[EventSink]) -> EventSink:
    if not observers:
        return sink

    async def composed(event: Event) -> None:
        await sink(event)
        for observer in observers:
            try:
                await observer(event)
            except Exception:
                log.exception("an event observer failed; ignored")

    return composed


def _same_url(a: str, b: str) -> bool:
    return a.strip().rstrip("/").lower() == b.strip().rstrip("/").lower()


def fill_request_parameters(
    playbook: Playbook,
    given: dict[str, Any],
    gateway_url: str | None,
    credential_name: str | None,
) -> None:
    """Let a start request's top-level ``gateway_url`` and ``credential_name`` fill the playbook's
    parameter named ``gateway_url`` (type string) and its credential parameter(s), in place.

    A value the caller gave the parameter too must agree with the top-level field; a playbook with
    several credential parameters gets ``credential_name`` only in those the caller left out.
    """
    declared = playbook.parameter("gateway_url")
    if gateway_url and declared is not None and declared.type == "string":
        value = given.get("gateway_url")
        if value not in (None, "") and not (
            isinstance(value, str) and _same_url(value, gateway_url)
        ):
            raise ValidationError(
                "parameter 'gateway_url' and the request's gateway_url name different gateways",
                {"field": "gateway_url", "parameter": "gateway_url"},
            )
        given["gateway_url"] = gateway_url
    if not credential_name:
        return
    declared_credentials = [p for p in playbook.parameters if p.type == "credential"]
    for p in declared_credentials:
        value = given.get(p.name)
        if value in (None, ""):
            given[p.name] = credential_name
        elif len(declared_credentials) == 1 and value != credential_name:
            raise ValidationError(
                f"parameter '{p.name}' and the request's credential_name name different "
                "credentials",
                {"field": "credential_name", "parameter": p.name},
            )


class Execution:
    """Runs one playbook. Create it, ``await run()``, and steer it from other tasks."""

    # Shared with the parent in a nested playbook, the execution's own otherwise.
    depth: int
    files_dirs: list[Path] | None
    caller_files: frozenset[str]
    trust_caller_files: bool
    controls: Controls
    secrets: Secrets
    gateway_url: str | None
    credential_name: str | None
    _credentials: CredentialResolver
    _artifacts_dir: Path
    _options: dict[str, Any]

    def __init__(
        self,
        playbook: Playbook,
        *,
        plugins: PluginManager,
        parameters: dict[str, Any] | None = None,
        sink: EventSink = discard,
        execution_id: str | None = None,
        gateway_url: str | None = None,
        credential_name: str | None = None,
        credentials: CredentialResolver = no_credentials,
        debug: bool = False,
        artifacts_dir: Path | None = None,
        options: dict[str, Any] | None = None,
        library: PlaybookLibrary | None = None,
        parameters_from_text: bool = False,
        files_dirs: list[Path] | None = None,
        trust_caller_files: bool = False,
        parent: Execution | None = None,
    ) -> None:
        given = dict(parameters or {})
        caller_given = frozenset(given)
        fill_request_parameters(playbook, given, gateway_url, credential_name)
        if gateway_url is None and parent is None:
            # A top-level run that names its gateway only as the parameter uses it throughout.
            declared = playbook.parameter("gateway_url")
            value = given.get("gateway_url")
            if declared is not None and declared.type == "string" and isinstance(value, str):
                gateway_url = value or None
        self.playbook = playbook
        self.plugins = plugins
        self.parameters = coerce_parameters(playbook, given, from_text=parameters_from_text)
        self.execution_id = execution_id or str(uuid.uuid4())
        self.debug = debug
        self.library = library
        self.parent = parent
        self.depth = parent.depth + 1 if parent else 0
        self.status = "pending"
        self.current_step_index = 0
        self.error: dict[str, Any] | None = None
        self.step_results: list[StepResult] = []
        self._outputs: dict[str, Any] = {}
        self._sink = _compose(sink, plugins.event_observers() if parent is None else [])
        self._started = False
        self._step_task: asyncio.Task[Any] | None = None
        self._skip_requested = False
        self._skip_next = False
        self._decision: asyncio.Future[str] | None = None
        if parent is not None:
            self.files_dirs = parent.files_dirs
            self.caller_files = parent.caller_files
            self.trust_caller_files = parent.trust_caller_files
            self.controls = parent.controls
            self.secrets = parent.secrets
            self._credentials = parent._credentials
            self._artifacts_dir = parent._artifacts_dir
            self._options = {
                **parent._options,
                **playbook.metadata.get("options", {}),
                **(options or {}),
            }
            self.gateway_url = gateway_url or parent.gateway_url
            self.credential_name = credential_name or parent.credential_name
        else:
            self.files_dirs = files_dirs
            # The paths the caller itself gave ``type: file`` parameters (not defaults, not
            # literals in steps): ``resolve_file`` reads them as given when the caller is trusted.
            self.caller_files = frozenset(
                value
                for p in playbook.parameters
                if p.type == "file"
                and p.name in caller_given
                and isinstance(value := self.parameters.get(p.name), str)
                and value
            )
            self.trust_caller_files = trust_caller_files
            self.controls = Controls()
            self.secrets = Secrets()
            self._credentials = credentials
            self._artifacts_dir = artifacts_dir or Path(tempfile.mkdtemp(prefix="itk-artifacts-"))
            self._options = {**playbook.metadata.get("options", {}), **(options or {})}
            self.gateway_url = gateway_url
            self.credential_name = credential_name
        # Secret parameters reach templates as opaque values; whoever gave them chose their
        # destination, so they carry no binding (a credential's secret passed down keeps its own).
        self._template_parameters = dict(self.parameters)
        for p in playbook.parameters:
            value = self.parameters.get(p.name)
            if p.secret and isinstance(value, str):
                self.secrets.add(value)
                self._template_parameters[p.name] = Secret(value, f"parameter '{p.name}'")
            elif isinstance(value, Secret):
                self.secrets.add(value)
        self.context: ExecutionContext | None = None

    @property
    def skip_requested(self) -> bool:
        """True while the operator's skip is ending the running step."""
        return self._skip_requested

    # -- control -------------------------------------------------------------------------------

    def _refuse(self, action: str) -> InvalidTransitionError:
        return InvalidTransitionError(
            f"Cannot {action} an execution that is {self.status}",
            {"status": self.status, "execution_id": self.execution_id},
        )

    async def pause(self) -> None:
        if self.status not in ("pending", "running") or self.controls.cancelled:
            raise self._refuse("pause")
        await self._enter_pause()

    async def resume(self) -> None:
        if self.status != "paused":
            raise self._refuse("resume")
        if self._decision is not None and not self._decision.done():
            self._decision.set_result("accept")
        await self._leave_pause()

    async def skip(self) -> None:
        if self.status not in ("running", "paused") or self.controls.cancelled:
            raise self._refuse("skip")
        if self._decision is not None and not self._decision.done():
            self._decision.set_result("skip")
            await self._leave_pause()
        elif self.status == "paused":
            self._skip_next = True
        elif self._step_task is not None and not self._step_task.done():
            self._skip_requested = True
            self._step_task.cancel()

    async def retry(self) -> None:
        if self._decision is None or self._decision.done():
            raise self._refuse("retry")
        self._decision.set_result("retry")
        await self._leave_pause()

    async def cancel(self) -> None:
        """Idempotent: a second cancel of a cancelling run is accepted and does nothing more."""
        if self.status in TERMINAL:
            raise self._refuse("cancel")
        if self.controls.cancelled:
            return
        self.controls.cancelled = True
        if self.status == "pending" and not self._started:
            # Still queued: it never starts, and its end is reported now.
            self._started = True
            await self._set_status("cancelled")
            return
        if self._decision is not None and not self._decision.done():
            self._decision.set_result("cancel")
        self.controls.running.set()
        self.controls.paused.clear()
        if self._step_task is not None and not self._step_task.done():
            self._step_task.cancel()
        if self.status == "paused":
            await self._set_status("running")

    async def _enter_pause(self, error: dict[str, Any] | None = None) -> None:
        self.controls.running.clear()
        self.controls.paused.set()
        await self._set_status("paused", error)

    async def _leave_pause(self) -> None:
        self.controls.paused.clear()
        self.controls.running.set()
        if not self.controls.cancelled and self.status == "paused":
            await self._set_status("running")

    async def _gate(self) -> None:
        """A step boundary: wait while paused (a cancel wakes it)."""
        await self.controls.running.wait()

    # -- events --------------------------------------------------------------------------------

    async def _set_status(self, status: str, error: dict[str, Any] | None = None) -> None:
        self.status = status
        if self.parent is not None:
            return
        await self._sink(
            ExecutionStateEvent(
                execution_id=self.execution_id,
                status=status,
                current_step_index=self.current_step_index,
                total_steps=len(self.playbook.steps),
                playbook_name=self.playbook.name,
                error=self.secrets.redact(error) if error else None,
            )
        )

    async def _emit_step(self, result: StepResult) -> None:
        redact = self.secrets.redact
        await self._sink(
            StepResultEvent(
                execution_id=self.execution_id,
                step_index=result.step_index,
                step_id=result.step_id,
                step_name=result.step_name,
                step_type=result.step_type,
                status=result.status,
                started_at=result.started_at,
                completed_at=result.completed_at,
                output=redact(result.output) if result.output is not None else None,
                error=redact(result.error) if result.error is not None else None,
                attempts=result.attempts,
            )
        )

    async def _log(self, message: str, level: str = "info", step_id: str | None = None) -> None:
        await self._sink(LogEvent(self.execution_id, level, self.secrets.redact(message), step_id))

    # -- running -------------------------------------------------------------------------------

    async def run(
        self, *, _exit_stack: AsyncExitStack | None = None, _resources: dict[str, Any] | None = None
    ) -> str:
        """Run to a terminal status and return it. Never raises for a step's failure."""
        if self._started:
            if self.status == "cancelled":
                return self.status
            raise ToolboxError("an execution runs only once")
        self._started = True
        final_error: dict[str, Any] | None = None
        async with AsyncExitStack() as own_stack:
            stack = _exit_stack or own_stack
            self.context = ExecutionContext(
                execution_id=self.execution_id,
                playbook=self.playbook,
                plugins=self.plugins,
                sink=self._sink,
                parameters=self.parameters,
                credentials=self._credentials,
                artifacts_dir=self._artifacts_dir,
                gateway_url=self.gateway_url,
                credential_name=self.credential_name,
                options=self._options,
                controls=self.controls,
                secrets=self.secrets,
                exit_stack=stack,
                resources=_resources if _resources is not None else {},
                files_dirs=self.files_dirs,
                caller_files=self.caller_files,
                trust_caller_files=self.trust_caller_files,
            )
            self.context.runner = self
            if self.parent is not None:
                self.context.variables = (
                    self.parent.context.variables if self.parent.context else {}
                )
            try:
                if self.status != "paused":
                    await self._set_status("running")
                final_error = await self._run_steps(self.playbook.steps, 0)
            except asyncio.CancelledError:
                self.controls.cancelled = True
                await asyncio.shield(self._run_finally_quietly())
                raise
            except Exception as exc:
                log.exception("execution %s failed inside the executor", self.execution_id)
                final_error = {
                    "code": "internal_error",
                    "message": f"executor error: {type(exc).__name__}",
                }
            finally_error = await self._run_finally()
            final_error = final_error or finally_error
        if self.controls.cancelled:
            status = "cancelled"
        elif final_error is not None:
            status = "failed"
        else:
            status = "completed"
        self.error = final_error
        await self._set_status(status, final_error)
        return status

    async def _run_finally_quietly(self) -> None:
        try:
            await self._run_finally()
        except Exception:
            log.exception("finally steps failed during cancellation")

    async def _run_finally(self) -> dict[str, Any] | None:
        if not self.playbook.finally_steps:
            return None
        cancelled = self.controls.cancelled
        # Finally steps run even after a cancel; a second cancel cannot stop them.
        self.controls.cancelled = False
        self.controls.running.set()
        self.controls.paused.clear()
        offset = len(self.playbook.steps)
        error: dict[str, Any] | None = None
        try:
            for index, step in enumerate(self.playbook.finally_steps):
                result = await self._run_step(offset + index, step)
                if result.status == "failed" and step.on_failure == "abort" and error is None:
                    error = {**(result.error or {}), "step_id": step.id}
            return error
        finally:
            self.controls.cancelled = self.controls.cancelled or cancelled

    async def _run_steps(self, steps: tuple[Step, ...], offset: int) -> dict[str, Any] | None:
        for index, step in enumerate(steps):
            if self.debug and not self.controls.cancelled:
                self.current_step_index = offset + index
                await self._enter_pause()
            await self._gate()
            if self.controls.cancelled:
                return None
            self.current_step_index = offset + index
            result = await self._run_step(offset + index, step)
            if self.controls.cancelled:
                return None
            if result.status == "failed" and step.on_failure == "abort":
                error = dict(result.error or {})
                error.setdefault("code", "internal_error")
                error["step_id"] = step.id
                return error
        return None

    def _template_context(self, loop: dict[str, Any] | None = None) -> dict[str, Any]:
        assert self.context is not None
        context: dict[str, Any] = {
            "parameter": self._template_parameters,
            "step": self._outputs,
            "variable": self.context.variables,
            "execution": {
                "id": self.execution_id,
                "gateway_url": self.gateway_url,
                "credential_name": self.credential_name,
            },
            "credential": {},
        }
        if loop is not None:
            context["loop"] = loop
        return context

    async def _resolve_credentials(self, step: Step, context: dict[str, Any]) -> None:
        texts: list[Any] = [step.parameters, step.when, step.loop, step.timeout]
        names = templating.credential_names(texts)
        if any("credential" in str(t) for t in texts if t is not None):
            names |= {
                str(self.parameters[p.name])
                for p in self.playbook.parameters
                if p.type == "credential" and self.parameters.get(p.name)
            }
            if self.credential_name:
                names.add(self.credential_name)
        assert self.context is not None
        views: dict[str, Any] = {}
        for name in names:
            try:
                credential: Credential = await self.context.credential(name)
            except (CredentialNotFoundError, ValidationError):
                # An unresolvable reference fails at render time, naming itself; a credential
                # that exists but cannot be opened (its row fails integrity) fails the step here.
                continue
            views[name] = credential.template_view()
        context["credential"] = views

    async def _run_step(self, index: int, step: Step) -> StepResult:
        result = StepResult(index, step.id, step.name, step.type)
        self.step_results.append(result)
        if self._skip_next:
            self._skip_next = False
            result.status = "skipped"
            result.completed_at = utcnow()
            await self._emit_step(result)
            return result
        context = self._template_context()
        try:
            await self._resolve_credentials(step, context)
            if step.when is not None and not templating.evaluate_condition(step.when, context):
                result.status = "skipped"
                result.output = {"reason": "condition is false"}
                result.completed_at = utcnow()
                await self._emit_step(result)
                return result
            items = templating.render(step.loop, context) if step.loop is not None else None
            if isinstance(items, Secret):
                raise SecretUseError(
                    f"loop of step '{step.id}' is {items.label}, a secret: no secret-driven "
                    "control flow",
                    {"secret": items.label},
                )
            if items is not None and not isinstance(items, list):
                raise ValidationError(
                    f"loop of step '{step.id}' must be a list, got {type(items).__name__}"
                )
        except ToolboxError as exc:
            result.status, result.error = "failed", exc.to_record()
            result.started_at = result.completed_at = utcnow()
            await self._emit_step(result)
            return result

        result.status, result.started_at = "running", utcnow()
        await self._emit_step(result)
        if items is None:
            status, output, error = await self._attempts(step, result, context)
        else:
            status, output, error = "completed", {"iterations": []}, None
            for position, item in enumerate(items):
                await self._gate()
                if self.controls.cancelled:
                    status = "cancelled"
                    break
                item_context = {**context, "loop": {"item": item, "index": position}}
                item_status, item_output, item_error = await self._attempts(
                    step, result, item_context
                )
                result.iterations.append(
                    {
                        "index": position,
                        "status": item_status,
                        "output": item_output,
                        "error": item_error,
                    }
                )
                output["iterations"].append(
                    self.secrets.redact(
                        {
                            "index": position,
                            "status": item_status,
                            "output": item_output,
                            "error": item_error,
                        }
                    )
                )
                if item_status in ("cancelled",):
                    status = item_status
                    break
                if item_status == "failed":
                    status, error = "failed", item_error
                    if step.on_failure == "abort":
                        break
        self._outputs[step.id] = output if output is not None else {}
        # The record keeps redacted values; later templates still see the real output.
        result.status = status
        result.output = self.secrets.redact(output) if output is not None else None
        result.error = self.secrets.redact(error) if error is not None else None
        result.completed_at = utcnow()
        await self._emit_step(result)
        return result

    async def _attempts(
        self, step: Step, result: StepResult, context: dict[str, Any]
    ) -> tuple[str, dict[str, Any] | None, dict[str, Any] | None]:
        step_type = self.plugins.step_type(step.type)
        delay = step.retry.delay
        attempt = 0
        while True:
            attempt += 1
            result.attempts += 1
            await self._gate()
            if self.controls.cancelled:
                return "cancelled", None, None
            try:
                output = await self._attempt(step, step_type, context, attempt)
                return "completed", output, None
            except _SkipStep:
                return "skipped", None, None
            except asyncio.CancelledError:
                if self.controls.cancelled:
                    return "cancelled", None, None
                raise
            except ToolboxError as exc:
                error = exc.to_record()
                retryable = not isinstance(exc, ValidationError)
            except Exception as exc:  # a plugin bug: report it without internals
                log.exception("step %s (%s) raised", step.id, step.type)
                error = {
                    "code": "internal_error",
                    "message": f"{type(exc).__name__}: {exc}",
                    "details": {},
                }
                retryable = True
            error["message"] = self.secrets.redact(error["message"])
            if retryable and attempt <= step.retry.count:
                await self._log(
                    f"step '{step.id}' attempt {attempt} failed: {error['message']}; retrying in {delay:g} s",
                    "warning",
                    step.id,
                )
                try:
                    await self.controls.sleep(delay)
                except asyncio.CancelledError:
                    if self.controls.cancelled:
                        return "cancelled", None, None
                    raise
                if self.controls.cancelled:
                    return "cancelled", None, None
                delay *= step.retry.backoff
                continue
            if self.debug and not self.controls.cancelled:
                # Show the failure on the step while the operator decides to retry or skip it.
                result.status, result.error = "failed", self.secrets.redact(error)
                await self._emit_step(result)
                decision = await self._await_decision(error)
                if decision == "retry":
                    result.status, result.error = "running", None
                    await self._emit_step(result)
                    continue
                if decision == "skip":
                    return "skipped", None, error
                if decision == "cancel":
                    return "cancelled", None, error
            return "failed", None, error

    async def _await_decision(self, error: dict[str, Any]) -> str:
        self._decision = asyncio.get_running_loop().create_future()
        await self._enter_pause(error)
        try:
            return await self._decision
        finally:
            self._decision = None

    async def _attempt(
        self, step: Step, step_type: Any, context: dict[str, Any], attempt: int
    ) -> dict[str, Any]:
        params = templating.render(step.parameters, context)
        for path, secret in find_secrets(params):
            if not step_type.accepts_secret(path):
                raise SecretUseError(
                    f"step '{step.id}': {secret.label} is a secret and parameter "
                    f"'{'.'.join(map(str, path))}' of {step_type.name} does not accept secrets",
                    {"path": ".".join(map(str, path)), "secret": secret.label},
                )
        errors = sorted(
            self.plugins.parameter_validator(step_type.name).iter_errors(shadow(params)),
            key=lambda e: list(map(str, e.path)),
        )
        if errors:
            where = ".".join(map(str, errors[0].absolute_path)) or "parameters"
            raise ValidationError(
                f"step '{step.id}': {where}: {self.secrets.redact(errors[0].message)}",
                {"path": where},
            )
        if step_type.secret_parameters:
            self.secrets.add(
                *(
                    params[n]
                    for n in step_type.secret_parameters
                    if isinstance(params.get(n), (str, Secret))
                )
            )
        timeout = templating.render(step.timeout, context) if step.timeout is not None else None
        assert self.context is not None
        step_context = StepContext(self.context, step, attempt)
        self._skip_requested = False
        self._step_task = asyncio.ensure_future(
            self._invoke(step_type.handler, step_context, params, timeout, step.id)
        )
        try:
            output: dict[str, Any] = await self._step_task
            return output
        except asyncio.CancelledError:
            if self._skip_requested:
                self._skip_requested = False
                raise _SkipStep() from None
            raise
        finally:
            self._step_task = None

    @staticmethod
    async def _invoke(
        handler: Any, ctx: StepContext, params: dict[str, Any], timeout: Any, step_id: str
    ) -> dict[str, Any]:
        try:
            if timeout is None:
                output = await handler(ctx, params)
            else:
                async with asyncio.timeout(float(timeout)):
                    output = await handler(ctx, params)
        except TimeoutError:
            if timeout is None:
                raise StepTimeoutError(f"step '{step_id}' timed out") from None
            raise StepTimeoutError(
                f"step '{step_id}' did not finish within {float(timeout):g} s",
                {"timeout": float(timeout)},
            ) from None
        if output is None:
            return {}
        if not isinstance(output, dict):
            raise StepFailedError(
                f"step '{step_id}' returned {type(output).__name__}, not a mapping"
            )
        return output

    # -- nested playbooks ------------------------------------------------------------------------

    def chain(self) -> list[str]:
        return [*(self.parent.chain() if self.parent else []), self.playbook.source]

    def _load_nested(self, path: str) -> Playbook:
        """A nested path is looked up beside the calling playbook first, then from the library's
        top, so a folder of playbooks that call each other works wherever it is mounted."""
        assert self.library is not None
        folder = PurePosixPath(self.playbook.source).parent
        if str(folder) not in ("", "."):
            try:
                return self.library.load(f"{folder}/{path}", self.plugins)
            except PlaybookNotFoundError:
                pass
        return self.library.load(path, self.plugins)

    async def run_child(
        self, path: str, parameters: dict[str, Any], ctx: StepContext
    ) -> dict[str, Any]:
        """Run another playbook inside this execution (``playbook.run``), sharing its resources."""
        if self.library is None:
            raise StepFailedError(
                "nested playbooks need a playbook library", code="validation_error"
            )
        if self.depth + 1 >= MAX_NESTING:
            raise StepFailedError(
                f"nested playbooks are deeper than {MAX_NESTING} levels", code="validation_error"
            )
        child_playbook = await asyncio.to_thread(self._load_nested, path)
        if child_playbook.source in self.chain():
            raise StepFailedError(
                f"playbook '{path}' calls itself (cycle: {' → '.join([*self.chain(), child_playbook.source])})",
                code="validation_error",
            )
        parent_sink = self._sink

        async def forward(event: Event) -> None:
            if isinstance(event, StepResultEvent):
                if event.status in ("completed", "failed", "skipped", "cancelled"):
                    await parent_sink(
                        LogEvent(
                            self.execution_id,
                            "info" if event.status != "failed" else "error",
                            f"{path}: step '{event.step_id}' {event.status}",
                            ctx.step_id,
                        )
                    )
            elif not isinstance(event, ExecutionStateEvent):
                await parent_sink(event)

        child = Execution(
            child_playbook,
            plugins=self.plugins,
            parameters=parameters,
            sink=forward,
            library=self.library,
            parent=self,
            execution_id=self.execution_id,
        )
        assert self.context is not None
        status = await child.run(
            _exit_stack=self.context._exit_stack, _resources=self.context._resources
        )
        outputs = {r.step_id: r.output for r in child.step_results if r.output is not None}
        if status == "failed":
            failed = next((r for r in child.step_results if r.status == "failed"), None)
            message = failed.error.get("message", "failed") if failed and failed.error else "failed"
            raise StepFailedError(
                f"nested playbook '{path}' failed at step '{failed.step_id if failed else '?'}': {message}",
                {"playbook": path, "steps": outputs},
                code=(failed.error or {}).get("code") if failed else None,
            )
        if status == "cancelled":
            raise asyncio.CancelledError()
        return {"status": status, "steps": outputs}
