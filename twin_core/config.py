"""Run configuration as plain frozen dataclasses that round-trip to JSON (CLI files, app downloads).

Every field is annotated with a typed rule from `twin_core.schema`; `RunConfig.validate()` (also run by
`from_dict`/`from_json`) checks them all, then the relations between them, before any work starts.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Annotated, Any, Literal

from pydantic import Field

from twin_core.errors import ConfigError
from twin_core.features import FeatureSpec
from twin_core.models import MODEL_KINDS, PRETRAINED, validate_params
from twin_core.schema import (
    MAX_CONFIG_BYTES, MAX_ITEMS, MAX_N_JOBS, SPEC_CONFIG, Description, Name, Seed, Switch, check, check_depth,
    choice, describe, entries, number, parse, text, whole,
)
from twin_core.splits import CVSpec, SplitSpec
from twin_core.telemetry import DEFAULT_TARGET

SCHEMA_VERSION = 1
DEFAULT_MAX_FIT_ROWS = 150_000
MAX_LAYERS = 20

ModelName = text("model names must be non-empty and unique in their layer (text of at most 200 characters)")
ModelKindName = text(f"must be a model kind: one of {', '.join([*MODEL_KINDS, PRETRAINED])}")
FeatureSetRef = text("must be the name of a feature set of this configuration, or null above layer 1")
Params = Annotated[dict[str, Any], Field(max_length=MAX_ITEMS)]
Refit = choice(Literal["full", "average"], "refit must be 'full' or 'average'")
ParallelFits = whole(1, MAX_N_JOBS, f"n_jobs must be a whole number of parallel fits from 1 to {MAX_N_JOBS}, or null "
                                    "for one per physical core")
MIN_FIT_ROWS, MAX_FIT_ROWS = 1_000, 100_000_000
FitRows = whole(MIN_FIT_ROWS, MAX_FIT_ROWS, f"max_fit_rows must be a whole number of rows from {MIN_FIT_ROWS:,} to "
                                          f"{MAX_FIT_ROWS:,}, or null for every row")
Target = text("must be the name of a core column, e.g. cpu_util_core_0")
TWIN_KINDS = ("reconstruction", "behavioural")
TwinKind = choice(Literal["reconstruction", "behavioural"],
                  "must be a twin kind: 'reconstruction' (may read cpu_util_overall and the identity) or "
                  "'behavioural' (reads neither)")


@dataclass(frozen=True)
class ModelSpec:
    """One model of a layer: its name (unique in the layer), kind, parameters and (layer 1) feature set."""

    __pydantic_config__ = SPEC_CONFIG

    name: ModelName
    kind: ModelKindName
    params: Params = field(default_factory=dict)
    feature_set: FeatureSetRef | None = None

    def __post_init__(self) -> None:
        # lists (from JSON) and tuples (from code) mean the same; keep one form so configs compare equal
        if isinstance(self.params, Mapping):
            params = {k: tuple(v) if isinstance(v, list) else v for k, v in dict(self.params).items()}
            object.__setattr__(self, "params", params)


Models = entries(ModelSpec)


@dataclass(frozen=True)
class LayerSpec:
    """The models of one layer; `passthrough` also feeds the original features to it (layers ≥ 2)."""

    __pydantic_config__ = SPEC_CONFIG

    models: Models
    passthrough: Switch = False

    def __post_init__(self) -> None:
        if isinstance(self.models, list):
            object.__setattr__(self, "models", tuple(self.models))


Layers = entries(LayerSpec, max_items=MAX_LAYERS)
FeatureSets = entries(FeatureSpec)


@dataclass(frozen=True)
class StackConfig:
    """The layers, the out-of-fold scheme, the refit strategy and how many fits run at once.

    n_jobs: fits in parallel, each model then on one thread; None = one per physical core; 1 = one fit at a
    time with each model on all physical cores. Never both levels at once.
    max_fit_rows: a fit given more rows reads a seeded random sample of this many, and out-of-fold predictions are
    made for a sample of about as many training rows (the hold-out is scored on every row); None reads them all.
    Long 10 Hz recordings repeat themselves from row to row, so a sample costs little accuracy and bounds each
    fit's time and memory (README, "Long recordings").
    """

    __pydantic_config__ = SPEC_CONFIG

    layers: Layers
    cv: CVSpec = CVSpec()
    refit: Refit = "full"
    n_jobs: ParallelFits | None = None
    max_fit_rows: FitRows | None = DEFAULT_MAX_FIT_ROWS

    def __post_init__(self) -> None:
        if isinstance(self.layers, list):
            object.__setattr__(self, "layers", tuple(self.layers))

    def fits_per_layer(self) -> list[int]:
        """How many fits each layer takes, in the order training runs them (progress bars size on this)."""
        per_model = self.cv.n_splits + (1 if self.refit == "full" else 0)
        return [len(layer.models) * per_model for layer in self.layers]


INTERVAL_METHODS = ("split", "workload", "local")
NominalLevel = number("the nominal interval level must be a number from 0.5 to 0.99 (0.9 = 90 %)", ge=0.5, le=0.99)
IntervalMethod = choice(Literal["split", "workload", "local"],
                        f"must be an interval method: one of {', '.join(INTERVAL_METHODS)}")
MAX_EPISODE_SAMPLES = 10_000
EpisodeSamples = whole(1, MAX_EPISODE_SAMPLES, "min_samples must be a whole number of consecutive samples from 1 to "
                                               f"{MAX_EPISODE_SAMPLES:,}")


@dataclass(frozen=True)
class IntervalSpec:
    """Prediction intervals: the nominal coverage level and how the out-of-fold residuals are calibrated.

    split: one half-width for every row; workload: one per workload (Mondrian), the pooled one where a workload
    has too few out-of-fold rows; local: residuals scaled by a spread every row has without reading the target.
    """

    __pydantic_config__ = SPEC_CONFIG

    nominal: NominalLevel = 0.9
    method: IntervalMethod = "split"  # closest to nominal, narrowest on out-of-fold rows (README, Prediction intervals)


@dataclass(frozen=True)
class AnomalySpec:
    """Anomaly episodes: at least `min_samples` consecutive samples whose actual target leaves the band."""

    __pydantic_config__ = SPEC_CONFIG

    min_samples: EpisodeSamples = 5


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a training run, apart from the data (identified by its fingerprint).

    `kind` says what the twin may read: a `reconstruction` twin may read cpu_util_overall and the identity
    computed from it (which nearly give the target by arithmetic); a `behavioural` twin reads neither, so it
    learns how the target behaves given the other cores and the workload. `seed_compatible` reproduces the
    notebook: windows run across sessions, a random hold-out and shuffled
    K-fold. It is leaky on a time series and labelled so wherever its numbers appear.
    """

    __pydantic_config__ = SPEC_CONFIG

    name: Name
    feature_sets: FeatureSets
    stack: StackConfig
    split: SplitSpec = SplitSpec()
    target: Target = DEFAULT_TARGET
    kind: TwinKind = "reconstruction"
    seed: Seed = 42
    seed_compatible: Switch = False
    description: Description = ""
    intervals: IntervalSpec = IntervalSpec()
    anomalies: AnomalySpec = AnomalySpec()

    def __post_init__(self) -> None:
        if isinstance(self.feature_sets, list):
            object.__setattr__(self, "feature_sets", tuple(self.feature_sets))

    @property
    def leaky(self) -> bool:
        return self.seed_compatible or self.split.leaky or self.stack.cv.leaky

    def feature_set(self, name: str) -> FeatureSpec:
        for spec in self.feature_sets:
            if spec.name == name:
                return spec
        raise ConfigError(f"Unknown feature set '{name}'; defined: {[s.name for s in self.feature_sets]}.")

    def used_feature_sets(self) -> tuple[FeatureSpec, ...]:
        """The feature sets that some first-layer model reads (only these are built)."""
        wanted = {m.feature_set for m in self.stack.layers[0].models} if self.stack.layers else set()
        return tuple(s for s in self.feature_sets if s.name in wanted)

    @property
    def lookback(self) -> int:
        """The longest look-back of the feature sets layer 1 reads: the automatic purge gap."""
        return max([spec.lookback for spec in self.used_feature_sets()] or [0])

    def shape(self) -> str:
        """The stack in a few words, e.g. '3 layers · 6 models'."""
        models = sum(len(layer.models) for layer in self.stack.layers)
        return f"{len(self.stack.layers)} layers · {models} models"

    def validate(self) -> None:
        """Refuse any field of the wrong type or range, and any impossible combination, before work starts.

        Every message starts with the JSON path of the field at fault (`stack.layers[1].models[0].params.
        learning_rate: must be a finite number from 0.001 to 1, got NaN`); configs built in code are checked
        as their JSON form is.
        """
        check(RunConfig, self)
        if not self.feature_sets:
            raise ConfigError("define at least one feature set", "feature_sets")
        for i, spec in enumerate(self.feature_sets):
            path = f"feature_sets[{i}]"
            spec.validate(path)
            if spec.name in [s.name for s in self.feature_sets[:i]]:
                raise ConfigError(f"feature set names must be unique; '{spec.name}' is used twice", f"{path}.name")
        if not self.stack.layers:
            raise ConfigError("the stack needs at least one layer", "stack.layers")
        for depth, layer in enumerate(self.stack.layers):
            self._validate_layer(depth, layer)
        if self.kind == "behavioural":
            self._validate_behavioural()

    def _validate_behavioural(self) -> None:
        """Refuse a used feature set that reads overall or the identity: a behavioural twin must not."""
        used = {spec.name for spec in self.used_feature_sets()}
        for i, spec in enumerate(self.feature_sets):
            for name, value in spec.overall_fields() if spec.name in used else ():
                shown = json.dumps(list(value) if isinstance(value, tuple) else value)
                off = {"overall_windows": "[]", "overall_lags": "0"}.get(name, "false")
                what = ("does not read the identity N·overall − Σ other cores" if name == "identity"
                        else "reads no feature of cpu_util_overall")
                raise ConfigError(f"a behavioural twin {what} (got {shown}); set it to {off}, or make the "
                                  "twin kind 'reconstruction'", f"feature_sets[{i}].{name}")

    def _validate_layer(self, depth: int, layer: LayerSpec) -> None:
        where = f"stack.layers[{depth}]"
        if not layer.models:
            raise ConfigError(f"layer {depth + 1} has no models; remove the layer or add a model", f"{where}.models")
        for i, model in enumerate(layer.models):
            path = f"{where}.models[{i}]"
            if model.name in [m.name for m in layer.models[:i]]:
                raise ConfigError(f"model names must be non-empty and unique in their layer; '{model.name}' is used "
                                  "twice", f"{path}.name")
            validate_params(model.kind, model.params, path)
            if depth == 0:
                if model.feature_set is None:
                    raise ConfigError("a first-layer model needs a feature set", f"{path}.feature_set")
                if model.feature_set not in [s.name for s in self.feature_sets]:
                    raise ConfigError(f"unknown feature set '{model.feature_set}'; defined: "
                                      f"{', '.join(s.name for s in self.feature_sets)}", f"{path}.feature_set")
            elif model.feature_set is not None:
                raise ConfigError("only first-layer models read a feature set; later layers read the predictions of "
                                  "the layer below (use passthrough for the features): set it to null",
                                  f"{path}.feature_set")
            elif model.kind == PRETRAINED:
                raise ConfigError("pre-trained models can only sit in the first layer", f"{path}.kind")

    def as_seed_compatible(self) -> RunConfig:
        """The notebook's leaky protocol: positional windows, random 20 % hold-out, shuffled 5-fold."""
        return replace(self, seed_compatible=True,
                       split=SplitSpec(kind="random", test_fraction=0.2, seed=42),
                       stack=replace(self.stack, cv=CVSpec(kind="kfold", n_splits=5, seed=42)))

    # -- JSON -------------------------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        data = asdict(self)
        data["schema_version"] = SCHEMA_VERSION
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=list)

    @classmethod
    def from_dict(cls, data: Mapping) -> RunConfig:
        """Rebuild and validate a config from `to_dict` output; anything else is a ConfigError naming the field."""
        if not isinstance(data, Mapping):
            raise ConfigError(f"the configuration must be a JSON object ({{...}}), got {describe(data)}")
        check_depth(data)
        data = dict(data)
        version = data.pop("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION or type(version) is not int:
            raise ConfigError(f"schema version {describe(version)} is not supported; this release reads schema "
                              f"version {SCHEMA_VERSION} (write a preset with `python -m twin_core config quick`)",
                              "schema_version")
        config = parse(cls, data)
        config.validate()
        return config

    @classmethod
    def from_json(cls, text: str | bytes) -> RunConfig:
        """Parse and validate a JSON configuration (a file, an upload); over 1 MB or malformed is a ConfigError."""
        if len(text) > MAX_CONFIG_BYTES:
            raise ConfigError(f"the configuration is larger than {MAX_CONFIG_BYTES:,} bytes; a run configuration "
                              "is a few kB (write one with `python -m twin_core config quick`)")
        try:
            data = json.loads(text)
        except RecursionError:
            raise ConfigError("the configuration is nested too deeply to be a run configuration") from None
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, an integer of over 4,300 digits
            raise ConfigError(f"the configuration is not valid JSON: {exc}") from None
        return cls.from_dict(data)
