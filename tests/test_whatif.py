"""What-if scenarios: consistent edits of the inputs and the twin's answer to them."""
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from tests.synthetic import follower_telemetry
from twin_core.config import LayerSpec, ModelSpec
from twin_core.demo import RESPONSE_GAIN, RESPONSE_OFFSETS, make_demo_telemetry
from twin_core.errors import ConfigError, SchemaMismatchError
from twin_core.features import FeatureSpec
from twin_core.pipeline import train_twin, with_target
from twin_core.presets import get_preset
from twin_core.plots import WHATIF_DIFFERENCE, whatif_figure
from twin_core.telemetry import TIMESTAMP
from twin_core.whatif import Scenario, apply_scenario, ask


@pytest.fixture(scope="module")
def model(demo_telemetry):
    return train_twin(demo_telemetry, get_preset("quick")).model


def test_scaling_cores_moves_overall_consistently(demo_telemetry):
    changed = apply_scenario(demo_telemetry, Scenario("busier", core_scale=1.5))
    before, after = demo_telemetry.frame, changed.frame
    others = list(demo_telemetry.other_cores)
    np.testing.assert_allclose(after[others], np.clip(before[others] * 1.5, 0, 100))
    expected = np.clip(before["cpu_util_overall"] + (after[others].sum(axis=1) - before[others].sum(axis=1)) / 8,
                       0, 100)
    np.testing.assert_allclose(after["cpu_util_overall"], expected)
    np.testing.assert_array_equal(after["cpu_util_core_0"], before["cpu_util_core_0"])  # the target is not edited
    assert before is not after and changed.fingerprint != demo_telemetry.fingerprint


@pytest.fixture(scope="module")
def follower():
    """A ridge twin reading only the other cores (no overall, no identity) on telemetry whose target is their
    mean, with that telemetry: the right answer to a what-if on the other cores is known."""
    telemetry = follower_telemetry()
    spec = FeatureSpec(name="others", current_values=False, overall_windows=(), core_windows=(2,),
                       window_stats=("mean",), windows_include_current=True, overall_lags=0, core_lags=0,
                       identity=False, workload_onehot=False)
    config = replace(get_preset("quick"), name="follower", feature_sets=(spec,), stack=replace(
        get_preset("quick").stack, layers=(LayerSpec((ModelSpec("ridge", "ridgecv", {}, "others"),)),)))
    return train_twin(telemetry, config).model, telemetry


@pytest.mark.parametrize(("scenario", "expected"), [
    (Scenario("half as busy", core_scale=0.5), lambda baseline: -0.5 * baseline),
    (Scenario("10 points busier", core_offset=10.0), lambda baseline: 10.0),
    (Scenario("nothing"), lambda baseline: 0.0),
])
def test_the_twin_answers_in_the_direction_and_size_of_the_change(follower, scenario, expected):
    model, telemetry = follower
    answer = ask(model, telemetry, scenario)
    baseline = answer.predictions["baseline"].mean()
    assert 30 < baseline < 70  # the waves' mean: the twin was fitted, not constant
    assert answer.mean_change == pytest.approx(expected(baseline), abs=1.0)
    sessions = answer.summary.set_index("session").drop("all")
    np.testing.assert_allclose(sessions["change"], expected(baseline), atol=2.0)  # every session moves alike
    summary = answer.summary.set_index("session")
    assert summary.loc["all", "rows"] == len(answer.predictions)
    assert summary.loc["all", "change"] == pytest.approx(answer.mean_change)


