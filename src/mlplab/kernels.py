"""Compiled (numba) training epochs: the same math as ``network.py`` + ``optim.py``, without Python per step.

Three kernels, each a pass over rows in training order:

* ``online_epoch`` — batch size 1 (online SGD, Q10). One sample at a time, every loop fused: the forward
  pass reads each weight row once, and the update W ← W − lr x δᵀ (a rank-1 update) is applied while the
  next layer's δ is accumulated, so no gradient array is ever written.
* ``minibatch_epoch`` — batch size ≥ 2. Five BLAS matrix products per batch (``_gemm``, SciPy's BLAS called
  with its α and β), and one compiled pass for each piece of element-wise work: bias + activation forward;
  head, loss, hits and the last bias gradient; activation derivative and bias gradient backward; the
  optimizer. Plain SGD never writes a weight gradient: W ← W − lr aᵀδ is one product with α = −lr, β = 1.
* ``parallel_minibatch_epoch`` — the same on two workers (from ``PARALLEL_FROM`` rows): each gathers and carries
  half of a batch's rows, then updates half of each weight matrix's rows.

All support the activations, heads and optimizers that have a code in the registry (``ACT_CODES``,
``HEAD_CODES``, ``OPT_CODES``: the engine's SGD and Adam, and scikit-learn's conventions of both with its L2 α per
row and the L2 term reported in the loss, see ``optim.Optimizer.decay_per_row``), and inverted dropout with the
NumPy engine's masks (drawn from the same PCG64 stream: ``_fill_mask``). The Trainer falls back to the NumPy engine
otherwise, or when built with ``engine="numpy"`` (``mlplab train`` passes $MLPLAB_ENGINE). Each optimizer rule (SGD,
momentum/Nesterov, classical momentum, the two Adams, L2 decay) is written once below, as a function of one value,
and every kernel calls it.

Compiled once per machine: ``cache=True`` stores the machine code in ``NUMBA_CACHE_DIR``.
"""

from __future__ import annotations

import contextlib
import ctypes
import math
from collections.abc import Iterator
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

import numpy as np
from llvmlite import ir  # type: ignore[import-untyped]
from numba import njit, types
from numba.core import cgutils
from numba.extending import get_cython_function_address, intrinsic

from mlplab import optim, registry

if TYPE_CHECKING:
    from mlplab.network import MLP

# Dispatch codes: the registry's (registry.py), for the choices that have one; the others train in the NumPy
# engine. The kernels below branch on the named constants, which numba compiles in as constants.
ACT_CODES = {name: a.code for name, a in registry.ACTIVATIONS.items() if a.code is not None}
HEAD_CODES = {pair: h.code for pair, h in registry.HEADS.items() if h.code is not None}
OPT_CODES = {o.cls: o.code for table in (registry.OPTIMIZERS, registry.SKLEARN_OPTIMIZERS) for o in table.values()
             if o.code is not None}  # keyed by the optimizer's class
TANH, RELU, SIGMOID = ACT_CODES["tanh"], ACT_CODES["relu"], ACT_CODES["sigmoid"]  # identity: any other code
SOFTMAX_CE, SOFTMAX_MSE = HEAD_CODES[("softmax", "cross_entropy")], HEAD_CODES[("softmax", "mse")]
SIGMOID_MSE, SIGMOID_CE = HEAD_CODES[("sigmoid", "mse")], HEAD_CODES[("sigmoid", "cross_entropy")]  # identity+mse
SOFTMAX_LOG = HEAD_CODES[("softmax", "log_loss")]  # scikit-learn's reported loss: ŷ clipped to [ε, 1 − ε]
SIGMOID_LOG = HEAD_CODES[("sigmoid", "log_loss")]  # the same for independent sigmoid outputs (binary, multilabel)
IDENTITY_HALF = HEAD_CODES[("identity", "half_mse")]  # scikit-learn's squared error: ½ Σ (y − ŷ)²
SGD, ADAM = OPT_CODES[optim.SGD], OPT_CODES[optim.Adam]
CSGD, FADAM = OPT_CODES[optim.ClassicalSGD], OPT_CODES[optim.FoldedAdam]  # scikit-learn's conventions

FM = {"reassoc", "contract"}  # lets LLVM vectorise dot-product reductions; no assumptions about NaN/inf


ONE_THREAD_BELOW = 64  # batches smaller than this always train with one BLAS thread
_controller = None


def blas_threads_for(batch_size: int, threads: int | None = None) -> int | None:
    """BLAS threads for the NumPy engine at this batch size: ``threads`` if given (the CLI passes
    $MLPLAB_THREADS), or auto.

    Auto: 1 thread for batches below ONE_THREAD_BELOW rows (extra threads only spin on such small products),
    the library default (None) otherwise. The choice depends on nothing but the batch size, because OpenBLAS
    results change in the last bits with the thread count and a run must give the same numbers every time.
    On a machine busy with other work, MLPLAB_THREADS=1 is often faster (BENCHMARKS.md).
    """
    if threads is not None:
        return max(int(threads), 1)
    return 1 if batch_size < ONE_THREAD_BELOW else None


PARALLEL_FROM = 16  # compiled mini-batches of at least this many rows run on two workers (BENCHMARKS.md)


def workers_for(batch_size: int, threads: int | None = None) -> int:
    """Workers (cores) for a compiled mini-batch epoch: 2 from PARALLEL_FROM rows, else 1; ``threads``, if given,
    caps it. Each worker calls BLAS with one thread. Like the BLAS thread count, it depends on nothing but the
    batch size and the caller's choice, so a run gives the same numbers every time."""
    auto = 2 if batch_size >= PARALLEL_FROM else 1
    return auto if threads is None else max(1, min(int(threads), 2))


@contextlib.contextmanager
def blas_threads(n: int | None) -> Iterator[None]:
    """Limit every loaded BLAS (NumPy's, and SciPy's that the kernels call) to n threads; None: no change."""
    global _controller
    if n is None:
        yield
        return
    from threadpoolctl import ThreadpoolController

    if _controller is None:
        _controller = ThreadpoolController()
    with _controller.limit(limits=n, user_api="blas"):
        yield


def supported(net: MLP, optimizer: optim.Optimizer, batch_size: int, rng: np.random.Generator | None = None
              ) -> bool:
    """True when a compiled kernel implements what the NumPy engine would do.

    With dropout, the masks come from ``rng`` (the Trainer's), which must be a PCG64 generator (``default_rng``'s):
    the kernels draw its numbers themselves."""
    return (
        batch_size >= 1
        and net.activation in ACT_CODES
        and (net.output, net.loss) in HEAD_CODES
        and (net.dropout == 0 or (rng is not None and type(rng.bit_generator) is np.random.PCG64))
        and type(optimizer) in OPT_CODES
        and all(p.flags.c_contiguous for p in net.params.values())
    )


