"""Model files: exact round trip, and refusal of hostile or inconsistent files (one line, exit code 2)."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import save_file

from mlplab.cli import main
from mlplab.errors import ModelFileError
from mlplab.modelfile import load_model, read_safetensors, save_model, write_safetensors
from mlplab.network import MLP
from mlplab.runner import RunConfig, run, save_run_model

SRC = Path(__file__).resolve().parents[1] / "src" / "mlplab"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small trained classifier with dropout, saved once."""
    res = run(RunConfig(dataset="moons", n_samples=300, hidden=(12, 6), epochs=5, dropout=0.25, seed=3))
    path = tmp_path_factory.mktemp("model") / "moons.safetensors"
    save_run_model(res, path)
    return res, path


def test_round_trip_predicts_exactly_what_the_trained_network_did(trained):
    res, path = trained
    m = load_model(path)
    X_raw = res.prepared.dataset.X
    Xs = res.prepared.scaler.transform(X_raw, res.net.dtype)
    assert np.array_equal(m.forward(X_raw), res.net.forward(Xs))
    assert np.array_equal(m.predict(X_raw), res.net.predict(Xs))
    for k, v in res.net.params.items():
        assert np.array_equal(m.net.params[k], v) and m.net.params[k].dtype == v.dtype
    assert m.net.dropout == 0.25  # kept in the file; forward() above ignores it
    assert m.class_names == ["upper", "lower"] and m.task == "classification"
    assert m.split["dataset"] == "moons" and m.split["seed"] == 3
    assert np.array_equal(m.scaler.mean, res.prepared.scaler.mean)


def test_float64_regressor_round_trip(tmp_path):
    net = MLP([3, 4, 2], "relu", "identity", "mse", seed=1, dtype="float64")
    save_model(tmp_path / "r.safetensors", net, None, None, "regression")
    m = load_model(tmp_path / "r.safetensors")
    X = np.random.default_rng(0).normal(size=(7, 3))
    assert np.array_equal(m.forward(X), net.forward(X)) and m.net.dtype == np.float64


def _raw(path: Path) -> tuple[dict, dict]:
    tensors, meta = read_safetensors(path)
    return dict(tensors), meta


def _rewrite(src: Path, dst: Path, tensors=None, meta=None, edit=None) -> Path:
    t, m = _raw(src)
    if edit:
        edit(t, m)
    write_safetensors(dst, tensors or t, meta or m)
    return dst


def _header_file(dst: Path, header: dict, data: bytes = b"") -> Path:
    h = json.dumps(header).encode()
    dst.write_bytes(struct.pack("<Q", len(h)) + h + data)
    return dst


