"""Compare: runs side by side — how the scores moved, the settings that differ (named in words), the traces
overlaid — for the runs of this session and for the runs kept in the run store across days. A run scored on a leaky
split is kept apart: its inflated R² is never drawn as an improvement."""
import pandas as pd
import streamlit as st

from twin_core.compare import (
    against_own_baseline,
    change_text,
    config_diff,
    leak_causes,
    leaky_pair_note,
    runs_table,
    saved_scores,
)
from twin_core.evaluate import model_key, model_words, score_text
from twin_core.wording import GLOSSARY, kind_title
from ui import charts, state
from ui import store as run_store
from ui.editor import CV_LABELS, FEATURE_WIDGETS, HOLDOUT_LABELS, REFIT_LABELS
from ui.store import STORE_FAILURES, ComparedRun

SAVED, SESSION_RUN = "saved:", "session:"
CHOICE_WORDS = {"split.kind": HOLDOUT_LABELS, "stack.cv.kind": CV_LABELS, "stack.refit": REFIT_LABELS}
SHORT_DIFF = 12  # settings that differ shown open; more wait in a closed expander so the traces stay near
R2_HELP, OOF_HELP = f"{GLOSSARY['R²']}\n\n{GLOSSARY['hold-out']}", GLOSSARY["out-of-fold"]
DELTA_COLUMNS = {"name": "model or baseline", "what": None,  # short headers: seven columns fit at 1280 px
                 "r2_holdout_a": st.column_config.TextColumn("A hold-out", help=R2_HELP),
                 "r2_holdout_b": st.column_config.TextColumn("B hold-out", help=R2_HELP),
                 "delta_r2_holdout": st.column_config.TextColumn(
                     "change", help="B − A, hold-out R², and whether it is beyond the noise: its 95 % "
                                    "block-bootstrap interval on the hold-out rows both runs share lies wholly above "
                                    "or below 0"),
                 "r2_oof_a": st.column_config.TextColumn("A out-of-fold", help=OOF_HELP),
                 "r2_oof_b": st.column_config.TextColumn("B out-of-fold", help=OOF_HELP),
                 "delta_r2_oof": st.column_config.TextColumn("change OOF", help=f"B − A. {OOF_HELP}")}
RUN_COLUMNS = {  # the runs table's headers, with the glossary's words for every term of art
    "label": "run",
    "kind": st.column_config.TextColumn("kind", help=f"{GLOSSARY['reconstruction']}\n\n{GLOSSARY['behavioural']}"),
    "best_model": st.column_config.TextColumn(
        "best model", help=f"The model the twin answers with: chosen by its out-of-fold R². {GLOSSARY['layer']}"),
    "best_r2_holdout": st.column_config.TextColumn("best R² hold-out", help=R2_HELP),
    "best_r2_oof": st.column_config.TextColumn("best R² out-of-fold", help=OOF_HELP),
    "reference_r2": st.column_config.TextColumn(
        "baseline R²", help=f"{GLOSSARY['baseline']} The identity for a reconstruction twin, the linear model on the "
                            "other cores for a behavioural one."),
    "train_seconds": st.column_config.NumberColumn("train (s)", format="%.1f")}
DELETE_PENDING, DELETE_MESSAGE = "saved_delete_pending", "saved_delete_message"


def config_differences(a: ComparedRun, b: ComparedRun) -> None:
    """The settings in which run A and run B differ, and whether they ran on different data."""
    diff = config_diff(a.config, b.config, FEATURE_WIDGETS, CHOICE_WORDS).rename(columns={"a": a.label, "b": b.label})
    if diff.empty:
        st.success("Same configuration.", icon=":material/check_circle:")
    else:  # a static table wraps long names and values instead of cutting them; a long one waits in an expander
        with st.expander(f"Settings that differ: {len(diff)}", expanded=len(diff) <= SHORT_DIFF,
                         icon=":material/tune:"):
            st.table(diff.set_index("setting")[[a.label, b.label]])
    if a.fingerprint != b.fingerprint:
        st.warning(f"Different data: {a.data} vs {b.data}.", icon=":material/warning:")


