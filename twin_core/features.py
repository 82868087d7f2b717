"""Feature windows (rolling statistics, lags, the aggregate identity) built per recording session.

Every feature frame is keyed by the telemetry row id, so feature sets built with different look-backs
line up on the same instants (never by position), and no window or lag reaches across a session boundary.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from twin_core.errors import ConfigError, SessionTooShortError
from twin_core.schema import SPEC_CONFIG, HistoryRows, LagDepth, Switch, Windows, check, choice, entries, parse, text
from twin_core.telemetry import OVERALL, SESSION, WORKLOAD, Telemetry

WINDOW_STATS = ("mean", "std", "min", "max")
WindowStats = entries(choice(Literal["mean", "std", "min", "max"],
                             f"unknown window statistic; use one of {', '.join(WINDOW_STATS)}"))
FeatureSetName = text("a feature set needs a name: non-empty text of at most 200 characters")
IDENTITY = "aggregate_identity"
OTHER_WORKLOAD = "other"
MAX_WORKLOAD_CATEGORIES = 50  # one-hot columns for the most frequent workload labels; the rest share `other`


@dataclass(frozen=True)
class FeatureSpec:
    """What one feature set holds; windows and lags are counted in rows (samples).

    `current_values` adds the present sample of every non-target core, and of overall when `current_overall` is
    on (the notebook's features do both; a behavioural twin switches `current_overall` off). Rolling windows
    exclude the current row unless `windows_include_current` is set.
    `min_history` asks for at least that many rows of session history before a row is used, even if no
    feature needs them (the notebook dropped the warm-up rows of windows it then left out of its features).
    """

    __pydantic_config__ = SPEC_CONFIG

    name: FeatureSetName = "features"
    current_values: Switch = True
    current_overall: Switch = True
    overall_windows: Windows = (10,)
    core_windows: Windows = ()
    identity_windows: Windows = ()
    window_stats: WindowStats = ("mean", "std")
    windows_include_current: Switch = False
    overall_lags: LagDepth = 5
    core_lags: LagDepth = 5
    identity: Switch = True
    identity_lags: LagDepth = 0
    workload_onehot: Switch = True
    min_history: HistoryRows = 0

    def __post_init__(self) -> None:
        for attr in ("overall_windows", "core_windows", "identity_windows", "window_stats"):
            if isinstance(getattr(self, attr), list):  # JSON and code mean the same; other types fail validate()
                object.__setattr__(self, attr, tuple(getattr(self, attr)))

    @property
    def lookback(self) -> int:
        """Rows of history the set needs before its first complete row; also the purge gap it asks for."""
        windows = self.overall_windows + self.core_windows + (self.identity_windows if self.identity else ())
        reach = [w - 1 if self.windows_include_current else w for w in windows]
        lags = [self.overall_lags, self.core_lags, self.identity_lags if self.identity else 0]
        return max(reach + lags + [self.min_history])

    def overall_fields(self) -> list[tuple[str, object]]:
        """The fields (name, value) through which this set reads cpu_util_overall or the identity computed from
        it, in field order; a behavioural twin's feature sets must have none."""
        read = [("current_overall", self.current_overall) if self.current_values and self.current_overall else None,
                ("overall_windows", self.overall_windows) if self.overall_windows else None,
                ("overall_lags", self.overall_lags) if self.overall_lags else None,
                ("identity", self.identity) if self.identity else None]
        return [item for item in read if item is not None]

    def validate(self, path: str = "feature_set") -> None:
        """Refuse wrong types, out-of-range values, repeats and an empty set, naming the field's JSON path."""
        check(FeatureSpec, self, path)
        for attr in ("overall_windows", "core_windows", "identity_windows", "window_stats"):
            values = getattr(self, attr)
            repeated = [v for i, v in enumerate(values) if v in values[:i]]
            if repeated:
                raise ConfigError(f"{repeated[0]!r} is listed twice; list each value once", f"{path}.{attr}")
        if not (self.current_values or self.overall_windows or self.core_windows or self.identity_windows
                or self.overall_lags or self.core_lags or self.identity or self.workload_onehot):
            raise ConfigError(f"feature set '{self.name}' is empty: switch on at least one kind of feature", path)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> FeatureSpec:
        """A spec from its JSON form; wrong types and unknown fields are a ConfigError naming the field."""
        return parse(cls, data, "feature_set")


@dataclass(frozen=True)
class FeatureMatrix:
    """The union of one or more feature sets on the rows where all of them are complete.

    `X` is indexed by telemetry row id; `columns_by_set` says which columns belong to which set.
    """

    X: pd.DataFrame
    columns_by_set: dict[str, list[str]]
    workload_categories: tuple[str, ...]
    lookback: int
    warnings: tuple[str, ...] = field(default=())

    @property
    def layout(self) -> FeatureLayout:
        """The matrix's shape without its rows: what a finished run keeps."""
        return FeatureLayout(tuple(self.X.columns), self.workload_categories, self.lookback)


@dataclass(frozen=True)
class FeatureLayout:
    """What a trained twin needs of its feature matrix (column names, workload categories, look-back), not its rows:
    a finished run keeps this, so a million-row run does not hold its feature matrix after training."""

    columns: tuple[str, ...]
    workload_categories: tuple[str, ...]
    lookback: int


def _positions_in_session(sessions: np.ndarray) -> np.ndarray:
    """0, 1, 2, … restarting at every session boundary (rows are sorted by time)."""
    n = len(sessions)
    starts = np.r_[True, sessions[1:] != sessions[:-1]] if n else np.zeros(0, bool)
    start_index = np.maximum.accumulate(np.where(starts, np.arange(n), 0))
    return np.arange(n) - start_index


def _lag(values: np.ndarray, k: int, position: np.ndarray) -> np.ndarray:
    out = np.full(values.shape, np.nan)
    out[k:] = values[:-k]
    out[position < k] = np.nan
    return out


def _rolling(values: np.ndarray, window: int, stat: str, include_current: bool, position: np.ndarray) -> np.ndarray:
    series = pd.Series(values)
    if not include_current:
        series = series.shift(1)
    rolled = getattr(series.rolling(window, min_periods=window), stat)().to_numpy(copy=True)
    needed = window - 1 if include_current else window
    rolled[position < needed] = np.nan
    return rolled


def _window_suffix(include_current: bool, stat: str, window: int) -> str:
    return f"roll_{stat}_{window}" + ("_with_current" if include_current else "")


def identity_estimate(telemetry: Telemetry) -> np.ndarray:
    """The physical identity `N·overall − Σ other cores`: what the target must be if overall is the mean of cores."""
    frame = telemetry.frame
    others = frame[list(telemetry.other_cores)].to_numpy(dtype=float).sum(axis=1)
    return telemetry.n_cores * frame[OVERALL].to_numpy(dtype=float) - others


def choose_workload_categories(labels: pd.Series | np.ndarray,
                               cap: int = MAX_WORKLOAD_CATEGORIES) -> tuple[str, ...]:
    """One-hot categories for these labels: all of them when at most `cap`, else the `cap` most frequent plus
    `other` (the bucket every rarer or unseen label falls in), so 10,000 labels never make 10,000 columns."""
    counts = pd.Series(labels).astype(str).value_counts()
    if len(counts) <= cap:
        return tuple(sorted(counts.index))
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:cap]
    return (*sorted(label for label, _ in ranked if label != OTHER_WORKLOAD), OTHER_WORKLOAD)


