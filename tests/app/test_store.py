"""The run store in the app: a finished run is kept (or not) from the Train form, saved runs are listed and
compared across sessions, deleted after a confirmation; a broken store is a message, never a lost run."""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

from tests.app.helpers import APP, TIMEOUT_S, figures, goto, train, trace, values
from twin_core.compare import metric_deltas_from_metrics
from twin_core.store import RunStore
from ui import charts as page_charts


def store() -> RunStore:
    """The test's own store (the autouse fixture points $TWIN_STORE at a temporary folder)."""
    return RunStore(os.environ["TWIN_STORE"])


def button(at: AppTest, label: str):
    """The button labelled `label`."""
    return next(b for b in at.button if b.label == label)


def test_a_finished_run_is_kept_with_its_label_and_the_page_says_where(app: AppTest) -> None:
    at = train(app, "quick", "kept")
    saved = store().list()
    assert saved["label"].tolist() == ["kept"]
    run_id = saved.loc[0, "id"]
    kept = next(c for c in at.caption if c.value.startswith("Kept in the run store"))
    assert kept.value == f"Kept in the run store `{Path(os.environ['TWIN_STORE']).name}` as **kept**."  # no temp path
    assert os.environ["TWIN_STORE"] in kept.help and run_id in kept.help
    assert at.session_state["runs"][0].stored_as == run_id
    at.text_input(key="train_label").input("not kept")
    at.checkbox(key="train_keep").uncheck()
    button(at, "Train").click().run()
    assert store().list()["label"].tolist() == ["kept"]
    assert [run.label for run in at.session_state["runs"]] == ["kept", "not kept"]


def test_a_store_error_is_a_message_and_the_run_stays_in_the_session(app: AppTest) -> None:
    Path(os.environ["TWIN_STORE"]).parent.mkdir(parents=True, exist_ok=True)
    Path(os.environ["TWIN_STORE"]).write_text("not a database")
    at = train(app, "quick", "unlucky")
    assert any("Not kept in the run store" in w.value and "damaged or unreadable" in w.value for w in at.warning)
    assert [run.label for run in at.session_state["runs"]] == ["unlucky"]
    assert at.session_state["active_run"] == "unlucky"


def test_saved_runs_are_compared_in_a_new_session_and_deleted_after_confirming(app: AppTest) -> None:
    train(train(app, "quick", "monday"), "default", "tuesday")
    # another day: a new browser session on the same data sees only the store
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.run()
    at = goto(at, "compare")
    assert "No finished run yet" in at.info[0].value
    where = next(c for c in at.caption if c.value.startswith("Run store: "))
    assert where.value.startswith(f"Run store: `{Path(os.environ['TWIN_STORE']).name}` · 2 runs in all, listed newest first.")
    assert where.help.endswith(os.environ["TWIN_STORE"])
    table = at.dataframe[0].value
    assert table["label"].tolist() == ["tuesday", "monday"] and table["current_data"].all()
    assert table["kind"].tolist() == ["reconstruction", "reconstruction"]
    diff = at.table[0].value
    assert "Final models (refit or fold average)" in diff.index and list(diff.columns) == ["A · monday", "B · tuesday"]

    saved = store().list().set_index("label")
    monday, tuesday = store().metrics(saved.loc["monday", "id"]), store().metrics(saved.loc["tuesday", "id"])
    charts = figures(at)
    assert charts["saved_metric_deltas"]["layout"]["title"]["text"] == (
        "Reconstruction twin · Hold-out R²: A · monday → B · tuesday")
    bars = trace(charts["saved_metric_deltas"], "B · tuesday − A · monday")  # saved predictions measure the noise
    assert "noise: 95 % block-bootstrap interval" in charts["saved_metric_deltas"]["layout"]["title"]["subtitle"]["text"]
    deltas = metric_deltas_from_metrics(monday, tuesday)
    assert list(bars["y"]) == deltas["name"].tolist()[::-1]
    np.testing.assert_allclose(values(bars["x"]).astype(float), deltas["delta_r2_holdout"].to_numpy()[::-1])
    top = f"L{monday['best']['layer']}:{monday['best']['name']}"
    overlay = charts["saved_traces"]
    assert [t["name"] for t in overlay["data"]] == [
        "actual", f"A · monday: layer {monday['best']['layer']} · {monday['best']['name']}",
        f"B · tuesday: layer {tuesday['best']['layer']} · {tuesday['best']['name']}"]
    predicted = values(trace(overlay, f"A · monday: layer {monday['best']['layer']} · {monday['best']['name']}")["y"]
                       ).astype(float)
    shared = store().predictions(saved.loc["tuesday", "id"])["row"]
    stored = store().predictions(saved.loc["monday", "id"]).sort_values("timestamp")
    stored = stored.loc[stored["row"].isin(shared), top]
    np.testing.assert_allclose(predicted[np.isfinite(predicted)], stored, rtol=1e-6)

    at.selectbox(key="saved_delete_pick").select(saved.loc["monday", "id"]).run()
    button(at, "Delete").click().run()
    assert any("This cannot be undone" in w.value for w in at.warning)
    assert store().list()["label"].tolist() == ["tuesday", "monday"]  # nothing deleted before the confirmation
    button(at, "Yes, delete").click().run()
    assert not at.exception
    assert store().list()["label"].tolist() == ["tuesday"]
    assert any(s.value.startswith("Deleted saved run **monday · ") for s in at.success)
    assert at.dataframe[0].value["label"].tolist() == ["tuesday"]
    assert any("Keep a second run" in i.value for i in at.info)


