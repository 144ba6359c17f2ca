"""Q10 — full-batch, mini-batch and online (stochastic) gradient descent on the same data.

Each regime trains the same 2-10-2 tanh network on circles at the same learning rate: loss against epochs,
against updates (gradient evaluations) and against seconds; test accuracy over several seeds. A second
part runs full-batch gradient descent to a standstill from several seeds on XOR with two hidden units:
the runs stop at different losses with vanishing gradients — different minima, not "the global minimum".
"""

from __future__ import annotations

import math

import numpy as np

from mlplab import plots, runner
from mlplab.experiments.base import QuestionResult, Result, finish, pct
from mlplab.experiments.parallel import on_scheduler, pmap
from mlplab.runner import RunConfig

TARGET = 0.3  # training loss the regimes race to


def first_reaching(xs: list[float], loss: list[float], target: float = TARGET) -> float | None:
    """The first x (epoch, update count or elapsed seconds) at which the loss is ≤ target; None if never."""
    return next((x for x, l in zip(xs, loss, strict=True) if l <= target), None)


REGIMES = {"full batch": None, "mini-batch 64": 64, "mini-batch 16": 16, "online (1)": 1}


def point(regime: str, epochs: int, seed: int) -> dict:
    """One regime, one seed: loss per epoch, updates per epoch, seconds per epoch, test accuracy."""
    B = REGIMES[regime]
    cfg = RunConfig(dataset="circles", hidden=(10,), activation="tanh", lr=0.1, batch_size=B, epochs=epochs,
                    seed=seed)
    runner.run(cfg.with_(epochs=1))  # warm-up: compiled kernels load outside the timed run
    r = runner.run(cfg)
    n = len(r.prepared.splits.X_train)
    return {"regime": regime, "seed": seed, "n_train": n, "updates_per_epoch": math.ceil(n / (B or n)),
            "loss": [h.train_loss for h in r.history], "seconds": [h.seconds for h in r.history],
            "test_accuracy": r.test_accuracy}


