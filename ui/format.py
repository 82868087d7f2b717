"""Small shared pieces of layout: how a split is named beside every R², LEAKY labels, the twin's kind in words and
chart titles, the headline metric cards."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from twin_core.evaluate import BASELINES, REFERENCE_BY_KIND, score_text
from twin_core.pipeline import TrainResult

KIND_CHOICES = {"reconstruction": "Reconstruction: may read overall and the identity",
                "behavioural": "Behavioural: reads neither overall nor the identity"}
KIND_READS = {"reconstruction": "reads cpu_util_overall, from which the identity N·overall − Σ other cores nearly "
                                "gives the target by arithmetic: good to fill in or check a core.",
              "behavioural": "reads the other cores and the workload, never cpu_util_overall or the target itself: "
                             "it has learned how the target behaves given the rest of the machine."}
REFERENCE_CARDS = {  # the baseline a twin of each kind must beat: its metric card's label, the delta's word, help
    "identity": ("Identity R²", "identity",
                 "The identity baseline N·overall − Σ other cores, clipped to 0–100: what the aggregate alone "
                 "says."),
    "linear_others": ("Linear R²", "linear", "The linear baseline: a ridge on the other cores' current values, "
                                             "fitted on the training rows only."),
}
REFERENCE_NAMES = {"identity": "identity", "linear_others": "linear baseline"}  # beside an R², in a few words


def kind_title(kind: str) -> str:
    """How a twin's kind is named on every page and chart: 'Reconstruction twin' or 'Behavioural twin'."""
    return f"{kind.capitalize()} twin"


def kind_caption(kind: str) -> str:
    """One line of what a twin of this kind reads, for a page that shows a twin without its scores."""
    return f"{kind_title(kind)}: {KIND_READS[kind]}"


def titled_by_kind(fig: go.Figure, kind: str) -> go.Figure:
    """The figure with its title led by the twin's kind, so a chart seen alone still says which twin drew it."""
    return fig.update_layout(title_text=f"{kind_title(kind)} · {fig.layout.title.text}")


def split_caption(result: TrainResult) -> str:
    """Hold-out and CV of a run, to sit next to every R² it reports."""
    text = f"Hold-out: {result.split.description} · OOF: {result.cv_description}"
    return f"⚠️ LEAKY protocol — {text}" if result.config.leaky else text


def metric_cards(result: TrainResult) -> None:
    """Headline numbers (four cards, short labels that fit at 1280 px): the best model's R² against the baseline its
    kind must beat, and persistence; the row counts go in the caption with the split."""
    best = result.evaluation.best
    reference = REFERENCE_BY_KIND[result.config.kind]
    reference_r2 = result.evaluation.baseline_r2(reference)
    persistence = result.evaluation.baseline_r2("persistence")
    counts = result.split.counts()
    gain = best["r2_holdout"] - reference_r2
    label, word, about = REFERENCE_CARDS[reference]
    cols = st.columns(4)
    # no delta arrow when the gain cannot be measured: Streamlit draws any unsigned delta as a green rise
    cols[0].metric("Best R² (hold-out)", score_text(best["r2_holdout"]),
                   delta=f"{gain:+.3f} vs {word}" if np.isfinite(gain) else None, border=True,
                   help=f"The best model, {best['key']}, of this {kind_title(result.config.kind).lower()} on the "
                        f"held-out rows; selected by {best['selected_by']}.")
    cols[1].metric("Best R² (OOF)", score_text(best['r2_oof']), border=True,
                   help="Out-of-fold: each training row predicted by the fold that did not see it.")
    cols[2].metric(label, score_text(reference_r2), border=True, help=about)
    cols[3].metric("Persistence R²", score_text(persistence), border=True,
                   help="The persistence baseline: " + BASELINES["persistence"].removeprefix("persistence: ") + ".")
    st.caption(f"{counts['test']:,} hold-out rows ({counts['train']:,} training rows, {counts['gap']:,} dropped as "
               f"purge gap) · {split_caption(result)}")
