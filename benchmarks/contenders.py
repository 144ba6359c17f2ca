"""What the benchmark times: one epoch of plain SGD on 784-100-10 tanh, for mlplab, PyTorch and scikit-learn,
and the matrix-product ceiling; plus the full-batch memory children and the time-to-accuracy race.

Every ``*_epoch`` function builds a fresh model, trains exactly one epoch on (X, y) with batch size B (None:
the full set in one batch) and returns the seconds the training took (model construction excluded).
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np

HIDDEN = 100
N_CLASSES = 10


def load_fashion(dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """The 60k Fashion-MNIST training images, standardised per pixel in place, and their labels.

    Lean on memory, so that the full-batch RSS children measure training: the statistics are summed in
    float64 over chunks of rows rather than through a float64 copy of the whole set.
    """
    from mlplab.cli.environment import data_paths
    from mlplab.data import load_dataset

    ds = load_dataset("fashion-mnist", data_paths=data_paths())  # $MLPLAB_DATA, as `mlplab` reads it
    X = ds.X.reshape(len(ds.X), -1).astype(dtype)
    y = np.ascontiguousarray(ds.y, dtype=np.int64)
    del ds
    s1, s2 = np.zeros(X.shape[1]), np.zeros(X.shape[1])
    for start in range(0, len(X), 4096):
        chunk = X[start : start + 4096].astype(np.float64)
        s1 += chunk.sum(axis=0)
        s2 += (chunk * chunk).sum(axis=0)
    mean = s1 / len(X)
    std = np.sqrt(np.maximum(s2 / len(X) - mean * mean, 0.0))
    std[std < 1e-12] = 1.0
    X -= mean.astype(dtype)
    X /= std.astype(dtype)
    return X, y


# ---------------------------------------------------------------------------------------------- mlplab
def mlplab_engine_epoch(X, y, B, lr, threads=None) -> float:
    """MLP + SGD + Trainer, one epoch; threads None is the Trainer's automatic BLAS thread choice."""
    from mlplab.network import MLP
    from mlplab.optim import SGD
    from mlplab.train import Trainer

    net = MLP([X.shape[1], HIDDEN, N_CLASSES], "tanh", seed=0)
    trainer = Trainer(net, SGD(net.params, lr=lr), epochs=1, batch_size=B, seed=0, threads=threads)
    t = time.perf_counter()
    trainer.fit(X, y)
    return time.perf_counter() - t


def mlplab_estimator_epoch(X, y, B, lr, threads=None) -> float:
    """The outside timing contract, on mlplab.estimators.MLPClassifier (same parameters as scikit-learn's)."""
    from mlplab.estimators import MLPClassifier

    est = MLPClassifier(**contract_params(B, lr, len(X)))
    t = time.perf_counter()
    with _blas_limit(threads), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one epoch "has not converged": expected
        est.fit(X, y)
    return time.perf_counter() - t


def contract_params(B, lr, n) -> dict:
    return dict(hidden_layer_sizes=(HIDDEN,), activation="tanh", solver="sgd", momentum=0.0, alpha=0.0,
                batch_size=n if B is None else B, learning_rate_init=lr, max_iter=1, shuffle=True,
                random_state=0, early_stopping=False, tol=0.0, n_iter_no_change=10**6)


# --------------------------------------------------------------------------------------------- rivals
def sklearn_epoch(X, y, B, lr, threads=None) -> float:
    """scikit-learn's MLPClassifier under the timing contract (one epoch of plain SGD)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    est = MLPClassifier(**contract_params(B, lr, len(X)), nesterovs_momentum=False)
    with warnings.catch_warnings(), _blas_limit(threads):
        warnings.simplefilter("ignore", ConvergenceWarning)
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # one epoch "has not converged": expected
            est.fit(X, y)
        return time.perf_counter() - t


def _torch_sgd_epoch(X, y, lr, threads, batches) -> float:
    """Seconds for one epoch of 784-100-10 tanh with torch.optim.SGD over ``batches(Xt, yt)``."""
    import torch
    from torch import nn

    default = torch.get_num_threads()
    torch.set_num_threads(threads or default)
    try:
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(X.shape[1], HIDDEN), nn.Tanh(), nn.Linear(HIDDEN, N_CLASSES))
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        loss_fn = nn.CrossEntropyLoss()
        Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
        t = time.perf_counter()
        for xb, yb in batches(Xt, yt):
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
        return time.perf_counter() - t
    finally:
        torch.set_num_threads(default)


def torch_epoch(X, y, B, lr, threads=None) -> float:
    """PyTorch's loop without a DataLoader: randperm, index the tensors, zero_grad/forward/backward/step."""
    import torch

    def batches(Xt, yt):
        n = len(Xt)
        perm = torch.randperm(n)
        for s in range(0, n, n if B is None else B):
            idx = perm[s : s + (n if B is None else B)]
            yield Xt[idx], yt[idx]

    return _torch_sgd_epoch(X, y, lr, threads, batches)


def torch_dataloader_epoch(X, y, B, lr, threads=None) -> float:
    """PyTorch's tutorial loop: DataLoader(TensorDataset, shuffle=True), zero_grad/forward/backward/step.

    This is the "usual training loop" the brief's PyTorch figures describe; ``torch_epoch`` is the faster
    hand-indexed variant. Both are reported.
    """
    from torch.utils.data import DataLoader, TensorDataset

    def batches(Xt, yt):
        return DataLoader(TensorDataset(Xt, yt), batch_size=len(Xt) if B is None else B, shuffle=True)

    return _torch_sgd_epoch(X, y, lr, threads, batches)


