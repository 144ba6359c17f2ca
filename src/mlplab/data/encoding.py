"""A table's columns as the network's inputs and targets: numbers as they are, text columns one-hot, missing
cells filled with training statistics.

- ``TableEncoding``: per input column, numeric or categorical with its sorted categories. Fitted on the whole
  training file (the vocabulary, never the targets), stored in the model file, applied unchanged by predict
  and evaluate. A category the encoding does not know is a one-line error naming file, line, column, value.
- ``--categorical``: ``auto`` (default) one-hot encodes a column in which no cell is a number, so a typo in a
  numeric column ("four") stays an error; ``onehot`` encodes every column holding any text (numbers become
  categories too); ``error`` refuses text cells, as mlplab did before.
- ``Imputer``: ``--impute mean|median`` fills missing cells (empty, NA, N/A, NaN, NULL, None) per encoded
  column with the training split's mean or median; a missing categorical cell is NaN in each of its one-hot
  columns, so "mean" fills it with the categories' training frequencies. ``error`` (default) refuses them.
- Labels: text or integer-valued numbers are classes (sorted), fractional numbers or ``task="regression"``
  continuous targets; several label columns are a multi-target regression.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mlplab.data.tables import (
    BLOCK_ROWS,
    CellError,
    RawTable,
    array_values,
    as_float,
    as_text,
    first,
    is_number,
    is_numeric_type,
    null_mask,
    numeric_mask,
    text_to_float,
)
from mlplab.errors import ConfigError, DataError

CATEGORICAL = ("auto", "onehot", "error")
IMPUTE = ("error", "mean", "median")
MAX_CATEGORIES = 1000  # a "categorical" column with more distinct texts is almost surely not one


@dataclass
class ColumnCode:
    """One input column: numeric (``categories`` None) or categorical, one-hot over ``categories``."""

    name: str
    categories: list[str] | None = None

    @property
    def width(self) -> int:
        return 1 if self.categories is None else len(self.categories)

    def feature_names(self) -> list[str]:
        return [self.name] if self.categories is None else [f"{self.name}={c}" for c in self.categories]


@dataclass
class TableEncoding:
    """How the input columns of a table become the n_x features (see the module docstring)."""

    columns: list[ColumnCode]

    @property
    def n_features(self) -> int:
        return sum(c.width for c in self.columns)

    @property
    def feature_names(self) -> list[str]:
        return [n for c in self.columns for n in c.feature_names()]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def as_json(self) -> dict:
        return {"columns": [{"name": c.name, "categories": c.categories} for c in self.columns]}

    @classmethod
    def from_json(cls, d: object, n_x: int, what: str) -> TableEncoding:
        """Validate a stored encoding against the network's n_x inputs; a ValueError names the problem."""
        cols = d.get("columns") if isinstance(d, dict) else None
        if not isinstance(cols, list) or not cols:
            raise ValueError(f"{what}: encoding must list the input columns")
        out = []
        for c in cols:
            cats = c.get("categories") if isinstance(c, dict) else None
            if not (isinstance(c, dict) and isinstance(c.get("name"), str)
                    and (cats is None or (isinstance(cats, list) and cats and all(isinstance(x, str) for x in cats)
                                          and len(set(cats)) == len(cats)))):
                raise ValueError(f"{what}: invalid encoding column {c!r:.80}")
            out.append(ColumnCode(c["name"], cats))
        enc = cls(out)
        if enc.n_features != n_x:
            raise ValueError(f"{what}: encoding makes {enc.n_features} features but the network takes {n_x}")
        return enc

    @classmethod
    def numeric(cls, names: list[str]) -> TableEncoding:
        return cls([ColumnCode(n) for n in names])

    @classmethod
    def fit(cls, table: RawTable, cols: list[int], categorical: str = "auto") -> TableEncoding:
        """Decide each column's code from its cells (see the module docstring for ``categorical``)."""
        if categorical not in CATEGORICAL:
            raise ConfigError(f"categorical must be one of {', '.join(CATEGORICAL)}; got {categorical!r}")
        codes = []
        for i in cols:
            cats = None
            col = table.columns[i]
            if col is not None and not is_numeric_type(col.type) and categorical != "error":
                text = as_text(col)
                present = ~null_mask(text)
                numbers = numeric_mask(text)
                text_cells = present & ~numbers
                if text_cells.any() and (categorical == "onehot" or not (numbers & present).any()):
                    cats = sorted(pc.unique(text).drop_null().to_pylist())
                    if len(cats) > MAX_CATEGORIES:
                        raise table.fail(int(np.argmax(text_cells)), i,
                                         f"{{value!r}} is not a number, and the column holds {len(cats)} distinct "
                                         f"texts: too many to one-hot encode (at most {MAX_CATEGORIES})")
            codes.append(ColumnCode(table.names[i], cats))
        return cls(codes)

    def encode(self, table: RawTable, cols: list[int], missing_ok: bool) -> np.ndarray:
        """X (N, n_features) float64 from the table's columns ``cols`` (one per code); missing cells NaN.

        Errors (one line, naming file, line, column, value): a text cell in a numeric column, a value that is
        not finite, a category not in the encoding, and a missing cell unless ``missing_ok``; of several bad
        cells, the one first in the file. Numeric columns are copied straight from Arrow's buffers, a block of
        rows at a time (cache-friendly); text columns go through Arrow's compute kernels.
        """
        owner = [i for code, i in zip(self.columns, cols, strict=True) for _ in range(code.width)]
        dense = [table.dense_index.get(i) for i in cols]
        in_dense = [k for k in dense if k is not None]
        if table.dense is not None and len(in_dense) == len(dense) and all(c.categories is None for c in self.columns):
            return self._from_dense(table, table.dense, in_dense, owner, missing_ok)
        sources: list[pa.ChunkedArray | np.ndarray] = []
        errors: list[CellError] = []  # the first bad cell of each column; the earliest row is reported
        for code, i, k in zip(self.columns, cols, dense, strict=True):
            try:
                if code.categories is not None:
                    sources.append(one_hot(table, i, code.categories))
                elif k is not None and table.dense is not None:
                    sources.append(table.dense[:, k])
                elif (col := table.columns[i]) is not None and is_numeric_type(col.type) \
                        and not pa.types.is_null(col.type):
                    sources.append(col)
                else:
                    sources.append(text_numbers(table, i))
            except CellError as e:
                errors.append(e)
                sources.append(np.zeros(table.n_rows))
        X, finite = assemble(sources, table.n_rows, self.n_features)
        if not finite:
            errors += cell_problems(table, X, owner, missing_ok)
        if errors:
            raise min(errors, key=lambda e: e.row).located()
        return X

    @staticmethod
    def _from_dense(table: RawTable, block: np.ndarray, dense: list[int], owner: list[int],
                    missing_ok: bool) -> np.ndarray:
        """All-numeric features already parsed into ``block`` (``table.dense``): a view when they are consecutive
        there (the usual label-last table), else one copy of the chosen columns."""
        lo = dense[0]
        X = block[:, lo : lo + len(dense)] if dense == list(range(lo, lo + len(dense))) else block[:, dense]
        if not table.dense_finite and not np.isfinite(X).all():
            errors = cell_problems(table, X, owner, missing_ok)
            if errors:
                raise min(errors, key=lambda e: e.row).located()
        return X


