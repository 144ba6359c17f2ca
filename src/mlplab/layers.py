"""Layers: the affine map and the activations. Each class's backward sits right below its forward.

Rows are samples: x (B, n_in), W (n_in, n_out), b (n_out,), z and a (B, n_out). This is the lab's
h̃ = W_h x + b_h written for a batch of row vectors, so our W is the transpose of the lab's W_h.

Everything works in place on buffers the network preallocates, so a training step allocates nothing.
Activations express their derivative through their output a = σ(z) (as scikit-learn does), so the
pre-activation z need not be kept: the forward pass overwrites z with a.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import numpy as np


class ActivationFunction(Protocol):
    """σ and its derivative, used through the class itself (static methods), both in place:
    ``forward`` writes a = σ(z) into a (which may be z); ``backward`` multiplies delta by σ'(z), read from a."""

    def forward(self, z: np.ndarray, a: np.ndarray) -> np.ndarray: ...

    def backward(self, a: np.ndarray, delta: np.ndarray) -> None: ...


class Linear:
    """z = x W + b.  W: (n_in, n_out), b: (n_out,). Gradients go into arrays the caller passes in."""

    def __init__(self, W: np.ndarray, b: np.ndarray) -> None:
        self.W, self.b = W, b

    def forward(self, x: np.ndarray, z: np.ndarray, matmul: Callable[..., np.ndarray] = np.matmul) -> np.ndarray:
        """x: (B, n_in) -> z: (B, n_out), written into the given buffer. ``matmul``: BLAS's (training) or
        ``products.matmul`` (inference: bits independent of any thread count)."""
        matmul(x, self.W, out=z)
        z += self.b
        return z

    def backward(self, x: np.ndarray, delta: np.ndarray, grad_x: np.ndarray | None,
                 dW: np.ndarray, db: np.ndarray) -> None:
        """delta = ∂L/∂z (B, n_out).  dW ← ∂L/∂W = xᵀ delta,  db ← ∂L/∂b = Σ_rows delta,  grad_x ← delta Wᵀ."""
        np.matmul(x.T, delta, out=dW)
        np.sum(delta, axis=0, out=db)
        if grad_x is not None:
            np.matmul(delta, self.W.T, out=grad_x)


class Tanh:
    """a = tanh(z);  σ'(z) = 1 − a²."""

    @staticmethod
    def forward(z: np.ndarray, a: np.ndarray) -> np.ndarray:
        return np.tanh(z, out=a)

    @staticmethod
    def backward(a: np.ndarray, delta: np.ndarray) -> None:
        """delta *= 1 − a², in place; a is used as scratch and destroyed."""
        np.multiply(a, a, out=a)
        np.subtract(1, a, out=a)
        delta *= a


class ReLU:
    """a = max(z, 0);  σ'(z) = 1 if z > 0 else 0 (the kink at 0 gets 0, as in PyTorch)."""

    @staticmethod
    def forward(z: np.ndarray, a: np.ndarray) -> np.ndarray:
        return np.maximum(z, 0, out=a)

    @staticmethod
    def backward(a: np.ndarray, delta: np.ndarray) -> None:
        """delta *= [a > 0], the indicator written into a as 0.0 / 1.0 (np.sign is much slower: BENCHMARKS.md)."""
        np.greater(a, 0, out=a)
        delta *= a


class Sigmoid:
    """a = 1 / (1 + e^(−z)), computed without overflow;  σ'(z) = a (1 − a)."""

    @staticmethod
    def forward(z: np.ndarray, a: np.ndarray) -> np.ndarray:
        from scipy.special import expit  # on first use: importing scipy.special costs ~0.3 s of every start-up

        return expit(z, out=a)

    @staticmethod
    def backward(a: np.ndarray, delta: np.ndarray) -> None:
        """delta *= a (1 − a), in two passes; a is destroyed."""
        delta *= a
        np.subtract(1, a, out=a)
        delta *= a


class Identity:
    """a = z;  σ'(z) = 1. A network of these is one linear map, whatever its depth (Q3)."""

    @staticmethod
    def forward(z: np.ndarray, a: np.ndarray) -> np.ndarray:
        if a is not z:
            np.copyto(a, z)
        return a

    @staticmethod
    def backward(a: np.ndarray, delta: np.ndarray) -> None:
        """delta is unchanged."""


class Step:
    """a = 1 if z > 0 else 0 (Heaviside);  σ'(z) = 0 almost everywhere, so nothing below it learns (Q13)."""

    @staticmethod
    def forward(z: np.ndarray, a: np.ndarray) -> np.ndarray:
        return np.greater(z, 0, out=a)

    @staticmethod
    def backward(a: np.ndarray, delta: np.ndarray) -> None:
        delta.fill(0)



# ------------------------------------------------------------------------------- initialisations
# Each draws one layer's W (n_in, n_out) and b (n_out,) in float64 (the same draw for any dtype).
# scale: σ of the "normal" init; gain: multiplies Glorot's limit (√2 for sigmoid units).
def normal_init(rng: np.random.Generator, n_in: int, n_out: int, scale: float, gain: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """The lab's init: every weight and bias from N(0, scale²)."""
    return rng.normal(0.0, scale, (n_in, n_out)), rng.normal(0.0, scale, n_out)


def glorot_init(rng: np.random.Generator, n_in: int, n_out: int, scale: float, gain: float
                ) -> tuple[np.ndarray, np.ndarray]:
    """Glorot (Xavier) uniform: W ~ U(±gain √(6 / (n_in + n_out))), b = 0."""
    limit = np.sqrt(6.0 / (n_in + n_out)) * gain
    return rng.uniform(-limit, limit, (n_in, n_out)), np.zeros(n_out)


def he_init(rng: np.random.Generator, n_in: int, n_out: int, scale: float, gain: float
            ) -> tuple[np.ndarray, np.ndarray]:
    """He (Kaiming) normal for ReLU: W ~ N(0, 2 / n_in), b = 0."""
    return rng.normal(0.0, np.sqrt(2.0 / n_in), (n_in, n_out)), np.zeros(n_out)
