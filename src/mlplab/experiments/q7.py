"""Q7 — the forward equations in the lab's notation, and the engine that computes the same thing faster.

``mlplab.reference`` writes h̃ = W_h x + b_h, h = tanh(h̃), ỹ = W_y h + b_y, ŷ = SoftMax(ỹ) literally;
the engine (``MLP``) uses row-major batches (W1 = W_hᵀ) and in-place buffers. Same weights, same inputs:
the two must agree to rounding, for ŷ, the loss, and every gradient.
"""

from __future__ import annotations

import numpy as np

from mlplab import plots, reference
from mlplab.data import DataPaths, load_dataset
from mlplab.experiments import verdicts
from mlplab.experiments.base import OutDir, QuestionResult, Result, finish
from mlplab.network import MLP


def run(quick: bool = False, out: OutDir = None, jobs: int = 1, scheduler: str | None = None,
        data_paths: DataPaths | None = None) -> Result:
    n_h = 10
    ds = load_dataset("spiral", n_samples=200 if quick else 1000, seed=0)
    X = (ds.X - ds.X.mean(0)) / ds.X.std(0)
    n_x, n_y = ds.n_features, ds.n_outputs
    Y = np.eye(n_y)[ds.y]
    params = reference.init_params(n_x, n_h, n_y, sigma=0.3, seed=0)
    y_hat_ref, cache = reference.forward(params, X)
    grads_ref = reference.backward(params, cache, Y)
    loss_ref = reference.loss_cross_entropy(cache["y_tilde"], Y)
    diffs = {}
    for dtype in ("float64", "float32"):
        net = MLP([n_x, n_h, n_y], "tanh", "softmax", "cross_entropy", dtype=dtype)
        net.set_params(reference.to_engine(params))
        y_hat = net.forward(X)
        loss, grads = net.loss_and_grad(X, ds.y)
        eng = reference.to_engine(grads_ref)
        diffs[dtype] = {
            "y_hat": float(np.abs(y_hat - y_hat_ref).max()), "loss": abs(loss - loss_ref),
            "gradients": max(float(np.abs(grads[k] - eng[k]).max()) for k in grads),
        }
    # the seed's equations use ReLU for σ; the lab's network uses tanh: same weights, how different is ŷ?
    h_relu = np.maximum(cache["h_tilde"], 0)
    z = h_relu @ params["W_y"].T + params["b_y"]
    y_hat_relu = np.exp(z - z.max(axis=1, keepdims=True))
    y_hat_relu /= y_hat_relu.sum(axis=1, keepdims=True)
    relu_gap = float(np.abs(y_hat_relu - y_hat_ref).max())
    agree = float((y_hat_relu.argmax(1) == y_hat_ref.argmax(1)).mean())
    m = {"network": f"{n_x}-{n_h}-{n_y} tanh, softmax", "examples": len(X), "max_abs_diff": diffs,
         "engine_vs_reference_max_diff": max(diffs["float64"].values()),
         "seed_relu_vs_lab_tanh_max_diff": relu_gap, "seed_relu_vs_lab_tanh_argmax_agreement": agree,
         "loss": loss_ref, "rows_sum_to_one_max_error": float(np.abs(y_hat_ref.sum(1) - 1).max())}

    def draw(path):
        k = 8
        fig, axes = plots.plt.subplots(1, 5, figsize=(12, 3.2), gridspec_kw={"width_ratios": [2, 10, 10, 3, 3]})
        panels = (("$x$", X[:k]), (r"$\tilde h = W_h x + b_h$", cache["h_tilde"][:k]),
                  (r"$h = \tanh(\tilde h)$", cache["h"][:k]), (r"$\tilde y = W_y h + b_y$", cache["y_tilde"][:k]),
                  (r"$\hat y = \mathrm{SoftMax}(\tilde y)$", y_hat_ref[:k]))
        for ax, (title, a) in zip(axes, panels, strict=True):
            ax.imshow(a, cmap="coolwarm", aspect="auto", vmin=-np.abs(a).max(), vmax=np.abs(a).max())
            ax.set_title(title, fontsize=9)
            ax.set(xticks=[], yticks=range(k) if ax is axes[0] else [])
        axes[0].set_ylabel("example")
        fig.suptitle(f"The forward pass, 8 examples (engine − reference: max |Δŷ| = {diffs['float64']['y_hat']:.1e})",
                     y=1.04)
        plots.save(fig, path)

    d64, d32 = diffs["float64"], diffs["float32"]
    answer = (
        f"h̃ = W_h x + b_h, h = σ(h̃), ỹ = W_y h + b_y, ŷ = SoftMax(ỹ). The lab's-notation reference and the "
        f"engine, given the same weights, agree on {len(X)} spiral points to {d64['y_hat']:.1e} for ŷ, "
        f"{d64['loss']:.1e} for the loss and {d64['gradients']:.1e} for every gradient in float64 "
        f"({d32['y_hat']:.1e} / {d32['gradients']:.1e} in float32); in a row-major batch the engine computes "
        f"X W1 + b1 with W1 = W_hᵀ. The seed writes the same four equations but with σ = ReLU; the lab's network "
        f"uses tanh, and with the same weights the two give ŷ differing by up to {relu_gap:.3f} (same predicted "
        f"class on {agree:.0%} of the points): a different network, not a notational variant."
    )
    q = QuestionResult("Q7", answer, m, verdicts.verdict_q7(m))
    return finish("q7", [q], m, out, {"q7_forward": draw})
