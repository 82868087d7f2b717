"""Results and Compare pages: every figure is there and carries the run's numbers, not just something drawn."""
from __future__ import annotations

import html
import json
import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.app.helpers import figures, goto, metric, train, trace, values
from twin_core import plots
from twin_core.evaluate import model_words
from twin_core.report import build_report
from twin_core.verdicts import gain_text
from ui import charts as page_charts


@pytest.fixture
def trained(app: AppTest) -> AppTest:
    """The Results page after training the quick preset on the small demo."""
    return goto(train(app, "quick"), "results")


def test_results_page_without_a_run_points_to_train(app: AppTest) -> None:
    at = goto(app, "results")
    assert "No finished run yet" in at.info[0].value
    assert not at.get("plotly_chart")


def test_layer_r2_chart_and_the_gain_table_show_every_model_baseline_and_verdict(trained: AppTest) -> None:
    at = trained
    result = at.session_state["runs"][0].result
    models, baselines = result.evaluation.models, result.evaluation.baselines.set_index("name")
    chart = figures(at)["layer_r2"]
    holdout, oof = trace(chart, "hold-out"), trace(chart, "out-of-fold")
    best = result.evaluation.best["key"]
    assert list(holdout["y"]) == [f"layer {key[1]} · {key[3:]}" + (" ★" if key == best else "")
                                  for key in ("L1:lgbm", "L1:ridge", "L2:top-ridge")]
    np.testing.assert_allclose(values(holdout["x"]).astype(float), models["r2_holdout"])
    np.testing.assert_allclose(values(oof["x"]).astype(float), models["r2_oof"])
    base = trace(chart, "baseline")
    assert base["orientation"] == "h" and list(base["y"]) == [model_words(b) for b in baselines.index]
    np.testing.assert_allclose(values(base["x"]).astype(float), baselines["r2_holdout"])
    assert result.split.description.split(":")[0] in chart["layout"]["title"]["subtitle"]["text"]  # (wrapped)
    gain = at.dataframe[0].value
    assert list(gain["layer"]) == [1, 2]
    expected = [f"{gain_text(g, ci)} · {v}" for g, ci, v in
                result.evaluation.layer_gain[["gain_holdout", "gain_ci95", "verdict"]].itertuples(index=False)]
    assert list(gain["answer"]) == expected
    shown = r"(?:[+−]\d\.\d{3}|0\.000)"  # one minus sign, and no sign on a gain that rounds to zero
    answer = rf"{shown} \[{shown}, {shown}\] · (pays|within noise|costs)|n/a · n/a"
    assert all(re.fullmatch(answer, a) for a in expected)
    explained = any("is not in the top layer" in c.value for c in at.caption)
    assert explained == (result.evaluation.best["layer"] != 2)  # said only when the headline's model is below the top
    assert float(at.metric[0].value) == pytest.approx(result.evaluation.best["r2_holdout"], abs=5e-4)


def test_the_report_shows_the_numbers_the_results_page_shows(trained: AppTest) -> None:
    at = trained
    run = at.session_state["runs"][0]
    report = html.unescape(build_report(run.result, run.label, run.data_label))
    cards = [(m.label, m.value) for m in at.metric]
    assert len(cards) == 4
    for label, value in cards:
        assert f'<div class="label">{label}</div><div class="value">{value}</div>' in report
    delta = at.metric[0].delta
    assert re.fullmatch(r"(?:[+−]\d\.\d{3}|0\.000) vs identity", delta) and f">{delta}</div>" in report
    gain = at.dataframe[0].value
    for layer, answer, oof in gain[["layer", "answer", "gain_oof"]].itertuples(index=False):
        assert f'<td class="number">{layer}</td><td>' in report and f"<td>{answer}</td>" in report
        assert f'<td class="number">{oof}</td>' in report
    captions = [c.value for c in at.caption]
    assert next(c for c in captions if c.startswith("Persistence R² ")) in report  # why persistence is no bar
    per_session = at.dataframe[-2].value
    for r2 in per_session["r2_model"]:
        assert f'<td class="number">{r2:.3f}</td>' in report
    why_lower = "A session's R² is measured against that session's own mean"
    assert any(why_lower in c for c in captions) and why_lower in report


