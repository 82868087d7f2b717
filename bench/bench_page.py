"""Benchmark: what every page of the app sends and how long it takes to render, for a long run (default 1M rows).

Usage: python bench/bench_page.py [--rows 1000000] [--cores 8] [--preset default] [--store DB] [--json]

Makes demo telemetry of that size, trains the preset (run A) and the same preset with its top layer changed (run B,
the layers below reused from the layer cache), keeps both in the run store, and makes them this session's runs (A
active) the way the app tests do, through session state. With `--store DB` holding runs A and B of an earlier
invocation on the same data and preset, they are read back instead of trained. Then every page is rendered in
Streamlit's AppTest: once to warm it (its caches fill), then three more times; the median of those three is the
page's render time. What-if is measured with one answer asked, Compare with the two runs, Live idle.

Per page it prints the render seconds, the figure JSON bytes (every plotly chart on the page), the traces and the
most points in any trace (x values, the blanks that break a line included), the most rows in a table, and MET / NOT
MET against the issue's targets.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.chdir(ROOT)  # AppTest resolves page paths against the working directory

from streamlit.testing.v1 import AppTest  # noqa: E402

from tests.app.helpers import APP, values  # noqa: E402
from twin_core.config import LayerSpec, ModelSpec, RunConfig  # noqa: E402
from twin_core.demo import make_demo_telemetry  # noqa: E402
from twin_core.layercache import LayerCache  # noqa: E402
from twin_core.pipeline import train_twin  # noqa: E402
from twin_core.presets import PRESETS, get_preset  # noqa: E402
from twin_core.store import RunStore, StoreError  # noqa: E402
from twin_core.telemetry import Telemetry  # noqa: E402
from ui.state import Run  # noqa: E402

MAX_POINTS, MAX_BYTES, MAX_SECONDS = 10_000, 3_000_000, 2.0  # the issue's `page` targets (3 MB as 3,000,000 bytes)
RERUNS = 3
TIMEOUT_S = 600
LABEL_A, LABEL_B = "bench-page A", "bench-page B"
PAGES = ("overview", "data", "model", "train", "results", "anomalies", "whatif", "compare", "sweep", "live", "fleet")


def top_changed(config: RunConfig) -> RunConfig:
    """The configuration with its top layer replaced by another ridge: retrains only the top layer."""
    top = LayerSpec(models=(ModelSpec("new-top", "ridgecv", {"alphas": (1.0, 100.0)}),))
    return replace(config, name=f"{config.name}-new-top",
                   stack=replace(config.stack, layers=config.stack.layers[:-1] + (top,)))


def runs_for(telemetry: Telemetry, preset: str, store_path: Path, data_label: str, log) -> tuple[list[Run], dict]:
    """Runs A and B on `telemetry`: read back from the store when an earlier invocation kept them on the same data
    with the same configurations (a preset changed since is trained again), else trained (B reusing A's lower
    layers) and kept; with the seconds each step took."""
    store = RunStore(store_path, create=True)
    wanted = {LABEL_A: get_preset(preset), LABEL_B: top_changed(get_preset(preset))}
    kept = store.list(telemetry.fingerprint)
    ids = {label: [run_id for run_id in kept.loc[kept["label"] == label, "id"] if store.config(run_id) == config]
           for label, config in wanted.items()}
    seconds: dict[str, float] = {}
    if all(ids.values()):
        clock = time.perf_counter()
        try:
            runs = [Run(label, store.kept_run(found[0]), data_label, stored_as=found[0])
                    for label, found in ids.items()]
        except StoreError as exc:
            log(f"the kept runs cannot be read back ({exc}): training them again")
        else:
            seconds["read back runs A and B from the store"] = time.perf_counter() - clock
            return runs, seconds
    cache = LayerCache()
    runs = []
    for label, config in wanted.items():
        log(f"training {label} ({config.name})…")
        clock = time.perf_counter()
        result = train_twin(telemetry, config, cache=cache)
        seconds[f"train {label} ({config.name})"] = time.perf_counter() - clock
        clock = time.perf_counter()
        run_id = store.save(result, label)
        seconds[f"keep {label} in the store"] = time.perf_counter() - clock
        runs.append(Run(label, result, data_label, stored_as=run_id))
    return runs, seconds


def chart_figures(at: AppTest) -> list[dict]:
    """Bytes, traces and the most points in a trace of every plotly chart on the page (figure JSON as sent)."""
    out = []
    for chart in at.get("plotly_chart"):
        spec = chart.proto.spec
        figure = json.loads(spec)
        points = [max((len(values(trace[axis])) for axis in ("x", "y") if trace.get(axis) is not None), default=0)
                  for trace in figure.get("data", [])]
        out.append({"key": chart.key, "bytes": len(spec.encode()), "traces": len(points),
                    "max_points": max(points, default=0)})
    return out


def table_rows(at: AppTest) -> int:
    """The most rows of any interactive table (st.dataframe) on the page."""
    return max((len(frame.value) for frame in at.dataframe), default=0)


def check(at: AppTest, page: str) -> None:
    if at.exception:
        raise RuntimeError(f"page {page} raised: {[e.value for e in at.exception]}")


def measure_page(at: AppTest, page: str, prepare=None) -> dict:
    """Switch to `page`, warm it (after `prepare`, e.g. asking a question, if any), then time RERUNS reruns."""
    clock = time.perf_counter()
    at.switch_page(f"pages/{page}.py").run()
    first = time.perf_counter() - clock
    check(at, page)
    extra = {}
    if prepare is not None:
        extra = prepare(at)
        check(at, page)
    times = []
    for _ in range(RERUNS):
        clock = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - clock)
        check(at, page)
    charts = chart_figures(at)
    result = {"page": page, "first_seconds": first, "seconds": statistics.median(times), "reruns": times,
              "figure_bytes": sum(c["bytes"] for c in charts), "traces": sum(c["traces"] for c in charts),
              "max_points": max((c["max_points"] for c in charts), default=0), "table_rows": table_rows(at),
              "charts": charts, **extra}
    result["met"] = {"points": result["max_points"] <= MAX_POINTS, "bytes": result["figure_bytes"] <= MAX_BYTES,
                     "seconds": result["seconds"] <= MAX_SECONDS}
    return result


def ask_whatif(at: AppTest) -> dict:
    """Ask the twin the page's default question once (its seconds are reported apart from the render's)."""
    button = next(b for b in at.button if b.label == "Ask the twin")
    clock = time.perf_counter()
    button.click().run()
    return {"ask_seconds": time.perf_counter() - clock}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cores", type=int, default=8)
    parser.add_argument("--preset", default="default", choices=sorted(PRESETS))
    parser.add_argument("--store", type=Path, default=None,
                        help="run store to keep runs A and B in and read them back from (default: a temporary one)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    args = parser.parse_args()
    log = (lambda text: print(text, file=sys.stderr, flush=True)) if args.json else \
        (lambda text: print(text, flush=True))
    store_path = args.store or Path(tempfile.mkdtemp(prefix="bench_page_")) / "studio.sqlite"
    os.environ["TWIN_STORE"] = str(store_path.resolve())

    setup: dict[str, float] = {}
    clock = time.perf_counter()
    telemetry = make_demo_telemetry(rows=args.rows, cores=args.cores, sessions=6, seed=0)
    setup["generate demo telemetry"] = time.perf_counter() - clock
    data_label = f"Demo telemetry ({args.rows:,} rows, seed 0)"
    runs, seconds = runs_for(telemetry, args.preset, store_path, data_label, log)
    setup.update(seconds)

    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT_S)
    at.session_state["telemetry"] = telemetry
    at.session_state["data_label"] = data_label
    at.session_state["data_files"] = ()
    at.session_state["runs"] = runs
    at.session_state["active_run"] = LABEL_A
    clock = time.perf_counter()
    at.run()
    setup["first run of the app (Overview, caches cold)"] = time.perf_counter() - clock
    check(at, "app")
    pages = [page for page in PAGES if (ROOT / "pages" / f"{page}.py").exists()]
    results = []
    for page in pages:
        log(f"rendering {page}…")
        results.append(measure_page(at, page, ask_whatif if page == "whatif" else None))

    report = {"rows": args.rows, "cores": args.cores, "preset": args.preset, "store": str(store_path),
              "cpu_count": os.cpu_count(), "load_average": os.getloadavg(),
              "targets": {"max_points_per_trace": MAX_POINTS, "max_figure_bytes": MAX_BYTES,
                          "max_render_seconds": MAX_SECONDS},
              "render_seconds": f"median of {RERUNS} reruns after a first, warm-up run",
              "setup_seconds": setup, "pages": results,
              "all_met": all(all(r["met"].values()) for r in results)}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"\n{args.rows:,} rows × {args.cores} cores, preset {args.preset}; {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{v:.2f}' for v in report['load_average'])}; store {store_path}")
    for step, value in setup.items():
        print(f"  {step:<52} {value:8.2f} s")
    print(f"\nrender: median of {RERUNS} reruns after a first, warm-up run (first run shown apart); targets: "
          f"≤ {MAX_POINTS:,} points per trace, ≤ {MAX_BYTES:,} bytes of figure JSON, ≤ {MAX_SECONDS:g} s")
    header = (f"{'page':<10} {'first s':>8} {'render s':>9} {'figure bytes':>13} {'traces':>7} {'max points':>11} "
              f"{'max table rows':>15}  verdict")
    print(header)
    print("-" * len(header))
    for r in results:
        missed = [what for what, ok in r["met"].items() if not ok]
        verdict = "MET" if not missed else "NOT MET (" + ", ".join(missed) + ")"
        print(f"{r['page']:<10} {r['first_seconds']:8.2f} {r['seconds']:9.2f} {r['figure_bytes']:13,} "
              f"{r['traces']:7} {r['max_points']:11,} {r['table_rows']:15,}  {verdict}")
        if "ask_seconds" in r:
            print(f"{'':<10} (asking the twin once took {r['ask_seconds']:.2f} s, not part of the render)")
    print("\nALL TARGETS MET" if report["all_met"] else "\nTARGETS NOT MET")


if __name__ == "__main__":
    main()
