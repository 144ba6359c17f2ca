"""Datasets by name or path: ``load_dataset("circles")``, ``load_dataset("digits")``, ``load_dataset("x.csv")``.

Loaders register themselves in ``LOADERS``; each takes the keyword options of ``load_dataset``.
A spec that is not a registered name but looks like a file (a .csv/.tsv/.npz suffix, or a path that exists)
is read by ``mlplab.data.files``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from mlplab.data import files, real, toy
from mlplab.data.dataset import Dataset
from mlplab.errors import ConfigError, DataError

TASKS = ("auto", "classification", "regression")

LOADERS: dict[str, Callable[..., Dataset]] = {
    name: (lambda name=name, **kw: toy.make_toy(name, kw.get("n_samples") or 1000,
                                                 kw.get("noise", 0.1), kw.get("seed", 0)))
    for name in toy.TOY
}
LOADERS["digits"] = real.load_digits
for _name in real.IDX_DATASETS:
    LOADERS[_name] = partial(real.load_idx_dataset, _name)

# where each named dataset comes from, for `mlplab data list`
SOURCES: dict[str, str] = {
    **{name: "generated (toy 2-D set)" if name != "sine" else "generated (1-D regression)" for name in toy.TOY},
    "digits": "bundled with scikit-learn (8×8 images)",
    **{name: f"IDX files: {spec.description}" for name, spec in real.IDX_DATASETS.items()},
}


def is_file_spec(spec: str) -> bool:
    """Whether ``spec`` names a file rather than a registered dataset."""
    return (Path(spec).suffix.lower() in files.SUFFIXES or os.sep in spec or "/" in spec
            or (spec not in LOADERS and Path(spec).exists()))


def load_dataset(spec: str, **options: Any) -> Dataset:
    """A dataset by registered name, or a .csv/.npz file path.

    Options: n_samples (toy sets: size; others: a seeded stratified subsample of the training rows), noise,
    seed, data_dir and data_paths (IDX datasets: a folder, then a ``DataPaths``), label_column (tables: one
    name/index, or several "y1,y2"), task
    ("auto": what the data says; "classification" or "regression" forces it), categorical, impute and encoding
    (tables: see ``mlplab.data.encoding``).
    """
    task = options.pop("task", None) or "auto"
    if task not in TASKS:
        raise ConfigError(f"task must be one of {', '.join(TASKS)}; got {task!r}")
    loader = LOADERS.get(spec)
    if loader is not None:
        return with_task(loader(**options), task)
    if is_file_spec(spec):
        ds = files.load_file(spec, options.get("label_column"), task, options.get("categorical") or "auto",
                             options.get("impute") or "error", options.get("encoding"))
        return with_task(real.subsample(ds, options.get("n_samples"), options.get("seed", 0)), task)
    raise DataError(f"unknown dataset {spec!r}; known: {', '.join(sorted(LOADERS))}, or a path to a .csv, "
                    ".parquet, .feather or .npz file")


def with_task(ds: Dataset, task: str) -> Dataset:
    """``ds`` as the asked task: numeric class names become regression targets; anything else must match."""
    if task == "auto" or ds.task == task:
        return ds
    if task == "regression" and ds.class_names is not None:
        try:
            values = np.array([float(c) for c in ds.class_names])
        except ValueError:
            values = None
        if values is not None:
            y_test = values[ds.y_test].reshape(-1, 1) if ds.y_test is not None else None
            return replace(ds, y=values[ds.y].reshape(-1, 1), task="regression", class_names=None, y_test=y_test)
    raise DataError(f"dataset {ds.name!r} is a {ds.task} task; it cannot be used with --task {task}")
