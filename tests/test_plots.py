"""Figure builders: check the data the figures carry, not only that they exist."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from twin_core import plots
from twin_core.compare import metric_deltas_from_metrics
from twin_core.demo import make_demo_telemetry
from twin_core.pipeline import train_twin
from twin_core.presets import get_preset
from twin_core.telemetry import SESSION, TIMESTAMP
from twin_core.whatif import Scenario, ask


@pytest.fixture(scope="module")
def telemetry():
    return make_demo_telemetry(rows=1800, cores=4, sessions=3, seed=3)


@pytest.fixture(scope="module")
def result(telemetry):
    return train_twin(telemetry, get_preset("quick"))


@pytest.fixture(scope="module")
def other(telemetry):
    """A second run whose hold-out overlaps the first one's only partly (a bigger test fraction)."""
    config = get_preset("quick")
    return train_twin(telemetry, replace(config, name="quick-30", split=replace(config.split, test_fraction=0.3)))


def _session_of(evaluation, seconds_ms: np.ndarray) -> np.ndarray:
    """Map plotted datetimes back to sessions through the hold-out rows' timestamps."""
    preds = evaluation.predictions
    lookup = dict(zip(np.rint(preds[TIMESTAMP].to_numpy() * 1000).astype(np.int64), preds[SESSION]))
    return np.array([lookup[int(v)] for v in seconds_ms])


def _assert_no_line_joins_sessions(trace: go.Scatter) -> None:
    """Between any two consecutive finite points of a line, the session is the same."""
    y = np.asarray(trace.y, dtype=float)
    sessions = np.array([row[0] for row in trace.customdata], dtype=object)
    both = np.isfinite(y[1:]) & np.isfinite(y[:-1])
    assert np.all(sessions[1:][both] == sessions[:-1][both])
    assert trace.connectgaps is False


def test_utilisation_one_trace_per_column_thinned_and_sessions_marked():
    big = make_demo_telemetry(rows=12_000, cores=4, sessions=3, seed=1)
    fig = plots.utilisation_figure(big, max_points=500)
    assert [t.name for t in fig.data] == ["overall", "core 0 (target)", "core 1", "core 2", "core 3"]
    for trace in fig.data:
        assert len(trace.y) <= 500
        _assert_no_line_joins_sessions(trace)
    overall = np.asarray(fig.data[0].y, dtype=float)
    assert np.nanmax(overall) == big.frame["cpu_util_overall"].max()
    assert np.nanmin(overall) == big.frame["cpu_util_overall"].min()
    assert len(fig.layout.xaxis.rangebreaks) == 2  # idle time between the 3 sessions cut out
    assert sum(1 for a in fig.layout.annotations if a.text.startswith("S")) == 3
    assert "%" in fig.layout.yaxis.title.text


def test_utilisation_selected_columns(telemetry):
    fig = plots.utilisation_figure(telemetry, columns=["cpu_util_core_2"])
    assert [t.name for t in fig.data] == ["core 2"]
    np.testing.assert_array_equal(np.asarray(fig.data[0].y, dtype=float)[np.isfinite(fig.data[0].y)],
                                  telemetry.frame["cpu_util_core_2"].to_numpy())
    with pytest.raises(KeyError, match="not in the telemetry"):
        plots.utilisation_figure(telemetry, columns=["cpu_util_core_9"])


def test_layer_r2_bars_and_baseline_lines(result):
    ev = result.evaluation
    fig = plots.layer_r2_figure(ev, result.split.description, "blocked 3 folds, 5-row gap")
    holdout, oof = fig.data
    labels = [f"L{layer} · {name}" for layer, name in zip(ev.models["layer"], ev.models["name"])]
    assert list(holdout.x) == labels and list(oof.x) == labels
    np.testing.assert_allclose(holdout.y, ev.models["r2_holdout"])
    np.testing.assert_allclose(oof.y, ev.models["r2_oof"])
    lines = {round(s.y0, 9) for s in fig.layout.shapes if s.type == "line"}
    assert lines == {round(v, 9) for v in ev.baselines["r2_holdout"]}
    texts = " ".join(a.text for a in fig.layout.annotations)
    assert all(name in texts for name in ("identity", "persistence", "mean"))
    subtitle = fig.layout.title.subtitle.text
    assert result.split.description in subtitle and "5-row gap" in subtitle


