"""Sweeps: a grid over feature windows and lags, model sizes and layer compositions, each point an independent run.

A grid is configuration as data (a JSON file, `SweepGrid`): a base (a preset's name or a whole run configuration)
and axes, each a list of values for one setting: a field of a feature set (`features`), a parameter of a model
(`params`) or the models of a layer, as named alternatives where `null` drops the layer (`layers`). The product of
the axes is a list of `SweepRun`s, each a validated RunConfig named after its settings.

The runs are trained as independent tasks on an engine through the fleet's `train_tasks` (each worker reads the
data files once, the client holds none of them), or one after another in this process on telemetry already loaded
(the app). The winner is the run whose best model has the highest out-of-fold R² on its training rows: the hold-out
is reported beside it, never looked at to choose.
"""
from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from twin_core.budget import describe_budget, human, memory_budget, training_bytes
from twin_core.config import MAX_LAYERS, Models, RunConfig
from twin_core.engine import Engine
from twin_core.errors import ConfigError, MemoryBudgetError, TrainingCancelled, TwinError
from twin_core.evaluate import REFERENCE_BY_KIND, model_key, model_words
from twin_core.features import FeatureSpec
from twin_core.fleet import FleetOptions, Host, HostTask, train_tasks
from twin_core.pipeline import TrainResult, train_twin, training_sizes
from twin_core.presets import PRESETS, get_preset
from twin_core.stack import ProgressCallback
from twin_core.schema import (
    MAX_CONFIG_BYTES, MAX_ITEMS, MAX_NAME_CHARS, SPEC_CONFIG, Name, check_depth, describe, join_path, parse, text,
    whole,
)
from twin_core.store import RunStore
from twin_core.telemetry import Telemetry

MAX_RUNS = 200
SELECTED_BY = "the best model's out-of-fold R² on training rows (the hold-out is never used to choose)"
FEATURE_FIELDS = tuple(f.name for f in fields(FeatureSpec) if f.name != "name")

LayerNumber = whole(1, MAX_LAYERS, f"layers are numbered from 1 (the first) to {MAX_LAYERS}")
ParamName = text("must be the name of a model parameter, e.g. n_estimators")
Values = Annotated[tuple[Any, ...], Field(min_length=1, max_length=MAX_ITEMS)]
Choices = Annotated[dict[Name, Models | None], Field(min_length=1, max_length=MAX_ITEMS)]
PresetName = text(f"must be a preset's name: one of {', '.join(sorted(PRESETS))}")


@dataclass(frozen=True)
class FeatureAxis:
    """Values for one field of a feature set of the base (a window list, a lag depth, a switch)."""

    __pydantic_config__ = SPEC_CONFIG

    feature_set: Name
    field: Annotated[str, Field(strict=True)]
    values: Values


@dataclass(frozen=True)
class ParamAxis:
    """Values for one parameter of one model of the base (a model size: n_estimators, num_leaves, alpha...)."""

    __pydantic_config__ = SPEC_CONFIG

    layer: LayerNumber
    model: Name
    param: ParamName
    values: Values


@dataclass(frozen=True)
class LayerAxis:
    """Named alternatives for the models of one layer of the base; an alternative that is null drops the layer."""

    __pydantic_config__ = SPEC_CONFIG

    layer: LayerNumber
    choices: Choices


