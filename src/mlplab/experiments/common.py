"""Data helpers shared by the experiments: Fashion-MNIST loaded once per process, subsets prepared like
``runner.prepare`` would (same subsample, same split), optionally with a smaller test set for quick runs."""

from __future__ import annotations

import functools

import numpy as np

from mlplab.data import LOADERS, Dataset, load_dataset, split
from mlplab.data.real import subsample
from mlplab.runner import Prepared, RunConfig, prepare

FASHION = "fashion-mnist"


def has_fashion() -> bool:
    """True when the Fashion-MNIST loader exists and its files are installed."""
    if FASHION not in LOADERS:
        return False
    try:
        _full(FASHION)
    except Exception:  # missing files: the experiments fall back to a toy set and say so
        return False
    return True


@functools.lru_cache(maxsize=2)
def _full(name: str) -> Dataset:
    return load_dataset(name)


def prepared(cfg: RunConfig, n_test: int | None = None) -> Prepared:
    """``runner.prepare(cfg)``, but reading Fashion-MNIST from disk once; ``n_test`` keeps a seeded test subset."""
    if cfg.dataset != FASHION:
        return prepare(cfg)
    ds = subsample(_full(FASHION), cfg.n_samples, cfg.seed)
    if n_test is not None and ds.X_test is not None and n_test < len(ds.X_test):
        keep = np.sort(np.random.default_rng(cfg.seed).permutation(len(ds.X_test))[:n_test])
        ds = Dataset(ds.X, ds.y, ds.name, ds.task, ds.class_names, ds.X_test[keep], ds.y_test[keep],
                     ds.image_shape, ds.meta)
    splits, scaler = split(ds, cfg.val_fraction, cfg.test_fraction, seed=cfg.seed, dtype=cfg.dtype)
    return Prepared(ds, splits, scaler)
