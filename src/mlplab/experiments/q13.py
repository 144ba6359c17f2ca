"""Q13 — what backprop needs: derivatives that carry information (almost everywhere) through an acyclic graph.

A step (Heaviside) activation has derivative 0 everywhere except at 0, where it has none: backprop sends
nothing to the layers below it, so only the output layer learns, on top of fixed random features. ReLU's
kink at 0 is harmless: pre-activations practically never land exactly on it.

A fair test: every network starts from the same weights with biases drawn N(0, 1), so the step units'
half-planes x·w + b > 0 sit anywhere in the (standardised) plane instead of all passing through the origin.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlplab import plots, runner
from mlplab.data import DataPaths
from mlplab.experiments import verdicts
from mlplab.experiments.base import OutDir, QuestionResult, Result, finish, pct
from mlplab.runner import RunConfig, predict_original


class KinkCounter:
    """Counts, after every epoch, hidden pre-activations h̃ = X W1 + b1 that are exactly 0 (ReLU's kink)."""

    def __init__(self, X: np.ndarray) -> None:
        self.X, self.zeros, self.total = X, 0, 0

    def on_epoch_end(self, trainer: Any, record: Any) -> None:
        p = trainer.net.params
        h_tilde = self.X @ p["W1"] + p["b1"]
        self.zeros += int(np.count_nonzero(h_tilde == 0))
        self.total += h_tilde.size


class SpreadBiases:
    """``runner.run(setup=...)``: draw the first layer's biases N(0, 1) and remember W1 and b1 as they start."""

    def __init__(self, seed: int) -> None:
        self.seed, self.W1, self.b1 = seed, None, None

    def __call__(self, net: Any, trainer: Any) -> None:
        b1 = net.params["b1"]
        b1[:] = np.random.default_rng(self.seed + 1000).normal(0.0, 1.0, b1.shape).astype(b1.dtype)
        self.W1, self.b1 = net.params["W1"].copy(), b1.copy()


def run(quick: bool = False, out: OutDir = None, jobs: int = 1, scheduler: str | None = None,
        data_paths: DataPaths | None = None) -> Result:
    epochs = 40 if quick else 150
    runs, moved, grads = {}, {}, {}
    kinks = None
    for act in ("step", "relu", "tanh"):
        cfg = RunConfig(dataset="circles", activation=act, hidden=(10,), epochs=epochs, lr=0.1, batch_size=10, seed=0,
                        init="glorot")
        prepared = runner.prepare(cfg)
        start = SpreadBiases(cfg.seed)
        cbs = [KinkCounter(prepared.splits.X_train)] if act == "relu" else []
        r = runner.run(cfg, callbacks=cbs, prepared=prepared, setup=start)
        if cbs:
            kinks = cbs[0]
        runs[act] = r
        moved[act] = max(float(np.abs(r.net.params["W1"] - start.W1).max()),
                         float(np.abs(r.net.params["b1"] - start.b1).max()))
        _, g = r.net.loss_and_grad(prepared.splits.X_train, prepared.splits.y_train)
        grads[act] = float(np.abs(g["W1"]).max())
    assert kinks is not None  # the ReLU run counted its kinks
    acc = {a: r.test_accuracy for a, r in runs.items()}
    m = {"epochs": epochs, "test_accuracy": acc, "max_change_W1": moved, "first_layer_bias_init": "N(0, 1)",
         "max_abs_grad_W1_after": grads,
         "relu_exact_zero_preactivations": kinks.zeros, "relu_preactivations_checked": kinks.total,
         "chance": 0.5}

    def draw(path):
        fig, axes = plots.plt.subplots(1, 3, figsize=(10, 3.6))
        for ax, act in zip(axes, ("step", "relu", "tanh"), strict=True):
            r = runs[act]
            d = r.prepared.dataset
            plots.draw_boundary(ax, lambda X, r=r: predict_original(r.net, r.prepared.scaler, X), d.X, d.y,
                                f"{act}: test {acc[act]:.2f}, max |Δ(W1, b1)| = {moved[act]:.2g}", resolution=120)
        fig.suptitle("Step activation: zero gradient, hidden layer frozen (Q13)")
        plots.save(fig, path)

    answer = (
        f"All three networks start from the same weights, with first-layer biases drawn N(0, 1) so that each step "
        f"unit's half-plane can sit anywhere in the plane. With a step activation the first layer's gradient is "
        f"exactly {grads['step']:.0f}, its weights and biases move by {moved['step']:.0f} in {epochs} epochs, and "
        f"test accuracy reaches only {pct(acc['step'])} (chance 50 %): the output layer learns on ten frozen random "
        f"half-planes, which cannot be moved to fit the circle. ReLU, not differentiable at 0, learns "
        f"fine ({pct(acc['relu'])}; tanh {pct(acc['tanh'])}): of {kinks.total} hidden pre-activations checked after "
        f"each epoch, {kinks.zeros} were exactly 0. Differentiability almost everywhere with useful (non-zero) "
        f"derivatives is what backprop needs — and an acyclic graph, which every MLP is by construction (not "
        f"measured). The seed's demand that derivatives be continuous is stricter than needed: ReLU's jumps at 0."
    )
    q = QuestionResult("Q13", answer, m, verdicts.verdict_q13(m))
    return finish("q13", [q], m, out, {"q13_step_activation": draw})