@dataclass(frozen=True)
class SweepGrid:
    """A sweep as data: its name, the base configuration (`preset` or `config`, exactly one) and the axes to vary.

    Every run is the base with one value of each axis; the runs are the product of the axes (at most MAX_RUNS).
    """

    __pydantic_config__ = SPEC_CONFIG

    name: Name
    preset: PresetName | None = None
    config: Annotated[dict[str, Any], Field(strict=True)] | None = None
    features: Annotated[tuple[FeatureAxis, ...], Field(max_length=MAX_ITEMS)] = ()
    params: Annotated[tuple[ParamAxis, ...], Field(max_length=MAX_ITEMS)] = ()
    layers: Annotated[tuple[LayerAxis, ...], Field(max_length=MAX_ITEMS)] = ()

    def base(self) -> RunConfig:
        """The configuration every run starts from (a ConfigError naming `preset` or `config.<field>`)."""
        if (self.preset is None) == (self.config is None):
            raise ConfigError("give exactly one base: a preset's name (`preset`) or a run configuration (`config`)",
                              "preset")
        if self.preset is not None:
            try:
                return get_preset(self.preset)
            except ConfigError as exc:
                raise ConfigError(str(exc), "preset") from None
        try:
            return RunConfig.from_dict(self.config)
        except ConfigError as exc:
            raise ConfigError(exc.problem, join_path("config", *_path_parts(exc.path))) from None

    def axes(self) -> list[tuple[str, str, tuple]]:
        """(JSON path, label, values) of every axis, in the order the runs' names list them."""
        base = self.base()
        names = [m.name for layer in base.stack.layers for m in layer.models]
        found = [(f"features[{i}]", f"{a.feature_set}.{a.field}", a.values) for i, a in enumerate(self.features)]
        found += [(f"params[{i}]", f"{a.model}.{a.param}" if names.count(a.model) == 1
                   else f"layer {a.layer} {a.model}.{a.param}", a.values) for i, a in enumerate(self.params)]
        found += [(f"layers[{i}]", f"layer {a.layer}", tuple(a.choices)) for i, a in enumerate(self.layers)]
        return found

    def to_dict(self) -> dict:
        """The grid as its JSON file holds it (without the axes left empty)."""
        data = asdict(self)
        return {k: v for k, v in data.items() if v not in (None, [], ())}

    @classmethod
    def from_dict(cls, data: Mapping) -> SweepGrid:
        """Parse and check a grid (see `expand` for what is checked); anything else is a ConfigError naming the
        field."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"a sweep grid must be a JSON object ({{...}}), got {describe(data)}")
        check_depth(data)
        return parse(cls, dict(data))

    @classmethod
    def from_json(cls, text: str | bytes) -> SweepGrid:
        """Parse a grid file's text; over 1 MB or malformed JSON is a ConfigError."""
        if len(text) > MAX_CONFIG_BYTES:
            raise ConfigError(f"the sweep grid is larger than {MAX_CONFIG_BYTES:,} bytes; a grid is a few kB")
        try:
            data = json.loads(text)
        except (RecursionError, ValueError) as exc:
            raise ConfigError(f"the sweep grid is not valid JSON: {exc}") from None
        return cls.from_dict(data)


def _path_parts(path: str) -> list[str | int]:
    """'stack.layers[1].name' → ['stack', 'layers', 1, 'name'] (join_path's inverse, for re-rooting a path)."""
    parts: list[str | int] = []
    for name, index in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]", path):
        parts.append(int(index) if index else name)
    return parts


def read_grid(path: str | Path) -> SweepGrid:
    """A grid file, as `sweep --grid` and the Sweep page's upload read it."""
    try:
        with Path(path).open("rb") as file:  # one byte past the cap: from_json refuses it without reading the rest
            return SweepGrid.from_json(file.read(MAX_CONFIG_BYTES + 1))
    except OSError as exc:
        raise ConfigError(f"Cannot read the sweep grid {path} ({exc.strerror or exc}); pass a grid JSON file such as "
                          "examples/sweep_quick.json.") from None


@dataclass(frozen=True)
class SweepRun:
    """One point of a grid: its settings (axis label → value, in words) and the configuration it trains."""

    index: int
    settings: tuple[tuple[str, str], ...]
    config: RunConfig

    @property
    def name(self) -> str:
        """The run's name (its configuration's): the base's name and its settings."""
        return self.config.name


def _value_text(value: Any) -> str:
    return json.dumps(value, separators=(", ", ":")) if not isinstance(value, str) else value


_KEEP = object()  # a pick that leaves its axis's setting as the base has it


