"""Model kinds and the trusted-directory rule for pre-trained models (unpickling runs the file's code)."""
import math

import joblib
import numpy as np
import pytest
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

from twin_core.errors import ConfigError, UntrustedModelError
from twin_core.models import (MODEL_KINDS, PRETRAINED, ParamInfo, ScaledRidgeCV, make_estimator, set_threads,
                               validate_params)
from twin_core.pipeline import prepare_run
from twin_core.presets import get_preset


@pytest.mark.parametrize("kind", sorted(MODEL_KINDS))
def test_every_kind_builds_and_fits(kind):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(80, 3)), rng.normal(size=80)
    estimator = make_estimator(kind, {}, seed=0, threads=1)
    assert estimator.fit(X, y).predict(X).shape == (80,)


@pytest.mark.parametrize("kind, param", [
    ("elasticnetcv", "elasticnetcv__n_jobs"),  # nested: the ElasticNetCV step inside a scaling Pipeline
    ("extratrees", "n_jobs"),
    ("lightgbm", "n_jobs"),
])
def test_thread_count_is_set_on_top_level_and_nested_estimators(kind, param):
    estimator = make_estimator(kind, {}, seed=0, threads=2)
    assert estimator.get_params(deep=True)[param] != 3
    assert set_threads(estimator, 3).get_params(deep=True)[param] == 3


@pytest.mark.parametrize("kind", ["ridgecv", "histgb"])
def test_set_threads_leaves_estimators_without_a_thread_count_as_they_were(kind):
    estimator = make_estimator(kind, {}, seed=0, threads=2)
    before = repr(estimator.get_params(deep=True))
    assert "n_jobs" not in before
    assert set_threads(estimator, 3) is estimator and repr(estimator.get_params(deep=True)) == before


@pytest.fixture
def trusted(tmp_path):
    directory = tmp_path / "trusted"
    directory.mkdir()
    joblib.dump(Ridge().fit(np.eye(3), [1.0, 2.0, 3.0]), directory / "ridge.joblib")
    joblib.dump({"not": "a model"}, directory / "dict.joblib")
    (tmp_path / "outside.joblib").write_bytes(b"anything")
    return directory


def test_pretrained_model_loads_only_from_the_trusted_directory(trusted):
    model = make_estimator(PRETRAINED, {"file": "ridge.joblib"}, seed=0, threads=1, trusted_dir=trusted)
    np.testing.assert_allclose(model.fit(np.zeros((3, 3)), [0, 0, 0]).predict(np.eye(3)),
                               Ridge().fit(np.eye(3), [1.0, 2.0, 3.0]).predict(np.eye(3)))  # frozen: fit is a no-op


@pytest.mark.parametrize("file, trusted_dir, message", [
    ("ridge.joblib", None, "no trusted model directory is configured"),
    ("../outside.joblib", "trusted", "outside the trusted directory"),
    ("/etc/passwd", "trusted", "outside the trusted directory"),
    ("missing.joblib", "trusted", "was not found"),
    ("dict.joblib", "trusted", "not a fitted regressor"),
])
def test_untrusted_models_are_refused(trusted, file, trusted_dir, message):
    directory = trusted if trusted_dir else None
    with pytest.raises(UntrustedModelError, match=message):
        make_estimator(PRETRAINED, {"file": file}, seed=0, threads=1, trusted_dir=directory)


def _just_outside(info: ParamInfo, end: float, step: int) -> float:
    """A value just past one end of a parameter's range: one unit for integers, a hair for real numbers."""
    return end + step if info.kind is int else end + step * max(abs(end), 1.0) * 1e-6


@pytest.mark.parametrize("kind, name", [(k, p) for k in sorted(MODEL_KINDS) for p in MODEL_KINDS[k].params])
def test_every_parameter_accepts_its_range_and_refuses_past_it(kind, name):
    info = MODEL_KINDS[kind].params[name]
    wrap = (lambda v: (v,)) if info.kind is tuple else (lambda v: v)
    low, high = (int(info.low), int(info.high)) if info.kind is int else (info.low, info.high)
    for value in (low, high):
        validate_params(kind, {name: wrap(value)}, "m")
    for value in (_just_outside(info, low, -1), _just_outside(info, high, +1)):
        with pytest.raises(ConfigError, match=rf"^m\.params\.{name}(\[0\])?: must be a "):
            validate_params(kind, {name: wrap(value)}, "m")


