"""Output functions fused with their loss: ŷ = output(ỹ), the batch loss, and δ = ∂L/∂ỹ.

Per-example losses are the lab's: cross-entropy l = −Σ_i y_i log ŷ_i, squared error l = Σ_i (y_i − ŷ_i)². Two more
follow scikit-learn's conventions: "half_mse", ½ Σ_i (y_i − ŷ_i)², and "log_loss", cross-entropy with ŷ clipped to
[ε, 1 − ε] in the reported loss. The batch loss L is their mean over the B rows, so every δ carries a factor 1/B.

Each head works on preallocated buffers: ``z`` holds the logits ỹ (B, n_y) and is overwritten by ŷ;
``delta`` (B, n_y) receives ∂L/∂ỹ; ``scratch`` (B, n_y) and ``row``, ``row2`` (B,) are work space.
"""

from __future__ import annotations

from typing import Protocol, cast

import numpy as np

from mlplab.layers import Sigmoid
from mlplab.products import dot


class HeadFunction(Protocol):
    """An output fused with its loss, used through the class itself (static methods): ``output`` turns the logits
    ỹ into ŷ in place; ``loss_and_delta`` also returns the batch-mean loss and writes δ = ∂L/∂ỹ (see above)."""

    def output(self, z: np.ndarray, row: np.ndarray) -> np.ndarray: ...

    def loss_and_delta(self, z: np.ndarray, Y: np.ndarray, delta: np.ndarray, scratch: np.ndarray, row: np.ndarray,
                       row2: np.ndarray) -> float: ...


def softmax(z: np.ndarray, row: np.ndarray | None = None) -> np.ndarray:
    """ŷ = SoftMax(ỹ) row by row, in place in z, shifted by the row maximum so e^x never overflows."""
    if row is None:
        row = np.empty(z.shape[0], dtype=z.dtype)
    np.max(z, axis=1, out=row)
    z -= row[:, None]
    np.exp(z, out=z)
    np.sum(z, axis=1, out=row)
    z /= row[:, None]
    return z


def log_softmax(z: np.ndarray) -> np.ndarray:
    """log SoftMax(ỹ) = ỹ − logsumexp(ỹ), stable for any finite logits (returns a new array)."""
    shifted = z - z.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def smooth_labels(Y: np.ndarray, epsilon: float) -> np.ndarray:
    """Label smoothing: targets Y (B, K) → (1 − ε) Y + ε/K, a new array; ε = 0 returns Y itself.

    Each target keeps mass ε spread over the K classes, so cross-entropy stops pushing a logit up once ŷ_k reaches
    (1 − ε) + ε/K: a regulariser (Szegedy et al., 2016; PyTorch's CrossEntropyLoss(label_smoothing=ε)). The heads
    need nothing new: with Σ y_i = 1 still, δ = ŷ − y holds for the smoothed y.
    """
    if epsilon == 0:
        return Y
    return Y * (1.0 - epsilon) + epsilon / Y.shape[1]


class SoftmaxCrossEntropy:
    """ŷ = SoftMax(ỹ), l = −Σ y_i log ŷ_i = −Σ y_i ỹ_i + (Σ y_i) log Σ_j e^{ỹ_j}  (Q14);  ∂l/∂ỹ = ŷ − y  (Q15).

    With the log-sum-exp taken on shifted logits s = ỹ − max ỹ, nothing overflows for logits of ±1e4.
    """

    @staticmethod
    def output(z: np.ndarray, row: np.ndarray) -> np.ndarray:
        return softmax(z, row)

    @staticmethod
    def loss_and_delta(z: np.ndarray, Y: np.ndarray, delta: np.ndarray, scratch: np.ndarray, row: np.ndarray,
                       row2: np.ndarray) -> float:
        B = z.shape[0]
        np.max(z, axis=1, out=row)
        z -= row[:, None]  # s = ỹ − max ỹ ≤ 0
        np.exp(z, out=delta)
        np.sum(delta, axis=1, out=row)
        np.log(row, out=row)  # log Σ e^s
        np.sum(Y, axis=1, out=row2)  # Σ y_i (1 for one-hot or probability targets)
        loss = (dot(row2, row) - dot(Y, z)) / B
        z -= row[:, None]
        np.exp(z, out=z)  # ŷ = e^{s − log Σ e^s}
        np.multiply(z, row2[:, None], out=delta)
        delta -= Y
        delta *= 1.0 / B  # δ = (ŷ (Σ y) − y) / B = (ŷ − y) / B for one-hot y
        return float(loss)


class SoftmaxSquaredError:
    """ŷ = SoftMax(ỹ), l = Σ (y_i − ŷ_i)²;  g = ∂l/∂ŷ = 2 (ŷ − y),  ∂l/∂ỹ = ŷ ⊙ (g − ⟨g, ŷ⟩) (softmax Jacobian)."""

    output = staticmethod(SoftmaxCrossEntropy.output)

    @staticmethod
    def loss_and_delta(z: np.ndarray, Y: np.ndarray, delta: np.ndarray, scratch: np.ndarray, row: np.ndarray,
                       row2: np.ndarray) -> float:
        B = z.shape[0]
        softmax(z, row)
        np.subtract(z, Y, out=delta)
        loss = dot(delta, delta) / B
        delta *= 2.0 / B  # g / B
        np.einsum("ij,ij->i", delta, z, out=row)  # ⟨g, ŷ⟩ per row
        delta -= row[:, None]
        delta *= z
        return float(loss)


