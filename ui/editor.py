"""Structural edits of the configuration being edited (button callbacks) and text-to-number parsing for its widgets.

Field values are read back from the widgets on every run of the Model page; adding or removing parts, loading
a preset or a JSON file replace the whole configuration and start the editor's widgets afresh.
"""
from __future__ import annotations

import dataclasses
import math
import re

import streamlit as st

from twin_core.config import LayerSpec, ModelSpec, RunConfig
from twin_core.errors import ConfigError
from twin_core.features import FeatureSpec
from twin_core.models import MODEL_KINDS, ParamInfo, make_estimator
from twin_core.presets import get_preset
from ui import state

CONFIG_UPLOADER = "config_upload"
NEW_MODEL_KIND = "ridgecv"
FEATURE_WIDGETS = {  # a feature set's fields by the Model page widget that sets them
    "current_values": "Current values", "current_overall": "Current overall",
    "overall_windows": "Overall windows (rows)", "core_windows": "Per-core windows (rows)",
    "identity_windows": "Identity windows (rows)", "window_stats": "Window statistics",
    "overall_lags": "Overall lag depth", "core_lags": "Per-core lag depth", "identity": "Identity feature",
    "identity_lags": "Identity lag depth", "workload_onehot": "Workload one-hot",
    "min_history": "Minimum history (rows)",
}


def _replace_layers(config: RunConfig, layers: tuple[LayerSpec, ...]) -> RunConfig:
    return dataclasses.replace(config, stack=dataclasses.replace(config.stack, layers=layers))


def _free_name(taken: list[str], stem: str) -> str:
    n = 1
    while f"{stem}-{n}" in taken:
        n += 1
    return f"{stem}-{n}"


def load_preset(key: str) -> None:
    """Load the preset chosen in the widget `key` into the editor."""
    name = st.session_state[key]
    state.replace_config(get_preset(name), f"Loaded preset '{name}'.")


def on_config_upload() -> None:
    """Load an uploaded JSON configuration; an invalid file is refused with its message."""
    uploaded = st.session_state.get(CONFIG_UPLOADER)
    if uploaded is None:
        return
    try:
        config = RunConfig.from_json(uploaded.getvalue())
    except ConfigError as exc:
        state.refuse_config(f"{uploaded.name} was refused: {exc}")
        return
    state.replace_config(config, f"Loaded '{config.name}' from {uploaded.name}.")


def add_feature_set() -> None:
    """Append a feature set with the library's defaults under a free name."""
    config = state.config()
    name = _free_name([s.name for s in config.feature_sets], "features")
    state.replace_config(dataclasses.replace(config, feature_sets=(*config.feature_sets, FeatureSpec(name=name))))


def remove_feature_set(index: int) -> None:
    """Drop a feature set (validation then names any model still reading it)."""
    config = state.config()
    sets = tuple(s for i, s in enumerate(config.feature_sets) if i != index)
    state.replace_config(dataclasses.replace(config, feature_sets=sets))


def add_layer() -> None:
    """Put a new top layer holding one ridge model on the stack."""
    config = state.config()
    layer = LayerSpec(models=(ModelSpec(f"ridge-l{len(config.stack.layers) + 1}", NEW_MODEL_KIND, {}),))
    state.replace_config(_replace_layers(config, (*config.stack.layers, layer)))


def remove_layer(depth: int) -> None:
    """Drop layer `depth` (1-based); a new first layer's models get the first feature set."""
    config = state.config()
    layers = [layer for d, layer in enumerate(config.stack.layers, start=1) if d != depth]
    if depth == 1 and layers and config.feature_sets:
        first = config.feature_sets[0].name
        layers[0] = dataclasses.replace(layers[0], passthrough=False, models=tuple(
            dataclasses.replace(m, feature_set=first) for m in layers[0].models))
    state.replace_config(_replace_layers(config, tuple(layers)))


def add_model(depth: int) -> None:
    """Add a ridge model to layer `depth` (1-based), reading the first feature set in layer 1."""
    config = state.config()
    layers = list(config.stack.layers)
    layer = layers[depth - 1]
    feature_set = config.feature_sets[0].name if depth == 1 and config.feature_sets else None
    model = ModelSpec(_free_name([m.name for m in layer.models], "ridge"), NEW_MODEL_KIND, {}, feature_set)
    layers[depth - 1] = dataclasses.replace(layer, models=(*layer.models, model))
    state.replace_config(_replace_layers(config, tuple(layers)))


def remove_model(depth: int, index: int) -> None:
    """Drop model `index` of layer `depth` (1-based)."""
    config = state.config()
    layers = list(config.stack.layers)
    layer = layers[depth - 1]
    layers[depth - 1] = dataclasses.replace(layer, models=tuple(m for i, m in enumerate(layer.models) if i != index))
    state.replace_config(_replace_layers(config, tuple(layers)))


def widget_of(config: RunConfig, path: str) -> str | None:
    """Where on the Model page the field at a JSON path (`feature_sets[0].overall_lags`) is set, in words; None for a
    field outside the feature sets."""
    found = re.fullmatch(r"feature_sets\[(\d+)\]\.(\w+)", path)
    if found is None or found[2] not in FEATURE_WIDGETS or int(found[1]) >= len(config.feature_sets):
        return None
    return f"Feature sets tab, set “{config.feature_sets[int(found[1])].name}”, “{FEATURE_WIDGETS[found[2]]}”"


def starting_value(kind: str, name: str) -> float:
    """Where an optional parameter's widget starts: the estimator's own default, kept inside the allowed range."""
    info: ParamInfo = MODEL_KINDS[kind].params[name]
    value = make_estimator(kind, {}, seed=0, threads=1).get_params().get(name)
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        value = info.low if info.low is not None else 0
    if info.low is not None:
        value = max(value, info.low)
    if info.high is not None:
        value = min(value, info.high)
    return value


def parse_numbers(text: str, kind: type) -> tuple:
    """'5, 10, 30' → (5, 10, 30); raises ValueError naming the bad entry."""
    out = []
    for part in text.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            value = float(part)
        except ValueError:
            raise ValueError(f"'{part}' is not a number") from None
        if not math.isfinite(value):
            raise ValueError(f"'{part}' is not a finite number")
        if kind is int and value != int(value):
            raise ValueError(f"'{part}' is not a whole number")
        out.append(int(value) if kind is int else value)
    return tuple(out)


def show_numbers(values: tuple) -> str:
    """(5, 10) → '5, 10'."""
    return ", ".join(f"{v:g}" for v in values)
