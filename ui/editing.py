"""Structural edits of the configuration being edited: the Model page's button and upload callbacks.

Adding or removing parts, loading a preset or a JSON file replace the whole configuration and start the
editor's widgets afresh (ui/editor.py builds them). New parts take the library's field defaults (FeatureSpec(),
LayerSpec, ModelSpec), so the editor never holds a second copy of them.
"""
from __future__ import annotations

import dataclasses

import streamlit as st

from twin_core.config import LayerSpec, ModelSpec, RunConfig
from twin_core.errors import ConfigError
from twin_core.features import FeatureSpec
from twin_core.presets import get_preset
from ui import state

CONFIG_UPLOADER = "config_upload"
NEW_MODEL_KIND = "ridgecv"  # what Add model and Add layer put in: quick to fit, no parameter to choose


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
    name = _free_name([s.name for s in config.feature_sets], FeatureSpec().name)
    state.replace_config(dataclasses.replace(config, feature_sets=(*config.feature_sets, FeatureSpec(name=name))))


def remove_feature_set(index: int) -> None:
    """Drop a feature set (validation then names any model still reading it)."""
    config = state.config()
    sets = tuple(s for i, s in enumerate(config.feature_sets) if i != index)
    state.replace_config(dataclasses.replace(config, feature_sets=sets))


def add_layer() -> None:
    """Put a new top layer holding one ridge model on the stack."""
    config = state.config()
    layer = LayerSpec(models=(ModelSpec(f"ridge-l{len(config.stack.layers) + 1}", NEW_MODEL_KIND),))
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
    model = ModelSpec(_free_name([m.name for m in layer.models], "ridge"), NEW_MODEL_KIND, feature_set=feature_set)
    layers[depth - 1] = dataclasses.replace(layer, models=(*layer.models, model))
    state.replace_config(_replace_layers(config, tuple(layers)))


def remove_model(depth: int, index: int) -> None:
    """Drop model `index` of layer `depth` (1-based)."""
    config = state.config()
    layers = list(config.stack.layers)
    layer = layers[depth - 1]
    layers[depth - 1] = dataclasses.replace(layer, models=tuple(m for i, m in enumerate(layer.models) if i != index))
    state.replace_config(_replace_layers(config, tuple(layers)))
