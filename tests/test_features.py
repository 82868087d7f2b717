"""Feature windows: predictable names, per-session windows, alignment by row id, fixed workload categories."""
import numpy as np
import pandas as pd
import pytest

from tests.synthetic import make_telemetry
from twin_core.errors import ConfigError, SessionTooShortError
from twin_core.features import IDENTITY, FeatureSpec, build_features, feature_count, identity_estimate

SHORT = FeatureSpec(name="short", overall_windows=(3,), core_lags=2, overall_lags=2, identity_lags=1)
DEEP = FeatureSpec(name="deep", overall_windows=(10,), core_lags=6, overall_lags=8, identity=False)


@pytest.fixture(scope="module")
def telemetry():
    return make_telemetry()


def test_names_are_predictable(telemetry):
    spec = FeatureSpec(name="n", overall_windows=(10,), core_windows=(4,), identity_windows=(3,), core_lags=2,
                       overall_lags=1, identity_lags=2)
    cols = build_features(telemetry, [spec]).columns_by_set["n"]
    for expected in ["cpu_util_overall", "cpu_util_core_1", IDENTITY, "cpu_util_overall_roll_mean_10",
                     "cpu_util_overall_roll_std_10", "cpu_util_core_3_roll_mean_4", f"{IDENTITY}_roll_std_3",
                     "cpu_util_core_3_lag_2", "cpu_util_overall_lag_1", f"{IDENTITY}_lag_2", "workload_io_bound"]:
        assert expected in cols
    assert "cpu_util_core_0" not in cols and not any(c.startswith("cpu_util_core_0_") for c in cols)


def test_lookback_counts_rows_of_history():
    assert FeatureSpec(overall_windows=(10,), overall_lags=5, core_lags=5).lookback == 10
    assert FeatureSpec(overall_windows=(10,), windows_include_current=True, overall_lags=5, core_lags=5).lookback == 9
    assert FeatureSpec(overall_windows=(), overall_lags=3, core_lags=20, identity_lags=1).lookback == 20


def test_lags_and_windows_never_cross_a_session(telemetry):
    matrix = build_features(telemetry, [SHORT, DEEP])
    frame = telemetry.frame
    for row in matrix.X.index:
        session = frame.at[row, "session"]
        assert (frame.loc[row - matrix.lookback: row, "session"] == session).all()
    starts = frame.groupby("session").head(1).index
    for start in starts:  # the first `lookback` rows of every session have no complete features
        assert not set(range(start, start + matrix.lookback)) & set(matrix.X.index)


def test_rows_are_aligned_by_row_id_not_position(telemetry):
    """Regression for the notebook's defect: a shallow and a deep set must describe the same instant."""
    matrix = build_features(telemetry, [SHORT, DEEP])
    raw = telemetry.frame
    X = matrix.X
    np.testing.assert_allclose(X["cpu_util_overall"], raw.loc[X.index, "cpu_util_overall"], rtol=1e-6)
    np.testing.assert_allclose(X["cpu_util_core_2_lag_6"], raw.loc[X.index - 6, "cpu_util_core_2"], rtol=1e-6)
    np.testing.assert_allclose(X["cpu_util_overall_lag_8"], raw.loc[X.index - 8, "cpu_util_overall"], rtol=1e-6)
    # the short set built alone agrees with its columns in the joint matrix on the shared rows
    alone = build_features(telemetry, [SHORT]).X
    pd.testing.assert_frame_equal(alone.loc[X.index, matrix.columns_by_set["short"]],
                                  X[matrix.columns_by_set["short"]])
    assert len(alone) > len(X)


def test_rolling_excludes_current_row_unless_asked(telemetry):
    overall = telemetry.frame["cpu_util_overall"].to_numpy()
    past = build_features(telemetry, [FeatureSpec(name="p", overall_windows=(3,), overall_lags=0, core_lags=0)]).X
    now = build_features(telemetry, [FeatureSpec(name="c", overall_windows=(3,), windows_include_current=True,
                                                 overall_lags=0, core_lags=0)]).X
    row = int(past.index[5])
    assert past.at[row, "cpu_util_overall_roll_mean_3"] == pytest.approx(overall[row - 3: row].mean(), rel=1e-5)
    assert now.at[row, "cpu_util_overall_roll_mean_3_with_current"] == pytest.approx(
        overall[row - 2: row + 1].mean(), rel=1e-5)


