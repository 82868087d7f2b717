"""The configuration editor's widgets on the Model page: presets and JSON in and out, the twin's kind, feature sets,
the stack's layers and models, hold-out and out-of-fold scheme, and the run's own settings.

Each builder starts from the configuration in session state and returns the part its widgets describe; the page
puts the parts together on every run. Widget keys carry the editor's generation, so a configuration loaded by a
callback (ui/editing.py) starts new widgets. A number left automatic starts, when unticked, from what twin_core
would use; terms of art carry the glossary's plain words (twin_core.wording).
"""
from __future__ import annotations

import dataclasses
import math
import re

import streamlit as st

from twin_core.config import (DEFAULT_MAX_FIT_ROWS, INTERVAL_METHODS, MAX_FIT_ROWS, MIN_FIT_ROWS, TWIN_KINDS,
                               IntervalSpec, LayerSpec, ModelSpec, RunConfig, StackConfig)
from twin_core.evaluate import identity_formula
from twin_core.features import WINDOW_STATS, FeatureSpec
from twin_core.models import MODEL_KINDS, PRETRAINED, ParamInfo, make_estimator
from twin_core.pipeline import parallel_fits
from twin_core.presets import PRESETS, get_preset
from twin_core.schema import MAX_LAG_DEPTH, MAX_LOOKBACK_ROWS, MAX_N_JOBS, MAX_SEED
from twin_core.splits import SplitSpec
from twin_core.telemetry import Telemetry
from twin_core.wording import GLOSSARY, NOTEBOOK_PROTOCOL, NOTEBOOK_TOGGLE
from ui import editing, state
from ui import format as fmt

HOLDOUT_LABELS = {"session_tail": "Per-session tail, after a purge gap (recommended)",
                  "whole_sessions": "Whole sessions (recordings the model never saw)",
                  "random": f"Random rows — LEAKY ({NOTEBOOK_PROTOCOL})"}
CV_LABELS = {"blocked": "Time-blocked folds per session, purged (recommended)",
             "sessions": "Whole sessions per fold (for short recordings)",
             "kfold": f"Shuffled K-fold — LEAKY ({NOTEBOOK_PROTOCOL})"}
NOTEBOOK_HELP = ("The original notebook's protocol reproduces the published numbers of the seed notebook this project "
                 "started from: random hold-out rows, shuffled K-fold and windows across sessions. All three are "
                 "LEAKY (rows next to a scored row are trained on), so their scores overstate the twin on new data.")
_PRETRAINED_LABEL = "Pre-trained (server's trusted folder)"
REFIT_LABELS = {"full": "Refit each model on all its training rows", "average": "Average the fold models"}
INTERVAL_LABELS = {"split": "One width for every row (recommended)", "workload": "One width per workload",
                   "local": "Wider where the other cores vary more"}
FEATURE_WIDGETS = {  # a feature set's fields by the label of the widget that sets them
    "current_values": "Current values", "current_overall": "Current overall",
    "overall_windows": "Overall windows (rows)", "core_windows": "Per-core windows (rows)",
    "identity_windows": "Identity windows (rows)", "window_stats": "Window statistics",
    "overall_lags": "Overall lag depth", "core_lags": "Per-core lag depth", "identity": "Identity feature",
    "identity_lags": "Identity lag depth", "workload_onehot": "Workload one-hot",
    "min_history": "Minimum history (rows)",
}
MODELS_PER_ROW = 2  # a model's parameter chips stay readable at 1280 px
_PRESET_CHOICE = "preset_choice"


def key(*parts: object) -> str:
    """Widget key of this editor generation (a loaded configuration starts new widgets)."""
    return ":".join(["cfg", str(st.session_state[state.EDITOR_REV]), *map(str, parts)])


def widget_of(config: RunConfig, path: str) -> str | None:
    """Where on the Model page the field at a JSON path (`feature_sets[0].overall_lags`) is set, in words; None for a
    field outside the feature sets."""
    found = re.fullmatch(r"feature_sets\[(\d+)\]\.(\w+)", path)
    if found is None or found[2] not in FEATURE_WIDGETS or int(found[1]) >= len(config.feature_sets):
        return None
    return f"Feature sets tab, set “{config.feature_sets[int(found[1])].name}”, “{FEATURE_WIDGETS[found[2]]}”"


