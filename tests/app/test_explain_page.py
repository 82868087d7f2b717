"""Results page: the explanations section shows a trained run's global importance and one instant's contributions."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.app.helpers import figures, goto, train, values
from twin_core.demo import make_demo_telemetry
from twin_core.evaluate import model_words


def test_results_page_explains_a_quick_run_at_the_instant_picked_and_only_on_its_own_data(app: AppTest) -> None:
    at = goto(train(app, "quick"), "results")
    result = at.session_state["runs"][0].result
    assert any(h.value == "Why the twin predicts what it does" for h in at.subheader)
    picker = at.selectbox(key=f"explain_model:{at.session_state['runs'][0].label}")
    assert picker.value == result.evaluation.best["key"]
    assert picker.options == [model_words(k) for k in result.evaluation.models["key"]]  # lightgbm and ridges
    charts = figures(at)
    importance = charts["explain_importance"]
    assert "inputs" in importance["layout"]["title"]["text"] and importance["data"][0]["orientation"] == "h"
    assert (values(importance["data"][0]["x"]).astype(float) > 0).any()
    waterfall = charts["explain_instant_chart"]["data"][0]
    steps = values(waterfall["x"]).astype(float)
    predictions = result.evaluation.predictions
    session = at.selectbox(key=f"explain_session:{at.session_state['runs'][0].label}").value
    shown = predictions[predictions["session"] == session]
    # the prediction bar is the model's own prediction at one hold-out instant of the chosen session
    assert np.isclose(steps[:-1].sum(), steps[-1])
    assert np.isclose(shown[result.evaluation.best["key"]], steps[-1], atol=1e-6).any()

    # another session and its last instant: the waterfall is the ridge's prediction at exactly that row
    label = at.session_state["runs"][0].label
    last_session = max(predictions["session"])
    at.selectbox(key=f"explain_session:{label}").set_value(last_session).run()
    at.selectbox(key=f"explain_model:{label}").set_value("L1:ridge").run()
    rows = predictions[predictions["session"] == last_session].sort_values("timestamp")
    end = datetime.fromtimestamp(rows["timestamp"].iloc[-1], tz=timezone.utc).replace(tzinfo=None)
    at.slider(key=f"explain_instant:{label}:{last_session}").set_value(end).run()
    assert not at.exception
    chart = figures(at)["explain_instant_chart"]
    assert values(chart["data"][0]["x"]).astype(float)[-1] == pytest.approx(rows["L1:ridge"].iloc[-1], abs=1e-6)
    assert f"(session {last_session})" in chart["layout"]["title"]["text"]
    importance = figures(at)["explain_importance"]
    assert "layer 1 · ridge" in importance["layout"]["title"]["text"]
    workload = str(rows["workload_type"].iloc[-1])  # the one-hot columns are one input, named with the instant's
    assert f"workload ({workload})" in list(chart["data"][0]["y"]) and "workload" in list(importance["data"][0]["y"])
    assert not any(str(name).startswith("workload_") for name in chart["data"][0]["y"])
    line = chart["layout"]["shapes"][0]  # the actual value at that instant, dashed
    assert line["line"]["dash"] == "dash" and line["x0"] == pytest.approx(rows["actual"].iloc[-1])
    assert "expected value (average prediction)" in chart["layout"]["title"]["subtitle"]["text"]
    assert "expected value (average prediction)" in importance["layout"]["title"]["subtitle"]["text"]

    # other data made active: the section says the run's data is needed instead of explaining other rows
    at.session_state["telemetry"] = make_demo_telemetry(rows=600, seed=5)
    at.run()
    assert not at.exception and "explain_instant_chart" not in figures(at)
    assert any("no longer the active data" in i.value for i in at.info)
