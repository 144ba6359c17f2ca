"""Q2 — the number N of examples: learning curves with error bars, at a fixed step budget, on a fixed test set.

For each N the same network makes the same number of gradient steps (epochs = steps × batch / N), is scored
on one fixed, large test set (and selects nothing: the validation set is fixed too), over several seeds that
redraw the N training examples and the initial weights. The verdict reads the trend across all N (Spearman
rank correlation of the mean against N, and the gain against the seeds' spread), not the two endpoints.

The circles set is noisy: its best possible accuracy (the Bayes classifier, which knows the generating
densities) is computed here by Monte Carlo and drawn on the curve; Fashion-MNIST, when installed, gives a
second, cleaner curve. The cost of an epoch grows with N; the cost of a fixed number of steps does not.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import spearmanr

from mlplab import plots, runner
from mlplab.data import DataPaths, Dataset, load_dataset
from mlplab.experiments import verdicts
from mlplab.experiments.base import OutDir, QuestionResult, Result, finish, fit_exponent, mean_sd, pct
from mlplab.experiments.common import FASHION, fashion, fixed_splits, has_fashion
from mlplab.experiments.parallel import on_scheduler, pmap
from mlplab.runner import RunConfig

NOISE, FACTOR = 0.2, 0.5  # circles: noise and inner radius (mlplab's circles use factor 0.5)
SETUP: dict[str, dict[str, Any]] = {
    "circles": {"batch": 32, "quick": (32, 128, 512, 2048), "full": (32, 64, 128, 256, 512, 1024, 2048, 4096),
                "steps": {"quick": 384, "full": 1536}, "n_val": 500, "n_test": 5000},
    FASHION: {"batch": 128, "quick": (512, 2048, 8192), "full": (512, 2048, 8192, 32768),
              "steps": {"quick": 256, "full": 1024}, "n_val": 2000, "n_test": 10000},
}


def bayes_accuracy(n: int = 20000, seed: int = 7, angles: int = 512) -> float:
    """Accuracy of the Bayes classifier on circles (equal priors, radii 1 and FACTOR, Gaussian noise NOISE):
    each class density is a ring convolved with the noise, integrated over the angle numerically."""
    ds = load_dataset("circles", n_samples=n, noise=NOISE, seed=seed)
    theta = np.linspace(0, 2 * np.pi, angles, endpoint=False)
    dens = []
    for radius in (1.0, FACTOR):  # class 0 outer, class 1 inner (make_circles)
        cx, cy = radius * np.cos(theta), radius * np.sin(theta)
        d2 = (ds.X[:, :1] - cx) ** 2 + (ds.X[:, 1:] - cy) ** 2
        dens.append(np.exp(-d2 / (2 * NOISE**2)).mean(axis=1))
    pred = (dens[1] > dens[0]).astype(int)
    return float((pred == ds.y).mean())


def _data(dataset: str, quick: bool, seed: int, data_paths: DataPaths | None = None
          ) -> tuple[Dataset, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The pool the training rows are drawn from, the fixed validation rows and the fixed test set."""
    st = SETUP[dataset]
    n_max = max(st["quick" if quick else "full"])
    if dataset == FASHION:
        ds = fashion(data_paths)
        rng = np.random.default_rng(seed)
        val = np.arange(len(ds.X) - st["n_val"], len(ds.X))  # the last rows, for every seed
        train_pool = rng.permutation(len(ds.X) - st["n_val"])[:n_max]
        n_test = 2000 if quick else st["n_test"]
        assert ds.X_test is not None and ds.y_test is not None  # Fashion-MNIST ships its 10k test set
        return ds, train_pool, val, ds.X_test[:n_test], ds.y_test[:n_test]
    pool = load_dataset("circles", n_samples=n_max + st["n_val"], noise=NOISE, seed=1000 + seed)
    val_set = load_dataset("circles", n_samples=st["n_val"], noise=NOISE, seed=998)
    test = load_dataset("circles", n_samples=st["n_test"], noise=NOISE, seed=999)
    ds = Dataset(np.vstack([pool.X[:n_max], val_set.X]), np.concatenate([pool.y[:n_max], val_set.y]), "circles",
                 class_names=pool.class_names)
    return ds, np.arange(n_max), np.arange(n_max, n_max + st["n_val"]), test.X, test.y


