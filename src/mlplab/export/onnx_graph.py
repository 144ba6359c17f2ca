"""An mlplab network as an ONNX graph (opset 17), built with the ``onnx`` package's helper API; no torch needed.

The graph takes the same raw rows as ``mlplab predict`` and returns the same ŷ:

    X (N, n_x) float32 → Where(IsNaN(X), fill, X)        a table model's stored imputation (missing cells NaN)
      → Sub(mean) → Div(std)                              the model file's input standardisation
      → Gemm(W1, b1) → σ → … → Gemm(W_L, b_L)             z_l = a_{l−1} W_l + b_l, σ = Tanh | Relu | Sigmoid
      → Softmax(axis=1) | Sigmoid | nothing               the output head
      → Mul(std_y) → Add(mean_y)                          a regressor's stored target scaling, back to its units
      → y_hat (N, n_y) float32

The graph is float32 whatever the model's dtype (a float64 model's weights are rounded to float32): float32 is
what ONNX runtimes run fastest and everywhere. The batch dimension "N" is dynamic. Opset 17 with IR version 8
(both from ONNX 1.12, 2022) keeps the file readable by older runtimes. Steps that do nothing (an identity
scaler, an identity activation or output) get no node.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import numpy as np

from mlplab import __version__
from mlplab.atomic import atomic_path
from mlplab.data.split import Standardizer
from mlplab.export.common import ACTIVATIONS, OUTPUTS, check_exportable, require
from mlplab.network import MLP

if TYPE_CHECKING:
    import onnx

OPSET = 17
IR_VERSION = 8  # the IR version that goes with opset 17
INPUT, OUTPUT = "X", "y_hat"


def _rescales(scaler: Standardizer | None) -> bool:
    """True unless the scaler is absent or the identity (mean 0, std 1): only then does it get nodes."""
    return scaler is not None and (bool(np.any(scaler.mean)) or not bool(np.all(scaler.std == 1.0)))


def onnx_model(net: MLP, scaler: Standardizer | None = None, target_scaler: Standardizer | None = None,
               metadata: dict | None = None, impute: np.ndarray | None = None) -> onnx.ModelProto:
    """The ONNX ``ModelProto`` computing ŷ from raw rows X (N, n_x) → y_hat (N, n_y), float32.

    impute: (n_x,) values replacing missing (NaN) inputs, before the standardisation (None: no imputation).
    scaler: the input standardisation x ↦ (x − mean) / std (None: inputs used as they are).
    target_scaler: a regressor's target standardisation, undone at the end: ŷ ↦ ŷ · std + mean.
    metadata: extra facts (class names, feature names, …) stored as JSON under the model's "mlplab" property.
    Raises ExportError for a network that cannot be exported, MissingDependency without ``onnx``.
    """
    check_exportable(net)
    require("onnx")  # a one-line MissingDependency with the install command when absent
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    n_x, n_y = net.sizes[0], net.sizes[-1]
    initializers = []

    def const(name: str, value: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
        return name

    steps: list[tuple[str, list[str], dict, str]] = []  # (operator, constant inputs, attributes, output name)
    if scaler is not None and _rescales(scaler):
        steps.append(("Sub", [const("input_mean", scaler.mean)], {}, "X_centred"))
        steps.append(("Div", [const("input_std", scaler.std)], {}, "X_scaled"))
    act_op = ACTIVATIONS[net.activation][0] if net.n_layers > 1 else None
    for l in range(1, net.n_layers + 1):
        steps.append(("Gemm", [const(f"W{l}", net.params[f"W{l}"]), const(f"b{l}", net.params[f"b{l}"])], {},
                      f"z{l}"))
        if l < net.n_layers and act_op is not None:
            steps.append((act_op, [], {}, f"a{l}"))
    out_op = OUTPUTS[net.output][0]
    if out_op == "Softmax":
        steps.append(("Softmax", [], {"axis": 1}, "probabilities"))
    elif out_op is not None:
        steps.append((out_op, [], {}, "probabilities"))
    if target_scaler is not None and _rescales(target_scaler):
        steps.append(("Mul", [const("target_std", target_scaler.std)], {}, "y_scaled"))
        steps.append(("Add", [const("target_mean", target_scaler.mean)], {}, "y_unscaled"))

    nodes, current = [], INPUT
    if impute is not None:  # x_j ← fill_j where x_j is NaN
        fill = const("impute_values", np.asarray(impute, np.float64).reshape(n_x))
        nodes.append(helper.make_node("IsNaN", [INPUT], ["X_missing"], name="isnan_X_missing"))
        nodes.append(helper.make_node("Where", ["X_missing", fill, INPUT], ["X_filled"], name="where_X_filled"))
        current = "X_filled"
    for i, (op, consts, attrs, out) in enumerate(steps):
        out = OUTPUT if i == len(steps) - 1 else out  # the last step's output is the graph's output
        nodes.append(helper.make_node(op, [current, *consts], [out], name=f"{op.lower()}_{out}", **attrs))
        current = out

    graph = helper.make_graph(
        nodes, "mlplab_mlp",
        [helper.make_tensor_value_info(INPUT, TensorProto.FLOAT, ["N", n_x])],
        [helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, ["N", n_y])],
        initializers,
    )
    model = helper.make_model(graph, producer_name="mlplab", producer_version=__version__,
                              opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)
    model.doc_string = (f"mlplab MLP {'-'.join(map(str, net.sizes))} {net.activation}, output {net.output}: "
                        f"raw rows {INPUT} (N, {n_x}) float32 → {OUTPUT} (N, {n_y}) float32")
    info = {"architecture": net.config(), "input_imputed": impute is not None,
            "input_standardised": _rescales(scaler),
            "target_rescaled": _rescales(target_scaler), **(metadata or {})}
    helper.set_model_props(model, {"mlplab": json.dumps(info, allow_nan=False)})
    onnx.checker.check_model(model, full_check=True)
    return model


def save_onnx(path: str | os.PathLike, net: MLP, scaler: Standardizer | None = None,
              target_scaler: Standardizer | None = None, metadata: dict | None = None,
              impute: np.ndarray | None = None) -> None:
    """Build the graph (see ``onnx_model``), check it with ``onnx.checker``, and write it atomically."""
    data = onnx_model(net, scaler, target_scaler, metadata, impute).SerializeToString()
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
