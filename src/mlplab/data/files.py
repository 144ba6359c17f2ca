"""The user's own data: tables (CSV, Parquet, Feather/Arrow: one row per example, label column(s)) and NPZ
(arrays ``X`` and ``y``).

Every problem is a one-line DataError naming the file and, where it applies, the line, column and value.
Tables are read by ``mlplab.data.tables`` (Arrow's C++ CSV reader) and encoded by ``mlplab.data.encoding``.
Labels: text labels become classes named by their text (sorted); integer-valued numbers become classes
0..K−1 named by their value (sorted); numbers with a fractional part make a regression task.
NPZ files are opened with ``allow_pickle=False``: an object array is refused, never unpickled.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np

from mlplab.data.dataset import Dataset
from mlplab.data.encoding import CATEGORICAL, IMPUTE, TableEncoding, encode_labels
from mlplab.data.tables import TABLE_SUFFIXES, RawTable, read_table
from mlplab.errors import ConfigError, DataError

SUFFIXES = {**{suffix: "table" for suffix in TABLE_SUFFIXES if suffix != ".txt"}, ".npz": "npz"}


def label_columns(spec: str | int | list | tuple | None) -> list[str]:
    """The label column(s) asked for: None → [] (the last column), "y1,y2" or ["y1", "y2"] → both, 3 → ["3"]."""
    if spec is None:
        return []
    parts = spec if isinstance(spec, list | tuple) else str(spec).split(",")
    return [str(p).strip() for p in parts if str(p).strip() != ""]


def _is_index(text: str) -> bool:
    try:
        int(text)
    except ValueError:
        return False
    return True


def label_indices(spec: list[str], table: RawTable) -> list[int]:
    """Indices of the label columns named (header name) or numbered (0-based, negative from the end)."""
    n = len(table.names)
    if not spec:
        return [n - 1]
    out = []
    for text in spec:
        if _is_index(text):
            idx = int(text)
            if not -n <= idx < n:
                raise DataError(f"{table.path}: label column {idx} is out of range; the file has {n} columns "
                                f"(0..{n - 1}, or -1)")
            out.append(idx % n)
        elif text in table.names:
            out.append(table.names.index(text))
        else:
            where = "in the first line" if table.kind == "csv" else "in the table"
            raise DataError(f"{table.path}: no column named {text!r} {where} (columns: "
                            f"{', '.join(repr(x) for x in table.names)})")
    if len(set(out)) != len(out):
        raise DataError(f"{table.path}: label column listed twice in {','.join(spec)!r}")
    if len(out) >= n:
        raise DataError(f"{table.path}: every column is a label column; no features left")
    return out


def load_table(path: str | os.PathLike, label_column: str | int | list | None = None, task: str = "auto",
               categorical: str = "auto", impute: str = "error", encoding: TableEncoding | None = None) -> Dataset:
    """A CSV, Parquet or Feather file: feature columns and label column(s) (by name or index; default the last).

    ``categorical`` decides which text columns are one-hot encoded; ``impute`` other than "error" leaves
    missing cells as NaN for the split to fill (see ``mlplab.data.encoding``). ``encoding``: apply a stored
    encoding (a trained model's) instead of fitting one; its columns are found by name.
    """
    path = Path(path)
    if categorical not in CATEGORICAL:
        raise ConfigError(f"categorical must be one of {', '.join(CATEGORICAL)}; got {categorical!r}")
    if impute not in IMPUTE:
        raise ConfigError(f"impute must be one of {', '.join(IMPUTE)}; got {impute!r}")
    spec = label_columns(label_column)
    table = read_table(path, labels_by_name=[t for t in spec if not _is_index(t)])
    if len(table.names) < 2:
        where = f"line {table.first_line}" if table.kind == "csv" else "the table"
        raise DataError(f"{path}: {where} has a single column; need feature columns and a label column "
                        f"(separated by commas)")
    labels = label_indices(spec, table)
    if table.n_rows == 0:
        raise DataError(f"{path}: header only, no data rows")
    feats = [i for i in range(len(table.names)) if i not in labels]
    if encoding is None:
        encoding = TableEncoding.fit(table, feats, categorical)
    else:
        missing = [n for n in encoding.names if n not in table.names]
        if missing:
            raise DataError(f"{path}: no column {', '.join(map(repr, missing))}, which the model takes")
        feats = [table.names.index(n) for n in encoding.names]
    X = encoding.encode(table, feats, missing_ok=impute != "error")
    y, task, classes = encode_labels(table, labels, task)
    names = table.names
    return Dataset(X, y, path.stem, task=task, class_names=classes,
                   meta={"source": str(path), "features": encoding.feature_names, "encoding": encoding.as_json(),
                         "label": ",".join(names[i] for i in labels), "targets": [names[i] for i in labels]})


load_csv = load_table  # the name the CSV loader always had


# ---------------------------------------------------------------------------------------------------- NPZ
def _numeric(arr: np.ndarray, path: Path, key: str) -> np.ndarray:
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{path}: array {key!r} has type {arr.dtype}; expected numbers")
    arr = arr.astype(np.float64) if arr.dtype.kind in "bf" and arr.dtype != np.float64 else arr
    if arr.dtype.kind == "f":
        bad = np.argwhere(~np.isfinite(arr))
        if bad.size:
            where = ", ".join(map(str, bad[0]))
            raise DataError(f"{path}: array {key!r} holds NaN or inf (first at index [{where}])")
    return arr


def _xy(npz: np.lib.npyio.NpzFile, x_key: str, y_key: str,
        path: Path) -> tuple[np.ndarray, np.ndarray, tuple[int, ...] | None]:
    X, y = npz[x_key], npz[y_key]
    X = _numeric(X, path, x_key)
    if X.ndim < 2:
        raise DataError(f"{path}: {x_key!r} has shape {X.shape}; expected (examples, features)")
    image_shape = tuple(X.shape[1:]) if X.ndim > 2 else None
    X = X.reshape(len(X), -1)
    if len(X) == 0 or X.shape[1] == 0:
        raise DataError(f"{path}: {x_key!r} has shape {X.shape}; it holds no examples or no features")
    if y.ndim == 0 or len(y) != len(X):
        raise DataError(f"{path}: {x_key!r} has {len(X)} rows but {y_key!r} has "
                        f"{'no' if y.ndim == 0 else len(y)} entries")
    return X, y, image_shape


def load_npz(path: str | os.PathLike) -> Dataset:
    """An NPZ archive with ``X`` (N, features…) and ``y`` (N,); optionally ``X_test``/``y_test`` and ``class_names``.

    Opened with ``allow_pickle=False``: object arrays are refused, never unpickled.
    """
    path = Path(path)
    try:
        loaded = np.load(path, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise DataError(f"{path}: a single .npy array, not an .npz archive holding 'X' and 'y'")
        with loaded as npz:
            keys = set(npz.files)
            missing = [k for k in ("X", "y") if k not in keys]
            if missing:
                found = ", ".join(sorted(keys)) or "nothing"
                raise DataError(f"{path}: no array {' or '.join(map(repr, missing))} (found: {found}); "
                                "expected arrays 'X' and 'y'")
            X, y_raw, image_shape = _xy(npz, "X", "y", path)
            test = None
            if "X_test" in keys and "y_test" in keys:
                test = _xy(npz, "X_test", "y_test", path)
                if test[0].shape[1] != X.shape[1]:
                    raise DataError(f"{path}: 'X_test' has {test[0].shape[1]} features, 'X' has {X.shape[1]}")
            names_given = [str(v) for v in npz["class_names"]] if "class_names" in keys else None
    except DataError:
        raise
    except ValueError as e:
        text = str(e)
        if "pickle" in text.lower():
            raise DataError(f"{path}: holds pickled Python objects; refused (mlplab never unpickles data)") from None
        raise DataError(f"{path}: not a readable NPZ archive ({' '.join(text.split())})") from None
    except (zipfile.BadZipFile, EOFError, OSError) as e:
        if isinstance(e, FileNotFoundError):
            raise DataError(f"{path}: file not found") from None
        raise DataError(f"{path}: not a readable NPZ archive ({' '.join(str(e).split())})") from None
    y, task, classes, y_test = _npz_labels(path, y_raw, test[1] if test else None, names_given)
    return Dataset(X, y, path.stem, task=task, class_names=classes,
                   X_test=test[0] if test else None, y_test=y_test, image_shape=image_shape,
                   meta={"source": str(path)})


def _npz_labels(path: Path, y_raw: np.ndarray, y_test_raw: np.ndarray | None, names_given: list[str] | None
                ) -> tuple[np.ndarray, str, list[str] | None, np.ndarray | None]:
    """Encode y (and y_test with the same classes): see the module docstring for the rules."""
    if y_raw.dtype.kind not in "biufUS":
        raise DataError(f"{path}: array 'y' has type {y_raw.dtype}; expected numbers or text")
    if y_raw.dtype.kind == "f" and y_raw.ndim == 2 and y_raw.shape[1] > 1:  # multi-output regression
        y = _numeric(y_raw, path, "y")
        yt = _numeric(y_test_raw, path, "y_test") if y_test_raw is not None else None
        return y, "regression", None, yt
    if y_raw.ndim == 2 and y_raw.shape[1] == 1:
        y_raw = y_raw[:, 0]
        y_test_raw = y_test_raw.reshape(-1) if y_test_raw is not None else None
    if y_raw.ndim != 1:
        raise DataError(f"{path}: 'y' has shape {y_raw.shape}; expected (examples,) labels")
    if y_raw.dtype.kind in "US":
        y_raw = y_raw.astype(str)
    elif y_raw.dtype.kind == "f":
        _numeric(y_raw, path, "y")
    both = y_raw if y_test_raw is None else np.concatenate([y_raw, y_test_raw.astype(y_raw.dtype)])
    if y_raw.dtype.kind == "f" and np.any(both != np.round(both)):
        yt = _numeric(y_test_raw, path, "y_test").reshape(-1, 1) if y_test_raw is not None else None
        return y_raw.reshape(-1, 1).astype(np.float64), "regression", None, yt
    if names_given is not None and y_raw.dtype.kind in "iu":
        k = len(names_given)
        if both.min() < 0 or both.max() >= k:
            raise DataError(f"{path}: labels must lie in 0..{k - 1} to match 'class_names'; "
                            f"found {int(both.min())}..{int(both.max())}")
        if len(np.unique(y_raw)) < 2:
            raise DataError(f"{path}: every label in 'y' is {int(y_raw[0])}; classification needs at least two classes")
        yt = y_test_raw.astype(np.int64) if y_test_raw is not None else None
        return y_raw.astype(np.int64), "classification", names_given, yt
    values, codes = np.unique(both, return_inverse=True)
    codes = codes.reshape(-1).astype(np.int64)
    names = [str(int(v)) if y_raw.dtype.kind in "biuf" and y_raw.dtype.kind != "b" else str(v) for v in values]
    if len(np.unique(codes[: len(y_raw)])) < 2:
        raise DataError(f"{path}: every label in 'y' is {names[codes[0]]!r}; classification needs at least two classes")
    y, yt = codes[: len(y_raw)], (codes[len(y_raw):] if y_test_raw is not None else None)
    return y, "classification", names, yt


def load_file(path: str | os.PathLike, label_column: str | int | list | None = None, task: str = "auto",
              categorical: str = "auto", impute: str = "error", encoding: TableEncoding | None = None) -> Dataset:
    """A user data file by its suffix: a table (.csv/.tsv, .parquet, .feather/.arrow) or .npz."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; expected a .csv, .parquet, .feather or .npz file")
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"{path}: unsupported file type {path.suffix or '(none)'!r}; use .csv, .parquet, "
                        ".feather/.arrow or .npz")
    if kind == "npz":
        return load_npz(path)
    return load_table(path, label_column, task, categorical, impute, encoding)
