"""Real datasets by name: scikit-learn's 8×8 digits, and MNIST / Fashion-MNIST from IDX files on disk.

IDX files are looked for, in order, in: the ``data_dir`` option (CLI ``--data-dir``), the folders of a
``DataPaths`` (the CLI: ``$MLPLAB_DATA``), the folder a Debian package installs them in
(``/usr/share/datasets/NAME``), and the ``DataPaths`` cache (default ``~/.cache/mlplab/NAME``; the CLI:
``$XDG_CACHE_HOME/mlplab/NAME``) where ``mlplab data download`` puts them. In each folder both ``DIR`` and
``DIR/NAME`` are tried. This module reads no environment variable; ``mlplab.cli.environment`` does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mlplab.data.dataset import Dataset
from mlplab.data.idx import read_idx
from mlplab.errors import ConfigError, DataError


@dataclass(frozen=True)
class IdxSpec:
    """A named IDX dataset: its class names, the folder a system package installs it in, a description."""

    name: str
    class_names: tuple[str, ...]
    system_dir: str
    description: str


IDX_DATASETS: dict[str, IdxSpec] = {
    "mnist": IdxSpec("mnist", tuple(str(d) for d in range(10)), "/usr/share/datasets/mnist",
                     "handwritten digits, 28×28 grey, 60k train + 10k test"),
    "fashion-mnist": IdxSpec(
        "fashion-mnist",
        ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"),
        "/usr/share/datasets/fashion-mnist",
        "Zalando clothing images, 28×28 grey, 60k train + 10k test",
    ),
}

# the four files, by role; each may be gzipped (.gz) or raw, and some mirrors write "idx3" after a dot
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


def _variants(stem: str) -> list[str]:
    dotted = stem.replace("-idx", ".idx")
    return [stem + ".gz", stem, dotted + ".gz", dotted]


def default_cache() -> Path:
    """``~/.cache/mlplab``: the download cache when the caller names none (the CLI honours $XDG_CACHE_HOME)."""
    return Path.home() / ".cache" / "mlplab"


@dataclass(frozen=True)
class DataPaths:
    """Where named IDX datasets are looked for besides an explicit ``data_dir``, and where downloads go.

    ``folders`` are searched after ``data_dir`` and before the system folder; ``cache`` last. The defaults read
    no environment variable: the CLI builds its DataPaths from $MLPLAB_DATA and $XDG_CACHE_HOME and passes it in.
    """

    folders: tuple[Path, ...] = ()
    cache: Path = field(default_factory=default_cache)

    def cache_dir(self, name: str | None = None) -> Path:
        """The cache folder, or dataset ``name``'s folder in it (``CACHE/NAME``)."""
        return self.cache / name if name else self.cache


def search_dirs(name: str, data_dir: str | os.PathLike | None = None, paths: DataPaths | None = None) -> list[Path]:
    """Every folder looked in for ``name``'s files, in order (each base folder, then its NAME subfolder)."""
    spec = IDX_DATASETS[name]
    paths = paths or DataPaths()
    bases = [Path(data_dir)] if data_dir else []
    bases += [*paths.folders, Path(spec.system_dir), paths.cache_dir(name)]
    dirs: list[Path] = []
    for base in bases:
        for d in (base, base / name):
            if d not in dirs:
                dirs.append(d)
    return dirs


def _files_in(folder: Path) -> dict[str, Path]:
    found = {}
    for role, stem in IDX_FILES.items():
        for candidate in _variants(stem):
            if (folder / candidate).is_file():
                found[role] = folder / candidate
                break
    return found


def find_idx_files(name: str, data_dir: str | os.PathLike | None = None,
                   paths: DataPaths | None = None) -> tuple[dict[str, Path], list[Path]]:
    """(the four files from the first folder that holds them, the folders searched); ({}, searched) if none.

    A folder holding some but not all four files is an error: it names what is missing.
    """
    searched = search_dirs(name, data_dir, paths)
    for folder in searched:
        found = _files_in(folder)
        if len(found) == len(IDX_FILES):
            return found, searched
        if found:
            missing = ", ".join(IDX_FILES[r] + "[.gz]" for r in IDX_FILES if r not in found)
            raise DataError(f"{folder}: incomplete {name} files; missing {missing}")
    return {}, searched


