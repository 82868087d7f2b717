"""The Sweep page: a small grid run on the demo data with one progress bar, every run kept under the sweep, the
response chart and the ranked table with the winner chosen by out-of-fold R², and a run opened in Results."""
from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from tests.app.helpers import figures, goto
from twin_core.store import RunStore, default_store_path
from twin_core.wording import below_reference_note

SMALL_GRID = {"name": "two sizes", "preset": "quick",
              "params": [{"layer": 1, "model": "lgbm", "param": "n_estimators", "values": [20, 40]}]}


def _run_sweep(app: AppTest) -> AppTest:
    goto(app, "sweep")
    assert any(m.value.startswith("**12 runs**") for m in app.markdown)  # the sample grid, until edited
    app.text_area(key="sweep_grid_text").input(json.dumps(SMALL_GRID))
    next(b for b in app.button if b.label == "Run the sweep").click().run()  # the edit and the click in one rerun
    assert not app.exception, [e.value for e in app.exception]
    assert any(m.value.startswith("**2 runs**") for m in app.markdown)
    return app


def test_a_sweep_run_on_the_page_is_kept_ranked_by_out_of_fold_r2_and_charted(app):
    _run_sweep(app)
    assert [s.value for s in app.success][0].startswith("Sweep **two sizes** finished: 2 of 2 runs")
    store = RunStore(default_store_path())
    (sweep_id,) = store.sweeps()["sweep"]
    kept = store.list(sweep=sweep_id)
    assert len(kept) == 2
    metrics = dict(zip(kept["label"], store.metrics_of(kept["id"].tolist())))
    by_oof = max(metrics, key=lambda label: metrics[label]["best"]["r2_oof"])
    table = app.dataframe[0].value
    assert sorted(table["lgbm.n_estimators"]) == ["20", "40"]
    assert table["rank"].tolist() == ["1 ★", "2"]  # the winner first, marked
    assert table["R² out-of-fold"].is_monotonic_decreasing
    assert not any(column.startswith("L1 ") for column in table)  # each layer's R² only when asked for
    (reference_r2,) = {m["baselines"]["identity"]["r2_holdout"] for m in metrics.values()}  # one split for all
    assert any(f"R² {reference_r2:.3f} on the same hold-out rows in every run" in c.value for c in app.caption)
    winner = metrics[by_oof]["best"]["r2_holdout"]
    card = next(m for m in app.metric if m.label == "Winner's R² hold-out")
    assert card.value == f"{winner:.3f}" and card.proto.delta.endswith(" vs identity")
    below = [w.value for w in app.warning if "below the identity baseline on the hold-out" in w.value]
    assert below == ([f"Every run scores below the identity baseline on the hold-out: {winner:.3f} against "
                      f"{reference_r2:.3f}. The winner is only the best of this grid, not a twin worth using."]
                     if all(m["best"]["r2_holdout"] < reference_r2 for m in metrics.values()) else [])
    app.toggle[0].set_value(True).run()
    assert {"L1 out-of-fold", "L1 hold-out", "L2 out-of-fold", "L2 hold-out"} <= set(app.dataframe[0].value.columns)
    assert f"**Winner:** {by_oof}" in [m.value for m in app.markdown]
    chart = figures(app)["sweep_response"]
    assert [a["text"] for a in chart["layout"]["annotations"]] == ["lgbm.n_estimators"]
    assert {t["name"] for t in chart["data"]} >= {"layer 1 · out-of-fold (picks the winner)",
                                                  "layer 2 · hold-out (for information)"}


def test_a_run_of_a_sweep_opens_in_results_and_beside_the_winner_in_compare(app):
    _run_sweep(app)
    store = RunStore(default_store_path())
    ids = store.list()["id"].tolist()
    next(b for b in app.button if b.label == "Open in Results").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.title[0].value == "Results"
    goto(app, "sweep")
    (sweep_id,) = store.sweeps()["sweep"]
    oof = {run_id: m["best"]["r2_oof"] for run_id, m in zip(ids, store.metrics_of(ids))}
    winner_id = max(oof, key=oof.get)
    (other_id,) = set(ids) - {winner_id}
    picker = app.selectbox(key=f"sweep_run:{sweep_id}")
    assert picker.value == winner_id and picker.options[0].startswith("1. ")  # ranked: the winner first
    picker.select(other_id).run()
    next(b for b in app.button if b.label == "Compare").click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.title[0].value == "Compare"
    assert (app.selectbox(key="saved_a").value, app.selectbox(key="saved_b").value) == (
        f"saved:{winner_id}", f"saved:{other_id}")


def test_a_grid_can_start_from_the_model_pages_configuration(app):
    goto(app, "sweep")
    next(b for b in app.button if b.label == "Start from the Model page").click().run()
    assert not app.exception, [e.value for e in app.exception]
    grid = json.loads(app.text_area(key="sweep_grid_text").value)
    assert grid["config"]["name"] == "default" and "preset" not in grid  # the Model page opens on the default preset
    assert any(m.value.startswith("**12 runs** of `default` · identity-short.core_lags (2) × lgbm-identity."
                                  "n_estimators (3) × layer 3 (2)") for m in app.markdown)


def test_a_winner_below_its_baseline_is_said_and_one_above_is_not():
    rows = [{"r2_holdout": 0.539, "baselines": {"identity": 0.872}},
            {"r2_holdout": 0.9, "baselines": {"identity": 0.872}}]
    assert below_reference_note(rows[:1], rows[0], "identity").startswith(
        "Every run scores below the identity baseline on the hold-out: 0.539 against 0.872.")
    assert below_reference_note(rows, rows[0], "identity").startswith("The winner scores below")
    assert below_reference_note(rows, rows[1], "identity") is None
    assert below_reference_note(rows, None, "identity") is None
