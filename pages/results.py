"""Results: how the active run's twin performs, layer by layer, against the baselines, with its split named."""
import streamlit as st

from twin_core.evaluate import BASELINES_BY_KIND, INTERVAL_WORDS, REFERENCE_BY_KIND, model_words
from twin_core.runs import predictions_frame
from twin_core.report import build_report
from twin_core.verdicts import gain_text
from twin_core.wording import (GLOSSARY, LEAKY_WARNING, OOF_GAIN_WORDS, SCORE_WORDS, SESSION_R2_NOTE, VERDICT_HEADER,
                               best_band_note, best_not_top_note, group_score_words,
                               split_caption, verdict_caption, verdict_text)
from ui import format as fmt
from ui import charts, explain, state

BAND_COLUMNS = ("coverage_model", "width_model")  # the best model's band per session or workload
SCORE_COLUMNS = {**fmt.number_columns(SCORE_WORDS), "n_oof": "rows with an out-of-fold prediction",
                 "n_without_oof": "rows without one", "n": "rows"}

st.title("Results")
run = state.active_run_or_stop("results")

result = run.result
evaluation = result.evaluation
kind = result.config.kind
baselines = list(BASELINES_BY_KIND[kind])
reference = REFERENCE_BY_KIND[kind]
split_words = split_caption(result)
st.markdown(result.metrics["kind_sentence"])
st.caption(f"Run **{run.label}** · configuration **{result.config.name}** · {run.data_label} · "
           f"target {result.target} · trained in {result.seconds['total']:.1f} s")
stem = run.label.replace(" ", "_").replace("#", "")
st.download_button("Download report (HTML)", lambda: build_report(result, run.label, run.data_label).encode("utf-8"),
                   file_name=f"{stem}_report.html", mime="text/html", icon=":material/download:", on_click="ignore",
                   help="This page's headline, stack, per-layer R² and verdicts, traces and residuals in one HTML "
                        "file that opens offline in any browser: a report to hand out.")
if result.config.leaky:
    st.warning(LEAKY_WARNING, icon=":material/warning:")
fmt.metric_cards(result)
fmt.score_notes(evaluation)
for note in result.notes:
    st.info(note, icon=":material/info:")

st.subheader("Per-layer R²", help="\n\n".join(GLOSSARY[t] for t in ("R²", "hold-out", "out-of-fold", "baseline",
                                                                      reference)))
st.plotly_chart(charts.layer_r2(run), key="layer_r2")
st.markdown("**Does this layer pay?**")
st.caption(verdict_caption(result))
gains = evaluation.layer_gain.assign(
    answer=[verdict_text(g, ci, v) for g, ci, v in evaluation.layer_gain[["gain_holdout", "gain_ci95", "verdict"]]
            .itertuples(index=False)],
    gain_oof=evaluation.layer_gain["gain_oof"].map(lambda v: gain_text(v, None)))  # n/a: not measurable
st.dataframe(gains.drop(columns="gain_ci95"), hide_index=True, width="stretch",
             column_order=["layer", "best_model", "answer", "gain_oof", "compared_with"],
             column_config={
                 "layer": st.column_config.NumberColumn("layer", width="small"),
                 "best_model": "best model", "compared_with": "compared with",
                 "answer": st.column_config.TextColumn(VERDICT_HEADER, width="large"),
                 "gain_oof": st.column_config.TextColumn(OOF_GAIN_WORDS[0], help=OOF_GAIN_WORDS[1])})
if (note := best_not_top_note(evaluation)) is not None:
    st.caption(note)
with st.expander("Every model and baseline"):
    st.dataframe(evaluation.models, hide_index=True, column_config=SCORE_COLUMNS)
    st.dataframe(evaluation.baselines, hide_index=True, column_config=SCORE_COLUMNS)

st.subheader("The stack", help=f"{GLOSSARY['stack']}\n\n{GLOSSARY['layer']}")
# across the column as on the Model and Overview pages: the boxes widen around their text (see stack_diagram)
st.plotly_chart(charts.stack(run), key="stack_diagram")

st.subheader("Predicted against actual over time", help=GLOSSARY["hold-out"])
keys = evaluation.models["key"].tolist()
toggle_col, session_col = st.columns([4, 1])
# a multiselect, not pills: its chips wrap onto a second line where a row of pills runs out of the column
chosen = toggle_col.multiselect("Lines", [*keys, *baselines], format_func=model_words,
                                default=[evaluation.best["key"], reference], key=f"trace_keys:{run.label}",
                                help="Any model or baseline on the chart. A model is named by its layer and name: "
                                     "'layer 2 · top-ridge' is the model top-ridge of layer 2.")
sessions = sorted(int(s) for s in evaluation.predictions["session"].unique())
session = session_col.selectbox("Zoom to session", [None, *sessions], key=f"trace_session:{run.label}",
                                format_func=lambda s: "all sessions" if s is None else f"session {s}")
