"""Hold-out and CV splits: no training row within the purge gap of a test or validation row."""
import time

import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from twin_core.errors import ConfigError, SessionTooShortError
from twin_core.splits import MIN_FOLD_ROWS, CVSpec, SplitSpec, cv_folds, holdout_split

# three sessions of 100, 60 and 140 usable rows, row ids contiguous within a session, holes between
SESSIONS = np.repeat([0, 1, 2], [100, 60, 140])
ROWS = np.concatenate([np.arange(10, 110), np.arange(200, 260), np.arange(400, 540)])


def _too_close(a: np.ndarray, b: np.ndarray, sessions_of: dict, gap: int) -> bool:
    for r in a:
        same = np.array([sessions_of[x] == sessions_of[r] for x in b])
        if same.any() and np.abs(b[same] - r).min() <= gap:
            return True
    return False


def test_session_tail_holds_out_the_end_of_every_session_with_a_gap():
    split = holdout_split(ROWS, SESSIONS, SplitSpec(), lookback=7)
    sessions_of = dict(zip(ROWS, SESSIONS))
    for session, n in [(0, 100), (1, 60), (2, 140)]:
        own = ROWS[SESSIONS == session]
        assert set(own[-round(n * 0.2):]) == set(split.test[[sessions_of[t] == session for t in split.test]])
    assert split.gap_rows == 7 and len(split.gap) == 3 * 7
    assert not _too_close(split.train, split.test, sessions_of, gap=7)
    assert sorted(np.concatenate([split.train, split.gap, split.test])) == sorted(ROWS)
    assert split.counts() == {"train": 300 - 60 - 21, "gap": 21, "test": 60}
    assert "7-row purge gap" in split.description and not split.leaky


def test_explicit_gap_overrides_lookback():
    split = holdout_split(ROWS, SESSIONS, SplitSpec(gap=12), lookback=7)
    assert split.gap_rows == 12 and len(split.gap) == 36


def test_whole_sessions_hold_out_entire_recordings():
    split = holdout_split(ROWS, SESSIONS, SplitSpec(kind="whole_sessions", test_sessions=(1,)), lookback=7)
    assert set(split.test) == set(ROWS[SESSIONS == 1]) and not set(split.train) & set(split.test)
    latest = holdout_split(ROWS, SESSIONS, SplitSpec(kind="whole_sessions"), lookback=7)
    assert set(latest.test) == set(ROWS[SESSIONS == 2])
    with pytest.raises(ConfigError, match="do not exist"):
        holdout_split(ROWS, SESSIONS, SplitSpec(kind="whole_sessions", test_sessions=(9,)), lookback=7)
    with pytest.raises(ConfigError, match="at least one session"):
        holdout_split(ROWS, SESSIONS, SplitSpec(kind="whole_sessions", test_sessions=(0, 1, 2)), lookback=7)


def test_random_split_is_the_notebooks_and_labelled_leaky():
    split = holdout_split(ROWS, SESSIONS, SplitSpec(kind="random"), lookback=7)
    train, test = train_test_split(ROWS, test_size=0.2, random_state=42)
    np.testing.assert_array_equal(split.train, train)
    np.testing.assert_array_equal(split.test, test)
    assert split.leaky and "LEAKY" in split.description


@pytest.mark.parametrize("spec, message", [
    (SplitSpec(test_fraction=0.0), "strictly between 0 and 1"),
    (SplitSpec(test_fraction=1.0), "strictly between 0 and 1"),
    (SplitSpec(kind="sideways"), "Unknown hold-out kind"),
    (SplitSpec(gap=-1), "cannot be negative"),
])
def test_invalid_split_specs(spec, message):
    with pytest.raises(ConfigError, match=message):
        holdout_split(ROWS, SESSIONS, spec, lookback=7)


