"""The benches run at small sizes and print JSON with every field and sane values (speed itself is never asserted)."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

from twin_core.demo import write_demo_parquet

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _bench_json(script: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, str(BENCH / script), *args, "--json"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def test_scale_bench_reports_stages_memory_and_scores_of_a_cli_run():
    report = _bench_json("bench_scale.py", "--rows", "20000", "--cores", "4", "--sessions", "4", "--preset", "quick")
    assert report["machine"]["cpus"] >= 1
    [run] = report["runs"]
    assert run["case"] == {"rows": 20000, "cores": 4, "sessions": 4, "preset": "quick"}
    assert run["wall_seconds"] > 0 and run["peak_rss_bytes"] > 0
    assert run["peak_rss_bytes"] == max(run["peak_rss_polled_bytes"], run["peak_rss_kernel_bytes"])
    assert {"features", "train", "evaluate", "total"} <= set(run["seconds"])
    assert all(value >= 0 for value in run["seconds"].values()) and run["seconds"]["train"] > 0
    assert run["wall_seconds"] > run["seconds"]["total"]  # the CLI run includes start-up and loading
    assert math.isclose(run["rows_per_second"], 20000 / run["wall_seconds"])
    split = run["split_rows"]
    assert split["train"] > split["test"] > 0 and split["train"] + split["gap"] + split["test"] <= 20000
    assert _finite(run["r2_best"]) and _finite(run["r2_identity"]) and run["best_model"].startswith("layer ")
    top = run["top_layer"]
    assert top["full_seconds"] > 0 and top["top_seconds"] > 0
    assert math.isclose(top["ratio"], top["top_seconds"] / top["full_seconds"])
    assert run["targets"] is None  # the targets are for 1M rows, 8 cores, 10 sessions, default


def test_anchors_bench_runs_the_chosen_contenders_on_one_split_and_bounds_them_below(tmp_path: Path):
    write_demo_parquet(tmp_path, rows=1200, cores=4, sessions=3, seed=3)
    report = _bench_json("bench_anchors.py", "--repeat", "1", "--only", "seed-v3,sklearn-nested,fit-floor",
                         "--sklearn-parallel", "stacks", "--data", str(tmp_path))
    assert report["repeat"] == 1 and report["cpus"] >= 1 and _finite(report["load_average_1min"])
    contenders = report["contenders"]
    assert list(contenders) == ["seed-v3", "sklearn-nested", "fit-floor"]
    floor = contenders.pop("fit-floor")
    for figures in contenders.values():
        assert len(figures["runs"]) == 1
        assert 0 < figures["seconds_min"] <= figures["seconds_median"] <= figures["seconds_max"]
        assert _finite(figures["r2"]) and figures["rows"]["train"] > figures["rows"]["test"] > 0
    ours, theirs = contenders["seed-v3"], contenders["sklearn-nested"]
    assert ours["rows"] == theirs["rows"]  # scikit-learn's stack is scored on our hold-out rows
    assert _finite(ours["r2_best"]) and ours["top"].startswith("layer 3 ")
    assert theirs["parallel"].startswith("stacks: StackingRegressor n_jobs=2")
    comparison = report["comparison"]
    assert math.isclose(comparison["ratio"], ours["seconds_median"] / theirs["seconds_median"])
    assert math.isclose(comparison["r2_delta"], ours["r2"] - theirs["r2"])
    assert comparison["met"] == (comparison["time_met"] and comparison["r2_met"])
    # the floor: seed-v3's 3 layer-1 models × (its folds + the refit), CPU seconds shared over the physical cores
    measured = floor["runs"][0]
    assert measured["folds"] >= 2 and measured["fits"] == 3 * (measured["folds"] + 1)
    assert math.isclose(floor["seconds_median"], measured["fit_seconds"] / measured["cores"])
    assert 0 < floor["seconds_median"] < ours["seconds_median"]  # a bound below the stack that makes those fits
    assert math.isclose(comparison["floor_ratio"], floor["seconds_median"] / theirs["seconds_median"])
