"""The whole run on real data shapes: honest split, determinism, the metrics contract, the seed figures."""
import json
import time
from dataclasses import replace

import numpy as np
import pytest

from twin_core.cli import format_report
from twin_core.demo import make_demo_frames, make_demo_telemetry
from twin_core.errors import ConfigError, SessionTooShortError, TrainingCancelled
from twin_core.pipeline import oof_scores, prepare_run, train_twin
from twin_core.runs import predictions_frame
from twin_core.presets import get_preset
from twin_core.splits import CVSpec, SplitSpec
from twin_core.stack import HierarchicalStack
from twin_core.telemetry import load_telemetry, telemetry_from_frames


@pytest.fixture(scope="module")
def quick_result(demo_telemetry):
    return train_twin(demo_telemetry, get_preset("quick"))


def test_no_training_row_lies_within_the_gap_of_a_test_row(quick_result, demo_telemetry):
    split = quick_result.split
    sessions = demo_telemetry.frame["session"].to_numpy()
    assert split.gap_rows == quick_result.features.lookback > 0
    for session in np.unique(sessions[split.test]):
        test = split.test[sessions[split.test] == session]
        train = split.train[sessions[split.train] == session]
        assert train.max() < test.min() - split.gap_rows
    assert not set(split.train) & set(split.test)


def test_metrics_contract(quick_result):
    m = quick_result.metrics
    assert set(m["rows"]) == {"train", "gap", "test"} and m["rows"]["test"] == len(quick_result.split.test)
    assert m["split"]["kind"] == "session_tail" and "purge gap" in m["split"]["description"]
    assert {"layer", "name", "kind", "r2_holdout", "r2_oof", "mae_holdout", "rmse_holdout"} <= set(m["models"][0])
    assert [(x["layer"], x["name"]) for x in m["models"]] == [(1, "lgbm"), (1, "ridge"), (2, "top-ridge")]
    assert set(m["baselines"]) == {"identity", "persistence", "mean"}
    assert m["kind"] == "reconstruction" and m["kind_sentence"].startswith("Reconstruction twin: ")
    assert m["layer_gain"][0]["compared_with"] == "identity baseline"
    assert {"layer", "name", "r2_holdout"} <= set(m["best"])
    assert {"features", "train", "evaluate"} <= set(m["seconds"])
    assert m["leaky"] is False


def test_scores_are_measured_on_the_held_out_rows(quick_result, demo_telemetry):
    ev = quick_result.evaluation
    assert ev.baseline_r2("identity") == pytest.approx(quick_result.metrics["baselines"]["identity"]["r2_holdout"],
                                                        abs=1e-6)
    assert np.isnan(ev.baseline_r2("no such baseline"))
    np.testing.assert_array_equal(ev.predictions["row"], np.sort(quick_result.split.test))
    actual = demo_telemetry.frame["cpu_util_core_0"].to_numpy()[ev.predictions["row"]]
    np.testing.assert_allclose(ev.predictions["actual"], actual)
    top = ev.models.set_index("key").loc["L2:top-ridge"]
    residual = ev.predictions["actual"] - ev.predictions["L2:top-ridge"]
    assert top["rmse_holdout"] == pytest.approx(float(np.sqrt((residual ** 2).mean())))
    frame = predictions_frame(quick_result)
    assert "residual L2:top-ridge" in frame and len(frame) == len(quick_result.split.test)


def test_same_config_same_data_same_numbers(quick_result, demo_telemetry):
    again = train_twin(demo_telemetry, get_preset("quick"))
    np.testing.assert_array_equal(again.evaluation.predictions["L2:top-ridge"],
                                  quick_result.evaluation.predictions["L2:top-ridge"])


def test_oof_scores_match_the_full_run_without_predicting_the_hold_out(quick_result, demo_telemetry, monkeypatch):
    seen = {}  # the row ids each stack method is given while the OOF scores are computed

    def spy(method):
        original = getattr(HierarchicalStack, method)

        def wrapper(self, X, *args, **kwargs):  # fit(X, y, rows=...) trains on those positions of X only
            rows = kwargs.get("rows")
            seen.setdefault(method, []).append(X.index.to_numpy()[slice(None) if rows is None else rows])
            return original(self, X, *args, **kwargs)
        monkeypatch.setattr(HierarchicalStack, method, wrapper)

    for method in ("fit", "predict", "predict_layers"):
        spy(method)
    table = oof_scores(demo_telemetry, get_preset("quick"))
    assert set(seen) == {"fit"}  # nothing is predicted through the stack: no hold-out row is scored
    (fitted,) = seen["fit"]
    np.testing.assert_array_equal(np.sort(fitted), np.sort(quick_result.split.train))
    assert not set(fitted) & set(quick_result.split.test)
    expected = quick_result.evaluation.models
    np.testing.assert_allclose(table["r2_oof"], expected["r2_oof"])
    assert table[["layer", "name"]].values.tolist() == expected[["layer", "name"]].values.tolist()


