"""The engine's gradients against PyTorch autograd (the oracle), finite differences and the lab's reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mlplab import MLP, reference
from mlplab.gradcheck import check_gradients, numerical_gradient
from mlplab.losses import log_softmax, softmax
from mlplab.registry import HEADS

torch.set_default_dtype(torch.float64)
ACTIVATIONS = ["tanh", "relu", "sigmoid", "identity"]
PAIRS = sorted(HEADS)  # (output, loss)
TORCH_ACT = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid, "identity": lambda z: z}


def torch_loss(net: MLP, X: np.ndarray, Y: np.ndarray):
    """The same network and batch-mean loss written with torch ops; returns (loss, {name: tensor})."""
    params = {k: torch.tensor(v, requires_grad=True) for k, v in net.params.items()}
    a = torch.tensor(X)
    for l in range(1, net.n_layers + 1):
        a = a @ params[f"W{l}"] + params[f"b{l}"]
        if l < net.n_layers:
            a = TORCH_ACT[net.activation](a)
    T = torch.tensor(Y)
    pair = (net.output, net.loss)
    if pair == ("softmax", "cross_entropy"):
        per_example = -(T * torch.log_softmax(a, dim=1)).sum(dim=1)
    elif pair == ("softmax", "mse"):
        per_example = ((torch.softmax(a, dim=1) - T) ** 2).sum(dim=1)
    elif pair == ("identity", "mse"):
        per_example = ((a - T) ** 2).sum(dim=1)
    elif pair == ("sigmoid", "mse"):
        per_example = ((torch.sigmoid(a) - T) ** 2).sum(dim=1)
    elif pair[1] == "log_loss":  # scikit-learn's: the value with ŷ clipped to [ε, 1 − ε], the gradient unclipped
        eps = torch.finfo(a.dtype).eps
        if pair[0] == "softmax":
            exact = -(T * torch.log_softmax(a, dim=1)).sum(dim=1)
            clipped = -(T * torch.log(torch.softmax(a, dim=1).clamp(eps, 1 - eps))).sum(dim=1)
        else:
            exact = torch.nn.functional.binary_cross_entropy_with_logits(a, T, reduction="none").sum(dim=1)
            p = torch.sigmoid(a).clamp(eps, 1 - eps)
            clipped = -(T * torch.log(p) + (1 - T) * torch.log(1 - p)).sum(dim=1)
        per_example = exact + (clipped - exact).detach()
    elif pair[1] == "half_mse":
        out = {"softmax": lambda z: torch.softmax(z, dim=1), "sigmoid": torch.sigmoid, "identity": lambda z: z}
        per_example = 0.5 * ((out[pair[0]](a) - T) ** 2).sum(dim=1)
    else:
        per_example = torch.nn.functional.binary_cross_entropy_with_logits(a, T, reduction="none").sum(dim=1)
    loss = per_example.mean()
    loss.backward()
    return loss.item(), {k: p.grad.numpy() for k, p in params.items()}


def random_case(rng: np.random.Generator, net: MLP, B: int) -> tuple[np.ndarray, np.ndarray]:
    X = rng.normal(size=(B, net.sizes[0])) * 2
    n_y = net.sizes[-1]
    if net.output == "identity":
        y = rng.normal(size=(B, n_y))
    elif net.output == "sigmoid":
        y = rng.integers(0, 2, (B, n_y)).astype(float)
    else:
        y = rng.integers(0, n_y, B)
    return X, y


@settings(max_examples=120, deadline=None)
@given(
    depth=st.integers(1, 4),
    widths=st.lists(st.integers(1, 9), min_size=5, max_size=5),
    B=st.integers(1, 7),
    activation=st.sampled_from(ACTIVATIONS),
    pair=st.sampled_from(PAIRS),
    seed=st.integers(0, 2**16),
)
def test_gradients_match_torch_autograd(depth, widths, B, activation, pair, seed):
    sizes = widths[: depth + 1]
    if pair[0] == "softmax":
        sizes[-1] = max(sizes[-1], 2)
    net = MLP(sizes, activation, *pair, seed=seed, dtype="float64")
    X, y = random_case(np.random.default_rng(seed), net, B)
    loss, grads = net.loss_and_grad(X, y)
    t_loss, t_grads = torch_loss(net, X, net.targets(y))
    assert loss == pytest.approx(t_loss, rel=1e-10, abs=1e-12)
    assert grads.keys() == t_grads.keys()
    for name, g in grads.items():
        scale = max(np.abs(t_grads[name]).max(), 1e-300)
        np.testing.assert_allclose(g, t_grads[name], rtol=1e-7, atol=1e-9 * scale, err_msg=name)


@pytest.mark.parametrize("activation", ACTIVATIONS)
@pytest.mark.parametrize("pair", PAIRS)
def test_gradients_match_finite_differences(activation, pair):
    net = MLP([3, 5, 4, 3], activation, *pair, seed=3, dtype="float64")
    X, y = random_case(np.random.default_rng(1), net, 5)
    for err in check_gradients(net, X, y):
        assert err.max_rel < 1e-5 or err.max_abs < 1e-9, err


def test_finite_differences_catch_a_wrong_gradient(monkeypatch):
    """The checker is not vacuous: scale tanh's derivative by 1.01 and it reports the error."""
    from mlplab import layers

    original = layers.Tanh.backward

    def broken(a, delta):
        original(a, delta)
        delta *= 1.01

    monkeypatch.setattr(layers.Tanh, "backward", staticmethod(broken))
    net = MLP([3, 4, 2], "tanh", seed=0, dtype="float64")
    X, y = random_case(np.random.default_rng(0), net, 4)
    errors = {e.name: e.max_rel for e in check_gradients(net, X, y)}
    assert errors["W1"] > 1e-3 and errors["W2"] < 1e-6


