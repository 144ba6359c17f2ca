"""Q8–Q9 — how ŷ must move for each loss, and why cross-entropy suits classification, squared error regression.

Q8: the gradients ∂l/∂ŷ (CE: −y_i/ŷ_i; squared error: 2(ŷ_i − y_i)) and, through the SoftMax, ∂l/∂ỹ
for a prediction growing confidently wrong: CE's gradient tends to ŷ − y (size ~1), softmax+squared error's
vanishes as the SoftMax saturates. Q9: both losses train the same network on the spiral (from a moderate
and from a saturated start); squared error with an identity output fits a real regression (scikit-learn's
bundled diabetes data), read as a Gaussian likelihood.

Which way does each ŷ_i move? One small gradient step on the logits, ỹ ← ỹ − η ∂l/∂ỹ, on random examples:
the fraction where ŷ[true] rose and the fraction of wrong classes whose ŷ_j fell, for each loss.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from mlplab import plots, runner
from mlplab.data import DataPaths, Dataset, split
from mlplab.errors import ConfigError
from mlplab.experiments import verdicts
from mlplab.experiments.base import OutDir, QuestionResult, Result, finish, mean_sd, pct
from mlplab.experiments.parallel import on_scheduler, pmap
from mlplab.losses import SoftmaxCrossEntropy, SoftmaxSquaredError
from mlplab.registry import head_for
from mlplab.runner import Prepared, RunConfig, predict_original

MARGINS = np.linspace(-4, 12, 33)


def head_grad(head: Any, z: np.ndarray, Y: np.ndarray) -> tuple[float, np.ndarray]:
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


def _softmax(z: np.ndarray) -> np.ndarray:
    p = np.exp(z - z.max(axis=1, keepdims=True))
    return p / p.sum(axis=1, keepdims=True)


def step_directions(n: int = 4000, n_y: int = 5, eta: float = 1e-3, seed: int = 0) -> dict:
    """After one small gradient step on ỹ: fraction of examples whose ŷ[true] rose, fraction of (example, wrong
    class) pairs whose ŷ_j fell — for softmax + cross-entropy and softmax + squared error."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 2, (n, n_y))
    labels = rng.integers(0, n_y, n)
    Y = np.eye(n_y)[labels]
    p0, rows = _softmax(z), np.arange(n)
    up, down = {}, {}
    for name, head in (("cross_entropy", SoftmaxCrossEntropy), ("squared_error", SoftmaxSquaredError)):
        _, g = head_grad(head, z, Y)
        p1 = _softmax(z - eta * g)
        up[name] = float((p1[rows, labels] > p0[rows, labels]).mean())
        wrong = Y == 0
        down[name] = float((p1[wrong] < p0[wrong]).mean())
    return {"true_class_rises_fraction": up, "wrong_class_falls_fraction": down, "examples": n, "n_y": n_y,
            "eta": eta}


def point(loss: str, init_scale: float, epochs: int, seed: int = 0) -> dict:
    """Train 2-32-3 tanh with softmax + ``loss`` on the spiral; validation-accuracy curve, test accuracy."""
    cfg = RunConfig(dataset="spiral", noise=0.2, hidden=(32,), loss=loss, lr=0.1, batch_size=32, epochs=epochs,
                    init="normal", init_scale=init_scale, seed=seed)
    r = runner.run(cfg)
    curve = [h.val_accuracy for h in r.history]
    reach = next((h.epoch for h in r.history if (h.val_accuracy or 0.0) >= 0.9), None)
    return {"loss": loss, "init_scale": init_scale, "seed": seed, "test_accuracy": r.test_accuracy,
            "epochs_to_90": reach, "curve": curve}


def diabetes_prepared(seed: int = 0) -> Prepared:
    """scikit-learn's bundled diabetes data (442 patients, 10 features, a disease-progression score), the
    target standardised so that an identity output starts at the right scale; split 60/20/20."""
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    y = (y - y.mean()) / y.std()
    ds = Dataset(X, y.reshape(-1, 1), "diabetes", task="regression")
    splits, scaler = split(ds, 0.2, 0.2, seed=seed)
    return Prepared(ds, splits, scaler)


