"""mlplab's MLPClassifier/MLPRegressor against scikit-learn's, same parameters and random_state, float64.

One row per setting, each fitted on four kinds of target (regression with two outputs, binary, multiclass, multilabel)
by both libraries; the fitted models must agree: coefs_, intercepts_, loss_curve_, best_loss_, validation_scores_
within 1e-9 relative (each weight within 1e-9 of its array's largest), n_iter_ and t_ equal, and the same warnings.
The data are small (90 rows, batches of 16: the last batch of each epoch is short) and the runs a few epochs long,
so the whole file takes seconds. Both libraries round differently (the order of sums), so longer or unstable runs
amplify 1e-16 into more: the rates here keep the runs stable.
"""

from __future__ import annotations

import pickle
import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor

from mlplab import MLPClassifier, MLPRegressor

RTOL = 1e-9
N = 90


def _data(kind: str) -> tuple[np.ndarray, np.ndarray]:
    if kind == "regression":
        X, y = make_regression(n_samples=N, n_features=5, n_targets=2, noise=0.1, random_state=0)
        return X, y / y.std(axis=0)
    if kind == "multilabel":
        return make_multilabel_classification(n_samples=N, n_features=5, n_classes=3, random_state=0)
    n_classes = 2 if kind == "binary" else 3
    X, y = make_classification(n_samples=N, n_features=5, n_informative=4, n_redundant=0, n_classes=n_classes,
                               random_state=1)
    return X, np.array(["ant", "bee", "cat"])[y]  # string labels: the classes_ mapping is part of the parity


KINDS = ["regression", "binary", "multiclass", "multilabel"]
BASE = dict(hidden_layer_sizes=(6, 5), activation="tanh", batch_size=16, max_iter=6, random_state=0,
            learning_rate_init=0.02)
SGD_CASES = {
    f"sgd-{lr}-{name}": dict(solver="sgd", learning_rate=lr, **mom)
    for lr in ("constant", "invscaling", "adaptive")
    for name, mom in (("momentum0", dict(momentum=0.0)), ("momentum0.9", dict(momentum=0.9, nesterovs_momentum=False)),
                      ("nesterov0.9", dict(momentum=0.9, nesterovs_momentum=True)))
}
CASES = SGD_CASES | {
    "sgd-adaptive-plateaus": dict(solver="sgd", learning_rate="adaptive", tol=0.5, n_iter_no_change=1, max_iter=8),
    "sgd-invscaling-power": dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.2, power_t=0.3),
    "adam": dict(solver="adam", learning_rate_init=0.02),
    "adam-betas": dict(solver="adam", learning_rate_init=0.02, beta_1=0.8, beta_2=0.99, epsilon=1e-6),
    "alpha-sgd": dict(solver="sgd", alpha=0.5),
    "alpha-adam": dict(solver="adam", alpha=0.5, learning_rate_init=0.02),
    "no-shuffle": dict(solver="sgd", shuffle=False, alpha=0.1),
    "full-batch": dict(solver="sgd", batch_size=200, momentum=0.5),  # clipped to n, with scikit-learn's warning
    "auto-batch": dict(solver="adam", batch_size="auto", learning_rate_init=0.02),
    "relu": dict(activation="relu", solver="adam", learning_rate_init=0.02),
    "logistic": dict(activation="logistic", solver="sgd", learning_rate_init=0.2),  # Glorot factor 2
    "identity": dict(activation="identity", solver="sgd", learning_rate_init=0.01),
    "tol-stop": dict(solver="adam", tol=1e-2, n_iter_no_change=2, max_iter=100, learning_rate_init=0.02),
    "early-stopping": dict(solver="sgd", early_stopping=True, validation_fraction=0.2, n_iter_no_change=2,
                           max_iter=30),
    "early-stopping-adam": dict(solver="adam", early_stopping=True, learning_rate_init=0.02, max_iter=10),
    "lbfgs": dict(solver="lbfgs", max_iter=10),
    "lbfgs-alpha": dict(solver="lbfgs", alpha=0.3, max_iter=10),
    "lbfgs-maxfun": dict(solver="lbfgs", max_fun=10),
}


def _pair(kind: str, **params):
    ours, theirs = (MLPRegressor, SkRegressor) if kind == "regression" else (MLPClassifier, SkClassifier)
    kw = BASE | params
    return ours(**kw), theirs(**kw)


