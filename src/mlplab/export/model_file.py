"""Export a loaded model file: its network with everything ``mlplab predict`` applies around it.

``predict`` turns raw rows into ŷ in four steps: fill missing cells (a table model's imputer), standardise
(the scaler), the network, and undo a regressor's target scaling. The ONNX graph holds all four. A model that
one-hot encodes text columns takes strings, which a graph with one float input "X" cannot: ONNX export refuses it
with one line, while the torch state keeps the encoding in its metadata beside the standardisation (a Sequential
never holds the preprocessing).
"""

from __future__ import annotations

import os

import numpy as np

from mlplab.export.common import ExportError
from mlplab.export.onnx_graph import OPSET, save_onnx
from mlplab.export.torch_nn import save_torch_state
from mlplab.modelfile import LoadedModel

FORMATS = ("onnx", "torch")


def model_metadata(model: LoadedModel) -> dict:
    """What a user of the exported file needs besides the weights: task, names, table encoding, imputation."""
    return {
        "task": model.task, "class_names": model.class_names, "features": model.features,
        "targets": model.targets, "image_shape": list(model.image_shape) if model.image_shape else None,
        "encoding": model.encoding.as_json() if model.encoding is not None else None,
        "impute": model.imputer.as_json() if model.imputer is not None else None,
        "mlplab_version": model.mlplab_version,
    }


def text_columns(model: LoadedModel) -> list[str]:
    """The input columns the model one-hot encodes (their cells are text)."""
    return [c.name for c in model.encoding.columns if c.categories is not None] if model.encoding else []


def export_model(model: LoadedModel, fmt: str, path: str | os.PathLike) -> str:
    """Write ``model`` as ``fmt`` ("onnx" or "torch") to ``path`` atomically; returns a one-line description.

    Raises ExportError for what cannot be exported faithfully (a step activation; text columns for ONNX).
    """
    net, fill = model.net, model.imputer.values if model.imputer is not None else None
    if fmt == "onnx":
        text = text_columns(model)
        if text:
            raise ExportError(f"the model one-hot encodes text column(s) {', '.join(map(repr, text))}, which an ONNX "
                              "graph of float inputs cannot take; --format torch keeps the encoding in its metadata")
        save_onnx(path, net, model.scaler, model.target_scaler, model_metadata(model), fill)
        return f"ONNX opset {OPSET}, input X (N, {net.sizes[0]}) float32 → y_hat (N, {net.sizes[-1]}) float32"
    if fmt == "torch":
        save_torch_state(path, net, model.scaler, model.target_scaler, model_metadata(model))
        return f"torch.nn.Sequential state dict, {np.dtype(net.dtype).name}"
    raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
