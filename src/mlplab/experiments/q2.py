"""Q2 — the number N of examples: learning curves on Fashion-MNIST and circles, and the cost of an epoch.

For each N, the same network trains for a fixed budget of examples seen (more epochs for small N, at least
a minimum); test accuracy and the train–test gap are read at the end; the median epoch time gives the cost,
whose growth in N is fitted on the larger half of the N values (small N is dominated by fixed overhead).
"""

from __future__ import annotations

import math

import numpy as np

from mlplab import plots, runner
from mlplab.experiments.base import QuestionResult, Result, finish, fit_exponent, pct
from mlplab.experiments.common import FASHION, has_fashion, prepared
from mlplab.experiments.parallel import on_scheduler, pmap
from mlplab.runner import RunConfig

SIZES = {
    "circles": {"quick": (50, 200, 1000, 4000), "full": (50, 100, 200, 500, 1000, 2000, 5000, 20000, 60000)},
    FASHION: {"quick": (100, 300, 1000), "full": (100, 200, 500, 1000, 2000, 5000, 10000, 20000, 60000)},
}


def config(dataset: str, n: int, quick: bool) -> RunConfig:
    budget = 8_000 if quick else 300_000  # examples seen per run
    epochs = int(min(200, max(5 if quick else 10, math.ceil(budget / n))))
    if dataset == FASHION:
        return RunConfig(dataset=FASHION, n_samples=n, hidden=(64,), optimizer="adam", lr=2e-3, batch_size=128,
                         epochs=epochs, val_fraction=0.1)
    return RunConfig(dataset="circles", n_samples=n, noise=0.25, hidden=(32,), optimizer="adam", lr=0.01,
                     batch_size=32, epochs=epochs, val_fraction=0.1, test_fraction=0.2)


def point(dataset: str, n: int, quick: bool) -> dict:
    cfg = config(dataset, n, quick)
    prep = prepared(cfg, n_test=2000 if quick else None)
    r = runner.run(cfg, prepared=prep)
    s = prep.splits
    train_acc = r.net.evaluate(s.X_train, s.y_train)[1]
    secs = [h.seconds for h in r.history[1:]] or [r.history[0].seconds]
    return {"dataset": dataset, "N": n, "n_train": len(s.X_train), "epochs": cfg.epochs,
            "train_accuracy": train_acc, "test_accuracy": r.test_accuracy, "gap": train_acc - r.test_accuracy,
            "seconds_per_epoch": float(np.median(secs))}


def run(quick: bool = False, out=None, jobs: int = 1, scheduler: str | None = None) -> Result:
    mode = "quick" if quick else "full"
    datasets = ["circles"] + ([FASHION] if has_fashion() else [])
    points = [{"dataset": d, "n": n, "quick": quick} for d in datasets for n in SIZES[d][mode]]
    with on_scheduler(scheduler):
        rows = pmap(point, points, jobs)
    per = {}
    for d in datasets:
        sel = [r for r in rows if r["dataset"] == d]
        big = sel[len(sel) // 2:]
        per[d] = {"N": [r["N"] for r in sel], "test_accuracy": [r["test_accuracy"] for r in sel],
                  "gap": [r["gap"] for r in sel], "seconds_per_epoch": [r["seconds_per_epoch"] for r in sel],
                  "time_exponent_large_N": fit_exponent([r["n_train"] for r in big],
                                                        [r["seconds_per_epoch"] for r in big]),
                  "time_exponent_all_N": fit_exponent([r["n_train"] for r in sel],
                                                      [r["seconds_per_epoch"] for r in sel])}
    m = {"datasets": per, "fashion_mnist_available": FASHION in datasets, "points": rows}

    def draw(path):
        fig, axes = plots.plt.subplots(1, 3, figsize=(14, 3.8))
        for d in datasets:
            p = per[d]
            axes[0].plot(p["N"], p["test_accuracy"], "o-", label=d)
            axes[1].plot(p["N"], p["gap"], "o-", label=d)
            axes[2].plot(p["N"], p["seconds_per_epoch"], "o-", label=f"{d}: ∝ N^{p['time_exponent_large_N']:.2f}")
        axes[0].set(xscale="log", xlabel="N (examples)", ylabel="test accuracy", title="learning curve")
        axes[1].set(xscale="log", xlabel="N", ylabel="train − test accuracy", title="generalisation gap")
        axes[2].set(xscale="log", yscale="log", xlabel="N", ylabel="seconds per epoch",
                    title="cost of an epoch (noisy: shared machine)")
        for ax in axes:
            ax.legend(fontsize=8)
        plots.save(fig, path)

    parts = []
    for d in datasets:
        p = per[d]
        parts.append(
            f"{d}: test accuracy {pct(p['test_accuracy'][0])} at N = {p['N'][0]} → {pct(p['test_accuracy'][-1])} at "
            f"N = {p['N'][-1]}, train–test gap {pct(p['gap'][0])} → {pct(p['gap'][-1])}, seconds per epoch ∝ "
            f"N^{p['time_exponent_all_N']:.2f} over all N (N^{p['time_exponent_large_N']:.2f} over the larger half)")
    missing = "" if FASHION in datasets else " (Fashion-MNIST is not installed: circles only.)"
    answer = "; ".join(parts) + (". More data raises test accuracy and shrinks the overfitting gap, and each "
                                 "epoch costs about linearly more, as the seed says.") + missing
    ok = all(p["test_accuracy"][-1] > p["test_accuracy"][0] and p["gap"][-1] < p["gap"][0]
             and p["time_exponent_all_N"] > 0.5 for p in per.values())
    q = QuestionResult("Q2", answer, m, "confirmed" if ok else "contradicted")
    return finish("q2", [q], m, out, {"q2_learning_curves": draw})