def point(dataset: str, n: int, quick: bool, seed: int, data_paths: DataPaths | None = None) -> dict:
    """Train on the first n rows of this seed's pool for the fixed step budget; scores and epoch time."""
    st = SETUP[dataset]
    ds, pool, val, X_test, y_test = _data(dataset, quick, seed, data_paths)
    B, steps = st["batch"], st["steps"]["quick" if quick else "full"]
    epochs = max(1, round(steps * B / n))
    prep = fixed_splits(ds, pool[:n], val, X_test, y_test)
    hidden = (64,) if dataset == FASHION else (32,)
    cfg = RunConfig(dataset=dataset, hidden=hidden, optimizer="adam", lr=2e-3 if dataset == FASHION else 0.01,
                    batch_size=B, epochs=epochs, seed=seed)
    r = runner.run(cfg, prepared=prep)
    s = prep.splits
    train_acc = r.net.evaluate(s.X_train, s.y_train)[1]
    secs = [h.seconds for h in r.history[1:]] or [r.history[0].seconds]
    return {"dataset": dataset, "N": n, "seed": seed, "epochs": epochs, "steps": epochs * -(-n // B),
            "train_accuracy": train_acc, "test_accuracy": r.test_accuracy, "gap": train_acc - r.test_accuracy,
            "test_loss": r.test_loss, "seconds_per_epoch": float(np.median(secs))}


def trend(rows: list[dict]) -> dict:
    """Per N: mean ± sd over seeds; the trend statistics the verdict reads."""
    Ns = sorted({r["N"] for r in rows})
    per = {k: [mean_sd([r[k] for r in rows if r["N"] == n]) for n in Ns]
           for k in ("test_accuracy", "gap", "seconds_per_epoch", "test_loss")}
    acc = [m for m, _ in per["test_accuracy"]]
    half = len(Ns) // 2
    return {
        "N": Ns, "steps": sorted({r["steps"] for r in rows}),
        **{f"{k}_mean": [m for m, _ in v] for k, v in per.items()},
        **{f"{k}_sd": [s for _, s in v] for k, v in per.items()},
        "spearman_accuracy": float(spearmanr(Ns, acc).statistic),
        "spearman_gap": float(spearmanr(Ns, [m for m, _ in per["gap"]]).statistic),
        "accuracy_gain": acc[-1] - acc[0],
        "accuracy_gain_se": float(np.hypot(per["test_accuracy"][0][1], per["test_accuracy"][-1][1])
                                  / np.sqrt(len(rows) / len(Ns))),
        "time_exponent_large_N": fit_exponent(Ns[half:], [m for m, _ in per["seconds_per_epoch"]][half:]),
    }


def run(quick: bool = False, out: OutDir = None, jobs: int = 1, scheduler: str | None = None,
        data_paths: DataPaths | None = None) -> Result:
    mode = "quick" if quick else "full"
    datasets = ["circles"] + ([FASHION] if has_fashion(data_paths) and not quick else [])
    seeds = {"circles": range(3) if quick else range(5), FASHION: range(3)}
    points = [{"dataset": d, "n": n, "quick": quick, "seed": s, "data_paths": data_paths} for d in datasets
              for n in SETUP[d][mode] for s in seeds[d]]
    with on_scheduler(scheduler):
        rows = pmap(point, points, jobs)
    per = {d: trend([r for r in rows if r["dataset"] == d]) for d in datasets}
    ceiling = bayes_accuracy(5000 if quick else 20000)
    decisive = FASHION if FASHION in per else "circles"
    m = {"datasets": per, "decisive": decisive, "circles_bayes_accuracy": ceiling, "circles_noise": NOISE,
         "fashion_mnist_available": FASHION in datasets, "points": rows}

    def draw(path):
        fig, axes = plots.plt.subplots(1, 3, figsize=(14, 3.8))
        for d in datasets:
            p = per[d]
            axes[0].errorbar(p["N"], p["test_accuracy_mean"], p["test_accuracy_sd"], fmt="o-", capsize=3, label=d)
            axes[1].errorbar(p["N"], p["gap_mean"], p["gap_sd"], fmt="o-", capsize=3, label=d)
            axes[2].plot(p["N"], p["seconds_per_epoch_mean"], "o-",
                         label=f"{d}: ∝ N^{p['time_exponent_large_N']:.2f} (larger half)")
        axes[0].axhline(ceiling, color="C0", ls=":", label=f"circles Bayes ceiling {ceiling:.3f}")
        axes[0].set(xscale="log", xlabel="N (training examples)", ylabel="test accuracy (mean ± sd over seeds)",
                    title="learning curve, same number of steps")
        axes[1].set(xscale="log", xlabel="N", ylabel="train − test accuracy", title="generalisation gap")
        axes[2].set(xscale="log", yscale="log", xlabel="N", ylabel="seconds per epoch",
                    title="cost of an epoch (noisy: shared machine)")
        for ax in axes:
            ax.legend(fontsize=7)
        plots.save(fig, path)

    parts = []
    for d in datasets:
        p = per[d]
        parts.append(
            f"{d} ({len(seeds[d])} seeds, {steps_text(p['steps'])} gradient steps at every N, fixed test set): "
            f"test accuracy {pm_pct(p, 0)} at N = {p['N'][0]} → {pm_pct(p, -1)} at N = {p['N'][-1]} (Spearman ρ "
            f"{p['spearman_accuracy']:.2f} over all N), train–test gap {pct(p['gap_mean'][0])} → "
            f"{pct(p['gap_mean'][-1])} (ρ {p['spearman_gap']:.2f}), seconds per epoch ∝ "
            f"N^{p['time_exponent_large_N']:.2f} over the larger half of N")
    c = per["circles"]
    answer = (
        "; ".join(parts) + f". The circles set (noise {NOISE}) cannot be learnt beyond its Bayes ceiling of "
        f"{pct(ceiling)} (the best classifier knowing the true densities): its curve flattens there, "
        f"{pct(ceiling - c['test_accuracy_mean'][-1])} below it at the largest N. More data lowers the variance of "
        "the fitted model (higher test accuracy, smaller gap) with diminishing returns near the ceiling. An epoch "
        "costs about linearly more with N, but a fixed number of steps costs the same: a large N makes training "
        "more expensive only if one insists on passing over all of it several times."
        + ("" if FASHION in datasets else " (Fashion-MNIST not used" + (" in quick mode.)" if quick else
                                                                        ": not installed.)"))
    )
    q = QuestionResult("Q2", answer, m, verdicts.verdict_q2(m))
    return finish("q2", [q], m, out, {"q2_learning_curves": draw})


def pm_pct(p: dict, i: int) -> str:
    return f"{100 * p['test_accuracy_mean'][i]:.1f} ± {100 * p['test_accuracy_sd'][i]:.1f} %"


def steps_text(steps: list[int]) -> str:
    """'1536' when every N made the same number of steps, else 'a–b'."""
    return str(steps[0]) if steps[0] == steps[-1] else f"{steps[0]}–{steps[-1]}"
