"""``mlplab experiment NAME`` (one lab question, measured) and ``mlplab report`` (all seventeen, one page)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import click

from mlplab.cli import display
from mlplab.cli.environment import data_paths

JOBS = click.IntRange(min=1)
_common = [
    click.option("--quick", is_flag=True, help="Small sizes and few epochs (seconds, for CI and a first look)."),
    click.option("--jobs", "-j", type=JOBS, default=1, show_default=True,
                 help="Processes for sweeps (joblib)."),
    click.option("--scheduler", metavar="ADDRESS", default=None,
                 help="Run sweeps on a Dask cluster, e.g. tcp://10.0.0.5:8786 (needs mlplab[cluster])."),
]


def _with_common(f):
    for opt in reversed(_common):
        f = opt(f)
    return f


@click.command("experiment")
@click.argument("name")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the figure(s) and data. [default: mlplab-experiments/NAME]")
@_with_common
def experiment_cmd(name: str, out: Path | None, quick: bool, jobs: int, scheduler: str | None) -> None:
    """Run the experiment answering lab question NAME (q1 … q17; grouped: q5_6, q8_9, q14_15, q16_17)."""
    from mlplab.experiments import get
    from mlplab.experiments.parallel import blas_threads

    module = get(name)
    key = module.__name__.rsplit(".", 1)[1]
    out = out or Path("mlplab-experiments") / key
    with display.err.status(f"running {key}{' (quick)' if quick else ''} …"), blas_threads(1):
        result = module.run(quick=quick, out=out, jobs=jobs, scheduler=scheduler, data_paths=data_paths())
    for q, r in result.questions.items():
        display.out.print(f"[bold]{q}[/bold] {r.answer}\n  seed: [bold]{r.verdict}[/bold] — {r.judged.because}",
                          highlight=False)
    display.out.print("wrote " + ", ".join(result.figures + result.files), highlight=False)


@click.command("report")
@click.option("--out", "-o", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for report.html, summary.json, REPORT.md and each experiment's files.")
@_with_common
def report_cmd(out: Path, quick: bool, jobs: int, scheduler: str | None) -> None:
    """Run every experiment and write one self-contained HTML report with a verdict on each seed claim."""
    from mlplab.experiments import report

    command = "mlplab " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:2] == ["report"] else ""
    entries = report.build(quick, out, jobs, scheduler, progress=True, command=command, data_paths=data_paths())
    from mlplab.experiments.base import VERDICTS

    verdicts = {v: sum(e["verdict"] == v for e in entries) for v in VERDICTS}
    display.out.print(f"{len(entries)} questions: " + ", ".join(f"{n} {v}" for v, n in verdicts.items()),
                      highlight=False)
    display.out.print(f"wrote {out / 'report.html'}, {out / 'summary.json'}, {out / 'REPORT.md'}", highlight=False)
