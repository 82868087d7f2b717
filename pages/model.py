"""Model: feature windows, the stack's layers and models, hold-out and CV; presets and JSON in and out.

Every widget starts from the configuration in session state and the page rebuilds it from the widgets on each
run; the result is validated by twin_core and refused with its message when it cannot be trained.
"""
import dataclasses

import streamlit as st

from twin_core.config import TWIN_KINDS, LayerSpec, ModelSpec
from twin_core.errors import ConfigError
from twin_core.features import WINDOW_STATS, FeatureSpec
from twin_core.models import MODEL_KINDS, PRETRAINED, ParamInfo
from twin_core.plots import stack_diagram
from twin_core.presets import PRESETS
from twin_core.schema import MAX_LAG_DEPTH, MAX_LOOKBACK_ROWS, MAX_N_JOBS, MAX_SEED
from ui import editor, state
from ui import format as fmt

HOLDOUT_LABELS = {"session_tail": "Per-session tail, after a purge gap (recommended)",
                  "whole_sessions": "Whole sessions (recordings the model never saw)",
                  "random": "Random rows — LEAKY (the notebook's)"}
CV_LABELS = {"blocked": "Time-blocked folds per session, purged (recommended)",
             "sessions": "Whole sessions per fold (for short recordings)",
             "kfold": "Shuffled K-fold — LEAKY (the notebook's)"}
PRETRAINED_LABEL = "Pre-trained (server's trusted folder)"
REFIT_LABELS = {"full": "Refit each model on all its training rows", "average": "Average the fold models"}

config = state.config()
rev = st.session_state[state.EDITOR_REV]


def key(*parts: object) -> str:
    """Widget key of this editor generation (a loaded config starts new widgets)."""
    return ":".join(["cfg", str(rev), *map(str, parts)])


def numbers_input(label: str, values: tuple, kind: type, widget_key: str, help: str) -> tuple:
    """A comma-separated list of numbers; a typo keeps the previous values and says what is wrong."""
    text = st.text_input(label, editor.show_numbers(values), key=widget_key, help=help)
    try:
        return editor.parse_numbers(text, kind)
    except ValueError as exc:
        st.error(f"{label}: {exc}; keeping {editor.show_numbers(values) or 'none'}.")
        return values


def param_input(name: str, info: ParamInfo, value: object, widget_key: str) -> object:
    """The widget for one model parameter, bounded by the range twin_core allows."""
    if info.kind is tuple:
        return numbers_input(name, tuple(value), float, widget_key, info.help)
    if info.kind is int:
        return st.number_input(name, min_value=int(info.low), max_value=int(info.high), value=int(value), step=1,
                               key=widget_key, help=info.help)
    return st.number_input(name, min_value=float(info.low), max_value=float(info.high), value=float(value),
                           step=0.01 if info.high <= 1 else 0.1, format="%g", key=widget_key, help=info.help)


def feature_set_editor(index: int, spec: FeatureSpec, removable: bool) -> FeatureSpec:
    """Widgets of one feature set; returns the spec they describe."""
    with st.container(border=True):
        head, remove = st.columns([5, 1], vertical_alignment="bottom")
        name = head.text_input("Feature set name", spec.name, key=key("fs", index, "name"))
        remove.button("Remove", key=key("fs", index, "remove"), icon=":material/delete:", disabled=not removable,
                      on_click=editor.remove_feature_set, args=(index,), width="stretch")
        windows, lags, switches = st.columns(3)
        with windows:
            overall_w = numbers_input("Overall windows (rows)", spec.overall_windows, int, key("fs", index, "ow"),
                                      "Rolling windows over cpu_util_overall, e.g. 5, 10, 30.")
            core_w = numbers_input("Per-core windows (rows)", spec.core_windows, int, key("fs", index, "cw"),
                                   "Rolling windows over every non-target core.")
            identity_w = numbers_input("Identity windows (rows)", spec.identity_windows, int, key("fs", index, "iw"),
                                       "Rolling windows over the aggregate identity (needs the identity feature).")
            stats = st.multiselect("Window statistics", WINDOW_STATS, default=list(spec.window_stats),
                                   key=key("fs", index, "stats"))
        with lags:
            overall_l = st.number_input("Overall lag depth", 0, MAX_LAG_DEPTH, spec.overall_lags,
                                        key=key("fs", index, "ol"),
                                        help="Previous samples of cpu_util_overall (1…depth).")
            core_l = st.number_input("Per-core lag depth", 0, MAX_LAG_DEPTH, spec.core_lags, key=key("fs", index, "cl"),
                                     help="Previous samples of every non-target core.")
            identity_l = st.number_input("Identity lag depth", 0, MAX_LAG_DEPTH, spec.identity_lags,
                                         key=key("fs", index, "il"),
                                         help="Previous values of the aggregate identity.")
            min_history = st.number_input("Minimum history (rows)", 0, MAX_LOOKBACK_ROWS, spec.min_history,
                                          key=key("fs", index, "mh"),
                                          help="Skip each session's first rows even if no feature needs them.")
        with switches:
            current = st.toggle("Current values", spec.current_values, key=key("fs", index, "cur"),
                                help="The present sample of every non-target core (and of overall, below).")
            current_overall = st.toggle("Current overall", spec.current_overall, key=key("fs", index, "co"),
                                        disabled=not current,
                                        help="With the current values, the present sample of cpu_util_overall. "
                                             "A behavioural twin reads no overall: switch it off.")
            identity = st.toggle("Identity feature", spec.identity, key=key("fs", index, "id"),
                                 help="N·overall − Σ other cores: what the aggregate says about the target core.")
            onehot = st.toggle("Workload one-hot", spec.workload_onehot, key=key("fs", index, "wl"),
                               help="One column per workload label.")
            include = st.toggle("Windows include now", spec.windows_include_current,
                                key=key("fs", index, "inc"),
                                help="Rolling windows include the current row (the notebook's pandas windows did).")
        built = dataclasses.replace(
            spec, name=name.strip(), current_values=current, current_overall=current_overall,
            overall_windows=overall_w, core_windows=core_w,
            identity_windows=identity_w, window_stats=tuple(stats), windows_include_current=include,
            overall_lags=int(overall_l), core_lags=int(core_l), identity=identity, identity_lags=int(identity_l),
            workload_onehot=onehot, min_history=int(min_history))
        st.caption(f"Look-back: {built.lookback} rows (the purge gap this set asks for).")
    return built


