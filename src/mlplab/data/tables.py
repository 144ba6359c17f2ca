"""Tables from files: CSV through Arrow's C++ reader (``pyarrow.csv``), Parquet and Feather/Arrow files.

``read_table(path)`` gives a ``RawTable``: the columns as Arrow arrays, their names, whether the file had a
header, and a way back from a data row to the file (``RawTable.cell``), so that a bad cell found at C speed
is still reported as one line naming the file, the line (or row), the column and the value. The way back is
a second, slow pass (Python's csv module) that stops at the row in question; it only runs on errors.

CSV rules, as before the fast reader: UTF-8 (a BOM is fine), delimiter sniffed from the first line
(``,`` ``;`` or tab; ``.tsv`` is tab), blank lines skipped, cells stripped of surrounding spaces, a header
detected from the first two rows (or forced by naming a column).

Both ways through Arrow read the file a chunk of whole lines at a time, numeric columns copied straight into one
dense float64 block (``RawTable.dense``) and each chunk's Arrow columns freed once copied; text columns stay Arrow.
A file up to ``SMALL_FILE`` is read in ``SMALL_CHUNK`` chunks on one thread, its column types Arrow's inference on
the first chunk; a bigger one has its types inferred on its first ``SAMPLE_BYTES`` and is then read with those types
in chunks of ``CHUNK_BYTES``, each parsed by Arrow on every core while the previous one is copied. If a later row
contradicts the types (text in a numeric column), the file is read again in one inferring ``read_csv``.
What counts as a number, a category or a missing cell is decided in ``mlplab.data.encoding``.
Arrow reads from a Python file object and allocates from the system allocator: both keep less memory than
Arrow's own file reader and default pool (BENCHMARKS.md, "Tables").
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from mlplab.errors import DataError

CSV_SUFFIXES = (".csv", ".tsv", ".txt")
PARQUET_SUFFIXES = (".parquet", ".pq")
FEATHER_SUFFIXES = (".feather", ".arrow", ".ipc")
TABLE_SUFFIXES = CSV_SUFFIXES + PARQUET_SUFFIXES + FEATHER_SUFFIXES
HEAD_BYTES = 1 << 16  # the first 64 KiB decide delimiter and header
BLOCK_ROWS = 2048  # rows copied at a time: 2048 × 50 float64 stay in a core's cache
SAMPLE_BYTES = 1 << 20  # the first MiB decides the column types (a later surprise: a second, inferring read)
STREAM_BLOCK = 1 << 19  # bytes per block Arrow parses (one core each; its rows stay in cache for the copy)
CHUNK_BYTES = 4 << 20  # bytes of whole lines parsed at once, then copied while the next chunk parses
INFER_BLOCK = 1 << 20  # bytes per block of the one inferring read_csv (the fallback)
SMALL_FILE = 8 << 20  # up to 8 MiB: no sample, no helper thread; the first chunk's inferred types are the sample
SMALL_CHUNK = 1 << 18  # a small file's chunk: Arrow's working memory stays small next to the dense block
# what a CSV cell may hold to count as a missing value (only with --impute; otherwise each is an error)
MISSING = ("", "NA", "N/A", "NaN", "nan", "NULL", "null", "None")
NUMBER = r"^[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|infinity|nan)$"


def is_number(text: str) -> bool:
    """Whether ``text`` parses as a float, as Python's float() would."""
    try:
        float(text)
    except ValueError:
        return False
    return True


