"""HierarchicalStack: the scikit-learn estimator contract, out-of-fold training, progress, cancellation."""
import warnings

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.utils.estimator_checks import check_estimator
from sklearn.utils.validation import check_is_fitted

from twin_core.errors import ConfigError, FitError, TrainingCancelled
from twin_core.stack import HierarchicalStack


class Recorder(RegressorMixin, BaseEstimator):
    """Predicts the mean and remembers the shape it was fitted on."""

    def fit(self, X, y):
        self.shape_ = np.shape(X)
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


class Faulty(RegressorMixin, BaseEstimator):
    """Predicts the mean, but raises in fit when given exactly `fail_rows` rows, or always in predict."""

    def __init__(self, fail_in: str = "fit", fail_rows: int = 0):
        self.fail_in = fail_in
        self.fail_rows = fail_rows

    def fit(self, X, y):
        if self.fail_in == "fit" and len(X) == self.fail_rows:
            raise ValueError(f"Found array with {len(X)} sample(s)\nwhile a minimum is required")
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        if self.fail_in == "predict":
            raise RuntimeError("cannot predict")
        return np.full(len(X), self.mean_)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 5)), columns=list("abcde"))
    y = 2 * X["a"] - X["b"] + 0.5 * X["c"] * X["d"] + rng.normal(0, 0.1, 300)
    return X, y.to_numpy()


def test_ridge_only_stack_meets_the_estimator_contract():
    results = check_estimator(
        HierarchicalStack([[("r1", Ridge()), ("r2", Ridge(alpha=10.0))], [("top", Ridge())]], cv=3), on_fail=None)
    assert [r for r in results if r["status"] == "failed"] == []
    assert sum(r["status"] == "passed" for r in results) >= 45  # the checks really ran (51 pass with scikit-learn 1.9)


def test_predict_layers_returns_every_model_of_every_layer(data):
    X, y = data
    stack = HierarchicalStack([[("lin", LinearRegression(), ["a", "b"]), ("rid", Ridge())],
                               [("m1", Ridge()), ("m2", LinearRegression())], [("top", Ridge())]], cv=4).fit(X, y)
    layers = stack.predict_layers(X.iloc[:50])
    assert [list(frame.columns) for frame in layers] == [["lin", "rid"], ["m1", "m2"], ["top"]]
    assert all(frame.index.equals(X.index[:50]) for frame in layers)
    np.testing.assert_allclose(stack.predict(X.iloc[:50]), layers[-1]["top"])
    assert [o.shape for o in stack.oof_predictions_] == [(300, 2), (300, 2), (300, 1)]
    assert not any(o.isna().any().any() for o in stack.oof_predictions_)
    assert stack.layers_[0][0].estimators[0].n_features_in_ == 2  # its own feature set
    assert stack.score(X, y) > 0.9


def test_layer_one_oof_predictions_come_from_models_that_did_not_see_the_row(data):
    X, y = data
    stack = HierarchicalStack([[("rec", Recorder())]], cv=3).fit(X, y)
    for fit_rows, val_rows in stack.folds_:
        np.testing.assert_allclose(stack.oof_predictions_[0]["rec"].iloc[val_rows], y[fit_rows].mean())


def test_rows_without_oof_predictions_do_not_train_the_next_layer(data):
    X, y = data
    idx = np.arange(300)
    folds = [(idx[100:200], idx[:100]), (idx[:100], idx[100:200])]  # rows 200..299 are never validated
    stack = HierarchicalStack([[("base", Ridge())], [("top", Recorder())]], cv=folds).fit(X, y)
    assert stack.rows_without_oof_[0] == 100
    assert stack.oof_predictions_[0]["base"].iloc[200:].isna().all()
    assert stack.layers_[1][0].estimators[0].shape_ == (200, 1)


def test_passthrough_feeds_original_features(data):
    X, y = data
    stack = HierarchicalStack([[("a", Ridge()), ("b", Ridge())], [("top", Recorder())]], passthrough=True,
                              cv=3).fit(X, y)
    assert stack.layers_[1][0].estimators[0].shape_ == (300, 2 + 5)


def test_refit_average_keeps_the_fold_models(data):
    X, y = data
    stack = HierarchicalStack([[("r", Ridge())]], cv=4, refit="average").fit(X, y)
    assert len(stack.layers_[0][0].estimators) == 4
    expected = np.mean([m.predict(X.to_numpy()) for m in stack.layers_[0][0].estimators], axis=0)
    np.testing.assert_allclose(stack.predict(X), expected)


