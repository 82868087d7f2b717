"""Overview: the page the app opens on says what the twin is, shows the data and the active run at a glance and
offers the next step."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from tests.app.helpers import DEMO_ROWS, figures, goto, metric, train, trace, values
from twin_core.evaluate import model_words, score_text
from twin_core.wording import GLOSSARY


def buttons(at: AppTest) -> dict[str, str]:
    """The page's buttons, label to type (primary or secondary) as the button's proto carries it."""
    return {b.label: b.proto.type for b in at.button}


def test_the_app_opens_on_the_overview_with_the_demo_data_and_train_as_next_step(app: AppTest) -> None:
    assert [t.value for t in app.title] == ["Digital Twin Studio"]
    assert "digital twin of a CPU core" in app.markdown[0].value
    assert app.markdown[0].help == GLOSSARY["hold-out"]
    assert app.subheader[0].value == "Data: Demo telemetry (1,200 rows, seed 0)"
    assert metric(app, "Rows") == f"{DEMO_ROWS:,}"
    assert metric(app, "Sessions") == "6"
    assert metric(app, "Cores") == "8"
    assert metric(app, "Sampling interval") == "0.1 s"
    assert any("Target: **cpu_util_core_0**" in m.value for m in app.markdown)
    assert buttons(app) == {"Train a twin": "primary"}
    assert not app.get("plotly_chart")


def test_train_a_twin_opens_the_train_page(app: AppTest) -> None:
    next(b for b in app.button if b.label == "Train a twin").click().run()
    assert not app.exception
    assert [t.value for t in app.title] == ["Train"]


def test_after_a_quick_training_the_kind_sentence_best_r2_beside_the_identity_and_results_as_next_step(
        app: AppTest) -> None:
    at = goto(train(app, "quick"), "overview")
    result = at.session_state["runs"][0].result
    evaluation = result.evaluation
    sentence = next(m for m in at.markdown if m.value.startswith("Reconstruction twin: "))
    assert sentence.value == result.metrics["kind_sentence"]
    assert sentence.help == GLOSSARY["reconstruction"]
    assert metric(at, "Best R² (hold-out)") == score_text(evaluation.best["r2_holdout"])
    assert metric(at, "Identity R²") == score_text(evaluation.baseline_r2("identity"))
    best_card = next(m for m in at.metric if m.label == "Best R² (hold-out)")
    assert GLOSSARY["R²"] in best_card.help and GLOSSARY["out-of-fold"] in best_card.help
    assert any(result.split.description in c.value for c in at.caption)
    assert [m.label for m in at.metric if "R²" in m.label] == ["Best R² (hold-out)", "Best R² (OOF)", "Identity R²",
                                                               "Persistence R²"]  # the Results page's four cards
    persistence = f"Persistence R² {evaluation.baseline_r2('persistence'):.3f}: "
    assert any(c.value.startswith(persistence) and "not a bar the twin must beat" in c.value for c in at.caption)
    assert buttons(at) == {"See the results": "primary", "Ask what-if": "secondary",
                           "Follow this machine live": "secondary"}
    charts = figures(at)
    assert charts["overview_stack"]["layout"]["title"]["text"] == "Reconstruction twin · Stack of run 'quick #1'"
    best = model_words(evaluation.best["key"])
    drawn = {t.get("name") for t in charts["overview_trace"]["data"]}
    assert {"actual", best, "identity baseline"} <= drawn
    counts = evaluation.predictions["session"].value_counts()
    shown = counts.idxmax()  # the session with the most hold-out rows, drawn whole
    assert len(values(trace(charts["overview_trace"], best)["y"])) == counts[shown] < counts.sum()
    assert any(f"session {shown}" in c.value for c in at.caption)


def test_see_the_results_opens_the_results_page(app: AppTest) -> None:
    at = goto(train(app, "quick"), "overview")
    next(b for b in at.button if b.label == "See the results").click().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Results"]


def test_a_behavioural_run_shows_its_sentence_and_the_linear_baseline_never_the_identity(app: AppTest) -> None:
    at = goto(train(app, "behavioural-quick"), "overview")
    result = at.session_state["runs"][0].result
    sentence = next(m.value for m in at.markdown if m.value.startswith("Behavioural twin: "))
    assert sentence == result.metrics["kind_sentence"]
    assert "explain" in sentence
    assert metric(at, "Linear R²") == score_text(result.evaluation.baseline_r2("linear_others"))
    assert "Identity R²" not in [m.label for m in at.metric]
    drawn = {t.get("name") for t in figures(at)["overview_trace"]["data"]}
    assert "linear baseline" in drawn and "identity baseline" not in drawn
    assert not any("identity" in c.value for c in at.caption)