def _starting_value(kind: str, name: str) -> float:
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


def _parse_numbers(text: str, kind: type) -> tuple:
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


def _show_numbers(values: tuple) -> str:
    """(5, 10) → '5, 10'."""
    return ", ".join(f"{v:g}" for v in values)


def _numbers_input(label: str, values: tuple, kind: type, widget_key: str, help: str) -> tuple:
    """A comma-separated list of numbers; a typo keeps the previous values and says what is wrong."""
    text = st.text_input(label, _show_numbers(values), key=widget_key, help=help)
    try:
        return _parse_numbers(text, kind)
    except ValueError as exc:
        st.error(f"{label}: {exc}; keeping {_show_numbers(values) or 'none'}.")
        return values


def _param_input(name: str, info: ParamInfo, value: object, widget_key: str) -> object:
    """The widget for one model parameter, bounded by the range twin_core allows."""
    if info.kind is tuple:
        return _numbers_input(name, tuple(value), float, widget_key, info.help)
    if info.kind is int:
        return st.number_input(name, min_value=int(info.low), max_value=int(info.high), value=int(value), step=1,
                               key=widget_key, help=info.help)
    return st.number_input(name, min_value=float(info.low), max_value=float(info.high), value=float(value),
                           step=0.01 if info.high <= 1 else 0.1, format="%g", key=widget_key, help=info.help)


def presets_and_files(config: RunConfig) -> None:
    """The row that loads a preset, downloads the configuration as JSON or uploads one (into a popover, so no
    control of the row is squeezed at 1280 px)."""
    preset_col, load_col, download_col, upload_col = st.columns([3, 2, 2, 2], vertical_alignment="bottom")
    preset_col.selectbox("Preset", list(PRESETS), key=_PRESET_CHOICE,
                         help="\n".join(f"- **{name}**: {get_preset(name).description}" for name in PRESETS))
    load_col.button("Load preset", icon=":material/download_done:", on_click=editing.load_preset,
                    args=(_PRESET_CHOICE,), width="stretch")
    download_col.download_button("Download JSON", config.to_json(), file_name=f"{config.name}.json",
                                 mime="application/json", icon=":material/file_download:", width="stretch",
                                 on_click="ignore")
    with upload_col.popover("Upload JSON", icon=":material/upload_file:", width="stretch"):
        st.file_uploader("Upload a configuration (.json)", type=["json"], key=editing.CONFIG_UPLOADER,
                         on_change=editing.on_config_upload)


def kind_editor(config: RunConfig) -> str:
    """The twin's kind: what it may read."""
    return st.radio("Twin kind", TWIN_KINDS, index=TWIN_KINDS.index(config.kind), format_func=fmt.KIND_CHOICES.get,
                    horizontal=True, key=key("run", "kind"),
                    help="A reconstruction twin may read cpu_util_overall, from which the identity "
                         f"{identity_formula()} nearly gives the target by arithmetic: good to fill in or check a "
                         "core. A "
                         "behavioural twin reads neither, so it learns how the target behaves given the other cores "
                         "and the workload: what What-if answers are about.")


