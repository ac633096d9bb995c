"""The nightly report and the incident view in a real browser (headless Chromium over the
DevTools protocol): no console error, no request for anything but the file itself, charts and
tables within an A4 page when printed, and a PNG screenshot of each page (screen and print)
saved under the test's output folder.

Where CI=true a missing Chromium fails the test; elsewhere the test is skipped.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.report import render_report
from tests.test_browser_cdp import Browser, launch
from tests.test_report_data import SCRIPT_NAME, make_dataset

SCREEN_WIDTH = 1280
#: A4 (210 mm) less the print stylesheet's 10 mm side margins, in CSS pixels (96 per inch)
A4_CONTENT_WIDTH = round((210 - 2 * 10) / 25.4 * 96)
MAX_SHOT_HEIGHT = 16_000
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

#: what the page reports about itself: its size, and anything wider than the page
MEASURE = """JSON.stringify((() => {
  const width = document.documentElement.clientWidth;
  const wide = [...document.querySelectorAll("svg, table, figure, pre")]
    .filter(el => el.getBoundingClientRect().right > width + 1)
    .map(el => el.tagName + " in #" + (el.closest("[id]") || {id: "?"}).id);
  const cjk = [...document.querySelectorAll("svg text")]
    .some(t => /[\\u4e00-\\u9fff]/.test(t.textContent));
  return {width, height: document.documentElement.scrollHeight, wide, cjk,
          scripts: document.scripts.length, svgs: document.querySelectorAll("svg").length};
})())"""


def chromium() -> str:
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    message = f"no Chromium found (looked for {', '.join(CANDIDATES)}); .ci/run installs it"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    opened = launch(chromium(), tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    data = make_dataset(tmp_path_factory.mktemp("browser-data"))
    out = tmp_path_factory.mktemp("browser-pages")
    return {
        "nightly": render_report(data, out / "nightly.html"),
        "incident": render_report(
            data, out / "incident.html", since="2026-11-28 09:00", until="2026-11-28 21:00"
        ),  # fmt: skip
        "empty-window": render_report(
            data, out / "empty.html", since="2030-01-01", until="2030-01-02"
        ),  # fmt: skip
    }


class Page:
    """One tab: loads a file and keeps what the page did."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        attached = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        self.session: str = attached["sessionId"]
        self.first_event = 0
        for domain in ("Page", "Network", "Runtime", "Log"):
            self.call(f"{domain}.enable")

    def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        return self.browser.call(method, params, self.session)

    def load(self, path: Path, width: int, media: str = "screen") -> dict[str, Any]:
        self.call("Emulation.setEmulatedMedia", {"media": media})
        self.resize(width, 900)
        self.first_event = len(self.browser.events)
        self.call("Page.navigate", {"url": path.as_uri()})
        self.browser.wait_event("Page.loadEventFired", self.session, since=self.first_event)
        measured: dict[str, Any] = json.loads(self.evaluate(MEASURE))
        return measured

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        assert "exceptionDetails" not in result, result["exceptionDetails"]
        return result["result"]["value"]

    def resize(self, width: int, height: int) -> None:
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
        self.call("Emulation.setDeviceMetricsOverride", metrics)

    def screenshot(self, target: Path, width: int, height: int) -> Path:
        self.resize(width, min(height, MAX_SHOT_HEIGHT))
        shot = self.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        target.write_bytes(base64.b64decode(shot["data"]))
        return target

    def events(self) -> list[dict[str, Any]]:
        mine = self.browser.events[self.first_event :]
        return [e for e in mine if e.get("sessionId") == self.session]

    def problems(self, own_url: str) -> list[str]:
        """Console errors, exceptions, log errors and requests for anything but the page."""
        found = []
        for event in self.events():
            method, params = event.get("method"), event.get("params", {})
            if method == "Network.requestWillBeSent" and params["request"]["url"] != own_url:
                found.append(f"request: {params['request']['url'][:200]}")
            elif method == "Runtime.exceptionThrown":
                found.append(f"exception: {params['exceptionDetails'].get('text')}")
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                found.append(f"console.{params['type']}: {params['args']}")
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(f"log: {params['entry']['text']}")
        return found


@pytest.mark.parametrize("name", ["nightly", "incident", "empty-window"])
def test_page_in_a_real_browser(
    browser: Browser, pages: dict[str, Path], name: str, tmp_path: Path
) -> None:
    path = pages[name]
    page = Page(browser)
    screen = page.load(path, SCREEN_WIDTH)
    assert page.problems(path.as_uri()) == []
    requests = [e for e in page.events() if e.get("method") == "Network.requestWillBeSent"]
    assert [e["params"]["request"]["url"] for e in requests] == [path.as_uri()]
    assert screen["scripts"] == 0 and screen["wide"] == []
    shot = page.screenshot(tmp_path / f"{name}.png", SCREEN_WIDTH, screen["height"])
    assert shot.stat().st_size > 10_000

    printed = page.load(path, A4_CONTENT_WIDTH, media="print")
    page.screenshot(tmp_path / f"{name}-print.png", A4_CONTENT_WIDTH, printed["height"])
    assert printed["width"] == A4_CONTENT_WIDTH
    assert printed["wide"] == [], f"wider than an A4 page when printed: {printed['wide']}"
    assert page.evaluate("getComputedStyle(document.querySelector('nav.toc')).display") == "none"
    assert page.problems(path.as_uri()) == []
    if name != "empty-window":
        assert screen["svgs"] >= 3 and screen["cjk"]  # Chinese step names in the charts
    title = page.evaluate("document.querySelector('h1').textContent")
    assert title and SCRIPT_NAME not in title


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_a_missing_browser_fails_on_ci_and_skips_elsewhere(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str, outcome: type[BaseException]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no browser on the path
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="no Chromium found"):
        chromium()
