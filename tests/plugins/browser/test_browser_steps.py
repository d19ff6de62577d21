"""Every browser step type, run for real in headless Chromium against the served test pages."""

from __future__ import annotations

import zipfile

import pytest

from ignition_toolbox.browser import count_marked

pytestmark = pytest.mark.browser

EVERY_STEP = """
name: every browser step
parameters:
  - {name: base, type: string, required: true}
steps:
  - {id: open, type: browser.navigate, parameters: {url: "{{ parameter.base }}/form", wait_until: domcontentloaded}}
  - {id: fill, type: browser.fill, parameters: {selector: "#name", value: "Ada"}}
  - {id: type, type: browser.type, parameters: {selector: "#keys", text: "ab"}}
  - {id: press, type: browser.press, parameters: {selector: "#keys", key: "Enter"}}
  - {id: press_focused, type: browser.press, parameters: {key: "Tab"}}
  - {id: select, type: browser.select, parameters: {selector: "#color", label: "green"}}
  - {id: select_many, type: browser.select, parameters: {selector: "#multi", value: [a, c]}}
  - {id: check, type: browser.check, parameters: {selector: "#agree"}}
  - {id: uncheck, type: browser.check, parameters: {selector: "#agree", checked: false}}
  - {id: radio, type: browser.check, parameters: {selector: "#radio-a"}}
  - {id: click, type: browser.click, parameters: {selector: "#counter", click_count: 2}}
  - {id: click_text, type: browser.click, parameters: {selector: "text=count"}}
  - {id: hover, type: browser.hover, parameters: {selector: "#hover-target"}}
  - {id: upload, type: browser.upload_file, parameters: {selector: "#file", files: [{name: a.txt, content: "hello"}, {name: b.bin, content: "AAEC", encoding: base64}]}}
  - {id: wait, type: browser.wait, parameters: {selector: "#later", state: visible, timeout: 5}}
  - {id: wait_hidden, type: browser.wait, parameters: {selector: "#hidden", state: hidden}}
  - {id: verify, type: browser.verify, parameters: {selector: "#title"}}
  - {id: verify_absent, type: browser.verify, parameters: {selector: "#nope", exists: false, timeout: 0}}
  - {id: verify_count, type: browser.verify, parameters: {selector: ".item", count: 3}}
  - {id: text_exact, type: browser.verify_text, parameters: {selector: "#intro", expected: "Welcome to the test page."}}
  - {id: text_contains, type: browser.verify_text, parameters: {selector: "#count", expected: "3", match: contains}}
  - {id: text_regex, type: browser.verify_text, parameters: {selector: "#key-log", expected: "^a,b,Enter,Tab,$", match: regex}}
  - {id: text_case, type: browser.verify_text, parameters: {selector: "#title", expected: "TEST FORM", ignore_case: true}}
  - {id: text_value, type: browser.verify_text, parameters: {selector: "#name", expected: "Ada", source: value}}
  - {id: tooltip, type: browser.verify_text, parameters: {selector: "#tooltip", expected: "tooltip!"}}
  - {id: files, type: browser.verify_text, parameters: {selector: "#file-names", expected: "a.txt:5;b.bin:3"}}
  - {id: attr, type: browser.verify_attribute, parameters: {selector: "#name", attribute: placeholder, expected: "Name"}}
  - {id: attr_present, type: browser.verify_attribute, parameters: {selector: "#disabled-btn", attribute: disabled}}
  - {id: attr_absent, type: browser.verify_attribute, parameters: {selector: "#counter", attribute: disabled, present: false}}
  - {id: attr_regex, type: browser.verify_attribute, parameters: {selector: "#next", attribute: href, expected: "/page/\\\\d$", match: regex}}
  - {id: visible, type: browser.verify_state, parameters: {selector: "#title", state: visible}}
  - {id: hidden, type: browser.verify_state, parameters: {selector: "#hidden", state: hidden}}
  - {id: missing_is_hidden, type: browser.verify_state, parameters: {selector: "#nope", state: hidden}}
  - {id: enabled, type: browser.verify_state, parameters: {selector: "#counter", state: enabled}}
  - {id: disabled, type: browser.verify_state, parameters: {selector: "#disabled-btn", state: disabled}}
  - {id: checked, type: browser.verify_state, parameters: {selector: "#radio-a", state: checked}}
  - {id: unchecked, type: browser.verify_state, parameters: {selector: "#agree", state: unchecked}}
  - {id: editable, type: browser.verify_state, parameters: {selector: "#name", state: editable}}
  - {id: get_text, type: browser.get_text, parameters: {selector: "#count"}}
  - {id: get_value, type: browser.get_text, parameters: {selector: "#name", source: value}}
  - {id: get_attr, type: browser.get_attribute, parameters: {selector: "#next", attribute: href}}
  - {id: get_missing_attr, type: browser.get_attribute, parameters: {selector: "#next", attribute: title}}
  - {id: eval, type: browser.evaluate, parameters: {expression: "document.title"}}
  - {id: eval_fn, type: browser.evaluate, parameters: {expression: "(n) => ({double: n * 2, list: [1, 'x', null]})", arg: 21}}
  - {id: eval_el, type: browser.evaluate, parameters: {selector: "#name", expression: "(el, suffix) => el.value + suffix", arg: "!"}}
  - {id: templated, type: browser.verify_text, parameters: {selector: "#count", expected: "{{ step.get_text.text }}"}}
  - {id: shot, type: browser.screenshot, parameters: {name: form}}
  - {id: shot_full, type: browser.screenshot, parameters: {full_page: true}}
  - {id: shot_el, type: browser.screenshot, parameters: {selector: "#title", name: title.png}}
  - {id: download, type: browser.download, parameters: {selector: "#dl"}}
  - {id: upload_download, type: browser.upload_file, parameters: {selector: "#file", files: [{path: "{{ step.download.path }}"}]}}
  - {id: uploaded, type: browser.verify_text, parameters: {selector: "#file-names", expected: "report.csv", match: contains}}
  - {id: viewport, type: browser.set_viewport, parameters: {width: 800, height: 600}}
  - {id: inner_width, type: browser.evaluate, parameters: {expression: "window.innerWidth"}}
  - {id: next, type: browser.click, parameters: {selector: "#next"}}
  - {id: url, type: browser.wait_for_url, parameters: {url: "**/page/2"}}
  - {id: url_regex, type: browser.wait_for_url, parameters: {url: "/page/\\\\d+$", match: regex}}
  - {id: url_exact, type: browser.wait_for_url, parameters: {url: "{{ parameter.base }}/page/2", match: exact}}
  - {id: back, type: browser.navigate, parameters: {url: "{{ parameter.base }}/form"}}
  - {id: popup, type: browser.click, parameters: {selector: "#popup"}}
  - {id: popup_heading, type: browser.verify_text, parameters: {selector: "#heading", expected: "Page 3"}}
"""


