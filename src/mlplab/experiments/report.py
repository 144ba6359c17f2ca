"""Run every experiment and write one self-contained HTML page, ``summary.json`` and ``REPORT.md``.

summary.json is a list with one entry per question Q1…Q15:
``{"question", "answer", "measurements", "seed_claim", "verdict", "figures"}``; the HTML embeds every
figure as base64 PNG, so the page can be mailed or committed alone.
"""

from __future__ import annotations

import base64
import html
import json
import os
import platform
import subprocess
import time
from pathlib import Path

from mlplab import __version__
from mlplab.atomic import write_json, write_text
from mlplab.experiments import NAMES, get
from mlplab.experiments.base import Result, jsonable
from mlplab.experiments.parallel import on_scheduler
from mlplab.experiments.seed import QUESTIONS, claim

TITLES = {
    "Q1": "Train, validation and test sets", "Q2": "Influence of the number N of examples",
    "Q3": "Why non-linear activations", "Q4": "The sizes n_x, n_h, n_y", "Q5": "ŷ against y",
    "Q6": "Why SoftMax at the output", "Q7": "The forward equations", "Q8": "How ŷ must move for each loss",
    "Q9": "Cross-entropy for classification, squared error for regression",
    "Q10": "Batch, mini-batch and online gradient descent", "Q11": "The learning rate",
    "Q12": "Cost of the gradient: naive against backprop", "Q13": "What backprop needs from the architecture",
    "Q14": "SoftMax + cross-entropy, fused and stable", "Q15": "The gradient ŷ − y",
}


def machine() -> dict:
    """CPU model (lscpu), core count and software versions, for the report's header."""
    model = platform.processor() or "unknown"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=5).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    import numpy

    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(), "numpy": numpy.__version__,
            "mlplab": __version__, "platform": platform.platform()}


def run_all(quick: bool, out: Path, jobs: int = 1, scheduler: str | None = None, progress: bool = True,
            names: tuple[str, ...] = NAMES) -> tuple[dict[str, Result], dict[str, float]]:
    """Run the experiments in order (each into out/NAME) under a rich progress bar; results and seconds."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from mlplab.cli.display import err

    results, seconds = {}, {}
    bar = Progress(TextColumn("[bold]report"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("{task.fields[status]}"), console=err, disable=not progress)
    with bar, on_scheduler(scheduler):
        task = bar.add_task("report", total=len(names), status="")
        for name in names:
            bar.update(task, status=name)
            t0 = time.perf_counter()
            results[name] = get(name).run(quick=quick, out=out / name, jobs=jobs)
            seconds[name] = time.perf_counter() - t0
            bar.advance(task)
        bar.update(task, status="done")
    return results, seconds


def summary(results: dict[str, Result], out: Path) -> list[dict]:
    """One entry per question, in order; figure paths relative to ``out``."""
    by_q = {q: r for res in results.values() for q, r in res.questions.items()}
    entries = []
    for q in QUESTIONS:
        if q not in by_q:
            continue
        r = by_q[q]
        entries.append({"question": q, "title": TITLES[q], "answer": r.answer, "measurements": jsonable(r.measurements),
                        "seed_claim": claim(q), "verdict": r.verdict,
                        "figures": [os.path.relpath(f, out) for f in r.figures]})
    return entries


# ------------------------------------------------------------------------------------------------ HTML
CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.45;color:#222}
h1{margin-bottom:.2em} .meta{color:#666;font-size:.9em}
nav ol{columns:2} section{border-top:1px solid #ddd;margin-top:2em;padding-top:.5em}
.verdict{display:inline-block;padding:.1em .6em;border-radius:1em;font-size:.85em;font-weight:600;color:#fff}
.confirmed{background:#2e7d32} .contradicted{background:#c62828} .not-addressed{background:#757575}
blockquote{border-left:4px solid #bbb;margin:1em 0;padding:.2em 1em;color:#444;background:#f7f7f7}
img{max-width:100%;border:1px solid #eee;margin:.5em 0}
details table{border-collapse:collapse;font-size:.85em} td,th{border:1px solid #ddd;padding:.15em .5em;text-align:left}
td.num{font-family:monospace}
"""