@dataclass
class RawTable:
    """Columns of a table file, before any encoding. ``names[i]`` is how the user names column i."""

    path: Path
    names: list[str]
    header: bool
    columns: list[pa.ChunkedArray | None]  # None: the column lives in ``dense``
    kind: str = "csv"  # or "parquet", "feather"
    delimiter: str = ","
    skip_lines: int = 0  # CSV: physical lines before the first data row (the header included)
    first_line: int = 1  # CSV: the line number of the first row (header or data)
    dense: np.ndarray | None = None  # CSV: the numeric columns, (N, k) float64, missing cells NaN
    dense_index: dict[int, int] = field(default_factory=dict)  # table column → column of ``dense``
    dense_finite: bool = True  # no NaN or ±inf anywhere in ``dense``
    _located: dict = field(default_factory=dict, repr=False)

    @property
    def n_rows(self) -> int:
        if self.dense is not None:
            return len(self.dense)
        first_col = self.columns[0] if self.columns else None
        return len(first_col) if first_col is not None else 0

    def column(self, i: int) -> pa.ChunkedArray:
        """Column i as Arrow (a dense column is wrapped on demand; its NaN cells become null)."""
        col = self.columns[i]
        if col is None:
            assert self.dense is not None  # a column is None only when it lives in ``dense``
            col = pa.chunked_array([float_array(self.dense[:, self.dense_index[i]])])
        return col

    def where(self, i: int) -> str:
        """'column 'name'' with a header, 'column i' (0-based, as ``--label-column`` counts) without."""
        return f"column {self.names[i]!r}" if self.header else f"column {i}"

    def cell(self, row: int, i: int) -> tuple[str, str]:
        """('line 12' or 'row 12', the cell's text as written in the file) for data row ``row`` (0-based)."""
        if self.kind != "csv":
            value = self.column(i)[row].as_py()
            return f"row {row + 1}", "" if value is None else str(value)
        line, fields = self.locate(row)
        return f"line {line}", fields[i] if i < len(fields) else ""

    def locate(self, row: int) -> tuple[int, list[str]]:
        """(line number, stripped fields) of CSV data row ``row``: a slow pass that stops there."""
        if row in self._located:
            return self._located[row]
        k = -1
        with open(self.path, newline="", encoding="utf-8-sig", errors="replace") as f:
            reader = csv.reader(f, delimiter=self.delimiter)
            for fields in reader:
                if reader.line_num <= self.skip_lines or _blank(fields):
                    continue
                k += 1
                if k == row:
                    self._located[row] = (reader.line_num, [c.strip() for c in fields])
                    return self._located[row]
        raise DataError(f"{self.path}: row {row + 1} not found on a second reading (did the file change?)")

    def fail(self, row: int, i: int, problem: str) -> DataError:
        """A one-line error about cell (row, i): ``problem`` formats with {value!r}."""
        where, text = self.cell(row, i)
        return DataError(f"{self.path}: {where}, {self.where(i)}: {problem.format(value=text)}")

    def bad_cell(self, row: int, i: int, problem: str) -> CellError:
        """``fail`` deferred: the file is read again only for the cell that is finally reported."""
        return CellError(row, i, lambda: self.fail(row, i, problem))


class CellError(DataError):
    """A bad cell found at C speed, not yet located in the file: ``located()`` runs the slow pass.

    Lets a caller that checks column by column report the bad cell that comes first in the file.
    """

    def __init__(self, row: int, column: int, build: Callable[[], DataError]) -> None:
        super().__init__(f"row {row + 1}, column {column}")
        self.row, self.column, self.build = row, column, build

    def located(self) -> DataError:
        return self.build()


def _blank(fields: list[str]) -> bool:
    return not fields or (len(fields) == 1 and not fields[0].strip())


# -------------------------------------------------------------------------------------------- CSV
def _head(path: Path) -> list[tuple[int, str]]:
    """The first non-blank lines (number, text) of a CSV file, checking its start is UTF-8 text."""
    with open(path, "rb") as f:
        raw = f.read(HEAD_BYTES)
        more = bool(f.read(1))
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        text = decoder.decode(raw, final=not more)
    except UnicodeDecodeError as e:
        raise DataError(f"{path}: not a UTF-8 text file (byte {e.start}); expected CSV") from None
    if "\0" in text:
        raise DataError(f"{path}: holds NUL bytes; not a CSV text file")
    lines = text.splitlines()
    if more and lines:
        lines = lines[:-1]  # possibly cut in the middle
    return [(i + 1, line) for i, line in enumerate(lines) if line.strip()]


def sniff_delimiter(first_line: str, path: Path) -> str:
    """Tab for .tsv; otherwise the most frequent of ``,`` ``;`` tab on the first line (``,`` if none)."""
    if path.suffix.lower() == ".tsv":
        return "\t"
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def detect_header(first: list[str], second: list[str] | None) -> bool:
    """A header when a column switches from text (row 1) to a number (row 2), or every cell of row 1 is text.

    A first row holding numbers and text (a table with categorical columns) is data.
    """
    text = [not is_number(v) for v in first]
    if (second is not None and len(second) == len(first)
            and any(t and is_number(v) for t, v in zip(text, second, strict=True))):
        return True
    return all(text)


