"""mlplab's MLPClassifier/MLPRegressor against scikit-learn's: same parameters and random_state, same model, fit time.

    NUMBA_CACHE_DIR=.cache/numba .venv/bin/python benchmarks/sklearn_parity.py [--quick] [--no-fashion] [--threads N]

Prints one Markdown table: per setting, the largest relative difference of the fitted weights (max |a − b| / max |b|
over every coefs_/intercepts_ array) and of loss_curve_ (elementwise), whether n_iter_ and t_ are equal, and the
fit-time ratio (scikit-learn's seconds / mlplab's, one fit each, so noisy on a loaded machine: the load average
is printed). Both libraries run with the same BLAS thread limit (--threads, default 1: on a shared machine, extra BLAS
threads on these small products mostly wait for a core). Settings: digits (pixels / 16) with default parameters and
the variations of tests/test_sklearn_parity.py, then Fashion-MNIST (pixels / 255), hidden (256, 128), adam, 20 epochs,
batch 200 (scikit-learn's "auto"), in float64 (parity), and mlplab with dtype="float32" against the same float64 fit.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np

DIGITS_SETTINGS = {
    "digits, default parameters (adam)": {},
    "sgd constant, momentum 0": dict(solver="sgd", momentum=0.0),
    "sgd constant, momentum 0.9": dict(solver="sgd", nesterovs_momentum=False),
    "sgd constant, Nesterov 0.9": dict(solver="sgd"),
    "sgd invscaling, momentum 0": dict(solver="sgd", learning_rate="invscaling", momentum=0.0, learning_rate_init=0.1),
    "sgd invscaling, Nesterov 0.9": dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.1),
    "sgd adaptive, momentum 0.9": dict(solver="sgd", learning_rate="adaptive", nesterovs_momentum=False),
    "sgd adaptive, Nesterov 0.9": dict(solver="sgd", learning_rate="adaptive"),
    "adam, alpha 0.01, batch 64 (short last batch)": dict(alpha=0.01, batch_size=64),
    "adam, shuffle=False": dict(shuffle=False),
    "adam, early_stopping": dict(early_stopping=True),
    "lbfgs": dict(solver="lbfgs"),
    "binary (digit ≥ 5)": dict(target="binary"),
    "multilabel (≥ 5, even)": dict(target="multilabel"),
    "regressor (the digit's value)": dict(target="regression"),
}


def _relative(ours: list[np.ndarray], theirs: list[np.ndarray]) -> float:
    return max(float(np.max(np.abs(a - b)) / np.max(np.abs(b))) for a, b in zip(ours, theirs, strict=True))


def _fit(cls, params: dict, X: np.ndarray, y: np.ndarray):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning on the short runs, as for both libraries
        t = time.perf_counter()
        est = cls(**params).fit(X, y)
        return est, time.perf_counter() - t


def compare(name: str, ours_cls, theirs_cls, params: dict, X: np.ndarray, y: np.ndarray, theirs=None,
            ours_params: dict | None = None) -> tuple[str, object]:
    """One table row; ``theirs`` (estimator, seconds) reuses a scikit-learn fit."""
    theirs, t_theirs = theirs or _fit(theirs_cls, params, X, y)
    ours, t_ours = _fit(ours_cls, params | (ours_params or {}), X, y)
    weights = _relative(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_)
    if hasattr(theirs, "loss_curve_"):
        a, b = np.array(ours.loss_curve_), np.array(theirs.loss_curve_)
        loss = float(np.max(np.abs(a - b) / np.abs(b))) if a.shape == b.shape else float("nan")
    else:
        loss = abs(ours.loss_ - theirs.loss_) / abs(theirs.loss_)
    same = ours.n_iter_ == theirs.n_iter_ and getattr(ours, "t_", 0) == getattr(theirs, "t_", 0)
    dtypes = f"{ours.coefs_[0].dtype.name} / {theirs.coefs_[0].dtype.name}"
    row = (f"| {name} | {dtypes} | {weights:.1e} | {loss:.1e} | {'yes' if same else 'NO'} ({ours.n_iter_} epochs) "
           f"| {t_theirs:.2f} | {t_ours:.2f} | {t_theirs / t_ours:.1f}× |")
    return row, (theirs, t_theirs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="digits rows only, 30 epochs at most")
    ap.add_argument("--no-fashion", action="store_true", help="skip Fashion-MNIST")
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads for both libraries (0: library default)")
    args = ap.parse_args()
    from threadpoolctl import threadpool_limits

    with threadpool_limits(args.threads or None):
        table(args)


def table(args: argparse.Namespace) -> None:
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier as SkClassifier
    from sklearn.neural_network import MLPRegressor as SkRegressor

    from mlplab import MLPClassifier, MLPRegressor

    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; BLAS threads: "
          f"{args.threads or 'library default'}\n")
    print("| setting | dtype (mlplab / scikit-learn) | weights: max rel. diff | loss_curve_: max rel. diff "
          "| n_iter_, t_ equal | scikit-learn s | mlplab s | speed-up |")
    print("|---|---|---|---|---|---|---|---|")
    X, digit = load_digits(return_X_y=True)
    X = X / 16.0
    targets = {"classes": digit, "binary": (digit >= 5).astype(int),
               "multilabel": np.stack([digit >= 5, digit % 2 == 0], axis=1).astype(int),
               "regression": digit.astype(float)}
    for name, setting in DIGITS_SETTINGS.items():
        setting = dict(setting)
        target = setting.pop("target", "classes")
        params = {"random_state": 0} | setting | ({"max_iter": 30} if args.quick else {})
        classes = (MLPRegressor, SkRegressor) if target == "regression" else (MLPClassifier, SkClassifier)
        print(compare(name, *classes, params, X, targets[target])[0], flush=True)
    if args.quick or args.no_fashion:
        return
    from mlplab.data import load_dataset

    ds = load_dataset("fashion-mnist")
    params = dict(hidden_layer_sizes=(256, 128), solver="adam", max_iter=20, random_state=0)
    X64 = ds.X.reshape(len(ds.X), -1) / 255.0
    row, sk_fit = compare("Fashion-MNIST 784-256-128-10 adam, 20 epochs", MLPClassifier, SkClassifier, params, X64,
                          ds.y)
    print(row, flush=True)
    row, _ = compare("Fashion-MNIST, mlplab dtype=float32", MLPClassifier, SkClassifier, params, X64, ds.y,
                     theirs=sk_fit, ours_params={"dtype": "float32"})
    print(row, flush=True)
    print(f"\nload average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
