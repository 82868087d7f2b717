"""The app in a real browser: it opens on the Overview; upload parquet through the widget, train the quick preset,
see the results and the Overview of the run; a twin following this machine live on the Live page (real sampling).
Both fail when the page sends anything to a host but the app's, or its console shows an error or a warning."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from twin_core.demo import write_demo_parquet

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
IDLE = "[data-test-script-state='notRunning']"
STARTUP_TIMEOUT_S = 60
ACTION_TIMEOUT_MS = 120_000
# console message types that fail the test; Plotly.js logs its warnings through console.trace("WARN:", ...)
CONSOLE_PROBLEMS = ("error", "warning", "assert", "trace")
SCREEN_WIDTHS = (1280, 1920)  # every view must fit both, with nothing cut or overlapping

pytestmark = pytest.mark.e2e


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """`streamlit run app.py` on a free port (small demo data), yielding its URL; killed afterwards."""
    port = free_port()
    log = (tmp_path / "server.log").open("w")
    env = {**os.environ, "TWIN_DEMO_ROWS": "1200", "TWIN_STORE": str(tmp_path / "runs.sqlite")}  # never the repo's
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],  # files edited during the run must not reload twin_core's classes
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"streamlit did not start: {(tmp_path / 'server.log').read_text()[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        process.kill()
        process.wait(timeout=10)
        log.close()


def settle(page) -> None:
    """Wait for the rerun an action caused to start (if it did) and to finish."""
    try:
        page.wait_for_selector("[data-test-script-state='running']", timeout=1500)
    except Exception:  # noqa: BLE001 - playwright's TimeoutError: the rerun was already over
        pass
    page.wait_for_selector(IDLE, timeout=ACTION_TIMEOUT_MS)


def open_page(page, title: str) -> None:
    """Navigate by clicking the sidebar link (a new page.goto would start a new session)."""
    page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=title, exact=True).click()
    settle(page)


def choose_and_train(page, option: str) -> None:
    """Pick a configuration in the Train form and press Train (returns while it runs)."""
    page.locator("[data-testid='stSelectbox']", has_text="Configuration").click()
    page.get_by_role("option", name=option).click()
    page.get_by_role("button", name="Train").click()


def leaves_the_machine(url: str, server: str) -> bool:
    """Whether a request or websocket goes anywhere but the app's own host and port (data:/blob: never leave)."""
    parts, app = urlsplit(url), urlsplit(server)
    if parts.scheme in ("data", "blob"):
        return False
    return parts.hostname not in ("127.0.0.1", "localhost") or parts.port != app.port


def watch(page, server: str) -> tuple[list[str], list[str]]:
    """Record every request leaving the machine and every console error or warning the page logs."""
    foreign: list[str] = []
    console: list[str] = []
    page.on("request", lambda request: foreign.append(request.url)
            if leaves_the_machine(request.url, server) else None)
    page.on("websocket", lambda socket_: foreign.append(socket_.url)
            if leaves_the_machine(socket_.url, server) else None)
    page.on("console", lambda message: console.append(f"{message.type}: {message.text} ({message.location})")
            if message.type in CONSOLE_PROBLEMS else None)
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    return foreign, console


