"""Two-dimensional toy sets, seeded: circles (the lab's), moons, XOR, spiral, Gaussian blobs."""

from __future__ import annotations

import numpy as np

from mlplab.data.dataset import Dataset
from mlplab.errors import ConfigError


def circles(n_samples: int = 1000, noise: float = 0.1, seed: int = 0, factor: float = 0.5) -> Dataset:
    """Two classes, one ring (radius ``factor``) inside the other (radius 1): not linearly separable."""
    from sklearn.datasets import make_circles

    X, y = make_circles(n_samples=n_samples, noise=noise, factor=factor, random_state=seed)
    return Dataset(X, y.astype(np.int64), "circles", class_names=["outer", "inner"])


def moons(n_samples: int = 1000, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Two interleaved half-moons."""
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=n_samples, noise=noise, random_state=seed)
    return Dataset(X, y.astype(np.int64), "moons", class_names=["upper", "lower"])


def xor(n_samples: int = 1000, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Points in four quadrants; class 1 where x₁ x₂ < 0."""
    rng = np.random.default_rng(seed)
    centers = np.array([[1, 1], [-1, -1], [1, -1], [-1, 1]], dtype=float) * 0.5
    which = rng.integers(0, 4, n_samples)
    X = centers[which] + rng.normal(0, max(noise, 0.0) + 0.15, (n_samples, 2))
    y = (X[:, 0] * X[:, 1] < 0).astype(np.int64)
    return Dataset(X, y, "xor", class_names=["same sign", "opposite sign"])


def spiral(n_samples: int = 1000, noise: float = 0.1, seed: int = 0, n_classes: int = 3) -> Dataset:
    """``n_classes`` interleaved spiral arms (the CS231n set)."""
    rng = np.random.default_rng(seed)
    y = np.arange(n_samples) % n_classes
    r = rng.uniform(0.05, 1.0, n_samples)
    theta = y * (2 * np.pi / n_classes) + r * 4.0 + rng.normal(0, noise * 2, n_samples)
    X = np.column_stack([r * np.sin(theta), r * np.cos(theta)])
    return Dataset(X, y.astype(np.int64), "spiral", class_names=[f"arm {k}" for k in range(n_classes)])


def blobs(n_samples: int = 1000, noise: float = 0.1, seed: int = 0, n_classes: int = 3) -> Dataset:
    """Isotropic Gaussian blobs; ``noise`` scales their spread (noise 0.1 → std 1)."""
    from sklearn.datasets import make_blobs

    X, y = make_blobs(n_samples=n_samples, centers=n_classes, cluster_std=10 * noise, random_state=seed)
    return Dataset(X, y.astype(np.int64), "blobs", class_names=[f"blob {k}" for k in range(n_classes)])


def sine(n_samples: int = 1000, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Regression: y = sin(x) + noise for x uniform in [−π, π] (one input, one target)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-np.pi, np.pi, n_samples)
    y = np.sin(x) + rng.normal(0, noise, n_samples)
    return Dataset(x.reshape(-1, 1), y.reshape(-1, 1), "sine", task="regression")


TOY = {"circles": circles, "moons": moons, "xor": xor, "spiral": spiral, "blobs": blobs, "sine": sine}


def make_toy(name: str, n_samples: int = 1000, noise: float = 0.1, seed: int = 0) -> Dataset:
    """A toy set by name, with its size, noise and seed."""
    if n_samples < 10:
        raise ConfigError(f"a toy set needs at least 10 samples; got {n_samples}")
    if noise < 0:
        raise ConfigError(f"noise must be ≥ 0; got {noise}")
    return TOY[name](n_samples=n_samples, noise=noise, seed=seed)
