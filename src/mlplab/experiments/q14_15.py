"""Q14–Q15 — SoftMax and cross-entropy fused: the stable loss l = −Σ y_i ỹ_i + log Σ e^{ỹ_j} and ∂l/∂ỹ = ŷ − y.

The naive route computes ŷ = e^ỹ / Σ e^ỹ and then log ŷ: e^ỹ overflows (float32 beyond ỹ ≈ 88, float64
beyond ≈ 709) and log 0 = −∞ for a class whose probability underflows. The fused form never exponentiates
a positive number. The gradient is checked against the chain rule through the SoftMax Jacobian.
"""

from __future__ import annotations

import numpy as np

from mlplab import plots
from mlplab.data import DataPaths
from mlplab.experiments import verdicts
from mlplab.experiments.base import OutDir, QuestionResult, Result, finish
from mlplab.losses import SoftmaxCrossEntropy

SCALES = (1, 10, 30, 100, 300, 1000, 3000, 10000)


def naive_loss(y_tilde: np.ndarray, Y: np.ndarray) -> float:
    """−Σ y log(e^ỹ / Σ e^ỹ), averaged, computed literally (how not to do it)."""
    with np.errstate(all="ignore"):
        e = np.exp(y_tilde)
        y_hat = e / e.sum(axis=1, keepdims=True)
        return float(np.mean(-(Y * np.log(y_hat)).sum(axis=1)))


def _lse(z: np.ndarray) -> np.ndarray:
    """log Σ_j e^{z_j} per row, shifted by the row maximum."""
    m = z.max(axis=1)
    return m + np.log(np.exp(z - m[:, None]).sum(axis=1))


def fused(y_tilde: np.ndarray, Y: np.ndarray) -> tuple[float, np.ndarray]:
    """The engine's fused head: batch-mean loss and ∂L/∂ỹ (per example: (ŷ − y) / B)."""
    z = y_tilde.copy()
    B = z.shape[0]
    delta, scratch = np.empty_like(z), np.empty_like(z)
    row, row2 = np.empty(B, z.dtype), np.empty(B, z.dtype)
    loss = SoftmaxCrossEntropy.loss_and_delta(z, Y, delta, scratch, row, row2)
    return loss, delta * B


