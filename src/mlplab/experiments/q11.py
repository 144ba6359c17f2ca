"""Q11 — the learning rate: a sweep on a log grid with full-batch gradient descent on circles.

Two failures are kept apart: a run "diverged" when its loss became non-finite (recorded, not raised:
``on_nonfinite="stop"``), and is "unstable" when it stayed finite but ended above the untrained network's
loss. The threshold is the smallest rate of the grid that did either. The seed's other claim — too small a
rate "converges to a local minimum" — is tested on the smallest rate: is its final gradient small (a
stationary point) or still large, with the loss still falling (merely slow)?
"""

from __future__ import annotations

import math

import numpy as np

from mlplab import plots, runner
from mlplab.data import DataPaths
from mlplab.experiments import verdicts
from mlplab.experiments.base import OutDir, QuestionResult, Result, finish, pct
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
    diverged = bool(r.trainer.state.diverged or not math.isfinite(final))
    s = r.prepared.splits
    with np.errstate(all="ignore"):
        _, g = r.net.loss_and_grad(s.X_train, s.y_train)
        net0, _ = runner.build(cfg, s.X_train.shape[1], r.prepared.dataset.n_outputs)  # the same seeded start
        _, g0 = net0.loss_and_grad(s.X_train, s.y_train)
    gnorm, gnorm0 = (float(np.sqrt(sum(float((v.astype(np.float64) ** 2).sum()) for v in d.values()))) for d in (g, g0))
    at80 = h[int(0.8 * (len(h) - 1))].train_loss
    return {"lr": lr, "initial_loss": initial, "final_loss": final, "diverged": diverged,
            "unstable": (not diverged) and final > initial, "epochs_run": len(h), "grad_norm": gnorm,
            "initial_grad_norm": gnorm0,
            "recent_drop": (at80 - final) / at80 if math.isfinite(at80) and at80 > 0 else None,
            "test_accuracy": r.test_accuracy, "curve": [x.train_loss for x in h]}


def sweep(lrs: list[float], epochs: int, jobs: int = 1) -> list[dict]:
    return pmap(point, [{"lr": lr, "epochs": epochs} for lr in lrs], jobs)


def failed(r: dict) -> bool:
    """Unstable (finite, ended above the untrained loss) or diverged (non-finite)."""
    return r["diverged"] or r["unstable"]


def threshold(rows: list[dict]) -> float | None:
    """The smallest learning rate of the sweep that was unstable or diverged."""
    return min((r["lr"] for r in rows if failed(r)), default=None)


def run(quick: bool = False, out: OutDir = None, jobs: int = 1, scheduler: str | None = None,
        data_paths: DataPaths | None = None) -> Result:
    epochs = 100 if quick else 300
    with on_scheduler(scheduler):
        rows = sweep(grid(quick), epochs, jobs)
    thr = threshold(rows)
    stable = [r for r in rows if not failed(r)]
    best = min(stable, key=lambda r: r["final_loss"])
    small = rows[0]
    m = {"epochs": epochs, "regime": "full-batch gradient descent, circles, 2-10-2 tanh",
         "divergence_threshold_lr": thr, "largest_stable_lr": max(r["lr"] for r in stable),
         "best_lr": best["lr"], "best_final_loss": best["final_loss"], "best_test_accuracy": best["test_accuracy"],
         "smallest_lr": small["lr"], "smallest_lr_final_loss": small["final_loss"],
         "smallest_lr_test_accuracy": small["test_accuracy"], "initial_loss": small["initial_loss"],
         "diverged_lrs": [r["lr"] for r in rows if r["diverged"]],
         "unstable_lrs": [r["lr"] for r in rows if r["unstable"]],
         "smallest_lr_grad_norm": small["grad_norm"], "best_lr_grad_norm": best["grad_norm"],
         "smallest_lr_grad_norm_ratio": small["grad_norm"] / max(best["grad_norm"], 1e-12),
         "smallest_lr_grad_shrink": small["grad_norm"] / max(small["initial_grad_norm"], 1e-12),
         "smallest_lr_recent_drop": small["recent_drop"],
         "smallest_lr_still_falling": bool(small["recent_drop"] is not None and small["recent_drop"] > 0.01),
         "sweep": [{k: v for k, v in r.items() if k != "curve"} for r in rows]}
    data = {**m, "curves": {f"{r['lr']:.3g}": r["curve"] for r in rows}}

    def draw(path):
        fig, (a1, a2) = plots.plt.subplots(1, 2, figsize=(11, 3.8))
        lrs = [r["lr"] for r in rows]
        finals = [r["final_loss"] if math.isfinite(r["final_loss"]) else np.nan for r in rows]
        a1.plot(lrs, finals, "o-")
        for r in rows:
            if r["diverged"]:
                a1.plot(r["lr"], 1e1, "rx", ms=9)
            elif r["unstable"]:
                a1.plot(r["lr"], r["final_loss"], "o", mfc="none", mec="orange", ms=11)
        a1.axhline(small["initial_loss"], color="gray", ls=":", label="untrained loss")
        if thr:
            a1.axvline(thr, color="r", ls="--", label=f"divergence threshold {thr:.3g}")
        a1.set(xscale="log", yscale="log", xlabel="learning rate η", ylabel=f"training loss after {epochs} epochs",
               title="final loss (orange: unstable, red ×: diverged)")
        a1.legend(fontsize=8)
        picks = [small, best, *[r for r in rows if failed(r)][:2]]
        for r in picks:
            c = np.asarray(r["curve"], float)
            a2.plot(np.arange(1, len(c) + 1), np.where(np.isfinite(c), c, np.nan), label=f"η = {r['lr']:.3g}")
        a2.set(yscale="log", xlabel="epoch", ylabel="training loss", title="too small, best, unstable/diverged")
        a2.legend(fontsize=8)
        plots.save(fig, path)

    unst, div = m["unstable_lrs"], m["diverged_lrs"]
    def rates(xs: list[float]) -> str:
        return "η = " + ", ".join(f"{x:.3g}" for x in xs) if xs else "no rate"

    fail_text = (f"from η = {thr:.3g} training fails: unstable (finite, ending above the untrained loss "
                 f"{small['initial_loss']:.3f}) at {rates(unst)}; diverged (non-finite) at {rates(div)}; the largest "
                 f"stable rate is {m['largest_stable_lr']:.3g}") if thr else "no rate on the grid fails"
    answer = (
        f"Full-batch gradient descent on circles for {epochs} epochs: η = {best['lr']:.3g} is best (loss "
        f"{best['final_loss']:.4f}, test {pct(best['test_accuracy'])}); {fail_text}."
        + (f" The best rate sits a factor {thr / best['lr']:.3g} below the threshold." if thr else "")
        + f" Too small a rate is slow, not trapped: η = {small['lr']:.3g} takes the loss only from "
        f"{small['initial_loss']:.3f} to {small['final_loss']:.3f} (test {pct(small['test_accuracy'])}), but its "
        f"gradient norm at the end is still {m['smallest_lr_grad_shrink']:.0%} of its initial size "
        f"({small['grad_norm']:.3g}, "
        f"{m['smallest_lr_grad_norm_ratio']:.1f}× the best run's {best['grad_norm']:.2g}) and its loss fell "
        f"{small['recent_drop'] or 0:.1%} over the last fifth of the epochs: it is still descending, nowhere near a "
        f"stationary point, let alone a local minimum."
    )
    q = QuestionResult("Q11", answer, m, verdicts.verdict_q11(m))
    return finish("q11", [q], data, out, {"q11_learning_rate": draw})