class IdentitySquaredError:
    """ŷ = ỹ, l = Σ (y_i − ŷ_i)²;  ∂l/∂ỹ = 2 (ŷ − y). The regression head."""

    @staticmethod
    def output(z: np.ndarray, row: np.ndarray) -> np.ndarray:
        return z

    @staticmethod
    def loss_and_delta(z: np.ndarray, Y: np.ndarray, delta: np.ndarray, scratch: np.ndarray, row: np.ndarray,
                       row2: np.ndarray) -> float:
        B = z.shape[0]
        np.subtract(z, Y, out=delta)
        loss = dot(delta, delta) / B
        delta *= 2.0 / B
        return float(loss)


class SigmoidSquaredError:
    """ŷ = σ(ỹ) per output, l = Σ (y_i − ŷ_i)²;  ∂l/∂ỹ = 2 (ŷ − y) ŷ (1 − ŷ)."""

    @staticmethod
    def output(z: np.ndarray, row: np.ndarray) -> np.ndarray:
        return Sigmoid.forward(z, z)

    @staticmethod
    def loss_and_delta(z: np.ndarray, Y: np.ndarray, delta: np.ndarray, scratch: np.ndarray, row: np.ndarray,
                       row2: np.ndarray) -> float:
        B = z.shape[0]
        Sigmoid.forward(z, z)
        np.subtract(z, Y, out=delta)
        loss = dot(delta, delta) / B
        delta *= 2.0 / B
        delta *= z
        np.subtract(1, z, out=scratch)
        delta *= scratch
        return float(loss)


class SigmoidCrossEntropy:
    """ŷ = σ(ỹ) per output (independent yes/no outputs), binary cross-entropy
    l = −Σ [y_i log ŷ_i + (1 − y_i) log(1 − ŷ_i)] = Σ [log(1 + e^{ỹ_i}) − y_i ỹ_i];  ∂l/∂ỹ = ŷ − y.
    """

    output = staticmethod(SigmoidSquaredError.output)

    @staticmethod
    def loss_and_delta(z: np.ndarray, Y: np.ndarray, delta: np.ndarray, scratch: np.ndarray, row: np.ndarray,
                       row2: np.ndarray) -> float:
        B = z.shape[0]
        np.logaddexp(0, z, out=scratch)  # softplus, stable
        loss = (scratch.sum() - dot(Y, z)) / B
        Sigmoid.forward(z, z)
        np.subtract(z, Y, out=delta)
        delta *= 1.0 / B
        return float(loss)


class SoftmaxLogLoss(SoftmaxCrossEntropy):
    """Cross-entropy as scikit-learn reports it: l = −Σ y_i log clip(ŷ_i, ε, 1 − ε), ε the dtype's machine epsilon, so
    a row adds at most −log ε; δ = (ŷ − y)/B is the unclipped one (as scikit-learn's)."""

    @staticmethod
    def loss_and_delta(z: np.ndarray, Y: np.ndarray, delta: np.ndarray, scratch: np.ndarray, row: np.ndarray,
                       row2: np.ndarray) -> float:
        B, eps = z.shape[0], np.finfo(z.dtype).eps
        softmax(z, row)
        np.subtract(z, Y, out=delta)
        delta *= 1.0 / B
        np.clip(z, eps, 1 - eps, out=scratch)
        np.log(scratch, out=scratch)
        return float(-dot(Y, scratch) / B)


class SigmoidLogLoss(SigmoidCrossEntropy):
    """Binary cross-entropy per output as scikit-learn reports it, ŷ clipped to [ε, 1 − ε]:
    l = −Σ [y_i log clip(ŷ_i) + (1 − y_i) log(1 − clip(ŷ_i))];  δ = (ŷ − y)/B unclipped."""

    @staticmethod
    def loss_and_delta(z: np.ndarray, Y: np.ndarray, delta: np.ndarray, scratch: np.ndarray, row: np.ndarray,
                       row2: np.ndarray) -> float:
        B, eps = z.shape[0], np.finfo(z.dtype).eps
        Sigmoid.forward(z, z)
        np.subtract(z, Y, out=delta)
        delta *= 1.0 / B
        np.clip(z, eps, 1 - eps, out=scratch)
        np.log(scratch, out=scratch)
        positive = dot(Y, scratch)  # Σ y log ŷ
        np.clip(z, eps, 1 - eps, out=scratch)
        np.subtract(1, scratch, out=scratch)
        np.log(scratch, out=scratch)
        negative = scratch.sum() - dot(Y, scratch)  # Σ (1 − y) log(1 − ŷ)
        return float(-(positive + negative) / B)


def halved(head: HeadFunction) -> HeadFunction:
    """A squared-error head at half scale, l = ½ Σ_i (y_i − ŷ_i)² and δ = ½ ∂(Σ_i (y_i − ŷ_i)²)/∂ỹ: scikit-learn's
    "squared_error" (for identity outputs, δ = (ŷ − y)/B, with nothing to undo in the gradient)."""

    def loss_and_delta(z: np.ndarray, Y: np.ndarray, delta: np.ndarray, scratch: np.ndarray, row: np.ndarray,
                       row2: np.ndarray) -> float:
        loss = head.loss_and_delta(z, Y, delta, scratch, row, row2)
        delta *= 0.5  # exact: a power of two
        return 0.5 * loss

    half = type(f"Half{getattr(head, '__name__', 'Head')}", (), {
        "output": staticmethod(head.output), "loss_and_delta": staticmethod(loss_and_delta), "__doc__": halved.__doc__})
    return cast(HeadFunction, half)
