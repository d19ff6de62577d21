"""Failing browser steps: typed errors that say expected vs found, with a screenshot and a trace."""

from __future__ import annotations

import zipfile

import pytest

from ignition_toolbox.browser import count_marked

pytestmark = pytest.mark.browser

FAILURES = """
name: failures
parameters:
  - {name: base, type: string, required: true}
steps:
  - {id: open, type: browser.navigate, parameters: {url: "{{ parameter.base }}/form"}}
  - {id: click_missing, type: browser.click, on_failure: continue, parameters: {selector: "#does-not-exist", timeout: 0.5}}
  - {id: wrong_text, type: browser.verify_text, on_failure: continue, parameters: {selector: "#title", expected: "Other title", timeout: 0.3}}
  - {id: text_of_missing, type: browser.verify_text, on_failure: continue, parameters: {selector: "#nope", expected: "x", timeout: 0}}
  - {id: missing, type: browser.verify, on_failure: continue, parameters: {selector: "#nope", timeout: 0.2}}
  - {id: present, type: browser.verify, on_failure: continue, parameters: {selector: "#title", exists: false, timeout: 0}}
  - {id: wrong_state, type: browser.verify_state, on_failure: continue, parameters: {selector: "#disabled-btn", state: enabled, timeout: 0}}
  - {id: wrong_attr, type: browser.verify_attribute, on_failure: continue, parameters: {selector: "#name", attribute: placeholder, expected: "Email", timeout: 0}}
  - {id: ambiguous, type: browser.verify_text, on_failure: continue, parameters: {selector: ".item", expected: "one", timeout: 0}}
  - {id: ambiguous_click, type: browser.click, on_failure: continue, parameters: {selector: ".item", timeout: 1}}
  - {id: wait_never, type: browser.wait, on_failure: continue, parameters: {selector: "#never", timeout: 0.3}}
  - {id: url_never, type: browser.wait_for_url, on_failure: continue, parameters: {url: "**/never", timeout: 0.3}}
  - {id: file_url, type: browser.navigate, on_failure: continue, parameters: {url: "file:///etc/passwd"}}
  - {id: not_found, type: browser.navigate, on_failure: continue, parameters: {url: "{{ parameter.base }}/missing-page"}}
  - {id: bad_regex, type: browser.verify_text, on_failure: continue, parameters: {selector: "#title", expected: "(", match: regex}}
  - {id: step_timeout, type: browser.wait, timeout: 0.5, on_failure: continue, parameters: {selector: "#never", timeout: 30}}
  - {id: after, type: browser.verify_text, parameters: {selector: "h1", expected: "404"}}
"""


async def test_failures_are_typed_and_say_what_was_expected_and_found(run_playbook, site):
    run = await run_playbook(FAILURES, parameters={"base": site})
    assert run.status == "completed", [
        (r.step_id, r.status, r.error) for r in run.execution.step_results
    ][-3:]
    errors = {r.step_id: r.error for r in run.execution.step_results if r.status == "failed"}

    assert errors["click_missing"]["code"] == "timeout_error"
    assert "#does-not-exist" in errors["click_missing"]["message"]
    assert "0.5 s" in errors["click_missing"]["message"]

    wrong = errors["wrong_text"]
    assert wrong["code"] == "validation_error"
    assert "'Other title'" in wrong["message"] and "'Test form'" in wrong["message"]
    assert wrong["details"]["found"] == "Test form"
    assert "found no such element" in errors["text_of_missing"]["message"]

    assert errors["missing"]["code"] == "validation_error"
    assert errors["missing"]["message"] == "expected at least one element matching '#nope', found 0"
    assert errors["present"]["message"] == "expected no element matching '#title', found 1"
    assert "to be enabled, found it visible, disabled" in errors["wrong_state"]["message"]
    assert (
        "'Email'" in errors["wrong_attr"]["message"] and "'Name'" in errors["wrong_attr"]["message"]
    )
    assert "matches 3 elements" in errors["ambiguous"]["message"]
    assert errors["ambiguous_click"]["code"] == "validation_error"
    assert "matches 3 elements" in errors["ambiguous_click"]["message"]

    assert errors["wait_never"]["code"] == "timeout_error"
    assert errors["url_never"]["code"] == "timeout_error"
    assert errors["url_never"]["details"]["found"].endswith("/form")
    assert errors["file_url"]["code"] == "validation_error"
    assert "scheme 'file'" in errors["file_url"]["message"]
    assert errors["not_found"]["details"]["status"] == 404
    assert errors["bad_regex"]["code"] == "validation_error"
    assert errors["step_timeout"]["code"] == "timeout_error"

    # Every failed step kept a masked screenshot and a trace at the moment of failure.
    failed_ids = set(errors)
    shots = {a.step_id for a in run.artifacts("screenshot") if a.name.startswith("failure-")}
    traces = {a.step_id for a in run.artifacts("trace")}
    assert shots == failed_ids
    assert traces == failed_ids
    trace = next(a for a in run.artifacts("trace") if a.step_id == "click_missing")
    assert trace.name == "trace-click_missing.zip"
    with zipfile.ZipFile(trace.path) as archive:
        names = archive.namelist()
        assert any(n.endswith(".trace") for n in names)
        events = b"".join(archive.read(n) for n in names if n.endswith(".trace"))
    assert b"#does-not-exist" in events  # the trace shows the action that failed
    assert count_marked(run.execution.execution_id) == 0


async def test_a_failed_browser_step_fails_the_execution_and_closes_the_browser(run_playbook, site):
    text = f"""
name: abort
steps:
  - {{id: open, type: browser.navigate, parameters: {{url: "{site}/form"}}}}
  - {{id: check, type: browser.verify_text, parameters: {{selector: "#title", expected: "nope", timeout: 0}}}}
  - {{id: never, type: browser.click, parameters: {{selector: "#counter"}}}}
"""
    run = await run_playbook(text)
    assert run.status == "failed"
    assert run.execution.error["step_id"] == "check"
    assert run.execution.error["code"] == "validation_error"
    assert [r.step_id for r in run.execution.step_results] == ["open", "check"]
    assert count_marked(run.execution.execution_id) == 0


async def test_bad_browser_options_fail_the_first_browser_step(run_playbook, site):
    text = f"""
name: bad options
metadata: {{options: {{browser: {{viewport: {{width: 5}}, colour: red}}}}}}
steps:
  - {{id: open, type: browser.navigate, parameters: {{url: "{site}/form"}}}}
"""
    run = await run_playbook(text)
    assert run.status == "failed"
    error = run.result("open").error
    assert error["code"] == "validation_error"
    assert "colour" in error["message"]


async def test_mask_selectors_must_be_css(run_playbook, site):
    text = f"""
name: bad mask
metadata: {{options: {{mask_selectors: ["text=PIN"]}}}}
steps:
  - {{id: open, type: browser.navigate, parameters: {{url: "{site}/form"}}}}
"""
    run = await run_playbook(text)
    error = run.result("open").error
    assert error["code"] == "validation_error"
    assert "text=PIN" in error["message"]
    assert count_marked(run.execution.execution_id) == 0
