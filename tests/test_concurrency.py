"""Inference is safe from many threads at once and keeps no per-call memory (issue: one source of truth)."""

from __future__ import annotations

import gc
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from mlplab import MLP, MLPClassifier

THREADS, CALLS = 8, 300


def _inputs(n_x: int, count: int, seed: int = 0) -> list[np.ndarray]:
    """Inputs of varied row counts, so concurrent calls would need different buffers."""
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(int(rng.integers(1, 200)), n_x)).astype(np.float32) for _ in range(count)]


@pytest.fixture(scope="module")
def fitted() -> MLPClassifier:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 6)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int) + (X[:, 2] > 1)
    return MLPClassifier((32, 16), max_iter=5, random_state=0).fit(X, y)


def _concurrent(fn, inputs: list[np.ndarray]) -> list[np.ndarray]:
    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(fn, inputs))


def test_predict_proba_from_8_threads_is_bit_identical_to_serial(fitted):
    inputs = _inputs(6, THREADS * CALLS // 4)
    serial = [fitted.predict_proba(x) for x in inputs]
    for _ in range(4):  # THREADS × CALLS calls in all
        parallel = _concurrent(fitted.predict_proba, inputs)
        wrong = sum(not np.array_equal(a, b) for a, b in zip(serial, parallel, strict=True))
        assert wrong == 0, f"{wrong} of {len(inputs)} concurrent predict_proba calls differ from serial calls"


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_forward_evaluate_and_gradients_from_8_threads(dropout):
    """forward, evaluate and loss_and_grad of one network, called from 8 threads, equal the serial results."""
    net = MLP([5, 24, 24, 3], "tanh", dropout=dropout, seed=3)
    inputs = _inputs(5, THREADS * CALLS // 4, seed=2)
    labels = [np.arange(len(x)) % 3 for x in inputs]

    def all_three(i: int):
        x, y = inputs[i], labels[i]
        loss, grads = net.loss_and_grad(x, y)
        return net.forward(x), net.evaluate(x, y), loss, grads

    serial = [all_three(i) for i in range(len(inputs))]
    with ThreadPoolExecutor(THREADS) as pool:
        parallel = list(pool.map(all_three, range(len(inputs))))
    for (f1, e1, l1, g1), (f2, e2, l2, g2) in zip(serial, parallel, strict=True):
        assert np.array_equal(f1, f2)
        assert e1 == e2 and l1 == l2
        assert all(np.array_equal(g1[k], g2[k]) for k in g1)


RETAINED_BOUND = 64 * 1024  # bytes still held after 1,000 predictions of distinct row counts


def test_memory_stays_bounded_over_1000_row_counts(fitted):
    """Predicting on 1..1000 rows keeps nothing per row count: retained memory stays under RETAINED_BOUND."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 6)).astype(np.float32)
    fitted.predict_proba(X[:7])  # first-call caches (imports, validation) are not what we measure
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    for n in range(1, 1001):
        fitted.predict_proba(X[:n])
    gc.collect()
    after, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert after - before < RETAINED_BOUND, f"{after - before} bytes retained after 1,000 row counts"
    assert peak - before < 4 * 1024 * 1024  # and no call holds more than a few row buffers at a time


def test_training_keeps_few_workspaces():
    """The training buffers are reused per batch size, and only TRAIN_WORKSPACES sizes are kept."""
    from mlplab.network import TRAIN_WORKSPACES

    net = MLP([4, 8, 2], seed=0)
    X = np.ones((50, 4), np.float32)
    Y = net.targets(np.zeros(50, int))
    for n in range(1, 50):
        net.train_batch(X[:n], Y[:n])
    assert len(net._workspaces) == TRAIN_WORKSPACES
    ws = net.workspace(7)
    assert net.workspace(7) is ws
