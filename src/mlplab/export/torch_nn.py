"""An mlplab network as a ``torch.nn.Sequential``, and back; and its state dict as a safetensors file.

The Sequential is ``Linear, σ, Linear, σ, …, Linear`` followed by ``Softmax(dim=1)`` or ``Sigmoid()`` for those
outputs (nothing for identity), so its state-dict keys are PyTorch's own: ``0.weight``, ``0.bias``, ``2.weight``, …
torch's ``Linear.weight`` is (out, in): the transpose of mlplab's W (n_in, n_out), i.e. the lab's W_h itself.

torch is optional: it is imported only inside ``to_torch``/``from_torch``. ``torch_state_dict`` and
``save_torch_state`` need NumPy and safetensors only. The input standardisation (and a regressor's target scaling)
is not a layer of the Sequential: ``save_torch_state`` stores it, exactly (float64 as JSON numbers), in the
file's metadata, so the file loads strictly into the same Sequential that ``to_torch`` builds.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

import numpy as np
from safetensors.numpy import save_file

from mlplab.atomic import atomic_path
from mlplab.data.split import Standardizer
from mlplab.export.common import ACTIVATIONS, OUTPUTS, ExportError, check_exportable, require
from mlplab.network import MLP

if TYPE_CHECKING:
    import torch

STATE_FORMAT = "mlplab-torch-state"


def module_names(net: MLP) -> list[str]:
    """The torch.nn class of each module of the Sequential, in order, e.g. [Linear, Tanh, Linear, Softmax]."""
    check_exportable(net)
    names = ["Linear"]
    for _ in range(net.n_layers - 1):  # a hidden activation only between two Linear layers
        names += [ACTIVATIONS[net.activation][1], "Linear"]
    out = OUTPUTS[net.output][1]
    return [*names, out] if out else names


def describe(net: MLP) -> list[str]:
    """Each module as PyTorch prints it: ["Linear(in_features=64, out_features=32)", "Tanh()", …]."""
    sizes, lin, out = net.sizes, 0, []
    for name in module_names(net):
        if name == "Linear":
            out.append(f"Linear(in_features={sizes[lin]}, out_features={sizes[lin + 1]}, bias=True)")
            lin += 1
        else:
            out.append("Softmax(dim=1)" if name == "Softmax" else f"{name}()")
    return out


def torch_state_dict(net: MLP) -> dict[str, np.ndarray]:
    """{"0.weight": W1ᵀ (n_h, n_x), "0.bias": b1, "2.weight": W2ᵀ, …} as NumPy arrays in the net's dtype."""
    state, l = {}, 0
    for index, name in enumerate(module_names(net)):
        if name == "Linear":
            l += 1
            state[f"{index}.weight"] = np.ascontiguousarray(net.params[f"W{l}"].T)
            state[f"{index}.bias"] = net.params[f"b{l}"].copy()
    return state


def save_torch_state(path: str | os.PathLike, net: MLP, scaler: Standardizer | None = None,
                     target_scaler: Standardizer | None = None, metadata: dict | None = None) -> None:
    """Write the Sequential's state dict as safetensors (atomically; no pickle, no torch needed).

    ``safetensors.torch.load_file(path)`` gives a dict that ``to_torch``'s Sequential loads with strict=True.
    The file's ``__metadata__["mlplab"]`` (JSON) holds the module list, ``input_mean``/``input_std`` to apply
    as (x − mean) / std before the Sequential, a regressor's ``target_mean``/``target_std`` (ŷ · std + mean),
    and ``metadata``.
    """
    info: dict = {"format": STATE_FORMAT, "modules": describe(net), "dtype": net.dtype.name,
                  "architecture": net.config()}
    if scaler is not None:
        info |= {"input_mean": scaler.mean.tolist(), "input_std": scaler.std.tolist()}
    if target_scaler is not None:
        info |= {"target_mean": target_scaler.mean.tolist(), "target_std": target_scaler.std.tolist()}
    info |= metadata or {}
    text = json.dumps(info, allow_nan=False, separators=(",", ":"))
    tensors = torch_state_dict(net)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata={"format": "pt", "mlplab": text})