def feature_count(specs: Sequence[FeatureSpec], n_cores: int, n_categories: int) -> int:
    """How many columns build_features will make, counted without building anything (for the memory budget).

    A function of the specs, the telemetry's core count and its number of one-hot workload categories; columns
    that several sets share are counted once, as build_features keeps them once.
    """
    others = max(n_cores - 1, 0)
    overall_windows, core_windows, identity_windows = set(), set(), set()
    for spec in specs:
        keys = {(w, stat, spec.windows_include_current) for w in spec.overall_windows for stat in spec.window_stats}
        overall_windows |= keys
        core_windows |= {(w, stat, spec.windows_include_current) for w in spec.core_windows
                         for stat in spec.window_stats}
        if spec.identity:
            identity_windows |= {(w, stat, spec.windows_include_current) for w in spec.identity_windows
                                 for stat in spec.window_stats}
    identity_specs = [s for s in specs if s.identity]
    return int(
        any(s.current_values and s.current_overall for s in specs) + others * any(s.current_values for s in specs)
        + bool(identity_specs)
        + len(overall_windows) + others * len(core_windows) + len(identity_windows)
        + max((s.identity_lags for s in identity_specs), default=0)
        + max((s.overall_lags for s in specs), default=0)
        + others * max((s.core_lags for s in specs), default=0)
        + n_categories * any(s.workload_onehot for s in specs))


