"""Figures: learning curves and decision boundaries, written atomically as PNG."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from mlplab.atomic import atomic_path

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

Proba = Callable[[np.ndarray], np.ndarray]  # raw X (n, 2) → ŷ (n, n_y)


def save(fig: Figure, path: str | os.PathLike) -> None:
    """Save a figure to PNG atomically and close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def plot_history(history: Sequence, path: str | os.PathLike, title: str = "") -> None:
    """Loss and accuracy per epoch, training against validation."""
    epochs = [r.epoch for r in history]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    ax1.plot(epochs, [r.train_loss for r in history], label="train")
    if history and history[0].val_loss is not None:
        ax1.plot(epochs, [r.val_loss for r in history], label="validation")
    ax1.set(xlabel="epoch", ylabel="loss", title="loss")
    ax1.legend()
    accs = [r.train_accuracy for r in history]
    if accs and accs[0] is not None and not np.isnan(accs[0]):
        ax2.plot(epochs, accs, label="train")
        if history[0].val_accuracy is not None:
            ax2.plot(epochs, [r.val_accuracy for r in history], label="validation")
        ax2.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
        ax2.legend()
    else:
        ax2.axis("off")
    if title:
        fig.suptitle(title)
    save(fig, path)


def draw_boundary(ax: Axes, predict_proba: Proba, X: np.ndarray, y: np.ndarray, title: str = "",
                  resolution: int = 200) -> None:
    """Shade the predicted class over the plane and scatter the points; ``predict_proba`` takes raw X."""
    pad = 0.1 * (X.max(axis=0) - X.min(axis=0))
    lo, hi = X.min(axis=0) - pad, X.max(axis=0) + pad
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    proba = predict_proba(np.column_stack([g0.ravel(), g1.ravel()]))
    cls = proba.argmax(axis=1).reshape(g0.shape) if proba.shape[1] > 1 else (proba[:, 0] > 0.5).reshape(g0.shape)
    ax.contourf(g0, g1, cls, alpha=0.3, cmap="coolwarm", levels=np.arange(proba.shape[1] + 1) - 0.5)
    ax.scatter(X[:, 0], X[:, 1], c=y, s=8, cmap="coolwarm", edgecolors="none")
    ax.set(title=title, xticks=[], yticks=[])


def plot_decision_boundary(predict_proba: Proba, X: np.ndarray, y: np.ndarray, path: str | os.PathLike,
                           title: str = "") -> None:
    """One decision-boundary figure for 2-D data."""
    fig, ax = plt.subplots(figsize=(5, 5))
    draw_boundary(ax, predict_proba, X, y, title)
    save(fig, path)


def plot_pred_vs_true(y: np.ndarray, y_hat: np.ndarray, names: Sequence[str], path: str | os.PathLike,
                      title: str = "") -> None:
    """Regression: predicted against true value, one panel per target (N, n_y), with the y = x diagonal."""
    y, y_hat = np.asarray(y).reshape(len(y), -1), np.asarray(y_hat).reshape(len(y_hat), -1)
    k = min(y.shape[1], 6)
    fig, axes = plt.subplots(1, k, figsize=(4.2 * k, 4), squeeze=False)
    for j, ax in enumerate(axes[0]):
        lo, hi = float(min(y[:, j].min(), y_hat[:, j].min())), float(max(y[:, j].max(), y_hat[:, j].max()))
        ax.plot([lo, hi], [lo, hi], color="grey", lw=1, label="y = ŷ")
        ax.scatter(y[:, j], y_hat[:, j], s=8, alpha=0.6, edgecolors="none")
        ax.set(xlabel=f"true {names[j]}", ylabel=f"predicted {names[j]}")
        ax.legend(loc="upper left")
    if title:
        fig.suptitle(title)
    save(fig, path)


def plot_confusion_matrix(cm: np.ndarray, class_names: Sequence[str], path: str | os.PathLike,
                          title: str = "") -> None:
    """Counts of (true class, predicted class), rows normalised for the colour, raw counts written in cells."""
    cm = np.asarray(cm)
    k = cm.shape[0]
    rows = cm.sum(axis=1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros(cm.shape, float), where=rows > 0)
    size = min(3 + 0.55 * k, 14)
    fig, ax = plt.subplots(figsize=(size, size * 0.9))
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    if k <= 30:
        for i in range(k):
            for j in range(k):
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if share[i, j] > 0.5 else "black")
    ax.set_xticks(range(k), [str(c) for c in class_names], rotation=45, ha="right")
    ax.set_yticks(range(k), [str(c) for c in class_names])
    ax.set(xlabel="predicted class", ylabel="true class", title=title or "confusion matrix")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of the true class")
    save(fig, path)
