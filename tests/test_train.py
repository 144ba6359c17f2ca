"""The training loop: regimes, early stopping, divergence, determinism, toy data and splits."""

from __future__ import annotations

import numpy as np
import pytest

from mlplab import MLP
from mlplab.data import load_dataset, split
from mlplab.errors import TrainingDiverged
from mlplab.optim import SGD
from mlplab.runner import RunConfig, run
from mlplab.train import Trainer


def circles_splits(n=600, seed=0):
    return split(load_dataset("circles", n_samples=n, seed=seed), seed=seed)[0]


@pytest.mark.parametrize("batch_size", [None, 1, 16])
def test_every_regime_learns_circles(batch_size):
    s = circles_splits()
    net = MLP([2, 10, 2], "tanh", seed=0)
    lr = {None: 1.0, 1: 0.05, 16: 0.3}[batch_size]
    epochs = {None: 300, 1: 30, 16: 60}[batch_size]
    Trainer(net, SGD(net.params, lr=lr), epochs=epochs, batch_size=batch_size, seed=0).fit(s.X_train, s.y_train)
    assert net.evaluate(s.X_test, s.y_test)[1] >= 0.95


def test_one_epoch_of_minibatches_equals_manual_steps():
    """The trainer's epoch is exactly: permute with its rng, then a plain SGD step per batch."""
    s = circles_splits(200)
    a, b = MLP([2, 5, 2], seed=1, dtype="float64"), MLP([2, 5, 2], seed=1, dtype="float64")
    Trainer(a, SGD(a.params, lr=0.2), epochs=1, batch_size=32, seed=4).fit(s.X_train, s.y_train)
    order = np.random.default_rng(4).permutation(len(s.X_train))
    for start in range(0, len(order), 32):
        rows = order[start : start + 32]
        _, grads = b.loss_and_grad(s.X_train[rows], s.y_train[rows])
        for k in b.params:
            b.params[k] -= 0.2 * grads[k]
    for k in a.params:
        np.testing.assert_allclose(a.params[k], b.params[k], rtol=1e-12)


def test_full_batch_epoch_is_one_gradient_step():
    s = circles_splits(200)
    a, b = MLP([2, 5, 2], seed=1, dtype="float64"), MLP([2, 5, 2], seed=1, dtype="float64")
    Trainer(a, SGD(a.params, lr=0.5), epochs=1, batch_size=None).fit(s.X_train, s.y_train)
    _, grads = b.loss_and_grad(s.X_train, s.y_train)
    for k in a.params:
        np.testing.assert_allclose(a.params[k], b.params[k] - 0.5 * grads[k], rtol=1e-12)


def test_history_records_every_epoch():
    s = circles_splits()
    net = MLP([2, 8, 2], seed=0)
    hist = Trainer(net, SGD(net.params, lr=0.1), epochs=5, batch_size=10).fit(s.X_train, s.y_train, s.X_val, s.y_val)
    assert [r.epoch for r in hist] == [1, 2, 3, 4, 5]
    assert all(r.val_loss is not None and 0 <= r.val_accuracy <= 1 and r.seconds >= 0 for r in hist)
    assert hist[-1].train_loss < hist[0].train_loss


def test_early_stopping_restores_the_best_weights():
    """Overfit a tiny noisy set; the run stops and ends with the weights of its best validation epoch."""
    ds = load_dataset("circles", n_samples=80, noise=0.35, seed=1)
    s = split(ds, seed=1)[0]
    net = MLP([2, 64, 2], "tanh", seed=0)
    trainer = Trainer(net, SGD(net.params, lr=0.5), epochs=500, batch_size=4, patience=10, seed=0)
    hist = trainer.fit(s.X_train, s.y_train, s.X_val, s.y_val)
    st = trainer.state
    assert st.stopped_early and len(hist) < 500 and len(hist) == st.best_epoch + 10
    best = min(r.val_loss for r in hist)
    assert hist[st.best_epoch - 1].val_loss == best
    assert net.evaluate(s.X_val, s.y_val)[0] == pytest.approx(best, rel=1e-6)


def test_divergence_names_the_epoch_and_learning_rate():
    s = circles_splits()
    net = MLP([2, 10, 2], "relu", seed=0)
    with pytest.raises(TrainingDiverged, match=r"epoch \d+ with learning rate 1e\+06"):
        Trainer(net, SGD(net.params, lr=1e6), epochs=50, batch_size=10).fit(s.X_train, s.y_train)


def test_divergence_can_be_recorded_instead():
    s = circles_splits()
    net = MLP([2, 10, 2], "relu", seed=0)
    trainer = Trainer(net, SGD(net.params, lr=1e6), epochs=50, batch_size=10, on_nonfinite="stop")
    hist = trainer.fit(s.X_train, s.y_train)
    assert trainer.state.diverged and len(hist) < 50 and not np.isfinite(hist[-1].train_loss)


def test_dropout_trains_and_is_off_at_inference():
    s = circles_splits()
    net = MLP([2, 32, 2], "relu", dropout=0.3, seed=0)
    Trainer(net, SGD(net.params, lr=0.1, momentum=0.9), epochs=40, batch_size=16).fit(s.X_train, s.y_train)
    assert np.array_equal(net.forward(s.X_test), net.forward(s.X_test))
    assert net.evaluate(s.X_test, s.y_test)[1] > 0.9


