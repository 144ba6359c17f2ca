"""Issue 12's ceiling and ratio goals at a few batch sizes, over more interleaved rounds than ``run.py`` takes.

    .venv/bin/python benchmarks/ceiling_check.py [--batches 128,1024] [--rounds 7]

Each round times one epoch of mlplab's engine (automatic threads), one of its ``MLPClassifier`` under the timing
contract, PyTorch's fastest loop (best of default / 1 thread) and the matrix-product ceiling (best of 1 / 2 BLAS
threads, warm and cold, the larger kept), all as ``run.py`` times them (``contenders.py``); it prints the medians of
the same-round ratios and the engine's share of the ceiling in every round, so the round-to-round spread is seen.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contenders as C  # noqa: N812


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batches", default="128,1024")
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args()
    X, y = C.load_fashion()
    N = len(X)
    for fn in (C.mlplab_engine_epoch, C.mlplab_estimator_epoch, C.torch_epoch):  # compile, warm up
        fn(X[:2000], y[:2000], 128, 0.01)
    med = statistics.median
    for B in (int(b) for b in a.batches.split(",")):
        eng, est, torch, ceil = [], [], [], []
        for _ in range(a.rounds):
            eng.append(N / C.mlplab_engine_epoch(X, y, B, 0.01))
            est.append(N / C.mlplab_estimator_epoch(X, y, B, 0.01))
            torch.append(max(N / C.torch_epoch(X, y, B, 0.01, t) for t in (None, 1)))
            warm = max(C.ceiling_samples_per_s(B, X.shape[1], t, 0.3) for t in (None, 1))
            cold = max(C.ceiling_samples_per_s(B, X.shape[1], t, 0.3, cold_rows=N) for t in (None, 1))
            ceil.append(max(warm, cold))

        def ratio(a: list[float], b: list[float]) -> float:
            return med(p / q for p, q in zip(a, b, strict=True))

        print(f"batch {B}, {a.rounds} rounds: engine {med(eng):,.0f}/s, estimator {med(est):,.0f}/s, PyTorch "
              f"{med(torch):,.0f}/s, ceiling {med(ceil):,.0f}/s; engine / ceiling {ratio(eng, ceil):.3f}, estimator "
              f"/ ceiling {ratio(est, ceil):.3f}, engine / PyTorch {ratio(eng, torch):.2f}×, estimator / PyTorch "
              f"{ratio(est, torch):.2f}×, estimator / engine {ratio(est, eng):.3f}")
        print("  engine / ceiling per round: " + ", ".join(f"{p / q:.3f}" for p, q in zip(eng, ceil, strict=True)),
              flush=True)


if __name__ == "__main__":
    main()
