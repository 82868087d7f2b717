"""Model: feature windows, the stack's layers and models, hold-out and CV; presets and JSON in and out.

Every widget starts from the configuration in session state and the page rebuilds it from the widgets on each
run (ui/editor.py builds them); the result is validated by twin_core and refused with its message when it cannot
be trained.
"""
import dataclasses

import streamlit as st

from twin_core.errors import ConfigError
from twin_core.plots import stack_diagram
from twin_core.wording import titled_by_kind
from ui import editor, state

config = state.config()
telemetry = state.telemetry()

st.title("Model")
st.caption("Compose the twin: feature windows, layers of models, how rows are held out. Presets and JSON files "
           "load into this editor; Train uses what is here.")
editor.presets_and_files(config)
kind = editor.kind_editor(config)
message = state.config_message()
if message is not None:
    level, text = message
    (st.success if level == "success" else st.error)(text)
verdict = st.empty()

composition, features_tab, holdout_tab, run_tab = st.tabs(["Composition", "Feature sets", "Hold-out & CV", "Run"])
with features_tab:
    feature_sets = editor.feature_sets_editor(config)
with composition:  # full width: the models of a layer side by side
    layers = editor.stack_editor(config, feature_sets)
    diagram = st.container()

lookback = dataclasses.replace(config, feature_sets=feature_sets,
                               stack=dataclasses.replace(config.stack, layers=layers)).lookback
with holdout_tab:
    split_col, cv_col = st.columns(2)
    with split_col:
        split = editor.split_editor(config.split, lookback, telemetry)
    with cv_col:
        stack = editor.cv_editor(config.stack, lookback)
with run_tab:
    run = editor.run_editor(config, telemetry)

edited = dataclasses.replace(run, kind=kind, feature_sets=feature_sets, split=split,
                             stack=dataclasses.replace(stack, layers=layers))
state.update_config(edited)

try:
    edited.validate()
except ConfigError as exc:
    where = editor.widget_of(edited, exc.path)
    verdict.error(f"**This composition cannot be trained yet:** {exc}" + (f" (set in: {where})." if where else ""),
                  icon=":material/block:")
else:
    leaky = " · ⚠️ LEAKY protocol" if edited.leaky else ""
    verdict.success(f"**{edited.name}** is ready to train: {edited.shape()} · look-back {edited.lookback} rows{leaky}.",
                    icon=":material/check_circle:")
    with diagram:
        st.plotly_chart(titled_by_kind(stack_diagram(edited), edited.kind), key="stack_preview")
