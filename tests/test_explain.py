"""Explanations: contributions plus the expected value are each model's prediction, for LightGBM and linear models of
any layer, refit or fold-averaged, fresh or read back from the artifact format; kinds without one say so."""
from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from twin_core import explain
from twin_core.artifacts import decode_model, encode_model
from twin_core.config import LayerSpec, ModelSpec, RunConfig, StackConfig
from twin_core.demo import make_demo_telemetry
from twin_core.errors import ConfigError, MemoryBudgetError, SchemaMismatchError
from twin_core.explain import LINEAR_METHOD, NO_EXPLANATION, TREE_METHOD, holdout_explainer
from twin_core.features import FeatureSpec
from twin_core.models import ScaledRidgeCV
from twin_core.pipeline import train_twin
from twin_core.plots_explain import contribution_figure, importance_figure
from twin_core.splits import CVSpec
from twin_core.stack import FittedMember

NOW = FeatureSpec(name="now", current_values=True, overall_windows=(), overall_lags=0, core_lags=0, identity=True,
                  workload_onehot=True)
HISTORY = FeatureSpec(name="history", current_values=False, overall_windows=(5,), overall_lags=2, core_lags=1,
                      identity=False, workload_onehot=False)
SMALL_LGBM = {"n_estimators": 25, "num_leaves": 7}


def _config(refit: str) -> RunConfig:
    """Every kind an explanation must handle: LightGBM on a feature subset and as a meta model, ridge and elastic net
    as meta models (with passthrough), and a HistGradientBoosting, which has no explanation."""
    return RunConfig(name=f"explain-{refit}", feature_sets=(NOW, HISTORY), stack=StackConfig(layers=(
        LayerSpec(models=(ModelSpec("lgbm-now", "lightgbm", SMALL_LGBM, "now"),
                          ModelSpec("lgbm-history", "lightgbm", SMALL_LGBM, "history"),
                          ModelSpec("ridge-history", "ridgecv", {}, "history"),
                          ModelSpec("hgb-now", "histgb", {"max_iter": 10}, "now"))),
        LayerSpec(models=(ModelSpec("meta-ridge", "ridgecv", {}), ModelSpec("meta-enet", "elasticnetcv", {}),
                          ModelSpec("meta-lgbm", "lightgbm", SMALL_LGBM)), passthrough=True),
    ), cv=CVSpec(kind="blocked", n_splits=3), refit=refit))


@pytest.fixture(scope="module")
def telemetry():
    return make_demo_telemetry(rows=900, sessions=3, seed=1)


@pytest.fixture(scope="module", params=["full", "average"])
def trained(request, telemetry):
    """One run per refit strategy, trained once for every test of the module."""
    return train_twin(telemetry, _config(request.param))


@pytest.fixture(scope="module", params=["fresh", "reloaded"])
def explainer(request, trained, telemetry):
    """The run's hold-out explained with the twin as trained, or as read back from its stored files."""
    model = trained.model
    if request.param == "reloaded":
        files = encode_model(model)
        model = decode_model(files.__getitem__, "a test run")
    return holdout_explainer(model, telemetry, trained.evaluation.predictions["row"].to_numpy())


def test_contributions_plus_expected_value_equal_each_lightgbm_and_linear_models_prediction(trained, explainer):
    models = explainer.models().set_index("key")
    holdout = trained.evaluation.predictions.set_index("row")
    checked = set()
    for key in models.index[models["method"] != ""]:
        explained = explainer.contributions(key)
        np.testing.assert_allclose(explained.prediction, holdout.loc[explained.rows, key].to_numpy(), rtol=0,
                                   atol=1e-6, err_msg=key)
        assert np.ptp(explained.values) > 0, key  # not a constant split of the prediction
        checked.add((key, models.loc[key, "estimator"], models.loc[key, "method"]))
    fresh = isinstance(explainer.model.stack.layers_[0][0].estimators[0], lgb.LGBMRegressor)
    lgbm = "LGBMRegressor" if fresh else "Booster"
    assert checked == {("L1:lgbm-now", lgbm, TREE_METHOD), ("L1:lgbm-history", lgbm, TREE_METHOD),
                       ("L1:ridge-history", "ScaledRidgeCV", LINEAR_METHOD),
                       ("L2:meta-ridge", "ScaledRidgeCV", LINEAR_METHOD), ("L2:meta-enet", "Pipeline", LINEAR_METHOD),
                       ("L2:meta-lgbm", lgbm, TREE_METHOD)}
    folds = 1 if trained.config.stack.refit == "full" else 3
    assert all(len(m.estimators) == folds for layer in explainer.model.stack.layers_ for m in layer)