def model_params(depth: int, index: int, kind: str, own: dict) -> dict:
    """Widgets of a model's key parameters, plus the optional ones the user picks; only non-defaults are kept."""
    spec = MODEL_KINDS[kind]
    params = {}
    for param, default in spec.defaults.items():
        value = param_input(param, spec.params[param], own.get(param, default), key("m", depth, index, kind, param))
        if param in own or value != default:
            params[param] = value
    optional = [p for p in spec.params if p not in spec.defaults]
    extras = st.multiselect("More parameters", optional, default=[p for p in optional if p in own],
                            key=key("m", depth, index, kind, "extras"),
                            help="Set parameters beyond the key ones.") if optional else []
    for param in extras:
        params[param] = param_input(param, spec.params[param], own.get(param, editor.starting_value(kind, param)),
                                    key("m", depth, index, kind, param))
    return params


def model_editor(depth: int, index: int, model: ModelSpec, feature_names: list[str], removable: bool) -> ModelSpec:
    """Widgets of one model: name, kind, (layer 1) feature set, key parameters and optional extras."""
    with st.container(border=True):
        name = st.text_input("Name", model.name, key=key("m", depth, index, "name"))
        kinds = [*MODEL_KINDS, *([PRETRAINED] if depth == 1 else [])]
        kind = st.selectbox("Kind", kinds, index=kinds.index(model.kind) if model.kind in kinds else 0,
                            format_func=lambda k: MODEL_KINDS[k].label if k in MODEL_KINDS else PRETRAINED_LABEL,
                            key=key("m", depth, index, "kind"))
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
            params = model_params(depth, index, kind, own)
        st.button("Remove model", key=key("m", depth, index, "remove"), icon=":material/delete:",
                  disabled=not removable, on_click=editor.remove_model, args=(depth, index), width="stretch")
    return dataclasses.replace(model, name=name.strip(), kind=kind, params=params, feature_set=feature_set)


def layer_editor(depth: int, layer: LayerSpec, feature_names: list[str], removable: bool) -> LayerSpec:
    """Widgets of one layer: passthrough, its models side by side, add/remove."""
    with st.container(border=True):
        head, passthrough_col, remove = st.columns([4, 3, 2], vertical_alignment="center")
        head.markdown(f"#### Layer {depth}" + (" · base models" if depth == 1 else " · learns from the layer below"))
        passthrough = False
        if depth > 1:
            passthrough = passthrough_col.toggle("Passthrough features", layer.passthrough, key=key("l", depth, "pt"),
                                                 help="Also feed the original features to this layer.")
        remove.button("Remove layer", key=key("l", depth, "remove"), icon=":material/delete:",
                      disabled=not removable, on_click=editor.remove_layer, args=(depth,), width="stretch")
        models = []
        per_row = 3
        for start in range(0, len(layer.models), per_row):
            cols = st.columns(per_row)
            for offset, model in enumerate(layer.models[start:start + per_row]):
                with cols[offset]:
                    models.append(model_editor(depth, start + offset, model, feature_names, len(layer.models) > 1))
        st.button("Add model", key=key("l", depth, "add"), icon=":material/add:", on_click=editor.add_model,
                  args=(depth,))
    return dataclasses.replace(layer, models=tuple(models), passthrough=passthrough)


