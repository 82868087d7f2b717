"""Feature windows (rolling statistics, lags, the aggregate identity) built per recording session.

Every feature frame is keyed by the telemetry row id, so feature sets built with different look-backs
line up on the same instants (never by position), and no window or lag reaches across a session boundary.
"""
from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from twin_core.errors import ConfigError, SessionTooShortError
from twin_core.telemetry import OVERALL, SESSION, WORKLOAD, Telemetry

WINDOW_STATS = ("mean", "std", "min", "max")
IDENTITY = "aggregate_identity"


@dataclass(frozen=True)
class FeatureSpec:
    """What one feature set holds; windows and lags are counted in rows (samples).

    `current_values` adds the present sample of overall and of every non-target core (the notebook's
    features do). Rolling windows exclude the current row unless `windows_include_current` is set.
    `min_history` asks for at least that many rows of session history before a row is used, even if no
    feature needs them (the notebook dropped the warm-up rows of windows it then left out of its features).
    """

    name: str = "features"
    current_values: bool = True
    overall_windows: tuple[int, ...] = (10,)
    core_windows: tuple[int, ...] = ()
    identity_windows: tuple[int, ...] = ()
    window_stats: tuple[str, ...] = ("mean", "std")
    windows_include_current: bool = False
    overall_lags: int = 5
    core_lags: int = 5
    identity: bool = True
    identity_lags: int = 0
    workload_onehot: bool = True
    min_history: int = 0

    def __post_init__(self) -> None:
        for attr in ("overall_windows", "core_windows", "identity_windows", "window_stats"):
            object.__setattr__(self, attr, tuple(getattr(self, attr)))

    @property
    def lookback(self) -> int:
        """Rows of history the set needs before its first complete row; also the purge gap it asks for."""
        windows = self.overall_windows + self.core_windows + (self.identity_windows if self.identity else ())
        reach = [w - 1 if self.windows_include_current else w for w in windows]
        lags = [self.overall_lags, self.core_lags, self.identity_lags if self.identity else 0]
        return max(reach + lags + [self.min_history])

    def validate(self) -> None:
        """Refuse impossible settings with a message that names the field."""
        if not self.name or not self.name.strip():
            raise ConfigError("A feature set needs a name.")
        windows = self.overall_windows + self.core_windows + self.identity_windows
        if any(int(w) < 2 for w in windows):
            raise ConfigError(f"Feature set '{self.name}': rolling windows must be at least 2 rows, got {windows}.")
        bad_stats = [s for s in self.window_stats if s not in WINDOW_STATS]
        if bad_stats:
            raise ConfigError(f"Feature set '{self.name}': unknown window statistic {bad_stats}; use {WINDOW_STATS}.")
        if min(self.overall_lags, self.core_lags, self.identity_lags, self.min_history) < 0:
            raise ConfigError(f"Feature set '{self.name}': lag depths and minimum history cannot be negative.")
        if not (self.current_values or windows or self.overall_lags or self.core_lags
                or self.identity or self.workload_onehot):
            raise ConfigError(f"Feature set '{self.name}' is empty: switch on at least one kind of feature.")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> FeatureSpec:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        unknown = set(data) - set(known)
        if unknown:
            raise ConfigError(f"Feature set: unknown field(s) {sorted(unknown)}.")
        return cls(**known)


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
    def rows(self) -> np.ndarray:
        return self.X.index.to_numpy()


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


def _window_suffix(spec: FeatureSpec, stat: str, window: int) -> str:
    return f"roll_{stat}_{window}" + ("_with_current" if spec.windows_include_current else "")


def identity_estimate(telemetry: Telemetry) -> np.ndarray:
    """The physical identity `N·overall − Σ other cores`: what the target must be if overall is the mean of cores."""
    frame = telemetry.frame
    others = frame[list(telemetry.other_cores)].to_numpy(dtype=float).sum(axis=1)
    return telemetry.n_cores * frame[OVERALL].to_numpy(dtype=float) - others


