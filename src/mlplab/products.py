"""Inference's matrix and dot products: compiled loops with one fixed order of operations, and no BLAS.

OpenBLAS results change in the last bits with its thread count (its K-blocking and edge tiles follow the
threads), and that count is process-wide: a training thread's limit (``threadpoolctl``) would change what
another thread's ``MLP.forward`` returns. These loops use no BLAS and no threads. Each output element is summed
over k in ascending order, the same for every row, so neither a thread count anywhere nor the other rows of the
batch change a result's bits. They release the GIL, so inference threads run in parallel.

numba compiles them on first use (cached on disk): ``import mlplab`` does not load numba.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np


def _matmul_rows(x: Any, W: Any, out: Any) -> None:  # pragma: no cover - compiled by numba
    """out = x W, four rows at a time (each W row is read once per four rows); per element: k ascending."""
    M, K = x.shape
    N = W.shape[1]
    i = 0
    while i + 4 <= M:
        o0, o1, o2, o3 = out[i], out[i + 1], out[i + 2], out[i + 3]
        o0[:] = 0
        o1[:] = 0
        o2[:] = 0
        o3[:] = 0
        for k in range(K):
            a0, a1, a2, a3 = x[i, k], x[i + 1, k], x[i + 2, k], x[i + 3, k]
            w = W[k]
            for n in range(N):
                o0[n] += a0 * w[n]
                o1[n] += a1 * w[n]
                o2[n] += a2 * w[n]
                o3[n] += a3 * w[n]
        i += 4
    while i < M:  # the last rows, one at a time: the same operations in the same order
        o = out[i]
        o[:] = 0
        for k in range(K):
            a = x[i, k]
            w = W[k]
            for n in range(N):
                o[n] += a * w[n]
        i += 1


def _dot_flat(a: Any, b: Any) -> float:  # pragma: no cover - compiled by numba
    """Σ a_i b_i in ascending i, accumulated in float64."""
    s = 0.0
    for i in range(a.size):
        s += np.float64(a[i]) * np.float64(b[i])
    return s


@functools.cache
def _compiled() -> tuple[Callable[..., None], Callable[..., float]]:
    from numba import njit  # loaded on the first product, not by `import mlplab`

    jit = njit(cache=True, nogil=True)  # no fastmath: the order written above is the order computed
    return jit(_matmul_rows), jit(_dot_flat)


def matmul(x: np.ndarray, W: np.ndarray, *, out: np.ndarray) -> np.ndarray:
    """out (B, n_out) ← x (B, n_in) W (n_in, n_out), in a fixed order of operations; returns out."""
    if x.shape[0] and x.shape[1] == 0:
        out.fill(0)
    elif x.shape[0]:
        _compiled()[0](x, W, out)
    return out


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """Σ a_i b_i over two arrays of one shape (any number of dimensions), in a fixed order, as a float."""
    return _compiled()[1](np.ravel(a), np.ravel(b))
