"""Run configurations: presets round-trip through JSON, invalid combinations are refused before training."""
from dataclasses import replace

import pytest

from twin_core.config import LayerSpec, ModelSpec, RunConfig, StackConfig
from twin_core.errors import ConfigError
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


BASE = ModelSpec("lgbm", "lightgbm", {}, "quick")


@pytest.mark.parametrize("config, message", [
    (_with_layers(), "at least one layer"),
    (_with_layers(LayerSpec(models=())), "Layer 1 has no models"),
    (_with_layers(LayerSpec(models=(BASE, BASE))), "unique"),
    (_with_layers(LayerSpec(models=(replace(BASE, feature_set=None),))), "needs a feature set"),
    (_with_layers(LayerSpec(models=(replace(BASE, feature_set="nope"),))), "Unknown feature set 'nope'"),
    (_with_layers(LayerSpec(models=(BASE,)), LayerSpec(models=(replace(BASE, name="top"),))), "only first-layer"),
    (_with_layers(LayerSpec(models=(replace(BASE, kind="svm"),))), "unknown model kind 'svm'"),
    (_with_layers(LayerSpec(models=(replace(BASE, params={"depth": 3}),))), "'depth' is not a parameter"),
    (_with_layers(LayerSpec(models=(replace(BASE, params={"n_estimators": 0}),))), "outside 10..5000"),
    (_with_layers(LayerSpec(models=(replace(BASE, params={"n_estimators": "many"}),))), "must be an integer"),
    (_with_layers(LayerSpec(models=(replace(BASE, params={"learning_rate": True}),))), "must be a number"),
    (_with_layers(LayerSpec(models=(ModelSpec("r", "ridgecv", {"alphas": ()}, "quick"),))), "non-empty list"),
    (replace(get_preset("quick"), split=SplitSpec(test_fraction=1.5)), "strictly between 0 and 1"),
    (replace(get_preset("quick"), stack=replace(get_preset("quick").stack, cv=CVSpec(n_splits=1))), "at least 2"),
    (replace(get_preset("quick"), stack=replace(get_preset("quick").stack, refit="never")), "Refit must be"),
    (replace(get_preset("quick"), stack=replace(get_preset("quick").stack, n_jobs=0)), "n_jobs must be a positive"),
    (replace(get_preset("quick"), feature_sets=()), "at least one feature set"),
    (replace(get_preset("default"), feature_sets=get_preset("default").feature_sets[:1] * 2), "unique"),
])
def test_invalid_configs_are_refused_with_a_message(config, message):
    with pytest.raises(ConfigError, match=message):
        config.validate()


@pytest.mark.parametrize("text, message", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"name": "x"}', "not a valid run configuration"),
    ('{"schema_version": 99}', "schema version 99"),
])
def test_bad_config_files_are_refused(text, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig.from_json(text)


def test_unknown_fields_in_a_config_file_are_refused():
    data = get_preset("quick").to_dict()
    data["split"]["colour"] = "blue"
    with pytest.raises(ConfigError, match="unknown field"):
        RunConfig.from_dict(data)


def test_used_feature_sets_are_those_layer_one_reads():
    config = get_preset("seed-v3")
    assert [s.name for s in config.used_feature_sets()] == ["seed-v2.0", "seed-v2.3"]
    config = replace(config, stack=replace(config.stack, layers=(
        LayerSpec(models=(ModelSpec("only", "lightgbm", {}, "seed-v2.3"),)),)))
    assert [s.name for s in config.used_feature_sets()] == ["seed-v2.3"]


def test_fits_per_layer_matches_what_the_stack_runs():
    config = get_preset("seed-v3")
    assert config.stack.fits_per_layer() == [3 * 6, 2 * 6, 1 * 6]
    averaged = replace(config, stack=replace(config.stack, refit="average"))
    assert averaged.stack.fits_per_layer() == [15, 10, 5]


def test_lookback_and_shape_describe_the_stack():
    config = get_preset("seed-v3")
    assert config.lookback == 29 and config.shape() == "3 layers · 6 models"
