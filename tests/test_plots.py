"""Figure builders: check the data the figures carry, not only that they exist."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from twin_core import plots, plots_anomalies
from twin_core.anomalies import find_episodes
from twin_core.compare import metric_deltas_from_metrics
from twin_core.evaluate import Evaluation, model_words
from twin_core.demo import make_demo_telemetry
from twin_core.pipeline import train_twin
from twin_core.presets import get_preset
from twin_core.telemetry import SESSION, TIMESTAMP, telemetry_from_frames
from twin_core.whatif import Scenario, WhatIfAnswer, ask


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
    assert "12,000 samples in 3 sessions;" in fig.layout.title.subtitle.text
    one = plots.utilisation_figure(make_demo_telemetry(rows=600, cores=4, sessions=1, seed=1))
    assert "600 samples in 1 session;" in one.layout.title.subtitle.text  # singular, no "session(s)"
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


def test_layer_r2_bars_are_horizontal_named_in_full_beside_baseline_bars(result):
    ev = result.evaluation
    fig = plots.layer_r2_figure(ev, result.split.description, "blocked 3 folds, 5-row gap")
    holdout, oof, baselines = fig.data[:3]  # then the legend's two keys
    assert {t.orientation for t in fig.data} == {"h"}
    assert list(holdout.y) == ["layer 1 · lgbm", "layer 1 · ridge", "layer 2 · top-ridge ★"]  # ★: best by OOF
    assert list(oof.y) == list(holdout.y) and holdout.offsetgroup != oof.offsetgroup  # side by side
    np.testing.assert_allclose(holdout.x, ev.models["r2_holdout"])
    np.testing.assert_allclose(oof.x, ev.models["r2_oof"])
    assert list(baselines.y) == ["identity baseline", "persistence baseline", "training-mean baseline"]
    np.testing.assert_allclose(baselines.x, ev.baselines["r2_holdout"])
    assert fig.layout.yaxis.automargin is True and fig.layout.yaxis.autorange == "reversed"
    low, high = fig.layout.xaxis.range
    assert low <= min(ev.models["r2_oof"].min(), ev.baseline_r2("identity"))
    assert high > ev.models["r2_holdout"].max()
    subtitle = fig.layout.title.subtitle.text
    assert result.split.description.split(":")[0] in subtitle and "5-row gap" in subtitle


def test_layer_r2_axis_zooms_in_on_close_models_and_says_where_it_starts(result):
    close = result.evaluation.models.assign(r2_holdout=[0.921, 0.925, 0.93], r2_oof=[0.92, 0.922, 0.928])
    baselines = result.evaluation.baselines.assign(r2_holdout=[0.5, 0.45, -0.0004])  # identity, persistence, mean
    ev = replace(result.evaluation, models=close, baselines=baselines)
    fig = plots.layer_r2_figure(ev, "tail", "folds")
    low, high = fig.layout.xaxis.range
    assert 0.9 <= low <= 0.92 and high > 0.93  # 0.92 and 0.93 a visible step apart, every model on the axis
    assert f"the axis starts at {low:g}, not 0" in fig.layout.xaxis.title.text
    off = {a.y: a.text for a in fig.layout.annotations if "below the axis start" in a.text}
    assert off == {"identity baseline": "◂ 0.500 (below the axis start)",
                   "persistence baseline": "◂ 0.450 (below the axis start)",
                   "training-mean baseline": "◂ 0.000 (below the axis start)"}  # a tiny negative never reads -0.000
    assert list(fig.data[2].text) == ["", "", ""]  # no value printed over the y axis names


def test_layer_r2_axis_holds_the_baselines_when_models_differ(result):
    spread = result.evaluation.models.assign(r2_holdout=[0.6, 0.8, 0.9], r2_oof=[0.55, 0.8, 0.85])
    fig = plots.layer_r2_figure(replace(result.evaluation, models=spread), "tail", "folds")
    low, _ = fig.layout.xaxis.range
    assert low <= min(0.55, result.evaluation.baseline_r2("identity"))


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
    assert [t.name for t in fig.data][:3] == ["actual", "layer 2 · top-ridge", "identity baseline"]
    for trace in fig.data[:3]:
        assert len(trace.y) <= 100
        _assert_no_line_joins_sessions(trace)
    finite = np.isfinite(np.asarray(fig.data[0].y, dtype=float))
    assert np.isnan(np.asarray(fig.data[0].y, dtype=float)).sum() == ev.predictions[SESSION].nunique() - 1
    plotted_sessions = _session_of(ev, np.asarray(fig.data[0].x)[finite].astype(np.int64))
    assert set(plotted_sessions) == set(ev.predictions[SESSION])
    assert max(np.asarray(fig.data[0].y)[finite]) == ev.predictions["actual"].max()


def test_trace_shades_the_best_models_band_with_its_coverage_and_never_across_sessions(result):
    ev = result.evaluation
    best = ev.best["key"]
    fig = plots.trace_figure(ev, [best, "identity"], max_points=200)
    band = fig.data[-1]
    covered = result.metrics["best"]["interval"]["coverage_holdout"]
    assert band.name == f"{model_words(best)}: 90 % interval (covers {100 * covered:.1f} % of hold-out rows)"
    assert band.fill == "toself" and band.zorder == -1
    colour = plotly.colors.hex_to_rgb(plots.key_colour(ev, best))  # opaque enough over the grey session shading
    assert band.fillcolor == "rgba({}, {}, {}, {})".format(*colour, plots.BAND_FILL_OPACITY)
    assert plots.BAND_FILL_OPACITY >= 0.25 and band.line.width > 0 and band.line.color.startswith("rgba({}, {}, {},"
                                                                                                  .format(*colour))
    y = np.asarray(band.y, dtype=float)
    assert np.isnan(y).sum() == ev.predictions[SESSION].nunique()  # one closed outline per session, none joined
    assert len(y) <= 2 * 200 + ev.predictions[SESSION].nunique()
    lower, upper = ev.predictions[f"lower {best}"], ev.predictions[f"upper {best}"]
    assert np.nanmin(y) >= lower.min() - 1e-4 and np.nanmax(y) <= upper.max() + 1e-4
    # no band for a model other than the best, nor for a run without intervals
    assert len(plots.trace_figure(ev, ["identity"]).data) == 2
    assert len(plots.trace_figure(replace(ev, interval={}), [best]).data) == 2


def test_trace_figure_zooms_to_one_session(result):
    ev = result.evaluation
    fig = plots.trace_figure(ev, ["L1:lgbm"], session=1)
    rows = ev.predictions[ev.predictions[SESSION] == 1]
    np.testing.assert_allclose(fig.data[1].y, rows["L1:lgbm"])
    assert not fig.layout.xaxis.rangebreaks
    with pytest.raises(ValueError, match="no hold-out rows"):
        plots.trace_figure(ev, ["L1:lgbm"], session=99)


def _paused(predictions: pd.DataFrame, session: int, intervals: float) -> tuple[pd.DataFrame, float, float]:
    """The hold-out rows with a pause of `intervals` median steps in the middle of `session`: frame, last time
    before the pause and first after it."""
    frame = predictions.sort_values(TIMESTAMP).reset_index(drop=True)
    rows = np.flatnonzero(frame[SESSION].to_numpy() == session)
    cut = rows[len(rows) // 2]
    step = float(np.median(np.diff(frame[TIMESTAMP].to_numpy()[rows])))
    seconds = frame[TIMESTAMP].to_numpy().copy()
    seconds[cut:] += intervals * step
    return frame.assign(timestamp=seconds), seconds[cut - 1], seconds[cut]


def test_trace_line_breaks_at_a_pause_inside_a_session_not_at_a_short_stall(result):
    ev = result.evaluation
    frame, before, after = _paused(ev.predictions, 1, 30)
    fig = plots.trace_figure(replace(ev, predictions=frame), ["L1:lgbm"], session=1)
    for trace in fig.data:
        y = np.asarray(trace.y, dtype=float)
        assert np.isnan(y).sum() == 1  # one session shown, one pause inside it
        gap = int(np.flatnonzero(np.isnan(y))[0])
        x = np.asarray(trace.x).astype("datetime64[ms]").astype(np.int64) / 1000
        assert (x[gap - 1], x[gap + 1]) == pytest.approx((before, after))
    stalled, _, _ = _paused(ev.predictions, 1, plots.PAUSE_FACTOR / 2)
    fig = plots.trace_figure(replace(ev, predictions=stalled), ["L1:lgbm"], session=1)
    assert np.isfinite(np.asarray(fig.data[1].y, dtype=float)).all()


def test_utilisation_line_breaks_at_a_pause_the_loader_kept_inside_a_session(telemetry):
    frame, _, _ = _paused(telemetry.frame.drop(columns="source"), 0, 30)
    paused = telemetry_from_frames([("f", frame.drop(columns=SESSION))])
    assert paused.n_sessions == telemetry.n_sessions  # 30 sampling intervals (3 s) start no new session
    y = np.asarray(plots.utilisation_figure(paused, columns=["cpu_util_overall"], max_points=300).data[0].y,
                   dtype=float)
    assert np.isnan(y).sum() == paused.n_sessions - 1 + 1


def test_trace_axis_keeps_predictions_beyond_0_and_100_in_view(result):
    ev = result.evaluation
    low, high = plots.trace_figure(ev, ["L1:lgbm"]).layout.yaxis.range
    assert low <= 0 and high >= 100
    wild = ev.predictions.copy()
    wild.loc[wild.index[3], "L1:lgbm"], wild.loc[wild.index[-4], "L1:lgbm"] = 131.0, -22.0
    fig = plots.trace_figure(replace(ev, predictions=wild), ["L1:lgbm"], max_points=100)
    y = np.asarray(fig.data[1].y, dtype=float)
    assert np.nanmax(y) == 131.0 and np.nanmin(y) == -22.0
    low, high = fig.layout.yaxis.range
    assert low < -22.0 and high > 131.0


def test_time_axis_ticks_at_round_times_dated_once(result):
    fig = plots.trace_figure(result.evaluation, ["L1:lgbm"])
    ticks = np.asarray(fig.layout.xaxis.tickvals, dtype="datetime64[ms]").astype(np.int64) / 1000
    texts = list(fig.layout.xaxis.ticktext)
    assert 3 <= len(ticks) <= plots.MAX_TIME_TICKS + 1 and np.all(np.diff(ticks) > 0)
    step = np.diff(ticks).min()
    assert np.all(ticks % step == 0)  # round times, on the step chosen
    seconds = result.evaluation.predictions[TIMESTAMP]
    assert seconds.min() <= ticks[0] and ticks[-1] <= seconds.max()
    assert "<br>" in texts[0] and not any("<br>" in t for t in texts[1:])  # the demo spans one day


def test_stack_diagram_boxes_fit_their_names():
    config = get_preset("seed-v3")
    long_name = "v2.1-tuned-with-a-much-longer-name"
    first = config.stack.layers[0]
    models = (first.models[0], replace(first.models[1], name=long_name), first.models[2])
    config = replace(config, stack=replace(config.stack, layers=(replace(first, models=models),
                                                                 *config.stack.layers[1:])))
    fig = plots.stack_diagram(config)
    boxes = sorted((s.x0, s.x1) for s in fig.layout.shapes if s.type == "rect")
    columns = sorted(set(boxes))
    assert len(columns) == 1 + len(config.stack.layers)  # one width per column
    assert all(a[1] < b[0] for a, b in zip(columns, columns[1:]))  # columns never overlap
    x0, x1 = columns[1]
    assert x1 - x0 >= len(long_name) * 7  # about 7 px a bold 12 px character
    assert fig.layout.width >= columns[-1][1]


def _strings(value: object) -> list[str]:
    """Every string inside a figure's JSON-like dict (texts, names, titles, annotations, tick labels)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, (list, tuple, np.ndarray)):
        return [s for item in value for s in _strings(item)]
    return []


