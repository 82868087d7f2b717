"""Changing the top layer retrains only the top layer; anything below it changing retrains from there."""
from dataclasses import replace

import numpy as np
import pytest

from twin_core.config import LayerSpec, ModelSpec
from twin_core.layercache import LayerCache, layer_keys
from twin_core.pipeline import train_twin
from twin_core.presets import get_preset
from twin_core.splits import SplitSpec
from twin_core.stack import FittedMember


def _count_fits(telemetry, config, cache):
    fits = []
    result = train_twin(telemetry, config, cache=cache, on_progress=lambda done, total, msg: fits.append(msg))
    return result, fits


def test_changing_the_top_layer_retrains_and_predicts_only_that_layer(demo_telemetry, monkeypatch):
    cache = LayerCache()
    base = get_preset("quick")
    first, fits = _count_fits(demo_telemetry, base, cache)
    assert len(fits) == sum(base.stack.fits_per_layer())
    new_top = replace(base, stack=replace(base.stack, layers=(
        base.stack.layers[0], LayerSpec(models=(ModelSpec("top-lgbm", "lightgbm", {"n_estimators": 30}),)))))
    predicted = []  # which members predict during the second run: the reused layer's hold-out is kept, not redone
    original = FittedMember.predict_with
    monkeypatch.setattr(FittedMember, "predict_with", lambda self, design, k: predicted.append(self.name) or original(
        self, design, k))
    second, fits = _count_fits(demo_telemetry, new_top, cache)
    assert predicted == ["top-lgbm"]
    assert fits and all(msg.startswith("layer 2") for msg in fits)
    assert len(fits) == new_top.stack.fits_per_layer()[1]
    assert any("reused" in note for note in second.notes)
    # the reused layer is the same fit: identical layer-1 predictions on the hold-out
    np.testing.assert_array_equal(second.evaluation.predictions["L1:lgbm"], first.evaluation.predictions["L1:lgbm"])
    # and the result equals training from scratch
    scratch = train_twin(demo_telemetry, new_top)
    np.testing.assert_allclose(second.evaluation.predictions["L2:top-lgbm"],
                               scratch.evaluation.predictions["L2:top-lgbm"])


@pytest.mark.parametrize("change", [
    lambda c: replace(c, split=SplitSpec(test_fraction=0.25)),
    lambda c: replace(c, seed=1),
    lambda c: replace(c, feature_sets=(replace(c.feature_sets[0], core_lags=2),)),
    lambda c: replace(c, stack=replace(c.stack, layers=(
        LayerSpec(models=c.stack.layers[0].models[:1]), c.stack.layers[1]))),
])
def test_any_change_below_invalidates_the_layer_and_every_layer_above(change):
    base = get_preset("quick")
    changed, before = layer_keys(change(base), "data"), layer_keys(base, "data")
    assert len(changed) == len(before) == 2
    assert changed[0] != before[0] and changed[1] != before[1]


def test_a_change_to_the_top_layer_keeps_the_keys_below_and_the_same_config_keeps_all():
    base = get_preset("quick")
    new_top = replace(base, stack=replace(base.stack, layers=(
        base.stack.layers[0], LayerSpec(models=(ModelSpec("top-lgbm", "lightgbm", {"n_estimators": 30}),)))))
    changed, before = layer_keys(new_top, "data"), layer_keys(base, "data")
    assert changed[0] == before[0] and changed[1] != before[1]
    assert layer_keys(get_preset("quick"), "data") == before
    assert all(a != b for a, b in zip(layer_keys(base, "other data"), before))


def test_cache_is_bounded():
    cache = LayerCache(max_layers=2)
    cache.keep(["a", "b", "c"], ["A", "B", "C"])
    assert len(cache) == 2 and cache.reusable(["a"]) == [] and cache.reusable(["b", "c"]) == ["B", "C"]
