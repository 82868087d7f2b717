"""The pages' figures over a run's hold-out (and what-if answers), built once and then served from Streamlit's cache:
a rerun that changes nothing they show (any other widget, a page revisited) builds none of them again over a hold-out
of hundreds of thousands of rows.

Each is keyed on the key of the run or answer it draws (`Run.key`, `ComparedRun.key`, `Asked.key`: unique, never
reused, so no two runs ever share an entry) and on the figure's own settings; the run itself is passed unhashed
(`_`-prefixed), so no large frame is ever hashed. Figures are kept as objects (`st.cache_resource`), not copied on
every rerun (a plotly figure takes longer to unpickle than a page has): each comes titled by its twin's kind and is
never changed afterwards, only drawn, so sharing it is safe. The noise of a pair's changes, a small table, is data.
"""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from twin_core.compare import change_noise, metric_deltas_from_metrics
from twin_core.evaluate import Evaluation
from twin_core.plots import (compare_predictions_figure, layer_r2_figure, metrics_delta_figure, residual_figures,
                             stack_diagram, trace_figure, whatif_figure)
from twin_core.whatif import WhatIfAnswer
from twin_core.wording import titled_by_kind
from ui.state import Run
from ui.store import ComparedRun
from ui.whatif import Asked

ENTRIES = 16  # per figure kind: a few runs × the sessions and models a user looks at (each a MB or so)


@st.cache_resource(show_spinner=False, max_entries=ENTRIES)
def _trace(run_key: str, keys: tuple[str, ...], session: int | None, max_points: int,
           _evaluation: Evaluation) -> go.Figure:
    return titled_by_kind(trace_figure(_evaluation, list(keys), session=session, max_points=max_points),
                          _evaluation.kind)


def trace(run: Run, keys: list[str], session: int | None = None, max_points: int = 4000) -> go.Figure:
    """`plots.trace_figure` of a run of this session: the chosen models' and baselines' lines against the actual."""
    return _trace(run.key, tuple(keys), session, max_points, run.result.evaluation)


@st.cache_resource(show_spinner=False, max_entries=ENTRIES)
def _residuals(run_key: str, key: str, _evaluation: Evaluation) -> dict[str, go.Figure]:
    return {name: titled_by_kind(fig, _evaluation.kind) for name, fig in residual_figures(_evaluation, key).items()}


def residuals(run: Run, key: str) -> dict[str, go.Figure]:
    """`plots.residual_figures` of one model (or baseline) of a run of this session."""
    return _residuals(run.key, key, run.result.evaluation)


@st.cache_resource(show_spinner=False, max_entries=ENTRIES)
def _layer_r2(run_key: str, _run: Run) -> go.Figure:
    result = _run.result
    return titled_by_kind(layer_r2_figure(result.evaluation, result.split.description, result.cv_description),
                          result.config.kind)


def layer_r2(run: Run) -> go.Figure:
    """`plots.layer_r2_figure` of a run of this session, with its split and folds named."""
    return _layer_r2(run.key, run)


@st.cache_resource(show_spinner=False, max_entries=ENTRIES)
def _stack(run_key: str, label: str, _run: Run) -> go.Figure:
    return titled_by_kind(stack_diagram(_run.result.config, _run.result.evaluation, label), _run.result.config.kind)


def stack(run: Run) -> go.Figure:
    """`plots.stack_diagram` of a trained run of this session, titled with its label."""
    return _stack(run.key, run.label, run)


@st.cache_data(show_spinner="Measuring the noise of each change…", max_entries=ENTRIES)
def _pair_changes(key_a: str, key_b: str, _a: ComparedRun, _b: ComparedRun) -> tuple[pd.DataFrame, str]:
    return change_noise(metric_deltas_from_metrics(_a.metrics, _b.metrics), _a.metrics, _a.predictions, _b.metrics,
                        _b.predictions, seed=min(_a.config.seed, _b.config.seed))  # A↔B: the same seed


def pair_changes(a: ComparedRun, b: ComparedRun) -> tuple[pd.DataFrame, str]:
    """Run A's and run B's R² changes with their noise (`compare.change_noise`), bootstrapped once per pair."""
    return _pair_changes(a.key, b.key, a, b)


@st.cache_resource(show_spinner=False, max_entries=ENTRIES)
def _pair_chart(key_a: str, key_b: str, labels: tuple[str, str], split: str, _a: ComparedRun,
                _b: ComparedRun) -> go.Figure:
    deltas, noise = pair_changes(_a, _b)
    return titled_by_kind(metrics_delta_figure(deltas, labels, split, noise), _a.kind)


def pair_chart(a: ComparedRun, b: ComparedRun, split: str) -> go.Figure:
    """`plots.metrics_delta_figure` of a pair of runs of one kind, with `split` naming their hold-outs."""
    return _pair_chart(a.key, b.key, (a.label, b.label), split, a, b)


@st.cache_resource(show_spinner=False, max_entries=ENTRIES)
def _overlay(shown: tuple[tuple[str, str, str], ...], session: int | None,
             _runs: tuple[ComparedRun, ...]) -> go.Figure:
    figure = compare_predictions_figure([(label, run.predictions, best)
                                         for (label, _, best), run in zip(shown, _runs)], session=session)
    kinds = {run.kind for run in _runs}
    if len(kinds) == 1:
        return titled_by_kind(figure, kinds.pop())
    return figure.update_layout(title_text=f"Different kinds · {figure.layout.title.text}")


def overlay(runs: list[tuple[str, ComparedRun]], session: int | None) -> go.Figure:
    """`plots.compare_predictions_figure` of (label, run) pairs, each run's best model, titled by the runs' kind or
    marked as twins of different kinds; raises its ValueError."""
    return _overlay(tuple((label, run.key, run.best_key) for label, run in runs), session,
                    tuple(run for _, run in runs))


@st.cache_resource(show_spinner=False, max_entries=ENTRIES)
def _whatif(asked_key: str, session: int | None, _answer: WhatIfAnswer) -> go.Figure:
    return titled_by_kind(whatif_figure(_answer, session=session), _answer.kind)


def whatif(asked: Asked, session: int | None) -> go.Figure:
    """`plots.whatif_figure` of a kept answer (`asked.answer`, not None)."""
    return _whatif(asked.key, session, asked.answer)
