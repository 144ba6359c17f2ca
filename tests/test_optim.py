"""Optimizers against torch.optim, step by step, and the learning-rate schedules."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mlplab.optim import SGD, Adam
from mlplab.registry import make_optimizer, schedule_lr


def run_both(make_ours, make_torch, steps=5, weight_decay=0.0):
    rng = np.random.default_rng(0)
    params = {"W1": rng.normal(size=(3, 4)), "b1": rng.normal(size=4)}
    t_params = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    ours = make_ours(params)
    theirs = make_torch([
        {"params": [t_params["W1"]], "weight_decay": weight_decay},
        {"params": [t_params["b1"]], "weight_decay": 0.0},  # mlplab decays weights only
    ])
    for _ in range(steps):
        grads = {k: rng.normal(size=v.shape) for k, v in params.items()}
        ours.step(grads)
        for k, p in t_params.items():
            p.grad = torch.tensor(grads[k])
        theirs.step()
    for k in params:
        np.testing.assert_allclose(params[k], t_params[k].detach().numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("momentum,nesterov", [(0.0, False), (0.9, False), (0.9, True)])
@pytest.mark.parametrize("wd", [0.0, 0.01])
def test_sgd_matches_torch(momentum, nesterov, wd):
    run_both(lambda p: SGD(p, lr=0.1, momentum=momentum, nesterov=nesterov, weight_decay=wd),
             lambda g: torch.optim.SGD(g, lr=0.1, momentum=momentum, nesterov=nesterov), weight_decay=wd)


@pytest.mark.parametrize("wd", [0.0, 0.01])
def test_adam_matches_torch(wd):
    run_both(lambda p: Adam(p, lr=0.01, weight_decay=wd), lambda g: torch.optim.Adam(g, lr=0.01), weight_decay=wd)


def test_optimizer_state_round_trip_continues_identically():
    rng = np.random.default_rng(1)
    grads = [{"W1": rng.normal(size=(2, 2))} for _ in range(6)]
    a = {"W1": np.ones((2, 2))}
    b = {"W1": np.ones((2, 2))}
    opt_a = make_optimizer("adam", a, 0.1)
    for g in grads[:3]:
        opt_a.step(g)
    arrays, scalars = opt_a.state_dict()
    b["W1"][...] = a["W1"]
    opt_b = make_optimizer("adam", b, 0.1)
    opt_b.load_state_dict({k: v.copy() for k, v in arrays.items()}, dict(scalars))
    for g in grads[3:]:
        opt_a.step(g)
        opt_b.step(g)
    assert np.array_equal(a["W1"], b["W1"])


def test_schedules():
    assert schedule_lr("constant", 0.1, 7, 10) == 0.1
    assert schedule_lr("step", 1.0, 25, 100, step_size=10, gamma=0.5) == 0.25
    assert schedule_lr("cosine", 1.0, 0, 10) == 1.0
    assert schedule_lr("cosine", 1.0, 5, 10) == pytest.approx(0.5)
    assert schedule_lr("cosine", 1.0, 10, 10) == pytest.approx(0.0, abs=1e-12)
    assert schedule_lr("invscaling", 1.0, 3, 10, power=0.5) == pytest.approx(0.5)
    lrs = [schedule_lr("cosine", 1.0, e, 20) for e in range(20)]
    assert all(a > b for a, b in zip(lrs, lrs[1:], strict=False)) and math.isclose(lrs[0], 1.0)


@pytest.mark.parametrize("kwargs", [dict(lr=-1), dict(lr=0), dict(lr=float("nan")), dict(lr=0.1, weight_decay=-1)])
def test_bad_settings_are_refused(kwargs):
    from mlplab.errors import ConfigError

    with pytest.raises(ConfigError):
        SGD({"W1": np.zeros(2)}, **kwargs)
