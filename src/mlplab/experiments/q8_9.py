"""Q8–Q9 — how ŷ must move for each loss, and why cross-entropy suits classification, squared error regression.

Q8: the gradients ∂l/∂ŷ (CE: −y_i/ŷ_i; squared error: 2(ŷ_i − y_i)) and, through the SoftMax, ∂l/∂ỹ
for a prediction growing confidently wrong: CE's gradient tends to ŷ − y (size ~1), softmax+squared error's
vanishes as the SoftMax saturates. Q9: both losses train the same network on the spiral (from a moderate
and from a saturated start); squared error with an identity output fits a regression (sine).
"""

from __future__ import annotations

import numpy as np

from mlplab import plots, runner
from mlplab.errors import ConfigError
from mlplab.experiments.base import QuestionResult, Result, finish, pct
from mlplab.experiments.parallel import on_scheduler, pmap
from mlplab.losses import SoftmaxCrossEntropy, SoftmaxSquaredError
from mlplab.registry import head_for
from mlplab.runner import RunConfig, predict_original

MARGINS = np.linspace(-4, 12, 33)


def head_grad(head, z: np.ndarray, Y: np.ndarray) -> tuple[float, np.ndarray]:
    """Per-example loss and ∂l/∂ỹ from an engine head (whose batch mean carries 1/B)."""
    z = z.astype(np.float64).copy()
    B = z.shape[0]
    delta, scratch = np.empty_like(z), np.empty_like(z)
    loss = head.loss_and_delta(z, Y.astype(np.float64), delta, scratch, np.empty(B), np.empty(B))
    return loss, delta * B


def gradient_sizes() -> dict:
    """|∂l/∂ỹ| for logits ỹ = (0, m, 0) with true class 0: m > 0 makes a confidently wrong prediction."""
    Y = np.tile([1.0, 0.0, 0.0], (len(MARGINS), 1))
    z = np.column_stack([np.zeros_like(MARGINS), MARGINS, np.zeros_like(MARGINS)])
    _, g_ce = head_grad(SoftmaxCrossEntropy, z, Y)
    _, g_se = head_grad(SoftmaxSquaredError, z, Y)
    p_wrong = np.exp(MARGINS) / (np.exp(MARGINS) + 2)
    return {"margin": MARGINS.tolist(), "p_wrong": p_wrong.tolist(),
            "ce": np.linalg.norm(g_ce, axis=1).tolist(), "se": np.linalg.norm(g_se, axis=1).tolist()}


def point(loss: str, init_scale: float, epochs: int, seed: int = 0) -> dict:
    """Train 2-32-3 tanh with softmax + ``loss`` on the spiral; validation-accuracy curve, test accuracy."""
    cfg = RunConfig(dataset="spiral", noise=0.2, hidden=(32,), loss=loss, lr=0.1, batch_size=32, epochs=epochs,
                    init="normal", init_scale=init_scale, seed=seed)
    r = runner.run(cfg)
    curve = [h.val_accuracy for h in r.history]
    reach = next((h.epoch for h in r.history if h.val_accuracy >= 0.9), None)
    return {"loss": loss, "init_scale": init_scale, "seed": seed, "test_accuracy": r.test_accuracy,
            "epochs_to_90": reach, "curve": curve}


def regression(epochs: int) -> tuple[dict, object]:
    cfg = RunConfig(dataset="sine", noise=0.1, hidden=(32,), activation="tanh", output="identity", loss="mse",
                    optimizer="adam", lr=0.01, batch_size=32, epochs=epochs)
    r = runner.run(cfg)
    try:
        head_for("identity", "cross_entropy")
        refused = ""
    except ConfigError as e:
        refused = str(e)
    return {"test_mse": r.test_loss, "noise_variance": 0.01, "ce_on_identity_output": refused}, r


def _seeds(values: list) -> str:
    """'10' for one seed, '10 / 12 / never' for several."""
    return " / ".join("never" if v is None else str(v) for v in values)


