"""Data helpers shared by the experiments: Fashion-MNIST loaded once per process, subsets prepared like
``runner.prepare`` would (same subsample, same split), optionally with a smaller test set for quick runs."""

from __future__ import annotations

import functools

import numpy as np

from mlplab.data import LOADERS, DataPaths, Dataset, Splits, Standardizer, load_dataset, split
from mlplab.data.real import subsample
from mlplab.runner import Prepared, RunConfig, prepare

FASHION = "fashion-mnist"


def has_fashion(data_paths: DataPaths | None = None) -> bool:
    """True when the Fashion-MNIST loader exists and its files are installed (looked for in ``data_paths``)."""
    if FASHION not in LOADERS:
        return False
    try:
        _full(FASHION, data_paths or DataPaths())
    except Exception:  # missing files: the experiments fall back to a toy set and say so
        return False
    return True


@functools.lru_cache(maxsize=2)
def _full(name: str, data_paths: DataPaths) -> Dataset:
    return load_dataset(name, data_paths=data_paths)


def prepared(cfg: RunConfig, n_test: int | None = None, data_paths: DataPaths | None = None) -> Prepared:
    """``runner.prepare(cfg)``, but reading Fashion-MNIST from disk once; ``n_test`` keeps a seeded test subset."""
    if cfg.dataset != FASHION:
        return prepare(cfg, data_paths)
    ds = subsample(_full(FASHION, data_paths or DataPaths()), cfg.n_samples, cfg.seed)
    if n_test is not None and ds.X_test is not None and ds.y_test is not None and n_test < len(ds.X_test):
        keep = np.sort(np.random.default_rng(cfg.seed).permutation(len(ds.X_test))[:n_test])
        ds = Dataset(ds.X, ds.y, ds.name, ds.task, ds.class_names, ds.X_test[keep], ds.y_test[keep],
                     ds.image_shape, ds.meta)
    splits, scaler = split(ds, cfg.val_fraction, cfg.test_fraction, seed=cfg.seed, dtype=cfg.dtype)
    return Prepared(ds, splits, scaler)


def fashion(data_paths: DataPaths | None = None) -> Dataset:
    """The whole Fashion-MNIST set (60k train, 10k test), read from disk once per process."""
    return _full(FASHION, data_paths or DataPaths())


def fixed_splits(ds: Dataset, train: np.ndarray, val: np.ndarray, X_test: np.ndarray, y_test: np.ndarray,
                 dtype: str = "float32") -> Prepared:
    """A Prepared from explicit rows of ``ds`` (train and validation indices) and a separate fixed test set,
    standardised with the training rows' statistics: lets a sweep vary the training set and nothing else."""
    scaler = Standardizer.fit(ds.X[train])
    splits = Splits(scaler.transform(ds.X[train], dtype), ds.y[train], scaler.transform(ds.X[val], dtype),
                    ds.y[val], scaler.transform(X_test, dtype), y_test)
    return Prepared(ds, splits, scaler)
