"""The app in a real browser: it opens on the Overview; upload parquet through the widget, train the quick preset,
see the results and the Overview of the run, then every page (Model's tabs, What-if's answer, Compare's tabs); a
twin following this machine live on the Live page (real sampling). Every view is checked and shot at 1280×800 and
1920×1080. Both fail when the page sends anything to a host but the app's, its console shows an error or a warning,
or a view cuts a text: a metric card, a button, a tab or a table header that does not fit its box."""
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
SCREENS = ((1280, 800), (1920, 1080))  # (width, height): every view must fit both, with nothing cut or overlapping
SCREENSHOT_HEIGHT_CAP = 8000  # px: a screenshot unrolls the whole page up to this height
# A resize re-lays the page, its grids and charts out a moment later (no script rerun): wait until their sizes stop
# changing (3 s at most), every visible grid has its canvas, and two frames have been painted since.
SETTLE_JS = """async () => {
  await document.fonts.ready;
  const pause = (ms) => new Promise((done) => setTimeout(done, ms));
  const sizes = () => [...document.querySelectorAll(
    "[data-testid='stMain'], [data-testid='stDataFrame'], .dvn-scroller, .js-plotly-plot")].map(
    (el) => `${el.clientWidth}x${el.clientHeight}`).join();
  for (let before = sizes(), tries = 0; tries < 15; tries++) {
    await pause(200);
    const now = sizes();
    if (now === before) break;
    before = now;
  }
  const undrawn = () => [...document.querySelectorAll("[data-testid='stDataFrame']")].some(
    (grid) => grid.getClientRects().length > 0 && !grid.querySelector("canvas[data-testid='data-grid-canvas']"));
  for (let tries = 0; tries < 15 && undrawn(); tries++) await pause(200);
  for (let frame = 0; frame < 2; frame++) await new Promise((done) => requestAnimationFrame(done));
}"""
# One pass over the page, returning every visible text that does not fit its box, as {element, text, why}:
# - metric cards, buttons (download and popover ones included), tabs and st.table headers: the element or any box in
#   it whose content is wider than the box (scrollWidth > clientWidth + 1 px: CSS's ellipsis, clipped or spilling
#   text), an element that sticks out of a clipping container (a tab behind the tab bar's scroll), or a literal "…"
#   (no label of ours ends in one, so it is a shortened text);
# - st.dataframe, which draws its grid on a canvas (the DOM holds only an accessible copy of the cells, with no
#   layout): its column widths are read from the grid component's props (React internals; when they cannot be found
#   the check says so instead of passing), a header is cut when its text, measured in the grid's header font, plus
#   the cell padding is wider than its column, and a column is hidden when it lies beyond the grid's visible width
#   (a horizontal scroll). Grids not drawn yet are scrolled into view first.
# - selectboxes: the chosen value is the text of an <input>, cut when its text is wider than the input.
CUT_TEXT_JS = """async () => {
  const cuts = [];
  const shown = (el) => el.checkVisibility({visibilityProperty: true}) && el.getClientRects().length > 0;
  const words = (el) => {  // the text a person reads: icons (aria-hidden ligatures like "play_arrow") left out
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    let text = '';
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.parentElement.closest("[aria-hidden='true']")) text += node.textContent;
    }
    return text.replace(/\\s+/g, ' ').trim();
  };
  const kind = (el) => el.closest('[data-testid]')?.dataset.testid ?? el.tagName.toLowerCase();
  const add = (el, text, why) => cuts.push({element: kind(el), text, why});
  const clips = (style) => style.overflowX !== 'visible';
  const TEXTS = ["[data-testid='stMetricLabel']", "[data-testid='stMetricValue']", "[data-testid='stMetricDelta']",
                 'button', "[role='tab']", "[data-testid='stTable'] th"].join(', ');
  for (const root of document.querySelectorAll(TEXTS)) {
    const text = words(root);
    if (!text || !shown(root)) continue;
    if (text.includes('…')) { add(root, text, 'shows a literal "…"'); continue; }
    const boxes = [root, ...root.querySelectorAll('*')].filter(
      (el) => !(el instanceof SVGElement) && !el.closest("[aria-hidden='true']") && el.clientWidth > 0);
    const over = boxes.find((el) => el.scrollWidth > el.clientWidth + 1);
    if (over) {
      const style = getComputedStyle(over);
      const how = style.textOverflow === 'ellipsis' && clips(style) ? 'ellipsis' : clips(style) ? 'clipped' : 'spills';
      add(root, text, `${how}: ${over.scrollWidth} px of content in a ${over.clientWidth} px box`);
      continue;
    }
    const rect = root.getBoundingClientRect();
    for (let box = root.parentElement; box && box !== document.body; box = box.parentElement) {
      const edge = box.getBoundingClientRect();
      if (clips(getComputedStyle(box)) && (rect.right > edge.right + 1 || rect.left < edge.left - 1)) {
        add(root, text, `sticks out of its ${kind(box)} (${Math.round(rect.left)}-${Math.round(rect.right)} px `
                        + `in ${Math.round(edge.left)}-${Math.round(edge.right)} px)`);
        break;
      }
    }
  }
  for (const input of document.querySelectorAll("[data-testid='stSelectbox'] input")) {
    if (input.value && shown(input) && input.scrollWidth > input.clientWidth + 1) {
      add(input, input.value, `selectbox value cut: ${input.scrollWidth} px of text in a ${input.clientWidth} px box`);
    }
  }
  const ruler = document.createElement('canvas').getContext('2d');
  for (const grid of document.querySelectorAll("[data-testid='stDataFrame']")) {
    if (!shown(grid)) continue;
    if (!grid.querySelector('canvas')) {
      grid.scrollIntoView();
      await new Promise((done) => setTimeout(done, 300));
    }
    const canvas = grid.querySelector("canvas[data-testid='data-grid-canvas']");
    const scroller = grid.querySelector('.dvn-scroller');
    const editor = grid.querySelector('.stDataFrameGlideDataEditor');
    const fiberKey = canvas && Object.keys(canvas).find((key) => key.startsWith('__reactFiber$'));
    let columns = null;
    for (let fiber = fiberKey && canvas[fiberKey]; fiber && !columns; fiber = fiber.return) {
      const props = fiber.memoizedProps?.columns;
      if (Array.isArray(props) && props.length && props.every((c) => typeof c.width === 'number')) columns = props;
    }
    if (!columns || !scroller || !editor) {
      add(grid, words(grid).slice(0, 60), 'its column widths could not be read: update the check for this Streamlit');
      continue;
    }
    const style = getComputedStyle(editor);
    const padding = parseFloat(style.getPropertyValue('--gdg-cell-horizontal-padding')) || 0;
    ruler.font = `${style.getPropertyValue('--gdg-header-font-style')} ${style.getPropertyValue('--gdg-font-family')}`;
    const shows = Math.min(scroller.clientWidth, grid.clientWidth);
    const hidden = [];
    let left = 0;
    for (const column of columns) {
      const title = column.title ?? '';
      const needed = Math.ceil(ruler.measureText(title).width + 2 * padding);
      if (title && needed > column.width + 1) {
        add(grid, title, `column header cut: needs ${needed} px, its column is ${column.width} px`);
      }
      left += column.width;
      if (left > shows + 1) hidden.push(title);
    }
    if (hidden.length) {
      add(grid, hidden.join(' | '), `columns behind a horizontal scroll in the table whose first column is `
                                    + `'${columns[0].title}': ${left} px of columns, the grid shows ${shows} px`);
    }
  }
  document.querySelector("[data-testid='stMain']")?.scrollTo(0, 0);
  return cuts;
}"""

