"""The training loop: epochs of shuffled batches, validation, early stopping, history, callbacks.

The batch size picks the regime of Q10: ``None`` (or ≥ N) is full-batch gradient descent, 1 is online
(stochastic) gradient descent, anything between is mini-batch. Batches are gathered into reused buffers
with ``np.take(..., out=)``; with full batches the data is used as it is, unshuffled and uncopied.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np

from mlplab import kernels
from mlplab.errors import ConfigError, TrainingDiverged
from mlplab.losses import smooth_labels
from mlplab.network import MLP
from mlplab.optim import Optimizer
from mlplab.registry import schedule_lr

ENGINES = ("auto", "numpy")


@dataclass
class EpochRecord:
    """One row of the history. ``seconds`` is wall time of the epoch's training steps."""

    epoch: int
    train_loss: float
    train_accuracy: float | None
    val_loss: float | None
    val_accuracy: float | None
    seconds: float
    lr: float

    def as_json(self) -> dict:
        """The record with NaN (undefined accuracy of a regressor) turned into null."""
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}


class Callback(Protocol):
    def on_epoch_end(self, trainer: Trainer, record: EpochRecord) -> None: ...


@dataclass
class TrainerState:
    """What must survive an interruption for a resumed run to end bit-identical."""

    epoch: int = 0
    best_val_loss: float = math.inf
    best_epoch: int = -1
    bad_epochs: int = 0
    stopped_early: bool = False
    diverged: bool = False
    history: list[EpochRecord] = field(default_factory=list)


