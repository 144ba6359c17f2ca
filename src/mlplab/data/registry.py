"""Datasets by name or path: ``load_dataset("circles")``, ``load_dataset("digits")``, ``load_dataset("x.csv")``.

Loaders register themselves in ``LOADERS``; each takes the keyword options of ``load_dataset``.
"""

from __future__ import annotations

from collections.abc import Callable

from mlplab.data import toy
from mlplab.data.dataset import Dataset
from mlplab.errors import DataError

LOADERS: dict[str, Callable[..., Dataset]] = {
    name: (lambda name=name, **kw: toy.make_toy(name, kw.get("n_samples") or 1000,
                                                 kw.get("noise", 0.1), kw.get("seed", 0)))
    for name in toy.TOY
}


def load_dataset(spec: str, **options) -> Dataset:
    """A dataset by registered name. Options: n_samples, noise, seed (toy sets), data_dir, label_column."""
    loader = LOADERS.get(spec)
    if loader is None:
        raise DataError(f"unknown dataset {spec!r}; known: {', '.join(sorted(LOADERS))}")
    return loader(**options)
