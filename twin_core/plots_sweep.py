"""The sweep's response chart: how R² answers each swept setting, per layer (plotly, pure: rows in, figure out).

One panel per swept setting, its values along the x axis in the grid's order; for each layer the best model's
out-of-fold R² (solid: what chose the winner) and its hold-out R² (dotted and faded: shown, never used to choose),
each the mean over the runs that share the value; the baseline the twin's kind must beat as a grey line. A layer a
value drops has no point there.
"""
from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from twin_core.evaluate import model_words
from twin_core.plots import BASELINE_COLOURS, layer_colour

R2_TITLE = "R² (mean over the other settings)"
OOF_WORDS = "out-of-fold (picks the winner)"
HOLDOUT_WORDS = "hold-out (for information)"
LEGEND_GAP_PX = 34  # the legend's top this far below the panels: under the x tick labels (one line of 12 px text)


def _nice_step(span: float) -> float:
    """A round tick step (1, 2 or 5 × 10^k) giving about five ticks over `span`."""
    raw = max(span, 1e-9) / 5
    power = 10 ** np.floor(np.log10(raw))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def _r2_range(values: list[float]) -> tuple[list[float], float] | None:
    """The y range (and its tick step) holding every value, starting on a tick at or below the lowest one, so no
    point lies below the last tick; None with no finite value."""
    finite = [v for v in values if v is not None and np.isfinite(v)]
    if not finite:
        return None
    low, high = min(finite), max(finite)
    step = _nice_step(high - low)
    bottom = float(np.floor(low / step - 1e-9) * step)
    if low - bottom < 0.1 * step:  # a point right on the bottom tick: one more step, so its marker is not cut
        bottom -= step
    return [bottom, high + 0.08 * (high - bottom)], step


def _mean(values: list[float | None]) -> float | None:
    finite = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(finite)) if finite else None


def _in_order(values: Iterable[str]) -> list[str]:
    """A setting's values along its axis: by number when they all are numbers, else as the runs first give them."""
    seen = list(dict.fromkeys(values))
    try:
        return sorted(seen, key=float)
    except ValueError:
        return seen


def response_chart(rows: Sequence[dict], reference: str, title: str = "How R² answers each swept setting") -> go.Figure:
    """R² by each swept setting (one panel each), per layer: out-of-fold solid, hold-out dotted and faded, and the
    `reference` baseline's hold-out R² as a grey line; `rows` are sweep.run_row lines (settings, layers, baselines)."""
    rows = sorted(rows, key=lambda r: r["index"])
    axes = list(rows[0]["settings"]) if rows else []
    fig = make_subplots(rows=1, cols=max(1, len(axes)), shared_yaxes=True, horizontal_spacing=0.04,
                        subplot_titles=[html.escape(a, quote=False) for a in axes] or ["no run finished"])
    depth = max((g["layer"] for r in rows for g in r["layers"]), default=0)
    baseline = _mean([r["baselines"].get(reference) for r in rows])
    plotted = [baseline]
    for col, axis in enumerate(axes, start=1):
        values = _in_order(r["settings"][axis] for r in rows)
        for layer in range(1, depth + 1):
            for score, dash, opacity, words in (("r2_oof", "solid", 1.0, OOF_WORDS),
                                                ("r2_holdout", "dot", 0.45, HOLDOUT_WORDS)):
                means, counts = [], []
                for value in values:
                    found = [g[score] for r in rows if r["settings"][axis] == value
                             for g in r["layers"] if g["layer"] == layer]
                    means.append(_mean(found))
                    plotted.append(means[-1])
                    counts.append(len(found))
                fig.add_trace(go.Scatter(
                    x=values, y=means, mode="lines+markers", name=f"layer {layer} · {words}",
                    legendgroup=f"{layer}-{score}", showlegend=col == 1, opacity=opacity,
                    line={"color": layer_colour(layer), "dash": dash, "width": 2.5 if score == "r2_oof" else 2},
                    marker={"size": 8 if score == "r2_oof" else 6}, customdata=counts,
                    hovertemplate=f"{html.escape(axis, quote=False)} = %{{x}}<br>layer {layer} best model, {words}: "
                                  "R² %{y:.4f}<br>mean of %{customdata} run(s)<extra></extra>"), row=1, col=col)
        if baseline is not None:
            fig.add_trace(go.Scatter(
                x=values, y=[baseline] * len(values), mode="lines", name=f"{model_words(reference)} (hold-out)",
                legendgroup="reference", showlegend=col == 1,
                line={"color": BASELINE_COLOURS.get(reference, "#7f7f7f"), "dash": "dash", "width": 1.5},
                hovertemplate=f"{model_words(reference)}: R² %{{y:.4f}} on the hold-out<extra></extra>"),
                row=1, col=col)
        fig.update_xaxes(type="category", row=1, col=col)
    fig.update_yaxes(title_text=R2_TITLE, row=1, col=1)
    scale = _r2_range(plotted)
    if scale is not None:
        fig.update_yaxes(range=scale[0], tick0=scale[0][0], dtick=scale[1])
    height, top, bottom = 460, 80, 110
    # the legend hangs from a point LEGEND_GAP_PX below the panels (below their tick labels) and grows downward;
    # plotly widens the bottom margin if it wraps onto more rows, so it never covers the ticks at any width
    gap = LEGEND_GAP_PX / (height - top - bottom)
    fig.update_layout(title={"text": title}, height=height, margin={"t": top, "b": bottom, "l": 60, "r": 20},
                      legend={"orientation": "h", "y": -gap, "yanchor": "top", "x": 0, "xanchor": "left"},
                      hovermode="closest")
    return fig
