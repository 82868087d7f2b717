"""Prediction intervals: the conformal quantile, the Mondrian fallback, coverage on data of several shapes, the
metrics and predictions contract, and the calibration kept in (and read back from) the twin's artifact."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from twin_core.artifacts import MANIFEST, decode_model, encode_model
from twin_core.config import AnomalySpec, IntervalSpec, RunConfig
from twin_core.demo import make_demo_telemetry
from twin_core.errors import ConfigError, StoreError
from twin_core.intervals import MIN_GROUP_ROWS, Calibration, calibrate, conformal_quantile, coverage, local_scale
from twin_core.pipeline import train_twin
from twin_core.presets import get_preset
from twin_core.runs import predictions_frame
from twin_core.store import RunStore
from twin_core.telemetry import WORKLOAD, load_telemetry


@pytest.fixture(scope="module")
def quick(demo_telemetry):
    """One quick run on the small demo, shared by the contract and artifact tests."""
    return train_twin(demo_telemetry, get_preset("quick"))


@pytest.mark.parametrize(("scores", "nominal", "expected"), [
    (np.arange(1.0, 20.0), 0.9, 18.0),  # n = 19: rank ceil(20 · 0.9) = 18, not the plain 90th percentile (17.2)
    (np.arange(1.0, 11.0), 0.5, 6.0),  # n = 10: rank ceil(11 · 0.5) = 6
    (np.r_[np.arange(1.0, 20.0), np.nan, np.inf], 0.9, 18.0),  # rows without a prediction do not count
    (np.arange(1.0, 6.0), 0.9, np.nan),  # n = 5: rank 6 does not exist, so no band rather than an invented one
])
def test_the_conformal_quantile_takes_the_finite_sample_rank(scores, nominal, expected):
    np.testing.assert_equal(conformal_quantile(scores, nominal), expected)


@pytest.mark.parametrize(("field", "value", "message"), [
    ("intervals", {"nominal": 0.3}, r"^intervals\.nominal: the nominal interval level must be a number from 0\.5 to "
                                    r"0\.99 \(0\.9 = 90 %\), got 0\.3$"),
    ("intervals", {"nominal": 1.0}, r"^intervals\.nominal: .* got 1\.0$"),
    ("intervals", {"nominal": "90%"}, r"^intervals\.nominal: .* got '90%' \(text\)$"),
    ("intervals", {"method": "bootstrap"}, r"^intervals\.method: must be an interval method: one of split, workload, "
                                           r"local, got 'bootstrap' \(text\)$"),
    ("intervals", {"level": 0.9}, r"^intervals\.level: is an unknown field"),
    ("anomalies", {"min_samples": 0}, r"^anomalies\.min_samples: min_samples must be a whole number of consecutive "
                                      r"samples from 1 to 10,000, got 0$"),
    ("anomalies", {"min_samples": 2.5}, r"^anomalies\.min_samples: .* got 2\.5$"),
])
def test_interval_and_anomaly_settings_out_of_range_name_their_field(field, value, message):
    data = get_preset("quick").to_dict()
    data[field] = value
    with pytest.raises(ConfigError, match=message):
        RunConfig.from_dict(data)


def test_a_config_written_before_intervals_loads_with_their_defaults():
    data = get_preset("quick").to_dict()
    del data["intervals"], data["anomalies"]
    config = RunConfig.from_dict(data)
    assert config.intervals == IntervalSpec(nominal=0.9, method="split") and config.anomalies == AnomalySpec(5)
    assert RunConfig.from_json(config.to_json()) == config


def test_a_workload_with_too_few_out_of_fold_rows_takes_the_pooled_half_width(demo_telemetry):
    labels = demo_telemetry.frame[WORKLOAD].to_numpy()
    big, small = labels[0], next(w for w in labels if w != labels[0])
    rows = np.r_[np.flatnonzero(labels == big), np.flatnonzero(labels == small)[:MIN_GROUP_ROWS - 1]]
    rng = np.random.default_rng(0)
    actual = demo_telemetry.frame[demo_telemetry.target].to_numpy()[rows]
    noise = np.where(labels[rows] == big, 1.0, 10.0) * rng.standard_normal(len(rows))
    cal = calibrate(demo_telemetry, rows, {"L1:m": actual + noise}, nominal=0.9, method="workload")
    assert set(cal.by_workload["L1:m"]) == {str(big)}
    assert cal.by_workload["L1:m"][str(big)] < cal.pooled["L1:m"]
    width = cal.half_width("L1:m", np.array([big, small]), None)
    assert width[1] == cal.pooled["L1:m"] and width[0] == cal.by_workload["L1:m"][str(big)]
    assert any(str(small) in note and "fewer than" in note for note in cal.notes)


def test_the_local_scale_reads_no_target(demo_telemetry):
    rows = np.arange(len(demo_telemetry.frame))
    frame = demo_telemetry.frame.assign(**{demo_telemetry.target: 0.0})
    np.testing.assert_array_equal(local_scale(demo_telemetry, rows), local_scale(replace(demo_telemetry, frame=frame),
                                                                                 rows))
    assert local_scale(demo_telemetry, rows).min() >= 1.0 and np.ptp(local_scale(demo_telemetry, rows)) > 1.0


def test_the_seed_default_run_covers_its_nominal_level_on_the_hold_out(seed_data_dir):
    result = train_twin(load_telemetry(seed_data_dir), get_preset("default"))
    interval = result.metrics["best"]["interval"]
    assert interval["nominal"] == 0.9 and 0.85 <= interval["coverage_holdout"] <= 0.95


@pytest.mark.parametrize(("shape", "preset"), [
    (dict(rows=6000, cores=8, sessions=6, seed=1), "quick"),
    (dict(rows=4000, cores=4, sessions=3, seed=5, response=True), "behavioural-quick"),
])
@pytest.mark.parametrize("method", ["split", "workload"])
def test_demo_data_of_two_shapes_is_covered_near_the_nominal_level(shape, preset, method):
    config = replace(get_preset(preset), intervals=IntervalSpec(nominal=0.9, method=method))
    result = train_twin(make_demo_telemetry(**shape), config)
    for model in result.metrics["models"]:
        assert model["interval"]["method"] == method
        assert 0.85 <= model["interval"]["coverage_holdout"] <= 0.95, model


def test_metrics_and_predictions_carry_every_band(quick):
    metrics, frame = quick.metrics, predictions_frame(quick)
    best = quick.evaluation.best["key"]
    for model in metrics["models"]:
        key = f"L{model['layer']}:{model['name']}"
        covered, width, _ = coverage(frame["actual"], frame[f"lower {key}"], frame[f"upper {key}"])
        assert model["interval"]["coverage_holdout"] == pytest.approx(covered, abs=1e-6)
        assert model["interval"]["mean_width_holdout"] == pytest.approx(width, rel=1e-5)
        assert model["interval"]["n_calibration"] == model["n_oof"]
        assert 0.5 < model["interval"]["coverage_oof"] <= 1 and model["interval"]["mean_width_oof"] > 0
    assert metrics["best"]["interval"] == next(m["interval"] for m in metrics["models"]
                                               if f"L{m['layer']}:{m['name']}" == best)
    np.testing.assert_array_equal(frame["lower"], frame[f"lower {best}"])
    shown = frame[best].clip(0, 100)  # a band lies within 0–100 %, around the prediction as a chart shows it
    assert (frame["lower"] <= shown + 1e-4).all() and (shown <= frame["upper"] + 1e-4).all()
    assert frame["lower"].dtype == np.float32 and frame["lower"].min() >= 0 and frame["upper"].max() <= 100
    assert "coverage_model" in quick.evaluation.by_workload and "coverage_model" in quick.evaluation.by_session


def _every_band(model, telemetry, layers):
    """Every model's band on the rows the twin predicted, by model key."""
    predicted = {f"L{depth}:{name}": frame[name].to_numpy() for depth, frame in enumerate(layers, start=1)
                 for name in frame.columns}
    return model.calibration.bands_for(telemetry, layers[0].index.to_numpy(), predicted)


