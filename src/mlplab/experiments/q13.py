"""Q13 — what backprop needs: derivatives that carry information (almost everywhere) through an acyclic graph.

A step (Heaviside) activation has derivative 0 everywhere except at 0, where it has none: backprop sends
nothing to the layers below it, so only the output layer learns, on top of fixed random features. ReLU's
kink at 0 is harmless: pre-activations practically never land exactly on it.
"""

from __future__ import annotations

import numpy as np

from mlplab import plots, runner
from mlplab.experiments.base import QuestionResult, Result, finish, pct
from mlplab.runner import RunConfig, predict_original


class KinkCounter:
    """Counts, after every epoch, hidden pre-activations h̃ = X W1 + b1 that are exactly 0 (ReLU's kink)."""

    def __init__(self, X) -> None:
        self.X, self.zeros, self.total = X, 0, 0

    def on_epoch_end(self, trainer, record) -> None:
        p = trainer.net.params
        h_tilde = self.X @ p["W1"] + p["b1"]
        self.zeros += int(np.count_nonzero(h_tilde == 0))
        self.total += h_tilde.size


def run(quick: bool = False, out=None, jobs: int = 1, scheduler: str | None = None) -> Result:
    epochs = 40 if quick else 150
    runs, moved, grads = {}, {}, {}
    kinks = None
    for act in ("step", "relu", "tanh"):
        cfg = RunConfig(dataset="circles", activation=act, hidden=(10,), epochs=epochs, lr=0.1, batch_size=10, seed=0)
        prepared = runner.prepare(cfg)
        net0, _ = runner.build(cfg, 2, 2)
        W1_before = net0.params["W1"].copy()
        cbs = [KinkCounter(prepared.splits.X_train)] if act == "relu" else []
        r = runner.run(cfg, callbacks=cbs, prepared=prepared)
        if cbs:
            kinks = cbs[0]
        runs[act] = r
        moved[act] = float(np.abs(r.net.params["W1"] - W1_before).max())
        _, g = r.net.loss_and_grad(prepared.splits.X_train, prepared.splits.y_train)
        grads[act] = float(np.abs(g["W1"]).max())
    acc = {a: r.test_accuracy for a, r in runs.items()}
    m = {"epochs": epochs, "test_accuracy": acc, "max_change_W1": moved, "max_abs_grad_W1_after": grads,
         "relu_exact_zero_preactivations": kinks.zeros, "relu_preactivations_checked": kinks.total,
         "chance": 0.5}

    def draw(path):
        fig, axes = plots.plt.subplots(1, 3, figsize=(10, 3.6))
        for ax, act in zip(axes, ("step", "relu", "tanh"), strict=True):
            r = runs[act]
            d = r.prepared.dataset
            plots.draw_boundary(ax, lambda X, r=r: predict_original(r.net, r.prepared.scaler, X), d.X, d.y,
                                f"{act}: test {acc[act]:.2f}, max |ΔW1| = {moved[act]:.2g}", resolution=120)
        fig.suptitle("Step activation: zero gradient, hidden layer frozen (Q13)")
        plots.save(fig, path)

    answer = (
        f"With a step activation the first layer's gradient is exactly {grads['step']:.0f}, its weights move by "
        f"{moved['step']:.0f} in {epochs} epochs, and test accuracy stays at {pct(acc['step'])} (chance 50 %): only "
        f"the output layer learns, on frozen random half-plane features. ReLU, not differentiable at 0, learns "
        f"fine ({pct(acc['relu'])}; tanh {pct(acc['tanh'])}): of {kinks.total} hidden pre-activations checked after "
        f"each epoch, {kinks.zeros} were exactly 0. Differentiability almost everywhere with useful (non-zero) "
        f"derivatives is what backprop needs — and an acyclic graph, which every MLP is by construction (not "
        f"measured). The seed's demand that derivatives be continuous is stricter than needed: ReLU's jumps at 0."
    )
    ok = moved["step"] == 0 and acc["step"] <= 0.6 and acc["relu"] >= 0.95
    q = QuestionResult("Q13", answer, m, "confirmed" if ok else "contradicted")
    return finish("q13", [q], m, out, {"q13_step_activation": draw})