def _flat(d, prefix: str = "") -> list[tuple[str, str]]:
    """Nested measurements → (dotted key, short value) rows; long lists are summarised."""
    rows = []
    if isinstance(d, dict):
        for k, v in d.items():
            rows += _flat(v, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(d, list):
        if all(not isinstance(v, dict | list) for v in d) and len(d) <= 12:
            rows.append((prefix, ", ".join(_fmt(v) for v in d)))
        elif all(isinstance(v, dict) for v in d) and len(d) <= 12:
            for i, v in enumerate(d):
                rows += _flat(v, f"{prefix}[{i}]")
        else:
            rows.append((prefix, f"[{len(d)} values; see the JSON data]"))
    else:
        rows.append((prefix, _fmt(d)))
    return rows


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "—" if v is None else str(v)


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def render_html(entries: list[dict], out: Path, info: dict) -> str:
    e = html.escape
    toc = "".join(f'<li><a href="#{x["question"]}">{x["question"]}. {e(x["title"])}</a> '
                  f'<span class="verdict {x["verdict"].replace(" ", "-")}">{x["verdict"]}</span></li>' for x in entries)
    sections = []
    for x in entries:
        rows = "".join(f'<tr><th>{e(k)}</th><td class="num">{e(v)}</td></tr>' for k, v in _flat(x["measurements"]))
        figs = "".join(_img(out / f) for f in x["figures"])
        sections.append(
            f'<section id="{x["question"]}"><h2>{x["question"]}. {e(x["title"])} '
            f'<span class="verdict {x["verdict"].replace(" ", "-")}">seed: {x["verdict"]}</span></h2>'
            f'<p><b>Measured answer.</b> {e(x["answer"])}</p>'
            f'<blockquote><b>The seed claims:</b> {e(x["seed_claim"])}</blockquote>{figs}'
            f"<details><summary>Measurements</summary><table>{rows}</table></details></section>"
        )
    counts = {v: sum(x["verdict"] == v for x in entries) for v in ("confirmed", "contradicted", "not addressed")}
    head = ", ".join(f"{n} {v}" for v, n in counts.items())
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>mlplab — the lab, measured</title>'
        f"<style>{CSS}</style></head><body><h1>mlplab — the lab's fifteen questions, measured</h1>"
        f'<p class="meta">{e(info["mode"])} run by <code>{e(info["command"])}</code> in {info["seconds"]:.0f} s on '
        f'{e(info["machine"]["cpu"])} ({info["machine"]["cores"]} cores; timings on a small shared machine are '
        f'noisy), mlplab {e(info["machine"]["mlplab"])}, NumPy {e(info["machine"]["numpy"])}. Seed claims: {head}.</p>'
        f"<nav><h2>Contents</h2><ol>{toc}</ol></nav>{''.join(sections)}</body></html>\n"
    )


def render_markdown(entries: list[dict], info: dict) -> str:
    lines = [
        "# mlplab — the lab's fifteen questions, measured", "",
        f"Generated by `{info['command']}` ({info['mode']}, {info['seconds']:.0f} s) on **{info['machine']['cpu']}**, "
        f"{info['machine']['cores']} cores, Python {info['machine']['python']}, NumPy {info['machine']['numpy']}. "
        "Timings (Q2's seconds per epoch, Q10's seconds, Q12's gradient timings) vary from run to run on a small "
        "or shared machine; the fitted exponents and ratios are more trustworthy than absolute times. Everything "
        "else is deterministic: the same command gives the same numbers.", "",
        "Figures and all numbers: [report.html](report.html) (self-contained). Each verdict says whether the "
        "measurement confirms or contradicts the seed's answer (the student's sheet in French).", "",
        "| Q | topic | verdict on the seed |", "|---|---|---|",
    ]
    lines += [f"| [{x['question']}](#{x['question'].lower()}) | {x['title']} | {x['verdict']} |" for x in entries]
    for x in entries:
        lines += ["", f"## {x['question']}", "", f"**{x['title']}** — seed: **{x['verdict']}**", "",
                  x["answer"], "", f"> Seed: {x['seed_claim']}"]
    return "\n".join(lines) + "\n"


def build(quick: bool, out: str | os.PathLike, jobs: int = 1, scheduler: str | None = None,
          progress: bool = True, command: str = "") -> list[dict]:
    """Run everything and write out/report.html, out/summary.json and out/REPORT.md; returns the summary."""
    out = Path(out)
    t0 = time.perf_counter()
    results, seconds = run_all(quick, out, jobs, scheduler, progress)
    entries = summary(results, out)
    info = {"mode": "quick" if quick else "full", "command": command or f"mlplab report{' --quick' if quick else ''}",
            "seconds": time.perf_counter() - t0, "machine": machine(), "experiment_seconds": seconds}
    write_json(out / "summary.json", entries)
    write_json(out / "run.json", jsonable(info))
    write_text(out / "report.html", render_html(entries, out, info))
    write_text(out / "REPORT.md", render_markdown(entries, info))
    return entries


def load_summary(path: str | os.PathLike) -> list[dict]:
    return json.loads(Path(path).read_text())
