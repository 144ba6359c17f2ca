"""The in-memory dataset every loader returns, and the split the trainer consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from mlplab.data.encoding import Imputer


@dataclass
class Dataset:
    """Features and targets of one dataset.

    X: (N, n_x) float array. y: (N,) int64 class indices for classification, or (N, n_y) float targets
    for regression. ``class_names[k]`` names class k. ``X_test``/``y_test`` hold a predefined test set
    (MNIST's 10k) when the source has one; otherwise the splitter carves a test set out of X.
    """

    X: np.ndarray
    y: np.ndarray
    name: str
    task: str = "classification"  # or "regression"
    class_names: list[str] | None = None
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    image_shape: tuple[int, ...] | None = None  # e.g. (28, 28) for IDX images
    meta: dict = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_outputs(self) -> int:
        """n_y: the number of classes, or the number of regression targets."""
        if self.task == "classification":
            if self.class_names is not None:
                return len(self.class_names)
            return int(self.y.max()) + 1
        return 1 if self.y.ndim == 1 else int(self.y.shape[1])


@dataclass
class Splits:
    """Train, validation and test arrays, already scaled with statistics of the training set only."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    imputer: Imputer | None = None  # tables with --impute: the missing-cell fill fitted on X_train
