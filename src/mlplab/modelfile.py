"""Model files: weights in safetensors, everything else as JSON metadata. No pickle, ever.

A model file is a safetensors file whose tensors are the network's parameters ("W1", "b1", …) and the
input standardisation ("scaler.mean", "scaler.std", float64), and whose ``__metadata__`` holds one key,
"mlplab", a JSON document::

    {"format": "mlplab-model", "format_version": 1, "mlplab_version": "0.1.0",
     "architecture": net.config(), "task": "classification", "class_names": [...],
     "image_shape": [28, 28] | null, "pixel_max": 255.0 | null, "split": {...} | null,
     "target_scaler": {"mean": [...], "std": [...]} | null, "targets": ["y1", ...] | null,
     "encoding": {"columns": [{"name": "color", "categories": ["red", "white"]}, {"name": "x", ...}]} | null,
     "impute": {"strategy": "mean", "values": [...]} | null,
     "tensors": {"W1": {"dtype": "float32", "shape": [784, 100]}, ...}}

``target_scaler`` (regression with an identity output): the network was trained on standardised targets
z = (y − mean) / std, so its outputs map back to the targets' own units by y = z · std + mean (per output).
``targets`` names the regression target columns.
``encoding`` (models trained on a table): the input columns by name, in order; a column with ``categories``
is one-hot encoded over them (n_x counts one input per category), a column without is a number.
``impute`` (trained with --impute): raw row x (after one-hot) has each NaN replaced by ``values[j]`` of its
column j, before the standardisation ``scaler`` is applied.

Loading never trusts the file: the header is parsed and checked (length, JSON, offsets, sizes) before any
array is read, every tensor's name, dtype and shape must match what the architecture implies and what the
metadata declares, and all values must be finite. Any problem is a one-line ModelFileError.
The low-level ``write_safetensors``/``read_safetensors`` pair is shared with checkpoints.
"""

from __future__ import annotations

import json
import math
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load as st_load
from safetensors.numpy import save_file as st_save_file

from mlplab import __version__
from mlplab.atomic import atomic_path
from mlplab.config import RunConfig, is_int
from mlplab.data.encoding import Imputer, TableEncoding
from mlplab.data.split import Standardizer
from mlplab.errors import ConfigError, ModelFileError
from mlplab.network import MLP
from mlplab.registry import ACTIVATIONS, INITS, LOSSES, OUTPUTS, n_classes

MODEL_FORMAT = "mlplab-model"
FORMAT_VERSION = 1
MAX_HEADER_BYTES = 16 * 2**20  # a header this large is not one mlplab wrote
MAX_FILE_BYTES = 2 * 2**30
MAX_LAYER_SIZE = 10**7
MAX_LAYERS = 1000
MAX_PARAMS = 2**31
DTYPE_CODES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "U8": np.uint8}
DTYPE_NAMES = {np.dtype(v).name: k for k, v in DTYPE_CODES.items()}
TASKS = ("classification", "regression")


# ------------------------------------------------------------------------------ safetensors, checked
def write_safetensors(path: str | os.PathLike, tensors: dict[str, np.ndarray], meta: dict) -> None:
    """Write ``tensors`` and ``meta`` (JSON under the "mlplab" metadata key) atomically."""
    arrays = {k: np.ascontiguousarray(v) for k, v in tensors.items()}
    text = json.dumps(meta, allow_nan=False, separators=(",", ":"))
    with atomic_path(path) as tmp:
        st_save_file(arrays, str(tmp), metadata={"mlplab": text})


