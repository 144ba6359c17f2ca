"""IDX files (the MNIST format), gzipped or raw: bytes or path → NumPy array, with every header checked.

Layout: two zero bytes, a type code, the number of dimensions d, then d big-endian uint32 sizes, then the
data in C order, big-endian. The header is checked against the data length before anything is trusted,
so a hostile header cannot make us allocate more than the file actually holds.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path
from typing import BinaryIO

import numpy as np

from mlplab.errors import DataError

# type code → big-endian dtype
IDX_TYPES: dict[int, str] = {0x08: "u1", 0x09: "i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 24


def parse_header(head: bytes, name: str) -> tuple[np.dtype, tuple[int, ...], int]:
    """(dtype, shape, header length) from the first bytes of an IDX payload; DataError if malformed."""
    if len(head) < 4:
        raise DataError(f"{name}: too short to be an IDX file ({len(head)} bytes)")
    zero, code, ndim = head[0:2], head[2], head[3]
    magic = int.from_bytes(head[:4], "big")
    if zero != b"\0\0" or code not in IDX_TYPES or ndim == 0:
        raise DataError(f"{name}: bad IDX magic number 0x{magic:08X} "
                        "(expected 0x00000801 for labels, 0x00000803 for images)")
    size = 4 + 4 * ndim
    if len(head) < size:
        raise DataError(f"{name}: IDX header declares {ndim} dimensions but the file ends after {len(head)} bytes")
    shape = struct.unpack(f">{ndim}I", head[4:size])
    return np.dtype(IDX_TYPES[code]), tuple(int(s) for s in shape), size


def parse_idx(data: bytes | bytearray | memoryview, name: str = "<bytes>") -> np.ndarray:
    """The array an uncompressed IDX payload holds (native byte order, writable)."""
    dtype, shape, offset = parse_header(bytes(data[:4 + 4 * 255]), name)
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    got = len(data) - offset
    if got != expected:
        dims = "×".join(map(str, shape))
        raise DataError(f"{name}: IDX header says {dims} values of {dtype.itemsize} byte(s) = {expected} bytes "
                        f"of data, but the file holds {got}")
    arr = np.frombuffer(data, dtype=dtype, offset=offset).reshape(shape)
    native = arr.astype(dtype.newbyteorder("="), copy=False)
    return native if native.flags.writeable else native.copy()


def _read_all(f: BinaryIO | gzip.GzipFile, limit: int | None = None) -> bytearray:
    """Read up to ``limit`` bytes (all if None) in chunks; never pre-allocates from an untrusted size."""
    chunks, total = [], 0
    while limit is None or total < limit:
        chunk = f.read(_CHUNK if limit is None else min(_CHUNK, limit - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return bytearray().join(chunks)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file, gzipped (detected by its magic bytes) or raw, into a native-order array."""
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == GZIP_MAGIC
            raw.seek(0)
            if not compressed:
                return parse_idx(_read_all(raw), str(path))
            with gzip.GzipFile(fileobj=raw) as f:
                head = f.read(4)
                ndim = head[3] if len(head) == 4 else 0
                head += f.read(4 * ndim)
                dtype, shape, _ = parse_header(head, str(path))
                expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
                # read one byte more than declared, so that extra data is detected (and EOF checks the CRC)
                body = _read_all(f, expected + 1)
    except (EOFError, gzip.BadGzipFile, zlib.error) as e:
        raise DataError(f"{path}: truncated or corrupt gzip data ({e})") from None
    except FileNotFoundError:
        raise DataError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataError(f"{path}: is a folder, not an IDX file") from None
    except PermissionError:
        raise DataError(f"{path}: permission denied") from None
    body[0:0] = head  # prepend the header in place (a memmove) rather than copying the data again
    return parse_idx(body, str(path))
