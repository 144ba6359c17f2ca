"""What the page draws, computed from a published snapshot of the weights (never the live, training ones).

All functions take an inference-only ``viewer`` network already loaded with the snapshot's weights and use
the engine's own layers (``net.layers``, ``net.act``, ``net.head``) and thread-safe inference API.
Grids and heatmaps travel as base64 bytes: ``uint8`` class and strength per cell, ``int8`` unit activations.
"""

from __future__ import annotations

import base64
import math
from typing import Any

import numpy as np

from mlplab.data.split import Standardizer
from mlplab.gradcheck import check_gradients
from mlplab.network import MLP

GRID = 64  # decision-boundary cells per side
NEURON_GRID = 24  # cells per side of each hidden unit's heatmap
MAX_UNITS_SHOWN = 32  # units per layer drawn in the network diagram
GRADCHECK_MAX_PARAMS = 5_000  # finite differences cost two forward passes per parameter
GRADCHECK_ROWS = 16
EXAMPLE_SHOWN = 16  # entries of a vector (rows/columns of a matrix) listed in the example view


def _b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode("ascii")


def _finite(a: np.ndarray, digits: int = 5) -> list:
    """A JSON-ready nested list, rounded, with NaN/inf as null."""
    a = np.asarray(a, np.float64)
    out = np.round(a, digits).astype(object)
    out[~np.isfinite(a)] = None
    return out.tolist()


def trace(net: MLP, X: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray, np.ndarray]:
    """The forward pass kept layer by layer: ([h̃_1, …], [h_1, …], ỹ, ŷ) for X (B, n_x), each (B, n_l).

    The same operations as ``MLP.forward`` (the engine's Linear layers and activation), in fresh arrays.
    """
    x = net.as_input(X)
    act: Any = net.act  # the activation class (layers.py): forward(z, out) in place
    head: Any = net.head  # the output + loss class (losses.py): output(z, row) in place
    pre, post = [], []
    for l, layer in enumerate(net.layers):
        z = np.empty((x.shape[0], layer.W.shape[1]), net.dtype)
        layer.forward(x, z)
        if l == net.n_layers - 1:
            y_tilde = z
            break
        pre.append(z.copy())
        act.forward(z, z)
        post.append(z)
        x = z
    y_hat = head.output(y_tilde.copy(), np.empty(y_tilde.shape[0], net.dtype))
    return pre, post, y_tilde, y_hat


def extent(X_raw: np.ndarray, pad: float = 0.1) -> list[float]:
    """A square [x_min, x_max, y_min, y_max] around 2-D points, padded, centred on their middle."""
    lo, hi = X_raw.min(axis=0), X_raw.max(axis=0)
    centre, half = (lo + hi) / 2, float((hi - lo).max()) / 2 * (1 + pad) or 1.0
    return [float(centre[0] - half), float(centre[0] + half), float(centre[1] - half), float(centre[1] + half)]


def grid(ext: list[float], n: int) -> np.ndarray:
    """(n², 2) raw points at the centres of an n × n grid, row by row from the top (largest x₂) down."""
    x0, x1, y0, y1 = ext
    xs = x0 + (np.arange(n) + 0.5) * (x1 - x0) / n
    ys = y1 - (np.arange(n) + 0.5) * (y1 - y0) / n
    gx, gy = np.meshgrid(xs, ys)
    return np.column_stack([gx.ravel(), gy.ravel()])


def boundary(net: MLP, scaler: Standardizer, ext: list[float], n: int = GRID) -> dict:
    """Per cell: the predicted class and its strength (0: a tie between classes, 255: certain)."""
    _, _, _, y_hat = trace(net, scaler.transform(grid(ext, n), net.dtype))
    p = np.asarray(y_hat, np.float64)
    k = p.shape[1]
    p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)
    cls = p.argmax(axis=1)
    top = p.max(axis=1)
    strength = np.clip((top - 1 / k) / (1 - 1 / k), 0, 1) if k > 1 else np.ones_like(top)
    return {"n": n, "extent": ext, "class": _b64(cls.astype(np.uint8)),
            "strength": _b64(np.round(strength * 255).astype(np.uint8))}