def test_the_figure_draws_the_difference_itself_with_each_sessions_mean_and_the_mean_in_words(follower):
    model, telemetry = follower
    answer = ask(model, telemetry, Scenario("half as busy", core_scale=0.5))
    ordered = answer.predictions.sort_values(TIMESTAMP, kind="stable")
    fig = whatif_figure(answer)
    lines = {trace.name: np.asarray(trace.y, dtype=float) for trace in fig.data}
    difference = lines[WHATIF_DIFFERENCE]
    kept = np.isfinite(difference)
    np.testing.assert_allclose(difference[kept], (ordered["scenario"] - ordered["baseline"]).to_numpy())
    np.testing.assert_allclose(difference, lines["predicted, half as busy"] - lines["predicted, as recorded"])
    assert next(t for t in fig.data if t.name == WHATIF_DIFFERENCE).yaxis == "y2"  # its own panel, under the lines
    changes = answer.summary.set_index("session").drop("all")["change"]
    mean_trace = next(t for t in fig.data if t.name == "session mean of the difference")
    drawn = pd.DataFrame({"session": [row[0] for row in mean_trace.customdata], "mean": mean_trace.y}).dropna()
    assert drawn.groupby("session")["mean"].agg(["min", "max", "size"]).pipe(
        lambda per: (per["min"] == per["max"]).all() and (per["size"] > 10).all())  # flat, over its whole session
    np.testing.assert_allclose(drawn.groupby("session")["mean"].first().loc[changes.index.astype(int)],
                               changes.to_numpy(float))  # every session has its line, not only the last one
    assert all(changes < -10)  # half as busy: the twin's core 0 follows the other cores down
    words = [a.text for a in fig.layout.annotations if "Mean difference" in a.text]
    assert words == [f"<b>Mean difference {answer.mean_change:+.2f} percentage points</b><br>under 'half as busy' "
                     f"the twin predicts cpu_util_core_0 {abs(answer.mean_change):.2f} points lower than as recorded"]
    assert "percentage points" in fig.layout.yaxis2.title.text


def test_each_panels_legend_stands_beside_it_and_the_title_says_the_scenario_once(follower):
    model, telemetry = follower
    fig = whatif_figure(ask(model, telemetry, Scenario("half as busy", core_scale=0.5)))
    legends = {trace.name: trace.legend or "legend" for trace in fig.data}
    assert legends == {"actual": "legend", "predicted, as recorded": "legend", "predicted, half as busy": "legend",
                       WHATIF_DIFFERENCE: "legend2", "session mean of the difference": "legend2"}
    assert fig.layout.legend.x > 1 and fig.layout.legend2.x > 1  # right of the plots, not under the time axis
    assert (fig.layout.legend.y, fig.layout.legend2.y) == (1.0, fig.layout.yaxis2.domain[1])  # each at its panel's top
    assert fig.layout.title.text == "What-if 'half as busy': predictions and their difference"


def test_relabelled_workload_unknown_to_the_twin_is_a_warning(model, demo_telemetry):
    with pytest.warns(UserWarning, match="not seen in training"):
        answer = ask(model, demo_telemetry, Scenario("new label", workload="gpu_render"))
    recorded = demo_telemetry.frame.loc[answer.predictions.index, "workload_type"]
    assert answer.predictions["workload_type"].tolist() == recorded.tolist()  # the answer keeps the recorded labels


@pytest.mark.parametrize("scenario, message", [
    (Scenario(core_scale=-1), "must be a finite number of at least 0"),
    (Scenario(core_scale=float("nan")), "core_scale must be a finite number of at least 0, got nan"),
    (Scenario(core_scale=float("inf")), "core_scale must be a finite number of at least 0, got inf"),
    (Scenario(core_scale="2"), "core_scale must be a finite number of at least 0, got '2'"),
    (Scenario(core_offset=150), "within ±100"),
    (Scenario(cores=("cpu_util_core_0",)), "the target cannot be edited"),
])
def test_invalid_scenarios(demo_telemetry, scenario, message):
    with pytest.raises(ConfigError, match=message):
        apply_scenario(demo_telemetry, scenario)


def test_scenario_round_trips():
    scenario = Scenario("x", core_scale=1.2, cores=("cpu_util_core_2",), workload="io_bound")
    assert Scenario.from_dict(scenario.to_dict()) == scenario
    with pytest.raises(ConfigError, match="unknown field"):
        Scenario.from_dict({"name": "x", "colour": 1})


def test_a_twin_refuses_telemetry_of_another_machine(model):
    other = make_demo_telemetry(rows=600, cores=4, sessions=2, seed=1)
    assert "8 cores" in model.incompatibility(other)
    with pytest.raises(SchemaMismatchError, match="trained on telemetry with 8 cores"):
        ask(model, other, Scenario())


