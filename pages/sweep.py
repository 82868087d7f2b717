"""Sweep: a grid of runs (feature windows and lags, model sizes, layer compositions) trained on the loaded data with
one progress bar, ranked by out-of-fold R², its response chart, and any run opened in Results or Compare."""
import pandas as pd
import streamlit as st

from twin_core.errors import ConfigError
from twin_core.evaluate import REFERENCE_BY_KIND, model_words, score_text
from twin_core.plots_sweep import response_chart
from twin_core.sweep import MAX_RUNS, SELECTED_BY, ranked, split_words, winner
from twin_core.wording import GLOSSARY, below_reference_note
from ui import format as fmt
from ui import sweep, training
from ui import store as run_store
from ui.store import STORE_FAILURES

TEXT, UPLOAD = sweep.TEXT, "sweep_grid_upload"


def take_upload() -> None:
    """An uploaded grid file replaces the text being edited."""
    upload = st.session_state.get(UPLOAD)
    if upload is not None:
        st.session_state[TEXT] = upload.getvalue().decode("utf-8", errors="replace")


sweep.settle()
st.title("Sweep")
st.caption("Trains every run of a grid on the loaded data, one after another, and keeps each in the run store. The "
           f"winner is chosen by {SELECTED_BY}. At most {MAX_RUNS} runs; from the shell, `python -m twin_core sweep` "
           "runs them side by side or on a Dask cluster.")

busy = sweep.is_active()
st.session_state.setdefault(TEXT, sweep.sample_text())
grid_col, about_col = st.columns([3, 2])
with grid_col:
    st.file_uploader("Grid file (JSON)", type=["json"], key=UPLOAD, on_change=take_upload, disabled=busy,
                     help="A sweep grid: a base preset or configuration and the settings to vary (README, 'Sweeps'). "
                          "It replaces the text below, where it can still be edited.")
    text = st.text_area("Grid", key=TEXT, height=260, disabled=busy,
                        help="Starts as the sample grid: 12 runs of the quick preset (2 lag depths × 3 LightGBM sizes "
                             "× the top layer kept or dropped).")
    st.button("Start from the Model page", icon=":material/account_tree:", on_click=sweep.start_from_model_page,
              disabled=busy, help="Replace the grid with one on the Model page's configuration: two lag depths, "
                                  "three sizes of its first LightGBM model and its top layer kept or dropped.")
    run_col, cancel_col = st.columns(2)
    try:
        grid, runs = sweep.parse(text)
    except ConfigError as exc:
        grid, runs = None, []
        about_col.error(f"This grid cannot run: {exc}", icon=":material/block:")
    run_col.button("Run the sweep", type="primary", icon=":material/play_arrow:", on_click=sweep.request,
                   disabled=busy or not runs, width="stretch")
    cancel_col.button("Cancel", icon=":material/stop_circle:", on_click=sweep.request_cancel, width="stretch",
                      disabled=not busy, help="Stop after the current fit; the runs already finished stay kept.")
if grid is not None:
    axes = grid.axes()
    about_col.markdown(f"**{len(runs)} runs** of `{grid.base().name}` · "
                       + " × ".join(f"{label} ({len(values)})" for _, label, values in axes))
    about_col.caption(f"{training.where_fits_run()} Each run trains on every core, one run at a time.")

refused = sweep.refusal()
if refused:
    st.error(f"**Not started:** {refused}", icon=":material/block:")
job = sweep.current()
if job is not None and job.status == "queued":
    sweep.execute(job)
    st.rerun()
if job is not None and not job.active:
    said = f"{job.done} of {len(job.runs)} runs in {job.elapsed:.1f} s"
    if job.status == "done":
        st.success(f"Sweep **{job.grid.name}** finished: {said}, each kept in the run store.",
                   icon=":material/check_circle:")
    elif job.status in ("cancelled", "interrupted"):
        st.warning(f"Sweep **{job.grid.name}** {job.status} after {said}; the runs finished are kept.",
                   icon=":material/stop_circle:")
    else:
        st.error(f"Sweep **{job.grid.name}** failed after {said}: {job.error}", icon=":material/error:")
    for failure in job.failures:
        st.error(f"Run **{failure['run']}** could not be trained: {failure['error']}", icon=":material/error:")

st.divider()
try:
    kept = sweep.sweeps()
except STORE_FAILURES as exc:
    st.error(f"The run store `{run_store.path().name}` cannot be read: {exc}", icon=":material/error:")
    st.stop()
if kept.empty:
    st.info("No sweep is kept in the run store yet: run one above, or from the shell with `python -m twin_core sweep "
            "DATA --grid examples/sweep_quick.json --store`.", icon=":material/info:")
    st.stop()
by_id = kept.set_index("sweep")
if st.session_state.get(sweep.CHOSEN) not in by_id.index:
    st.session_state[sweep.CHOSEN] = kept["sweep"].iloc[0]
