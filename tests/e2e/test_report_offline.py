"""The report to hand out opens with no network: Chromium with every request aborted draws all its charts, sends
no request but the file itself, and logs no error or warning. Full-page screenshots at 1280 and 1920 px wide land
in the test's temporary folder (`--basetemp=<folder>` keeps them)."""
from __future__ import annotations

from pathlib import Path

import pytest

from twin_core.demo import make_demo_telemetry
from twin_core.pipeline import train_twin
from twin_core.presets import get_preset
from twin_core.report import build_report

CHROMIUM = Path("/usr/bin/chromium")
CONSOLE_PROBLEMS = ("error", "warning", "assert", "trace")  # Plotly.js warns through console.trace("WARN:", ...)
FIGURES = 8  # stack, per-layer R², trace, five residual views

pytestmark = pytest.mark.e2e


def test_report_draws_every_chart_with_the_network_cut(tmp_path):
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    result = train_twin(make_demo_telemetry(rows=1200, cores=8, sessions=4, seed=7), get_preset("quick"))
    report = tmp_path / "report.html"
    report.write_text(build_report(result, "offline", "demo telemetry"), encoding="utf-8")
    requests: list[str] = []
    console: list[str] = []
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            for width in (1280, 1920):
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file:")
                           else (requests.append(route.request.url), route.abort()))
                page.on("console", lambda message: console.append(f"{message.type}: {message.text}")
                        if message.type in CONSOLE_PROBLEMS else None)
                page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
                page.goto(report.as_uri())
                page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {FIGURES}",
                                       timeout=20_000)
                assert page.locator(".js-plotly-plot").count() == FIGURES
                page.screenshot(path=str(tmp_path / f"report_{width}.png"), full_page=True)  # kept with --basetemp
                page.close()
        finally:
            browser.close()
    assert requests == [] and console == []