def test_stack_diagram_labels_each_node_with_its_r2(trained: AppTest) -> None:
    result = trained.session_state["runs"][0].result
    diagram = figures(trained)["stack_diagram"]
    assert diagram["layout"]["title"]["text"] == "Reconstruction twin · Stack of run 'quick #1'"  # the run's label
    texts = " ".join(t for tr in diagram["data"] for t in tr["text"])
    for key, r2 in zip(result.evaluation.models["key"], result.evaluation.models["r2_holdout"]):
        assert f"<b>{key.split(':')[1]}</b>" in texts and f"R² {r2:.3f}" in texts
    assert sum(1 for a in diagram["layout"]["annotations"] if a.get("showarrow")) == 4  # 2 into layer 1, 2 into layer 2


def test_the_identity_is_written_with_the_data_s_eight_cores_as_the_kind_sentence_writes_it(trained: AppTest) -> None:
    sentence = trained.session_state["runs"][0].result.metrics["kind_sentence"]
    verdicts = next(c.value for c in trained.caption if c.value.startswith("Each layer's best model"))
    assert "identity 8·overall − Σ other cores" in sentence and "identity 8·overall − Σ other cores" in verdicts
    assert not [c.value for c in trained.caption if "N·overall" in c.value]


def test_trace_chart_follows_the_toggles_and_the_session_zoom(trained: AppTest) -> None:
    at = trained
    predictions = at.session_state["runs"][0].result.evaluation.predictions
    chart = figures(at)["trace"]
    band = f"layer 2 · top-ridge: {at.session_state['runs'][0].result.evaluation.interval_words('L2:top-ridge')}"
    assert [t["name"] for t in chart["data"]] == ["actual", "layer 2 · top-ridge", "identity baseline", band]
    actual = values(trace(chart, "actual")["y"]).astype(float)
    np.testing.assert_allclose(actual[np.isfinite(actual)], predictions.sort_values("timestamp")["actual"])

    at.multiselect(key="trace_keys:quick #1").set_value(["L1:lgbm", "persistence"]).run()
    at.selectbox(key="trace_session:quick #1").select(2).run()
    chart = figures(at)["trace"]
    assert [t["name"] for t in chart["data"]] == ["actual", "layer 1 · lgbm", "persistence baseline"]
    session = predictions[predictions["session"] == 2]
    np.testing.assert_allclose(values(trace(chart, "layer 1 · lgbm")["y"]).astype(float), session["L1:lgbm"])


def test_residual_figures_and_group_tables(trained: AppTest) -> None:
    at = trained
    evaluation = at.session_state["runs"][0].result.evaluation
    charts = figures(at)
    residual = (evaluation.predictions["actual"] - evaluation.predictions["L2:top-ridge"]).to_numpy()
    vs = values(charts["residual_vs_predicted"]["data"][0]["y"]).astype(float)
    np.testing.assert_allclose(np.sort(vs), np.sort(residual))
    assert values(charts["residual_histogram"]["data"][0]["y"]).astype(int).sum() == len(residual)
    assert len(charts["residual_by_workload"]["data"]) == evaluation.predictions["workload_type"].nunique()
    assert list(values(charts["residual_autocorrelation"]["data"][0]["x"]).astype(int)) == list(range(1, 31))
    assert np.isfinite(values(charts["residual_over_time"]["data"][0]["y"]).astype(float)).sum() == len(residual)
    by_session, by_workload = at.dataframe[-2].value, at.dataframe[-1].value
    assert len(by_session) == 6 and len(by_workload) == 6
    assert [b.label for b in at.get("download_button")] == [
        "Download report (HTML)", "Predictions (parquet)", "Predictions (CSV)", "Run configuration (JSON)"]