def regression(epochs: int, quick: bool = False) -> tuple[dict, runner.RunResult]:
    """Identity output + squared error on diabetes (test R², Gaussian NLL) and on the sine toy set (for the plot)."""
    from sklearn.linear_model import LinearRegression

    prep = diabetes_prepared()
    s = prep.splits
    base = RunConfig(dataset="diabetes", hidden=(16,), activation="tanh", output="identity", loss="mse",
                     optimizer="adam", lr=3e-3, batch_size=32, epochs=epochs, patience=30)
    tried = []  # a small capacity / weight-decay grid, chosen on validation loss (never on test)
    for hidden in ((16,),) if quick else ((4,), (16,)):
        for wd in (1e-3,) if quick else (1e-3, 3e-2):
            r = runner.run(base.with_(hidden=hidden, weight_decay=wd), prepared=prep)
            val = r.net.evaluate(s.X_val, s.y_val)[0]
            tried.append((val, hidden, wd, r))
    _, hidden, wd, r = min(tried, key=lambda t: t[0])
    pred = r.net.forward(s.X_test).astype(np.float64)
    y_test = np.asarray(s.y_test, np.float64).reshape(pred.shape)
    mse = float(((pred - y_test) ** 2).mean())
    var = float(y_test.var())
    lin = LinearRegression().fit(s.X_train, np.asarray(s.y_train).ravel())
    lin_mse = float(((lin.predict(s.X_test) - y_test.ravel()) ** 2).mean())
    sine_cfg = RunConfig(dataset="sine", noise=0.1, hidden=(32,), activation="tanh", output="identity", loss="mse",
                         optimizer="adam", lr=0.01, batch_size=32, epochs=epochs)
    sine = runner.run(sine_cfg)
    try:
        head_for("identity", "cross_entropy")
        refused = ""
    except ConfigError as e:
        refused = str(e)
    return {"dataset": "diabetes (scikit-learn, 442 × 10), target standardised", "test_mse": mse,
            "chosen_on_validation": {"hidden": list(hidden), "weight_decay": wd},
            "test_r2": 1 - mse / var, "linear_regression_r2": 1 - lin_mse / var,
            "gaussian_nll_per_example": 0.5 * np.log(2 * np.pi * mse) + 0.5, "best_epoch": r.trainer.state.best_epoch,
            "sine_test_mse": sine.test_loss, "sine_noise_variance": 0.01,
            "ce_on_identity_output": refused}, sine


def _seeds(values: list) -> str:
    """'10' for one seed, '10 / 12 / never' for several."""
    return " / ".join("never" if v is None else str(v) for v in values)


LOSSES, SCALES = ("cross_entropy", "mse"), (1.0, 3.0)  # the Q9 classification grid: loss × initial weight scale


def q8_measurements(sizes: dict, directions: dict) -> dict:
    """Q8's numbers: the two losses' gradients in words, their sizes at p_wrong ≈ 0.99, the step directions."""
    i99 = int(np.argmin(np.abs(np.asarray(sizes["p_wrong"]) - 0.99)))
    g_ce, g_se = sizes["ce"][i99], sizes["se"][i99]
    return {"dl_dyhat_ce": "−y_i/ŷ_i (only the true class; pushes ŷ_true up, the SoftMax pulls the others down)",
            "dl_dyhat_se": "2(ŷ_i − y_i) (every class moves toward its target)",
            "p_wrong": sizes["p_wrong"][i99], "grad_norm_ce": g_ce, "grad_norm_se": g_se, "ratio": g_ce / g_se,
            **directions}


