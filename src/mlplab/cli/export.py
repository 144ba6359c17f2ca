"""``mlplab export``: a saved model as an ONNX graph or a PyTorch state dict (safetensors)."""

from __future__ import annotations

import click
import numpy as np

from mlplab.cli.model import MODEL_OPTION
from mlplab.modelfile import LoadedModel, load_model

FORMATS = ("onnx", "torch")


def _metadata(model: LoadedModel) -> dict:
    """What a user of the exported file needs besides the weights: task, class, feature and target names."""
    return {"task": model.task, "class_names": model.class_names, "features": model.features,
            "targets": model.targets, "image_shape": list(model.image_shape) if model.image_shape else None,
            "mlplab_version": model.mlplab_version}


@click.command("export")
@MODEL_OPTION
@click.option("--format", "fmt", required=True, type=click.Choice(FORMATS),
              help="onnx: an ONNX graph (opset 17) taking raw rows; torch: a torch.nn.Sequential state dict "
                   "as safetensors.")
@click.option("--output", "-o", "out", required=True, type=click.Path(dir_okay=False),
              help="The file to write (e.g. model.onnx or state.safetensors); replaced atomically.")
def export_cmd(model_path: str, fmt: str, out: str) -> None:
    """Export a saved model to ONNX or to a PyTorch state dict.

    onnx: input "X" (N, n_x) float32, raw rows as `mlplab predict` takes them (the stored standardisation is in
    the graph); output "y_hat" (N, n_y) float32, the probabilities or values `mlplab predict` prints (a
    regressor's stored target scaling is undone in the graph).

    torch: keys 0.weight, 0.bias, 2.weight, … of Sequential(Linear, activation, …, Linear[, Softmax]); the input
    standardisation and target scaling are in the file's metadata (input_mean, input_std, target_mean,
    target_std).

    A step activation has no faithful counterpart and is refused.
    """
    from mlplab.export import OPSET, save_onnx, save_torch_state

    model = load_model(model_path)
    net, target = model.net, model.target_scaler
    if fmt == "onnx":
        save_onnx(out, net, model.scaler, target, _metadata(model))
        what = f"ONNX opset {OPSET}, input X (N, {net.sizes[0]}) float32 → y_hat (N, {net.sizes[-1]}) float32"
    else:
        save_torch_state(out, net, model.scaler, target, _metadata(model))
        what = f"torch.nn.Sequential state dict, {np.dtype(net.dtype).name}"
    click.echo(f"wrote {out} ({what})")