def test_other_core_as_target(demo_telemetry):
    result = train_twin(demo_telemetry, replace(get_preset("quick"), target="cpu_util_core_3"))
    assert result.target == "cpu_util_core_3" and "cpu_util_core_3" not in result.features.columns
    assert "cpu_util_core_0" in result.features.columns


def test_whole_session_hold_out(demo_telemetry):
    config = replace(get_preset("quick"), split=SplitSpec(kind="whole_sessions", test_sessions=(1,)))
    with pytest.warns(UserWarning, match="not seen in training"):  # session 1 is the only io_bound one
        result = train_twin(demo_telemetry, config)
    assert set(result.evaluation.predictions["session"]) == {1}
    assert "whole sessions" in result.metrics["split"]["description"]


def test_workload_categories_come_from_the_training_rows(demo_telemetry):
    held_out = demo_telemetry.frame.loc[demo_telemetry.frame["session"] == 1, "workload_type"].iloc[0]
    config = replace(get_preset("quick"), split=SplitSpec(kind="whole_sessions", test_sessions=(1,)))
    with pytest.warns(UserWarning, match="not seen in training"):
        result = train_twin(demo_telemetry, config)
    assert held_out not in result.features.workload_categories
    assert f"workload_{held_out}" not in result.features.columns
    assert any("not seen in training" in n for n in result.notes)


def test_a_trained_run_predicts_other_telemetry_of_the_same_shape(quick_result, demo_telemetry):
    layers = quick_result.model.predict_layers(demo_telemetry)
    test = np.sort(quick_result.split.test)
    # Features are float32 (epsilon 1.2e-7): a prediction sums tens of products whose rounding depends on how
    # many rows are predicted together, so two predictions of one row differ by a few float32 steps (seen:
    # 5e-7 on values near 3). 1e-5 relative (about 100 steps) plus 1e-4 percentage points covers that and
    # still fails on any real difference (a wrong row or feature moves a prediction by whole points).
    np.testing.assert_allclose(layers[-1].loc[test, "top-ridge"],
                               quick_result.evaluation.predictions["L2:top-ridge"], rtol=1e-5, atol=1e-4)
    # other telemetry of the same shape: the third recording of the demo_telemetry fixture (conftest: 1,200 rows,
    # 8 cores, 4 sessions, seed 7) loaded alone predicts as it did within the whole data
    other = telemetry_from_frames(make_demo_frames(rows=1200, cores=8, sessions=4, seed=7)[2:3])
    assert other.fingerprint != demo_telemetry.fingerprint
    frame = demo_telemetry.frame
    within = layers[-1].loc[frame.loc[layers[-1].index, "session"] == 2, "top-ridge"]
    alone = quick_result.model.predict_layers(other)[-1]["top-ridge"]
    assert len(alone) == len(within) > 250
    np.testing.assert_array_equal(alone.index + frame.index[frame["session"] == 2][0], within.index)
    np.testing.assert_allclose(alone.to_numpy(), within.to_numpy(), rtol=1e-5, atol=1e-4)


def test_cancel_stops_the_run(demo_telemetry):
    calls = []
    with pytest.raises(TrainingCancelled, match=r"^Training cancelled after 2 of 12 fits\.$"):
        train_twin(demo_telemetry, get_preset("quick"), on_progress=lambda *a: calls.append(a),
                   should_cancel=lambda: len(calls) >= 2)
    assert len(calls) == 2
    assert calls[0][1] == sum(get_preset("quick").stack.fits_per_layer())  # progress bars can size on the config


def test_invalid_config_is_refused_before_any_fit(demo_telemetry):
    calls = []
    config = replace(get_preset("quick"), split=SplitSpec(test_fraction=2.0))
    with pytest.raises(ConfigError, match=r"^split\.test_fraction: must be a number strictly between 0 and 1, got 2"):
        train_twin(demo_telemetry, config, on_progress=lambda *a: calls.append(a))
    assert calls == []


def test_short_five_second_recordings_train_with_the_default_preset_and_say_what_was_adapted():
    # the shape that crashed training: 5 s sampling, recordings of 45-70 rows, 4 cores (CLI: demo-data --interval 5)
    telemetry = make_demo_telemetry(rows=660, cores=4, sessions=12, interval_s=5.0, seed=0)
    lengths = telemetry.sessions()["rows"]
    assert telemetry.n_sessions == 12 and lengths.between(45, 70).all() and telemetry.n_cores == 4
    assert telemetry.sampling_interval == pytest.approx(5.0, rel=0.02)
    result = train_twin(telemetry, get_preset("default"))  # look-back 30 rows: tails and blocks cannot be purged
    assert result.config.split.kind == result.split.kind == "whole_sessions"
    assert result.config.stack.cv == CVSpec(kind="sessions", n_splits=3)
    assert result.stack.folds_ and len(result.stack.folds_) == 3
    metrics = result.metrics
    assert metrics["split"]["kind"] == "whole_sessions" and metrics["split"]["cv"]["kind"] == "sessions"
    assert metrics["split"]["cv"]["description"].startswith("whole-session 3-fold")
    assert any(n.startswith("Sessions are short beside the 30-row purge gap") and "held out whole instead" in n
               for n in metrics["notes"])
    assert any(n.startswith("Time-blocked folds within sessions would leave a fold 0 rows to fit on")
               for n in metrics["notes"])
    assert all(m["r2_holdout"] is not None for m in metrics["models"])


