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
REFERENCE_CARDS = {  # the baseline a twin of each kind must beat, as its metric card names it
    "identity": ("Identity baseline R²", "N·overall − Σ other cores, clipped to 0–100: what the aggregate alone says."),
    "linear_others": ("Linear baseline R²", "A ridge on the other cores' current values, fitted on the training "
                                            "rows only: what a straight line through the rest of the machine says."),
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
    """Headline numbers: the best model's R² against the baseline its kind must beat, and persistence."""
    best = result.evaluation.best
    reference = REFERENCE_BY_KIND[result.config.kind]
    reference_r2 = result.evaluation.baseline_r2(reference)
    persistence = result.evaluation.baseline_r2("persistence")
    counts = result.split.counts()
    gain = best["r2_holdout"] - reference_r2
    cols = st.columns(5)
    # no delta arrow when the gain cannot be measured: Streamlit draws any unsigned delta as a green rise
    cols[0].metric("Best model R² (hold-out)", score_text(best["r2_holdout"]),
                   delta=f"{gain:+.3f} vs {REFERENCE_NAMES[reference]}" if np.isfinite(gain) else None, border=True,
                   help=f"{best['key']} of this {kind_title(result.config.kind).lower()}, selected by "
                        f"{best['selected_by']}.")
    cols[1].metric("Best model R² (out-of-fold)", score_text(best['r2_oof']), border=True,
                   help="Each training row predicted by the fold that did not see it.")
    label, about = REFERENCE_CARDS[reference]
    cols[2].metric(label, score_text(reference_r2), border=True, help=about)
    cols[3].metric("Persistence baseline R²", score_text(persistence), border=True,
                   help=BASELINES["persistence"].capitalize() + ".")
    cols[4].metric("Hold-out rows", f"{counts['test']:,}", border=True,
                   help=f"{counts['train']:,} training rows, {counts['gap']:,} rows dropped as purge gap.")
    st.caption(split_caption(result))