st.plotly_chart(charts.trace(run, chosen, session), key="trace")
st.caption(split_words)

st.subheader("Prediction intervals", help=INTERVAL_WORDS["coverage_pct"][1])
intervals = evaluation.interval_table()
if intervals.empty:
    st.info("This run was trained before runs had prediction intervals: it has no band to show. Train it again to "
            "get one.", icon=":material/info:")
else:
    st.caption(f"Method {evaluation.interval['method']}: each model's band is calibrated on its out-of-fold residuals "
               "of training rows only; the hold-out rows only check it. The trace shades the best model's band "
               "when the best model is among its lines.")
    if (band_note := best_band_note(evaluation)) is not None:
        level, words = band_note
        (st.warning if level == "warning" else st.info)(words, icon=f":material/{level}:")
    st.dataframe(intervals, hide_index=True, column_config={
        c: st.column_config.NumberColumn(label, help=about, format="%.2f" if c == "mean_width" else
                                         "%.1f" if c.endswith("_pct") else "localized")
        if c != "model" else st.column_config.TextColumn(label, help=about)
        for c, (label, about) in INTERVAL_WORDS.items() if c in intervals})
    if "coverage_model" in evaluation.by_session:
        nominal = f"{100 * evaluation.interval['nominal']:.0f} %"
        groups = [frame.assign(coverage_model=100 * frame["coverage_model"])  # in percent, as the table above
                  for frame in (evaluation.by_session, evaluation.by_workload)]
        widths = {round(float(w), 2) for frame in groups for w in frame["width_model"].dropna()}
        shown = [c for c in BAND_COLUMNS if c != "width_model" or len(widths) > 1]  # one width for all: said once
        st.caption(f"The best model ({model_words(evaluation.best['key'])}) per group: its band is built to cover "
                   f"{nominal} of rows; each group's hold-out rows say how much it did."
                   + (f" Its width is the same in every group: {widths.pop():.2f} points." if len(widths) == 1 else ""))
        band_columns = {"workload_type": "workload", "rows": fmt.number_columns(group_score_words(reference))["rows"],
                        **{c: st.column_config.NumberColumn(f"{label} (%)" if c == "coverage_model" else label,
                                                            help=about, format="%.1f" if c == "coverage_model"
                                                            else "%.2f") for c, (label, about) in INTERVAL_WORDS.items()
                           if c in BAND_COLUMNS}}
        for tab, frame in zip(st.tabs(["By session", "By workload"]), groups):
            tab.dataframe(frame, hide_index=True, column_config=band_columns,
                          column_order=[frame.columns[0], "rows", *shown])

st.subheader("Residuals")
residual_key = st.selectbox("Model", [*keys, *baselines], index=keys.index(evaluation.best["key"]),
                            format_func=model_words,
                            key=f"residual_key:{run.label}", help="Whose hold-out residuals to inspect.")
figures = charts.residuals(run, residual_key)
left, right = st.columns(2)
left.plotly_chart(figures["vs_predicted"], key="residual_vs_predicted")
right.plotly_chart(figures["histogram"], key="residual_histogram")
st.plotly_chart(figures["over_time"], key="residual_over_time")
left, right = st.columns(2)
left.plotly_chart(figures["by_workload"], key="residual_by_workload")
right.plotly_chart(figures["autocorrelation"], key="residual_autocorrelation")

st.subheader("R² per session and per workload")
st.caption(f"Best model {model_words(evaluation.best['key'])} against the {model_words(reference)} on the hold-out "
           f"rows of each group. {SESSION_R2_NOTE} " + split_words)
session_tab, workload_tab = st.tabs(["By session", "By workload"])
group_columns = {**fmt.number_columns(group_score_words(reference)), "workload_type": "workload"}
for tab, frame in zip((session_tab, workload_tab), (evaluation.by_session, evaluation.by_workload)):
    tab.dataframe(frame, hide_index=True, column_config=group_columns,  # the bands' columns: under Prediction intervals
                  column_order=[c for c in frame.columns if c not in BAND_COLUMNS])

explain.show(run)

st.subheader("Downloads")
cols = st.columns(3)
cols[0].download_button("Predictions (parquet)", lambda: predictions_frame(result).to_parquet(index=False),
                        file_name=f"{stem}_predictions.parquet", mime="application/vnd.apache.parquet",
                        icon=":material/download:", on_click="ignore", width="stretch")
cols[1].download_button("Predictions (CSV)", lambda: predictions_frame(result).to_csv(index=False),
                        file_name=f"{stem}_predictions.csv", mime="text/csv", icon=":material/download:",
                        on_click="ignore", width="stretch")
cols[2].download_button("Run configuration (JSON)", result.config.to_json(), file_name=f"{stem}_config.json",
                        mime="application/json", icon=":material/download:", on_click="ignore", width="stretch")
