"""Benchmark: the notebook, scikit-learn's nested StackingRegressor and our `seed-v3` and `default`, one run.

Usage: python bench/bench_anchors.py [--repeat 3] [--data ../shared/data/cosmos_telemetry_v2] [--json]
       [--only NAME,NAME] [--sklearn-parallel stacks|lightgbm|both]

Each contender runs in a fresh interpreter (this script's `--one NAME` mode, which prints one JSON line), in
alternating order (A B C D, then D C B A, ...), `--repeat` times; the median wall seconds is reported with the
range. Every contender is timed from the parquet files to its hold-out R² (loading included for all four; the
libraries are imported before the clock starts, for all four):

- `notebook`: bench/notebook_pipeline.py, with its own random (leaky) 20 % hold-out;
- `sklearn-nested`: scikit-learn's `StackingRegressor` inside a `StackingRegressor` with the seed-v3 composition,
  on our features and our hold-out split, with one level of parallelism: the stacks' fits in 2 processes
  (LightGBM on 1 thread) or one after another (LightGBM on 2 threads); by default both run and the faster counts;
- `seed-v3`, `default`: `train_twin` with those presets (features, fits and scoring with bootstrap intervals);
- `fit-floor`: not a stack, a bound: seed-v3's layer-1 fits alone, one thread each, divided by the physical cores.
  No stack of that composition can finish sooner on this machine, so it says whether the ≤ 1/3 target is reachable.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "cosmos_telemetry_v2"
MAX_RATIO = 1 / 3  # seed-v3 seconds / sklearn-nested seconds, in the same run
SKLEARN_FOLDS = 5
# One level of parallelism either way: "stacks" runs the stacks' fits in 2 processes with LightGBM on 1 thread,
# "lightgbm" runs the fits one after another with LightGBM on 2 threads.
SKLEARN_PARALLEL = {"stacks": (2, 1), "lightgbm": (1, 2)}
BOTH = "both"  # try each setting in the same run and compare with the faster

sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def run_notebook(data_dir: Path, sklearn_parallel: str) -> dict[str, Any]:
    """The notebook's pipeline (defects included) from parquet to R², on its own random 20 % hold-out."""
    from notebook_pipeline import run_notebook_pipeline

    result = run_notebook_pipeline(data_dir)
    test = math.ceil(0.2 * result["rows"])  # train_test_split(test_size=0.2) rounds the test rows up
    return {"seconds": result["seconds"], "r2": result["r2_holdout"],
            "rows": {"train": result["rows"] - test, "test": test}}


def nested_stack(columns_v20: list[str], columns_v23: list[str], stack_jobs: int, lgbm_threads: int):
    """seed-v3's composition as a user writes it in scikit-learn: each base model reads its own feature set through
    a column selector; the final estimator is a stack of a scaled RidgeCV and a LightGBM under the unifying LightGBM."""
    from lightgbm import LGBMRegressor
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import StackingRegressor
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import KFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from twin_core.presets import SEED_LGBM_PARAMS, seed_v3

    seed = seed_v3().seed

    def lgbm(version: str) -> LGBMRegressor:
        return LGBMRegressor(**SEED_LGBM_PARAMS[version], random_state=seed, n_jobs=lgbm_threads, verbose=-1)

    def reading(columns: list[str], model: LGBMRegressor):
        return make_pipeline(ColumnTransformer([("select", "passthrough", columns)]), model)

    folds = KFold(SKLEARN_FOLDS)  # unshuffled; cross_val_predict needs a partition, so no purge gap is possible
    meta = StackingRegressor([("meta-ridge", make_pipeline(StandardScaler(), RidgeCV())), ("meta-lgbm", lgbm("v2.0"))],
                             final_estimator=lgbm("v2.3"), cv=folds, n_jobs=stack_jobs)
    return StackingRegressor([("v2.0", reading(columns_v20, lgbm("v2.0"))),
                              ("v2.1-tuned", reading(columns_v20, lgbm("v2.1"))),
                              ("v2.3-deep", reading(columns_v23, lgbm("v2.3")))],
                             final_estimator=meta, cv=folds, n_jobs=stack_jobs)


