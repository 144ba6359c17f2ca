"""Every named choice, one table per concept: activations, output + loss heads, initialisations, optimizers,
learning-rate schedules.

The CLI's ``--activation``/``--output``/… choices, the model-file checks and the compiled kernels' dispatch
codes are all read from these tables, so a name added here is accepted everywhere (``tests/test_registry.py``
names any place that lags behind). The math itself lives in ``layers.py``, ``losses.py`` and ``optim.py``;
this module only names it. ``code`` is the integer the compiled kernels (``kernels.py``) dispatch on; None means
no kernel implements that choice and the NumPy engine trains it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from mlplab import layers, losses, optim
from mlplab.errors import ConfigError

T = TypeVar("T")


def choose(kind: str, table: Mapping[str, T], name: str) -> T:
    """``table[name]``, or a ConfigError naming the unknown ``kind`` and the names to choose from."""
    try:
        return table[name]
    except (KeyError, TypeError):
        raise ConfigError(f"unknown {kind} {name!r}; choose one of {', '.join(table)}") from None


# ------------------------------------------------------------------------------------------ activations
@dataclass(frozen=True)
class Activation:
    """A hidden activation σ: its class (forward and backward), kernel code, and what "auto" init means for it."""

    name: str
    cls: layers.ActivationFunction
    code: int | None
    auto_init: str = "glorot"  # the initialisation "auto" picks
    glorot_gain: float = 1.0  # Glorot's limit is multiplied by this


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("tanh", layers.Tanh, 0),
        Activation("relu", layers.ReLU, 1, auto_init="he"),
        Activation("sigmoid", layers.Sigmoid, 2, glorot_gain=float(np.sqrt(2.0))),
        Activation("identity", layers.Identity, 3),
        Activation("step", layers.Step, None),  # zero gradient: shows why backprop needs derivatives (Q13)
    )
}


# ------------------------------------------------------------------------------------ outputs and losses
@dataclass(frozen=True)
class Output:
    """An output function ŷ = output(ỹ); ``probabilities``: ŷ is a probability (a classifier's output)."""

    name: str
    probabilities: bool


@dataclass(frozen=True)
class Loss:
    """A per-example loss; ``needs_probabilities``: only defined when ŷ is a probability (cross-entropy)."""

    name: str
    needs_probabilities: bool


@dataclass(frozen=True)
class Head:
    """An output fused with its loss (``losses.py``): ŷ, the batch loss and δ = ∂L/∂ỹ in one class."""

    output: str
    loss: str
    cls: losses.HeadFunction
    code: int | None


OUTPUTS: dict[str, Output] = {o.name: o for o in (
    Output("softmax", probabilities=True),
    Output("identity", probabilities=False),
    Output("sigmoid", probabilities=True),
)}
LOSSES: dict[str, Loss] = {o.name: o for o in (
    Loss("cross_entropy", needs_probabilities=True),
    Loss("mse", needs_probabilities=False),
    Loss("half_mse", needs_probabilities=False),  # ½ of mse: scikit-learn's "squared_error"
    Loss("log_loss", needs_probabilities=True),  # cross-entropy reported with ŷ clipped to [ε, 1 − ε] (scikit-learn)
)}
HEADS: dict[tuple[str, str], Head] = {(h.output, h.loss): h for h in (
    Head("softmax", "cross_entropy", losses.SoftmaxCrossEntropy, 0),
    Head("softmax", "mse", losses.SoftmaxSquaredError, 1),
    Head("identity", "mse", losses.IdentitySquaredError, 2),
    Head("sigmoid", "mse", losses.SigmoidSquaredError, 3),
    Head("sigmoid", "cross_entropy", losses.SigmoidCrossEntropy, 4),
    Head("softmax", "log_loss", losses.SoftmaxLogLoss, 5),
    Head("sigmoid", "log_loss", losses.SigmoidLogLoss, 6),
    Head("softmax", "half_mse", losses.halved(losses.SoftmaxSquaredError), None),
    Head("identity", "half_mse", losses.halved(losses.IdentitySquaredError), 7),
    Head("sigmoid", "half_mse", losses.halved(losses.SigmoidSquaredError), None),
)}


def head_for(output: str, loss: str) -> Head:
    """The fused head for a pair of names; a ConfigError names an unknown name or a pair that does not fit."""
    out, lo = choose("output", OUTPUTS, output), choose("loss", LOSSES, loss)
    if lo.needs_probabilities and not out.probabilities:
        probs = " or ".join(n for n, o in OUTPUTS.items() if o.probabilities)
        raise ConfigError(f"loss {loss!r} needs a probability output; use --output {probs}")
    return HEADS[(output, loss)]  # every other pair has a head (tests/test_registry.py)


def is_classifier(output: str) -> bool:
    """A probability output makes a classifier; an identity output a regressor."""
    return choose("output", OUTPUTS, output).probabilities


def n_classes(output: str, n_y: int) -> int:
    """How many classes a network with n_y outputs tells apart: one sigmoid output means two (ŷ = P(class 1))."""
    return 2 if output == "sigmoid" and n_y == 1 else n_y


# ------------------------------------------------------------------------------------- initialisations
Init = Callable[[np.random.Generator, int, int, float, float], tuple[np.ndarray, np.ndarray]]
INITS: dict[str, Init | None] = {
    "auto": None,  # the activation's own choice: He for ReLU, Glorot otherwise (Activation.auto_init)
    "normal": layers.normal_init,
    "glorot": layers.glorot_init,
    "he": layers.he_init,
}


def init_for(init: str, activation: str) -> Init:
    """The function drawing one layer's (W, b) for an init name, "auto" resolved by the activation."""
    if choose("init", INITS, init) is None:
        init = choose("activation", ACTIVATIONS, activation).auto_init
    fn = INITS[init]
    assert fn is not None
    return fn


# ------------------------------------------------------------------------------------------ optimizers
@dataclass(frozen=True)
class OptimizerChoice:
    """An optimizer: its class, its kernel code, and how the shared settings build it."""

    name: str
    cls: type[optim.Optimizer]
    code: int | None
    build: Callable[[dict[str, np.ndarray], float, float, bool, float], optim.Optimizer]


OPTIMIZERS: dict[str, OptimizerChoice] = {o.name: o for o in (
    OptimizerChoice("sgd", optim.SGD, 0, lambda params, lr, momentum, nesterov, weight_decay: optim.SGD(
        params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)),
    OptimizerChoice("adam", optim.Adam, 1, lambda params, lr, momentum, nesterov, weight_decay: optim.Adam(
        params, lr=lr, weight_decay=weight_decay)),  # momentum and nesterov are SGD's
)}


# scikit-learn's conventions of the same two (classical momentum, Adam with its bias corrections folded into the
# step, L2 α per row): what ``sklearn_solver.py`` trains with; not offered by the CLI or the playground.
SKLEARN_OPTIMIZERS: dict[str, OptimizerChoice] = {o.name: o for o in (
    OptimizerChoice("sgd", optim.ClassicalSGD, 2, lambda params, lr, momentum, nesterov, weight_decay:
                    optim.ClassicalSGD(params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay)),
    OptimizerChoice("adam", optim.FoldedAdam, 3, lambda params, lr, momentum, nesterov, weight_decay:
                    optim.FoldedAdam(params, lr=lr, weight_decay=weight_decay)),
)}


def make_optimizer(name: str, params: dict[str, np.ndarray], lr: float, momentum: float = 0.0,
                   nesterov: bool = False, weight_decay: float = 0.0) -> optim.Optimizer:
    """Build an optimizer by name; momentum and nesterov apply to SGD only."""
    return choose("optimizer", OPTIMIZERS, name).build(params, lr, momentum, nesterov, weight_decay)


# ------------------------------------------------------------------------------------------- schedules
SCHEDULES: dict[str, Callable[..., float]] = {
    "constant": optim.constant_lr,
    "step": optim.step_lr,
    "cosine": optim.cosine_lr,
    "invscaling": optim.invscaling_lr,
}


def schedule_lr(name: str, lr0: float, epoch: int, epochs: int, *, step_size: int = 10, gamma: float = 0.5,
                power: float = 0.5, lr_min: float = 0.0) -> float:
    """The learning rate of schedule ``name`` for 0-based ``epoch`` of ``epochs`` (formulas in ``optim.py``)."""
    return choose("schedule", SCHEDULES, name)(lr0, epoch, epochs, step_size=step_size, gamma=gamma, power=power,
                                               lr_min=lr_min)