chosen = st.selectbox("Kept sweep", kept["sweep"].tolist(), key=sweep.CHOSEN,
                      format_func=lambda s: f"{pd.Timestamp(by_id.loc[s, 'created_at']):%d %b %Y %H:%M} · "
                                            f"{by_id.loc[s, 'runs']} runs · {s}",
                      help="The sweeps kept in the run store, newest first.")
try:
    rows = ranked(sweep.rows(chosen))
    kind = run_store.open_store().config(rows[0]["run_id"]).kind
except STORE_FAILURES as exc:
    st.error(f"The sweep's runs cannot be read from `{run_store.path().name}`: {exc}", icon=":material/error:")
    st.stop()
reference = REFERENCE_BY_KIND[kind]
best = winner(rows)
cards = st.columns(3)
cards[0].metric("Runs kept", len(rows), help="The runs of this sweep kept in the run store, ranked below.")
cards[1].metric("Winner's R² out-of-fold", score_text(best and best["r2_oof"]),
                help=f"What chose it: {SELECTED_BY}. {GLOSSARY['R²']}")
gain = sweep.gain_over_baseline(best, reference)
color, arrow = fmt.DELTA_STYLE[gain.direction] if gain else ("normal", "auto")
cards[2].metric("Winner's R² hold-out", score_text(best and best["r2_holdout"]), delta=gain and gain.text,
                delta_color=color, delta_arrow=arrow,
                help=f"Shown beside it, never used to choose; its delta: against the {model_words(reference)} on "
                     f"the same rows. {GLOSSARY['hold-out']}")
if best:
    st.markdown(f"**Winner:** {best['run']}")
if (below := below_reference_note(rows, best, reference)) is not None:
    st.warning(below, icon=":material/warning:")
st.plotly_chart(response_chart(rows, reference), key="sweep_response")
st.caption(f"Hold-out of every run: {split_words(rows)}.", help=GLOSSARY["hold-out"])

baseline = {row["baselines"].get(reference) for row in rows}
reference_column = {} if len(baseline) == 1 else {f"{model_words(reference)} R²": reference}  # else said once below
by_layer = st.toggle("Each layer's best R²", key=f"sweep_layers:{chosen}",
                     help="Add each layer's best model's out-of-fold and hold-out R² (L1, L2…) to the table.")
table = pd.DataFrame([{"rank": f"{rank} ★" if best and row["run"] == best["run"] else str(rank),
                       **row["settings"], "best model": row["best_model"], "R² out-of-fold": row["r2_oof"],
                       "R² hold-out": row["r2_holdout"],
                       **({f"L{g['layer']} {what}": g[score] for g in row["layers"]
                           for what, score in (("out-of-fold", "r2_oof"), ("hold-out", "r2_holdout"))}
                          if by_layer else {}),
                       **{label: row["baselines"].get(name) for label, name in reference_column.items()},
                       "seconds": row["seconds"]}
                      for rank, row in enumerate(rows, start=1)])
st.dataframe(table, hide_index=True, height="content", column_config={  # every run in view, no scroll box
    **{c: st.column_config.NumberColumn(format="%.3f") for c in table if "R²" in c or c[:2] in sweep.LAYER_PREFIXES},
    "rank": st.column_config.TextColumn(help=f"By {SELECTED_BY}; ★ marks the winner."),
    "R² out-of-fold": st.column_config.NumberColumn(format="%.3f", help=f"Ranks the runs: {SELECTED_BY}."),
    "R² hold-out": st.column_config.NumberColumn(format="%.3f", help="Shown, never used to choose."),
    "seconds": st.column_config.NumberColumn(format="%.1f")})
notes = ["L1, L2…: the R² of each layer's best model (by out-of-fold R²); a layer a run dropped is empty."
         ] if by_layer else []
if not reference_column:
    notes.append(f"The {model_words(reference)} scores R² {score_text(baseline.pop())} on the same hold-out "
                 "rows in every run.")
st.caption(" ".join(notes))

names = {row["run_id"]: f"{rank}. {row['run']}" for rank, row in enumerate(rows, start=1)}
pick_col, open_col, compare_col = st.columns([3, 1, 1], vertical_alignment="bottom")
run_id = pick_col.selectbox("Run", list(names), format_func=names.get, key=f"sweep_run:{chosen}",
                            help="Ranked as in the table. It opens in Results as the active run, or beside the "
                                 "winner on Compare's saved-runs tab.")
picked = next(row for row in rows if row["run_id"] == run_id)
if open_col.button("Open in Results", type="primary", key="sweep_open", icon=":material/insights:", width="stretch"):
    try:
        sweep.open_run(run_id, picked["run"])
    except STORE_FAILURES as exc:
        st.error(f"The run cannot be opened: {exc}", icon=":material/error:")
    else:
        st.switch_page("pages/results.py")
if compare_col.button("Compare", key="sweep_compare", icon=":material/compare_arrows:", width="stretch",
                      disabled=best is None, help="Open Compare with the winner as Run A and this run as Run B, on "
                                                  "its 'Saved runs' tab."):
    sweep.compare_with(best["run_id"], run_id)
    st.switch_page("pages/compare.py")
