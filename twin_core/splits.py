"""Hold-out splits and out-of-fold CV schemes that respect time: contiguous blocks with a purge gap.

Row sets are arrays of telemetry row ids. A train row is never within `gap` rows (same session) of a test
or validation row, so no window or lag of one side covers the other.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
from sklearn.model_selection import KFold, train_test_split

from twin_core.errors import ConfigError

HoldoutKind = Literal["session_tail", "whole_sessions", "random"]
CVKind = Literal["blocked", "kfold"]
HOLDOUT_KINDS: tuple[str, ...] = ("session_tail", "whole_sessions", "random")
CV_KINDS: tuple[str, ...] = ("blocked", "kfold")


@dataclass(frozen=True)
class SplitSpec:
    """How to hold rows out for the final, read-once score.

    session_tail: the last `test_fraction` of every session, after a purge gap (the fair default).
    whole_sessions: entire sessions (`test_sessions`, or the latest ones up to `test_fraction` of rows):
      workloads or days the model never saw. random: the notebook's shuffled rows, leaky on a time series.
    `gap=None` means the longest look-back of the feature sets.
    """

    kind: HoldoutKind = "session_tail"
    test_fraction: float = 0.2
    gap: int | None = None
    test_sessions: tuple[int, ...] | None = None
    seed: int = 42

    def __post_init__(self) -> None:
        if self.test_sessions is not None:
            object.__setattr__(self, "test_sessions", tuple(int(s) for s in self.test_sessions))

    @property
    def leaky(self) -> bool:
        return self.kind == "random"

    def validate(self) -> None:
        if self.kind not in HOLDOUT_KINDS:
            raise ConfigError(f"Unknown hold-out kind '{self.kind}'; use one of {HOLDOUT_KINDS}.")
        if not 0.0 < self.test_fraction < 1.0:
            raise ConfigError(f"Hold-out fraction must lie strictly between 0 and 1, got {self.test_fraction}.")
        if self.gap is not None and self.gap < 0:
            raise ConfigError(f"Hold-out gap cannot be negative, got {self.gap}.")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> SplitSpec:
        return cls(**_known_fields(cls, data, "Split"))


@dataclass(frozen=True)
class CVSpec:
    """Out-of-fold scheme inside the training rows: `blocked` (contiguous blocks per session, purged) or
    `kfold` (shuffled K-fold, the notebook's; leaky on a time series). `gap=None`: longest look-back."""

    kind: CVKind = "blocked"
    n_splits: int = 5
    gap: int | None = None
    seed: int = 42

    @property
    def leaky(self) -> bool:
        return self.kind == "kfold"

    def describe(self, lookback: int) -> str:
        """One line for every place an out-of-fold score is shown: scheme, folds and purge gap."""
        if self.leaky:
            return f"shuffled {self.n_splits}-fold (LEAKY on a time series)"
        gap = lookback if self.gap is None else self.gap
        return f"time-blocked {self.n_splits}-fold within sessions, {gap}-row purge gap"

    def validate(self) -> None:
        if self.kind not in CV_KINDS:
            raise ConfigError(f"Unknown CV kind '{self.kind}'; use one of {CV_KINDS}.")
        if self.n_splits < 2:
            raise ConfigError(f"Cross-validation needs at least 2 folds, got {self.n_splits}.")
        if self.gap is not None and self.gap < 0:
            raise ConfigError(f"CV gap cannot be negative, got {self.gap}.")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> CVSpec:
        return cls(**_known_fields(cls, data, "CV"))


def _known_fields(cls: type, data: Mapping, what: str) -> dict:
    unknown = set(data) - set(cls.__dataclass_fields__)
    if unknown:
        raise ConfigError(f"{what} settings: unknown field(s) {sorted(unknown)}.")
    return dict(data)


@dataclass(frozen=True)
class HoldoutSplit:
    """The rows of a hold-out: train, purged gap and test, plus a sentence that says how they were chosen."""

    train: np.ndarray
    gap: np.ndarray
    test: np.ndarray
    kind: str
    gap_rows: int
    description: str
    leaky: bool

    def counts(self) -> dict[str, int]:
        return {"train": int(len(self.train)), "gap": int(len(self.gap)), "test": int(len(self.test))}


def _describe(spec: SplitSpec, gap: int, test_sessions: list[int] | None = None) -> str:
    pct = f"{spec.test_fraction:.0%}"
    if spec.kind == "session_tail":
        return f"per-session tail: last {pct} of every session held out, {gap}-row purge gap before each"
    if spec.kind == "whole_sessions":
        return f"whole sessions held out: {test_sessions} (unseen recordings)"
    return f"random {pct} of rows (seed {spec.seed}): LEAKY on a time series, neighbours of test rows are in training"


def holdout_split(rows: np.ndarray, sessions: np.ndarray, spec: SplitSpec, lookback: int) -> HoldoutSplit:
    """Split usable row ids (sorted, with their session ids) into train / gap / test as `spec` says."""
    spec.validate()
    rows = np.asarray(rows)
    sessions = np.asarray(sessions)
    gap = lookback if spec.gap is None else int(spec.gap)
    if spec.kind == "random":
        train, test = train_test_split(rows, test_size=spec.test_fraction, random_state=spec.seed)
        result = HoldoutSplit(train, rows[:0], test, spec.kind, 0, _describe(spec, 0), True)
    elif spec.kind == "whole_sessions":
        result = _whole_sessions(rows, sessions, spec)
    else:
        result = _session_tail(rows, sessions, spec, gap)
    if len(result.train) == 0 or len(result.test) == 0:
        raise ConfigError(f"The hold-out leaves {len(result.train)} training and {len(result.test)} test rows; "
                          "load more data or change the hold-out fraction.")
    return result


def _session_tail(rows: np.ndarray, sessions: np.ndarray, spec: SplitSpec, gap: int) -> HoldoutSplit:
    train, gap_rows, test = [], [], []
    for session in np.unique(sessions):
        own = rows[sessions == session]
        n_test = int(round(len(own) * spec.test_fraction))
        if n_test == 0:
            train.append(own)
            continue
        first_test = own[len(own) - n_test]
        test.append(own[len(own) - n_test:])
        before = own[: len(own) - n_test]
        in_gap = before >= first_test - gap
        gap_rows.append(before[in_gap])
        train.append(before[~in_gap])
    cat = lambda parts: np.concatenate(parts) if parts else rows[:0]  # noqa: E731
    return HoldoutSplit(cat(train), cat(gap_rows), cat(test), spec.kind, gap, _describe(spec, gap), False)


def _whole_sessions(rows: np.ndarray, sessions: np.ndarray, spec: SplitSpec) -> HoldoutSplit:
    present = list(np.unique(sessions))
    if spec.test_sessions is not None:
        missing = sorted(set(spec.test_sessions) - set(int(s) for s in present))
        if missing:
            raise ConfigError(f"Hold-out sessions {missing} do not exist; sessions are {[int(s) for s in present]}.")
        chosen = list(spec.test_sessions)
    else:
        chosen, taken = [], 0
        for session in reversed(present):
            if taken >= spec.test_fraction * len(rows):
                break
            chosen.append(int(session))
            taken += int((sessions == session).sum())
    if len(chosen) >= len(present):
        raise ConfigError("A whole-session hold-out must leave at least one session for training.")
    is_test = np.isin(sessions, chosen)
    return HoldoutSplit(rows[~is_test], rows[:0], rows[is_test], spec.kind, 0,
                        _describe(spec, 0, sorted(chosen)), False)


def cv_folds(rows: np.ndarray, sessions: np.ndarray, spec: CVSpec,
             lookback: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Folds over the training rows, as (fit positions, validation positions) into `rows`.

    blocked: each session's rows are cut into `n_splits` contiguous blocks; fold k validates on block k of
    every session and fits on the rest minus the rows within `gap` of that block (both sides).
    """
    spec.validate()
    rows = np.asarray(rows)
    sessions = np.asarray(sessions)
    if len(rows) < spec.n_splits:
        raise ConfigError(f"{len(rows)} training rows cannot be cut into {spec.n_splits} folds.")
    if spec.kind == "kfold":
        splitter = KFold(n_splits=spec.n_splits, shuffle=True, random_state=spec.seed)
        return [(fit, val) for fit, val in splitter.split(rows)]
    gap = lookback if spec.gap is None else int(spec.gap)
    order = np.lexsort((rows, sessions))
    fold_of = np.empty(len(rows), dtype=int)
    for session in np.unique(sessions):
        positions = order[sessions[order] == session]
        for k, block in enumerate(np.array_split(positions, spec.n_splits)):
            fold_of[block] = k
    folds = []
    for k in range(spec.n_splits):
        val = np.flatnonzero(fold_of == k)
        purge = np.zeros(len(rows), dtype=bool)
        for session in np.unique(sessions[val]):
            in_session = sessions == session
            val_rows = rows[val][sessions[val] == session]
            # distance from every row to its nearest validation row of this session (val may form several runs)
            sorted_val = np.sort(val_rows)
            idx = np.searchsorted(sorted_val, rows)
            left = np.abs(rows - sorted_val[np.clip(idx - 1, 0, len(sorted_val) - 1)])
            right = np.abs(rows - sorted_val[np.clip(idx, 0, len(sorted_val) - 1)])
            near = np.minimum(left, right) <= gap
            purge |= in_session & near
        fit = np.flatnonzero(~purge & (fold_of != k))
        folds.append((fit, val))
    return folds