def read_csv(path: Path, header: bool | None = None, labels_by_name: list[str] | None = None) -> RawTable:
    """A CSV file's columns through Arrow's reader; ``header`` None detects it (see ``detect_header``).

    ``labels_by_name``: column names the caller needs, which forces a header.
    """
    head = _head(path)
    if not head:
        raise DataError(f"{path}: empty file; expected CSV rows of features and a label")
    delim = sniff_delimiter(head[0][1], path)
    try:
        records = [(no, [c.strip() for c in fields]) for no, line in head[:2]
                   for fields in csv.reader([line], delimiter=delim)]
    except csv.Error as e:
        raise DataError(f"{path}: CSV syntax error: {e}") from None
    first_no, first = records[0]
    if header is None:
        header = bool(labels_by_name) or detect_header(first, records[1][1] if len(records) > 1 else None)
    width = len(first)
    names = list(first) if header else [str(i) for i in range(width)]
    if header and len(set(names)) != len(names):
        names = [n if names.count(n) == 1 else f"{n}.{i}" for i, n in enumerate(names)]
    skip = first_no if header else first_no - 1
    bad_rows: list[int | None] = []

    def invalid(row: pa_csv.InvalidRow) -> str:
        if row.text.strip():
            bad_rows.append(row.number)
        return "skip"

    # the inferring reads on one thread: as fast as Arrow's pool on 2 cores, faster when they are busy
    read = pa_csv.ReadOptions(column_names=[f"c{i}" for i in range(width)], skip_rows=skip,
                              block_size=INFER_BLOCK, use_threads=False)
    parse = pa_csv.ParseOptions(delimiter=delim, invalid_row_handler=invalid)
    # only empty cells are null at parse time (other markers, NA…, are recognised later, on text columns):
    # every extra null marker slows Arrow's number parsing
    convert = pa_csv.ConvertOptions(null_values=[""], strings_can_be_null=True,
                                    true_values=["\0"], false_values=["\0"], timestamp_parsers=[])
    table = RawTable(path, names, header, [], "csv", delim, skip, first_no)
    try:
        try:  # streaming: the peak memory is the dense block and one chunk's Arrow columns, not the whole table's
            if path.stat().st_size <= SMALL_FILE:
                parts = _small_parts(path, read, parse, convert)
            else:
                types = _sample_types(path, read, parse, convert)
                bad_rows.clear()
                parts = _typed_parts(path, read, parse, _typed(types))
            _stream(table, path, parts)
        except pa.ArrowInvalid:  # e.g. text further down a column of numbers: infer on every block
            bad_rows.clear()
            with open(path, "rb") as f:
                arrow = pa_csv.read_csv(f, read_options=read, parse_options=parse, convert_options=convert,
                                        memory_pool=pa.system_memory_pool())
            table.dense, table.dense_index, table.dense_finite = None, {}, True
            table.columns = [arrow.column(i) for i in range(width)]
    except (pa.ArrowInvalid, pa.ArrowException) as e:
        _utf8_check(path)
        raise DataError(f"{path}: CSV syntax error: {' '.join(str(e).split())}") from None
    if bad_rows:
        raise _ragged(table, width, first_no)
    table.columns = [None if c is None else _as_text_if_binary(c, path) for c in table.columns]
    return table


Parts = Generator[tuple[pa.Table, int], None, None]  # a CSV's chunks parsed by Arrow, each with its size in bytes


def _stream(table: RawTable, path: Path, parts: Parts) -> None:
    """Copy the numeric columns of the parsed ``parts`` (one schema) into ``table.dense`` (float64, C order, a block
    of rows at a time, sized from the first part's rows per byte), keep the other columns as Arrow; each part is
    freed once copied, before the next one is parsed."""
    dense = np.empty((0, 0))
    numeric: list[int] = []
    others: list[int] = []
    kept: list[pa.RecordBatch] = []
    schema = None
    n, finite = 0, True
    with closing(parts):  # on a failure, stop the helper thread's parse now (not when the generator is collected)
        for part, nbytes in parts:
            if schema is None:
                schema = part.schema
                numeric = [i for i, t in enumerate(schema.types) if t in (pa.float64(), pa.int64())]
                others = [i for i in range(len(schema)) if i not in numeric]
                rows = int(path.stat().st_size * part.num_rows / max(nbytes, 1) * 1.05) + 1024
                dense = np.empty((rows, len(numeric)), dtype=np.float64)
            for batch in part.to_batches():
                m = batch.num_rows
                if n + m > len(dense):  # the first part underestimated the rows: grow (rare)
                    bigger = np.empty((max(2 * len(dense), n + m), len(numeric)), dtype=np.float64)
                    bigger[:n] = dense[:n]
                    dense = bigger
                finite = _copy_numeric(batch, numeric, dense[n : n + m]) and finite
                kept.append(batch.select(others))
                n += m
            part = batch = None  # freed before the next part is parsed
    assert schema is not None  # a CSV that got here has a first line, so a first part
    table.dense, table.dense_finite = dense[:n], finite
    table.dense_index = {i: k for k, i in enumerate(numeric)}
    rest = pa.Table.from_batches(kept) if kept else None
    table.columns = [None] * len(schema)
    for k, i in enumerate(others):
        table.columns[i] = rest.column(k) if rest is not None else pa.chunked_array([], type=schema.types[i])


