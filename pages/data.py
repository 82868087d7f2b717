"""Data: upload telemetry (parquet, or a collector's own export) or use the demo; see what was found, what is
wrong, and the utilisation over time."""
from zoneinfo import available_timezones

import pandas as pd
import streamlit as st

from twin_core.telemetry import OVERALL, WORKLOAD, SessionRule, ValidationReport
from twin_core.telemetry.readers import formats_text
from twin_core.wording import files_label
from ui import state


def show_report(report: ValidationReport) -> None:
    """Errors and warnings in plain words (the same problem in several files or columns once), then the
    informational notes folded away."""
    issues = report.grouped()
    for issue in issues:
        if issue.level == "error":
            st.error(issue.message, icon=":material/error:")
    for issue in issues:
        if issue.level == "warning":
            st.warning(issue.message, icon=":material/warning:")
    notes = [i for i in issues if i.level == "info"]
    if notes:
        with st.expander(f"{len(notes)} note(s) from loading"):
            for issue in notes:
                st.markdown(f"- {issue.message}")
    if not report.errors and not report.warnings:
        st.success("Validation found no problems.", icon=":material/check_circle:")


st.title("Data")
st.caption("Telemetry to learn from: per-core CPU utilisation, the overall utilisation and a workload label per "
           "sample. Recording sessions are split at file boundaries, long pauses and counter resets.")

upload_col, demo_col = st.columns([3, 1], vertical_alignment="center")
with upload_col:
    uploader = state.uploader_key()
    st.file_uploader("Upload telemetry: parquet, or a collector's own export", accept_multiple_files=True,
                     key=uploader, on_change=state.on_upload, args=(uploader,),
                     help="Parquet with the columns timestamp, workload_type, cpu_util_overall, cpu_util_core_0…N, "
                          f"or any of: {formats_text()}. The format is told by content, not by the file name. "
                          "Files are validated together and replace the current data (unless *Add to the current "
                          "data* is on); a refused upload keeps the current data. Files whose estimated memory "
                          "need passes the server's memory budget are refused before reading.")
    st.toggle("Add to the current data", key=state.UPLOAD_APPEND, disabled=not state.data_files(),
              help="On: the next upload's files are validated together with the files of the current data and "
                   "join them. Off: an upload replaces the current data. Only uploaded data can be added to.")
with demo_col:
    st.button("Use demo telemetry", icon=":material/science:", on_click=state.load_demo,
              width="stretch", help="Seeded synthetic telemetry: 8 cores, 6 sessions of different workloads.")
    with st.popover("Reading options", icon=":material/tune:", width="stretch"):
        st.caption("Apply to the next upload.")
        st.number_input("New session after a pause of (× median sampling interval)", min_value=2.0,
                        max_value=1000.0, step=1.0, key=state.SESSION_GAP,
                        help=f"Pauses shorter than {SessionRule().min_gap_s:g} s never split a session.")
        st.text_input("Workload label for every row", key=state.UPLOAD_WORKLOAD, placeholder="e.g. build",
                      help="For exports without labels (every collector's). Leave empty to keep a file's own labels "
                           "or use a schedule; files without either are 'unlabelled'.")
        st.file_uploader("…or a label schedule (CSV: start,end,label)", type=["csv"], key=state.UPLOAD_SCHEDULE,
                         help="Rows between start and end (ISO-8601, UTC unless given an offset, or epoch seconds) "
                              "get the label; rows outside every interval are 'unlabelled'.")
        st.selectbox("Time zone of local times", sorted(available_timezones()), key=state.UPLOAD_TIMEZONE,
                     help="sar's text reports and collectl print local times; they are read in this zone.")

failure = state.upload_failure()
if failure is not None:
    refused = files_label(failure.files) + (" could not be added to the current data" if failure.added else "")
    st.error(f"**Upload refused** ({refused}): {failure.message}  \n"
             f"Still using: {state.data_label()}.", icon=":material/block:")
    if failure.report is not None:
        with st.expander("Full report of the refused upload"):
            show_report(failure.report)

telemetry = state.telemetry()
sessions = telemetry.sessions()
workloads = telemetry.frame[WORKLOAD].value_counts()

st.subheader(state.data_label())
cards = st.columns(4)  # five cards cut their labels at 1280 px; the workloads table counts them
cards[0].metric("Rows", f"{len(telemetry.frame):,}", border=True)
cards[1].metric("Sessions", telemetry.n_sessions, border=True)
cards[2].metric("Cores", telemetry.n_cores, border=True, help=f"Target: {telemetry.target}")
cards[3].metric("Sampling interval", f"{telemetry.sampling_interval:.3g} s", border=True,
                help="Median time between samples.")

report_col, workloads_col = st.columns([3, 1])
with report_col:
    st.markdown("**Validation report**")
    show_report(telemetry.report)
with workloads_col:
    st.markdown(f"**Workloads** ({len(workloads)})")
    st.dataframe(workloads.rename_axis("workload").reset_index(name="rows"), hide_index=True)

st.markdown("**Sessions found**")
table = sessions.assign(start=pd.to_datetime(sessions["start"], unit="s"),
                        end=pd.to_datetime(sessions["end"], unit="s"))
st.dataframe(table, hide_index=True, column_config={
    WORKLOAD: "workload",
    "start": st.column_config.DatetimeColumn("start (UTC)", format="YYYY-MM-DD HH:mm:ss"),
    "end": st.column_config.DatetimeColumn("end (UTC)", format="YYYY-MM-DD HH:mm:ss"),
    "duration_s": st.column_config.NumberColumn("duration (s)", format="%.1f"),
    "rows": st.column_config.NumberColumn("rows", format="localized")})

st.markdown("**Utilisation over time**")
choices = [OVERALL, *telemetry.core_columns]
shown = st.multiselect("Series", choices, default=[OVERALL, telemetry.target],
                       help="Long recordings are thinned on the server (min-max per bucket, spikes kept).")
if shown:
    st.plotly_chart(state.utilisation_chart(telemetry.fingerprint, telemetry.target, tuple(shown), telemetry),
                    key="utilisation_chart")
else:
    st.info("Pick at least one series to plot.")
