"""Terminal display with rich: a per-epoch progress bar and the end-of-run summary table."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mlplab.runner import RunResult
from mlplab.train import EpochRecord, Trainer

err = Console(stderr=True)
out = Console()


class EpochProgress:
    """A trainer callback that advances a progress bar and shows the latest losses."""

    def __init__(self, epochs: int, enabled: bool = True) -> None:
        self.enabled = enabled
        self.progress = Progress(
            TextColumn("[bold]training"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"), console=err, transient=False, disable=not enabled,
        )
        self.task = self.progress.add_task("train", total=epochs, status="")
        self.started = False

    def __enter__(self) -> EpochProgress:
        # the bar appears with the first finished epoch: an error while loading data stays a single line
        return self

    def __exit__(self, *exc: object) -> None:
        if self.started:
            self.progress.stop()

    def on_epoch_end(self, trainer: Trainer, record: EpochRecord) -> None:
        if not self.started:
            self.progress.start()
            self.started = True
        status = f"loss {record.train_loss:.4f}"
        if record.val_loss is not None:
            status += f"  val {record.val_loss:.4f}"
        if record.val_accuracy is not None and record.val_accuracy == record.val_accuracy:
            status += f"  val acc {record.val_accuracy:.3f}"
        self.progress.update(self.task, completed=record.epoch, status=status)


def _fmt(x: object) -> str:
    if x is None or (isinstance(x, float) and x != x):
        return "—"
    return f"{x:.4f}" if isinstance(x, float) else str(x)


def summary(result: RunResult, written: list[Path]) -> None:
    """The end-of-run table: data, network, epochs, final and best scores, test score, files."""
    h = result.history
    last = h[-1] if h else None
    st = result.trainer.state
    table = Table(title="mlplab train", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    s = result.prepared.splits
    sizes = f"train {len(s.X_train)}, val {len(s.X_val)}, test {len(s.X_test)}"
    table.add_row("dataset", f"{result.config.dataset}  ({sizes})")
    table.add_row("network", f"{'-'.join(map(str, result.net.sizes))} {result.config.activation}, "
                  f"{result.config.output} + {result.config.loss}, {result.net.n_params} parameters")
    table.add_row("epochs", f"{len(h)}" + ("  (stopped early)" if st.stopped_early else "")
                  + (f", best {st.best_epoch}" if st.best_epoch > 0 else ""))
    table.add_row("time", f"{sum(r.seconds for r in h):.2f} s training")
    if last:
        table.add_row("last epoch", f"train loss {_fmt(last.train_loss)}, val loss {_fmt(last.val_loss)}, "
                      f"val accuracy {_fmt(last.val_accuracy)}")
    if result.test_regression is not None:
        r = result.test_regression
        table.add_row("test", f"loss {_fmt(r['loss'])}, RMSE {_fmt(r['rmse'])}, MAE {_fmt(r['mae'])}, "
                      f"R² {_fmt(r['r2'])}  (targets' own units)")
    else:
        table.add_row("test", f"loss {_fmt(result.test_loss)}, accuracy {_fmt(result.test_accuracy)}")
    table.add_row("wrote", "\n".join(str(p) for p in written))
    out.print(table)