def test_the_sidebar_counts_the_saved_runs(app: AppTest) -> None:
    assert any("no runs yet" in c.value for c in app.sidebar.caption)
    train(app, "quick")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)  # the entry script's sidebar shows on a first run
    at.run()
    assert any(c.value == f"Run store: `{Path(os.environ['TWIN_STORE']).name}` · 1 run" and c.help.endswith(
        os.environ["TWIN_STORE"]) for c in at.sidebar.caption)


def test_without_a_store_the_pages_say_so_and_create_none(app: AppTest) -> None:
    at = goto(app, "whatif")
    at.radio(key="whatif_source").set_value("saved").run()
    assert any("There is no run store yet" in i.value for i in at.info)
    at = goto(at, "compare")
    assert any("There is no run store yet" in i.value for i in at.info)
    assert not Path(os.environ["TWIN_STORE"]).parent.exists()


def test_a_damaged_store_is_a_message_on_every_page_and_training_goes_on(app: AppTest) -> None:
    Path(os.environ["TWIN_STORE"]).parent.mkdir(parents=True, exist_ok=True)
    Path(os.environ["TWIN_STORE"]).write_bytes(b"")
    at = train(app, "quick", "still trains")
    assert [run.label for run in at.session_state["runs"]] == ["still trains"]
    assert any("Not kept in the run store" in w.value and "0 bytes" in w.value for w in at.warning)
    at = goto(at, "whatif")
    at.radio(key="whatif_source").set_value("saved").run()
    assert any("The twin could not be loaded" in e.value and "0 bytes" in e.value for e in at.error)
    at = goto(at, "compare")
    assert any("cannot be read" in e.value and "0 bytes" in e.value for e in at.error)
    fresh = AppTest.from_file(APP, default_timeout=TIMEOUT_S)  # the entry script's sidebar shows on a first run
    fresh.run()
    assert any("cannot be read" in c.value and "0 bytes" in c.value for c in fresh.sidebar.caption)


def test_a_saved_run_of_a_constant_target_shows_r2_not_available(app: AppTest) -> None:
    telemetry = app.session_state["telemetry"]
    idle = replace(telemetry, frame=telemetry.frame.assign(**{telemetry.target: 5.0}))  # R² cannot be computed
    app.session_state["telemetry"] = idle
    train(app, "quick", "constant")
    assert store().list()[["best_r2_holdout", "identity_r2_holdout"]].isna().all(axis=None)  # stored as null
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)  # another session on the same data
    at.session_state["telemetry"], at.session_state["data_label"] = idle, app.session_state["data_label"]
    at.run()
    at = goto(at, "whatif")
    at.radio(key="whatif_source").set_value("saved").run()
    assert not at.exception and at.selectbox(key="whatif_saved_run").options[0].endswith("· R² n/a")
    at = goto(at, "compare")
    table = at.dataframe[0].value
    assert table[["best_r2_holdout", "reference_r2"]].values.tolist() == [["n/a", "n/a"]]  # its kind's baseline


def test_runs_of_a_constant_target_compare_with_r2_not_available(app: AppTest) -> None:
    telemetry = app.session_state["telemetry"]
    frame = telemetry.frame.assign(**{telemetry.target: 5.0})  # an idle core: R² cannot be computed
    app.session_state["telemetry"] = replace(telemetry, frame=frame)
    at = goto(train(train(app, "quick", "idle a"), "quick", "idle b"), "compare")
    runs = at.dataframe[0].value
    deltas = next(d.value for d in at.dataframe if "delta_r2_holdout" in d.value.columns)
    assert set(runs[["best_r2_holdout", "reference_r2"]].to_numpy().ravel()) == {"n/a"}
    assert set(deltas[["r2_holdout_a", "delta_r2_holdout"]].to_numpy().ravel()) == {"n/a"}


def test_a_kept_pair_shown_in_both_tabs_has_its_noise_measured_once(app: AppTest, monkeypatch) -> None:
    """A run of this session that was kept is the same run as the one read back: the bootstrap of the pair's changes
    (seconds on a long hold-out) is not done again for the saved-runs tab."""
    measured = []
    original = page_charts.change_noise
    monkeypatch.setattr(page_charts, "change_noise",
                        lambda *args, **kwargs: measured.append(1) or original(*args, **kwargs))
    at = goto(train(train(app, "quick", "first"), "quick", "second"), "compare")
    assert [run.stored_as is not None for run in at.session_state["runs"]] == [True, True]
    assert len(at.get("plotly_chart")) == 4  # each tab: the pair's R² changes and the overlaid traces
    assert len(measured) == 1
