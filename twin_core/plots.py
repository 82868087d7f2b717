"""Plotly figure builders: data in, `go.Figure` out (no Streamlit, no I/O).

Time axes show UTC datetimes; the idle time between recording sessions is cut out of the axis (range
breaks), sessions are shaded alternately and labelled, and lines never join two sessions. Every long trace
is min-max downsampled first, so a figure never carries more than `max_points` points per trace.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go

from twin_core.config import RunConfig
from twin_core.downsample import downsample_frame
from twin_core.evaluate import BASELINES, Evaluation, model_key, residual_autocorrelation, score_text
from twin_core.telemetry import OVERALL, SESSION, TIMESTAMP, WORKLOAD, Telemetry
from twin_core.whatif import WhatIfAnswer

ACTUAL_COLOUR = "#222222"
LAYER_SHADES = (  # one hue per layer; models of a layer take its shades in order
    ("#1f77b4", "#6baed6", "#08519c", "#9ecae1"),
    ("#ff7f0e", "#fdae6b", "#a63603", "#fdd0a2"),
    ("#2ca02c", "#74c476", "#006d2c", "#a1d99b"),
    ("#9467bd", "#bcbddc", "#54278f", "#dadaeb"),
    ("#8c564b", "#c49c94", "#5b3a32", "#e7cbc6"),
)
BASELINE_STYLE = {"identity": ("#7f7f7f", "dash"), "persistence": ("#bcbd22", "dot"), "mean": ("#17becf", "dashdot"),
                  "linear_others": ("#e377c2", "dash")}
FEATURE_COLOUR = "#8c8c8c"
BASELINE_COLOUR, SCENARIO_COLOUR = "#1f77b4", "#d62728"  # what-if: predicted as recorded / under the scenario
TIME_TITLE = "time (UTC; gaps between sessions cut out)"
UTIL_TITLE = "utilisation (%)"
RESIDUAL_TITLE = "residual: actual − predicted (percentage points)"
MAX_SESSION_LABELS = 20


# -- colours -----------------------------------------------------------------------------------------------------
def layer_colour(layer: int, index: int = 0) -> str:
    """The colour of the `index`-th model of a layer (1-based layer)."""
    shades = LAYER_SHADES[(layer - 1) % len(LAYER_SHADES)]
    return shades[index % len(shades)]


def _parse_key(key: str) -> tuple[int, str] | None:
    """(layer, name) of a model key like 'L2:meta-ridge'; None for a baseline name."""
    head, _, name = key.partition(":")
    if name and head.startswith("L") and head[1:].isdigit():
        return int(head[1:]), name
    return None


def key_colour(evaluation: Evaluation, key: str) -> str:
    """Consistent colour for a model key (its layer's hue) or a baseline."""
    if key in BASELINE_STYLE:
        return BASELINE_STYLE[key][0]
    parsed = _parse_key(key)
    if parsed is None:
        return ACTUAL_COLOUR
    in_layer = evaluation.models.loc[evaluation.models["layer"] == parsed[0], "key"].tolist()
    return layer_colour(parsed[0], in_layer.index(key) if key in in_layer else 0)


def _core_colours(n: int) -> list[str]:
    if n <= len(plotly.colors.qualitative.D3):
        return list(plotly.colors.qualitative.D3[:n])
    return plotly.colors.sample_colorscale("Turbo", list(np.linspace(0.05, 0.95, n)))


# -- time axis and sessions --------------------------------------------------------------------------------------
def _utc(seconds: np.ndarray) -> np.ndarray:
    """Epoch seconds as naive UTC datetimes (millisecond resolution)."""
    return np.rint(np.asarray(seconds, dtype=float) * 1000.0).astype("datetime64[ms]")


def _thin(frame: pd.DataFrame, columns: list[str], max_points: int) -> pd.DataFrame:
    """Downsample `frame` so the traces of `columns`, with one break point per session change, fit `max_points`."""
    breaks = int(frame[SESSION].nunique()) - 1
    budget = max(max_points - breaks, 2 * len(columns) + 2)
    return downsample_frame(frame, TIMESTAMP, columns, budget)


def _broken(frame: pd.DataFrame, columns: list[str]) -> dict[str, np.ndarray]:
    """x, customdata (session, workload) and each column, with a blank point between sessions so lines break."""
    sessions = frame[SESSION].to_numpy()
    cut = np.flatnonzero(sessions[1:] != sessions[:-1]) + 1
    seconds = frame[TIMESTAMP].to_numpy(dtype=float)
    out = {"x": _utc(np.insert(seconds, cut, seconds[cut - 1]))}
    info = np.column_stack([sessions.astype(object), frame[WORKLOAD].to_numpy(dtype=object)])
    out["customdata"] = np.insert(info, cut, None, axis=0)
    for column in columns:
        out[column] = np.insert(frame[column].to_numpy(dtype=float), cut, np.nan)
    return out


def _session_spans(frame: pd.DataFrame) -> pd.DataFrame:
    """Start, end (epoch s) and workload of each session present in `frame`, in time order."""
    groups = frame.groupby(SESSION, sort=False)
    spans = pd.DataFrame({"start": groups[TIMESTAMP].min(), "end": groups[TIMESTAMP].max(),
                          "workload": groups[WORKLOAD].first()})
    return spans.sort_values("start")


def _mark_sessions(fig: go.Figure, frame: pd.DataFrame) -> None:
    """Cut the idle time between sessions out of the time axis, shade every other session and label them."""
    spans = _session_spans(frame)
    ends, starts = spans["end"].to_numpy()[:-1], spans["start"].to_numpy()[1:]
    fig.update_xaxes(type="date", title_text=TIME_TITLE, rangebreaks=[
        dict(bounds=[str(a), str(b)]) for a, b in zip(_utc(ends), _utc(starts)) if b > a])
    label = len(spans) <= MAX_SESSION_LABELS
    for i, (session, span) in enumerate(spans.iterrows()):
        x0, x1 = _utc(np.array([span["start"], span["end"]]))
        fig.add_vrect(x0=str(x0), x1=str(x1), fillcolor="#000000" if i % 2 else "#ffffff", opacity=0.05,
                      layer="below", line_width=0)
        if label:
            fig.add_annotation(x=str(x0), y=1.0, xref="x", yref="paper", xanchor="left", yanchor="bottom",
                               text=f"S{session} · {span['workload']}", showarrow=False,
                               font=dict(size=10, color="#555555"))
        if i:
            fig.add_vline(x=str(x0), line=dict(color="#999999", width=1, dash="dot"))


def _line(x: np.ndarray, y: np.ndarray, customdata: np.ndarray, name: str, colour: str, width: float = 1.2,
          dash: str | None = None) -> go.Scatter:
    return go.Scatter(x=x, y=y, customdata=customdata, name=name, mode="lines", connectgaps=False,
                      line=dict(color=colour, width=width, dash=dash),
                      hovertemplate=f"{name}: %{{y:.1f}}<br>session %{{customdata[0]}} · %{{customdata[1]}}"
                                    "<extra></extra>")


def _titled(fig: go.Figure, title: str, subtitle: str = "", **layout: object) -> go.Figure:
    """Title, subtitle, the app's template, and the legend in a row under the x axis (lower under a time axis,
    whose two-line date ticks and title would otherwise sit under it)."""
    under_dates = fig.layout.xaxis.type == "date"
    layout = {"margin": dict(t=110, b=110 if under_dates else None), **layout}
    fig.update_layout(title=dict(text=title, subtitle=dict(text=subtitle)), template="plotly_white",
                      legend=dict(orientation="h", yanchor="top", y=-0.32 if under_dates else -0.18), **layout)
    return fig


# -- telemetry ---------------------------------------------------------------------------------------------------
def utilisation_figure(telemetry: Telemetry, columns: list[str] | None = None, max_points: int = 4000) -> go.Figure:
    """Overall and per-core utilisation over time, one trace per column, sessions shaded and labelled."""
    frame = telemetry.frame
    columns = [OVERALL, *telemetry.core_columns] if columns is None else list(columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"Columns {missing} are not in the telemetry; it has {list(frame.columns)}.")
    fig = go.Figure()
    cores = [c for c in columns if c != OVERALL]
    colours = dict(zip(cores, _core_colours(len(cores))))
    for column in columns:
        arrays = _broken(_thin(frame, [column], max_points), [column])
        name = column.removeprefix("cpu_util_").replace("_", " ")
        if column == telemetry.target:
            name += " (target)"
        overall = column == OVERALL
        fig.add_trace(_line(arrays["x"], arrays[column], arrays["customdata"], name,
                            ACTUAL_COLOUR if overall else colours[column], width=2.0 if overall else 1.0))
    _mark_sessions(fig, frame)
    fig.update_yaxes(title_text=UTIL_TITLE, rangemode="tozero")
    return _titled(fig, "CPU utilisation over time",
                   f"{len(frame):,} samples in {telemetry.n_sessions} session(s); lines thinned to ≤ {max_points:,} "
                   "points each (min-max, spikes kept)", hovermode="x unified")


# -- scores ------------------------------------------------------------------------------------------------------
def layer_r2_figure(evaluation: Evaluation, split_description: str, cv_description: str) -> go.Figure:
    """Hold-out and out-of-fold R² of every model, beside the baselines' hold-out R² as reference lines."""
    models = evaluation.models
    labels = [f"L{layer} · {name}" for layer, name in zip(models["layer"], models["name"])]
    colours = [key_colour(evaluation, key) for key in models["key"]]
    custom = np.column_stack([models["kind"], models["mae_holdout"], models["n_without_oof"]])
    fig = go.Figure()
    bars = (("r2_holdout", "hold-out R²", ""), ("r2_oof", "out-of-fold R² (training rows)", "/"))
    # hatch "replace": the default template's "overlay" makes Plotly.js derive the hatch colour from the marker
    # colour, which it cannot do from a list of per-bar colours ("Invalid color specifier" in the console)
    for column, name, pattern in bars:
        hatch = dict(shape=pattern, fillmode="replace")
        fig.add_trace(go.Bar(
            x=labels, y=models[column], name=name, customdata=custom, text=models[column], texttemplate="%{y:.3f}",
            textposition="outside", marker=dict(color=colours, pattern=hatch, opacity=1 if not pattern
                                                else 0.55, line=dict(color=colours, width=1)),
            hovertemplate=f"%{{x}} (%{{customdata[0]}})<br>{name}: %{{y:.4f}}<br>hold-out MAE %{{customdata[1]:.2f}}"
                          "<extra></extra>"))
    low = _r2_axis_floor(models, evaluation.baselines)
    below = []
    for _, base in evaluation.baselines.iterrows():
        colour, dash = BASELINE_STYLE.get(base["name"], ("#7f7f7f", "dash"))
        if np.isfinite(base["r2_holdout"]):
            fig.add_hline(y=float(base["r2_holdout"]), line=dict(color=colour, dash=dash, width=1.5),
                          annotation_text=f"{base['name']} {base['r2_holdout']:.3f}",
                          annotation_position="right", annotation_font=dict(color=colour, size=11))
            if base["r2_holdout"] < low:
                below.append(f"{base['name']} {base['r2_holdout']:.3f}")
    if below:
        fig.add_annotation(x=1.0, y=0.0, xref="paper", yref="paper", xanchor="left", yanchor="top", showarrow=False,
                           text="below axis:<br>" + "<br>".join(below), font=dict(size=11, color="#7f7f7f"))
    fig.update_yaxes(range=[low, 1.0 + 0.08 * (1.0 - low)])
    best = labels[models["key"].tolist().index(evaluation.best["key"])]
    fig.add_annotation(x=best, y=1.0, yref="paper", text="★ best (by OOF R²)", showarrow=False,
                       font=dict(size=11, color="#333333"), yanchor="bottom")
    fig.update_yaxes(title_text="R² (1 = perfect, 0 = training mean)")
    fig.update_xaxes(title_text="model (layer · name)")
    return _titled(fig, "R² per model, hold-out and out-of-fold, against the baselines",
                   f"hold-out: {split_description}<br>out-of-fold: {cv_description}", barmode="group",
                   margin=dict(t=110, r=150))


def _r2_axis_floor(models: pd.DataFrame, baselines: pd.DataFrame) -> float:
    """Bottom of the R² axis: low enough for every model and the identity/persistence lines, zoomed when all are high
    (differences of a few thousandths matter), never below -1 (worse than that reads the same)."""
    values = np.r_[models["r2_holdout"], models["r2_oof"],
                   baselines.loc[baselines["name"].isin(["identity", "persistence", "linear_others"]),
                                 "r2_holdout"]].astype(float)
    values = values[np.isfinite(values)]
    lowest = min(float(values.min()), 0.99) if len(values) else 0.0
    return max(-1.0, lowest - 0.25 * (1.0 - lowest)) if lowest > 0.5 else max(-1.0, min(0.0, lowest - 0.05))


BETTER_COLOUR, WORSE_COLOUR, NEUTRAL_COLOUR = "#2ca02c", "#d62728", "#9e9e9e"
DELTA_VALUES_WIDTH = 200  # px right of the bars for the 'A → B (change)' column, so no label meets a bar or a name


def _delta_colours(delta: np.ndarray, what: pd.Series) -> list[str]:
    """Green when run B's model scores higher, red when lower; grey for no change and for the baselines, which are
    references (the same arithmetic on each run's hold-out), not something a run improved."""
    return [NEUTRAL_COLOUR if kind == "baseline" or not np.isfinite(d) or d == 0
            else BETTER_COLOUR if d > 0 else WORSE_COLOUR for d, kind in zip(delta, what)]


def metrics_delta_figure(table: pd.DataFrame, labels: tuple[str, str] = ("A", "B"),
                         split_description: str = "each run's own hold-out (see the runs table)") -> go.Figure:
    """Change of hold-out R² from run A to run B per model and baseline (a `compare.metric_deltas_from_metrics`
    table of two honest runs): horizontal bars named in words on the y axis, the axis zoomed to the largest change,
    and each row's 'A → B (change)' in a column of its own right of the plot, where it meets no bar and no name."""
    rows = table.iloc[::-1]
    delta = rows["delta_r2_holdout"].to_numpy(dtype=float)
    fig = go.Figure(go.Bar(
        x=delta, y=rows["name"], orientation="h", name=f"{labels[1]} − {labels[0]}",
        marker_color=_delta_colours(delta, rows["what"]),
        customdata=np.column_stack([rows["r2_holdout_a"], rows["r2_holdout_b"]]),
        hovertemplate=f"%{{y}}<br>{labels[0]}: %{{customdata[0]:.4f}}<br>"
                      f"{labels[1]}: %{{customdata[1]:.4f}}<br>change: %{{x:+.4f}}<extra></extra>"))
    for name, a, b, d in zip(rows["name"], rows["r2_holdout_a"], rows["r2_holdout_b"], delta):
        fig.add_annotation(x=1, xref="paper", xanchor="left", xshift=12, y=name, yref="y", showarrow=False,
                           text=f"{score_text(a)} → {score_text(b)} ({score_text(d, '+.3f')})", align="left")
    fig.add_annotation(x=1, xref="paper", xanchor="left", xshift=12, y=1, yref="paper", yanchor="bottom",
                       showarrow=False, text="<b>R² A → B (change)</b>")
    fig.add_vline(x=0, line=dict(color="#555555", width=1))
    reach = float(np.nanmax(np.abs(delta))) if np.isfinite(delta).any() else 0.0
    half = max(1.15 * reach, 0.002)  # zoomed to the largest change: 0.001 apart is still a visible bar
    fig.update_xaxes(title_text=f"change in hold-out R² ({labels[1]} − {labels[0]})", range=[-half, half],
                     tickformat="+~g", zeroline=False)
    fig.update_yaxes(automargin=True, ticksuffix=" ")
    subtitle = (f"{split_description}<br>green: {labels[1]} scores higher · red: lower · grey: no change, "
                "or a baseline (a reference, not an improvement)")
    return _titled(fig, f"Hold-out R²: {labels[0]} → {labels[1]}", subtitle,
                   height=max(340, 170 + 34 * len(rows)), showlegend=False,
                   margin=dict(t=120, r=DELTA_VALUES_WIDTH, b=60))


# -- stack diagram -----------------------------------------------------------------------------------------------
def _column_y(n: int) -> np.ndarray:
    return (n - 1) / 2.0 - np.arange(n)


def _box(fig: go.Figure, x: float, y: float, colour: str, dashed: bool = False, bold: bool = False) -> None:
    fig.add_shape(type="rect", x0=x - 0.36, x1=x + 0.36, y0=y - 0.38, y1=y + 0.38, fillcolor=colour, opacity=0.18,
                  line=dict(color=colour, width=3 if bold else 1.5, dash="dash" if dashed else "solid"),
                  layer="below")


def _arrow(fig: go.Figure, start: tuple[float, float], end: tuple[float, float], kind: str) -> None:
    fig.add_annotation(x=end[0] - 0.37, y=end[1], ax=start[0] + 0.37, ay=start[1], xref="x", yref="y", axref="x",
                       ayref="y", showarrow=True, arrowhead=2, arrowsize=1, arrowwidth=1, text="",
                       arrowcolor="#9a9a9a", name=kind)


def stack_diagram(config: RunConfig, evaluation: Evaluation | None = None) -> go.Figure:
    """Feature sets, then one column per layer; every model of a layer feeds every model of the next."""
    fig = go.Figure()
    scores = {} if evaluation is None else dict(zip(evaluation.models["key"], evaluation.models["r2_holdout"]))
    best = None if evaluation is None else evaluation.best["key"]
    used = {m.feature_set for m in config.stack.layers[0].models} if config.stack.layers else set()
    feature_y = dict(zip([s.name for s in config.feature_sets], _column_y(len(config.feature_sets))))
    for spec in config.feature_sets:
        _box(fig, 0, feature_y[spec.name], FEATURE_COLOUR, dashed=spec.name not in used)
    fig.add_trace(go.Scatter(
        x=[0] * len(feature_y), y=list(feature_y.values()), mode="text", name="feature sets", showlegend=False,
        text=[f"<b>{s.name}</b><br>look-back {s.lookback} rows" + ("" if s.name in used else "<br>(unused)")
              for s in config.feature_sets], hoverinfo="text", textfont=dict(size=11)))
    previous: list[tuple[float, float]] = []
    for depth, layer in enumerate(config.stack.layers, start=1):
        ys = _column_y(len(layer.models))
        texts = []
        for i, (model, y) in enumerate(zip(layer.models, ys)):
            key = model_key(depth, model.name)
            _box(fig, depth, y, layer_colour(depth, i), bold=key == best)
            r2 = scores.get(key)
            texts.append(f"<b>{model.name}</b><br>{model.kind}"
                         + ("" if r2 is None else f"<br>R² {score_text(r2)}" + (" ★" if key == best else "")))
            if depth == 1:
                _arrow(fig, (0, feature_y[model.feature_set]), (1, y), "feature")
            for source in previous:
                _arrow(fig, source, (depth, y), "model")
        fig.add_trace(go.Scatter(x=[depth] * len(ys), y=ys, mode="text", text=texts, name=f"layer {depth}",
                                 showlegend=False, hoverinfo="text", textfont=dict(size=11)))
        header = f"<b>Layer {depth}</b>" + ("<br>+ passthrough features" if layer.passthrough else "")
        fig.add_annotation(x=depth, y=1.0, yref="paper", text=header, showarrow=False, yanchor="bottom")
        previous = [(depth, y) for y in ys]
    fig.add_annotation(x=0, y=1.0, yref="paper", text="<b>Feature sets</b>", showarrow=False, yanchor="bottom")
    tallest = max([len(config.feature_sets)] + [len(layer.models) for layer in config.stack.layers])
    fig.update_xaxes(visible=False, range=[-0.5, len(config.stack.layers) + 0.5])
    fig.update_yaxes(visible=False, range=[-tallest / 2.0, tallest / 2.0])
    subtitle = ("hold-out R² in each node; ★ best by OOF R²" if evaluation is not None else "untrained") \
        + "; dashed feature set: not read by any model"
    return _titled(fig, f"Stack of run '{config.name}'", subtitle, height=220 + 110 * tallest,
                   width=260 * (len(config.stack.layers) + 1) + 80)


# -- residuals ---------------------------------------------------------------------------------------------------
def _residual_frame(evaluation: Evaluation, key: str) -> pd.DataFrame:
    if key not in evaluation.predictions.columns or key in ("actual", "row", TIMESTAMP, SESSION, WORKLOAD):
        known = evaluation.models["key"].tolist() + list(BASELINES)
        raise KeyError(f"'{key}' is not a model or baseline of this run; choose one of {known}.")
    frame = evaluation.predictions[[TIMESTAMP, SESSION, WORKLOAD, "actual", key]].rename(columns={key: "predicted"})
    frame["residual"] = evaluation.residuals(key)
    return frame.loc[np.isfinite(frame["residual"])].sort_values(TIMESTAMP, kind="stable")


def _box_stats(values: np.ndarray) -> dict[str, float]:
    """Quartiles and 1.5·IQR whiskers (clipped to the data), so a box ships five numbers, not every point."""
    q1, median, q3 = np.quantile(values, [0.25, 0.5, 0.75])
    iqr = q3 - q1
    return {"q1": q1, "median": median, "q3": q3, "mean": float(values.mean()),
            "lowerfence": float(values[values >= q1 - 1.5 * iqr].min()),
            "upperfence": float(values[values <= q3 + 1.5 * iqr].max())}


def residual_figures(evaluation: Evaluation, key: str, max_points: int = 4000) -> dict[str, go.Figure]:
    """Five views of one model's (or baseline's) hold-out residuals: vs predicted, over time, histogram,
    by workload, autocorrelation."""
    frame = _residual_frame(evaluation, key)
    colour = key_colour(evaluation, key)
    residuals = frame["residual"].to_numpy()
    note = f"{key} on {len(frame):,} hold-out rows"
    figures = {}

    by_predicted = downsample_frame(frame.sort_values("predicted", kind="stable"), "predicted", ["residual"],
                                    max_points)
    vs = go.Figure(go.Scatter(
        x=by_predicted["predicted"], y=by_predicted["residual"], mode="markers", name=key,
        marker=dict(color=colour, size=4, opacity=0.6),
        customdata=np.column_stack([by_predicted[SESSION], by_predicted[WORKLOAD]]),
        hovertemplate="predicted %{x:.1f} %<br>residual %{y:.1f}<br>session %{customdata[0]} · %{customdata[1]}"
                      "<extra></extra>"))
    vs.add_hline(y=0, line=dict(color="#555555", width=1))
    vs.update_xaxes(title_text="predicted utilisation (%)")
    vs.update_yaxes(title_text=RESIDUAL_TITLE)
    figures["vs_predicted"] = _titled(vs, "Residuals against the prediction", note + " (extremes kept when thinned)")

    arrays = _broken(_thin(frame, ["residual"], max_points), ["residual"])
    over = go.Figure(_line(arrays["x"], arrays["residual"], arrays["customdata"], "residual", colour))
    _mark_sessions(over, frame)
    over.add_hline(y=0, line=dict(color="#555555", width=1))
    over.update_yaxes(title_text=RESIDUAL_TITLE)
    figures["over_time"] = _titled(over, "Residuals over time", note, showlegend=False)

    counts, edges = np.histogram(residuals, bins=min(60, max(10, int(np.sqrt(len(residuals))))))
    hist = go.Figure(go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts, width=np.diff(edges), marker_color=colour,
                            customdata=np.column_stack([edges[:-1], edges[1:]]),
                            hovertemplate="%{customdata[0]:.1f} to %{customdata[1]:.1f}: %{y} rows<extra></extra>"))
    hist.add_vline(x=0, line=dict(color="#555555", width=1))
    hist.add_vline(x=float(residuals.mean()), line=dict(color=colour, dash="dash"),
                   annotation_text=f"mean {residuals.mean():+.2f}")
    hist.update_xaxes(title_text=RESIDUAL_TITLE)
    hist.update_yaxes(title_text="rows")
    figures["histogram"] = _titled(hist, "Distribution of residuals", note, bargap=0.02)

    box = go.Figure()
    for workload, group in frame.groupby(WORKLOAD, sort=True):
        stats = _box_stats(group["residual"].to_numpy())
        box.add_trace(go.Box(x=[workload], name=str(workload), marker_color=colour, showlegend=False,
                             **{k: [v] for k, v in stats.items()}))
    box.add_hline(y=0, line=dict(color="#555555", width=1))
    box.update_xaxes(title_text="workload")
    box.update_yaxes(title_text=RESIDUAL_TITLE)
    figures["by_workload"] = _titled(box, "Residuals by workload", note + "; boxes: quartiles, whiskers 1.5·IQR")

    acf = residual_autocorrelation(frame["residual"], frame[SESSION])
    band = 1.96 / np.sqrt(len(frame))
    auto = go.Figure(go.Bar(x=acf["lag"], y=acf["autocorrelation"], marker_color=colour,
                            hovertemplate="lag %{x} rows: %{y:.3f}<extra></extra>"))
    for level in (band, -band):
        auto.add_hline(y=level, line=dict(color="#999999", dash="dash", width=1))
    auto.update_xaxes(title_text="lag (rows, within a session)")
    auto.update_yaxes(title_text="autocorrelation")
    figures["autocorrelation"] = _titled(auto, "Autocorrelation of residuals",
                                         note + "; dashed: ±1.96/√n, bars beyond it mean structure left to learn")
    return figures


