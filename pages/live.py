"""Live: a trained twin follows this machine's target core as it runs, beside what the core really does."""
import pandas as pd
import streamlit as st

from twin_core.errors import TwinError
from twin_core.evaluate import score_text
from twin_core.plots import live_figure
from twin_core.telemetry import TIMESTAMP
from twin_core.telemetry.labels import UNLABELLED
from ui import format as fmt
from ui import live, state, whatif
from ui import store as run_store
from ui.store import STORE_FAILURES

SESSION_TWIN, SAVED_TWIN = "session", "saved"

st.title("Live")
st.caption("Press Start and a trained twin predicts this machine's target core every sample from what it reads (a "
           "reconstruction twin: the other cores and the overall utilisation; a behavioural twin: the other cores "
           "and the workload only), beside what the core really does. Sampling happens only while this page is open "
           "and running: Stop, another page or a closed tab ends it.")

live.stop_if_the_page_was_left()
session = live.current()
running = session is not None and session.running
try:
    source_machine = live.machine()
except TwinError as exc:
    st.error(f"The recording named by ${live.REPLAY_ENV} cannot be replayed: {exc}", icon=":material/error:")
    st.stop()

source = st.radio("Twin", [SESSION_TWIN, SAVED_TWIN], horizontal=True, key="live_source", disabled=running,
                  format_func={SESSION_TWIN: "A run of this session", SAVED_TWIN: "A saved run (run store)"}.get)
try:
    if source == SESSION_TWIN:
        runs = state.runs()
        if not runs:
            st.info(f"No finished run in this session: train a twin on telemetry of {source_machine.name} "
                    "(record some with `python -m twin_core record`, or upload it on the Data page), or pick a saved "
                    "run.", icon=":material/info:")
            st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
            st.stop()
        twin = whatif.session_twin(whatif.pick_session_run("live_session_run", disabled=running))
    else:
        saved = run_store.open_store().list() if run_store.exists() else None
        if saved is None or saved.empty:
            st.info(f"The run store (`{run_store.path().name}`) holds no run yet: tick “Keep in the run store” when "
                    "training.", icon=":material/info:")
            st.stop()
        twin = whatif.pick_saved_twin(saved, "live_saved_run", disabled=running)
except STORE_FAILURES as exc:
    st.error(f"The twin could not be loaded: {exc}", icon=":material/error:")
    st.stop()

model = twin.model
st.markdown(f"**The twin:** {twin.name} · configuration **{model.config.name}** · predicts **{model.target}** from "
            f"each sample and the {model.config.lookback} before it (its look-back) · **Source:** "
            f"{source_machine.name}.")
st.caption(fmt.kind_caption(model.config.kind, len(model.core_columns)))
problem = live.mismatch(model, source_machine)
if problem:
    st.error(problem, icon=":material/block:")
    st.stop()

with st.container(border=True):
    interval_col, label_col = st.columns(2)
    if source_machine.replay_interval is not None:
        interval = source_machine.replay_interval
        interval_col.markdown(f"Sample every **{interval:.3g} s**", help="A replay keeps its recording's interval.")
    else:
        interval = interval_col.number_input(
            "Sample every (seconds)", min_value=0.05, max_value=1.0, step=0.05, key="live_interval",
            disabled=running,
            value=min(1.0, max(0.05, round(state.telemetry().sampling_interval, 2))),
            help="Use the interval of the data the twin learned from: its lags and windows count samples, not "
                 "seconds.")
    labels = list(dict.fromkeys([*model.workload_categories, UNLABELLED]))
    workload = label_col.selectbox("Workload running now", labels, key=f"live_workload:{twin.key}",
                                   disabled=running,
                                   help="The workload label the twin reads for every live sample (and the label a "
                                        "kept recording gets). A label the twin never saw leaves its workload "
                                        "columns at zero.")
    start_col, stop_col, keep_col = st.columns(3)
    start_col.button("Start", type="primary", icon=":material/play_arrow:", width="stretch", disabled=running,
                     key=live.START, on_click=live.start, args=(twin.key, model, source_machine, interval, workload))
    stop_col.button("Stop", icon=":material/stop:", width="stretch", disabled=not running, on_click=live.stop)
    keep_col.button("Keep the recording as data", icon=":material/save:", width="stretch",
                    disabled=session is None or session.kept_as is not None, on_click=live.keep,
                    help="Stops, then makes every sample taken since Start the app's active data, as an upload "
                         "would (see the Data page).")


@st.fragment(run_every=live.RUN_EVERY_S if running else None)
def follow() -> None:
    """Collect the samples taken since the last run (only while running), predict the new rows, and draw the last
    WINDOW_S seconds; every count shown is `session.taken`, read once after the collection."""
    session = live.current()
    if session is None:
        st.info("Press Start to sample and let the twin follow.", icon=":material/info:")
        return
    if session.running:
        session.step()
        if not session.running:  # it stopped itself (a full recording, unreadable samples): redraw the buttons
            st.rerun(scope="app")
    taken = session.taken
    if session.stopped:
        st.caption(f"Stopped: {session.stopped}. {taken:,} samples taken.")
    if session.problem:
        st.error(session.problem, icon=":material/error:")
    if session.kept_as:
        st.info(session.kept_as, icon=":material/save:")
    if session.twin_key != twin.key:
        st.caption("These samples were followed by another twin than the one chosen above; press Start to follow "
                   "with this one.")
    if taken < session.needed:
        st.info(f"warming up ({taken} of {session.needed} samples): the twin needs its look-back "
                "before its first prediction.", icon=":material/hourglass_top:")
        return
    if session.history.empty:  # stopped before its first prediction (the reason is said above)
        return
    measured = session.scores()
    cards = st.columns(3)
    window = f"last {live.WINDOW_S:g} s"
    cards[0].metric(f"R², {window}", score_text(measured["r2"]), border=True,
                    help=f"1 − residual variance / variance of the actual core over the {measured['n']:,} "
                         f"predictions the chart shows (the {window}); n/a when the core did not vary.")
    cards[1].metric(f"MAE, {window}", f"{score_text(measured['mae'], '.2f')} points", border=True,
                    help="Mean absolute error of the predictions the chart shows, in percentage points of "
                         "utilisation.")
    cards[2].metric("Samples", f"{taken:,}", border=True,
                    help=f"Taken since Start, every {session.interval:g} s; the first {session.needed - 1} only feed "
                         "the twin's look-back.")
    newest = pd.Timestamp(session.history[TIMESTAMP].iloc[-1], unit="s")
    st.caption(f"Newest sample {newest:%H:%M:%S} UTC")
    st.plotly_chart(live_figure(session.history, model.target, session.interval, live.WINDOW_S,
                                nominal=model.calibration.nominal if model.calibration else None),
                    key="live_chart")
    lag = session.feed.lag_note()
    for note in (*session.notes, *([lag] if lag else [])):
        st.warning(note, icon=":material/warning:")


follow()
