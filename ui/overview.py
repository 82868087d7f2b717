"""The Overview's pieces: the data and the active run in one glance (a glossary tooltip for each term of art),
and the session its short trace is drawn on."""
from __future__ import annotations

import streamlit as st

from twin_core.evaluate import Evaluation, model_words
from twin_core.telemetry import Telemetry
from twin_core.wording import GLOSSARY, split_caption
from ui import format as fmt
from ui.state import Run


def data_glance(telemetry: Telemetry, label: str) -> None:
    """The active data in four cards and a line naming the target, so the page says what the twin learns from."""
    st.subheader(f"Data: {label}")
    cards = st.columns(4)
    cards[0].metric("Rows", f"{len(telemetry.frame):,}", border=True)
    cards[1].metric("Sessions", telemetry.n_sessions, border=True,
                    help="Recordings without a long pause or a counter reset; split at file boundaries too.")
    cards[2].metric("Cores", telemetry.n_cores, border=True)
    cards[3].metric("Sampling interval", f"{telemetry.sampling_interval:.3g} s", border=True,
                    help="Median time between samples.")
    st.markdown(f"Target: **{telemetry.target}**, the core the twin predicts from the rest of the machine.")


def run_glance(run: Run) -> None:
    """The active run's kind sentence, the headline cards of Results (best honest R² beside the baseline its kind must
    beat, and why persistence is no bar), and its split."""
    result = run.result
    kind = result.config.kind
    best = result.evaluation.best
    st.subheader(f"Active twin: run {run.label}")
    st.markdown(result.metrics["kind_sentence"], help=GLOSSARY[kind])
    fmt.metric_cards(result, f"Best model **{model_words(best['key'])}**, chosen by out-of-fold R², scored on the "
                             f"hold-out · trained on {run.data_label} · {split_caption(result)}",
                     f"{GLOSSARY['hold-out']}\n\n{GLOSSARY['out-of-fold']}")
    fmt.score_notes(result.evaluation)


def trace_session(evaluation: Evaluation) -> int:
    """The session the Overview's short trace shows: the one with the most hold-out rows, so the trace is not a
    handful of points."""
    return int(evaluation.predictions["session"].value_counts().idxmax())
