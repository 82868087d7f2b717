"""Hold-out splits and out-of-fold CV schemes that respect time: contiguous blocks with a purge gap.

Row sets are arrays of telemetry row ids. A train row is never within `gap` rows (same session) of a test
or validation row, so no window or lag of one side covers the other.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Literal

import numpy as np
from sklearn.model_selection import KFold, train_test_split

from twin_core.errors import ConfigError, SessionTooShortError
from twin_core.schema import SPEC_CONFIG, Folds, Fraction, GapRows, Seed, SessionIds, check, choice, parse

HoldoutKind = Literal["session_tail", "whole_sessions", "random"]
CVKind = Literal["blocked", "sessions", "kfold"]
HOLDOUT_KINDS: tuple[str, ...] = ("session_tail", "whole_sessions", "random")
CV_KINDS: tuple[str, ...] = ("blocked", "sessions", "kfold")
MIN_FOLD_ROWS = 10  # every fold validates on at least this many rows and fits on at least this many


HoldoutChoice = choice(HoldoutKind, f"Unknown hold-out kind; use one of {', '.join(HOLDOUT_KINDS)}")
CVChoice = choice(CVKind, f"Unknown CV kind; use one of {', '.join(CV_KINDS)}")


@dataclass(frozen=True)
class SplitSpec:
    """How to hold rows out for the final, read-once score.

    session_tail: the last `test_fraction` of every session, after a purge gap (the fair default).
    whole_sessions: entire sessions (`test_sessions`, or the latest ones up to `test_fraction` of rows):
      workloads or days the model never saw. random: the notebook's shuffled rows, leaky on a time series.
    `gap=None` means the longest look-back of the feature sets.
    """

    __pydantic_config__ = SPEC_CONFIG

    kind: HoldoutChoice = "session_tail"
    test_fraction: Fraction = 0.2
    gap: GapRows | None = None
    test_sessions: SessionIds | None = None
    seed: Seed = 42

    def __post_init__(self) -> None:
        if isinstance(self.test_sessions, list):  # JSON and code mean the same; other types fail validate()
            object.__setattr__(self, "test_sessions", tuple(self.test_sessions))

    @property
    def leaky(self) -> bool:
        return self.kind == "random"

    def validate(self, path: str = "split") -> None:
        """Refuse wrong types and out-of-range values, naming the field's JSON path."""
        check(SplitSpec, self, path)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> SplitSpec:
        """A spec from its JSON form; wrong types and unknown fields are a ConfigError naming the field."""
        return parse(cls, data, "split")


@dataclass(frozen=True)
class CVSpec:
    """Out-of-fold scheme inside the training rows: `blocked` (contiguous blocks per session, purged),
    `sessions` (whole recordings per fold, for short sessions; no purge needed as no window crosses a session)
    or `kfold` (shuffled K-fold, the notebook's; leaky on a time series). `gap=None`: longest look-back."""

    __pydantic_config__ = SPEC_CONFIG

    kind: CVChoice = "blocked"
    n_splits: Folds = 5
    gap: GapRows | None = None
    seed: Seed = 42

    @property
    def leaky(self) -> bool:
        return self.kind == "kfold"

    def describe(self, lookback: int) -> str:
        """One line for every place an out-of-fold score is shown: scheme, folds and purge gap."""
        if self.leaky:
            return f"shuffled {self.n_splits}-fold (LEAKY on a time series)"
        if self.kind == "sessions":
            return f"whole-session {self.n_splits}-fold: each fold validates on entire recordings"
        gap = lookback if self.gap is None else self.gap
        return f"time-blocked {self.n_splits}-fold within sessions, {gap}-row purge gap"

    def validate(self, path: str = "stack.cv") -> None:
        """Refuse wrong types and out-of-range values (folds 2..MAX_FOLDS), naming the field's JSON path."""
        check(CVSpec, self, path)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping) -> CVSpec:
        """A spec from its JSON form; wrong types and unknown fields are a ConfigError naming the field."""
        return parse(cls, data, "stack.cv")


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
    notes: tuple[str, ...] = ()

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
    """Split usable row ids (sorted, with their session ids) into train / gap / test as `spec` says.

    A per-session tail whose purge gaps would discard more rows than they leave for training (sessions short
    beside the look-back) becomes a whole-session hold-out when there are several sessions; `notes` says so.
    """
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
        if len(result.gap) > len(result.train) and len(np.unique(sessions)) > 1:
            result = _short_sessions_held_out_whole(rows, sessions, spec, result)
    if len(result.train) == 0 or len(result.test) == 0:
        raise SessionTooShortError(f"The hold-out ({result.description}) leaves {len(result.train)} training and "
                          f"{len(result.test)} test rows of {len(rows)} usable rows; load more or longer "
                          "recordings, shorten the windows and lags, or change the hold-out.")
    return result