def read_safetensors(path: str | os.PathLike, what: str = "model file") -> tuple[dict[str, np.ndarray], dict]:
    """(tensors, meta) from a safetensors file, refusing anything malformed with a ModelFileError.

    Checks, before trusting the library with the bytes: the 8-byte header length against the file size,
    the header as a JSON object, every entry's dtype, shape and byte range (inside the data, sized to match,
    not overlapping), and the "mlplab" metadata as a JSON object.
    """
    path = Path(path)
    name = f"{what} {path}"
    if not path.is_file():
        raise ModelFileError(f"{name}: not found (or not a file)")
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ModelFileError(f"{name}: {size} bytes is larger than any mlplab file ({MAX_FILE_BYTES})")
    data = path.read_bytes()
    if len(data) < 8:
        raise ModelFileError(f"{name}: not a safetensors file (only {len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > MAX_HEADER_BYTES or 8 + n > len(data):
        raise ModelFileError(f"{name}: not a safetensors file or truncated (header length {n}, file {len(data)} bytes)")
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as e:
        raise ModelFileError(f"{name}: safetensors header is not JSON ({e})") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{name}: safetensors header is not a JSON object")
    meta_raw = header.pop("__metadata__", None)
    _check_entries(name, header, len(data) - 8 - n)
    if not isinstance(meta_raw, dict) or not isinstance(meta_raw.get("mlplab"), str):
        raise ModelFileError(f"{name}: no mlplab metadata (not written by mlplab)")
    try:
        meta = json.loads(meta_raw["mlplab"])
    except (json.JSONDecodeError, RecursionError) as e:
        raise ModelFileError(f"{name}: mlplab metadata is not JSON ({e})") from None
    if not isinstance(meta, dict):
        raise ModelFileError(f"{name}: mlplab metadata is not a JSON object")
    try:
        tensors = st_load(data)
    except Exception as e:  # the library's own checks: anything it refuses is a bad file
        raise ModelFileError(f"{name}: unreadable safetensors data ({' '.join(str(e).split())})") from None
    return tensors, meta


def _check_entries(name: str, header: dict, data_len: int) -> None:
    """Each tensor entry: a known dtype, a sane shape, a byte range inside the data that fits the shape."""
    ranges = []
    for key, entry in header.items():
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise ModelFileError(f"{name}: tensor {key!r} has a malformed header entry")
        dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if dtype not in DTYPE_CODES:
            raise ModelFileError(f"{name}: tensor {key!r} has unsupported dtype {dtype!r}")
        if not (isinstance(shape, list) and len(shape) <= 8
                and all(is_int(d) and 0 <= d <= MAX_PARAMS for d in shape)):
            raise ModelFileError(f"{name}: tensor {key!r} has an invalid shape {shape!r}")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(is_int(o) for o in offsets)):
            raise ModelFileError(f"{name}: tensor {key!r} has invalid data offsets {offsets!r}")
        begin, end = offsets
        nbytes = math.prod(shape) * np.dtype(DTYPE_CODES[dtype]).itemsize
        if not 0 <= begin <= end <= data_len or end - begin != nbytes:
            raise ModelFileError(
                f"{name}: tensor {key!r} claims bytes {begin}..{end} for shape {shape} but the data holds "
                f"{data_len} bytes (truncated or inconsistent)"
            )
        ranges.append((begin, end))
    ranges.sort()
    for (_, e1), (b2, _) in zip(ranges, ranges[1:], strict=False):
        if b2 < e1:
            raise ModelFileError(f"{name}: tensor data ranges overlap")


def expect_tensors(name: str, tensors: dict[str, np.ndarray], expected: dict[str, tuple[tuple, str]]) -> None:
    """Every expected tensor present with its (shape, dtype), and no other."""
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing:
        raise ModelFileError(f"{name}: missing tensor(s) {', '.join(missing)}")
    if extra:
        raise ModelFileError(f"{name}: unexpected tensor(s) {', '.join(extra)}")
    for key, (shape, dtype) in expected.items():
        a = tensors[key]
        if tuple(a.shape) != tuple(shape) or a.dtype != np.dtype(dtype):
            raise ModelFileError(
                f"{name}: tensor {key} is {a.dtype.name}{list(a.shape)}, expected {np.dtype(dtype).name}{list(shape)}"
            )
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise ModelFileError(f"{name}: tensor {key} holds NaN or infinite values")


