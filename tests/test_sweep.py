"""Sweeps: the grid as data (parsed, expanded, refused with the field named), the CLI's 12-run sweep of `quick` with
one progress bar and every run kept, and a winner chosen by out-of-fold R² only."""
from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest

from twin_core.cli import main
from twin_core.demo import write_demo_parquet
from twin_core.engine import open_engine
from twin_core.errors import ConfigError, MemoryBudgetError
from twin_core.plots_sweep import response_chart
from twin_core.presets import get_preset
from twin_core.store import RunStore
from twin_core.sweep import (
    MAX_RUNS, SweepGrid, check_memory, expand, ranked, read_grid, train_sweep, train_sweep_here, winner,
)
from twin_core.telemetry import load_telemetry

GRID = Path(__file__).resolve().parents[1] / "examples" / "sweep_quick.json"
DEMO = {"rows": 1200, "cores": 4, "sessions": 3, "seed": 4}


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("sweep_demo")
    write_demo_parquet(folder, **DEMO)
    return folder


@pytest.fixture(scope="module")
def cli_sweep(demo_dir, tmp_path_factory) -> dict:
    """The sample grid (12 runs of quick) swept by the CLI on 2 local worker processes, kept in a store."""
    where = tmp_path_factory.mktemp("sweep_cli")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["sweep", str(demo_dir), "--grid", str(GRID), "--out", str(where / "out"), "--store",
                     str(where / "runs.sqlite"), "--workers", "2"])
    return {"code": code, "stdout": out.getvalue(), "stderr": err.getvalue(), "out": where / "out",
            "store": RunStore(where / "runs.sqlite"),
            "document": json.loads((where / "out" / "sweep.json").read_text())}


def test_the_sample_grid_is_twelve_named_runs_of_quick():
    runs = expand(read_grid(GRID))
    assert len(runs) == 12 and len({run.name for run in runs}) == 12
    assert all(run.name.startswith("quick · ") for run in runs)
    dropped = [run for run in runs if dict(run.settings)["layer 2"] == "none"]
    assert len(dropped) == 6 and all(len(run.config.stack.layers) == 1 for run in dropped)
    sized = next(run for run in runs if dict(run.settings)["lgbm.n_estimators"] == "120")
    assert sized.config.stack.layers[0].models[0].params["n_estimators"] == 120
    assert {run.config.feature_sets[0].core_lags for run in runs} == {1, 3}


def test_a_grid_on_a_whole_configuration_gives_the_same_runs_as_on_its_preset():
    data = json.loads(GRID.read_text())
    inline = {**{k: v for k, v in data.items() if k != "preset"}, "config": get_preset("quick").to_dict()}
    on_preset = [run.config for run in expand(read_grid(GRID))]
    assert [run.config for run in expand(SweepGrid.from_dict(inline))] == on_preset
    assert SweepGrid.from_json(json.dumps(read_grid(GRID).to_dict())) == read_grid(GRID)


def _grid(**changes) -> dict:
    data = json.loads(GRID.read_text())
    return {**data, **changes}


