"""Fitted layers kept between runs, so a change to an upper layer retrains only that layer and those above.

A layer's fit is determined by the data, the target, the feature sets, the hold-out, the folds, the seed, the
refit strategy and every layer up to and including it; the cache key is a digest of exactly those.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from collections import OrderedDict

from twin_core.config import RunConfig
from twin_core.stack import FittedLayer


def layer_keys(config: RunConfig, data_fingerprint: str) -> list[str]:
    """One key per layer: equal keys mean the layer would be trained identically."""
    common = {"data": data_fingerprint, "target": config.target, "seed": config.seed,
              "seed_compatible": config.seed_compatible, "split": dataclasses.asdict(config.split),
              "cv": dataclasses.asdict(config.stack.cv), "refit": config.stack.refit,
              "max_fit_rows": config.stack.max_fit_rows,
              "features": [s.to_dict() for s in config.used_feature_sets()]}
    keys = []
    for depth in range(1, len(config.stack.layers) + 1):
        layers = [dataclasses.asdict(layer) for layer in config.stack.layers[:depth]]
        text = json.dumps({**common, "layers": layers}, sort_keys=True, default=list)
        keys.append(hashlib.sha256(text.encode()).hexdigest())
    return keys


class LayerCache:
    """A bounded, in-memory store of fitted layers (least recently used out first); one per user session."""

    def __init__(self, max_layers: int = 24):
        self.max_layers = max_layers
        self._layers: OrderedDict[str, FittedLayer] = OrderedDict()

    def __len__(self) -> int:
        return len(self._layers)

    def reusable(self, keys: list[str]) -> list[FittedLayer]:
        """The longest run of first layers already fitted under these keys."""
        found = []
        for key in keys:
            if key not in self._layers:
                break
            self._layers.move_to_end(key)
            found.append(self._layers[key])
        return found

    def keep(self, keys: list[str], layers: list[FittedLayer]) -> None:
        """Remember a finished fit's layers under their keys."""
        for key, layer in zip(keys, layers):
            self._layers[key] = layer
            self._layers.move_to_end(key)
        while len(self._layers) > self.max_layers:
            self._layers.popitem(last=False)
