"""Test helper: write small IDX files (and complete MNIST-style sets of four) from NumPy arrays."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np

CODES = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype("i2"): 0x0B, np.dtype("i4"): 0x0C,
         np.dtype("f4"): 0x0D, np.dtype("f8"): 0x0E}
NAMES = {"train_images": "train-images-idx3-ubyte", "train_labels": "train-labels-idx1-ubyte",
         "test_images": "t10k-images-idx3-ubyte", "test_labels": "t10k-labels-idx1-ubyte"}


def idx_bytes(arr: np.ndarray) -> bytes:
    """The IDX encoding of ``arr``: magic (0, 0, type code, ndim), big-endian sizes, big-endian data."""
    arr = np.asarray(arr)
    code = CODES[arr.dtype.newbyteorder("=")]
    head = bytes([0, 0, code, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


def write_idx(path: Path, arr_or_bytes, gz: bool = True) -> Path:
    data = arr_or_bytes if isinstance(arr_or_bytes, bytes) else idx_bytes(arr_or_bytes)
    path = Path(str(path) + ".gz") if gz else Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def write_set(folder: Path, n_train: int = 40, n_test: int = 20, shape=(4, 4), seed: int = 0,
              gz: bool = True) -> dict[str, Path]:
    """A complete tiny MNIST-style set (10 classes, every class present) in ``folder``; returns the paths."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
        "train_labels": (np.arange(n_train) % 10).astype(np.uint8),
        "test_images": rng.integers(0, 256, (n_test, *shape), dtype=np.uint8),
        "test_labels": (np.arange(n_test) % 10).astype(np.uint8),
    }
    return {role: write_idx(Path(folder) / NAMES[role], arr, gz) for role, arr in arrays.items()}
