"""``mlplab export``: a saved model as an ONNX graph or a PyTorch state dict (safetensors)."""

from __future__ import annotations

import click

from mlplab.cli.model import MODEL_OPTION
from mlplab.export.model_file import FORMATS, export_model
from mlplab.modelfile import load_model


@click.command("export")
@MODEL_OPTION
@click.option("--format", "fmt", required=True, type=click.Choice(FORMATS),
              help="onnx: an ONNX graph (opset 17) taking raw rows; torch: a torch.nn.Sequential state dict "
                   "as safetensors.")
@click.option("--output", "-o", "out", required=True, type=click.Path(dir_okay=False),
              help="The file to write (e.g. model.onnx or state.safetensors); replaced atomically.")
def export_cmd(model_path: str, fmt: str, out: str) -> None:
    """Export a saved model to ONNX or to a PyTorch state dict.

    onnx: input "X" (N, n_x) float32, raw rows as `mlplab predict` takes them (missing cells NaN if the model
    imputes; the stored imputation and standardisation are in the graph); output "y_hat" (N, n_y) float32, the
    probabilities or values `mlplab predict` prints (a regressor's stored target scaling is undone in the graph).

    torch: keys 0.weight, 0.bias, 2.weight, … of Sequential(Linear, activation, …, Linear[, Softmax]); the
    preprocessing is in the file's metadata (input_mean, input_std, target_mean, target_std, encoding, impute).

    Refused, in one line: a step activation (no faithful counterpart); text (one-hot) columns for onnx.
    """
    click.echo(f"wrote {out} ({export_model(load_model(model_path), fmt, out)})")
