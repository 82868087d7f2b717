"""What-if page: the twin's answer drawn and tabulated as the library computes it; refusals are messages."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.app.helpers import APP, TIMEOUT_S, figures, goto, metric, train, trace, values
from twin_core.demo import make_demo_telemetry
from twin_core.whatif import Scenario, ask


def ask_the_twin(at: AppTest, **widgets: object) -> AppTest:
    """Set the scenario widgets (by key suffix) and press "Ask the twin"."""
    for key, value in widgets.items():
        at.number_input(key=f"whatif_{key}").set_value(value)
    next(b for b in at.button if b.label == "Ask the twin").click().run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_the_answer_is_the_twins_on_the_same_inputs(app: AppTest) -> None:
    at = goto(train(app, "quick"), "whatif")
    run = at.session_state["runs"][0]
    assert any("run **quick #1** of this session" in m.value and "hold-out: per-session tail" in m.value
               for m in at.markdown)
    at = ask_the_twin(at, scale=150.0, offset=-5.0)
    expected = ask(run.result.model, at.session_state["telemetry"],
                   Scenario("input cores at 150 %, shifted -5 points", core_scale=1.5, core_offset=-5.0))

    chart = figures(at)["whatif_traces"]  # a scenario left unnamed is named from its settings, said once
    assert chart["layout"]["title"]["text"].endswith("What-if 'input cores at 150 %, shifted -5 points': "
                                                     "predictions and their difference")
    lower, upper = run.result.model.top_band(at.session_state["telemetry"], expected.predictions["baseline"])
    covered = ((expected.predictions["actual"] >= lower) & (expected.predictions["actual"] <= upper)).mean()
    assert [t["name"] for t in chart["data"]] == ["actual", "predicted, as recorded",
                                                  "predicted, input cores at 150 %, shifted -5 points",
                                                  "difference (scenario − as recorded)",
                                                  "session mean of the difference",
                                                  f"as recorded: 90 % interval (covers {100 * covered:.1f} % of all "
                                                  "rows)"]
    assert chart["data"][-1]["fill"] == "toself"  # the twin's band, shaded behind the lines
    top = next(m for m in run.result.metrics["models"] if m["layer"] == 2)["interval"]["coverage_holdout"]
    assert any("of all rows here, training rows included (on the hold-out rows alone: "
               f"{100 * top:.1f} %)" in c.value for c in at.caption)
    ordered = expected.predictions.sort_values("timestamp", kind="stable")
    ordered["difference (scenario − as recorded)"] = ordered["scenario"] - ordered["baseline"]
    for name, column in (("predicted, as recorded", "baseline"),
                         ("predicted, input cores at 150 %, shifted -5 points", "scenario"),
                         ("difference (scenario − as recorded)", "difference (scenario − as recorded)")):
        y = values(trace(chart, name)["y"]).astype(float)
        np.testing.assert_allclose(y[np.isfinite(y)], ordered[column], atol=1e-9)
    summary = at.dataframe[0].value
    pd.testing.assert_frame_equal(summary.iloc[:-1], expected.summary.iloc[:-1].astype({"session": str}),
                                  check_exact=False)
    assert summary.iloc[-1][["session", "workload", "rows"]].tolist() == ["all sessions", "",
                                                                          len(expected.predictions)]
    assert metric(at, "Change (points)") == f"{expected.mean_change:+.2f}"
    assert any("not measurements" in c.value for c in at.caption)


def test_the_picker_follows_the_sidebar_and_an_answer_shows_only_for_its_run_and_scenario(app: AppTest) -> None:
    trained = goto(train(train(app, "quick", "one"), "quick", "two"), "whatif")
    assert trained.selectbox(key="whatif_session_run").value == "two"  # the active run: the last one trained
    trained.selectbox(key="whatif_session_run").select("one").run()
    assert trained.session_state["active_run"] == "one"  # picked here, it is the app's active run
    asked = ask_the_twin(trained, scale=150.0)
    assert any(s.value == "Answer to “input cores at 150 %”" for s in asked.subheader)

    # AppTest (1.67) drops the entry script's sidebar after switch_page; a fresh first run with this state shows it
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    for name in ("telemetry", "data_label", "runs", "active_run", "whatif_answer"):
        at.session_state[name] = asked.session_state[name]
    at.run()
    assert at.sidebar.selectbox[0].value == "one"
    at.sidebar.selectbox[0].select("two").run()
    at = goto(at, "whatif")
    assert at.selectbox(key="whatif_session_run").value == "two"
    assert any("run **two** of this session" in m.value for m in at.markdown)
    assert not any(s.value.startswith("Answer to") for s in at.subheader)
    assert "whatif_traces" not in figures(at) and not at.metric

    at.selectbox(key="whatif_session_run").select("one").run()
    assert at.session_state["active_run"] == "one" and "whatif_traces" not in figures(at)  # scale 100 %: not asked
    at.number_input(key="whatif_scale").set_value(150.0).run()  # the run and scenario that were asked
    assert metric(at, "Change (points)") == f"{asked.session_state['whatif_answer'].answer.mean_change:+.2f}"
    at.number_input(key="whatif_scale").set_value(120.0).run()
    assert "whatif_traces" not in figures(at) and not at.metric


def test_an_invalid_scenario_is_a_message_not_a_traceback(app: AppTest) -> None:
    at = ask_the_twin(goto(train(app, "quick"), "whatif"), scale=-50.0)
    assert any("The scenario cannot be asked" in e.value and "must be a finite number of at least 0" in e.value
               for e in at.error)
    assert "whatif_traces" not in figures(at)


def test_an_unseen_workload_is_a_warning(app: AppTest) -> None:
    at = goto(train(app, "quick"), "whatif")
    at.selectbox(key="whatif_workload:session:quick #1").select("another label…").run()
    at.text_input(key="whatif_workload_text").input("gpu_render")
    at = ask_the_twin(at)
    assert any("not seen in training" in w.value for w in at.warning)
    assert "whatif_traces" in figures(at)


def test_a_saved_twin_answers_in_a_new_session_and_refuses_other_cores(app: AppTest) -> None:
    trained = train(app, "quick", "kept")
    model = trained.session_state["runs"][0].result.model
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    at.run()
    at = goto(at, "whatif")
    assert any("No finished run in this session" in i.value for i in at.info)
    at.radio(key="whatif_source").set_value("saved").run()
    assert any("saved run **kept**" in m.value and "trained on the current data" in m.value for m in at.markdown)
    at = ask_the_twin(at, scale=50.0)
    expected = ask(model, at.session_state["telemetry"], Scenario("input cores at 50 %", core_scale=0.5))
    assert metric(at, "Change (points)") == f"{expected.mean_change:+.2f}"
    assert any("training rows included (on the hold-out rows alone: " in c.value for c in at.caption)

    other = make_demo_telemetry(rows=600, cores=4, sessions=2, seed=1)
    at.session_state["telemetry"] = other
    at.run()
    assert any("trained on telemetry with 8 cores" in e.value and "this data has 4" in e.value
               for e in at.error)
    assert not any(b.label == "Ask the twin" for b in at.button)


@pytest.mark.parametrize(("source", "message"), [
    ("session", "No finished run in this session: train one"),
    ("saved", "tick “Keep in the run store” when training"),
])
def test_no_twin_yet_points_to_train(app: AppTest, source: str, message: str) -> None:
    at = goto(app, "whatif")
    at.radio(key="whatif_source").set_value(source).run()
    assert any(message in i.value for i in at.info)
    assert not any(b.label == "Ask the twin" for b in at.button)


@pytest.mark.parametrize(("preset", "note", "title"), [
    ("quick", "Reconstruction twin: the scenario moves cpu_util_overall with the cores, so the change follows mostly "
              "from the identity", "Reconstruction twin · What-if"),
    ("behavioural-quick", "Behavioural twin: the change is the learned response of cpu_util_core_0 to the other "
                          "cores and the workload", "Behavioural twin · What-if"),
])
def test_the_answer_says_what_it_means_for_the_twins_kind(app: AppTest, preset: str, note: str, title: str) -> None:
    at = goto(train(app, preset), "whatif")
    kind = at.session_state["runs"][0].result.config.kind
    assert any(c.value.startswith(f"{kind.capitalize()} twin: reads ") for c in at.caption)
    at = ask_the_twin(at, scale=150.0)
    assert [i.value for i in at.info if i.value.startswith(note)] == [at.session_state["whatif_answer"].answer.note]
    assert figures(at)["whatif_traces"]["layout"]["title"]["text"].startswith(title)


def test_a_band_covering_far_less_than_its_level_is_warned_of_beside_the_answer(app: AppTest) -> None:
    at = goto(train(app, "quick"), "whatif")
    models = at.session_state["runs"][0].result.evaluation.models
    models.loc[models["layer"] == 2, "coverage_holdout"] = 0.647
    at = ask_the_twin(at, scale=150.0)
    assert any("90 % band covers 64.7 % of the hold-out rows" in w.value for w in at.warning)