@contextmanager
def opened_app(server: str) -> Iterator:
    """Debian's chromium on the app's first page, at the first screen width, idle; closed afterwards. Fails when
    the page made a request to any host but the app's, or its console had an error or a warning."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": SCREEN_WIDTHS[0], "height": 1200})
            page.set_default_timeout(ACTION_TIMEOUT_MS)
            foreign, console = watch(page, server)
            page.goto(server)
            page.wait_for_selector(IDLE)
            yield page
            problems = [f"request left the machine: {url}" for url in sorted(set(foreign))]
            problems += [f"console {message}" for message in sorted(set(console))]
            assert problems == [], "\n".join(problems)
        finally:
            browser.close()


def shoot(page, folder: Path, name: str) -> None:
    """Screenshots of the page's first 2,000 px at the two widths the views must fit (1280 and 1920 px), for a person
    to look at; the page is scrolled to its top first (Streamlit scrolls inside its main section, which a full-page
    screenshot does not unroll)."""
    for width in SCREEN_WIDTHS:
        page.set_viewport_size({"width": width, "height": 2000})
        page.evaluate("document.querySelector(\"[data-testid='stMain']\")?.scrollTo(0, 0)")
        page.wait_for_timeout(400)  # charts and columns re-lay out on resize (no script rerun)
        page.screenshot(path=folder / f"{name}_{width}.png", full_page=True)


def test_upload_train_and_see_results(server: str, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)

    files = write_demo_parquet(tmp_path / "upload", rows=1500, cores=6, sessions=3, seed=11)
    with opened_app(server) as page:
        expect(page.get_by_role("heading", name="Digital Twin Studio")).to_be_visible()  # the app opens on Overview
        expect(page.get_by_role("button", name="Train a twin")).to_be_visible()
        shoot(page, tmp_path, "overview_untrained")

        open_page(page, "Data")
        expect(page.get_by_text("Demo telemetry (1,200 rows, seed 0)").first).to_be_visible()
        shoot(page, tmp_path, "data_demo")

        page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files([str(p) for p in files])
        settle(page)
        expect(page.get_by_text("cpu_bound_00.parquet + 2 more files").first).to_be_visible()
        expect(page.locator("[data-testid='stMetricValue']", has_text="1,500")).to_be_visible()
        shoot(page, tmp_path, "data_uploaded")

        open_page(page, "Train")
        choose_and_train(page, "Preset: default")
        expect(page.get_by_text("Overall:")).to_be_visible()  # live progress of the running fits
        expect(page.get_by_role("button", name="Train")).to_be_disabled()
        page.get_by_role("button", name="Cancel").click()
        settle(page)
        expect(page.get_by_text("was cancelled after")).to_be_visible()
        expect(page.get_by_text("No finished run yet")).to_be_visible()

        choose_and_train(page, "Preset: quick")
        settle(page)
        expect(page.get_by_text("trained in")).to_be_visible()
        shoot(page, tmp_path, "train_done")

        open_page(page, "Results")
        charts = page.locator(".js-plotly-plot")
        for title in ("R² per model, hold-out and out-of-fold", "actual against predicted, hold-out rows"):
            chart = charts.filter(has_text=title)
            chart.scroll_into_view_if_needed()  # charts far below the fold are drawn when scrolled to
            expect(chart).to_be_visible()
        expect(page.get_by_text("cpu_bound_00.parquet + 2 more files").first).to_be_visible()  # the sidebar
        expect(page.get_by_text("Reconstruction twin: reads cpu_util_overall").first).to_be_visible()
        assert page.locator("[data-testid='stException']").count() == 0
        shoot(page, tmp_path, "results")

        open_page(page, "Overview")
        expect(page.get_by_role("heading", name="Digital Twin Studio")).to_be_visible()
        expect(page.get_by_text("Reconstruction twin: reads cpu_util_overall").first).to_be_visible()
        expect(page.get_by_role("button", name="See the results")).to_be_visible()
        assert page.locator("[data-testid='stException']").count() == 0
        shoot(page, tmp_path, "overview_trained")

        open_page(page, "Train")  # a twin of the other kind, so Compare shows two questions side by side
        choose_and_train(page, "Preset: behavioural-quick")
        settle(page)
        open_page(page, "Results")
        expect(page.get_by_text("Behavioural twin: reads the other cores and the workload").first).to_be_visible()
        shoot(page, tmp_path, "results_behavioural")

        open_page(page, "What-if")  # the behavioural twin's answer says it is the learned response
        page.get_by_role("button", name="Ask the twin").click()
        settle(page)
        expect(page.get_by_text("Behavioural twin: the change is the learned response").first).to_be_visible()

        for title, expected in (("Model", "Model"), ("What-if", "What-if"), ("Compare", "Compare")):
            open_page(page, title)
            expect(page.get_by_role("heading", name=expected).first).to_be_visible()
            assert page.locator("[data-testid='stException']").count() == 0
            shoot(page, tmp_path, title.lower().replace("-", ""))

        open_page(page, "Model")
        page.get_by_role("tab", name="Feature sets").click()  # tabs switch in the browser, without a rerun
        expect(page.get_by_text("Current overall").first).to_be_visible()
        shoot(page, tmp_path, "model_feature_sets")


def test_live_twin_follows_this_machine(server: str, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)

    cores = os.cpu_count() or 2  # the twin must have this machine's cores to follow it
    files = write_demo_parquet(tmp_path / "upload", rows=1500, cores=max(cores, 2), sessions=3, seed=5)
    with opened_app(server) as page:
        open_page(page, "Data")  # the app opens on Overview
        page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files([str(p) for p in files])
        settle(page)
        open_page(page, "Train")
        choose_and_train(page, "Preset: quick")
        settle(page)
        expect(page.get_by_text("trained in")).to_be_visible()

        open_page(page, "Live")
        expect(page.get_by_text("Press Start to sample")).to_be_visible()
        page.get_by_role("button", name="Start").click()
        newest = page.get_by_text(re.compile(r"Newest sample \d\d:\d\d:\d\d UTC"))
        expect(newest).to_be_visible()  # REAL sampling: the quick twin's look-back fills in about a second
        first = newest.inner_text()
        page.wait_for_timeout(3000)
        expect(newest).not_to_have_text(first)  # the fragment redrew the chart with newer samples
        chart = page.locator("[data-testid='stPlotlyChart']")
        expect(chart).to_have_count(1)  # a fragment redraw can show the outgoing chart beside the new one a moment
        expect(chart).to_be_visible()
        expect(page.locator("[data-testid='stMetricLabel']", has_text="R², last minute")).to_be_visible()
        assert page.locator("[data-testid='stException']").count() == 0
        shoot(page, tmp_path, "live_running")

        page.get_by_role("button", name="Stop").click()
        settle(page)
        expect(page.get_by_text("Stopped: you pressed Stop.")).to_be_visible()
        stopped = newest.inner_text()
        page.wait_for_timeout(2500)
        expect(newest).to_have_text(stopped)  # nothing samples once stopped
        shoot(page, tmp_path, "live_stopped")
