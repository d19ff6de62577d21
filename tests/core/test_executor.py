"""The executor's state machine, controls, retries, loops, finally steps and nested playbooks."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from ignition_toolbox.core import (
    Credential,
    Execution,
    InvalidTransitionError,
    MappingCredentials,
    PlaybookLibrary,
    PlaybookRoot,
    PluginManager,
    ResourceType,
    StepType,
    ValidationError,
    hookimpl,
)

Recorder = Any  # the fixture type lives in conftest.py

pytestmark = pytest.mark.timeout(30)


async def wait_for(predicate, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.005)


# -- a test plugin: a resource with a lifecycle, a flaky step, and a step that records calls ----


class Probe:
    def __init__(self) -> None:
        self.opened = 0
        self.closed = 0
        self.calls: list[str] = []
        self.flaky_failures = 0


probe = Probe()


@contextlib.asynccontextmanager
async def _open_thing(ctx: Any) -> AsyncIterator[dict[str, Any]]:
    probe.opened += 1
    try:
        yield {"name": "thing"}
    finally:
        probe.closed += 1


async def _use_thing(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    thing = await ctx.resource("thing")
    probe.calls.append(params.get("tag", ""))
    await ctx.sleep(float(params.get("seconds", 0)))
    return {"thing": thing["name"]}


async def _flaky(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    probe.calls.append(f"flaky{ctx.attempt}")
    if probe.flaky_failures > 0:
        probe.flaky_failures -= 1
        raise RuntimeError("transient glitch")
    return {"attempt": ctx.attempt}


async def _echo(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    return {"value": params.get("value")}


async def _send(ctx: Any, params: dict[str, Any]) -> dict[str, Any]:
    """A sink: reveals its secret for ``url``, as a plugin's HTTP or browser step would."""
    text = ctx.reveal(params["secret"], params["url"])
    probe.calls.append(f"sent {len(text)} to {params['url']}")
    return {"echo": text}


class TestPlugin:
    @hookimpl
    def itk_step_types(self) -> list[StepType]:
        return [
            StepType(
                "test.use_thing",
                "use the thing",
                _use_thing,
                {
                    "type": "object",
                    "properties": {"tag": {"type": "string"}, "seconds": {"type": "number"}},
                },
                resources=("thing",),
            ),
            StepType("test.flaky", "fails while told to", _flaky),
            StepType(
                "test.echo",
                "returns its value",
                _echo,
                {"type": "object", "properties": {"value": {}, "secret": {"type": "string"}}},
                secret_parameters=("secret",),
            ),
            StepType(
                "test.send",
                "reveals a secret for a URL",
                _send,
                {
                    "type": "object",
                    "properties": {
                        "url": {"type": "string"},
                        "secret": {"type": "string", "writeOnly": True},
                    },
                },
            ),
        ]

    @hookimpl
    def itk_resource_types(self) -> list[ResourceType]:
        return [ResourceType("thing", _open_thing)]


@pytest.fixture
def plugins() -> PluginManager:
    probe.__init__()
    return PluginManager(entry_points=False, extra=[("test", TestPlugin())])


# -- basics --------------------------------------------------------------------------------------


async def test_a_run_emits_states_and_step_results_in_order(
    make_execution, recorder: Recorder
) -> None:
    ex = make_execution(
        "name: p\nsteps:\n  - {id: a, type: utility.log, parameters: {message: hi}}\n  - {id: b, type: test.echo, parameters: {value: '{{ step.a.message }}!'}}\n"
    )
    assert await ex.run() == "completed"
    assert recorder.statuses() == ["running", "completed"]
    assert recorder.steps() == [
        ("a", "running"),
        ("a", "completed"),
        ("b", "running"),
        ("b", "completed"),
    ]
    assert ex.step_results[1].output == {"value": "hi!"}
    final = recorder.of("execution_state")[-1]
    assert (final.total_steps, final.playbook_name) == (2, "p")


async def test_a_failing_step_aborts_and_later_steps_do_not_run(
    make_execution, recorder: Recorder
) -> None:
    ex = make_execution(
        "name: p\nsteps:\n  - {id: a, type: utility.fail, parameters: {message: broken}}\n  - {id: b, type: utility.log, parameters: {message: never}}\n"
    )
    assert await ex.run() == "failed"
    assert [r.step_id for r in ex.step_results] == ["a"]
    assert ex.error["step_id"] == "a" and ex.error["message"] == "broken"
    assert recorder.of("execution_state")[-1].error["code"] == "internal_error"


