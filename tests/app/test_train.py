"""Train page: a small config trains to completion with progress, Cancel stops between fits, errors are messages."""
from __future__ import annotations

import dataclasses

import pytest
from streamlit.testing.v1 import AppTest

import ui.training
from tests.app.helpers import APP, TIMEOUT_S, goto, metric, train
from twin_core.pipeline import train_twin
from twin_core.presets import get_preset
from twin_core.splits import SplitSpec


def button(at: AppTest, label: str):
    """The button (or form submit button) labelled `label`."""
    return next(b for b in at.button if b.label == label)


def test_quick_preset_trains_to_completion(app: AppTest) -> None:
    at = train(app, "quick", "first look")
    job = at.session_state["train_job"]
    assert job.status == "done" and job.done == job.total == 12  # 3 models × (3 folds + refit)
    assert any("**first look** trained in" in s.value for s in at.success)
    assert float(metric(at, "Best R² (hold-out)")) > float(metric(at, "Identity R²"))
    assert "vs identity" in next(m for m in at.metric if m.label == "Best R² (hold-out)").delta
    test_rows = at.session_state["runs"][0].result.split.counts()["test"]
    assert any(c.value.startswith(f"{test_rows:,} hold-out rows (") for c in at.caption)
    assert any("per-session tail" in c.value for c in at.caption)
    assert [run.label for run in at.session_state["runs"]] == ["first look"]
    assert at.session_state["active_run"] == "first look"
    assert not button(at, "Train").disabled and button(at, "Cancel").disabled
    assert at.selectbox(key="train_source").value == "quick"  # the form keeps what was trained


def test_sidebar_names_the_active_data_and_run(app: AppTest) -> None:
    trained = train(app, "quick", "first look")
    # AppTest (1.67) drops the entry script's sidebar after switch_page; a fresh first run shows it
    at = AppTest.from_file(APP, default_timeout=TIMEOUT_S)
    for name in ("telemetry", "data_label", "runs", "active_run"):
        at.session_state[name] = trained.session_state[name]
    at.run()
    assert at.sidebar.selectbox[0].value == "first look"
    texts = [m.value for m in at.sidebar.markdown] + [c.value for c in at.sidebar.caption]
    assert "Demo telemetry (1,200 rows, seed 0)" in texts
    assert any(t.startswith("**Reconstruction twin** · best **layer ") and "(identity baseline " in t for t in texts)
    assert any("Hold-out: per-session tail" in t for t in texts)


def test_the_form_names_the_kind_of_every_configuration(app: AppTest) -> None:
    at = goto(app, "train")
    assert at.selectbox(key="train_source").options == [
        "Model page: default · reconstruction twin", "Preset: default · reconstruction twin",
        "Preset: seed-v3 · reconstruction twin", "Preset: quick · reconstruction twin",
        "Preset: behavioural · behavioural twin", "Preset: behavioural-quick · behavioural twin"]
    assert any(c.value.startswith("Reconstruction twin: reads cpu_util_overall") for c in at.caption)
    at.session_state["config"] = get_preset("behavioural-quick")
    at.run()
    assert at.selectbox(key="train_source").options[0] == "Model page: behavioural-quick · behavioural twin"
    assert any(c.value.startswith("Behavioural twin: reads the other cores and the workload") for c in at.caption)