def test_identity_feature(telemetry):
    X = build_features(telemetry, [SHORT]).X
    frame = telemetry.frame.loc[X.index]
    others = frame[["cpu_util_core_1", "cpu_util_core_2", "cpu_util_core_3"]].sum(axis=1)
    expected = 4 * frame["cpu_util_overall"] - others
    np.testing.assert_allclose(X[IDENTITY], expected, rtol=1e-5)
    np.testing.assert_allclose(identity_estimate(telemetry)[X.index], expected)


def test_features_are_float32(telemetry):
    assert set(build_features(telemetry, [SHORT]).X.dtypes) == {np.dtype("float32")}


def test_unseen_workload_is_a_warning_with_zero_columns(telemetry):
    with pytest.warns(UserWarning, match="not seen in training"):
        matrix = build_features(telemetry, [SHORT], workload_categories=("cpu_bound", "io_bound"))
    assert [c for c in matrix.X if c.startswith("workload_")] == ["workload_cpu_bound", "workload_io_bound"]
    mixed = telemetry.frame.loc[matrix.X.index, "workload_type"] == "mixed"
    assert mixed.any() and (matrix.X.loc[mixed, ["workload_cpu_bound", "workload_io_bound"]] == 0).all().all()
    assert matrix.warnings


def test_positional_windows_cross_sessions_for_seed_mode(telemetry):
    matrix = build_features(telemetry, [DEEP], positional_windows=True)
    assert len(matrix.X) == len(telemetry.frame) - DEEP.lookback


def test_short_sessions(telemetry):
    spec = FeatureSpec(name="long", overall_windows=(100,), overall_lags=0, core_lags=0)
    matrix = build_features(telemetry, [spec])  # the 90-row session gives no rows
    assert set(telemetry.frame.loc[matrix.X.index, "session"]) == {0, 2}
    assert any("shorter than" in w for w in matrix.warnings)
    with pytest.raises(SessionTooShortError, match="longest session has 150"):
        build_features(telemetry, [FeatureSpec(name="x", overall_windows=(400,))])


@pytest.mark.parametrize("spec, message", [
    (FeatureSpec(name="w", overall_windows=(1,)), "at least 2 rows"),
    (FeatureSpec(name="s", window_stats=("median",)), "unknown window statistic"),
    (FeatureSpec(name="l", core_lags=-1), "a lag depth is a whole number of rows from 0"),
    (FeatureSpec(name="e", current_values=False, overall_windows=(), overall_lags=0, core_lags=0, identity=False,
                 workload_onehot=False), "is empty"),
    (FeatureSpec(name=" "), "needs a name"),
])
def test_invalid_specs_are_refused(telemetry, spec, message):
    with pytest.raises(ConfigError, match=message):
        build_features(telemetry, [spec])


def test_spec_round_trips_through_dict():
    assert FeatureSpec.from_dict(SHORT.to_dict()) == SHORT
    with pytest.raises(ConfigError, match="unknown field"):
        FeatureSpec.from_dict({**SHORT.to_dict(), "bogus": 1})


def test_current_overall_off_leaves_overall_out_and_keeps_the_other_cores(telemetry):
    spec = FeatureSpec(name="b", current_overall=False, overall_windows=(), overall_lags=0, core_windows=(3,),
                       core_lags=1, identity=False)
    cols = build_features(telemetry, [spec]).columns_by_set["b"]
    assert cols[:3] == ["cpu_util_core_1", "cpu_util_core_2", "cpu_util_core_3"]
    assert not [c for c in cols if "overall" in c or IDENTITY in c or c.startswith("cpu_util_core_0")]
    assert spec.overall_fields() == []
    for specs in ([spec], [spec, SHORT]):  # counted without building, overall's current sample once or not at all
        built = build_features(telemetry, specs)
        assert feature_count(specs, telemetry.n_cores, len(built.workload_categories)) == built.X.shape[1]
    assert FeatureSpec(name="on").overall_fields() == [("current_overall", True), ("overall_windows", (10,)),
                                                       ("overall_lags", 5), ("identity", True)]
