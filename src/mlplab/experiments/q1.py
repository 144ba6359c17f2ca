"""Q1 — roles of the train, validation and test sets: an overfitting run and early stopping.

A wide network on few noisy examples keeps lowering its training loss while the validation loss turns
back up. Validation picks the epoch (early stopping / model selection); the test set, never used for a
decision, then scores the selected model against the last one.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlplab import plots, runner
from mlplab.data import DataPaths
from mlplab.experiments import verdicts
from mlplab.experiments.base import OutDir, QuestionResult, Result, finish, mean_sd
from mlplab.experiments.parallel import on_scheduler, pmap
from mlplab.runner import RunConfig


def stop_epoch(val_losses: list[float], patience: int) -> int | None:
    """The epoch early stopping with this patience would stop at (the Trainer's rule), None if never."""
    best, bad = float("inf"), 0
    for epoch, v in enumerate(val_losses, start=1):
        if v < best:
            best, bad = v, 0
        else:
            bad += 1
            if bad >= patience:
                return epoch
    return None


N_TRAIN, N_VAL, N_TEST = 150, 150, 5000


def prepared_spiral(seed: int) -> runner.Prepared:
    """Noisy spiral: 150 training and 150 validation points, and a fixed test set of 5000 (the same for every
    seed), large enough that a test-accuracy difference is not two examples."""
    from mlplab.data import Dataset, load_dataset, split

    pool = load_dataset("spiral", n_samples=N_TRAIN + N_VAL, noise=0.3, seed=100 + seed)
    test = load_dataset("spiral", n_samples=N_TEST, noise=0.3, seed=99)
    ds = Dataset(pool.X, pool.y, "spiral", class_names=pool.class_names, X_test=test.X, y_test=test.y)
    splits, scaler = split(ds, val_fraction=N_VAL / (N_TRAIN + N_VAL), test_fraction=0.0, seed=seed)
    return runner.Prepared(ds, splits, scaler)


def config(quick: bool, seed: int = 0) -> RunConfig:
    epochs = 200 if quick else 600
    return RunConfig(dataset="spiral", noise=0.3, hidden=(100, 100), activation="tanh",
                     optimizer="adam", lr=0.01, batch_size=None, epochs=epochs, patience=epochs, seed=seed)


class LastModel:
    """A trainer callback scoring the network on the test set after the final epoch (before best weights return),
    and every ``every`` epochs for the figure."""

    def __init__(self, X: np.ndarray, y: np.ndarray, epochs: int, every: int = 0) -> None:
        self.X, self.y, self.epochs, self.every = X, y, epochs, every
        self.last: tuple[float, float] = (float("nan"), float("nan"))
        self.curve: list[tuple[int, float, float]] = []

    def on_epoch_end(self, trainer: Any, record: Any) -> None:
        if record.epoch == self.epochs:
            self.last = trainer.net.evaluate(self.X, self.y)
        if self.every and record.epoch % self.every == 0:
            self.curve.append((record.epoch, *trainer.net.evaluate(self.X, self.y)))


def point(quick: bool, seed: int, curve: bool = False) -> dict:
    """One seed: train past the best validation epoch; test scores of the selected and of the last model."""
    cfg = config(quick, seed)
    prep = prepared_spiral(seed)
    s = prep.splits
    last = LastModel(s.X_test, s.y_test, cfg.epochs, every=(25 if quick else 5) if curve else 0)
    # patience = epochs: never stops, but keeps the best-validation weights and restores them at the end
    r = runner.run(cfg, callbacks=[last], prepared=prep)
    h = r.history
    best = r.trainer.state.best_epoch
    return {"seed": seed, "epochs": len(h), "best_epoch": best, "n_params": r.net.n_params,
            "early_stop_epoch_patience_20": stop_epoch([x.val_loss or 0.0 for x in h], patience=20),
            "val_loss_best": h[best - 1].val_loss, "val_loss_last": h[-1].val_loss,
            "train_loss_last": h[-1].train_loss, "train_accuracy_last": h[-1].train_accuracy,
            "test_loss_selected": r.test_loss, "test_accuracy_selected": r.test_accuracy,
            "test_loss_last": last.last[0], "test_accuracy_last": last.last[1],
            "curves": {"train_loss": [x.train_loss for x in h], "val_loss": [x.val_loss for x in h],
                       "train_accuracy": [x.train_accuracy for x in h], "val_accuracy": [x.val_accuracy for x in h],
                       "test": last.curve} if curve else None}


def run(quick: bool = False, out: OutDir = None, jobs: int = 1, scheduler: str | None = None,
        data_paths: DataPaths | None = None) -> Result:
    """Over several seeds: does selecting the epoch on validation beat the last model on a large test set?"""
    seeds = range(2) if quick else range(6)
    with on_scheduler(scheduler):
        rows = pmap(point, [{"quick": quick, "seed": s, "curve": s == 0} for s in seeds], jobs)
    n = len(rows)
    loss_gain = [r["test_loss_last"] - r["test_loss_selected"] for r in rows]
    acc_gain = [r["test_accuracy_selected"] - r["test_accuracy_last"] for r in rows]
    rise = [r["val_loss_last"] / r["val_loss_best"] - 1 for r in rows]
    lg, lg_sd = mean_sd(loss_gain)
    ag, ag_sd = mean_sd(acc_gain)
    r0 = rows[0]
    m = {"n_train": N_TRAIN, "n_val": N_VAL, "n_test": N_TEST, "seeds": n, "n_params": r0["n_params"],
         "epochs": r0["epochs"], "best_epochs": [r["best_epoch"] for r in rows],
         "val_loss_rise_mean": float(np.mean(rise)),
         "test_loss_gain_mean": lg, "test_loss_gain_se": lg_sd / np.sqrt(n),
         "test_accuracy_gain_mean": ag, "test_accuracy_gain_se": ag_sd / np.sqrt(n),
         "accuracy_flat": abs(ag) <= max(2 * ag_sd / np.sqrt(n), 2 / N_TEST),
         "per_seed": [{k: v for k, v in r.items() if k != "curves"} for r in rows]}
    c = r0["curves"]
    data = {**m, "curves_seed0": c}

    def draw(path):
        fig, (a1, a2) = plots.plt.subplots(1, 2, figsize=(10, 3.8))
        ep = range(1, len(c["train_loss"]) + 1)
        te = np.asarray(c["test"], float)
        a1.plot(ep, c["train_loss"], label="train")
        a1.plot(ep, c["val_loss"], label="validation")
        a1.plot(te[:, 0], te[:, 1], label=f"test ({N_TEST} points)")
        a2.plot(ep, c["train_accuracy"], label="train")
        a2.plot(ep, c["val_accuracy"], label="validation")
        a2.plot(te[:, 0], te[:, 2], label="test")
        for ax in (a1, a2):
            ax.axvline(r0["best_epoch"], color="k", ls="--", lw=1, label=f"selected (epoch {r0['best_epoch']})")
            ax.set_xlabel("epoch")
        a1.set(ylabel="cross-entropy", yscale="log", title="loss (seed 0)")
        a2.set(ylabel="accuracy", title="accuracy (seed 0)")
        a1.legend(fontsize=8)
        fig.suptitle(f"Overfitting: {N_TRAIN} noisy spiral points, 2-100-100-3 tanh ({r0['n_params']} parameters)")
        plots.save(fig, path)

    flat = (f" Accuracy barely moves ({ag:+.3f} ± {ag_sd / np.sqrt(n):.3f}): the effect shows in the loss (the "
            f"last model is confidently wrong on the points it misclassifies) while accuracy stays flat."
            if m["accuracy_flat"] else f" Test accuracy gains {ag:+.3f} ± {ag_sd / np.sqrt(n):.3f} as well.")
    answer = (
        f"Train fits the weights, validation chooses (here: the epoch), test only measures. With {N_TRAIN} noisy "
        f"spiral points and {r0['n_params']} parameters, over {n} seeds, the training loss falls to "
        f"{np.mean([r['train_loss_last'] for r in rows]):.4f} while the validation loss bottoms out (epochs "
        f"{', '.join(str(r['best_epoch']) for r in rows)}) and then rises by {m['val_loss_rise_mean']:.0%} on average "
        f"by epoch {r0['epochs']}. On a fixed test set of {N_TEST} points, the validation-selected model's test loss "
        f"is lower than the last model's by {lg:.3f} ± {lg_sd / np.sqrt(n):.3f} (mean ± standard error)."
        + flat + " The test set, used for no decision, is the unbiased estimate of both; choosing the epoch on it "
        "would make its score optimistic. Validation does not prevent overfitting by itself (the seed's « essentiel "
        "pour éviter »): it detects it, and early stopping or model selection acts on it."
    )
    q = QuestionResult("Q1", answer, m, verdicts.verdict_q1(m))
    return finish("q1", [q], data, out, {"q1_overfitting": draw})