def _apply(base: RunConfig, grid: SweepGrid, picks: Sequence[Any]) -> RunConfig:
    """The base with one value of every axis (`picks`, in `grid.axes()` order; _KEEP leaves one as it is); dropped
    layers go last."""
    config = base
    at = iter(picks)
    for axis in grid.features:
        value = next(at)
        if value is _KEEP:
            continue
        config = replace(config, feature_sets=tuple(replace(s, **{axis.field: value}) if s.name == axis.feature_set
                                                    else s for s in config.feature_sets))
    layers: list = list(config.stack.layers)
    for axis in grid.params:
        value, layer = next(at), layers[axis.layer - 1]
        if value is _KEEP:
            continue
        layers[axis.layer - 1] = replace(layer, models=tuple(
            replace(m, params={**m.params, axis.param: value}) if m.name == axis.model else m for m in layer.models))
    for axis in grid.layers:
        pick = next(at)
        if pick is _KEEP:
            continue
        models = axis.choices[pick]
        layers[axis.layer - 1] = None if models is None else replace(layers[axis.layer - 1], models=models)
    return replace(config, stack=replace(config.stack, layers=tuple(layer for layer in layers if layer is not None)))


def _check_axes(grid: SweepGrid, base: RunConfig) -> None:
    """Refuse axes that name nothing of the base, vary one setting twice, or vary a layer's models two ways."""
    sets = [s.name for s in base.feature_sets]
    depth = len(base.stack.layers)
    seen: set = set()
    for i, axis in enumerate(grid.features):
        if axis.feature_set not in sets:
            raise ConfigError(f"unknown feature set '{axis.feature_set}'; the base defines {', '.join(sets)}",
                              f"features[{i}].feature_set")
        if axis.field not in FEATURE_FIELDS:
            raise ConfigError(f"'{axis.field}' is not a field of a feature set; use one of {', '.join(FEATURE_FIELDS)}",
                              f"features[{i}].field")
        _seen_once(seen, ("feature", axis.feature_set, axis.field), f"features[{i}]")
        _distinct(axis.values, f"features[{i}]")
    varied_layers = {axis.layer for axis in grid.layers}
    for i, axis in enumerate(grid.params):
        if axis.layer > depth:
            raise ConfigError(f"the base has {depth} layer(s), so there is no layer {axis.layer}", f"params[{i}].layer")
        names = [m.name for m in base.stack.layers[axis.layer - 1].models]
        if axis.model not in names:
            raise ConfigError(f"layer {axis.layer} of the base has no model '{axis.model}'; it has "
                              f"{', '.join(names)}", f"params[{i}].model")
        if axis.layer in varied_layers:
            raise ConfigError(f"layer {axis.layer}'s models are also varied by a `layers` axis; vary the sizes inside "
                              "its alternatives instead (one alternative per size)", f"params[{i}].layer")
        _seen_once(seen, ("param", axis.layer, axis.model, axis.param), f"params[{i}]")
        _distinct(axis.values, f"params[{i}]")
    for i, axis in enumerate(grid.layers):
        if axis.layer > depth:
            raise ConfigError(f"the base has {depth} layer(s), so there is no layer {axis.layer}", f"layers[{i}].layer")
        _seen_once(seen, ("layer", axis.layer), f"layers[{i}]")
        dropped = [name for name, models in axis.choices.items() if models is None]
        if axis.layer == 1 and dropped:
            raise ConfigError("layer 1 is the one that reads the features, so it cannot be dropped (null); give it "
                              "other models, or drop a layer above it",
                              f"layers[{i}].choices[{json.dumps(dropped[0])}]")


def _distinct(values: tuple, path: str) -> None:
    """Refuse a value given twice in one axis: its runs would share a name, so one would hide the other in the table
    and the outputs (both marked winner, one run-NN folder written twice)."""
    first: dict[str, int] = {}
    for j, value in enumerate(values):
        said = json.dumps(value, sort_keys=True, default=str)
        if said in first:
            raise ConfigError(f"repeats values[{first[said]}] ({said}); give each value once", f"{path}.values[{j}]")
        first[said] = j


