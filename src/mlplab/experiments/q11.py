"""Q11 — the learning rate: a sweep on a log grid with full-batch gradient descent on circles.

A run "diverges" when its loss becomes non-finite (recorded, not raised: ``on_nonfinite="stop"``) or
ends above the loss of the untrained network. The threshold is the smallest diverging rate of the grid.
"""

from __future__ import annotations

import math

import numpy as np

from mlplab import plots, runner
from mlplab.experiments.base import QuestionResult, Result, finish, pct
from mlplab.experiments.parallel import on_scheduler, pmap
from mlplab.runner import RunConfig


def grid(quick: bool) -> list[float]:
    """Log-spaced rates: 2 per decade from 1e-2 to 1e2 (quick), 4 per decade from 1e-3 to 1e3 (full)."""
    if quick:
        return [float(x) for x in np.logspace(-2, 2, 9)]
    return [float(x) for x in np.logspace(-3, 3, 25)]


def point(lr: float, epochs: int, seed: int = 0) -> dict:
    """Full-batch GD at one rate: loss curve, initial and final loss, divergence, test accuracy."""
    cfg = RunConfig(dataset="circles", hidden=(10,), activation="tanh", lr=lr, batch_size=None, epochs=epochs,
                    seed=seed)
    with np.errstate(all="ignore"):  # overflow is the expected outcome of a divergent rate
        r = runner.run(cfg, on_nonfinite="stop")
    h = r.history
    initial, final = h[0].train_loss, h[-1].train_loss  # full batch: epoch 1's loss is the untrained net's
    nonfinite = r.trainer.state.diverged
    return {"lr": lr, "initial_loss": initial, "final_loss": final, "nonfinite": nonfinite,
            "diverged": nonfinite or not math.isfinite(final) or final > initial, "epochs_run": len(h),
            "test_accuracy": r.test_accuracy, "curve": [x.train_loss for x in h]}


def sweep(lrs: list[float], epochs: int, jobs: int = 1) -> list[dict]:
    return pmap(point, [{"lr": lr, "epochs": epochs} for lr in lrs], jobs)


def threshold(rows: list[dict]) -> float | None:
    """The smallest learning rate of the sweep that diverged."""
    return min((r["lr"] for r in rows if r["diverged"]), default=None)


def run(quick: bool = False, out=None, jobs: int = 1, scheduler: str | None = None) -> Result:
    epochs = 100 if quick else 300
    with on_scheduler(scheduler):
        rows = sweep(grid(quick), epochs, jobs)
    thr = threshold(rows)
    stable = [r for r in rows if not r["diverged"]]
    best = min(stable, key=lambda r: r["final_loss"])
    small = rows[0]
    m = {"epochs": epochs, "regime": "full-batch gradient descent, circles, 2-10-2 tanh",
         "divergence_threshold_lr": thr, "largest_stable_lr": max(r["lr"] for r in stable),
         "best_lr": best["lr"], "best_final_loss": best["final_loss"], "best_test_accuracy": best["test_accuracy"],
         "smallest_lr": small["lr"], "smallest_lr_final_loss": small["final_loss"],
         "smallest_lr_test_accuracy": small["test_accuracy"], "initial_loss": small["initial_loss"],
         "sweep": [{k: v for k, v in r.items() if k != "curve"} for r in rows]}
    data = {**m, "curves": {f"{r['lr']:.3g}": r["curve"] for r in rows}}

    def draw(path):
        fig, (a1, a2) = plots.plt.subplots(1, 2, figsize=(11, 3.8))
        lrs = [r["lr"] for r in rows]
        finals = [r["final_loss"] if math.isfinite(r["final_loss"]) else np.nan for r in rows]
        a1.plot(lrs, finals, "o-")
        for r in rows:
            if r["diverged"]:
                a1.plot(r["lr"], finals[rows.index(r)] if math.isfinite(r["final_loss"]) else 1e3, "rx", ms=9)
        a1.axhline(small["initial_loss"], color="gray", ls=":", label="untrained loss")
        if thr:
            a1.axvline(thr, color="r", ls="--", label=f"divergence threshold {thr:.3g}")
        a1.set(xscale="log", yscale="log", xlabel="learning rate η", ylabel=f"training loss after {epochs} epochs",
               title="final loss (red ×: diverged)")
        a1.legend(fontsize=8)
        picks = [small, best] + ([next(r for r in rows if r["lr"] == thr)] if thr else [])
        for r in picks:
            c = np.asarray(r["curve"], float)
            a2.plot(np.arange(1, len(c) + 1), np.where(np.isfinite(c), c, np.nan), label=f"η = {r['lr']:.3g}")
        a2.set(yscale="log", xlabel="epoch", ylabel="training loss", title="too small, best, divergent")
        a2.legend(fontsize=8)
        plots.save(fig, path)

    thr_text = (f"diverges from η = {thr:.3g} (the loss ends above the untrained {small['initial_loss']:.3f} or "
                f"becomes non-finite); the largest stable rate is {m['largest_stable_lr']:.3g}") if thr else \
        "does not diverge anywhere on the grid"
    answer = (
        f"Full-batch gradient descent on circles for {epochs} epochs: η = {small['lr']:.3g} barely moves "
        f"(loss {small['initial_loss']:.3f} → {small['final_loss']:.3f}, test accuracy "
        f"{pct(small['test_accuracy'])}); η = {best['lr']:.3g} is best (loss {best['final_loss']:.4f}, test "
        f"{pct(best['test_accuracy'])}); training {thr_text}."
        + (f" The best rate sits only a factor {thr / best['lr']:.3g} below the threshold." if thr else "")
    )
    ok = thr is not None and small["final_loss"] > 2 * best["final_loss"]
    q = QuestionResult("Q11", answer, m, "confirmed" if ok else "contradicted")
    return finish("q11", [q], data, out, {"q11_learning_rate": draw})