def _labels(path: Path, n_classes: int) -> np.ndarray:
    y = read_idx(path)
    if y.ndim != 1 or y.dtype.kind not in "iu":
        raise DataError(f"{path}: expected a 1-D integer IDX label file; got shape {y.shape}, type {y.dtype}")
    bad = np.flatnonzero(y >= n_classes) if y.dtype.kind == "u" else np.flatnonzero((y < 0) | (y >= n_classes))
    if bad.size:
        raise DataError(f"{path}: label {int(y[bad[0]])} at index {int(bad[0])} is outside 0..{n_classes - 1}")
    return y.astype(np.int64)


def _images(path: Path) -> np.ndarray:
    X = read_idx(path)
    if X.ndim < 2:
        raise DataError(f"{path}: expected an IDX image file with at least 2 dimensions; got shape {X.shape}")
    if X.shape[0] == 0:
        raise DataError(f"{path}: holds no images")
    return X


def load_idx_pair(images: Path, labels: Path, n_classes: int) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """(X flattened (N, features), y int64, image shape) from one images file and its labels file."""
    X, y = _images(images), _labels(labels, n_classes)
    if len(X) != len(y):
        raise DataError(f"{labels}: {len(y)} labels for {len(X)} images in {images.name}")
    return X.reshape(len(X), -1), y, tuple(X.shape[1:])


def subsample(ds: Dataset, n_samples: int | None, seed: int = 0) -> Dataset:
    """Keep ``n_samples`` training rows, chosen deterministically (seeded; stratified by class), in file order.

    Each class keeps its share of rows (largest remainders get the spare ones); the test set is untouched.
    """
    if n_samples is None or n_samples == len(ds.X):
        return ds
    n = len(ds.X)
    if n_samples < 1 or n_samples > n:
        raise ConfigError(f"n_samples must be between 1 and the {n} training rows of {ds.name!r}; got {n_samples}")
    rng = np.random.default_rng(seed)
    if ds.task == "classification":
        classes, counts = np.unique(ds.y, return_counts=True)
        share = counts * (n_samples / n)
        take = np.floor(share).astype(np.int64)
        spare = n_samples - int(take.sum())
        take[np.argsort(-(share - take), kind="stable")[:spare]] += 1
        picks = [rng.permutation(np.flatnonzero(ds.y == c))[:k] for c, k in zip(classes, take, strict=True)]
        idx = np.sort(np.concatenate(picks))
    else:
        idx = np.sort(rng.permutation(n)[:n_samples])
    return Dataset(ds.X[idx], ds.y[idx], ds.name, ds.task, ds.class_names, ds.X_test, ds.y_test, ds.image_shape,
                   {**ds.meta, "subsample": {"n_samples": n_samples, "seed": seed, "of": n}})


def missing_message(name: str, searched: list[Path]) -> str:
    where = ", ".join(str(d) for d in searched)
    return (f"dataset {name!r} not found (looked for train-images-idx3-ubyte[.gz] and the other three files in: "
            f"{where}); run `mlplab data download {name}` or pass --data-dir DIR")


def load_idx_dataset(name: str, data_dir: str | os.PathLike | None = None, n_samples: int | None = None,
                     seed: int = 0, data_paths: DataPaths | None = None, **_ignored: object) -> Dataset:
    """MNIST or Fashion-MNIST: X uint8 (60000, 784) and y int64, with the 10k test set as X_test/y_test.

    Looked for in ``data_dir``, then ``data_paths`` (default ``DataPaths()``: the system folder, ~/.cache/mlplab).
    """
    spec = IDX_DATASETS[name]
    files, searched = find_idx_files(name, data_dir, data_paths)
    if not files:
        raise DataError(missing_message(name, searched))
    k = len(spec.class_names)
    X, y, shape = load_idx_pair(files["train_images"], files["train_labels"], k)
    X_test, y_test, test_shape = load_idx_pair(files["test_images"], files["test_labels"], k)
    if test_shape != shape:
        raise DataError(f"{files['test_images']}: test images are {test_shape}, training images {shape}")
    ds = Dataset(X, y, name, class_names=list(spec.class_names), X_test=X_test, y_test=y_test, image_shape=shape,
                 meta={"source": str(files["train_images"].parent)})
    return subsample(ds, n_samples, seed)


def load_digits(n_samples: int | None = None, seed: int = 0, **_ignored: object) -> Dataset:
    """scikit-learn's bundled 8×8 handwritten digits: 1797 images, 10 classes, pixel values 0..16 (uint8)."""
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    X = bunch.data.astype(np.uint8)
    ds = Dataset(X, bunch.target.astype(np.int64), "digits", class_names=[str(d) for d in range(10)],
                 image_shape=(8, 8), meta={"source": "scikit-learn (bundled)"})
    return subsample(ds, n_samples, seed)