def q9_measurements(rows: list[dict], epochs: int, seeds: tuple[int, ...], reg: dict) -> dict:
    """Q9's numbers: accuracy per loss × init scale, the saturated-start difference, the regression scores."""

    def summary(loss: str, scale: float) -> dict:
        sel = [r for r in rows if r["loss"] == loss and r["init_scale"] == scale]
        mean, sd = mean_sd([r["test_accuracy"] for r in sel])
        return {"test_accuracy_mean": mean, "test_accuracy_sd": sd,
                "epochs_to_90_percent_val": [r["epochs_to_90"] for r in sel]}

    diff = [a["test_accuracy"] - b["test_accuracy"] for a in rows for b in rows
            if a["loss"] == "cross_entropy" and b["loss"] == "mse" and a["init_scale"] == b["init_scale"] == 3.0
            and a["seed"] == b["seed"]]
    d_mean, d_sd = mean_sd(diff)
    return {"classification": {f"{lo}/init {s:g}": summary(lo, s) for s in SCALES for lo in LOSSES},
            "epochs": epochs, "seeds": list(seeds), "regression": reg,
            "ce_minus_se_accuracy_saturated": d_mean, "ce_minus_se_accuracy_saturated_sd": d_sd,
            "regression_r2": reg["test_r2"]}


def draw_q8(path: Path, sizes: dict) -> None:
    """‖∂l/∂ỹ‖ of both losses against the probability given to a wrong class."""
    fig, ax = plots.plt.subplots(figsize=(6, 3.8))
    ax.plot(sizes["p_wrong"], sizes["ce"], label="softmax + cross-entropy: ‖ŷ − y‖")
    ax.plot(sizes["p_wrong"], sizes["se"], label="softmax + squared error")
    ax.set(xlabel="probability given to a wrong class", ylabel="‖∂l/∂ỹ‖", yscale="log",
           title="gradient on a confidently wrong prediction")
    ax.legend(fontsize=8)
    plots.save(fig, path)


def draw_q9(path: Path, rows: list[dict], seed: int, reg: dict, reg_run: runner.RunResult) -> None:
    """Validation accuracy per loss and init (one seed); the sine fit of the identity-output network."""
    fig, (a1, a2) = plots.plt.subplots(1, 2, figsize=(11, 3.8))
    for r in rows:
        if r["seed"] == seed:
            ls = "-" if r["loss"] == "cross_entropy" else "--"
            a1.plot(range(1, len(r["curve"]) + 1), r["curve"], ls, label=f"{r['loss']}, init σ = {r['init_scale']:g}")
    a1.set(xlabel="epoch", ylabel="validation accuracy", title="spiral: cross-entropy vs squared error")
    a1.legend(fontsize=8)
    d = reg_run.prepared.dataset
    x = np.linspace(d.X.min(), d.X.max(), 300).reshape(-1, 1)
    a2.plot(d.X[:, 0], d.y[:, 0], ".", ms=2, alpha=0.4, label="data")
    a2.plot(x[:, 0], predict_original(reg_run.net, reg_run.prepared.scaler, x)[:, 0], "r", label="network")
    a2.plot(x[:, 0], np.sin(x[:, 0]), "k:", label="sin x")
    a2.set(title=f"sine, identity output + squared error: test MSE {reg['sine_test_mse']:.4f}", xlabel="x")
    a2.legend(fontsize=8)
    plots.save(fig, path)


def answer_q8(m8: dict) -> str:
    """The measured answer to Q8, in words."""
    up, down = m8["true_class_rises_fraction"], m8["wrong_class_falls_fraction"]
    return (
        f"Both losses want ŷ to move toward y: squared error pulls every ŷ_i toward y_i (∂l/∂ŷ_i = 2(ŷ_i − y_i)); "
        f"cross-entropy only raises the true class's ŷ (∂l/∂ŷ_i = −y_i/ŷ_i), the SoftMax lowering the rest. One "
        f"small gradient step on the logits of {m8['examples']} random {m8['n_y']}-class examples "
        f"raises ŷ[true] on {up['cross_entropy']:.1%} (cross-entropy) and {up['squared_error']:.1%} (squared "
        f"error) of them, but lowers only {down['cross_entropy']:.1%} / {down['squared_error']:.1%} of the "
        f"wrong-class ŷ_j: a small wrong-class probability can rise while a large one falls. And the two losses push "
        f"with very different strength: on a prediction giving {m8['p_wrong']:.2f} to a wrong class, ‖∂l/∂ỹ‖ is "
        f"{m8['grad_norm_ce']:.3f} for cross-entropy and {m8['grad_norm_se']:.4f} for squared error "
        f"({m8['ratio']:.0f}× smaller), the latter shrinking further as the mistake grows more confident."
    )