def test_stack_diagram_nodes_and_arrows(result):
    config = get_preset("seed-v3")
    fig = plots.stack_diagram(config, None)
    nodes = sum(len(t.x) for t in fig.data)
    assert nodes == len(config.feature_sets) + sum(len(layer.models) for layer in config.stack.layers)
    arrows = [a for a in fig.layout.annotations if a.showarrow]
    assert sum(a.name == "model" for a in arrows) == 3 * 2 + 2 * 1
    assert sum(a.name == "feature" for a in arrows) == 3
    quick = plots.stack_diagram(result.config, result.evaluation)
    texts = " ".join(" ".join(t.text) for t in quick.data)
    for r2 in result.evaluation.models["r2_holdout"]:
        assert f"R² {r2:.3f}" in texts
    assert "lightgbm" in texts and "ridgecv" in texts


def test_stack_diagram_marks_passthrough():
    config = get_preset("quick")
    layers = (config.stack.layers[0], replace(config.stack.layers[1], passthrough=True))
    fig = plots.stack_diagram(replace(config, stack=replace(config.stack, layers=layers)))
    assert any("passthrough" in a.text for a in fig.layout.annotations)


@pytest.mark.parametrize("key", ["L2:top-ridge", "identity"])
def test_residual_figures(result, key):
    ev = result.evaluation
    figs = plots.residual_figures(ev, key, max_points=200)
    assert set(figs) == {"vs_predicted", "over_time", "histogram", "by_workload", "autocorrelation"}
    residuals = ev.residuals(key).dropna()
    scatter = figs["vs_predicted"].data[0]
    assert len(scatter.x) <= 200
    assert max(scatter.y) == residuals.max() and min(scatter.y) == residuals.min()
    over = figs["over_time"].data[0]
    assert len(over.y) <= 200
    _assert_no_line_joins_sessions(over)
    assert sum(figs["histogram"].data[0].y) == len(residuals)
    boxes = figs["by_workload"].data
    assert sorted(b.name for b in boxes) == sorted(ev.predictions["workload_type"].unique())
    for box in boxes:
        own = residuals[ev.predictions.loc[residuals.index, "workload_type"] == box.name]
        assert box.median[0] == pytest.approx(own.median())
    assert list(figs["autocorrelation"].data[0].x) == list(range(1, 31))


def test_residual_unknown_key(result):
    with pytest.raises(KeyError, match="not a model or baseline"):
        plots.residual_figures(result.evaluation, "L9:nothing")


def test_trace_figure_thinned_and_broken_between_sessions(result):
    ev = result.evaluation
    fig = plots.trace_figure(ev, ["L2:top-ridge", "identity"], max_points=100)
    assert [t.name for t in fig.data] == ["actual", "L2:top-ridge", "identity"]
    for trace in fig.data:
        assert len(trace.y) <= 100
        _assert_no_line_joins_sessions(trace)
    finite = np.isfinite(np.asarray(fig.data[0].y, dtype=float))
    assert np.isnan(np.asarray(fig.data[0].y, dtype=float)).sum() == ev.predictions[SESSION].nunique() - 1
    plotted_sessions = _session_of(ev, np.asarray(fig.data[0].x)[finite].astype(np.int64))
    assert set(plotted_sessions) == set(ev.predictions[SESSION])
    assert max(np.asarray(fig.data[0].y)[finite]) == ev.predictions["actual"].max()


def test_trace_figure_zooms_to_one_session(result):
    ev = result.evaluation
    fig = plots.trace_figure(ev, ["L1:lgbm"], session=1)
    rows = ev.predictions[ev.predictions[SESSION] == 1]
    np.testing.assert_allclose(fig.data[1].y, rows["L1:lgbm"])
    assert not fig.layout.xaxis.rangebreaks
    with pytest.raises(ValueError, match="no hold-out rows"):
        plots.trace_figure(ev, ["L1:lgbm"], session=99)


