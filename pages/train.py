"""Train: choose what to train in a form, watch every fit, cancel cleanly; only a finished run becomes a result."""
import streamlit as st

from twin_core.errors import ConfigError
from twin_core.presets import PRESETS, get_preset
from twin_core.wording import kind_title
from ui import format as fmt
from ui import state, store, training

SOURCE, LABEL, KEEP = "train_source", "train_label", "train_keep"
EDITOR = "editor"


def chosen_config(source: str):
    """The configuration a form choice means: the Model page's, or a fresh preset."""
    return state.config() if source == EDITOR else get_preset(source)


def submit() -> None:
    """Train button callback: queue the chosen configuration under the chosen label."""
    source, label, keep = st.session_state[SOURCE], st.session_state[LABEL], st.session_state[KEEP]
    # set them again: the form is drawn disabled while training, and Streamlit drops a disabled widget's
    # submitted value unless it was set through session state
    st.session_state[SOURCE], st.session_state[LABEL], st.session_state[KEEP] = source, label, keep
    config = chosen_config(source)
    training.request(label.strip() or f"{config.name} #{len(state.runs()) + 1}", config, keep=keep)


st.title("Train")
st.caption("Fits every model of every layer on time-ordered folds, then scores the hold-out once. "
           "Cancel stops between two fits; a run that did not finish is never shown as a result. "
           f"{training.where_fits_run()}")

busy = training.is_active()
edited = state.config()
form_col, about_col = st.columns([3, 2])
with form_col:
    with st.form("train_form", border=True):
        choices = {EDITOR: f"Model page: {edited.name} · {kind_title(edited.kind).lower()}",
                   **{name: f"Preset: {name} · {kind_title(get_preset(name).kind).lower()}" for name in PRESETS}}
        st.selectbox("Configuration", list(choices), key=SOURCE, disabled=busy, format_func=choices.get,
                     help="Train what the Model page holds, or a preset as it ships. A reconstruction twin may "
                          "read overall and the identity; a behavioural twin reads neither.")
        st.text_input("Run label", key=LABEL, disabled=busy, placeholder="automatic: <configuration> #<n>",
                      help="How this run is named in the sidebar, Results and Compare.")
        st.session_state.setdefault(KEEP, True)
        st.checkbox("Keep in the run store", key=KEEP, disabled=busy,
                    help=f"A finished run is saved with its label in `{store.path()}`, to compare or ask "
                         "across days. A cancelled or failed run is never saved.")
        st.form_submit_button("Train", type="primary", icon=":material/play_arrow:", on_click=submit,
                              disabled=busy)
    st.button("Cancel", icon=":material/stop_circle:", on_click=training.request_cancel, disabled=not busy,
              help="Stop after the current fit; nothing of the unfinished run is kept.")
with about_col:
    telemetry = state.telemetry()
    st.markdown(f"**Data:** {state.data_label()}  \n{len(telemetry.frame):,} rows · {telemetry.n_sessions} sessions "
                f"· target {edited.target}")
    try:
        edited.validate()
    except ConfigError as exc:
        st.warning(f"The Model page's configuration cannot be trained: {exc}", icon=":material/block:")
    else:
        st.markdown(f"**Model page:** {edited.name} · {edited.shape()} · {edited.stack.cv.describe(edited.lookback)}")
        st.caption(fmt.kind_caption(edited.kind, telemetry.n_cores))
        if edited.leaky:
            st.warning("The Model page's configuration uses a LEAKY protocol: its scores overstate the twin.",
                       icon=":material/warning:")

refused = training.refusal()
if refused:
    st.error(f"**Not started:** {refused}", icon=":material/block:")

job = training.current()
if job is not None and job.status == "queued":
    training.execute(job)
    st.rerun()

if job is not None:
    if job.status == "done":
        run = state.run_by_label(job.label)
        # the same seconds as Results and Compare show for the run
        st.success(f"**{job.label}** trained in {run.result.seconds['total']:.1f} s ({job.total} fits) on "
                   f"{job.data_label}.", icon=":material/check_circle:")
        if job.stored_as:
            st.caption(f"Kept in the run store `{store.path().name}` as **{job.label}**.",
                       help=f"{store.path_help()}, as run {job.stored_as}.")
        elif job.store_error:
            st.warning(f"Not kept in the run store: {job.store_error} The run is still here for this session.",
                       icon=":material/warning:")
        st.markdown(run.result.metrics["kind_sentence"])
        fmt.metric_cards(run.result)
        for note in run.result.notes:
            st.info(note, icon=":material/info:")
        st.page_link("pages/results.py", label="Open the results", icon=":material/insights:")
    elif job.status == "cancelled":
        st.warning(f"**{job.label}** was cancelled after {job.done} of {job.total or '?'} fits "
                   f"({job.elapsed:.1f} s); nothing of it was kept.", icon=":material/stop_circle:")
    elif job.status == "failed":
        st.error(f"**{job.label}** failed: {job.error}", icon=":material/error:")
    elif job.status == "interrupted":
        st.info(f"**{job.label}** stopped after {job.done} fits because the page was left or reloaded; "
                "nothing of it was kept. Train it again to finish it.", icon=":material/info:")