def _plan(spec: FeatureSpec, cores: Sequence[str], categories: Sequence[str]) -> list[tuple[str, tuple]]:
    """(column name, recipe) of every column of one set, in the set's column order; nothing is computed here."""
    current = spec.windows_include_current
    plan: list[tuple[str, tuple]] = []
    if spec.current_values:
        plan += [(name, ("value", name)) for name in ((OVERALL,) if spec.current_overall else ()) + tuple(cores)]
    if spec.identity:
        plan.append((IDENTITY, ("value", IDENTITY)))
    plan += [(f"{OVERALL}_{_window_suffix(current, stat, w)}", ("roll", OVERALL, w, stat, current))
             for w in spec.overall_windows for stat in spec.window_stats]
    plan += [(f"{name}_{_window_suffix(current, stat, w)}", ("roll", name, w, stat, current))
             for w in spec.core_windows for name in cores for stat in spec.window_stats]
    if spec.identity:
        plan += [(f"{IDENTITY}_{_window_suffix(current, stat, w)}", ("roll", IDENTITY, w, stat, current))
                 for w in spec.identity_windows for stat in spec.window_stats]
        plan += [(f"{IDENTITY}_lag_{k}", ("lag", IDENTITY, k)) for k in range(1, spec.identity_lags + 1)]
    plan += [(f"{OVERALL}_lag_{k}", ("lag", OVERALL, k)) for k in range(1, spec.overall_lags + 1)]
    plan += [(f"{name}_lag_{k}", ("lag", name, k)) for k in range(1, spec.core_lags + 1) for name in cores]
    if spec.workload_onehot:
        plan += [(f"workload_{category}", ("onehot", i)) for i, category in enumerate(categories)]
    return plan


class _Sources:
    """The float64 series features are computed from (overall, each core, the identity), read once each."""

    def __init__(self, telemetry: Telemetry, codes: np.ndarray, position: np.ndarray):
        self.telemetry, self.codes, self.position = telemetry, codes, position
        self._cache: dict[str, np.ndarray] = {}

    def series(self, name: str) -> np.ndarray:
        if name not in self._cache:
            self._cache[name] = (identity_estimate(self.telemetry) if name == IDENTITY
                                 else self.telemetry.frame[name].to_numpy(dtype=float))
        return self._cache[name]

    def column(self, recipe: tuple) -> np.ndarray:
        """One feature column over every row, computed from its recipe."""
        kind = recipe[0]
        if kind == "value":
            return self.series(recipe[1])
        if kind == "roll":
            _, name, window, stat, current = recipe
            return _rolling(self.series(name), window, stat, current, self.position)
        if kind == "lag":
            return _lag(self.series(recipe[1]), recipe[2], self.position)
        return self.codes == recipe[1]


def _positions(sessions: np.ndarray, positional_windows: bool) -> np.ndarray:
    return np.arange(len(sessions)) if positional_windows else _positions_in_session(sessions)


def complete_rows(telemetry: Telemetry, specs: Sequence[FeatureSpec], *, positional_windows: bool = False
                  ) -> np.ndarray:
    """Row ids where every set's windows and lags are complete: known before building, so a run can split rows
    and choose its workload categories first and build its features once. Raises SessionTooShortError if none."""
    sessions = telemetry.frame[SESSION].to_numpy()
    lookback = max(spec.lookback for spec in specs)
    rows = np.flatnonzero(_positions(sessions, positional_windows) >= lookback)
    if not rows.size:
        longest = int(pd.Series(sessions).value_counts().max()) if len(sessions) else 0
        raise SessionTooShortError(
            f"No session is long enough for the chosen windows: they need {lookback + 1} rows of one session "
            f"and the longest session has {longest}. Shorten the windows and lags or load longer recordings.")
    return rows