# ------------------------------------------------------------------------------------ architecture
def param_shapes(arch: dict) -> dict[str, tuple[tuple, str]]:
    """Expected {"W1": ((n_x, n_h), dtype), "b1": ((n_h,), dtype), …} for an architecture dict."""
    sizes, dtype = arch["sizes"], arch["dtype"]
    out: dict[str, tuple[tuple, str]] = {}
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
        out[f"W{l}"] = ((n_in, n_out), dtype)
        out[f"b{l}"] = ((n_out,), dtype)
    return out


def check_architecture(name: str, arch: object) -> dict[str, Any]:
    """Validate a stored ``net.config()`` before building anything from it; returns it."""
    if not isinstance(arch, dict):
        raise ModelFileError(f"{name}: architecture is missing or not an object")
    sizes = arch.get("sizes")
    if not (isinstance(sizes, list) and 2 <= len(sizes) <= MAX_LAYERS
            and all(is_int(s) and 1 <= s <= MAX_LAYER_SIZE for s in sizes)):
        raise ModelFileError(f"{name}: invalid layer sizes {sizes!r}")
    if sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False)) > MAX_PARAMS:
        raise ModelFileError(f"{name}: absurd network size {sizes}")
    checks = {
        "activation": lambda v: isinstance(v, str) and v in ACTIVATIONS,
        "output": lambda v: isinstance(v, str) and v in OUTPUTS,
        "loss": lambda v: isinstance(v, str) and v in LOSSES,
        "init": lambda v: isinstance(v, str) and v in INITS,
        "dtype": lambda v: v in ("float32", "float64"),
        "dropout": lambda v: isinstance(v, int | float) and 0 <= v < 1,
        "init_scale": lambda v: isinstance(v, int | float) and math.isfinite(v),
        "seed": lambda v: v is None or is_int(v),
    }
    for key, ok in checks.items():
        if key not in arch or not ok(arch[key]):
            raise ModelFileError(f"{name}: invalid or unknown {key} {arch.get(key)!r}")
    return arch


def build_net(name: str, arch: dict, params: dict[str, np.ndarray]) -> MLP:
    """An MLP with the stored architecture and weights (the architecture checked already)."""
    try:
        net = MLP(**arch)
    except ConfigError as e:
        raise ModelFileError(f"{name}: {e}") from None
    except TypeError as e:  # a field this version of MLP does not know
        raise ModelFileError(f"{name}: unsupported architecture field ({e})") from None
    net.set_params({k: params[k] for k in net.params})
    return net


# -------------------------------------------------------------------------------------- model files
@dataclass
class LoadedModel:
    """A network ready for inference, with what is needed to feed it raw inputs and name its outputs."""

    net: MLP
    scaler: Standardizer
    class_names: list[str] | None
    task: str
    image_shape: tuple[int, ...] | None = None
    pixel_max: float | None = None
    split: dict | None = None
    features: list[str] | None = None
    mlplab_version: str = ""
    format_version: int = FORMAT_VERSION
    meta: dict = field(default_factory=dict)
    target_scaler: Standardizer | None = None
    targets: list[str] | None = None
    encoding: TableEncoding | None = None
    imputer: Imputer | None = None

    @property
    def n_features(self) -> int:
        return self.net.sizes[0]

    def forward(self, X_raw: np.ndarray) -> np.ndarray:
        """ŷ for raw (unscaled) rows: probabilities for a classifier, values in the targets' units for a regressor."""
        y_hat = self.net.forward(self.scaler.transform(self.fill(X_raw), self.net.dtype))
        return self.target_scaler.inverse(y_hat) if self.target_scaler is not None else y_hat

    def fill(self, X_raw: np.ndarray) -> np.ndarray:
        """Raw rows with missing cells (NaN) filled by the stored imputer (unchanged without one)."""
        return self.imputer.transform(X_raw) if self.imputer is not None else X_raw

    def predict(self, X_raw: np.ndarray) -> np.ndarray:
        """Class indices for a classifier, ŷ (in the targets' units) for a regressor."""
        if self.task == "regression":
            return self.forward(X_raw)
        return self.net.predict(self.scaler.transform(self.fill(X_raw), self.net.dtype))