# ------------------------------------------------------------------------------------- torch itself
def to_torch(net: MLP) -> torch.nn.Sequential:
    """A ``torch.nn.Sequential`` computing the same ŷ as ``net.forward`` (same dtype, weights copied).

    Dropout is an inference no-op in mlplab, so no Dropout module is added. Raises ExportError for a network
    that cannot be exported (step), MissingDependency without torch.
    """
    require("torch")  # a one-line MissingDependency with the install command when absent
    import torch
    nn = torch.nn
    dtype = torch.float64 if net.dtype == np.float64 else torch.float32
    modules: list[torch.nn.Module] = []
    lin = 0
    for name in module_names(net):
        if name == "Linear":
            modules.append(nn.Linear(net.sizes[lin], net.sizes[lin + 1], dtype=dtype))
            lin += 1
        else:
            modules.append(nn.Softmax(dim=1) if name == "Softmax" else getattr(nn, name)())
    seq = nn.Sequential(*modules)
    seq.load_state_dict({k: torch.from_numpy(v) for k, v in torch_state_dict(net).items()}, strict=True)
    return seq


def from_torch(seq: torch.nn.Sequential, loss: str | None = None) -> MLP:
    """An ``MLP`` with the weights of ``seq``: Linear layers with one activation kind (Tanh, ReLU, Sigmoid or
    Identity) between them, then optionally Softmax(dim=1) or Sigmoid() as the output (otherwise identity).

    loss: the MLP's loss (default: cross_entropy for a softmax/sigmoid output, mse for identity).
    dtype follows the parameters (float32 or float64). Anything else is refused with an ExportError.
    """
    require("torch")  # a one-line MissingDependency with the install command when absent
    import torch
    nn = torch.nn
    if not isinstance(seq, nn.Sequential):
        raise ExportError(f"from_torch needs a torch.nn.Sequential; got {type(seq).__name__}")
    modules = list(seq)
    output = "identity"
    if modules and type(modules[-1]) is nn.Softmax:
        if modules[-1].dim not in (1, -1):
            raise ExportError(f"Softmax(dim={modules[-1].dim}) at the end: only dim=1 (over the outputs) matches")
        output, modules = "softmax", modules[:-1]
    elif modules and type(modules[-1]) in (nn.Sigmoid, nn.Identity):
        output = "sigmoid" if type(modules[-1]) is nn.Sigmoid else "identity"
        modules = modules[:-1]
    by_class = {getattr(nn, torch_name): name for name, (_, torch_name) in ACTIVATIONS.items()}
    for i, m in enumerate(modules):
        want_linear = i % 2 == 0
        if (type(m) is not nn.Linear) if want_linear else (type(m) not in by_class):
            what = "a Linear" if want_linear else f"an activation ({', '.join(c.__name__ for c in by_class)})"
            raise ExportError(f"from_torch: module {i} is {type(m).__name__}, expected {what}; mlplab takes "
                              "Linear, activation, Linear, …, Linear, then optionally Softmax(dim=1) or Sigmoid()")
    linears = [m for m in modules[0::2] if isinstance(m, nn.Linear)]  # all of them: checked just above
    activations = modules[1::2]
    if not linears or len(linears) != len(activations) + 1:
        raise ExportError("from_torch: the Sequential must start and end with a Linear layer "
                          "(before an optional Softmax or Sigmoid)")
    kinds = {by_class[type(m)] for m in activations}
    if len(kinds) > 1:
        raise ExportError(f"from_torch: mlplab uses one activation between all layers; got {', '.join(sorted(kinds))}")
    sizes = [linears[0].in_features]
    for i, lin in enumerate(linears):
        if lin.in_features != sizes[-1]:
            raise ExportError(f"from_torch: Linear {2 * i} takes {lin.in_features} inputs but the layer before "
                              f"gives {sizes[-1]}")
        sizes.append(lin.out_features)
    dtypes = {p.dtype for p in seq.parameters()}
    if not dtypes <= {torch.float32, torch.float64} or len(dtypes) != 1:
        raise ExportError(f"from_torch: parameters must all be float32 or all float64; got {sorted(map(str, dtypes))}")
    dtype = "float64" if dtypes == {torch.float64} else "float32"
    net = MLP(sizes, activation=kinds.pop() if kinds else "tanh", output=output,
              loss=loss or ("mse" if output == "identity" else "cross_entropy"), dtype=dtype, seed=0)
    for l, lin in enumerate(linears, start=1):
        net.params[f"W{l}"][...] = lin.weight.detach().cpu().numpy().T
        net.params[f"b{l}"][...] = lin.bias.detach().cpu().numpy() if lin.bias is not None else 0
    return net
