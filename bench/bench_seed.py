"""Benchmark: the seed notebook's pipeline against the product's `seed-v3` preset (honest split), one run.

Usage: python bench/bench_seed.py [--repeat N] [--data DIR]

Both halves run in this one invocation, one after the other, each in a fresh child interpreter, so neither
inherits the other's imported libraries, thread pools or environment (the notebook half runs as the notebook
would, with nothing set; the product half as `python -m twin_core` would). Prints wall seconds (load to R²),
R² of both, their ratio and whether the issue's figures hold.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "cosmos_telemetry_v2"
MAX_PRODUCT_SECONDS = 20.0
MAX_RATIO = 0.1

sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def run_notebook(data_dir: Path) -> dict[str, Any]:
    """The notebook's pipeline (defects included), as bench/notebook_pipeline.py re-implements it."""
    from notebook_pipeline import run_notebook_pipeline

    return run_notebook_pipeline(data_dir)


def run_product(data_dir: Path) -> dict[str, Any]:
    """Train the product's seed-v3 preset on data_dir (load to result) and return its bench figures."""
    from twin_core.pipeline import train_twin
    from twin_core.presets import get_preset
    from twin_core.telemetry import load_telemetry

    start = time.perf_counter()
    result = train_twin(load_telemetry(data_dir), get_preset("seed-v3"))
    seconds = time.perf_counter() - start
    metrics = result.metrics
    last_layer = max(m["layer"] for m in metrics["models"])
    return {"seconds": seconds, "rows": metrics["rows"], "best": metrics["best"],
            "last_layer": [m for m in metrics["models"] if m["layer"] == last_layer],
            "product_seconds": metrics["seconds"], "split": metrics["split"]["description"]}


def in_fresh_process(function: Callable[[Path], dict[str, Any]], data_dir: Path) -> dict[str, Any]:
    """Run one half in a newly spawned interpreter and return its figures."""
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(function, data_dir).result()


def main(argv: list[str] | None = None) -> int:
    """Run both halves, print wall seconds, R², the time ratio and whether the issue's target holds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each half (median is reported)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="directory of parquet telemetry")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    print(f"data: {args.data}   repeat: {args.repeat}   cores: {os.cpu_count()}   "
          f"load average at start: {os.getloadavg()[0]:.2f}")
    print("== notebook pipeline (random 20% hold-out, n_jobs=-1 inside n_jobs=-1) ==")
    notebook_runs = []
    for i in range(args.repeat):
        run = in_fresh_process(run_notebook, args.data)
        notebook_runs.append(run)
        print(f"  run {i + 1}: {run['seconds']:.1f} s   R² {run['r2_holdout']:.4f}   rows {run['rows']:,}")
    notebook_seconds = statistics.median(r["seconds"] for r in notebook_runs)
    print(f"  notebook: {notebook_seconds:.1f} s wall (median)   R² {notebook_runs[0]['r2_holdout']:.4f}")

    print("== product seed-v3 (honest split) ==")
    product_runs = []
    for i in range(args.repeat):
        run = in_fresh_process(run_product, args.data)
        product_runs.append(run)
        best, rows = run["best"], run["rows"]
        print(f"  run {i + 1}: {run['seconds']:.1f} s   rows train {rows['train']:,} / gap {rows['gap']:,} / "
              f"test {rows['test']:,}   ({run['split']})")
        print(f"    best (by OOF R²): layer {best['layer']} {best['name']}   R² hold-out {best['r2_holdout']:.4f}")
        for model in run["last_layer"]:
            print(f"    layer {model['layer']} (last): {model['name']}   R² hold-out {model['r2_holdout']:.4f}")
        print(f"    product's own timings: {run['product_seconds']}")
    product_seconds = statistics.median(r["seconds"] for r in product_runs)
    ratio = product_seconds / notebook_seconds
    print(f"  product: {product_seconds:.1f} s wall (median)")
    print("== comparison ==")
    print(f"  notebook {notebook_seconds:.1f} s   product {product_seconds:.1f} s   "
          f"ratio product/notebook {ratio:.3f}")
    holds = ratio <= MAX_RATIO and product_seconds <= MAX_PRODUCT_SECONDS
    print(f"TARGET {'MET' if holds else 'NOT MET'}: product/notebook {ratio:.3f} (needs <= {MAX_RATIO}), "
          f"product {product_seconds:.1f} s (needs <= {MAX_PRODUCT_SECONDS:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