def chain_rule_grad(y_tilde: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """∂l/∂ỹ = Jᵀ ∂l/∂ŷ with J = diag(ŷ) − ŷ ŷᵀ and ∂l/∂ŷ = −y / ŷ, per example (float64)."""
    out = np.empty_like(y_tilde)
    for k, (z, y) in enumerate(zip(y_tilde, Y, strict=True)):
        p = np.exp(z - z.max())
        p /= p.sum()
        J = np.diag(p) - np.outer(p, p)
        out[k] = J.T @ (-y / p)
    return out


def run(quick: bool = False, out: OutDir = None, jobs: int = 1, scheduler: str | None = None,
        data_paths: DataPaths | None = None) -> Result:
    rng = np.random.default_rng(0)
    n_y, B = 10, 64
    base = rng.normal(size=(B, n_y))
    Y = np.eye(n_y)[rng.integers(0, n_y, B)]
    rows = []
    for dtype in ("float32", "float64"):
        for s in SCALES:
            z = (base * s).astype(dtype)
            Yd = Y.astype(dtype)
            fl, fg = fused(z, Yd)
            rows.append({"dtype": dtype, "scale": s, "naive": naive_loss(z, Yd), "fused": fl,
                         "fused_grad_finite": bool(np.isfinite(fg).all())})
    # the simplification itself, at moderate logits where both routes are exact (float64)
    z64 = base * 3
    simplification_diff = abs(naive_loss(z64, Y) - fused(z64, Y)[0])
    # the last step of the derivation uses Σ y_i = 1: compare both sides for one-hot y, a soft y summing to 1,
    # and a y summing to 2 (two labels at once), where −Σ y log ŷ = −Σ y ỹ + (Σ y) log Σ e^ỹ ≠ the simplified form
    soft = rng.dirichlet(np.ones(n_y), B)
    two = np.clip(Y + np.eye(n_y)[(Y.argmax(1) + 1) % n_y], 0, 1)
    sum_condition = {name: abs(naive_loss(z64, y) - float(np.mean(-(y * z64).sum(1) + _lse(z64))))
                     for name, y in (("one_hot", Y), ("soft_sum1", soft), ("sum2", two))}
    first_bad = {d: min((r["scale"] for r in rows if r["dtype"] == d and not np.isfinite(r["naive"])),
                        default=None) for d in ("float32", "float64")}
    fused_all_finite = all(np.isfinite(r["fused"]) and r["fused_grad_finite"] for r in rows)
    # Q15: fused gradient against the chain rule through the SoftMax Jacobian, on random logits
    n_cases = 200 if quick else 2000
    zs = rng.normal(scale=3, size=(n_cases, n_y))
    Ys = np.eye(n_y)[rng.integers(0, n_y, n_cases)]
    g_fused = fused(zs, Ys)[1]
    g_chain = chain_rule_grad(zs, Ys)
    grad_err = float(np.abs(g_fused - g_chain).max())
    m14 = {"one_hot_abs_diff": sum_condition["one_hot"], "soft_sum1_abs_diff": sum_condition["soft_sum1"],
           "sum2_abs_diff": sum_condition["sum2"], "first_scale_naive_nonfinite": first_bad,
           "fused_finite_at_all_scales": fused_all_finite,
           "max_scale": SCALES[-1], "simplification_abs_diff_float64": simplification_diff,
           "float32_at_scale_100": next(r for r in rows if r["dtype"] == "float32" and r["scale"] == 100)}
    m15 = {"cases": n_cases, "n_y": n_y, "max_abs_error_fused_vs_chain_rule": grad_err,
           "max_abs_gradient": float(np.abs(g_chain).max())}
    data = {"Q14": m14, "Q15": m15, "sweep": rows}

    def draw14(path):
        fig, ax = plots.plt.subplots(figsize=(6.5, 3.8))
        for dtype, mk in (("float32", "o"), ("float64", "s")):
            sub = [r for r in rows if r["dtype"] == dtype]
            x = [r["scale"] for r in sub]
            ax.plot(x, [r["fused"] for r in sub], mk + "-", label=f"fused, {dtype}")
            nv = [r["naive"] if np.isfinite(r["naive"]) else np.nan for r in sub]
            ax.plot(x, nv, mk + "--", mfc="none", label=f"naive log(softmax), {dtype}")
            bad = [r["scale"] for r in sub if not np.isfinite(r["naive"])]
            ax.plot(bad, [1.0] * len(bad), "rx", ms=8)
        ax.set(xscale="log", yscale="log", xlabel="logit scale s (ỹ = s · N(0,1))", ylabel="mean cross-entropy",
               title="naive log(softmax) breaks (red ×: inf/NaN), fused stays finite")
        ax.legend(fontsize=8)
        plots.save(fig, path)

    def draw15(path):
        fig, ax = plots.plt.subplots(figsize=(4.5, 4.2))
        ax.plot(g_chain.ravel(), g_fused.ravel(), ".", ms=2)
        ax.plot([-1, 1], [-1, 1], "k:", lw=1)
        ax.set(xlabel="chain rule Jᵀ(−y/ŷ)", ylabel="fused ŷ − y", title=f"max |difference| = {grad_err:.1e}")
        plots.save(fig, path)

    a14 = (
        f"The simplified loss −Σ y_i ỹ_i + log Σ e^{{ỹ_j}} equals −Σ y_i log ŷ_i to {sum_condition['one_hot']:.1e} for "
        f"one-hot y and {sum_condition['soft_sum1']:.1e} for soft labels summing to 1, but differs by "
        f"{sum_condition['sum2']:.3f} on average for a y with two 1s (Σ y_i = 2): the last step needs Σ y_i = 1, "
        f"exactly the condition the seed writes. Computed literally, "
        f"log(softmax) returns inf/NaN from logit scale {first_bad['float32']} in float32 and "
        f"{first_bad['float64']} in float64, while the fused −Σ y ỹ + log Σ e^ỹ (shifted by max ỹ) stays finite, "
        f"loss and gradient, up to scale {SCALES[-1]} in both precisions."
    )
    a15 = (f"On {n_cases} random 10-class examples the fused gradient ŷ − y matches the chain rule through the "
           f"SoftMax Jacobian, Jᵀ(−y/ŷ), to {grad_err:.1e} (gradients up to {m15['max_abs_gradient']:.2f}).")
    q14 = QuestionResult("Q14", a14, m14, verdicts.verdict_q14(m14), ["q14_stability"])
    q15 = QuestionResult("Q15", a15, m15, verdicts.verdict_q15(m15), ["q15_gradient"])
    return finish("q14_15", [q14, q15], data, out, {"q14_stability": draw14, "q15_gradient": draw15})