async def test_on_failure_continue_goes_on_and_the_run_completes(make_execution) -> None:
    ex = make_execution(
        "name: p\nsteps:\n  - {id: a, type: utility.fail, on_failure: continue}\n  - {id: b, type: utility.log, parameters: {message: next}}\n"
    )
    assert await ex.run() == "completed"
    assert [r.status for r in ex.step_results] == ["failed", "completed"]


async def test_a_false_condition_skips_the_step(make_execution) -> None:
    ex = make_execution(
        "name: p\nparameters:\n  - {name: go, type: boolean, default: false}\nsteps:\n  - {id: a, type: utility.fail, when: parameter.go}\n"
    )
    assert await ex.run() == "completed"
    assert ex.step_results[0].status == "skipped"


async def test_timeouts_fail_the_step_with_timeout_error(make_execution) -> None:
    ex = make_execution(
        "name: p\nsteps:\n  - {id: a, type: utility.sleep, timeout: 0.05, parameters: {seconds: 5}}\n"
    )
    assert await ex.run() == "failed"
    assert ex.step_results[0].error["code"] == "timeout_error"


async def test_loops_run_once_per_item_with_per_item_results(make_execution) -> None:
    ex = make_execution(
        "name: p\nsteps:\n  - id: a\n    type: test.echo\n    loop: [x, y, z]\n    parameters: {value: '{{ loop.index }}={{ loop.item }}'}\n  - {id: b, type: test.echo, parameters: {value: '{{ step.a.iterations | length }}'}}\n"
    )
    assert await ex.run() == "completed"
    assert [i["output"]["value"] for i in ex.step_results[0].output["iterations"]] == [
        "0=x",
        "1=y",
        "2=z",
    ]
    assert ex.step_results[1].output["value"] == 3  # a whole-value template keeps its type


async def test_unresolvable_reference_fails_the_step_naming_it(make_execution) -> None:
    ex = make_execution(
        "name: p\nsteps:\n  - {id: a, type: test.echo, parameters: {value: '{{ step.ghost.value }}'}}\n"
    )
    assert await ex.run() == "failed"
    assert "ghost" in ex.step_results[0].error["message"]
    assert ex.step_results[0].error["code"] == "validation_error"


async def test_rendered_parameters_are_checked_against_the_step_schema(make_execution) -> None:
    ex = make_execution(
        "name: p\nparameters:\n  - {name: s, type: string, default: soon}\nsteps:\n  - {id: a, type: utility.sleep, parameters: {seconds: '{{ parameter.s }}'}}\n"
    )
    assert await ex.run() == "failed"
    assert ex.step_results[0].error["code"] == "validation_error"


async def test_parameters_are_validated_when_the_execution_is_created(make_execution) -> None:
    with pytest.raises(ValidationError, match="required"):
        make_execution(
            "name: p\nparameters:\n  - {name: x, required: true}\nsteps:\n  - {id: a, type: utility.fail}\n"
        )


# -- retries -------------------------------------------------------------------------------------


async def test_retries_with_backoff_then_success(make_execution, recorder: Recorder) -> None:
    probe.flaky_failures = 2
    ex = make_execution(
        "name: p\nsteps:\n  - {id: a, type: test.flaky, retry: {count: 3, delay: 0.01, backoff: 2}}\n"
    )
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await ex.run() == "completed"
    assert probe.calls == ["flaky1", "flaky2", "flaky3"]
    assert ex.step_results[0].attempts == 3
    assert loop.time() - started >= 0.03  # 0.01 + 0.02
    assert len([e for e in recorder.of("log") if "retrying" in e.message]) == 2


async def test_retries_run_out(make_execution) -> None:
    probe.flaky_failures = 5
    ex = make_execution(
        "name: p\nsteps:\n  - {id: a, type: test.flaky, retry: {count: 1, delay: 0}}\n"
    )
    assert await ex.run() == "failed"
    assert probe.calls == ["flaky1", "flaky2"]
    assert "transient glitch" in ex.step_results[0].error["message"]


async def test_cancel_during_a_retry_delay_ends_promptly(make_execution) -> None:
    probe.flaky_failures = 5
    ex = make_execution(
        "name: p\nsteps:\n  - {id: a, type: test.flaky, retry: {count: 3, delay: 30}}\nfinally:\n  - {id: f, type: utility.log, parameters: {message: cleanup}}\n"
    )
    task = asyncio.create_task(ex.run())
    await wait_for(lambda: probe.calls == ["flaky1"])
    await asyncio.sleep(0.02)
    await ex.cancel()
    assert await asyncio.wait_for(task, 2) == "cancelled"
    assert [(r.step_id, r.status) for r in ex.step_results] == [
        ("a", "cancelled"),
        ("f", "completed"),
    ]