def _build_one(telemetry: Telemetry, spec: FeatureSpec, categories: Sequence[str],
               position: np.ndarray) -> dict[str, np.ndarray]:
    frame = telemetry.frame
    overall = frame[OVERALL].to_numpy(dtype=float)
    cores = {c: frame[c].to_numpy(dtype=float) for c in telemetry.other_cores}
    ident = identity_estimate(telemetry) if spec.identity else None
    cols: dict[str, np.ndarray] = {}
    if spec.current_values:
        cols[OVERALL] = overall
        cols.update(cores)
    if ident is not None:
        cols[IDENTITY] = ident
    for window in spec.overall_windows:
        for stat in spec.window_stats:
            cols[f"{OVERALL}_{_window_suffix(spec, stat, window)}"] = _rolling(
                overall, window, stat, spec.windows_include_current, position)
    for window in spec.core_windows:
        for name, values in cores.items():
            for stat in spec.window_stats:
                cols[f"{name}_{_window_suffix(spec, stat, window)}"] = _rolling(
                    values, window, stat, spec.windows_include_current, position)
    if ident is not None:
        for window in spec.identity_windows:
            for stat in spec.window_stats:
                cols[f"{IDENTITY}_{_window_suffix(spec, stat, window)}"] = _rolling(
                    ident, window, stat, spec.windows_include_current, position)
        for k in range(1, spec.identity_lags + 1):
            cols[f"{IDENTITY}_lag_{k}"] = _lag(ident, k, position)
    for k in range(1, spec.overall_lags + 1):
        cols[f"{OVERALL}_lag_{k}"] = _lag(overall, k, position)
    for k in range(1, spec.core_lags + 1):
        for name, values in cores.items():
            cols[f"{name}_lag_{k}"] = _lag(values, k, position)
    if spec.workload_onehot:
        workload = frame[WORKLOAD].to_numpy(dtype=object)
        for category in categories:
            cols[f"workload_{category}"] = (workload == category).astype(float)
    return cols


def build_features(
    telemetry: Telemetry,
    specs: Sequence[FeatureSpec],
    *,
    workload_categories: Sequence[str] | None = None,
    positional_windows: bool = False,
) -> FeatureMatrix:
    """Build every feature set and keep the rows where all of them are complete, keyed by row id.

    `workload_categories` fixes the one-hot columns (pass the training run's categories at predict time;
    unseen workloads then get all-zero columns and a warning). `positional_windows` lets windows run across
    sessions, as the seed notebook did; it exists only for the seed-compatible mode.
    """
    if not specs:
        raise ConfigError("At least one feature set is needed.")
    for spec in specs:
        spec.validate()
    frame = telemetry.frame
    seen = tuple(sorted(frame[WORKLOAD].astype(str).unique()))
    categories = tuple(workload_categories) if workload_categories is not None else seen
    notes = []
    unseen = sorted(set(seen) - set(categories))
    if unseen and any(s.workload_onehot for s in specs):
        notes.append(f"Workload(s) {unseen} were not seen in training; their one-hot columns are all zero.")
        warnings.warn(notes[-1], stacklevel=2)
    sessions = frame[SESSION].to_numpy()
    position = np.arange(len(frame)) if positional_windows else _positions_in_session(sessions)

    columns: dict[str, np.ndarray] = {}
    columns_by_set: dict[str, list[str]] = {}
    for spec in specs:
        built = _build_one(telemetry, spec, categories, position)
        columns_by_set[spec.name] = list(built)
        for name, values in built.items():
            columns.setdefault(name, values)
    lookback = max(spec.lookback for spec in specs)
    X = pd.DataFrame({k: v.astype(np.float32) for k, v in columns.items()}, index=frame.index)
    complete = position >= lookback
    X = X.loc[complete]
    if X.empty:
        longest = int(pd.Series(sessions).value_counts().max()) if len(sessions) else 0
        raise SessionTooShortError(
            f"No session is long enough for the chosen windows: they need {lookback + 1} rows of one session "
            f"and the longest session has {longest}. Shorten the windows and lags or load longer recordings.")
    short = pd.Series(position < lookback).groupby(sessions).all()
    if short.any() and not positional_windows:
        notes.append(f"{int(short.sum())} session(s) shorter than {lookback + 1} rows give no complete feature rows.")
    return FeatureMatrix(X=X, columns_by_set=columns_by_set, workload_categories=categories,
                         lookback=lookback, warnings=tuple(notes))
