"""The lab's two-layer network, in the lab's own notation: a worked answer to Q7, Q8, Q14 and Q15.

Column-vector convention of the lab, applied to each row of a batch X (B, n_x):
    h̃ = W_h x + b_h,   h = tanh(h̃),   ỹ = W_y h + b_y,   ŷ = SoftMax(ỹ)
with W_h (n_h, n_x), b_h (n_h,), W_y (n_y, n_h), b_y (n_y,). Plain allocating NumPy, no buffers, no
cleverness: it exists to be read, and as an independent witness of the engine in the tests.
"""

from __future__ import annotations

import numpy as np


def init_params(n_x: int, n_h: int, n_y: int, sigma: float = 0.3, seed: int = 0) -> dict[str, np.ndarray]:
    """W_h, b_h, W_y, b_y drawn from N(0, σ²), as the lab initialises them."""
    rng = np.random.default_rng(seed)
    return {
        "W_h": rng.normal(0, sigma, (n_h, n_x)), "b_h": rng.normal(0, sigma, n_h),
        "W_y": rng.normal(0, sigma, (n_y, n_h)), "b_y": rng.normal(0, sigma, n_y),
    }


def forward(params: dict[str, np.ndarray], X: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Q7: ŷ for each row of X, and the intermediate values backward needs."""
    h_tilde = X @ params["W_h"].T + params["b_h"]
    h = np.tanh(h_tilde)
    y_tilde = h @ params["W_y"].T + params["b_y"]
    y_hat = np.exp(y_tilde - y_tilde.max(axis=1, keepdims=True))
    y_hat /= y_hat.sum(axis=1, keepdims=True)
    return y_hat, {"X": X, "h_tilde": h_tilde, "h": h, "y_tilde": y_tilde, "y_hat": y_hat}


def loss_cross_entropy(y_tilde: np.ndarray, Y: np.ndarray) -> float:
    """Q14: l = −Σ_i y_i ỹ_i + log Σ_j e^{ỹ_j} (for one-hot y), averaged over the batch."""
    m = y_tilde.max(axis=1, keepdims=True)
    log_sum_exp = (m + np.log(np.exp(y_tilde - m).sum(axis=1, keepdims=True)))[:, 0]
    return float(np.mean(-(Y * y_tilde).sum(axis=1) + log_sum_exp))


def loss_squared_error(y_hat: np.ndarray, Y: np.ndarray) -> float:
    """Q8: l = Σ_i (y_i − ŷ_i)², averaged over the batch."""
    return float(np.mean(((Y - y_hat) ** 2).sum(axis=1)))


def backward(params: dict[str, np.ndarray], cache: dict[str, np.ndarray], Y: np.ndarray) -> dict[str, np.ndarray]:
    """Gradients of the batch-mean cross-entropy, by the chain rule.

    Q15: ∂l/∂ỹ = ŷ − y.  Then ∂l/∂W_y = (∂l/∂ỹ) hᵀ, ∂l/∂b_y = ∂l/∂ỹ, ∂l/∂h = W_yᵀ ∂l/∂ỹ,
    ∂l/∂h̃ = ∂l/∂h ⊙ (1 − h²), ∂l/∂W_h = (∂l/∂h̃) xᵀ, ∂l/∂b_h = ∂l/∂h̃; averaged over the batch.
    """
    B = Y.shape[0]
    d_y_tilde = (cache["y_hat"] - Y) / B
    d_h = d_y_tilde @ params["W_y"]
    d_h_tilde = d_h * (1 - cache["h"] ** 2)
    return {
        "W_y": d_y_tilde.T @ cache["h"], "b_y": d_y_tilde.sum(axis=0),
        "W_h": d_h_tilde.T @ cache["X"], "b_h": d_h_tilde.sum(axis=0),
    }


def step(params: dict[str, np.ndarray], grads: dict[str, np.ndarray], eta: float) -> None:
    """One gradient-descent step θ ← θ − η ∂L/∂θ, for each parameter."""
    for name in params:
        params[name] -= eta * grads[name]


def to_engine(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The same weights as ``MLP.params`` (W1 = W_hᵀ, b1 = b_h, W2 = W_yᵀ, b2 = b_y)."""
    return {"W1": params["W_h"].T.copy(), "b1": params["b_h"].copy(),
            "W2": params["W_y"].T.copy(), "b2": params["b_y"].copy()}
