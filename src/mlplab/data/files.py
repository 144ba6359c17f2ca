"""The user's own data: CSV (one row per example, one label column) and NPZ (arrays ``X`` and ``y``).

Every problem is a one-line DataError naming the file and, where it applies, the line, column and value.
Labels: text labels become classes named by their text (sorted); integer-valued numbers become classes
0..K−1 named by their value (sorted); numbers with a fractional part make a regression task.
NPZ files are opened with ``allow_pickle=False``: an object array is refused, never unpickled.
"""

from __future__ import annotations

import csv
import math
import os
import zipfile
from pathlib import Path

import numpy as np

from mlplab.data.dataset import Dataset
from mlplab.errors import DataError

SUFFIXES = {".csv": "csv", ".tsv": "csv", ".npz": "npz"}


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def label_columns(spec: str | int | list | tuple | None) -> list[str]:
    """The label column(s) asked for: None → [] (the last column), "y1,y2" or ["y1", "y2"] → both, 3 → ["3"]."""
    if spec is None:
        return []
    parts = spec if isinstance(spec, list | tuple) else str(spec).split(",")
    return [str(p).strip() for p in parts if str(p).strip() != ""]


def _label_encode(raw: list[str], path: Path, lines: list[int], column: str,
                  task: str = "auto") -> tuple[np.ndarray, str, list[str] | None]:
    """(y, task, class names) from the label texts of one CSV column (on ``lines``). Rules: the module docstring.

    task "regression" demands numbers (y (N, 1) float64); "classification" makes classes even of fractional
    numbers; "auto" decides as the module docstring says.
    """
    numbers = [_float(v) for v in raw]
    numeric = all(x is not None for x in numbers)
    if task == "regression" and not numeric:
        i = next(i for i, x in enumerate(numbers) if x is None)
        raise DataError(f"{path}: line {lines[i]}, {column}: target {raw[i]!r} is not a number "
                        "(regression needs numeric targets)")
    if numeric:
        arr = np.asarray(numbers, dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise DataError(f"{path}: line {lines[bad[0]]}: label {raw[bad[0]]!r} is not finite")
        if task == "regression" or (task == "auto" and np.any(arr != np.round(arr))):
            return arr.reshape(-1, 1), "regression", None
        values, y = np.unique(arr, return_inverse=True)
        names = [str(int(v)) if v == round(v) else repr(float(v)) for v in values]
    else:
        values, y = np.unique(np.asarray(raw, dtype=str), return_inverse=True)
        names = [str(v) for v in values]
    if len(names) < 2:
        raise DataError(f"{path}: every label is {names[0]!r}; classification needs at least two classes")
    return y.astype(np.int64).reshape(-1), "classification", names


# ---------------------------------------------------------------------------------------------------- CSV
def _delimiter(first_line: str, path: Path) -> str:
    if path.suffix.lower() == ".tsv":
        return "\t"
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _label_indices(spec: list[str], first: list[str], path: Path) -> tuple[list[int], bool | None]:
    """(indices of the label columns, whether a header is forced: True when named, None undecided)."""
    n = len(first)
    if not spec:
        return [n - 1], None
    names = [f.strip() for f in first]
    out, by_name = [], False
    for text in spec:
        try:
            idx = int(text)
        except ValueError:
            if text not in names:
                raise DataError(f"{path}: no column named {text!r} in the first line (columns: "
                                f"{', '.join(repr(x) for x in names)})") from None
            out.append(names.index(text))
            by_name = True
            continue
        if not -n <= idx < n:
            raise DataError(f"{path}: label column {idx} is out of range; the file has {n} columns "
                            f"(0..{n - 1}, or -1)")
        out.append(idx % n)
    if len(set(out)) != len(out):
        raise DataError(f"{path}: label column listed twice in {','.join(spec)!r}")
    if len(out) >= n:
        raise DataError(f"{path}: every column is a label column; no features left")
    return out, (True if by_name else None)


def load_csv(path: str | os.PathLike, label_column: str | int | list | None = None, task: str = "auto") -> Dataset:
    """A CSV file: numeric feature columns and label column(s) (by name or index; default the last).

    Several label columns (``"y1,y2"``) make a multi-target regression; ``task`` forces one (see _label_encode).
    """
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            text = f.read()
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not a UTF-8 text file (byte {e.start}); expected CSV") from None
    lines = text.splitlines()
    numbered = [(i + 1, line) for i, line in enumerate(lines) if line.strip()]
    if not numbered:
        raise DataError(f"{path}: empty file; expected CSV rows of features and a label")
    if "\0" in text:
        raise DataError(f"{path}: holds NUL bytes; not a CSV text file")
    delim = _delimiter(numbered[0][1], path)
    try:
        rows = [(no, [c.strip() for c in fields]) for no, line in numbered
                for fields in csv.reader([line], delimiter=delim)]
    except csv.Error as e:
        raise DataError(f"{path}: CSV syntax error: {e}") from None
    first_no, first = rows[0]
    if len(first) < 2:
        raise DataError(f"{path}: line {first_no} has a single column; need feature columns and a label column "
                        f"(separated by commas)")
    labels, header = _label_indices(label_columns(label_column), first, path)
    if header is None:
        features_numeric = all(_float(v) is not None for i, v in enumerate(first) if i not in labels)
        second = rows[1][1] if len(rows) > 1 else []
        label_switch = len(second) == len(first) and any(
            _float(first[i]) is None and _float(second[i]) is not None for i in labels)
        header = not features_numeric or label_switch
    names = first if header else [str(i) for i in range(len(first))]
    where = (lambda i: f"column {names[i]!r}") if header else (lambda i: f"column {i}")
    data = rows[1:] if header else rows
    if not data:
        raise DataError(f"{path}: header only, no data rows")
    width = len(first)
    feats = [i for i in range(width) if i not in labels]
    X = np.empty((len(data), len(feats)), dtype=np.float64)
    raw_labels: list[list[str]] = [[] for _ in labels]
    for r, (no, fields) in enumerate(data):
        if len(fields) != width:
            raise DataError(f"{path}: line {no} has {len(fields)} fields; expected {width} (as on line {first_no})")
        for j, i in enumerate(feats):
            value = fields[i]
            x = _float(value)
            if x is None:
                what = "an empty field" if value == "" else f"{value!r} is not a number"
                raise DataError(f"{path}: line {no}, {where(i)}: {what}")
            if not math.isfinite(x):
                raise DataError(f"{path}: line {no}, {where(i)}: value {value!r} is not finite")
            X[r, j] = x
        for k, i in enumerate(labels):
            if fields[i] == "":
                raise DataError(f"{path}: line {no}: empty label in {where(i)}")
            raw_labels[k].append(fields[i])
    y, task, classes = _labels(raw_labels, path, [no for no, _ in data], [where(i) for i in labels], task)
    return Dataset(X, y, path.stem, task=task, class_names=classes,
                   meta={"source": str(path), "features": [names[i] for i in feats],
                         "label": ",".join(names[i] for i in labels), "targets": [names[i] for i in labels]})


def _labels(raw: list[list[str]], path: Path, lines: list[int], columns: list[str],
            task: str) -> tuple[np.ndarray, str, list[str] | None]:
    """One label column: classes or a target; several: a multi-target regression (N, k)."""
    if len(raw) == 1:
        return _label_encode(raw[0], path, lines, columns[0], task)
    if task == "classification":
        raise DataError(f"{path}: {len(raw)} label columns; classification takes one (several make a regression)")
    ys = [_label_encode(r, path, lines, c, "regression")[0] for r, c in zip(raw, columns, strict=True)]
    return np.hstack(ys), "regression", None


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


def _xy(npz, x_key: str, y_key: str, path: Path) -> tuple[np.ndarray, np.ndarray, tuple[int, ...] | None]:
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


def _npz_labels(path: Path, y_raw: np.ndarray, y_test_raw: np.ndarray | None, names_given: list[str] | None):
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


def load_file(path: str | os.PathLike, label_column: str | int | list | None = None, task: str = "auto") -> Dataset:
    """A user data file by its suffix: .csv/.tsv or .npz."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; expected a .csv or .npz file")
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise DataError(f"{path}: unsupported file type {path.suffix or '(none)'!r}; use .csv or .npz")
    if kind == "npz":
        return load_npz(path)
    return load_csv(path, label_column, task)
