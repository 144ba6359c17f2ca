"""Differential test: everything the compiled kernels accept, against the NumPy engine.

Every activation × output/loss head × optimizer (plain SGD, momentum, Nesterov, Adam, and scikit-learn's classical
momentum with and without Nesterov and folded Adam, whose L2 is α per row) × weight decay (0, > 0) × batch size
(1, 2, 3, 7, 32, 64) × dtype (float32, float64). Each case trains the same tiny network twice from
the same seed for two epochs of 70 rows (so every batch size has a short last batch), once with
``engine="numpy"`` and once with ``engine="auto"``, and compares every parameter, every optimizer state and the
loss history (and, for scikit-learn's L2, the loss's L2 term). With dropout (two hidden layers, every activation ×
optimizer × decay × batch size × dtype) the masks must be the NumPy engine's draws: the same numbers, and the
trainers' generators end in the same state. Tolerances: 1e-12 relative in float64, 1e-5 in float32 (the kernels sum
in other orders, and their float32 tanh is a rational approximation within a few ulp).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from mlplab import kernels, registry
from mlplab.network import MLP
from mlplab.registry import SKLEARN_OPTIMIZERS, make_optimizer
from mlplab.train import Trainer

N, N_X, N_Y = 70, 5, 3
RNG = np.random.default_rng(2024)
X = RNG.standard_normal((N, N_X))
LABELS = RNG.integers(0, N_Y, N)
REAL = RNG.standard_normal((N, N_Y))
BINARY = (RNG.random((N, N_Y)) > 0.5).astype(np.float64)

OPTIMIZERS = {  # name: (optimizer, lr, momentum, nesterov); "sklearn-…": registry.SKLEARN_OPTIMIZERS[optimizer]
    "sgd": ("sgd", 0.02, 0.0, False),
    "momentum": ("sgd", 0.02, 0.5, False),
    "nesterov": ("sgd", 0.02, 0.5, True),
    "adam": ("adam", 0.005, 0.0, False),
    "sklearn-sgd": ("sgd", 0.02, 0.0, False),  # classical momentum 0: the L2 of scikit-learn's sgd, momentum 0
    "sklearn-momentum": ("sgd", 0.02, 0.5, False),
    "sklearn-nesterov": ("sgd", 0.02, 0.5, True),
    "sklearn-adam": ("adam", 0.005, 0.0, False),
}
WEIGHT_DECAYS = (0.0, 1e-2)  # λ; scikit-learn's α (per row, so divided by the batch's rows) is 30 times this
BATCH_SIZES = (1, 2, 3, 7, 32, 64)
TOLERANCE = {"float64": 1e-12, "float32": 1e-5}


def _targets(head: tuple[str, str]):
    output, _ = head
    return {"softmax": LABELS, "sigmoid": BINARY, "identity": REAL}[output]


def _train(engine, sizes, activation, head, optimizer, weight_decay, batch_size, dtype, dropout=0.0):
    name, lr, momentum, nesterov = OPTIMIZERS[optimizer]
    net = MLP(list(sizes), activation, *head, seed=5, dtype=dtype, dropout=dropout)
    if optimizer.startswith("sklearn-"):
        opt = SKLEARN_OPTIMIZERS[name].build(net.params, lr, momentum, nesterov, 30 * weight_decay)
        assert opt.decay_per_row
    else:
        opt = make_optimizer(name, net.params, lr, momentum, nesterov, weight_decay)
    trainer = Trainer(net, opt, epochs=2, batch_size=batch_size, seed=9, engine=engine)
    if engine == "auto":
        assert kernels.supported(net, opt, batch_size, trainer.rng)  # the case really runs a compiled kernel
    trainer.fit(X.astype(dtype), _targets(head))
    return net, opt, trainer


def _assert_close(ref, got, rtol, what):
    (net_a, opt_a, tr_a), (net_b, opt_b, tr_b) = ref, got
    arrays_a = net_a.params | opt_a.state_dict()[0]
    arrays_b = net_b.params | opt_b.state_dict()[0]
    assert arrays_a.keys() == arrays_b.keys()
    for k, a in arrays_a.items():
        # relative to each array's scale, so that entries that pass through 0 do not demand exact zeros
        np.testing.assert_allclose(arrays_b[k], a, rtol=rtol, atol=rtol * float(np.abs(a).max()),
                                   err_msg=f"{what}: {k}")
    assert opt_a.t == opt_b.t, what
    assert tr_a.rng.bit_generator.state == tr_b.rng.bit_generator.state, what  # shuffles and masks: same draws
    assert tr_b.epoch_penalty == pytest.approx(tr_a.epoch_penalty, rel=10 * rtol), what
    assert (tr_a.epoch_penalty > 0) == (opt_a.decay_per_row and opt_a.weight_decay > 0), what
    for ra, rb in zip(tr_a.history, tr_b.history, strict=True):
        assert rb.train_loss == pytest.approx(ra.train_loss, rel=10 * rtol), what
        if not np.isnan(ra.train_accuracy):  # an argmax may flip only on a float tie: at most one row
            assert abs(rb.train_accuracy - ra.train_accuracy) <= 1.01 / N, what


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("head", list(kernels.HEAD_CODES), ids="-".join)
@pytest.mark.parametrize("activation", list(kernels.ACT_CODES))
def test_kernels_match_numpy_engine_everywhere(activation, head, dtype):
    """One network shape, every optimizer × decay × batch size for this activation, head and dtype."""
    sizes = (N_X, 4, N_Y)
    for optimizer, wd, B in itertools.product(OPTIMIZERS, WEIGHT_DECAYS, BATCH_SIZES):
        args = (sizes, activation, head, optimizer, wd, B, dtype)
        _assert_close(_train("numpy", *args), _train("auto", *args), TOLERANCE[dtype],
                      f"{optimizer}, wd={wd}, B={B}")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("sizes", [(N_X, N_Y), (N_X, 6, 4, N_Y)], ids=["no-hidden", "two-hidden"])
def test_kernels_match_numpy_engine_at_other_depths(sizes, dtype):
    for optimizer, wd, B in itertools.product(OPTIMIZERS, WEIGHT_DECAYS, (1, 7, 64)):
        args = (sizes, "tanh", ("softmax", "cross_entropy"), optimizer, wd, B, dtype)
        _assert_close(_train("numpy", *args), _train("auto", *args), TOLERANCE[dtype],
                      f"{optimizer}, wd={wd}, B={B}")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("activation", list(kernels.ACT_CODES))
def test_kernels_match_numpy_engine_with_dropout(activation, dtype):
    """Inverted dropout on both hidden layers: every optimizer × decay × batch size, masks drawn as NumPy draws."""
    sizes = (N_X, 6, 4, N_Y)
    for optimizer, wd, B in itertools.product(OPTIMIZERS, WEIGHT_DECAYS, BATCH_SIZES):
        args = (sizes, activation, ("softmax", "cross_entropy"), optimizer, wd, B, dtype, 0.3)
        _assert_close(_train("numpy", *args), _train("auto", *args), TOLERANCE[dtype],
                      f"{optimizer}, wd={wd}, B={B}, dropout")


def test_the_cases_cover_every_compiled_choice():
    """The grid above is everything the kernels accept: every registry choice with a kernel code."""
    assert set(kernels.ACT_CODES) == {n for n, a in registry.ACTIVATIONS.items() if a.code is not None}
    assert set(kernels.HEAD_CODES) == {k for k, h in registry.HEADS.items() if h.code is not None}
    tables = {o: SKLEARN_OPTIMIZERS if o.startswith("sklearn-") else registry.OPTIMIZERS for o in OPTIMIZERS}
    assert {tables[o][OPTIMIZERS[o][0]].cls for o in OPTIMIZERS} == set(kernels.OPT_CODES)
    assert {o.code for t in (registry.OPTIMIZERS, SKLEARN_OPTIMIZERS) for o in t.values()} == set(
        kernels.OPT_CODES.values())
    net = MLP([N_X, 4, N_Y], "step")
    assert not kernels.supported(net, make_optimizer("sgd", net.params, 0.1), 7)
