"""Compare: this session's runs side by side — settings that differ, how the scores moved, the traces overlaid."""
import streamlit as st

from twin_core.compare import config_diff, metric_deltas, runs_table
from twin_core.plots import compare_traces_figure, metrics_delta_figure
from ui import state

st.title("Compare")
runs = state.runs()
if not runs:
    st.info("No finished run yet. Train two configurations (or one twice with a change) to compare them.",
            icon=":material/info:")
    st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
    st.stop()

st.subheader("Runs of this session")
st.dataframe(runs_table([(run.label, run.result) for run in runs]), hide_index=True, column_config={
    "best_r2_holdout": st.column_config.NumberColumn("best R² hold-out", format="%.3f"),
    "best_r2_oof": st.column_config.NumberColumn("best R² OOF", format="%.3f"),
    "identity_r2": st.column_config.NumberColumn("identity R²", format="%.3f"),
    "persistence_r2": st.column_config.NumberColumn("persistence R²", format="%.3f"),
    "train_seconds": st.column_config.NumberColumn("train (s)", format="%.1f"),
    "leaky": st.column_config.CheckboxColumn("LEAKY", help="Random hold-out or shuffled folds: scores overstated.")})
if len(runs) < 2:
    st.info("Train a second run to see differences and deltas.", icon=":material/info:")
    st.stop()

labels = [run.label for run in runs]
a_col, b_col = st.columns(2)
label_a = a_col.selectbox("Run A", labels, index=len(labels) - 2, key="compare_a")
label_b = b_col.selectbox("Run B", labels, index=len(labels) - 1, key="compare_b")
run_a, run_b = state.run_by_label(label_a), state.run_by_label(label_b)

diff_col, delta_col = st.columns([2, 3])
with diff_col:
    st.markdown("**Configuration differences**")
    diff = config_diff(run_a.result.config, run_b.result.config).rename(columns={"a": label_a, "b": label_b})
    if diff.empty:
        st.success("Same configuration.", icon=":material/check_circle:")
    else:
        st.dataframe(diff.style.set_properties(subset=[label_a], **{"background-color": "#fdecea"})
                     .set_properties(subset=[label_b], **{"background-color": "#e8f5e9"}), hide_index=True)
    if run_a.result.data_fingerprint != run_b.result.data_fingerprint:
        st.warning(f"Different data: {run_a.data_label} vs {run_b.data_label}.", icon=":material/warning:")
with delta_col:
    deltas = metric_deltas(run_a.result, run_b.result)
    same_split = run_a.result.split.description == run_b.result.split.description
    split = (f"both: {run_a.result.split.description}" if same_split
             else f"A: {run_a.result.split.description} · B: {run_b.result.split.description}")
    st.plotly_chart(metrics_delta_figure(deltas, (label_a, label_b), split), key="metric_deltas")
    with st.expander("Metric deltas as a table"):
        st.dataframe(deltas, hide_index=True, column_config={
            c: st.column_config.NumberColumn(format="%+.3f" if c.startswith("delta") else "%.3f")
            for c in deltas.columns if c.startswith(("r2", "delta"))})

st.subheader("Predicted traces on the same hold-out")
same_data = [run.label for run in runs if run.result.data_fingerprint == run_a.result.data_fingerprint]
pick_col, session_col = st.columns([4, 1])
overlay = pick_col.multiselect("Runs to overlay (same data as run A)", same_data,
                               default=[label for label in (label_a, label_b) if label in same_data],
                               key="compare_overlay", help="Each run's best model; rows all chosen runs held out.")
evaluations = [(label, state.run_by_label(label).result.evaluation) for label in overlay]
sessions = sorted({int(s) for _, ev in evaluations for s in ev.predictions["session"].unique()})
session = session_col.selectbox("Zoom to session", [None, *sessions], key="compare_session",
                                format_func=lambda s: "all sessions" if s is None else f"session {s}")
if not evaluations:
    st.info("Pick at least one run to overlay.", icon=":material/info:")
else:
    try:
        st.plotly_chart(compare_traces_figure(evaluations, session=session), key="compare_traces")
    except ValueError as exc:
        st.info(str(exc), icon=":material/info:")