def _parse(chunk: memoryview, names: list[str], skip: int, block: int, threads: bool, parse: pa_csv.ParseOptions,
           convert: pa_csv.ConvertOptions) -> pa.Table:
    """One chunk of whole lines through Arrow (read in place, no copy)."""
    options = pa_csv.ReadOptions(column_names=names, skip_rows=skip, block_size=block, use_threads=threads)
    return pa_csv.read_csv(pa.BufferReader(pa.py_buffer(chunk)), read_options=options, parse_options=parse,
                           convert_options=convert, memory_pool=pa.system_memory_pool())


def _small_parts(path: Path, read: pa_csv.ReadOptions, parse: pa_csv.ParseOptions,
                 convert: pa_csv.ConvertOptions) -> Parts:
    """A small file in ``SMALL_CHUNK`` chunks, one thread: the first chunk with Arrow's type inference, the others
    with its types (inferring each chunk again would cost ~1 ms a chunk)."""
    with open(path, "rb") as f:
        chunks = _line_chunks(f, SMALL_CHUNK)
        chunk = next(chunks)
        part = _parse(chunk, read.column_names, read.skip_rows, len(chunk) + 1, False, parse, convert)
        typed = _typed(_stream_types(part.schema))
        for i, fld in enumerate(part.schema):  # a column with no value yet: text, as in the later chunks
            if pa.types.is_null(fld.type):  # (integers stay: the copy into the dense block makes them float64)
                part = part.set_column(i, fld.name, pa.nulls(part.num_rows, pa.string()))
        yield part, len(chunk)
        del part
        for chunk in chunks:
            yield _parse(chunk, read.column_names, 0, len(chunk) + 1, False, parse, typed), len(chunk)


def _typed_parts(path: Path, read: pa_csv.ReadOptions, parse: pa_csv.ParseOptions,
                 convert: pa_csv.ConvertOptions) -> Parts:
    """A big file in ``CHUNK_BYTES`` chunks, each parsed by Arrow on every core (``STREAM_BLOCK`` blocks) with
    ``convert``'s types; the next chunk on a helper thread (that only waits on Arrow) while this one is copied."""
    with open(path, "rb") as f, ThreadPoolExecutor(max_workers=1) as helper:
        chunks = _line_chunks(f, CHUNK_BYTES)

        def parse_next(skip: int) -> tuple[pa.Table, int] | None:
            chunk = next(chunks, None)
            if chunk is None:
                return None
            return _parse(chunk, read.column_names, skip, STREAM_BLOCK, True, parse, convert), len(chunk)

        pending = helper.submit(parse_next, read.skip_rows)
        while (got := pending.result()) is not None:
            pending = helper.submit(parse_next, 0)
            yield got
            del got


def _copy_numeric(batch: pa.RecordBatch, numeric: list[int], out: np.ndarray) -> bool:
    """Copy the batch's numeric columns into ``out`` (m, k), rows of a batch (one Arrow block) at once, and check
    them while they are in cache; True when every value is finite."""
    if not numeric:  # text columns only: nothing to copy
        return True
    np.stack([array_values(batch.column(i)) for i in numeric], axis=1, out=out)
    return bool(np.isfinite(out).all())


def _line_chunks(f: io.BufferedIOBase, size: int) -> Iterator[memoryview]:
    """The file's bytes in pieces of about ``size`` that end at a line end (the last piece: at the file's end),
    each read into a buffer of its own and handed on without a copy.

    Arrow itself assumes no line break inside a quoted value (``newlines_in_values`` is off), so a piece cut at a
    line end never splits a row that Arrow would read whole."""
    carry = b""
    while True:
        buf = bytearray(len(carry) + size)
        buf[: len(carry)] = carry
        got = f.readinto(memoryview(buf)[len(carry) :])
        if not got:
            break
        end = len(carry) + got
        cut = buf.rfind(b"\n", 0, end) + 1
        carry = bytes(buf[cut:end]) if cut else bytes(buf[:end])  # no line end yet: one line longer than size
        if cut:
            yield memoryview(buf)[:cut]
    if carry:
        yield memoryview(carry)


