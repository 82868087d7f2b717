"""Small shared pieces of layout: the headline metric cards, the kind choices and caption; the words they share with
the HTML report (split captions, kind titles, reference names) come from twin_core.wording."""
from __future__ import annotations

import streamlit as st

from twin_core.evaluate import BASELINES, REFERENCE_BY_KIND, model_words, score_text
from twin_core.pipeline import TrainResult
from twin_core.wording import (KIND_READS, REFERENCE_CARDS, gain_over_reference, kind_title, rows_caption,
                               split_caption, titled_by_kind)

KIND_CHOICES = {"reconstruction": "Reconstruction: may read overall and the identity",
                "behavioural": "Behavioural: reads neither overall nor the identity"}
__all__ = ["KIND_CHOICES", "KIND_READS", "REFERENCE_CARDS", "kind_caption", "kind_title",
           "metric_cards", "split_caption", "titled_by_kind"]  # the words live in twin_core.wording (the report's too)


def kind_caption(kind: str) -> str:
    """One line of what a twin of this kind reads, for a page that shows a twin without its scores."""
    return f"{kind_title(kind)}: {KIND_READS[kind]}"


def metric_cards(result: TrainResult) -> None:
    """Headline numbers (four cards, short labels that fit at 1280 px): the best model's R² against the baseline its
    kind must beat, and persistence; the row counts go in the caption with the split."""
    best = result.evaluation.best
    reference = REFERENCE_BY_KIND[result.config.kind]
    reference_r2 = result.evaluation.baseline_r2(reference)
    persistence = result.evaluation.baseline_r2("persistence")
    label, _, about = REFERENCE_CARDS[reference]
    cols = st.columns(4)
    # no delta arrow when the gain cannot be measured: Streamlit draws any unsigned delta as a green rise
    cols[0].metric("Best R² (hold-out)", score_text(best["r2_holdout"]),
                   delta=gain_over_reference(result), border=True,
                   help=f"The best model, {model_words(best['key'])}, of this {kind_title(result.config.kind).lower()} "
                        "on the "
                        f"held-out rows; selected by {best['selected_by']}.")
    cols[1].metric("Best R² (OOF)", score_text(best['r2_oof']), border=True,
                   help="Out-of-fold: each training row predicted by the fold that did not see it.")
    cols[2].metric(label, score_text(reference_r2), border=True, help=about)
    cols[3].metric("Persistence R²", score_text(persistence), border=True,
                   help="The persistence baseline: " + BASELINES["persistence"].removeprefix("persistence: ") + ".")
    st.caption(rows_caption(result))