# -- controls ------------------------------------------------------------------------------------

SLOW = (
    "name: p\nsteps:\n"
    + "".join(
        f"  - {{id: s{i}, type: test.use_thing, parameters: {{tag: s{i}, seconds: 0.02}}}}\n"
        for i in range(5)
    )
    + "finally:\n  - {id: f, type: test.use_thing, parameters: {tag: finally}}\n"
)


async def test_pause_holds_at_the_step_boundary_and_resume_goes_on(
    make_execution, recorder: Recorder
) -> None:
    ex = make_execution(SLOW)
    task = asyncio.create_task(ex.run())
    await wait_for(lambda: probe.calls == ["s0"])
    await ex.pause()
    assert ex.status == "paused"
    await asyncio.sleep(0.15)
    assert probe.calls == ["s0"]  # the running step ended; no new step started
    await ex.resume()
    assert await task == "completed"
    assert probe.calls == ["s0", "s1", "s2", "s3", "s4", "finally"]
    assert "paused" in recorder.statuses()


async def test_a_paused_sleep_stops_its_clock(make_execution) -> None:
    ex = make_execution(
        "name: p\nsteps:\n  - {id: a, type: utility.sleep, parameters: {seconds: 0.2}}\n"
    )
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(ex.run())
    started = loop.time()
    await asyncio.sleep(0.05)
    await ex.pause()
    await asyncio.sleep(0.3)
    assert not task.done()
    await ex.resume()
    assert await task == "completed"
    assert loop.time() - started >= 0.5


async def test_pause_resume_storm_keeps_every_step_exactly_once(make_execution) -> None:
    ex = make_execution(SLOW)
    task = asyncio.create_task(ex.run())
    await wait_for(lambda: bool(probe.calls))

    async def storm(i: int) -> str:
        await asyncio.sleep(0.001 * (i % 7))
        try:
            await (ex.pause() if i % 2 == 0 else ex.resume())
            return "ok"
        except InvalidTransitionError as exc:
            assert exc.code == "validation_error" and "status" in exc.details
            return "refused"

    results = await asyncio.gather(*(storm(i) for i in range(200)))
    assert "ok" in results
    if ex.status == "paused":
        await ex.resume()
    assert await asyncio.wait_for(task, 10) == "completed"
    assert probe.calls == ["s0", "s1", "s2", "s3", "s4", "finally"]


async def test_skip_ends_the_running_step_as_skipped(make_execution) -> None:
    ex = make_execution(
        "name: p\nsteps:\n  - {id: a, type: utility.sleep, parameters: {seconds: 30}}\n  - {id: b, type: utility.log, parameters: {message: after}}\n"
    )
    task = asyncio.create_task(ex.run())
    await wait_for(lambda: ex.step_results and ex.step_results[0].status == "running")
    await ex.skip()
    assert await asyncio.wait_for(task, 2) == "completed"
    assert [r.status for r in ex.step_results] == ["skipped", "completed"]


async def test_skip_while_paused_skips_the_next_step(make_execution) -> None:
    ex = make_execution(SLOW)
    task = asyncio.create_task(ex.run())
    await wait_for(lambda: probe.calls == ["s0"])
    await ex.pause()
    await ex.skip()
    await ex.resume()
    assert await task == "completed"
    assert "s1" not in probe.calls
    assert ex.step_results[1].status == "skipped"


async def test_cancel_runs_finally_steps_closes_resources_and_is_idempotent(
    make_execution, recorder: Recorder
) -> None:
    ex = make_execution(
        "name: p\nsteps:\n  - {id: a, type: test.use_thing, parameters: {seconds: 30}}\nfinally:\n  - {id: f, type: test.use_thing, parameters: {tag: finally}}\n"
    )
    task = asyncio.create_task(ex.run())
    await wait_for(lambda: probe.opened == 1 and probe.calls)
    await asyncio.gather(*(ex.cancel() for _ in range(50)))
    assert await asyncio.wait_for(task, 2) == "cancelled"
    assert probe.calls[-1] == "finally"
    assert (probe.opened, probe.closed) == (1, 1)
    assert recorder.statuses().count("cancelled") == 1
    with pytest.raises(InvalidTransitionError):
        await ex.cancel()


async def test_cancel_while_paused_ends_cancelled(make_execution) -> None:
    ex = make_execution(SLOW)
    task = asyncio.create_task(ex.run())
    await wait_for(lambda: probe.calls == ["s0"])
    await ex.pause()
    await ex.cancel()
    assert await asyncio.wait_for(task, 2) == "cancelled"
    assert probe.calls == ["s0", "finally"]