# -------------------------------------------------------------------------------------------- ceiling
def ceiling_samples_per_s(B, n_x, threads=None, min_seconds=0.3, cold_rows=None) -> float:
    """Samples/s if a batch of B cost only its five GEMMs: X@W1, h@W2, hᵀδ (dW2), δW2ᵀ (dH), Xᵀ dH (dW1).

    Warm (default): the same X every batch, so it sits in cache. Cold (``cold_rows``: a float32 array of that
    many rows): each batch's X is the next B rows of it, read from memory as a training epoch reads its data.
    """
    rng = np.random.default_rng(0)
    pool = (rng.standard_normal((max(cold_rows, B), n_x), dtype=np.float32) if cold_rows
            else rng.standard_normal((B, n_x), dtype=np.float32))
    W1 = rng.standard_normal((n_x, HIDDEN), dtype=np.float32)
    W2 = rng.standard_normal((HIDDEN, N_CLASSES), dtype=np.float32)
    h = np.empty((B, HIDDEN), np.float32)
    o = np.empty((B, N_CLASSES), np.float32)
    dW1, dW2, dH = np.empty_like(W1), np.empty_like(W2), np.empty_like(h)
    starts = list(range(0, len(pool) - B + 1, B))

    def batch(k):
        X = pool[starts[k % len(starts)] :][:B]
        np.matmul(X, W1, out=h)
        np.matmul(h, W2, out=o)
        np.matmul(h.T, o, out=dW2)
        np.matmul(o, W2.T, out=dH)
        np.matmul(X.T, dH, out=dW1)

    with _blas_limit(threads):
        batch(0)
        best, spent, k = np.inf, 0.0, 0
        while spent < min_seconds:
            reps = max(1, int(2e4 // B))
            t = time.perf_counter()
            for _ in range(reps):
                batch(k)
                k += 1
            dt = time.perf_counter() - t
            spent += dt
            best = min(best, dt / reps)
    return B / best


def _blas_limit(threads):
    import contextlib

    if threads is None:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(threads, user_api="blas")


CONTENDERS = {
    "mlplab": mlplab_engine_epoch,
    "mlplab MLPClassifier": mlplab_estimator_epoch,
    "PyTorch": torch_epoch,
    "PyTorch DataLoader": torch_dataloader_epoch,
    "scikit-learn": sklearn_epoch,
}


# ------------------------------------------------------------------------------ children (subprocesses)
def rss_child(name: str) -> dict:
    """Full-batch training in this process; peak RSS before and after loading data and training, in bytes.

    The peak is the kernel's VmHWM of this process image (getrusage's maxrss would also count the parent's
    memory, which Linux carries over into a child's maxrss across fork and exec).
    """
    import sklearn.neural_network  # noqa: F401  (every contender's imports, so the baselines compare)
    import torch  # noqa: F401

    import mlplab.estimators  # noqa: F401
    from mlplab import products

    # numba's runtime (LLVM, ~45 MiB) loads on mlplab's first compiled call (the loss sums of ``products``): a fixed
    # cost of the library, like torch's import, so it is in the baseline rather than counted as training memory
    ones = np.ones((2, 2), np.float32)
    products.matmul(ones, ones, out=np.empty_like(ones))

    def peak() -> int:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    base = peak()
    X, y = load_fashion()
    fn = {"mlplab": mlplab_engine_epoch, "PyTorch": torch_epoch, "scikit-learn": sklearn_epoch}[name]
    seconds = fn(X, y, None, 0.1)
    n_params = X.shape[1] * HIDDEN + HIDDEN + HIDDEN * N_CLASSES + N_CLASSES
    bound = X.nbytes + y.nbytes + 4 * n_params + 4 * len(X) * (HIDDEN + N_CLASSES)
    return {"name": name, "baseline": base, "peak": peak(), "bound_inputs": bound, "seconds": seconds}


def torch_race(epochs, batch_size, lr, dropout, hidden, val_fraction, seed=0, optimizer="adam", momentum=0.0,
               nesterov=False, weight_decay=0.0) -> dict:
    """PyTorch with the ``fast`` preset's recipe (optimizer, L2 on weights only as mlplab, dropout, cosine per epoch)
    on mlplab's same splits."""
    import torch
    from torch import nn

    from mlplab.runner import RunConfig, prepare

    t0 = time.perf_counter()
    cfg = RunConfig(dataset="fashion-mnist", val_fraction=val_fraction, seed=seed)
    s = prepare(cfg).splits
    torch.manual_seed(seed)
    sizes = [s.X_train.shape[1], *hidden]
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(a, b), nn.ReLU(), nn.Dropout(dropout)]
    model = nn.Sequential(*layers, nn.Linear(sizes[-1], N_CLASSES))
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in model.named_parameters() if name.endswith("bias")]
    groups = [{"params": weights, "weight_decay": weight_decay}, {"params": biases, "weight_decay": 0.0}]
    if optimizer == "sgd":
        opt = torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=nesterov)
    else:
        opt = torch.optim.Adam(groups, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loss_fn = nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(s.X_train), torch.from_numpy(np.asarray(s.y_train, np.int64))
    n = len(Xt)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(n)
        for i in range(0, n, batch_size):
            idx = perm[i : i + batch_size]
            opt.zero_grad()
            loss_fn(model(Xt[idx]), yt[idx]).backward()
            opt.step()
        sched.step()
    model.eval()
    with torch.no_grad():
        acc = (model(torch.from_numpy(s.X_test)).argmax(1).numpy() == np.asarray(s.y_test)).mean()
    return {"test_accuracy": float(acc), "seconds_in_process": time.perf_counter() - t0}
