"""The lab's "naive approach" (Q12): central finite differences for every parameter, checked against backprop.

One parameter at a time, ∂L/∂θ ≈ (L(θ + ε) − L(θ − ε)) / 2ε: two forward passes per parameter, so its
cost grows as (number of parameters) × (cost of a forward pass), against one backward pass for backprop.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlplab.network import MLP


def batch_loss(net: MLP, X: np.ndarray, Y: np.ndarray) -> float:
    """L(θ) on one batch, forward only (no gradient)."""
    return net.mean_loss(X, Y)


def numerical_gradient(net: MLP, X: np.ndarray, y: np.ndarray, eps: float = 1e-6) -> dict[str, np.ndarray]:
    """Central differences for every parameter. Use a float64 network: float32 loses ~half the digits."""
    X = net.as_input(X)
    Y = net.targets(y)
    grads = {}
    for name, p in net.params.items():
        g = np.empty(p.shape, np.float64)
        flat, gflat = p.reshape(-1), g.reshape(-1)
        for i in range(flat.size):
            keep = flat[i]
            flat[i] = keep + eps
            plus = batch_loss(net, X, Y)
            flat[i] = keep - eps
            minus = batch_loss(net, X, Y)
            flat[i] = keep
            gflat[i] = (plus - minus) / (2 * eps)
        grads[name] = g
    return grads


@dataclass
class GradError:
    """Disagreement of backprop with finite differences for one parameter array."""

    name: str
    max_abs: float
    max_rel: float  # max |a − n| / max(|a| + |n|, floor), elementwise


def compare(analytic: dict[str, np.ndarray], numeric: dict[str, np.ndarray], floor: float = 1e-8) -> list[GradError]:
    """Per-parameter maximum absolute and relative error between two gradient dicts."""
    out = []
    for name, a in analytic.items():
        n = numeric[name]
        diff = np.abs(a.astype(np.float64) - n)
        rel = diff / np.maximum(np.abs(a) + np.abs(n), floor)
        out.append(GradError(name, float(diff.max(initial=0.0)), float(rel.max(initial=0.0))))
    return out


def check_gradients(net: MLP, X: np.ndarray, y: np.ndarray, eps: float = 1e-6) -> list[GradError]:
    """Backprop against central finite differences on (X, y), per parameter."""
    _, analytic = net.loss_and_grad(X, y)
    return compare(analytic, numerical_gradient(net, X, y, eps))