def test_progress_reports_every_fit_and_cancel_stops_between_fits(data):
    X, y = data
    seen = []
    stack = HierarchicalStack([[("a", Ridge()), ("b", Ridge())], [("top", Ridge())]], cv=3)
    stack.fit(X, y, on_progress=lambda done, total, msg: seen.append((done, total, msg)))
    assert [s[0] for s in seen] == list(range(1, 13)) and {s[1] for s in seen} == {12}
    assert seen[0][2].startswith("layer 1 · a · fold 1/3") and "refit" in seen[-1][2]

    for jobs in (1, 2):
        count = []
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # cancelling is not a warning-worthy event
            with pytest.raises(TrainingCancelled, match="after 4 of 12 fits"):
                HierarchicalStack([[("a", Ridge()), ("b", Ridge())], [("top", Ridge())]], cv=3, n_jobs=jobs).fit(
                    X, y, on_progress=lambda *a: count.append(1), should_cancel=lambda: len(count) >= 4)


def test_same_seed_same_predictions_and_one_level_of_parallelism(data):
    X, y = data
    make = lambda jobs: HierarchicalStack(  # noqa: E731
        [[("g", lgb.LGBMRegressor(n_estimators=30, random_state=1, n_jobs=2, verbose=-1, subsample=0.7,
                                  subsample_freq=1))], [("top", Ridge())]], cv=3, n_jobs=jobs)
    first, second, parallel = make(1).fit(X, y), make(1).fit(X, y), make(2).fit(X, y)
    np.testing.assert_array_equal(first.predict(X), second.predict(X))
    np.testing.assert_allclose(first.predict(X), parallel.predict(X))
    assert first.layers_[0][0].estimators[0].n_jobs == 2
    # folds in parallel fit one thread per model
    threads_at_fit = []
    original = lgb.LGBMRegressor.fit
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(lgb.LGBMRegressor, "fit", lambda self, *a, **k: threads_at_fit.append(self.n_jobs) or original(
            self, *a, **k))
        parallel = make(2).fit(X, y)
    assert threads_at_fit == [1, 1, 1, 1] and parallel.layers_[0][0].estimators[0].n_jobs == 1


@pytest.mark.parametrize("layers, kwargs, message", [
    ([], {}, "at least one model"),
    ([[("a", Ridge())], []], {}, "at least one model"),
    ([[("a", Ridge()), ("a", Ridge())]], {}, "same name"),
    ([[("a", Ridge())], [("b", Ridge(), ["a"])]], {}, "only first-layer models choose columns"),
    ([[("a", Ridge(), ["zz"])]], {}, "columns not in X"),
    ([[("a", Ridge())]], {"refit": "sometimes"}, "refit must be"),
    ([[("a", Ridge())], [("b", Ridge())]], {"passthrough": [True]}, "1 flags for 2 layers"),
])
def test_invalid_compositions_are_refused(data, layers, kwargs, message):
    X, y = data
    with pytest.raises(ConfigError, match=message):
        HierarchicalStack(layers, cv=3, **kwargs).fit(X, y)