def save_model(path: str | os.PathLike, net: MLP, scaler: Standardizer | None, class_names: list[str] | None,
               task: str, *, image_shape: tuple[int, ...] | None = None, pixel_max: float | None = None,
               split: dict | None = None, features: list[str] | None = None,
               target_scaler: Standardizer | None = None, targets: list[str] | None = None,
               encoding: TableEncoding | None = None, imputer: Imputer | None = None) -> None:
    """Write a model file atomically (see the module docstring for the layout).

    scaler None means inputs are used as they are. ``split`` holds the data and split settings of the
    training run (a ``RunConfig.as_json()``), so ``mlplab evaluate`` can rebuild the exact test split.
    Dropout is kept in the architecture (so the file describes the trained model) and ignored at inference.
    """
    if task not in TASKS:
        raise ConfigError(f"task must be classification or regression; got {task!r}")
    n_x = net.sizes[0]
    scaler = scaler or Standardizer.identity(n_x)
    tensors = {k: v for k, v in net.params.items()}
    tensors["scaler.mean"] = np.asarray(scaler.mean, np.float64).reshape(n_x)
    tensors["scaler.std"] = np.asarray(scaler.std, np.float64).reshape(n_x)
    meta = {
        "format": MODEL_FORMAT, "format_version": FORMAT_VERSION, "mlplab_version": __version__,
        "architecture": net.config(), "task": task,
        "class_names": [str(c) for c in class_names] if class_names is not None else None,
        "image_shape": list(image_shape) if image_shape else None,
        "pixel_max": float(pixel_max) if pixel_max is not None else None,
        "split": split,
        "features": [str(f) for f in features] if features is not None else None,
        "target_scaler": target_scaler.as_json() if target_scaler is not None else None,
        "targets": [str(t) for t in targets] if targets is not None else None,
        "encoding": encoding.as_json() if encoding is not None else None,
        "impute": imputer.as_json() if imputer is not None else None,
        "tensors": {k: {"dtype": v.dtype.name, "shape": list(v.shape)} for k, v in tensors.items()},
    }
    write_safetensors(path, tensors, meta)


def load_model(path: str | os.PathLike) -> LoadedModel:
    """Read and verify a model file; any inconsistency is a one-line ModelFileError."""
    name = f"model file {path}"
    tensors, meta = read_safetensors(path, "model file")
    if meta.get("format") != MODEL_FORMAT:
        raise ModelFileError(f"{name}: not an mlplab model (format {meta.get('format')!r})")
    version = meta.get("format_version")
    if not is_int(version) or not 1 <= version <= FORMAT_VERSION:
        raise ModelFileError(f"{name}: unsupported format version {version!r} (this mlplab reads ≤ {FORMAT_VERSION})")
    arch = check_architecture(name, meta.get("architecture"))
    n_x, n_y = arch["sizes"][0], arch["sizes"][-1]
    expected = param_shapes(arch) | {"scaler.mean": ((n_x,), "float64"), "scaler.std": ((n_x,), "float64")}
    declared = meta.get("tensors")
    as_declared = {k: {"dtype": np.dtype(d).name, "shape": list(s)} for k, (s, d) in expected.items()}
    if declared != as_declared:
        raise ModelFileError(f"{name}: the metadata's tensor list does not match its architecture")
    expect_tensors(name, tensors, expected)
    if not (tensors["scaler.std"] > 0).all():
        raise ModelFileError(f"{name}: scaler.std must be positive")
    task = meta.get("task")
    if task not in TASKS:
        raise ModelFileError(f"{name}: invalid task {task!r}")
    class_names = _check_class_names(name, meta.get("class_names"), task, arch["output"], n_y)
    image_shape = meta.get("image_shape")
    if image_shape is not None:
        if not (isinstance(image_shape, list) and image_shape and all(is_int(d) and d >= 1 for d in image_shape)
                and math.prod(image_shape) == n_x):
            raise ModelFileError(f"{name}: image_shape {image_shape!r} does not match {n_x} inputs")
        image_shape = tuple(image_shape)
    pixel_max = meta.get("pixel_max")
    if pixel_max is not None and not (
        isinstance(pixel_max, int | float) and math.isfinite(pixel_max) and pixel_max > 0
    ):
        raise ModelFileError(f"{name}: invalid pixel_max {pixel_max!r}")
    split = meta.get("split")
    if split is not None:
        _check_split(name, split)
    features = meta.get("features")
    if features is not None and not (isinstance(features, list) and len(features) == n_x
                                     and all(isinstance(f, str) for f in features)):
        raise ModelFileError(f"{name}: features must list {n_x} column names")
    target_scaler = _check_target_scaler(name, meta.get("target_scaler"), task, arch["output"], n_y)
    targets = meta.get("targets")
    if targets is not None and not (isinstance(targets, list) and len(targets) == n_y
                                    and all(isinstance(t, str) for t in targets)):
        raise ModelFileError(f"{name}: targets must list {n_y} column names")
    encoding, imputer = _check_table_codes(name, meta.get("encoding"), meta.get("impute"), n_x)
    net = build_net(name, arch, tensors)
    scaler = Standardizer(tensors["scaler.mean"], tensors["scaler.std"])
    return LoadedModel(net, scaler, class_names, task, image_shape, pixel_max, split, features,
                       str(meta.get("mlplab_version", "")), version, meta, target_scaler, targets, encoding, imputer)