def _short_sessions_held_out_whole(rows: np.ndarray, sessions: np.ndarray, spec: SplitSpec,
                                   tail: HoldoutSplit) -> HoldoutSplit:
    """The whole-session hold-out used instead of per-session tails that would leave too little to train on."""
    lengths = np.unique(sessions, return_counts=True)[1]
    whole = _whole_sessions(rows, sessions, replace(spec, kind="whole_sessions"))
    held_out = sorted(int(s) for s in np.unique(sessions[np.isin(rows, whole.test)]))
    note = (f"Sessions are short beside the {tail.gap_rows}-row purge gap ({_span(lengths)} usable rows): a "
            f"per-session tail hold-out would discard {len(tail.gap)} rows and train on {len(tail.train)}, so "
            f"sessions {held_out} were held out whole instead.")
    return replace(whole, notes=(note,))


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
    else:  # the latest sessions, as long as each one brings the held-out share closer to test_fraction
        chosen, taken, target = [], 0, spec.test_fraction * len(rows)
        for session in reversed(present):
            size = int((sessions == session).sum())
            if chosen and abs(taken + size - target) >= abs(taken - target):
                break
            chosen.append(int(session))
            taken += size
    if len(chosen) >= len(present):
        raise ConfigError("A whole-session hold-out must leave at least one session for training.")
    is_test = np.isin(sessions, chosen)
    return HoldoutSplit(rows[~is_test], rows[:0], rows[is_test], spec.kind, 0,
                        _describe(spec, 0, sorted(chosen)), False)


@dataclass(frozen=True)
class FoldPlan:
    """The out-of-fold folds as (fit positions, validation positions) into the training rows, the scheme that
    made them (adapted to the data when it had to be) and one sentence per adaptation."""

    spec: CVSpec
    folds: list[tuple[np.ndarray, np.ndarray]]
    notes: tuple[str, ...] = ()


