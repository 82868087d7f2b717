"""Run configurations: presets round-trip through JSON, invalid combinations are refused before training."""
import json
import math
from dataclasses import replace

import numpy as np
import pytest

from twin_core.config import LayerSpec, ModelSpec, RunConfig, StackConfig
from twin_core.demo import make_demo_telemetry
from twin_core.errors import ConfigError
from twin_core.pipeline import prepare_run
from twin_core.presets import PRESETS, SEED_LGBM_PARAMS, get_preset
from twin_core.splits import CVSpec, SplitSpec


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_round_trip_through_json(name):
    config = get_preset(name)
    config.validate()
    assert RunConfig.from_json(config.to_json()) == config


def test_seed_v3_is_the_notebooks_composition():
    config = get_preset("seed-v3")
    layers = config.stack.layers
    assert [[m.kind for m in layer.models] for layer in layers] == [
        ["lightgbm"] * 3, ["ridgecv", "lightgbm"], ["lightgbm"]]
    assert [m.feature_set for m in layers[0].models] == ["seed-v2.0", "seed-v2.0", "seed-v2.3"]
    assert layers[2].models[0].params == SEED_LGBM_PARAMS["v2.3"]
    assert not config.leaky
    compat = config.as_seed_compatible()
    assert compat.leaky and compat.split == SplitSpec(kind="random", test_fraction=0.2, seed=42)
    assert compat.stack.cv == CVSpec(kind="kfold", n_splits=5, seed=42)


def _with_layers(*layers: LayerSpec) -> RunConfig:
    return replace(get_preset("quick"), stack=StackConfig(layers=layers))


def _quick(**changes) -> RunConfig:
    return replace(get_preset("quick"), **changes)


def _stack(**changes) -> RunConfig:
    return _quick(stack=replace(get_preset("quick").stack, **changes))


BASE = ModelSpec("lgbm", "lightgbm", {}, "quick")
PATH = r"stack\.layers\[0\]\.models\[0\]"