def test_same_seed_same_run():
    cfg = RunConfig(epochs=5)
    a, b = run(cfg), run(cfg)
    strip = lambda h: [{k: v for k, v in r.as_json().items() if k != "seconds"} for r in h]  # noqa: E731
    assert strip(a.history) == strip(b.history)
    assert all(np.array_equal(a.net.params[k], b.net.params[k]) for k in a.net.params)
    c = run(cfg.with_(seed=1))
    assert strip(c.history) != strip(a.history)


def test_regression_on_sine_with_identity_output():
    result = run(RunConfig(dataset="sine", output="identity", loss="mse", hidden=(32,), optimizer="adam",
                           lr=0.01, batch_size=32, epochs=150))
    assert result.test_loss < 0.05  # noise variance is 0.01
    test = result.as_json()["test"]
    assert set(test) == {"loss", "rmse", "mae", "r2"} and test["r2"] > 0.9


def test_split_is_stratified_and_scaled_on_train_only():
    ds = load_dataset("blobs", n_samples=1000, seed=0)
    s, _ = split(ds, 0.2, 0.2, seed=0)
    assert (len(s.X_train), len(s.X_val), len(s.X_test)) == (600, 200, 200)
    for part in (s.y_train, s.y_val, s.y_test):
        np.testing.assert_allclose(np.bincount(part) / len(part), np.bincount(ds.y) / len(ds.y), atol=0.01)
    np.testing.assert_allclose(s.X_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(s.X_train.std(axis=0), 1, atol=1e-4)
    assert abs(s.X_test.mean(axis=0)).max() > 1e-4  # test rows were not used for the statistics


@pytest.mark.parametrize("name", ["circles", "moons", "xor", "spiral", "blobs", "sine"])
def test_toy_sets_are_seeded(name):
    a, b, c = (load_dataset(name, n_samples=200, seed=s) for s in (0, 0, 1))
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y) and not np.array_equal(a.X, c.X)
    assert a.X.shape == (200, 1 if name == "sine" else 2)


def test_label_smoothing_loss_and_delta_match_torch():
    """(1 − ε)·one-hot + ε/K through the softmax cross-entropy head: PyTorch's CrossEntropyLoss(label_smoothing=ε)."""
    import torch

    from mlplab.losses import SoftmaxCrossEntropy, smooth_labels

    rng = np.random.default_rng(3)
    B, K, eps = 7, 5, 0.15
    z, labels = rng.normal(size=(B, K)) * 3, rng.integers(0, K, size=B)
    Y = smooth_labels(np.eye(K)[labels], eps)
    np.testing.assert_allclose(Y.sum(axis=1), 1.0)
    delta = np.empty_like(z)
    loss = SoftmaxCrossEntropy.loss_and_delta(z.copy(), Y, delta, np.empty_like(z), np.empty(B), np.empty(B))
    zt = torch.tensor(z, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(zt, torch.tensor(labels), label_smoothing=eps)
    ref.backward()
    assert loss == pytest.approx(ref.item(), rel=1e-12)
    np.testing.assert_allclose(delta, zt.grad.numpy(), rtol=1e-10, atol=1e-15)
    plain = np.eye(K)[labels]
    assert smooth_labels(plain, 0.0) is plain  # ε = 0 leaves the targets (and every run) as they were


@pytest.mark.parametrize("engine", ["auto", "numpy"])
def test_label_smoothing_trains_on_smoothed_targets(engine):
    """A trainer with ε trains exactly as one given the smoothed targets, on either engine; ε changes the run."""
    from mlplab.losses import smooth_labels

    s = circles_splits(400)
    nets = [MLP([2, 16, 16, 2], "relu", seed=2, dropout=0.1) for _ in range(3)]
    Y = smooth_labels(np.eye(2, dtype=np.float32)[s.y_train], 0.2)
    for net, eps, target in zip(nets, (0.2, 0.0, 0.0), (s.y_train, Y, s.y_train), strict=True):
        Trainer(net, SGD(net.params, lr=0.1, momentum=0.9), epochs=3, batch_size=32, seed=5, engine=engine,
                label_smoothing=eps).fit(s.X_train, target)
    for k in nets[0].params:
        np.testing.assert_array_equal(nets[0].params[k], nets[1].params[k])
    assert not np.array_equal(nets[0].params["W1"], nets[2].params["W1"])


def test_label_smoothing_is_refused_where_it_means_nothing():
    from mlplab.errors import ConfigError

    net = MLP([2, 4, 1], "tanh", output="sigmoid", loss="cross_entropy")
    with pytest.raises(ConfigError, match="softmax output"):
        Trainer(net, SGD(net.params, lr=0.1), label_smoothing=0.1)
    with pytest.raises(ConfigError, match=r"label smoothing must be in \[0, 1\)"):
        Trainer(MLP([2, 4, 2]), SGD(MLP([2, 4, 2]).params, lr=0.1), label_smoothing=1.0)
    with pytest.raises(ConfigError, match=r"label_smoothing = -0\.1"):
        RunConfig(label_smoothing=-0.1)