def test_a_stored_twin_gives_the_same_band_and_an_old_one_gives_none(quick, demo_telemetry):
    files = encode_model(quick.model)
    loaded = decode_model(files.__getitem__, "a test run")
    layers = loaded.predict_layers(demo_telemetry)
    before, after = _every_band(quick.model, demo_telemetry, layers), _every_band(loaded, demo_telemetry, layers)
    assert set(after) == set(before) == set(quick.evaluation.models["key"])
    for key in before:
        np.testing.assert_array_equal(after[key][0], before[key][0])
        np.testing.assert_array_equal(after[key][1], before[key][1])
    # the hold-out rows of the evaluation get the band the twin gives them again, and What-if and Live the top one
    best, test = quick.evaluation.best["key"], quick.evaluation.predictions["row"].to_numpy()
    position = layers[0].index.get_indexer(test)
    np.testing.assert_array_equal(after[best][0][position], quick.evaluation.predictions[f"lower {best}"])
    top = loaded.top_band(demo_telemetry, layers[-1]["top-ridge"])
    np.testing.assert_array_equal(top[1], after["L2:top-ridge"][1])

    manifest = json.loads(files[MANIFEST])
    del manifest["calibration"]  # as written before runs had intervals
    old = decode_model({**files, MANIFEST: json.dumps(manifest).encode()}.__getitem__, "an old run")
    assert old.calibration is None and old.top_band(demo_telemetry, layers[-1]["top-ridge"]) is None

    manifest["calibration"] = {"nominal": 0.9, "method": "guess", "pooled": {}}
    with pytest.raises(StoreError, match=r"^The model of a bad run: unknown interval method 'guess'; train"):
        decode_model({**files, MANIFEST: json.dumps(manifest).encode()}.__getitem__, "a bad run")


def test_a_kept_run_shows_its_band(quick, tmp_path):
    store = RunStore(tmp_path / "runs.sqlite", key=b"test-key", create=True)
    kept = store.kept_run(store.save(quick, label="band"))
    best = quick.evaluation.best["key"]
    assert kept.evaluation.interval == {"nominal": 0.9, "method": "split"}
    assert kept.evaluation.interval_words(best) == quick.evaluation.interval_words(best) != ""
    np.testing.assert_allclose(kept.evaluation.by_workload["coverage_model"],
                               quick.evaluation.by_workload["coverage_model"])
    assert isinstance(kept.model.calibration, Calibration)


def test_a_band_far_from_its_level_is_said_plainly_and_a_near_one_is_not() -> None:
    from twin_core.wording import coverage_note
    level, words = coverage_note(0.9, 0.647)
    assert level == "warning" and "90 % band covers 64.7 %" in words and "25.3 points below" in words
    assert "episodes" not in words and "episodes" in coverage_note(0.9, 0.647, anomalies=True)[1]
    assert coverage_note(0.9, 0.999)[0] == "info" and "wider than needed" in coverage_note(0.9, 0.999)[1]
    assert coverage_note(0.9, 0.86) is None and coverage_note(0.9, 0.94) is None and coverage_note(0.9, None) is None