EVIL = '<a href="https://x">m</a>'


def test_user_names_reach_plotly_as_plain_text_never_as_links(result, telemetry):
    config = result.config
    layer = config.stack.layers[0]
    evil = replace(config, name=EVIL, stack=replace(config.stack, layers=(
        replace(layer, models=(replace(layer.models[0], name=EVIL), *layer.models[1:])), *config.stack.layers[1:])))
    models = result.evaluation.models.assign(name=[EVIL, *result.evaluation.models["name"][1:]])
    answer = ask(result.model, telemetry, Scenario(f"<b>{EVIL}</b> & more", core_scale=1.5))
    for fig in (plots.stack_diagram(evil), plots.layer_r2_figure(replace(result.evaluation, models=models), "t", "f"),
                plots.whatif_figure(answer)):
        texts = _strings(fig.to_plotly_json()["layout"]) + _strings(fig.to_plotly_json()["data"])
        assert not any("<a" in text or "<b><a" in text for text in texts)
        assert any("&lt;a href=\"https://x\"&gt;m&lt;/a&gt;" in text for text in texts)  # still said, as text
    assert plots.stack_diagram(evil).layout.title.text == ("Stack of configuration "
                                                           "'&lt;a href=\"https://x\"&gt;m&lt;/a&gt;'")