def run_sklearn_nested(data_dir: Path, sklearn_parallel: str) -> dict[str, Any]:
    """scikit-learn's nested stack on our seed-v3 features and hold-out split, from parquet to R²."""
    import numpy as np
    from sklearn.metrics import r2_score

    from twin_core.pipeline import prepare_run
    from twin_core.presets import get_preset
    from twin_core.telemetry import load_telemetry

    stack_jobs, lgbm_threads = SKLEARN_PARALLEL[sklearn_parallel]
    started = time.perf_counter()
    run = prepare_run(load_telemetry(data_dir), get_preset("seed-v3"))
    X, y = run.features.X, run.y
    train, test = np.sort(run.split.train), np.sort(run.split.test)
    model = nested_stack(run.features.columns_by_set["seed-v2.0"], run.features.columns_by_set["seed-v2.3"],
                         stack_jobs, lgbm_threads)
    model.fit(X.loc[train], y[train])
    r2 = r2_score(y[test], model.predict(X.loc[test]))
    return {"seconds": time.perf_counter() - started, "r2": float(r2),
            "rows": {"train": len(train), "test": len(test)},
            "parallel": f"{sklearn_parallel}: StackingRegressor n_jobs={stack_jobs}, LightGBM n_jobs={lgbm_threads}"}


def _run_preset(data_dir: Path, preset: str) -> dict[str, Any]:
    """Our preset from parquet to scored result; R² of the top layer and of the best model by OOF R²."""
    from twin_core.pipeline import train_twin
    from twin_core.presets import get_preset
    from twin_core.telemetry import load_telemetry

    started = time.perf_counter()
    metrics = train_twin(load_telemetry(data_dir), get_preset(preset)).metrics
    seconds = time.perf_counter() - started
    top_layer = max(m["layer"] for m in metrics["models"])
    top = [m for m in metrics["models"] if m["layer"] == top_layer]
    best = metrics["best"]
    return {"seconds": seconds, "r2": top[0]["r2_holdout"], "top": f"layer {top_layer} {top[0]['name']}",
            "r2_best": best["r2_holdout"], "best": f"layer {best['layer']} {best['name']}",
            "rows": {"train": metrics["rows"]["train"], "test": metrics["rows"]["test"]},
            "stages": metrics["seconds"]}


def run_seed_v3(data_dir: Path, sklearn_parallel: str) -> dict[str, Any]:
    """Our seed-v3 preset (the notebook's composition, honest split and purged folds)."""
    return _run_preset(data_dir, "seed-v3")


def run_default(data_dir: Path, sklearn_parallel: str) -> dict[str, Any]:
    """Our default preset."""
    return _run_preset(data_dir, "default")


def run_fit_floor(data_dir: Path, sklearn_parallel: str) -> dict[str, Any]:
    """The least time any stack of seed-v3's composition needs here: its layer-1 models' fits alone (every fold and
    the refit, on seed-v3's own rows, one thread each, one after another; CPU seconds), divided by the physical
    cores.

    Both stacks make at least these fits (scikit-learn's on more rows per fold), so no schedule of either finishes
    sooner; layers 2 and 3, features and scoring only add to it."""
    import numpy as np
    import psutil
    from sklearn.model_selection import check_cv

    from twin_core.models import make_estimator
    from twin_core.pipeline import prepare_run
    from twin_core.presets import get_preset
    from twin_core.telemetry import load_telemetry

    config = get_preset("seed-v3")
    run = prepare_run(load_telemetry(data_dir), config)
    X = run.features.X
    train = X.index.get_indexer(run.split.train)
    y = run.y[X.index.to_numpy()][train]
    fit_sets = [fit for fit, _ in check_cv(run.stack.cv).split(np.zeros((len(train), 1)), y)] + [np.arange(len(train))]
    fit_seconds = 0.0
    for spec in config.stack.layers[0].models:
        design = X[run.features.columns_by_set[spec.feature_set]].to_numpy(np.float32)[train]
        for rows in fit_sets:
            model = make_estimator(spec.kind, spec.params, seed=config.seed, threads=1)
            started = time.process_time()  # CPU time: one thread's work, whatever else the machine runs
            model.fit(design[rows], y[rows])
            fit_seconds += time.process_time() - started
    cores = psutil.cpu_count(logical=False) or os.cpu_count() or 1
    return {"seconds": fit_seconds / cores, "r2": None, "rows": {"train": len(train), "test": len(run.split.test)},
            "folds": len(fit_sets) - 1, "fits": len(fit_sets) * len(config.stack.layers[0].models),
            "fit_seconds": fit_seconds, "cores": cores}


CONTENDERS: dict[str, Callable[[Path, str], dict[str, Any]]] = {
    "notebook": run_notebook, "sklearn-nested": run_sklearn_nested, "seed-v3": run_seed_v3, "default": run_default,
    "fit-floor": run_fit_floor}