# -- traces ------------------------------------------------------------------------------------------------------
def _select_session(frame: pd.DataFrame, session: int | None) -> pd.DataFrame:
    if session is None:
        return frame
    chosen = frame.loc[frame[SESSION] == session]
    if chosen.empty:
        raise ValueError(f"Session {session} has no hold-out rows; sessions shown: {sorted(frame[SESSION].unique())}.")
    return chosen


def _trace_lines(frame: pd.DataFrame, series: list[tuple[str, str, str]], max_points: int) -> go.Figure:
    """Actual plus (column, name, colour) lines over time, thinned together and broken between sessions."""
    columns = ["actual"] + [column for column, _, _ in series]
    arrays = _broken(_thin(frame.sort_values(TIMESTAMP, kind="stable"), columns, max_points), columns)
    fig = go.Figure(_line(arrays["x"], arrays["actual"], arrays["customdata"], "actual", ACTUAL_COLOUR, width=1.8))
    for column, name, colour in series:
        fig.add_trace(_line(arrays["x"], arrays[column], arrays["customdata"], name, colour))
    _mark_sessions(fig, frame)
    fig.update_yaxes(title_text=UTIL_TITLE)
    return fig


def trace_figure(evaluation: Evaluation, keys: list[str], session: int | None = None,
                 max_points: int = 4000) -> go.Figure:
    """The target core's actual utilisation against the chosen models' predictions on the hold-out rows."""
    unknown = [k for k in keys if k not in evaluation.predictions.columns]
    if unknown:
        raise KeyError(f"{unknown} are not models or baselines of this run.")
    frame = _select_session(evaluation.predictions, session)
    fig = _trace_lines(frame, [(k, k, key_colour(evaluation, k)) for k in keys], max_points)
    where = "all sessions" if session is None else f"session {session}"
    return _titled(fig, f"{evaluation.target}: actual against predicted, hold-out rows",
                   f"{where}; {len(frame):,} rows, thinned to ≤ {max_points:,} points per line",
                   hovermode="x unified")