def test_stack_diagram_says_run_once_trained_and_configuration_before(result):
    assert plots.stack_diagram(result.config).layout.title.text == "Stack of configuration 'quick'"
    assert plots.stack_diagram(result.config, result.evaluation).layout.title.text == "Stack of run 'quick'"
    assert plots.stack_diagram(result.config, result.evaluation, "quick #1").layout.title.text == \
        "Stack of run 'quick #1'"  # the run's label, as the pages name it


@pytest.mark.parametrize(("preset", "font_px"), [("default", 13), ("seed-v3", 13)])
def test_stack_diagram_text_reads_on_a_projector_and_fits_the_main_column_at_1280(preset, font_px):
    fig = plots.stack_diagram(get_preset(preset))
    assert {t.textfont.size for t in fig.data} == {font_px}
    assert fig.layout.width <= plots.STACK_MAX_PX


def test_stack_diagram_of_four_layers_of_long_names_steps_down_to_12_px():
    config = get_preset("default")
    layer = config.stack.layers[-1]
    long = replace(layer, models=tuple(replace(m, name=f"{m.name}-with-a-longer-name") for m in layer.models))
    config = replace(config, stack=replace(config.stack, layers=(*config.stack.layers, long)))
    fig = plots.stack_diagram(config)
    assert {t.textfont.size for t in fig.data} == {12}
    assert len(fig.data) == 1 + 4


