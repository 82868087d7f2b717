"""Model kinds and the trusted-directory rule for pre-trained models (unpickling runs the file's code)."""
import joblib
import numpy as np
import pytest
from sklearn.linear_model import Ridge

from twin_core.errors import UntrustedModelError
from twin_core.models import MODEL_KINDS, PRETRAINED, make_estimator, set_threads


@pytest.mark.parametrize("kind", sorted(MODEL_KINDS))
def test_every_kind_builds_and_fits(kind):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(80, 3)), rng.normal(size=80)
    estimator = make_estimator(kind, {}, seed=0, threads=1)
    assert estimator.fit(X, y).predict(X).shape == (80,)


def test_integer_parameters_from_json_are_cast():
    assert make_estimator("lightgbm", {"n_estimators": 50.0}, seed=0, threads=1).n_estimators == 50


def test_thread_count_is_set_on_nested_estimators():
    estimator = set_threads(make_estimator("extratrees", {}, seed=0, threads=2), 1)
    assert estimator.n_jobs == 1


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