@pytest.mark.parametrize("grid, message", [
    (_grid(bogus=1), r"^bogus: is an unknown field"),
    ({k: v for k, v in _grid().items() if k != "preset"}, r"^preset: give exactly one base"),
    (_grid(preset="nope"), r"^preset: Unknown preset 'nope'"),
    ({**_grid(preset=None), "config": {"name": "x"}}, r"^config\.feature_sets: is required but missing"),
    (_grid(features=[], params=[], layers=[]), r"^features: a sweep needs at least one axis"),
    (_grid(features=[{"feature_set": "other", "field": "core_lags", "values": [1]}]),
     r"^features\[0\]\.feature_set: unknown feature set 'other'"),
    (_grid(features=[{"feature_set": "quick", "field": "lags", "values": [1]}]),
     r"^features\[0\]\.field: 'lags' is not a field of a feature set"),
    (_grid(features=[{"feature_set": "quick", "field": "core_lags", "values": [1, -1]}]),
     r"^features\[0\]\.values\[1\]: makes an invalid configuration: feature_sets\[0\]\.core_lags: a lag depth is "
     r"a whole number of rows from 0"),
    (_grid(features=[{"feature_set": "quick", "field": "core_lags", "values": []}]),
     r"^features\[0\]\.values: must hold at least 1 entry"),
    (_grid(params=[{"layer": 1, "model": "xgb", "param": "n_estimators", "values": [10]}]),
     r"^params\[0\]\.model: layer 1 of the base has no model 'xgb'"),
    (_grid(params=[{"layer": 2, "model": "top-ridge", "param": "alpha", "values": [1.0]}]),
     r"^params\[0\]\.layer: layer 2's models are also varied by a `layers` axis"),
    (_grid(features=[{"feature_set": "quick", "field": "core_lags", "values": [1]}] * 2),
     r"^features\[1\]: this setting is already varied by an earlier axis"),
    (_grid(layers=[{"layer": 3, "choices": {"none": None}}]), r"^layers\[0\]\.layer: the base has 2 layer\(s\)"),
    (_grid(params=[], layers=[{"layer": 2, "choices": {"": None}}]),
     r"^layers\[0\]\.choices\[''\]: must be non-empty text of at most 200 characters, got '' \(text\)$"),
    (_grid(params=[], layers=[{"layer": 2, "choices": {"x" * 300: None}}]),
     r"^layers\[0\]\.choices\['x{40}'\]: must be non-empty text of at most 200 characters"),
    (_grid(params=[], layers=[{"layer": 1, "choices": {"none": None}}]),
     r"^layers\[0\]\.choices\[\"none\"\]: layer 1 is the one that reads the features, so it cannot be dropped"),
    (_grid(params=[{"layer": 1, "model": "lgbm", "param": "n_estimators", "values": [30, 60, 30]}]),
     r"^params\[0\]\.values\[2\]: repeats values\[0\] \(30\); give each value once"),
    (_grid(features=[{"feature_set": "quick", "field": "overall_windows", "values": [[5, 10], [5, 10]]}]),
     r"^features\[0\]\.values\[1\]: repeats values\[0\]"),
    (_grid(params=[{"layer": 1, "model": "lgbm", "param": "n_estimators", "values": list(range(10, 110))}]),
     rf"the grid makes 400 runs \(2 × 100 × 2\); a sweep runs at most {MAX_RUNS}"),
])
def test_a_bad_grid_is_one_config_error_naming_the_field(grid, message):
    with pytest.raises(ConfigError, match=message):
        expand(SweepGrid.from_dict(grid))


def test_the_sweep_command_refuses_a_bad_grid_naming_the_file_before_reading_data(tmp_path, capsys):
    bad = tmp_path / "grid.json"
    bad.write_text("{not json")
    assert main(["sweep", str(tmp_path / "missing-data"), "--grid", str(bad)]) == 1
    assert re.match(rf"^error: {re.escape(str(bad))}: the sweep grid is not valid JSON", capsys.readouterr().err)


def test_a_sweep_that_would_pass_the_memory_budget_is_refused_before_it_starts(demo_dir):
    runs = expand(read_grid(GRID))
    telemetry = load_telemetry([demo_dir])
    one = check_memory(runs, telemetry, at_once=1)
    assert check_memory(runs, telemetry, at_once=2) > one
    with pytest.raises(MemoryBudgetError, match=r"2 run\(s\) side by side.*run fewer side by side \(--workers\)"):
        check_memory(runs, telemetry, at_once=2, budget=one + 1)


def test_the_winner_is_chosen_by_out_of_fold_r2_even_when_the_holdout_ranks_otherwise():
    rows = [{"index": 0, "run": "a", "r2_oof": 0.80, "r2_holdout": 0.99},
            {"index": 1, "run": "b", "r2_oof": 0.90, "r2_holdout": 0.50},
            {"index": 2, "run": "c", "r2_oof": None, "r2_holdout": 0.999}]
    assert winner(rows)["run"] == "b"
    assert [r["run"] for r in ranked(rows)] == ["b", "a", "c"]
    assert winner([rows[2]]) is None


def test_a_twelve_run_sweep_shows_one_progress_bar_counting_to_twelve(cli_sweep):
    assert cli_sweep["code"] == 0
    bars = [line for line in cli_sweep["stderr"].split("\n") if "/12 " in line]
    assert len(bars) == 1  # redrawn in place (\r), ended once
    counts = [int(n) for n in re.findall(r"\] (\d+)/12 ", bars[0])]
    assert counts == list(range(13))