@pytest.mark.parametrize("config, error, message", [
    (_with_layers(), ConfigError, r"^stack\.layers: the stack needs at least one layer$"),
    (_with_layers(LayerSpec(models=())), ConfigError, r"^stack\.layers\[0\]\.models: layer 1 has no models"),
    (_with_layers(LayerSpec(models=(BASE, BASE))), ConfigError,
     r"^stack\.layers\[0\]\.models\[1\]\.name: model names must be non-empty and unique.*'lgbm' is used twice"),
    (_with_layers(LayerSpec(models=(replace(BASE, name=" "),))), ConfigError, rf"^{PATH}\.name: model names must be"),
    (_with_layers(LayerSpec(models=(replace(BASE, feature_set=None),))), ConfigError,
     rf"^{PATH}\.feature_set: a first-layer model needs a feature set"),
    (_with_layers(LayerSpec(models=(replace(BASE, feature_set="nope"),))), ConfigError,
     rf"^{PATH}\.feature_set: unknown feature set 'nope'; defined: quick$"),
    (_with_layers(LayerSpec(models=(BASE,)), LayerSpec(models=(replace(BASE, name="top"),))), ConfigError,
     r"^stack\.layers\[1\]\.models\[0\]\.feature_set: only first-layer models read a feature set"),
    (_with_layers(LayerSpec(models=(BASE,)), LayerSpec(models=(ModelSpec("p", "pretrained", {"file": "m.joblib"}),))),
     ConfigError, r"^stack\.layers\[1\]\.models\[0\]\.kind: pre-trained models can only sit in the first layer"),
    (_with_layers(LayerSpec(models=(replace(BASE, kind="svm"),))), ConfigError,
     rf"^{PATH}\.kind: unknown model kind 'svm'; use one of lightgbm, .*pretrained$"),
    (_with_layers(LayerSpec(models=(replace(BASE, params={"depth": 3}),))), ConfigError,
     rf"^{PATH}\.params\.depth: is not a parameter of lightgbm; allowed: n_estimators, learning_rate"),
    (_with_layers(LayerSpec(models=(replace(BASE, params={"n_estimators": 0}),))), ConfigError,
     rf"^{PATH}\.params\.n_estimators: must be a whole number from 10 to 5000, got 0$"),
    (_with_layers(LayerSpec(models=(replace(BASE, params={"n_estimators": "many"}),))), ConfigError,
     r"n_estimators: must be a whole number from 10 to 5000, got 'many' \(text\)$"),
    (_with_layers(LayerSpec(models=(replace(BASE, params={"n_estimators": 200.0}),))), ConfigError,
     r"n_estimators: must be a whole number from 10 to 5000, got 200\.0$"),
    (_with_layers(LayerSpec(models=(replace(BASE, params={"learning_rate": True}),))), ConfigError,
     r"learning_rate: must be a finite number from 0\.001 to 1, got true$"),
    (_with_layers(LayerSpec(models=(replace(BASE, params={"learning_rate": math.nan}),))), ValueError,
     rf"^{PATH}\.params\.learning_rate: must be a finite number from 0\.001 to 1, got NaN$"),
    (_with_layers(LayerSpec(models=(ModelSpec("r", "ridgecv", {"alphas": ()}, "quick"),))), ConfigError,
     rf"^{PATH}\.params\.alphas: must hold at least 1 entry, got a list of 0 entries$"),
    (_with_layers(LayerSpec(models=(ModelSpec("r", "ridgecv", {"alphas": (1.0, math.inf)}, "quick"),))),
     ConfigError, rf"^{PATH}\.params\.alphas\[1\]: must be a finite number .*, got Infinity$"),
    (_with_layers(LayerSpec(models=(ModelSpec("p", "pretrained", {}, "quick"),))), ConfigError,
     rf"^{PATH}\.params\.file: is required but missing$"),
    (_quick(split=SplitSpec(test_fraction=1.5)), ConfigError,
     r"^split\.test_fraction: must be a number strictly between 0 and 1, got 1\.5$"),
    (_quick(split=SplitSpec(test_fraction="0.2")), ConfigError,
     r"^split\.test_fraction: must be a number strictly between 0 and 1, got '0\.2' \(text\)$"),
    (_quick(split=SplitSpec(gap=2.5)), ConfigError, r"^split\.gap: a purge gap cannot be negative.*got 2\.5$"),
    (_quick(split=SplitSpec(test_sessions=(-1,))), ConfigError, r"^split\.test_sessions\[0\]: session ids are"),
    (_stack(cv=CVSpec(n_splits=1)), ConfigError, r"^stack\.cv\.n_splits: cross-validation needs at least 2 folds"),
    (_stack(cv=CVSpec(n_splits=5000)), ConfigError, r"^stack\.cv\.n_splits: .* at most 100 .*, got 5000$"),
    (_stack(cv=CVSpec(n_splits=True)), ConfigError, r"^stack\.cv\.n_splits: .*, got true$"),
    (_stack(refit="never"), ConfigError, r"^stack\.refit: refit must be 'full' or 'average', got 'never' \(text\)$"),
    (_stack(n_jobs=0), ConfigError, r"^stack\.n_jobs: n_jobs must be a whole number of parallel fits from 1 to 256"),
    (_stack(n_jobs=1.5), ConfigError, r"^stack\.n_jobs: .*, got 1\.5$"),
    (_quick(feature_sets=()), ConfigError, r"^feature_sets: define at least one feature set$"),
    (_quick(feature_sets=(replace(get_preset("quick").feature_sets[0], overall_windows=(2.5,)),)), ConfigError,
     r"^feature_sets\[0\]\.overall_windows\[0\]: rolling windows must be at least 2 rows .*, got 2\.5$"),
    (_quick(feature_sets=(replace(get_preset("quick").feature_sets[0], overall_lags=10**9),)), ConfigError,
     r"^feature_sets\[0\]\.overall_lags: a lag depth is a whole number of rows from 0 \(none\) to 1,000, "
     r"got 1000000000$"),
    (replace(get_preset("default"), feature_sets=get_preset("default").feature_sets[:1] * 2), ConfigError,
     r"^feature_sets\[1\]\.name: feature set names must be unique; 'identity-short' is used twice$"),
    (_quick(name=None), ConfigError, r"^name: must be non-empty text of at most 200 characters, got null$"),
    (_quick(seed="7"), ConfigError, r"^seed: must be a whole number from 0 to 4,294,967,295, got '7' \(text\)$"),
    (_quick(seed=2**32), ConfigError, r"^seed: must be a whole number from 0 to 4,294,967,295, got 4294967296$"),
    (_quick(seed_compatible=1), ConfigError, r"^seed_compatible: must be true or false, got 1$"),
    (_quick(target=""), ConfigError, r"^target: must be the name of a core column"),
    (_quick(feature_sets="quick"), ConfigError, r"^feature_sets: must be a list, got 'quick' \(text\)$"),
    (_quick(stack=None), ConfigError, r"^stack: must be an object \(\{\.\.\.\}\), got null$"),
    (_quick(split={"kind": "random"}), ConfigError, r"^split: must be a SplitSpec, got an object with 1 field\(s\)$"),
    (_with_layers(LayerSpec(models=({"name": "r", "kind": "ridgecv", "feature_set": "quick"},))), ConfigError,
     r"^stack\.layers\[0\]\.models\[0\]: must be a ModelSpec, got an object with 3 field\(s\)$"),
    (_stack(cv=CVSpec(n_splits=np.int64(5))), ConfigError, r"^stack\.cv\.n_splits: .*, got 5 \(int64\)$"),
])
def test_invalid_configs_are_refused_with_the_field_path(config, error, message):
    with pytest.raises(error, match=message):
        config.validate()


