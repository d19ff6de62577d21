"""A credential's secret is typed only into a document on its bound origin (SR-21, SECURITY.md §4.L
row 117), and playbook JavaScript and typed secrets never share a browser."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from ignition_toolbox.core import Credential, MappingCredentials

PASSWORD = "S3CR3T-browser-pw"


def _fill(url: str, selector: str = "#password", field: str = "fill") -> str:
    key = "value" if field == "fill" else "text"
    return (
        "name: bind\nsteps:\n"
        f"  - {{id: open, type: browser.navigate, parameters: {{url: '{url}'}}}}\n"
        f"  - {{id: pw, type: browser.{field}, parameters: {{selector: '{selector}', "
        f"{key}: '{{{{ credential.web.password }}}}'}}}}\n"
    )


def _creds(site: str) -> MappingCredentials:
    return MappingCredentials({"web": Credential("web", "admin", PASSWORD, site)})


@pytest.mark.parametrize("field", ["fill", "type"])
async def test_a_page_on_exactly_the_bound_origin_gets_the_secret(run_playbook, site, field):
    run = await run_playbook(_fill(f"{site}/form", field=field), credentials=_creds(site))
    assert run.status == "completed", run.execution.step_results[-1].error
    assert PASSWORD not in repr(run.events)


@pytest.mark.parametrize("field", ["fill", "type"])
@pytest.mark.parametrize("spelling", ["localhost", "userinfo"])
async def test_another_origin_is_refused_naming_both(run_playbook, site, field, spelling):
    port = urlsplit(site).port
    url = (
        f"http://localhost:{port}/form"
        if spelling == "localhost"
        else f"http://127.0.0.1:{port}@localhost:{port}/form"
    )
    run = await run_playbook(_fill(url, field=field), credentials=_creds(site))
    assert run.status == "failed"
    error = run.execution.step_results[-1].error or {}
    assert error["code"] == "validation_error"
    assert site in error["message"] and f"http://localhost:{port}" in error["message"]
    assert PASSWORD not in repr(run.events)


@pytest.mark.parametrize("framed", ["other", "bound"])
async def test_the_frame_s_own_origin_decides_not_the_top_page_s(run_playbook, site, framed):
    port = urlsplit(site).port
    src = f"http://localhost:{port}/form" if framed == "other" else f"{site}/form"
    selector = "iframe >> internal:control=enter-frame >> #password"
    text = _fill(f"{site}/framed?src={src}", selector=selector)
    run = await run_playbook(text, credentials=_creds(site))
    if framed == "bound":
        assert run.status == "completed", run.execution.step_results[-1].error
    else:
        assert run.status == "failed"
        assert f"not to http://localhost:{port}" in (run.execution.step_results[-1].error or {})[
            "message"
        ]


async def test_no_secret_is_typed_after_playbook_javascript_ran(run_playbook, site):
    text = (
        "name: bind\nsteps:\n"
        f"  - {{id: open, type: browser.navigate, parameters: {{url: '{site}/form'}}}}\n"
        "  - {id: spy, type: browser.evaluate, parameters: {expression: \"document.addEventListener("
        "'input', e => { window.stolen = e.target.value })\"}}\n"
        "  - {id: pw, type: browser.fill, parameters: {selector: '#password', "
        "value: '{{ credential.web.password }}'}}\n"
    )
    run = await run_playbook(text, credentials=_creds(site))
    assert run.status == "failed"
    assert "browser.evaluate has run" in (run.execution.step_results[-1].error or {})["message"]


async def test_playbook_javascript_cannot_run_after_a_secret_was_typed(run_playbook, site):
    text = _fill(f"{site}/form") + (
        "  - {id: read, type: browser.evaluate, parameters: "
        "{expression: \"document.querySelector('#password').value\"}}\n"
    )
    run = await run_playbook(text, credentials=_creds(site))
    assert run.status == "failed"
    assert run.execution.step_results[-1].step_id == "read"
    assert "browser.evaluate is refused" in (run.execution.step_results[-1].error or {})["message"]
    assert PASSWORD not in repr(run.events)