def test_layer_r2_legend_tells_the_pattern_in_grey_and_leaves_colour_to_the_names(result):
    fig = plots.layer_r2_figure(result.evaluation, result.split.description, "folds")
    keys = [(t.name, t.marker.color, t.marker.pattern.shape) for t in fig.data if t.showlegend is not False]
    assert keys == [("hold-out (solid)", plots.NEUTRAL_COLOUR, ""),
                    ("out-of-fold (hatched)", plots.NEUTRAL_COLOUR, "/")]
    holdout, oof, baselines = fig.data[:3]
    assert (holdout.legendgroup, oof.legendgroup, baselines.legendgroup) == ("holdout", "oof", "holdout")
    assert list(baselines.marker.color) == [plots.BASELINE_COLOURS[n] for n in result.evaluation.baselines["name"]]


def test_residual_histogram_says_its_mean_in_the_subtitle_not_over_the_bars(result):
    key = result.evaluation.best["key"]
    fig = plots.residual_figures(result.evaluation, key)["histogram"]
    mean = float(np.nanmean(result.evaluation.residuals(key)))
    assert not [a.text for a in fig.layout.annotations if "mean" in (a.text or "")]
    assert f"dashed line: the mean, {mean:+.2f}" in fig.layout.title.subtitle.text
    line = next(shape for shape in fig.layout.shapes if shape.line.dash == "dash")
    assert line.x0 == pytest.approx(mean) and line.layer == "above"
    assert line.line.color == plots.ACTUAL_COLOUR != fig.data[0].marker.color  # seen against the bars, not lost


