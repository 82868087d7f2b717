"""Fleet: the twins of a fleet's hosts kept in the run store, worst first, and any host's run opened in Results."""
import streamlit as st

from twin_core.evaluate import REFERENCE_BY_KIND, model_words, score_text
from twin_core.verdicts import gain_text
from twin_core.wording import GLOSSARY, LEAKY_WARNING, REFERENCE_CARDS, kind_title
from ui import fleet
from ui import store as run_store
from ui.store import STORE_FAILURES

R2_HELP = f"{GLOSSARY['R²']}\n\n{GLOSSARY['hold-out']}"


def how_to_make(why: str) -> None:
    """The empty state: why there is no fleet to show, and the two commands that make one."""
    st.info(f"{why} A fleet is trained from the shell, one twin per host (a folder of telemetry files per host, or "
            "files with a `host` column), and kept in this run store with `--store`; a demo fleet to try it:",
            icon=":material/info:")
    st.code(fleet.HOW_TO_MAKE, language="bash")
    st.caption("Set $TWIN_STORE to the same file for the app and the command, or pass it: `--store PATH`.",
               help=run_store.path_help())
    st.stop()


st.title("Fleet")
st.caption("One twin per host of a fleet, each with its honest hold-out R² beside the baseline its kind must beat: "
           "the hosts whose twin scores worst come first, to look at before the others.")
if not run_store.exists():
    how_to_make(f"There is no run store yet (`{run_store.path().name}`).")
try:
    store = run_store.open_store()
    fleets = store.fleets()
except STORE_FAILURES as exc:
    st.error(f"The run store `{run_store.path().name}` cannot be read: {exc}", icon=":material/error:")
    st.stop()
if fleets.empty:
    how_to_make(f"No fleet is kept in the run store `{run_store.path().name}` yet.")

by_id = fleets.set_index("fleet")
chosen = st.selectbox("Fleet", fleets["fleet"].tolist(), key="fleet_choice",
                      format_func=lambda f: fleet.fleet_name(by_id.loc[f]),
                      help="The fleets kept in the run store, newest first: when each was kept, its hosts and its "
                           "configuration.")
try:
    hosts = fleet.hosts(store, chosen)
except STORE_FAILURES as exc:
    st.error(f"The fleet's runs cannot be read from `{run_store.path().name}`: {exc}", icon=":material/error:")
    st.stop()

kind = hosts["kind"].iloc[0]
reference = REFERENCE_BY_KIND[kind]
st.markdown(f"**{kind_title(kind)}s** of {len(hosts)} host{'s' if len(hosts) != 1 else ''} · fleet `{chosen}` · "
            f"each host's best model against the {model_words(reference)}, worst first",
            help=f"{GLOSSARY[kind]}\n\n{GLOSSARY[reference]}")
if hosts["leaky"].any():
    st.warning(LEAKY_WARNING, icon=":material/warning:")
shown = hosts.assign(best_r2_holdout=hosts["best_r2_holdout"].map(score_text),
                     reference_r2_holdout=hosts["reference_r2_holdout"].map(score_text),
                     gain=hosts["gain"].map(lambda g: gain_text(g, None)))
columns = {
    "host": "host",
    "best_model": st.column_config.TextColumn(
        "best model", help=f"The model the twin answers with: chosen by its out-of-fold R². {GLOSSARY['layer']}"),
    "best_r2_holdout": st.column_config.TextColumn("best R² hold-out", help=R2_HELP),
    "reference_r2_holdout": st.column_config.TextColumn(REFERENCE_CARDS[reference][0], help=GLOSSARY[reference]),
    "gain": st.column_config.TextColumn("gain", help=f"Best R² − {model_words(reference)} R², on the same hold-out "
                                                     "rows: what the twin adds to the baseline."),
    "rows_train": st.column_config.NumberColumn("training rows", format="localized"),
    "rows_test": st.column_config.NumberColumn("hold-out rows", format="localized"),
    "split": st.column_config.TextColumn("hold-out", help=GLOSSARY["hold-out"], width="large")}
splits = hosts["split"].unique()
if len(splits) == 1:  # as a rule one for the whole fleet: said once, so the table fits at 1280 px
    del columns["split"]
st.dataframe(shown, hide_index=True, column_order=list(columns), column_config=columns)
if len(splits) == 1:
    st.caption(f"Hold-out of every host: {splits[0]}.", help=GLOSSARY["hold-out"])

names = {run_id: f"{host} · R² {r2}" for run_id, host, r2 in
         zip(shown["run_id"], shown["host"], shown["best_r2_holdout"])}
pick_col, open_col = st.columns([3, 1], vertical_alignment="bottom")
run_id = pick_col.selectbox("Host", list(names), format_func=names.get, key=f"fleet_host:{chosen}",
                            help="Worst first, as in the table. Its run opens in Results as the active run; What-if "
                                 "and Compare can then use it too.")
if open_col.button("Open in Results", type="primary", key="fleet_open", icon=":material/insights:", width="stretch"):
    host = hosts.set_index("run_id").loc[run_id, "host"]
    try:
        fleet.open_host(run_id, host, chosen)
    except STORE_FAILURES as exc:
        st.error(f"The run of host {host} cannot be opened: {exc}", icon=":material/error:")
    else:
        st.switch_page("pages/results.py")