def _set(document: dict, path: tuple, value) -> dict:
    """`document` with the field at `path` (keys and list positions) set to `value`, or removed if value is DROP."""
    node = document
    for part in path[:-1]:
        node = node[part]
    if value is DROP:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return document


DROP = object()
LAYER1 = ("stack", "layers", 0, "models", 0)


@pytest.mark.parametrize("path, value, message", [
    (("split", "test_fraction"), "0.2", r"^split\.test_fraction: must be a number strictly between 0 and 1, got "
                                        r"'0\.2' \(text\)$"),
    (("split", "test_fraction"), math.nan, r"^split\.test_fraction: .*, got NaN$"),
    (("seed",), "42", r"^seed: must be a whole number from 0 to 4,294,967,295, got '42' \(text\)$"),
    (("seed",), True, r"^seed: .*, got true$"),
    (("seed",), -1, r"^seed: .*, got -1$"),
    (("feature_sets", 0, "overall_windows"), [2.5], r"^feature_sets\[0\]\.overall_windows\[0\]: rolling windows "
                                                    r"must be at least 2 rows and at most 100,000 \(whole numbers\), "
                                                    r"got 2\.5$"),
    (("feature_sets", 0, "overall_windows"), [1], r"^feature_sets\[0\]\.overall_windows\[0\]: .*, got 1$"),
    (("feature_sets", 0, "overall_windows"), [200_000], r"overall_windows\[0\]: .*, got 200000$"),
    (("feature_sets", 0, "overall_windows"), "10", r"^feature_sets\[0\]\.overall_windows: must be a list, got "
                                                   r"'10' \(text\)$"),
    (("feature_sets", 0, "overall_windows"), [5, 5], r"^feature_sets\[0\]\.overall_windows: 5 is listed twice"),
    (("feature_sets", 0, "overall_lags"), 1_000_000_000, r"^feature_sets\[0\]\.overall_lags: a lag depth is a whole "
                                                         r"number of rows from 0 \(none\) to 1,000, got 1000000000$"),
    (("feature_sets", 0, "core_lags"), -1, r"^feature_sets\[0\]\.core_lags: a lag depth is a whole number of rows"),
    (("feature_sets", 0, "min_history"), 10**6, r"^feature_sets\[0\]\.min_history: minimum history .*, got 1000000$"),
    (("feature_sets", 0, "window_stats"), ["median"], r"^feature_sets\[0\]\.window_stats\[0\]: unknown window "
                                                      r"statistic; use one of mean, std, min, max, got 'median'"),
    (("feature_sets", 0, "identity"), 1, r"^feature_sets\[0\]\.identity: must be true or false, got 1$"),
    (("feature_sets", 0, "name"), "", r"^feature_sets\[0\]\.name: a feature set needs a name"),
    (("feature_sets", 0), "quick", r"^feature_sets\[0\]: must be an object \(\{\.\.\.\}\), got 'quick' \(text\)$"),
    (("feature_sets", 0, "colour"), "blue", r"^feature_sets\[0\]\.colour: is an unknown field; remove it"),
    (("feature_sets",), [], r"^feature_sets: define at least one feature set$"),
    (("stack", "cv", "n_splits"), 5.0, r"^stack\.cv\.n_splits: cross-validation needs at least 2 folds and at most "
                                       r"100 \(a whole number\), got 5\.0$"),
    (("stack", "cv", "n_splits"), 5000, r"^stack\.cv\.n_splits: .*, got 5000$"),
    (("stack", "cv", "kind"), "loo", r"^stack\.cv\.kind: Unknown CV kind; use one of blocked, .*kfold, got 'loo'"),
    (("stack", "cv", "gap"), -3, r"^stack\.cv\.gap: a purge gap cannot be negative"),
    (("stack", "n_jobs"), "2", r"^stack\.n_jobs: n_jobs must be a whole number .*, got '2' \(text\)$"),
    (("stack", "refit"), None, r"^stack\.refit: refit must be 'full' or 'average', got null$"),
    (("stack", "layers"), [], r"^stack\.layers: the stack needs at least one layer$"),
    (("stack", "layers"), {"a": 1}, r"^stack\.layers: must be a list, got an object with 1 field\(s\)$"),
    (("stack", "layers", 0, "passthrough"), "no", r"^stack\.layers\[0\]\.passthrough: must be true or false"),
    ((*LAYER1, "params", "learning_rate"), math.nan,
     r"^stack\.layers\[0\]\.models\[0\]\.params\.learning_rate: must be a finite number from 0\.001 to 1, got NaN$"),
    ((*LAYER1, "params", "learning_rate"), "0.1", r"params\.learning_rate: .*, got '0\.1' \(text\)$"),
    ((*LAYER1, "params"), [1], r"^stack\.layers\[0\]\.models\[0\]\.params: .*, got a list of 1 entries$"),
    ((*LAYER1, "name"), None, r"^stack\.layers\[0\]\.models\[0\]\.name: model names must be non-empty"),
    ((*LAYER1, "kind"), 3, r"^stack\.layers\[0\]\.models\[0\]\.kind: must be a model kind: one of lightgbm"),
    ((*LAYER1, "trees"), 3, r"^stack\.layers\[0\]\.models\[0\]\.trees: is an unknown field"),
    (("split", "kind"), "sideways", r"^split\.kind: Unknown hold-out kind; use one of session_tail, whole_sessions, "
                                    r"random, got 'sideways' \(text\)$"),
    (("split", "gap"), 10**6, r"^split\.gap: a purge gap cannot be negative: .* to 100,000, or null"),
    (("split", "test_sessions"), [], r"^split\.test_sessions: must hold at least 1 entry"),
    (("split", "test_sessions"), ["a"], r"^split\.test_sessions\[0\]: session ids are whole numbers from 0"),
    (("split", "colour"), "blue", r"^split\.colour: is an unknown field; remove it or correct its spelling$"),
    (("stack", "max_fit_rows"), 10, r"^stack\.max_fit_rows: max_fit_rows must be a whole number of rows from 1,000 to "
                                    r"100,000,000, or null for every row"),
    (("name",), None, r"^name: must be non-empty text of at most 200 characters, got null$"),
    (("name",), DROP, r"^name: is required but missing$"),
    (("name",), "x" * 201, r"^name: must be non-empty text of at most 200 characters, got 'x{40}'… \(text\)$"),
    (("description",), 12, r"^description: must be text of at most 10,000 characters, got 12$"),
    (("seed_compatible",), "yes", r"^seed_compatible: must be true or false, got 'yes' \(text\)$"),
    (("colour",), "blue", r"^colour: is an unknown field"),
    (("schema_version",), 99, r"^schema_version: schema version 99 is not supported"),
    (("schema_version",), "1", r"^schema_version: schema version '1' \(text\) is not supported"),
])
def test_config_documents_are_refused_with_the_field_path(path, value, message):
    document = _set(json.loads(get_preset("quick").to_json()), path, value)
    with pytest.raises(ConfigError, match=message):
        RunConfig.from_dict(document)


