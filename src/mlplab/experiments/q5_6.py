"""Q5–Q6 — ŷ against y, and why SoftMax: the outputs form a probability distribution (and how calibrated).

ŷ is a distribution over the classes (strictly positive, rows summing to 1); y is the one-hot target, so ŷ
never equals y: 1 − ŷ[true] = Σ_{j≠true} e^{ỹ_j} / Σ_j e^{ỹ_j} > 0, measured in the log domain from the
logits (float64) so that rounding cannot hide it. SoftMax is a soft arg-max: SoftMax(ỹ/T) tends to the
one-hot arg-max as T → 0. A reliability diagram bins test predictions by confidence and compares confidence
with accuracy; the expected calibration error (ECE) is their bin-weighted mean gap.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mlplab import plots, runner
from mlplab.data import DataPaths
from mlplab.experiments import verdicts
from mlplab.experiments.base import OutDir, QuestionResult, Result, finish, pct
from mlplab.experiments.common import FASHION, has_fashion, prepared
from mlplab.network import MLP
from mlplab.runner import RunConfig

BINS = 10


def calibration(proba: np.ndarray, y: np.ndarray, bins: int = BINS) -> dict:
    """Per confidence bin: count, mean confidence, accuracy; and the ECE = Σ (n_b / N) |acc_b − conf_b|."""
    conf = proba.max(axis=1)
    hit = proba.argmax(axis=1) == y
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    rows, ece = [], 0.0
    for b in range(bins):
        sel = which == b
        n = int(sel.sum())
        c = float(conf[sel].mean()) if n else float("nan")
        a = float(hit[sel].mean()) if n else float("nan")
        rows.append({"lo": float(edges[b]), "hi": float(edges[b + 1]), "count": n, "confidence": c if n else None,
                     "accuracy": a if n else None})
        if n:
            ece += n / len(y) * abs(a - c)
    return {"bins": rows, "ece": float(ece), "mean_confidence": float(conf.mean()), "accuracy": float(hit.mean())}


def logits(net: MLP, X: np.ndarray) -> np.ndarray:
    """ỹ in float64: the same weights in a network whose output is the identity."""
    twin = MLP(net.sizes, net.activation, "identity", "mse", dtype="float64")
    twin.set_params(net.get_params())
    return twin.forward(X.astype(np.float64))


def _lse(z: np.ndarray) -> np.ndarray:
    m = z.max(axis=1)
    return m + np.log(np.exp(z - m[:, None]).sum(axis=1))


def soft_argmax(z: np.ndarray, temperatures: tuple[float, ...] = (1.0, 0.3, 0.1, 0.03)) -> dict:
    """Mean max |SoftMax(ỹ/T) − onehot(arg max ỹ)| per temperature, and arg-max agreement (always 1)."""
    hard = np.eye(z.shape[1])[z.argmax(1)]
    out = {}
    for T in temperatures:
        p = np.exp(z / T - _lse(z / T)[:, None])
        out[f"T={T:g}"] = float(np.abs(p - hard).max(axis=1).mean())
    return {"distance_to_one_hot_argmax": out, "argmax_agreement": float((np.exp(z - _lse(z)[:, None]).argmax(1)
                                                                            == z.argmax(1)).mean())}


def config(quick: bool, data_paths: DataPaths | None = None) -> RunConfig:
    """Fashion-MNIST when its files are found (in ``data_paths``), else the spiral."""
    if has_fashion(data_paths):
        return RunConfig(dataset=FASHION, n_samples=1500 if quick else 20000, hidden=(64,),
                         activation="tanh", optimizer="adam", lr=2e-3, batch_size=128, epochs=8 if quick else 20)
    return RunConfig(dataset="spiral", n_samples=1000, noise=0.3, hidden=(32,), optimizer="adam", lr=0.01,
                     batch_size=32, epochs=60 if quick else 200)


def measure(r: runner.RunResult) -> tuple[dict, dict]:
    """Q5's and Q6's numbers from a trained run's test split: examples of y against ŷ, how close ŷ gets to
    one-hot (from the logits, float64), row sums, soft arg-max, likelihood and calibration."""
    s, ds = r.prepared.splits, r.prepared.dataset
    proba = r.net.forward(s.X_test).astype(np.float64)
    Y = np.eye(ds.n_outputs)[s.y_test]
    cal = calibration(proba, s.y_test)
    pred = proba.argmax(axis=1)
    wrong = np.flatnonzero(pred != s.y_test)
    picks = [int(i) for i in list(np.flatnonzero(pred == s.y_test)[:3]) + list(wrong[:1])]
    names = ds.class_names or [str(k) for k in range(ds.n_outputs)]
    examples = [{"index": i, "y": Y[i].tolist(), "y_hat": proba[i].round(4).tolist(), "label": names[s.y_test[i]],
                 "predicted": names[pred[i]]} for i in picks]
    z = logits(r.net, s.X_test)
    n = np.arange(len(z))
    others = z.copy()
    others[n, s.y_test] = -np.inf
    log_one_minus = (_lse(others) - _lse(z)) / np.log(10)  # log10(1 − ŷ[true]), finite ⇔ ŷ ≠ y
    log_p = z - _lse(z)[:, None]
    m5 = {"dataset": r.config.dataset, "n_test": len(s.y_test), "test_accuracy": r.test_accuracy,
          "n_classes": ds.n_outputs, "min_log10_one_minus_p_true": float(log_one_minus.min()),
          "min_log10_probability": float(log_p.min() / np.log(10)),
          "mean_cross_entropy": r.test_loss, "mean_squared_gap": float(((proba - Y) ** 2).sum(1).mean()),
          "mean_p_true_class": float(proba[np.arange(len(Y)), s.y_test].mean()), "examples": examples}
    m6 = {"max_abs_row_sum_minus_1": float(np.abs(proba.sum(axis=1) - 1).max()), "min_probability": float(proba.min()),
          "soft_argmax": soft_argmax(z), "mean_negative_log_likelihood": float(-log_p[n, s.y_test].mean()),
          "mean_cross_entropy": r.test_loss,
          "max_probability": float(proba.max()), "ece": cal["ece"], "mean_confidence": cal["mean_confidence"],
          "accuracy": cal["accuracy"], "reliability": cal["bins"]}
    return m5, m6


def draw_q5(path: Path, examples: list[dict]) -> None:
    """y (one-hot) beside ŷ (softmax) for a few test examples."""
    fig, axes = plots.plt.subplots(1, len(examples), figsize=(3 * len(examples), 3), sharey=True)
    for ax, e in zip(np.atleast_1d(axes), examples, strict=True):
        k = np.arange(len(e["y"]))
        ax.bar(k - 0.2, e["y"], 0.4, label="y (one-hot)")
        ax.bar(k + 0.2, e["y_hat"], 0.4, label="ŷ (softmax)")
        ax.set(title=f"true {e['label']}\npredicted {e['predicted']}", xticks=k, ylim=(0, 1.05))
        ax.tick_params(labelsize=7)
    np.atleast_1d(axes)[0].legend(fontsize=7)
    plots.save(fig, path)


def draw_q6(path: Path, m6: dict) -> None:
    """The reliability diagram: accuracy against confidence per bin."""
    fig, ax = plots.plt.subplots(figsize=(4.5, 4.2))
    b = [x for x in m6["reliability"] if x["count"]]
    ax.bar([x["lo"] for x in b], [x["accuracy"] for x in b], width=1 / BINS, align="edge", alpha=0.7,
           edgecolor="k", label="accuracy in bin")
    ax.plot([x["confidence"] for x in b], [x["accuracy"] for x in b], "ro", ms=4, label="(confidence, accuracy)")
    ax.plot([0, 1], [0, 1], "k:", label="perfect calibration")
    ax.set(xlabel="confidence max ŷ", ylabel="accuracy", title=f"reliability, ECE = {m6['ece']:.3f}",
           xlim=(0, 1), ylim=(0, 1))
    ax.legend(fontsize=7)
    plots.save(fig, path)


def answer_q5(m5: dict) -> str:
    """The measured answer to Q5, in words."""
    e0 = m5["examples"][0]
    return (
        f"y is the one-hot target, ŷ the network's distribution over the {m5['n_classes']} classes. On "
        f"{m5['dataset']} (test accuracy {pct(m5['test_accuracy'])}) example {e0['index']} of class {e0['label']} gets "
        f"ŷ[true] = {e0['y_hat'][int(np.argmax(e0['y']))]:.3f}; on average ŷ gives the true class "
        f"{m5['mean_p_true_class']:.3f} (mean cross-entropy {m5['mean_cross_entropy']:.3f}, mean Σ(ŷ − y)² "
        f"{m5['mean_squared_gap']:.3f}). Every entry of ŷ is strictly positive (smallest ŷ_i = "
        f"10^{m5['min_log10_probability']:.1f}, computed from the logits in float64), so ŷ never equals the one-hot "
        f"y: even the most confident correct prediction keeps 1 − ŷ[true] = 10^{m5['min_log10_one_minus_p_true']:.1f}. "
        f"Training pushes ŷ towards y; it cannot reach it."
    )


def answer_q6(m6: dict, n_test: int) -> str:
    """The measured answer to Q6, in words (``n_test``: test examples measured)."""
    sa = m6["soft_argmax"]
    d = sa["distance_to_one_hot_argmax"]
    return (
        f"SoftMax rows are positive and sum to 1 within {m6['max_abs_row_sum_minus_1']:.1e} on {n_test} test "
        f"examples: a probability distribution, as the seed says. It is also a soft, differentiable arg-max: it "
        f"keeps the arg-max of ỹ ({sa['argmax_agreement']:.0%} agreement) and SoftMax(ỹ/T) approaches the one-hot "
        f"arg-max as T falls (mean distance " + ", ".join(f"{k}: {v:.3f}" for k, v in d.items()) + "), while "
        f"staying differentiable for backprop. With cross-entropy, training maximises the likelihood of the labels "
        f"under this categorical model: the mean test cross-entropy {m6['mean_cross_entropy']:.4f} is the mean "
        f"negative log-likelihood {m6['mean_negative_log_likelihood']:.4f}. Whether the numbers are trustworthy "
        f"probabilities is a measurement: mean confidence {m6['mean_confidence']:.3f} against accuracy "
        f"{m6['accuracy']:.3f}, expected calibration error {m6['ece']:.3f}."
    )


def run(quick: bool = False, out: OutDir = None, jobs: int = 1, scheduler: str | None = None,
        data_paths: DataPaths | None = None) -> Result:
    cfg = config(quick, data_paths)
    r = runner.run(cfg, prepared=prepared(cfg, n_test=2000 if quick else None, data_paths=data_paths))
    m5, m6 = measure(r)
    q5 = QuestionResult("Q5", answer_q5(m5), m5, verdicts.verdict_q5(m5), ["q5_predictions"])
    q6 = QuestionResult("Q6", answer_q6(m6, m5["n_test"]), m6, verdicts.verdict_q6(m6), ["q6_reliability"])
    return finish("q5_6", [q5, q6], {"Q5": m5, "Q6": m6}, out,
                  {"q5_predictions": lambda path: draw_q5(path, m5["examples"]),
                   "q6_reliability": lambda path: draw_q6(path, m6)})
