"""Anomalies page: the active run's episodes as the library finds them, a min-samples control, a zoom to any one, and
what kind of twin drew them; a run without a band says so."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.helpers import figures, goto, metric, train
from twin_core.anomalies import band_frame, find_episodes
from twin_core.demo import write_demo_parquet
from twin_core.telemetry import load_telemetry


@pytest.fixture(scope="module")
def injected_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Demo data whose core 0 follows the other cores, with 6 bursts in the hold-out part of its sessions."""
    folder = tmp_path_factory.mktemp("injected_app")
    write_demo_parquet(folder, rows=1500, cores=4, sessions=3, seed=1, response=True, anomalies=6, anomaly_tail=0.18)
    return folder


def test_without_a_run_the_page_points_to_train(app: AppTest) -> None:
    at = goto(app, "anomalies")
    assert any("No finished run yet" in i.value for i in at.info)


def test_a_behavioural_twins_episodes_are_listed_and_zoomed_as_the_library_finds_them(app: AppTest,
                                                                                      injected_dir: Path) -> None:
    app.session_state["telemetry"] = load_telemetry(injected_dir)
    at = goto(train(app, "behavioural-quick"), "anomalies")
    run = at.session_state["runs"][0]
    evaluation = run.result.evaluation
    expected = find_episodes(band_frame(evaluation.predictions, evaluation.best["key"]), 5)
    assert len(expected) >= 6 and not any("reconstruction twin" in i.value for i in at.info)
    assert metric(at, "Episodes") == f"{len(expected):,}"
    table = at.dataframe[0].value
    assert table["rank"].tolist() == expected["rank"].tolist()
    assert table["samples"].tolist() == expected["samples"].tolist()
    coverage = run.result.metrics["best"]["interval"]["coverage_holdout"]
    assert any("90 % band of layer " in c.value and f"covers {100 * coverage:.1f} % of hold-out rows" in c.value
               for c in at.caption)

    charts = figures(at)
    zoomed = charts["anomaly_zoom_chart"]
    assert zoomed["layout"]["title"]["text"].startswith("Behavioural twin · Episode 1: ")
    assert [t.get("name") for t in zoomed["data"]] == [None, "90 % band", "predicted", "actual"]
    assert f"covers {100 * coverage:.1f} % of hold-out rows" in zoomed["layout"]["title"]["subtitle"]["text"]
    assert len(charts["anomaly_overview"]["data"][1]["text"]) == len(expected)  # one numbered dot per episode
    at.selectbox(key=f"anomaly_zoom:{run.label}").select(2).run()
    assert "· Episode 2: " in figures(at)["anomaly_zoom_chart"]["layout"]["title"]["text"]

    at.number_input(key=f"anomaly_min_samples:{run.label}").set_value(1).run()
    assert not at.exception
    shorter = find_episodes(band_frame(evaluation.predictions, evaluation.best["key"]), 1)
    assert metric(at, "Episodes") == f"{len(shorter):,}"
    assert int(metric(at, "Episodes").replace(",", "")) > len(expected)


def test_a_reconstruction_twin_is_named_and_a_run_without_a_band_says_so(app: AppTest) -> None:
    at = train(app, "quick")
    evaluation = at.session_state["runs"][0].result.evaluation
    for column in [c for c in evaluation.predictions if c.startswith(("lower ", "upper "))]:
        del evaluation.predictions[column]  # as a run trained before intervals
    at = goto(at, "anomalies")
    assert any("reconstruction twin" in i.value and "behavioural-quick" in i.value for i in at.info)
    assert any("has no prediction band" in i.value for i in at.info)
    assert not at.dataframe


def test_a_band_covering_far_less_than_its_level_says_episodes_may_mark_a_weak_twin(app: AppTest) -> None:
    at = train(app, "quick")
    evaluation = at.session_state["runs"][0].result.evaluation
    evaluation.models.loc[evaluation.models["key"] == evaluation.best["key"], "coverage_holdout"] = 0.5
    at = goto(at, "anomalies")
    assert any("90 % band covers 50.0 %" in w.value and "where the twin is weak" in w.value for w in at.warning)