def test_blocked_folds_validate_every_row_once_and_purge_neighbours():
    split = holdout_split(ROWS, SESSIONS, SplitSpec(), lookback=5)
    train_sessions = np.array([dict(zip(ROWS, SESSIONS))[r] for r in split.train])
    plan = cv_folds(split.train, train_sessions, CVSpec(n_splits=4), lookback=5)
    folds = plan.folds
    assert len(folds) == 4 and plan.spec == CVSpec(n_splits=4) and plan.notes == ()
    validated = np.concatenate([val for _, val in folds])
    np.testing.assert_array_equal(np.sort(validated), np.arange(len(split.train)))  # every row exactly once
    ids = split.train  # row ids are consecutive within a session, so a contiguous block has id steps of 1
    for fit, val in folds:
        for session in (0, 1, 2):  # every session gives each fold one contiguous block
            block = ids[val][train_sessions[val] == session]
            assert len(block) >= 10 and np.all(np.diff(block) == 1)
        # the purge: a row fits when it is neither validated nor within 5 rows of a validated row of its session
        same = train_sessions[:, None] == train_sessions[val][None, :]
        near = (same & (np.abs(ids[:, None] - ids[val][None, :]) <= 5)).any(axis=1)
        np.testing.assert_array_equal(fit, np.flatnonzero(~near))
        assert near.sum() - len(val) > 0  # something was purged


def test_kfold_is_shuffled_and_seeded():
    folds = cv_folds(ROWS, SESSIONS, CVSpec(kind="kfold", n_splits=5, seed=3), lookback=5).folds
    again = cv_folds(ROWS, SESSIONS, CVSpec(kind="kfold", n_splits=5, seed=3), lookback=5).folds
    for (f1, v1), (f2, v2) in zip(folds, again):
        np.testing.assert_array_equal(v1, v2)
    other = cv_folds(ROWS, SESSIONS, CVSpec(kind="kfold", n_splits=5, seed=4), lookback=5).folds
    assert not np.array_equal(np.sort(other[0][1]), np.sort(folds[0][1]))  # the seed decides the folds
    assert not np.all(np.diff(folds[0][1]) == 1)
    assert CVSpec(kind="kfold").leaky and not CVSpec().leaky


# twelve short sessions (19..43 usable rows, ids 100 apart), as 5 s telemetry in 45..70-row recordings gives
SHORT_LENGTHS = np.array([25, 19, 43, 30, 22, 37, 28, 41, 20, 33, 26, 35])
SHORT_ROWS = np.concatenate([np.arange(100 * i, 100 * i + n) for i, n in enumerate(SHORT_LENGTHS)])
SHORT_SESSIONS = np.repeat(np.arange(12), SHORT_LENGTHS)


def test_short_sessions_are_held_out_whole_instead_of_by_tail():
    split = holdout_split(SHORT_ROWS, SHORT_SESSIONS, SplitSpec(), lookback=30)
    assert split.kind == "whole_sessions" and split.gap_rows == 0 and not split.leaky
    test_sessions = set(SHORT_SESSIONS[np.isin(SHORT_ROWS, split.test)])
    assert test_sessions == {10, 11}  # the latest sessions nearest to 20 % of the rows: 61 of 364 (9 would make 94)
    assert not test_sessions & set(SHORT_SESSIONS[np.isin(SHORT_ROWS, split.train)])
    assert len(split.notes) == 1 and "30-row purge gap (19–43 usable rows)" in split.notes[0]
    assert "sessions [10, 11] were held out whole instead" in split.notes[0]
    tail = holdout_split(SHORT_ROWS, SHORT_SESSIONS, SplitSpec(), lookback=3)  # a short look-back: tails are fine
    assert tail.kind == "session_tail" and tail.notes == ()


def test_blocked_folds_become_whole_session_folds_when_the_purge_covers_the_sessions():
    plan = cv_folds(SHORT_ROWS, SHORT_SESSIONS, CVSpec(n_splits=5), lookback=30)
    assert plan.spec == CVSpec(kind="sessions", n_splits=5)
    assert plan.spec.describe(30).startswith("whole-session 5-fold")
    assert len(plan.notes) == 1 and "leave a fold 0 rows to fit on" in plan.notes[0]
    assert "5 folds of whole sessions were used instead" in plan.notes[0]
    validated = []
    for fit, val in plan.folds:
        assert not set(SHORT_SESSIONS[fit]) & set(SHORT_SESSIONS[val])  # a session is wholly on one side
        assert min(len(fit), len(val)) >= MIN_FOLD_ROWS
        validated.append(sorted(set(SHORT_SESSIONS[val])))
    assert validated == [[0, 1, 2], [3, 4, 5], [6, 7], [8, 9], [10, 11]]  # contiguous groups in time order


