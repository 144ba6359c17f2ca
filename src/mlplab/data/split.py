"""Seeded, stratified train/validation/test splits and standardisation fitted on the training set only."""

from __future__ import annotations

import numpy as np

from mlplab.data.dataset import Dataset, Splits
from mlplab.errors import ConfigError, DataError


class Standardizer:
    """x ↦ (x − mean) / std per feature, with statistics of the training set; constant features get std 1."""

    def __init__(self, mean: np.ndarray, std: np.ndarray) -> None:
        self.mean, self.std = np.asarray(mean, np.float64), np.asarray(std, np.float64)

    @classmethod
    def fit(cls, X: np.ndarray, chunk: int = 8192) -> Standardizer:
        """Mean and standard deviation in float64, two passes over row blocks (no float64 copy of X)."""
        X = np.asarray(X)
        n = max(X.shape[0], 1)
        mean = np.zeros(X.shape[1])
        for start in range(0, X.shape[0], chunk):
            mean += X[start : start + chunk].sum(axis=0, dtype=np.float64)
        mean /= n
        var = np.zeros(X.shape[1])
        for start in range(0, X.shape[0], chunk):
            centred = X[start : start + chunk] - mean
            var += np.einsum("ij,ij->j", centred, centred)
        std = np.sqrt(var / n)
        std[std < 1e-12] = 1.0
        return cls(mean, std)

    def transform(self, X: np.ndarray, dtype: str | np.dtype = "float32") -> np.ndarray:
        """A new array of ``dtype``: (X − mean) / std, computed in place after one cast."""
        out = np.array(X, dtype=dtype, copy=True)
        out -= self.mean.astype(out.dtype)
        out /= self.std.astype(out.dtype)
        return out

    def inverse(self, Z: np.ndarray) -> np.ndarray:
        """Z (N, n) in standard units → Z · std + mean, a new float64 array (the targets' own units)."""
        out = np.array(Z, dtype=np.float64, copy=True)
        out *= self.std
        out += self.mean
        return out

    def as_json(self) -> dict:
        """{"mean": [...], "std": [...]}: exact float64 values (JSON floats round-trip)."""
        return {"mean": [float(v) for v in self.mean], "std": [float(v) for v in self.std]}

    @classmethod
    def identity(cls, n_features: int) -> Standardizer:
        return cls(np.zeros(n_features), np.ones(n_features))


def _stratify(ds: Dataset, y: np.ndarray) -> np.ndarray | None:
    if ds.task != "classification":
        return None
    counts = np.bincount(y)
    return y if counts[counts > 0].min() >= 2 else None


def split(
    ds: Dataset,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
    scale: bool = True,
    dtype: str | np.dtype = "float32",
    impute: str = "error",
) -> tuple[Splits, Standardizer]:
    """Split ``ds`` (stratified by class, seeded) and standardise with training-set statistics.

    A dataset with a predefined test set (``ds.X_test``) keeps it and only carves validation out of X.
    ``impute`` "mean"/"median": missing cells (NaN) are filled with the training rows' statistic per column,
    before the scaler is fitted (the imputer is ``splits.imputer``); "error": the rows are used as they are.
    """
    if not 0 <= val_fraction < 1 or not 0 <= test_fraction < 1 or val_fraction + test_fraction >= 1:
        raise ConfigError(
            f"validation and test fractions must be in [0, 1) and sum below 1; got {val_fraction}, {test_fraction}"
        )
    X, y = ds.X, ds.y
    if ds.X_test is not None:
        X_test, y_test = ds.X_test, (ds.y_test if ds.y_test is not None else y[:0])
        X_rest, y_rest = X, y
    elif test_fraction > 0:
        from sklearn.model_selection import train_test_split  # heavy import (~1 s), only when a split is drawn

        X_rest, X_test, y_rest, y_test = train_test_split(
            X, y, test_size=test_fraction, random_state=seed, stratify=_stratify(ds, y)
        )
    else:
        X_rest, y_rest, X_test, y_test = X, y, X[:0], y[:0]
    if val_fraction > 0:
        from sklearn.model_selection import train_test_split

        rel = val_fraction / (1 - (0 if ds.X_test is not None else test_fraction))
        X_train, X_val, y_train, y_val = train_test_split(
            X_rest, y_rest, test_size=rel, random_state=seed + 1, stratify=_stratify(ds, y_rest)
        )
    else:
        X_train, y_train, X_val, y_val = X_rest, y_rest, X_rest[:0], y_rest[:0]
    if len(X_train) == 0:
        raise DataError(f"dataset {ds.name!r} leaves no training examples after the split")
    imputer = None
    if impute != "error":
        from mlplab.data.encoding import Imputer

        imputer = Imputer.fit(X_train, impute, ds.meta.get("features"))
        X_train, X_val, X_test = imputer.transform(X_train), imputer.transform(X_val), imputer.transform(X_test)
    scaler = Standardizer.fit(X_train) if scale else Standardizer.identity(X.shape[1])
    splits = Splits(
        scaler.transform(X_train, dtype), y_train,
        scaler.transform(X_val, dtype), y_val,
        scaler.transform(X_test, dtype), y_test, imputer,
    )
    return splits, scaler


def standardize_targets(splits: Splits) -> Standardizer:
    """Regression: fit y ↦ (y − mean) / std on the training targets and rescale the three y splits in place.

    Returns the target scaler; ``inverse`` maps the network's outputs back to the targets' own units.
    """
    scaler = Standardizer.fit(splits.y_train.reshape(len(splits.y_train), -1))
    for name in ("y_train", "y_val", "y_test"):
        y = getattr(splits, name)
        setattr(splits, name, scaler.transform(y.reshape(len(y), -1), "float64"))
    return scaler