def test_a_kind_without_an_explanation_is_named_and_refused(explainer):
    models = explainer.models().set_index("key")
    assert models.loc["L1:hgb-now", "method"] == ""
    with pytest.raises(ConfigError, match=f"'hgb-now' is a HistGradientBoostingRegressor: {NO_EXPLANATION}"):
        explainer.contributions("L1:hgb-now")


def test_inputs_are_named_by_feature_column_or_lower_model(trained, explainer):
    columns = list(trained.features.columns)
    history = [c for c in columns if c.endswith(("_lag_1", "_lag_2", "_roll_mean_5", "_roll_std_5"))]
    assert list(explainer.inputs("L1:lgbm-history")) == history and history
    assert "cpu_util_core_1" in explainer.inputs("L1:lgbm-now")
    lower = ["layer 1 · lgbm-now", "layer 1 · lgbm-history", "layer 1 · ridge-history", "layer 1 · hgb-now"]
    assert list(explainer.inputs("L2:meta-enet")) == lower + columns  # passthrough: the features beside them
    assert explainer.contributions("L2:meta-enet").values.shape == (len(explainer.X), len(lower) + len(columns))


def test_chunks_give_the_contributions_of_one_pass(explainer, monkeypatch):
    whole = explainer.contributions("L2:meta-lgbm")
    monkeypatch.setattr(explain, "CHUNK_CELLS", 2_000)  # about 40 rows per chunk
    chunked = explainer.contributions("L2:meta-lgbm")
    np.testing.assert_allclose(chunked.values, whole.values, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(chunked.rows, whole.rows)


def test_importance_is_the_mean_absolute_contribution_on_a_seeded_sample(explainer):
    everything = explainer.importance("L1:lgbm-now")
    assert everything.rows_used == everything.rows_total == len(explainer.X)
    raw = explainer.contributions("L1:lgbm-now")
    onehot = [i for i, name in enumerate(raw.inputs) if name.startswith("workload_")]
    assert len(onehot) > 1 and everything.inputs.count("workload") == 1  # one input: the mean size of their sum
    assert not any(name.startswith("workload_") for name in everything.inputs)
    by_input = dict(zip(everything.inputs, everything.mean_abs))
    assert by_input["workload"] == pytest.approx(np.abs(raw.values[:, onehot].sum(axis=1)).mean(), rel=1e-12)
    for i, name in enumerate(raw.inputs):
        if i not in onehot:
            assert by_input[name] == pytest.approx(np.abs(raw.values[:, i]).mean(), rel=1e-12)
    sampled = explainer.importance("L1:lgbm-now", sample=40, seed=3)
    assert (sampled.rows_used, sampled.rows_total) == (40, len(explainer.X))
    np.testing.assert_array_equal(sampled.mean_abs, explainer.importance("L1:lgbm-now", sample=40, seed=3).mean_abs)
    assert not np.array_equal(sampled.mean_abs, explainer.importance("L1:lgbm-now", sample=40, seed=4).mean_abs)
    table = sampled.table()
    assert table["mean_abs_contribution"].is_monotonic_decreasing and len(table) == len(sampled.inputs)


def test_local_explains_one_instant(trained, explainer):
    row = int(explainer.X.index[7])
    one = explainer.local("L2:meta-ridge", row)
    inputs = explainer.inputs("L2:meta-ridge")
    onehot = [name for name in inputs if name.startswith("workload_")]
    assert one.rows.tolist() == [row] and one.values.shape == (1, len(inputs) - len(onehot) + 1)
    workload = str(trained.evaluation.predictions.set_index("row").loc[row, "workload_type"])
    assert f"workload ({workload})" in one.inputs and not any(n.startswith("workload_") for n in one.inputs)
    raw = explainer.contributions("L2:meta-ridge", [row])
    summed = raw.values[0, [raw.inputs.index(n) for n in onehot]].sum()
    assert one.values[0, one.inputs.index(f"workload ({workload})")] == pytest.approx(summed, abs=1e-12)
    expected = trained.evaluation.predictions.set_index("row").loc[row, "L2:meta-ridge"]
    assert one.prediction[0] == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda ex: ex.contributions("L3:nothing"), ConfigError, "No model 'L3:nothing' in this twin"),
    (lambda ex: ex.importance(None), ConfigError, "No model 'None' in this twin; its models are L1:lgbm-now"),
    (lambda ex: ex.contributions("L1:lgbm-now", rows=[-5]), ConfigError, r"Rows \[-5\] are not among"),
    (lambda ex: ex.contributions("L1:lgbm-now", budget=1000), MemoryBudgetError, "explain fewer rows"),
])
def test_bad_requests_are_refused_with_a_message(explainer, call, error, message):
    with pytest.raises(error, match=message):
        call(explainer)


