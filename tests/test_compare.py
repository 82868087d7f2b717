"""Config flattening and diffs, the runs table and per-model deltas, on real quick-preset runs."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from twin_core.compare import ABSENT, BEST, config_diff, flatten_config, metric_deltas_from_metrics, runs_table
from twin_core.config import ModelSpec
from twin_core.demo import make_demo_telemetry
from twin_core.pipeline import train_twin
from twin_core.presets import get_preset


@pytest.fixture(scope="module")
def runs():
    """Two quick runs on the same small demo: the preset, and one with a third base model."""
    telemetry = make_demo_telemetry(rows=1800, cores=4, sessions=3, seed=3)
    base = get_preset("quick")
    layers = base.stack.layers
    extra = replace(layers[0], models=layers[0].models + (ModelSpec("ridge-2", "ridgecv", {}, "quick"),))
    other = replace(base, name="quick-wide", stack=replace(base.stack, layers=(extra, layers[1])))
    return train_twin(telemetry, base), train_twin(telemetry, other)


def test_flatten_uses_dotted_paths():
    flat = flatten_config(get_preset("quick"))
    assert flat["stack.layers[0].models[0].params.n_estimators"] == 60
    assert flat["stack.layers[1].models[0].kind"] == "ridgecv"
    assert flat["feature_sets[0].overall_windows"] == (5,)
    assert flat["split.kind"] == "session_tail"
    assert flat["stack.cv.n_splits"] == 3


def test_identical_configs_have_no_diff():
    diff = config_diff(get_preset("quick"), get_preset("quick"))
    assert diff.empty and list(diff.columns) == ["path", "a", "b"]


def test_diff_finds_exactly_the_changed_fields():
    a = get_preset("quick")
    lgbm = replace(a.stack.layers[0].models[0], params={"n_estimators": 120, "learning_rate": 0.1})
    layer1 = replace(a.stack.layers[0], models=(lgbm, a.stack.layers[0].models[1]))
    b = replace(a, split=replace(a.split, kind="whole_sessions"),
                feature_sets=(replace(a.feature_sets[0], overall_windows=(5, 10)),),
                stack=replace(a.stack, layers=(layer1, replace(a.stack.layers[1], passthrough=True))))
    diff = config_diff(a, b).set_index("path")
    assert sorted(diff.index) == sorted(["split.kind", "feature_sets[0].overall_windows",
                                         "stack.layers[0].models[0].params.n_estimators",
                                         "stack.layers[1].passthrough"])
    assert diff.loc["stack.layers[0].models[0].params.n_estimators"].tolist() == ["60", "120"]
    assert diff.loc["feature_sets[0].overall_windows"].tolist() == ["[5]", "[5, 10]"]


def test_diff_marks_settings_only_one_side_has(runs):
    quick, wide = runs
    diff = config_diff(quick.config, wide.config).set_index("path")
    added = diff.loc[diff.index.str.startswith("stack.layers[0].models[2].")]
    assert sorted(added.index.str.rsplit(".", n=1).str[-1]) == ["feature_set", "kind", "name"]  # empty params: no leaf
    assert (added["a"] == ABSENT).all() and (added["b"] != ABSENT).all()
    assert diff.loc["name"].tolist() == ["quick", "quick-wide"]
    assert set(diff.index) == {"name"} | set(added.index)


def test_runs_table_one_row_per_run_with_the_runs_numbers(runs):
    quick, wide = runs
    table = runs_table([("A", quick), ("B", wide)])
    assert table["label"].tolist() == ["A", "B"]
    row = table.iloc[0]
    assert row["name"] == "quick" and row["split"] == quick.split.description
    assert (row["rows_train"], row["rows_gap"], row["rows_test"]) == tuple(quick.split.counts().values())
    assert row["best_model"] == quick.evaluation.best["key"]
    assert row["best_r2_holdout"] == pytest.approx(quick.evaluation.best["r2_holdout"])
    baselines = quick.evaluation.baselines.set_index("name")["r2_holdout"]
    assert row["identity_r2"] == pytest.approx(baselines["identity"])
    assert row["persistence_r2"] == pytest.approx(baselines["persistence"])
    assert row["train_seconds"] == pytest.approx(quick.seconds["train"])
    assert not table["leaky"].any()
    assert "purge gap" in row["cv"]


def test_metric_deltas_cover_shared_models_and_baselines(runs):
    quick, wide = runs
    deltas = metric_deltas_from_metrics(quick.metrics, wide.metrics)
    models = deltas[deltas["what"] == "model"]
    assert models["key"].tolist() == quick.evaluation.models["key"].tolist()  # ridge-2 only in B: left out
    assert deltas.loc[deltas["what"] == "baseline", "key"].tolist() == ["identity", "persistence", "mean"]
    top = models.set_index("key").loc["L2:top-ridge"]
    a = quick.evaluation.models.set_index("key").loc["L2:top-ridge"]
    b = wide.evaluation.models.set_index("key").loc["L2:top-ridge"]
    assert top["r2_holdout_a"] == pytest.approx(a["r2_holdout"]) and top["r2_oof_b"] == pytest.approx(b["r2_oof"])
    assert top["delta_r2_holdout"] == pytest.approx(b["r2_holdout"] - a["r2_holdout"], abs=2e-6)  # metrics round
    assert top["delta_r2_oof"] == pytest.approx(b["r2_oof"] - a["r2_oof"], abs=2e-6)
    assert deltas.loc[deltas["what"] == "baseline", "r2_oof_a"].isna().all()
    best = deltas.set_index("what").loc["best"]
    assert best["key"] == BEST and best["r2_holdout_a"] == pytest.approx(quick.evaluation.best["r2_holdout"])
    assert best["r2_oof_b"] == pytest.approx(wide.evaluation.best["r2_oof"])
    pd.testing.assert_series_equal(models.set_index("key").loc[["L1:lgbm", "L1:ridge"], "delta_r2_holdout"],
                                   pd.Series([0.0, 0.0], index=pd.Index(["L1:lgbm", "L1:ridge"], name="key"),
                                             name="delta_r2_holdout"), atol=1e-12)


def test_metric_deltas_from_metrics_read_null_scores_as_nan():
    def metrics(r2_top: float | None) -> dict:
        return {"models": [{"layer": 1, "name": "m", "r2_holdout": 0.5, "r2_oof": 0.4},
                           {"layer": 2, "name": "top", "r2_holdout": r2_top, "r2_oof": None}],
                "baselines": {"identity": {"r2_holdout": 0.3}, "mean": {"r2_holdout": None}},
                "best": {"layer": 1, "name": "m", "r2_holdout": 0.5, "r2_oof": 0.4}}

    deltas = metric_deltas_from_metrics(metrics(0.6), metrics(None)).set_index("key")
    assert deltas.index.tolist() == [BEST, "L1:m", "L2:top", "identity", "mean"]
    assert deltas["what"].tolist() == ["best", "model", "model", "baseline", "baseline"]
    assert deltas.loc["L1:m", "delta_r2_holdout"] == 0.0
    assert np.isnan(deltas.loc["L2:top", "delta_r2_holdout"]) and np.isnan(deltas.loc["L2:top", "r2_oof_a"])
    assert np.isnan(deltas.loc["mean", "r2_holdout_b"]) and deltas.dtypes["r2_holdout_b"] == float