def test_subtitles_wrap_less_across_the_page_and_in_even_lines_no_orphan(result, telemetry):
    wide = plots.utilisation_figure(telemetry).layout.title.subtitle.text
    assert "<br>" not in wide and plots.SUBTITLE_CHARS < len(wide) <= plots.WIDE_SUBTITLE_CHARS  # one line: wide
    half = plots.residual_figures(result.evaluation, result.evaluation.best["key"])["autocorrelation"]
    lines = half.layout.title.subtitle.text.split("<br>")
    assert len(lines) == 2 and max(map(len, lines)) <= plots.SUBTITLE_CHARS
    assert min(map(len, lines)) >= 0.8 * max(map(len, lines))  # even: no line of a word or two


def test_compare_traces_on_shared_rows(result, other):
    fig = plots.compare_predictions_figure([(label, run.evaluation.predictions, run.evaluation.best["key"])
                                            for label, run in (("A", result), ("B", other))])
    shared = set(result.evaluation.predictions["row"]) & set(other.evaluation.predictions["row"])
    assert len(shared) < len(other.evaluation.predictions)
    assert [t.name for t in fig.data] == ["actual", f"A: {model_words(result.evaluation.best['key'])}",
                                          f"B: {model_words(other.evaluation.best['key'])}"]
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
    assert [t.name for t in fig.data] == ["actual", "A: layer 1 · ridge", "B: layer 1 · lgbm"]
    shared = sorted(set(result.evaluation.predictions["row"]) & set(other.evaluation.predictions["row"]))
    rows = result.evaluation.predictions.set_index("row").loc[shared]
    np.testing.assert_allclose(fig.data[1].y, rows.loc[rows[SESSION] == 2, "L1:ridge"])
    np.testing.assert_allclose(fig.data[0].y, rows.loc[rows[SESSION] == 2, "actual"])
    with pytest.raises(ValueError, match="Pick at least one run"):
        plots.compare_predictions_figure([])


def test_whatif_figure_two_predicted_traces_thinned_and_broken(result, telemetry):
    answer = ask(result.model, telemetry, Scenario("busier", core_scale=1.5))
    fig = plots.whatif_figure(answer, max_points=120)
    assert [t.name for t in fig.data] == ["actual", "predicted, as recorded", "predicted, busier",
                                          plots.WHATIF_DIFFERENCE, "session mean of the difference"]
    for trace in fig.data:
        assert len(trace.y) <= 120
        _assert_no_line_joins_sessions(trace)
    assert np.isnan(np.asarray(fig.data[1].y, dtype=float)).sum() == answer.predictions[SESSION].nunique() - 1
    assert "busier" in fig.layout.title.text and "not measurements" in fig.layout.title.subtitle.text
    sessions = answer.predictions[SESSION].nunique()
    for panel in ("y domain", "y2 domain"):  # both panels shaded and separated alike, each shade drawn once
        kinds = [shape.type for shape in fig.layout.shapes if shape.yref == panel]
        assert (kinds.count("rect"), kinds.count("line")) == (sessions, sessions - 1)

    zoomed = plots.whatif_figure(answer, session=1)
    rows = answer.predictions[answer.predictions[SESSION] == 1].sort_values(TIMESTAMP)
    np.testing.assert_allclose(zoomed.data[1].y, rows["baseline"])
    np.testing.assert_allclose(zoomed.data[2].y, rows["scenario"])
    np.testing.assert_allclose(zoomed.data[0].y, rows["actual"])


