"""The memory budget: sizes, where the budget comes from, refusals before allocating, the workload-label cap."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest

from twin_core import budget, pipeline
from twin_core.cli import main
from twin_core.demo import make_demo_frames
from twin_core.errors import ConfigError, MemoryBudgetError
from twin_core.features import (MAX_WORKLOAD_CATEGORIES, OTHER_WORKLOAD, FeatureSpec, build_features,
                                choose_workload_categories, feature_count)
from twin_core.pipeline import prepare_run, train_twin
from twin_core.presets import get_preset
from twin_core.telemetry import WORKLOAD, load_telemetry, load_uploaded, reading, telemetry_from_frames

GB = 10**9


@pytest.mark.parametrize("text, expected", [
    ("1.5GB", 1_500_000_000), ("800MB", 800_000_000), ("800 mb", 800_000_000), ("512MiB", 512 * 2**20),
    ("2G", 2 * GB), ("1073741824", 1_073_741_824), (4096, 4096),
])
def test_sizes_are_read_as_people_write_them(text, expected):
    assert budget.parse_size(text) == expected


@pytest.mark.parametrize("text, error, message", [
    ("2x", ConfigError, r"--memory-budget: cannot read '2x' as a memory size; write it like 1\.5GB"),
    ("-1GB", ConfigError, r"cannot read '-1GB'"),
    ("0MB", ConfigError, r"must be more than 0 bytes, got '0MB'"),
    ("", ConfigError, r"cannot read ''"),
])
def test_unreadable_sizes_are_refused(text, error, message):
    with pytest.raises(error, match=message):
        budget.parse_size(text)


def test_budget_comes_from_the_option_then_the_variable_then_half_the_available_memory(monkeypatch):
    class Memory:
        available = 8 * GB

    monkeypatch.setattr(budget.psutil, "virtual_memory", lambda: Memory())
    monkeypatch.delenv(budget.ENV_VAR, raising=False)
    assert budget.memory_budget() == 4 * GB
    assert budget.describe_budget() == "half of the memory available now"
    monkeypatch.setenv(budget.ENV_VAR, "3GB")
    assert budget.memory_budget() == 3 * GB
    assert budget.describe_budget() == "set by $TWIN_MEMORY_BUDGET"
    assert budget.memory_budget("1GB") == GB
    monkeypatch.setenv(budget.ENV_VAR, "lots")
    with pytest.raises(ConfigError, match=r"\$TWIN_MEMORY_BUDGET: cannot read 'lots'"):
        budget.memory_budget()


@pytest.mark.parametrize("specs", [
    [FeatureSpec(name="a")],
    [FeatureSpec(name="a", overall_windows=(5, 10), core_windows=(3,), identity_windows=(4,), identity_lags=3,
                 window_stats=("mean", "std", "max"))],
    [FeatureSpec(name="a", core_lags=3, identity=False),
     FeatureSpec(name="b", core_lags=6, overall_windows=(10,), windows_include_current=True, workload_onehot=False)],
    [FeatureSpec(name="a", current_values=False, overall_windows=(), overall_lags=0, core_lags=0, identity=False)],
])
def test_feature_count_matches_the_columns_built(demo_telemetry, specs):
    built = build_features(demo_telemetry, specs)
    assert feature_count(specs, demo_telemetry.n_cores, len(built.workload_categories)) == built.X.shape[1]


def test_feature_count_is_arithmetic_even_for_huge_specs():
    spec = FeatureSpec(name="deep", core_lags=1000, core_windows=tuple(range(2, 1002)))
    assert feature_count([spec], 64, 51) == 64 + 1 + 2 + 5 + 63 * (1000 * 2 + 1000) + 51


@pytest.mark.parametrize("call, error, message", [
    (lambda path: budget.check_training(10**6, 1000, train_share=0.8, parallel_fits=2,
                                        first_layer=[("ridgecv", 1000)], budget="1GB"),
     MemoryBudgetError, r"Training would need about \d+(\.\d)? GB \(1,000,000 rows × 1,000 features × 4 bytes.*"
                        r"memory budget is 1 GB \(set by --memory-budget\); use fewer lags or windows, fewer rows "
                        r"or files, a coarser sampling, or a larger --memory-budget"),
    (lambda path: budget.check_training(10**6, 10, train_share=0.8, parallel_fits=1,
                                        first_layer=[("lightgbm", 10)], resident=2 * GB, budget="2GB"),
     MemoryBudgetError, r"plus 2 GB of loaded telemetry\) but the memory budget is 2 GB"),
    (lambda path: budget.check_loading([(path.name, path), (path.name, path)], budget="100kB"),
     MemoryBudgetError, r"Loading cpu_bound_00\.parquet, cpu_bound_00\.parquet \(4,000 rows\) would need about [\d.]+ [kM]B of "
                        r"memory but the memory budget is 100 kB \(set by --memory-budget\); load fewer rows"),
])
def test_refusal_messages_say_estimate_budget_and_what_to_change(demo_file, call, error, message):
    with pytest.raises(error, match=message):
        call(demo_file)


@pytest.fixture()
def wide_config():
    """Passes every static check (lags ≤ 1,000) yet builds about 1,400 columns: too much for a 5 MB budget."""
    deep = FeatureSpec(name="deep", core_lags=200, overall_lags=5)
    quick = get_preset("quick")
    layers = (replace(quick.stack.layers[0], models=tuple(replace(m, feature_set="deep")
                                                          for m in quick.stack.layers[0].models)),
              *quick.stack.layers[1:])
    return replace(quick, feature_sets=(deep,), stack=replace(quick.stack, layers=layers))


def test_a_run_over_budget_is_refused_before_any_feature_is_built(demo_telemetry, wide_config, monkeypatch):
    def no_building(*args, **kwargs):
        raise AssertionError("features were built before the budget check")

    monkeypatch.setattr(pipeline, "build_features", no_building)
    rss_before = psutil.Process().memory_info().rss
    with pytest.raises(MemoryBudgetError, match=r"Training would need about .* memory budget is 5 MB"):
        prepare_run(demo_telemetry, wide_config, memory_budget="5MB")
    assert psutil.Process().memory_info().rss - rss_before < 50 * 10**6


def test_the_environment_variable_sets_the_training_budget(demo_telemetry, wide_config, monkeypatch):
    monkeypatch.setenv(budget.ENV_VAR, "5MB")
    with pytest.raises(MemoryBudgetError, match=r"5 MB \(set by \$TWIN_MEMORY_BUDGET\)"):
        train_twin(demo_telemetry, wide_config)


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory) -> Path:
    name, frame = make_demo_frames(rows=2000, cores=4, sessions=1, seed=3)[0]
    path = tmp_path_factory.mktemp("budget") / name
    frame.to_parquet(path)
    return path


def _no_reading(*args, **kwargs):
    raise AssertionError("the file was read before the budget check")


def test_a_parquet_file_over_budget_is_refused_from_its_footer_alone(demo_file, monkeypatch):
    monkeypatch.setattr(reading.pd, "read_parquet", _no_reading)
    with pytest.raises(MemoryBudgetError, match=rf"Loading {demo_file.name} \(2,000 rows\) would need about "
                                                r"\d+ kB of memory but the memory budget is 10 kB"):
        load_telemetry(demo_file, memory_budget="10kB")
    with pytest.raises(MemoryBudgetError, match=r"load fewer rows or files, a coarser sampling"):
        load_uploaded([(demo_file.name, demo_file.read_bytes())], memory_budget="10kB")


def test_the_footer_estimate_covers_the_frame_it_loads(demo_file):
    rows, estimate = budget.parquet_load_bytes(demo_file)
    frame = pd.read_parquet(demo_file)
    assert rows == len(frame)
    assert frame.memory_usage(deep=True).sum() < estimate < 10 * frame.memory_usage(deep=True).sum()
    assert budget.parquet_load_bytes(demo_file.read_bytes()) == (rows, estimate)


@pytest.mark.parametrize("command", ["validate", "train"])
def test_cli_memory_budget_refuses_with_one_line(demo_file, command, capsys):
    assert main([command, str(demo_file), "--memory-budget", "10kB"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Loading") and "memory budget is 10 kB (set by --memory-budget)" in err
    assert "Traceback" not in err


def test_cli_refuses_an_unreadable_budget(demo_file, capsys):
    with pytest.raises(SystemExit) as exited:  # a usage mistake, as argparse reports them: one line, exit 1
        main(["validate", str(demo_file), "--memory-budget", "lots"])
    assert exited.value.code == 1
    assert "--memory-budget: cannot read 'lots' as a memory size" in capsys.readouterr().err


# -- workload labels ---------------------------------------------------------------------------------------

def _labelled(labels: np.ndarray, seed: int = 0):
    name, frame = make_demo_frames(rows=len(labels), cores=4, sessions=1, seed=seed)[0]
    return telemetry_from_frames([(name, frame.assign(**{WORKLOAD: labels}))])


def test_categories_keep_the_most_frequent_labels_and_fold_the_rest_into_other():
    labels = pd.Series(["a"] * 5 + ["b"] * 4 + ["c"] * 3 + ["d"] * 1 + ["e"] * 1)
    assert choose_workload_categories(labels, cap=5) == ("a", "b", "c", "d", "e")
    assert choose_workload_categories(labels, cap=3) == ("a", "b", "c", OTHER_WORKLOAD)
    assert choose_workload_categories(labels, cap=4) == ("a", "b", "c", "d", OTHER_WORKLOAD)  # ties by name


def test_ten_thousand_labels_train_quickly_with_capped_columns_and_a_note():
    rng = np.random.default_rng(0)
    labels = np.where(rng.random(20_000) < 0.5, "common", rng.integers(0, 10_000, 20_000).astype(str))
    data = _labelled(labels)
    rss_before = psutil.Process().memory_info().rss
    with pytest.warns(UserWarning, match="encoded together as 'other'"):
        result = train_twin(data, get_preset("quick"))
    assert psutil.Process().memory_info().rss - rss_before < 10**9
    onehot = [c for c in result.features.columns if c.startswith("workload_")]
    assert len(onehot) == MAX_WORKLOAD_CATEGORIES + 1 and "workload_other" in onehot
    assert any("are encoded together as 'other'" in note for note in result.notes)


def test_prediction_maps_unseen_and_rare_labels_to_other_as_training_did():
    counts = [60] * 50 + [10] * 10  # w00…w49 clearly the most frequent, w50…w59 rare
    labels = np.random.default_rng(0).permutation(np.repeat([f"w{i:02d}" for i in range(60)], counts))
    with pytest.warns(UserWarning, match="encoded together as 'other'"):
        trained = train_twin(_labelled(labels), get_preset("quick")).model
    assert trained.workload_categories[-1] == OTHER_WORKLOAD
    rare = sorted(set(labels) - set(trained.workload_categories))[0]
    fresh = _labelled(np.array(["never-seen"] * 1000 + [rare] * 1000 + ["w00"] * 1000), seed=1)
    with pytest.warns(UserWarning, match="not seen in training or are rarer"):
        matrix = build_features(fresh, trained.config.used_feature_sets(),
                                workload_categories=trained.workload_categories)
    row_labels = fresh.frame.loc[matrix.X.index, WORKLOAD]
    other, common = matrix.X["workload_other"].to_numpy(), (row_labels == "w00").to_numpy()
    assert rare.startswith("w5") and (other[~common] == 1).all() and (other[common] == 0).all()
    assert (matrix.X.loc[common, "workload_w00"] == 1).all() and (matrix.X.loc[~common, "workload_w00"] == 0).all()


def test_bytes_upload_estimate_needs_no_file(demo_file):
    data = demo_file.read_bytes()
    assert budget.check_loading([("x.parquet", data)], budget="1GB") == budget.parquet_load_bytes(data)[1]
    text = b"not parquet: a collector's text export"
    assert budget.check_loading([("x.csv", text)], budget="1GB") == int(len(text) * budget.TEXT_LOAD_COPIES)


def test_a_text_export_too_big_for_the_budget_is_refused_before_reading(tmp_path):
    big = tmp_path / "sar.txt"
    big.write_bytes(b"x" * 200_000)
    with pytest.raises(MemoryBudgetError, match=r"Loading sar\.txt would need about .* memory budget is"):
        budget.check_loading([("sar.txt", big)], budget="1MB")


def test_fits_run_one_at_a_time_when_only_that_fits_the_budget(demo_telemetry):
    config = get_preset("quick")
    config = replace(config, stack=replace(config.stack, n_jobs=2))
    features = feature_count(config.used_feature_sets(), 8, 4)
    args = dict(rows=len(demo_telemetry.frame), features=features, train_share=0.8,
                first_layer=[("lightgbm", features), ("ridgecv", features)],
                resident=int(demo_telemetry.frame.memory_usage(deep=True).sum()))
    one, two = budget.training_bytes(parallel_fits=1, **args), budget.training_bytes(parallel_fits=2, **args)
    run = prepare_run(demo_telemetry, config, memory_budget=(one + two) // 2)
    assert run.config.stack.n_jobs == 1 and run.stack.n_jobs == 1
    assert any("one at a time instead of 2 side by side" in note for note in run.notes)
    with pytest.raises(MemoryBudgetError, match=r"copied for .* and 1 fit\(s\) at once"):
        prepare_run(demo_telemetry, config, memory_budget=one - 1)
    assert prepare_run(demo_telemetry, config, memory_budget=two).config.stack.n_jobs == 2


def test_a_passthrough_layer_counts_its_design_of_predictions_beside_the_features():
    args = dict(rows=10**6, features=50, train_share=0.8, parallel_fits=1, first_layer=[("lightgbm", 50)])
    without = budget.training_bytes(**args)
    with_passthrough = budget.training_bytes(**args, passthrough_layers=[("ridgecv", 53)])
    design = 0.8 * 10**6 * (2 * 53 + 50) * budget.FLOAT32  # float64 design of 53 columns + the float32 rows
    assert with_passthrough > without
    assert with_passthrough >= budget.MARGIN * (10**6 * 50 * budget.FLOAT32 + design)