def _fit_recording(est, method: str, *args, **kwargs) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        getattr(est, method)(*args, **kwargs)
    return sorted({f"{w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught})


def assert_same_model(ours, theirs) -> None:
    """The fitted attributes of both estimators agree: arrays and curves to 1e-9 relative, counters exactly."""
    assert ours.n_iter_ == theirs.n_iter_
    assert ours.t_ == theirs.t_
    assert ours.out_activation_ == theirs.out_activation_ and ours.n_outputs_ == theirs.n_outputs_
    for name in ("coefs_", "intercepts_"):
        for a, b in zip(getattr(ours, name), getattr(theirs, name), strict=True):
            assert a.dtype == b.dtype == np.float64
            np.testing.assert_allclose(a, b, rtol=RTOL, atol=RTOL * np.abs(b).max(), err_msg=name)
    for name in ("loss_curve_", "validation_scores_", "best_loss_", "loss_", "best_validation_score_"):
        a, b = getattr(ours, name, "absent"), getattr(theirs, name, "absent")
        if isinstance(b, str) or b is None:
            assert a == b, name
        else:
            np.testing.assert_allclose(a, b, rtol=RTOL, atol=0, err_msg=name)
    if getattr(theirs, "solver", None) == "sgd" and hasattr(theirs, "_optimizer"):  # invscaling's, adaptive's rate
        assert ours._solver.lr == pytest.approx(theirs._optimizer.learning_rate, rel=RTOL)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", CASES)
def test_fit_gives_scikit_learns_model(case, kind):
    X, y = _data(kind)
    ours, theirs = _pair(kind, **CASES[case])
    assert _fit_recording(ours, "fit", X, y) == _fit_recording(theirs, "fit", X, y)
    assert_same_model(ours, theirs)
    if kind != "regression":
        assert np.array_equal(ours.classes_, theirs.classes_)
        assert np.array_equal(ours.predict(X), theirs.predict(X))
        np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-9, atol=1e-12)
    else:
        np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", ["sgd-invscaling-nesterov0.9", "adam", "early-stopping-adam", "lbfgs"])
def test_warm_start_continues_as_scikit_learn(case, kind):
    """Three fit() calls with warm_start: scikit-learn keeps the weights, curves and t_, restarts the optimizer."""
    X, y = _data(kind)
    params = CASES[case] | ({"max_iter": 5} if case == "lbfgs" else {})  # L-BFGS amplifies rounding, iteration by
    ours, theirs = _pair(kind, warm_start=True, **params)                # iteration, towards a separable optimum
    for _ in range(3):
        assert _fit_recording(ours, "fit", X, y) == _fit_recording(theirs, "fit", X, y)
        assert_same_model(ours, theirs)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("case", ["sgd-constant-nesterov0.9", "sgd-adaptive-plateaus", "adam", "alpha-adam"])
def test_partial_fit_continues_as_scikit_learn(case, kind):
    """partial_fit on successive chunks (of different sizes, some with a short last batch), optimizer state kept."""
    X, y = _data(kind)
    ours, theirs = _pair(kind, **CASES[case])
    extra = {} if kind == "regression" else {"classes": np.unique(y) if kind != "multilabel" else np.arange(3)}
    for start, stop in ((0, 40), (40, 50), (50, 90), (0, 90)):
        a = _fit_recording(ours, "partial_fit", X[start:stop], y[start:stop], **extra)
        assert a == _fit_recording(theirs, "partial_fit", X[start:stop], y[start:stop], **extra)
        assert_same_model(ours, theirs)


def test_pickled_estimator_continues_identically():
    """A pickled, half-trained estimator resumes like the original: weights, optimizer state, curves."""
    X, y = _data("multiclass")
    ours, theirs = _pair("multiclass", **CASES["sgd-adaptive-momentum0.9"])
    ours.partial_fit(X, y, classes=np.unique(y))
    theirs.partial_fit(X, y, classes=np.unique(y))
    ours = pickle.loads(pickle.dumps(ours))
    for _ in range(3):
        ours.partial_fit(X, y)
        theirs.partial_fit(X, y)
    assert_same_model(ours, theirs)


def test_random_state_instance_is_shared_like_scikit_learns():
    """A RandomState object is drawn from in scikit-learn's order (init, split, shuffles): same model, same state."""
    X, y = _data("binary")
    rs_ours, rs_theirs = np.random.RandomState(5), np.random.RandomState(5)
    ours, theirs = _pair("binary", **(CASES["early-stopping"] | {"random_state": rs_ours}))
    theirs.set_params(random_state=rs_theirs)
    ours.fit(X, y)
    theirs.fit(X, y)
    assert_same_model(ours, theirs)
    assert rs_ours.randint(10**9) == rs_theirs.randint(10**9)


@pytest.mark.parametrize("kind", ["regression", "multiclass"])
def test_float32_input_trains_in_float32_as_scikit_learn(kind):
    """dtype=None follows the input's precision like scikit-learn; float32 agrees to float32 rounding."""
    X, y = _data(kind)
    ours, theirs = _pair(kind, **CASES["adam"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X.astype(np.float32), y)
        theirs.fit(X.astype(np.float32), y)
    assert ours.coefs_[0].dtype == theirs.coefs_[0].dtype == np.float32
    for a, b in zip(ours.coefs_, theirs.coefs_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-5)
    forced = (MLPRegressor if kind == "regression" else MLPClassifier)(dtype="float32", **(BASE | CASES["adam"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        forced.fit(X, y)  # float64 input, float32 training
    assert forced.coefs_[0].dtype == np.float32
    np.testing.assert_allclose(forced.coefs_[0], ours.coefs_[0], rtol=1e-3, atol=1e-5)
