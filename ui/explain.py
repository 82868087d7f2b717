"""The Results page's explanations: pick a model, see what drives it over the hold-out, pick an instant and see the
contributions that made its prediction there. The explainer (the hold-out's features built again) and each chart are
built once per run and kept in Streamlit's cache, keyed on the run's own key (the run itself is never hashed)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from twin_core.errors import TwinError
from twin_core.evaluate import model_words
from twin_core.explain import NO_EXPLANATION, Explainer, holdout_explainer
from twin_core.plots_explain import contribution_figure, importance_figure
from twin_core.telemetry import SESSION, TIMESTAMP, Telemetry
from twin_core.wording import titled_by_kind
from ui import state
from ui.state import Run

ENTRIES = 4  # explainers kept: each holds a run's hold-out feature rows (float32)
CHARTS = 16
HELP = ("Each prediction split into what each input added to or took from the model's average prediction, in "
        "points of utilisation: LightGBM's own SHAP values for LightGBM models, coefficient × (input − its mean) "
        "for linear ones. The average plus the contributions is exactly the prediction.")


@st.cache_resource(show_spinner="Explaining the hold-out…", max_entries=ENTRIES)
def _explainer(run_key: str, _run: Run, _telemetry: Telemetry) -> Explainer:
    result = _run.result
    return holdout_explainer(result.model, _telemetry, result.evaluation.predictions["row"].to_numpy(),
                             data_fingerprint=result.data_fingerprint)


@st.cache_resource(show_spinner="Measuring each input's contribution on the hold-out…", max_entries=CHARTS)
def _importance(run_key: str, key: str, _explainer: Explainer) -> go.Figure:
    return titled_by_kind(importance_figure(_explainer.importance(key)), _explainer.model.config.kind)


@st.cache_resource(show_spinner=False, max_entries=CHARTS)
def _instant(run_key: str, key: str, row: int, when: str, actual: float, _explainer: Explainer) -> go.Figure:
    return titled_by_kind(contribution_figure(_explainer.local(key, row), when, actual=actual),
                          _explainer.model.config.kind)


def _utc(seconds: float) -> datetime:
    """Epoch seconds as a naive UTC datetime (what Streamlit's slider takes and shows as it is)."""
    return datetime.fromtimestamp(float(seconds), tz=timezone.utc).replace(tzinfo=None)


def _when(seconds: float, session: int) -> str:
    """An instant in words for a chart title."""
    return f"{_utc(seconds):%Y-%m-%d %H:%M:%S} UTC (session {session})"


def _pick_instant(predictions: pd.DataFrame, label: str) -> pd.Series:
    """A hold-out row chosen by session and time (a slider over the session's hold-out); the nearest row is taken."""
    sessions = sorted(int(s) for s in predictions[SESSION].unique())
    left, right = st.columns([1, 3])
    session = left.selectbox("Session of the instant", sessions, key=f"explain_session:{label}",
                             format_func=lambda s: f"session {s}", help="Hold-out rows of this session.")
    rows = predictions[predictions[SESSION] == session].sort_values(TIMESTAMP)
    times = rows[TIMESTAMP].to_numpy(dtype=float)
    if len(times) > 1 and times[-1] > times[0]:
        step = max(float(np.median(np.diff(times))), 1e-3)
        chosen = right.slider("Instant", min_value=_utc(times[0]), max_value=_utc(times[-1]),
                              value=_utc(times[len(times) // 2]), step=timedelta(seconds=step),
                              format="YYYY-MM-DD HH:mm:ss", key=f"explain_instant:{label}:{session}",
                              help="Time (UTC) of the prediction to explain; the nearest hold-out sample is taken.")
        wanted = chosen.replace(tzinfo=timezone.utc).timestamp()
        return rows.iloc[int(np.argmin(np.abs(times - wanted)))]
    right.caption("This session has one hold-out instant.")
    return rows.iloc[0]


def show(run: Run) -> None:
    """The explanations section of the Results page for a run of this session."""
    st.subheader("Why the twin predicts what it does", help=HELP)
    result = run.result
    telemetry = state.telemetry()
    if telemetry.fingerprint != result.data_fingerprint:
        st.info("Explanations read the data this run was trained on, which is no longer the active data: load it "
                "again on the Data page to see them.", icon=":material/info:")
        return
    try:
        explainer = _explainer(run.key, run, telemetry)
    except TwinError as exc:
        st.error(str(exc), icon=":material/error:")
        return
    models = explainer.models()
    explained = models.loc[models["method"] != "", "key"].tolist()
    unexplained = models.loc[models["method"] == "", "key"].tolist()
    if unexplained:
        st.caption(f"{NO_EXPLANATION.capitalize()}: " + ", ".join(model_words(k) for k in unexplained)
                   + " (explanations exist for LightGBM, ridge and elastic-net models).")
    if not explained:
        return
    best = result.evaluation.best["key"]
    key = st.columns([2, 3])[0].selectbox(
        "Model to explain", explained, index=explained.index(best) if best in explained else 0,
        format_func=model_words, key=f"explain_model:{run.label}",
        help="A model of any layer: a meta model is explained by the lower models it reads.")
    st.plotly_chart(_importance(run.key, key, explainer), key="explain_importance")
    st.markdown("**One prediction, taken apart**")
    row = _pick_instant(result.evaluation.predictions, run.label)
    st.plotly_chart(_instant(run.key, key, int(row["row"]), _when(row[TIMESTAMP], int(row[SESSION])),
                             float(row["actual"]), explainer),
                    key="explain_instant_chart")
    st.caption(f"Actual {result.target} at that instant: {float(row['actual']):.1f} %; "
               f"{model_words(key)} predicted {float(row[key]):.1f} %.")