def compare_predictions_figure(runs: list[tuple[str, pd.DataFrame, str]], session: int | None = None,
                               max_points: int = 4000) -> go.Figure:
    """Each run's chosen model against the actual, on the hold-out rows every run shares (matched by row id).

    `runs` holds (label, hold-out predictions frame, model key) triples; the frames are `Evaluation.predictions`
    or `RunStore.predictions` (columns row, timestamp, session, workload_type, actual and one per model key)."""
    if not runs:
        raise ValueError("Pick at least one run to compare.")
    shared = set.intersection(*(set(predictions["row"]) for _, predictions, _ in runs))
    if not shared:
        raise ValueError("These runs share no hold-out rows (different data or splits); nothing to overlay.")
    base = runs[0][1]
    frame = base.loc[base["row"].isin(shared), ["row", TIMESTAMP, SESSION, WORKLOAD, "actual"]]
    series = []
    palette = plotly.colors.qualitative.D3
    for i, (label, predictions, key) in enumerate(runs):
        column = f"{label}: {key}"
        frame = frame.merge(predictions[["row", key]].rename(columns={key: column}), on="row")
        series.append((column, column, palette[i % len(palette)]))
    frame = _select_session(frame, session)
    fig = _trace_lines(frame, series, max_points)
    return _titled(fig, "Best model of each run against the actual",
                   f"{len(frame):,} hold-out rows all runs share; thinned to ≤ {max_points:,} points per line",
                   hovermode="x unified")