def test_cancel_stops_between_fits_and_keeps_nothing(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    at = train(app, "quick")
    seen: list[tuple[int, bool]] = []

    def cancelled_after_two_fits(telemetry, config, *, on_progress, **kwargs):
        """The real training; the Cancel button's callback fires while the second fit is reported."""
        def progress(done: int, total: int, message: str) -> None:
            seen.append((done, ui.training.is_active()))
            if done == 2:
                ui.training.request_cancel()
            on_progress(done, total, message)
        return train_twin(telemetry, config, on_progress=progress, **kwargs)

    monkeypatch.setattr(ui.training, "train_twin", cancelled_after_two_fits)
    at = train(at, "default", "never kept")
    job = at.session_state["train_job"]
    assert seen == [(1, True), (2, True)]
    assert job.status == "cancelled" and job.done == 2 and job.total == 18
    assert any("**never kept** was cancelled after 2 of 18 fits" in w.value for w in at.warning)
    assert [run.label for run in at.session_state["runs"]] == ["quick #1"]
    assert at.session_state["active_run"] == "quick #1"
    assert not button(at, "Train").disabled and button(at, "Cancel").disabled
    goto(at, "results")
    assert "quick #1" in at.caption[0].value


def test_training_error_is_a_message_not_a_traceback(app: AppTest) -> None:
    at = goto(app, "model")
    sessions = tuple(range(6))  # every session held out: nothing left to train on
    config = get_preset("quick")
    at.session_state["config"] = dataclasses.replace(config, split=SplitSpec(kind="whole_sessions",
                                                                             test_sessions=sessions))
    at = train(at, "editor", "impossible")
    assert not at.exception
    assert any("**impossible** failed" in e.value and "at least one session for training" in e.value
               for e in at.error)
    assert at.session_state["runs"] == []


def test_a_bug_in_training_fails_the_job_with_one_line(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    def buggy(telemetry, config, **kwargs):
        raise RuntimeError("no such\ncolumn")

    monkeypatch.setattr(ui.training, "train_twin", buggy)
    at = train(app, "quick", "buggy")
    job = at.session_state["train_job"]
    assert job.status == "failed"  # not "interrupted": the job ended, with a message
    assert job.error.startswith("unexpected RuntimeError: no such column. This is a bug in Digital Twin Studio")
    assert not at.exception and any("**buggy** failed: unexpected RuntimeError" in e.value for e in at.error)
    assert at.session_state["runs"] == []


def test_changing_only_the_top_layer_retrains_only_the_top_layer(app: AppTest) -> None:
    app.session_state["config"] = get_preset("quick")
    at = train(app, "editor", "whole stack")
    first = at.session_state["train_job"]
    assert first.status == "done" and first.total == sum(at.session_state["config"].stack.fits_per_layer())
    config = at.session_state["config"]
    layers = config.stack.layers
    top = dataclasses.replace(layers[-1], models=(dataclasses.replace(layers[-1].models[0], name="new-top"),
                                                  *layers[-1].models[1:]))
    at.session_state["config"] = dataclasses.replace(config, stack=dataclasses.replace(
        config.stack, layers=(*layers[:-1], top)))
    at = train(at, "editor", "new top")
    job = at.session_state["train_job"]
    assert job.status == "done" and job.total == config.stack.fits_per_layer()[-1]
    assert job.message.startswith(f"layer {len(layers)} ·")
    assert any("reused from an earlier run" in note for note in at.session_state["runs"][-1].result.notes)


@pytest.mark.parametrize(("plan", "total", "done", "layer_text"), [
    (None, 0, 0, "Layer 1 of 3: 0 of 9 fits"),     # before training starts: the request (3 models × 3 folds)
    ([9, 6, 3], 18, 10, "Layer 2 of 3: 1 of 6 fits"),  # folds reduced to 2 for short sessions: 3 fits per model
    ([12, 8, 4], 4, 1, "Layer 3 of 3: 1 of 4 fits"),   # layers 1-2 reused from the cache, 3 folds
])
def test_progress_bars_size_each_layer_on_the_fits_the_run_really_does(plan, total, done, layer_text) -> None:
    job = ui.training.TrainingJob(label="x", config=get_preset("default"), telemetry=None, data_label="demo")
    if plan is not None:
        job.adopt_plan(plan)
    job.total, job.done = total, done
    assert ui.training.ProgressPanel(job).layer_progress()[1] == layer_text


def test_with_a_dask_scheduler_set_the_app_trains_on_that_cluster(app: AppTest, monkeypatch: pytest.MonkeyPatch
                                                                   ) -> None:
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None, host="127.0.0.1") as cluster:
        monkeypatch.setenv("TWIN_DASK_SCHEDULER", cluster.scheduler_address)
        at = goto(app, "train")
        assert any(f"Fits run on the Dask cluster at {cluster.scheduler_address}" in c.value for c in at.caption)
        at = train(at, "quick", "on the cluster")
        assert at.session_state["train_job"].status == "done"
        assert [run.label for run in at.session_state["runs"]] == ["on the cluster"]


def test_an_unreachable_dask_scheduler_fails_the_job_with_one_message(app: AppTest,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWIN_DASK_SCHEDULER", "tcp://127.0.0.1:9")
    at = train(app, "quick", "nowhere")
    assert at.session_state["train_job"].status == "failed"
    assert any("Cannot reach the Dask scheduler at tcp://127.0.0.1:9" in e.value for e in at.error)
    assert not at.exception and not at.session_state["runs"]
