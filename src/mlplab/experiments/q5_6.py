"""Q5–Q6 — ŷ against y, and why SoftMax: the outputs form a probability distribution (and how calibrated).

ŷ is a distribution over the classes (non-negative, rows summing to 1); y is the one-hot target. A
reliability diagram bins test predictions by confidence and compares confidence with accuracy; the
expected calibration error (ECE) is their bin-weighted mean gap.
"""

from __future__ import annotations

import numpy as np

from mlplab import plots, runner
from mlplab.experiments.base import QuestionResult, Result, finish, pct
from mlplab.experiments.common import FASHION, has_fashion, prepared
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
        c = float(conf[sel].mean()) if n else None
        a = float(hit[sel].mean()) if n else None
        rows.append({"lo": float(edges[b]), "hi": float(edges[b + 1]), "count": n, "confidence": c, "accuracy": a})
        if n:
            ece += n / len(y) * abs(a - c)
    return {"bins": rows, "ece": float(ece), "mean_confidence": float(conf.mean()), "accuracy": float(hit.mean())}


def config(quick: bool) -> RunConfig:
    if has_fashion():
        return RunConfig(dataset=FASHION, n_samples=1500 if quick else 20000, hidden=(64,),
                         activation="tanh", optimizer="adam", lr=2e-3, batch_size=128, epochs=8 if quick else 20)
    return RunConfig(dataset="spiral", n_samples=1000, noise=0.3, hidden=(32,), optimizer="adam", lr=0.01,
                     batch_size=32, epochs=60 if quick else 200)


def run(quick: bool = False, out=None, jobs: int = 1, scheduler: str | None = None) -> Result:
    cfg = config(quick)
    r = runner.run(cfg, prepared=prepared(cfg, n_test=2000 if quick else None))
    s, ds = r.prepared.splits, r.prepared.dataset
    proba = r.net.forward(s.X_test).astype(np.float64)
    Y = np.eye(ds.n_outputs)[s.y_test]
    sums = proba.sum(axis=1)
    cal = calibration(proba, s.y_test)
    pred = proba.argmax(axis=1)
    wrong = np.flatnonzero(pred != s.y_test)
    picks = [int(i) for i in list(np.flatnonzero(pred == s.y_test)[:3]) + list(wrong[:1])]
    names = ds.class_names or [str(k) for k in range(ds.n_outputs)]
    examples = [{"index": i, "y": Y[i].tolist(), "y_hat": proba[i].round(4).tolist(), "label": names[s.y_test[i]],
                 "predicted": names[pred[i]]} for i in picks]
    m5 = {"dataset": cfg.dataset, "n_test": len(s.y_test), "test_accuracy": r.test_accuracy,
          "mean_cross_entropy": r.test_loss, "mean_squared_gap": float(((proba - Y) ** 2).sum(1).mean()),
          "mean_p_true_class": float(proba[np.arange(len(Y)), s.y_test].mean()), "examples": examples}
    m6 = {"max_abs_row_sum_minus_1": float(np.abs(sums - 1).max()), "min_probability": float(proba.min()),
          "max_probability": float(proba.max()), "ece": cal["ece"], "mean_confidence": cal["mean_confidence"],
          "accuracy": cal["accuracy"], "reliability": cal["bins"]}

    def draw5(path):
        fig, axes = plots.plt.subplots(1, len(examples), figsize=(3 * len(examples), 3), sharey=True)
        for ax, e in zip(np.atleast_1d(axes), examples, strict=True):
            k = np.arange(len(e["y"]))
            ax.bar(k - 0.2, e["y"], 0.4, label="y (one-hot)")
            ax.bar(k + 0.2, e["y_hat"], 0.4, label="ŷ (softmax)")
            ax.set(title=f"true {e['label']}\npredicted {e['predicted']}", xticks=k, ylim=(0, 1.05))
            ax.tick_params(labelsize=7)
        np.atleast_1d(axes)[0].legend(fontsize=7)
        plots.save(fig, path)

    def draw6(path):
        fig, ax = plots.plt.subplots(figsize=(4.5, 4.2))
        b = [x for x in cal["bins"] if x["count"]]
        ax.bar([x["lo"] for x in b], [x["accuracy"] for x in b], width=1 / BINS, align="edge", alpha=0.7,
               edgecolor="k", label="accuracy in bin")
        ax.plot([x["confidence"] for x in b], [x["accuracy"] for x in b], "ro", ms=4, label="(confidence, accuracy)")
        ax.plot([0, 1], [0, 1], "k:", label="perfect calibration")
        ax.set(xlabel="confidence max ŷ", ylabel="accuracy", title=f"reliability, ECE = {cal['ece']:.3f}",
               xlim=(0, 1), ylim=(0, 1))
        ax.legend(fontsize=7)
        plots.save(fig, path)

    e0 = examples[0]
    a5 = (
        f"ŷ is the network's distribution over the {ds.n_outputs} classes, y the one-hot truth. On {cfg.dataset} "
        f"(test accuracy {pct(r.test_accuracy)}), example {e0['index']} of class {e0['label']} has y = one-hot, "
        f"ŷ[true] = {e0['y_hat'][s.y_test[e0['index']]]:.3f}; on average ŷ gives the true class "
        f"{m5['mean_p_true_class']:.3f}, a mean cross-entropy of {r.test_loss:.3f} and mean Σ(ŷ−y)² of "
        f"{m5['mean_squared_gap']:.3f}: ŷ approaches y but, being a distribution, never equals it."
    )
    a6 = (
        f"SoftMax rows are non-negative (min {m6['min_probability']:.1e}) and sum to 1 within "
        f"{m6['max_abs_row_sum_minus_1']:.1e} on {len(sums)} test examples: a probability distribution, as the seed "
        f"says. Whether those numbers are trustworthy probabilities is another matter: mean confidence "
        f"{cal['mean_confidence']:.3f} against accuracy {cal['accuracy']:.3f}, expected calibration error "
        f"{cal['ece']:.3f}."
    )
    q5 = QuestionResult("Q5", a5, m5, "confirmed" if r.test_accuracy > 1.5 / ds.n_outputs else "contradicted",
                        ["q5_predictions"])
    q6 = QuestionResult("Q6", a6, m6, "confirmed" if m6["max_abs_row_sum_minus_1"] < 1e-5 else "contradicted",
                        ["q6_reliability"])
    return finish("q5_6", [q5, q6], {"Q5": m5, "Q6": m6}, out, {"q5_predictions": draw5, "q6_reliability": draw6})