@pytest.mark.parametrize("passthrough", [False, True])
def test_fitting_on_rows_of_x_equals_fitting_on_their_copy(data, passthrough):
    X, y = data
    rows = np.r_[10:120, 150:290]  # two runs of rows, in the order the copy would have them
    layers = [[("lin", LinearRegression(), ["a", "b"]), ("rid", Ridge()), ("gbm", lgb.LGBMRegressor(
        n_estimators=20, verbose=-1))], [("top", Ridge())]]
    on_rows = HierarchicalStack(layers, cv=3, passthrough=passthrough).fit(X, y, rows=rows)
    on_copy = HierarchicalStack(layers, cv=3, passthrough=passthrough).fit(X.iloc[rows], y[rows])
    for got, expected in zip(on_rows.oof_predictions_, on_copy.oof_predictions_):
        pd.testing.assert_frame_equal(got, expected)
    # the same numbers; BLAS may sum a view and a copy (other memory layouts) in another order
    np.testing.assert_allclose(on_rows.predict(X), on_copy.predict(X), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("rows", [[0, 300], [-1, 2], [[1, 2]], [0.0, 1.0]])
def test_rows_that_are_not_positions_of_x_are_refused(data, rows):
    X, y = data
    with pytest.raises(ConfigError, match=r"^rows must be whole-number positions of X's rows, from 0 to 299\.$"):
        HierarchicalStack([[("a", Ridge())]], cv=2).fit(X, y, rows=np.array(rows))


def test_predict_before_fit_is_an_error(data):
    with pytest.raises(NotFittedError):
        HierarchicalStack([[("a", Ridge())]]).predict(data[0])


def test_reused_layers_must_match_the_composition(data):
    X, y = data
    first = HierarchicalStack([[("a", Ridge())], [("top", Ridge())]], cv=3).fit(X, y)
    reused = first.fitted_layers()[:1]
    second = HierarchicalStack([[("a", Ridge())], [("new-top", LinearRegression())]], cv=3).fit(X, y, reuse=reused)
    assert second.layers_[0] is first.layers_[0]
    with pytest.raises(ConfigError, match="does not match"):
        HierarchicalStack([[("b", Ridge())], [("top", Ridge())]], cv=3).fit(X, y, reuse=reused)
    with pytest.raises(ConfigError, match="does not match"):
        HierarchicalStack([[("a", Ridge())]], cv=3).fit(X.iloc[:100], y[:100], reuse=reused)


# with cv=3 on 300 rows every fold fits on 200 rows and the refit on 300
@pytest.mark.parametrize("layers, message", [
    ([[("ok", Ridge()), ("bad", Faulty(fail_rows=200))]],
     r"^Model failed at layer 1 · bad · fold 1/3 \(200 rows to fit on\): ValueError: Found array with 200 "
     r"sample\(s\) while a minimum is required\. Check this model's parameters"),
    ([[("a", Ridge())], [("top", Faulty(fail_in="predict"))]],
     r"^Model failed at layer 2 · top · fold 1/3 \(200 rows to fit on\): RuntimeError: cannot predict\."),
    ([[("a", Ridge())], [("top", Faulty(fail_rows=300))]],
     r"^Model failed at layer 2 · top · refit on all training rows \(300 rows to fit on\): ValueError"),
])
def test_a_failing_model_is_a_fit_error_naming_layer_model_and_fold(data, layers, message):
    X, y = data
    stack = HierarchicalStack(layers, cv=3)
    with pytest.raises(FitError, match=message) as caught:
        stack.fit(X, y)
    assert "\n" not in str(caught.value)
    with pytest.raises(NotFittedError):  # a failed fit leaves nothing that looks fitted
        stack.predict(X)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_cancelled_fit_leaves_the_stack_unfitted(data, jobs):
    X, y = data
    stack = HierarchicalStack([[("a", Ridge())], [("top", Ridge())]], cv=3, n_jobs=jobs).fit(X, y)
    count = []
    with pytest.raises(TrainingCancelled, match=r"after 5 of 8 fits"):  # a second fit, cancelled in layer 2
        stack.fit(X, y, on_progress=lambda *a: count.append(1), should_cancel=lambda: len(count) >= 5)
    with pytest.raises(NotFittedError):
        check_is_fitted(stack)
    with pytest.raises(NotFittedError):
        stack.predict(X)
    assert not hasattr(stack, "oof_predictions_") and not hasattr(stack, "rows_without_oof_")


def test_max_fit_rows_samples_each_fit_and_the_out_of_fold_rows_seeded(data):
    X, y = data
    big = pd.concat([X] * 4, ignore_index=True)  # 1,200 rows: 800 fit rows per fold of 3, 1,200 for the refit
    target = np.tile(y, 4)
    stack = HierarchicalStack([[("rec", Recorder())], [("top", Recorder())]], cv=3, max_fit_rows=500, random_state=7)
    stack.fit(big, target)
    fitted_rows = [member.estimators[0].shape_[0] for layer in stack.layers_ for member in layer]
    assert fitted_rows == [500, 500]  # the refits read 500 of 1,200 rows
    # out-of-fold predictions for about as many rows: 167 of each fold's 400 validation rows
    has_oof = stack.oof_predictions_[0]["rec"].notna()
    assert has_oof.sum() == 501 and stack.rows_without_oof_ == [699, 699]
    assert stack.oof_predictions_[1]["top"].notna().sum() == 501  # the layer above is scored on those rows
    again = HierarchicalStack([[("rec", Recorder())], [("top", Recorder())]], cv=3, max_fit_rows=500,
                              random_state=7).fit(big, target)
    other_seed = HierarchicalStack([[("rec", Recorder())], [("top", Recorder())]], cv=3, max_fit_rows=500,
                                   random_state=8).fit(big, target)
    assert again.predict(big)[0] == stack.predict(big)[0] != other_seed.predict(big)[0]
    assert again.oof_predictions_[0]["rec"].notna().equals(has_oof)
    uncapped = HierarchicalStack([[("rec", Recorder())]], cv=3).fit(big, target)
    assert uncapped.layers_[0][0].estimators[0].shape_[0] == 1200 and uncapped.rows_without_oof_ == [0]
