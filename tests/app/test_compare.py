"""Compare page: the overlaid traces follow the chosen pair, a leaky run is kept apart and never drawn as an
improvement, the settings that differ are named in words. Runs are trained once in twin_core and put in the
session, so no test goes through the Train page."""
from __future__ import annotations

import os
from dataclasses import replace

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from tests.app.helpers import figures, goto, trace, values
from twin_core.compare import change_noise, metric_deltas_from_metrics
from twin_core.config import ModelSpec
from twin_core.demo import make_demo_telemetry
from twin_core.pipeline import train_twin
from twin_core.presets import get_preset
from twin_core.runs import FinishedRun
from twin_core.store import RunStore
from twin_core.verdicts import signed_text
from ui.state import Run

HONEST_A, HONEST_B, LEAKY = "quick #1", "quick-wide #2", "leaky #3"


@pytest.fixture(scope="module")
def results() -> dict[str, FinishedRun]:
    """Three quick runs on one small demo: the preset, one with a third base model, one on random hold-out rows."""
    telemetry = make_demo_telemetry(rows=1200, cores=4, sessions=3, seed=5)
    quick = get_preset("quick")
    first = quick.stack.layers[0]
    wide = replace(first, models=first.models + (ModelSpec("ridge-2", "ridgecv", {}, "quick"),))
    configs = {HONEST_A: quick,
               HONEST_B: replace(quick, name="quick-wide",
                                 stack=replace(quick.stack, layers=(wide, *quick.stack.layers[1:]))),
               LEAKY: replace(quick, name="leaky", split=replace(quick.split, kind="random"))}
    return {label: train_twin(telemetry, config) for label, config in configs.items()}


@pytest.fixture
def compare(app: AppTest, results: dict[str, FinishedRun]) -> AppTest:
    """The Compare page with the three runs of this session (pair preselected: the last two)."""
    app.session_state["runs"] = [Run(label, result, "demo") for label, result in results.items()]
    return goto(app, "compare")


def choose(at: AppTest, a: str, b: str) -> AppTest:
    """Pick run A and run B on the session tab."""
    at.selectbox(key="compare_a").select(a).run()
    at.selectbox(key="compare_b").select(b).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def overlaid(at: AppTest) -> list[str]:
    """The runs whose predictions the traces chart draws, by the legend's label."""
    return [t["name"].split(":")[0] for t in figures(at)["compare_traces"]["data"][1:]]


def test_the_traces_follow_a_newly_chosen_pair(compare: AppTest, results: dict[str, FinishedRun]) -> None:
    assert overlaid(compare) == [HONEST_B, f"{LEAKY} (leaky split)"]
    at = choose(compare, HONEST_A, HONEST_B)
    assert overlaid(at) == [HONEST_A, HONEST_B]
    best = results[HONEST_A].metrics["best"]
    assert [t["name"] for t in figures(at)["compare_traces"]["data"]][:2] == [
        "actual", f"{HONEST_A}: layer {best['layer']} · {best['name']}"]
    at = choose(at, LEAKY, HONEST_A)
    assert overlaid(at) == [f"{LEAKY} (leaky split)", HONEST_A]


def test_a_leaky_run_is_kept_apart_and_never_drawn_as_an_improvement(compare: AppTest,
                                                                      results: dict[str, FinishedRun]) -> None:
    at = compare  # the preselected pair holds the leaky run
    honest = at.dataframe[0].value
    assert honest["label"].tolist() == [HONEST_A, HONEST_B]
    assert honest["best_model"].tolist() == [f"layer {results[label].metrics['best']['layer']} · "
                                             f"{results[label].metrics['best']['name']}" for label in (HONEST_A, HONEST_B)]
    leaky = at.table[0].value  # a static table, so the causes wrap instead of scrolling
    assert leaky.index.tolist() == [LEAKY] and leaky["why it is leaky"].tolist() == ["random hold-out rows"]
    assert any(m.value == "**Not comparable: leaky split**" for m in at.markdown)
    assert any(w.value.startswith(f"Not comparable: **{LEAKY}** (random hold-out rows) was scored on a leaky split")
               for w in at.warning)
    assert "metric_deltas" not in figures(at)
    each = at.table[1].value
    assert each["split"].tolist() == ["honest", "leaky"]
    assert each["baseline"].tolist() == ["identity", "identity"]


