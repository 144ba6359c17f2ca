"""Q4 — the sizes n_x, n_h, n_y: n_x and n_y are read from the data; n_h is a choice, swept here.

The sweep's points are independent runs, so they go through ``pmap`` (joblib processes, or Dask).
"""

from __future__ import annotations

from mlplab import plots, runner
from mlplab.data import LOADERS, load_dataset
from mlplab.experiments.base import QuestionResult, Result, finish, pct
from mlplab.experiments.parallel import on_scheduler, pmap
from mlplab.runner import RunConfig

FULL_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
QUICK_SIZES = (1, 2, 4, 16, 64)


def point(n_h: int, epochs: int, seed: int = 0) -> dict:
    """Train 2-n_h-3 on the spiral; its test and train accuracy and parameter count."""
    cfg = RunConfig(dataset="spiral", n_samples=1000, noise=0.2, hidden=(n_h,), activation="tanh", optimizer="adam",
                    lr=0.01, batch_size=32, epochs=epochs, seed=seed)
    r = runner.run(cfg)
    s = r.prepared.splits
    return {"n_h": n_h, "n_params": r.net.n_params, "test_accuracy": r.test_accuracy,
            "train_accuracy": r.net.evaluate(s.X_train, s.y_train)[1]}


def sizes_from_data(quick: bool) -> dict:
    """n_x (features) and n_y (classes or targets) of a few datasets, as the loaders report them."""
    names = ["circles", "spiral", "sine"] + (["fashion-mnist"] if "fashion-mnist" in LOADERS else [])
    table = {}
    for name in names:
        ds = load_dataset(name, n_samples=100)
        table[name] = {"n_x": ds.n_features, "n_y": ds.n_outputs, "task": ds.task}
    return table


def run(quick: bool = False, out=None, jobs: int = 1, scheduler: str | None = None) -> Result:
    sizes = QUICK_SIZES if quick else FULL_SIZES
    epochs = 40 if quick else 150
    with on_scheduler(scheduler):
        rows = pmap(point, [{"n_h": n, "epochs": epochs} for n in sizes], jobs)
    best = max(r["test_accuracy"] for r in rows)
    enough = min(r["n_h"] for r in rows if r["test_accuracy"] >= best - 0.01)
    table = sizes_from_data(quick)
    m = {"data_sizes": table, "dataset": "spiral (3 classes, 1000 points)", "epochs": epochs,
         "best_test_accuracy": best, "smallest_n_h_within_1pt_of_best": enough,
         "test_accuracy_n_h_1": rows[0]["test_accuracy"],
         "sweep": {str(r["n_h"]): {k: v for k, v in r.items() if k != "n_h"} for r in rows}}

    def draw(path):
        fig, ax = plots.plt.subplots(figsize=(6.5, 3.8))
        n = [r["n_h"] for r in rows]
        ax.plot(n, [r["test_accuracy"] for r in rows], "o-", label="test")
        ax.plot(n, [r["train_accuracy"] for r in rows], "s--", label="train")
        ax.set(xscale="log", xlabel="n_h (hidden units)", ylabel="accuracy",
               title="spiral, 2-n_h-3 tanh: accuracy against n_h")
        ax2 = ax.twinx()
        ax2.plot(n, [r["n_params"] for r in rows], "k:", label="parameters")
        ax2.set(yscale="log", ylabel="parameters (dotted)")
        ax.legend(loc="lower right")
        plots.save(fig, path)

    dims = "; ".join(f"{k}: n_x = {v['n_x']}, n_y = {v['n_y']}" for k, v in table.items())
    answer = (
        f"n_x and n_y are fixed by the data ({dims}). n_h is free: on the 3-class spiral, n_h = 1 gives "
        f"{pct(rows[0]['test_accuracy'])} test accuracy, the best is {pct(best)}, and n_h = {enough} already comes "
        f"within one point of it; beyond that, parameters grow ({rows[-1]['n_params']} at n_h = {rows[-1]['n_h']}) "
        f"for no gain. In practice n_h is chosen on validation accuracy, as the seed says."
    )
    ok = all(v["n_y"] >= 1 for v in table.values()) and best - rows[0]["test_accuracy"] > 0.05
    q = QuestionResult("Q4", answer, m, "confirmed" if ok else "contradicted")
    return finish("q4", [q], m, out, {"q4_hidden_sweep": draw})