def _workload_codes(labels: pd.Series, categories: tuple[str, ...]) -> tuple[np.ndarray, list[str]]:
    """Each row's one-hot position (labels outside the categories go to `other` when there is one, else -1),
    and those outside labels."""
    codes, uniques = pd.factorize(labels.astype(str))
    lookup = {label: i for i, label in enumerate(categories)}
    fallback = lookup.get(OTHER_WORKLOAD, -1)
    outside = [str(u) for u in uniques if u not in lookup]
    mapped = np.array([lookup.get(u, fallback) for u in uniques], dtype=np.int64)
    return mapped[codes], outside


def build_features(
    telemetry: Telemetry,
    specs: Sequence[FeatureSpec],
    *,
    workload_categories: Sequence[str] | None = None,
    positional_windows: bool = False,
) -> FeatureMatrix:
    """Build every feature set and keep the rows where all of them are complete, keyed by row id.

    `workload_categories` fixes the one-hot columns (pass the training run's categories at predict time);
    by default they are the labels present, capped at the MAX_WORKLOAD_CATEGORIES most frequent plus `other`.
    A label outside them goes to `other` when the categories have it, else gets all-zero columns; either way
    with a warning. `positional_windows` lets windows run across sessions, as the seed notebook did; it exists
    only for the seed-compatible mode. Columns are written straight into one float32 matrix, one at a time.
    """
    if not specs:
        raise ConfigError("At least one feature set is needed.")
    for spec in specs:
        spec.validate()
    frame = telemetry.frame
    categories = (tuple(workload_categories) if workload_categories is not None
                  else choose_workload_categories(frame[WORKLOAD]))
    sessions = frame[SESSION].to_numpy()
    position = _positions(sessions, positional_windows)
    lookback = max(spec.lookback for spec in specs)
    complete = np.zeros(len(frame), dtype=bool)
    complete[complete_rows(telemetry, specs, positional_windows=positional_windows)] = True
    notes = []
    codes, outside = _workload_codes(frame[WORKLOAD], categories)
    if outside and any(s.workload_onehot for s in specs):
        shown = ", ".join(repr(label) for label in sorted(outside)[:5]) + (" …" if len(outside) > 5 else "")
        if OTHER_WORKLOAD in categories:
            notes.append(f"{len(outside)} workload label(s) ({shown}) are outside the twin's {len(categories) - 1} "
                         f"most frequent (at most {MAX_WORKLOAD_CATEGORIES}): they were not seen in training or are "
                         f"rarer, and are encoded together as '{OTHER_WORKLOAD}'.")
        else:
            notes.append(f"Workload(s) {sorted(outside)} were not seen in training; their one-hot columns are all zero.")
        warnings.warn(notes[-1], stacklevel=2)

    plans = {spec.name: _plan(spec, telemetry.other_cores, categories) for spec in specs}
    recipes: dict[str, tuple] = {}
    for plan in plans.values():
        for name, recipe in plan:
            recipes.setdefault(name, recipe)
    sources = _Sources(telemetry, codes, position)
    matrix = np.empty((int(complete.sum()), len(recipes)), dtype=np.float32, order="F")
    for j, recipe in enumerate(recipes.values()):
        matrix[:, j] = sources.column(recipe)[complete]
    X = pd.DataFrame(matrix, index=frame.index[complete], columns=list(recipes), copy=False)
    short = pd.Series(position < lookback).groupby(sessions).all()
    if short.any() and not positional_windows:
        notes.append(f"{int(short.sum())} session(s) shorter than {lookback + 1} rows give no complete feature rows.")
    return FeatureMatrix(X=X, columns_by_set={name: [c for c, _ in plan] for name, plan in plans.items()},
                         workload_categories=categories, lookback=lookback, warnings=tuple(notes))
