"""Scores and baselines: R² matches scikit-learn, persistence never reaches into another session, the baselines
and the kind sentence follow the twin's kind."""
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import mean_absolute_error, r2_score

from tests.synthetic import make_telemetry
from twin_core.evaluate import (
    baseline_label, baseline_predictions, identity_formula, kind_sentence, layer_gain, residual_autocorrelation,
    score_text, scores,
)


def test_scores_match_scikit_learn_and_skip_missing_values():
    rng = np.random.default_rng(1)
    actual, predicted = rng.normal(size=200), rng.normal(size=200)
    s = scores(actual, predicted)
    assert s["r2"] == pytest.approx(r2_score(actual, predicted))
    assert s["mae"] == pytest.approx(mean_absolute_error(actual, predicted)) and s["n"] == 200
    predicted[:10] = np.nan
    assert scores(actual, predicted)["n"] == 190
    assert np.isnan(scores([1.0, 1.0], [1.0, 2.0])["r2"])  # constant truth: R² undefined, not a crash


def test_baselines_identity_persistence_mean():
    telemetry = make_telemetry(sessions=(30, 30), cores=4)
    frame = telemetry.frame
    rows = np.arange(len(frame))
    base = baseline_predictions(telemetry, rows, train_rows=rows[:20])
    others = frame[["cpu_util_core_1", "cpu_util_core_2", "cpu_util_core_3"]].sum(axis=1)
    np.testing.assert_allclose(base["identity"], np.clip(4 * frame["cpu_util_overall"] - others, 0, 100))
    np.testing.assert_allclose(base["persistence"].iloc[1:30], frame["cpu_util_core_0"].iloc[:29])
    assert np.isnan(base["persistence"].iloc[0]) and np.isnan(base["persistence"].iloc[30])  # session starts
    assert (base["mean"] == frame["cpu_util_core_0"].iloc[:20].mean()).all()


