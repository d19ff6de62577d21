"""What a failed step leaves behind (page HTML, a cheap trace) and how filled values stay secret."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

PASSWORD = "pw-0451-secret"

FAILING = """
name: evidence
parameters:
  - {name: base, type: string, required: true}
metadata: {options: {mask_selectors: ["#intro"]}}
steps:
  - {id: open, type: browser.navigate, parameters: {url: "{{ parameter.base }}/form"}}
  - {id: name, type: browser.fill, parameters: {selector: "#name", value: "Ada Lovelace"}}
  - {id: password, type: browser.fill, parameters: {selector: "#password", value: "pw-0451-secret"}}
  - id: leak
    type: browser.evaluate
    parameters:
      expression: >-
        () => { const p = document.querySelector('#password');
                p.setAttribute('value', p.value);
                document.querySelector('#count').textContent = p.value;
                const frame = document.createElement('iframe');
                frame.setAttribute('srcdoc', '<b>framed</b>');
                document.body.append(frame);
                const link = document.createElement('a');
                link.id = 'jslink'; link.href = 'javascript:void(0)'; link.textContent = 'js';
                document.body.append(link); }
  - {id: agree, type: browser.check, parameters: {selector: "#agree"}}
  - {id: fail, type: browser.verify_text, parameters: {selector: "#title", expected: "nope", timeout: 0}}
"""


def _trace_text(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return b"".join(archive.read(n) for n in archive.namelist() if n.endswith(".trace"))


async def test_a_failed_step_keeps_the_page_html_without_secrets(run_playbook, site):
    run = await run_playbook(FAILING, parameters={"base": site})
    assert run.status == "failed"
    (page,) = run.artifacts("html")
    assert (page.name, page.step_id) == ("failure-fail.html", "fail")
    html = page.path.read_text("utf-8")

    assert "Test form" in html and "<base href=" in html
    assert 'value="Ada Lovelace"' in html  # live input values are written out, as a snapshot would
    assert re.search(r'<input id="agree"[^>]* checked', html)
    assert PASSWORD not in html  # not from the password's value attribute, not echoed elsewhere
    assert "Welcome to" not in html  # a listed mask selector is emptied
    assert "<script" not in html and "onclick" not in html and "itk-mask" not in html
    # Nothing in it can run script if it is ever opened: no srcdoc document, no javascript: URL.
    assert "<iframe" in html and "srcdoc" not in html and "framed" not in html
    assert 'id="jslink"' in html and "javascript:" not in html


async def test_the_failure_trace_has_actions_but_no_dom_snapshots_by_default(run_playbook, site):
    run = await run_playbook(FAILING, parameters={"base": site})
    (trace,) = run.artifacts("trace")
    events = _trace_text(trace.path)
    assert b"#title" in events and b'"frame-snapshot"' not in events
    assert PASSWORD.encode() not in events


@pytest.mark.parametrize(
    ("options", "snapshots"),
    [("{keep_trace: always}", True), ("{keep_trace: always, trace_snapshots: false}", False)],
)
async def test_traces_kept_always_record_dom_snapshots_unless_told_not_to(
    run_playbook, site, options, snapshots
):
    text = f"""
name: always
metadata: {{options: {options}}}
steps:
  - {{id: open, type: browser.navigate, parameters: {{url: "{site}/form"}}}}
  - {{id: fill, type: browser.fill, parameters: {{selector: "#name", value: "Ada"}}}}
"""
    run = await run_playbook(text)
    assert run.status == "completed"
    (trace,) = run.artifacts("trace")
    assert (b'"frame-snapshot"' in _trace_text(trace.path)) is snapshots


SECRET_FIELDS = """
name: secret fields
parameters:
  - {name: base, type: string, required: true}
steps:
  - {id: open, type: browser.navigate, parameters: {url: "{{ parameter.base }}/form"}}
  - id: editable
    type: browser.evaluate
    parameters:
      expression: >-
        () => { const d = document.createElement('div'); d.id = 'ce';
                d.contentEditable = 'true'; d.dataset.secret = '';
                document.body.appendChild(d); }
  - {id: plain, type: browser.fill, parameters: {selector: "#name", value: "plain-visible-1"}}
  - {id: typed, type: browser.type, parameters: {selector: "#password", text: "typed-secret-2"}}
  - {id: marked, type: browser.fill, parameters: {selector: "#ce", value: "ce-secret-3"}}
  - {id: read_plain, type: browser.get_text, parameters: {selector: "#name", source: value}}
  - {id: read_typed, type: browser.get_text, parameters: {selector: "#password", source: value}}
  - {id: read_marked, type: browser.get_text, parameters: {selector: "#ce", source: text_content}}
  - {id: ambiguous, type: browser.fill, on_failure: continue, parameters: {selector: "#name, #keys", value: "x"}}
"""


async def test_values_put_into_secret_fields_are_redacted_and_others_are_not(run_playbook, site):
    run = await run_playbook(SECRET_FIELDS, parameters={"base": site})
    assert run.status == "completed", [(r.step_id, r.error) for r in run.execution.step_results]
    assert run.output("read_plain")["text"] == "plain-visible-1"
    assert run.output("read_typed")["text"] == "***"
    assert run.output("read_marked")["text"] == "***"
    error = run.result("ambiguous").error
    assert error["code"] == "validation_error"
    assert error["message"].startswith("selector '#name, #keys' matches 2 elements")
