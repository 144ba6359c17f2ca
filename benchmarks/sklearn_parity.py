"""mlplab's MLPClassifier/MLPRegressor against scikit-learn's: same parameters and random_state, same model, fit time.

    NUMBA_CACHE_DIR=.cache/numba .venv/bin/python benchmarks/sklearn_parity.py [--quick] [--no-fashion]

Prints one Markdown table: per setting, the largest relative difference of the fitted weights (max |a − b| / max |b|
over every coefs_/intercepts_ array) and of loss_curve_ (elementwise), whether n_iter_ and t_ are equal, and the
fit-time ratio (scikit-learn's seconds / mlplab's; digits: the fastest of three fits, Fashion-MNIST: one fit, so
noisy on a loaded machine: the load average is printed) in two settings side by side: (a) both on one core
(scikit-learn's BLAS limited to one thread, mlplab with threads=1), (b) both at their defaults (scikit-learn's BLAS
threads, mlplab's automatic workers: two from batches of 16 rows). The parity columns are (a)'s fit; (b)'s
weights differ from (a)'s in the last bits only (summation order), which the table checks as well.
Settings: digits (pixels / 16) with default parameters and the variations of tests/test_sklearn_parity.py, then
Fashion-MNIST (pixels / 255), hidden (256, 128), adam, 20 epochs, batch 200 (scikit-learn's "auto"), in float64
(parity), and mlplab with dtype="float32" against the same float64 fits.

"products alone": the time the fit's matrix products take by themselves (NumPy matmul into preallocated arrays, one
thread, the same shapes and number of batches: per batch L forward products, L weight gradients and L − 1 backward
δ products), in float64 and float32, so scikit-learn's seconds / that time is the best ratio any implementation of
the same products on one core could reach.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
import warnings

import numpy as np

DEFAULT = "digits, default parameters (adam)"
DIGITS_SETTINGS = {
    DEFAULT: {},
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


def _fit(cls, params: dict, X: np.ndarray, y: np.ndarray, one_core: bool, repeats: int = 1):
    """(fitted estimator, seconds): on one core (one BLAS thread; mlplab threads=1) or at the library's defaults;
    the fastest of ``repeats`` fits (the same model each time)."""
    from threadpoolctl import threadpool_limits

    best = np.inf
    with warnings.catch_warnings(), threadpool_limits(1 if one_core else None):
        warnings.simplefilter("ignore")  # ConvergenceWarning on the short runs, as for both libraries
        for _ in range(repeats):
            t = time.perf_counter()
            est = cls(**params).fit(X, y)
            best = min(best, time.perf_counter() - t)
    return est, best


def warm_up() -> None:
    """Load every compiled kernel the table uses (both dtypes, one and two workers, one and two hidden layers) from
    numba's cache, so that no fit's time includes it."""
    from mlplab import MLPClassifier, MLPRegressor

    rng = np.random.default_rng(0)
    X, y = rng.random((300, 6)), rng.integers(0, 3, 300)
    for cls, target in ((MLPClassifier, y), (MLPClassifier, y % 2), (MLPRegressor, y.astype(float))):
        for hidden, dtype, threads, solver in itertools.product(((8,), (8, 8)), ("float64", "float32"), (1, None),
                                                                ("adam", "sgd")):
            for momentum in (0.0, 0.9):
                _fit(cls, dict(hidden_layer_sizes=hidden, dtype=dtype, threads=threads, solver=solver,
                               momentum=momentum, max_iter=2), X, target, threads == 1)


def products_seconds(sizes: list[int], n: int, B: int, epochs: int, dtype: type) -> float:
    """Seconds the products of ``epochs`` epochs of batches of B rows (of n) take alone, one thread (best of 3)."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    W = [rng.standard_normal((a, b)).astype(dtype) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    G = [np.empty_like(w) for w in W]
    batches = [B] * (n // B) + ([n % B] if n % B else [])
    A = {m: [rng.standard_normal((m, k)).astype(dtype) for k in sizes] for m in set(batches)}
    best = np.inf
    with threadpool_limits(1):
        for _ in range(3):
            t = time.perf_counter()
            for m in batches:
                a = A[m]
                for l, w in enumerate(W):  # forward: z_l = a_{l−1} W_l
                    np.matmul(a[l], w, out=a[l + 1])
                for l in range(len(W) - 1, -1, -1):  # backward: ∇W_l = a_{l−1}ᵀ δ_l, δ_{l−1} = δ_l W_lᵀ
                    np.matmul(a[l].T, a[l + 1], out=G[l])
                    if l > 0:
                        np.matmul(a[l + 1], W[l].T, out=a[l])
            best = min(best, time.perf_counter() - t)
    return best * epochs


def compare(name: str, ours_cls, theirs_cls, params: dict, X: np.ndarray, y: np.ndarray, theirs=None,
            ours_params: dict | None = None, repeats: int = 1) -> tuple[str, object]:
    """One table row; ``theirs`` ({one_core: (estimator, seconds)}) reuses scikit-learn's fits."""
    theirs = theirs or {core: _fit(theirs_cls, params, X, y, core, repeats) for core in (True, False)}
    ours_params = params | (ours_params or {})
    ours = {True: _fit(ours_cls, ours_params | {"threads": 1}, X, y, True, repeats),
            False: _fit(ours_cls, ours_params, X, y, False, repeats)}
    a, b = ours[True][0], theirs[True][0]
    weights = _relative(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_)
    weights_default = _relative(ours[False][0].coefs_ + ours[False][0].intercepts_, b.coefs_ + b.intercepts_)
    if hasattr(b, "loss_curve_"):
        la, lb = np.array(a.loss_curve_), np.array(b.loss_curve_)
        loss = float(np.max(np.abs(la - lb) / np.abs(lb))) if la.shape == lb.shape else float("nan")
    else:
        loss = abs(a.loss_ - b.loss_) / abs(b.loss_)
    same = all(o.n_iter_ == b.n_iter_ and getattr(o, "t_", 0) == getattr(b, "t_", 0) for o, _ in ours.values())
    dtypes = f"{a.coefs_[0].dtype.name} / {b.coefs_[0].dtype.name}"
    times = " | ".join(f"{theirs[c][1]:.2f} | {ours[c][1]:.2f} | **{theirs[c][1] / ours[c][1]:.1f}×**"
                       for c in (True, False))
    row = (f"| {name} | {dtypes} | {weights:.1e} ({weights_default:.0e}) | {loss:.1e} | "
           f"{'yes' if same else 'NO'} ({a.n_iter_} epochs) | {times} |")
    return row, theirs


def ceiling_row(name: str, sizes: list[int], n: int, B: int, epochs: int, sk_seconds: float) -> str:
    """The products alone, float64 and float32, and scikit-learn's one-core seconds over each."""
    t64, t32 = (products_seconds(sizes, n, B, epochs, dt) for dt in (np.float64, np.float32))
    return (f"| {name}: products alone, one thread | float64: {t64:.2f} s, float32: {t32:.2f} s | best possible "
            f"ratio on one core: {sk_seconds / t64:.1f}× (float64), {sk_seconds / t32:.1f}× (float32) |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="digits rows only, 30 epochs at most")
    ap.add_argument("--no-fashion", action="store_true", help="skip Fashion-MNIST")
    table(ap.parse_args())


def table(args: argparse.Namespace) -> None:
    from sklearn.datasets import load_digits
    from sklearn.neural_network import MLPClassifier as SkClassifier
    from sklearn.neural_network import MLPRegressor as SkRegressor

    from mlplab import MLPClassifier, MLPRegressor

    warm_up()
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}\n")
    print("| setting | dtype (mlplab / scikit-learn) | weights: max rel. diff (a) ((b)) | loss_curve_: max rel. diff "
          "| n_iter_, t_ equal | (a) one core: scikit-learn s | mlplab s | speed-up "
          "| (b) defaults: scikit-learn s | mlplab s | speed-up |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    X, digit = load_digits(return_X_y=True)
    X = X / 16.0
    targets = {"classes": digit, "binary": (digit >= 5).astype(int),
               "multilabel": np.stack([digit >= 5, digit % 2 == 0], axis=1).astype(int),
               "regression": digit.astype(float)}
    ceilings = []
    for name, setting in DIGITS_SETTINGS.items():
        setting = dict(setting)
        target = setting.pop("target", "classes")
        params = {"random_state": 0} | setting | ({"max_iter": 30} if args.quick else {})
        classes = (MLPRegressor, SkRegressor) if target == "regression" else (MLPClassifier, SkClassifier)
        row, sk_fits = compare(name, *classes, params, X, targets[target], repeats=3)
        print(row, flush=True)
        if name == DEFAULT:  # the same fit by mlplab in float32, and the products alone
            row, _ = compare(name + ", mlplab dtype=float32", *classes, params, X, targets[target], theirs=sk_fits,
                             ours_params={"dtype": "float32"}, repeats=3)
            print(row, flush=True)
            sk = sk_fits[True][0]
            ceilings.append(ceiling_row("digits, default parameters", [64, 100, 10], len(X), 200, sk.n_iter_,
                                        sk_fits[True][1]))
    if not (args.quick or args.no_fashion):
        from mlplab.cli.environment import data_paths
        from mlplab.data import load_dataset

        ds = load_dataset("fashion-mnist", data_paths=data_paths())  # $MLPLAB_DATA, as `mlplab` reads it
        params = dict(hidden_layer_sizes=(256, 128), solver="adam", max_iter=20, random_state=0)
        X64 = ds.X.reshape(len(ds.X), -1) / 255.0
        row, sk_fits = compare("Fashion-MNIST 784-256-128-10 adam, 20 epochs", MLPClassifier, SkClassifier, params,
                               X64, ds.y)
        print(row, flush=True)
        row, _ = compare("Fashion-MNIST, mlplab dtype=float32", MLPClassifier, SkClassifier, params, X64, ds.y,
                         theirs=sk_fits, ours_params={"dtype": "float32"})
        print(row, flush=True)
        ceilings.append(ceiling_row("Fashion-MNIST", [784, 256, 128, 10], len(X64), 200, 20, sk_fits[True][1]))
    print("\n| setting | time of the products | scikit-learn's one-core seconds over it |\n|---|---|---|")
    print("\n".join(ceilings))
    print(f"\nload average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
