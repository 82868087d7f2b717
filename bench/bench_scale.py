"""Benchmark: how each stage scales to long telemetry (default one million rows, 16 cores).

Usage: python bench/bench_scale.py [--rows N] [--cores N] [--preset quick]

Prints wall seconds for: generating demo telemetry, validating it, building the preset's features, splitting,
training the preset, and retraining after a change to the top layer only (layers below reused from the cache).
The roadmap asks for a million rows at interactive speed; these are the figures to improve.
"""
from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from twin_core.config import LayerSpec, ModelSpec  # noqa: E402
from twin_core.demo import make_demo_frames  # noqa: E402
from twin_core.features import build_features  # noqa: E402
from twin_core.layercache import LayerCache  # noqa: E402
from twin_core.pipeline import prepare_run, train_twin  # noqa: E402
from twin_core.presets import PRESETS, get_preset  # noqa: E402
from twin_core.telemetry import telemetry_from_frames  # noqa: E402


def timed(label: str, function):
    """Run `function`, print its wall seconds, return its result."""
    started = time.perf_counter()
    value = function()
    print(f"  {label:<48} {time.perf_counter() - started:8.2f} s", flush=True)
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--cores", type=int, default=16)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--preset", default="quick", choices=sorted(PRESETS))
    args = parser.parse_args()
    config = get_preset(args.preset)
    print(f"{args.rows:,} rows, {args.cores} cores, {args.sessions} sessions, preset {args.preset}")
    frames = timed("generate demo telemetry", lambda: make_demo_frames(
        rows=args.rows, cores=args.cores, sessions=args.sessions, seed=1))
    telemetry = timed("validate and normalise", lambda: telemetry_from_frames(frames))
    timed("build features", lambda: build_features(telemetry, config.used_feature_sets()))
    timed("features + hold-out split + folds", lambda: prepare_run(telemetry, config))
    cache = LayerCache()
    result = timed("train the preset (every layer)", lambda: train_twin(telemetry, config, cache=cache))
    top = LayerSpec(models=(ModelSpec("new-top", "ridgecv", {"alphas": (1.0, 100.0)}),))
    changed = replace(config, stack=replace(config.stack, layers=config.stack.layers[:-1] + (top,)))
    timed("retrain after changing the top layer only", lambda: train_twin(telemetry, changed, cache=cache))
    print(f"  best R² hold-out {result.metrics['best']['r2_holdout']:.4f}; rows {result.metrics['rows']}")


if __name__ == "__main__":
    main()