def _seen_once(seen: set, key: tuple, path: str) -> None:
    """Refuse a setting varied by two axes (the product would hold each run twice)."""
    if key in seen:
        raise ConfigError("this setting is already varied by an earlier axis; put all its values in one axis", path)
    seen.add(key)


def expand(grid: SweepGrid) -> list[SweepRun]:
    """The runs of a grid: the product of its axes applied to its base, each validated and named after its settings.

    Raises ConfigError naming the field at fault: no axis, an axis naming what the base does not have, a value that
    makes an invalid configuration (`features[0].values[1]: ...`), or more than MAX_RUNS runs.
    """
    base = grid.base()
    axes = grid.axes()
    if not axes:
        raise ConfigError("a sweep needs at least one axis: `features`, `params` or `layers` (see "
                          "examples/sweep_quick.json)", "features")
    _check_axes(grid, base)
    count = 1
    for _, _, values in axes:
        count *= len(values)
    if count > MAX_RUNS:
        sizes = " × ".join(str(len(values)) for _, _, values in axes)
        raise ConfigError(f"the grid makes {count:,} runs ({sizes}); a sweep runs at most {MAX_RUNS}: use fewer "
                          "values or axes, or split it into several sweeps")
    for position, (path, _, values) in enumerate(axes):  # each value alone on the base: its own message
        for j, value in enumerate(values):
            picks = [value if k == position else _KEEP for k in range(len(axes))]
            _valid(_apply(base, grid, picks), f"{path}.{'choices' if path.startswith('layers') else 'values'}"
                                               f"[{json.dumps(value) if path.startswith('layers') else j}]")
    runs = []
    for index, picks in enumerate(itertools.product(*(values for _, _, values in axes))):
        settings = tuple((label, _value_text(value)) for (_, label, _), value in zip(axes, picks))
        config = _apply(base, grid, picks)
        said = " · ".join(f"{label}={value}" for label, value in settings)
        name = f"{base.name} · {said}"
        if len(name) > MAX_NAME_CHARS:
            name = f"{name[:MAX_NAME_CHARS - 8]}… #{index + 1}"
        config = replace(config, name=name, description=f"Sweep '{grid.name}' of {base.name}: {said}.")
        _valid(config, f"run {index + 1} ({said})")
        runs.append(SweepRun(index, settings, config))
    return runs


def _valid(config: RunConfig, where: str) -> None:
    try:
        config.validate()
    except ConfigError as exc:
        raise ConfigError(f"makes an invalid configuration: {exc}", where) from None


# -- memory ------------------------------------------------------------------------------------------------------
def check_memory(runs: Sequence[SweepRun], telemetry: Telemetry, *, at_once: int,
                 budget: str | int | None = None) -> int:
    """Refuse, before any run starts, a sweep whose `at_once` costliest runs side by side would pass the memory
    budget (MemoryBudgetError, saying what to change); returns the estimate in bytes."""
    # each run on its worker: its own copy of the telemetry, its features and one fit at a time
    each = sorted((training_bytes(**training_sizes(telemetry, run.config), parallel_fits=1) for run in runs),
                  reverse=True)
    side_by_side = max(1, min(at_once, len(each)))
    need = sum(each[:side_by_side])
    limit = memory_budget(budget)
    if need > limit:
        raise MemoryBudgetError(
            f"The sweep would need about {human(need)} at once ({side_by_side} run(s) side by side, each with its own "
            f"copy of the {len(telemetry.frame):,} rows and its features; the costliest {human(each[0])}) but the "
            f"memory budget is {human(limit)} ({describe_budget(budget)}); run fewer side by side (--workers), use "
            "fewer lags or windows in the grid, or give a larger --memory-budget.")
    return need


# -- running -----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepOutcome:
    """One run's end: its finished run (a TrainResult, without the telemetry or the feature matrix), or why it has
    none."""

    run: SweepRun
    result: TrainResult | None = None
    error: str | None = None