def answer_q9(m9: dict) -> str:
    """The measured answer to Q9, in words."""
    table, reg = m9["classification"], m9["regression"]
    ce1, se1, ce3, se3 = (table[k] for k in ("cross_entropy/init 1", "mse/init 1", "cross_entropy/init 3",
                                             "mse/init 3"))
    return (
        f"Each loss is a negative log-likelihood: squared error that of a Gaussian with fixed variance "
        f"(−log N(y; ŷ, σ²) = (y − ŷ)²/2σ² + const), cross-entropy that of a categorical distribution "
        f"(−log Π ŷ_i^{{y_i}}). Minimising them is maximum likelihood for real-valued and for class targets. On the "
        f"spiral (same network, lr, {m9['epochs']} epochs, {len(m9['seeds'])} seeds) from a moderate start (σ = 1) "
        f"cross-entropy reaches 90 % validation accuracy at epoch {_seeds(ce1['epochs_to_90_percent_val'])} "
        f"against {_seeds(se1['epochs_to_90_percent_val'])} for squared error; from a saturated, confidently wrong "
        f"start (σ = 3) test accuracy is {pct(ce3['test_accuracy_mean'])} ± {pct(ce3['test_accuracy_sd'])} vs "
        f"{pct(se3['test_accuracy_mean'])} ± {pct(se3['test_accuracy_sd'])} (difference "
        f"{m9['ce_minus_se_accuracy_saturated']:.3f} ± {m9['ce_minus_se_accuracy_saturated_sd']:.3f}): "
        f"squared error's vanishing gradient on confident mistakes (Q8) slows it. For a real regression, identity "
        f"output + squared error on scikit-learn's diabetes data (n_h and weight decay chosen on validation: "
        f"{reg['chosen_on_validation']['hidden'][0]}, {reg['chosen_on_validation']['weight_decay']:g}) reaches test "
        f"R² {reg['test_r2']:.3f} (linear "
        f"regression {reg['linear_regression_r2']:.3f}; Gaussian NLL {reg['gaussian_nll_per_example']:.3f} per "
        f"example in standardised units), and fits sin x to MSE {reg['sine_test_mse']:.4f} (noise variance 0.01); "
        f"cross-entropy is not even defined there (the engine refuses: \"{reg['ce_on_identity_output']}\")."
    )


def run(quick: bool = False, out: OutDir = None, jobs: int = 1, scheduler: str | None = None,
        data_paths: DataPaths | None = None) -> Result:
    epochs = 60 if quick else 150
    seeds = (0, 1) if quick else (0, 1, 2, 3, 4)
    sizes = gradient_sizes()
    points = [{"loss": lo, "init_scale": s, "epochs": epochs, "seed": sd} for s in SCALES for lo in LOSSES
              for sd in seeds]
    with on_scheduler(scheduler):
        rows = pmap(point, points, jobs)
    reg, reg_run = regression(100 if quick else 400, quick)
    m8 = q8_measurements(sizes, step_directions())
    m9 = q9_measurements(rows, epochs, seeds, reg)
    data = {"Q8": {**m8, "sizes": sizes}, "Q9": {**m9, "runs": rows}}
    q8 = QuestionResult("Q8", answer_q8(m8), m8, verdicts.verdict_q8(m8), ["q8_gradients"])
    q9 = QuestionResult("Q9", answer_q9(m9), m9, verdicts.verdict_q9(m9), ["q9_losses"])
    return finish("q8_9", [q8, q9], data, out, {"q8_gradients": lambda path: draw_q8(path, sizes),
                                                "q9_losses": lambda path: draw_q9(path, rows, seeds[0], reg, reg_run)})
