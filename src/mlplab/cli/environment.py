"""The environment variables the library's behaviour depends on, read here, once, at the command line's edge.

The library itself reads none of them (``tests/test_layering.py`` checks it): the commands pass these settings
in as parameters (``runner.run(..., engine=, threads=, data_paths=)`` → ``Trainer(engine=, threads=)``,
``load_dataset(..., data_paths=)``, ``download(..., dest=)``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlplab.data import DataPaths
from mlplab.errors import ConfigError
from mlplab.train import ENGINES

ENGINE_ENV = "MLPLAB_ENGINE"  # "numpy": always the NumPy engine; "auto" (default): compiled kernels where they apply
THREADS_ENV = "MLPLAB_THREADS"  # BLAS threads while training; unset: 1 below 64 rows, the library default above
DATA_ENV = "MLPLAB_DATA"  # a folder of IDX datasets, looked in after --data-dir
CACHE_ENV = "XDG_CACHE_HOME"  # the user cache (downloads go to $XDG_CACHE_HOME/mlplab/NAME); unset: ~/.cache
DEBUG_ENV = "MLPLAB_DEBUG"  # set: an error shows its traceback instead of one line


@dataclass(frozen=True)
class EngineSettings:
    """How to train, as opposed to what to train (RunConfig): the engine and the BLAS threads."""

    engine: str = "auto"
    threads: int | None = None


def engine_settings(environ: Mapping[str, str] = os.environ) -> EngineSettings:
    """$MLPLAB_ENGINE and $MLPLAB_THREADS, checked; a ConfigError names a bad value."""
    engine = environ.get(ENGINE_ENV, "").strip().lower() or "auto"
    if engine not in ENGINES:
        raise ConfigError(f"${ENGINE_ENV} must be {' or '.join(ENGINES)}; got {environ[ENGINE_ENV]!r}")
    text = environ.get(THREADS_ENV, "").strip()
    try:
        threads = int(text) if text else None
    except ValueError:
        threads = 0
    if threads is not None and threads < 1:
        raise ConfigError(f"${THREADS_ENV} must be a whole number ≥ 1; got {environ[THREADS_ENV]!r}")
    return EngineSettings(engine, threads)


def data_paths(environ: Mapping[str, str] = os.environ) -> DataPaths:
    """Where IDX datasets are looked for after --data-dir ($MLPLAB_DATA) and where downloads go ($XDG_CACHE_HOME)."""
    folders = (Path(environ[DATA_ENV]),) if environ.get(DATA_ENV) else ()
    cache = environ.get(CACHE_ENV)
    return DataPaths(folders, Path(cache) / "mlplab") if cache else DataPaths(folders)


def debug(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether $MLPLAB_DEBUG asks for tracebacks."""
    return bool(environ.get(DEBUG_ENV))
