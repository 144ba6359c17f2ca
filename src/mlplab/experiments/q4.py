"""Q4 — the sizes n_x, n_h, n_y: the lab's figure 1 (2-4-2), n_y = 1 only under a sigmoid, n_h chosen on validation.

The sweep's points are independent runs, so they go through ``pmap`` (joblib processes, or Dask).
"""

from __future__ import annotations

import numpy as np

from mlplab import plots, runner
from mlplab.data import LOADERS, DataPaths, load_dataset
from mlplab.experiments import verdicts
from mlplab.experiments.base import OutDir, QuestionResult, Result, finish, mean_sd, pct
from mlplab.experiments.parallel import on_scheduler, pmap
from mlplab.runner import RunConfig

FULL_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256)
QUICK_SIZES = (1, 4, 16, 64)


def point(n_h: int, epochs: int, seed: int = 0) -> dict:
    """Train 2-n_h-3 on the spiral; validation accuracy (for the choice), test and train accuracy (reported only)."""
    cfg = RunConfig(dataset="spiral", n_samples=1000, noise=0.2, hidden=(n_h,), activation="tanh", optimizer="adam",
                    lr=0.01, batch_size=32, epochs=epochs, seed=seed)
    r = runner.run(cfg)
    s = r.prepared.splits
    return {"n_h": n_h, "seed": seed, "n_params": r.net.n_params, "val_accuracy": r.net.evaluate(s.X_val, s.y_val)[1],
            "test_accuracy": r.test_accuracy, "train_accuracy": r.net.evaluate(s.X_train, s.y_train)[1]}


def figure1_point(output: str, n_y: int, epochs: int, seed: int) -> dict:
    """The lab's figure 1 on circles, one seed: 2-4-n_y under ``output``; a 1-output SoftMax is only evaluated."""
    cfg = RunConfig(dataset="circles", hidden=(4,), activation="tanh", output=output, lr=0.1, batch_size=10,
                    epochs=epochs, seed=seed)
    s = runner.prepare(cfg).splits
    net, trainer = runner.build(cfg, s.X_train.shape[1], n_y)
    if n_y == 1 and output == "softmax":  # nothing to train: the engine refuses two labels for one output
        y_hat = net.forward(s.X_test)  # SoftMax of one number is e^z / e^z = 1
        return {"sizes": net.sizes, "max_dev": float(np.abs(y_hat - 1).max()),
                "test_accuracy": float((s.y_test == 0).mean())}  # always "class 0"
    trainer.fit(s.X_train, s.y_train, s.X_val, s.y_val)
    return {"sizes": net.sizes, "test_accuracy": net.evaluate(s.X_test, s.y_test)[1]}


def figure1(epochs: int, seeds: range, jobs: int = 1) -> dict:
    """2-4-2 under a SoftMax, 2-4-1 under a sigmoid (mean and standard error over seeds), 2-4-1 SoftMax."""
    cases = (("softmax_n_y2", "softmax", 2), ("sigmoid_n_y1", "sigmoid", 1), ("softmax_n_y1", "softmax", 1))
    rows = pmap(figure1_point, [{"output": o, "n_y": k, "epochs": epochs, "seed": sd} for _, o, k in cases
                                for sd in seeds], jobs)
    out: dict[str, object] = {"figure1_seeds": len(seeds)}
    for i, (name, _, _) in enumerate(cases):
        sel = rows[i * len(seeds):(i + 1) * len(seeds)]
        mean, sd = mean_sd([r["test_accuracy"] for r in sel])
        out[name + "_test_accuracy"], out[name + "_test_accuracy_se"] = mean, sd / np.sqrt(len(sel))
        out[name + "_sizes"] = sel[0]["sizes"]
        if "max_dev" in sel[0]:
            out[name + "_max_dev"] = max(r["max_dev"] for r in sel)
    return out


def sizes_from_data(quick: bool) -> dict:
    """n_x (features) and n_y (classes or targets) of a few datasets, as the loaders report them."""
    names = ["circles", "spiral", "sine"] + (["fashion-mnist"] if "fashion-mnist" in LOADERS else [])
    table = {}
    for name in names:
        try:
            ds = load_dataset(name, n_samples=100)
        except Exception:  # a real dataset that is not installed: its sizes are simply not listed
            continue
        table[name] = {"n_x": ds.n_features, "n_y": ds.n_outputs, "task": ds.task}
    return table