def _holdout(columns: dict[str, float], rows: int = 400) -> pd.DataFrame:
    """Hold-out predictions of two sessions: each named column is the actual plus noise of the given spread."""
    rng = np.random.default_rng(0)
    actual = rng.normal(50, 10, rows)
    return pd.DataFrame({"row": np.arange(rows), "session": np.repeat([0, 1], rows // 2), "actual": actual,
                         **{name: actual + rng.normal(0, sd, rows) for name, sd in columns.items()}})


def test_layer_gain_compares_each_layer_with_the_one_below_and_gives_its_verdict():
    models = pd.DataFrame({"layer": [1, 1, 2], "name": ["a", "b", "top"], "r2_holdout": [0.80, 0.85, 0.83],
                           "r2_oof": [0.90, 0.88, 0.91]})
    baselines = pd.DataFrame({"name": ["identity"], "r2_holdout": [0.70]})
    predictions = _holdout({"identity": 8.0, "L1:a": 3.0, "L1:b": 1.0, "L2:top": 6.0})
    gain = layer_gain(models, baselines, predictions, seed=0, block=20)
    assert gain["best_model"].tolist() == ["a", "top"]  # chosen by OOF, not by hold-out
    assert gain["gain_holdout"].tolist() == pytest.approx([0.10, 0.03])
    assert gain["compared_with"].tolist() == ["identity baseline", "layer 1"]
    assert gain["verdict"].tolist() == ["pays", "costs"]  # L1:a beats the identity; L2:top is worse than L1:a
    assert gain["pays"].tolist() == [True, False]
    low, high = gain["gain_ci95"].iloc[0]
    assert 0 < low < high < 1


@pytest.mark.parametrize("unmeasured", [None, float("nan")])
def test_a_layer_whose_gain_cannot_be_measured_has_no_interval_and_does_not_pay(unmeasured):
    models = pd.DataFrame({"layer": [1, 2, 3], "name": ["a", "mid", "top"], "r2_holdout": [0.80, unmeasured, 0.9],
                           "r2_oof": [0.90, unmeasured, 0.95]})
    predictions = _holdout({"identity": 8.0, "L1:a": 3.0, "L2:mid": 2.0, "L3:top": 1.0})
    gain = layer_gain(models, pd.DataFrame({"name": ["identity"], "r2_holdout": [unmeasured]}), predictions,
                      seed=0, block=20)
    assert np.isnan(gain["gain_holdout"]).tolist() == [True, True, True]  # each compares with an unknown R²
    assert gain["verdict"].tolist() == ["n/a", "n/a", "n/a"]
    assert gain["gain_ci95"].tolist() == [None, None, None]
    assert gain["pays"].tolist() == [False, False, False]
    assert gain["best_model"].tolist() == ["a", "mid", "top"]


def test_residual_autocorrelation_pairs_rows_within_a_session():
    residuals = pd.Series(np.r_[np.ones(50), -np.ones(50)])
    sessions = pd.Series(np.repeat([0, 1], 50))
    acf = residual_autocorrelation(residuals, sessions, max_lag=5)
    assert acf["autocorrelation"].tolist() == pytest.approx([1.0] * 5)


@pytest.mark.parametrize(("value", "spec", "shown"), [
    (0.93012, ".3f", "0.930"), (-0.0042, "+.4f", "-0.0042"), (0, ".3f", "0.000"),
    (None, ".3f", "n/a"), (float("nan"), ".3f", "n/a"), (np.float32("nan"), "+.4f", "n/a"),
    (float("inf"), ".3f", "n/a"),
    (-0.0003, ".3f", "0.000"), (-0.0003, "+.3f", "0.000"), (0.0004, "+.3f", "0.000"), (-0.002, ".3f", "-0.002"),
])
def test_score_text_says_n_a_for_an_unmeasured_score_and_never_a_signed_zero(value, spec, shown):
    assert score_text(value, spec) == shown


def test_behavioural_baselines_never_read_overall_and_fit_the_linear_model_on_training_rows_only():
    telemetry = make_telemetry(sessions=(30, 30), cores=4)
    frame = telemetry.frame
    others = frame[["cpu_util_core_1", "cpu_util_core_2", "cpu_util_core_3"]].to_numpy()
    target = 0.5 * others[:, 0] - 0.25 * others[:, 2] + 10.0
    target[40:] = 100.0 - target[40:]  # the test rows follow another relation, which the baseline must not learn
    frame = frame.assign(cpu_util_core_0=target)
    telemetry = replace(telemetry, frame=frame)
    rows = np.arange(40, 60)
    base = baseline_predictions(telemetry, rows, train_rows=np.arange(40), kind="behavioural")
    assert list(base.columns) == ["mean", "persistence", "linear_others"]
    np.testing.assert_allclose(base["linear_others"], 0.5 * others[rows, 0] - 0.25 * others[rows, 2] + 10.0,
                               atol=0.05)  # ridge's small shrinkage on 0..100 values


def test_layer_one_of_a_behavioural_twin_is_compared_with_the_linear_model_on_the_other_cores():
    models = pd.DataFrame({"layer": [1, 2], "name": ["a", "top"], "r2_holdout": [0.40, 0.45], "r2_oof": [0.5, 0.6]})
    baselines = pd.DataFrame({"name": ["mean", "persistence", "linear_others"], "r2_holdout": [0.0, 0.9, 0.10]})
    predictions = _holdout({"linear_others": 8.0, "L1:a": 6.0, "L2:top": 5.0})
    gain = layer_gain(models, baselines, predictions, reference="linear_others", seed=0, block=20)
    assert gain["compared_with"].tolist() == ["linear baseline", "layer 1"]
    assert gain["gain_holdout"].tolist() == pytest.approx([0.30, 0.05])


@pytest.mark.parametrize("kind, r2, expected", [
    ("behavioural", 0.27, "Behavioural twin: reads the other cores and the workload, never cpu_util_overall or "
                          "cpu_util_core_0 itself; here they explain 27 % of cpu_util_core_0's variation on the "
                          "hold-out (R² 0.270)."),
    ("behavioural", -0.04, "Behavioural twin: reads the other cores and the workload, never cpu_util_overall or "
                           "cpu_util_core_0 itself; here they explain none of cpu_util_core_0's variation on the "
                           "hold-out (R² -0.040)."),
    ("behavioural", None, "Behavioural twin: reads the other cores and the workload, never cpu_util_overall or "
                          "cpu_util_core_0 itself; here their share of cpu_util_core_0's variation could not be "
                          "measured (it does not vary on the hold-out)."),
    ("reconstruction", 0.9674, "Reconstruction twin: reads cpu_util_overall, from which the identity 4·overall − Σ "
                               "other cores gives cpu_util_core_0 by arithmetic (hold-out R²: the identity alone "
                               "0.531, the twin 0.967); good to fill in or check a core, not to say how it behaves."),
])
def test_the_kind_sentence_says_what_the_kind_means_and_how_good_it_is(kind, r2, expected):
    assert kind_sentence(kind, "cpu_util_core_0", r2, 4, identity_r2=0.531) == expected


def test_the_identity_is_written_with_the_data_s_core_count_when_known_and_n_otherwise():
    assert identity_formula(8) == "8·overall − Σ other cores"
    assert identity_formula() == "N·overall − Σ other cores"  # no data known: the general form
    assert baseline_label("identity", 6) == "identity 6·overall − Σ other cores (clipped 0–100)"
    assert baseline_label("mean", 6) == "training mean of the target"
    assert identity_formula(4) in kind_sentence("reconstruction", "cpu_util_core_0", 0.9, 4, identity_r2=0.5)