def pair_view(a: ComparedRun, b: ComparedRun, prefix: str) -> None:
    """Hold-out R² deltas of run A against run B, then the settings that differ; twins of different kinds answer
    different questions, and a run scored on a leaky split has an inflated R², so either pair is shown each run
    against its own kind's baseline instead of a delta."""
    if a.kind != b.kind:
        st.warning(f"**{a.label}** is a {kind_title(a.kind).lower()} and **{b.label}** a "
                   f"{kind_title(b.kind).lower()}: they answer different questions (filling in a core from "
                   "overall, or how it behaves given the rest of the machine), so neither improves on the other and "
                   "their R² difference is not a gain or a loss.", icon=":material/call_split:")
        st.markdown("**Each twin against the baseline of its kind**")
        each_against_its_baseline(a, b)
        config_differences(a, b)
        return
    leaky = leaky_pair_note([(a.label, a.metrics), (b.label, b.metrics)])
    if leaky is not None:
        st.warning(leaky, icon=":material/warning:")
        each_against_its_baseline(a, b)
        config_differences(a, b)
        return
    deltas, _ = charts.pair_changes(a, b)
    split = f"both: {a.split}" if a.split == b.split else f"A: {a.split}<br>B: {b.split}"
    st.plotly_chart(charts.pair_chart(a, b, split), key=f"{prefix}metric_deltas")
    with st.expander("Hold-out and out-of-fold R² as a table"):
        scores = [c for c in deltas.columns if c.startswith("r2")]  # as text: a null R² reads "n/a"
        st.dataframe(deltas.drop(columns=["key", "ci_low", "ci_high"]).assign(
            delta_r2_holdout=[change_text(*change) for change in deltas[["delta_r2_holdout", "ci_low", "ci_high"]]
                              .to_numpy(dtype=float)],
            delta_r2_oof=deltas["delta_r2_oof"].map(change_text), **{c: deltas[c].map(score_text) for c in scores}),
            hide_index=True, column_config=DELTA_COLUMNS)
    config_differences(a, b)


def each_against_its_baseline(*runs: ComparedRun) -> None:
    """Runs of different kinds, or a pair with a run scored on a leaky split, one row each against its own kind's
    baseline (a static table: short cells on one line at 1280 px, its terms said in the caption under it)."""
    st.table(against_own_baseline([(run.label, run.metrics) for run in runs]))
    st.caption("R² on each run's hold-out; OOF: out-of-fold, the score the best model is chosen by. Baseline: the "
               "identity for a reconstruction twin, the linear model on the other cores for a behavioural one; gain: "
               "best R² − baseline R². A leaky split held out random rows or folded shuffled rows, so its R² is "
               "inflated.")


def overlay(runs: list[ComparedRun], prefix: str) -> None:
    """Each run's best model against the actual on the hold-out rows they share (a leaky run's line says so), with a
    session zoom (a widget of its own per set of runs, so a zoom chosen for one pair never lingers on another)."""
    sessions = sorted({int(s) for run in runs for s in run.predictions["session"].unique()})
    session = st.selectbox("Zoom to session", [None, *sessions],
                           key=f"{prefix}session:{'|'.join(run.label for run in runs)}",
                           format_func=lambda s: "all sessions" if s is None else f"session {s}")
    try:
        figure = charts.overlay([(run.label + (" (leaky split)" if leak_causes(run.metrics) else ""), run)
                                 for run in runs], session)
        st.plotly_chart(figure, key=f"{prefix}traces")
    except ValueError as exc:
        st.info(str(exc), icon=":material/info:")