def run(quick: bool = False, out: OutDir = None, jobs: int = 1, scheduler: str | None = None,
        data_paths: DataPaths | None = None) -> Result:
    sizes = QUICK_SIZES if quick else FULL_SIZES
    seeds = range(2) if quick else range(3)
    epochs = 40 if quick else 120
    with on_scheduler(scheduler):
        rows = pmap(point, [{"n_h": n, "epochs": epochs, "seed": sd} for n in sizes for sd in seeds], jobs)
    per = {n: {k: mean_sd([r[k] for r in rows if r["n_h"] == n]) for k in ("val_accuracy", "test_accuracy",
                                                                           "train_accuracy")} for n in sizes}
    best_n = max(sizes, key=lambda n: per[n]["val_accuracy"][0])
    best_val, best_sd = per[best_n]["val_accuracy"]
    # one-standard-error rule: the smallest n_h whose mean validation accuracy is within one sd of the best
    chosen = min(n for n in sizes if per[n]["val_accuracy"][0] >= best_val - max(best_sd, 0.005))
    with on_scheduler(scheduler):
        fig1 = figure1(40 if quick else 100, range(2) if quick else range(5), jobs)
    table = sizes_from_data(quick)
    m = {"data_sizes": table, "dataset": "spiral (3 classes, 1000 points)", "epochs": epochs, "seeds": len(seeds),
         "figure1": {"n_x": 2, "n_h": 4, "n_y": 2}, **fig1,
         "val_best_n_h": best_n, "val_chosen_n_h": chosen, "chosen_test_accuracy": per[chosen]["test_accuracy"][0],
         "chosen_val_accuracy": per[chosen]["val_accuracy"][0],
         "val_accuracy_range": best_val - per[sizes[0]]["val_accuracy"][0],
         "sweep": {str(n): {k: {"mean": v[0], "sd": v[1]} for k, v in per[n].items()} for n in sizes}}

    def draw(path):
        fig, ax = plots.plt.subplots(figsize=(6.5, 3.8))
        for k, fmt in (("val_accuracy", "o-"), ("train_accuracy", "s--"), ("test_accuracy", "^:")):
            ax.errorbar(sizes, [per[n][k][0] for n in sizes], [per[n][k][1] for n in sizes], fmt=fmt, capsize=3,
                        label=k.replace("_accuracy", "") + (" (chooses)" if k == "val_accuracy" else
                                                            " (reported only)" if k == "test_accuracy" else ""))
        ax.axvline(chosen, color="k", ls="--", lw=1, label=f"chosen on validation: n_h = {chosen}")
        ax.set(xscale="log", xlabel="n_h (hidden units)", ylabel="accuracy (mean ± sd over seeds)",
               title="spiral, 2-n_h-3 tanh: n_h chosen on validation")
        ax.legend(fontsize=8, loc="lower right")
        plots.save(fig, path)

    dims = "; ".join(f"{k}: n_x = {v['n_x']}, n_y = {v['n_y']}" for k, v in table.items())
    answer = (
        f"In the lab's figure 1, n_x = 2 (the point's two coordinates), n_h = 4 hidden units and n_y = 2: two "
        f"classes under a SoftMax, one output per class. Trained on circles ({fig1['figure1_seeds']} seeds), that "
        f"2-4-2 network reaches {pct(fig1['softmax_n_y2_test_accuracy'])} ± "
        f"{pct(fig1['softmax_n_y2_test_accuracy_se'])} test accuracy. n_y = 1 works only with a sigmoid output "
        f"(ŷ = P(class 1), 2-4-1 reaches {pct(fig1['sigmoid_n_y1_test_accuracy'])} ± "
        f"{pct(fig1['sigmoid_n_y1_test_accuracy_se'])}); a SoftMax over one output is the "
        f"constant e^z / e^z = 1 (max |ŷ − 1| = {fig1['softmax_n_y1_max_dev']:.0e}) and learns nothing, so the "
        f"seed's « n_y = 1 pour une classification binaire » is wrong for the lab's network. n_x and n_y are fixed "
        f"by the data ({dims}). n_h is a free choice, made on validation, never on test: on the 3-class spiral "
        f"({len(seeds)} seeds) validation accuracy rises from {pct(per[sizes[0]]['val_accuracy'][0])} at n_h = "
        f"{sizes[0]} to {pct(best_val)} at n_h = {best_n}; the smallest n_h within one standard deviation of the best "
        f"is {chosen}, chosen, whose test accuracy — looked at once, after the choice — is "
        f"{pct(per[chosen]['test_accuracy'][0])}. Beyond it parameters grow for no gain."
    )
    q = QuestionResult("Q4", answer, m, verdicts.verdict_q4(m))
    return finish("q4", [q], m, out, {"q4_hidden_sweep": draw})