# ------------------------------------------------------------------------------------------------- BLAS
# SciPy's BLAS (the library numba's own np.dot calls), reached through its Cython table: ?gemm with α and β.
# The function pointer is an argument of the kernels, not a global, so the compiled code stays cacheable.
_P = ctypes.c_void_p
_GEMM_TYPE = ctypes.CFUNCTYPE(None, *([_P] * 13))
GEMM = {np.dtype(np.float32): _GEMM_TYPE(get_cython_function_address("scipy.linalg.cython_blas", "sgemm")),
        np.dtype(np.float64): _GEMM_TYPE(get_cython_function_address("scipy.linalg.cython_blas", "dgemm"))}


@njit(cache=True, inline="always")
def _gemm(f, ta, A, tb, B, C, alpha, beta, ints, scal):
    """C ← α op(A) op(B) + β C for row-major arrays with unit inner stride; op(M) = Mᵀ when the flag is set.

    ``ints`` (int32, ≥ 8) and ``scal`` (C's dtype, ≥ 2) are scratch for BLAS's by-reference arguments.
    Row-major C is column-major Cᵀ, so BLAS computes Cᵀ = op(B)ᵀ op(A)ᵀ.
    """
    m, n = C.shape
    k = A.shape[0] if ta else A.shape[1]
    size = C.itemsize
    ints[0] = 84 if tb else 78  # 'T' / 'N'
    ints[1] = 84 if ta else 78
    ints[2], ints[3], ints[4] = n, m, k
    ints[5], ints[6], ints[7] = B.strides[0] // size, A.strides[0] // size, C.strides[0] // size
    scal[0], scal[1] = alpha, beta
    f(ints[0:].ctypes, ints[1:].ctypes, ints[2:].ctypes, ints[3:].ctypes, ints[4:].ctypes, scal[0:].ctypes,
      B.ctypes, ints[5:].ctypes, A.ctypes, ints[6:].ctypes, scal[1:].ctypes, C.ctypes, ints[7:].ctypes)


# ------------------------------------------------------------------------------------------- threads
# Two workers share one mini-batch (see parallel_minibatch_epoch) and meet at a barrier twice per batch: a
# counter and a generation number changed by atomic instructions (full fences), spun on, then sched_yield.
_LIBC = ctypes.CDLL(None)
SCHED_YIELD = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.cast(_LIBC.sched_yield, ctypes.c_void_p).value or 0)
SPINS_BEFORE_YIELD = 2000


@intrinsic
def _atomic_add(typingctx, ary, i, v):
    """ary[i] += v atomically (sequentially consistent); returns the old value. ary: int64[:]."""
    def codegen(context, builder, sig, args):
        aryty = sig.args[0]
        arr = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, arr, [args[1]])
        return builder.atomic_rmw("add", ptr, context.cast(builder, args[2], sig.args[2], types.int64), "seq_cst")
    return types.int64(ary, i, v), codegen


@njit(cache=True, inline="always")
def _barrier(sync, n, sched_yield):
    """Wait until all n workers arrive. sync: int64[2] = (arrivals, generation), zero at the start."""
    gen = _atomic_add(sync, 1, 0)
    if _atomic_add(sync, 0, 1) == n - 1:
        _atomic_add(sync, 0, -n)
        _atomic_add(sync, 1, 1)
        return
    spins = 0
    while _atomic_add(sync, 1, 0) == gen:
        spins += 1
        if spins > SPINS_BEFORE_YIELD:
            sched_yield()


# ------------------------------------------------------------------------------------------- dropout
# Dropout masks come from the Trainer's generator (NumPy's PCG64), value for value in the NumPy engine's order:
# per batch, per hidden layer l, rng.random((m, n_l)) row by row, then u ≥ p. The kernels run PCG64 themselves
# (a 128-bit LCG with an XSL-RR output), so each worker jumps straight to its rows' place in the stream: uniform
# number k of an epoch, counted from the generator's state after the shuffle, is row r's unit j of layer l in the
# batch that starts at row s of m rows, k = s·H + m·(n_1 + … + n_{l−1}) + r·n_l + j (H: all hidden units).
# float32 draws one 32-bit half of each 64-bit output (low half first; NumPy keeps the other in has_uint32 /
# uinteger), float64 one whole output. rs: uint64[6] = (state hi, lo, inc hi, lo, has_uint32, uinteger).
_M32, _S32 = np.uint64(0xFFFFFFFF), np.uint64(32)
_MULT_HI, _MULT_LO = np.uint64(0x2360ED051FC65DA4), np.uint64(0x4385DF649FCCF645)  # PCG's 128-bit multiplier
_U0, _U1, _U11, _U58, _U63 = np.uint64(0), np.uint64(1), np.uint64(11), np.uint64(58), np.uint64(63)


@njit(cache=True, inline="always")
def _mulhi(a, b):
    """The high 64 bits of the 128-bit product a·b (uint64), from 32-bit halves."""
    a0, a1, b0, b1 = a & _M32, a >> _S32, b & _M32, b >> _S32
    p00, p01, p10 = a0 * b0, a0 * b1, a1 * b0
    mid = (p00 >> _S32) + (p01 & _M32) + (p10 & _M32)
    return a1 * b1 + (p01 >> _S32) + (p10 >> _S32) + (mid >> _S32)


@njit(cache=True, inline="always")
def _mul128(ah, al, bh, bl):
    """(a·b) mod 2¹²⁸ as (hi, lo)."""
    return _mulhi(al, bl) + al * bh + ah * bl, al * bl


@njit(cache=True, inline="always")
def _add128(ah, al, bh, bl):
    lo = al + bl
    return ah + bh + (_U1 if lo < al else _U0), lo


@intrinsic
def _lcg128(typingctx, hi, lo, inc_hi, inc_lo):
    """state · multiplier + inc (mod 2¹²⁸) on (hi, lo) uint64 halves, as one LLVM i128 multiply-add."""
    def codegen(context, builder, sig, args):
        i128, i64 = ir.IntType(128), ir.IntType(64)

        def join(h, l):
            return builder.or_(builder.shl(builder.zext(h, i128), ir.Constant(i128, 64)), builder.zext(l, i128))

        mult = ir.Constant(i128, (int(_MULT_HI) << 64) | int(_MULT_LO))
        state = builder.add(builder.mul(join(args[0], args[1]), mult), join(args[2], args[3]))
        new_hi = builder.trunc(builder.lshr(state, ir.Constant(i128, 64)), i64)
        return context.make_tuple(builder, sig.return_type, [new_hi, builder.trunc(state, i64)])
    return types.UniTuple(types.uint64, 2)(hi, lo, inc_hi, inc_lo), codegen


@njit(cache=True, inline="always")
def _pcg_step(hi, lo, inc_hi, inc_lo):
    """One PCG64 step: state ← state · multiplier + inc; returns (new state hi, lo, its 64-bit output)."""
    hi, lo = _lcg128(hi, lo, inc_hi, inc_lo)
    return hi, lo, _pcg_output(hi, lo)


