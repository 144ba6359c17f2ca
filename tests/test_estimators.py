"""scikit-learn estimators: the API checks, Pipeline/GridSearchCV, the one-epoch timing contract, errors, pickling,
real data. Parity with scikit-learn's own estimators, setting by setting: tests/test_sklearn_parity.py."""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import LabelBinarizer, MinMaxScaler, StandardScaler
from sklearn.utils.estimator_checks import estimator_checks_generator

from conftest import require
from mlplab import MLP, MLPClassifier, MLPRegressor
from mlplab.checkpoint import load_checkpoint, save_checkpoint
from mlplab.estimators import binarize, expected_failed_checks, shuffle_like_sklearn
from mlplab.sklearn_solver import StochasticSolver
from mlplab.train import Trainer

NOT_APPLICABLE = {
    "check_array_api_input",  # needs SCIPY_ARRAY_API and a GPU-style namespace; mlplab claims no array-API support
    "check_classifiers_multilabel_output_format_decision_function",  # no decision_function, as in scikit-learn's MLP
}


def _api_checks():
    """scikit-learn's estimator checks, less those that do not apply (NOT_APPLICABLE: left in, they would only
    ever skip)."""
    for estimator in (MLPClassifier(), MLPRegressor(), MLPRegressor(dtype="float32")):
        expected = expected_failed_checks(estimator)
        for est, check in estimator_checks_generator(estimator):
            name = getattr(check, "func", check).__name__
            if name in NOT_APPLICABLE or name in expected:
                # An expected failure is left out rather than marked xfail: whether float32's last bit differs
                # depends on the BLAS kernel picked for each row count, so a mark could never fail. The property
                # is tested at float32's own precision instead (test_float32_regressor_is_subset_invariant).
                continue
            yield pytest.param(est, check, id=f"{type(est).__name__}-{est.get_params()['dtype']}-{name}")


def test_the_expected_failures_are_only_the_float32_regressor_subset_check():
    """What _api_checks leaves out as an expected failure, and nothing more."""
    assert expected_failed_checks(MLPClassifier()) == {}
    assert expected_failed_checks(MLPRegressor()) == {}
    assert set(expected_failed_checks(MLPRegressor(dtype="float32"))) == {"check_methods_subset_invariance"}