def _case(name: str, src: Path, dst: Path) -> Path:
    """Write one hostile or inconsistent variant of the model file ``src`` to ``dst``."""
    good = src.read_bytes()
    (n,) = struct.unpack("<Q", good[:8])
    if name == "empty":
        dst.write_bytes(b"")
    elif name == "text":
        dst.write_text("W1,b1\n1,2\n" * 20)
    elif name == "pickle":
        dst.write_bytes(b"\x80\x04\x95" + b"\x00" * 64)  # what a pickle starts with
    elif name == "header-too-long":
        dst.write_bytes(struct.pack("<Q", 2**40) + good[8:])
    elif name == "truncated":
        dst.write_bytes(good[: len(good) - 17])
    elif name == "header-not-json":
        dst.write_bytes(good[:8] + b"\xff" * n + good[8 + n :])
    elif name == "overlapping":
        _header_file(dst, {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                           "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
                           "__metadata__": {"mlplab": "{}"}}, b"\0" * 12)
    elif name == "metadata-not-json":
        t, _ = _raw(src)
        save_file(t, str(dst), metadata={"mlplab": "{'architecture': oops"})
    elif name == "not-mlplab":
        t, _ = _raw(src)
        save_file(t, str(dst))
    elif name == "extra-tensor":
        _rewrite(src, dst, edit=lambda t, m: t.__setitem__("W9", np.zeros((2, 2), np.float32)))
    elif name == "missing-tensor":
        _rewrite(src, dst, edit=lambda t, m: t.pop("b2"))
    elif name == "wrong-shape":
        _rewrite(src, dst, edit=lambda t, m: t.__setitem__("W2", np.zeros((6, 12), np.float32)))
    elif name == "wrong-dtype":
        _rewrite(src, dst, edit=lambda t, m: t.__setitem__("W1", t["W1"].astype(np.float64)))
    elif name == "nan-weights":
        _rewrite(src, dst, edit=lambda t, m: t["W1"].__setitem__((0, 0), np.nan))
    elif name == "unknown-activation":
        _rewrite(src, dst, edit=lambda t, m: m["architecture"].__setitem__("activation", "os.system"))
    elif name == "absurd-sizes":
        _rewrite(src, dst, edit=lambda t, m: m["architecture"].__setitem__("sizes", [2, 10**9, 10**9, 2]))
    elif name == "declared-list-lies":
        _rewrite(src, dst, edit=lambda t, m: m["tensors"]["W1"].__setitem__("shape", [2, 13]))
    elif name == "future-version":
        _rewrite(src, dst, edit=lambda t, m: m.__setitem__("format_version", 99))
    elif name == "class-names":
        _rewrite(src, dst, edit=lambda t, m: m.__setitem__("class_names", ["a", "b", "c"]))
    elif name == "bad-scaler":
        _rewrite(src, dst, edit=lambda t, m: t["scaler.std"].__setitem__(0, 0.0))
    elif name == "bad-split":
        _rewrite(src, dst, edit=lambda t, m: m["split"].__setitem__("seed", "zero"))
    elif name == "deep-json":
        t, _ = _raw(src)
        save_file(t, str(dst), metadata={"mlplab": "[" * 100000 + "]" * 100000})
    elif name == "checkpoint-not-model":
        _rewrite(src, dst, edit=lambda t, m: m.__setitem__("format", "mlplab-checkpoint"))
    else:
        raise AssertionError(name)
    return dst


HOSTILE = {
    "empty": "not a safetensors file", "text": "not a safetensors file", "pickle": "not a safetensors",
    "header-too-long": "header length", "truncated": "truncated", "header-not-json": "not JSON",
    "overlapping": "overlap", "metadata-not-json": "metadata is not JSON", "not-mlplab": "no mlplab metadata",
    "extra-tensor": "unexpected tensor", "missing-tensor": "missing tensor", "wrong-shape": "W2",
    "wrong-dtype": "float64", "nan-weights": "NaN", "unknown-activation": "activation",
    "absurd-sizes": "sizes", "declared-list-lies": "tensor list", "future-version": "version",
    "class-names": "class names", "bad-scaler": "positive", "bad-split": "split settings",
    "deep-json": "not JSON", "checkpoint-not-model": "not an mlplab model",
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_model_files_are_refused_in_one_line(trained, tmp_path, capsys, case):
    _, good = trained
    bad = _case(case, good, tmp_path / f"{case}.safetensors")
    with pytest.raises(ModelFileError, match=HOSTILE[case]):
        load_model(bad)
    (tmp_path / "in.csv").write_text("0.1,0.2\n")
    assert main(["predict", "-m", str(bad), "-i", str(tmp_path / "in.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlplab: error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert str(bad) in err


def test_missing_model_file(tmp_path, capsys):
    assert main(["evaluate", "-m", str(tmp_path / "nope.safetensors")]) == 2
    assert "not found" in capsys.readouterr().err


def test_writes_are_atomic(trained, tmp_path):
    res, _ = trained
    path = tmp_path / "m.safetensors"
    save_run_model(res, path)
    before = path.read_bytes()
    with pytest.raises(ValueError):  # a non-finite value in the metadata cannot be written
        write_safetensors(path, {"a": np.zeros(1)}, {"x": float("nan")})
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors"]


def test_no_pickle_in_the_package():
    for f in SRC.rglob("*.py"):
        text = f.read_text()
        assert "import pickle" not in text and "allow_pickle=True" not in text, f
