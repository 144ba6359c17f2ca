"""Export: an mlplab model as an ONNX graph or a PyTorch ``nn.Sequential`` (and a Sequential back into an MLP).

    from mlplab.export import export_model, save_onnx, save_torch_state, to_torch, from_torch

``onnx_model``/``save_onnx`` need the ``onnx`` package (``pip install 'mlplab[export]'``), ``to_torch`` and
``from_torch`` need torch; each is imported only when called, so neither is a dependency of mlplab itself.
What can be exported, and under which names, is one table in ``common``; ``model_file`` exports a loaded model
file with its preprocessing (what ``mlplab export`` runs).
"""

from mlplab.export.common import ExportError, MissingDependency, check_exportable
from mlplab.export.model_file import FORMATS, export_model
from mlplab.export.onnx_graph import OPSET, onnx_model, save_onnx
from mlplab.export.torch_nn import from_torch, save_torch_state, to_torch, torch_state_dict

__all__ = ["FORMATS", "OPSET", "ExportError", "MissingDependency", "check_exportable", "export_model", "from_torch",
           "onnx_model", "save_onnx", "save_torch_state", "to_torch", "torch_state_dict"]
