"""The shipped browser playbooks, run against the pages the tests serve."""

from __future__ import annotations

import pytest

from ignition_toolbox.core import Credential, MappingCredentials, PlaybookLibrary

pytestmark = pytest.mark.browser

PASSWORD = "s3cret-pass"


@pytest.fixture
def library(plugins) -> PlaybookLibrary:
    return PlaybookLibrary.from_plugins(plugins)


async def _run(run_playbook, library, plugins, path, **kwargs):
    text = library.read_text(path)
    return await run_playbook(text, library=library, source=path, **kwargs)


def test_the_library_lists_the_browser_playbooks_as_valid(library, plugins):
    entries = {e.path: e for e in library.entries(plugins)}
    for path in (
        "browser/login_form_check.yaml",
        "browser/page_content_check.yaml",
        "browser/multi_page_navigation_check.yaml",
    ):
        assert entries[path].valid, entries[path].error
        assert not entries[path].root.writable


@pytest.mark.parametrize(
    ("password", "expected"), [(PASSWORD, "completed"), ("Wr0ng-Pa55", "failed")], ids=["ok", "bad"]
)
async def test_login_form_check(run_playbook, library, plugins, site, password, expected):
    credentials = MappingCredentials({"web": Credential("web", "admin", password, site)})
    run = await _run(
        run_playbook,
        library,
        plugins,
        "browser/login_form_check.yaml",
        parameters={
            "login_url": f"{site}/login",
            "login": "web",
            "success_url": "**/dashboard",
            "success_text": "Welcome, admin",
            "timeout": 3,
        },
        credentials=credentials,
    )
    assert run.status == expected, run.execution.error
    if expected == "completed":
        assert run.output("welcome")["text"] == "Welcome, admin"
        names = {a.name for a in run.artifacts("screenshot")}
        assert {"login-form.png", "after-login.png"} <= names
    else:
        assert run.execution.error["step_id"] == "arrived"
        assert run.execution.error["code"] == "timeout_error"
        assert {a.kind for a in run.artifacts()} >= {"screenshot", "trace"}
    for event in run.events:
        if event.type != "screenshot_frame":
            assert password not in repr(event), event


async def test_page_content_check(run_playbook, library, plugins, site):
    parameters = {
        "url": f"{site}/page/2",
        "expected_title": "Page 2",
        "expected_heading": "Page 2",
        "required_selector": "#next",
    }
    run = await _run(
        run_playbook, library, plugins, "browser/page_content_check.yaml", parameters=parameters
    )
    assert run.status == "completed", run.execution.error
    assert "This is page 2." in run.output("body_text")["text"]
    (shot,) = run.artifacts("screenshot")
    assert shot.name == "page.png"

    wrong = {**parameters, "forbidden_text": "This is page"}
    run = await _run(
        run_playbook, library, plugins, "browser/page_content_check.yaml", parameters=wrong
    )
    assert run.status == "failed"
    assert run.execution.error["step_id"] == "no_error"


async def test_multi_page_navigation_check(run_playbook, library, plugins, site):
    run = await _run(
        run_playbook,
        library,
        plugins,
        "browser/multi_page_navigation_check.yaml",
        parameters={
            "start_url": f"{site}/page/1",
            "start_heading": "Page 1",
            "pages": [
                {"url": "**/page/2", "heading": "Page 2"},
                {"url": "**/page/3", "heading": "Page 3"},
            ],
        },
    )
    assert run.status == "completed", run.execution.error
    shots = sorted(a.name for a in run.artifacts("screenshot"))
    assert shots == ["Page 2.png", "Page 3.png"]