def whatif_figure(answer: WhatIfAnswer, session: int | None = None, max_points: int = 4000) -> go.Figure:
    """The twin's predicted target as recorded and under the scenario, with the actual for reference."""
    frame = _select_session(answer.predictions, session)
    name = answer.scenario.name
    fig = _trace_lines(frame, [("baseline", "predicted, as recorded", BASELINE_COLOUR),
                               ("scenario", f"predicted, {name}", SCENARIO_COLOUR)], max_points)
    where = "all sessions" if session is None else f"session {session}"
    return _titled(fig, f"What-if '{name}': the twin's prediction before and after",
                   f"{where}; {len(frame):,} rows, thinned to ≤ {max_points:,} points per line; "
                   "predictions are the model's extrapolation, not measurements", hovermode="x unified")


# -- live ----------------------------------------------------------------------------------------------------------

LIVE_AGO_TITLE = "seconds before the newest sample"


def live_figure(history: pd.DataFrame, target: str, interval: float) -> go.Figure:
    """The last minute of a live following: the actual target and the twin's prediction against seconds before the
    newest sample. Every sample covers the time since the one before (after a pause between redraws, the whole
    pause), so the lines join consecutive samples; a marker shows each sample."""
    seconds = history[TIMESTAMP].to_numpy(dtype=float)
    x = seconds - seconds[-1]
    fig = go.Figure()
    for column, name, colour, width in (("actual", "actual", ACTUAL_COLOUR, 1.8),
                                        ("predicted", "twin's prediction", layer_colour(1), 1.4)):
        y = history[column].to_numpy(dtype=float)
        fig.add_trace(go.Scatter(x=x, y=y, name=name, mode="lines+markers",
                                 marker=dict(size=3), line=dict(color=colour, width=width),
                                 hovertemplate=f"{name}: %{{y:.1f}} %<extra></extra>"))
    fig.update_xaxes(title_text=LIVE_AGO_TITLE, range=[min(float(x[0]), -10.0) - 0.5, 0.5], zeroline=False)
    fig.update_yaxes(title_text=f"{target} (%)", range=[-2, 102])
    return _titled(fig, f"{target}: actual and predicted, last minute",
                   f"sampled every {interval:g} s (the first sample after each redraw covers the pause before it)",
                   margin=dict(t=80, b=40),
                   height=380, hovermode="x unified")
