"""What bounds the `fast` preset (issue 12's time to accuracy): its epoch against its matrix products alone.

    .venv/bin/python benchmarks/preset_limit.py [--reps 3] [--epochs 2]

For the preset's network (784-256-128-10 ReLU, batch 128, float32, Fashion-MNIST's 60k training images):
- the epoch as ``mlplab train --preset fast`` trains it (``Trainer.run_epoch``: SGD with Nesterov momentum, L2,
  dropout 0.2, through the compiled kernels), best of ``--reps`` runs of ``--epochs`` epochs;
- the ceiling: the same epoch's matrix products alone (X@W1, h1@W2, h2@W3 forward; dW3, δ2, dW2, δ1, dW1 back),
  one batch after another over the shuffled rows' batches already in place, with 1 and 2 BLAS threads, best kept.
Prints both, their ratio and how many epochs of each fit in a given number of seconds.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import contenders as C  # noqa: E402, N812
from mlplab.presets import PRESETS  # noqa: E402
from mlplab.runner import RunConfig, build  # noqa: E402


def preset_epoch_seconds(X: np.ndarray, y: np.ndarray, epochs: int, reps: int) -> float:
    """Seconds per epoch of the preset's own training (the CLI's Trainer), best of ``reps`` runs."""
    config = RunConfig().with_(**{**PRESETS["fast"], "epochs": epochs})
    best = np.inf
    for _ in range(reps):
        _, trainer = build(config, X.shape[1], 10)
        trainer.fit(X, y)
        best = min(best, min(r.seconds for r in trainer.history))
    return best


def products_epoch_seconds(N: int, sizes: list[int], B: int, threads: int, reps: int) -> float:
    """Seconds for one epoch's matrix products alone (N rows in batches of B), best of ``reps``."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((N, sizes[0]), dtype=np.float32)
    W = [rng.standard_normal((a, b), dtype=np.float32) for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    a = [np.empty((B, n), np.float32) for n in sizes[1:]]
    d = [np.empty((B, n), np.float32) for n in sizes[1:]]
    dW = [np.empty_like(w) for w in W]

    def batch(x: np.ndarray) -> None:
        inputs = [x, *a[:-1]]
        for l, w in enumerate(W):
            np.matmul(inputs[l], w, out=a[l])
        d[-1][...] = a[-1]
        for l in range(len(W) - 1, -1, -1):
            np.matmul(inputs[l].T, d[l], out=dW[l])
            if l:
                np.matmul(d[l], W[l].T, out=d[l - 1])

    best = np.inf
    with threadpool_limits(threads, user_api="blas"):
        batch(X[:B])
        for _ in range(reps):
            t = time.perf_counter()
            for start in range(0, N - B + 1, B):
                batch(X[start : start + B])
            best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--budget", type=float, default=12.0, help="seconds of training to count epochs in")
    args = ap.parse_args()
    X, y = C.load_fashion(np.float32)
    p = PRESETS["fast"]
    sizes, B = [X.shape[1], *p["hidden"], 10], p["batch_size"]
    epoch = preset_epoch_seconds(X, y, args.epochs, args.reps)
    ceiling = {t: products_epoch_seconds(len(X), sizes, B, t, args.reps) for t in (1, 2)}
    best = min(ceiling.values())
    macs = [a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True)]
    flops = 2 * len(X) * (3 * sum(macs) - macs[0])  # forward, dW, and δ below every layer but the first
    out = {
        "network": "-".join(map(str, sizes)), "batch": B, "epoch_s": round(epoch, 4),
        "products_epoch_s": {t: round(s, 4) for t, s in ceiling.items()}, "share_of_ceiling": round(best / epoch, 3),
        "epoch_gflops": round(flops / epoch / 1e9, 1), "products_gflops": round(flops / best / 1e9, 1),
        f"epochs_in_{args.budget:g}_s": round(args.budget / epoch, 1),
        f"epochs_in_{args.budget:g}_s_at_the_ceiling": round(args.budget / best, 1),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