def test_compare_two_runs(app: AppTest) -> None:
    at = train(train(app, "quick"), "default")
    at = goto(at, "compare")
    runs = at.dataframe[0].value
    assert list(runs["label"]) == ["quick #1", "default #2"]
    assert list(runs["kind"]) == ["reconstruction", "reconstruction"]
    diff = at.table[0].value
    assert "Final models (refit or fold average)" in diff.index
    assert not any("answer different questions" in w.value for w in at.warning)
    charts = figures(at)
    deltas = charts["metric_deltas"]
    assert deltas["layout"]["title"]["text"] == "Reconstruction twin · Hold-out R²: quick #1 → default #2"
    overlay = charts["compare_traces"]
    assert [t["name"] for t in overlay["data"]][0] == "actual"
    assert {t["name"].split(":")[0] for t in overlay["data"][1:]} == {"quick #1", "default #2"}


def test_a_behavioural_run_says_its_kind_and_is_measured_against_its_own_baselines(app: AppTest) -> None:
    at = goto(train(app, "behavioural-quick"), "results")
    evaluation = at.session_state["runs"][0].result.evaluation
    sentence = next(m.value for m in at.markdown if m.value.startswith("Behavioural twin: "))
    assert sentence == evaluation.kind_sentence
    assert "never cpu_util_overall or cpu_util_core_0 itself" in sentence
    assert float(metric(at, "Linear R²")) == pytest.approx(evaluation.baseline_r2("linear_others"), abs=5e-4)
    assert [m.label for m in at.metric] == ["Best R² (hold-out)", "Best R² (OOF)", "Linear R²", "Persistence R²"]
    assert next(m for m in at.metric if m.label == "Best R² (hold-out)").delta.endswith(" vs linear")
    gain = at.dataframe[0].value
    assert gain["compared_with"].tolist() == ["linear baseline", "layer 1"]
    expected_gain = f"{gain.loc[0, 'r2_holdout'] - evaluation.baseline_r2('linear_others'):+.3f}".replace("-", "−")
    assert gain.loc[0, "answer"].startswith(expected_gain + " [")
    assert gain.loc[0, "gain_oof"] == "n/a"  # a baseline has no out-of-fold score: never a literal None
    assert at.dataframe[2].value["name"].tolist() == ["mean", "persistence", "linear_others"]
    assert at.multiselect(key="trace_keys:behavioural-quick #1").options == [
        "layer 1 · lgbm", "layer 1 · ridge", "layer 2 · top-ridge", "training-mean baseline", "persistence baseline",
        "linear baseline"]  # shown in words
    charts = figures(at)
    assert charts["trace"]["layout"]["title"]["text"] == (
        "Behavioural twin · cpu_util_core_0: actual against predicted, hold-out rows")
    best = evaluation.best["key"]
    assert [t["name"] for t in charts["trace"]["data"]] == ["actual", model_words(best), "linear baseline",
                                                            f"{model_words(best)}: {evaluation.interval_words(best)}"]
    assert all(fig["layout"]["title"]["text"].startswith("Behavioural twin · ") for fig in charts.values())
    assert "r2_linear_others" in at.dataframe[-1].value.columns


def test_compare_marks_runs_of_different_kinds_as_different_questions(app: AppTest) -> None:
    at = goto(train(train(app, "quick"), "behavioural-quick"), "compare")
    runs = at.dataframe[0].value
    assert runs["kind"].tolist() == ["reconstruction", "behavioural"]
    baselines = [run.result.evaluation.baseline_r2(name) for run, name in
                 zip(at.session_state["runs"], ("identity", "linear_others"))]
    assert runs["reference_r2"].tolist() == [f"{r2:.3f}" for r2 in baselines]
    assert any("**quick #1** is a reconstruction twin and **behavioural-quick #2** a behavioural twin: they answer "
               "different questions" in w.value for w in at.warning)
    charts = figures(at)
    assert "metric_deltas" not in charts  # no change from one kind to the other is drawn
    assert charts["compare_traces"]["layout"]["title"]["text"].startswith("Different kinds · Best model of each run")
    side_by_side = next(t.value for t in at.table if "baseline R²" in t.value.columns)
    best = [run.result.evaluation.best["r2_holdout"] for run in at.session_state["runs"]]
    assert side_by_side.index.tolist() == ["quick #1", "behavioural-quick #2"]
    assert side_by_side.to_dict("list") == {
        "kind": ["reconstruction", "behavioural"], "split": ["honest", "honest"],
        "best R²": [f"{r2:.3f}" for r2 in best],
        "best R² OOF": [f"{run.result.evaluation.best['r2_oof']:.3f}" for run in at.session_state["runs"]],
        "baseline": ["identity", "linear"], "baseline R²": [f"{r2:.3f}" for r2 in baselines],
        "gain": [f"{b - r:+.3f}" for b, r in zip(best, baselines)]}