def test_every_run_of_the_sweep_is_kept_in_the_store_under_the_sweep(cli_sweep):
    document, store = cli_sweep["document"], cli_sweep["store"]
    assert store.sweeps()[["sweep", "runs"]].values.tolist() == [[document["sweep"], 12]]
    kept = store.list(sweep=document["sweep"])
    assert sorted(kept["label"]) == sorted(run["run"] for run in document["runs"])
    assert sorted(kept["id"]) == sorted(run["run_id"] for run in document["runs"])


def test_the_sweep_winner_is_the_best_out_of_fold_run_not_the_best_holdout_run(cli_sweep):
    runs = cli_sweep["document"]["runs"]
    oof = [run["r2_oof"] for run in runs]
    assert oof == sorted(oof, reverse=True) and cli_sweep["document"]["winner"] == runs[0]["run"]
    best_holdout = max(runs, key=lambda run: run["r2_holdout"])
    assert best_holdout["run"] != runs[0]["run"]  # on this data the hold-out would have picked another run
    assert f"* winner: {runs[0]['run']}" in cli_sweep["stdout"]
    winner_folder = cli_sweep["out"] / f"run-{runs[0]['index'] + 1:02d}"
    assert (winner_folder / "report.html").exists() and (winner_folder / "metrics.json").exists()
    assert len(list(cli_sweep["out"].glob("run-*/metrics.json"))) == 12
    assert len(list(cli_sweep["out"].glob("run-*/report.html"))) == 1


def test_the_response_chart_has_a_panel_per_setting_and_no_point_where_a_layer_is_dropped(cli_sweep):
    document = cli_sweep["document"]
    fig = response_chart(document["runs"], document["reference"])
    assert [a.text for a in fig.layout.annotations] == ["quick.core_lags", "lgbm.n_estimators", "layer 2"]
    layer_2_oof = [t for t in fig.data if t.name == "layer 2 · out-of-fold (picks the winner)" and t.xaxis == "x3"][0]
    assert list(layer_2_oof.x) == ["ridge", "none"] and layer_2_oof.y[1] is None
    assert layer_2_oof.y[0] == pytest.approx(sum(  # layer 2's best is each such run's best: the mean of their 6
        r["r2_oof"] for r in document["runs"] if r["settings"]["layer 2"] == "ridge") / 6)
    points = [y for t in fig.data for y in t.y if y is not None]
    low, high = fig.layout.yaxis.range
    assert fig.layout.yaxis.tick0 == low <= min(points) and max(points) <= high  # a tick at or below every point
    legend = fig.layout.legend  # below the panels' tick labels, growing downward: it never covers them
    assert legend.yanchor == "top" and legend.y * (fig.layout.height - 80 - 110) <= -30


def test_a_run_that_cannot_train_is_one_message_and_the_others_go_on(demo_dir):
    grid = SweepGrid.from_dict({"name": "too deep", "preset": "quick",
                                "features": [{"feature_set": "quick", "field": "core_lags", "values": [1, 999]}]})
    outcomes = {dict(o.run.settings)["quick.core_lags"]: o
                for o in train_sweep_here(expand(grid), load_telemetry([demo_dir]))}
    assert outcomes["1"].result is not None and outcomes["1"].error is None
    assert outcomes["999"].result is None
    assert re.match(r"^Feature set 'quick' looks back 999 rows .*load longer recordings\.$", outcomes["999"].error)


def test_a_small_sweep_on_a_dask_local_cluster_scores_as_in_this_process(demo_dir):
    runs = expand(SweepGrid.from_dict({"name": "on dask", "preset": "quick", "params": [
        {"layer": 1, "model": "lgbm", "param": "n_estimators", "values": [20, 40]}]}))
    with open_engine("dask", workers=1) as engine:
        on_dask = {o.run.name: o.result.metrics for o in train_sweep(runs, [demo_dir], engine)}
    here = {o.run.name: o.result.metrics for o in train_sweep_here(runs, load_telemetry([demo_dir]))}
    assert sorted(on_dask) == sorted(here) == sorted(run.name for run in runs)
    assert {name: [m["r2_oof"] for m in metrics["models"]] for name, metrics in on_dask.items()} == {
        name: [m["r2_oof"] for m in metrics["models"]] for name, metrics in here.items()}


def test_a_grid_file_larger_than_the_cap_is_refused_after_reading_no_more_than_the_cap(tmp_path: Path, monkeypatch):
    huge = tmp_path / "huge.json"
    huge.write_bytes(b" " * 3_000_000)
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail("the whole grid file was read"))
    with pytest.raises(ConfigError, match="larger than 1,000,000 bytes"):
        read_grid(huge)
