"""Config flattening and diffs (setting names in words), leaky runs kept apart, the runs table and per-model
deltas, on real quick-preset runs."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from twin_core.compare import (
    ABSENT,
    BEST,
    BEST_WORDS,
    against_own_baseline,
    change_noise,
    change_text,
    config_diff,
    flatten_config,
    leak_causes,
    leaky_pair_note,
    metric_deltas_from_metrics,
    runs_table,
    saved_scores,
    setting_name,
)
from twin_core.config import ModelSpec
from twin_core.demo import make_demo_telemetry
from twin_core.evaluate import model_words
from twin_core.plots import (
    BETTER_COLOUR,
    NEUTRAL_COLOUR,
    WORSE_COLOUR,
    compare_predictions_figure,
    metrics_delta_figure,
)
from twin_core.pipeline import train_twin
from twin_core.presets import get_preset
from ui.editor import CV_LABELS, FEATURE_WIDGETS, HOLDOUT_LABELS


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
    diff = config_diff(get_preset("quick"), get_preset("quick"), FEATURE_WIDGETS)
    assert diff.empty and list(diff.columns) == ["path", "setting", "a", "b"]


def test_diff_finds_exactly_the_changed_fields():
    a = get_preset("quick")
    lgbm = replace(a.stack.layers[0].models[0], params={"n_estimators": 120, "learning_rate": 0.1})
    layer1 = replace(a.stack.layers[0], models=(lgbm, a.stack.layers[0].models[1]))
    b = replace(a, split=replace(a.split, kind="whole_sessions"),
                feature_sets=(replace(a.feature_sets[0], overall_windows=(5, 10)),),
                stack=replace(a.stack, layers=(layer1, replace(a.stack.layers[1], passthrough=True))))
    diff = config_diff(a, b, FEATURE_WIDGETS).set_index("path")
    assert diff.to_dict("index") == {
        "feature_sets[0].overall_windows": {"setting": "Feature set 1 · overall windows (rows)", "a": "5",
                                            "b": "5, 10"},
        "stack.layers[0].models[0].params.n_estimators": {
            "setting": "Layer 1 · model 1 · number of boosting rounds / trees", "a": "60", "b": "120"},
        "stack.layers[1].passthrough": {"setting": "Layer 2 · also reads the original features", "a": "no",
                                        "b": "yes"},
        "split.kind": {"setting": "Hold-out · rows held out", "a": "session_tail", "b": "whole_sessions"}}


def test_diff_marks_settings_only_one_side_has(runs):
    quick, wide = runs
    diff = config_diff(quick.config, wide.config, FEATURE_WIDGETS).set_index("path")
    added = diff.loc[diff.index.str.startswith("stack.layers[0].models[2].")]
    assert sorted(added.index.str.rsplit(".", n=1).str[-1]) == ["feature_set", "kind", "name"]  # empty params: no leaf
    assert (added["a"] == ABSENT).all() and (added["b"] != ABSENT).all()
    assert diff.loc["name", ["a", "b"]].tolist() == ["quick", "quick-wide"]
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
    assert row["kind"] == "reconstruction" and row["reference_r2"] == pytest.approx(baselines["identity"])
    assert row["persistence_r2"] == pytest.approx(baselines["persistence"])
    assert row["train_seconds"] == pytest.approx(quick.seconds["total"])  # the time Train and Results show
    assert not table["leaky"].any()
    assert "purge gap" in row["cv"]


@pytest.fixture(scope="module")
def behavioural():
    """A behavioural-quick run on the same small demo: its kind's baseline is the linear model, not the identity."""
    return train_twin(make_demo_telemetry(rows=1800, cores=4, sessions=3, seed=3), get_preset("behavioural-quick"))


