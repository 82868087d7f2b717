"""A behavioural twin end to end: no fitted model of any layer reads a feature of overall, the identity or the
target; its baselines are those of its kind on the same hold-out rows; `train --preset behavioural` says its kind."""
import io
import json
import re
from contextlib import redirect_stdout
from dataclasses import replace

import lightgbm as lgb
import pandas as pd
import pytest

from twin_core.cli import EXIT_OK, main
from twin_core.config import LayerSpec, ModelSpec
from twin_core.demo import make_demo_telemetry, write_demo_parquet
from twin_core.pipeline import train_twin
from twin_core.presets import get_preset
from twin_core.store import RunStore

TARGET = "cpu_util_core_0"
FORBIDDEN = re.compile(rf"cpu_util_overall|aggregate_identity|^{TARGET}(_|$)")


@pytest.fixture(scope="module")
def response_telemetry():
    """Demo telemetry whose core 0 follows a known response to the other cores and the workload."""
    return make_demo_telemetry(rows=1200, cores=8, sessions=4, seed=7, response=True)


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    """`train --preset behavioural --out DIR --store DB` on demo data with a known response: once for every test."""
    tmp = tmp_path_factory.mktemp("behavioural")
    write_demo_parquet(tmp / "data", rows=1200, cores=8, sessions=4, seed=7, response=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TWIN_STORE_KEY", "test-key")
        out = io.StringIO()
        with redirect_stdout(out):
            code = main(["train", str(tmp / "data"), "--preset", "behavioural", "--out", str(tmp / "out"),
                         "--store", str(tmp / "runs.sqlite"), "--quiet"])
        assert code == EXIT_OK
        store = RunStore(tmp / "runs.sqlite")
        (run_id,) = store.list()["id"]
        return {"out": tmp / "out", "stdout": out.getvalue(), "model": store.load_model(run_id),
                "listed": store.list().iloc[0]}


def _inputs(model) -> list[tuple[int, str, list[str]]]:
    """(layer, model, the names of the columns its fitted estimators read) of every fitted model of a twin."""
    features = list(model.feature_columns)
    layers, out = model.stack.layers_, []
    passthrough = [layer.passthrough for layer in model.config.stack.layers]
    for depth, members in enumerate(layers, start=1):
        below = [m.name for m in layers[depth - 2]] if depth > 1 else []
        design = [f"prediction of {name}" for name in below] + (features if depth == 1 or passthrough[depth - 1]
                                                                 else [])
        for member in members:
            names = design if member.columns is None else [design[i] for i in member.columns]
            for estimator in member.estimators:  # what the fitted estimator really saw (a kept LightGBM: a Booster)
                seen = estimator.num_feature() if isinstance(estimator, lgb.Booster) else estimator.n_features_in_
                assert seen == len(names), (depth, member.name)
            out.append((depth, member.name, names))
    return out


def test_no_model_of_the_behavioural_preset_reads_overall_the_identity_or_the_target(cli_run):
    inputs = _inputs(cli_run["model"])  # the twin as the run store gives it back
    first = [names for depth, _, names in inputs if depth == 1]
    assert len(first) == 3 and all(names for names in first)
    assert all(not [n for n in names if FORBIDDEN.search(n)] for _, _, names in inputs)
    assert all(all(n.startswith("prediction of ") for n in names) for depth, _, names in inputs if depth > 1)
    assert first[0][:7] == [f"cpu_util_core_{c}" for c in range(1, 8)]  # the other cores' current values
    assert {"cpu_util_core_7_lag_5", "cpu_util_core_3_roll_mean_10", "workload_cpu_bound"} <= set(first[1])


def test_passthrough_features_of_a_behavioural_twin_read_no_overall_either(response_telemetry):
    quick = get_preset("behavioural-quick")
    top = LayerSpec((ModelSpec("top", "ridgecv", {}),), passthrough=True)
    config = replace(quick, stack=replace(quick.stack, layers=(quick.stack.layers[0], top)))
    inputs = _inputs(train_twin(response_telemetry, config).model)
    (_, _, top_names), = [entry for entry in inputs if entry[0] == 2]
    assert top_names[:2] == ["prediction of lgbm", "prediction of ridge"] and "cpu_util_core_1" in top_names
    assert all(not [n for n in names if FORBIDDEN.search(n)] for _, _, names in inputs)


def test_train_preset_behavioural_writes_its_kind_says_it_and_keeps_it(cli_run):
    metrics = json.loads((cli_run["out"] / "metrics.json").read_text())
    assert metrics["kind"] == "behavioural" and metrics["kind_sentence"].startswith("Behavioural twin: ")
    assert json.loads((cli_run["out"] / "config.json").read_text())["kind"] == "behavioural"
    header, sentence = cli_run["stdout"].splitlines()[:2]
    assert header.startswith("Run 'behavioural'") and sentence == metrics["kind_sentence"]
    assert cli_run["listed"]["kind"] == "behavioural" and cli_run["listed"]["identity_r2_holdout"] is None


def test_behavioural_baselines_have_no_identity_and_score_the_same_hold_out_rows(cli_run):
    metrics = json.loads((cli_run["out"] / "metrics.json").read_text())
    assert list(metrics["baselines"]) == ["mean", "persistence", "linear_others"]
    assert metrics["baselines"]["linear_others"]["label"] == "linear model on the other cores, fit on training rows"
    assert metrics["layer_gain"][0]["compared_with"] == "linear baseline"
    predictions = pd.read_parquet(cli_run["out"] / "predictions.parquet")
    assert len(predictions) == metrics["rows"]["test"] and "identity" not in predictions
    assert predictions[["mean", "linear_others"]].notna().all().all()  # on every hold-out row
    # the known response is linear in the other cores' mean: the linear baseline catches much of it
    assert metrics["baselines"]["linear_others"]["r2_holdout"] > 0.3
