"""Anomalies: where the target core stopped behaving like its twin: hold-out episodes outside the best model's band,
ranked, each zoomed on request."""
import streamlit as st

from twin_core.wording import GLOSSARY, best_band_note
from ui import anomalies, state
from ui import format as fmt

st.title("Anomalies")
st.caption("Episodes where the target core's actual utilisation left its twin's prediction band for several samples "
           "in a row, on the hold-out rows (rows no model trained on), largest first.")
run = state.active_run_or_stop("anomalies")

result = run.result
kind = result.config.kind
st.markdown(f"Run **{run.label}** · configuration **{result.config.name}** · target {result.target} · "
            f"{run.data_label}")
st.caption(fmt.kind_caption(kind, len(result.model.core_columns)), help=GLOSSARY[kind])
if kind == "reconstruction":
    st.info("This is a **reconstruction twin**: it reads cpu_util_overall, from which the identity gives the target "
            "by arithmetic, so its episodes are mostly where that arithmetic fails, not where the core misbehaved. "
            "For episodes that say the core stopped behaving as the rest of the machine and the workload predict, "
            "train a behavioural preset (**behavioural-quick** or **behavioural**) on the Train page.",
            icon=":material/info:")

frame = anomalies.band(run)
if frame is None:
    st.info("This run has no prediction band (it was trained before prediction intervals existed), so no episode "
            "can be found: train it again.", icon=":material/info:")
    st.stop()

min_samples = int(st.number_input(
    "Samples in a row outside the band (at least)", min_value=1, max_value=10_000,
    value=result.config.anomalies.min_samples, step=1, key=f"anomaly_min_samples:{run.label}",
    help="An episode is this many consecutive samples of one session outside the band, on the same side. Fewer "
         "finds more, shorter episodes; by chance alone about one sample in ten of a 90 % band lies outside it."))
found = anomalies.episodes(run, min_samples)
cards = st.columns(4)
cards[0].metric("Episodes", f"{len(found):,}", border=True, help="Runs outside the band of at least the samples above.")
share = found["samples"].sum() / max(len(frame), 1)
cards[1].metric("Rows in episodes", f"{100 * share:.1f} %", border=True,
                help=f"{int(found['samples'].sum()):,} of {len(frame):,} hold-out rows.")
cards[2].metric("Longest (s)", f"{found['duration_s'].max():.1f}" if len(found) else "–", border=True,
                help="The longest episode, from its first to its last sample outside the band.")
cards[3].metric("Largest peak (points)", f"{found['peak_excess'].max():.1f}" if len(found) else "–", border=True,
                help="The farthest any episode went beyond the band, in points of utilisation.")
st.caption(f"Band: {anomalies.band_label(run)}.", help=GLOSSARY["hold-out"])
if (band_note := best_band_note(result.evaluation, anomalies=True)) is not None:
    level, words = band_note
    (st.warning if level == "warning" else st.info)(words, icon=f":material/{level}:")

st.plotly_chart(anomalies.overview(run, min_samples), key="anomaly_overview")
if found.empty:
    st.success(f"No episode of {min_samples} or more samples outside the band: the target stayed within what its "
               "twin allows, apart from single samples.", icon=":material/check_circle:")
    st.stop()

st.subheader("Episodes, largest first")
shown, columns = anomalies.table(found)
st.dataframe(shown, hide_index=True, width="stretch", column_config=columns, key="anomaly_table")
rank = st.selectbox("Zoom to episode", found["rank"].tolist(), key=f"anomaly_zoom:{run.label}",
                    format_func=lambda r: anomalies.episode_name(found, r),
                    help="The chart below shows the chosen episode with the samples around it.")
st.plotly_chart(anomalies.zoom(run, min_samples, rank), key="anomaly_zoom_chart")