class Trainer:
    """Trains ``net`` with ``optimizer``; ``fit`` may be called again after ``load_state`` to resume.

    patience: stop after that many epochs without a validation-loss improvement larger than ``min_delta``,
    then restore the best weights (None: never stop early). on_nonfinite: "raise" a TrainingDiverged
    naming the epoch and learning rate, or "stop" quietly (for sweeps that probe divergence).
    engine: "auto" (default) runs shuffled epochs through the compiled kernels of ``kernels.py`` when they
    support the setup; "numpy" always uses the NumPy engine. threads: cores while training (None: automatic
    from the batch size). The compiled mini-batch kernel runs on two workers from 16 rows
    (``kernels.workers_for``), each calling BLAS with one thread; the NumPy engine gives BLAS this many threads
    (``kernels.blas_threads_for``: one below 64 rows). The library reads no environment variable:
    ``mlplab train`` passes $MLPLAB_ENGINE and $MLPLAB_THREADS in as these two parameters.
    While ``fit`` runs, the trainer owns one helper thread: it gathers the next rows for the one-worker kernels,
    or is the second worker; it is shut down when ``fit`` returns.
    label_smoothing: ε of ``losses.smooth_labels``, applied to the training targets only (softmax outputs); the
    validation and test losses stay measured against the true labels.
    """

    def __init__(
        self,
        net: MLP,
        optimizer: Optimizer,
        *,
        epochs: int = 100,
        batch_size: int | None = 32,
        schedule: str = "constant",
        patience: int | None = None,
        min_delta: float = 0.0,
        seed: int | None = 0,
        shuffle: bool = True,
        callbacks: list | tuple = (),
        on_nonfinite: str = "raise",
        restore_best: bool = True,
        engine: str = "auto",
        threads: int | None = None,
        label_smoothing: float = 0.0,
    ) -> None:
        if epochs < 0:
            raise ConfigError(f"epochs must be ≥ 0; got {epochs}")
        if batch_size is not None and batch_size < 1:
            raise ConfigError(f"batch size must be ≥ 1 or full; got {batch_size}")
        if patience is not None and patience < 1:
            raise ConfigError(f"patience must be ≥ 1; got {patience}")
        self.net, self.optimizer = net, optimizer
        self.epochs, self.batch_size, self.schedule = epochs, batch_size, schedule
        self.patience, self.min_delta, self.shuffle = patience, min_delta, shuffle
        self.callbacks, self.on_nonfinite, self.restore_best = list(callbacks), on_nonfinite, restore_best
        self.lr0 = optimizer.lr
        self.rng = np.random.default_rng(seed)  # shuffling and dropout masks
        self.state = TrainerState()
        self.best_params: dict[str, np.ndarray] | None = None
        if engine not in ENGINES:
            raise ConfigError(f"engine must be 'auto' or 'numpy'; got {engine!r}")
        if threads is not None and threads < 1:
            raise ConfigError(f"threads must be ≥ 1; got {threads}")
        self.engine, self.threads = engine, threads
        if not 0 <= label_smoothing < 1:
            raise ConfigError(f"label smoothing must be in [0, 1); got {label_smoothing}")
        if label_smoothing and net.output != "softmax":
            raise ConfigError(f"label smoothing spreads probability over the classes of a softmax output; "
                              f"this network's output is {net.output!r}")
        self.label_smoothing = label_smoothing
        self._gatherer: ThreadPoolExecutor | None = None  # alive only while fit runs
        self.epoch_penalty = 0.0  # the last run_epoch's L2 term (see there)

    @property
    def history(self) -> list[EpochRecord]:
        return self.state.history

    # ----------------------------------------------------------------------------------------- state
    def state_dict(self) -> tuple[dict[str, np.ndarray], dict]:
        """Everything a resumed run needs beyond the network's weights, as (arrays, JSON-ready dict).

        arrays (copies): the optimizer's ("optim.velocity.W1", "optim.m.W1", …) and the best weights kept for
        early stopping ("best.W1", …). The dict: "trainer" (epoch, early-stopping counters, history),
        "optimizer" (its scalars), "rng" (the generator behind shuffling and dropout), "has_best"; NaN and
        ±inf are written as the strings "nan", "inf", "-inf". ``load_state_dict`` puts it back bit-exactly.
        """
        opt_arrays, opt_scalars = self.optimizer.state_dict()
        arrays = {f"optim.{k}": v.copy() for k, v in opt_arrays.items()}
        if self.best_params is not None:
            arrays |= {f"best.{k}": v.copy() for k, v in self.best_params.items()}
        st = self.state
        state = {
            "trainer": {
                "epoch": st.epoch, "best_val_loss": _enc(st.best_val_loss), "best_epoch": st.best_epoch,
                "bad_epochs": st.bad_epochs, "stopped_early": st.stopped_early, "diverged": st.diverged,
                "history": [{k: _enc(v) for k, v in asdict(r).items()} for r in st.history],
            },
            "optimizer": {k: _enc(v) for k, v in opt_scalars.items()},
            "rng": self.rng.bit_generator.state,
            "has_best": self.best_params is not None,
        }
        return arrays, state

    def state_shapes(self, has_best: bool) -> dict[str, tuple[tuple[int, ...], str]]:
        """{name: (shape, dtype)} of the arrays ``state_dict`` gives for this trainer (to check a stored state)."""
        opt_arrays, _ = self.optimizer.state_dict()
        shapes = {f"optim.{k}": (a.shape, a.dtype.name) for k, a in opt_arrays.items()}
        if has_best:
            shapes |= {f"best.{k}": (p.shape, p.dtype.name) for k, p in self.net.params.items()}
        return shapes

    def load_state_dict(self, arrays: dict[str, np.ndarray], state: dict) -> None:
        """Restore what ``state_dict`` returned (into a trainer built with the same network and optimizer).

        A ConfigError names the first inconsistency (missing or misshapen array, missing or mistyped field).
        """
        try:
            has_best = bool(state["has_best"])
            expected = self.state_shapes(has_best)
            if set(arrays) != set(expected):
                raise ValueError(f"arrays {sorted(set(arrays) ^ set(expected))} missing or unexpected")
            for k, (shape, dtype) in expected.items():
                if arrays[k].shape != shape or arrays[k].dtype != np.dtype(dtype):
                    raise ValueError(f"array {k} is {arrays[k].dtype}{list(arrays[k].shape)}, expected "
                                     f"{dtype}{list(shape)}")
            st = state["trainer"]
            trainer_state = TrainerState(
                epoch=int(st["epoch"]), best_val_loss=float(_dec(st["best_val_loss"])),
                best_epoch=int(st["best_epoch"]), bad_epochs=int(st["bad_epochs"]),
                stopped_early=bool(st["stopped_early"]), diverged=bool(st["diverged"]),
                history=[EpochRecord(**{k: _dec(v) for k, v in r.items()}) for r in st["history"]],
            )
            bits = type(self.rng.bit_generator)(0)
            bits.state = state["rng"]  # checked on a spare generator first
            opt_state = {k[len("optim."):]: v for k, v in arrays.items() if k.startswith("optim.")}
            self.optimizer.load_state_dict(opt_state, {k: _dec(v) for k, v in state["optimizer"].items()})
        except (KeyError, TypeError, ValueError) as e:
            raise ConfigError(f"inconsistent trainer state ({type(e).__name__}: {e})") from None
        self.best_params = {k: arrays[f"best.{k}"].copy() for k in self.net.params} if has_best else None
        self.state = trainer_state
        self.rng.bit_generator.state = bits.state

    # ---------------------------------------------------------------------------------------- epochs
    def run_epoch(self, X: np.ndarray, Y: np.ndarray, labels: np.ndarray | None,
                  order: np.ndarray | None = None) -> tuple[float, float]:
        """One pass over the data; returns (mean training loss, training accuracy or NaN).

        The loss and accuracy are averaged over the epoch's batches as they were trained (as
        scikit-learn's loss_curve_), which costs nothing extra. ``order``: the rows' training order (N,), instead
        of a shuffle drawn from ``self.rng`` (or the stored order without ``shuffle``); rows are gathered batch by
        batch, never copied as a whole. With an optimizer whose ``decay_per_row`` is set (scikit-learn's L2), each
        batch's loss also has an L2 term, ½·(α/m)·‖W‖² for the weights before its step: its mean over the epoch's
        rows is left in ``self.epoch_penalty``, not in the loss returned (scikit-learn's loss_curve_ is the sum).
        """
        net, opt, N = self.net, self.optimizer, X.shape[0]
        B = N if self.batch_size is None else min(self.batch_size, N)
        rng = self.rng if net.dropout > 0 else None
        if B == N:  # full batch: the gradient is the same in any order, so use the data in place
            if order is not None:  # unless the caller asks for an order (sums in that order)
                X, Y = np.take(X, order, axis=0), np.take(Y, order, axis=0)
                labels = np.take(labels, order) if labels is not None else None
            loss, hits = net.train_batch(X, Y, labels, rng)
            self.epoch_penalty = opt.penalty() / N
            opt.step(net.grads, N)
            return loss, (hits / N if labels is not None else math.nan)
        if order is None:
            order = self.rng.permutation(N) if self.shuffle else np.arange(N)
        compiled = self.engine != "numpy" and kernels.supported(net, opt, B, self.rng)
        if compiled and self._gatherer is None:  # called outside fit: the helper thread lives for this epoch
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlplab-worker") as self._gatherer:
                try:
                    total, hits, penalty = self._shuffled(X, Y, labels, order, B, compiled, rng)
                finally:
                    self._gatherer = None
        else:
            total, hits, penalty = self._shuffled(X, Y, labels, order, B, compiled, rng)
        self.epoch_penalty = penalty / N
        return total / N, (hits / N if labels is not None else math.nan)

    def _shuffled(self, X: np.ndarray, Y: np.ndarray, labels: np.ndarray | None, order: np.ndarray, B: int,
                  compiled: bool, rng: np.random.Generator | None) -> tuple[float, int, float]:
        """(Σ per-row loss, hits, Σ per-row L2 term) of one epoch of batches of B rows taken in ``order``.

        Compiled with dropout, the kernels draw the masks from the generator's stream as it stands now, the numbers
        the NumPy engine would draw; the generator is then moved past them (``kernels.skip``)."""
        net, opt = self.net, self.optimizer
        masks = kernels.stream(rng) if compiled and rng is not None else None
        if compiled and B > 1 and kernels.workers_for(B, self.threads) == 2:  # gathers its own rows, on two cores
            assert self._gatherer is not None
            total, hits, penalty = kernels.run_epoch_parallel(net, opt, X, Y, labels, order, B, self._gatherer, masks)
        else:
            total, hits, penalty = self._chunked(X, Y, labels, order, B, compiled, rng, masks)
        if rng is not None and masks is not None:
            kernels.skip(rng, masks, order.shape[0] * sum(net.sizes[1:-1]), net.dtype)
        return total, hits, penalty

    def _chunked(self, X: np.ndarray, Y: np.ndarray, labels: np.ndarray | None, order: np.ndarray, B: int,
                 compiled: bool, rng: np.random.Generator | None,
                 masks: np.ndarray | None) -> tuple[float, int, float]:
        """``_shuffled`` on one worker: chunks of rows gathered (in the background for the kernels), then trained."""
        net, opt = self.net, self.optimizer
        total, hits, penalty, row0 = 0.0, 0, 0.0, 0
        for xc, yc, lc in _chunks(X, Y, labels, order, B, self._gatherer if compiled else None):
            if compiled:  # same math, compiled (kernels.py); the chunk is already in training order
                t, h, p = kernels.run_epoch(net, opt, xc, yc, lc, B, masks, row0)
                total, hits, penalty, row0 = total + t, hits + h, penalty + p, row0 + xc.shape[0]
                continue
            for start in range(0, xc.shape[0], B):
                xb, yb = xc[start : start + B], yc[start : start + B]
                lb = lc[start : start + B] if lc is not None else None
                loss, h = net.train_batch(xb, yb, lb, rng)
                penalty += opt.penalty()  # ½·(α/m)·‖W‖² × m rows, before the step
                opt.step(net.grads, xb.shape[0])
                total += loss * xb.shape[0]
                hits += h
        return total, hits, penalty

    def fit(self, X: np.ndarray, y: np.ndarray, X_val: np.ndarray | None = None,
            y_val: np.ndarray | None = None) -> list[EpochRecord]:
        """Train until ``epochs`` (counted from the run's start), early stop, or divergence."""
        net = self.net
        X = net.as_input(X)
        Y = smooth_labels(net.targets(y), self.label_smoothing)
        labels = np.ascontiguousarray(y, dtype=np.intp) if _is_labels(net, y) else None
        has_val = X_val is not None and y_val is not None and len(X_val) > 0
        if has_val:
            assert X_val is not None and y_val is not None
            X_val, Y_val = net.as_input(X_val), net.targets(y_val)
        st = self.state
        with self.session(X.shape[0]):
            self._epochs(X, y, Y, labels, X_val, y_val, Y_val if has_val else None, has_val)
        if self.restore_best and self.best_params is not None and st.best_epoch < st.epoch:
            net.set_params(self.best_params)
        return st.history

    @contextlib.contextmanager
    def session(self, n_rows: int) -> Iterator[None]:
        """What epochs over n_rows rows hold while they train, for ``fit`` and for callers that call ``run_epoch``
        themselves (the scikit-learn solver): the BLAS thread limit for the batch size, and the helper thread
        (shut down on exit). The compiled kernels call BLAS from one thread per worker; the NumPy engine lets BLAS
        thread itself."""
        B = n_rows if self.batch_size is None else min(self.batch_size, n_rows)
        compiled = self.engine != "numpy" and kernels.supported(self.net, self.optimizer, B, self.rng) and n_rows > B
        with (kernels.blas_threads(1 if compiled else kernels.blas_threads_for(B, self.threads)),
              ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlplab-worker") as self._gatherer):
            try:
                yield
            finally:
                self._gatherer = None

    def _epochs(self, X: np.ndarray, y: np.ndarray, Y: np.ndarray, labels: np.ndarray | None, X_val: Any, y_val: Any,
                Y_val: np.ndarray | None, has_val: bool) -> None:
        net, st = self.net, self.state
        while st.epoch < self.epochs and not (st.stopped_early or st.diverged):
            lr = schedule_lr(self.schedule, self.lr0, st.epoch, self.epochs)
            self.optimizer.lr = lr
            t0 = time.perf_counter()
            with np.errstate(over="ignore", invalid="ignore"):  # divergence is reported below, once
                train_loss, train_acc = self.run_epoch(X, Y, labels)
                seconds = time.perf_counter() - t0
                val_loss, val_acc = net.evaluate(X_val, y_val, Y_val) if has_val else (None, None)
            record = EpochRecord(st.epoch + 1, train_loss, train_acc, val_loss, val_acc, seconds, lr)
            st.history.append(record)
            st.epoch += 1
            if not math.isfinite(train_loss) or (val_loss is not None and not math.isfinite(val_loss)):
                st.diverged = True
                if self.on_nonfinite == "raise":
                    raise TrainingDiverged(
                        f"training diverged: the loss became {train_loss} at epoch {record.epoch} "
                        f"with learning rate {lr:g}; try a smaller learning rate"
                    )
            elif has_val and val_loss is not None:
                self._early_stopping(val_loss)
            for cb in self.callbacks:
                cb.on_epoch_end(self, record)

    def _early_stopping(self, val_loss: float) -> None:
        st = self.state
        if val_loss < st.best_val_loss - self.min_delta:
            st.best_val_loss, st.best_epoch, st.bad_epochs = val_loss, st.epoch, 0
            if self.patience is not None:
                if self.best_params is None:
                    self.best_params = self.net.get_params()
                else:
                    for k, v in self.net.params.items():
                        np.copyto(self.best_params[k], v)
        else:
            st.bad_epochs += 1
            if self.patience is not None and st.bad_epochs >= self.patience:
                st.stopped_early = True


def _enc(x: Any) -> Any:
    """A float as JSON: NaN and ±inf become the strings "nan", "inf", "-inf"."""
    return x if not isinstance(x, float) or math.isfinite(x) else str(x)


def _dec(x: Any) -> Any:
    return float(x) if isinstance(x, str) else x


def _is_labels(net: MLP, y: np.ndarray) -> bool:
    y = np.asarray(y)
    return net.is_classifier and y.ndim == 1 and np.issubdtype(y.dtype, np.integer)


CHUNK_BYTES = 4 << 20  # rows gathered per background copy: a few batches, small enough to stay in L3 cache


def _chunks(X: np.ndarray, Y: np.ndarray, labels: np.ndarray | None, order: np.ndarray, B: int,
            gatherer: ThreadPoolExecutor | None) -> Iterator[tuple]:
    """Yield the rows (X, Y, labels) of ``order`` in consecutive chunks of whole batches, as contiguous arrays.

    With a ``gatherer`` (the Trainer's one helper thread), it gathers the next chunk while the caller trains on the
    current one (np.take and the compiled kernels release the GIL). The random-row gather is memory bound; it
    overlaps well when BLAS runs on one thread (small batches), but only competes with BLAS's own threads for the
    second core on larger batches, hence the choice; without a gatherer, each chunk is one batch gathered in line,
    into a buffer small enough to stay in L2 cache. The timings behind both choices are in BENCHMARKS.md. Either
    way the values, and so the results, are those of gathering each batch in place. An epoch that fits in one
    chunk has nothing to overlap its gather with: it is gathered in line (handing it to the helper thread and
    waiting costs more than the gather on small data).
    """
    N = order.shape[0]
    rows = min(B * max(1, CHUNK_BYTES // (B * X.shape[1] * X.itemsize)), N) if gatherer is not None else B
    background = gatherer is not None and rows < N
    bufs = [(np.empty((rows, X.shape[1]), X.dtype), np.empty((rows, Y.shape[1]), Y.dtype),
             np.empty(rows, labels.dtype) if labels is not None else None) for _ in range(2 if background else 1)]

    def gather(start: int, buf: tuple) -> tuple:
        idx = order[start : start + rows]
        m = idx.shape[0]
        xc, yc, lc = buf[0][:m], buf[1][:m], (buf[2][:m] if labels is not None else None)
        np.take(X, idx, axis=0, out=xc)
        np.take(Y, idx, axis=0, out=yc)
        if labels is not None and lc is not None:
            np.take(labels, idx, out=lc)
        return xc, yc, lc

    if not background or gatherer is None:
        for start in range(0, N, rows):
            yield gather(start, bufs[0])
        return
    pending = gatherer.submit(gather, 0, bufs[0])
    for k, start in enumerate(range(0, N, rows)):
        chunk = pending.result()
        if start + rows < N:
            pending = gatherer.submit(gather, start + rows, bufs[(k + 1) % 2])
        yield chunk