def neuron_maps(net: MLP, scaler: Standardizer, ext: list[float], n: int = NEURON_GRID) -> list[dict]:
    """Each shown hidden unit's activation h, then each output ŷ_k, over the input plane, as int8 of value / scale."""
    _, post, _, y_hat = trace(net, scaler.transform(grid(ext, n), net.dtype))
    maps = []
    for l, h in enumerate(post):
        for u in range(min(h.shape[1], MAX_UNITS_SHOWN)):
            v = np.asarray(h[:, u], np.float64)
            v = np.where(np.isfinite(v), v, 0.0)
            scale = float(np.abs(v).max()) or 1.0
            if net.activation in ("tanh", "sigmoid", "step"):
                scale = 1.0
            maps.append({"layer": l + 1, "unit": u, "scale": scale,
                         "values": _b64(np.round(v / scale * 127).astype(np.int8))})
    for k in range(min(y_hat.shape[1], MAX_UNITS_SHOWN)):  # probabilities in [0, 1]
        p = np.clip(np.nan_to_num(np.asarray(y_hat[:, k], np.float64)), 0, 1)
        maps.append({"layer": len(post) + 1, "unit": k, "scale": 1.0,
                     "values": _b64(np.round(p * 127).astype(np.int8))})
    return maps


def diagram(net: MLP, grads: dict[str, np.ndarray] | None) -> dict:
    """Sizes, the units shown per layer, and each shown edge's weight (and gradient) and each unit's bias."""
    shown = [min(n, MAX_UNITS_SHOWN) for n in net.sizes]
    weights, biases, gw, gb = [], [], [], []
    for l in range(1, net.n_layers + 1):
        a, b = shown[l - 1], shown[l]
        weights.append(_finite(net.params[f"W{l}"][:a, :b], 4))
        biases.append(_finite(net.params[f"b{l}"][:b], 4))
        if grads is not None:
            gw.append(_finite(grads[f"W{l}"][:a, :b], 6))
            gb.append(_finite(grads[f"b{l}"][:b], 6))
    out = {"sizes": net.sizes, "shown": shown, "weights": weights, "biases": biases}
    if grads is not None:
        out |= {"grad_weights": gw, "grad_biases": gb}
    return out


def confusion(net: MLP, X: np.ndarray, y: np.ndarray, k: int) -> list[list[int]]:
    """counts[true][predicted] over the rows of X."""
    if len(X) == 0:
        return [[0] * k for _ in range(k)]
    pred = net.predict(X)
    return np.bincount(np.asarray(y) * k + pred, minlength=k * k).reshape(k, k).tolist()


def lab_names(n_layers: int) -> list[tuple[str, str, str, str]]:
    """Per layer (weight, bias, pre-activation, activation) in the lab's notation: W_h, b_h, h̃, h … W_y, b_y, ỹ, ŷ."""
    hidden = n_layers - 1
    names = []
    for l in range(1, hidden + 1):
        tag = "" if hidden == 1 else str(l)
        names.append((f"W_h{tag}", f"b_h{tag}", f"h̃{tag}", f"h{tag}"))
    names.append(("W_y", "b_y", "ỹ", "ŷ"))
    return names


def _vector(v: np.ndarray) -> dict:
    v = np.asarray(v, np.float64).ravel()
    return {"n": int(v.size), "values": _finite(v[:EXAMPLE_SHOWN], 5)}


def _matrix(m: np.ndarray) -> dict:
    m = np.asarray(m, np.float64)
    return {"shape": list(m.shape), "values": _finite(m[:EXAMPLE_SHOWN, :EXAMPLE_SHOWN], 5)}


DELTA_FORMULAS = {
    ("softmax", "cross_entropy"): "δ_y = ∂l/∂ỹ = ŷ − y",
    ("sigmoid", "cross_entropy"): "δ_y = ∂l/∂ỹ = ŷ − y",
    ("softmax", "mse"): "δ_y = ∂l/∂ỹ = ŷ ⊙ (g − ⟨g, ŷ⟩), g = 2 (ŷ − y)",
    ("sigmoid", "mse"): "δ_y = ∂l/∂ỹ = 2 (ŷ − y) ⊙ ŷ ⊙ (1 − ŷ)",
}


