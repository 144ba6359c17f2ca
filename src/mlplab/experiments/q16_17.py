"""Q16–Q17 — the gradients of the output and hidden layers, derived in the lab's notation and checked.

The derived formulas, applied one example at a time (outer products, as written on paper):
    δ_y = ŷ − y,  ∇_{W_y} l = δ_y hᵀ,  ∇_{b_y} l = δ_y                                      (Q16)
    δ_h = ∇_{h̃} l = (W_yᵀ δ_y) ⊙ (1 − h²),  ∇_{W_h} l = δ_h xᵀ,  ∇_{b_h} l = δ_h               (Q17)
averaged over the batch, are compared with three witnesses: the engine (``MLP.loss_and_grad``, whose
W1 = W_hᵀ and W2 = W_yᵀ), PyTorch autograd on the same lab-notation forward pass (float64; skipped with
a note when torch is not installed), and central finite differences.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mlplab import plots, reference
from mlplab.data import DataPaths, load_dataset
from mlplab.experiments import verdicts
from mlplab.experiments.base import OutDir, QuestionResult, Result, finish
from mlplab.gradcheck import numerical_gradient
from mlplab.network import MLP

NO_TORCH = "not checked against autograd (torch not installed)"


def derived(params: dict[str, np.ndarray], X: np.ndarray, Y: np.ndarray) -> dict[str, np.ndarray]:
    """The Q16/Q17 formulas, example by example, averaged: gradients in the lab's shapes, and δ_h per example."""
    y_hat, c = reference.forward(params, X)
    B = len(X)
    d_y = y_hat - Y  # (B, n_y): δ_y per example
    d_h = (d_y @ params["W_y"]) * (1 - c["h"] ** 2)  # (B, n_h): δ_h = (W_yᵀ δ_y) ⊙ (1 − h²), row b = example b
    return {
        "W_y": np.einsum("bi,bj->ij", d_y, c["h"]) / B,  # mean of δ_y hᵀ
        "b_y": d_y.mean(axis=0),
        "W_h": np.einsum("bi,bj->ij", d_h, X) / B,  # mean of δ_h xᵀ
        "b_h": d_h.mean(axis=0),
        "h_tilde": d_h / B,  # ∂L/∂h̃ for the batch-mean loss L
    }


def autograd(params: dict[str, np.ndarray], X: np.ndarray, Y: np.ndarray) -> dict[str, np.ndarray] | None:
    """The same gradients from PyTorch autograd (float64), or None when torch is not installed."""
    try:
        import torch
    except ImportError:
        return None
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    x, y = torch.tensor(X, dtype=torch.float64), torch.tensor(Y, dtype=torch.float64)
    h_tilde = x @ t["W_h"].T + t["b_h"]
    h_tilde.retain_grad()
    y_tilde = torch.tanh(h_tilde) @ t["W_y"].T + t["b_y"]
    loss = -(y * torch.log_softmax(y_tilde, dim=1)).sum(dim=1).mean()
    loss.backward()
    out = {k: _grad(v) for k, v in t.items()}
    out["h_tilde"] = _grad(h_tilde)
    return out


def _grad(t: Any) -> np.ndarray:
    """A tensor's gradient after backward, as NumPy."""
    assert t.grad is not None
    return t.grad.numpy()


def engine(params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray) -> tuple[dict, dict]:
    """The engine's gradients and central finite differences, both mapped back to the lab's shapes (Wᵀ)."""
    n_h, n_x = params["W_h"].shape
    net = MLP([n_x, n_h, params["W_y"].shape[0]], "tanh", "softmax", "cross_entropy", dtype="float64")
    net.set_params(reference.to_engine(params))
    _, g = net.loss_and_grad(X, y)
    fd = numerical_gradient(net, X, y)
    lab = {"W_h": "W1", "b_h": "b1", "W_y": "W2", "b_y": "b2"}
    back = {k: (g[e].T if k.startswith("W") else g[e]) for k, e in lab.items()}
    back_fd = {k: (fd[e].T if k.startswith("W") else fd[e]) for k, e in lab.items()}
    return back, back_fd


def _diff(a: dict, b: dict | None, keys: tuple[str, ...]) -> float | None:
    if b is None:
        return None
    return max(float(np.abs(a[k] - b[k]).max()) for k in keys)