def test_a_rerun_serves_the_same_figures_without_building_them_again(trained: AppTest,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """A long hold-out's figures are built once per run and question: a rerun that changes nothing they show builds
    none again, and choosing another line builds that chart alone."""
    built: list[str] = []
    for name in ("trace_figure", "residual_figures", "layer_r2_figure", "stack_diagram"):
        def counted(*args, _build=getattr(plots, name), _name=name, **kwargs):
            built.append(_name)
            return _build(*args, **kwargs)
        for module in (plots, page_charts):  # wherever a page may call it from
            monkeypatch.setattr(module, name, counted)
    before = figures(trained)
    at = trained.run()
    assert not at.exception
    assert built == [] and figures(at) == before
    lines = at.multiselect(key="trace_keys:quick #1")
    lines.select("persistence").run()
    assert built == ["trace_figure"]
    assert [t["name"] for t in figures(at)["trace"]["data"]][-2] == "persistence baseline"  # the band is drawn last


def test_every_models_interval_is_shown_with_its_coverage_and_the_trace_shades_the_best_band(trained: AppTest) -> None:
    at = trained
    evaluation = at.session_state["runs"][0].result.evaluation
    shown = next(frame.value for frame in at.dataframe if "coverage_pct" in frame.value)
    assert list(shown["model"]) == [model_words(k) for k in evaluation.models["key"]]
    np.testing.assert_allclose(shown["coverage_pct"], 100 * evaluation.models["coverage_holdout"])
    assert (shown["nominal_pct"] == 90).all()
    shown = next(frame for frame in at.dataframe if "workload_type" in frame.value)
    np.testing.assert_allclose(shown.value["coverage_model"], 100 * evaluation.by_workload["coverage_model"])
    columns = json.loads(shown.proto.columns)
    assert columns["coverage_model"]["label"] == "interval coverage, best model (%)"
    assert columns["coverage_model"]["type_config"]["format"] == "%.1f"
    assert "width_model" in shown.proto.column_order  # widths differ across groups here (bands clipped to 0–100)
    for frame in (evaluation.by_session, evaluation.by_workload):  # one width for every row: said once, no column
        frame["width_model"] = 12.5
    at.run()
    shown = next(frame for frame in at.dataframe if "workload_type" in frame.value)
    assert "width_model" not in shown.proto.column_order and "coverage_model" in shown.proto.column_order
    assert any("Its width is the same in every group: 12.50 points." in c.value for c in at.caption)
    band = figures(at)["trace"]["data"][-1]
    assert band["name"] == f"{model_words(evaluation.best['key'])}: {evaluation.interval_words(evaluation.best['key'])}"


def test_a_band_covering_far_less_than_its_level_is_warned_of_under_prediction_intervals(trained: AppTest) -> None:
    at = trained
    evaluation = at.session_state["runs"][0].result.evaluation
    best = evaluation.models["key"] == evaluation.best["key"]
    evaluation.models.loc[best, "coverage_holdout"] = 0.647
    at.run()
    assert any("90 % band covers 64.7 % of the hold-out rows" in w.value for w in at.warning)
    evaluation.models.loc[best, "coverage_holdout"] = 0.9
    at.run()
    assert not any("band covers" in w.value for w in [*at.warning, *at.info])
