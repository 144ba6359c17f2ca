"""Run a sweep's independent points in parallel: joblib locally, or a Dask cluster through joblib's Dask backend.

    results = pmap(train_point, [dict(lr=0.1), dict(lr=1.0)], jobs=2)
    with on_scheduler("tcp://10.0.0.5:8786"):      # the same sweep, on a cluster
        results = pmap(train_point, points, jobs=2)

Every point is a module-level function of keyword arguments returning plain data; each point seeds its
own randomness, so the results do not depend on where or in which order the points run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

import joblib

from mlplab.errors import ConfigError

_dask_depth = 0  # > 0 while an on_scheduler block is active


@contextlib.contextmanager
def on_scheduler(address: str | None, timeout: str = "10s") -> Iterator[object | None]:
    """Route every ``pmap`` inside the block to the Dask scheduler at ``address`` (None: do nothing)."""
    global _dask_depth
    if not address:
        yield None
        return
    try:
        from dask.distributed import Client
    except ImportError:  # pragma: no cover - depends on the install
        raise ConfigError("--scheduler needs dask.distributed: pip install 'mlplab[cluster]'") from None
    try:
        client = Client(address, timeout=timeout)
    except (OSError, TimeoutError) as e:
        raise ConfigError(f"cannot reach the Dask scheduler at {address}: {e}") from None
    _dask_depth += 1
    try:
        with joblib.parallel_config(backend="dask"):
            yield client
    finally:
        _dask_depth -= 1
        client.close()


@contextlib.contextmanager
def blas_threads(n: int | None = 1) -> Iterator[None]:
    """Limit BLAS to ``n`` threads inside the block (None: leave it). The experiments' matrices are small: one
    thread per process avoids oversubscribing the cores, and ``--jobs`` supplies the parallelism."""
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=n, user_api="blas"):
        yield


def pmap(fn: Callable[..., object], points: list[dict], jobs: int = 1) -> list:
    """[fn(**p) for p in points], in order; on ``jobs`` processes, or on Dask inside ``on_scheduler``."""
    if _dask_depth:
        return joblib.Parallel(n_jobs=-1)(joblib.delayed(fn)(**p) for p in points)
    if jobs == 1 or len(points) <= 1:
        return [fn(**p) for p in points]
    return joblib.Parallel(n_jobs=jobs)(joblib.delayed(fn)(**p) for p in points)