def _check_table_codes(name: str, enc: object, imp: object, n_x: int) -> tuple[TableEncoding | None, Imputer | None]:
    """The stored table encoding (n_x features in all) and imputation values (n_x finite numbers)."""
    encoding = imputer = None
    if enc is not None:
        try:
            encoding = TableEncoding.from_json(enc, n_x, name)
        except ValueError as e:
            raise ModelFileError(str(e)) from None
    if imp is not None:
        values = imp.get("values") if isinstance(imp, dict) else None
        if not (isinstance(imp, dict) and imp.get("strategy") in ("mean", "median") and isinstance(values, list)
                and len(values) == n_x and all(isinstance(v, int | float) and not isinstance(v, bool)
                                               and math.isfinite(v) for v in values)):
            raise ModelFileError(f"{name}: invalid impute (needs a strategy and {n_x} finite values)")
        imputer = Imputer(imp["strategy"], np.array(values, np.float64))
    return encoding, imputer


def _check_target_scaler(name: str, ts: Any, task: str, output: str, n_y: int) -> Standardizer | None:
    """The stored target standardisation: n_y finite means and positive finite stds, for an identity regressor."""
    if ts is None:
        return None
    ok = (isinstance(ts, dict) and set(ts) == {"mean", "std"} and task == "regression" and output == "identity"
          and all(isinstance(ts[k], list) and len(ts[k]) == n_y
                  and all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in ts[k])
                  for k in ("mean", "std"))
          and all(v > 0 for v in ts["std"]))
    if not ok:
        raise ModelFileError(f"{name}: invalid target_scaler (needs {n_y} means and positive stds, "
                             "for a regression with an identity output)")
    return Standardizer(np.array(ts["mean"], np.float64), np.array(ts["std"], np.float64))


def _check_split(name: str, split: object) -> None:
    """The stored run settings that ``mlplab evaluate`` rebuilds the test split from must form a valid RunConfig."""
    try:
        RunConfig.from_json(split)
    except ConfigError as e:
        raise ModelFileError(f"{name}: invalid split settings ({e})") from None


def _check_class_names(name: str, names: object, task: str, output: str, n_y: int) -> list[str] | None:
    if names is None:
        return None
    if not (isinstance(names, list) and all(isinstance(c, str) for c in names)):
        raise ModelFileError(f"{name}: class_names must be a list of strings")
    want = n_classes(output, n_y)
    if task == "classification" and len(names) != want:
        raise ModelFileError(f"{name}: {len(names)} class names for a network with {n_y} outputs")
    return names
