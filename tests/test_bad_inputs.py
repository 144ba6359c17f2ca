"""The malformed-input corpus: every bad file or flag given to ``mlplab train`` ends the same way.

Exit code 2, exactly one stderr line starting ``mlplab: error:`` that names the offending file (for file
cases), no traceback, and neither the output folder nor the metrics JSON is written. Most cases run
``mlplab.cli.main`` in-process (fast); a handful run the real entry point in a subprocess to show it behaves
the same.
"""

from __future__ import annotations

import dataclasses
import gzip
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from idxutil import idx_bytes, write_set
from mlplab.cli import main
from mlplab.data import real

# Each case: id → builder(tmp) returning (extra argv for `mlplab train`, the text the error must contain).
Case = Callable[[Path], tuple[list[str], str]]
CASES: dict[str, Case] = {}


def case(name: str):
    def register(fn: Case) -> Case:
        assert name not in CASES
        CASES[name] = fn
        return fn
    return register


def text_file(tmp: Path, name: str, content: str | bytes) -> Path:
    path = tmp / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def csv_case(name: str, content: str | bytes, *extra: str):
    @case(name)
    def build(tmp: Path):
        path = text_file(tmp, f"{name}.csv", content)
        return ["--dataset", str(path), *extra], str(path)


def npz_case(name: str, **arrays):
    @case(name)
    def build(tmp: Path):
        path = tmp / f"{name}.npz"
        np.savez(path, **arrays)
        return ["--dataset", str(path)], str(path)


def idx_case(name: str, role: str, damage: Callable[[Path], bytes | None], dataset: str = "mnist"):
    """A complete tiny set in tmp/idx with one file (``role``) damaged; the error must name that file."""
    @case(name)
    def build(tmp: Path):
        paths = write_set(tmp / "idx")
        target = paths[role]
        new = damage(target)
        if new is not None:
            target.write_bytes(new)
        return ["--dataset", dataset, "--data-dir", str(tmp / "idx")], str(target)


# ------------------------------------------------------------------------------------------- IDX files
idx_case("idx_bad_magic", "train_images",
         lambda p: gzip.compress(b"\x00\x00\x99\x03" + gzip.decompress(p.read_bytes())[4:]))
idx_case("idx_text_file", "train_labels", lambda p: gzip.compress(b"hello, this is not an IDX file\n"))
idx_case("idx_dims_bigger_than_data", "train_images",
         lambda p: gzip.compress(gzip.decompress(p.read_bytes())[:-7]))
