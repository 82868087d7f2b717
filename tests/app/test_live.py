"""Live page: a twin follows a replayed real psutil recording ($TWIN_LIVE_REPLAY) fragment run by fragment run;
the page says what to do without a twin, refuses a twin of other cores, and stops when another page runs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.app.helpers import APP, TIMEOUT_S, figures, goto, metric, train, values
from twin_core.errors import SchemaMismatchError
from twin_core.evaluate import score_text, scores
from twin_core.runs import TwinModel
from twin_core.telemetry import load_telemetry, telemetry_from_frames

RECORDING = Path(__file__).resolve().parents[1] / "fixtures" / "collectors" / "psutil_wide.csv"  # 2 cpus, 1 s


def button(at: AppTest, label: str):
    return next(b for b in at.button if b.label == label)


def run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def trained_on_the_recording(at: AppTest) -> AppTest:
    """The recording uploaded as the active data, and a quick twin trained on it."""
    goto(at, "data")
    at.file_uploader(key="data_upload").set_value((RECORDING.name, RECORDING.read_bytes(), "text/csv")).run()
    assert at.session_state["data_label"] == RECORDING.name
    return train(at, "quick")


def chart_series(at: AppTest) -> pd.DataFrame:
    """The live chart's two lines as drawn (blank points where the lines break at pauses left out): a column per
    line, indexed by seconds before the newest sample."""
    figure = figures(at)["live_chart"]
    lines = {t["name"]: pd.Series(values(t["y"]).astype(float), index=values(t["x"]).astype(float))
             for t in figure["data"]}
    return pd.DataFrame({"actual": lines["actual"], "predicted": lines["twin's prediction"]}).dropna()


def test_without_a_twin_the_page_says_what_to_do(app: AppTest) -> None:
    at = goto(app, "live")
    assert any("No finished run in this session: train a twin on telemetry of this machine" in i.value
               for i in at.info)
    assert not [b for b in at.button if b.label == "Start"]


def test_a_twin_of_other_cores_is_refused_plainly(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWIN_LIVE_REPLAY", str(RECORDING))
    at = goto(train(app, "quick"), "live")  # trained on the 8-core demo; the replay has 2 cores
    (error,) = at.error
    assert error.value.startswith("This twin was trained on 8 cores (cpu_util_core_0, ")
    assert f"a replay of `{RECORDING}`" in error.value and "has 2." in error.value
    assert not [b for b in at.button if b.label == "Start"]


def test_start_follows_the_replay_with_the_twins_own_predictions(app: AppTest,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWIN_LIVE_REPLAY", str(RECORDING))
    at = goto(trained_on_the_recording(app), "live")
    model = at.session_state["runs"][0].result.model
    button(at, "Start").click()
    run(at)
    assert any(i.value.startswith("warming up (1 of 6 samples)") for i in at.info)
    for _ in range(11):  # fragment runs: one recorded row each (the recording's 1 s interval)
        run(at)
    session = at.session_state["live_session"]
    assert session.running and len(session.kept) == 12

    recording = load_telemetry(RECORDING)
    first = recording.frame.iloc[:12].drop(columns=["session", "source"])
    expected = model.predict_layers(telemetry_from_frames([("first rows", first)]))[-1].mean(axis=1).clip(0, 100)
    history = session.history
    np.testing.assert_allclose(history["actual"], recording.frame["cpu_util_core_0"].iloc[5:12])
    np.testing.assert_allclose(history["predicted"], expected.to_numpy())
    measured = scores(history["actual"].to_numpy(), history["predicted"].to_numpy())
    assert metric(at, "R², last 60 s") == score_text(measured["r2"])
    assert metric(at, "MAE, last 60 s") == f"{measured['mae']:.2f} points"
    assert metric(at, "Samples") == "12"
    chart = chart_series(at)
    assert list(chart.columns) == ["actual", "predicted"]
    np.testing.assert_allclose(chart["actual"], history["actual"])
    np.testing.assert_allclose(chart["predicted"], history["predicted"], rtol=1e-6)
    np.testing.assert_allclose(chart.index, history["timestamp"] - history["timestamp"].iloc[-1])
    # the twin's interval around its prediction, the band its calibration gives these rows, shaded with its coverage
    rows = telemetry_from_frames([("first rows", first)])
    layers = model.predict_layers(rows)
    lower, upper = model.top_band(rows, layers[-1]["top-ridge"])
    np.testing.assert_allclose(history["lower"], lower, rtol=1e-6)
    np.testing.assert_allclose(history["upper"], upper, rtol=1e-6)
    inside = ((history["actual"] >= history["lower"]) & (history["actual"] <= history["upper"])).mean()
    band = figures(at)["live_chart"]["data"][0]
    assert band["fill"] == "toself"
    assert band["name"].endswith(f"interval (covers {100 * inside:.0f} % of these samples)")

    button(at, "Stop").click()
    run(at)
    assert not at.session_state["live_session"].running
    run(at)
    assert len(at.session_state["live_session"].kept) == 12  # nothing is sampled once stopped


def test_every_count_on_the_page_is_the_samples_taken(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWIN_LIVE_REPLAY", str(RECORDING))
    at = goto(trained_on_the_recording(app), "live")
    button(at, "Start").click()
    run(at)
    run(at)
    assert any(i.value.startswith("warming up (2 of 6 samples)") for i in at.info)
    for _ in range(70):  # past the 60 s window: the chart keeps the last minute, the count goes on
        run(at)
    assert metric(at, "Samples") == "72"
    history = at.session_state["live_session"].history  # the last 60 s: the recording steps a hair over 1 s
    assert len(chart_series(at)) == len(history) == 60
    assert 59 < history["timestamp"].iloc[-1] - history["timestamp"].iloc[0] <= 60
    button(at, "Stop").click()
    run(at)
    stopped = [c.value for c in at.caption if c.value.startswith("Stopped")]
    assert stopped == ["Stopped: you pressed Stop. 72 samples taken."]
    assert metric(at, "Samples") == "72"


def test_another_page_stops_the_sampling_and_keep_makes_the_rows_the_data(app: AppTest,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWIN_LIVE_REPLAY", str(RECORDING))
    at = goto(trained_on_the_recording(app), "live")
    button(at, "Start").click()
    run(at)
    run(at)
    run(goto(at, "data"))  # the Live page's fragment is not on this page: nothing samples
    assert len(at.session_state["live_session"].kept) == 2

    at = goto(at, "live")
    session = at.session_state["live_session"]
    assert (session.running, session.stopped, len(session.kept)) == (False, "you left the Live page", 2)
    assert any("Stopped: you left the Live page. 2 samples taken." in c.value for c in at.caption)
    assert not button(at, "Start").disabled
    button(at, "Keep the recording as data").click()
    run(at)
    assert at.session_state["data_label"].startswith("live recording ")
    assert any(i.value.startswith("Kept as the active data: live recording ") and "(2 rows)" in i.value
               for i in at.info)
    kept = at.session_state["telemetry"].frame
    np.testing.assert_allclose(kept["cpu_util_core_1"], load_telemetry(RECORDING).frame["cpu_util_core_1"].iloc[:2])


def test_a_saved_twin_follows_in_a_new_browser_session(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWIN_LIVE_REPLAY", str(RECORDING))
    trained_on_the_recording(app)  # "Keep in the run store" is on by default
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at = goto(run(at), "live")
    at.radio(key="live_source").set_value("saved")
    run(at)
    assert any("saved run **quick #1**" in m.value for m in at.markdown)
    button(at, "Start").click()
    run(at)
    for _ in range(6):
        run(at)
    history = at.session_state["live_session"].history  # 7 rows replayed; the first 5 are the look-back
    np.testing.assert_allclose(history["actual"], load_telemetry(RECORDING).frame["cpu_util_core_0"].iloc[5:7])
    assert metric(at, "Samples") == "7"


def test_samples_the_twin_cannot_read_stop_it_with_one_message(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWIN_LIVE_REPLAY", str(RECORDING))
    at = goto(trained_on_the_recording(app), "live")

    def refuse(model: TwinModel, telemetry: object) -> None:
        raise SchemaMismatchError("the samples have no cpu_util_core_0")

    monkeypatch.setattr(TwinModel, "predict_layers", refuse)
    button(at, "Start").click()
    for _ in range(7):  # the 6th sample completes the look-back: the first prediction is asked
        run(at)
    session = at.session_state["live_session"]
    assert (session.running, session.stopped, len(session.kept)) == (False, "the twin could not read the samples", 6)
    assert [e.value for e in at.error] == ["The twin could not read the samples: the samples have no cpu_util_core_0"]
    assert not button(at, "Start").disabled


def test_the_run_picker_shows_the_active_run_and_choosing_one_makes_it_active(app: AppTest) -> None:
    at = goto(train(train(app, "quick", "one"), "quick", "two"), "live")
    assert at.selectbox(key="live_session_run").value == "two"  # the active run: the last one trained
    at.session_state["active_run"] = "one"  # as the sidebar's picker sets it, which reruns this page
    at.run()
    assert at.selectbox(key="live_session_run").value == "one"
    at.selectbox(key="live_session_run").select("two").run()
    assert at.session_state["active_run"] == "two"