def test_each_run_is_set_against_the_baseline_of_its_own_kind(runs, behavioural):
    quick = runs[0]
    table = against_own_baseline([("A", quick.metrics), ("B", behavioural.metrics)])
    assert table.index.tolist() == ["A", "B"]
    assert table["kind"].tolist() == ["reconstruction", "behavioural"]
    assert table["baseline"].tolist() == ["identity", "linear"]
    assert table["split"].tolist() == ["honest", "honest"]
    linear = behavioural.evaluation.baseline_r2("linear_others")
    best = behavioural.evaluation.best["r2_holdout"]
    assert table.loc["B", "baseline R²"] == f"{linear:.3f}" and table.loc["B", "best R²"] == f"{best:.3f}"
    assert table.loc["B", "gain"] == f"{best - linear:+.3f}"
    assert table.loc["A", "best R² OOF"] == f"{quick.evaluation.best['r2_oof']:.3f}"


def test_a_leaky_run_against_its_baseline_says_leaky_and_a_null_score_reads_na(runs):
    metrics = runs[0].metrics
    leaky = {**metrics, "leaky": True, "split": {**metrics["split"], "leaky": True},
             "baselines": {**metrics["baselines"], "identity": {**metrics["baselines"]["identity"], "r2_holdout": None}}}
    row = against_own_baseline([("L", leaky)]).loc["L"]
    assert (row["split"], row["baseline R²"], row["gain"]) == ("leaky", "n/a", "n/a")


def test_saved_scores_give_each_runs_own_kind_baseline_and_its_total_seconds(runs, behavioural):
    quick = runs[0]
    scores = saved_scores([quick.metrics, behavioural.metrics])
    assert scores["reference_r2"].tolist() == pytest.approx(
        [quick.evaluation.baseline_r2("identity"), behavioural.evaluation.baseline_r2("linear_others")], abs=1e-6)
    assert scores["train_seconds"].tolist() == pytest.approx(
        [quick.seconds["total"], behavioural.seconds["total"]], abs=1e-3)


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


@pytest.mark.parametrize("preset", ["default", "seed-v3"])
def test_every_setting_of_a_preset_is_named_in_words(preset):
    names = {path: setting_name(path, FEATURE_WIDGETS) for path in flatten_config(get_preset(preset))}
    raw = {path: name for path, name in names.items() if name == path or "[" in name or "." in name}
    assert not raw
    assert names["feature_sets[1].overall_windows"] == "Feature set 2 · overall windows (rows)"  # the editor's label
    assert names["feature_sets[0].windows_include_current"] == "Feature set 1 · windows include now"
    assert names["stack.layers[2].models[0].feature_set"] == "Layer 3 · model 1 · feature set read"
    assert names["stack.cv.gap"] == "Folds · purge gap (rows)"


def test_unset_automatic_settings_and_upper_layer_inputs_read_as_words():
    a = get_preset("quick")
    b = replace(a, split=replace(a.split, gap=12), stack=replace(a.stack, n_jobs=2))
    diff = config_diff(a, b, FEATURE_WIDGETS).set_index("setting")
    assert diff.to_dict("list") == {"path": ["stack.n_jobs", "split.gap"], "a": ["automatic", "automatic"],
                                    "b": ["2", "12"]}
    assert config_diff(get_preset("default"), get_preset("seed-v3"), FEATURE_WIDGETS).set_index("path").loc[
        "stack.layers[0].models[2].kind", ["a", "b"]].tolist() == ["Ridge (CV over alpha)", "LightGBM"]


def test_choices_read_in_the_words_given_for_their_setting():
    a = get_preset("quick")
    b = replace(a, split=replace(a.split, kind="random"), stack=replace(a.stack, cv=replace(a.stack.cv, kind="kfold")))
    diff = config_diff(a, b, FEATURE_WIDGETS, {"split.kind": HOLDOUT_LABELS, "stack.cv.kind": CV_LABELS})
    assert diff.set_index("path").loc[["split.kind", "stack.cv.kind"], ["a", "b"]].to_numpy().tolist() == [
        [HOLDOUT_LABELS["session_tail"], "Random rows — LEAKY (the original notebook's protocol)"],
        [CV_LABELS["blocked"], "Shuffled K-fold — LEAKY (the original notebook's protocol)"]]