def minimum(seed: int, epochs: int) -> dict:
    """Full-batch GD on XOR with n_h = 2 until it stalls: final loss, gradient norm, recent progress."""
    cfg = RunConfig(dataset="xor", n_samples=400, hidden=(2,), lr=0.5, batch_size=None, epochs=epochs, seed=seed)
    r = runner.run(cfg)
    s = r.prepared.splits
    loss, grads = r.net.loss_and_grad(s.X_train, s.y_train)
    gnorm = float(np.sqrt(sum(float((g.astype(np.float64) ** 2).sum()) for g in grads.values())))
    tail = r.history[int(0.8 * epochs) - 1].train_loss - r.history[-1].train_loss
    return {"seed": seed, "final_loss": loss, "grad_norm": gnorm, "loss_drop_last_20pct": tail,
            "test_accuracy": r.test_accuracy, "curve": [h.train_loss for h in r.history][:: max(1, epochs // 500)]}


def _secs(x: float | None) -> str:
    return "never" if x is None else f"{x * 1e3:.1f} ms"


def run(quick: bool = False, out=None, jobs: int = 1, scheduler: str | None = None) -> Result:
    epochs = 30 if quick else 100
    seeds = (0, 1) if quick else (0, 1, 2, 3, 4)
    gd_epochs, gd_seeds = (1000, range(4)) if quick else (5000, range(8))
    with on_scheduler(scheduler):
        rows = pmap(point, [{"regime": g, "epochs": epochs, "seed": s} for g in REGIMES for s in seeds], jobs)
        minima = pmap(minimum, [{"seed": s, "epochs": gd_epochs} for s in gd_seeds], jobs)
    summary = {}
    for g in REGIMES:
        sel = [r for r in rows if r["regime"] == g]
        acc = [r["test_accuracy"] for r in sel]
        summary[g] = {"test_accuracy_mean": float(np.mean(acc)), "test_accuracy_std": float(np.std(acc)),
                      "final_loss_mean": float(np.mean([r["loss"][-1] for r in sel])),
                      "updates": sel[0]["updates_per_epoch"] * epochs,
                      "seconds_per_epoch": float(np.median([np.median(r["seconds"]) for r in sel]))}
        reach_ep = [first_reaching(list(range(1, epochs + 1)), r["loss"]) for r in sel]
        reach_s = [first_reaching(list(np.cumsum(r["seconds"])), r["loss"]) for r in sel]
        summary[g]["epochs_to_target"] = None if None in reach_ep else float(np.median(reach_ep))
        summary[g]["seconds_to_target"] = None if None in reach_s else float(np.median(reach_s))
    losses = [m["final_loss"] for m in minima]
    reached = {g: v for g, v in summary.items() if v["seconds_to_target"] is not None}
    fastest = min(reached, key=lambda g: reached[g]["seconds_to_target"]) if reached else None
    m = {"target_loss": TARGET, "fastest_in_seconds": fastest, "epochs": epochs, "seeds": list(seeds), "lr": 0.1,
         "regimes": summary,
         "gd_minima": {"dataset": "xor, 2-2-2 tanh, full batch, lr 0.5", "epochs": gd_epochs,
                       "final_losses": losses, "grad_norms": [x["grad_norm"] for x in minima],
                       "loss_drop_last_20pct": [x["loss_drop_last_20pct"] for x in minima],
                       "spread": max(losses) - min(losses)}}
    data = {**m, "runs": rows, "minima": minima}

    def draw(path):
        fig, axes = plots.plt.subplots(1, 4, figsize=(16, 3.6))
        for i, g in enumerate(REGIMES):
            r = next(x for x in rows if x["regime"] == g and x["seed"] == seeds[0])
            ep = np.arange(1, epochs + 1)
            c = f"C{i}"
            axes[0].plot(ep, r["loss"], c, label=g)
            axes[1].plot(ep * r["updates_per_epoch"], r["loss"], c, label=g)
            axes[2].plot(np.cumsum(r["seconds"]), r["loss"], c, label=g)
        axes[0].set(xlabel="epoch", ylabel="training loss", yscale="log", title="against epochs")
        axes[1].set(xlabel="updates (gradient evaluations)", xscale="log", yscale="log", title="against updates")
        axes[2].set(xlabel="seconds (noisy: shared machine)", xscale="log", yscale="log", title="against time")
        axes[0].legend(fontsize=8)
        for mm in minima:
            axes[3].plot(np.linspace(1, gd_epochs, len(mm["curve"])), mm["curve"], label=f"seed {mm['seed']}")
        axes[3].set(xlabel="epoch", ylabel="training loss", yscale="log",
                    title="full-batch GD, XOR 2-2-2: different minima")
        axes[3].legend(fontsize=7)
        fig.tight_layout()
        plots.save(fig, path)

    full, online = summary["full batch"], summary["online (1)"]
    mini = summary["mini-batch 16"]
    gm = m["gd_minima"]
    answer = (
        f"Same network and learning rate (0.1), {epochs} epochs on circles, {len(seeds)} seeds: full batch makes "
        f"{full['updates']} updates and ends at loss {full['final_loss_mean']:.3f}, test "
        f"{pct(full['test_accuracy_mean'])}; mini-batch 16 makes {mini['updates']} updates, loss "
        f"{mini['final_loss_mean']:.3f}, test {pct(mini['test_accuracy_mean'])} ± {pct(mini['test_accuracy_std'])}; "
        f"online makes {online['updates']}, loss {online['final_loss_mean']:.3f}, test "
        f"{pct(online['test_accuracy_mean'])} ± {pct(online['test_accuracy_std'])}, at "
        f"{online['seconds_per_epoch'] * 1e3:.1f} ms per epoch against {mini['seconds_per_epoch'] * 1e3:.1f} ms "
        f"(mini-batch 16) and {full['seconds_per_epoch'] * 1e3:.2f} ms (full batch). Time to reach training loss "
        f"{TARGET}: " + ", ".join(f"{g} {_secs(v['seconds_to_target'])}" for g, v in summary.items())
        + f" (fastest: {fastest}). Per epoch, online SGD makes the most progress; per second, {fastest} gets "
        + ("there first, which supports the seed's choice of mini-batches as the default. " if fastest and
           fastest.startswith("mini") else "there first. ")
        + f"But full-batch gradient descent does not converge to \"the global minimum\": on XOR with two hidden "
        f"units, {len(losses)} seeds run for {gd_epochs} epochs stall at losses from {min(losses):.3f} to "
        f"{max(losses):.3f} with gradient norms ≤ {max(gm['grad_norms']):.1e} — different minima of a non-convex loss."
    )
    contradicted = gm["spread"] > 0.05 and max(gm["grad_norms"]) < 0.05
    q = QuestionResult("Q10", answer, m, "contradicted" if contradicted else "confirmed")
    return finish("q10", [q], data, out, {"q10_regimes": draw})