def test_live_figure_draws_the_window_by_seconds_before_the_newest_sample_and_breaks_at_skipped_samples():
    seconds = 1.7e9 + np.r_[np.arange(5) * 0.1, 0.54 + np.arange(3) * 0.1]  # 0.14 s after the 5th: a late tick
    seconds = np.r_[seconds, seconds[-1] + 0.16]  # then 1.6 intervals, over the rule's 1.5: ticks were skipped
    history = pd.DataFrame({"timestamp": seconds, "actual": np.arange(9.0), "predicted": np.arange(9.0) + 1})
    fig = plots.live_figure(history, "cpu_util_core_0", 0.1, 60.0)
    actual, predicted = fig.data
    np.testing.assert_allclose(actual.x, [-0.9, -0.8, -0.7, -0.6, -0.5, -0.36, -0.26, -0.16, -0.16, 0.0],
                               atol=1e-6)
    np.testing.assert_array_equal(actual.y, [0, 1, 2, 3, 4, 5, 6, 7, np.nan, 8])  # one break: before the last
    np.testing.assert_array_equal(predicted.y, [1, 2, 3, 4, 5, 6, 7, 8, np.nan, 9])
    assert (actual.name, predicted.name) == ("actual", "twin's prediction")
    assert not actual.connectgaps and not predicted.connectgaps
    assert fig.layout.xaxis.range == pytest.approx((-1.01, 0.01))  # 0.9 s so far: at least 10 intervals are shown
    assert fig.layout.title.text == "cpu_util_core_0: actual and predicted, the 1 s since Start"
    older = history.assign(timestamp=history["timestamp"] - np.r_[100.0, np.zeros(len(history) - 1)])
    banded = plots.live_figure(history.assign(lower=history["predicted"] - 2, upper=history["predicted"] + 2),
                               "cpu_util_core_0", 0.1, 60.0, nominal=0.9)
    band = banded.data[0]  # behind the lines, as opaque as the Results band, with a thin edge
    assert band.fill == "toself" and band.zorder == -1 and band.line.width > 0
    assert band.fillcolor.endswith(f", {plots.BAND_FILL_OPACITY})")
    full = plots.live_figure(older, "cpu_util_core_0", 0.1, 60.0)  # 100 s of history: the whole window
    assert full.layout.xaxis.range == pytest.approx((-60.6, 0.6))
    assert full.layout.title.text == "cpu_util_core_0: actual and predicted, last 60 s"


# -- a million hold-out rows: what a page sends stays bounded ------------------------------------------------------
PAGE_POINTS, PAGE_BYTES = 10_000, 3_000_000  # the page budget: points per trace, bytes of figure JSON
MODEL_KEYS = ("L1:lgbm", "L1:ridge", "L2:top-ridge")
BASELINE_KEYS = ("identity", "persistence", "mean", "linear_others")
SPIKE_UP, SPIKE_DOWN = 123_457, 654_321  # one-sample extremes of the actual core