async def test_controls_refuse_impossible_transitions(make_execution) -> None:
    ex = make_execution(
        "name: p\nsteps:\n  - {id: a, type: utility.log, parameters: {message: m}}\n"
    )
    with pytest.raises(InvalidTransitionError) as caught:
        await ex.resume()
    assert caught.value.details["status"] == "pending"
    await ex.run()
    for control in (ex.pause, ex.resume, ex.skip, ex.cancel):
        with pytest.raises(InvalidTransitionError):
            await control()


async def test_finally_steps_run_after_failure(make_execution) -> None:
    ex = make_execution(
        "name: p\nsteps:\n  - {id: a, type: utility.fail}\nfinally:\n  - {id: f, type: utility.log, parameters: {message: cleanup}}\n"
    )
    assert await ex.run() == "failed"
    assert [(r.step_id, r.status) for r in ex.step_results] == [("a", "failed"), ("f", "completed")]


# -- debug mode ----------------------------------------------------------------------------------


async def test_debug_mode_pauses_before_every_step_and_offers_retry_on_failure(
    make_execution, recorder: Recorder
) -> None:
    probe.flaky_failures = 1
    ex = make_execution(
        "name: p\nsteps:\n  - {id: a, type: test.flaky}\n  - {id: b, type: utility.log, parameters: {message: m}}\n",
        debug=True,
    )
    task = asyncio.create_task(ex.run())
    await wait_for(lambda: ex.status == "paused")
    assert probe.calls == []
    await ex.resume()  # run step a, which fails once
    await wait_for(lambda: ex.status == "paused" and probe.calls == ["flaky1"])
    assert ex.step_results[0].status == "failed"  # shown failed while the operator decides
    assert "transient glitch" in ex.step_results[0].error["message"]
    await ex.retry()
    await wait_for(lambda: ex.status == "paused" and probe.calls == ["flaky1", "flaky2"])
    await ex.resume()  # before step b
    assert await asyncio.wait_for(task, 2) == "completed"
    assert [r.status for r in ex.step_results] == ["completed", "completed"]
    assert [s for i, s in recorder.steps() if i == "a"] == [
        "running",
        "failed",
        "running",
        "completed",
    ]


async def test_debug_mode_skip_after_failure(make_execution) -> None:
    ex = make_execution("name: p\nsteps:\n  - {id: a, type: utility.fail}\n", debug=True)
    task = asyncio.create_task(ex.run())
    await wait_for(lambda: ex.status == "paused")
    await ex.resume()
    await wait_for(lambda: ex.status == "paused" and bool(ex.step_results))
    await ex.skip()
    assert await asyncio.wait_for(task, 2) == "completed"
    assert ex.step_results[0].status == "skipped"


# -- secrets -------------------------------------------------------------------------------------


async def test_resolved_secrets_never_reach_events_or_outputs(
    make_execution, recorder: Recorder
) -> None:
    secret = "S3CR3T-value"
    creds = MappingCredentials(
        {"plant-gw": Credential("plant-gw", "admin", secret, "http://gw:8088")}
    )
    ex = make_execution(
        "name: p\nsteps:\n  - {id: a, type: test.send, parameters: {url: 'http://gw:8088/x', secret: '{{ credential.plant-gw.password }}'}}\n  - {id: b, type: utility.log, parameters: {message: '{{ step.a.echo }}'}}\n  - {id: c, type: utility.fail, parameters: {message: 'bad {{ step.a.echo }}'}}\n",
        credentials=creds,
    )
    assert await ex.run() == "failed"
    assert probe.calls == ["sent 12 to http://gw:8088/x"]
    assert secret not in repr(recorder.events)
    assert secret not in repr([r.describe() for r in ex.step_results])
    assert ex.step_results[0].output == {"echo": "***"}


async def test_secret_parameters_and_secret_step_fields_are_redacted(
    make_execution, recorder: Recorder
) -> None:
    ex = make_execution(
        "name: p\nparameters:\n  - {name: token, secret: true}\nsteps:\n  - {id: a, type: test.send, parameters: {url: 'http://any', secret: '{{ parameter.token }}'}}\n  - {id: b, type: test.echo, parameters: {value: x, secret: literal-secret}}\n  - {id: c, type: test.echo, parameters: {value: 'x literal-secret'}}\n",
        parameters={"token": "tok-123456"},
    )
    assert await ex.run() == "completed"
    text = repr(recorder.events)
    assert "tok-123456" not in text and "literal-secret" not in text