def feature_set_editor(index: int, spec: FeatureSpec, removable: bool) -> FeatureSpec:
    """Widgets of one feature set; returns the spec they describe."""
    label = FEATURE_WIDGETS
    with st.container(border=True):
        head, remove = st.columns([5, 1], vertical_alignment="bottom")
        name = head.text_input("Feature set name", spec.name, key=key("fs", index, "name"))
        remove.button("Remove", key=key("fs", index, "remove"), icon=":material/delete:", disabled=not removable,
                      on_click=editing.remove_feature_set, args=(index,), width="stretch")
        windows, lags, switches = st.columns(3)
        with windows:
            overall_w = _numbers_input(label["overall_windows"], spec.overall_windows, int, key("fs", index, "ow"),
                                      "Rolling windows over cpu_util_overall, e.g. 5, 10, 30.")
            core_w = _numbers_input(label["core_windows"], spec.core_windows, int, key("fs", index, "cw"),
                                   "Rolling windows over every non-target core.")
            identity_w = _numbers_input(label["identity_windows"], spec.identity_windows, int, key("fs", index, "iw"),
                                       "Rolling windows over the aggregate identity (needs the identity feature).")
            stats = st.multiselect(label["window_stats"], WINDOW_STATS, default=list(spec.window_stats),
                                   key=key("fs", index, "stats"))
        with lags:
            overall_l = st.number_input(label["overall_lags"], 0, MAX_LAG_DEPTH, spec.overall_lags,
                                        key=key("fs", index, "ol"),
                                        help="Previous samples of cpu_util_overall (1…depth).")
            core_l = st.number_input(label["core_lags"], 0, MAX_LAG_DEPTH, spec.core_lags, key=key("fs", index, "cl"),
                                     help="Previous samples of every non-target core.")
            identity_l = st.number_input(label["identity_lags"], 0, MAX_LAG_DEPTH, spec.identity_lags,
                                         key=key("fs", index, "il"),
                                         help="Previous values of the aggregate identity.")
            min_history = st.number_input(label["min_history"], 0, MAX_LOOKBACK_ROWS, spec.min_history,
                                          key=key("fs", index, "mh"),
                                          help="Skip each session's first rows even if no feature needs them.")
        with switches:
            current = st.toggle(label["current_values"], spec.current_values, key=key("fs", index, "cur"),
                                help="The present sample of every non-target core (and of overall, below).")
            current_overall = st.toggle(label["current_overall"], spec.current_overall, key=key("fs", index, "co"),
                                        disabled=not current,
                                        help="With the current values, the present sample of cpu_util_overall. "
                                             "A behavioural twin reads no overall: switch it off.")
            identity = st.toggle(label["identity"], spec.identity, key=key("fs", index, "id"),
                                 help=f"{identity_formula()} as a feature: what the aggregate says about the "
                                      f"target core.\n\n{GLOSSARY['identity']}")
            onehot = st.toggle(label["workload_onehot"], spec.workload_onehot, key=key("fs", index, "wl"),
                               help="One on/off column per workload label (one-hot), so models can tell the "
                                    "workloads apart.")
            include = st.toggle("Windows include now", spec.windows_include_current,
                                key=key("fs", index, "inc"),
                                help="Rolling windows include the current row (the notebook's pandas windows did).")
        built = dataclasses.replace(
            spec, name=name.strip(), current_values=current, current_overall=current_overall,
            overall_windows=overall_w, core_windows=core_w,
            identity_windows=identity_w, window_stats=tuple(stats), windows_include_current=include,
            overall_lags=int(overall_l), core_lags=int(core_l), identity=identity, identity_lags=int(identity_l),
            workload_onehot=onehot, min_history=int(min_history))
        st.caption(f"Look-back: {built.lookback} rows (the purge gap this set asks for).",
                   help=GLOSSARY["purge gap"])
    return built


def feature_sets_editor(config: RunConfig) -> tuple[FeatureSpec, ...]:
    """Every feature set of the configuration, then the button that adds one with the library's defaults."""
    feature_sets = tuple(feature_set_editor(i, spec, len(config.feature_sets) > 1)
                         for i, spec in enumerate(config.feature_sets))
    st.button("Add feature set", icon=":material/add:", on_click=editing.add_feature_set, key=key("fs", "add"))
    return feature_sets


def _model_params(depth: int, index: int, kind: str, own: dict) -> dict:
    """Widgets of a model's key parameters, plus the optional ones the user picks; only non-defaults are kept."""
    spec = MODEL_KINDS[kind]
    params = {}
    for param, default in spec.defaults.items():
        value = _param_input(param, spec.params[param], own.get(param, default), key("m", depth, index, kind, param))
        if param in own or value != default:
            params[param] = value
    optional = [p for p in spec.params if p not in spec.defaults]
    extras = st.multiselect("More parameters", optional, default=[p for p in optional if p in own],
                            key=key("m", depth, index, kind, "extras"),
                            help="Set parameters beyond the key ones.") if optional else []
    for param in extras:
        params[param] = _param_input(param, spec.params[param], own.get(param, _starting_value(kind, param)),
                                    key("m", depth, index, kind, param))
    return params