@njit(cache=True, inline="always")
def _pcg_output(hi, lo):
    """PCG64's XSL-RR output of a state: (hi ⊕ lo) rotated right by hi's top 6 bits."""
    v, rot = hi ^ lo, hi >> _U58
    return (v >> rot) | (v << ((np.uint64(64) - rot) & _U63))


@njit(cache=True)
def _pcg_advance(hi, lo, inc_hi, inc_lo, steps):
    """The state ``steps`` steps later, in O(log steps) (Brown's jump-ahead for LCGs, as pcg_advance)."""
    acc_mh, acc_ml, acc_ph, acc_pl = _U0, _U1, _U0, _U0
    cur_mh, cur_ml, cur_ph, cur_pl = _MULT_HI, _MULT_LO, inc_hi, inc_lo
    while steps > 0:
        if steps & 1:
            acc_mh, acc_ml = _mul128(acc_mh, acc_ml, cur_mh, cur_ml)
            ph, pl = _mul128(acc_ph, acc_pl, cur_mh, cur_ml)
            acc_ph, acc_pl = _add128(ph, pl, cur_ph, cur_pl)
        sh, sl = _add128(cur_mh, cur_ml, _U0, _U1)
        cur_ph, cur_pl = _mul128(sh, sl, cur_ph, cur_pl)
        cur_mh, cur_ml = _mul128(cur_mh, cur_ml, cur_mh, cur_ml)
        steps >>= 1
    ph, pl = _mul128(acc_mh, acc_ml, hi, lo)
    return _add128(ph, pl, acc_ph, acc_pl)


