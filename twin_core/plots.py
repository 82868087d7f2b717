"""Plotly figure builders: data in, `go.Figure` out (no Streamlit, no I/O).

Time axes show UTC datetimes at round ticks; the idle time between recording sessions is cut out of the axis (range
breaks), sessions are shaded alternately and labelled, and lines break between sessions and at every pause inside
one (over PAUSE_FACTOR times the session's median sampling interval). Every long trace is min-max downsampled first,
so a figure never carries more than `max_points` points per trace, nor a time chart more than FIGURE_POINTS in all
(a chart of many lines gives each fewer, so a page's figures stay a few MB however long the run). Figures are laid
out to read at 1280 px and 1920 px: names in full, legends beside the plot, subtitles wrapped in even lines, axes
zoomed where the differences are small.
Every user string (a run, model, feature set, scenario or workload name) is escaped before it reaches Plotly's text,
which reads HTML: a name never becomes a link or markup.
"""
from __future__ import annotations

import html
import textwrap

import numpy as np
import pandas as pd
import plotly.colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from twin_core.compare import beyond_noise, change_text
from twin_core.config import RunConfig
from twin_core.downsample import downsample_frame
from twin_core.evaluate import (BASELINES, Evaluation, model_key, model_key_parts, model_words,
                                residual_autocorrelation, score_text)
from twin_core.intervals import coverage
from twin_core.stretches import PAUSE_FACTOR, shared_stretch_ids, stretch_ids
from twin_core.telemetry import OVERALL, SESSION, TIMESTAMP, WORKLOAD, Telemetry
from twin_core.verdicts import signed_text
from twin_core.whatif import WhatIfAnswer

ACTUAL_COLOUR = "#222222"
LAYER_SHADES = (  # one hue per layer; models of a layer take its shades in order
    ("#1f77b4", "#6baed6", "#08519c", "#9ecae1"),
    ("#ff7f0e", "#fdae6b", "#a63603", "#fdd0a2"),
    ("#2ca02c", "#74c476", "#006d2c", "#a1d99b"),
    ("#9467bd", "#bcbddc", "#54278f", "#dadaeb"),
    ("#8c564b", "#c49c94", "#5b3a32", "#e7cbc6"),
)
BASELINE_COLOURS = {"identity": "#7f7f7f", "persistence": "#bcbd22", "mean": "#17becf", "linear_others": "#e377c2"}
FEATURE_COLOUR = "#8c8c8c"
BASELINE_COLOUR, SCENARIO_COLOUR = "#1f77b4", "#d62728"  # what-if: predicted as recorded / under the scenario
DIFFERENCE_COLOUR, SESSION_MEAN_COLOUR = "#6a3d9a", "#b35806"  # what-if: scenario − as recorded, its session means
WHATIF_DIFFERENCE = "difference (scenario − as recorded)"
TIME_TITLE = "time (UTC; gaps between sessions cut out)"
UTIL_TITLE = "utilisation (%)"
RESIDUAL_TITLE = "residual: actual − predicted (percentage points)"
MAX_SESSION_LABELS = 20
# a step longer than this many median steps is a pause and lines break: the default session rule's factor, without
# its min_gap_s (at fast sampling a pause of a few seconds still draws as a ramp); longer pauses start a session
SEGMENT = "_segment"  # the stretch id a thinned frame carries (see stretch_ids)
SUBTITLE_CHARS = 84  # a subtitle line this long (about 4.7 px a character) fits a half-width chart at 1280 px
WIDE_SUBTITLE_CHARS = 150  # and this long a chart across the page at 1280 px (about 800 px for the subtitle)
PAUSE_NOTE = f"lines break where sampling pauses for over {PAUSE_FACTOR:g} intervals"
FIGURE_POINTS = 24_000  # points the lines of one time chart share at most (about 55 bytes of JSON each with hover data)
NARROWEST_PLOT_PX = 560  # plot width a time chart gets in a full-width column at 1280 px: session labels fit it
LABEL_CHAR_PX = 6.2  # width of a character of a session label (10 px font)
SESSION_LABEL_ROW = 14  # px between the two staggered rows of session labels
MAX_TIME_TICKS = 6  # ticks on a time axis: two-line date ticks of 6 never touch on a half-width chart
BAND_FILL_OPACITY = 0.28  # a model's interval band: readable over the grey shading of every other session
BAND_EDGE_OPACITY = 0.5  # and its thin edge, in the same colour
TICK_CHAR_PX = 6.0  # width of a character of a tick label (12 px font), a little over, so neighbours never touch
TICK_GAP_PX = 10  # px at least between two neighbouring tick labels
LEGEND_BELOW = dict(orientation="h", x=0, xanchor="left", y=0, yanchor="bottom", yref="container")  # plotly reserves
# its rows at the figure's foot, under the tick labels and the axis title, and the plot keeps the chart's full width
TICK_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800,
                604800)


def _plain(text: str) -> str:
    """A user's string made plain text for Plotly, which reads a subset of HTML in every label: '<' and '&' escaped
    (quotes kept: Plotly would print their entities, and without a '<' they cannot open a tag)."""
    return html.escape(text, quote=False)


# -- colours -----------------------------------------------------------------------------------------------------
def layer_colour(layer: int, index: int = 0) -> str:
    """The colour of the `index`-th model of a layer (1-based layer)."""
    shades = LAYER_SHADES[(layer - 1) % len(LAYER_SHADES)]
    return shades[index % len(shades)]


def key_colour(evaluation: Evaluation, key: str) -> str:
    """Consistent colour for a model key (its layer's hue) or a baseline."""
    if key in BASELINE_COLOURS:
        return BASELINE_COLOURS[key]
    parsed = model_key_parts(key)
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


