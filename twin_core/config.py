"""Run configuration as plain frozen dataclasses that round-trip to JSON (CLI files, app downloads)."""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from twin_core.errors import ConfigError
from twin_core.features import FeatureSpec
from twin_core.models import PRETRAINED, validate_params
from twin_core.splits import CVSpec, SplitSpec
from twin_core.telemetry import DEFAULT_TARGET

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ModelSpec:
    """One model of a layer: its name (unique in the layer), kind, parameters and (layer 1) feature set."""

    name: str
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    feature_set: str | None = None

    def __post_init__(self) -> None:
        # lists (from JSON) and tuples (from code) mean the same; keep one form so configs compare equal
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in dict(self.params).items()}
        object.__setattr__(self, "params", params)


@dataclass(frozen=True)
class LayerSpec:
    """The models of one layer; `passthrough` also feeds the original features to it (layers ≥ 2)."""

    models: tuple[ModelSpec, ...]
    passthrough: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "models", tuple(self.models))


@dataclass(frozen=True)
class StackConfig:
    """The layers, the out-of-fold scheme, the refit strategy and how many fits run at once.

    n_jobs: fits in parallel, each model then on one thread; None = one per physical core; 1 = one fit at a
    time with each model on all physical cores. Never both levels at once.
    """

    layers: tuple[LayerSpec, ...]
    cv: CVSpec = CVSpec()
    refit: str = "full"
    n_jobs: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))

    def fits_per_layer(self) -> list[int]:
        """How many fits each layer takes, in the order training runs them (progress bars size on this)."""
        per_model = self.cv.n_splits + (1 if self.refit == "full" else 0)
        return [len(layer.models) * per_model for layer in self.layers]


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a training run, apart from the data (identified by its fingerprint).

    `seed_compatible` reproduces the notebook: windows run across sessions, a random hold-out and shuffled
    K-fold. It is leaky on a time series and labelled so wherever its numbers appear.
    """

    name: str
    feature_sets: tuple[FeatureSpec, ...]
    stack: StackConfig
    split: SplitSpec = SplitSpec()
    target: str = DEFAULT_TARGET
    seed: int = 42
    seed_compatible: bool = False
    description: str = ""

    def __post_init__(self) -> None:
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
        """Refuse an invalid combination before any training starts, naming what is wrong."""
        if not self.feature_sets:
            raise ConfigError("Define at least one feature set.")
        names = [s.name for s in self.feature_sets]
        if len(set(names)) != len(names):
            raise ConfigError(f"Feature set names must be unique, got {names}.")
        for spec in self.feature_sets:
            spec.validate()
        self.split.validate()
        self.stack.cv.validate()
        if self.stack.refit not in ("full", "average"):
            raise ConfigError(f"Refit must be 'full' or 'average', got '{self.stack.refit}'.")
        if self.stack.n_jobs is not None and self.stack.n_jobs < 1:
            raise ConfigError(f"n_jobs must be a positive number of parallel fits (or unset for one per core), "
                              f"got {self.stack.n_jobs}.")
        if not self.stack.layers:
            raise ConfigError("The stack needs at least one layer.")
        for depth, layer in enumerate(self.stack.layers, start=1):
            self._validate_layer(depth, layer)

    def _validate_layer(self, depth: int, layer: LayerSpec) -> None:
        if not layer.models:
            raise ConfigError(f"Layer {depth} has no models; remove it or add one.")
        names = [m.name for m in layer.models]
        if len(set(names)) != len(names) or any(not n.strip() for n in names):
            raise ConfigError(f"Layer {depth}: model names must be non-empty and unique, got {names}.")
        for model in layer.models:
            where = f"Layer {depth}, model '{model.name}'"
            validate_params(model.kind, model.params, where)
            if depth == 1:
                if model.feature_set is None:
                    raise ConfigError(f"{where}: a first-layer model needs a feature set.")
                self.feature_set(model.feature_set)
            elif model.feature_set is not None:
                raise ConfigError(f"{where}: only first-layer models read a feature set; later layers read "
                                  "the predictions of the layer below (use passthrough for the features).")
            elif model.kind == PRETRAINED:
                raise ConfigError(f"{where}: pre-trained models can only sit in the first layer.")

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
        """Rebuild a config from `to_dict` output; unknown or missing fields are a ConfigError."""
        try:
            data = dict(data)
            version = data.pop("schema_version", SCHEMA_VERSION)
            if version != SCHEMA_VERSION:
                raise ConfigError(f"Config schema version {version} is not supported (expected {SCHEMA_VERSION}).")
            stack = dict(data.pop("stack"))
            layers = tuple(
                LayerSpec(models=tuple(ModelSpec(**m) for m in layer["models"]),
                          passthrough=bool(layer.get("passthrough", False)))
                for layer in stack.pop("layers"))
            cv = CVSpec.from_dict(stack.pop("cv", {}))
            config = cls(
                feature_sets=tuple(FeatureSpec.from_dict(s) for s in data.pop("feature_sets")),
                stack=StackConfig(layers=layers, cv=cv, **stack),
                split=SplitSpec.from_dict(data.pop("split", {})),
                **data)
        except ConfigError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ConfigError(f"This is not a valid run configuration: {exc}.") from None
        config.validate()
        return config

    @classmethod
    def from_json(cls, text: str | bytes) -> RunConfig:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"The configuration is not valid JSON: {exc}.") from None
        if not isinstance(data, dict):
            raise ConfigError("The configuration must be a JSON object.")
        return cls.from_dict(data)
