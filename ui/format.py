"""Small shared pieces of layout: how a split is named beside every R², LEAKY labels, the headline metric cards."""
from __future__ import annotations

import numpy as np
import streamlit as st

from twin_core.evaluate import score_text
from twin_core.pipeline import TrainResult

def split_caption(result: TrainResult) -> str:
    """Hold-out and CV of a run, to sit next to every R² it reports."""
    text = f"Hold-out: {result.split.description} · OOF: {result.cv_description}"
    return f"⚠️ LEAKY protocol — {text}" if result.config.leaky else text


def metric_cards(result: TrainResult) -> None:
    """Headline numbers: the best model's R² against the identity and persistence baselines."""
    best = result.evaluation.best
    identity = result.evaluation.baseline_r2("identity")
    persistence = result.evaluation.baseline_r2("persistence")
    counts = result.split.counts()
    gain = best["r2_holdout"] - identity
    cols = st.columns(5)
    # no delta arrow when the gain cannot be measured: Streamlit draws any unsigned delta as a green rise
    cols[0].metric("Best model R² (hold-out)", score_text(best["r2_holdout"]),
                   delta=f"{gain:+.3f} vs identity" if np.isfinite(gain) else None, border=True,
                   help=f"{best['key']}, selected by {best['selected_by']}.")
    cols[1].metric("Best model R² (out-of-fold)", score_text(best['r2_oof']), border=True,
                   help="Each training row predicted by the fold that did not see it.")
    cols[2].metric("Identity baseline R²", score_text(identity), border=True,
                   help="N·overall − Σ other cores, clipped to 0–100: what the aggregate alone says.")
    cols[3].metric("Persistence baseline R²", score_text(persistence), border=True,
                   help="The previous sample of the target (uses its own history).")
    cols[4].metric("Hold-out rows", f"{counts['test']:,}", border=True,
                   help=f"{counts['train']:,} training rows, {counts['gap']:,} rows dropped as purge gap.")
    st.caption(split_caption(result))
