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


def episode_figure(frame: pd.DataFrame, episode: pd.Series, target: str, band_name: str, band_note: str,
                   context: int = CONTEXT_SAMPLES, max_points: int = 4000) -> go.Figure:
    """One episode (a row of anomalies.find_episodes) zoomed: actual, prediction and band over the episode and
    `context` samples (or the episode's own length, if longer) of its session on either side, the episode shaded.

    `frame` is the band frame the episode was found in (anomalies.band_frame); `band_name` names the band in the
    legend ('90 % band'), `band_note` says more of it in the subtitle (its model, its coverage)."""
    session = frame.loc[frame[SESSION] == episode[SESSION]].sort_values(TIMESTAMP, kind="stable")
    rows = session["row"].to_numpy()
    first, last = np.searchsorted(rows, [episode["first_row"], episode["last_row"]])
    pad = max(context, int(episode["samples"]))
    window = session.iloc[max(first - pad, 0):last + pad + 1]
    columns = ["actual", "predicted", "lower", "upper"]
    arrays = _broken(_thin(window, columns, max_points), columns)
    fig = go.Figure(_band_traces(arrays, band_name))
    fig.add_trace(_line(arrays["x"], arrays["actual"], arrays["customdata"], "actual", ACTUAL_COLOUR, width=1.8))
    x0, x1 = (str(x) for x in _utc(np.array([episode["start"], episode["end"]])))
    fig.add_vrect(x0=x0, x1=x1, fillcolor=EPISODE_COLOURS[episode["direction"]], opacity=0.15, layer="below",
                  line_width=0)
    fig.update_xaxes(type="date", title_text="time (UTC)")
    fig.update_yaxes(title_text=UTIL_TITLE, range=_percent_range(np.concatenate([arrays[c] for c in columns])))
    start = pd.to_datetime(episode["start"], unit="s").strftime("%d %b %Y %H:%M:%S")
    return _titled(fig, f"Episode {int(episode['rank'])}: {_plain(target)} {_episode_words(episode)}",
                   f"session {episode[SESSION]} · {_plain(str(episode['workload_type']))} · from {start} UTC; shaded: "
                   f"the episode; {len(window):,} samples around it; {_plain(band_note)}; {PAUSE_NOTE}",
                   hovermode="x unified", wide=True)


def episodes_overview_figure(frame: pd.DataFrame, episodes: pd.DataFrame, target: str,
                             max_points: int = 4000) -> go.Figure:
    """Every hold-out row's distance beyond the band over time (0 inside it), each episode marked at its peak
    with its rank, so where and how often the target left its band reads at a glance."""
    excess = np.clip(frame["actual"] - frame["upper"], 0, None) - np.clip(frame["lower"] - frame["actual"], 0, None)
    data = frame.assign(excess=excess.fillna(0.0))
    arrays = _broken(_thin(data, ["excess"], max_points), ["excess"])
    fig = go.Figure(_line(arrays["x"], arrays["excess"], arrays["customdata"], "beyond the band", "#7f7f7f"))
    if len(episodes):
        middle = (episodes["start"] + episodes["end"]) / 2
        signed = np.where(episodes["direction"] == "above", episodes["peak_excess"], -episodes["peak_excess"])
        fig.add_trace(go.Scatter(
            x=_utc(middle.to_numpy()), y=signed, mode="markers+text", name="episode (rank)",
            text=episodes["rank"].astype(str), textposition="top center",
            marker=dict(size=9, color=[EPISODE_COLOURS[d] for d in episodes["direction"]]),
            customdata=np.column_stack([episodes["rank"], episodes[SESSION], episodes["duration_s"]]),
            hovertemplate="episode %{customdata[0]} · session %{customdata[1]} · %{customdata[2]:.1f} s<br>"
                          "up to %{y:.1f} points<extra></extra>"))
    _mark_sessions(fig, frame)
    fig.add_hline(y=0, line=dict(color="#555555", width=1))
    fig.update_yaxes(title_text="beyond the band (points; + above, − below)")
    return _titled(fig, f"{_plain(target)}: where the actual left the band, hold-out rows",
                   f"{len(episodes):,} episodes on {len(frame):,} rows; 0 inside the band; dots: each episode's "
                   f"peak, numbered by rank; {PAUSE_NOTE}", hovermode="closest", wide=True)