def auto_or_number(label: str, auto_label: str, value: int | None, fallback: int, low: int, high: int,
                   widget_key: str, help: str) -> int | None:
    """None when 'automatic' is ticked (twin_core then decides), else a fixed whole number."""
    auto = st.checkbox(f"{label}: {auto_label}", value is None, key=widget_key + ":auto", help=help)
    start = min(max(fallback, low), high) if value is None else value  # a look-back past the cap is refused elsewhere
    number = st.number_input(label, low, high, start, key=widget_key, disabled=auto)
    return None if auto else int(number)


st.title("Model")
st.caption("Compose the twin: feature windows, layers of models, how rows are held out. Presets and JSON files "
           "load into this editor; Train uses what is here.")

preset_col, load_col, download_col, upload_col = st.columns([2, 2, 2, 3], vertical_alignment="bottom")
preset_col.selectbox("Preset", list(PRESETS), key="preset_choice",
                     help="default: the best honest twin · seed-v3: the notebook's stack · quick: seconds to "
                          "train · behavioural: how the target behaves given the other cores and the workload, never "
                          "reading overall · behavioural-quick: the same in seconds")
load_col.button("Load preset", icon=":material/download_done:", on_click=editor.load_preset, args=("preset_choice",),
                width="stretch")
download_col.download_button("Download JSON", config.to_json(), file_name=f"{config.name}.json",
                             mime="application/json", icon=":material/file_download:", width="stretch",
                             on_click="ignore")
upload_col.file_uploader("Upload a configuration (.json)", type=["json"], key=editor.CONFIG_UPLOADER,
                         on_change=editor.on_config_upload)
kind = st.radio("Twin kind", TWIN_KINDS, index=TWIN_KINDS.index(config.kind), format_func=fmt.KIND_CHOICES.get,
                horizontal=True, key=key("run", "kind"),
                help="A reconstruction twin may read cpu_util_overall, from which the identity N·overall − Σ other "
                     "cores nearly gives the target by arithmetic: good to fill in or check a core. A behavioural "
                     "twin reads neither, so it learns how the target behaves given the other cores and the "
                     "workload: what What-if answers are about.")
message = state.config_message()
if message is not None:
    level, text = message
    (st.success if level == "success" else st.error)(text)
verdict = st.empty()

telemetry = state.telemetry()
composition, features_tab, holdout_tab, run_tab = st.tabs(["Composition", "Feature sets", "Hold-out & CV", "Run"])

with features_tab:
    feature_sets = tuple(feature_set_editor(i, spec, len(config.feature_sets) > 1)
                         for i, spec in enumerate(config.feature_sets))
    st.button("Add feature set", icon=":material/add:", on_click=editor.add_feature_set, key=key("fs", "add"))
renamed = {old.name: new.name for old, new in zip(config.feature_sets, feature_sets)}
feature_names = [spec.name for spec in feature_sets]

with composition:
    layers_col, diagram_col = st.container(), st.container()  # full width: three models a row fit at 1280 px
    with layers_col:
        old_layers = [dataclasses.replace(layer, models=tuple(
            dataclasses.replace(m, feature_set=renamed.get(m.feature_set, m.feature_set)) for m in layer.models))
            for layer in config.stack.layers]
        layers = tuple(layer_editor(depth, layer, feature_names, len(old_layers) > 1)
                       for depth, layer in enumerate(old_layers, start=1))
        st.button("Add layer", icon=":material/add:", on_click=editor.add_layer, key=key("l", "add"))
    diagram = diagram_col.container()

lookback = dataclasses.replace(config, feature_sets=feature_sets,
                               stack=dataclasses.replace(config.stack, layers=layers)).lookback