def _metrics(split_leaky: bool = False, cv_leaky: bool = False, notebook: bool = False) -> dict:
    return {"leaky": split_leaky or cv_leaky or notebook,
            "split": {"leaky": split_leaky, "cv": {"leaky": cv_leaky}, "seed_compatible": notebook},
            "models": [{"layer": 1, "name": "m", "r2_holdout": 0.5, "r2_oof": 0.4}],
            "baselines": {"identity": {"r2_holdout": 0.3}},
            "best": {"layer": 1, "name": "m", "r2_holdout": 0.5, "r2_oof": 0.4}}


def test_leak_causes_say_what_made_a_run_leaky():
    assert leak_causes(_metrics()) == []
    assert leak_causes(_metrics(split_leaky=True, cv_leaky=True)) == ["random hold-out rows", "shuffled folds"]
    assert leak_causes(_metrics(notebook=True)) == ["the original notebook's protocol"]


def test_a_pair_with_a_leaky_run_is_not_comparable_and_names_only_the_leaky_run():
    assert leaky_pair_note([("honest", _metrics()), ("also honest", _metrics())]) is None
    note = leaky_pair_note([("honest", _metrics()), ("notebook", _metrics(split_leaky=True, cv_leaky=True))])
    assert note.startswith("Not comparable: **notebook** (random hold-out rows, shuffled folds) was scored on a "
                           "leaky split.")
    assert "honest" not in note
    both = leaky_pair_note([("x", _metrics(cv_leaky=True)), ("y", _metrics(split_leaky=True))])
    assert both.startswith("Not comparable: **x** (shuffled folds) and **y** (random hold-out rows) were scored")


def test_metric_deltas_refuse_a_leaky_run():
    with pytest.raises(ValueError, match="leaky split has an inflated R²"):
        metric_deltas_from_metrics(_metrics(), _metrics(split_leaky=True))
    with pytest.raises(ValueError, match="leaky split has an inflated R²"):
        metric_deltas_from_metrics(_metrics(notebook=True), _metrics())


def test_metric_delta_rows_are_named_in_words(runs):
    quick, wide = runs
    deltas = metric_deltas_from_metrics(quick.metrics, wide.metrics)
    assert deltas["name"].tolist() == [BEST_WORDS, "layer 1 · lgbm", "layer 1 · ridge", "layer 2 · top-ridge",
                                       "identity baseline", "persistence baseline", "training-mean baseline"]


def test_model_keys_read_as_layer_and_name_and_baselines_in_words():
    assert model_words("L2:top-ridge") == "layer 2 · top-ridge"
    assert model_words("L10:a:b") == "layer 10 · a:b"
    assert model_words("identity") == "identity baseline"
    assert model_words("linear_others") == "linear baseline"
    assert model_words("mean") == "training-mean baseline"


@pytest.fixture(scope="module")
def pairs():
    """quick, default and a deliberately weak config (a tiny LightGBM that reads neither overall nor the identity) on
    one small demo (on which default moves quick's best R² by −0.003)."""
    telemetry = make_demo_telemetry(rows=1200, cores=4, sessions=3, seed=1)
    quick = get_preset("quick")
    blind = replace(quick.feature_sets[0], identity=False, current_overall=False, overall_windows=(), overall_lags=0,
                    identity_lags=0)
    tiny = replace(quick.stack.layers[0], models=(ModelSpec("lgbm", "lightgbm", {"n_estimators": 10,
                                                                                  "learning_rate": 0.01}, "quick"),))
    weak = replace(quick, name="weak", feature_sets=(blind,),
                   stack=replace(quick.stack, layers=(tiny, *quick.stack.layers[1:])))
    configs = {"quick": quick, "default": get_preset("default"), "weak": weak}
    return {name: train_twin(telemetry, config) for name, config in configs.items()}