@pytest.mark.parametrize("kind, params, message", [
    ("lightgbm", {"learning_rate": math.nan}, r"^m\.params\.learning_rate: must be a finite number from 0\.001 to 1, "
                                              r"got NaN$"),
    ("lightgbm", {"learning_rate": "0.1"}, r"^m\.params\.learning_rate: .*, got '0\.1' \(text\)$"),
    ("lightgbm", {"num_leaves": 31.0}, r"^m\.params\.num_leaves: must be a whole number from 2 to 1024, got 31\.0$"),
    ("lightgbm", {"num_leaves": True}, r"^m\.params\.num_leaves: .*, got true$"),
    ("lightgbm", {"max_depth": None}, r"^m\.params\.max_depth: must be a whole number from -1 to 64, got null$"),
    ("lightgbm", {"depth": 3}, r"^m\.params\.depth: is not a parameter of lightgbm; allowed: n_estimators, "),
    ("ridgecv", {"alphas": 1.0}, r"^m\.params\.alphas: must be a list, got 1\.0$"),
    ("ridgecv", {"alphas": [1.0, "x"]}, r"^m\.params\.alphas\[1\]: must be a finite number from 1e-06 to 1e\+06, "),
    ("extratrees", {"max_features": math.inf}, r"^m\.params\.max_features: .*, got Infinity$"),
    ("pretrained", {}, r"^m\.params\.file: is required but missing$"),
    ("pretrained", {"file": " "}, r"^m\.params\.file: must be the file name of a model"),
    ("pretrained", {"file": "a.joblib", "x": 1}, r"^m\.params\.x: is not a parameter of pretrained; allowed: file$"),
    ("svm", {}, r"^m\.kind: unknown model kind 'svm'; use one of lightgbm, "),
])
def test_bad_parameters_are_refused_with_their_path(kind, params, message):
    with pytest.raises(ConfigError, match=message):
        validate_params(kind, params, "m")


def _random_regression(rows: int, columns: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Columns of very different scales and offsets, a near copy of column 0 and a constant column."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, columns)) * rng.uniform(0.1, 100, columns) + rng.normal(size=columns) * 50
    X[:, 1] = 2 * X[:, 0] + rng.normal(size=rows) * 1e-3
    X[:, 2] = 3.0
    return X, 0.3 * X[:, 0] - 0.01 * X[:, 3] + rng.normal(size=rows) * 5


@pytest.mark.parametrize("rows, columns, alphas, seed", [
    (200, 5, (0.1, 1.0, 10.0), 0),  # picks the smallest alpha
    (5000, 30, (0.1, 1.0, 10.0), 1),  # picks the largest
    (100, 20, (1e-3, 30.0, 1e5), 2),  # picks the middle alpha
    (50, 40, (1e-6, 1e3, 1e6), 2),  # nearly as many columns as rows
])
def test_scaled_ridge_gives_the_scaler_and_ridgecv_pipelines_answers_on_random_data(rows, columns, alphas, seed):
    X, y = _random_regression(rows, columns, seed)
    expected = make_pipeline(StandardScaler(), RidgeCV(alphas=alphas)).fit(X, y)
    got = ScaledRidgeCV(alphas=alphas).fit(X, y)
    ridge = expected[-1]
    assert got.alpha_ == ridge.alpha_
    np.testing.assert_allclose(got.best_score_, ridge.best_score_, rtol=1e-7)
    np.testing.assert_allclose(got.coef_, ridge.coef_, rtol=1e-5, atol=1e-8 * np.abs(ridge.coef_).max())
    np.testing.assert_allclose(got.intercept_, ridge.intercept_, rtol=1e-12)
    np.testing.assert_allclose(got.predict(X), expected.predict(X), rtol=1e-9, atol=1e-9 * y.std())


def test_scaled_ridge_picks_the_pipelines_alpha_on_demo_features_within_float32_rounding(demo_telemetry):
    run = prepare_run(demo_telemetry, get_preset("default"))
    X, y = run.features.X.to_numpy(), run.y[run.features.X.index]
    assert X.dtype == np.float32
    for alphas in [(0.1, 1.0, 10.0), (1e-3, 1e3, 1e6)]:
        expected = make_pipeline(StandardScaler(), RidgeCV(alphas=alphas)).fit(X, y)
        got = ScaledRidgeCV(alphas=alphas).fit(X, y)
        assert got.alpha_ == expected[-1].alpha_
        np.testing.assert_allclose(got.best_score_, expected[-1].best_score_, rtol=1e-4)
        # the pipeline scales in float32: predictions agree to float32 rounding of the target's scale
        np.testing.assert_allclose(got.predict(X), expected.predict(X), rtol=0, atol=1e-4 * y.std())


def test_scaled_ridge_meets_the_estimator_contract():
    results = check_estimator(ScaledRidgeCV(), on_fail=None)
    assert [r for r in results if r["status"] == "failed"] == []
    assert sum(r["status"] == "passed" for r in results) >= 45  # the checks really ran (51 with scikit-learn 1.9)


@pytest.mark.parametrize("alphas, rows, message", [
    ((), 10, r"alphas must be one or more positive numbers, got \(\)"),
    ((1.0, -1.0), 10, r"alphas must be one or more positive numbers, got \(1\.0, -1\.0\)"),
    ((1.0,), 1, r"leave-one-out needs at least 2 samples, got n_samples = 1"),
])
def test_scaled_ridge_refuses_what_leave_one_out_cannot_score(alphas, rows, message):
    with pytest.raises(ValueError, match=message):
        ScaledRidgeCV(alphas=alphas).fit(np.arange(rows * 2.0).reshape(rows, 2), np.arange(rows * 1.0))
