"""``mlplab gradcheck``: backprop against central finite differences, per parameter (Q12)."""

from __future__ import annotations

import click
import numpy as np
from rich.console import Console
from rich.table import Table

from mlplab.cli.options import HIDDEN, POSITIVE
from mlplab.gradcheck import check_gradients
from mlplab.network import MLP
from mlplab.registry import ACTIVATIONS, LOSSES, OUTPUTS, is_classifier, n_classes


@click.command("gradcheck")
@click.option("--n-x", type=click.IntRange(min=1), default=3, show_default=True, help="Inputs.")
@click.option("--hidden", type=HIDDEN, default="5,4", show_default=True, help="Hidden sizes.")
@click.option("--n-y", type=click.IntRange(min=1), default=3, show_default=True, help="Outputs.")
@click.option("--activation", type=click.Choice(list(ACTIVATIONS)), default="tanh", show_default=True)
@click.option("--output", type=click.Choice(list(OUTPUTS)), default="softmax", show_default=True)
@click.option("--loss", type=click.Choice(list(LOSSES)), default="cross_entropy", show_default=True)
@click.option("--batch", type=click.IntRange(min=1), default=4, show_default=True, help="Examples in the batch.")
@click.option("--eps", type=POSITIVE, default=1e-6, show_default=True, help="Finite-difference step.")
@click.option("--tol", type=POSITIVE, default=1e-6, show_default=True, help="Largest relative error accepted.")
@click.option("--seed", type=int, default=0, show_default=True)
def gradcheck_cmd(n_x: int, hidden: tuple[int, ...], n_y: int, activation: str, output: str, loss: str, batch: int,
                  eps: float, tol: float, seed: int) -> None:
    """Compare backprop with finite differences on a random float64 network; exit 1 above --tol."""
    net = MLP([n_x, *hidden, n_y], activation, output, loss, seed=seed, dtype="float64")
    rng = np.random.default_rng(seed + 1)
    X = rng.normal(size=(batch, n_x))
    y = rng.integers(0, n_classes(output, n_y), batch) if is_classifier(output) else rng.normal(size=(batch, n_y))
    errors = check_gradients(net, X, y, eps)
    table = Table(title=f"gradcheck {'-'.join(map(str, net.sizes))} {activation}, {output} + {loss}")
    for col in ("parameter", "shape", "max abs error", "max rel error", "ok"):
        table.add_column(col)
    worst = 0.0
    for e in errors:
        worst = max(worst, e.max_rel)
        table.add_row(e.name, str(net.params[e.name].shape), f"{e.max_abs:.2e}", f"{e.max_rel:.2e}",
                      "yes" if e.max_rel <= tol else "[red]NO[/red]")
    Console().print(table)
    if worst > tol:
        raise click.exceptions.Exit(1)