def assemble(sources: list, n: int, width: int) -> tuple[np.ndarray, bool]:
    """Stack Arrow columns and NumPy arrays (N,) or (N, k) side by side into a new C-ordered float64 (N, width);
    also whether every value is finite (checked block by block, while the block is in cache).

    Arrow columns read together share their chunk boundaries: X is filled one chunk of rows at a time.
    """
    X = np.empty((n, width), dtype=np.float64)
    finite = True
    arrow = [s for s in sources if isinstance(s, pa.ChunkedArray)]
    bounds = np.cumsum([0, *(len(c) for c in arrow[0].iterchunks())]) if arrow else np.array([0, n])
    if any(c.num_chunks != len(bounds) - 1 for c in arrow):
        bounds = np.array([0, n])
        sources = [as_float(s) if isinstance(s, pa.ChunkedArray) else s for s in sources]
    for b, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        parts = [array_values(s.chunk(b)) if isinstance(s, pa.ChunkedArray) else s[lo:hi] for s in sources]
        if any(len(p) != hi - lo for p in parts):  # chunks not aligned after all: one column at a time
            return assemble([as_float(s) if isinstance(s, pa.ChunkedArray) else s for s in sources], n, width)
        for start in range(0, hi - lo, BLOCK_ROWS):  # a block of rows small enough to stay in cache
            block, j = X[lo + start : min(hi, lo + start + BLOCK_ROWS)], 0
            for part in parts:
                piece = part[start : start + BLOCK_ROWS]
                if piece.ndim == 1:  # a 1-D copy: a (n, 1) one would loop per element
                    block[:, j] = piece
                    j += 1
                else:
                    block[:, j : j + piece.shape[1]] = piece
                    j += piece.shape[1]
            finite = finite and bool(np.isfinite(block).all())
    return X, finite


