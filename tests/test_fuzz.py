"""Fuzzing: whatever telemetry or configuration a user gives, loading and training either work or raise one of
our named errors (a TwinError subclass); any other exception is a traceback a user would see, and fails here.

Examples are drawn as small plain recipes (printed by hypothesis on failure) that a seeded generator turns into
frames, so a failure reads as its input. Runs are derandomised: CI tries the same cases every time.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, event, example, given, settings
from hypothesis import strategies as st

from twin_core import cli
from twin_core.config import LayerSpec, ModelSpec, RunConfig, StackConfig
from twin_core.demo import write_demo_parquet
from twin_core.errors import TwinError
from twin_core.features import FeatureSpec
from twin_core.pipeline import train_twin
from twin_core.presets import get_preset
from twin_core.splits import CVSpec, SplitSpec
from twin_core.telemetry import (OVERALL, SESSION, TIMESTAMP, WORKLOAD, Telemetry, load_uploaded,
                                 telemetry_from_frames)

FUZZ = settings(deadline=None, derandomize=True, database=None, print_blob=False,
                phases=(Phase.explicit, Phase.generate, Phase.shrink),
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

START = 1_758_983_000.0  # 2025-09-27 in epoch seconds
TIMESTAMP_KINDS = ("epoch_s", "epoch_s_int", "epoch_ms", "epoch_us", "epoch_ns", "datetime", "datetime_tz", "iso",
                   "float32", "timedelta", "huge_int", "before_1990", "after_2100", "text", "bool", "missing_cells")
VALID_TIMESTAMP_KINDS = ("epoch_s", "epoch_ms", "epoch_us", "datetime", "datetime_tz", "iso")
ORDERS = ("sorted", "reversed", "shuffled", "duplicates", "all_equal", "gap_inside")
CELL_FAULTS = ("nan", "inf", "-inf", "negative", "above_100", "rounding", "text", "none", "huge")
EXTRAS = ("nested_list", "nested_struct", "text_column", "numeric_column", "session", "source", "bool_column",
          "padded_core")
WORKLOADS = ("cpu_bound", "io_bound", "idle", "mixed_workload", "", " ", "ünïcode load", "x" * 300)
ROWS = (1, 2, 3, 7, 20, 45, 70, 150, 400)


# ---------------------------------------------------------------------------------------------------------------
# Telemetry recipes and the frames they describe
# ---------------------------------------------------------------------------------------------------------------

BREAKABLE = ("cores", "timestamp", "order", "workloads", "faults", "drop", "extras")


@st.composite
def file_recipes(draw: st.DrawFn, cores: int, broken: bool = True, rows: tuple[int, ...] = ROWS) -> dict:
    """One file as a plain dict: a valid recording, with up to two aspects broken when `broken`."""
    breaks = draw(st.lists(st.sampled_from(BREAKABLE), max_size=2, unique=True)) if broken else []
    columns = st.sampled_from(("target", "other_core", "overall", "workload", "timestamp"))
    return {
        "rows": draw(st.sampled_from(rows)),
        "cores": draw(st.integers(0, 6)) if "cores" in breaks else cores,
        "interval_s": draw(st.sampled_from((0.1, 1.0, 5.0))),
        "timestamp": draw(st.sampled_from(TIMESTAMP_KINDS if "timestamp" in breaks else VALID_TIMESTAMP_KINDS)),
        "order": draw(st.sampled_from(ORDERS if "order" in breaks else ("sorted", "shuffled", "gap_inside"))),
        "workloads": draw(st.lists(st.sampled_from(WORKLOADS if "workloads" in breaks else WORKLOADS[:4]),
                                   min_size=1, max_size=3)),
        "distinct_labels": draw(st.booleans()),  # one label per row: the one-hot columns must stay capped
        "constant": draw(st.lists(st.sampled_from(("target", "other_core", "overall")), max_size=1)),
        "faults": draw(st.lists(st.tuples(columns, st.sampled_from(CELL_FAULTS),
                                          st.sampled_from(("one cell", "half", "all"))),
                                min_size=1, max_size=2)) if "faults" in breaks else [],
        "drop": draw(st.lists(st.sampled_from((TIMESTAMP, WORKLOAD, OVERALL, "target")), min_size=1, max_size=2,
                              unique=True)) if "drop" in breaks else [],
        "extras": draw(st.lists(st.sampled_from(EXTRAS), min_size=1, max_size=2, unique=True))
        if "extras" in breaks else [],
        "starts_after_s": draw(st.sampled_from((3600.0, 3600.0, 0.0, 2.0))),  # 0 and 2 s: overlaps the file before
        "seed": draw(st.integers(0, 2**16)),
    }


@st.composite
def telemetry_recipes(draw: st.DrawFn, broken: bool = True, files: tuple[int, int] = (1, 3),
                      rows: tuple[int, ...] = ROWS) -> list[dict]:
    """`files` (fewest, most) files of the same machine (same core count unless a file breaks it)."""
    cores = draw(st.integers(2, 6))
    return draw(st.lists(file_recipes(cores, broken, rows), min_size=files[0], max_size=files[1]))


def _timestamps(kind: str, order: str, rows: int, interval_s: float, start: float, rng: np.random.Generator):
    seconds = start + interval_s * np.arange(rows)
    if order == "gap_inside" and rows > 2:
        seconds[rows // 2:] += 3600.0  # a long pause: two sessions in one file
    if order == "duplicates":
        seconds = np.repeat(seconds[: max(1, rows // 2 + 1)], 2)[:rows]
    elif order == "all_equal":
        seconds = np.full(rows, start)
    elif order == "reversed":
        seconds = seconds[::-1].copy()
    elif order == "shuffled":
        seconds = rng.permutation(seconds)
    micros = np.rint(seconds * 1e6).astype("int64")
    if kind == "epoch_s":
        return seconds
    if kind == "epoch_s_int":
        return seconds.astype("int64")
    if kind == "epoch_ms":
        return micros // 1000
    if kind == "epoch_us":
        return micros
    if kind == "epoch_ns":
        return micros * 1000
    if kind in ("datetime", "datetime_tz", "iso"):
        times = pd.to_datetime(micros, unit="us")
        if kind == "datetime_tz":
            return times.tz_localize("UTC").tz_convert("Europe/Paris")
        return times.strftime("%Y-%m-%dT%H:%M:%S.%f") if kind == "iso" else times
    if kind == "float32":
        return seconds.astype("float32")
    if kind == "timedelta":
        return pd.to_timedelta(seconds - start, unit="s")
    if kind == "huge_int":
        values = seconds.astype("int64")
        values[rng.integers(rows)] = 9 * 10**15
        return values
    if kind == "before_1990":
        return seconds - start + 1_000.0
    if kind == "after_2100":
        return seconds + 3.0e9
    if kind == "text":
        return np.array([f"t{i}" for i in range(rows)], dtype=object)
    if kind == "bool":
        return np.arange(rows) % 2 == 0
    values = seconds.copy()  # missing_cells
    values[rng.integers(rows)] = np.nan
    return values


def _fault_value(fault: str) -> object:
    return {"nan": np.nan, "inf": np.inf, "-inf": -np.inf, "negative": -3.0, "above_100": 250.0,
            "rounding": 100.0000001, "text": "n/a", "none": None, "huge": 1e308}[fault]


def build_frame(recipe: dict, start: float) -> pd.DataFrame:
    """The frame a recipe describes; the same recipe always gives the same frame."""
    rng = np.random.default_rng(recipe["seed"])
    rows, cores = recipe["rows"], recipe["cores"]
    data: dict[str, object] = {TIMESTAMP: _timestamps(recipe["timestamp"], recipe["order"], rows,
                                                      recipe["interval_s"], start, rng)}
    for c in range(cores):
        data[f"cpu_util_core_{c}"] = np.round(rng.uniform(0, 100, rows), 1)
    if cores:
        data[OVERALL] = np.round(np.mean([data[f"cpu_util_core_{c}"] for c in range(cores)], axis=0), 1)
    else:
        data[OVERALL] = np.round(rng.uniform(0, 100, rows), 1)
    if recipe["distinct_labels"]:
        data[WORKLOAD] = [f"label_{i}" for i in range(rows)]
    else:
        data[WORKLOAD] = [recipe["workloads"][i] for i in rng.integers(len(recipe["workloads"]), size=rows)]
    frame = pd.DataFrame(data)
    names = {"target": "cpu_util_core_0", "other_core": f"cpu_util_core_{max(cores - 1, 0)}", "overall": OVERALL,
             "workload": WORKLOAD, "timestamp": TIMESTAMP}
    for column in recipe["constant"]:  # a flat recording: R² of a constant series cannot be computed
        if names[column] in frame:
            frame[names[column]] = 37.5
    for column, fault, share in recipe["faults"]:
        name = names[column]
        if name not in frame:
            continue
        hit = {"one cell": np.arange(rows) == rng.integers(rows), "half": rng.random(rows) < 0.5,
               "all": np.ones(rows, bool)}[share]
        value = _fault_value(fault)
        if not (isinstance(value, float) and pd.api.types.is_float_dtype(frame[name])):
            frame[name] = frame[name].astype(object)
        frame.loc[hit, name] = value
    for extra in recipe["extras"]:
        if extra == "nested_list":
            frame["tags"] = [[i, i + 1] for i in range(rows)]
        elif extra == "nested_struct":
            frame["meta"] = [{"host": "a", "n": i} for i in range(rows)]
        elif extra == "text_column":
            frame["host"] = "node-1"
        elif extra == "numeric_column":
            frame["cpu_freq_current_mhz"] = rng.uniform(800, 3600, rows)
        elif extra == "bool_column":
            frame["throttled"] = rng.random(rows) < 0.5
        elif extra == "padded_core" and cores:
            frame["cpu_util_core_01"] = frame[f"cpu_util_core_{min(1, cores - 1)}"]
        elif extra in (SESSION, "source"):
            frame[extra] = 1
    dropped = ["cpu_util_core_0" if d == "target" else d for d in recipe["drop"]]
    return frame.drop(columns=[d for d in dropped if d in frame])


def build_frames(recipes: list[dict]) -> list[tuple[str, pd.DataFrame]]:
    """One named frame per recipe, each starting its `starts_after_s` after the start of the one before."""
    starts = START + np.cumsum([0.0] + [r["starts_after_s"] for r in recipes[1:]])
    return [(f"f{i}.parquet", build_frame(r, start)) for i, (r, start) in enumerate(zip(recipes, starts))]


def load_or_refuse(frames: list[tuple[str, pd.DataFrame]]) -> Telemetry | None:
    """The telemetry, or None when the loader refused it with one of our errors (anything else propagates)."""
    try:
        telemetry = telemetry_from_frames(frames)
    except TwinError as exc:
        assert str(exc).strip(), f"{type(exc).__name__} with an empty message"
        event(f"refused: {type(exc).__name__}")
        return None
    event("loaded")
    return telemetry


def assert_usable(telemetry: Telemetry) -> None:
    """What a successful load promises: sorted finite times, finite percentages, labels and at least 2 cores."""
    frame = telemetry.frame
    assert len(frame) >= 1 and len(telemetry.core_columns) >= 2
    assert telemetry.target in telemetry.core_columns
    values = frame[[OVERALL, *telemetry.core_columns]].to_numpy(dtype=float)
    assert np.isfinite(values).all() and values.min() >= 0 and values.max() <= 100
    times = frame[TIMESTAMP]
    assert times.notna().all()
    for _, session in frame.groupby(SESSION):
        assert session[TIMESTAMP].is_monotonic_increasing
    assert (frame[WORKLOAD].astype(str).str.strip() != "").all()


# ---------------------------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------------------------

@settings(FUZZ, max_examples=80)
@given(telemetry_recipes())
def test_loading_random_frames_works_or_names_the_problem(recipes):
    telemetry = load_or_refuse(build_frames(recipes))
    if telemetry is not None:
        assert_usable(telemetry)


def _parquet_bytes(frame: pd.DataFrame) -> bytes:
    """The frame as parquet; object columns of mixed cell types are written as text, as a CSV export would."""
    frame = frame.copy()
    for column in frame.columns[frame.dtypes == object]:
        kinds = {type(v) for v in frame[column] if v is not None}
        if len(kinds) > 1:
            frame[column] = [None if v is None else str(v) for v in frame[column]]
    buffer = io.BytesIO()
    frame.to_parquet(buffer, engine="pyarrow")
    return buffer.getvalue()


def _damage(data: bytes, how: str, where: int) -> bytes:
    if how == "truncate":
        return data[: max(1, where % len(data))]
    if how == "flip":
        at = 4 + where % max(1, len(data) - 8)
        return data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1:]
    if how == "empty":
        return b""
    if how == "csv":
        return b"timestamp,cpu_util_core_0\n1,2\n"
    return data


@settings(FUZZ, max_examples=60)
@example(recipes=[{"rows": 20, "cores": 2, "interval_s": 1.0, "timestamp": "epoch_s", "order": "sorted",  # one byte
                   "workloads": ["cpu_bound"], "distinct_labels": False, "faults": [], "drop": [],  # of a label
                   "extras": [], "constant": [], "starts_after_s": 3600.0, "seed": 0}],
         damages=[("flip", 866), ("none", 0)])  # flipped: invalid UTF-8
@given(telemetry_recipes(files=(1, 2)),
       st.lists(st.tuples(st.sampled_from(("none", "none", "truncate", "flip", "empty", "csv")), st.integers(0, 2**20)),
                min_size=2, max_size=2))
def test_uploading_random_parquet_bytes_works_or_names_the_problem(recipes, damages):
    files = [(name, _damage(_parquet_bytes(frame), how, where))
             for (name, frame), (how, where) in zip(build_frames(recipes), damages)]
    try:
        telemetry = load_uploaded(files)
    except TwinError as exc:
        assert str(exc).strip()
        event(f"refused: {type(exc).__name__}")
        return
    event("loaded")
    assert_usable(telemetry)


# ---------------------------------------------------------------------------------------------------------------
# Configurations
# ---------------------------------------------------------------------------------------------------------------

LAGS = st.integers(0, 12)
WINDOWS = st.lists(st.integers(2, 30), max_size=2, unique=True).map(tuple)
@st.composite
def feature_specs(draw: st.DrawFn, name: str) -> FeatureSpec:
    """A valid FeatureSpec with look-backs from none to longer than the shortest sessions."""
    return FeatureSpec(
        name=name, current_values=draw(st.booleans()), overall_windows=draw(WINDOWS), core_windows=draw(WINDOWS),
        identity_windows=draw(WINDOWS),
        window_stats=draw(st.lists(st.sampled_from(("mean", "std", "min", "max")), min_size=1, max_size=2,
                                   unique=True).map(tuple)),
        windows_include_current=draw(st.booleans()), overall_lags=draw(LAGS), core_lags=draw(LAGS),
        identity=draw(st.booleans()), identity_lags=draw(LAGS), workload_onehot=draw(st.booleans()),
        min_history=draw(st.sampled_from((0, 0, 0, 5, 40))))


MODELS = {
    "lgbm": ("lightgbm", {"n_estimators": 10, "learning_rate": 0.3, "num_leaves": 7}),
    "ridge": ("ridgecv", {}),
}


@st.composite
def run_configs(draw: st.DrawFn) -> RunConfig:
    """A valid small stack of quick models over random feature sets, hold-out and folds (wrong fields are
    fuzzed through JSON documents below)."""
    sets = [draw(feature_specs(f"set{i}")) for i in range(draw(st.integers(1, 2)))]
    layers = []
    for depth in range(draw(st.integers(1, 3))):
        picks = draw(st.lists(st.sampled_from(sorted(MODELS)), min_size=1, max_size=2, unique=True))
        models = tuple(ModelSpec(p, MODELS[p][0], MODELS[p][1],
                                 draw(st.sampled_from([s.name for s in sets])) if depth == 0 else None)
                       for p in picks)
        layers.append(LayerSpec(models, passthrough=depth > 0 and draw(st.booleans())))
    split = SplitSpec(kind=draw(st.sampled_from(("session_tail", "session_tail", "whole_sessions", "random"))),
                      test_fraction=draw(st.sampled_from((0.2, 0.05, 0.3, 0.5))),
                      gap=draw(st.none() | st.integers(0, 30)),
                      test_sessions=draw(st.none() | st.lists(st.integers(0, 4), min_size=1, max_size=2,
                                                              unique=True).map(tuple)),
                      seed=draw(st.integers(0, 5)))
    cv = CVSpec(kind=draw(st.sampled_from(("blocked", "blocked", "sessions", "kfold"))),
                n_splits=draw(st.integers(2, 6)), gap=draw(st.none() | st.integers(0, 30)),
                seed=draw(st.integers(0, 5)))
    return RunConfig(name="fuzz", feature_sets=tuple(sets),
                     stack=StackConfig(tuple(layers), cv=cv, refit=draw(st.sampled_from(("full", "average"))),
                                       n_jobs=1),
                     split=split, target=f"cpu_util_core_{draw(st.sampled_from((0, 0, 0, 1)))}",
                     seed=draw(st.integers(0, 3)), seed_compatible=draw(st.booleans()))


def assert_trained(result) -> None:
    """What a finished run promises: finite predictions of every model on the hold-out rows, and a metrics
    document that is strict JSON (scores that cannot be computed are null)."""
    predictions = result.evaluation.predictions[list(result.evaluation.models["key"])]
    assert len(predictions) > 0 and np.isfinite(predictions.to_numpy(dtype=float)).all()
    text = json.dumps(result.metrics, allow_nan=False, default=str)
    assert json.loads(text)["rows"]["test"] == len(predictions)


@pytest.mark.filterwarnings("ignore::UserWarning")  # the product's notes on rare or unseen workload labels
@settings(FUZZ, max_examples=20)
@given(telemetry_recipes(broken=False, files=(2, 3), rows=(20, 45, 70, 150, 200, 200)), run_configs())
def test_training_random_configs_on_random_telemetry_works_or_names_the_problem(recipes, config):
    telemetry = load_or_refuse(build_frames(recipes))
    if telemetry is None:
        return
    try:
        result = train_twin(telemetry, config)
    except TwinError as exc:
        assert str(exc).strip()
        event(f"training refused: {type(exc).__name__}")
        return
    event("trained")
    assert_trained(result)


JSON_SCALARS = (st.none() | st.booleans() | st.integers(-10**12, 10**12)
                | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8))
JSON_VALUES = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    """Every path (keys and list positions) into a JSON document, containers before their contents."""
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    found = [prefix]
    for key, child in children:
        found.extend(_paths(child, prefix + (key,)))
    return found


def _mutate(document: dict, path: tuple, action: str, value: object) -> object:
    """A copy of `document` with the node at `path` replaced, deleted, or given an unknown key."""
    document = json.loads(json.dumps(document))
    if not path:
        return value if action == "replace" else {**document, "unknown_field": value}
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if action == "delete":
        del parent[path[-1]]
    elif action == "add" and isinstance(parent[path[-1]], dict):
        parent[path[-1]]["unknown_field"] = value
    else:
        parent[path[-1]] = value
    return document


@st.composite
def mutated_configs(draw: st.DrawFn, values: st.SearchStrategy = JSON_VALUES) -> object:
    """A preset's JSON with one or two nodes (mostly leaves) replaced by random JSON, deleted, or given an
    unknown field: close enough to a real config that many pass the first checks."""
    document: object = json.loads(get_preset(draw(st.sampled_from(("quick", "default", "seed-v3")))).to_json())
    for _ in range(draw(st.integers(1, 2))):
        if not isinstance(document, dict):
            break
        paths = _paths(document)
        leaves = [p for p in paths if not isinstance(_at(document, p), (dict, list)) or not _at(document, p)]
        path = draw(st.one_of(*[st.sampled_from(leaves)] * 3, st.sampled_from(paths)))
        document = _mutate(document, path, draw(st.sampled_from(("replace", "replace", "delete", "add"))),
                           draw(values))
    return document


def _at(document: object, path: tuple) -> object:
    for key in path:
        document = document[key]
    return document


def config_or_refusal(document: object) -> RunConfig | None:
    """The config a JSON-ish document describes, or None when it is refused with one of our errors."""
    try:
        config = RunConfig.from_dict(document)
    except TwinError as exc:
        assert str(exc).strip()
        event(f"config refused: {type(exc).__name__}")
        return None
    event("config accepted")
    return config


@settings(FUZZ, max_examples=150)
@given(mutated_configs() | st.dictionaries(st.text(max_size=10), JSON_VALUES, max_size=6) | JSON_VALUES)
def test_random_config_documents_are_read_or_refused_by_name(document):
    config = config_or_refusal(document)
    if config is not None:  # what was accepted survives the JSON round trip unchanged
        assert RunConfig.from_json(config.to_json()) == config


@settings(FUZZ, max_examples=20)
@given(st.integers(1, 200_000), st.sampled_from("[{"))
def test_deeply_nested_config_text_is_refused_by_name(depth, bracket):
    closing = {"[": "]", "{": "}"}[bracket]
    opening = '{"a":' if bracket == "{" else "["
    text = '{"name": ' + opening * depth + "1" + closing * depth + "}"
    # 32 levels below "name" are refused for their depth (or, past 1 MB, their size); shallower, "name" is no text
    deep = r"nested (more than 32 levels deep|too deeply)|larger than 1,000,000 bytes"
    with pytest.raises(TwinError, match=deep if depth >= 32 else r"^name: must be non-empty text"):
        RunConfig.from_json(text)


MODERATE_SCALARS = (st.none() | st.booleans() | st.integers(-3, 60)
                    | st.sampled_from((0.5, 2.5, -0.0, math.nan, math.inf, 1e-9)) | st.text(max_size=6))
MODERATE_VALUES = st.one_of(MODERATE_SCALARS, MODERATE_SCALARS, MODERATE_SCALARS,
                            st.lists(MODERATE_SCALARS, max_size=3))


@pytest.fixture(scope="module")
def small_telemetry() -> Telemetry:
    """Three short sessions of four cores, enough for the quick preset."""
    return telemetry_from_frames(build_frames([
        {"rows": rows, "cores": 4, "interval_s": 1.0, "timestamp": "epoch_s", "order": "sorted",
         "workloads": ["cpu_bound", "idle"], "distinct_labels": False, "faults": [], "drop": [], "extras": [],
         "constant": [], "starts_after_s": 3600.0, "seed": seed} for seed, rows in enumerate((150, 120, 90))]))


@pytest.mark.filterwarnings("ignore::UserWarning")  # the product's notes on rare or unseen workload labels
@settings(FUZZ, max_examples=40)
@given(mutated_configs(MODERATE_VALUES))
def test_any_config_that_validates_trains_or_names_the_problem(small_telemetry, document):
    config = config_or_refusal(document)
    if config is None:
        return
    quick_models = replace(config.stack, n_jobs=1, layers=tuple(
        replace(layer, models=tuple(replace(m, params={**m.params, "n_estimators": 10})
                                    if m.kind == "lightgbm" and isinstance(m.params, dict) else m
                                    for m in layer.models))
        for layer in config.stack.layers))
    try:
        result = train_twin(small_telemetry, replace(config, stack=quick_models))
    except TwinError as exc:
        assert str(exc).strip()
        event(f"training refused: {type(exc).__name__}")
        return
    event("trained")
    assert_trained(result)


# ---------------------------------------------------------------------------------------------------------------
# The command line
# ---------------------------------------------------------------------------------------------------------------

CLI_FLAGS = {  # each flag with values a person might type, right and wrong
    "--split": ("session_tail", "whole_sessions", "random"),
    "--test-fraction": ("0.2", "0.5", "0", "1", "-0.1", "nan", "1e309", "abc"),
    "--gap": ("0", "5", "-1", "2.5", "1000000000", "x"),
    "--test-sessions": ("0", "2", "9", "-1", "a"),
    "--cv": ("blocked", "kfold", "sessions"),
    "--folds": ("2", "3", "1", "2.5", "5000", "0"),
    "--n-jobs": ("1", "0", "-3", "x"),
    "--target": ("cpu_util_core_0", "cpu_util_core_3", "cpu_util_core_9", "cpu_util_overall", ""),
    "--gap-factor": ("10", "0", "-1", "nan"),
    "--min-gap-s": ("10", "0", "-5", "inf"),
    "--memory-budget": ("2GB", "1", "0", "lots"),
}
GLOBAL_FLAGS = ("--gap-factor", "--min-gap-s", "--memory-budget")  # given before the command


@pytest.fixture(scope="module")
def cli_data(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Three short recordings of four cores at 5 s, as parquet files in a folder."""
    out = tmp_path_factory.mktemp("cli_data")
    write_demo_parquet(out, rows=240, cores=4, sessions=3, interval_s=5.0, seed=5)
    return str(out)


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(FUZZ, max_examples=15)
@given(st.dictionaries(st.sampled_from(sorted(CLI_FLAGS)), st.integers(0, 7), max_size=3), st.booleans())
def test_cli_train_with_random_flags_exits_with_one_line_never_a_traceback(cli_data, choices, leaky):
    flags = {flag: CLI_FLAGS[flag][i % len(CLI_FLAGS[flag])] for flag, i in choices.items()}
    argv = [*(x for flag in GLOBAL_FLAGS if flag in flags for x in (flag, flags[flag])),
            "train", cli_data, "--preset", "quick", "--quiet", *(["--seed-compatible"] if leaky else []),
            *(x for flag, value in flags.items() if flag not in GLOBAL_FLAGS for x in (flag, value))]
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse refusing a flag
            code = exc.code
    event(f"exit {code}")
    assert code in (cli.EXIT_OK, cli.EXIT_ERROR, cli.EXIT_INVALID_DATA), (argv, code)
    if code != cli.EXIT_OK:
        lines = err.getvalue().strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (argv, err.getvalue())
