"""Figures of explanations (pure: data in, go.Figure out): what drives a model overall, and why it predicted what it
did at one instant, in points of utilisation a director can read without knowing what SHAP values are."""
from __future__ import annotations

import html
import textwrap

import numpy as np
import plotly.graph_objects as go

from twin_core.evaluate import model_words
from twin_core.explain import Contributions, Importance

TOP_K = 15
POINTS = "points of utilisation"
UP_COLOUR, DOWN_COLOUR, TOTAL_COLOUR = "#d62728", "#1f77b4", "#444444"
BAR_COLOUR = "#8c8c8c"  # importance bars: a mid-grey, apart from the near-black that means "actual" elsewhere
ACTUAL_COLOUR = "#222222"  # the measured value, as the traces draw it
EXPECTED = "expected value (average prediction)"  # one name for the base value in the bars and the subtitles
BAR_PX = 26  # height of one bar, so a chart of many inputs grows instead of squeezing its names
SUBTITLE_CHARS = 150  # a subtitle line this long fits a chart across the page at 1280 px


def _layout(fig: go.Figure, title: str, subtitle: str, bars: int) -> go.Figure:
    """Title and subtitle above (the subtitle wrapped to fit), full input names left of the bars (autosized margin),
    and a height that fits every bar."""
    lines = textwrap.wrap(html.escape(subtitle), SUBTITLE_CHARS) or [""]
    fig.update_layout(title=dict(text=html.escape(title), subtitle=dict(text="<br>".join(lines)), font=dict(size=16)),
                      template="plotly_white", height=160 + BAR_PX * bars + 14 * len(lines),
                      margin=dict(t=76 + 14 * len(lines), l=12, r=24), showlegend=False)
    fig.update_yaxes(automargin=True, autorange="reversed")
    return fig


def importance_figure(importance: Importance, top_k: int = TOP_K) -> go.Figure:
    """Horizontal bars of a model's mean absolute contribution per input, the largest on top: the top `top_k`,
    with "k of N inputs" and the rows it was measured on said in the subtitle."""
    table = importance.table().head(top_k)
    shown, total = len(table), len(importance.inputs)
    rows = (f"all {importance.rows_used:,} hold-out rows" if importance.rows_used == importance.rows_total else
            f"a seeded sample of {importance.rows_used:,} of {importance.rows_total:,} hold-out rows")
    fig = go.Figure(go.Bar(x=table["mean_abs_contribution"], y=table["input"], orientation="h",
                           marker_color=BAR_COLOUR, text=[f"{v:.2f}" for v in table["mean_abs_contribution"]],
                           textposition="outside", cliponaxis=False,
                           hovertemplate="%{y}: %{x:.2f} points<extra></extra>"))
    fig.update_xaxes(title_text=f"mean size of its contribution ({POINTS})", rangemode="tozero")
    which = f"all {total} inputs" if shown == total else f"top {shown} of {total} inputs"
    return _layout(fig, f"What drives {model_words(importance.key)}: {which}",
                   f"Mean absolute contribution, how far each input moves the prediction from the {EXPECTED}, on "
                   f"{rows}; {importance.method}.", shown)


def contribution_figure(contributions: Contributions, when: str, top_k: int = TOP_K, index: int = 0,
                        actual: float | None = None) -> go.Figure:
    """A waterfall for one prediction: the expected value, the `top_k` largest contributions (red pushes the
    prediction up, blue down), the rest summed as one bar, and the prediction they add up to; the `actual` value
    measured at that instant, when given, as a dashed line."""
    values = contributions.values[index]
    expected = float(contributions.expected[index])
    order = np.argsort(-np.abs(values), kind="stable")[:top_k]
    rest = float(values.sum() - values[order].sum())
    names = [EXPECTED, *[contributions.inputs[i] for i in order]]
    steps = [expected, *values[order].tolist()]
    others = len(values) - len(order)
    if others:
        names.append(f"{others} other inputs together")
        steps.append(rest)
    prediction = float(contributions.prediction[index])
    names.append("prediction")
    steps.append(prediction)
    measure = ["absolute", *["relative"] * (len(steps) - 2), "total"]
    text = [f"{expected:.2f}", *[f"{v:+.2f}" for v in steps[1:-1]], f"{prediction:.2f}"]
    fig = go.Figure(go.Waterfall(
        orientation="h", y=names, x=steps, measure=measure, text=text, textposition="outside", cliponaxis=False,
        increasing=dict(marker_color=UP_COLOUR), decreasing=dict(marker_color=DOWN_COLOUR),
        totals=dict(marker_color=TOTAL_COLOUR), connector=dict(line=dict(color="#bbbbbb", width=1)),
        hovertemplate="%{y}: %{x:+.2f} points<extra></extra>"))
    fig.update_xaxes(title_text=f"predicted utilisation (%); each step in {POINTS}")
    if actual is not None and np.isfinite(actual):
        fig.add_vline(x=float(actual), line=dict(color=ACTUAL_COLOUR, width=1.5, dash="dash"),
                      annotation=dict(text=f"actual {actual:.1f} %", font=dict(color=ACTUAL_COLOUR)),
                      annotation_position="top")
    return _layout(fig, f"Why {model_words(contributions.key)} predicts {prediction:.1f} % at {when}",
                   f"The {EXPECTED} plus each input's contribution (red up, blue down) = the prediction"
                   + ("; dashed: the actual value" if actual is not None and np.isfinite(actual) else "")
                   + f"; {contributions.method}.", len(steps))
