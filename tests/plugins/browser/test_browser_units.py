"""Pure units of the browser plugin: options and trace scrubbing (no Chromium needed)."""

from __future__ import annotations

import zipfile

import pytest

from ignition_toolbox.browser import BrowserOptions, scrub_trace, text_matches
from ignition_toolbox.core import StepFailedError


def test_options_take_flat_keys_and_a_browser_mapping_that_wins():
    options = BrowserOptions.from_options(
        {
            "headless": False,
            "locale": "de-DE",
            "browser": {"headless": True, "live_view": {"fps": 2}},
        }
    )
    assert options.headless is True
    assert options.locale == "de-DE"
    assert options.live_view.fps == 2 and options.live_view.enabled
    assert options.keep_trace == "on_failure" and options.ignore_https_errors is False
    assert BrowserOptions.from_options({"gateway_timeout": 5}) == BrowserOptions()


def test_traces_record_dom_snapshots_by_default_only_when_kept_always():
    assert BrowserOptions.from_options({}).trace_snapshots is False
    assert BrowserOptions.from_options({"keep_trace": "always"}).trace_snapshots is True
    assert not BrowserOptions.from_options(
        {"keep_trace": "always", "trace_snapshots": False}
    ).trace_snapshots
    assert BrowserOptions.from_options({"browser": {"trace_snapshots": True}}).trace_snapshots


@pytest.mark.parametrize(
    "bad", [{"browser": {"executable": "/bin/sh"}}, {"default_timeout": -1}, {"browser": []}]
)
def test_bad_options_are_validation_errors(bad):
    with pytest.raises(StepFailedError) as caught:
        BrowserOptions.from_options(bad)
    assert caught.value.code == "validation_error"


def test_scrub_trace_removes_raw_json_escaped_and_url_encoded_secrets(tmp_path):
    secret = 'p@ss "word"/1'
    source, target = tmp_path / "raw.zip", tmp_path / "clean.zip"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("trace.trace", '{"params":{"value":"p@ss \\"word\\"/1"}}\n')
        archive.writestr("resources/body", "username=admin&password=p%40ss+%22word%22%2F1")
        archive.writestr("resources/image.jpeg", b"\xff\xd8\xff\x00binary")
    scrub_trace(source, target, [secret])
    with zipfile.ZipFile(target) as archive:
        assert archive.read("trace.trace") == b'{"params":{"value":"***"}}\n'
        assert archive.read("resources/body") == b"username=admin&password=***"
        assert archive.read("resources/image.jpeg") == b"\xff\xd8\xff\x00binary"


def test_text_matching_modes():
    assert text_matches("  Hello   world ", "Hello world", "exact", False, True)
    assert not text_matches("Hello world", "hello world", "exact", False, True)
    assert text_matches("Hello world", "HELLO", "contains", True, True)
    assert text_matches("Version 8.3.2", r"8\.3\.\d+", "regex", False, True)