def model_editor(depth: int, index: int, model: ModelSpec, feature_names: list[str], removable: bool) -> ModelSpec:
    """Widgets of one model: name, kind, (layer 1) feature set, key parameters and optional extras."""
    with st.container(border=True):
        name = st.text_input("Name", model.name, key=key("m", depth, index, "name"))
        kinds = [*MODEL_KINDS, *([PRETRAINED] if depth == 1 else [])]
        kind = st.selectbox("Kind", kinds, index=kinds.index(model.kind) if model.kind in kinds else 0,
                            format_func=lambda k: MODEL_KINDS[k].label if k in MODEL_KINDS else _PRETRAINED_LABEL,
                            key=key("m", depth, index, "kind"),
                            help=None if depth == 1 else GLOSSARY["meta-learner"])
        feature_set = None
        if depth == 1:
            names_key = "|".join(feature_names)
            feature_set = st.selectbox(
                "Feature set", feature_names,
                index=feature_names.index(model.feature_set) if model.feature_set in feature_names else 0,
                key=key("m", depth, index, "fs", names_key), help="The columns this base model reads.")
        own = model.params if kind == model.kind else {}
        if kind == PRETRAINED:
            file = st.text_input("Model file", own.get("file", ""), key=key("m", depth, index, kind, "file"),
                                 help="A fitted model in the server's trusted folder ($TWIN_TRUSTED_MODELS). "
                                      "Uploaded model files are never loaded.")
            params = {"file": file.strip()}
        else:
            params = _model_params(depth, index, kind, own)
        st.button("Remove model", key=key("m", depth, index, "remove"), icon=":material/delete:",
                  disabled=not removable, on_click=editing.remove_model, args=(depth, index), width="stretch")
    return dataclasses.replace(model, name=name.strip(), kind=kind, params=params, feature_set=feature_set)


def layer_editor(depth: int, layer: LayerSpec, feature_names: list[str], removable: bool) -> LayerSpec:
    """Widgets of one layer: passthrough, its models side by side, add/remove."""
    with st.container(border=True):
        head, passthrough_col, remove = st.columns([5, 3, 2], vertical_alignment="center")
        if depth == 1:
            head.markdown("#### Layer 1 · base models", help=GLOSSARY["layer"])
        else:
            head.markdown(f"#### Layer {depth} · reads layer {depth - 1}",  # short: its help icon stays on the line
                          help=f"{GLOSSARY['meta-learner']}\n\n{GLOSSARY['out-of-fold']}")
        passthrough = False
        if depth > 1:
            passthrough = passthrough_col.toggle("Passthrough features", layer.passthrough, key=key("l", depth, "pt"),
                                                 help=GLOSSARY["passthrough"])
        remove.button("Remove layer", key=key("l", depth, "remove"), icon=":material/delete:",
                      disabled=not removable, on_click=editing.remove_layer, args=(depth,), width="stretch")
        models = []
        for start in range(0, len(layer.models), MODELS_PER_ROW):
            cols = st.columns(MODELS_PER_ROW)
            for offset, model in enumerate(layer.models[start:start + MODELS_PER_ROW]):
                with cols[offset]:
                    models.append(model_editor(depth, start + offset, model, feature_names, len(layer.models) > 1))
        st.button("Add model", key=key("l", depth, "add"), icon=":material/add:", on_click=editing.add_model,
                  args=(depth,))
    return dataclasses.replace(layer, models=tuple(models), passthrough=passthrough)


def stack_editor(config: RunConfig, feature_sets: tuple[FeatureSpec, ...]) -> tuple[LayerSpec, ...]:
    """Every layer of the stack (models follow a feature set renamed above), then the button that adds a layer."""
    renamed = {old.name: new.name for old, new in zip(config.feature_sets, feature_sets)}
    feature_names = [spec.name for spec in feature_sets]
    old_layers = [dataclasses.replace(layer, models=tuple(
        dataclasses.replace(m, feature_set=renamed.get(m.feature_set, m.feature_set)) for m in layer.models))
        for layer in config.stack.layers]
    layers = tuple(layer_editor(depth, layer, feature_names, len(old_layers) > 1)
                   for depth, layer in enumerate(old_layers, start=1))
    st.button("Add layer", icon=":material/add:", on_click=editing.add_layer, key=key("l", "add"))
    return layers