def train_sweep(runs: Sequence[SweepRun], files: Sequence[str | Path], engine: Engine,
                options: FleetOptions = FleetOptions()) -> Iterator[SweepOutcome]:
    """Train every run as an independent task on `engine` (each worker reads `files` once, and builds no report:
    the client writes the winner's); yield each outcome as it finishes, a run that failed with its one message."""
    paths = tuple(str(Path(p).resolve()) for p in files)
    by_name = {run.name: run for run in runs}
    tasks = [HostTask(Host(run.name, paths), run.config.to_json(), options, report=False) for run in runs]
    for outcome in train_tasks(tasks, engine):
        yield SweepOutcome(by_name[outcome.host.name], outcome.run, outcome.error)


def train_sweep_here(runs: Sequence[SweepRun], telemetry: Telemetry, *,
                     should_cancel: Callable[[], bool] | None = None, engine: Engine | None = None,
                     on_progress: ProgressCallback | None = None) -> Iterator[SweepOutcome]:
    """Train the runs one after another in this process on telemetry already loaded (the app's), each with every
    core; `on_progress` hears each run's fits; a cancel stops between two fits (TrainingCancelled)."""
    for run in runs:
        if should_cancel is not None and should_cancel():
            raise TrainingCancelled("the sweep was stopped before its next run")
        try:
            result = train_twin(telemetry, run.config, should_cancel=should_cancel, engine=engine,
                                on_progress=on_progress)
            yield SweepOutcome(run, result)
        except TrainingCancelled:
            raise
        except TwinError as exc:
            yield SweepOutcome(run, error=str(exc))


# -- the table ---------------------------------------------------------------------------------------------------
def run_row(run: SweepRun, metrics: dict) -> dict:
    """One run's line of the sweep table, from its metrics.json: its settings, the best model's out-of-fold and
    hold-out R², each layer's best, the baselines' hold-out R² and its seconds."""
    return _row(run.index, run.name, dict(run.settings), metrics)


def _settings_of(name: str) -> dict[str, str]:
    """A run's settings read back from its name (`base · label=value · …`, as `expand` names it), for runs kept in
    a store; a name cut short (over 200 characters) gives what it still holds."""
    said = name.split(" · ")[1:]
    return dict(part.split("=", 1) for part in said if "=" in part)


def kept_rows(store: RunStore, sweep_id: str) -> list[dict]:
    """The table lines of a sweep kept in a run store, each with its run id (`run_id`), in the order it ran."""
    table = store.list(sweep=sweep_id).iloc[::-1]  # oldest first: the order the runs were kept
    rows = [_row(index, label, _settings_of(label), metrics) | {"run_id": run_id} for index, (label, run_id, metrics)
            in enumerate(zip(table["label"], table["id"], store.metrics_of(table["id"].tolist())))]
    axes = list(dict.fromkeys(axis for row in rows for axis in row["settings"]))
    for row in rows:  # every row names every axis, so the chart and the table have one column each
        row["settings"] = {axis: row["settings"].get(axis, "?") for axis in axes}
    return rows


def _row(index: int, name: str, settings: dict[str, str], metrics: dict) -> dict:
    best = metrics["best"]
    return {
        "index": index, "run": name, "settings": settings,
        "best_model": model_words(model_key(best["layer"], best["name"])),
        "r2_oof": best["r2_oof"], "r2_holdout": best["r2_holdout"],
        "layers": [{"layer": g["layer"], "best_model": g["best_model"], "r2_oof": g["r2_oof"],
                    "r2_holdout": g["r2_holdout"]} for g in metrics["layer_gain"]],
        "baselines": {name: b["r2_holdout"] for name, b in metrics["baselines"].items()},
        "seconds": metrics["seconds"].get("total"), "gap_rows": metrics["split"]["gap_rows"],
        "rows_test": metrics["rows"]["test"], "split": metrics["split"]["description"],
    }