def session_runs() -> None:
    """The runs trained in this browser session."""
    runs = state.runs()
    if not runs:
        st.info("No finished run yet. Train two configurations (or one twice with a change) to compare them.",
                icon=":material/info:")
        st.page_link("pages/train.py", label="Go to Train", icon=":material/model_training:")
        return
    table = runs_table([(run.label, run.result) for run in runs])
    r2_columns = ("best_r2_holdout", "best_r2_oof", "reference_r2")  # as text: null R² is "n/a"
    table = table.assign(best_model=table["best_model"].map(model_words),
                         **{c: table[c].map(score_text) for c in r2_columns})
    if table["kind"].nunique() > 1:
        st.caption("Runs of different kinds answer different questions: compare each with the baseline of its "
                   "kind (the identity for a reconstruction twin, the linear model on the other cores for a "
                   "behavioural one), not with each other.")
    honest, leaky = table[~table["leaky"]], table[table["leaky"]]
    if not honest.empty:
        st.dataframe(honest, hide_index=True, column_config=RUN_COLUMNS, column_order=list(RUN_COLUMNS))
    if not leaky.empty:
        st.markdown("**Not comparable: leaky split**")
        st.caption("These runs held out random rows or folded shuffled rows: neighbours of the rows they are scored "
                   "on were in training, so their R² is inflated. They are kept apart from the honest runs above and "
                   "never drawn as an improvement.")
        causes = [", ".join(leak_causes(run.result.metrics)) for run in runs if run.result.config.leaky]
        # a static table: the causes wrap in their cell instead of pushing columns behind a scroll at 1280 px
        st.table(leaky.assign(why=causes, train_seconds=leaky["train_seconds"].map("{:.1f}".format))
                 .set_index("label")[["kind", "why", "best_r2_holdout", "train_seconds"]]
                 .rename_axis("run").rename(columns={"why": "why it is leaky",
                                                     "best_r2_holdout": "best R² hold-out (inflated)",
                                                     "train_seconds": "train (s)"}))
    if len(runs) < 2:
        st.info("Train a second run to see differences and deltas.", icon=":material/info:")
        return
    labels = [run.label for run in runs]
    a_col, b_col = st.columns(2)
    label_a = a_col.selectbox("Run A", labels, index=len(labels) - 2, key="compare_a")
    label_b = b_col.selectbox("Run B", labels, index=len(labels) - 1, key="compare_b")
    run_a = run_store.from_session(state.run_by_label(label_a))
    pair_view(run_a, run_store.from_session(state.run_by_label(label_b)), "")

    st.subheader("Predicted traces on the same hold-out")
    same_data = [run.label for run in runs if run.result.data_fingerprint == run_a.fingerprint]
    overlaid = st.multiselect("Runs to overlay (same data as run A)", same_data,
                              default=[label for label in (label_a, label_b) if label in same_data],
                              key=f"compare_overlay:{label_a}|{label_b}",  # a new pair starts from its own two runs
                              help="Each run's best model; rows all chosen runs held out.")
    if overlaid:
        overlay([run_store.from_session(state.run_by_label(label)) for label in overlaid], "compare_")
    else:
        st.info("Pick at least one run to overlay.", icon=":material/info:")


def ask_delete(run_id: str) -> None:
    """Delete button callback: ask for a confirmation first."""
    st.session_state[DELETE_PENDING], st.session_state[DELETE_MESSAGE] = run_id, None


def confirm_delete(run_id: str, name: str) -> None:
    """Confirmation callback: remove the run from the store and say what happened, naming it as the picker did."""
    st.session_state[DELETE_PENDING] = None
    try:
        run_store.open_store().delete(run_id)
    except STORE_FAILURES as exc:
        st.session_state[DELETE_MESSAGE] = ("error", f"Saved run **{name}** was not deleted: {exc}")
    else:
        st.session_state[DELETE_MESSAGE] = ("success", f"Deleted saved run **{name}**.")


def cancel_delete() -> None:
    """'Keep it' callback: forget the pending deletion."""
    st.session_state[DELETE_PENDING] = None


def delete_controls(table: pd.DataFrame) -> None:
    """Pick a saved run, press Delete, then confirm."""
    message = st.session_state.get(DELETE_MESSAGE)
    if message is not None:
        (st.success if message[0] == "success" else st.error)(message[1])
    names = dict(zip(table["id"], map(saved_name, table["label"], pd.to_datetime(table["created_at"]))))
    pick_col, button_col = st.columns([4, 1], vertical_alignment="bottom")
    run_id = pick_col.selectbox("Saved run to delete", list(names), key="saved_delete_pick", format_func=names.get,
                                help="Each saved run by its label and when it was saved (UTC).")
    button_col.button("Delete", icon=":material/delete:", key="saved_delete", on_click=ask_delete, args=(run_id,),
                      width="stretch")
    pending = st.session_state.get(DELETE_PENDING)
    if pending is not None:
        name = names.get(pending, pending)
        st.warning(f"Delete saved run **{name}** with its model and predictions? This cannot be undone.",
                   icon=":material/warning:")
        yes_col, no_col, _ = st.columns([1, 1, 3])
        yes_col.button("Yes, delete", type="primary", key="saved_delete_yes", on_click=confirm_delete,
                       args=(pending, name), width="stretch")
        no_col.button("Keep it", key="saved_delete_no", on_click=cancel_delete, width="stretch")