def cv_folds(rows: np.ndarray, sessions: np.ndarray, spec: CVSpec, lookback: int) -> FoldPlan:
    """Folds over the training rows such that every fold validates and fits on at least MIN_FOLD_ROWS rows.

    blocked: each session's rows are cut into `n_splits` contiguous blocks; fold k validates on block k of
    every session and fits on the rest minus the rows within `gap` of that block (both sides).
    sessions: whole sessions, in time order, in `n_splits` groups. kfold: shuffled K-fold.
    When the data cannot give that: fewer folds; blocked folds whose purge leaves too few rows to fit on, or
    discards more rows than it leaves, become whole-session folds; when nothing works, a SessionTooShortError
    saying what to do (the data falls short of the config, so the CLI exits 2, as `validate` does). Sizes are
    checked before any fold is cut, so an absurd fold count costs no time.
    """
    spec.validate()
    rows = np.asarray(rows)
    sessions = np.asarray(sessions)
    if len(rows) < 2 * MIN_FOLD_ROWS:
        raise SessionTooShortError(f"{len(rows)} training rows are too few for 2 folds of at least {MIN_FOLD_ROWS} rows; "
                          "load more or longer recordings, or shorten the windows and lags.")
    most = len(rows) // MIN_FOLD_ROWS
    if spec.kind == "kfold":
        n = min(spec.n_splits, most)
        notes = (_fewer(spec, n, len(rows)),) if n < spec.n_splits else ()
        splitter = KFold(n_splits=n, shuffle=True, random_state=spec.seed)
        return FoldPlan(replace(spec, n_splits=n), list(splitter.split(rows)), notes)
    codes, lengths = np.unique(sessions, return_inverse=True, return_counts=True)[1:]
    if spec.kind == "sessions":
        return _session_plan(rows, codes, lengths, spec, spec.n_splits, ())
    gap = lookback if spec.gap is None else int(spec.gap)
    asked = n = min(spec.n_splits, most)
    while n >= 2 and (lengths // n).sum() < MIN_FOLD_ROWS:  # the last block of every session is the smallest
        n -= 1
    if n < 2:
        reason = (f"sessions of {_span(lengths)} training rows are too short to cut into "
                  f"time-blocked folds of at least {MIN_FOLD_ROWS} rows")
        return _session_plan(rows, codes, lengths, spec, asked, (reason,))
    folds = _blocked(rows, codes, lengths, n, gap)
    blocked = FoldPlan(replace(spec, n_splits=n), folds, (_fewer(spec, n, len(rows)),) if n < spec.n_splits else ())
    fit, val = min(folds, key=lambda fold: len(fold[0]))
    purged = len(rows) - len(fit) - len(val)
    if len(fit) >= MIN_FOLD_ROWS and (purged <= len(fit) or len(lengths) == 1):
        return blocked
    # the purge discards more than it keeps: whole sessions need none, so they keep every row
    reason = (f"time-blocked folds within sessions would leave a fold {len(fit)} rows to fit on and discard "
              f"{purged} (the {gap}-row purge gap on both sides of each block, in sessions of {_span(lengths)} "
              "training rows)")
    try:
        return _session_plan(rows, codes, lengths, spec, asked, (reason,))
    except SessionTooShortError:
        if len(fit) >= MIN_FOLD_ROWS:  # wasteful but sound, and nothing better exists
            return blocked
        raise


def _span(lengths: np.ndarray) -> str:
    """'15–40' for the shortest and longest session, or '70' when they are equal."""
    low, high = int(lengths.min()), int(lengths.max())
    return f"{low}" if low == high else f"{low}–{high}"


def _fewer(spec: CVSpec, n: int, n_rows: int) -> str:
    return (f"{spec.n_splits} folds were asked for, {n} were used: with {n_rows} training rows more folds would "
            f"leave a fold fewer than {MIN_FOLD_ROWS} rows to validate on.")


def _blocked(rows: np.ndarray, codes: np.ndarray, lengths: np.ndarray, n_splits: int,
             gap: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Fold k validates on the k-th contiguous block of every session; rows within `gap` of it are purged."""
    order = np.lexsort((rows, codes))
    rank = np.empty(len(rows), dtype=np.int64)  # position of each row within its session, in time order
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    rank[order] = np.arange(len(rows)) - np.repeat(starts, lengths)
    size = lengths[codes]
    # np.array_split's blocks: the first (size % n) blocks hold one row more than the others
    small, extra = size // n_splits, size % n_splits
    wide = extra * (small + 1)
    fold_of = np.where(rank < wide, rank // (small + 1), extra + (rank - wide) // np.maximum(small, 1))
    lowest = np.full((len(lengths), n_splits), np.iinfo(np.int64).max, dtype=np.int64)
    highest = np.full((len(lengths), n_splits), np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(lowest, (codes, fold_of), rows)
    np.maximum.at(highest, (codes, fold_of), rows)
    folds = []
    for k in range(n_splits):
        # a session's block is contiguous, so its neighbours within the gap are the rows between its ends ± gap
        near = (rows >= lowest[codes, k] - gap) & (rows <= highest[codes, k] + gap)
        folds.append((np.flatnonzero(~near & (fold_of != k)), np.flatnonzero(fold_of == k)))
    return folds


def _session_plan(rows: np.ndarray, codes: np.ndarray, lengths: np.ndarray, spec: CVSpec, n: int,
                  reasons: tuple[str, ...]) -> FoldPlan:
    """Whole-session folds: the sessions in time order cut into at most `n` groups of at least MIN_FOLD_ROWS."""
    first = np.full(len(lengths), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, codes, rows)
    in_time = np.argsort(first, kind="stable")
    k = min(n, len(lengths))
    while k >= 2 and min(lengths[g].sum() for g in np.array_split(in_time, k)) < MIN_FOLD_ROWS:
        k -= 1
    if k < 2:
        why = "; ".join(reasons) + ("; " if reasons else "")
        raise SessionTooShortError(f"No out-of-fold scheme fits these {len(rows)} training rows: {why}{len(lengths)} "
                          f"session(s) cannot form 2 whole-session folds of at least {MIN_FOLD_ROWS} rows. Load "
                          "more or longer recordings, or shorten the windows and lags (and so the purge gap).")
    group_of = np.empty(len(lengths), dtype=np.int64)
    for g, members in enumerate(np.array_split(in_time, k)):
        group_of[members] = g
    fold_of = group_of[codes]
    folds = [(np.flatnonzero(fold_of != g), np.flatnonzero(fold_of == g)) for g in range(k)]
    notes = [f"{why[0].upper()}{why[1:]}, so {k} folds of whole sessions were used instead." for why in reasons]
    if k < spec.n_splits and not reasons:
        notes.append(f"{spec.n_splits} whole-session folds were asked for, {k} were used: {len(lengths)} sessions "
                     f"give at most {k} folds of at least {MIN_FOLD_ROWS} rows.")
    return FoldPlan(replace(spec, kind="sessions", n_splits=k), folds, tuple(notes))
