"""Optimizers that update parameters in place, and learning-rate schedules.

Conventions follow torch.optim: SGD with momentum keeps v ← μ v + g and steps p ← p − lr v
(Nesterov: p ← p − lr (g + μ v)); Adam is Kingma & Ba with bias correction. L2 weight decay adds
λ W to the gradient of weights only (biases are not decayed, as in scikit-learn). scikit-learn's conventions
(``ClassicalSGD``, ``FoldedAdam``) take λ per row instead: a batch of m rows adds (λ/m)·W (``decay_per_row``).
Every buffer is allocated once, in the constructor.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mlplab.errors import ConfigError

Params = dict[str, np.ndarray]  # "W1", "b1", … → array


class Optimizer:
    """Base: holds the parameters, the learning rate and one scratch buffer per parameter.

    ``slots`` names the per-parameter state a subclass keeps (dicts of arrays like ``self.velocity``): the one
    ``state_dict``/``load_state_dict`` below saves and restores them as "slot.W1", … for bit-identical resuming.
    """

    slots: tuple[str, ...] = ()
    decay_per_row = False  # True: weight_decay is scikit-learn's α, and a batch of m rows adds (α/m)·W to ∇W

    def __init__(self, params: dict[str, np.ndarray], lr: float, weight_decay: float = 0.0) -> None:
        if not (lr > 0 and math.isfinite(lr)):
            raise ConfigError(f"learning rate must be a positive number; got {lr}")
        if weight_decay < 0:
            raise ConfigError(f"weight decay must be ≥ 0; got {weight_decay}")
        self.params, self.lr, self.weight_decay = params, float(lr), float(weight_decay)
        self._tmp = {k: np.empty_like(p) for k, p in params.items()}
        self.t = 0  # steps taken

    def decay(self, rows: int) -> float:
        """λ for one batch of ``rows`` rows: weight_decay, or weight_decay / rows with ``decay_per_row``."""
        return self.weight_decay / rows if self.decay_per_row else self.weight_decay

    def penalty(self) -> float:
        """What one batch's L2 term adds to the epoch's summed loss under ``decay_per_row``: its loss gains
        ½·(α/m)·Σ‖W‖² (weights before the step), times its m rows, so ½·α·Σ‖W‖²; 0 otherwise (the engine's own
        weight decay is not reported in the loss)."""
        if not (self.decay_per_row and self.weight_decay):
            return 0.0
        return 0.5 * self.weight_decay * sum(float(np.vdot(p, p)) for k, p in self.params.items() if k[0] == "W")

    def _decayed(self, name: str, g: np.ndarray, wd: float) -> np.ndarray:
        """g + λ W for weights (into scratch), g itself otherwise."""
        if wd and name.startswith("W"):
            tmp = self._tmp[name]
            np.multiply(self.params[name], wd, out=tmp)
            tmp += g
            return tmp
        return g

    def step(self, grads: dict[str, np.ndarray], rows: int = 1) -> None:
        """One update with the gradients of a batch of ``rows`` rows (the rows matter with ``decay_per_row``)."""
        self.t += 1
        wd = self.decay(rows)
        for name, p in self.params.items():
            self._update(name, p, self._decayed(name, grads[name], wd))

    def _update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError

    def state_dict(self) -> tuple[Params, dict[str, Any]]:
        """(arrays, scalars): what a checkpoint needs to resume bit-identically (the live arrays, not copies)."""
        arrays = {f"{slot}.{k}": a for slot in self.slots for k, a in getattr(self, slot).items()}
        return arrays, {"t": self.t, "lr": self.lr}

    def load_state_dict(self, arrays: Params, scalars: dict[str, Any]) -> None:
        """Copy a ``state_dict`` back into this optimizer's own arrays."""
        self.t, self.lr = int(scalars["t"]), float(scalars["lr"])
        for slot in self.slots:
            for k, a in getattr(self, slot).items():
                np.copyto(a, arrays[f"{slot}.{k}"])


class SGD(Optimizer):
    """p ← p − lr g;  with momentum μ: v ← μ v + g, p ← p − lr v (Nesterov: p ← p − lr (g + μ v))."""

    slots = ("velocity",)

    def __init__(self, params: Params, lr: float = 0.1, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        if not 0.0 <= momentum < 1.0:
            raise ConfigError(f"momentum must be in [0, 1); got {momentum}")
        if nesterov and momentum == 0:
            raise ConfigError("Nesterov momentum needs momentum > 0")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)
        self.velocity = {k: np.zeros_like(p) for k, p in params.items()} if momentum else {}

    def _update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        tmp = self._tmp[name]
        if self.momentum:
            v = self.velocity[name]
            v *= self.momentum
            v += g
            if self.nesterov:  # p −= lr g, then p −= lr μ v (g may live in tmp)
                np.multiply(g, self.lr, out=tmp)
                p -= tmp
                np.multiply(v, self.lr * self.momentum, out=tmp)
                p -= tmp
                return
            g = v
        np.multiply(g, self.lr, out=tmp)
        p -= tmp