def test_float32_regressor_is_subset_invariant():
    """scikit-learn's check_methods_subset_invariance at float32 precision: predicting on row subsets gives the
    full-batch predictions to within a few float32 ulps (the check's 1e-7 is below float32's resolution)."""
    X, y = make_regression(n_samples=300, n_features=7, noise=0.5, random_state=0)
    est = MLPRegressor((16,), dtype="float32", max_iter=30, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    full = est.predict(X)
    for size in (1, 3, 10, 64):
        parts = np.concatenate([est.predict(X[i : i + size]) for i in range(0, len(X), size)])
        np.testing.assert_allclose(parts, full, rtol=1e-5, atol=1e-5 * np.abs(full).max())


@pytest.mark.parametrize("estimator,check", list(_api_checks()))
def test_sklearn_check_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def _contract(B: int, lr: float) -> dict:
    return dict(hidden_layer_sizes=(100,), activation="tanh", solver="sgd", momentum=0.0, alpha=0.0,
                batch_size=B, learning_rate_init=lr, max_iter=1, shuffle=True, random_state=0,
                early_stopping=False, tol=0.0, n_iter_no_change=10**6)


@pytest.mark.parametrize("B", [1, 32, 500])
def test_timing_contract_is_exactly_one_plain_sgd_epoch(monkeypatch, B):
    """max_iter=1 costs one pass of the engine over the data and nothing else, and gives scikit-learn's model."""
    X, y = make_classification(n_samples=300, n_features=12, n_informative=6, n_classes=3, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one epoch "has not converged"; batch 500 is clipped to 300
        reference = SkMLPClassifier(**_contract(B, 0.05)).fit(X, y)

    passes, epochs = [], []
    orig_epoch, orig_run_epoch = StochasticSolver.epoch, Trainer.run_epoch

    def counting_epoch(self, X_, Y_, order, B_):
        passes.append(X_.shape[0])
        return orig_epoch(self, X_, Y_, order, B_)

    def counting_run_epoch(self, X_, Y_, labels, order=None):
        epochs.append(X_.shape[0])
        return orig_run_epoch(self, X_, Y_, labels, order)

    def forbidden(*a, **k):
        raise AssertionError("an extra pass over the data")

    monkeypatch.setattr(StochasticSolver, "epoch", counting_epoch)
    monkeypatch.setattr(Trainer, "run_epoch", counting_run_epoch)
    monkeypatch.setattr(MLP, "forward", forbidden)
    monkeypatch.setattr(MLP, "evaluate", forbidden)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier(**_contract(B, 0.05)).fit(X, y)
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 1
    assert passes == epochs == [300]  # one pass of the engine's plain-SGD epoch over the data, nothing else
    for a, b in zip(clf.coefs_ + clf.intercepts_, reference.coefs_ + reference.intercepts_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_pipeline_and_grid_search():
    X, y = make_classification(n_samples=240, n_features=8, n_informative=5, random_state=0)
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=60, random_state=0, learning_rate_init=0.01))
    grid = GridSearchCV(pipe, {"mlpclassifier__hidden_layer_sizes": [(4,), (16,)],
                               "mlpclassifier__alpha": [1e-4, 1e-2]}, cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        grid.fit(X, y)
    assert set(grid.best_params_) == {"mlpclassifier__hidden_layer_sizes", "mlpclassifier__alpha"}
    assert grid.best_score_ > 0.8
    assert grid.predict(X).shape == (240,)

    Xr, yr = make_regression(n_samples=200, n_features=5, noise=0.1, random_state=0)
    reg = make_pipeline(StandardScaler(), MLPRegressor((32,), max_iter=300, learning_rate_init=0.01, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert reg.fit(Xr, yr / yr.std()).score(Xr, yr / yr.std()) > 0.9


def test_early_stopping_partial_fit_and_dropout_attributes():
    X, y = make_classification(n_samples=400, n_features=10, random_state=0)
    clf = MLPClassifier((16,), early_stopping=True, n_iter_no_change=3, max_iter=200, random_state=0,
                        dropout=0.2, learning_rate_init=0.01).fit(X, y)
    assert clf.n_iter_ < 200 and len(clf.validation_scores_) == clf.n_iter_ == len(clf.loss_curve_)
    assert clf.best_validation_score_ == max(clf.validation_scores_) and clf.best_loss_ is None
    assert clf._net.dropout == 0.2 and clf.n_features_in_ == 10 and list(clf.classes_) == [0, 1]
    inc = MLPClassifier((8,), random_state=0)
    for _ in range(3):
        inc.partial_fit(X, y, classes=[0, 1])
    assert inc.n_iter_ == 1 and len(inc.loss_curve_) == 3 and inc.t_ == 3 * 400  # scikit-learn's counters
    with pytest.raises(ValueError, match="classes must be passed"):
        MLPClassifier().partial_fit(X, y)


def test_clear_errors_for_what_is_not_supported():
    X, y = make_classification(n_samples=60, n_features=4, random_state=0)
    with pytest.raises(AttributeError, match="has no attribute 'partial_fit'"):  # as scikit-learn, for lbfgs
        MLPClassifier(solver="lbfgs").partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="'squared_error'"):
        MLPRegressor(loss="poisson").fit(X, y)
    with pytest.raises(ValueError, match="dropout needs a stochastic solver"):
        MLPClassifier(solver="lbfgs", dropout=0.5).fit(X, y)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        MLPRegressor(early_stopping=True).partial_fit(X, y)


def test_pickle_keeps_the_model_and_its_dtype():
    """Pickling stores plain arrays (network, optimizer state) and rebuilds: same predictions, same precision."""
    X, y = make_classification(n_samples=120, n_features=6, random_state=0)
    for dtype, Xd in ((None, X), (None, X.astype(np.float32)), ("float32", X)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf = MLPClassifier((8,), max_iter=5, random_state=0, dtype=dtype, solver="sgd").fit(Xd, y)
        copy = pickle.loads(pickle.dumps(clf))
        assert copy._net.dtype == clf._net.dtype == (np.float32 if dtype or Xd.dtype == np.float32 else np.float64)
        np.testing.assert_array_equal(copy.predict_proba(Xd), clf.predict_proba(Xd))
        velocity = copy._solver.optimizer.velocity["W1"]
        assert np.array_equal(velocity, clf._solver.optimizer.velocity["W1"]) and velocity.any()


def test_pickling_is_the_trainers_state_dict_as_checkpoints_store_it(tmp_path, monkeypatch):
    """One serialiser: an estimator pickles its solver as ``Trainer.state_dict`` and unpickles through
    ``Trainer.load_state_dict``, so a checkpoint of its Trainer restores into an unpickled copy exactly, and both
    continue as the original does (Adam's moments, its step count, the dropout generator)."""
    X, y = make_classification(n_samples=150, n_features=6, n_classes=3, n_informative=4, random_state=0)
    clf = MLPClassifier((8,), dropout=0.2, batch_size=32, random_state=0, learning_rate_init=0.01)
    for _ in range(2):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    saved, loaded = [], []
    state_dict, load_state_dict = Trainer.state_dict, Trainer.load_state_dict
    monkeypatch.setattr(Trainer, "state_dict", lambda self: saved.append(state_dict(self)) or saved[-1])
    monkeypatch.setattr(Trainer, "load_state_dict", lambda self, a, s: loaded.append((a, s)) or load_state_dict(
        self, a, s))
    payload = pickle.dumps(clf)
    copy = pickle.loads(payload)
    assert len(saved) == 1 and len(loaded) == 1  # the pickled solver state is the Trainer's, and nothing else
    assert loaded[0][1] == saved[0][1] and loaded[0][0].keys() == saved[0][0].keys()
    assert not hasattr(copy._solver, "state_dict")  # no second serialiser
    monkeypatch.undo()

    save_checkpoint(tmp_path, {}, clf._solver.trainer)  # the checkpoint format, from the original's Trainer
    from_checkpoint = pickle.loads(payload)
    from_checkpoint._solver.optimizer.m["W1"][:] = 0  # spoil it: the checkpoint must bring it back
    load_checkpoint(tmp_path).restore(from_checkpoint._net, from_checkpoint._solver.trainer)
    for est in (clf, copy, from_checkpoint):
        est.partial_fit(X, y)
    for other in (copy, from_checkpoint):
        for a, b in zip(other.coefs_ + other.intercepts_, clf.coefs_ + clf.intercepts_, strict=True):
            np.testing.assert_array_equal(a, b)
        assert other.loss_curve_ == clf.loss_curve_ and other.t_ == clf.t_
        assert other._solver.optimizer.t == clf._solver.optimizer.t == 3 * 5  # 150 rows in batches of 32
        assert other._solver.trainer.rng.bit_generator.state == clf._solver.trainer.rng.bit_generator.state


def test_shuffle_is_scikit_learns():
    """The epoch order: sklearn.utils.shuffle's permutation and draws, without its parameter validation."""
    from sklearn.utils import shuffle

    order_a = order_b = np.arange(50)
    rs_a, rs_b = np.random.RandomState(3), np.random.RandomState(3)
    for _ in range(4):
        order_a, order_b = shuffle_like_sklearn(order_a, rs_a), shuffle(order_b, random_state=rs_b)
        assert np.array_equal(order_a, order_b)
    assert rs_a.randint(10**9) == rs_b.randint(10**9)


@pytest.mark.parametrize("fit_on,labels", [
    ([0, 1, 1, 0], [1, 0, 0, 1, 1]),  # binary: one column
    ([3, 7, 5, 7], [5, 3, 7, 7, 3]),  # multiclass ints
    ([1.0, 2.0, -1.0], [2.0, 1.0, -1.0]),  # multiclass floats
    ([0, 1, 2], [1, 1]),  # multiclass classes, labels of one class (partial_fit)
    ([0, 1, 2], [1, 4]),  # an unknown label: an all-False row, as label_binarize gives
    ([True, False, True], [False, True]),  # bool labels
    (["b", "a", "c"], ["c", "a"]),  # strings: through transform
    ([4, 4], [4, 4]),  # one class: through transform
    ([[0, 1], [1, 1]], [[1, 0], [0, 1]]),  # multilabel: through transform
])
def test_binarize_is_label_binarizers_transform(fit_on, labels):
    """The one-comparison one-hot targets equal LabelBinarizer.transform(labels).astype(bool)."""
    binarizer = LabelBinarizer().fit(np.asarray(fit_on))
    got, want = binarize(binarizer, np.asarray(labels)), binarizer.transform(np.asarray(labels)).astype(bool)
    assert got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("cls,dtype", [(MLPClassifier, np.float32), (MLPClassifier, np.float64),
                                       (MLPRegressor, np.float64)])
def test_non_finite_input_raises_scikit_learns_error_and_changes_nothing(bad, cls, dtype):
    """X is checked on a helper thread beside the labels' encoding: scikit-learn's own message, raised before any
    state changes and ahead of an error in y (scikit-learn checks X first); assume_finite skips it, as scikit-learn."""
    import sklearn
    from sklearn.neural_network import MLPRegressor as SkMLPRegressor

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((60, 4)).astype(dtype), np.arange(60) % 3
    est = cls((5,), max_iter=2, random_state=0)
    sk = (SkMLPClassifier if cls is MLPClassifier else SkMLPRegressor)(hidden_layer_sizes=(5,), max_iter=2,
                                                                       random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    before = [c.copy() for c in est.coefs_], (est.classes_.copy() if cls is MLPClassifier else None)
    X_bad = X.copy()
    X_bad[37, 2] = bad
    with pytest.raises(ValueError) as sk_error:
        sk.fit(X_bad, y)
    for y_bad in (y + 10, y + 0.5):  # new classes / continuous targets: X's error comes first all the same
        with pytest.raises(ValueError) as error:
            est.fit(X_bad, y_bad)
        assert str(error.value) == str(sk_error.value)
    assert all(np.array_equal(a, b) for a, b in zip(est.coefs_, before[0], strict=True))
    if cls is MLPClassifier:
        assert np.array_equal(est.classes_, before[1])
    with sklearn.config_context(assume_finite=True), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not checked: training spreads the value into the weights, as scikit-learn's
        with pytest.raises(ValueError, match="Solver produced non-finite parameter weights"):
            est.fit(X_bad, y)


def test_digits_reaches_98_percent():
    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    model = make_pipeline(MinMaxScaler(), MLPClassifier((256,), alpha=1e-2, batch_size=32, max_iter=60,
                                                       random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_tr, y_tr)
    assert model.score(X_te, y_te) >= 0.98


def test_fashion_mnist_recipe_on_a_subset():
    """The Fashion-MNIST recipe (256-128 ReLU, Adam, batch 128) on 6 000 training images for 5 epochs."""
    from mlplab.data import load_dataset
    from mlplab.errors import DataError

    try:
        ds = load_dataset("fashion-mnist", n_samples=6000, seed=0)
    except DataError:
        ds = None
    require(ds is not None, "Fashion-MNIST is not installed (Debian package dataset-fashion-mnist)")
    clf = MLPClassifier(hidden_layer_sizes=(256, 128), activation="relu", solver="adam", batch_size=128,
                        max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(ds.X.astype(np.float32) / 255, ds.y)
    assert clf.score(ds.X_test[:2000].astype(np.float32) / 255, ds.y_test[:2000]) >= 0.82  # 0.839 with seed 0
