"""Q3 — why non-linear activations: identity against tanh and ReLU on circles and moons.

A network of identity activations is one linear map whatever its depth, so its decision boundary is a
line: it cannot separate the circles (chance), and does only as well as a linear model on moons.
"""

from __future__ import annotations

import numpy as np

from mlplab import plots, runner
from mlplab.data import DataPaths
from mlplab.experiments import verdicts
from mlplab.experiments.base import OutDir, QuestionResult, Result, finish, pct
from mlplab.network import MLP
from mlplab.runner import RunConfig, predict_original

ACTIVATIONS = ("identity", "tanh", "relu")
DATASETS = ("circles", "moons")


def collapse_gap(net: MLP, X: np.ndarray) -> float:
    """Max |ŷ-logits of the identity network − logits of its product map X (W1 W2 …) + b|: 0 means it is linear."""
    W = np.eye(net.sizes[0])
    b = np.zeros(net.sizes[0])
    for l in range(1, net.n_layers + 1):
        W, b = W @ net.params[f"W{l}"], b @ net.params[f"W{l}"] + net.params[f"b{l}"]
    logits = X @ W + b
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    return float(np.abs(net.forward(X) - p).max())


def run(quick: bool = False, out: OutDir = None, jobs: int = 1, scheduler: str | None = None,
        data_paths: DataPaths | None = None) -> Result:
    """Train each activation on each dataset; accuracies, boundaries, and the identity net's collapse."""
    epochs = 40 if quick else 150
    runs, acc = {}, {}
    for ds in DATASETS:
        for act in ACTIVATIONS:
            cfg = RunConfig(dataset=ds, activation=act, hidden=(10, 10), epochs=epochs, lr=0.1, batch_size=10,
                            noise=0.1, seed=0)
            r = runner.run(cfg)
            runs[ds, act] = r
            acc[f"{ds}/{act}"] = r.test_accuracy
    ident = runs["circles", "identity"]
    gap = collapse_gap(ident.net, ident.prepared.splits.X_test.astype(np.float64))

    def draw(path):
        fig, axes = plots.plt.subplots(len(DATASETS), len(ACTIVATIONS), figsize=(9, 6))
        for i, ds in enumerate(DATASETS):
            for j, act in enumerate(ACTIVATIONS):
                r = runs[ds, act]
                d = r.prepared.dataset
                plots.draw_boundary(axes[i, j], lambda X, r=r: predict_original(r.net, r.prepared.scaler, X),
                                    d.X, d.y, f"{ds}, {act}: test {r.test_accuracy:.2f}", resolution=120)
        fig.suptitle("Decision boundaries of a 2-10-10-2 network (Q3)")
        plots.save(fig, path)

    m = {"test_accuracy": acc, "identity_collapse_max_diff": gap, "hidden": [10, 10], "epochs": epochs}
    answer = (
        f"On circles the identity network scores {pct(acc['circles/identity'])} (chance is 50 %) while tanh "
        f"scores {pct(acc['circles/tanh'])} and ReLU {pct(acc['circles/relu'])}; on moons identity reaches only "
        f"{pct(acc['moons/identity'])} (a straight line) against {pct(acc['moons/tanh'])} / "
        f"{pct(acc['moons/relu'])}. The 2-10-10-2 identity network has three weight matrices, W1 (2×10), W2 (10×10) "
        f"and W3 (10×2), and equals the single affine map x ↦ x·(W1·W2·W3) + ((b1·W2 + b2)·W3 + b3), one 2×2 "
        f"matrix and one bias, followed by the SoftMax (max difference {gap:.1e}). In the lab's column convention "
        f"(each matrix transposed) the same map reads ỹ = W_3 W_2 W_1 x + b: stacking linear maps adds no "
        f"expressive power, whatever the depth."
    )
    q = QuestionResult("Q3", answer, m, verdicts.verdict_q3(m))
    return finish("q3", [q], m, out, {"q3_boundaries": draw})