def test_rebuilding_the_features_is_checked_against_the_budget_and_the_rows(explainer, telemetry):
    rows = explainer.X.index.to_numpy()
    with pytest.raises(MemoryBudgetError, match="builds its .* features on 900 rows again"):
        holdout_explainer(explainer.model, telemetry, rows, budget=1000)
    with pytest.raises(ConfigError, match="have no complete feature windows"):
        holdout_explainer(explainer.model, telemetry, [0])  # the first row of a session has no lag
    with pytest.raises(ConfigError, match="No rows to explain"):
        holdout_explainer(explainer.model, telemetry, [])
    twice = holdout_explainer(explainer.model, telemetry, [*rows[:3], *rows[:3]])  # each row explained once
    assert twice.X.index.tolist() == sorted(rows[:3].tolist())


def test_other_data_of_the_same_shape_is_refused_by_its_fingerprint(trained, telemetry):
    rows = trained.evaluation.predictions["row"].to_numpy()
    changed = make_demo_telemetry(rows=900, sessions=3, seed=1, response=True)  # same rows and times, core 0 not
    assert changed.fingerprint != telemetry.fingerprint and len(changed.frame) == len(telemetry.frame)
    with pytest.raises(SchemaMismatchError, match="is not the data the run was trained on"):
        holdout_explainer(trained.model, changed, rows, data_fingerprint=trained.data_fingerprint)
    assert len(holdout_explainer(trained.model, telemetry, rows, data_fingerprint=trained.data_fingerprint).X)


def test_figures_show_the_top_inputs_and_a_waterfall_that_adds_up(explainer):
    importance = explainer.importance("L2:meta-enet")
    bars = importance_figure(importance, top_k=5)
    n = len(importance.inputs)
    assert f"top 5 of {n} inputs" in bars.layout.title.text and f"all {len(explainer.X):,} hold-out rows" in \
        bars.layout.title.subtitle.text
    assert list(bars.data[0].y) == importance.table()["input"].head(5).tolist()
    assert list(bars.data[0].text) == [f"{v:.2f}" for v in importance.table()["mean_abs_contribution"].head(5)]
    assert bars.data[0].marker.color != "#222222"  # not the near-black that means "actual"
    every = importance_figure(importance, top_k=n).layout.title.text
    assert every == f"What drives layer 2 · meta-enet: all {n} inputs"
    sampled = importance_figure(explainer.importance("L2:meta-enet", sample=30))
    assert f"a seeded sample of 30 of {len(explainer.X):,}" in sampled.layout.title.subtitle.text
    one = explainer.local("L2:meta-enet", int(explainer.X.index[3]))
    fall = contribution_figure(one, "noon", top_k=4).data[0]
    assert list(fall.measure) == ["absolute", *["relative"] * 5, "total"]
    assert fall.y[-2] == f"{n - 4} other inputs together"
    assert sum(fall.x[:-1]) == pytest.approx(fall.x[-1]) and fall.x[-1] == pytest.approx(one.prediction[0])
    marked = contribution_figure(one, "noon", actual=42.0)
    assert marked.layout.shapes[0].x0 == 42.0 and "dashed: the actual value" in marked.layout.title.subtitle.text



def test_a_ridge_of_a_reloaded_models_module_is_still_explained(explainer):
    """Streamlit re-imports the app's modules after a source file changes: runs trained before hold a ridge whose
    class is a different object of the same module and name."""
    member = explainer.model.stack.layers_[1][0]
    ridge = member.estimators[0]
    reloaded_class = type("ScaledRidgeCV", (ScaledRidgeCV,), {"__module__": ScaledRidgeCV.__module__})
    twin = reloaded_class.__new__(reloaded_class)
    twin.__dict__.update(ridge.__dict__)
    design = np.random.default_rng(0).uniform(0, 100, (20, ridge.n_features_in_))
    values, expected = explain.member_contributions(FittedMember("meta-ridge", [twin], None), design)
    np.testing.assert_allclose(expected + values.sum(axis=1), ridge.predict(design), rtol=0, atol=1e-9)