with holdout_tab:
    split_col, cv_col = st.columns(2)
    with split_col:
        st.markdown("#### Hold-out (the final, read-once score)")
        split_kind = st.radio("Rows held out", list(HOLDOUT_LABELS), format_func=HOLDOUT_LABELS.get,
                              index=list(HOLDOUT_LABELS).index(config.split.kind), key=key("split", "kind"))
        if split_kind == "random":
            st.warning("LEAKY: neighbours of every test row are in training, so scores overstate the twin.",
                       icon=":material/warning:")
        # widget ranges reach every value a loaded configuration may hold, so none is silently clamped
        fraction = st.slider("Share of rows held out", min(0.05, config.split.test_fraction),
                             max(0.5, config.split.test_fraction), float(config.split.test_fraction), 0.05,
                             key=key("split", "fraction"))
        split_gap, test_sessions, split_seed = config.split.gap, config.split.test_sessions, config.split.seed
        if split_kind == "session_tail":
            split_gap = auto_or_number("Purge gap (rows)", f"automatic ({lookback} rows, the longest look-back)",
                                       config.split.gap, lookback, 0, MAX_LOOKBACK_ROWS, key("split", "gap"),
                                       "Rows dropped between each session's training part and its held-out tail.")
        elif split_kind == "whole_sessions":
            sessions = telemetry.sessions()
            labels = {int(s): f"S{s} · {w}" for s, w in zip(sessions["session"], sessions["workload_type"])}
            chosen = st.multiselect("Sessions to hold out (empty: the latest ones, up to the share above)",
                                    list(labels), default=[s for s in (test_sessions or ()) if s in labels],
                                    format_func=labels.get, key=key("split", "sessions"))
            test_sessions = tuple(chosen) or None
        else:
            split_seed = st.number_input("Shuffle seed", 0, MAX_SEED, config.split.seed, key=key("split", "seed"))
    with cv_col:
        st.markdown("#### Out-of-fold scheme (trains the next layer)")
        cv_kind = st.radio("Folds", list(CV_LABELS), format_func=CV_LABELS.get,
                           index=list(CV_LABELS).index(config.stack.cv.kind), key=key("cv", "kind"))
        if cv_kind == "kfold":
            st.warning("LEAKY: shuffled folds let each layer see the neighbours of the rows it predicts.",
                       icon=":material/warning:")
        n_splits = st.slider("Number of folds", 2, max(10, config.stack.cv.n_splits), config.stack.cv.n_splits,
                             key=key("cv", "n"))
        cv_gap, cv_seed = config.stack.cv.gap, config.stack.cv.seed
        if cv_kind == "blocked":
            cv_gap = auto_or_number("Fold purge gap (rows)", f"automatic ({lookback} rows, the longest look-back)",
                                    config.stack.cv.gap, lookback, 0, MAX_LOOKBACK_ROWS, key("cv", "gap"),
                                    "Rows dropped on both sides of every validation block.")
        else:
            cv_seed = st.number_input("Fold shuffle seed", 0, MAX_SEED, config.stack.cv.seed, key=key("cv", "seed"))
        refit = st.radio("Final models", list(REFIT_LABELS), format_func=REFIT_LABELS.get,
                         index=list(REFIT_LABELS).index(config.stack.refit), key=key("cv", "refit"))
        n_jobs = auto_or_number("Fits in parallel", "automatic (one per physical core)", config.stack.n_jobs, 1, 1,
                                MAX_N_JOBS, key("cv", "jobs"),
                                "Fits run side by side, each model on one thread; 1 runs one fit at a time with each "
                                "model on every core.")

with run_tab:
    name_col, target_col, seed_col = st.columns(3)
    name = name_col.text_input("Configuration name", config.name, key=key("run", "name"))
    targets = list(dict.fromkeys([*telemetry.core_columns, config.target]))
    target = target_col.selectbox("Target core", targets, index=targets.index(config.target), key=key("run", "target"),
                                  help="The core the twin predicts: from the other cores and the workload, and "
                                       "for a reconstruction twin also from overall.")
    seed = seed_col.number_input("Model seed", 0, MAX_SEED, config.seed, key=key("run", "seed"))
    description = st.text_area("Description", config.description, key=key("run", "description"))
    seed_compatible = st.toggle("Notebook protocol (seed-compatible) — LEAKY", config.seed_compatible,
                                key=key("run", "seedcompat"),
                                help="Windows run across sessions as in the notebook. Combine with the random "
                                     "hold-out and shuffled K-fold to reproduce its numbers.")

edited = dataclasses.replace(
    config, name=name.strip(), description=description, target=target, kind=kind, seed=int(seed),
    seed_compatible=seed_compatible, feature_sets=feature_sets,
    stack=dataclasses.replace(
        config.stack, layers=layers, refit=refit, n_jobs=n_jobs,
        cv=dataclasses.replace(config.stack.cv, kind=cv_kind, n_splits=int(n_splits), gap=cv_gap, seed=int(cv_seed))),
    split=dataclasses.replace(config.split, kind=split_kind, test_fraction=float(fraction), gap=split_gap,
                              test_sessions=test_sessions, seed=int(split_seed)))
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
        st.plotly_chart(fmt.titled_by_kind(stack_diagram(edited), edited.kind), key="stack_preview")