def cell_problems(table: RawTable, X: np.ndarray, owner: list[int], missing_ok: bool) -> list[CellError]:
    """The first infinite value of each column, and its first missing cell unless ``missing_ok``."""
    out: list[CellError] = []
    for j in range(X.shape[1]):
        col, i = X[:, j], owner[j]
        inf = first(np.isinf(col))
        if inf is not None:
            out.append(table.bad_cell(inf, i, "value {value!r} is not finite"))
        if not missing_ok:
            missing = first(np.isnan(col))
            if missing is not None:
                out.append(CellError(missing, i, partial(missing_error, table, missing, i)))
    return out


def text_numbers(table: RawTable, i: int) -> np.ndarray:
    """A column Arrow read as text, as float64 (missing cells NaN); a cell that is not a number is an error."""
    col = table.column(i)
    if pa.types.is_null(col.type):
        return np.full(len(col), np.nan)
    text = as_text(col)
    numbers = numeric_mask(text)
    bad = first(~numbers & ~null_mask(text))
    if bad is not None:
        raise table.bad_cell(bad, i, "{value!r} is not a number")
    return text_to_float(text, numbers)


def one_hot(table: RawTable, i: int, categories: list[str]) -> np.ndarray:
    """Column i's one-hot code (N, k) float64; missing cells NaN; an unknown category is an error."""
    text = as_text(table.column(i))
    codes = pc.index_in(text, value_set=pa.array(categories, pa.string()))
    missing = null_mask(text)
    unknown = first(null_mask(codes) & ~missing)
    if unknown is not None:
        shown = ", ".join(categories[:10]) + (", …" if len(categories) > 10 else "")
        raise table.bad_cell(unknown, i, f"category {{value!r}} was not seen in training (known: {shown})")
    out = np.zeros((len(text), len(categories)))
    rows = np.flatnonzero(~missing)
    out[rows, as_float(codes)[rows].astype(np.int64)] = 1.0
    out[missing] = np.nan
    return out


def missing_error(table: RawTable, row: int, i: int) -> DataError:
    """The one-line error for a missing cell when imputation is off (the wording mlplab always used)."""
    where, text = table.cell(row, i)
    if text == "":
        problem = "an empty field"
    elif is_number(text):
        problem = f"value {text!r} is not finite"
    else:
        problem = f"{text!r} is a missing value"
    return DataError(f"{table.path}: {where}, {table.where(i)}: {problem} (--impute mean or median fills "
                     "missing cells)")


# ------------------------------------------------------------------------------------------- labels
def encode_labels(table: RawTable, cols: list[int], task: str = "auto") -> tuple[np.ndarray, str, list[str] | None]:
    """(y, task, class names) from the label column(s): (N,) int64 classes or (N, k) float64 targets."""
    if len(cols) > 1:
        if task == "classification":
            raise DataError(f"{table.path}: {len(cols)} label columns; classification takes one "
                            "(several make a regression)")
        return np.column_stack([_targets(table, i) for i in cols]), "regression", None
    i = cols[0]
    col = table.column(i)
    _no_missing_label(table, i)
    if is_numeric_type(col.type):
        values = as_float(col)
    else:
        text = as_text(col)
        numbers = numeric_mask(text)
        if not numbers.all():
            if task == "regression":
                raise table.fail(int(np.argmax(~numbers)), i, "target {value!r} is not a number (regression needs "
                                 "numeric targets)")
            return _text_classes(table, text)
        values = text_to_float(text, numbers)
    bad = first(~np.isfinite(values))
    if bad is not None:
        where, text_value = table.cell(bad, i)
        raise DataError(f"{table.path}: {where}: label {text_value!r} is not finite")
    if task == "regression" or (task == "auto" and np.any(values != np.round(values))):
        return values.reshape(-1, 1), "regression", None
    classes, y = np.unique(values, return_inverse=True)
    names = [str(int(v)) if v == round(v) else repr(float(v)) for v in classes]
    return _classes(table, y, names)