@pytest.mark.parametrize("folds, outcome", [
    (100, "83 folds"),  # 924 training rows: at most 92 folds of 10, and the last block of each session is smaller
    (5000, ConfigError),  # refused by the configuration's own bound, before any row is looked at
])
def test_more_folds_than_the_rows_give_are_reduced_or_refused_before_any_fit(demo_telemetry, folds, outcome):
    quick = get_preset("quick")
    config = replace(quick, stack=replace(quick.stack, cv=CVSpec(n_splits=folds)))
    started = time.perf_counter()
    if outcome is ConfigError:
        with pytest.raises(ConfigError, match="n_splits"):
            prepare_run(demo_telemetry, config)
    else:
        run = prepare_run(demo_telemetry, config)
        assert f"{run.config.stack.cv.n_splits} folds" == outcome and len(run.stack.cv) == 83
        assert run.notes == (f"{folds} folds were asked for, 83 were used: with 924 training rows more folds would "
                             "leave a fold fewer than 10 rows to validate on.",)
    assert time.perf_counter() - started < 2.0  # features and folds only: no fit has started


def test_a_feature_set_looking_back_past_the_longest_session_is_refused_by_name(demo_telemetry):
    quick = get_preset("quick")
    long_windows = replace(quick.feature_sets[0], overall_windows=(400,))
    with pytest.raises(SessionTooShortError, match=r"^Feature set 'quick' looks back 400 rows .* sessions of at least "
                                                   r"401 rows, but the longest session has 3\d\d\. Shorten"):
        prepare_run(demo_telemetry, replace(quick, feature_sets=(long_windows,)))


def test_a_constant_target_trains_and_reports_r2_as_not_available():
    frames = make_demo_frames(rows=600, cores=4, sessions=3, seed=5)
    for _, frame in frames:
        frame["cpu_util_core_0"] = 0.0  # an idle core
    result = train_twin(telemetry_from_frames(frames), get_preset("quick"))
    metrics = json.loads(json.dumps(result.metrics, allow_nan=False))
    assert [m["r2_holdout"] for m in metrics["models"]] == [None, None, None]
    assert metrics["best"]["r2_holdout"] is None and metrics["baselines"]["mean"]["r2_holdout"] is None
    assert [g["pays"] for g in metrics["layer_gain"]] == [False, False]
    assert metrics["models"][0]["mae_holdout"] == pytest.approx(0.0, abs=1e-3)
    assert any("does not vary on the hold-out rows (always 0) and training rows" in n for n in metrics["notes"])
    report = format_report(metrics)
    assert "R² hold-out n/a" in report and "gain n/a vs identity baseline → cannot tell (n/a)" in report


@pytest.mark.seed_data
def test_default_preset_beats_the_identity_on_the_seed_data(seed_data_dir):
    result = train_twin(load_telemetry(seed_data_dir), get_preset("default"))
    best, identity = result.metrics["best"], result.metrics["baselines"]["identity"]
    assert best["r2_holdout"] >= 0.92
    assert best["r2_holdout"] > identity["r2_holdout"]
    assert result.metrics["rows"]["gap"] > 0


@pytest.mark.seed_data
def test_seed_compatible_mode_reproduces_the_notebook(seed_data_dir):
    result = train_twin(load_telemetry(seed_data_dir), get_preset("seed-v3").as_seed_compatible())
    rows = result.metrics["rows"]
    assert rows["train"] + rows["test"] == 6899 and rows["gap"] == 0
    top = [m for m in result.metrics["models"] if m["layer"] == 3][0]
    assert 0.68 <= top["r2_holdout"] <= 0.76
    assert result.metrics["leaky"] is True and any("LEAKY" in n for n in result.metrics["notes"])


def test_the_plan_reported_before_the_first_fit_counts_the_adapted_folds(demo_telemetry):
    plans, first_fit = [], []
    config = replace(get_preset("quick"), stack=replace(get_preset("quick").stack, cv=CVSpec(n_splits=100)))
    train_twin(demo_telemetry, config, on_plan=plans.append,
               on_progress=lambda done, total, message: first_fit.append(plans[:]) if done == 1 else None)
    assert plans == [[2 * 84, 84]]  # 83 folds (reduced from 100) + the refit, for 2 and 1 models
    assert first_fit == [plans]  # reported before the first fit