def example(net: MLP, x: np.ndarray, x_raw: np.ndarray, label: int, class_names: list[str]) -> dict:
    """One example's forward and backward pass for the current weights, in the lab's notation.

    The forward values come from ``trace``; the loss and every gradient from ``MLP.loss_and_grad`` on this one
    example, so δ_y = ∂l/∂ỹ is ∇_{b_y} l and each hidden δ is that layer's bias gradient.
    """
    pre, post, y_tilde, y_hat = trace(net, x[None, :])
    loss, grads = net.loss_and_grad(x[None, :], np.array([label]))
    Y = net.targets(np.array([label]))
    names = lab_names(net.n_layers)
    forward = [{"name": "x", "formula": "x (standardised)", **_vector(x)}]
    for l, (Wn, bn, pn, an) in enumerate(names[:-1]):
        src = "x" if l == 0 else names[l - 1][3]
        forward.append({"name": pn, "formula": f"{pn} = {src} {Wn} + {bn}", **_vector(pre[l][0])})
        forward.append({"name": an, "formula": f"{an} = {net.activation}({pn})", **_vector(post[l][0])})
    src = names[-2][3] if len(names) > 1 else "x"
    forward.append({"name": "ỹ", "formula": f"ỹ = {src} W_y + b_y", **_vector(y_tilde[0])})
    forward.append({"name": "ŷ", "formula": f"ŷ = {net.output}(ỹ)", **_vector(y_hat[0])})
    forward.append({"name": "y", "formula": f"y = one-hot({class_names[label]})", **_vector(Y[0])})
    L = net.n_layers
    delta = grads[f"b{L}"]
    backward = []
    for l in range(L, 0, -1):
        Wn, bn, pn, an = names[l - 1]
        dname = "δ_y" if l == L else f"δ_{an}"
        if l == L:
            formula = DELTA_FORMULAS.get((net.output, net.loss), "δ_y = ∂l/∂ỹ")
        else:
            nxt = "δ_y" if l + 1 == L else f"δ_{names[l][3]}"
            formula = f"{dname} = ∂l/∂{pn} = ({nxt} {names[l][0]}ᵀ) ⊙ σ'({pn})"
        src = "x" if l == 1 else names[l - 2][3]
        backward.append({"name": dname, "formula": formula, **_vector(grads[f"b{l}"])})
        backward.append({"name": f"∇{Wn}", "formula": f"∇_{Wn} l = {src}ᵀ {dname}", **_matrix(grads[f"W{l}"])})
        backward.append({"name": f"∇{bn}", "formula": f"∇_{bn} l = {dname}", **_vector(grads[f"b{l}"])})
    ce = net.loss == "cross_entropy"
    check = float(np.abs(np.asarray(delta, np.float64) - (np.asarray(y_hat[0], np.float64) - Y[0])).max()) if ce \
        else None
    return {"x_raw": _finite(x_raw, 5), "label": int(label), "class": class_names[label], "loss": float(loss),
            "predicted": class_names[int(np.argmax(y_hat[0]))], "forward": forward, "backward": backward,
            "delta_minus_residual": check,
            "note": "rows are examples: W here is the transpose of the lab's column-vector W (x W + b = W_labᵀ x + b)"}


def gradient_check(viewer: MLP, params: dict[str, np.ndarray], X: np.ndarray, y: np.ndarray) -> dict:
    """Backprop against central finite differences on a float64 copy of the weights, per tensor."""
    config = viewer.config() | {"dtype": "float64"}
    net = MLP(**config)
    if net.n_params > GRADCHECK_MAX_PARAMS:
        from mlplab.errors import ConfigError

        raise ConfigError(f"gradient check: {net.n_params} parameters is more than the {GRADCHECK_MAX_PARAMS} it "
                          "checks here (two forward passes each); use a smaller network")
    net.set_params(params)
    rows = min(GRADCHECK_ROWS, len(X))
    errors = check_gradients(net, X[:rows], y[:rows])
    names = lab_names(net.n_layers)
    out = []
    for e in errors:
        l = int(e.name[1:])
        lab = names[l - 1][0] if e.name[0] == "W" else names[l - 1][1]
        ok = e.max_rel < 1e-4 or e.max_abs < 1e-9
        out.append({"tensor": e.name, "name": lab, "max_abs": _num(e.max_abs), "max_rel": _num(e.max_rel), "ok": ok})
    return {"rows": rows, "n_params": net.n_params, "tensors": out, "ok": all(t["ok"] for t in out)}


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None
