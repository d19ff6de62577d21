"""SR-12: secrets are masked in streamed frames and stored screenshots, proved on the pixels.

Images are decoded by Chromium itself (a canvas), so the tests need no imaging library.
"""

from __future__ import annotations

import base64
import itertools
import zipfile
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Page, async_playwright

from ignition_toolbox.browser import find_browser

pytestmark = pytest.mark.browser

MAGENTA = (255, 0, 255)
PLAIN = (0, 170, 170)  # the unmasked #plain box (#0aa)
PASSWORD = "hunter22-pass"

_DECODE = """
async ({src, points}) => {
  const img = new Image();
  img.src = src;
  await img.decode();
  const canvas = document.createElement('canvas');
  canvas.width = img.width; canvas.height = img.height;
  const g = canvas.getContext('2d');
  g.drawImage(img, 0, 0);
  return {width: img.width, height: img.height,
          pixels: points.map(([x, y]) => Array.from(g.getImageData(x, y, 1, 1).data.slice(0, 3)))};
}
"""


@pytest.fixture
async def decoder() -> AsyncIterator[Page]:
    async with async_playwright() as pw:
        executable = find_browser(pw)
        browser = await pw.chromium.launch(executable_path=executable.path)
        page = await browser.new_page()
        yield page
        await browser.close()


async def pixels(
    decoder: Page, data: bytes, mime: str, box: dict[str, float]
) -> list[tuple[int, ...]]:
    """A 5 × 3 grid of pixels inside ``box``, 5 px in from its edges."""
    xs = [box["x"] + 5 + i * (box["width"] - 10) / 4 for i in range(5)]
    ys = [box["y"] + 5 + j * (box["height"] - 10) / 2 for j in range(3)]
    points = [[int(x), int(y)] for x in xs for y in ys]
    src = f"data:{mime};base64,{base64.b64encode(data).decode()}"
    decoded: dict[str, Any] = await decoder.evaluate(_DECODE, {"src": src, "points": points})
    return [tuple(p) for p in decoded["pixels"]]


def close_to(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=True))


MASKING = """
name: masking
parameters:
  - {name: base, type: string, required: true}
metadata:
  options:
    browser:
      mask_selectors: [".pin"]
      keep_trace: always
      live_view: {fps: 10}
steps:
  - {id: open, type: browser.navigate, parameters: {url: "{{ parameter.base }}/mask"}}
  - {id: fill, type: browser.fill, parameters: {selector: "#pw", value: "hunter22-pass"}}
  - id: boxes
    type: browser.evaluate
    parameters:
      expression: >-
        () => Object.fromEntries(['#pw', '#secret', '.pin', '#plain'].map(s => {
          const r = document.querySelector(s).getBoundingClientRect();
          return [s, {x: r.x, y: r.y, width: r.width, height: r.height}]; }))
  - {id: settle, type: utility.sleep, parameters: {seconds: 0.6}}
  - {id: shot, type: browser.screenshot, parameters: {name: masked}}
"""


async def test_password_secret_and_listed_elements_are_masked_in_frames_and_screenshots(
    run_playbook, site, decoder
):
    run = await run_playbook(MASKING, parameters={"base": site})
    assert run.status == "completed", [r.error for r in run.execution.step_results]
    boxes = run.output("boxes")["result"]

    frames = run.of("screenshot_frame")
    assert frames, "the live view sent no frame"
    frame = frames[-1]
    assert frame.mime_type == "image/jpeg" and frame.data[:2] == b"\xff\xd8"
    (shot,) = [a for a in run.artifacts("screenshot") if a.name == "masked.png"]

    for data, mime in ((frame.data, "image/jpeg"), (shot.path.read_bytes(), "image/png")):
        for selector in ("#pw", "#secret", ".pin"):
            found = await pixels(decoder, data, mime, boxes[selector])
            assert all(close_to(p, MAGENTA) for p in found), (mime, selector, found)
        found = await pixels(decoder, data, mime, boxes["#plain"])
        # Unmasked content stays visible (a few samples land on the word "plain").
        assert sum(close_to(p, PLAIN) for p in found) >= len(found) - 3, (mime, found)


async def test_secrets_filled_into_password_fields_stay_out_of_events_and_traces(
    run_playbook, site
):
    run = await run_playbook(MASKING, parameters={"base": site})
    assert run.status == "completed"
    for event in run.events:
        if event.type != "screenshot_frame":
            assert PASSWORD not in repr(event)
    (trace,) = [a for a in run.artifacts("trace") if a.name == "trace.zip"]
    with zipfile.ZipFile(trace.path) as archive:
        contents = b"".join(archive.read(name) for name in archive.namelist())
        assert any(name.endswith(".trace") for name in archive.namelist())
    assert PASSWORD.encode() not in contents
    assert b"#pw" in contents  # the fill itself is still in the trace, its value is not


async def test_the_live_view_is_rate_capped_and_idle_when_the_page_is_still(run_playbook, site):
    text = f"""
name: live view
metadata: {{options: {{live_view: {{fps: 5}}, keep_trace: never}}}}
steps:
  - {{id: animated, type: browser.navigate, parameters: {{url: "{site}/animated"}}}}
  - {{id: watch, type: utility.sleep, parameters: {{seconds: 2}}}}
  - {{id: still, type: browser.navigate, parameters: {{url: "{site}/page/1"}}}}
  - {{id: settle, type: utility.sleep, parameters: {{seconds: 0.5}}}}
  - {{id: idle, type: utility.sleep, parameters: {{seconds: 1.5}}}}
"""
    run = await run_playbook(text)
    assert run.status == "completed"

    def frames_during(step_id: str) -> list[Any]:
        inside, found = False, []
        for event in run.events:
            if event.type == "step_result" and event.step_id == step_id:
                inside = event.status == "running"
            elif inside and event.type == "screenshot_frame":
                found.append(event)
        return found

    animated = frames_during("watch")
    assert 5 <= len(animated) <= 12, len(animated)  # ≤ 5 fps over 2 s, with slack
    gaps = [b.timestamp - a.timestamp for a, b in itertools.pairwise(animated)]
    assert sorted(gaps)[len(gaps) // 2] >= 150, gaps  # typically 1/5 s apart
    assert len(frames_during("idle")) <= 1