def test_blocked_folds_whose_purge_discards_more_than_it_keeps_become_whole_session_folds():
    rows, sessions = np.arange(300), np.repeat([0, 1, 2], 100)
    plan = cv_folds(rows, sessions, CVSpec(n_splits=5), lookback=30)  # middle folds keep 3 × 20 rows, purge 180
    assert plan.spec == CVSpec(kind="sessions", n_splits=3)
    assert "leave a fold 60 rows to fit on and discard 180" in plan.notes[0]
    one_session = cv_folds(rows[:100], sessions[:100], CVSpec(n_splits=5), lookback=30)
    assert one_session.spec == CVSpec(n_splits=5) and one_session.notes == ()  # wasteful, but nothing better


def test_fold_count_is_bounded_by_the_rows_before_any_fold_is_cut():
    started = time.perf_counter()
    plan = cv_folds(ROWS, SESSIONS, CVSpec(n_splits=100), lookback=5)
    assert time.perf_counter() - started < 0.5
    assert plan.spec.n_splits == len(plan.folds) == 28  # (100 + 60 + 140) // 28 = 10 rows in the smallest fold
    assert min(len(val) for _, val in plan.folds) >= MIN_FOLD_ROWS
    assert plan.notes == ("100 folds were asked for, 28 were used: with 300 training rows more folds would leave "
                          f"a fold fewer than {MIN_FOLD_ROWS} rows to validate on.",)
    kfold = cv_folds(ROWS, SESSIONS, CVSpec(kind="kfold", n_splits=100), lookback=5)
    assert kfold.spec == CVSpec(kind="kfold", n_splits=30) and len(kfold.folds) == 30


def test_whole_session_folds_can_be_asked_for_and_are_capped_by_the_sessions():
    plan = cv_folds(ROWS, SESSIONS, CVSpec(kind="sessions", n_splits=5), lookback=5)
    assert plan.spec == CVSpec(kind="sessions", n_splits=3) and len(plan.folds) == 3
    assert [sorted(set(SESSIONS[val])) for _, val in plan.folds] == [[0], [1], [2]]
    assert "5 whole-session folds were asked for, 3 were used" in plan.notes[0]


@pytest.mark.parametrize("rows, sessions, spec, lookback, message", [
    (ROWS[:15], SESSIONS[:15], CVSpec(), 1, r"^15 training rows are too few for 2 folds of at least 10 rows; load"),
    (np.arange(70), np.zeros(70), CVSpec(), 30,
     r"^No out-of-fold scheme fits these 70 training rows: time-blocked folds within sessions would leave a fold "
     r"0 rows to fit on and discard 56 \(.*in sessions of 70 training rows\); 1 session\(s\) cannot form 2 "
     r"whole-session folds .* Load more or longer recordings, or shorten the windows and lags"),
    (np.arange(43), np.repeat([0, 1], [40, 3]), CVSpec(kind="sessions"), 5,
     r"^No out-of-fold scheme fits these 43 training rows: 2 session\(s\) cannot form 2 whole-session folds of at "
     r"least 10 rows\."),
])
def test_folds_that_no_safe_scheme_gives_are_refused(rows, sessions, spec, lookback, message):
    with pytest.raises(SessionTooShortError, match=message):
        cv_folds(rows, sessions, spec, lookback)


def test_blocked_folds_stay_when_whole_sessions_cannot_form_folds_and_every_fold_can_still_fit():
    # one long session and one of 5 rows: the 50-row purge discards more than it keeps, but whole-session
    # folds cannot be formed (the short session is below the fold minimum), so the sound blocked folds remain
    sessions = np.repeat([0, 1], [200, 5])
    plan = cv_folds(np.arange(205), sessions, CVSpec(n_splits=5, gap=50), lookback=50)
    assert plan.spec.kind == "blocked" and len(plan.folds) == 5
    assert min(len(fit) for fit, _ in plan.folds) >= MIN_FOLD_ROWS