def test_an_honest_pair_is_drawn_as_change_coloured_only_beyond_the_noise(compare: AppTest,
                                                                          results: dict[str, FinishedRun]) -> None:
    at = choose(compare, HONEST_A, HONEST_B)
    assert not any("leaky split" in w.value for w in at.warning)
    chart = figures(at)["metric_deltas"]
    assert chart["layout"]["title"]["text"] == f"Reconstruction twin · Hold-out R²: {HONEST_A} → {HONEST_B}"
    assert "noise: 95 % block-bootstrap interval on the " in chart["layout"]["title"]["subtitle"]["text"]
    bars = trace(chart, f"{HONEST_B} − {HONEST_A}")
    a, b = results[HONEST_A], results[HONEST_B]
    deltas, _ = change_noise(metric_deltas_from_metrics(a.metrics, b.metrics), a.metrics, a.evaluation.predictions,
                             b.metrics, b.evaluation.predictions, seed=a.config.seed)
    deltas = deltas.iloc[::-1]
    assert list(bars["y"]) == deltas["name"].tolist()
    assert "layer 2 · top-ridge" in bars["y"] and "identity baseline" in bars["y"]
    change = values(bars["x"]).astype(float)
    np.testing.assert_allclose(change, deltas["delta_r2_holdout"].to_numpy())
    colours = dict(zip(bars["y"], bars["marker"]["color"]))
    texts = {a["y"]: a["text"] for a in chart["layout"]["annotations"] if a.get("yref") == "y"}
    for name, what, delta, low, high in deltas[["name", "what", "delta_r2_holdout", "ci_low", "ci_high"]].to_numpy():
        beyond = (delta > 0 and low > 0) or (delta < 0 and high < 0)
        expected = "#9e9e9e" if what == "baseline" or not beyond else "#2ca02c" if delta > 0 else "#d62728"
        assert colours[name] == expected, name
        noise = "" if what == "baseline" else ", beyond noise" if beyond else ", within noise"  # baselines: references
        assert texts[name].endswith(f"{signed_text(delta)}{noise})"), name
    assert colours["layer 2 · top-ridge"] == "#9e9e9e"  # a third base model moves the top layer within the noise


def test_the_settings_that_differ_are_named_in_words(compare: AppTest) -> None:
    at = choose(compare, HONEST_A, HONEST_B)
    diff = at.table[-1].value  # after the leaky runs' table
    assert diff.index.tolist() == ["Run name", "Layer 1 · model 3 · name", "Layer 1 · model 3 · estimator",
                                   "Layer 1 · model 3 · feature set read"]
    assert diff.to_dict("list") == {HONEST_A: ["quick", "(absent)", "(absent)", "(absent)"],
                                    HONEST_B: ["quick-wide", "ridge-2", "Ridge (CV over alpha)", "quick"]}


def test_saved_leaky_runs_are_listed_apart_and_a_pair_with_one_draws_no_change(app: AppTest,
                                                                               results: dict[str, FinishedRun]) -> None:
    store = RunStore(os.environ["TWIN_STORE"], create=True)
    for label, result in results.items():
        store.save(result, label)
    at = goto(app, "compare")
    at.toggle(key="saved_only_current").set_value(False).run()  # the runs were trained on data of their own
    # newest first: Run A is the second newest (HONEST_B), Run B the newest (LEAKY)
    honest, leaky = at.dataframe[0].value, at.dataframe[1].value
    assert honest["label"].tolist() == [HONEST_B, HONEST_A] and leaky["label"].tolist() == [LEAKY]
    assert honest["best_model"].tolist() == [f"layer {results[label].metrics['best']['layer']} · "
                                             f"{results[label].metrics['best']['name']}" for label in (HONEST_B, HONEST_A)]
    assert any(w.value.startswith(f"Not comparable: **B · {LEAKY}** (random hold-out rows)") for w in at.warning)
    assert "saved_metric_deltas" not in figures(at)
    saved = {label: results[label].metrics for label in (HONEST_B, HONEST_A)}
    assert honest["reference_r2"].tolist() == [f"{m['baselines']['identity']['r2_holdout']:.3f}" for m in saved.values()]
    assert honest["train_seconds"].tolist() == [m["seconds"]["total"] for m in saved.values()]  # as Results says
    picker = at.selectbox(key="saved_b")
    assert picker.options[0].startswith(f"{LEAKY} · ") and len(picker.options[0]) == len(f"{LEAKY} · 29 Nov 10:13")