def ranked(rows: Sequence[dict]) -> list[dict]:
    """The runs from the highest out-of-fold R² of their best model down (an unmeasured one last); the first is the
    winner. The hold-out R² plays no part in the order."""
    return sorted(rows, key=lambda r: (r["r2_oof"] is None, -(r["r2_oof"] or 0.0), r["index"]))


def winner(rows: Sequence[dict]) -> dict | None:
    """The run whose best model has the highest out-of-fold R² (None when no run has one)."""
    first = ranked(rows)[:1]
    return first[0] if first and first[0]["r2_oof"] is not None else None


def sweep_document(sweep_id: str, grid: SweepGrid, rows: Sequence[dict], failures: Sequence[dict],
                   *, engine: str, store: str | None) -> dict:
    """sweep.json: the grid, the runs ranked by out-of-fold R² with the winner named, the split said once (each
    run's purge gap beside it, as its look-back sets it), and the runs that failed with their reason."""
    base = grid.base()
    best = winner(rows)
    return {"sweep": sweep_id, "grid": grid.to_dict(), "base": base.name, "kind": base.kind, "leaky": base.leaky,
            "reference": REFERENCE_BY_KIND[base.kind], "split": split_words(rows), "engine": engine,
            "store": store, "selected_by": SELECTED_BY, "winner": best["run"] if best else None,
            "runs": [{k: v for k, v in row.items() if k != "split"} for row in ranked(rows)],
            "failed": list(failures)}


def split_words(rows: Sequence[dict]) -> str:
    """The runs' hold-out said once: the same for every run, or the first's with a word that the gap varies."""
    said = list(dict.fromkeys(row["split"] for row in rows))
    if len(said) <= 1:
        return said[0] if said else ""
    return f"{said[0]} (the purge gap follows each run's look-back: see each run's gap)"


def sweep_text(document: dict) -> str:
    """The table `sweep` prints: the runs ranked by the best model's out-of-fold R² (the winner marked), each with
    its settings, its hold-out R² beside it, each layer's best, the baseline its kind must beat and its seconds;
    the split said once, then the runs that failed with their reason."""
    runs, reference = document["runs"], document["reference"]
    axes = list(runs[0]["settings"]) if runs else []
    depth = max((len(r["layers"]) for r in runs), default=0)
    header = ["", "#", *axes, "best model", "R² OOF", "R² hold-out",
              *(f"L{d} {what}" for d in range(1, depth + 1) for what in ("OOF", "hold-out")), f"R² {reference}", "s"]
    table = [header]
    for rank, row in enumerate(runs, start=1):
        layers = {g["layer"]: g for g in row["layers"]}
        cells = [f"{layers[d][what]:.4f}" if d in layers and layers[d][what] is not None else "-"
                 for d in range(1, depth + 1) for what in ("r2_oof", "r2_holdout")]
        table.append(["*" if row["run"] == document["winner"] else "", str(rank), *row["settings"].values(),
                      row["best_model"], _score(row["r2_oof"]), _score(row["r2_holdout"]), *cells,
                      _score(row["baselines"].get(reference)), f"{row['seconds']:.1f}"])
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = [f"Sweep {document['sweep']} · base {document['base']} · {len(runs)} run(s) trained, "
             f"{len(document['failed'])} failed · ranked by {document['selected_by']}",
             f"Hold-out of every run: {document['split']}" if runs else "No run finished."]
    if document["leaky"]:
        lines.append("These runs used a LEAKY protocol: their scores overstate the twin.")
    lines += [""] + ["  ".join(cell.ljust(w) if i < len(axes) + 3 else cell.rjust(w)
                               for i, (cell, w) in enumerate(zip(line, widths))).rstrip() for line in table]
    if document["winner"]:
        lines += ["", f"* winner: {document['winner']}"]
    if document["failed"]:
        lines += ["", "Failed:"] + [f"  {f['run']}: {f['error']}" for f in document["failed"]]
    return "\n".join(lines)


def _score(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"
