"""MLP: a stack of Linear layers with one activation between them and a fused output+loss head.

    X → z₁ = X W1 + b1 → a₁ = σ(z₁) → … → ỹ = a_{L−1} W_L + b_L → ŷ = output(ỹ)

``params`` and ``grads`` are dicts of arrays "W1", "b1", …; layers hold the same arrays, so writing into
``net.params["W1"][...]`` changes the network.

Two kinds of buffers. Training (``train_batch``, the one run that owns this network) reuses a workspace per
batch size, so a step allocates nothing; at most ``TRAIN_WORKSPACES`` sizes are kept. Inference
(``forward``, ``predict``, ``evaluate``, ``mean_loss``, ``loss_and_grad``) allocates its own buffers on every call
and keeps none, so any number of threads may call it at once and memory does not grow with row counts.
``forward``, ``predict`` and ``evaluate`` (and ``mean_loss``) compute their products with ``products.matmul`` and
their sums with ``products.dot``, not BLAS: the BLAS thread count is process-wide and changes BLAS results in the
last bits, so a training thread's limit would otherwise change another thread's predictions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from mlplab import products, registry
from mlplab.errors import ConfigError
from mlplab.layers import Linear

EVAL_CHUNK = 4096  # rows per forward pass when evaluating large arrays
TRAIN_WORKSPACES = 4  # batch sizes whose training buffers are kept (a run uses its batch size and one remainder)


class Workspace:
    """Every buffer one batch size needs: activations, deltas, dropout masks, head scratch."""

    def __init__(self, B: int, sizes: Sequence[int], dtype: np.dtype, dropout: bool) -> None:
        hidden, n_y = sizes[1:-1], sizes[-1]
        self.B = B
        self.a = [np.empty((B, n), dtype) for n in sizes[1:]]  # z_l, overwritten by a_l; last is ỹ → ŷ
        self.delta = [np.empty((B, n), dtype) for n in sizes[1:]]  # ∂L/∂z_l
        self.mask = [np.empty((B, n), dtype) for n in hidden] if dropout else []
        self.dropped = [np.empty((B, n), dtype) for n in hidden] if dropout else []
        self.scratch = np.empty((B, n_y), dtype)
        self.row = np.empty(B, dtype)
        self.row2 = np.empty(B, dtype)
        self.pred = np.empty(B, np.intp)
        self.hit = np.empty(B, np.bool_)

    def rows(self, b: int) -> Workspace:
        """The same buffers cut to their first b rows (views, no copy): for a short last chunk."""
        if b == self.B:
            return self
        view = object.__new__(Workspace)
        view.B = b
        view.a, view.delta = [x[:b] for x in self.a], [x[:b] for x in self.delta]
        view.mask, view.dropped = [x[:b] for x in self.mask], [x[:b] for x in self.dropped]
        view.scratch, view.row, view.row2 = self.scratch[:b], self.row[:b], self.row2[:b]
        view.pred, view.hit = self.pred[:b], self.hit[:b]
        return view


class MLP:
    """A fully connected network of any depth with hand-written backpropagation.

    sizes: [n_x, n_h1, …, n_y]. activation ∈ tanh, relu, sigmoid, identity (and step, for Q13).
    output ∈ softmax, identity, sigmoid. loss ∈ cross_entropy, mse. init ∈ auto (He for ReLU, Glorot
    otherwise), normal (the lab's N(0, init_scale²) for weights and biases), glorot, he. dropout: the
    probability of zeroing a hidden unit while training (inverted dropout; off at inference).
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "tanh",
        output: str = "softmax",
        loss: str = "cross_entropy",
        *,
        init: str = "auto",
        init_scale: float = 0.1,
        dropout: float = 0.0,
        seed: int | None = 0,
        dtype: str | np.dtype = "float32",
    ) -> None:
        sizes = [int(n) for n in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ConfigError(f"sizes must list at least n_x and n_y, all ≥ 1; got {sizes}")
        act = registry.choose("activation", registry.ACTIVATIONS, activation)
        draw = registry.init_for(init, activation)
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"dropout must be in [0, 1); got {dropout}")
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise ConfigError(f"dtype must be float32 or float64; got {dtype}")
        self.sizes, self.activation, self.output, self.loss = sizes, activation, output, loss
        self.init, self.init_scale, self.dropout, self.seed = init, float(init_scale), float(dropout), seed
        self.act = act.cls
        self.head = registry.head_for(output, loss).cls
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.layers: list[Linear] = []
        rng = np.random.default_rng(seed)
        for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
            W, b = draw(rng, n_in, n_out, self.init_scale, act.glorot_gain)
            W, b = W.astype(self.dtype), b.astype(self.dtype)
            self.params[f"W{l}"], self.params[f"b{l}"] = W, b
            self.grads[f"W{l}"], self.grads[f"b{l}"] = np.zeros_like(W), np.zeros_like(b)
            self.layers.append(Linear(W, b))
        self._workspaces: dict[int, Workspace] = {}

    # ----------------------------------------------------------------------------------------- shape
    @property
    def n_layers(self) -> int:
        return len(self.layers)

    @property
    def n_params(self) -> int:
        return sum(p.size for p in self.params.values())

    def config(self) -> dict:
        """The constructor arguments, JSON-ready: ``MLP(**net.config())`` rebuilds the architecture."""
        return {
            "sizes": list(self.sizes), "activation": self.activation, "output": self.output,
            "loss": self.loss, "init": self.init, "init_scale": self.init_scale,
            "dropout": self.dropout, "seed": self.seed, "dtype": self.dtype.name,
        }

    def workspace(self, B: int) -> Workspace:
        """The training buffers for batch size B, kept for reuse (only the run that trains this net uses them)."""
        ws = self._workspaces.pop(B, None)
        if ws is None:
            ws = Workspace(B, self.sizes, self.dtype, self.dropout > 0)
            while len(self._workspaces) >= TRAIN_WORKSPACES:  # forget the least recently used size
                del self._workspaces[next(iter(self._workspaces))]
        self._workspaces[B] = ws  # most recently used last
        return ws

    def _scratch_workspace(self, n: int) -> Workspace:
        """Fresh buffers for one inference call over n rows (in chunks of at most EVAL_CHUNK), owned by the caller."""
        return Workspace(max(min(n, EVAL_CHUNK), 1), self.sizes, self.dtype, dropout=False)

    # --------------------------------------------------------------------------------------- targets
    @property
    def is_classifier(self) -> bool:
        return registry.is_classifier(self.output)

    def targets(self, y: np.ndarray) -> np.ndarray:
        """Integer labels (B,) → one-hot Y (B, n_y); float targets (B, n_y) or (B,) pass through, cast."""
        y = np.asarray(y)
        n_y = self.sizes[-1]
        if y.ndim == 1 and np.issubdtype(y.dtype, np.integer) and registry.n_classes(self.output, n_y) == n_y:
            if y.size and (y.min() < 0 or y.max() >= n_y):
                raise ConfigError(f"labels must lie in 0..{n_y - 1}; got {y.min()}..{y.max()}")
            Y = np.zeros((y.shape[0], n_y), self.dtype)
            Y[np.arange(y.shape[0]), y] = 1
            return Y
        Y = np.ascontiguousarray(y, dtype=self.dtype)
        if Y.ndim == 1:
            Y = Y.reshape(-1, 1)
        if Y.shape[1] != n_y:
            raise ConfigError(f"targets have {Y.shape[1]} columns but the network has n_y = {n_y}")
        return Y

    # --------------------------------------------------------------------------------- forward/backward
    def _forward(self, X: np.ndarray, ws: Workspace, rng: np.random.Generator | None = None,
                 matmul: Callable[..., np.ndarray] = np.matmul) -> np.ndarray:
        """Logits ỹ (B, n_y) in ws.a[-1]. With an rng, hidden units are dropped (training mode). ``matmul``:
        BLAS's for training, ``products.matmul`` for inference (see the module docstring)."""
        x = X
        for l, layer in enumerate(self.layers):
            z = ws.a[l]
            layer.forward(x, z, matmul)
            if l < self.n_layers - 1:
                self.act.forward(z, z)  # a_l = σ(z_l), in place
                if rng is not None and self.dropout > 0:
                    self._drop(z, ws, l, rng)
                    z = ws.dropped[l]
            x = z
        return ws.a[-1]

    def _drop(self, a: np.ndarray, ws: Workspace, l: int, rng: np.random.Generator) -> None:
        """Inverted dropout: mask = [u ≥ p] / (1 − p); the next layer reads a ⊙ mask."""
        mask = ws.mask[l]
        rng.random(out=mask, dtype=mask.dtype)
        np.greater_equal(mask, self.dropout, out=mask)
        mask *= 1.0 / (1.0 - self.dropout)
        np.multiply(a, mask, out=ws.dropped[l])

    def _backward(self, X: np.ndarray, ws: Workspace, dropped: bool, grads: dict[str, np.ndarray]) -> None:
        """From δ_L = ∂L/∂ỹ in ws.delta[-1], fill ``grads`` ("W1", "b1", …). Destroys the stored activations."""
        for l in range(self.n_layers - 1, -1, -1):
            dW, db = grads[f"W{l + 1}"], grads[f"b{l + 1}"]
            if l == 0:
                self.layers[0].backward(X, ws.delta[0], None, dW, db)
                break
            x = ws.dropped[l - 1] if dropped else ws.a[l - 1]
            grad_x = ws.delta[l - 1]
            self.layers[l].backward(x, ws.delta[l], grad_x, dW, db)  # ∂L/∂a_{l}
            if dropped:
                grad_x *= ws.mask[l - 1]
            self.act.backward(ws.a[l - 1], grad_x)  # ∂L/∂z_l = ∂L/∂a_l ⊙ σ'(z_l)

    def train_batch(
        self, X: np.ndarray, Y: np.ndarray, labels: np.ndarray | None = None,
        rng: np.random.Generator | None = None,
    ) -> tuple[float, int]:
        """One forward and backward pass on a batch of the training run; gradients land in ``self.grads``.

        X: (B, n_x), Y: (B, n_y) targets in the network's dtype; labels: (B,) ints to count hits.
        Returns (mean loss, number of correct predictions or 0). Allocates nothing after the first call.
        Uses the network's training buffers: only the one run that trains this network may call it.
        """
        return self._step(X, Y, labels, rng, self.workspace(X.shape[0]), self.grads)

    def _step(self, X: np.ndarray, Y: np.ndarray, labels: np.ndarray | None, rng: np.random.Generator | None,
              ws: Workspace, grads: dict[str, np.ndarray]) -> tuple[float, int]:
        """Forward, loss, backward on one batch with the given buffers; gradients into ``grads``."""
        z = self._forward(X, ws, rng)
        loss = self.head.loss_and_delta(z, Y, ws.delta[-1], ws.scratch, ws.row, ws.row2)
        hits = self._count_hits(z, labels, ws) if labels is not None else 0
        self._backward(X, ws, rng is not None and self.dropout > 0, grads)
        return loss, hits

    def _count_hits(self, y_hat: np.ndarray, labels: np.ndarray, ws: Workspace) -> int:
        B = y_hat.shape[0]
        if y_hat.shape[1] == 1:  # one sigmoid output: class 1 when ŷ > 0.5
            np.greater(y_hat[:, 0], 0.5, out=ws.hit[:B])
            ws.pred[:B] = ws.hit[:B]
        else:
            np.argmax(y_hat, axis=1, out=ws.pred[:B])
        np.equal(ws.pred[:B], labels, out=ws.hit[:B])
        return int(np.count_nonzero(ws.hit[:B]))

    # ---------------------------------------------------------------------------------- public API
    # Everything below allocates its own buffers per call: safe from any number of threads at once,
    # as long as no thread changes the parameters meanwhile.
    def as_input(self, X: np.ndarray) -> np.ndarray:
        """X as a C-contiguous (B, n_x) array in the network's dtype; a ConfigError names a wrong shape."""
        X = np.ascontiguousarray(X, dtype=self.dtype)
        if X.ndim != 2 or X.shape[1] != self.sizes[0]:
            raise ConfigError(f"X must have shape (B, {self.sizes[0]}); got {X.shape}")
        return X

    def forward(self, X: np.ndarray) -> np.ndarray:
        """ŷ (B, n_y) for X (B, n_x): probabilities for softmax/sigmoid outputs, values for identity."""
        X = self.as_input(X)
        y_hat = np.empty((X.shape[0], self.sizes[-1]), self.dtype)
        full = self._scratch_workspace(X.shape[0])
        for start in range(0, X.shape[0], EVAL_CHUNK):
            chunk = X[start : start + EVAL_CHUNK]
            ws = full.rows(chunk.shape[0])
            z = self._forward(chunk, ws, matmul=products.matmul)
            y_hat[start : start + chunk.shape[0]] = self.head.output(z, ws.row)
        return y_hat

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class indices (B,) for a classifier; ŷ for a regressor."""
        y_hat = self.forward(X)
        if not self.is_classifier:
            return y_hat
        if y_hat.shape[1] == 1:
            return (y_hat[:, 0] > 0.5).astype(np.int64)
        return y_hat.argmax(axis=1)

    def loss_and_grad(self, X: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
        """Batch-mean loss and its gradient for every parameter (fresh arrays, keyed like ``params``).

        X: (B, n_x); y: labels (B,) or targets (B, n_y). One forward and one backward pass in fresh buffers.
        """
        X = self.as_input(X)
        grads = {k: np.empty_like(p) for k, p in self.params.items()}
        ws = Workspace(X.shape[0], self.sizes, self.dtype, dropout=False)
        loss, _ = self._step(X, self.targets(y), None, None, ws, grads)
        return loss, grads

    def mean_loss(self, X: np.ndarray, Y: np.ndarray) -> float:
        """The batch-mean loss L(θ) on X (B, n_x) for targets Y (B, n_y), forward only."""
        return self.evaluate(X, None, Y)[0]

    def evaluate(self, X: np.ndarray, y: np.ndarray | None, Y: np.ndarray | None = None) -> tuple[float, float]:
        """(mean loss, accuracy) over X in chunks; accuracy is NaN for a regressor or when y is None.

        X: (B, n_x); y: labels (B,) or targets; Y: the targets (B, n_y) if already built from y.
        """
        X = self.as_input(X)
        labels = np.asarray(y) if y is not None and self.is_classifier and np.asarray(y).ndim == 1 else None
        if Y is None:
            if y is None:
                raise ConfigError("evaluate needs labels y or targets Y")
            Y = self.targets(y)
        total_loss, hits = 0.0, 0
        full = self._scratch_workspace(X.shape[0])
        for start in range(0, X.shape[0], EVAL_CHUNK):
            stop = start + EVAL_CHUNK
            ws = full.rows(min(EVAL_CHUNK, X.shape[0] - start))
            z = self._forward(X[start:stop], ws, matmul=products.matmul)
            total_loss += z.shape[0] * self.head.loss_and_delta(
                z, Y[start:stop], ws.delta[-1], ws.scratch, ws.row, ws.row2
            )
            if labels is not None:
                hits += self._count_hits(z, labels[start:stop], ws)
        n = max(X.shape[0], 1)
        return total_loss / n, (hits / n if labels is not None else float("nan"))

    def get_params(self) -> dict[str, np.ndarray]:
        """A copy of every parameter."""
        return {k: v.copy() for k, v in self.params.items()}

    def set_params(self, params: dict[str, np.ndarray]) -> None:
        """Copy values into the existing arrays (shapes must match)."""
        for k, v in params.items():
            if self.params[k].shape != np.shape(v):
                raise ConfigError(f"parameter {k} has shape {self.params[k].shape}, got {np.shape(v)}")
            np.copyto(self.params[k], v, casting="same_kind")
