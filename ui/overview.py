"""The Overview's pieces: a glossary of the terms of art it shows (one tooltip each), the data and the active run
in one glance, and the session its short trace is drawn on."""
from __future__ import annotations

import streamlit as st

from twin_core.evaluate import BASELINES, REFERENCE_BY_KIND, Evaluation, score_text
from twin_core.telemetry import Telemetry
from ui import format as fmt
from ui.state import Run

GLOSSARY = {  # plain words for every term of art the Overview shows, as its tooltips
    "R²": "R² (coefficient of determination): the share of the target core's variation that the predictions "
          "explain. 1 is perfect, 0 is no better than always predicting the average, below 0 is worse than that.",
    "hold-out": "Hold-out: rows kept out of training and used only once, to score the twin on data it never "
                "trained on. Time-ordered, so the twin never learns from the future it is scored on.",
    "out-of-fold": "Out-of-fold (OOF): each training row predicted by a model fitted without it, on time-ordered "
                   "folds. The best model is chosen by its out-of-fold R², so the hold-out stays unseen until the "
                   "final score.",
    "baseline": "Baseline: a simple prediction with little or no learning that the twin must beat to be worth "
                "anything.",
    "identity": f"Identity baseline: {BASELINES['identity']}, the target core computed from the overall "
                "utilisation by arithmetic alone.",
    "linear_others": f"Linear baseline: {BASELINES['linear_others']}, the simplest model of the target given the "
                     "rest of the machine.",
    "reconstruction": f"{fmt.kind_title('reconstruction')}: {fmt.KIND_READS['reconstruction']}",
    "behavioural": f"{fmt.kind_title('behavioural')}: {fmt.KIND_READS['behavioural']}",
    "stack": "Stack: models in layers. Layer 1 reads the features; each layer above learns from the out-of-fold "
             "predictions of the layer below. The twin's answer is the best model of any layer.",
    "layer": "Layer: one level of the stack, a few models side by side; a layer is worth keeping only when its best "
             "model beats the layer below.",
}


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
    """The active run's kind sentence, its best honest R² beside the baseline its kind must beat, and its split."""
    result = run.result
    kind = result.config.kind
    reference = REFERENCE_BY_KIND[kind]
    best = result.evaluation.best
    label, _, about = fmt.REFERENCE_CARDS[reference]
    st.subheader(f"Active twin: run {run.label}")
    st.markdown(result.metrics["kind_sentence"], help=GLOSSARY[kind])
    cards = st.columns(4)
    cards[0].metric("Best R² (hold-out)", score_text(best["r2_holdout"]), border=True,
                    help=f"{GLOSSARY['R²']}\n\n{GLOSSARY['hold-out']}\n\n{GLOSSARY['out-of-fold']}\n\n"
                         f"Best model: {best['key']}.")
    cards[1].metric(label, score_text(result.evaluation.baseline_r2(reference)), border=True,
                    help=f"{GLOSSARY['baseline']}\n\n{GLOSSARY[reference]}\n\n{about}")
    st.caption(f"Best model **{best['key']}**, chosen by out-of-fold R², scored on the hold-out · trained on "
               f"{run.data_label} · {fmt.split_caption(result)}",
               help=f"{GLOSSARY['hold-out']}\n\n{GLOSSARY['out-of-fold']}")


def trace_session(evaluation: Evaluation) -> int:
    """The session the Overview's short trace shows: the one with the most hold-out rows, so the trace is not a
    handful of points."""
    return int(evaluation.predictions["session"].value_counts().idxmax())