def saved_runs() -> None:
    """The runs kept in the run store, to compare across days and to tidy up."""
    telemetry = state.telemetry()
    if not run_store.exists():
        st.info(f"There is no run store yet (`{run_store.path().name}`): tick “Keep in the run store” on the Train "
                "page to keep a run.", icon=":material/info:")
        return
    try:
        store = run_store.open_store()
        only_current = st.toggle("Only runs on the current data", value=True, key="saved_only_current",
                                 help=f"Runs trained on exactly this telemetry ({state.data_label()}).")
        table = store.list(telemetry.fingerprint if only_current else None)
        scores = saved_scores(store.metrics_of(table["id"].tolist()))
    except STORE_FAILURES as exc:
        st.error(f"The run store `{run_store.path().name}` cannot be read: {exc}", icon=":material/error:")
        return
    st.caption(f"{run_store.caption()} in all, listed newest first. Tick “Keep in the run store” on the Train page to "
               "add one.",
               help=run_store.path_help())
    if table.empty:
        st.info("No saved run" + (" on the current data" if only_current else "") + " yet.", icon=":material/info:")
        return
    saved_at = pd.to_datetime(table["created_at"])
    current = table["data_fingerprint"] == telemetry.fingerprint
    shown = table.assign(created_at=saved_at, current_data=current, train_seconds=scores["train_seconds"].to_numpy(),
                         best_r2_holdout=table["best_r2_holdout"].map(score_text),  # text: "n/a" when null
                         reference_r2=scores["reference_r2"].map(score_text).to_numpy(),
                         best_model=[model_words(model_key(layer, name))
                                     for layer, name in zip(table["best_layer"], table["best_name"])])
    columns = {  # the data column only when runs on other data are listed too, so the table fits at 1280 px
        "created_at": st.column_config.DatetimeColumn("saved (UTC)", format="YYYY-MM-DD HH:mm"),
        "label": "run", "kind": RUN_COLUMNS["kind"], "best_model": RUN_COLUMNS["best_model"],
        "best_r2_holdout": RUN_COLUMNS["best_r2_holdout"], "reference_r2": RUN_COLUMNS["reference_r2"],
        "train_seconds": RUN_COLUMNS["train_seconds"],
        **({} if only_current else {"current_data": st.column_config.CheckboxColumn("current data")})}
    honest, leaky = shown[~shown["leaky"]], shown[shown["leaky"]]
    if not honest.empty:
        st.dataframe(honest, hide_index=True, column_order=list(columns), column_config=columns)
    if not leaky.empty:
        st.markdown("**Not comparable: leaky split**")
        st.caption("These saved runs held out random rows or folded shuffled rows, so their R² is inflated: kept "
                   "apart from the honest runs above and never drawn as an improvement.")
        st.dataframe(leaky, hide_index=True, column_order=list(columns), column_config={
            **columns, "best_r2_holdout": st.column_config.TextColumn("best R² hold-out (inflated)", help=R2_HELP)})

    labels = {SAVED + i: label for i, label in zip(table["id"], table["label"])}
    names = {choice: saved_name(label, created) for choice, label, created in  # short: fits at 1280 px; its kind
             zip(labels, table["label"], saved_at)}  # and the full time are in the table above
    for run in state.runs():
        if run.stored_as is None:  # a kept run is already offered as saved
            labels[SESSION_RUN + run.label] = run.label
            names[SESSION_RUN + run.label] = f"{run.label} · this session, not saved"
    choices = list(labels)
    if len(choices) < 2:
        st.info("Keep a second run (or train one in this session) to compare.", icon=":material/info:")
    else:
        a_col, b_col = st.columns(2)
        choice_a = a_col.selectbox("Run A", choices, index=1, key="saved_a", format_func=names.get)
        choice_b = b_col.selectbox("Run B", choices, index=0, key="saved_b", format_func=names.get)
        try:
            run_a, run_b = (resolve(choice, f"{side} · {labels[choice]}")
                            for choice, side in ((choice_a, "A"), (choice_b, "B")))
        except STORE_FAILURES as exc:
            st.error(f"A saved run could not be read: {exc}", icon=":material/error:")
        else:
            pair_view(run_a, run_b, "saved_")
            st.markdown("**Best model of each run on the same hold-out**")
            if run_a.fingerprint == run_b.fingerprint:
                overlay([run_a, run_b], "saved_")
            else:
                st.info("The two runs were trained on different data, so their traces are not overlaid.",
                        icon=":material/info:")
    with st.expander("Delete a saved run", icon=":material/delete:"):
        delete_controls(table)


def saved_name(label: str, created: pd.Timestamp) -> str:
    """A saved run as a person picks it: its label and when it was saved (UTC), not its raw id."""
    return f"{label} · {created:%d %b %H:%M}"


def resolve(choice: str, label: str) -> ComparedRun:
    """A picked saved (`saved:<id>`) or session (`session:<label>`) run, shown as `label`."""
    if choice.startswith(SAVED):
        return run_store.from_store(str(run_store.path()), choice.removeprefix(SAVED), label)
    return run_store.from_session(state.run_by_label(choice.removeprefix(SESSION_RUN)), label)


st.title("Compare")
session_tab, saved_tab = st.tabs(["Runs of this session", "Saved runs (across days)"])
with session_tab:
    session_runs()
with saved_tab:
    saved_runs()