def test_compare_traces_on_shared_rows(result, other):
    fig = plots.compare_predictions_figure([(label, run.evaluation.predictions, run.evaluation.best["key"])
                                            for label, run in (("A", result), ("B", other))])
    shared = set(result.evaluation.predictions["row"]) & set(other.evaluation.predictions["row"])
    assert len(shared) < len(other.evaluation.predictions)
    assert [t.name for t in fig.data] == ["actual", f"A: {result.evaluation.best['key']}",
                                          f"B: {other.evaluation.best['key']}"]
    b = other.evaluation.predictions.set_index("row").loc[sorted(shared), other.evaluation.best["key"]]
    y = np.asarray(fig.data[2].y, dtype=float)
    np.testing.assert_allclose(y[np.isfinite(y)], b.to_numpy())
    for trace in fig.data:
        _assert_no_line_joins_sessions(trace)


def test_metrics_delta_figure(result, other):
    table = metric_deltas_from_metrics(result.metrics, other.metrics)
    fig = plots.metrics_delta_figure(table, labels=("quick", "quick-30"))
    bars = fig.data[0]
    assert list(bars.y) == table["name"].tolist()[::-1]
    np.testing.assert_allclose(bars.x, table["delta_r2_holdout"].to_numpy()[::-1])
    assert "quick-30" in fig.layout.title.text


def test_compare_predictions_of_chosen_models_in_one_session(result, other):
    frames = [("A", result.evaluation.predictions, "L1:ridge"), ("B", other.evaluation.predictions, "L1:lgbm")]
    fig = plots.compare_predictions_figure(frames, session=2, max_points=200)
    assert [t.name for t in fig.data] == ["actual", "A: L1:ridge", "B: L1:lgbm"]
    shared = sorted(set(result.evaluation.predictions["row"]) & set(other.evaluation.predictions["row"]))
    rows = result.evaluation.predictions.set_index("row").loc[shared]
    np.testing.assert_allclose(fig.data[1].y, rows.loc[rows[SESSION] == 2, "L1:ridge"])
    np.testing.assert_allclose(fig.data[0].y, rows.loc[rows[SESSION] == 2, "actual"])
    with pytest.raises(ValueError, match="Pick at least one run"):
        plots.compare_predictions_figure([])


def test_whatif_figure_two_predicted_traces_thinned_and_broken(result, telemetry):
    answer = ask(result.model, telemetry, Scenario("busier", core_scale=1.5))
    fig = plots.whatif_figure(answer, max_points=120)
    assert [t.name for t in fig.data] == ["actual", "predicted, as recorded", "predicted, busier"]
    for trace in fig.data:
        assert len(trace.y) <= 120
        _assert_no_line_joins_sessions(trace)
    assert np.isnan(np.asarray(fig.data[1].y, dtype=float)).sum() == answer.predictions[SESSION].nunique() - 1
    assert "busier" in fig.layout.title.text and "not measurements" in fig.layout.title.subtitle.text

    zoomed = plots.whatif_figure(answer, session=1)
    rows = answer.predictions[answer.predictions[SESSION] == 1].sort_values(TIMESTAMP)
    np.testing.assert_allclose(zoomed.data[1].y, rows["baseline"])
    np.testing.assert_allclose(zoomed.data[2].y, rows["scenario"])
    np.testing.assert_allclose(zoomed.data[0].y, rows["actual"])


def test_live_figure_draws_actual_and_prediction_by_seconds_before_the_newest_sample():
    seconds = 1.7e9 + np.r_[np.arange(5) * 0.1, 1.0 + np.arange(3) * 0.1]  # a redraw's pause after the fifth sample
    history = pd.DataFrame({"timestamp": seconds, "actual": np.arange(8.0), "predicted": np.arange(8.0) + 1})
    actual, predicted = plots.live_figure(history, "cpu_util_core_0", 0.1).data
    np.testing.assert_allclose(actual.x, [-1.2, -1.1, -1.0, -0.9, -0.8, -0.2, -0.1, 0.0], atol=1e-6)
    np.testing.assert_array_equal(actual.y, np.arange(8.0))
    np.testing.assert_array_equal(predicted.y, np.arange(8.0) + 1)
    assert (actual.name, predicted.name) == ("actual", "twin's prediction")
