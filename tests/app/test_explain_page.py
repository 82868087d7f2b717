"""Results page: the explanations section shows a trained run's global importance and one instant's contributions."""
from __future__ import annotations

import numpy as np
from streamlit.testing.v1 import AppTest

from tests.app.helpers import figures, goto, train, values
from twin_core.evaluate import model_words


def test_results_page_explains_the_best_model_and_one_instant_of_a_quick_run(app: AppTest) -> None:
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