def _auto_or_number(label: str, auto_label: str, value: int | None, fallback: int, low: int, high: int,
                   widget_key: str, help: str, box_label: str | None = None) -> int | None:
    """None when 'Automatic' (the box under the number, or `box_label`) is ticked and twin_core decides, else a fixed
    whole number starting from `fallback`, the number 'automatic' stands for."""
    number_box = st.container()
    auto = st.checkbox(box_label or f"Automatic: {auto_label}", value is None, key=widget_key + ":auto")
    start = min(max(fallback, low), high) if value is None else value  # a look-back past the cap is refused elsewhere
    number = number_box.number_input(label, low, high, start, key=widget_key, disabled=auto, help=help)
    return None if auto else int(number)


def split_editor(split: SplitSpec, lookback: int, telemetry: Telemetry) -> SplitSpec:
    """The hold-out: which rows give the final, read-once score."""
    st.markdown("#### Hold-out: the final score", help=GLOSSARY["hold-out"])  # one line with its help at 1280 px
    kind = st.radio("Rows held out", list(HOLDOUT_LABELS), format_func=HOLDOUT_LABELS.get,
                    index=list(HOLDOUT_LABELS).index(split.kind), key=key("split", "kind"), help=NOTEBOOK_HELP)
    if kind == "random":
        st.warning("LEAKY: neighbours of every test row are in training, so scores overstate the twin.",
                   icon=":material/warning:")
    # widget ranges reach every value a loaded configuration may hold, so none is silently clamped
    fraction = st.slider("Share of rows held out", min(0.05, split.test_fraction), max(0.5, split.test_fraction),
                         float(split.test_fraction), 0.05, key=key("split", "fraction"))
    gap, test_sessions, seed = split.gap, split.test_sessions, split.seed
    if kind == "session_tail":
        gap = _auto_or_number("Purge gap (rows)", f"{lookback} rows, the longest look-back", split.gap,
                             lookback, 0, MAX_LOOKBACK_ROWS, key("split", "gap"),
                             "Rows dropped between each session's training part and its held-out tail.\n\n"
                             f"{GLOSSARY['purge gap']}")
    elif kind == "whole_sessions":
        sessions = telemetry.sessions()
        labels = {int(s): f"S{s} · {w}" for s, w in zip(sessions["session"], sessions["workload_type"])}
        chosen = st.multiselect("Sessions to hold out (empty: the latest ones, up to the share above)",
                                list(labels), default=[s for s in (test_sessions or ()) if s in labels],
                                format_func=labels.get, key=key("split", "sessions"))
        test_sessions = tuple(chosen) or None
    else:
        seed = st.number_input("Shuffle seed", 0, MAX_SEED, split.seed, key=key("split", "seed"))
    return dataclasses.replace(split, kind=kind, test_fraction=float(fraction), gap=gap, test_sessions=test_sessions,
                               seed=int(seed))