idx_case("idx_extra_data", "test_images", lambda p: gzip.compress(gzip.decompress(p.read_bytes()) + b"\x00" * 5))
idx_case("idx_header_cut", "test_labels", lambda p: gzip.compress(b"\x00\x00\x08\x01\x00\x00"))
idx_case("idx_empty_file", "train_labels", lambda p: b"")
idx_case("idx_truncated_gzip", "train_images", lambda p: p.read_bytes()[: len(p.read_bytes()) // 2])
idx_case("idx_corrupt_gzip", "train_images",
         lambda p: p.read_bytes()[:20] + bytes(b ^ 0x5A for b in p.read_bytes()[20:60]) + p.read_bytes()[60:])
idx_case("idx_label_count_mismatch", "train_labels", lambda p: gzip.compress(idx_bytes(np.zeros(39, np.uint8))))
idx_case("idx_label_out_of_range", "test_labels",
         lambda p: gzip.compress(idx_bytes(np.array([0, 1, 12] + [0] * 17, np.uint8))))
idx_case("idx_labels_not_1d", "train_labels", lambda p: gzip.compress(idx_bytes(np.zeros((40, 2), np.uint8))))
idx_case("idx_images_1d", "test_images", lambda p: gzip.compress(idx_bytes(np.zeros(20, np.uint8))))
idx_case("idx_test_shape_differs", "test_images",
         lambda p: gzip.compress(idx_bytes(np.zeros((20, 3, 3), np.uint8))))


@case("idx_raw_file_short")
def _(tmp: Path):
    paths = write_set(tmp / "idx", gz=False)  # uncompressed files: the size check happens before any read
    target = paths["train_images"]
    target.write_bytes(target.read_bytes()[:-3])
    return ["--dataset", "mnist", "--data-dir", str(tmp / "idx")], str(target)


@case("idx_missing_file_in_folder")
def _(tmp: Path):
    paths = write_set(tmp / "idx")
    paths["test_labels"].unlink()
    return ["--dataset", "mnist", "--data-dir", str(tmp / "idx")], str(tmp / "idx")


@case("idx_dataset_not_found")
def _(tmp: Path):
    return ["--dataset", "mnist", "--data-dir", str(tmp / "empty")], str(tmp / "empty")


# ------------------------------------------------------------------------------------------------ CSV
csv_case("csv_ragged_row", "a,b,c\n1,2,x\n3,4\n5,6,y\n")
csv_case("csv_text_in_numeric_column", "a,b,c\n1,2,x\n3,four,y\n")
csv_case("csv_nan", "a,b,c\n1,2,x\n3,nan,y\n")
csv_case("csv_inf", "1,2,0\n3,-inf,1\n")
csv_case("csv_empty_field", "a,b,c\n1,,x\n3,4,y\n")
csv_case("csv_empty_file", "")
csv_case("csv_blank_lines_only", "\n  \n\n")
csv_case("csv_header_only", "a,b,label\n")
csv_case("csv_single_class", "a,b,label\n1,2,cat\n3,4,cat\n")
csv_case("csv_unknown_label_column", "a,b,label\n1,2,x\n3,4,y\n", "--label-column", "species")
csv_case("csv_label_index_out_of_range", "1,2,0\n3,4,1\n", "--label-column", "5")
csv_case("csv_label_name_without_header", "1,2,0\n3,4,1\n", "--label-column", "label")
csv_case("csv_single_column", "1\n2\n3\n")
csv_case("csv_empty_label", "a,b,c\n1,2,x\n3,4,\n")
csv_case("csv_nan_label", "1,2,0\n3,4,nan\n5,6,1\n")
csv_case("csv_binary_garbage", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
csv_case("csv_nul_bytes", "1,2,0\n3,\x004,1\n")

# ------------------------------------------------------------------------------------------------ NPZ
_X = np.arange(12.0).reshape(6, 2)
_y = np.array([0, 1, 0, 1, 0, 1])
npz_case("npz_without_X", features=_X, y=_y)
npz_case("npz_without_y", X=_X, labels=_y)
npz_case("npz_pickled_objects", X=np.array([{"a": 1}] * 6, dtype=object), y=_y)
npz_case("npz_length_mismatch", X=_X, y=_y[:4])
npz_case("npz_nan", X=np.where(_X > 5, np.nan, _X), y=_y)
npz_case("npz_text_features", X=np.array([["a", "b"]] * 6), y=_y)
npz_case("npz_1d_X", X=np.arange(6.0), y=_y)
npz_case("npz_single_class", X=_X, y=np.zeros(6, int))
npz_case("npz_scalar_y", X=_X, y=np.array(3))


@case("npz_not_a_zip")
def _(tmp: Path):
    path = text_file(tmp, "garbage.npz", b"PK\x03\x04 this is not really a zip archive")
    return ["--dataset", str(path)], str(path)


@case("npz_is_a_single_npy")
def _(tmp: Path):
    path = tmp / "single.npz"
    with open(path, "wb") as f:
        np.save(f, _X)
    return ["--dataset", str(path)], str(path)


# ------------------------------------------------------------------------------------- names and paths
@case("nonexistent_csv")
def _(tmp: Path):
    return ["--dataset", str(tmp / "nope.csv")], str(tmp / "nope.csv")


@case("unknown_dataset_name")
def _(tmp: Path):
    return ["--dataset", "imagenet"], "imagenet"


@case("unsupported_suffix")
def _(tmp: Path):
    path = text_file(tmp, "data.xlsx", "1,2,3\n")
    return ["--dataset", str(path)], str(path)


@case("folder_as_dataset")
def _(tmp: Path):
    (tmp / "folder.csv").mkdir()
    return ["--dataset", str(tmp / "folder.csv")], str(tmp / "folder.csv")


# ---------------------------------------------------------------------------------------------- flags
FLAG_CASES = {
    "flag_negative_lr": (["--lr", "-0.1"], "--lr"),
    "flag_zero_lr": (["--lr", "0"], "--lr"),
    "flag_batch_size_zero": (["--batch-size", "0"], "batch size"),
    "flag_batch_size_text": (["--batch-size", "many"], "batch size"),
    "flag_hidden_not_numeric": (["--hidden", "10,abc"], "hidden sizes"),
    "flag_hidden_zero": (["--hidden", "0"], "hidden sizes"),
    "flag_unknown_activation": (["--activation", "swish"], "--activation"),
    "flag_epochs_zero": (["--epochs", "0"], "--epochs"),
    "flag_momentum_one": (["--momentum", "1"], "--momentum"),
    "flag_dropout_one": (["--dropout", "1"], "--dropout"),
    "flag_label_smoothing_one": (["--label-smoothing", "1"], "--label-smoothing"),
    "flag_label_smoothing_sigmoid": (["--output", "sigmoid", "--loss", "mse", "--label-smoothing", "0.1"],
                                     "softmax output"),
    "flag_lr_text": (["--lr", "fast"], "--lr"),
    "flag_n_samples_tiny": (["--n-samples", "5"], "--n-samples"),
    "flag_fractions_sum_to_one": (["--val-fraction", "0.5", "--test-fraction", "0.5"], "fractions"),
    "flag_n_samples_exceeds_digits": (["--dataset", "digits", "--n-samples", "100000"], "n_samples"),
    "flag_unknown_option": (["--learning-rate", "0.1"], "--learning-rate"),
}
for _name, (_argv, _needle) in FLAG_CASES.items():
    CASES[_name] = (lambda argv, needle: lambda tmp: (list(argv), needle))(_argv, _needle)


# What each file case's message must say about the problem (besides naming the file).
PROBLEM = {
    "idx_bad_magic": "bad IDX magic number 0x00009903",
    "idx_text_file": "bad IDX magic",
    "idx_dims_bigger_than_data": "= 640 bytes of data, but the file holds 633",
    "idx_extra_data": "= 320 bytes of data, but the file holds 321",
    "idx_header_cut": "declares 1 dimensions but the file ends after 6 bytes",
    "idx_empty_file": "too short to be an IDX file (0 bytes)",
    "idx_truncated_gzip": "truncated or corrupt gzip",
    "idx_corrupt_gzip": "truncated or corrupt gzip",
    "idx_label_count_mismatch": "39 labels for 40 images",
    "idx_label_out_of_range": "label 12 at index 2 is outside 0..9",
    "idx_labels_not_1d": "expected a 1-D integer IDX label file",
    "idx_images_1d": "at least 2 dimensions",
    "idx_test_shape_differs": "test images are (3, 3), training images (4, 4)",
    "idx_raw_file_short": "but the file holds 637",
    "idx_missing_file_in_folder": "missing t10k-labels-idx1-ubyte",
    "idx_dataset_not_found": "mlplab data download mnist",
    "csv_ragged_row": "line 3 has 2 fields; expected 3",
    "csv_text_in_numeric_column": "line 3, column 'b': 'four' is not a number",
    "csv_nan": "line 3, column 'b': value 'nan' is not finite",
    "csv_inf": "line 2, column 1: value '-inf' is not finite",
    "csv_empty_field": "line 2, column 'b': an empty field",
    "csv_empty_file": "empty file",
    "csv_blank_lines_only": "empty file",
    "csv_header_only": "header only",
    "csv_single_class": "every label is 'cat'",
    "csv_unknown_label_column": "no column named 'species'",
    "csv_label_index_out_of_range": "label column 5 is out of range",
    "csv_label_name_without_header": "no column named 'label'",
    "csv_single_column": "single column",
    "csv_empty_label": "line 3: empty label",
    "csv_nan_label": "line 2: label 'nan' is not finite",
    "csv_binary_garbage": "not a UTF-8 text file",
    "csv_nul_bytes": "NUL bytes",
    "npz_without_X": "no array 'X' (found: features, y)",
    "npz_without_y": "no array 'y' (found: X, labels)",
    "npz_pickled_objects": "pickled Python objects; refused",
    "npz_length_mismatch": "'X' has 6 rows but 'y' has 4 entries",
    "npz_nan": "'X' holds NaN or inf (first at index [3, 0])",
    "npz_text_features": "'X' has type <U1; expected numbers",
    "npz_1d_X": "'X' has shape (6,)",
    "npz_single_class": "every label in 'y' is '0'",
    "npz_scalar_y": "'y' has no entries",
    "npz_not_a_zip": "not a readable NPZ archive",
    "npz_is_a_single_npy": "a single .npy array",
    "nonexistent_csv": "file not found",
    "unknown_dataset_name": "unknown dataset 'imagenet'",
    "unsupported_suffix": "unsupported file type '.xlsx'",
    "folder_as_dataset": "is a folder",
}


# ------------------------------------------------------------------------------------------- harness
@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """An empty data environment: no $MLPLAB_DATA, an empty cache, no system folder for 'mnist'."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLPLAB_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    spec = dataclasses.replace(real.IDX_DATASETS["mnist"], system_dir=str(tmp_path / "no-system"))
    monkeypatch.setitem(real.IDX_DATASETS, "mnist", spec)
    return tmp_path


def check_outcome(name: str, code: int, stderr: str, needle: str, tmp: Path) -> None:
    lines = stderr.splitlines()
    assert code == 2, stderr
    assert len(lines) == 1 and lines[0].startswith("mlplab: error: "), stderr
    assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    if name in PROBLEM:
        assert PROBLEM[name] in lines[0], f"{PROBLEM[name]!r} not in {lines[0]!r}"
        assert lines[0].count(needle) == 1 or name == "idx_dataset_not_found", lines[0]  # said once, not nested
    assert "Traceback" not in stderr
    assert not (tmp / "out").exists() and not (tmp / "m.json").exists()


def test_corpus_is_large_enough_and_every_file_case_states_its_problem():
    assert len(CASES) >= 30
    assert set(CASES) == set(PROBLEM) | set(FLAG_CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_in_process(name, isolated, capsys):
    argv, needle = CASES[name](isolated)
    code = main(["train", "--epochs", "1", *argv, "--out", str(isolated / "out"), "--json", str(isolated / "m.json")])
    captured = capsys.readouterr()
    check_outcome(name, code, captured.err, needle, isolated)


SUBPROCESS_CASES = ["csv_ragged_row", "npz_pickled_objects", "idx_bad_magic", "flag_negative_lr"]


@pytest.mark.parametrize("name", SUBPROCESS_CASES)
def test_bad_input_real_entry_point(name, tmp_path):
    argv, needle = CASES[name](tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "MLPLAB_DATA"}
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"), MPLBACKEND="Agg")
    env.pop("MLPLAB_DEBUG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "mlplab.cli", "train", "--epochs", "1", *argv,
         "--out", str(tmp_path / "out"), "--json", str(tmp_path / "m.json")],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60,
    )
    check_outcome(name, proc.returncode, proc.stderr, needle, tmp_path)
    assert proc.stdout == ""