def _targets(table: RawTable, i: int) -> np.ndarray:
    """One regression target column as float64 (N,)."""
    _no_missing_label(table, i)
    col = table.column(i)
    if is_numeric_type(col.type):
        values = as_float(col)
    else:
        text = as_text(col)
        numbers = numeric_mask(text)
        bad = first(~numbers)
        if bad is not None:
            raise table.fail(bad, i, "target {value!r} is not a number (regression needs numeric targets)")
        values = text_to_float(text, numbers)
    bad = first(~np.isfinite(values))
    if bad is not None:
        where, text_value = table.cell(bad, i)
        raise DataError(f"{table.path}: {where}: label {text_value!r} is not finite")
    return values


def _no_missing_label(table: RawTable, i: int) -> None:
    """A label cell that Arrow read as missing: empty ("empty label") or a NaN/NA marker (not finite)."""
    col = table.column(i)
    if is_numeric_type(col.type) and col.null_count == 0:
        return
    missing = first(null_mask(col if is_numeric_type(col.type) else as_text(col)))
    if missing is None:
        return
    where, text = table.cell(missing, i)
    if text == "":
        raise DataError(f"{table.path}: {where}: empty label in {table.where(i)}")
    raise DataError(f"{table.path}: {where}: label {text!r} is not finite" if is_number(text)
                    else f"{table.path}: {where}: label {text!r} in {table.where(i)} is a missing value")


def _text_classes(table: RawTable, text: pa.ChunkedArray) -> tuple[np.ndarray, str, list[str]]:
    names = sorted(pc.unique(text).to_pylist())
    y = as_float(pc.index_in(text, value_set=pa.array(names, pa.string())))
    return _classes(table, y.astype(np.int64), names)


def _classes(table: RawTable, y: np.ndarray, names: list[str]) -> tuple[np.ndarray, str, list[str]]:
    if len(names) < 2:
        raise DataError(f"{table.path}: every label is {names[0]!r}; classification needs at least two classes")
    return y.astype(np.int64).reshape(-1), "classification", names


# ------------------------------------------------------------------------------------------ imputer
class Imputer:
    """x ↦ x with each NaN replaced by its column's training statistic (mean or median)."""

    def __init__(self, strategy: str, values: np.ndarray) -> None:
        self.strategy, self.values = strategy, np.asarray(values, np.float64)

    @classmethod
    def fit(cls, X: np.ndarray, strategy: str, names: list[str] | None = None) -> Imputer:
        """Statistics of the observed (non-NaN) cells of each column of the training rows X (N, n_x)."""
        if strategy not in ("mean", "median"):
            raise ConfigError(f"impute must be one of {', '.join(IMPUTE)}; got {strategy!r}")
        values = np.zeros(X.shape[1])
        missing = np.isnan(X).any(axis=0)
        for j in np.flatnonzero(missing):
            col = X[:, j]
            seen = col[~np.isnan(col)]
            if seen.size == 0:
                name = names[j] if names and j < len(names) else str(j)
                raise DataError(f"feature {name!r} has no value in the training split; nothing to impute from")
            values[j] = seen.mean() if strategy == "mean" else np.median(seen)
        for j in np.flatnonzero(~missing):  # columns complete in training: their statistic, for later rows
            values[j] = X[:, j].mean() if strategy == "mean" else np.median(X[:, j])
        return cls(strategy, values)

    def transform(self, X: np.ndarray) -> np.ndarray:
        """A copy of X (float64) with every NaN replaced by its column's value (X itself if nothing is missing)."""
        mask = np.isnan(X)
        if not mask.any():
            return X
        out = np.array(X, dtype=np.float64, copy=True)
        rows, cols = np.nonzero(mask)
        out[rows, cols] = self.values[cols]
        return out

    def as_json(self) -> dict:
        return {"strategy": self.strategy, "values": [float(v) for v in self.values]}