def cv_editor(stack: StackConfig, lookback: int) -> StackConfig:
    """The out-of-fold scheme that trains each next layer, the final models and how many fits run at once."""
    st.markdown("#### Out-of-fold: trains the next layer", help=GLOSSARY["out-of-fold"])
    cv = stack.cv
    kind = st.radio("Folds", list(CV_LABELS), format_func=CV_LABELS.get, index=list(CV_LABELS).index(cv.kind),
                    key=key("cv", "kind"), help=NOTEBOOK_HELP)
    if kind == "kfold":
        st.warning("LEAKY: shuffled folds let each layer see the neighbours of the rows it predicts.",
                   icon=":material/warning:")
    n_splits = st.slider("Number of folds", 2, max(10, cv.n_splits), cv.n_splits, key=key("cv", "n"))
    gap, seed = cv.gap, cv.seed
    if kind == "blocked":
        gap = _auto_or_number("Fold purge gap (rows)", f"{lookback} rows, the longest look-back", cv.gap,
                             lookback, 0, MAX_LOOKBACK_ROWS, key("cv", "gap"),
                             f"Rows dropped on both sides of every validation block.\n\n{GLOSSARY['purge gap']}")
    else:
        seed = st.number_input("Fold shuffle seed", 0, MAX_SEED, cv.seed, key=key("cv", "seed"))
    refit = st.radio("Final models", list(REFIT_LABELS), format_func=REFIT_LABELS.get,
                     index=list(REFIT_LABELS).index(stack.refit), key=key("cv", "refit"))
    automatic = parallel_fits(None)
    n_jobs = _auto_or_number("Fits in parallel", f"{automatic}, one per physical core", stack.n_jobs,
                            automatic, 1, MAX_N_JOBS, key("cv", "jobs"),
                            "Fits run side by side, each model on one thread; 1 runs one fit at a time with each "
                            "model on every core.")
    max_fit_rows = _auto_or_number("Rows a fit reads (at most)", "", stack.max_fit_rows, DEFAULT_MAX_FIT_ROWS,
                                   MIN_FIT_ROWS, MAX_FIT_ROWS, key("cv", "fitrows"),
                                   "A fit given more training rows reads a seeded random sample of this many: long "
                                   "10 Hz recordings repeat themselves from row to row, so a sample costs little "
                                   "accuracy and bounds each fit's time and memory. Out-of-fold predictions are made "
                                   "for a sample of about as many rows; the hold-out is scored on every row.",
                                   box_label="Every row (no sample)")
    return dataclasses.replace(stack, refit=refit, n_jobs=n_jobs, max_fit_rows=max_fit_rows, cv=dataclasses.replace(
        cv, kind=kind, n_splits=int(n_splits), gap=gap, seed=int(seed)))


def run_editor(config: RunConfig, telemetry: Telemetry) -> RunConfig:
    """The run's own settings: name, target core, model seed, description and the notebook protocol."""
    name_col, target_col, seed_col = st.columns(3)
    name = name_col.text_input("Configuration name", config.name, key=key("run", "name"))
    targets = list(dict.fromkeys([*telemetry.core_columns, config.target]))
    target = target_col.selectbox("Target core", targets, index=targets.index(config.target), key=key("run", "target"),
                                  help="The core the twin predicts: from the other cores and the workload, and "
                                       "for a reconstruction twin also from overall.")
    seed = seed_col.number_input("Model seed", 0, MAX_SEED, config.seed, key=key("run", "seed"))
    description = st.text_area("Description", config.description, key=key("run", "description"))
    seed_compatible = st.toggle(NOTEBOOK_TOGGLE,
                                config.seed_compatible, key=key("run", "seedcompat"),
                                help="Windows run across sessions as in the seed notebook. Combine with the random "
                                     "hold-out and shuffled K-fold to reproduce its published numbers.\n\n"
                                     + NOTEBOOK_HELP)
    return dataclasses.replace(config, name=name.strip(), description=description, target=target, seed=int(seed),
                               seed_compatible=seed_compatible, intervals=interval_editor(config.intervals))


def interval_editor(intervals: IntervalSpec) -> IntervalSpec:
    """The prediction intervals every model gets: their nominal level and how they are calibrated."""
    st.markdown("#### Prediction intervals", help="Every model's prediction gets a band meant to hold the actual "
                "value on this share of rows, calibrated on its out-of-fold residuals of training rows only; Results "
                "shows the share of hold-out rows it really holds beside it.")
    level_col, method_col = st.columns(2)
    level = level_col.number_input("Interval level (%)", 50.0, 99.0, round(100 * intervals.nominal, 2), step=1.0,
                                   format="%.1f", key=key("run", "interval_level"),
                                   help="The nominal share of rows the band should cover: 90 % by default.")
    method = method_col.radio("Interval width", INTERVAL_METHODS, index=INTERVAL_METHODS.index(intervals.method),
                              format_func=INTERVAL_LABELS.get, key=key("run", "interval_method"),
                              help="One width for every row came closest to the nominal level with the narrowest "
                                   "band on out-of-fold rows (README, 'Prediction intervals'); per workload fits "
                                   "data whose workloads differ in noise; the local width scales with the recent "
                                   "spread of the other cores.")
    return IntervalSpec(nominal=round(float(level) / 100, 4), method=method)