def run(quick: bool = False, out: OutDir = None, jobs: int = 1, scheduler: str | None = None,
        data_paths: DataPaths | None = None) -> Result:
    cases = [(2, 4, 2, "circles (the lab's figure 1: n_x = 2, n_h = 4, n_y = 2)"),
             (2, 16, 3, "spiral, n_h = 16, n_y = 3")]
    rows: list[dict[str, Any]] = []
    shown: tuple | None = None
    for n_x, n_h, n_y, label in cases:
        ds = load_dataset("circles" if n_y == 2 else "spiral", n_samples=64, seed=1)
        X = (ds.X - ds.X.mean(0)) / ds.X.std(0)
        Y = np.eye(n_y)[ds.y]
        params = reference.init_params(n_x, n_h, n_y, sigma=0.5, seed=3)
        d = derived(params, X, Y)
        eng, fd = engine(params, X, ds.y)
        auto = autograd(params, X, Y)
        rows.append({"case": label, "examples": len(X),
                     "Q16": {"engine": _diff(d, eng, ("W_y", "b_y")), "autograd": _diff(d, auto, ("W_y", "b_y")),
                             "finite_differences": _diff(d, fd, ("W_y", "b_y"))},
                     "Q17": {"engine": _diff(d, eng, ("W_h", "b_h")),
                             "autograd": _diff(d, auto, ("W_h", "b_h", "h_tilde")),
                             "finite_differences": _diff(d, fd, ("W_h", "b_h"))}})
        shown = shown or (d, eng, auto, params)
    has_torch = rows[0]["Q16"]["autograd"] is not None

    def worst(q: str, key: str) -> float | None:
        vals = [r[q][key] for r in rows]
        return None if None in vals else max(vals)

    ms = {q: {"max_abs_diff_engine": worst(q, "engine"), "max_abs_diff_autograd": worst(q, "autograd"),
              "max_abs_diff_finite_differences": worst(q, "finite_differences"), "autograd_checked": has_torch,
              "cases": [{"case": r["case"], **r[q]} for r in rows]} for q in ("Q16", "Q17")}
    assert shown is not None
    d, eng, auto, params = shown

    def draw(keys: tuple[str, ...], title: str) -> Callable[[Path], None]:
        def _draw(path):
            fig, axes = plots.plt.subplots(1, len(keys), figsize=(3.4 * len(keys), 3.3))
            for ax, k in zip(np.atleast_1d(axes), keys, strict=True):
                ref = (auto or eng)[k] if k != "h_tilde" else (auto or {}).get(k)
                if ref is None:
                    ax.axis("off")
                    ax.set_title(f"{k}: {NO_TORCH}", fontsize=7)
                    continue
                ax.plot(np.ravel(ref), np.ravel(d[k]), "o", ms=4)
                lim = float(np.abs(np.ravel(ref)).max()) * 1.1 or 1.0
                ax.plot([-lim, lim], [-lim, lim], "k:", lw=1)
                ax.set(title=f"∇ {k}", xlabel="autograd" if auto else "engine", ylabel="derived formula")
            fig.suptitle(title)
            fig.tight_layout()
            plots.save(fig, path)
        return _draw

    def text(q: str, formula: str) -> str:
        x = ms[q]
        auto_txt = (f"PyTorch autograd to {x['max_abs_diff_autograd']:.1e}" if has_torch else NO_TORCH)
        return (f"{formula} Applied example by example and averaged, it matches the engine's backward pass "
                f"(MLP.loss_and_grad, whose W is the transpose of the lab's) to {x['max_abs_diff_engine']:.1e}, "
                f"{auto_txt}, and central finite differences to {x['max_abs_diff_finite_differences']:.1e}, on "
                f"{len(rows)} networks ({'; '.join(r['case'] for r in rows)}), float64.")

    a16 = text("Q16", "With δ_y = ŷ − y: ∇_{W_y} l = δ_y hᵀ and ∇_{b_y} l = δ_y.")
    a17 = text("Q17", "δ_h = ∇_{h̃} l = (W_yᵀ δ_y) ⊙ (1 − h²) (tanh), ∇_{W_h} l = δ_h xᵀ and ∇_{b_h} l = δ_h"
                      + (" (δ_h itself checked against autograd's ∂L/∂h̃)." if has_torch else "."))
    q16 = QuestionResult("Q16", a16, ms["Q16"], verdicts.verdict_q16(ms["Q16"]), ["q16_gradients"])
    q17 = QuestionResult("Q17", a17, ms["Q17"], verdicts.verdict_q17(ms["Q17"]), ["q17_gradients"])
    versus = "autograd" if auto else "engine"
    figs = {"q16_gradients": draw(("W_y", "b_y"), f"Q16: output layer, derived vs {versus}"),
            "q17_gradients": draw(("W_h", "b_h", "h_tilde"), "Q17: hidden layer, derived vs "
                                  + ("autograd" if auto else "engine"))}
    return finish("q16_17", [q16, q17], {"Q16": ms["Q16"], "Q17": ms["Q17"]}, out, figs)
