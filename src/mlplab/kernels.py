"""Compiled (numba) training epochs: the same math as ``network.py`` + ``optim.py``, without Python per step.

Two kernels, both a whole epoch in one call, visiting rows in the order the Trainer drew from ``trainer.rng``:

* ``online_epoch`` — batch size 1 (online SGD, Q10). One sample at a time, every loop fused: the forward
  pass reads each weight row once, and the update W ← W − lr x δᵀ (a rank-1 update) is applied while the
  next layer's δ is accumulated, so no gradient array is ever written.
* ``minibatch_epoch`` — batch size ≥ 2. Gathers each batch, calls BLAS through ``np.dot(a, b, out)`` for the
  five matrix products and fuses bias, activation, head and optimizer into single loops.

The mini-batch kernel is used up to ``KERNEL_MAX_BATCH`` rows; larger batches spend their time in BLAS and the
NumPy engine measured as fast. Both support: activations tanh, relu, sigmoid, identity; every output/loss head
of ``losses.py``; SGD (momentum, Nesterov, weight decay) and Adam; no dropout. ``supported()`` says whether a
configuration qualifies; the Trainer falls back to the NumPy engine otherwise, or when built with
``engine="numpy"`` (``mlplab train`` passes $MLPLAB_ENGINE; the tests cover both).

Compiled once per machine: ``cache=True`` stores the machine code in ``NUMBA_CACHE_DIR``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
from numba import njit

if TYPE_CHECKING:
    from mlplab.network import MLP
    from mlplab.optim import SGD, Adam, Optimizer

ACT_CODES = {"tanh": 0, "relu": 1, "sigmoid": 2, "identity": 3}
HEAD_CODES = {("softmax", "cross_entropy"): 0, ("softmax", "mse"): 1, ("identity", "mse"): 2,
              ("sigmoid", "mse"): 3, ("sigmoid", "cross_entropy"): 4}
KERNEL_MAX_BATCH = 64  # above this, BLAS time dominates and the NumPy engine measured as fast or faster
FM = {"reassoc", "contract"}  # lets LLVM vectorise dot-product reductions; no assumptions about NaN/inf


ONE_THREAD_BELOW = 64  # batches smaller than this always train with one BLAS thread
_controller = None


def blas_threads_for(batch_size: int, threads: int | None = None) -> int | None:
    """BLAS threads for training with this batch size: ``threads`` if given (the CLI passes $MLPLAB_THREADS), or auto.

    Auto: 1 thread for batches below ONE_THREAD_BELOW rows (extra threads only spin on such small products),
    the library default (None) otherwise. The choice depends on nothing but the batch size, because OpenBLAS
    results change in the last bits with the thread count and a run must give the same numbers every time.
    On a machine busy with other work, MLPLAB_THREADS=1 is often faster (BENCHMARKS.md).
    """
    if threads is not None:
        return max(int(threads), 1)
    return 1 if batch_size < ONE_THREAD_BELOW else None


@contextlib.contextmanager
def blas_threads(n: int | None) -> Iterator[None]:
    """Limit every loaded BLAS (NumPy's, and SciPy's that numba's np.dot calls) to n threads; None: no change."""
    global _controller
    if n is None:
        yield
        return
    from threadpoolctl import ThreadpoolController

    if _controller is None:
        _controller = ThreadpoolController()
    with _controller.limit(limits=n, user_api="blas"):
        yield


def supported(net: MLP, optimizer: Optimizer, batch_size: int) -> bool:
    """True when a compiled kernel implements what the NumPy engine would do, and is the faster of the two."""
    from mlplab.optim import SGD, Adam

    return (
        1 <= batch_size <= KERNEL_MAX_BATCH
        and net.activation in ACT_CODES
        and (net.output, net.loss) in HEAD_CODES
        and net.dropout == 0
        and type(optimizer) in (SGD, Adam)
        and all(p.flags.c_contiguous for p in net.params.values())
    )


# ------------------------------------------------------------------------------------------ scalar math
@njit(cache=True, inline="always")
def _expit(z):
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@njit(cache=True, inline="always")
def _tanh(z):
    """tanh(z) as a rational function of z (Eigen's float tanh: 13/6 odd/even polynomials, within a few ulp).

    Unlike math.tanh (a libm call per value), this compiles to straight-line arithmetic that LLVM vectorises.
    NaN propagates; beyond ±7.905 the result rounds to ±1 in float32.
    """
    x = 7.90531110763549805 if z > 7.90531110763549805 else (-7.90531110763549805 if z < -7.90531110763549805 else z)
    x2 = x * x
    p = x2 * -2.76076847742355e-16 + 2.00018790482477e-13
    p = x2 * p + -8.60467152213735e-11
    p = x2 * p + 5.12229709037114e-08
    p = x2 * p + 1.48572235717979e-05
    p = x2 * p + 6.37261928875436e-04
    p = x2 * p + 4.89352455891786e-03
    q = x2 * 1.19825839466702e-06 + 1.18534705686654e-04
    q = x2 * q + 2.26843463243900e-03
    q = x2 * q + 4.89352518554385e-03
    return x * p / q


@njit(cache=True, inline="always")
def _act(kind, z):
    """σ(z) for the activation code (NaN propagates, as in NumPy); sigmoid(z) = (1 + tanh(z/2)) / 2.

    Codes 0 and 2 use the float32-accurate rational tanh; 4 and 5 are tanh and sigmoid through libm, for float64.
    """
    if kind == 0:
        return _tanh(z)
    if kind == 1:
        return z if not z <= 0 else 0.0 * z  # 0·NaN stays NaN
    if kind == 2:
        return 0.5 + 0.5 * _tanh(0.5 * z)
    if kind == 4:
        return math.tanh(z)
    if kind == 5:
        return _expit(z)
    return z


@njit(cache=True, inline="always")
def _dact(kind, a):
    """σ'(z) written through a = σ(z), as layers.py does."""
    if kind == 0 or kind == 4:
        return 1.0 - a * a
    if kind == 1:
        return np.sign(a)
    if kind == 2 or kind == 5:
        return a * (1.0 - a)
    return 1.0


@njit(cache=True)
def _head_row(head, z, y, delta, scale):
    """Fused output + loss for one row: z (logits) becomes ŷ, delta gets scale·∂l/∂ỹ; returns l."""
    n = z.shape[0]
    if head == 0 or head == 1:  # softmax
        zmax = z[0]
        for j in range(1, n):
            if z[j] > zmax:
                zmax = z[j]
        s = 0.0
        for j in range(n):
            z[j] -= zmax
            s += math.exp(z[j])
        lse = math.log(s)
        if head == 0:  # cross-entropy: l = Σy · lse − y·s;  δ = (ŷ Σy − y) / B
            ysum, yz = 0.0, 0.0
            for j in range(n):
                ysum += y[j]
                yz += y[j] * z[j]
            for j in range(n):
                z[j] = math.exp(z[j] - lse)
                delta[j] = (z[j] * ysum - y[j]) * scale
            return ysum * lse - yz
        for j in range(n):  # squared error through the softmax Jacobian
            z[j] = math.exp(z[j] - lse)
        loss, gy = 0.0, 0.0
        for j in range(n):
            d = z[j] - y[j]
            loss += d * d
            delta[j] = d * (2.0 * scale)
            gy += delta[j] * z[j]
        for j in range(n):
            delta[j] = (delta[j] - gy) * z[j]
        return loss
    if head == 4:  # sigmoid + binary cross-entropy: l = Σ softplus(ỹ) − y·ỹ;  δ = (ŷ − y) / B
        loss = 0.0
        for j in range(n):
            v = z[j]
            loss += max(v, 0.0) + math.log1p(math.exp(-abs(v))) - y[j] * v
            z[j] = _expit(v)
            delta[j] = (z[j] - y[j]) * scale
        return loss
    loss = 0.0  # identity (2) or sigmoid (3) + squared error
    for j in range(n):
        if head == 3:
            z[j] = _expit(z[j])
        d = z[j] - y[j]
        loss += d * d
        delta[j] = d * (2.0 * scale)
        if head == 3:
            delta[j] *= z[j] * (1.0 - z[j])
    return loss


@njit(cache=True, inline="always")
def _hit(yhat, label):
    """1 if the prediction for one row equals its label (argmax, first maximum wins; one output: ŷ > 0.5)."""
    n = yhat.shape[0]
    if n == 1:
        pred = 1 if yhat[0] > 0.5 else 0
    else:
        pred = 0
        for j in range(1, n):
            if yhat[j] > yhat[pred]:
                pred = j
    return 1 if pred == label else 0


# ------------------------------------------------------------------------------------------- optimizer
@njit(cache=True, inline="always")
def _momentum(p, g, lr, mom, nesterov, v):
    """SGD with momentum on one value, as optim.SGD: v ← μ v + g; p ← p − lr v (Nesterov: p − lr g − lr μ v)."""
    v = v * mom + g
    if nesterov:
        return p - g * lr - v * (lr * mom), v
    return p - v * lr, v


@njit(cache=True, inline="always")
def _adam(p, g, b1, b2, eps, c1, c2, m, v):
    """Adam on one value, as optim.Adam, with c1 = lr / (1 − β₁ᵗ) and c2 = 1 / √(1 − β₂ᵗ)."""
    m = (m - g) * b1 + g
    v = v * b2 + (g * g) * (1 - b2)
    return p - (m / (math.sqrt(v) * c2 + eps)) * c1, m, v


@njit(cache=True)
def _update(P, G, opt, lr, mom, nesterov, wd, S1, S2, b1, b2, eps, c1, c2):
    """One optimizer step on a flat parameter P with gradient G (wd already 0 for biases)."""
    if opt == 0 and mom == 0:
        if wd != 0:
            for k in range(P.shape[0]):
                P[k] -= (G[k] + P[k] * wd) * lr
        else:
            for k in range(P.shape[0]):
                P[k] -= G[k] * lr
    elif opt == 0:
        for k in range(P.shape[0]):
            P[k], S1[k] = _momentum(P[k], G[k] + P[k] * wd, lr, mom, nesterov, S1[k])
    else:
        for k in range(P.shape[0]):
            P[k], S1[k], S2[k] = _adam(P[k], G[k] + P[k] * wd, b1, b2, eps, c1, c2, S1[k], S2[k])


@njit(cache=True, inline="always")
def _adam_scales(opt, t, lr, b1, b2):
    if opt == 1:
        return lr / (1.0 - b1**t), 1.0 / math.sqrt(1.0 - b2**t)
    return 0.0, 0.0


# ---------------------------------------------------------------------------------------------- online
@njit(cache=True, fastmath=FM, nogil=True)
def online_epoch(X, Y, labels, order, Ws, bs, act, head, opt, lr, mom, nesterov, wd, b1, b2, eps, t,
                 SW1, Sb1, SW2, Sb2):
    """One epoch of batch-size-1 training; returns (Σ loss, hits, t). Parameters and states change in place."""
    L = len(Ws)
    dt = Ws[0].dtype
    a = [np.empty(W.shape[1], dt) for W in Ws]  # a_l (last: ỹ → ŷ)
    d = [np.empty(W.shape[1], dt) for W in Ws]  # δ_l
    has_labels = labels.shape[0] > 0
    total, hits = 0.0, 0
    wd_on = wd != 0.0
    plain = opt == 0 and mom == 0.0
    # Plain SGD defers the first layer's update W1 ← W1 − lr x δ₁ᵀ of one sample into the next sample's forward
    # pass: each row of W1 is updated, then used, in one sweep (one read and one write of W1 per sample instead
    # of two reads and a write). Row i's update touches only row i, so the numbers are the same.
    pending = False
    x_prev = X[order[0]] if order.shape[0] > 0 else X[0]
    for r in range(order.shape[0]):
        row = order[r]
        x = X[row]
        for l in range(L):  # forward: z = b + Σ_i x_i W[i, :], then σ
            W, z = Ws[l], a[l]
            z[:] = bs[l]
            if l == 0 and pending:
                _update_then_forward(W, x_prev, d[0], x, z, lr, wd)
                pending = False
            elif l == 0 and plain and wd == 0.0:  # same summation order as the fused sweep: chunks change nothing
                _forward_by_four(W, x, z)
            else:
                for i in range(W.shape[0]):
                    xi = x[i] if l == 0 else a[l - 1][i]
                    if xi != 0.0:
                        for j in range(W.shape[1]):
                            z[j] += xi * W[i, j]
            if l < L - 1:
                for j in range(z.shape[0]):
                    z[j] = _act(act, z[j])
        total += _head_row(head, a[L - 1], Y[row], d[L - 1], 1.0)
        if has_labels:
            hits += _hit(a[L - 1], labels[row])
        t += 1
        c1, c2 = _adam_scales(opt, t, lr, b1, b2)
        for l in range(L - 1, -1, -1):  # backward, updating layer l as soon as δ_{l−1} is known
            W, delta = Ws[l], d[l]
            xin = x if l == 0 else a[l - 1]
            if l == 0 and plain:  # W1's update waits for the next forward pass (see above); b1's does not
                pending, x_prev = True, x
                _update(bs[0], delta, opt, lr, mom, nesterov, 0.0, Sb1[0], Sb2[0], b1, b2, eps, c1, c2)
                continue
            if l > 0:
                dprev = d[l - 1]
                for i in range(W.shape[0]):  # δ_{l−1} = (W δ_l) ⊙ σ'(a_{l−1}), with W before its update
                    s = 0.0
                    for j in range(W.shape[1]):
                        s += W[i, j] * delta[j]
                    dprev[i] = s * _dact(act, xin[i])
            SW1l, SW2l = SW1[l], SW2[l]
            for i in range(W.shape[0]):  # W ← W − lr x δᵀ (or the optimizer's step with g = x δᵀ)
                xi = xin[i]
                if plain and wd_on:
                    for j in range(W.shape[1]):
                        W[i, j] -= (xi * delta[j] + W[i, j] * wd) * lr
                elif plain:
                    if xi != 0.0:
                        c = lr * xi
                        for j in range(W.shape[1]):
                            W[i, j] -= c * delta[j]
                elif opt == 0:
                    for j in range(W.shape[1]):
                        W[i, j], SW1l[i, j] = _momentum(W[i, j], xi * delta[j] + W[i, j] * wd, lr, mom, nesterov,
                                                        SW1l[i, j])
                else:
                    for j in range(W.shape[1]):
                        W[i, j], SW1l[i, j], SW2l[i, j] = _adam(W[i, j], xi * delta[j] + W[i, j] * wd, b1, b2, eps,
                                                                c1, c2, SW1l[i, j], SW2l[i, j])
            _update(bs[l], delta, opt, lr, mom, nesterov, 0.0, Sb1[l], Sb2[l], b1, b2, eps, c1, c2)
    if pending:  # the last sample's W1 update
        for i in range(Ws[0].shape[0]):
            _rank1_row(Ws[0], i, x_prev[i], d[0], lr, wd)
    return total, hits, t


@njit(cache=True, fastmath=FM, inline="always")
def _update_then_forward(W, x_prev, delta, x, z, lr, wd):
    """Row by row: W[i] ← W[i] − lr (x_prev[i] δ + wd W[i]) (plain SGD), then z += x[i] W[i].

    Without decay, four rows at a time: δ and z are loaded once per four rows of W. Every operand has the
    weights' dtype (run_epoch passes lr as one), so the loop vectorises; a float64 scalar in it (even a literal
    0.0) would turn it into slow mixed-precision code."""
    m = W.shape[0]
    i = 0
    if wd == 0.0:
        while i + 3 < m:
            c0, c1, c2, c3 = lr * x_prev[i], lr * x_prev[i + 1], lr * x_prev[i + 2], lr * x_prev[i + 3]
            x0, x1, x2, x3 = x[i], x[i + 1], x[i + 2], x[i + 3]
            for j in range(W.shape[1]):
                dj = delta[j]
                w0 = W[i, j] - c0 * dj
                w1 = W[i + 1, j] - c1 * dj
                w2 = W[i + 2, j] - c2 * dj
                w3 = W[i + 3, j] - c3 * dj
                W[i, j], W[i + 1, j], W[i + 2, j], W[i + 3, j] = w0, w1, w2, w3
                z[j] += (x0 * w0 + x1 * w1) + (x2 * w2 + x3 * w3)
            i += 4
    while i < m:
        _rank1_row(W, i, x_prev[i], delta, lr, wd)
        _forward_row(W, i, x[i], z)
        i += 1


@njit(cache=True, fastmath=FM, inline="always")
def _forward_by_four(W, x, z):
    """z += Σ_i x[i] W[i], summed four rows at a time exactly as ``_update_then_forward`` does."""
    m = W.shape[0]
    i = 0
    while i + 3 < m:
        x0, x1, x2, x3 = x[i], x[i + 1], x[i + 2], x[i + 3]
        for j in range(W.shape[1]):
            z[j] += (x0 * W[i, j] + x1 * W[i + 1, j]) + (x2 * W[i + 2, j] + x3 * W[i + 3, j])
        i += 4
    while i < m:
        _forward_row(W, i, x[i], z)
        i += 1


@njit(cache=True, fastmath=FM, inline="always")
def _forward_row(W, i, xi, z):
    """z += xi W[i] (skipped when xi is 0)."""
    if xi != 0.0:
        for j in range(W.shape[1]):
            z[j] += xi * W[i, j]


@njit(cache=True, fastmath=FM, inline="always")
def _rank1_row(W, i, xi, delta, lr, wd):
    """Plain SGD on row i of W with gradient xi δ (+ wd W[i])."""
    if wd != 0.0:
        for j in range(W.shape[1]):
            W[i, j] -= (xi * delta[j] + W[i, j] * wd) * lr
    elif xi != 0.0:
        c = lr * xi
        for j in range(W.shape[1]):
            W[i, j] -= c * delta[j]


# ------------------------------------------------------------------------------------------ mini-batch
@njit(cache=True, fastmath=FM, nogil=True)
def minibatch_epoch(X, Y, labels, order, B, Ws, bs, dWs, dbs, act, head, opt, lr, mom, nesterov, wd,
                    b1, b2, eps, t, SW1, Sb1, SW2, Sb2):
    """One epoch of mini-batches of B rows (the last may be smaller); returns (Σ loss, hits, t)."""
    L = len(Ws)
    dt = Ws[0].dtype
    N, n_x = order.shape[0], X.shape[1]
    Xb = np.empty((B, n_x), dt)
    Yb = np.empty((B, Y.shape[1]), dt)
    A = [np.empty((B, W.shape[1]), dt) for W in Ws]
    D = [np.empty((B, W.shape[1]), dt) for W in Ws]
    has_labels = labels.shape[0] > 0
    total, hits = 0.0, 0
    for start in range(0, N, B):
        m = min(B, N - start)
        xb, yb = Xb[:m], Yb[:m]
        for r in range(m):
            xb[r] = X[order[start + r]]
            yb[r] = Y[order[start + r]]
        for l in range(L):  # forward
            z = A[l][:m]
            np.dot(xb if l == 0 else A[l - 1][:m], Ws[l], z)
            b = bs[l]
            if l < L - 1:
                for r in range(m):
                    for j in range(z.shape[1]):
                        z[r, j] = _act(act, z[r, j] + b[j])
            else:
                for r in range(m):
                    for j in range(z.shape[1]):
                        z[r, j] += b[j]
        zL, dL = A[L - 1][:m], D[L - 1][:m]
        scale = 1.0 / m
        for r in range(m):
            total += _head_row(head, zL[r], yb[r], dL[r], scale)
            if has_labels:
                hits += _hit(zL[r], labels[order[start + r]])
        t += 1
        c1, c2 = _adam_scales(opt, t, lr, b1, b2)
        for l in range(L - 1, -1, -1):  # backward; layer l is updated once δ_{l−1} has used its W
            delta = D[l][:m]
            xin = xb if l == 0 else A[l - 1][:m]
            np.dot(xin.T, delta, dWs[l])
            db = dbs[l]
            db[:] = 0.0
            for r in range(m):
                for j in range(delta.shape[1]):
                    db[j] += delta[r, j]
            if l > 0:
                dprev = D[l - 1][:m]
                np.dot(delta, Ws[l].T, dprev)
                for r in range(m):
                    for j in range(dprev.shape[1]):
                        dprev[r, j] *= _dact(act, xin[r, j])
            _update(Ws[l].reshape(-1), dWs[l].reshape(-1), opt, lr, mom, nesterov, wd, SW1[l].reshape(-1),
                    SW2[l].reshape(-1), b1, b2, eps, c1, c2)
            _update(bs[l], db, opt, lr, mom, nesterov, 0.0, Sb1[l], Sb2[l], b1, b2, eps, c1, c2)
    return total, hits, t


# --------------------------------------------------------------------------------------------- driver
def run_epoch(net: MLP, optimizer: SGD | Adam, X: np.ndarray, Y: np.ndarray, labels: np.ndarray | None,
              order: np.ndarray, B: int) -> tuple[float, int]:
    """One compiled pass over ``order`` (an epoch, or a chunk of one); returns (Σ per-row loss, hits).

    Updates net and optimizer in place; a chunk must hold whole batches for the batches to match an epoch.
    """
    from mlplab.optim import SGD

    L = net.n_layers
    Ws = tuple(net.params[f"W{l}"] for l in range(1, L + 1))
    bs = tuple(net.params[f"b{l}"] for l in range(1, L + 1))
    dt = net.dtype.type
    if isinstance(optimizer, SGD):
        opt, mom, nest, b1, b2, eps = 0, optimizer.momentum, optimizer.nesterov, 0.0, 0.0, 0.0
        vel = optimizer.velocity
        SW1 = tuple(vel[f"W{l}"] for l in range(1, L + 1)) if mom else Ws
        Sb1 = tuple(vel[f"b{l}"] for l in range(1, L + 1)) if mom else bs
        SW2, Sb2 = Ws, bs  # unused by SGD
    else:
        opt, mom, nest = 1, 0.0, False
        b1, b2, eps = optimizer.beta1, optimizer.beta2, optimizer.eps
        SW1 = tuple(optimizer.m[f"W{l}"] for l in range(1, L + 1))
        Sb1 = tuple(optimizer.m[f"b{l}"] for l in range(1, L + 1))
        SW2 = tuple(optimizer.v[f"W{l}"] for l in range(1, L + 1))
        Sb2 = tuple(optimizer.v[f"b{l}"] for l in range(1, L + 1))
    lab = labels if labels is not None else np.empty(0, np.intp)
    order = np.ascontiguousarray(order, dtype=np.intp)
    act, head = ACT_CODES[net.activation], HEAD_CODES[(net.output, net.loss)]
    if net.dtype == np.float64 and act in (0, 2):  # the rational tanh is float32-accurate only: use libm
        act += 4 if act == 0 else 3
    common = (act, head, opt, dt(optimizer.lr), dt(mom), bool(nest), dt(optimizer.weight_decay),
              dt(b1), dt(b2), dt(eps), optimizer.t)
    if B == 1:
        total, hits, t = online_epoch(X, Y, lab, order, Ws, bs, *common, SW1, Sb1, SW2, Sb2)
    else:
        dWs = tuple(net.grads[f"W{l}"] for l in range(1, L + 1))
        dbs = tuple(net.grads[f"b{l}"] for l in range(1, L + 1))
        total, hits, t = minibatch_epoch(X, Y, lab, order, B, Ws, bs, dWs, dbs, *common, SW1, Sb1, SW2, Sb2)
    optimizer.t = int(t)
    return float(total), int(hits)
