"""Hold-out and CV splits: no training row within the purge gap of a test or validation row."""
import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from twin_core.errors import ConfigError
from twin_core.splits import CVSpec, SplitSpec, cv_folds, holdout_split

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
    folds = cv_folds(split.train, train_sessions, CVSpec(n_splits=4), lookback=5)
    assert len(folds) == 4
    validated = np.concatenate([val for _, val in folds])
    assert sorted(validated) == list(range(len(split.train)))
    sessions_of = dict(zip(split.train, train_sessions))
    for fit, val in folds:
        assert not set(fit) & set(val)
        assert not _too_close(split.train[fit], split.train[val], sessions_of, gap=5)
        # every session contributes a contiguous block to each fold
        assert set(train_sessions[val]) == {0, 1, 2}


def test_kfold_is_shuffled_and_seeded():
    folds = cv_folds(ROWS, SESSIONS, CVSpec(kind="kfold", n_splits=5, seed=3), lookback=5)
    again = cv_folds(ROWS, SESSIONS, CVSpec(kind="kfold", n_splits=5, seed=3), lookback=5)
    for (f1, v1), (f2, v2) in zip(folds, again):
        np.testing.assert_array_equal(v1, v2)
    assert not np.all(np.diff(folds[0][1]) == 1)
    assert CVSpec(kind="kfold").leaky and not CVSpec().leaky


def test_too_few_rows_for_folds():
    with pytest.raises(ConfigError, match="cannot be cut into 5 folds"):
        cv_folds(ROWS[:3], SESSIONS[:3], CVSpec(), lookback=1)
