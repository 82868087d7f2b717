"""The Anomalies page's pieces: a run's band and episodes (found once per run and `min_samples`, then served from
Streamlit's cache, keyed on the run's key so no frame is ever hashed), the episode table in a director's words, and
the figures of twin_core.plots_anomalies titled by the twin's kind."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from twin_core.anomalies import band_frame, find_episodes
from twin_core.errors import MissingColumnError
from twin_core.evaluate import Evaluation, model_words
from twin_core.plots_anomalies import episode_figure, episodes_overview_figure
from twin_core.telemetry import SESSION, WORKLOAD
from twin_core.wording import titled_by_kind
from ui.state import Run

ENTRIES = 16  # per cache: a few runs × the min_samples and episodes a user looks at
EPISODE_TABLE = {  # column → (header, help) of the episode table
    "rank": ("rank", "Episodes are ranked by how far and how long the actual stayed outside the band: the sum, over "
                     "the episode's samples, of the points beyond it."),
    SESSION: ("session", "The recording session the episode lies in (an episode never spans two)."),
    WORKLOAD: ("workload", "The workload the session ran."),
    "direction": ("side", "above: the core was busier than its twin allows; below: idler."),
    "start": ("starts (UTC)", "The first sample outside the band."),
    "duration_s": ("lasts (s)", "From the first to the last sample outside the band, in seconds."),
    "samples": ("samples", "Consecutive samples outside the band."),
    "peak_excess": ("peak (points)", "The largest distance beyond the band, in points of utilisation."),
    "total_excess": ("size (point·samples)", "The points beyond the band summed over the episode's samples: what "
                                             "the ranking uses (grows with both height and duration)."),
}
NUMBER_FORMATS = {"rank": "%d", SESSION: "%d", "duration_s": "%.1f", "samples": "localized", "peak_excess": "%.1f",
                  "total_excess": "%.0f"}


@st.cache_resource(show_spinner=False, max_entries=ENTRIES)
def _band(run_key: str, _evaluation: Evaluation) -> pd.DataFrame | None:
    try:
        return band_frame(_evaluation.predictions, _evaluation.best["key"])
    except MissingColumnError:  # a run trained before intervals
        return None


def band(run: Run) -> pd.DataFrame | None:
    """The hold-out band frame of the run's best model (anomalies.band_frame), None when the run has no band."""
    return _band(run.key, run.result.evaluation)


@st.cache_resource(show_spinner="Finding episodes…", max_entries=ENTRIES)
def _episodes(run_key: str, min_samples: int, _frame: pd.DataFrame) -> pd.DataFrame:
    return find_episodes(_frame, min_samples)


def episodes(run: Run, min_samples: int) -> pd.DataFrame:
    """The run's episodes of at least `min_samples` samples outside its best model's band, largest first."""
    return _episodes(run.key, min_samples, band(run))


def band_name(run: Run) -> str:
    """The band's short name for a legend: '90 % band' (the level the run's bands were built for)."""
    nominal = run.result.evaluation.interval.get("nominal", run.result.config.intervals.nominal)
    return f"{100 * nominal:.0f} % band"


def band_label(run: Run) -> str:
    """The band in words with its coverage beside it: '90 % band of layer 2 · top-ridge, covers 89.6 % of hold-out
    rows', as far as the run's metrics know it."""
    coverage = (run.result.metrics.get("best", {}).get("interval") or {}).get("coverage_holdout")
    covers = "" if coverage is None else f", covers {100 * coverage:.1f} % of hold-out rows"
    return f"{band_name(run)} of {model_words(run.result.evaluation.best['key'])}{covers}"


def table(found: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """The episodes as the page shows them (start as a UTC time) and the column settings naming each column."""
    shown = found.assign(start=pd.to_datetime(found["start"], unit="s"))[list(EPISODE_TABLE)]
    config = {}
    for column, (header, about) in EPISODE_TABLE.items():
        if column == "start":
            config[column] = st.column_config.DatetimeColumn(header, help=about, format="D MMM YYYY, HH:mm:ss")
        elif column in NUMBER_FORMATS:
            config[column] = st.column_config.NumberColumn(header, help=about, format=NUMBER_FORMATS[column])
        else:
            config[column] = st.column_config.TextColumn(header, help=about)
    return shown, config


def episode_name(found: pd.DataFrame, rank: int) -> str:
    """An episode in a few words for the chooser: '#1 · session 3 · 12:01:05 · 2.1 s above'."""
    row = found.loc[found["rank"] == rank].iloc[0]
    start = pd.to_datetime(row["start"], unit="s").strftime("%H:%M:%S")
    return f"#{rank} · session {row[SESSION]} · {start} · {row['duration_s']:.1f} s {row['direction']}"


@st.cache_resource(show_spinner=False, max_entries=ENTRIES)
def _zoom(run_key: str, min_samples: int, rank: int, _run: Run) -> go.Figure:
    found = episodes(_run, min_samples)
    fig = episode_figure(band(_run), found.loc[found["rank"] == rank].iloc[0], _run.result.target, band_name(_run),
                         band_label(_run), episodes=found)  # its neighbours in the window shaded lightly
    return titled_by_kind(fig, _run.result.config.kind)


def zoom(run: Run, min_samples: int, rank: int) -> go.Figure:
    """plots_anomalies.episode_figure of one episode of the run, titled by the twin's kind."""
    return _zoom(run.key, min_samples, rank, run)


@st.cache_resource(show_spinner=False, max_entries=ENTRIES)
def _overview(run_key: str, min_samples: int, _run: Run) -> go.Figure:
    fig = episodes_overview_figure(band(_run), episodes(_run, min_samples), _run.result.target)
    return titled_by_kind(fig, _run.result.config.kind)


def overview(run: Run, min_samples: int) -> go.Figure:
    """plots_anomalies.episodes_overview_figure of the run, titled by the twin's kind."""
    return _overview(run.key, min_samples, run)