def run(quick: bool = False, out=None, jobs: int = 1, scheduler: str | None = None) -> Result:
    epochs = 60 if quick else 150
    seeds = (0,) if quick else (0, 1, 2)
    sizes = gradient_sizes()
    points = [{"loss": lo, "init_scale": s, "epochs": epochs, "seed": sd}
              for s in (1.0, 3.0) for lo in ("cross_entropy", "mse") for sd in seeds]
    with on_scheduler(scheduler):
        rows = pmap(point, points, jobs)
    reg, reg_run = regression(100 if quick else 300)

    def summary(loss, scale):
        sel = [r for r in rows if r["loss"] == loss and r["init_scale"] == scale]
        reach = [r["epochs_to_90"] for r in sel]
        return {"test_accuracy_mean": float(np.mean([r["test_accuracy"] for r in sel])),
                "epochs_to_90_percent_val": reach}

    table = {f"{lo}/init {s:g}": summary(lo, s) for s in (1.0, 3.0) for lo in ("cross_entropy", "mse")}
    i99 = int(np.argmin(np.abs(np.asarray(sizes["p_wrong"]) - 0.99)))
    g_ce, g_se, p99 = sizes["ce"][i99], sizes["se"][i99], sizes["p_wrong"][i99]
    m8 = {"dl_dyhat_ce": "−y_i/ŷ_i (only the true class; pushes ŷ_true up, the SoftMax pulls the others down)",
          "dl_dyhat_se": "2(ŷ_i − y_i) (every class moves toward its target)",
          "p_wrong": p99, "grad_norm_ce": g_ce, "grad_norm_se": g_se, "ratio": g_ce / g_se}
    m9 = {"classification": table, "epochs": epochs, "seeds": list(seeds), "regression": reg}
    data = {"Q8": {**m8, "sizes": sizes}, "Q9": {**m9, "runs": rows}}

    def draw8(path):
        fig, ax = plots.plt.subplots(figsize=(6, 3.8))
        ax.plot(sizes["p_wrong"], sizes["ce"], label="softmax + cross-entropy: ‖ŷ − y‖")
        ax.plot(sizes["p_wrong"], sizes["se"], label="softmax + squared error")
        ax.set(xlabel="probability given to a wrong class", ylabel="‖∂l/∂ỹ‖", yscale="log",
               title="gradient on a confidently wrong prediction")
        ax.legend(fontsize=8)
        plots.save(fig, path)

    def draw9(path):
        fig, (a1, a2) = plots.plt.subplots(1, 2, figsize=(11, 3.8))
        for r in rows:
            if r["seed"] == seeds[0]:
                ls = "-" if r["loss"] == "cross_entropy" else "--"
                a1.plot(range(1, len(r["curve"]) + 1), r["curve"], ls,
                        label=f"{r['loss']}, init σ = {r['init_scale']:g}")
        a1.set(xlabel="epoch", ylabel="validation accuracy", title="spiral: cross-entropy vs squared error")
        a1.legend(fontsize=8)
        d = reg_run.prepared.dataset
        x = np.linspace(d.X.min(), d.X.max(), 300).reshape(-1, 1)
        a2.plot(d.X[:, 0], d.y[:, 0], ".", ms=2, alpha=0.4, label="data")
        a2.plot(x[:, 0], predict_original(reg_run.net, reg_run.prepared.scaler, x)[:, 0], "r", label="network")
        a2.plot(x[:, 0], np.sin(x[:, 0]), "k:", label="sin x")
        a2.set(title=f"sine, identity output + squared error: test MSE {reg['test_mse']:.4f}", xlabel="x")
        a2.legend(fontsize=8)
        plots.save(fig, path)

    ce1, se1, ce3, se3 = (table[k] for k in ("cross_entropy/init 1", "mse/init 1", "cross_entropy/init 3",
                                             "mse/init 3"))
    a8 = (
        f"Both losses want ŷ to move toward y: squared error pulls every ŷ_i toward y_i (∂l/∂ŷ_i = 2(ŷ_i − y_i)); "
        f"cross-entropy only raises the true class's ŷ (∂l/∂ŷ_i = −y_i/ŷ_i), the SoftMax lowering the rest. Through "
        f"the SoftMax they differ where it matters: on a prediction giving {p99:.2f} to a wrong class, ‖∂l/∂ỹ‖ is "
        f"{g_ce:.3f} for cross-entropy and {g_se:.4f} for squared error ({m8['ratio']:.0f}× smaller), and the "
        f"squared-error gradient keeps shrinking as the mistake grows more confident."
    )
    a9 = (
        f"On the spiral (same network, lr, {epochs} epochs) from a moderate start (σ = 1), cross-entropy reaches "
        f"90 % validation accuracy at epoch {_seeds(ce1['epochs_to_90_percent_val'])} against "
        f"{_seeds(se1['epochs_to_90_percent_val'])} for squared error (test {pct(ce1['test_accuracy_mean'])} vs "
        f"{pct(se1['test_accuracy_mean'])}); from a saturated, confidently wrong start (σ = 3) "
        f"{pct(ce3['test_accuracy_mean'])} vs {pct(se3['test_accuracy_mean'])}. For regression, identity output + "
        f"squared error fits sin x to test MSE {reg['test_mse']:.4f} (noise variance 0.01); cross-entropy is not even "
        f"defined there (the engine refuses: \"{reg['ce_on_identity_output']}\")."
    )
    ok8 = g_ce > 10 * g_se
    ok9 = ce3["test_accuracy_mean"] > se3["test_accuracy_mean"] and reg["test_mse"] < 0.03
    q8 = QuestionResult("Q8", a8, m8, "confirmed" if ok8 else "contradicted", ["q8_gradients"])
    q9 = QuestionResult("Q9", a9, m9, "confirmed" if ok9 else "contradicted", ["q9_losses"])
    return finish("q8_9", [q8, q9], data, out, {"q8_gradients": draw8, "q9_losses": draw9})