async def test_credential_name_fills_credential_parameters(make_execution) -> None:
    creds = MappingCredentials({"gw": Credential("gw", "admin", "pw1", "http://gw")})
    ex = make_execution(
        "name: p\nparameters:\n  - {name: target, type: credential}\nsteps:\n  - {id: a, type: test.echo, parameters: {value: '{{ credential[parameter.target].username }}'}}\n",
        credentials=creds,
        credential_name="gw",
    )
    assert await ex.run() == "completed"
    assert ex.step_results[0].output == {"value": "admin"}


# -- nested playbooks ----------------------------------------------------------------------------


@pytest.fixture
def library(tmp_path: Path) -> PlaybookLibrary:
    root = tmp_path / "lib"
    (root / "sub").mkdir(parents=True)
    (root / "sub/child.yaml").write_text(
        "name: child\nparameters:\n  - {name: who, default: nobody}\nsteps:\n  - {id: c1, type: test.use_thing, parameters: {tag: 'child-{{ parameter.who }}'}}\n"
    )
    (root / "sub/failing.yaml").write_text(
        "name: failing\nsteps:\n  - {id: boom, type: utility.fail, parameters: {message: child broke}}\n"
    )
    (root / "sub/loop_a.yaml").write_text(
        "name: a\nsteps:\n  - {id: x, type: playbook.run, parameters: {playbook: sub/loop_b.yaml}}\n"
    )
    (root / "sub/loop_b.yaml").write_text(
        "name: b\nsteps:\n  - {id: y, type: playbook.run, parameters: {playbook: sub/loop_a.yaml}}\n"
    )
    return PlaybookLibrary([PlaybookRoot("lib", root)])


async def test_nested_playbooks_share_resources_and_return_outputs(make_execution, library) -> None:
    ex = make_execution(
        "name: parent\nsteps:\n  - {id: t, type: test.use_thing, parameters: {tag: parent}}\n  - {id: n, type: playbook.run, parameters: {playbook: sub/child.yaml, parameters: {who: me}}}\n",
        library=library,
    )
    assert await ex.run() == "completed"
    assert probe.calls == ["parent", "child-me"]
    assert (probe.opened, probe.closed) == (1, 1)
    assert ex.step_results[1].output["steps"]["c1"] == {"thing": "thing"}


async def test_nested_failure_propagates_to_the_parent(make_execution, library) -> None:
    ex = make_execution(
        "name: parent\nsteps:\n  - {id: n, type: playbook.run, parameters: {playbook: sub/failing.yaml}}\n",
        library=library,
    )
    assert await ex.run() == "failed"
    assert "child broke" in ex.step_results[0].error["message"]
    assert "boom" in ex.step_results[0].error["message"]


async def test_nested_cycles_are_detected(make_execution, library) -> None:
    ex = make_execution(
        "name: parent\nsteps:\n  - {id: n, type: playbook.run, parameters: {playbook: sub/loop_a.yaml}}\n",
        library=library,
    )
    assert await ex.run() == "failed"
    assert "calls itself" in ex.step_results[0].error["message"]


async def test_nested_path_traversal_is_refused(make_execution, library) -> None:
    ex = make_execution(
        "name: parent\nsteps:\n  - {id: n, type: playbook.run, parameters: {playbook: ../../etc/passwd.yaml}}\n",
        library=library,
    )
    assert await ex.run() == "failed"
    assert ex.step_results[0].error["code"] == "invalid_path"


async def test_cancelling_a_run_that_never_started_reports_it_cancelled(
    make_execution, recorder: Recorder
) -> None:
    ex = make_execution(
        "name: p\nsteps:\n  - {id: a, type: utility.log, parameters: {message: m}}\n"
    )
    await ex.cancel()
    assert ex.status == "cancelled" and recorder.statuses() == ["cancelled"]
    assert await ex.run() == "cancelled"
    assert ex.step_results == [] and recorder.statuses() == ["cancelled"]


async def test_nested_paths_resolve_beside_the_calling_playbook_first(
    plugins, library, tmp_path
) -> None:
    (tmp_path / "lib/sub/caller.yaml").write_text(
        "name: caller\nsteps:\n  - {id: n, type: playbook.run, parameters: {playbook: child.yaml, parameters: {who: sibling}}}\n"
    )
    playbook = library.load("sub/caller.yaml", plugins)
    ex = Execution(playbook, plugins=plugins, library=library, artifacts_dir=tmp_path / "a")
    assert await ex.run() == "completed"
    assert probe.calls == ["child-sibling"]
