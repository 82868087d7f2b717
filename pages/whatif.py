"""What-if: ask a trained twin how the target core would behave if the other cores or the workload were different."""
import streamlit as st

from twin_core.whatif import Scenario
from twin_core.wording import GLOSSARY
from ui import format as fmt
from ui import state
from ui import store as run_store
from ui import charts, whatif
from ui.store import STORE_FAILURES

SESSION_TWIN, SAVED_TWIN = "session", "saved"
AS_RECORDED, OTHER_LABEL = "(as recorded)", "another label…"

st.title("What-if")
st.caption("Ask a trained twin what the target core would do if the other cores were busier or idler, or the "
           "machine ran another workload. The answers are the model's extrapolation from what it was trained on, "
           "not measurements.")

telemetry = state.telemetry()
source = st.radio("Twin", [SESSION_TWIN, SAVED_TWIN], horizontal=True, key="whatif_source",
                  format_func={SESSION_TWIN: "A run of this session", SAVED_TWIN: "A saved run (run store)"}.get)
try:
    if source == SESSION_TWIN:
        runs = state.runs()
        if not runs:
            st.info("No finished run in this session: train one, or pick a saved run.", icon=":material/info:")
            st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
            st.stop()
        twin = whatif.session_twin(whatif.pick_session_run())
    else:
        if not run_store.exists():
            st.info(f"There is no run store yet (`{run_store.path().name}`): tick “Keep in the run store” when "
                    "training.", icon=":material/info:")
            st.stop()
        saved = run_store.open_store().list()
        if saved.empty:
            st.info(f"The run store `{run_store.path().name}` holds no run yet: tick “Keep in the run store” when "
                    "training.",
                    icon=":material/info:")
            st.stop()
        twin = whatif.pick_saved_twin(saved, "whatif_saved_run", current=telemetry.fingerprint)
except STORE_FAILURES as exc:
    st.error(f"The twin could not be loaded: {exc}", icon=":material/error:")
    st.stop()

same_data = "the current data" if twin.fingerprint == telemetry.fingerprint else "other data than the current"
st.markdown(f"**The twin:** {twin.name} · configuration **{twin.model.config.name}** · predicts "
            f"**{twin.model.target}** · trained on {same_data} ({twin.trained_on}).", help=GLOSSARY["hold-out"])
st.caption(fmt.kind_caption(twin.model.config.kind, len(twin.model.core_columns)),
           help=GLOSSARY[twin.model.config.kind])
problem = twin.model.incompatibility(telemetry)
if problem:
    st.error(problem, icon=":material/block:")
    st.stop()

cores = whatif.input_cores(twin.model, telemetry)
with st.container(border=True):
    name_col, scale_col, offset_col = st.columns(3)
    name = name_col.text_input("Scenario name", key="whatif_name", placeholder="named from its settings",
                               help="Optional: left empty, the scenario is named from its settings.")
    scale = scale_col.number_input("Input cores at (% of recorded)", value=100.0, step=10.0, key="whatif_scale",
                                   help="100 % leaves them as recorded; 150 % makes them half as busy again.")
    offset = offset_col.number_input("Then shift them by (percentage points)", value=0.0, step=5.0,
                                     key="whatif_offset", help="Added after scaling; results stay within 0–100 %.")
    chosen = st.multiselect("Input cores to change", cores, default=cores, key=f"whatif_cores:{twin.key}",
                            help=f"{twin.model.target} is the target: it is predicted, never edited. The overall "
                                 "utilisation moves with the cores you change (a behavioural twin does not read it).")
    workload_col, label_col = st.columns(2)
    relabel = workload_col.selectbox("Workload", [AS_RECORDED, *twin.model.workload_categories, OTHER_LABEL],
                                     key=f"whatif_workload:{twin.key}",
                                     help="Relabel every row with one workload the twin knows, or another label.")
    workload = None if relabel == AS_RECORDED else relabel
    if relabel == OTHER_LABEL:
        workload = label_col.text_input("Workload label", key="whatif_workload_text").strip() or None
    asked = st.button("Ask the twin", type="primary", icon=":material/psychology_alt:", disabled=not chosen)
    if not chosen:
        st.warning("Choose at least one input core to change.", icon=":material/warning:")

changed = () if chosen == cores else tuple(chosen)
scenario = Scenario(name.strip() or whatif.scenario_name(scale, offset, changed, workload), core_scale=scale / 100.0,
                    core_offset=offset, cores=changed, workload=workload)
if asked:
    with st.spinner("Asking the twin…"):
        whatif.ask_twin(twin, telemetry, state.data_label(), scenario)

result = whatif.answer_for(twin, telemetry, scenario)
if result is None:
    st.stop()
if result.error:
    st.error(f"**The scenario cannot be asked:** {result.error}", icon=":material/block:")
    st.stop()
for message in result.warnings:
    st.warning(message, icon=":material/warning:")

answer = result.answer
summary = answer.summary.set_index("session")
st.subheader(f"Answer to “{answer.scenario.name}”")
st.info(answer.note, icon=":material/psychology_alt:")
target = result.twin.model.target
st.caption(f"Asked of {result.twin.name} on every row of {result.data_label} with complete feature windows "
           f"({len(answer.predictions):,} rows): the twin's predicted {target}, mean over the rows. Predicted values "
           "are the twin's extrapolation, not measurements.")
cards = st.columns(4)
cards[0].metric("Predicted, as recorded", f"{summary.loc['all', 'baseline_mean']:.2f} %", border=True,
                help=f"Mean predicted {target} on the telemetry as it was recorded.")
cards[1].metric("Predicted, scenario", f"{summary.loc['all', 'scenario_mean']:.2f} %", border=True,
                help=f"Mean predicted {target} on the telemetry as the scenario changes it.")
cards[2].metric("Change (points)", f"{answer.mean_change:+.2f}", border=True,
                help="Mean of (scenario − as recorded) over every row, in percentage points of utilisation.")
cards[3].metric("Actual (measured)", f"{answer.predictions['actual'].mean():.2f} %", border=True,
                help=f"For reference: the mean {target} the recorded data shows.")

sessions = sorted(int(s) for s in answer.predictions["session"].unique())
session = st.selectbox("Zoom to session", [None, *sessions], key=f"whatif_session:{telemetry.fingerprint}",
                       format_func=lambda s: "all sessions" if s is None else f"session {s}")
st.plotly_chart(charts.whatif(result, session), key="whatif_traces")
if (band_caption := whatif.band_words(result)) is not None:
    st.caption(band_caption)
if (band_note := whatif.band_note(result)) is not None:
    level, words = band_note
    (st.warning if level == "warning" else st.info)(words, icon=f":material/{level}:")
st.markdown("**Per session**")
st.dataframe(whatif.session_table(answer), hide_index=True, column_config={
    "session": st.column_config.TextColumn("session", width=110),  # 'all sessions' in full
    "rows": st.column_config.NumberColumn("rows", format="localized"),
    "baseline_mean": st.column_config.NumberColumn("as recorded (mean %)", format="%.2f",
                                                   help="The twin's prediction from the recorded inputs."),
    "scenario_mean": st.column_config.NumberColumn("with the scenario (mean %)", format="%.2f",
                                                   help="The twin's prediction under the scenario."),
    "change": st.column_config.NumberColumn("change (points)", format="%+.2f")})