def _line_points(max_points: int, lines: int) -> int:
    """Points each of `lines` lines of one time chart may carry: `max_points`, fewer when FIGURE_POINTS would not
    hold them all."""
    return min(max_points, max(FIGURE_POINTS // max(lines, 1), 100))


def _thin(frame: pd.DataFrame, columns: list[str], max_points: int) -> pd.DataFrame:
    """Downsample `frame` (in time order) so the traces of `columns`, with a break point at every session change or
    pause between two kept rows, fit `max_points`; each kept row carries its stretch id (`stretch_ids`, worked out
    before thinning, unless the frame brings its own SEGMENT column). Breaks never take more than half the points
    (a break sits between two kept rows), so a recording with many pauses still keeps half of them for samples."""
    segmented = frame if SEGMENT in frame.columns else frame.assign(**{SEGMENT: stretch_ids(frame)})
    breaks = int(segmented[SEGMENT].iloc[-1]) if len(frame) else 0
    budget = max(max_points - breaks, (max_points + 1) // 2, 2 * len(columns) + 2)
    return downsample_frame(segmented, TIMESTAMP, columns, budget)


def _broken(frame: pd.DataFrame, columns: list[str]) -> dict[str, np.ndarray]:
    """x, customdata (session, workload) and each column, with a blank point between sessions and at every pause
    inside one (`stretch_ids`) so lines break."""
    sessions = frame[SESSION].to_numpy()
    segments = frame[SEGMENT].to_numpy()
    cut = np.flatnonzero(segments[1:] != segments[:-1]) + 1
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


def _append(fig: go.Figure, shapes: list[dict] | None = None, annotations: list[dict] | None = None) -> None:
    """Add shapes and annotations in one assignment each (Plotly's add_shape and add_annotation check the whole list
    again on every call: a figure of a few dozen took a third of a second)."""
    if shapes:
        fig.layout.shapes = (*fig.layout.shapes, *shapes)
    if annotations:
        fig.layout.annotations = (*fig.layout.annotations, *annotations)


def _mark_sessions(fig: go.Figure, frame: pd.DataFrame, panels: tuple[str, ...] = ("",)) -> None:
    """Cut the idle time between sessions out of the time axis, tick it at round times that never crowd, shade
    every other session and label each in the room it has (two staggered rows; shortened or left to the hover
    when even that is too narrow). The shading and separators go into each panel (axis suffix: "" for x and y, "2"
    for x2 and y2) of a figure of panels sharing the time axis; the labels above the first."""
    spans = _session_spans(frame)
    ends, starts = spans["end"].to_numpy()[:-1], spans["start"].to_numpy()[1:]
    values, texts = _time_ticks(spans)
    ticks = dict(tickmode="array", tickvals=values, ticktext=texts) if values else {}  # none: one instant shown
    fig.update_xaxes(type="date", title_text=TIME_TITLE, tickangle=0, **ticks, rangebreaks=[
        dict(bounds=[str(a), str(b)]) for a, b in zip(_utc(ends), _utc(starts)) if b > a])
    share = _visible_shares(spans)
    labels = _session_labels(spans, share) if len(spans) <= MAX_SESSION_LABELS else [""] * len(spans)
    shapes, notes = [], []
    for i, ((session, span), text) in enumerate(zip(spans.iterrows(), labels)):
        x0, x1 = (str(x) for x in _utc(np.array([span["start"], span["end"]])))
        shapes += [dict(type="rect", x0=x0, x1=x1, xref=f"x{p}", y0=0, y1=1, yref=f"y{p} domain",
                        fillcolor="#000000" if i % 2 else "#ffffff", opacity=0.05, layer="below", line=dict(width=0))
                   for p in panels]
        if text:
            notes.append(dict(x=x0, y=1.0, xref="x", yref="paper", xanchor="left", yanchor="bottom",
                              yshift=SESSION_LABEL_ROW * (i % 2), text=text, showarrow=False,
                              font=dict(size=10, color="#444444"),
                              hovertext=f"session {session} · {_plain(str(span['workload']))}"))
        if i:
            shapes += [dict(type="line", x0=x0, x1=x0, xref=f"x{p}", y0=0, y1=1, yref=f"y{p} domain",
                            line=dict(color="#999999", width=1, dash="dot")) for p in panels]
    _append(fig, shapes, notes)


def _visible_shares(spans: pd.DataFrame) -> np.ndarray:
    """Each session's share of the time axis once the idle time between sessions is cut out."""
    durations = np.maximum((spans["end"] - spans["start"]).to_numpy(dtype=float), 0.0)
    total = durations.sum()
    return durations / total if total > 0 else np.full(len(spans), 1.0 / max(len(spans), 1))


def _session_labels(spans: pd.DataFrame, share: np.ndarray) -> list[str]:
    """'S<n> · workload' where it fits before the next label of its row (rows alternate, so the room is the session
    and the next one), 'S<n>' where only that fits, nothing where even that does not, on the narrowest plot."""
    room = (share + np.r_[share[1:], 0.0]) * NARROWEST_PLOT_PX
    labels = []
    for (session, span), px in zip(spans.iterrows(), room):
        full, short = f"S{session} · {span['workload']}", f"S{session}"
        labels.append(_plain(full) if len(full) * LABEL_CHAR_PX <= px
                      else short if len(short) * LABEL_CHAR_PX <= px else "")
    return labels


def _time_ticks(spans: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Tick positions (UTC datetimes) and texts at round times: about MAX_TIME_TICKS over the visible time, none
    closer than half a step to the one before on the cut axis (so ticks on both sides of a cut never crowd), the date
    written under the first tick and wherever it changes."""
    share = _visible_shares(spans)
    visible = float((spans["end"] - spans["start"]).clip(lower=0).sum())
    step = next((s for s in TICK_STEPS_S if s >= visible / MAX_TIME_TICKS), TICK_STEPS_S[-1])
    clock = "%H:%M:%S" if step < 60 else "%H:%M"
    positions, values, widths, day = [], [], [], None
    offset = 0.0
    for (start, end), part in zip(spans[["start", "end"]].to_numpy(dtype=float), share):
        for value in np.arange(np.ceil(start / step) * step, end + 1e-9, step):
            where = offset + (value - start) / max(end - start, 1e-9) * part
            stamp = pd.Timestamp(value, unit="s")
            width = _tick_label_px(stamp, clock, dated=stamp.date() != day)
            # labels are centred on their ticks: half of each and a gap between them, on the narrowest plot
            if not positions or (where - positions[-1]) * NARROWEST_PLOT_PX >= (widths[-1] + width) / 2 + TICK_GAP_PX:
                positions.append(where)
                values.append(value)
                widths.append(width)
                day = stamp.date()
        offset += part
    stamps = pd.to_datetime(np.asarray(values, dtype=float), unit="s")
    texts, day = [], None
    for stamp in stamps:
        texts.append(stamp.strftime(clock) + ("" if stamp.date() == day else stamp.strftime("<br>%d %b %Y")))
        day = stamp.date()
    return [str(v) for v in _utc(np.asarray(values, dtype=float))], texts


def _band_style(colour: str) -> dict:
    """Fill and edge of an interval band drawn in `colour` (hex; any other colour string is used as it is)."""
    if not colour.startswith("#"):
        return dict(fillcolor=colour, line=dict(color=colour, width=0.6))
    rgb = plotly.colors.hex_to_rgb(colour)
    return dict(fillcolor="rgba({}, {}, {}, {})".format(*rgb, BAND_FILL_OPACITY),
                line=dict(color="rgba({}, {}, {}, {})".format(*rgb, BAND_EDGE_OPACITY), width=0.6))


def _tick_label_px(stamp: pd.Timestamp, clock: str, dated: bool) -> float:
    """Width of a time tick's label: its clock line, or its date line under it when it is `dated` (and wider)."""
    return TICK_CHAR_PX * max(len(stamp.strftime(clock)), len(stamp.strftime("%d %b %Y")) if dated else 0)


def _line(x: np.ndarray, y: np.ndarray, customdata: np.ndarray, name: str, colour: str, width: float = 1.2,
          dash: str | None = None) -> go.Scatter:
    """A line broken at its blank points, named (HTML-escaped) in the legend and the hover."""
    name = _plain(name)
    return go.Scatter(x=x, y=y, customdata=customdata, name=name, mode="lines", connectgaps=False,
                      line=dict(color=colour, width=width, dash=dash),
                      hovertemplate=f"{name}: %{{y:.1f}}<br>session %{{customdata[0]}} · %{{customdata[1]}}"
                                    "<extra></extra>")


def _balanced_lines(text: str, chars: int) -> list[str]:
    """`text` wrapped into as few lines of at most `chars` characters as it needs, the lines made as even as they can
    be, so no line is left with a word or two (an orphan)."""
    lines = textwrap.wrap(text, chars)
    width = -(-len(text) // max(len(lines), 1))
    while len(textwrap.wrap(text, width)) > len(lines):
        width += 1
    return textwrap.wrap(text, width) or [""]


def _titled(fig: go.Figure, title: str, subtitle: str = "", wide: bool = False, **layout: object) -> go.Figure:
    """Title at the top, the subtitle wrapped in even lines to fit a half-width chart at 1280 px (a chart across the
    page when `wide`), a top margin tall enough for both
    plus a band for the session labels (or a legend row) above the plot, the app's template, and the legend in a
    column right of the plot, top-aligned, where it never covers an axis title or tick labels (`layout` may place it
    elsewhere)."""
    chars = WIDE_SUBTITLE_CHARS if wide else SUBTITLE_CHARS
    lines = [line for part in subtitle.split("<br>") for line in _balanced_lines(part, chars)]
    margin = {"t": 50 + 15 * len(lines) + 36, "l": 12, **dict(layout.pop("margin", None) or {})}  # l: clear of the edge
    layout = {"legend": dict(orientation="v", x=1.02, xanchor="left", y=1.0, yanchor="top"), **layout}
    fig.update_layout(title=dict(text=title, subtitle=dict(text="<br>".join(lines)), yref="container", y=1.0,
                                 yanchor="top", pad=dict(t=14), font=dict(size=16)),
                      template="plotly_white", margin=margin, **layout)
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
    points = _line_points(max_points, len(columns))
    for column in columns:
        arrays = _broken(_thin(frame, [column], points), [column])
        name = column.removeprefix("cpu_util_").replace("_", " ")
        if column == telemetry.target:
            name += " (target)"
        overall = column == OVERALL
        fig.add_trace(_line(arrays["x"], arrays[column], arrays["customdata"], name,
                            ACTUAL_COLOUR if overall else colours[column], width=2.0 if overall else 1.0))
    _mark_sessions(fig, frame)
    fig.update_yaxes(title_text=UTIL_TITLE, rangemode="tozero")
    sessions = f"{telemetry.n_sessions} session{'' if telemetry.n_sessions == 1 else 's'}"
    return _titled(fig, "CPU utilisation over time",
                   f"{len(frame):,} samples in {sessions}; lines thinned to ≤ {points:,} "
                   f"points each (min-max, spikes kept); {PAUSE_NOTE}", hovermode="x unified", wide=True)


# -- scores ------------------------------------------------------------------------------------------------------
def layer_r2_figure(evaluation: Evaluation, split_description: str, cv_description: str) -> go.Figure:
    """Hold-out and out-of-fold R² of every model as horizontal bars named in full on the y axis, each baseline's
    hold-out R² as a bar of its own below them, on an axis zoomed when the values are close (its start said). A bar's
    colour is its layer's (a baseline's own); the legend, in neutral grey, tells only the pattern: solid hold-out,
    hatched out-of-fold (clicking it hides those bars)."""
    models, baselines = evaluation.models, evaluation.baselines
    best = evaluation.best["key"]
    labels = [f"layer {layer} · {_plain(name)}" + (" ★" if key == best else "")
              for layer, name, key in zip(models["layer"], models["name"], models["key"])]
    base_labels = [model_words(name) for name in baselines["name"]]
    low, high = _r2_axis_range(models, baselines)
    colours = [key_colour(evaluation, key) for key in models["key"]]
    model_info = np.column_stack([models["key"], models["kind"], models["mae_holdout"]])
    fig = go.Figure()
    # hatch "replace": the default template's "overlay" makes Plotly.js derive the hatch colour from the marker
    # colour, which it cannot do from a list of per-bar colours ("Invalid color specifier" in the console)
    for column, name, pattern, group in (("r2_holdout", "hold-out", "", "holdout"),
                                         ("r2_oof", "out-of-fold", "/", "oof")):
        fig.add_trace(_r2_bars(labels, models[column], low, name, group, model_info,
                               "%{customdata[0]} (%{customdata[1]})<br>" + name + " R² %{x:.4f}<br>"
                               "hold-out MAE %{customdata[2]:.2f} percentage points",
                               marker=dict(color=colours, opacity=0.55 if pattern else 1.0,
                                           pattern=dict(shape=pattern, fillmode="replace"),
                                           line=dict(color=colours, width=1))))
    base_colours = [BASELINE_COLOURS.get(name, "#7f7f7f") for name in baselines["name"]]
    fig.add_trace(_r2_bars(base_labels, baselines["r2_holdout"], low, "baseline", "holdout",
                           np.array([[BASELINES.get(name, name)] for name in baselines["name"]], dtype=object),
                           "%{customdata[0]}<br>hold-out R² %{x:.4f}", marker=dict(color=base_colours)))
    for name, pattern, group in (("hold-out (solid)", "", "holdout"), ("out-of-fold (hatched)", "/", "oof")):
        key = dict(color=NEUTRAL_COLOUR, line=dict(color=NEUTRAL_COLOUR, width=1),
                   pattern=dict(shape=pattern, fillmode="replace"))
        fig.add_trace(go.Bar(x=[None], y=labels[:1], orientation="h", name=name, offsetgroup=group, legendgroup=group,
                             hoverinfo="skip", marker=key))  # no bar: the legend's key to the pattern only
    _mark_off_axis(fig, [*labels, *labels, *base_labels],
                   np.r_[models["r2_holdout"], models["r2_oof"], baselines["r2_holdout"]].astype(float), low)
    starts = f"<br>the axis starts at {round(low, 2):g}, not 0" if low > 0 else ""
    fig.update_xaxes(range=[low, high], title_text=f"R² (1 = perfect; 0 = the training mean){starts}",
                     zeroline=low < 0)
    fig.update_yaxes(autorange="reversed", automargin=True, ticksuffix="  ", title_text=None)
    rows = len(labels) + len(base_labels)
    return _titled(fig, "R² per model against the baselines",
                   f"hold-out (rows kept out of training): {split_description}<br>out-of-fold (training rows, "
                   f"each predicted by a model fitted without it): {cv_description}<br>"
                   "colour: the layer, or the baseline, named on the left; "
                   "★ the model the twin answers with (best out-of-fold R²)", wide=True, barmode="group",
                   bargap=0.25, height=260 + 44 * rows,
                   legend=dict(orientation="h", x=0, xanchor="left", y=1.0, yanchor="bottom"))


def _r2_bars(labels: list[str], values: pd.Series, low: float, name: str, group: str, customdata: np.ndarray,
             hover: str, marker: dict) -> go.Bar:
    """One trace of horizontal R² bars, kept out of the legend (its key stands for the group); the value printed right
    of each bar that reaches the axis."""
    values = values.to_numpy(dtype=float)
    return go.Bar(y=labels, x=values, orientation="h", name=name, offsetgroup=group, legendgroup=group,
                  showlegend=False, customdata=customdata,
                  text=[score_text(v) if v >= low else "" for v in values], textposition="outside", cliponaxis=False,
                  textfont=dict(size=11), marker=marker, hovertemplate=hover + "<extra></extra>")


def _mark_off_axis(fig: go.Figure, labels: list[str], values: np.ndarray, low: float) -> None:
    """Say, at the start of their row, the values too low to reach the axis (their bars are not drawn)."""
    below: dict[str, list[str]] = {}
    for label, value in zip(labels, values):
        if np.isfinite(value) and value < low:
            below.setdefault(label, []).append(score_text(value))
    for label, texts in below.items():
        fig.add_annotation(x=low, y=label, xref="x", yref="y", xanchor="left", showarrow=False,
                           text=f"◂ {' / '.join(texts)} (below the axis start)", font=dict(size=11, color="#555555"))


def _r2_axis_range(models: pd.DataFrame, baselines: pd.DataFrame) -> tuple[float, float]:
    """Ends of the R² axis. It holds every model's bars and the identity/persistence/linear baselines', zoomed in to
    the models alone when they lie within 0.05 of each other and would otherwise share a sliver of the axis; it
    starts at a round number, never below -1 (worse than that reads the same), and leaves room for the labels."""
    scores = np.r_[models["r2_holdout"], models["r2_oof"]].astype(float)
    scores = scores[np.isfinite(scores)]
    references = baselines.loc[baselines["name"].isin(["identity", "persistence", "linear_others"]), "r2_holdout"]
    values = np.r_[scores, references.to_numpy(dtype=float)]
    values = values[np.isfinite(values)]
    if not len(values):
        return 0.0, 1.1
    lowest = min(float(values.min()), 0.99)
    low = lowest - 0.25 * (1.0 - lowest) if lowest > 0.5 else min(0.0, lowest - 0.05)
    spread = float(np.ptp(scores)) if len(scores) else 1.0
    if spread <= 0.05 and spread < 0.15 * (float(values.max()) - low):
        low = float(scores.min()) - max(spread, 0.01)
    span = float(values.max()) - low
    step = 0.01 if span < 0.1 else 0.05 if span < 0.5 else 0.1
    low = max(-1.0, float(np.floor(round(low / step, 6))) * step)
    shown = values[values >= low]
    return low, float(shown.max()) + 0.2 * (float(shown.max()) - low)


BETTER_COLOUR, WORSE_COLOUR, NEUTRAL_COLOUR = "#2ca02c", "#d62728", "#9e9e9e"
DELTA_VALUES_WIDTH = 260  # px right of the bars for 'A → B (change, within noise)', so no label meets a bar or a name


def _delta_colours(delta: np.ndarray, low: np.ndarray, high: np.ndarray, what: pd.Series) -> list[str]:
    """Green when run B's model scores higher beyond the noise (its whole 95 % interval above 0), red when lower beyond
    it; grey within noise, without an interval, and for the baselines, which are references (the same arithmetic on
    each run's hold-out), not something a run improved."""
    return [NEUTRAL_COLOUR if kind == "baseline" or not beyond_noise(d, lo, hi)
            else BETTER_COLOUR if d > 0 else WORSE_COLOUR for d, lo, hi, kind in zip(delta, low, high, what)]


def _change_ticks(half: float) -> tuple[list[float], list[str]]:
    """About five round ticks across ±`half`, signed with the typographic minus; zero reads "0" (no "+0" or "−0")."""
    raw = half / 3
    power = 10.0 ** np.floor(np.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw * (1 - 1e-9))
    digits = max(0, -int(np.floor(np.log10(step) + 1e-9)))
    count = int(np.floor(half / step + 1e-9))
    values = [float(round(i * step, digits + 1)) for i in range(-count, count + 1)]
    return values, ["0" if i == 0 else signed_text(v, digits) for i, v in zip(range(-count, count + 1), values)]


def metrics_delta_figure(table: pd.DataFrame, labels: tuple[str, str] = ("A", "B"),
                         split_description: str = "each run's own hold-out (see the runs table)",
                         noise_note: str = "noise not measured") -> go.Figure:
    """Change of hold-out R² from run A to run B per model and baseline (a `compare.metric_deltas_from_metrics`
    table of two honest runs, with `compare.change_noise`'s `ci_low`/`ci_high` where the noise was measured, said in
    `noise_note`): horizontal bars named in words on the y axis, each with its 95 % interval as whiskers, coloured
    only beyond the noise, the axis zoomed to the largest change, and each row's 'A → B (change, within noise)' in a
    column of its own right of the plot, where it meets no bar and no name."""
    rows = table.iloc[::-1].assign(name=lambda t: t["name"].map(_plain))
    delta = rows["delta_r2_holdout"].to_numpy(dtype=float)
    nan = np.full(len(rows), np.nan)
    low, high = (rows[c].to_numpy(dtype=float) if c in rows.columns else nan for c in ("ci_low", "ci_high"))
    measured = np.isfinite(low) & np.isfinite(high)
    intervals = [f"95 % interval [{signed_text(lo, 4)}, {signed_text(hi, 4)}]" if ok else "noise not measured"
                 for lo, hi, ok in zip(low, high, measured)]
    fig = go.Figure(go.Bar(
        x=delta, y=rows["name"], orientation="h", name=f"{labels[1]} − {labels[0]}",
        marker_color=_delta_colours(delta, low, high, rows["what"]),
        error_x=dict(type="data", symmetric=False, array=np.where(measured, high - delta, np.nan),
                     arrayminus=np.where(measured, delta - low, np.nan), color="#444444", thickness=1.2, width=5),
        customdata=np.column_stack([rows["r2_holdout_a"].map(score_text), rows["r2_holdout_b"].map(score_text),
                                    [change_text(d) for d in delta], intervals]),
        hovertemplate=f"%{{y}}<br>{_plain(labels[0])}: %{{customdata[0]}}<br>{_plain(labels[1])}: %{{customdata[1]}}"
                      "<br>change: %{customdata[2]}, %{customdata[3]}<extra></extra>"))
    _append(fig, annotations=[
        *(dict(x=1, xref="paper", xanchor="left", xshift=12, y=name, yref="y", showarrow=False,
               text=f"{score_text(a)} → {score_text(b)} ({change_text(d, lo, hi)})", align="left")
          for name, a, b, d, lo, hi in zip(rows["name"], rows["r2_holdout_a"], rows["r2_holdout_b"], delta, low,
                                           high)),
        dict(x=1, xref="paper", xanchor="left", xshift=12, y=1, yref="paper", yanchor="bottom", showarrow=False,
             text="<b>R² A → B (change)</b>")])
    fig.add_vline(x=0, line=dict(color="#555555", width=1))
    ends = np.abs(np.r_[delta, low[measured], high[measured]])
    reach = float(np.nanmax(ends)) if np.isfinite(ends).any() else 0.0
    half = max(1.15 * reach, 0.002)  # zoomed to the largest change or interval end: 0.001 apart is still visible
    ticks, texts = _change_ticks(half)
    fig.update_xaxes(title_text=f"change in hold-out R² ({labels[1]} − {labels[0]})", range=[-half, half],
                     tickmode="array", tickvals=ticks, ticktext=texts, zeroline=False)
    fig.update_yaxes(automargin=True, ticksuffix=" ")
    colours = (f"whiskers: 95 % interval · green: {labels[1]} higher beyond the noise · red: lower beyond it · "
               "grey: within noise, or a baseline (a reference, not an improvement)" if measured.any() else
               "every bar grey: without its noise a change is shown as neither a gain nor a loss")
    subtitle = f"{split_description}<br>{noise_note}<br>{colours}"
    return _titled(fig, f"Hold-out R²: {labels[0]} → {labels[1]}", subtitle, wide=True,
                   height=max(340, 200 + 34 * len(rows)), showlegend=False, margin=dict(r=DELTA_VALUES_WIDTH, b=60))


# -- stack diagram -----------------------------------------------------------------------------------------------
# Drawn in pixels: each column is as wide as its longest line of text, so no text leaves its box. Text is 13 px (read
# on a projector), 12 px when that would not fit STACK_MAX_PX, the main column at 1280 px (up to four layers).
BOLD_CHAR_EM, CHAR_EM, LINE_EM = 0.66, 0.6, 1.45  # a bold character, another one, a line: in units of the font size
STACK_FONT_PX, STACK_SMALL_FONT_PX, STACK_MAX_PX = 13, 12, 840
BOX_PAD_PX, MIN_BOX_PX, COLUMN_GAP_PX, ROW_GAP_PX = 24, 120, 52, 24
NODE_TEXT_COLOUR = "#111827"


def _node_width(lines: list[str], font_px: float) -> float:
    """Pixels a node's box needs for its text at `font_px`: the bold first line and the others, plus padding."""
    widest = max([len(lines[0]) * BOLD_CHAR_EM] + [len(line) * CHAR_EM for line in lines[1:]]) * font_px
    return max(MIN_BOX_PX, widest + BOX_PAD_PX)


def _column_widths(columns: list[list[list[str]]], font_px: float) -> list[float]:
    """Each column's box width at `font_px`: its widest node's."""
    return [max(_node_width(lines, font_px) for lines in column) if column else MIN_BOX_PX for column in columns]


def _node_text(lines: list[str]) -> str:
    """A node's lines as Plotly text, the name in bold, each line HTML-escaped (names are the user's)."""
    first, *rest = [_plain(line) for line in lines]
    return "<br>".join([f"<b>{first}</b>", *rest])


def _column_y(n: int, pitch: float) -> np.ndarray:
    return ((n - 1) / 2.0 - np.arange(n)) * pitch


def _box(x: float, y: float, width: float, height: float, colour: str, dashed: bool = False,
         bold: bool = False) -> dict:
    """A node's box (a layout shape) centred on (x, y), in px."""
    return dict(type="rect", x0=x - width / 2, x1=x + width / 2, y0=y - height / 2, y1=y + height / 2,
                fillcolor=colour, opacity=0.25, layer="below",
                line=dict(color=colour, width=3.5 if bold else 2, dash="dash" if dashed else "solid"))


def _arrow(start: tuple[float, float], end: tuple[float, float], kind: str) -> dict:
    """An arrow (a layout annotation) from the right edge of a box at `start` to the left edge of one at `end` (edge
    points, in px)."""
    return dict(x=end[0] - 2, y=end[1], ax=start[0] + 2, ay=start[1], xref="x", yref="y", axref="x", ayref="y",
                showarrow=True, arrowhead=2, arrowsize=1, arrowwidth=1.2, text="", arrowcolor="#6b7280", name=kind)


def stack_diagram(config: RunConfig, evaluation: Evaluation | None = None, run_label: str | None = None) -> go.Figure:
    """Feature sets, then one column per layer; every model of a layer feeds every model of the next. Boxes are
    sized to their text (the full names, never cut) and the figure's width to its boxes: its natural width, the
    narrowest it reads at. Drawn wider (a page stretches it to its column, as every page does), boxes, gaps and
    arrows widen with it around text of the same size, so text and boxes never part. Titled with the run's label
    (`run_label`, as the pages name the run) when there is one, else the configuration's name."""
    scores = {} if evaluation is None else dict(zip(evaluation.models["key"], evaluation.models["r2_holdout"]))
    best = None if evaluation is None else evaluation.best["key"]
    used = {m.feature_set for m in config.stack.layers[0].models} if config.stack.layers else set()
    columns = [[[s.name, f"look-back {s.lookback} rows"] + ([] if s.name in used else ["(unused)"])
                for s in config.feature_sets]]
    for depth, layer in enumerate(config.stack.layers, start=1):
        columns.append([])
        for model in layer.models:
            r2 = scores.get(model_key(depth, model.name))
            columns[-1].append([model.name, model.kind] + ([] if r2 is None else [
                f"R² {score_text(r2)}" + (" ★" if model_key(depth, model.name) == best else "")]))
    font_px = STACK_FONT_PX
    widths = _column_widths(columns, font_px)
    if sum(widths) + COLUMN_GAP_PX * (len(widths) - 1) + 40 > STACK_MAX_PX:
        font_px = STACK_SMALL_FONT_PX
        widths = _column_widths(columns, font_px)
    height = LINE_EM * font_px * max(len(lines) for column in columns for lines in column) + 22
    pitch = height + ROW_GAP_PX
    centres = np.cumsum([0.0] + [(a + b) / 2 + COLUMN_GAP_PX for a, b in zip(widths[:-1], widths[1:])]) \
        + widths[0] / 2
    fig = go.Figure()
    previous: list[tuple[float, float]] = []
    boxes, notes = [], []
    for depth, (column, x, width) in enumerate(zip(columns, centres, widths)):
        ys = _column_y(len(column), pitch)
        if depth == 0:
            names = [s.name for s in config.feature_sets]
            for spec, y in zip(config.feature_sets, ys):
                boxes.append(_box(x, y, width, height, FEATURE_COLOUR, dashed=spec.name not in used))
            feature_edge = dict(zip(names, ((x + width / 2, y) for y in ys)))
        else:
            layer = config.stack.layers[depth - 1]
            for i, (model, y) in enumerate(zip(layer.models, ys)):
                boxes.append(_box(x, y, width, height, layer_colour(depth, i),
                                  bold=model_key(depth, model.name) == best))
                sources = [feature_edge[model.feature_set]] if depth == 1 else previous
                notes += [_arrow(source, (x - width / 2, y), "feature" if depth == 1 else "model")
                          for source in sources]
            previous = [(x + width / 2, y) for y in ys]
        name = "feature sets" if depth == 0 else f"layer {depth}"
        fig.add_trace(go.Scatter(x=[x] * len(ys), y=ys, mode="text", name=name, showlegend=False,
                                 text=[_node_text(lines) for lines in column], hoverinfo="text",
                                 textfont=dict(size=font_px, color=NODE_TEXT_COLOUR)))
        header = "<b>Feature sets</b>" if depth == 0 else f"<b>Layer {depth}</b>" + (
            "<br>+ passthrough features" if config.stack.layers[depth - 1].passthrough else "")
        notes.append(dict(x=x, y=1.0, yref="paper", text=header, showarrow=False, yanchor="bottom",
                          font=dict(size=font_px + 1)))
    _append(fig, boxes, notes)
    tallest = max(len(column) for column in columns)
    span = float(centres[-1] + widths[-1] / 2)
    fig.update_xaxes(visible=False, range=[0, span], fixedrange=True)
    fig.update_yaxes(visible=False, range=[-tallest * pitch / 2, tallest * pitch / 2], fixedrange=True)
    subtitle = ("hold-out R² in each box; ★ the model the twin answers with (best out-of-fold R²)"
                if evaluation is not None else "untrained") + "; dashed feature set: not read by any model"
    what = "configuration" if evaluation is None else "run"  # an untrained configuration is not a run yet
    name = config.name if run_label is None else run_label
    return _titled(fig, f"Stack of {what} '{_plain(name)}'", subtitle, height=tallest * pitch + 200,
                   width=int(span) + 40, margin=dict(l=20, r=20, b=20))


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
    note = f"{_plain(model_words(key))} on {len(frame):,} hold-out rows"
    figures = {}

    by_predicted = downsample_frame(frame.sort_values("predicted", kind="stable"), "predicted", ["residual"],
                                    max_points)
    vs = go.Figure(go.Scatter(
        x=by_predicted["predicted"], y=by_predicted["residual"], mode="markers", name=_plain(key),
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
    figures["over_time"] = _titled(over, "Residuals over time", note, wide=True, showlegend=False)

    counts, edges = np.histogram(residuals, bins=min(60, max(10, int(np.sqrt(len(residuals))))))
    hist = go.Figure(go.Bar(x=(edges[:-1] + edges[1:]) / 2, y=counts, width=np.diff(edges), marker_color=colour,
                            customdata=np.column_stack([edges[:-1], edges[1:]]),
                            hovertemplate="%{customdata[0]:.1f} to %{customdata[1]:.1f}: %{y} rows<extra></extra>"))
    hist.add_vline(x=0, line=dict(color="#555555", width=1))
    hist.add_vline(x=float(residuals.mean()), line=dict(color=ACTUAL_COLOUR, dash="dash", width=2),
                   layer="above")  # near black over any bar colour; its value: in the subtitle
    hist.update_xaxes(title_text=RESIDUAL_TITLE)
    hist.update_yaxes(title_text="rows")
    figures["histogram"] = _titled(hist, "Distribution of residuals",
                                   f"{note}; dashed line: the mean, {score_text(residuals.mean(), '+.2f')}",
                                   bargap=0.02)

    box = go.Figure()
    for workload, group in frame.groupby(WORKLOAD, sort=True):
        stats = _box_stats(group["residual"].to_numpy())
        box.add_trace(go.Box(x=[_plain(str(workload))], name=_plain(str(workload)), marker_color=colour,
                             showlegend=False,
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


def _trace_lines(frame: pd.DataFrame, series: list[tuple[str, str, str]], max_points: int,
                 band: tuple[str, str, str, str] | None = None) -> go.Figure:
    """Actual plus (column, name, colour) lines over time, thinned together and broken between sessions and at
    pauses, on a 0–100 % axis widened to every value (a prediction past either end is drawn, not clipped).

    `band` (lower column, upper column, name, colour) adds a shaded interval behind the lines, thinned with them
    (its bounds are among the columns whose extremes the thinning keeps, so it stays aligned with the lines)."""
    columns = ["actual"] + [column for column, _, _ in series] + ([band[0], band[1]] if band else [])
    arrays = _broken(_thin(frame.sort_values(TIMESTAMP, kind="stable"), columns, max_points), columns)
    fig = go.Figure(_line(arrays["x"], arrays["actual"], arrays["customdata"], "actual", ACTUAL_COLOUR, width=1.8))
    for column, name, colour in series:
        fig.add_trace(_line(arrays["x"], arrays[column], arrays["customdata"], name, colour))
    if band:
        lower, upper, name, colour = band
        x, y = _band_outline(arrays["x"], arrays[lower], arrays[upper])
        fig.add_trace(go.Scatter(x=x, y=y, mode="lines", fill="toself", **_band_style(colour),
                                 name=_plain(name), zorder=-1, hoverinfo="skip"))
    _mark_sessions(fig, frame)
    fig.update_yaxes(title_text=UTIL_TITLE, range=_percent_range(np.concatenate([arrays[c] for c in columns])))
    return fig


def _band_outline(x: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One closed outline per unbroken stretch of a band (along the upper bound, back along the lower), separated
    by blanks, so a filled band never bridges a session change or a pause as a fill to the next trace would.

    Where `x` is datetime64[ms] (`_utc`), each stretch's first and last instants move 1 ms inwards: they are the
    bounds of the axis' cut-out gaps (`_mark_sessions`), where plotly drops a point, which would split the outline
    and close each part with a chord across the stretch."""
    ok = np.isfinite(lower) & np.isfinite(upper)
    starts = np.flatnonzero(ok & ~np.r_[False, ok[:-1]])
    ends = np.flatnonzero(ok & ~np.r_[ok[1:], False]) + 1
    xs, ys = [], []
    for start, end in zip(starts, ends):
        along = x[start:end].copy()
        if len(along) > 1 and np.issubdtype(along.dtype, np.datetime64):
            along[0], along[-1] = along[0] + np.timedelta64(1, "ms"), along[-1] - np.timedelta64(1, "ms")
        xs += [along, along[::-1], np.array([None if along.dtype == object else np.nan]).astype(along.dtype)]
        ys += [upper[start:end], lower[start:end][::-1], np.array([np.nan])]
    if not xs:
        return np.array([], dtype=x.dtype), np.array([])
    return np.concatenate(xs), np.concatenate(ys)


def _percent_range(values: np.ndarray) -> list[float]:
    """0–100 % widened to hold every finite value, with a little room at both ends."""
    finite = values[np.isfinite(values)]
    low = min(0.0, float(finite.min())) if finite.size else 0.0
    high = max(100.0, float(finite.max())) if finite.size else 100.0
    pad = 0.04 * (high - low)
    return [low - pad, high + pad]


def trace_figure(evaluation: Evaluation, keys: list[str], session: int | None = None,
                 max_points: int = 4000) -> go.Figure:
    """The target core's actual utilisation against the chosen models' predictions on the hold-out rows, with the
    best model's interval shaded behind them when it is chosen and the run has one (named with its coverage)."""
    unknown = [k for k in keys if k not in evaluation.predictions.columns]
    if unknown:
        raise KeyError(f"{unknown} are not models or baselines of this run.")
    frame = _select_session(evaluation.predictions, session)
    best = evaluation.best.get("key")
    band = ((f"lower {best}", f"upper {best}", f"{model_words(best)}: {evaluation.interval_words(best)}",
             key_colour(evaluation, best)) if best in keys and evaluation.interval_words(best) else None)
    points = _line_points(max_points, len(keys) + 1 + (2 if band else 0))
    fig = _trace_lines(frame, [(k, model_words(k), key_colour(evaluation, k)) for k in keys], points, band)
    where = "all sessions" if session is None else f"session {session}"
    return _titled(fig, f"{evaluation.target}: actual against predicted, hold-out rows",
                   f"{where}; {len(frame):,} rows, thinned to ≤ {points:,} points per line; {PAUSE_NOTE}",
                   hovermode="x unified", wide=True, legend=LEGEND_BELOW)


def compare_predictions_figure(runs: list[tuple[str, pd.DataFrame, str]], session: int | None = None,
                               max_points: int = 4000) -> go.Figure:
    """Each run's chosen model against the actual, on the hold-out rows every run shares (matched by row id), each
    line named '<label>: layer 2 · top-ridge'.

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
        column = f"{label}: {model_words(key)}"
        frame = frame.merge(predictions[["row", key]].rename(columns={key: column}), on="row")
        series.append((column, column, palette[i % len(palette)]))
    frame = _select_session(frame, session).sort_values(TIMESTAMP, kind="stable")
    points = _line_points(max_points, len(series) + 1)
    fig = _trace_lines(frame.assign(**{SEGMENT: shared_stretch_ids(frame)}), series, points)
    dotted = [_dot_lone_points(trace) for trace in fig.data]
    return _titled(fig, "Best model of each run against the actual",
                   f"{len(frame):,} hold-out rows all runs share; thinned to ≤ {points:,} points per line; lines "
                   "break where shared rows are not neighbours in the telemetry and where sampling pauses for over "
                   f"{PAUSE_FACTOR:g} intervals" + ("; dots: a row with no shared neighbour" if any(dotted) else ""),
                   hovermode="x unified", wide=True, legend=LEGEND_BELOW)


def _dot_lone_points(trace: go.Scatter) -> bool:
    """Mark the points a broken line cannot draw (no finite neighbour on either side) with a small dot; whether any
    was marked."""
    y = np.asarray(trace.y, dtype=float)
    finite = np.isfinite(y)
    lone = finite & ~np.r_[False, finite[:-1]] & ~np.r_[finite[1:], False]
    if lone.any():
        trace.update(mode="lines+markers", marker=dict(size=np.where(lone, 4, 0), color=trace.line.color))
    return bool(lone.any())


def _whatif_session_means(frame: pd.DataFrame, sessions: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """Each session's mean difference, and it repeated at every drawn point of the difference line (`sessions`: the
    session of each point, None at its blanks), so the mean draws as a flat line over its own session. Not a segment
    from the session's first to last sample: its last sample sits on the bound of the range break that follows, where
    Plotly hides the point, and a two-point segment lost its end and vanished."""
    means = frame.groupby(SESSION, sort=False)["difference"].mean()
    return means, np.array([np.nan if s is None else means[s] for s in sessions], dtype=float)


def _whatif_mean_words(mean: float, name: str, target: str) -> str:
    """The mean difference said in words, on two lines: the number, then what it means for the target."""
    name = _plain(name)
    shown = round(mean, 2)
    if shown == 0:
        return f"<b>Mean difference 0.00 percentage points</b><br>'{name}' does not move the twin's {target}"
    return (f"<b>Mean difference {shown:+.2f} percentage points</b><br>under '{name}' the twin predicts {target} "
            f"{abs(shown):.2f} points {'higher' if shown > 0 else 'lower'} than as recorded")


def whatif_figure(answer: WhatIfAnswer, session: int | None = None, max_points: int = 4000) -> go.Figure:
    """Top: the actual target and the twin's prediction as recorded and under the scenario (thin, see-through
    lines); bottom: the difference itself (scenario − as recorded, in percentage points) with each session's
    mean and the overall mean in words, so the answer reads even where the two predictions overlap. Each panel's
    legend stands right of it, top-aligned."""
    frame = _select_session(answer.predictions, session).sort_values(TIMESTAMP, kind="stable")
    frame = frame.assign(difference=frame["scenario"] - frame["baseline"])
    name = answer.scenario.name  # raw: _line escapes it in the legend; escaped below where it goes into text
    banded = {"lower", "upper"} <= set(frame)
    columns = ["actual", "baseline", "scenario", "difference"] + (["lower", "upper"] if banded else [])
    points = _line_points(max_points, len(columns) + 1)  # and the session means, drawn at the same points
    arrays = _broken(_thin(frame, columns, points), columns)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.56, 0.44], vertical_spacing=0.11)
    for column, label, colour, opacity in (("actual", "actual", ACTUAL_COLOUR, 0.9),
                                           ("baseline", "predicted, as recorded", BASELINE_COLOUR, 0.75),
                                           ("scenario", f"predicted, {name}", SCENARIO_COLOUR, 0.6)):
        fig.add_trace(_line(arrays["x"], arrays[column], arrays["customdata"], label, colour, width=1.0)
                      .update(opacity=opacity), row=1, col=1)
    fig.add_trace(_line(arrays["x"], arrays["difference"], arrays["customdata"], WHATIF_DIFFERENCE,
                        DIFFERENCE_COLOUR, width=0.8).update(fill="tozeroy", fillcolor="rgba(106, 61, 154, 0.2)",
                                                             legend="legend2"), row=2, col=1)
    means, level = _whatif_session_means(frame, arrays["customdata"][:, 0])
    fig.add_trace(go.Scatter(x=arrays["x"], y=level, customdata=arrays["customdata"],
                             name="session mean of the difference", mode="lines",
                             connectgaps=False, legend="legend2", line=dict(color=SESSION_MEAN_COLOUR, width=2.5),
                             hovertemplate="session %{customdata[0]} · %{customdata[1]}: mean difference "
                                           "%{y:+.2f} points<extra></extra>"), row=2, col=1)
    if len(means) <= MAX_SESSION_LABELS:
        starts = _utc(frame.groupby(SESSION, sort=False)[TIMESTAMP].min().to_numpy())
        _append(fig, annotations=[dict(x=str(start), y=0.02, xref="x2", yref="y2 domain", xanchor="left",
                                       yanchor="bottom", text=f"mean {mean:+.2f}", showarrow=False,
                                       font=dict(size=11, color=SESSION_MEAN_COLOUR))
                                  for start, mean in zip(starts, means)])
    if banded:  # the twin's band around its prediction as recorded, named with the share of all rows (training rows
        # included, as the page's caption says) it covers
        nominal = answer.predictions.attrs.get("interval_nominal")
        covered = coverage(frame["actual"], frame["lower"], frame["upper"])[0]
        bx, by = _band_outline(arrays["x"], arrays["lower"], arrays["upper"])
        fig.add_trace(go.Scatter(
            x=bx, y=by, mode="lines", fill="toself", hoverinfo="skip", zorder=-1, **_band_style(BASELINE_COLOUR),
            name=f"as recorded: {'' if nominal is None else f'{100 * nominal:.0f} % '}interval (covers "
                 f"{score_text(100 * covered, '.1f')} % of all rows)"), row=1, col=1)
    _mark_sessions(fig, frame, panels=("", "2"))
    fig.add_hline(y=0, line=dict(color="#555555", width=1), row=2, col=1)
    fig.add_annotation(x=0, y=1, xref="x2 domain", yref="y2 domain", xanchor="left", yanchor="bottom",
                       showarrow=False, align="left", font=dict(size=12, color="#222222"),
                       text=_whatif_mean_words(float(frame["difference"].mean()), name, answer.target))
    fig.update_xaxes(title_text=None, row=1, col=1)
    fig.update_yaxes(title_text=UTIL_TITLE, row=1, col=1)
    fig.update_yaxes(title_text="scenario − as recorded<br>(percentage points)", row=2, col=1)
    where = "all sessions" if session is None else f"session {session}"
    return _titled(fig, f"What-if '{_plain(name)}': predictions and their difference",
                   f"{where}; {len(frame):,} rows, thinned to ≤ {points:,} points per line; "
                   f"predictions are the model's extrapolation, not measurements; {PAUSE_NOTE}",
                   hovermode="x unified", height=760, wide=True,
                   legend2=dict(x=1.02, xanchor="left", y=fig.layout.yaxis2.domain[1], yanchor="top"))


# -- live ----------------------------------------------------------------------------------------------------------

LIVE_AGO_TITLE = "seconds before the newest sample"
LIVE_BREAK_FACTOR = 1.5  # a step over this many sampling intervals apart has skipped ticks: the lines break there


def live_figure(history: pd.DataFrame, target: str, interval: float, window_s: float,
                nominal: float | None = None) -> go.Figure:
    """The last `window_s` seconds of a live following (all of it, on an axis as long as it, while it is younger)
    before the newest sample: the actual target and the twin's prediction, a marker per sample. Lines join only
    samples one interval apart: where two are more than LIVE_BREAK_FACTOR intervals apart (ticks skipped) they break,
    so no straight line is ever drawn across a span no sample was taken in. Where `history` has the twin's interval
    (`lower`, `upper`) it is shaded, named with the share of these samples it covers (and its `nominal` level)."""
    seconds = history[TIMESTAMP].to_numpy(dtype=float)
    x = seconds - seconds[-1]
    cut = np.flatnonzero(np.diff(x) > LIVE_BREAK_FACTOR * interval) + 1
    fig = go.Figure()
    if {"lower", "upper"} <= set(history) and history["lower"].notna().any():
        lower, upper = (np.insert(history[c].to_numpy(dtype=float), cut, np.nan) for c in ("lower", "upper"))
        covered = coverage(history["actual"], history["lower"], history["upper"])[0]
        level = "" if nominal is None else f"{100 * nominal:.0f} % "
        bx, by = _band_outline(np.insert(x, cut, x[cut - 1]), lower, upper)
        fig.add_trace(go.Scatter(x=bx, y=by, mode="lines", fill="toself", hoverinfo="skip", zorder=-1,
                                 **_band_style(layer_colour(1)),
                                 name=f"twin's {level}interval (covers {100 * covered:.0f} % of these samples)"))
    for column, name, colour, width in (("actual", "actual", ACTUAL_COLOUR, 1.8),
                                        ("predicted", "twin's prediction", layer_colour(1), 1.4)):
        y = np.insert(history[column].to_numpy(dtype=float), cut, np.nan)
        fig.add_trace(go.Scatter(x=np.insert(x, cut, x[cut - 1]), y=y, name=name, mode="lines+markers",
                                 connectgaps=False, marker=dict(size=3), line=dict(color=colour, width=width),
                                 hovertemplate=f"{name}: %{{y:.1f}} %<extra></extra>"))
    elapsed = float(-x[0])
    young = elapsed < window_s - interval  # fewer seconds than the window: the axis spans what there is
    span = max(elapsed, 10 * interval) if young else window_s
    pad = span / 100
    fig.update_xaxes(title_text=LIVE_AGO_TITLE, range=[-span - pad, pad], zeroline=False)
    fig.update_yaxes(title_text=f"{target} (%)", range=[-2, 102])
    when = f"the {elapsed:.0f} s since Start" if young else f"last {window_s:g} s"
    return _titled(fig, f"{target}: actual and predicted, {when}",
                   f"a point per sample, every {interval:g} s; lines break where the machine skipped samples "
                   f"(over {LIVE_BREAK_FACTOR:g} intervals apart)",
                   margin=dict(t=80, b=40),
                   height=380, hovermode="x unified")