def _sample_types(path: Path, read: pa_csv.ReadOptions, parse: pa_csv.ParseOptions,
                  convert: pa_csv.ConvertOptions) -> dict[str, pa.DataType]:
    """Column types Arrow infers on the first ``SAMPLE_BYTES`` of the file (see ``_stream_types``)."""
    with open(path, "rb") as f:
        sample = f.read(SAMPLE_BYTES)
        if f.read(1):
            sample = sample[: sample.rfind(b"\n") + 1]
    head = pa_csv.read_csv(io.BytesIO(sample), read_options=read, parse_options=parse, convert_options=convert,
                           memory_pool=pa.system_memory_pool())
    return _stream_types(head.schema)


def _typed(types: dict[str, pa.DataType]) -> pa_csv.ConvertOptions:
    """Arrow's conversion with every column's type given (only empty cells are null, as in the inferring read)."""
    return pa_csv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=True)


def _stream_types(schema: pa.Schema) -> dict[str, pa.DataType]:
    """The types to read the rest of a file with, from those inferred on its start: numbers as float64 (what the
    dense block holds; integers too, so that a later 1.5 needs no second read), a column with no value yet as
    text (whose numbers ``mlplab.data.encoding`` still reads as numbers), any other type as inferred."""
    return {fld.name: (pa.float64() if pa.types.is_integer(fld.type) or pa.types.is_floating(fld.type)
                       else pa.string() if pa.types.is_null(fld.type) else fld.type) for fld in schema}


def _as_text_if_binary(col: pa.ChunkedArray, path: Path) -> pa.ChunkedArray:
    """Arrow reads cells that are not UTF-8 as binary: that is a file that is not UTF-8 text."""
    if pa.types.is_binary(col.type) or pa.types.is_large_binary(col.type):
        _utf8_check(path)
        raise DataError(f"{path}: not a UTF-8 text file; expected CSV")
    return col


def _utf8_check(path: Path) -> None:
    """Raise the one-line error for the first byte of ``path`` that is not UTF-8, if any (a slow pass)."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    offset = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as e:
                raise DataError(f"{path}: not a UTF-8 text file (byte {offset + e.start}); expected CSV") from None
            offset += len(chunk)


def _ragged(table: RawTable, width: int, first_no: int) -> DataError:
    """The first row whose field count differs from the first row's, found by a slow pass."""
    with open(table.path, newline="", encoding="utf-8-sig", errors="replace") as f:
        reader = csv.reader(f, delimiter=table.delimiter)
        try:
            for fields in reader:
                if reader.line_num <= table.skip_lines or _blank(fields):
                    continue
                if len(fields) != width:
                    return DataError(f"{table.path}: line {reader.line_num} has {len(fields)} fields; expected "
                                     f"{width} (as on line {first_no})")
        except csv.Error as e:
            return DataError(f"{table.path}: line {reader.line_num}: CSV syntax error: {e}")
    return DataError(f"{table.path}: rows with a different number of fields than line {first_no}")


# ---------------------------------------------------------------------------------- Parquet, Feather
def read_binary_table(path: Path) -> RawTable:
    """A Parquet or Feather/Arrow IPC file: named, typed columns (always a header)."""
    kind = "parquet" if path.suffix.lower() in PARQUET_SUFFIXES else "feather"
    try:
        if kind == "parquet":
            import pyarrow.parquet as pq

            arrow = pq.read_table(path)
        else:
            import pyarrow.feather as feather

            arrow = feather.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as e:
        what = "Parquet" if kind == "parquet" else "Feather/Arrow"
        raise DataError(f"{path}: not a readable {what} file ({' '.join(str(e).split())[:200]})") from None
    if arrow.num_columns == 0:
        raise DataError(f"{path}: the table has no columns")
    columns = [col.cast(col.type.value_type) if pa.types.is_dictionary(col.type) else col for col in arrow.columns]
    return RawTable(path, [str(n) for n in arrow.column_names], True, columns, kind)