def _noise(a, b):
    deltas = metric_deltas_from_metrics(a.metrics, b.metrics)
    return change_noise(deltas, a.metrics, a.evaluation.predictions, b.metrics, b.evaluation.predictions, seed=42)


def _colours(table: pd.DataFrame, note: str) -> dict[str, str]:
    bars = metrics_delta_figure(table, ("A", "B"), "both: tail", note).data[0]
    return dict(zip(bars.y, bars.marker.color))


def test_quick_against_default_moves_the_best_model_within_noise_and_draws_it_grey(pairs):
    deltas, note = _noise(pairs["quick"], pairs["default"])
    best = deltas.set_index("what").loc["best"]
    assert abs(best["delta_r2_holdout"]) < 0.01 and best["ci_low"] < 0 < best["ci_high"]
    assert change_text(best["delta_r2_holdout"], best["ci_low"], best["ci_high"]).endswith(", within noise")
    quick, default = (pairs[name].evaluation.predictions["row"] for name in ("quick", "default"))
    shared = len(set(quick) & set(default))
    assert note.startswith(f"noise: 95 % block-bootstrap interval on the {shared:,} hold-out rows both runs share")
    assert _colours(deltas, note)[BEST_WORDS] == NEUTRAL_COLOUR


def test_a_clear_gain_is_beyond_noise_green_one_way_and_red_the_other(pairs):
    gain, note = _noise(pairs["weak"], pairs["quick"])
    best = gain.set_index("what").loc["best"]
    assert best["ci_low"] > 0 and change_text(best["delta_r2_holdout"], best["ci_low"], best["ci_high"]) == (
        f"+{best['delta_r2_holdout']:.3f}, beyond noise")
    colours = _colours(gain, note)
    assert colours[BEST_WORDS] == BETTER_COLOUR and colours["layer 1 · lgbm"] == BETTER_COLOUR
    assert colours["identity baseline"] == NEUTRAL_COLOUR  # a reference, never a gain: no interval drawn for it
    assert gain.loc[gain["what"] == "baseline", ["ci_low", "ci_high"]].isna().all(axis=None)
    loss, note = _noise(pairs["quick"], pairs["weak"])
    assert loss.set_index("what").loc["best", "ci_high"] < 0
    assert _colours(loss, note)[BEST_WORDS] == WORSE_COLOUR


@pytest.mark.parametrize("case, why", [("no predictions", "a run's hold-out predictions are not available"),
                                       ("other data", "the runs were trained on different data"),
                                       ("no shared rows", "the runs share no hold-out rows")])
def test_without_an_interval_every_bar_is_grey_and_the_subtitle_says_noise_not_measured(pairs, case, why):
    weak, quick = pairs["weak"], pairs["quick"]
    b_metrics, b_predictions = quick.metrics, quick.evaluation.predictions
    if case == "no predictions":
        b_predictions = b_predictions.iloc[:0]
    elif case == "other data":
        b_metrics = {**b_metrics, "data_fingerprint": "another"}
    else:
        b_predictions = b_predictions.assign(row=b_predictions["row"] + 10**6)
    deltas, note = change_noise(metric_deltas_from_metrics(weak.metrics, b_metrics), weak.metrics,
                                weak.evaluation.predictions, b_metrics, b_predictions, seed=42)
    assert note == f"noise not measured: {why}"
    assert deltas[["ci_low", "ci_high"]].isna().all(axis=None)
    fig = metrics_delta_figure(deltas, ("A", "B"), "both: tail", note)
    assert set(fig.data[0].marker.color) == {NEUTRAL_COLOUR}  # a gain of +0.3 too: no colour without its noise
    assert f"noise not measured: {why}" in fig.layout.title.subtitle.text
    assert "every bar grey" in fig.layout.title.subtitle.text


