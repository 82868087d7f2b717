"""The sidebar every page shares: which data and which run are active, and whether a training is under way."""
from __future__ import annotations

import streamlit as st

from twin_core.evaluate import REFERENCE_BY_KIND, model_words, score_text
from twin_core.wording import kind_title, split_caption
from ui import state, store, training


def _pick_run(key: str) -> None:
    """Selectbox callback: make the chosen run the active one."""
    st.session_state[state.ACTIVE_RUN] = st.session_state[key]


def render() -> None:
    """Draw the data and run summary under the page links."""
    telemetry = state.telemetry()
    with st.sidebar:
        st.markdown("**Data**")
        st.markdown(state.data_label())
        st.caption(f"{len(telemetry.frame):,} rows · {telemetry.n_sessions} sessions · {telemetry.n_cores} cores · "
                   f"{telemetry.sampling_interval:.3g} s sampling · target {telemetry.target}")
        st.caption(store.caption(), help=store.path_help())
        st.markdown("**Run**")
        job = training.current()
        if job is not None and job.active:
            st.info(f"Training **{job.label}**…", icon=":material/hourglass_top:")
        run = state.active_run()
        if run is None:
            st.caption("No finished run yet: train one on the Train page.")
            return
        labels = [r.label for r in state.runs()]
        key = f"sidebar_run:{run.label}"
        st.selectbox("Active run", labels, index=labels.index(run.label), key=key, on_change=_pick_run,
                     args=(key,), disabled=training.is_active(), help="The run the Results page shows.")
        kind = run.result.config.kind
        reference = REFERENCE_BY_KIND[kind]
        best = run.result.evaluation.best
        st.markdown(f"**{kind_title(kind)}** · best **{model_words(best['key'])}** · "
                    f"R² **{score_text(best['r2_holdout'])}** "
                    f"({model_words(reference)} {score_text(run.result.evaluation.baseline_r2(reference))})",
                    help=run.result.metrics["kind_sentence"])
        st.caption(f"On {run.data_label}. {split_caption(run.result)}")
