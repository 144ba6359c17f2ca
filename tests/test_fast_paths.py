"""The compiled kernels (kernels.py): dispatch, determinism, resume, caching, chunked gathering.

The kernels' numbers against the NumPy engine, case by case: tests/test_kernels_differential.py.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from mlplab import kernels
from mlplab.errors import ConfigError, TrainingDiverged
from mlplab.network import MLP
from mlplab.registry import make_optimizer
from mlplab.train import Trainer

RNG = np.random.default_rng(7)
X = RNG.standard_normal((120, 6)).astype(np.float32)
LABELS = RNG.integers(0, 3, 120)
TARGETS = RNG.standard_normal((120, 3)).astype(np.float32)


def _train(engine: str, *, sizes=(6, 5, 3), activation="tanh", output="softmax", loss="cross_entropy",
           optimizer="sgd", lr=0.05, momentum=0.0, nesterov=False, weight_decay=0.0, batch_size=1, epochs=2,
           dropout=0.0, targets=None, dtype="float32"):
    net = MLP(list(sizes), activation, output, loss, dropout=dropout, seed=3, dtype=dtype)
    opt = make_optimizer(optimizer, net.params, lr, momentum, nesterov, weight_decay)
    trainer = Trainer(net, opt, epochs=epochs, batch_size=batch_size, seed=11, engine=engine)
    y = LABELS if targets is None else targets
    trainer.fit(X, y)
    return net, opt, trainer


def test_kernel_is_dispatched_and_numpy_fallback_is_not(monkeypatch):
    calls = []
    one, two = kernels.run_epoch, kernels.run_epoch_parallel
    # run_epoch(net, opt, X, Y, labels, B, …), run_epoch_parallel(net, opt, X, Y, labels, order, B, …): record B
    monkeypatch.setattr(kernels, "run_epoch", lambda *a, **k: calls.append(("one", a[5])) or one(*a, **k))
    monkeypatch.setattr(kernels, "run_epoch_parallel", lambda *a, **k: calls.append(("two", a[6])) or two(*a, **k))
    for B in (1, 7, kernels.PARALLEL_FROM - 1, kernels.PARALLEL_FROM, 100):
        _train("auto", batch_size=B, epochs=1)
    expected = [("one", 1), ("one", 7), ("one", kernels.PARALLEL_FROM - 1), ("two", kernels.PARALLEL_FROM),
                ("two", 100)]
    assert calls == expected
    _train("numpy", batch_size=1, epochs=1)  # forced fallback
    _train("auto", batch_size=7, epochs=1, activation="step")  # unsupported: no kernel code
    _train("auto", batch_size=None, epochs=1)  # full batch
    assert calls == expected


def test_two_workers_train_as_one():
    """The two-worker mini-batch epoch (split rows, then split parameter rows) gives the one-worker numbers."""
    runs = []
    for threads in (1, 2):
        net = MLP([6, 9, 5, 3], "tanh", seed=3, dtype="float64")
        opt = make_optimizer("adam", net.params, 0.01, weight_decay=1e-3)
        Trainer(net, opt, epochs=3, batch_size=kernels.PARALLEL_FROM, seed=11, threads=threads).fit(
            X.astype(np.float64), LABELS)
        runs.append(net.params)
    for k in runs[0]:
        np.testing.assert_allclose(runs[1][k], runs[0][k], rtol=1e-13, atol=1e-15, err_msg=k)


def test_environment_is_read_by_the_cli_and_passed_in(monkeypatch, tmp_path, capsys):
    """MLPLAB_ENGINE / MLPLAB_THREADS reach the Trainer through `mlplab train`; the library itself reads neither."""
    from mlplab.cli import main
    from mlplab.cli import train as train_cli
    from mlplab.cli.environment import ENGINE_ENV, THREADS_ENV, engine_settings

    monkeypatch.setenv(ENGINE_ENV, "numpy")
    monkeypatch.setenv(THREADS_ENV, "1")
    net = MLP([6, 3])
    assert Trainer(net, make_optimizer("sgd", net.params, 0.1)).engine == "auto"  # the library ignores the env
    seen = []
    real_run = train_cli.run
    monkeypatch.setattr(train_cli, "run", lambda *a, **k: seen.append(k) or real_run(*a, **k))
    assert main(["train", "-q", "--epochs", "1", "--n-samples", "50", "--out", str(tmp_path)]) == 0
    assert (seen[0]["engine"], seen[0]["threads"]) == ("numpy", 1)
    monkeypatch.setenv(THREADS_ENV, "many")
    assert main(["train", "-q", "--epochs", "1", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.strip() == "mlplab: error: $MLPLAB_THREADS must be a whole number ≥ 1; got 'many'"
    assert engine_settings({}).engine == "auto" and engine_settings({}).threads is None
    with pytest.raises(ConfigError, match="MLPLAB_ENGINE must be auto or numpy"):
        engine_settings({ENGINE_ENV: "fortran"})
    with pytest.raises(ConfigError, match="engine"):
        Trainer(net, make_optimizer("sgd", net.params, 0.1), engine="fortran")


def test_kernel_is_deterministic_and_resumes_like_one_run():
    a = _train("auto", epochs=3)
    b = _train("auto", epochs=3)
    for k in a[0].params:
        np.testing.assert_array_equal(a[0].params[k], b[0].params[k])
    # 3 epochs in one fit == 2 epochs, then fit again with epochs raised to 3 (resuming from state.epoch)
    net, _, trainer = _train("auto", epochs=2)
    trainer.epochs = 3
    trainer.fit(X, LABELS)
    for k in net.params:
        np.testing.assert_array_equal(net.params[k], a[0].params[k])


def test_dropout_kernels_are_deterministic_and_resume_like_one_run():
    """Dropout masks drawn inside the kernels (one and two workers): same seed, same numbers; 3 epochs in one fit
    equal 2 + 1 epochs, and the generator ends where the NumPy engine leaves it."""
    for B in (1, 7, kernels.PARALLEL_FROM):
        a = _train("auto", epochs=3, batch_size=B, dropout=0.25, optimizer="adam", lr=0.01)
        b = _train("auto", epochs=3, batch_size=B, dropout=0.25, optimizer="adam", lr=0.01)
        net, _, trainer = _train("auto", epochs=2, batch_size=B, dropout=0.25, optimizer="adam", lr=0.01)
        trainer.epochs = 3
        trainer.fit(X, LABELS)
        for k in a[0].params:
            np.testing.assert_array_equal(a[0].params[k], b[0].params[k])
            np.testing.assert_array_equal(net.params[k], a[0].params[k])
        ref = _train("numpy", epochs=3, batch_size=B, dropout=0.25, optimizer="adam", lr=0.01)
        assert a[2].rng.bit_generator.state == ref[2].rng.bit_generator.state == trainer.rng.bit_generator.state


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_skipping_the_generator_equals_drawing(dtype):
    """kernels.skip moves a PCG64 generator past n uniforms exactly as rng.random(n) does, odd counts and a kept
    32-bit half (after an integer draw) included; kernels.stream reads the state the kernels start from."""
    for pre, n in [(0, 0), (0, 1), (0, 2), (1, 1), (1, 2), (1, 7), (0, 12345), (1, 100_001)]:
        drawn, skipped = np.random.default_rng(3), np.random.default_rng(3)
        for rng in (drawn, skipped):
            rng.integers(0, 10, pre)  # one integer keeps half of a 64-bit draw for later
        drawn.random(n, dtype=dtype)
        kernels.skip(skipped, kernels.stream(skipped), n, np.dtype(dtype))
        assert skipped.bit_generator.state == drawn.bit_generator.state, (pre, n)
        assert skipped.random(3, dtype=dtype).tolist() == drawn.random(3, dtype=dtype).tolist()


def test_divergence_is_reported_by_the_kernel_too():
    for engine in ("numpy", "auto"):
        with pytest.raises(TrainingDiverged):
            _train(engine, lr=1e6, activation="identity", output="identity", loss="mse", targets=TARGETS * 1e3,
                   epochs=3)


def test_fast_tanh_is_float32_accurate():
    from numba import njit

    @njit
    def apply(z, kind):
        out = np.empty_like(z)
        for i in range(z.shape[0]):
            out[i] = kernels._act(kind, z[i], False)
        return out

    z = np.linspace(-30, 30, 100_001)
    np.testing.assert_allclose(apply(z, 0), np.tanh(z), atol=3e-7, rtol=0)
    np.testing.assert_allclose(apply(z, 2), 1 / (1 + np.exp(-z)), atol=3e-7, rtol=0)
    assert np.isnan(apply(np.array([np.nan]), 0)[0])


def test_a_second_process_pays_no_compilation(tmp_path):
    """numba's on-disk cache (NUMBA_CACHE_DIR): the second process loads every kernel it uses, compiles none."""
    script = (
        "import numpy as np\n"
        "from mlplab import kernels\n"
        "from mlplab.network import MLP\n"
        "from mlplab.optim import SGD\n"
        "from mlplab.train import Trainer\n"
        "X = np.ones((8, 4), np.float32); y = np.arange(8) % 2\n"
        "for B in (1, 4):\n"
        "    net = MLP([4, 3, 2]); Trainer(net, SGD(net.params, 0.1), epochs=1, batch_size=B).fit(X, y)\n"
        "misses = sum(sum(f.stats.cache_misses.values()) for f in (kernels.online_epoch, kernels.minibatch_epoch))\n"
        "hits = sum(sum(f.stats.cache_hits.values()) for f in (kernels.online_epoch, kernels.minibatch_epoch))\n"
        "print(misses, hits)\n"
    )
    env = dict(os.environ, NUMBA_CACHE_DIR=os.environ.get("NUMBA_CACHE_DIR", str(tmp_path / "numba")))
    runs = [subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
            for _ in range(2)]
    misses, hits = map(int, runs[1].stdout.split())
    assert misses == 0 and hits == 2, runs[1].stdout