class ClassicalSGD(Optimizer):
    """Classical momentum, scikit-learn's convention: v ← μ v − lr g, p ← p + v (Nesterov: p ← p + (μ v − lr g)).

    The velocity is a step already scaled by the learning rates it was built with, so a change of lr (scikit-learn's
    "invscaling" and "adaptive") acts on new gradients only; with a constant lr it takes the same steps as ``SGD``.
    Each step rounds as scikit-learn's does (same operations, same order). weight_decay is scikit-learn's α:
    per row (``decay_per_row``).
    """

    slots = ("velocity",)
    decay_per_row = True

    def __init__(self, params: Params, lr: float = 0.1, momentum: float = 0.9, nesterov: bool = True,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        if not 0.0 <= momentum <= 1.0:
            raise ConfigError(f"momentum must be in [0, 1]; got {momentum}")
        self.momentum, self.nesterov = float(momentum), bool(nesterov)
        self.velocity = {k: np.zeros_like(p) for k, p in params.items()}
        self._step = {k: np.empty_like(p) for k, p in params.items()} if nesterov else {}

    def _update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        v, tmp = self.velocity[name], self._tmp[name]
        np.multiply(g, self.lr, out=tmp)  # lr g (g may live in tmp)
        v *= self.momentum
        v -= tmp  # v ← μ v − lr g
        if self.nesterov:
            step = self._step[name]
            np.multiply(v, self.momentum, out=step)
            step -= tmp
            p += step  # p ← p + (μ v − lr g), with the new v
        else:
            p += v


class Adam(Optimizer):
    """m ← β₁ m + (1−β₁) g;  v ← β₂ v + (1−β₂) g²;  p ← p − lr m̂ / (√v̂ + ε) with bias-corrected m̂, v̂."""

    slots = ("m", "v")

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        self.beta1, self.beta2 = (float(b) for b in betas)
        self.eps = float(eps)
        self.m = {k: np.zeros_like(p) for k, p in params.items()}
        self.v = {k: np.zeros_like(p) for k, p in params.items()}

    def _update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        m, v, tmp = self.m[name], self.v[name], self._tmp[name]
        m -= g  # β₁ m + (1−β₁) g = β₁ (m − g) + g: no temporary, and g may live in tmp
        m *= self.beta1
        m += g
        v *= self.beta2
        np.multiply(g, g, out=tmp)
        tmp *= 1 - self.beta2
        v += tmp
        bias1 = 1 - self.beta1**self.t
        bias2 = 1 - self.beta2**self.t
        np.sqrt(v, out=tmp)
        tmp *= 1 / math.sqrt(bias2)
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= self.lr / bias1
        p -= tmp


class FoldedAdam(Adam):
    """Adam with the bias corrections folded into the step (Kingma & Ba §2; scikit-learn's convention):
    lr_t = lr √(1−β₂ᵗ)/(1−β₁ᵗ), p ← p + (−lr_t m) / (√v + ε). Same as ``Adam`` but for where ε sits (√v, not √v̂);
    each step rounds as scikit-learn's does (same operations, same order). weight_decay is scikit-learn's α: per row
    (``decay_per_row``)."""

    decay_per_row = True

    def __init__(self, params: Params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)
        self._step = {k: np.empty_like(p) for k, p in params.items()}

    def _update(self, name: str, p: np.ndarray, g: np.ndarray) -> None:
        m, v, tmp, step = self.m[name], self.v[name], self._tmp[name], self._step[name]
        m *= self.beta1  # m ← β₁ m + (1−β₁) g  (g may live in tmp)
        np.multiply(g, 1 - self.beta1, out=step)
        m += step
        v *= self.beta2  # v ← β₂ v + (1−β₂) g²
        np.multiply(g, g, out=step)
        step *= 1 - self.beta2
        v += step
        lr_t = self.lr * math.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        np.multiply(m, -lr_t, out=step)
        np.sqrt(v, out=tmp)
        tmp += self.eps
        step /= tmp
        p += step


# ------------------------------------------------------------------------------ learning-rate schedules
# The learning rate for 0-based ``epoch`` of ``epochs``; each takes the shared keywords and uses its own
# (``registry.schedule_lr`` picks one by name).
def constant_lr(lr0: float, epoch: int, epochs: int, **_: float) -> float:
    """lr0."""
    return lr0


def step_lr(lr0: float, epoch: int, epochs: int, *, step_size: int = 10, gamma: float = 0.5, **_: float) -> float:
    """lr0 γ^⌊epoch/step_size⌋."""
    return lr0 * gamma ** (epoch // max(step_size, 1))


def cosine_lr(lr0: float, epoch: int, epochs: int, *, lr_min: float = 0.0, **_: float) -> float:
    """lr_min + (lr0 − lr_min)(1 + cos(π epoch/epochs))/2."""
    return lr_min + (lr0 - lr_min) * 0.5 * (1 + math.cos(math.pi * epoch / max(epochs, 1)))


def invscaling_lr(lr0: float, epoch: int, epochs: int, *, power: float = 0.5, **_: float) -> float:
    """lr0 / (epoch + 1)^power (scikit-learn's name, counted in epochs)."""
    return lr0 / (epoch + 1) ** power