@njit(cache=True)
def _stream_at(rs, k, f32, st):
    """st ← the generator rs as it stands before uniform number k of the stream (st: uint64[6], as rs)."""
    st[:] = rs
    if f32:
        if k == 0:
            return
        if rs[4] != 0:  # the first uniform is the half kept from the draw before
            st[4] = _U0
            k -= 1
        st[0], st[1] = _pcg_advance(rs[0], rs[1], rs[2], rs[3], k // 2)
        if k % 2 == 1:  # the low half of the next output is used: keep its high half
            st[0], st[1], out = _pcg_step(st[0], st[1], st[2], st[3])
            st[4], st[5] = _U1, out >> _S32
        elif k > 0:  # both halves used; NumPy leaves the used high half in uinteger
            st[5] = _pcg_output(st[0], st[1]) >> _S32
    else:
        st[0], st[1] = _pcg_advance(rs[0], rs[1], rs[2], rs[3], k)


@njit(cache=True, inline="always")
def _fill_mask(st, mask, p, keep):
    """mask ← keep where the stream's next uniform u ≥ p, else 0, row by row; st advances past them.

    u as NumPy's random(): float32 (x >> 8)·2⁻²⁴ from a 32-bit x, float64 (x >> 11)·2⁻⁵³ from a 64-bit one;
    exact in float64, compared with p (already rounded to mask's dtype, as NumPy compares)."""
    hi, lo, inc_hi, inc_lo, has, kept = st[0], st[1], st[2], st[3], st[4], st[5]
    for r in range(mask.shape[0]):
        for j in range(mask.shape[1]):
            if mask.itemsize == 8:
                hi, lo, out = _pcg_step(hi, lo, inc_hi, inc_lo)
                u = float(out >> _U11) * (1.0 / 9007199254740992.0)
            else:
                if has != 0:
                    x, has = kept, _U0
                else:
                    hi, lo, out = _pcg_step(hi, lo, inc_hi, inc_lo)
                    x, has, kept = out & _M32, _U1, out >> _S32
                u = float(x >> np.uint64(8)) * (1.0 / 16777216.0)
            mask[r, j] = keep if u >= p else 0.0
    st[0], st[1], st[4], st[5] = hi, lo, has, kept


@njit(cache=True, fastmath=FM, inline="always")
def _drop_rows(st, a, mask, dropped, p, keep):
    """Inverted dropout on rows of activations a: mask from the stream st (``_fill_mask``), dropped ← a ⊙ mask."""
    _fill_mask(st, mask, p, keep)
    for r in range(a.shape[0]):
        for j in range(a.shape[1]):
            dropped[r, j] = a[r, j] * mask[r, j]


@njit(cache=True, inline="always")
def _hidden_units(Ws):
    """H: units of all hidden layers, the uniforms one row draws."""
    H = 0
    for l in range(len(Ws) - 1):
        H += Ws[l].shape[1]
    return H


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
def _act(kind, z, libm):
    """σ(z) for the activation code (NaN propagates, as in NumPy); sigmoid(z) = (1 + tanh(z/2)) / 2.

    tanh and sigmoid use the float32-accurate rational tanh, or libm when ``libm`` (float64 networks).
    """
    if kind == TANH:
        return math.tanh(z) if libm else _tanh(z)
    if kind == RELU:
        return z if not z <= 0 else 0.0 * z  # 0·NaN stays NaN
    if kind == SIGMOID:
        return _expit(z) if libm else 0.5 + 0.5 * _tanh(0.5 * z)
    return z


@njit(cache=True, inline="always")
def _dact(kind, a):
    """σ'(z) written through a = σ(z), as layers.py does."""
    if kind == TANH:
        return 1.0 - a * a
    if kind == RELU:
        return np.sign(a)
    if kind == SIGMOID:
        return a * (1.0 - a)
    return 1.0


@njit(cache=True, error_model="numpy")
def _head_row(head, z, y, delta, scale):
    """Fused output + loss for one row: z (logits) becomes ŷ, delta gets scale·∂l/∂ỹ; returns l."""
    n = z.shape[0]
    if head in (SOFTMAX_LOG, SIGMOID_LOG):  # l = −Σ y log clip(ŷ, ε, 1 − ε) (ε: the dtype's epsilon)
        return _log_loss_row(head == SIGMOID_LOG, z, y, delta, scale)
    if head == IDENTITY_HALF:  # l = ½ Σ (ŷ − y)²;  δ = (ŷ − y) / B
        loss = 0.0
        for j in range(n):
            d = z[j] - y[j]
            loss += d * d
            delta[j] = d * scale
        return 0.5 * loss
    if head in (SOFTMAX_CE, SOFTMAX_MSE):
        zmax = z[0]
        for j in range(1, n):
            if z[j] > zmax:
                zmax = z[j]
        s = 0.0
        for j in range(n):
            z[j] -= zmax
            s += math.exp(z[j])
        lse = math.log(s)
        if head == SOFTMAX_CE:  # cross-entropy: l = Σy · lse − y·s;  δ = (ŷ Σy − y) / B
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
    if head == SIGMOID_CE:  # sigmoid + binary cross-entropy: l = Σ softplus(ỹ) − y·ỹ;  δ = (ŷ − y) / B
        loss = 0.0
        for j in range(n):
            v = z[j]
            loss += max(v, 0.0) + math.log1p(math.exp(-abs(v))) - y[j] * v
            z[j] = _expit(v)
            delta[j] = (z[j] - y[j]) * scale
        return loss
    loss = 0.0  # identity or sigmoid + squared error
    for j in range(n):
        if head == SIGMOID_MSE:
            z[j] = _expit(z[j])
        d = z[j] - y[j]
        loss += d * d
        delta[j] = d * (2.0 * scale)
        if head == SIGMOID_MSE:
            delta[j] *= z[j] * (1.0 - z[j])
    return loss


@njit(cache=True, inline="always")
def _log_loss_row(sigmoid, z, y, delta, scale):
    """scikit-learn's log-loss heads for one row: ŷ = softmax(z) = e / Σe with e = exp(z − max z) (as scikit-learn
    computes it), or ŷ = σ(z) per output; δ = (ŷ − y) / B unclipped; l = −Σ y log clip(ŷ) (softmax), or
    −Σ [y log clip(ŷ) + (1 − y) log(1 − clip(ŷ))] (sigmoid). A zero target adds nothing: its log is skipped."""
    n = z.shape[0]
    eps = 1.1920928955078125e-07 if z.itemsize == 4 else 2.220446049250313e-16
    if sigmoid:
        for j in range(n):
            z[j] = _expit(z[j])
    else:
        zmax = z[0]
        for j in range(1, n):
            if z[j] > zmax:
                zmax = z[j]
        s = 0.0
        for j in range(n):
            z[j] = math.exp(z[j] - zmax)
            s += z[j]
        for j in range(n):
            z[j] = z[j] / s
    loss = 0.0
    for j in range(n):
        delta[j] = (z[j] - y[j]) * scale
        c = min(max(z[j], eps), 1.0 - eps)
        if y[j] != 0.0:
            loss -= y[j] * math.log(c)
        if sigmoid and y[j] != 1.0:
            loss -= (1.0 - y[j]) * math.log(1.0 - c)
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
# The update rules of optim.py, each once, on one value p with gradient g (weight decay already added).
@njit(cache=True, inline="always")
def _decayed(g, p, wd):
    """L2 weight decay: g + λ p (the kernels pass λ = 0 for biases)."""
    return g + p * wd


@njit(cache=True, inline="always")
def _sgd(p, g, lr):
    """Plain SGD: p − lr g."""
    return p - g * lr


@njit(cache=True, inline="always")
def _momentum(p, g, lr, mom, nesterov, v):
    """SGD with momentum, as optim.SGD: v ← μ v + g; p ← p − lr v (Nesterov: p − lr g − lr μ v)."""
    v = v * mom + g
    if nesterov:
        return p - g * lr - v * (lr * mom), v
    return p - v * lr, v


@njit(cache=True, inline="always")
def _adam(p, g, h, m, v):
    """Adam, as optim.Adam: h holds (β₁, β₂, 1 − β₂, ε, lr / (1 − β₁ᵗ), 1 / √(1 − β₂ᵗ)) in p's dtype."""
    m = (m - g) * h[0] + g
    v = v * h[1] + (g * g) * h[2]
    return p - (m / (math.sqrt(v) * h[5] + h[3])) * h[4], m, v


@njit(cache=True, inline="always")
def _classical(p, g, lr, mom, nesterov, v):
    """Classical momentum, as optim.ClassicalSGD (scikit-learn): v ← μ v − lr g; p ← p + v (Nesterov: p + μ v − lr g,
    with the new v)."""
    v = v * mom - g * lr
    if nesterov:
        return p + (v * mom - g * lr), v
    return p + v, v


@njit(cache=True, inline="always")
def _folded_adam(p, g, h, m, v):
    """Adam, as optim.FoldedAdam (scikit-learn): h holds (β₁, β₂, 1 − β₂, ε, lr √(1 − β₂ᵗ)/(1 − β₁ᵗ), ·, 1 − β₁)."""
    m = m * h[0] + g * h[6]
    v = v * h[1] + (g * g) * h[2]
    return p + (m * -h[4]) / (math.sqrt(v) + h[3]), m, v


@njit(cache=True, fastmath=FM, error_model="numpy")
def _update_scaled(P, G, c, opt, lr, mom, nesterov, wd, S1, S2, h):
    """One optimizer step on a flat parameter P with gradient c·G (c = 1: G itself; wd 0 for biases): the rule the
    optimizer code selects, chosen once per array so that each rule's loop is a plain loop LLVM vectorises.
    NumPy's error model (every kernel here): a division by zero gives inf or NaN as in NumPy, without the check
    for it that Python's error model adds to every division, which stops LLVM vectorising the loop (BENCHMARKS.md)."""
    n = P.shape[0]
    if opt == SGD and mom == 0:
        for k in range(n):
            P[k] = _sgd(P[k], _decayed(G[k] * c, P[k], wd), lr)
    elif opt == SGD:
        for k in range(n):
            P[k], S1[k] = _momentum(P[k], _decayed(G[k] * c, P[k], wd), lr, mom, nesterov, S1[k])
    elif opt == CSGD:
        for k in range(n):
            P[k], S1[k] = _classical(P[k], _decayed(G[k] * c, P[k], wd), lr, mom, nesterov, S1[k])
    elif opt == ADAM:
        for k in range(n):
            P[k], S1[k], S2[k] = _adam(P[k], _decayed(G[k] * c, P[k], wd), h, S1[k], S2[k])
    else:
        for k in range(n):
            P[k], S1[k], S2[k] = _folded_adam(P[k], _decayed(G[k] * c, P[k], wd), h, S1[k], S2[k])


@njit(cache=True, inline="always")
def _update(P, G, opt, lr, mom, nesterov, wd, S1, S2, h):
    """One optimizer step on a flat parameter P with gradient G (wd 0 for biases)."""
    _update_scaled(P, G, P.dtype.type(1.0), opt, lr, mom, nesterov, wd, S1, S2, h)  # 1 in P's dtype: exact


@njit(cache=True, inline="always")
def _adam_constants(opt, adam, t, h):
    """h ← Adam's constants for step t in the weights' dtype, from adam = (lr, β₁, β₂, ε) in float64
    (rounded as optim.Adam's or optim.FoldedAdam's NumPy arithmetic rounds them); nothing for the SGDs."""
    if opt in (ADAM, FADAM):
        h[0], h[1], h[2], h[3] = adam[1], adam[2], 1.0 - adam[2], adam[3]
        h[4], h[5] = adam[0] / (1.0 - adam[1] ** t), 1.0 / math.sqrt(1.0 - adam[2] ** t)
        h[6] = 1.0 - adam[1]
        if opt == FADAM:
            h[4] = adam[0] * math.sqrt(1.0 - adam[2] ** t) / (1.0 - adam[1] ** t)


@njit(cache=True, inline="always")
def _batch_decay(wd, per_row, m, dec):
    """λ for a batch of m rows in the weights' dtype (via dec, one-element scratch): wd, or wd / m per row."""
    dec[0] = wd / m if per_row else wd
    return dec[0]


@njit(cache=True, fastmath=FM)
def _sumsq(P):
    """Σ p² over a flat array, in float64 (for the L2 term of the loss)."""
    s = 0.0
    for k in range(P.shape[0]):
        s += float(P[k]) * float(P[k])
    return s


# ---------------------------------------------------------------------------------------------- online
@njit(cache=True, fastmath=FM, nogil=True, error_model="numpy")
def online_epoch(X, Y, labels, Ws, bs, act, libm, head, opt, lr, mom, nesterov, wd, per_row, adam, t,
                 SW1, Sb1, SW2, Sb2, p, keep, rs, row0):
    """One epoch of batch-size-1 training over the rows of X in order; returns (Σ loss, hits, t, Σ L2 term).

    Dropout (p > 0): hidden unit j of layer l is kept, scaled by keep = 1 / (1 − p), where the generator rs's
    uniform for it is ≥ p; X[0] is row row0 of the epoch (the stream's place, see ``_stream_at``)."""
    L = len(Ws)
    dt = Ws[0].dtype
    a = [np.empty(W.shape[1], dt) for W in Ws]  # a_l (last: ỹ → ŷ)
    d = [np.empty(W.shape[1], dt) for W in Ws]  # δ_l
    drop = p > 0
    mk = [np.empty((1, W.shape[1] if drop else 0), dt) for W in Ws]  # dropout masks: 0 or keep
    ad = [np.empty(W.shape[1] if drop else 0, dt) for W in Ws]  # a_l ⊙ mask_l, what layer l + 1 reads
    st = np.empty(6, np.uint64)
    if drop:
        _stream_at(rs, row0 * _hidden_units(Ws), Ws[0].itemsize == 4, st)
    h = np.zeros(7, dt)
    has_labels = labels.shape[0] > 0
    total, hits, penalty = 0.0, 0, 0.0
    plain = opt == SGD and mom == 0.0 and not per_row  # (the L2 term needs every W before the step)
    # Plain SGD defers the first layer's update W1 ← W1 − lr x δ₁ᵀ of one sample into the next sample's forward
    # pass: each row of W1 is updated, then used, in one sweep (one read and one write of W1 per sample instead
    # of two reads and a write). Row i's update touches only row i, so the numbers are the same.
    pending = False
    x_prev = X[0]
    for row in range(X.shape[0]):
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
                xl = x if l == 0 else (ad[l - 1] if drop else a[l - 1])
                for i in range(W.shape[0]):
                    xi = xl[i]
                    if xi != 0.0:
                        for j in range(W.shape[1]):
                            z[j] += xi * W[i, j]
            if l < L - 1:
                for j in range(z.shape[0]):
                    z[j] = _act(act, z[j], libm)
                if drop:
                    _fill_mask(st, mk[l], p, keep)
                    for j in range(z.shape[0]):
                        ad[l][j] = z[j] * mk[l][0, j]
        total += _head_row(head, a[L - 1], Y[row], d[L - 1], 1.0)
        if has_labels:
            hits += _hit(a[L - 1], labels[row])
        if per_row and wd != 0.0:  # the loss's ½·λ·‖W‖² (λ per row), weights before this step
            for W in Ws:
                penalty += 0.5 * wd * _sumsq(W.reshape(-1))
        t += 1
        _adam_constants(opt, adam, t, h)
        for l in range(L - 1, -1, -1):  # backward, updating layer l as soon as δ_{l−1} is known
            W, delta = Ws[l], d[l]
            xin = x if l == 0 else (ad[l - 1] if drop else a[l - 1])  # what layer l read
            if l == 0 and plain:  # W1's update waits for the next forward pass (see above); b1's does not
                pending, x_prev = True, x
                _update(bs[0], delta, opt, lr, mom, nesterov, 0.0, Sb1[0], Sb2[0], h)
                continue
            if l > 0:
                dprev, ap = d[l - 1], a[l - 1]
                for i in range(W.shape[0]):  # δ_{l−1} = (W δ_l) ⊙ mask ⊙ σ'(a_{l−1}), with W before its update
                    s = 0.0
                    for j in range(W.shape[1]):
                        s += W[i, j] * delta[j]
                    if drop:
                        s = s * mk[l - 1][0, i]
                    dprev[i] = s * _dact(act, ap[i])
            for i in range(W.shape[0]):  # W ← W − lr x δᵀ (or the optimizer's step with g = x δᵀ, row by row)
                xi = xin[i]
                if plain:
                    _rank1_row(W, i, xi, delta, lr, wd)
                else:
                    _update_scaled(W[i], delta, xi, opt, lr, mom, nesterov, wd, SW1[l][i], SW2[l][i], h)
            _update(bs[l], delta, opt, lr, mom, nesterov, 0.0, Sb1[l], Sb2[l], h)
    if pending:  # the last sample's W1 update
        for i in range(Ws[0].shape[0]):
            _rank1_row(Ws[0], i, x_prev[i], d[0], lr, wd)
    return total, hits, t, penalty


@njit(cache=True, fastmath=FM, inline="always")
def _update_then_forward(W, x_prev, delta, x, z, lr, wd):
    """Row by row: W[i] ← plain SGD step with gradient x_prev[i] δ, then z += x[i] W[i].

    Without decay, four rows at a time: δ and z are loaded once per four rows of W. Every operand has the
    weights' dtype (run_epoch passes lr as one), so the loop vectorises; a float64 scalar in it (even a literal
    0.0) would turn it into slow mixed-precision code."""
    m = W.shape[0]
    i = 0
    if wd == 0.0:
        while i + 3 < m:
            p0, p1, p2, p3 = x_prev[i], x_prev[i + 1], x_prev[i + 2], x_prev[i + 3]
            x0, x1, x2, x3 = x[i], x[i + 1], x[i + 2], x[i + 3]
            for j in range(W.shape[1]):
                dj = delta[j]
                w0 = _sgd(W[i, j], p0 * dj, lr)
                w1 = _sgd(W[i + 1, j], p1 * dj, lr)
                w2 = _sgd(W[i + 2, j], p2 * dj, lr)
                w3 = _sgd(W[i + 3, j], p3 * dj, lr)
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
    """Plain SGD on row i of W with gradient xi δ (+ decay); a zero xi leaves the row alone without decay."""
    if wd != 0.0:
        for j in range(W.shape[1]):
            W[i, j] = _sgd(W[i, j], _decayed(xi * delta[j], W[i, j], wd), lr)
    elif xi != 0.0:
        for j in range(W.shape[1]):
            W[i, j] = _sgd(W[i, j], xi * delta[j], lr)


# ------------------------------------------------------------------------------------------ mini-batch
@njit(cache=True, inline="always")
def _copy_row(src, dst):
    """dst[:] = src (one row), as a plain loop: numba's slice assignment ``dst[:] = src`` guards against overlap
    and took twice as long in the random-row gather (BENCHMARKS.md)."""
    for j in range(src.shape[0]):
        dst[j] = src[j]


@njit(cache=True, inline="always")
def _scratch(W):
    """A mini-batch kernel call's small scratch, in W's dtype where it matters: BLAS's by-reference arguments (ints,
    scal), Adam's step constants (h) and the batch's decay (dec)."""
    return np.empty(8, np.int32), np.empty(2, W.dtype), np.zeros(7, W.dtype), np.zeros(1, W.dtype)


@njit(cache=True, fastmath=FM, nogil=True, error_model="numpy")
def minibatch_epoch(X, Y, labels, B, Ws, bs, dWs, dbs, act, libm, head, opt, lr, mom, nesterov, wd, per_row, adam,
                    t, SW1, Sb1, SW2, Sb2, gemm, p, keep, rs, row0):
    """Mini-batches of B consecutive rows of X (the last may be smaller); returns (Σ loss, hits, t, Σ L2 term).

    Per batch: z_l = a_{l−1} W_l (BLAS), then a_l = σ(z_l + b_l) in one pass; the head row by row (ŷ, loss,
    δ_L, hits, ∂b_L); back through each layer: δ_{l−1} = (δ_l W_lᵀ) ⊙ σ'(a_{l−1}) with ∂b_{l−1} summed in the
    same pass, then W_l's update. Plain SGD without decay updates W_l inside the product: W_l ← W_l − lr a_{l−1}ᵀ δ_l.
    Dropout (p > 0): as ``online_epoch``; layer l + 1 reads a_l ⊙ mask_l, and δ_l gets the mask's factor.
    """
    L = len(Ws)
    dt = Ws[0].dtype
    N = X.shape[0]
    A = [np.empty((B, W.shape[1]), dt) for W in Ws]
    D = [np.empty((B, W.shape[1]), dt) for W in Ws]
    drop = p > 0
    MK = [np.empty((B if drop else 0, W.shape[1]), dt) for W in Ws]  # dropout masks: 0 or keep
    AD = [np.empty((B if drop else 0, W.shape[1]), dt) for W in Ws]  # a_l ⊙ mask_l
    st = np.empty(6, np.uint64)
    if drop:
        _stream_at(rs, row0 * _hidden_units(Ws), Ws[0].itemsize == 4, st)
    ints, scal, h, dec = _scratch(Ws[0])
    fused_sgd = opt == SGD and mom == 0.0 and wd == 0.0
    has_labels = labels.shape[0] > 0
    total, hits, penalty = 0.0, 0, 0.0
    for start in range(0, N, B):
        m = min(B, N - start)
        wdb = _batch_decay(wd, per_row, m, dec)
        xb, yb = X[start : start + m], Y[start : start + m]
        for l in range(L):  # forward
            z = A[l][:m]
            xl = xb if l == 0 else (AD[l - 1][:m] if drop else A[l - 1][:m])
            _gemm(gemm, False, xl, False, Ws[l], z, 1.0, 0.0, ints, scal)
            b = bs[l]
            if l < L - 1:
                for r in range(m):
                    for j in range(z.shape[1]):
                        z[r, j] = _act(act, z[r, j] + b[j], libm)
                if drop:
                    _drop_rows(st, z, MK[l][:m], AD[l][:m], p, keep)
            else:
                for r in range(m):
                    for j in range(z.shape[1]):
                        z[r, j] += b[j]
        zL, dL, dbL = A[L - 1][:m], D[L - 1][:m], dbs[L - 1]
        scale = 1.0 / m
        dbL[:] = 0.0
        for r in range(m):  # head: ŷ, loss, δ_L = ∂L/∂ỹ, hits, ∂L/∂b_L
            total += _head_row(head, zL[r], yb[r], dL[r], scale)
            if has_labels:
                hits += _hit(zL[r], labels[start + r])
            for j in range(dL.shape[1]):
                dbL[j] += dL[r, j]
        if per_row and wd != 0.0:  # the loss's ½·(λ/m)·‖W‖² × m rows, weights before this step
            for W in Ws:
                penalty += 0.5 * wd * _sumsq(W.reshape(-1))
        t += 1
        _adam_constants(opt, adam, t, h)
        for l in range(L - 1, -1, -1):  # backward; layer l is updated once δ_{l−1} has used its W
            delta = D[l][:m]
            xin = xb if l == 0 else (AD[l - 1][:m] if drop else A[l - 1][:m])  # what layer l read
            if l > 0:  # δ_{l−1} = (δ_l W_lᵀ) ⊙ mask ⊙ σ'(a_{l−1});  ∂L/∂b_{l−1} = Σ_rows δ_{l−1}
                dprev, dbp, ap = D[l - 1][:m], dbs[l - 1], A[l - 1][:m]
                _gemm(gemm, False, delta, True, Ws[l], dprev, 1.0, 0.0, ints, scal)
                dbp[:] = 0.0
                if drop:
                    mk = MK[l - 1][:m]
                    for r in range(m):
                        for j in range(dprev.shape[1]):
                            dprev[r, j] = dprev[r, j] * mk[r, j] * _dact(act, ap[r, j])
                            dbp[j] += dprev[r, j]
                else:
                    for r in range(m):
                        for j in range(dprev.shape[1]):
                            dprev[r, j] *= _dact(act, ap[r, j])
                            dbp[j] += dprev[r, j]
            if fused_sgd:  # W ← W − lr aᵀδ in the product itself: no gradient array
                _gemm(gemm, True, xin, False, delta, Ws[l], -lr, 1.0, ints, scal)
            else:
                _gemm(gemm, True, xin, False, delta, dWs[l], 1.0, 0.0, ints, scal)
                _update(Ws[l].reshape(-1), dWs[l].reshape(-1), opt, lr, mom, nesterov, wdb, SW1[l].reshape(-1),
                        SW2[l].reshape(-1), h)
            _update(bs[l], dbs[l], opt, lr, mom, nesterov, 0.0, Sb1[l], Sb2[l], h)
    return total, hits, t, penalty


@njit(cache=True, fastmath=FM, nogil=True, error_model="numpy")
def parallel_minibatch_epoch(k, nw, X, Y, labels, order, B, Xb, Yb, Lb, A, D, Ws, bs, dWs, dbs, act, libm, head, opt,
                             lr, mom, nesterov, wd, per_row, adam, t, SW1, Sb1, SW2, Sb2, gemm, sync, sched_yield,
                             p, keep, rs, MK, AD):
    """Worker k of nw: mini-batches of B rows of X in ``order``; returns this worker's (Σ loss, hits, t, Σ L2 term
    over its rows of each W).

    All workers call this at once on the same shared buffers (Xb, Yb, A, D: (B, ·); Lb: (B,) labels, or empty
    without labels). Each batch has two phases. Rows: worker k gathers its share of the batch's rows (and labels,
    read beside the rows rather than as a lone cache miss per row in the head) and takes them forward, through the
    head and back to every δ_l, with the weights before the step. Parameters: after a barrier, worker k updates its
    share of each W_l's rows, W_l[R] ← W_l[R] − lr a_{l−1}[:, R]ᵀ δ_l over all rows (or the optimizer's step on
    those rows), and the biases of the layers it owns; then a barrier again. Gathering, element-wise work and the
    products are all split, so every piece of the step runs on both cores.
    Dropout (p > 0): as ``minibatch_epoch``, each worker drawing its own rows' masks (into MK, with a ⊙ mask in AD)
    from their place in the generator's stream.
    """
    L = len(Ws)
    N = order.shape[0]
    drop = p > 0
    st = np.empty(6, np.uint64)
    H = _hidden_units(Ws)
    ints, scal, h, dec = _scratch(Ws[0])
    fused_sgd = opt == SGD and mom == 0.0 and wd == 0.0
    has_labels = labels.shape[0] > 0
    total, hits, penalty = 0.0, 0, 0.0
    for start in range(0, N, B):
        m = min(B, N - start)
        wdb = _batch_decay(wd, per_row, m, dec)
        r0, r1 = m * k // nw, m * (k + 1) // nw
        for r in range(r0, r1):  # gather this worker's rows
            _copy_row(X[order[start + r]], Xb[r])
            _copy_row(Y[order[start + r]], Yb[r])
            if has_labels:
                Lb[r] = labels[order[start + r]]
        if r1 > r0:
            cum = 0  # hidden units of the layers before l
            for l in range(L):  # forward
                z = A[l][r0:r1]
                xl = Xb[r0:r1] if l == 0 else (AD[l - 1][r0:r1] if drop else A[l - 1][r0:r1])
                _gemm(gemm, False, xl, False, Ws[l], z, 1.0, 0.0, ints, scal)
                b = bs[l]
                for r in range(z.shape[0]):
                    for j in range(z.shape[1]):
                        z[r, j] = _act(act, z[r, j] + b[j], libm) if l < L - 1 else z[r, j] + b[j]
                if drop and l < L - 1:
                    n_l = z.shape[1]
                    _stream_at(rs, start * H + m * cum + r0 * n_l, Ws[0].itemsize == 4, st)
                    _drop_rows(st, z, MK[l][r0:r1], AD[l][r0:r1], p, keep)
                    cum += n_l
            zL, dL = A[L - 1], D[L - 1]
            scale = 1.0 / m
            for r in range(r0, r1):
                total += _head_row(head, zL[r], Yb[r], dL[r], scale)
                if has_labels:
                    hits += _hit(zL[r], Lb[r])
            for l in range(L - 1, 0, -1):  # δ_{l−1} = (δ_l W_lᵀ) ⊙ mask ⊙ σ'(a_{l−1}), W_l before its step
                dprev, ap = D[l - 1][r0:r1], A[l - 1][r0:r1]
                _gemm(gemm, False, D[l][r0:r1], True, Ws[l], dprev, 1.0, 0.0, ints, scal)
                if drop:
                    mk = MK[l - 1][r0:r1]
                    for r in range(dprev.shape[0]):
                        for j in range(dprev.shape[1]):
                            dprev[r, j] = dprev[r, j] * mk[r, j] * _dact(act, ap[r, j])
                else:
                    for r in range(dprev.shape[0]):
                        for j in range(dprev.shape[1]):
                            dprev[r, j] *= _dact(act, ap[r, j])
        _barrier(sync, nw, sched_yield)
        t += 1
        _adam_constants(opt, adam, t, h)
        for l in range(L):  # this worker's rows of every W_l; the biases of layers l ≡ k (mod nw)
            delta = D[l][:m]
            xin = Xb[:m] if l == 0 else (AD[l - 1][:m] if drop else A[l - 1][:m])
            n_in, n_out = Ws[l].shape
            p0, p1 = n_in * k // nw, n_in * (k + 1) // nw
            if per_row and wd != 0.0 and p1 > p0:  # the loss's L2 term: this worker's rows, before their step
                penalty += 0.5 * wd * _sumsq(Ws[l].reshape(-1)[p0 * n_out : p1 * n_out])
            if p1 > p0:
                if fused_sgd:
                    _gemm(gemm, True, xin[:, p0:p1], False, delta, Ws[l][p0:p1], -lr, 1.0, ints, scal)
                else:
                    _gemm(gemm, True, xin[:, p0:p1], False, delta, dWs[l][p0:p1], 1.0, 0.0, ints, scal)
                    _update(Ws[l].reshape(-1)[p0 * n_out : p1 * n_out], dWs[l].reshape(-1)[p0 * n_out : p1 * n_out],
                            opt, lr, mom, nesterov, wdb, SW1[l].reshape(-1)[p0 * n_out : p1 * n_out],
                            SW2[l].reshape(-1)[p0 * n_out : p1 * n_out], h)
            if l % nw == k:
                db = dbs[l]
                db[:] = 0.0
                for r in range(m):
                    for j in range(n_out):
                        db[j] += delta[r, j]
                _update(bs[l], db, opt, lr, mom, nesterov, 0.0, Sb1[l], Sb2[l], h)
        _barrier(sync, nw, sched_yield)
    return total, hits, t, penalty


# --------------------------------------------------------------------------------------------- driver
def _arguments(net: MLP, optimizer: optim.Optimizer) -> tuple[Any, ...]:
    """(Ws, bs, dWs, dbs, the kernels' common arguments from act to Sb2) for this network and optimizer."""
    L = net.n_layers
    Ws = tuple(net.params[f"W{l}"] for l in range(1, L + 1))
    bs = tuple(net.params[f"b{l}"] for l in range(1, L + 1))
    dWs = tuple(net.grads[f"W{l}"] for l in range(1, L + 1))
    dbs = tuple(net.grads[f"b{l}"] for l in range(1, L + 1))
    dt = net.dtype.type
    opt = OPT_CODES[type(optimizer)]
    if isinstance(optimizer, optim.SGD | optim.ClassicalSGD):
        mom, nest, adam = optimizer.momentum, optimizer.nesterov, np.zeros(4)
        vel = optimizer.velocity
        SW1 = tuple(vel[f"W{l}"] for l in range(1, L + 1)) if vel else Ws
        Sb1 = tuple(vel[f"b{l}"] for l in range(1, L + 1)) if vel else bs
        SW2, Sb2 = Ws, bs  # unused by SGD
    else:
        assert isinstance(optimizer, optim.Adam)
        mom, nest = 0.0, False
        adam = np.array([optimizer.lr, optimizer.beta1, optimizer.beta2, optimizer.eps])
        SW1 = tuple(optimizer.m[f"W{l}"] for l in range(1, L + 1))
        Sb1 = tuple(optimizer.m[f"b{l}"] for l in range(1, L + 1))
        SW2 = tuple(optimizer.v[f"W{l}"] for l in range(1, L + 1))
        Sb2 = tuple(optimizer.v[f"b{l}"] for l in range(1, L + 1))
    act, head = ACT_CODES[net.activation], HEAD_CODES[(net.output, net.loss)]
    libm = net.dtype == np.float64  # the rational tanh is float32-accurate only
    common = (act, libm, head, opt, dt(optimizer.lr), dt(mom), bool(nest), dt(optimizer.weight_decay),
              bool(optimizer.decay_per_row), adam, optimizer.t, SW1, Sb1, SW2, Sb2)
    return Ws, bs, dWs, dbs, common


def _labels(labels: np.ndarray | None) -> np.ndarray:
    return labels if labels is not None else np.empty(0, np.intp)


_NO_STREAM = np.zeros(6, np.uint64)
_MASK64 = (1 << 64) - 1


def stream(rng: np.random.Generator) -> np.ndarray:
    """A PCG64 generator's state as the kernels read it: uint64[6] (state hi, lo, inc hi, lo, has_uint32, uinteger)."""
    d = rng.bit_generator.state
    s, inc = d["state"]["state"], d["state"]["inc"]
    return np.array([s >> 64, s & _MASK64, inc >> 64, inc & _MASK64, d["has_uint32"], d["uinteger"]], np.uint64)


def skip(rng: np.random.Generator, start: np.ndarray, n: int, dtype: np.dtype) -> None:
    """Set ``rng`` to where it would be after n ``random(dtype=dtype)`` draws from the stream ``start``: what the
    NumPy engine's masks of an epoch draw (n = rows × hidden units), bit for bit."""
    st = np.empty(6, np.uint64)
    _stream_at(start, n, np.dtype(dtype) == np.float32, st)
    h, lo, ih, il, has, kept = (int(v) for v in st)
    rng.bit_generator.state = {"bit_generator": "PCG64", "state": {"state": h << 64 | lo, "inc": ih << 64 | il},
                               "has_uint32": has, "uinteger": kept}


def _dropout(net: MLP) -> tuple[Any, Any]:
    """(p, keep = 1 / (1 − p)) in the network's dtype, as the NumPy engine rounds them."""
    dt = net.dtype.type
    return dt(net.dropout), dt(1.0 / (1.0 - net.dropout)) if net.dropout else dt(1.0)


def run_epoch(net: MLP, optimizer: optim.Optimizer, X: np.ndarray, Y: np.ndarray, labels: np.ndarray | None,
              B: int, masks: np.ndarray | None = None, row0: int = 0) -> tuple[float, int, float]:
    """One compiled pass over the rows of X in order (an epoch, or a chunk of whole batches of one).

    X: (N, n_x), Y: (N, n_y) C-contiguous in the network's dtype; labels: (N,) or None. With dropout, ``masks``
    is the ``stream`` of the generator at the epoch's start and X[0] is row ``row0`` of the epoch (the caller
    ``skip``s the generator past the epoch's masks once the epoch is done).
    Returns (Σ per-row loss, hits, Σ per-row L2 term: 0 unless the optimizer's ``decay_per_row``); updates net and
    optimizer in place.
    """
    Ws, bs, dWs, dbs, common = _arguments(net, optimizer)
    drop = (*_dropout(net), _NO_STREAM if masks is None else masks, row0)
    if B == 1:
        total, hits, t, penalty = online_epoch(X, Y, _labels(labels), Ws, bs, *common, *drop)  # type: ignore[call-arg]
    else:
        args = (X, Y, _labels(labels), B, Ws, bs, dWs, dbs, *common, GEMM[net.dtype], *drop)
        total, hits, t, penalty = minibatch_epoch(*args)
    optimizer.t = int(t)
    return float(total), int(hits), float(penalty)


def run_epoch_parallel(net: MLP, optimizer: optim.Optimizer, X: np.ndarray, Y: np.ndarray,
                       labels: np.ndarray | None, order: np.ndarray, B: int,
                       executor: Executor, masks: np.ndarray | None = None) -> tuple[float, int, float]:
    """One epoch of mini-batches of B rows of X in ``order`` on two workers: this thread and one ``executor``
    thread (see ``parallel_minibatch_epoch``); ``masks`` as in ``run_epoch``. Train with one BLAS thread.
    Returns (Σ per-row loss, hits, Σ per-row L2 term) as ``run_epoch``."""
    Ws, bs, dWs, dbs, common = _arguments(net, optimizer)
    dt = net.dtype
    Xb, Yb = np.empty((B, X.shape[1]), dt), np.empty((B, Y.shape[1]), dt)
    labels = _labels(labels)
    Lb = np.empty(B if labels.shape[0] else 0, labels.dtype)
    A = tuple(np.empty((B, W.shape[1]), dt) for W in Ws)
    D = tuple(np.empty((B, W.shape[1]), dt) for W in Ws)
    rows = B if net.dropout else 0
    MK = tuple(np.empty((rows, W.shape[1]), dt) for W in Ws)  # dropout masks, and a ⊙ mask
    AD = tuple(np.empty((rows, W.shape[1]), dt) for W in Ws)
    sync = np.zeros(2, np.int64)
    order = np.ascontiguousarray(order, dtype=np.intp)
    args = (X, Y, labels, order, B, Xb, Yb, Lb, A, D, Ws, bs, dWs, dbs, *common, GEMM[dt], sync, SCHED_YIELD,
            *_dropout(net), _NO_STREAM if masks is None else masks, MK, AD)
    with blas_threads(1):  # each worker's products on its own core
        other = executor.submit(parallel_minibatch_epoch, 1, 2, *args)
        total, hits, t, penalty = parallel_minibatch_epoch(0, 2, *args)
        total1, hits1, _, penalty1 = other.result()
    optimizer.t = int(t)
    return float(total + total1), int(hits + hits1), float(penalty + penalty1)


# ------------------------------------------------------------------------------------------- input checks
@njit(cache=True, nogil=True, fastmath=FM, error_model="numpy")
def _finite(X, zero):
    """True when the 2-D array X holds no NaN and no ±inf: each row's Σ x·0 is 0 then, and NaN as soon as one value
    is either (FM lets LLVM reorder the sum, not assume finite values, so the products stay and the row loop
    vectorises). zero: 0 in X's dtype (a literal 0 would make the sum float64)."""
    for r in range(X.shape[0]):
        s = zero
        for j in range(X.shape[1]):
            s += X[r, j] * zero
        if s != 0:
            return False
    return True


def all_finite(X: np.ndarray) -> bool:
    """No NaN and no ±inf in X (any shape), in one compiled pass that releases the GIL (BENCHMARKS.md: a little
    faster than the NumPy sum scikit-learn's input check uses, and it can run beside other work)."""
    if X.dtype.kind != "f":
        return X.dtype.kind in "biu" or bool(np.isfinite(X).all())
    x = np.ascontiguousarray(X)
    return bool(_finite(x.reshape(x.shape[0], -1) if x.ndim >= 2 and x.size else x.reshape(1, -1), X.dtype.type(0)))
