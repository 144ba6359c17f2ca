"""IDX parsing: every element type round-trips, gzip and raw agree, and malformed headers are refused."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from conftest import require
from idxutil import idx_bytes, write_idx
from mlplab.data.idx import parse_idx, read_idx
from mlplab.errors import DataError

FASHION = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "i4", "f4", "f8"])
@pytest.mark.parametrize("shape", [(7,), (5, 3), (2, 3, 4)])
def test_round_trip_every_type(dtype, shape, tmp_path):
    rng = np.random.default_rng(0)
    info = np.iinfo(dtype) if np.dtype(dtype).kind in "iu" else None
    arr = (rng.integers(info.min, info.max, shape, endpoint=True) if info else rng.normal(0, 1e3, shape)).astype(dtype)
    got = parse_idx(idx_bytes(arr))
    np.testing.assert_array_equal(got, arr)
    assert got.dtype == np.dtype(dtype).newbyteorder("=") and got.flags.writeable
    for gz in (True, False):
        from_file = read_idx(write_idx(tmp_path / f"a{gz}", arr, gz=gz))
        np.testing.assert_array_equal(from_file, arr)
        assert from_file.flags.writeable


def test_big_endian_decoding_by_hand():
    # 0x0C = int32, 1 dimension of size 2, values 1 and -2 written big-endian
    data = bytes([0, 0, 0x0C, 1, 0, 0, 0, 2, 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFE])
    np.testing.assert_array_equal(parse_idx(data), [1, -2])


@pytest.mark.parametrize("data, fragment", [
    (b"", "too short"),
    (b"\x00\x00", "too short"),
    (b"\x01\x00\x08\x01" + b"\x00\x00\x00\x01" + b"\x05", "bad IDX magic"),
    (b"\x00\x00\x07\x01" + b"\x00\x00\x00\x01" + b"\x05", "bad IDX magic"),
    (b"\x00\x00\x08\x00", "bad IDX magic"),
    (b"\x00\x00\x08\x03\x00\x00\x00\x02", "declares 3 dimensions"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x03\x01\x02", "3 values of 1 byte(s) = 3 bytes of data, but the file holds 2"),
    (b"\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02", "but the file holds 2"),
])
def test_malformed_payloads(data, fragment):
    with pytest.raises(DataError, match=r"^x\.idx: ") as e:
        parse_idx(data, "x.idx")
    assert fragment in str(e.value)


def test_huge_declared_size_is_refused_without_allocating(tmp_path):
    # 2^32−1 × 2^32−1 × 2^32−1 bytes declared, 10 present: must be a DataError, not a MemoryError
    head = b"\x00\x00\x08\x03" + b"\xff\xff\xff\xff" * 3
    for gz in (True, False):
        path = write_idx(tmp_path / f"huge{gz}", head + b"0123456789", gz=gz)
        with pytest.raises(DataError, match="but the file holds 10"):
            read_idx(path)


def test_gzip_damage(tmp_path):
    good = gzip.compress(idx_bytes(np.arange(1000, dtype=np.uint8).reshape(10, 100)), mtime=0)
    (tmp_path / "cut.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(DataError, match="truncated or corrupt gzip"):
        read_idx(tmp_path / "cut.gz")
    bad = bytearray(good)
    bad[-6] ^= 0xFF  # inside the CRC/size trailer
    (tmp_path / "crc.gz").write_bytes(bytes(bad))
    with pytest.raises(DataError, match="truncated or corrupt gzip"):
        read_idx(tmp_path / "crc.gz")


def test_fashion_mnist_labels_match_a_direct_decode():
    require(FASHION.exists(), "Debian package dataset-fashion-mnist is not installed")
    path = FASHION / "train-labels-idx1-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    assert int.from_bytes(raw[:4], "big") == 0x801 and int.from_bytes(raw[4:8], "big") == 60000
    np.testing.assert_array_equal(read_idx(path), np.frombuffer(raw, np.uint8, offset=8))