def test_changes_never_read_minus_zero_and_the_zero_tick_reads_0(pairs):
    assert change_text(-0.0004) == "0.000" and change_text(-0.0004, -0.002, 0.001) == "0.000, within noise"
    assert change_text(-0.0012, -0.003, 0.001) == "−0.001, within noise" and change_text(float("nan")) == "n/a"
    deltas, note = _noise(pairs["quick"], pairs["default"])
    fig = metrics_delta_figure(deltas.assign(delta_r2_holdout=-0.0004), ("A", "B"), "both: tail", note)
    texts = [a.text for a in fig.layout.annotations] + list(fig.data[0].customdata[:, 2])
    assert not [t for t in texts if "-0.000" in t or "−0.000" in t or "+0.000" in t]
    ticks = list(fig.layout.xaxis.ticktext)
    assert "0" in ticks and not [t for t in ticks if t in ("+0", "−0", "-0")]
    assert dict(zip(fig.layout.xaxis.tickvals, ticks))[0.0] == "0"


def _predictions(rows: list[int]) -> pd.DataFrame:
    """Hold-out predictions of one session sampled every second, on the telemetry rows `rows`."""
    rows = np.asarray(rows)
    return pd.DataFrame({"row": rows, "timestamp": 1.7e9 + rows.astype(float), "session": 0, "workload_type": "web",
                         "actual": rows * 1.0, "L1:m": rows + 0.5})


def test_the_overlaid_traces_break_where_shared_rows_are_not_neighbours_and_dot_a_lone_row():
    a = _predictions([*range(0, 10), 15, *range(20, 30)])
    b = _predictions([*range(0, 12), 15, *range(18, 30)])  # shared: 0–9, 15, 20–29
    fig = compare_predictions_figure([("A", a, "L1:m"), ("B", b, "L1:m")])
    actual = np.asarray(fig.data[0].y, dtype=float)
    runs = [len(run) for run in "".join("x" if np.isfinite(v) else " " for v in actual).split()]
    assert runs == [10, 1, 10]  # no line from row 9 to 15 nor from 15 to 20
    sizes = np.asarray(fig.data[1].marker.size)
    assert sizes[np.isfinite(actual)].tolist() == [0] * 10 + [4] + [0] * 10  # row 15 is a dot, the rest lines
    assert "dots: a row with no shared neighbour" in fig.layout.title.subtitle.text
    whole = compare_predictions_figure([("A", a, "L1:m")])  # one run: rows 0–9 and 20–29 apart, 15 alone
    assert np.isnan(np.asarray(whole.data[0].y, dtype=float)).sum() == 2



@pytest.mark.parametrize(("delta", "low", "high", "shown"), [
    (0.0004, 0.0001, 0.0007, "0.000, within noise"),  # a change that reads 0.000 is never beyond the noise
    (0.02, 0.01, 0.03, "+0.020, beyond noise"), (-0.02, -0.03, -0.01, "−0.020, beyond noise"),
    (0.02, -0.01, 0.03, "+0.020, within noise"), (0.02, None, None, "+0.020"), (None, None, None, "n/a"),
    (pd.NA, 0.01, 0.03, "n/a"),
])
def test_a_change_is_beyond_noise_only_when_it_reads_nonzero_and_its_interval_excludes_zero(delta, low, high, shown):
    assert change_text(delta, low, high) == shown


def test_an_interval_from_shared_rows_that_does_not_hold_the_change_is_not_shown(pairs):
    deltas, _ = _noise(pairs["quick"], pairs["default"])
    shifted = deltas.assign(delta_r2_holdout=deltas["delta_r2_holdout"] + 1.0)  # a change its interval cannot hold
    quick, default = pairs["quick"], pairs["default"]
    again, note = change_noise(shifted, quick.metrics, quick.evaluation.predictions, default.metrics,
                               default.evaluation.predictions, seed=0)
    assert again[["ci_low", "ci_high"]].isna().all(axis=None)
    assert note.startswith("noise: 95 % block-bootstrap interval on the ")  # measured, but for no row of this table
