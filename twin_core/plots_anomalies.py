"""Figures of anomaly episodes (data in, `go.Figure` out): one episode zoomed with its context, and every episode of
a hold-out on one time axis. They draw as the trace charts of twin_core.plots do (the same thinning, line breaks at
pauses, session shading and titles), so an episode looks here as it looks on Results."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from twin_core.plots import (ACTUAL_COLOUR, PAUSE_NOTE, UTIL_TITLE, _band_style, _broken, _line, _mark_sessions,
                             _percent_range, _plain, _thin, _titled, _utc)
from twin_core.telemetry import SESSION, TIMESTAMP

PREDICTED_COLOUR = "#1f77b4"  # the prediction, and its band (plots.BAND_FILL_OPACITY, with a thin edge)
EPISODE_COLOURS = {"above": "#d62728", "below": "#9467bd"}  # an episode's shading, by the side it left the band on
CONTEXT_SAMPLES = 60  # samples shown before and after an episode (at least)
CHOSEN_OPACITY, OTHER_OPACITY = 0.22, 0.08  # the zoomed episode's shading, and any other episode's in its window
RANK_WORDS = "numbered by rank of size = points beyond the band × samples"  # rank is by size, not by height


def _band_traces(arrays: dict[str, np.ndarray], label: str) -> list[go.Scatter]:
    """The band as a filled area between its upper and lower edge, then the prediction."""
    return [
        go.Scatter(x=arrays["x"], y=arrays["upper"], mode="lines", line=_band_style(PREDICTED_COLOUR)["line"],
                   showlegend=False, hoverinfo="skip", connectgaps=False),
        go.Scatter(x=arrays["x"], y=arrays["lower"], mode="lines", fill="tonexty", **_band_style(PREDICTED_COLOUR),
                   name=_plain(label), hoverinfo="skip", connectgaps=False),
        _line(arrays["x"], arrays["predicted"], arrays["customdata"], "predicted", PREDICTED_COLOUR)]


def _episode_words(episode: pd.Series) -> str:
    """'above its band for 2.3 s (23 samples), up to 41.0 points beyond it'."""
    return (f"{episode['direction']} its band for {episode['duration_s']:.1f} s ({int(episode['samples'])} samples), "
            f"up to {episode['peak_excess']:.1f} points beyond it")


def _shade_episodes(fig: go.Figure, episodes: pd.DataFrame, chosen: int, start: float, end: float) -> int:
    """Shade each episode overlapping [start, end] (epoch s) in its side's colour, the `chosen` rank strongly and the
    others lightly, each with its rank above the plot; the number of others shaded."""
    inside = episodes.loc[(episodes["end"] >= start) & (episodes["start"] <= end)]
    shapes, notes = [], []
    for _, row in inside.sort_values("rank").iterrows():
        mine = int(row["rank"]) == chosen
        x0, x1 = (str(x) for x in _utc(np.array([max(row["start"], start), min(row["end"], end)])))
        colour = EPISODE_COLOURS[row["direction"]]
        shapes.append(dict(type="rect", x0=x0, x1=x1, xref="x", y0=0, y1=1, yref="y domain", fillcolor=colour,
                           opacity=CHOSEN_OPACITY if mine else OTHER_OPACITY, layer="below", line=dict(width=0)))
        rank = int(row["rank"])
        notes.append(dict(x=x0, y=1.0, xref="x", yref="y domain", xanchor="left", yanchor="top", showarrow=False,
                          text=f"<b>{rank}</b>" if mine else str(rank), font=dict(size=12, color=colour),
                          hovertext=f"episode {rank} · {row['direction']} · {int(row['samples'])} samples · up to "
                                    f"{row['peak_excess']:.1f} points"))
    fig.layout.shapes = (*fig.layout.shapes, *shapes)
    fig.layout.annotations = (*fig.layout.annotations, *notes)
    return len(inside) - int((inside["rank"] == chosen).any())


def episode_figure(frame: pd.DataFrame, episode: pd.Series, target: str, band_name: str, band_note: str,
                   context: int = CONTEXT_SAMPLES, max_points: int = 4000,
                   episodes: pd.DataFrame | None = None) -> go.Figure:
    """One episode (a row of anomalies.find_episodes) zoomed: actual, prediction and band over the episode and
    `context` samples (or the episode's own length, if longer) of its session on either side, the episode shaded
    strongly and numbered by its rank; every other of `episodes` (find_episodes of the same frame, so the ranks are
    the table's) inside the window shaded lightly with its rank, so a neighbour is never left unmarked.

    `frame` is the band frame the episode was found in (anomalies.band_frame); `band_name` names the band in the
    legend ('90 % band'), `band_note` says more of it in the subtitle (its model, its coverage). The time axis is
    ticked and titled as the other time charts' (plots._mark_sessions)."""
    session = frame.loc[frame[SESSION] == episode[SESSION]].sort_values(TIMESTAMP, kind="stable")
    rows = session["row"].to_numpy()
    first, last = np.searchsorted(rows, [episode["first_row"], episode["last_row"]])
    pad = max(context, int(episode["samples"]))
    window = session.iloc[max(first - pad, 0):last + pad + 1]
    columns = ["actual", "predicted", "lower", "upper"]
    arrays = _broken(_thin(window, columns, max_points), columns)
    fig = go.Figure(_band_traces(arrays, band_name))
    fig.add_trace(_line(arrays["x"], arrays["actual"], arrays["customdata"], "actual", ACTUAL_COLOUR, width=1.8))
    _mark_sessions(fig, window)
    shown = episodes if episodes is not None else episode.to_frame().T
    others = _shade_episodes(fig, shown, int(episode["rank"]), float(window[TIMESTAMP].min()),
                             float(window[TIMESTAMP].max()))
    fig.update_yaxes(title_text=UTIL_TITLE, range=_percent_range(np.concatenate([arrays[c] for c in columns])))
    start = pd.to_datetime(episode["start"], unit="s").strftime("%d %b %Y %H:%M:%S")
    shaded = "the episode" + (f" (strong), {others} other episode{'s' if others > 1 else ''} in view (light), "
                              "each numbered by rank" if others else "")
    return _titled(fig, f"Episode {int(episode['rank'])}: {_plain(target)} {_episode_words(episode)}",
                   f"session {episode[SESSION]} · {_plain(str(episode['workload_type']))} · from {start} UTC; shaded: "
                   f"{shaded}; {len(window):,} samples around it; {_plain(band_note)}; {PAUSE_NOTE}",
                   hovermode="x unified", wide=True)


def episodes_overview_figure(frame: pd.DataFrame, episodes: pd.DataFrame, target: str,
                             max_points: int = 4000) -> go.Figure:
    """Every hold-out row's distance beyond the band over time (0 inside it), each episode marked at its peak
    with its rank (by size: points beyond the band × samples, so not by height), so where and how often the target
    left its band reads at a glance."""
    excess = np.clip(frame["actual"] - frame["upper"], 0, None) - np.clip(frame["lower"] - frame["actual"], 0, None)
    data = frame.assign(excess=excess.fillna(0.0))
    arrays = _broken(_thin(data, ["excess"], max_points), ["excess"])
    fig = go.Figure(_line(arrays["x"], arrays["excess"], arrays["customdata"], "beyond the band", "#7f7f7f"))
    if len(episodes):
        middle = (episodes["start"] + episodes["end"]) / 2
        signed = np.where(episodes["direction"] == "above", episodes["peak_excess"], -episodes["peak_excess"])
        fig.add_trace(go.Scatter(
            x=_utc(middle.to_numpy()), y=signed, mode="markers+text",
            name="episode, numbered by<br>rank of size",
            text=episodes["rank"].astype(str), textposition="top center",
            marker=dict(size=9, color=[EPISODE_COLOURS[d] for d in episodes["direction"]]),
            customdata=np.column_stack([episodes["rank"], episodes[SESSION], episodes["duration_s"]]),
            hovertemplate="episode %{customdata[0]} · session %{customdata[1]} · %{customdata[2]:.1f} s<br>"
                          "up to %{y:.1f} points<extra></extra>"))
    _mark_sessions(fig, frame)
    fig.add_hline(y=0, line=dict(color="#555555", width=1))
    fig.update_yaxes(title_text="beyond the band (points; + above, − below)")
    return _titled(fig, f"{_plain(target)}: where the actual left the band, hold-out rows",
                   f"{len(episodes):,} episodes on {len(frame):,} rows; y = 0: inside the band; dots: each "
                   f"episode's peak, {RANK_WORDS} (not by height); {PAUSE_NOTE}", hovermode="closest", wide=True)