def test_fast_preset_reaches_090_on_fashion_mnist(tmp_path):
    """`mlplab train -d fashion-mnist --preset fast`: ≥ 0.900 on the official test set (timing: BENCHMARKS.md)."""
    import json
    from pathlib import Path

    from conftest import require
    from mlplab.cli import main

    require(Path("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz").exists(),
            "Fashion-MNIST from the Debian package dataset-fashion-mnist")
    out = tmp_path / "metrics.json"
    assert main(["train", "--dataset", "fashion-mnist", "--preset", "fast", "-q", "--out", str(tmp_path / "o"),
                 "--json", str(out)]) == 0
    metrics = json.loads(out.read_text())
    assert metrics["config"]["hidden"] == [256, 128] and len(metrics["history"]) == 24
    assert metrics["config"]["dropout"] > 0  # trains in the compiled kernels, dropout included
    assert metrics["test"]["accuracy"] >= 0.900  # 0.9041 here; the last bits depend on the CPU's BLAS kernels


@pytest.mark.parametrize("engine,batch_size", [("auto", 1), ("auto", 7)])
def test_chunked_gathering_changes_nothing(monkeypatch, engine, batch_size):
    """Rows gathered chunk by chunk in the background thread train the kernels exactly as one whole-epoch chunk."""
    import mlplab.train as train

    monkeypatch.setattr(train, "CHUNK_BYTES", 10**9)
    one = _train(engine, batch_size=batch_size, epochs=2)
    # 3 batches per chunk, so 120 rows make several chunks and a last partial one
    monkeypatch.setattr(train, "CHUNK_BYTES", 3 * batch_size * X.shape[1] * X.itemsize)
    assert train.CHUNK_BYTES // (batch_size * X.shape[1] * X.itemsize) * batch_size < len(X)
    many = _train(engine, batch_size=batch_size, epochs=2)
    for k in one[0].params:
        np.testing.assert_array_equal(many[0].params[k], one[0].params[k], err_msg=k)
    # the epoch's loss is summed per chunk, then over chunks: equal up to float64 rounding
    assert [r.train_loss for r in many[2].history] == pytest.approx([r.train_loss for r in one[2].history], rel=1e-12)