def run_one(name: str, data_dir: Path, sklearn_parallel: str) -> None:
    """`--one NAME`: import the libraries every contender uses, then run NAME and print its figures as JSON."""
    import lightgbm  # noqa: F401
    import notebook_pipeline  # noqa: F401
    import sklearn.ensemble  # noqa: F401

    import twin_core.pipeline  # noqa: F401
    import twin_core.telemetry  # noqa: F401

    print(json.dumps(CONTENDERS[name](data_dir, sklearn_parallel)), flush=True)


def in_fresh_process(name: str, data_dir: Path, setting: str | None) -> dict[str, Any]:
    """Run one contender (with its scikit-learn parallelism setting, if any) in a new interpreter; its figures."""
    extra = ["--sklearn-parallel", setting] if setting else []
    done = subprocess.run([sys.executable, __file__, "--one", name, "--data", str(data_dir), *extra],
                          capture_output=True, text=True, cwd=REPO_ROOT)
    lines = done.stdout.strip().splitlines()
    if done.returncode or not lines:
        sys.exit(f"{name} failed (exit {done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return json.loads(lines[-1])


def slots(names: list[str], sklearn_parallel: str) -> list[tuple[str, str | None]]:
    """(contender, scikit-learn setting) in run order: sklearn-nested once per setting tried, the others once."""
    settings = sorted(SKLEARN_PARALLEL) if sklearn_parallel == BOTH else [sklearn_parallel]
    return [(name, setting) for name in names for setting in (settings if name == "sklearn-nested" else [None])]


def order_of(repeat: int, listed: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    """Alternating order: as listed in even repeats (0, 2, ...), reversed in odd ones."""
    return listed if repeat % 2 == 0 else listed[::-1]


def _median(values: list[float | None]) -> float | None:
    """The median, or None when a run had no R² (metrics.json writes an undefined score as null)."""
    return None if any(v is None for v in values) else statistics.median(values)


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median and range of the wall seconds; R² and rows of the runs (the median R², the first run's rows)."""
    seconds = [r["seconds"] for r in runs]
    out = {"seconds_median": statistics.median(seconds), "seconds_min": min(seconds), "seconds_max": max(seconds),
           "r2": _median([r["r2"] for r in runs]), "rows": runs[0]["rows"], "runs": runs}
    if "r2_best" in runs[0]:
        out.update(r2_best=_median([r["r2_best"] for r in runs]), best=runs[0]["best"], top=runs[0]["top"])
    if "parallel" in runs[0]:
        out["parallel"] = runs[0]["parallel"]
    return out


def fastest(by_setting: dict[str | None, dict[str, Any]]) -> dict[str, Any]:
    """The summary with the lowest median seconds; with several settings tried, each one's figures beside it."""
    best = min(by_setting.values(), key=lambda s: s["seconds_median"])
    if len(by_setting) > 1:
        best = {**best, "settings": {setting: {k: s[k] for k in ("seconds_median", "seconds_min", "seconds_max", "r2")}
                                     for setting, s in by_setting.items()}}
    return best


def comparison(results: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """seed-v3 / sklearn-nested seconds (target ≤ 1/3) and top-layer R² (seed-v3 no worse); None unless both ran."""
    if "seed-v3" not in results or "sklearn-nested" not in results:
        return None
    ours, theirs = results["seed-v3"], results["sklearn-nested"]
    ratio = ours["seconds_median"] / theirs["seconds_median"]
    delta = None if ours["r2"] is None or theirs["r2"] is None else ours["r2"] - theirs["r2"]
    r2_ok = delta is not None and delta >= 0
    floor = results.get("fit-floor")
    return {"ratio": ratio, "max_ratio": MAX_RATIO, "r2_delta": delta,
            "time_met": ratio <= MAX_RATIO, "r2_met": r2_ok, "met": ratio <= MAX_RATIO and r2_ok,
            "floor_ratio": None if floor is None else floor["seconds_median"] / theirs["seconds_median"]}


NOTES = {"notebook": "its own random 20 % hold-out: leaky, not comparable",
         "sklearn-nested": "our features and hold-out; KFold(5) unshuffled, no purge",
         "seed-v3": "top layer; purged blocked folds", "default": "top layer; purged blocked folds",
         "fit-floor": "seed-v3's layer-1 fits alone, one thread each, ÷ physical cores: no stack of it is faster"}


def _verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def _r2(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def print_table(report: dict[str, Any]) -> None:
    """One row per contender, then the comparison and its verdict."""
    head = f"{'contender':<15} {'seconds (median, min–max)':<27} {'hold-out R²':<12} {'rows train/test':<16} note"
    print(head)
    print("-" * len(head))
    for name, s in report["contenders"].items():
        seconds = f"{s['seconds_median']:.2f} ({s['seconds_min']:.2f}–{s['seconds_max']:.2f})"
        rows = f"{s['rows']['train']:,}/{s['rows']['test']:,}"
        print(f"{name:<15} {seconds:<27} {_r2(s['r2']):<12} {rows:<16} {NOTES[name]}")
        if "best" in s:
            print(f"{'':<15} {'':<27} {_r2(s['r2_best']):<12} {'':<16} best by OOF R²: {s['best']}")
        if "parallel" in s:
            tried = "; faster of: " + ", ".join(f"{setting} {t['seconds_median']:.2f} s"
                                                for setting, t in s["settings"].items()) if "settings" in s else ""
            print(f"{'':<15} {'':<27} {'':<12} {'':<16} {s['parallel']}{tried}")
    c = report["comparison"]
    if c is not None:
        delta = "n/a" if c["r2_delta"] is None else f"{c['r2_delta']:+.4f}"
        print(f"\nseed-v3 / sklearn-nested seconds: {c['ratio']:.3f} (target ≤ {MAX_RATIO:.3f}: "
              f"{_verdict(c['time_met'])}); top-layer R² seed-v3 − sklearn-nested: {delta} (target ≥ 0: "
              f"{_verdict(c['r2_met'])}) → {_verdict(c['met'])}")
        if c["floor_ratio"] is not None:
            reach = "within reach" if c["floor_ratio"] <= MAX_RATIO else "out of reach for this composition here"
            print(f"fit-floor / sklearn-nested seconds: {c['floor_ratio']:.3f}: the target is {reach}")


def main(argv: list[str] | None = None) -> int:
    """Run the contenders in fresh processes, alternating their order, and print the table or the JSON object."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each contender (median is reported)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="directory of parquet telemetry")
    parser.add_argument("--only", help=f"comma-separated contenders to run (default all: {','.join(CONTENDERS)})")
    parser.add_argument("--sklearn-parallel", choices=[*sorted(SKLEARN_PARALLEL), BOTH], default=BOTH,
                        help="sklearn-nested's one level of parallelism: stacks (StackingRegressor n_jobs=2, LightGBM "
                             "1 thread), lightgbm (n_jobs=1, LightGBM 2 threads) or both (default: each is run and "
                             "the faster is compared)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--one", choices=sorted(CONTENDERS), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        if args.sklearn_parallel == BOTH and args.one == "sklearn-nested":
            parser.error("--one sklearn-nested runs one setting: stacks or lightgbm")
        run_one(args.one, args.data, args.sklearn_parallel)
        return 0
    names = list(CONTENDERS) if args.only is None else [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in names if n not in CONTENDERS]
    if unknown or not names:
        parser.error(f"--only takes names from {', '.join(CONTENDERS)}; got {args.only!r}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if not args.data.is_dir():
        parser.error(f"--data {args.data} is not a directory of parquet telemetry")

    report: dict[str, Any] = {"data": str(args.data), "repeat": args.repeat, "cpus": os.cpu_count(),
                              "load_average_1min": os.getloadavg()[0], "timing": "parquet files to hold-out R² "
                              "(loading included for every contender, imports excluded)"}
    if not args.json:
        print(f"data: {args.data}   repeat: {args.repeat}   cores: {report['cpus']}   "
              f"load average at start: {report['load_average_1min']:.2f}   timing: {report['timing']}", flush=True)
    listed = slots(names, args.sklearn_parallel)
    runs: dict[tuple[str, str | None], list[dict[str, Any]]] = {slot: [] for slot in listed}
    for repeat in range(args.repeat):
        for slot in order_of(repeat, listed):
            runs[slot].append(in_fresh_process(slot[0], args.data, slot[1]))
            if not args.json:
                print(f"  repeat {repeat + 1}: {' '.join(filter(None, slot))} {runs[slot][-1]['seconds']:.2f} s",
                      file=sys.stderr, flush=True)
    report["contenders"] = {name: fastest({setting: summary(runs[(n, setting)]) for n, setting in listed if n == name})
                            for name in names}
    report["comparison"] = comparison(report["contenders"])
    if args.json:
        print(json.dumps(report, allow_nan=False))
    else:
        print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