@pytest.fixture(scope="module")
def million() -> pd.DataFrame:
    """A million hold-out rows at 10 Hz in 6 sessions an hour apart, session 2 stalling after every 40 samples
    (over 4,000 pauses); the actual core with a one-sample spike up and one down, three models and four baselines."""
    n = 1_000_000
    rng = np.random.default_rng(9)
    session = np.repeat(np.arange(6), -(-n // 6))[:n]
    step = np.where((session == 2) & (np.arange(n) % 40 == 0), 5.0, 0.1) + np.r_[0, np.diff(session)] * 3600.0
    seconds = 1.7e9 + np.cumsum(step)
    actual = np.clip(50 + 30 * np.sin(seconds / 60.0) + rng.normal(0, 3, n), 1, 99)
    actual[SPIKE_UP], actual[SPIKE_DOWN] = 100.0, 0.0
    columns = {key: actual + rng.normal(0, 2 + i, n) for i, key in enumerate(MODEL_KEYS + BASELINE_KEYS)}
    return pd.DataFrame({"row": np.arange(n), TIMESTAMP: seconds, SESSION: session,
                         "workload_type": np.array(["cpu_bound", "io_bound", "mixed"])[session % 3],
                         "actual": actual, **columns})


@pytest.fixture(scope="module")
def million_evaluation(million: pd.DataFrame) -> Evaluation:
    """An evaluation over the million rows: only what the figure builders read of one."""
    models = pd.DataFrame({"layer": [1, 1, 2], "name": [k.split(":")[1] for k in MODEL_KEYS], "key": MODEL_KEYS})
    return Evaluation(models=models, baselines=pd.DataFrame(), layer_gain=pd.DataFrame(), by_session=pd.DataFrame(),
                      by_workload=pd.DataFrame(), predictions=million, best={"key": "L2:top-ridge"},
                      target="cpu_util_core_0")


def _sent(fig: go.Figure) -> tuple[int, int]:
    """The most points in any trace (x values, a line's blanks included) and the bytes of JSON Streamlit sends."""
    points = max(len(t.x) if t.x is not None else len(t.y) for t in fig.data)
    return points, len(pio.to_json(fig, validate=False).encode())


def test_results_figures_of_a_million_rows_fit_the_page_budget(million_evaluation: Evaluation) -> None:
    every_line = plots.trace_figure(million_evaluation, [*MODEL_KEYS, *BASELINE_KEYS])  # all seven lines chosen
    figures = [every_line, *plots.residual_figures(million_evaluation, "L2:top-ridge").values()]
    sent = [_sent(fig) for fig in figures]
    assert max(points for points, _ in sent) <= PAGE_POINTS
    assert sum(size for _, size in sent) <= PAGE_BYTES  # the Results page's figures that grow with the hold-out
    actual = np.asarray(every_line.data[0].y, dtype=float)
    assert np.nanmax(actual) == 100.0 and np.nanmin(actual) == 0.0  # min-max thinning kept both one-sample spikes


def test_a_stalling_session_leaves_half_the_points_to_samples(million_evaluation: Evaluation) -> None:
    """Over 4,000 pauses in a chart of ≤ 4,000 points per line: the breaks take at most half of them."""
    fig = plots.trace_figure(million_evaluation, ["L2:top-ridge"], session=2)
    y = np.asarray(fig.data[0].y, dtype=float)
    assert len(y) <= 4000
    assert np.isfinite(y).sum() >= 1600  # before, the breaks' share left a few dozen samples for the whole session


def test_whatif_and_compare_figures_of_a_million_rows_fit_the_page_budget(million: pd.DataFrame) -> None:
    predictions = million[["row", TIMESTAMP, SESSION, "workload_type", "actual"]].assign(
        baseline=million["L2:top-ridge"], scenario=million["L2:top-ridge"] + 5.0)
    answer = WhatIfAnswer(Scenario("busier", core_scale=1.5), predictions, pd.DataFrame(), "reconstruction", "",
                          "cpu_util_core_0")
    runs = [(f"run {i}", million, key) for i, key in enumerate(MODEL_KEYS)]
    for fig in (plots.whatif_figure(answer), plots.compare_predictions_figure(runs)):
        points, size = _sent(fig)
        assert points <= PAGE_POINTS and size <= PAGE_BYTES


def test_utilisation_of_a_million_rows_and_every_core_fits_the_page_budget(million: pd.DataFrame) -> None:
    cores = {f"cpu_util_core_{c}": np.roll(million["actual"].to_numpy(), 997 * c) for c in range(16)}
    frame = million[[TIMESTAMP, "workload_type"]].assign(cpu_util_overall=np.mean(list(cores.values()), axis=0),
                                                         **cores)
    telemetry = telemetry_from_frames([("million.parquet", frame)])
    fig = plots.utilisation_figure(telemetry)  # overall and all 16 cores: 17 lines
    points, size = _sent(fig)
    assert len(fig.data) == 17
    assert points <= PAGE_POINTS and size <= PAGE_BYTES


def _tick_places(spans: pd.DataFrame, values: list[str]) -> np.ndarray:
    """Where each tick falls along a time axis cut between sessions, as a share of its width."""
    seconds = np.asarray(values, dtype="datetime64[ms]").astype(np.int64) / 1000
    share, places, offset = plots._visible_shares(spans), [], 0.0
    for (start, end), part in zip(spans[["start", "end"]].to_numpy(dtype=float), share):
        inside = seconds[(seconds >= start) & (seconds <= end)]
        places += list(offset + (inside - start) / max(end - start, 1e-9) * part)
        offset += part
    return np.asarray(places)


@pytest.mark.parametrize("seed", range(12))
def test_time_tick_labels_never_touch_on_the_narrowest_plot(seed):
    """Sessions of random lengths and gaps: neighbouring tick labels (centred, the first and each new day's two
    lines wide) keep a gap on the narrowest plot a time chart gets at 1280 px."""
    rng = np.random.default_rng(seed)
    lengths = rng.uniform(20, 400, rng.integers(2, 7))
    starts = 1_758_982_000 + np.cumsum(np.r_[0, lengths[:-1] + rng.uniform(30, 90_000, len(lengths) - 1)])
    spans = pd.DataFrame({"start": starts, "end": starts + lengths, "workload": "w"})
    values, texts = plots._time_ticks(spans)
    places = _tick_places(spans, values) * plots.NARROWEST_PLOT_PX
    widths = [plots.TICK_CHAR_PX * max(len(line) for line in text.split("<br>")) for text in texts]
    assert len(places) == len(texts) >= 1
    for i in range(1, len(places)):
        assert places[i] - places[i - 1] >= (widths[i] + widths[i - 1]) / 2 + plots.TICK_GAP_PX, (i, texts)


def test_trace_legends_stand_under_the_plot_so_it_keeps_the_charts_width(result, other):
    ev = result.evaluation
    for fig in (plots.trace_figure(ev, [ev.best["key"], "identity"]),
                plots.compare_predictions_figure([("A", ev.predictions, ev.best["key"]),
                                                  ("B", other.evaluation.predictions, other.evaluation.best["key"])])):
        legend = fig.layout.legend  # at the figure's foot: plotly reserves its rows under the axis title
        assert (legend.orientation, legend.yref, legend.y, legend.yanchor) == ("h", "container", 0, "bottom")


def _two_bursts() -> pd.DataFrame:
    """A band frame (anomalies.band_frame's columns) of one session at 10 Hz, band 40–60: a long low burst above it
    (the larger episode) and right after it a short tall one."""
    actual = np.full(400, 50.0)
    actual[100:140], actual[150:158] = 70.0, 99.0
    return pd.DataFrame({"row": np.arange(400), TIMESTAMP: 1_758_983_000.0 + 0.1 * np.arange(400), SESSION: 2,
                         "workload_type": "memory_bound", "actual": actual, "predicted": 50.0, "lower": 40.0,
                         "upper": 60.0})


def test_the_anomaly_overview_says_dots_are_ranked_by_size_not_height():
    frame = _two_bursts()
    found = find_episodes(frame, 5)
    assert found["peak_excess"].tolist() == [10.0, 39.0]  # rank 1 is the lower dot: the larger size
    fig = plots_anomalies.episodes_overview_figure(frame, found, "cpu_util_core_0")
    subtitle = fig.layout.title.subtitle.text.replace("<br>", " ")
    assert "y = 0: inside the band" in subtitle and "0 inside the band" not in subtitle.replace("y = 0:", "")
    assert "numbered by rank of size = points beyond the band × samples" in subtitle
    assert fig.data[1].name.replace("<br>", " ") == "episode, numbered by rank of size"


def test_the_episode_zoom_shades_its_neighbours_lightly_with_their_ranks_and_dates_its_axis():
    frame = _two_bursts()
    found = find_episodes(frame, 5)
    chosen = found.loc[found["rank"] == 2].iloc[0]
    fig = plots_anomalies.episode_figure(frame, chosen, "cpu_util_core_0", "90 % band", "a note", episodes=found)
    shaded = [s for s in fig.layout.shapes if s.fillcolor == plots_anomalies.EPISODE_COLOURS["above"]]
    assert sorted(s.opacity for s in shaded) == [plots_anomalies.OTHER_OPACITY, plots_anomalies.CHOSEN_OPACITY]
    assert plots_anomalies.OTHER_OPACITY < plots_anomalies.CHOSEN_OPACITY
    ranks = [a.text for a in fig.layout.annotations if a.yref == "y domain"]
    assert sorted(ranks) == ["1", "<b>2</b>"]  # the taller neighbour is episode 1, marked too
    assert "1 other episode in view (light)" in fig.layout.title.subtitle.text.replace("<br>", " ")
    assert fig.layout.xaxis.title.text == plots.TIME_TITLE
    assert fig.layout.xaxis.ticktext[0].endswith("<br>27 Sep 2025")  # dated as the other time charts
    alone = plots_anomalies.episode_figure(frame, chosen, "cpu_util_core_0", "90 % band", "a note")
    assert [s.opacity for s in alone.layout.shapes if s.fillcolor == plots_anomalies.EPISODE_COLOURS["above"]] == [
        plots_anomalies.CHOSEN_OPACITY]  # without the episodes: only the chosen one
