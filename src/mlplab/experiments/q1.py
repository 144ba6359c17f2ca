"""Q1 — roles of the train, validation and test sets: an overfitting run and early stopping.

A wide network on few noisy examples keeps lowering its training loss while the validation loss turns
back up. Validation picks the epoch (early stopping / model selection); the test set, never used for a
decision, then scores the selected model against the last one.
"""

from __future__ import annotations

from mlplab import plots, runner
from mlplab.experiments.base import QuestionResult, Result, finish, pct
from mlplab.runner import RunConfig


class TestCurve:
    """A trainer callback recording the test loss and accuracy after every epoch (for the figure only)."""

    def __init__(self, X, y) -> None:
        self.X, self.y, self.loss, self.acc = X, y, [], []

    def on_epoch_end(self, trainer, record) -> None:
        loss, acc = trainer.net.evaluate(self.X, self.y)
        self.loss.append(loss)
        self.acc.append(acc)


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


def config(quick: bool) -> RunConfig:
    epochs = 200 if quick else 600
    return RunConfig(dataset="spiral", n_samples=150, noise=0.3, hidden=(200, 200), activation="tanh",
                     optimizer="adam", lr=0.01, batch_size=None, epochs=epochs, patience=epochs,
                     val_fraction=0.3, test_fraction=0.3, seed=0)


def run(quick: bool = False, out=None, jobs: int = 1, scheduler: str | None = None) -> Result:
    """Train past the best validation epoch; compare the test score of the selected and the last model."""
    cfg = config(quick)
    prepared = runner.prepare(cfg)
    s = prepared.splits
    curve = TestCurve(s.X_test, s.y_test)
    # patience = epochs: never stops, but keeps the best-validation weights and restores them at the end
    result = runner.run(cfg, callbacks=[curve], prepared=prepared)
    h = result.history
    best = result.trainer.state.best_epoch
    early = stop_epoch([r.val_loss for r in h], patience=20)
    m = {
        "n_train": len(s.X_train), "n_val": len(s.X_val), "n_test": len(s.X_test),
        "n_params": result.net.n_params, "epochs": len(h), "best_epoch": best,
        "early_stop_epoch_patience_20": early,
        "val_loss_best": h[best - 1].val_loss, "val_loss_last": h[-1].val_loss,
        "train_loss_last": h[-1].train_loss, "train_accuracy_last": h[-1].train_accuracy,
        "test_accuracy_selected": result.test_accuracy, "test_accuracy_last": curve.acc[-1],
        "test_loss_selected": result.test_loss, "test_loss_last": curve.loss[-1],
    }
    data = {**m, "curves": {"train_loss": [r.train_loss for r in h], "val_loss": [r.val_loss for r in h],
                            "test_loss": curve.loss, "train_accuracy": [r.train_accuracy for r in h],
                            "val_accuracy": [r.val_accuracy for r in h], "test_accuracy": curve.acc}}

    def draw(path):
        fig, (a1, a2) = plots.plt.subplots(1, 2, figsize=(10, 3.8))
        ep = range(1, len(h) + 1)
        for key, label in (("train", "train"), ("val", "validation"), ("test", "test")):
            a1.plot(ep, data["curves"][f"{key}_loss"], label=label)
            a2.plot(ep, data["curves"][f"{key}_accuracy"], label=label)
        for ax in (a1, a2):
            ax.axvline(best, color="k", ls="--", lw=1, label=f"selected (epoch {best})")
            ax.set_xlabel("epoch")
        a1.set(ylabel="cross-entropy", yscale="log", title="loss")
        a2.set(ylabel="accuracy", title="accuracy")
        a1.legend(fontsize=8)
        fig.suptitle(f"Overfitting: {m['n_train']} spiral points, 2-200-200-3 tanh ({m['n_params']} parameters)")
        plots.save(fig, path)

    overfits = m["val_loss_last"] > 1.5 * m["val_loss_best"] and m["train_loss_last"] < m["val_loss_best"]
    selection_helps = m["test_loss_selected"] < m["test_loss_last"]
    answer = (
        f"With {m['n_train']} training points and {m['n_params']} parameters the training loss falls to "
        f"{m['train_loss_last']:.4f} (train accuracy {pct(m['train_accuracy_last'])}) while the validation loss "
        f"bottoms out at epoch {best} ({m['val_loss_best']:.3f}) and climbs to {m['val_loss_last']:.3f} by epoch "
        f"{len(h)}. Early stopping with patience 20 would stop at epoch {early}. The validation-selected model "
        f"scores test loss {m['test_loss_selected']:.3f} / accuracy {pct(m['test_accuracy_selected'])} against "
        f"{m['test_loss_last']:.3f} / {pct(m['test_accuracy_last'])} for the last one; the test set, used for no "
        f"decision, is the unbiased estimate of both."
    )
    q = QuestionResult("Q1", answer, m, "confirmed" if overfits and selection_helps else "contradicted")
    return finish("q1", [q], data, out, {"q1_overfitting": draw})
