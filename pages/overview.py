"""Overview, the page the app opens on: what a digital twin of a CPU core is, the active data and run in one glance,
and the next step as a button (for engineers and for demos)."""
import streamlit as st

from twin_core.evaluate import REFERENCE_BY_KIND, model_words
from twin_core.wording import GLOSSARY
from ui import charts, overview, state

st.title("Digital Twin Studio")
st.markdown("A **digital twin of a CPU core** predicts one core's utilisation from what the rest of the machine is "
            "doing: the other cores, the overall utilisation and the workload. It is trained on recorded telemetry "
            "and judged on data it never trained on, so its score says how well it would follow the core on new "
            "data.", help=GLOSSARY["hold-out"])

overview.data_glance(state.telemetry(), state.data_label())
run = state.active_run()
if run is None:
    st.info("No twin trained yet: train one on this data and its scores appear here.", icon=":material/info:")
    if st.button("Train a twin", type="primary", icon=":material/model_training:",
                 help="Open the Train page: pick a configuration (the quick preset takes seconds) and press Train."):
        st.switch_page("pages/train.py")
    st.stop()

overview.run_glance(run)
results_col, whatif_col, live_col, _ = st.columns([1, 1, 1, 1])
if results_col.button("See the results", type="primary", icon=":material/insights:", width="stretch",
                      help="Every model and layer against the baselines, traces and residuals."):
    st.switch_page("pages/results.py")
if whatif_col.button("Ask what-if", icon=":material/psychology_alt:", width="stretch",
                     help="How would the target core move if the other cores or the workload changed?"):
    st.switch_page("pages/whatif.py")
if live_col.button("Follow this machine live", icon=":material/monitor_heart:", width="stretch",
                   help="Sample this machine and draw the twin's prediction beside the actual, second by second."):
    st.switch_page("pages/live.py")

result = run.result
evaluation = result.evaluation
kind = result.config.kind
st.subheader("The stack", help=f"{GLOSSARY['stack']}\n\n{GLOSSARY['layer']}")
st.plotly_chart(charts.stack(run),
                key="overview_stack")  # across the column as on Results and Model: the boxes widen around their text

session = overview.trace_session(evaluation)
st.subheader("Predicted against actual", help=GLOSSARY["hold-out"])
st.plotly_chart(charts.trace(run, [evaluation.best["key"], REFERENCE_BY_KIND[kind]], session, max_points=1500),
                key="overview_trace")
st.caption(f"The best model, {model_words(evaluation.best['key'])}, and the {model_words(REFERENCE_BY_KIND[kind])} "
           f"on the hold-out rows of session {session}; every session on the Results page.")