def test_every_problem_is_counted_after_the_first():
    document = json.loads(get_preset("quick").to_json())
    document["seed"], document["split"]["test_fraction"], document["stack"]["cv"]["n_splits"] = "1", 2, 0.5
    with pytest.raises(ConfigError, match=r"^stack\.cv\.n_splits: .*, got 0\.5 \(and 2 more problems\)$"):
        RunConfig.from_dict(document)


def _nested_lists(depth: int) -> list:
    root = node = []
    for _ in range(depth):
        node.append([])
        node = node[0]
    return root


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    (b"\xff\xfe{}", "not valid JSON"),
    ('{"seed": ' + "9" * 5000 + "}", "not valid JSON"),
    ("[1, 2]", r"must be a JSON object \(\{\.\.\.\}\), got a list of 2 entries"),
    ("null", "must be a JSON object"),
    ('{"name": "x"}', r"^feature_sets: is required but missing \(and 1 more problem\)$"),
    ('{"schema_version": 99}', "schema version 99"),
    ('{"name": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested"),
    ('{"name": "' + "x" * 1_100_000 + '"}', r"larger than 1,000,000 bytes; a run configuration is a few kB"),
])
def test_bad_config_files_are_refused(text, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig.from_json(text)


def test_deeply_nested_documents_are_refused_without_recursing():
    document = {**get_preset("quick").to_dict(), "description": _nested_lists(100_000)}
    with pytest.raises(ConfigError, match=r"^description(\[0\])+: nested more than 32 levels deep"):
        RunConfig.from_dict(document)


def test_non_finite_json_literals_are_refused():
    text = get_preset("quick").to_json().replace('"learning_rate": 0.1', '"learning_rate": NaN')
    with pytest.raises(ConfigError, match=r"params\.learning_rate: must be a finite number .*, got NaN$"):
        RunConfig.from_json(text)


def test_config_error_is_a_value_error_with_its_path():
    with pytest.raises(ValueError) as caught:
        replace(get_preset("quick"), split=SplitSpec(test_fraction="0.2")).validate()
    assert isinstance(caught.value, ConfigError)
    assert caught.value.path == "split.test_fraction"
    assert caught.value.problem.startswith("must be a number strictly between 0 and 1")


def test_used_feature_sets_are_those_layer_one_reads():
    config = get_preset("seed-v3")
    assert [s.name for s in config.used_feature_sets()] == ["seed-v2.0", "seed-v2.3"]
    config = replace(config, stack=replace(config.stack, layers=(
        LayerSpec(models=(ModelSpec("only", "lightgbm", {}, "seed-v2.3"),)),)))
    assert [s.name for s in config.used_feature_sets()] == ["seed-v2.3"]


@pytest.mark.parametrize("refit, expected", [("full", [8, 8, 4]), ("average", [6, 6, 3])])
def test_fits_per_layer_matches_what_the_stack_runs(refit, expected):
    # a real fit of a small three-layer stack (2, 2, 1 models; 3 folds): its progress calls, counted per layer
    quick = get_preset("quick")
    middle = LayerSpec(models=(ModelSpec("mid-a", "ridgecv"), ModelSpec("mid-b", "ridgecv")))
    layers = (quick.stack.layers[0], middle, quick.stack.layers[1])
    config = replace(quick, stack=replace(quick.stack, layers=layers, refit=refit, n_jobs=1))
    run = prepare_run(make_demo_telemetry(rows=600, cores=4, sessions=2, seed=3), config)
    assert run.config.stack.cv.n_splits == 3  # nothing adapted: the config's count is the one to check
    messages = []
    run.fit(on_progress=lambda done, total, message: messages.append(message))
    counted = [sum(m.startswith(f"layer {depth} · ") for m in messages) for depth in (1, 2, 3)]
    assert counted == config.stack.fits_per_layer() == expected
    assert sum(counted) == len(messages)


def test_lookback_and_shape_describe_the_stack():
    config = get_preset("seed-v3")
    assert config.lookback == 29 and config.shape() == "3 layers · 6 models"


def _behavioural(**changes) -> RunConfig:
    """The behavioural-quick preset with its one feature set changed."""
    config = get_preset("behavioural-quick")
    return replace(config, feature_sets=(replace(config.feature_sets[0], **changes),))


@pytest.mark.parametrize("changes, message", [
    ({"current_overall": True}, r"^feature_sets\[0\]\.current_overall: a behavioural twin reads no feature of "
                                r"cpu_util_overall \(got true\); set it to false, or make the twin kind "
                                r"'reconstruction'$"),
    ({"overall_windows": (5, 10)}, r"^feature_sets\[0\]\.overall_windows: a behavioural twin reads no feature of "
                                   r"cpu_util_overall \(got \[5, 10\]\); set it to \[\]"),
    ({"overall_lags": 5}, r"^feature_sets\[0\]\.overall_lags: a behavioural twin reads no feature of "
                          r"cpu_util_overall \(got 5\); set it to 0"),
    ({"identity": True}, r"^feature_sets\[0\]\.identity: a behavioural twin does not read the identity N·overall "
                         r"− Σ other cores \(got true\); set it to false"),
])
def test_a_behavioural_twin_reading_overall_or_the_identity_is_refused_naming_the_feature(changes, message):
    with pytest.raises(ConfigError, match=message):
        _behavioural(**changes).validate()
    with pytest.raises(ConfigError, match=message):  # as a JSON document too
        RunConfig.from_json(_behavioural(**changes).to_json())
    replace(_behavioural(**changes), kind="reconstruction").validate()  # the same features suit a reconstruction


def test_a_behavioural_twin_may_define_but_not_use_a_feature_set_reading_overall():
    config = get_preset("behavioural-quick")
    unused = replace(get_preset("quick").feature_sets[0], name="with-overall")
    replace(config, feature_sets=(*config.feature_sets, unused)).validate()
    used = replace(config, feature_sets=(unused, *config.feature_sets),
                   stack=replace(config.stack, layers=(LayerSpec((ModelSpec("r", "ridgecv", {}, "with-overall"),)),)))
    with pytest.raises(ConfigError, match=r"^feature_sets\[0\]\.current_overall: a behavioural twin"):
        used.validate()


def test_the_current_sample_of_overall_alone_counts_only_when_current_values_are_on():
    _behavioural(current_values=False, current_overall=True).validate()


def test_a_config_without_a_kind_loads_as_reconstruction_and_an_unknown_kind_is_refused():
    document = get_preset("quick").to_dict()
    del document["kind"]
    assert RunConfig.from_dict(document).kind == "reconstruction"
    document["kind"] = "hybrid"
    with pytest.raises(ConfigError, match=r"^kind: must be a twin kind: 'reconstruction' .* or 'behavioural' "
                                          r".*, got 'hybrid' \(text\)$"):
        RunConfig.from_dict(document)


@pytest.mark.parametrize("name, kind", [("default", "reconstruction"), ("quick", "reconstruction"),
                                        ("seed-v3", "reconstruction"), ("behavioural", "behavioural"),
                                        ("behavioural-quick", "behavioural")])
def test_every_preset_says_its_kind(name, kind):
    assert get_preset(name).kind == kind