pytestmark = pytest.mark.e2e


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """The folder CI keeps the screenshots in: $TWIN_SCREENSHOTS, else <repo>/artifacts/screenshots; the previous
    session's screenshots are removed from it first (only *.png: the folder may be one the user named)."""
    folder = Path(os.environ.get("TWIN_SCREENSHOTS") or ROOT / "artifacts" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder


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


class Views:
    """One browser page's views, each checked for cut text at both screens and shot for a person to look at."""

    def __init__(self, page, folder: Path) -> None:
        self.page = page
        self.folder = folder
        self.cuts: list[str] = []

    def shoot(self, name: str) -> None:
        """At each screen: note every cut text of the view (see CUT_TEXT_JS), then save `<name>_<width>.png` with the
        page unrolled from its top (Streamlit scrolls inside its main section, which a full-page screenshot does not
        unroll, so the viewport grows to the content's height for the shot)."""
        for width, height in SCREENS:
            self.page.set_viewport_size({"width": width, "height": height})
            self.page.evaluate(SETTLE_JS)
            for cut in self.page.evaluate(CUT_TEXT_JS):
                self.cuts.append(f"{name} at {width}×{height}: {cut['element']} '{cut['text']}' {cut['why']}")
            content = self.page.evaluate("document.querySelector(\"[data-testid='stMain']\")?.scrollHeight ?? 0")
            self.page.set_viewport_size({"width": width, "height": min(max(content, height), SCREENSHOT_HEIGHT_CAP)})
            self.page.evaluate(SETTLE_JS)  # grids and charts drawn at the new size before the shot
            self.page.screenshot(path=self.folder / f"{name}_{width}.png", full_page=True)
        width, height = SCREENS[0]
        self.page.set_viewport_size({"width": width, "height": height})  # the next actions at the first screen


@contextmanager
def opened_app(server: str, folder: Path) -> Iterator[Views]:
    """Debian's chromium on the app's first page, at the first screen, idle; closed afterwards. Fails when the page
    made a request to any host but the app's, its console had an error or a warning, or a view shot cut a text
    (all of them listed: view, screen, element, text, why)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            width, height = SCREENS[0]
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(ACTION_TIMEOUT_MS)
            foreign, console = watch(page, server)
            page.goto(server)
            page.wait_for_selector(IDLE)
            views = Views(page, folder)
            yield views
            problems = [f"request left the machine: {url}" for url in sorted(set(foreign))]
            problems += [f"console {message}" for message in sorted(set(console))]
            problems += [f"cut text: {cut}" for cut in views.cuts]
            assert problems == [], "\n".join(problems)
        finally:
            browser.close()


def test_upload_train_and_see_every_page(server: str, screenshots: Path, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)

    files = write_demo_parquet(tmp_path / "upload", rows=1500, cores=6, sessions=3, seed=11)
    with opened_app(server, screenshots) as views:
        page = views.page
        expect(page.get_by_role("heading", name="Digital Twin Studio")).to_be_visible()  # the app opens on Overview
        expect(page.get_by_role("button", name="Train a twin")).to_be_visible()
        views.shoot("overview_untrained")

        open_page(page, "Data")
        expect(page.get_by_text("Demo telemetry (1,200 rows, seed 0)").first).to_be_visible()
        views.shoot("data_demo")

        page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files([str(p) for p in files])
        settle(page)
        expect(page.get_by_text("cpu_bound_00.parquet + 2 more files").first).to_be_visible()
        expect(page.locator("[data-testid='stMetricValue']", has_text="1,500")).to_be_visible()
        views.shoot("data_uploaded")

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
        views.shoot("train_done")

        open_page(page, "Results")
        charts = page.locator(".js-plotly-plot")
        for title in ("R² per model", "actual against predicted, hold-out rows"):
            chart = charts.filter(has_text=title)
            chart.scroll_into_view_if_needed()  # charts far below the fold are drawn when scrolled to
            expect(chart).to_be_visible()
        expect(page.get_by_text("cpu_bound_00.parquet + 2 more files").first).to_be_visible()  # the sidebar
        expect(page.get_by_text("Reconstruction twin: reads cpu_util_overall").first).to_be_visible()
        assert page.locator("[data-testid='stException']").count() == 0
        views.shoot("results")

        open_page(page, "Overview")
        expect(page.get_by_role("heading", name="Digital Twin Studio")).to_be_visible()
        expect(page.get_by_text("Reconstruction twin: reads cpu_util_overall").first).to_be_visible()
        expect(page.get_by_role("button", name="See the results")).to_be_visible()
        assert page.locator("[data-testid='stException']").count() == 0
        views.shoot("overview_trained")

        open_page(page, "Train")  # a twin of the other kind, so Compare shows two questions side by side
        choose_and_train(page, "Preset: behavioural-quick")
        settle(page)
        open_page(page, "Results")
        expect(page.get_by_text("Behavioural twin: reads the other cores and the workload").first).to_be_visible()
        views.shoot("results_behavioural")

        open_page(page, "What-if")  # the behavioural twin's answer says it is the learned response
        scale = page.locator("[data-testid='stNumberInput']",
                             has_text="Input cores at (% of recorded)").locator("input")
        scale.fill("150")  # a real change, so the answer has a difference to show
        scale.press("Enter")
        settle(page)
        page.get_by_role("button", name="Ask the twin").click()
        settle(page)
        expect(page.get_by_text("Behavioural twin: the change is the learned response").first).to_be_visible()
        change = page.locator("[data-testid='stMetric']", has_text="Change (points)")
        assert change.locator("[data-testid='stMetricValue']").inner_text().strip() not in ("+0.00", "-0.00")
        assert page.locator("[data-testid='stException']").count() == 0
        views.shoot("whatif")

        open_page(page, "Model")
        expect(page.get_by_role("heading", name="Model").first).to_be_visible()
        assert page.locator("[data-testid='stException']").count() == 0
        views.shoot("model")
        page.get_by_role("tab", name="Feature sets").click()  # tabs switch in the browser, without a rerun
        expect(page.get_by_text("Current overall").first).to_be_visible()
        views.shoot("model_feature_sets")
        for tab, name in (("Hold-out & CV", "model_holdout_cv"), ("Run", "model_run")):
            page.get_by_role("tab", name=tab, exact=True).click()
            expect(page.get_by_role("tab", name=tab, exact=True)).to_have_attribute("aria-selected", "true")
            views.shoot(name)

        # a LEAKY run (quick with random hold-out rows, edited on the Model page) and an honest default run, so
        # Compare shows a leaky pair kept apart and then an honest pair's R² change
        page.locator("[data-testid='stSelectbox']", has_text="Preset").click()
        page.get_by_role("option", name="quick", exact=True).click()
        page.get_by_role("button", name="Load preset").click()
        settle(page)
        page.get_by_role("tab", name="Hold-out & CV", exact=True).click()
        page.get_by_text("Random rows — LEAKY (the original notebook's protocol)").click()
        settle(page)
        open_page(page, "Train")
        choose_and_train(page, "Model page: quick")
        settle(page)
        expect(page.get_by_text("trained in")).to_be_visible()
        choose_and_train(page, "Preset: default")
        settle(page)
        expect(page.get_by_text("trained in")).to_be_visible()

        open_page(page, "Compare")  # Run A is the leaky quick #3, Run B default #4
        expect(page.get_by_role("heading", name="Compare").first).to_be_visible()
        expect(page.get_by_text("Not comparable: leaky split").first).to_be_visible()
        assert page.locator("[data-testid='stException']").count() == 0
        views.shoot("compare_leaky")
        page.locator("[data-testid='stSelectbox']", has_text="Run A").first.click()  # the saved tab has its own
        page.get_by_role("option", name="quick #1", exact=True).click()
        settle(page)
        expect(page.locator(".js-plotly-plot", has_text="Hold-out R²: quick #1 → default #4").first).to_be_visible()
        assert page.locator("[data-testid='stException']").count() == 0
        views.shoot("compare")
        saved = page.get_by_role("tab", name="Saved runs (across days)")
        saved.click()
        expect(saved).to_have_attribute("aria-selected", "true")
        views.shoot("compare_saved")

        # a demo fleet of 3 hosts kept in the app's store by the CLI, then the Fleet page and one host in Results
        for command in (["demo-data", str(tmp_path / "fleet"), "--hosts", "3", "--rows", "1500", "--cores", "4",
                         "--sessions", "3"],
                        ["fleet", str(tmp_path / "fleet"), "--out", str(tmp_path / "fleet-out"), "--preset", "quick",
                         "--store", str(tmp_path / "runs.sqlite"), "--quiet"]):
            subprocess.run([sys.executable, "-m", "twin_core", *command], cwd=ROOT, check=True, capture_output=True)
        open_page(page, "Fleet")
        expect(page.locator("[data-testid='stDataFrame']").first).to_be_visible()
        expect(page.get_by_role("button", name="Open in Results")).to_be_visible()
        assert page.locator("[data-testid='stException']").count() == 0
        views.shoot("fleet")
        page.get_by_role("button", name="Open in Results").click()
        settle(page)
        expect(page.get_by_role("heading", name="Results").first).to_be_visible()
        assert page.locator("[data-testid='stException']").count() == 0
        views.shoot("results_fleet_host")


def test_live_twin_follows_this_machine(server: str, screenshots: Path, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)

    cores = os.cpu_count() or 2  # the twin must have this machine's cores to follow it
    files = write_demo_parquet(tmp_path / "upload", rows=1500, cores=max(cores, 2), sessions=3, seed=5)
    with opened_app(server, screenshots) as views:
        page = views.page
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
        expect(page.locator("[data-testid='stMetricLabel']", has_text="R², last 60 s")).to_be_visible()
        assert page.locator("[data-testid='stException']").count() == 0
        views.shoot("live_running")

        page.get_by_role("button", name="Stop").click()
        settle(page)
        expect(page.get_by_text("Stopped: you pressed Stop.")).to_be_visible()
        stopped = newest.inner_text()
        page.wait_for_timeout(2500)
        expect(newest).to_have_text(stopped)  # nothing samples once stopped
        views.shoot("live_stopped")


def test_bands_anomalies_explanations_and_a_sweep(server: str, screenshots: Path, tmp_path: Path) -> None:
    """Issue 10's views as a user reaches them: a behavioural twin of telemetry with injected bursts, its band and
    coverage and explanations on Results, its episodes on Anomalies, then the sample sweep on Sweep."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)

    files = write_demo_parquet(tmp_path / "upload", rows=3000, cores=4, sessions=5, seed=2, response=True,
                               anomalies=10, anomaly_tail=0.18)
    with opened_app(server, screenshots) as views:
        page = views.page
        open_page(page, "Data")
        page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files([str(p) for p in files])
        settle(page)
        expect(page.locator("[data-testid='stMetricValue']", has_text="3,000")).to_be_visible()

        open_page(page, "Train")
        choose_and_train(page, "Preset: behavioural-quick")
        settle(page)
        expect(page.get_by_text("trained in")).to_be_visible()

        open_page(page, "Results")
        trace = page.locator(".js-plotly-plot", has_text="actual against predicted, hold-out rows")
        trace.scroll_into_view_if_needed()
        expect(trace.get_by_text("90 % interval (covers")).to_be_visible()  # the band's legend names its coverage
        expect(page.get_by_role("heading", name="Prediction intervals")).to_be_visible()
        explained = page.get_by_role("heading", name="Why the twin predicts what it does")
        explained.scroll_into_view_if_needed()
        expect(explained).to_be_visible()
        assert page.locator("[data-testid='stException']").count() == 0
        views.shoot("results_bands_explanations")

        open_page(page, "Anomalies")
        card = page.locator("[data-testid='stMetric']").filter(has=page.get_by_text("Episodes", exact=True))
        episodes = card.locator("[data-testid='stMetricValue']")
        expect(episodes).to_be_visible()
        assert int(episodes.inner_text().replace(",", "")) > 0  # the injected bursts leave the band
        expect(page.locator("[data-testid='stSelectbox']", has_text="Zoom to episode")).to_be_visible()
        assert page.locator("[data-testid='stException']").count() == 0
        views.shoot("anomalies")

        open_page(page, "Sweep")
        page.get_by_role("button", name="Run the sweep").click()
        settle(page)
        expect(page.get_by_text("finished: 12 of 12 runs")).to_be_visible()
        chart = page.locator(".js-plotly-plot", has_text="How R² answers each swept setting")
        chart.scroll_into_view_if_needed()
        expect(chart).to_be_visible()
        assert page.locator("[data-testid='stException']").count() == 0
        views.shoot("sweep")
