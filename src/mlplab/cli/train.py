"""``mlplab train``: train a network from flags or a preset, show progress, write metrics and figures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from mlplab.atomic import check_writable, write_json
from mlplab.checkpoint import CheckpointEvery, resume_plan
from mlplab.cli import display
from mlplab.cli.environment import data_paths, engine_settings
from mlplab.cli.options import BATCH, HIDDEN, NONNEG, POSITIVE
from mlplab.config import RunConfig
from mlplab.data.registry import TASKS
from mlplab.presets import DESCRIPTIONS, PRESETS
from mlplab.registry import ACTIVATIONS, INITS, LOSSES, OPTIMIZERS, OUTPUTS, SCHEDULES
from mlplab.runner import RunResult, original_targets, predict_original, run, save_run_model

D = RunConfig()
F = TypeVar("F", bound=Callable[..., Any])


def _default(name: str) -> str:
    value = getattr(D, name)
    if name == "hidden":
        value = ",".join(map(str, value))
    if name == "batch_size" and value is None:
        value = "full"
    return f" [default: {value}]"


def _opt(*decls: str, help: str, key: str | None = None, **kwargs: Any) -> Callable[[F], F]:
    """A train option whose help ends with its default, read from RunConfig (``key``)."""
    return click.option(*decls, help=help + (_default(key) if key else ""), **kwargs)


UNIT = click.FloatRange(0, 1, max_open=True)
PRESET_HELP = "Start from a named configuration; other flags override it. " + "; ".join(
    f"{k}: {v}" for k, v in DESCRIPTIONS.items()
)
TRAIN_OPTIONS = [
    _opt("--preset", type=click.Choice(sorted(PRESETS)), help=PRESET_HELP),
    _opt("--dataset", "-d", key="dataset",
         help="Dataset name (circles, moons, xor, spiral, blobs, sine, …) or a file: .csv/.tsv, .parquet, "
              ".feather/.arrow or .npz."),
    _opt("--n-samples", type=click.IntRange(min=10),
         help="Toy sets: number of points [default: 1000]; other sets: a seeded, stratified subsample of the "
              "training rows [default: all]."),
    _opt("--data-dir", type=click.Path(file_okay=False),
         help="Folder holding MNIST/Fashion-MNIST IDX files (then $MLPLAB_DATA, /usr/share/datasets, the cache)."),
    _opt("--label-column", multiple=True,
         help="Tables: the label column, by header name or 0-based index; several (y1,y2 or the flag "
              "repeated) are the targets of a multi-target regression. [default: last]"),
    _opt("--task", type=click.Choice(list(TASKS)), key="task",
         help="auto: text or integer labels are classes, fractional numbers regression targets; regression "
              "also implies --output identity --loss mse (targets standardised for training, scores in their "
              "own units)."),
    _opt("--categorical", type=click.Choice(["auto", "onehot", "error"]), key="categorical",
         help="Tables: text feature columns. auto: one-hot encode a column in which no cell is a number (a "
              "stray word in a numeric column stays an error); onehot: every column holding text; error: refuse "
              "text. Categories are stored in the model file."),
    _opt("--impute", type=click.Choice(["error", "mean", "median"]), key="impute",
         help="Tables: missing cells (empty, NA, NaN, NULL…): refuse them (error), or fill each column with "
              "its training-split mean or median (stored in the model file)."),
    _opt("--noise", type=NONNEG, key="noise", help="Toy sets: noise level."),
    _opt("--hidden", type=HIDDEN, key="hidden", help="Hidden layer sizes: 10, or 256,128."),
    _opt("--activation", type=click.Choice(list(ACTIVATIONS)), key="activation", help="Hidden activation σ."),
    _opt("--output", type=click.Choice(list(OUTPUTS)), key="output", help="Output function."),
    _opt("--loss", type=click.Choice(list(LOSSES)), key="loss", help="Loss."),
    _opt("--optimizer", type=click.Choice(list(OPTIMIZERS)), key="optimizer", help="Optimizer."),
    _opt("--lr", type=POSITIVE, key="lr", help="Learning rate η."),
    _opt("--momentum", type=UNIT, key="momentum", help="SGD momentum μ."),
    _opt("--nesterov/--no-nesterov", default=None, help="Nesterov momentum (SGD with momentum > 0)."),
    _opt("--weight-decay", type=NONNEG, key="weight_decay", help="L2 weight decay λ on weights."),
    _opt("--schedule", type=click.Choice(list(SCHEDULES)), key="schedule", help="Learning-rate schedule."),
    _opt("--batch-size", "-b", type=BATCH, key="batch_size",
         help="Batch size: 1 is online SGD, 'full' is batch gradient descent."),
    _opt("--epochs", "-e", type=click.IntRange(min=1), key="epochs", help="Epochs."),
    _opt("--patience", type=click.IntRange(min=1),
         help="Early stopping: stop after this many epochs without validation improvement. [default: off]"),
    _opt("--init", type=click.Choice(list(INITS)), key="init",
         help="Weight init (auto: He for ReLU, Glorot otherwise; normal: N(0, σ²))."),
    _opt("--init-scale", type=POSITIVE, key="init_scale", help="σ of the 'normal' init."),
    _opt("--dropout", type=UNIT, key="dropout", help="Dropout probability on hidden units."),
    _opt("--label-smoothing", type=UNIT, key="label_smoothing",
         help="ε: train on targets (1 − ε)·one-hot + ε/K (softmax outputs)."),
    _opt("--seed", type=int, key="seed", help="Random seed (data, init, shuffling)."),
    _opt("--dtype", type=click.Choice(["float32", "float64"]), key="dtype", help="Floating-point type."),
    _opt("--val-fraction", type=UNIT, key="val_fraction", help="Share held out for validation."),
    _opt("--test-fraction", type=UNIT, key="test_fraction",
         help="Share held out for test (datasets without their own test set)."),
]


def config_from_flags(ctx: click.Context, preset: str | None, flags: dict) -> RunConfig:
    """RunConfig defaults, then the preset, then every flag given on the command line."""
    given = {k: v for k, v in flags.items()
             if ctx.get_parameter_source(k) == click.core.ParameterSource.COMMANDLINE}
    if "label_column" in given:  # repeated and comma-separated forms: one "y1,y2" string
        given["label_column"] = ",".join(given["label_column"]) or None
    return D.with_(**{**PRESETS.get(preset or "", {}), **given})


def train_options(func: F) -> F:
    """Add every training flag to a click command."""
    for option in reversed(TRAIN_OPTIONS):
        func = option(func)
    return func


@click.command("train")
@train_options
@click.option("--out", "-o", type=click.Path(file_okay=False),
              help="Folder for metrics.json and the PNG figures. [default: runs/DATASET]")
@click.option("--json", "json_path", type=click.Path(dir_okay=False),
              help="Also write the metrics JSON to this file.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary table.")
@click.option("--save", "save_path", type=click.Path(dir_okay=False),
              help="Write the trained model to this .safetensors file (for `mlplab evaluate` / `mlplab predict`).")
@click.option("--checkpoint-every", type=click.IntRange(min=1),
              help="Write OUT/checkpoint.safetensors every N epochs, for --resume. [default: off]")
@click.option("--resume", "resume_dir", type=click.Path(file_okay=False),
              help="Continue the run checkpointed in DIR to its configured end; its settings come from the "
                   "checkpoint, so give no training flags. [default OUT: DIR]")
@click.pass_context
def train_cmd(ctx: click.Context, preset: str | None, out: str | None, json_path: str | None, quiet: bool,
              save_path: str | None, checkpoint_every: int | None, resume_dir: str | None, **flags: Any) -> None:
    """Train a network; with no flags, the lab's 2-10-2 tanh network on the circles set.

    Writes OUT/metrics.json ({"config", "history", "test"}), OUT/curves.png and, for 2-D data,
    OUT/boundary.png.
    """
    setup = None
    if resume_dir:
        _no_training_flags(ctx, ["preset", *flags])
        config, setup, every = resume_plan(resume_dir)
        checkpoint_every = checkpoint_every or every
        out = out or resume_dir
    else:
        config = config_from_flags(ctx, preset, flags)
    out_dir = Path(out) if out else Path("runs") / Path(config.dataset).stem
    check_writable(out_dir, "--out")  # before training, not after
    for flag, path in (("--json", json_path), ("--save", save_path)):
        if path:
            check_writable(Path(path).parent, flag)
    progress = display.EpochProgress(config.epochs, enabled=not quiet)
    callbacks: list = [progress]
    if checkpoint_every:
        callbacks.append(CheckpointEvery(out_dir, config.as_json(), checkpoint_every))
    with progress:
        env = engine_settings()
        result = run(config, callbacks=callbacks, setup=setup, engine=env.engine, threads=env.threads,
                     data_paths=data_paths())
    written = write_outputs(result, out_dir, json_path)
    if save_path:
        save_run_model(result, save_path)
        written.append(Path(save_path))
    if not quiet:
        display.summary(result, written)


def _no_training_flags(ctx: click.Context, names: list[str]) -> None:
    """--resume takes every training setting from the checkpoint: refuse flags that would be ignored."""
    given = [n for n in names if ctx.get_parameter_source(n) == click.core.ParameterSource.COMMANDLINE]
    if given:
        flags = ", ".join("--" + n.replace("_", "-") for n in given)
        raise click.UsageError(f"--resume continues the stored run with its own settings; drop {flags}")


def write_outputs(result: RunResult, out_dir: Path, json_path: str | None) -> list[Path]:
    """metrics.json, curves.png and, for 2-D inputs, boundary.png; returns the paths written."""
    from mlplab import plots  # matplotlib: imported when a figure is drawn, not for every `mlplab` start

    metrics = result.as_json()
    written = [out_dir / "metrics.json", out_dir / "curves.png"]
    write_json(written[0], metrics)
    plots.plot_history(result.history, written[1], title=f"{result.config.dataset}: {result.net.sizes}")
    ds = result.prepared.dataset
    if ds.task == "regression" and result.test_regression is not None:
        s, prep = result.prepared.splits, result.prepared
        part, X, Y = ("test", s.X_test, s.y_test) if len(s.X_test) else ("validation", s.X_val, s.y_val)
        if len(X):
            path = out_dir / "pred_vs_true.png"
            names = ds.meta.get("targets") or [f"y{j}" for j in range(result.net.sizes[-1])]
            plots.plot_pred_vs_true(original_targets(prep, Y), original_targets(prep, result.net.forward(X)),
                                    names, path, title=f"{result.config.dataset}: {part} split, "
                                    f"R² {result.test_regression['r2']:.3f}")
            written.append(path)
    if ds.X.shape[1] == 2 and ds.task == "classification":
        path = out_dir / "boundary.png"
        acc = result.test_accuracy
        plots.plot_decision_boundary(
            lambda X: predict_original(result.net, result.prepared.scaler, X), ds.X, ds.y, path,
            title=f"{ds.name}, {result.config.activation}: test accuracy {acc:.3f}",
        )
        written.append(path)
    if json_path:
        write_json(json_path, metrics)
        written.append(Path(json_path))
    return written
