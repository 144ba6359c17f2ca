"""What can leave mlplab, and under which names: the one table both exporters (ONNX, PyTorch) read.

A network exports when its hidden activation and its output have a faithful counterpart in ONNX and in
``torch.nn``. ``step`` (Heaviside, kept for the lab's Q13) has none in ``torch.nn``, so it is refused for both,
with one line naming it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from mlplab.errors import MlplabError
from mlplab.network import MLP


class ExportError(MlplabError):
    """A model that cannot be exported faithfully (e.g. a step activation); exit code 2."""


class MissingDependency(MlplabError, ImportError):
    """An optional package (onnx, onnxruntime, torch) that an export needs is not installed."""

    exit_code = 1


# mlplab name → (ONNX operator or None for no node, torch.nn class name)
ACTIVATIONS: dict[str, tuple[str | None, str]] = {
    "tanh": ("Tanh", "Tanh"),
    "relu": ("Relu", "ReLU"),
    "sigmoid": ("Sigmoid", "Sigmoid"),
    "identity": (None, "Identity"),
}
# mlplab output → (ONNX operator or None, torch.nn class name or None for no module)
OUTPUTS: dict[str, tuple[str | None, str | None]] = {
    "softmax": ("Softmax", "Softmax"),
    "sigmoid": ("Sigmoid", "Sigmoid"),
    "identity": (None, None),
}
INSTALL_HINT = {"onnx": "pip install 'mlplab[export]'", "onnxruntime": "pip install onnxruntime",
                "torch": "pip install torch"}


def require(module: str) -> ModuleType:
    """Import an optional dependency, or raise a MissingDependency that says how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependency(f"{module} is not installed; {INSTALL_HINT.get(module, f'pip install {module}')}"
                                ) from None


def check_exportable(net: MLP) -> None:
    """Raise an ExportError naming the first part of ``net`` with no faithful ONNX/torch counterpart."""
    if net.activation not in ACTIVATIONS and net.n_layers > 1:
        raise ExportError(f"activation {net.activation!r} cannot be exported (no ONNX or torch.nn counterpart); "
                          f"exportable activations: {', '.join(ACTIVATIONS)}")
    if net.output not in OUTPUTS:
        raise ExportError(f"output {net.output!r} cannot be exported; exportable outputs: {', '.join(OUTPUTS)}")