def test_the_scenario_never_edits_the_twins_own_target(model, demo_telemetry):
    retargeted = with_target(demo_telemetry, "cpu_util_core_3")  # data naming another core as its target
    answer = ask(model, retargeted, Scenario("all busy", core_scale=2.0))
    direct = ask(model, demo_telemetry, Scenario("all busy", core_scale=2.0))
    np.testing.assert_allclose(answer.predictions["scenario"], direct.predictions["scenario"])


@pytest.fixture(scope="module")
def responding():
    """The behavioural-quick twin trained on demo data whose core 0 follows the known response
    (RESPONSE_GAIN × the other cores' mean + RESPONSE_OFFSETS[workload] + noise), with that data."""
    telemetry = make_demo_telemetry(rows=3000, cores=8, sessions=6, seed=0, response=True)
    return train_twin(telemetry, get_preset("behavioural-quick")).model, telemetry


def test_the_behavioural_twin_recovers_the_known_response_to_busier_cores(responding):
    """Every other core 10 points busier: the known response says core 0 moves by 0.5 × 10 = +5 points.

    +10 keeps the rows inside what the twin saw in training: each core stays within 0–100 % (the scenario clips
    the busiest cores at 100, so the function's answer is computed from the shift as applied, about +4.8), and
    the other cores' mean rises by at most 10 points, within the 0–84 % its sessions span, so the LightGBM base
    model is asked inside its range and the answer is the learned response rather than an extrapolation.
    """
    model, telemetry = responding
    scenario = Scenario("10 points busier", core_offset=10.0)
    answer = ask(model, telemetry, scenario)
    rows, others = answer.predictions.index, list(telemetry.other_cores)
    shift = (apply_scenario(telemetry, scenario).frame.loc[rows, others].mean(axis=1)
             - telemetry.frame.loc[rows, others].mean(axis=1))
    known = RESPONSE_GAIN * shift
    assert 4.5 < known.mean() <= 5.0
    assert 4.0 <= answer.mean_change <= 6.0
    assert answer.mean_change == pytest.approx(known.mean(), rel=0.2)
    per_session = known.groupby(telemetry.frame.loc[rows, "session"]).mean()
    sessions = answer.summary.set_index("session").drop("all")
    np.testing.assert_allclose(sessions["change"].to_numpy(float), per_session.to_numpy(), rtol=0.2)


def test_the_behavioural_twin_recovers_the_known_workload_offsets(responding):
    """Every session relabelled memory_bound: the known response moves core 0 by the difference of the offsets
    (memory_bound's own session by nothing), as the twin saw every label in training."""
    model, telemetry = responding
    answer = ask(model, telemetry, Scenario("all memory-bound", workload="memory_bound"))
    sessions = answer.summary.set_index("session").drop("all")
    known = RESPONSE_OFFSETS["memory_bound"] - sessions["workload"].map(RESPONSE_OFFSETS)
    assert sorted(known) == [-5.0, 0.0, 5.0, 10.0, 13.0, 15.0]  # one session per workload
    moved = known.to_numpy() != 0  # within 20 % where the response moves core 0; the unmoved session by < 0.5 points
    np.testing.assert_allclose(sessions["change"].to_numpy(float)[moved], known.to_numpy()[moved], rtol=0.2)
    assert abs(sessions["change"].to_numpy(float)[~moved]).max() < 0.5


def test_a_reconstruction_answer_says_it_follows_from_the_identity_and_a_behavioural_one_does_not(
        model, demo_telemetry, responding):
    reconstruction = ask(model, demo_telemetry, Scenario("busier", core_scale=1.2))
    assert reconstruction.kind == "reconstruction"
    assert "identity" in reconstruction.note and "cpu_util_overall" in reconstruction.note
    behavioural_model, telemetry = responding
    behavioural = ask(behavioural_model, telemetry, Scenario("busier", core_scale=1.2))
    assert behavioural.kind == "behavioural"
    assert "identity" not in behavioural.note
    assert "learned response of cpu_util_core_0 to the other cores and the workload" in behavioural.note