def test_engine_agrees_with_the_lab_reference_network():
    """Two independent implementations: the lab's notation (W_h of shape (n_h, n_x)) and the engine."""
    rng = np.random.default_rng(7)
    p = reference.init_params(n_x=4, n_h=6, n_y=3, sigma=0.5, seed=2)
    net = MLP([4, 6, 3], "tanh", "softmax", "cross_entropy", dtype="float64")
    net.set_params(reference.to_engine(p))
    X, y = rng.normal(size=(8, 4)), rng.integers(0, 3, 8)
    Y = np.eye(3)[y]
    y_hat, cache = reference.forward(p, X)
    np.testing.assert_allclose(net.forward(X), y_hat, rtol=1e-12)
    loss, grads = net.loss_and_grad(X, y)
    assert loss == pytest.approx(reference.loss_cross_entropy(cache["y_tilde"], Y), rel=1e-12)
    ref_grads = reference.to_engine(reference.backward(p, cache, Y))
    for name in grads:
        np.testing.assert_allclose(grads[name], ref_grads[name], rtol=1e-10, atol=1e-14)


def test_reference_step_lowers_the_loss():
    rng = np.random.default_rng(0)
    p = reference.init_params(2, 8, 2, seed=0)
    X, y = rng.normal(size=(64, 2)), rng.integers(0, 2, 64)
    Y = np.eye(2)[y]
    before = reference.loss_cross_entropy(reference.forward(p, X)[1]["y_tilde"], Y)
    for _ in range(20):
        _, cache = reference.forward(p, X)
        reference.step(p, reference.backward(p, cache, Y), eta=0.5)
    after = reference.loss_cross_entropy(reference.forward(p, X)[1]["y_tilde"], Y)
    assert after < before


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_softmax_cross_entropy_is_finite_for_huge_logits(dtype):
    """Logits of ±1e4: the fused log-sum-exp form stays finite; its gradient is exactly ŷ − y."""
    net = MLP([2, 3], "identity", seed=0, dtype=dtype)
    net.params["W1"][...] = np.array([[1e4, -1e4, 0.0], [0.0, 0.0, 1e4]])
    net.params["b1"][...] = 0
    X = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]], dtype=dtype)
    y = np.array([1, 0, 2])  # confidently wrong on every row: loss ≈ 1e4 or 2e4
    loss, grads = net.loss_and_grad(X, y)
    assert np.isfinite(loss) and loss > 1e4 - 1
    assert all(np.isfinite(g).all() for g in grads.values())
    y_hat = net.forward(X)
    assert np.isfinite(y_hat).all()
    np.testing.assert_allclose(y_hat.sum(axis=1), 1, rtol=1e-6)
    logits = np.array([1e4, -1e4, 0.0], dtype=dtype)
    with np.errstate(all="ignore"):
        naive = -np.log(np.exp(logits) / np.exp(logits).sum())
    assert not np.isfinite(naive).all()  # what the fused form avoids