def read_table(path: Path, header: bool | None = None, labels_by_name: list[str] | None = None) -> RawTable:
    """A table file by its suffix: CSV (.csv/.tsv/.txt), Parquet (.parquet) or Feather/Arrow (.feather/.arrow)."""
    if path.suffix.lower() in PARQUET_SUFFIXES + FEATHER_SUFFIXES:
        return read_binary_table(path)
    return read_csv(path, header, labels_by_name)


# ------------------------------------------------------------------------------------- column values
def is_numeric_type(t: pa.DataType) -> bool:
    return pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_null(t) or pa.types.is_decimal(t)


NUMPY_TYPES = {pa.float64(): np.float64, pa.float32(): np.float32, pa.float16(): np.float16,
               pa.int64(): np.int64, pa.int32(): np.int32, pa.int16(): np.int16, pa.int8(): np.int8,
               pa.uint64(): np.uint64, pa.uint32(): np.uint32, pa.uint16(): np.uint16, pa.uint8(): np.uint8}


def array_values(arr: pa.Array) -> np.ndarray:
    """One numeric Arrow array as NumPy: a view of its buffer, or float64 with NaN where cells are missing.

    Reads the buffers directly: pyarrow's own ``to_numpy`` imports pandas (half a second) on first use.
    """
    dtype = NUMPY_TYPES.get(arr.type)
    if dtype is None:  # decimals and other rare numeric types
        return np.asarray(arr.to_pylist(), dtype=np.float64)
    values = np.frombuffer(arr.buffers()[1], dtype=dtype, count=len(arr) + arr.offset)[arr.offset:]
    if arr.null_count == 0:
        return values
    bits = np.unpackbits(np.frombuffer(arr.buffers()[0], np.uint8), bitorder="little")
    valid = bits[arr.offset : arr.offset + len(arr)].astype(bool)
    out = values.astype(np.float64)
    out[~valid] = np.nan
    return out


def float_array(values: np.ndarray) -> pa.Array:
    """float64 values (N,) as an Arrow array whose NaN cells are null, built from buffers (no pandas import)."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    valid = ~np.isnan(values)
    bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(pa.float64(), len(values), [bitmap, pa.py_buffer(values)],
                                 null_count=int(len(values) - valid.sum()))


def as_float(col: pa.ChunkedArray) -> np.ndarray:
    """A numeric column as float64, missing cells NaN (a new array)."""
    if pa.types.is_null(col.type):
        return np.full(len(col), np.nan)
    out = np.empty(len(col), dtype=np.float64)
    start = 0
    for chunk in col.chunks:
        out[start : start + len(chunk)] = array_values(chunk)
        start += len(chunk)
    return out


def as_text(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """Any column as trimmed strings; empty cells and the ``MISSING`` markers (NA, NaN, NULL…) become null."""
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        col = col.cast(pa.string())
    text = pc.utf8_trim_whitespace(col)
    marker = pc.is_in(text, value_set=pa.array(MISSING, pa.string()))
    return pc.if_else(marker, pa.scalar(None, pa.string()), text)


def numeric_mask(text: pa.ChunkedArray) -> np.ndarray:
    """Which cells of a text column parse as numbers (missing cells: False)."""
    m = pc.match_substring_regex(text, NUMBER, ignore_case=True)
    return as_bool(m.fill_null(False))


def text_to_float(text: pa.ChunkedArray, numeric: np.ndarray) -> np.ndarray:
    """The numeric cells of a text column as float64, every other cell NaN."""
    out = np.full(len(text), np.nan)
    idx = np.flatnonzero(numeric)
    if idx.size:
        picked = pc.take(text, pa.array(idx))
        out[idx] = as_float(picked.cast(pa.float64()))
    return out


def null_mask(col: pa.ChunkedArray) -> np.ndarray:
    if col.null_count == 0:
        return np.zeros(len(col), dtype=bool)
    return as_bool(col.is_null())


def as_bool(col: pa.ChunkedArray) -> np.ndarray:
    """A boolean Arrow column without missing cells as a NumPy bool array (its bits unpacked)."""
    parts = [np.unpackbits(np.frombuffer(c.buffers()[1], np.uint8), bitorder="little")[c.offset : c.offset + len(c)]
             for c in col.chunks if len(c)]
    return np.concatenate(parts).astype(bool) if parts else np.zeros(0, dtype=bool)


def first(mask: np.ndarray) -> int | None:
    """Index of the first true entry, or None."""
    if not mask.any():
        return None
    return int(np.argmax(mask))

