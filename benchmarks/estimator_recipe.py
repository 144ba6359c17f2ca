"""The estimator's Fashion-MNIST recipe (issue 3): accuracy and fit time, against scikit-learn's own MLPClassifier.

    NUMBA_CACHE_DIR=.cache/numba .venv/bin/python benchmarks/estimator_recipe.py [--with-sklearn]

Exits 1 if mlplab's test accuracy is below 0.890. Pixels are divided by 255; the official 10k test set is scored.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

RECIPE = dict(hidden_layer_sizes=(256, 128), activation="relu", solver="adam", batch_size=128, max_iter=20,
              random_state=0)
THRESHOLD = 0.890


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--with-sklearn", action="store_true", help="also fit scikit-learn's MLPClassifier (~3 min)")
    args = ap.parse_args()
    from mlplab import MLPClassifier
    from mlplab.cli.environment import data_paths
    from mlplab.data import load_dataset

    ds = load_dataset("fashion-mnist", data_paths=data_paths())  # $MLPLAB_DATA, as `mlplab` reads it
    X, X_test = ds.X.astype(np.float32) / 255, ds.X_test.astype(np.float32) / 255
    contenders = [("mlplab", MLPClassifier)]
    if args.with_sklearn:
        from sklearn.neural_network import MLPClassifier as SkMLPClassifier

        contenders.append(("scikit-learn", SkMLPClassifier))
    ours = 0.0
    print("| estimator | test accuracy | fit seconds |\n|---|---|---|")
    for name, cls in contenders:
        t = time.perf_counter()
        model = cls(**RECIPE).fit(X, ds.y)
        seconds = time.perf_counter() - t
        acc = float(model.score(X_test, ds.y_test))
        ours = acc if name == "mlplab" else ours
        print(f"| {name} | {acc:.4f} | {seconds:.1f} |", flush=True)
    return 0 if ours >= THRESHOLD else 1


if __name__ == "__main__":
    sys.exit(main())