def test_fused_gradient_equals_chain_rule_through_softmax_jacobian():
    """Q15: ∂l/∂ỹ = ŷ − y equals J_softmax(ỹ)ᵀ ∂l/∂ŷ with ∂l/∂ŷ = −y / ŷ, row by row."""
    rng = np.random.default_rng(5)
    z = rng.normal(size=(6, 5)) * 3
    y = rng.integers(0, 5, 6)
    Y = np.eye(5)[y]
    y_hat = softmax(z.copy())
    for i in range(6):
        J = np.diag(y_hat[i]) - np.outer(y_hat[i], y_hat[i])  # ∂ŷ_j/∂ỹ_k
        chain = J.T @ (-Y[i] / y_hat[i])
        np.testing.assert_allclose(chain, y_hat[i] - Y[i], atol=1e-12)
    np.testing.assert_allclose(np.exp(log_softmax(z)), y_hat, rtol=1e-12)


def test_step_activation_passes_no_gradient_below_it():
    net = MLP([3, 4, 2], "step", seed=0, dtype="float64")
    X, y = random_case(np.random.default_rng(0), net, 5)
    _, grads = net.loss_and_grad(X, y)
    assert not grads["W1"].any() and not grads["b1"].any()
    assert grads["W2"].any()


def test_numerical_gradient_matches_torch_on_a_deep_network():
    net = MLP([2, 3, 3, 3, 2], "sigmoid", "softmax", "mse", seed=9, dtype="float64")
    X, y = random_case(np.random.default_rng(2), net, 3)
    _, t_grads = torch_loss(net, X, net.targets(y))
    numeric = numerical_gradient(net, X, y)
    for name in t_grads:
        np.testing.assert_allclose(numeric[name], t_grads[name], rtol=1e-5, atol=1e-9)


def test_float32_forward_matches_float64():
    net64 = MLP([5, 7, 3], "tanh", seed=1, dtype="float64")
    net32 = MLP([5, 7, 3], "tanh", seed=1, dtype="float32")
    X = np.random.default_rng(0).normal(size=(10, 5))
    np.testing.assert_allclose(net32.forward(X), net64.forward(X), rtol=1e-5, atol=1e-6)
    assert net32.forward(X).dtype == np.float32


def test_params_are_live_views_and_shapes_follow_the_contract():
    net = MLP(sizes=[4, 6, 5, 3], activation="relu", output="softmax", loss="cross_entropy", seed=0,
              dtype="float64")
    assert [net.params[k].shape for k in ("W1", "b1", "W2", "b2", "W3", "b3")] == [
        (4, 6), (6,), (6, 5), (5,), (5, 3), (3,)]
    X = np.ones((2, 4))
    net.params["W3"][...] = 0
    net.params["b3"][...] = np.array([0.0, 0.0, np.log(2.0)])
    np.testing.assert_allclose(net.forward(X), [[0.25, 0.25, 0.5]] * 2)


def test_same_seed_same_network_and_different_seed_differs():
    a, b, c = (MLP([3, 4, 2], seed=s) for s in (0, 0, 1))
    assert all(np.array_equal(a.params[k], b.params[k]) for k in a.params)
    assert not np.array_equal(a.params["W1"], c.params["W1"])


@pytest.mark.parametrize("init,activation", [("glorot", "tanh"), ("he", "relu"), ("normal", "tanh")])
def test_initialisations_have_their_variance(init, activation):
    net = MLP([400, 300, 2], activation, init=init, init_scale=0.3, seed=0, dtype="float64")
    W = net.params["W1"]
    expected = {"glorot": 2.0 / 700, "he": 2.0 / 400, "normal": 0.09}[init]
    assert W.var() == pytest.approx(expected, rel=0.05)
