"""Small shared pieces of layout: the headline metric cards, the kind choices and caption. Their words come from
twin_core.wording (the HTML report's too); pages import words from there, not through this module."""
from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from twin_core.evaluate import Evaluation
from twin_core.pipeline import TrainResult
from twin_core.wording import (GLOSSARY, Gain, HeadlineCard, headline_cards, holdout_harder_note, kind_reads,
                               kind_title, persistence_caption, rows_caption)

KIND_CHOICES = {"reconstruction": "Reconstruction: may read overall and the identity",
                "behavioural": "Behavioural: reads neither overall nor the identity"}
DELTA_STYLE = {"up": ("green", "up"), "down": ("red", "down"), "off": ("gray", "off")}  # Gain.direction → colour, arrow


def kind_caption(kind: str, n_cores: int | None = None) -> str:
    """One line of what a twin of this kind reads, for a page that shows a twin without its scores (the identity
    with the data's core count when the page knows it)."""
    return f"{kind_title(kind)}: {kind_reads(kind, n_cores)}"


def number_columns(words: dict[str, tuple[str, str]]) -> dict[str, st.column_config.NumberColumn]:
    """Table columns named and explained in twin_core.wording's words (key → header, help): R² to 3 decimals, errors
    (MAE, RMSE) to 2, counts whole with thousands separators."""
    formats = {"r2": "%.3f", "mae": "%.2f", "rmse": "%.2f"}
    return {key: st.column_config.NumberColumn(label, format=formats.get(key.split("_")[0], "localized"), help=about)
            for key, (label, about) in words.items()}


def _metric_card(column: DeltaGenerator, card: HeadlineCard) -> None:
    """One headline card; its gain is coloured and pointed by its own direction (Streamlit would read the typographic
    minus as a rise), and a card without a measured gain has no arrow at all."""
    gain: Gain | None = card.gain
    color, arrow = DELTA_STYLE[gain.direction] if gain else ("normal", "auto")
    column.metric(card.label, card.value, delta=gain.text if gain else None, delta_color=color, delta_arrow=arrow,
                  border=True, help=card.help)


def metric_cards(result: TrainResult, caption: str | None = None, caption_help: str | None = None) -> None:
    """Headline numbers (four cards, short labels that fit at 1280 px): the best model's R² against the baseline its
    kind must beat, and persistence; under them `caption`, by default the row counts with the split."""
    for column, card in zip(st.columns(4), headline_cards(result)):
        _metric_card(column, card)
    st.caption(rows_caption(result) if caption is None else caption, help=caption_help)


def score_notes(evaluation: Evaluation) -> None:
    """Under the headline cards: why persistence is no bar, and whether the hold-out is harder than the folds."""
    st.caption(persistence_caption(evaluation), help=GLOSSARY["baseline"])
    if (note := holdout_harder_note(evaluation)) is not None:
        st.caption(note)