async def test_every_step_type_runs_in_headless_chromium(run_playbook, site):
    run = await run_playbook(EVERY_STEP, parameters={"base": site})
    failed = [(r.step_id, r.error) for r in run.execution.step_results if r.status != "completed"]
    assert run.status == "completed", failed

    assert run.output("open")["title"] == "Form"
    assert run.output("open")["status"] == 200
    assert run.output("select")["selected"] == ["g"]
    assert run.output("select_many")["selected"] == ["a", "c"]
    assert run.output("check")["checked"] is True
    assert run.output("uncheck")["checked"] is False
    assert run.output("upload")["files"] == ["a.txt", "b.bin"]
    assert run.output("wait")["state"] == "visible"
    assert run.output("verify_absent") == {"selector": "#nope", "exists": False, "count": 0}
    assert run.output("verify_count")["count"] == 3
    assert run.output("get_text")["text"] == "3"
    assert run.output("get_value")["text"] == "Ada"
    assert run.output("get_attr") == {
        "selector": "#next",
        "attribute": "href",
        "value": "/page/2",
        "present": True,
    }
    assert run.output("get_missing_attr")["present"] is False
    assert run.output("eval")["result"] == "Form"
    assert run.output("eval_fn")["result"] == {"double": 42, "list": [1, "x", None]}
    assert run.output("eval_el")["result"] == "Ada!"
    assert run.output("inner_width")["result"] == 800
    assert run.output("url")["url"].endswith("/page/2")
    assert run.output("popup_heading")["text"] == "Page 3"

    screenshots = {a.name: a for a in run.artifacts("screenshot")}
    assert set(screenshots) == {"form.png", "shot_full.png", "title.png"}
    for artifact in screenshots.values():
        assert artifact.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert artifact.path.parent == run.execution.context.artifacts_dir
    assert run.output("shot")["artifact_id"] == screenshots["form.png"].artifact_id

    download = run.output("download")
    assert download["filename"] == "report.csv"
    assert download["size"] == len(b"id,value\n1,42\n")
    (kept,) = run.artifacts("download")
    assert kept.path.read_bytes() == b"id,value\n1,42\n"

    assert count_marked(run.execution.execution_id) == 0, "Chromium outlived its execution"


async def test_the_browser_opens_lazily_and_not_at_all_without_browser_steps(run_playbook):
    text = """
name: no browser
steps:
  - {id: hello, type: utility.log, parameters: {message: hi}}
"""
    run = await run_playbook(text)
    assert run.status == "completed"
    assert not run.execution.context.has_resource("browser")
    assert not run.artifacts()


async def test_keep_trace_always_keeps_a_trace_at_the_end(run_playbook, site):
    text = f"""
name: trace always
metadata: {{options: {{browser: {{keep_trace: always, live_view: false}}}}}}
steps:
  - {{id: open, type: browser.navigate, parameters: {{url: "{site}/page/1"}}}}
"""
    run = await run_playbook(text)
    assert run.status == "completed"
    (trace,) = run.artifacts("trace")
    assert trace.name == "trace.zip"
    with zipfile.ZipFile(trace.path) as archive:
        assert any(n.endswith(".trace") for n in archive.namelist())
