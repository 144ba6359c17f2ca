"""Run every experiment and write one self-contained HTML page, ``summary.json`` and ``REPORT.md``.

summary.json is a list of 17 entries, Q1…Q17, each ``{"question", "title", "answer", "verdict", "because",
"measurements", "seed_claim", "lab_expects", "derivation", "figures"}``. The HTML embeds every figure as
base64 PNG and every derivation as native MathML, so the page can be mailed or committed alone; REPORT.md
is generated whole (header, verdict table, sections, the Reproduce section).
"""

from __future__ import annotations

import base64
import html
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from mlplab import __version__
from mlplab.atomic import write_json, write_text
from mlplab.data import DataPaths
from mlplab.experiments import NAMES, get
from mlplab.experiments.base import VERDICTS, Result, jsonable
from mlplab.experiments.derivations import as_html, as_text
from mlplab.experiments.parallel import blas_threads, on_scheduler
from mlplab.experiments.seed import LAB_EXPECTS, QUESTIONS, TITLES, claim

TIMED = {"Q2": "seconds per epoch", "Q10": "wall-clock curves", "Q12": "gradient timings"}


def machine() -> dict:
    """CPU model and core count (from /proc/cpuinfo, else ``platform``), software versions, the load."""
    model = platform.processor() or platform.machine() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
            "mlplab": __version__, "platform": platform.platform(), "load_average_1min": load[0]}


def timing_noise(repeats: int = 15) -> dict:
    """Time one fixed workload (a chain of 20 products of 96×96 float64 matrices, about a millisecond on an
    idle core) ``repeats`` times: how much the same computation's duration varies on this machine right now."""
    rng = np.random.default_rng(0)
    A = rng.normal(size=(96, 96)) / 10
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        M = A
        for _ in range(20):
            M = np.tanh(M @ A)
        times.append(time.perf_counter() - t0)
    t = np.asarray(times)
    med = float(np.median(t))
    return {"median_s": med, "min_s": float(t.min()), "max_s": float(t.max()),
            "relative_spread": float((t.max() - t.min()) / med), "cv": float(t.std() / t.mean()),
            "load_average_1min": os.getloadavg()[0] if hasattr(os, "getloadavg") else None}


def _status_console():
    from rich.console import Console

    return Console(stderr=True)


def run_all(quick: bool, out: Path, jobs: int = 1, scheduler: str | None = None, progress: bool = True,
            names: tuple[str, ...] = NAMES, data_paths: DataPaths | None = None
            ) -> tuple[dict[str, Result], dict[str, float]]:
    """Run the experiments in order (each into out/NAME) under a rich progress bar; results and seconds."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    results, seconds = {}, {}
    bar = Progress(TextColumn("[bold]report"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("{task.fields[status]}"), console=_status_console(), disable=not progress)
    with bar, on_scheduler(scheduler), blas_threads(1):
        task = bar.add_task("report", total=len(names), status="")
        for name in names:
            bar.update(task, status=name)
            t0 = time.perf_counter()
            results[name] = get(name).run(quick=quick, out=out / name, jobs=jobs, data_paths=data_paths)
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
        entries.append({"question": q, "title": TITLES[q], "answer": r.answer, "verdict": r.verdict,
                        "because": r.judged.because, "measurements": jsonable(r.measurements),
                        "seed_claim": claim(q), "lab_expects": LAB_EXPECTS[q], "derivation": as_text(q),
                        "figures": [os.path.relpath(f, out) for f in r.figures]})
    return entries


def noise_sentence(info: dict) -> str:
    """One sentence: which machine, how loaded, how much a fixed workload's time varied during the run."""
    mc, nz = info["machine"], info["noise"]
    spread = max(x["relative_spread"] for x in nz)
    loads = [x["load_average_1min"] for x in nz if x["load_average_1min"] is not None]
    load = f", 1-minute load average {min(loads):.1f}–{max(loads):.1f}" if loads else ""
    return (f"Run on {mc['cpu']} ({mc['cores']} cores{load}; the machine was shared with other engineers' jobs). "
            f"A fixed workload (median {1e3 * np.median([x['median_s'] for x in nz]):.1f} ms) timed {len(nz)} × 15 "
            f"times during the run varied by up to {spread:.0%} "
            f"(min to max over median), so absolute timings carry at least that noise; fitted slopes, ratios and "
            f"rankings are more trustworthy than single times. Everything that is not a timing is deterministic.")


def reproduce(info: dict) -> list[str]:
    """The Reproduce section (Markdown lines)."""
    return [
        "## Reproduce", "",
        "From a fresh clone (the first command creates `.venv` and installs mlplab with its test extra):", "",
        "```bash",
        "bash scripts/test.sh                                   # the test suite, runs the quick report too",
        "source .venv/bin/activate",
        f"{info['command']}",
        "cp docs/report-run/report.html docs/report-run/REPORT.md docs/   # what is committed",
        "mlplab report --quick --out /tmp/report-quick          # the same pages in well under a minute",
        "mlplab experiment q17 --out /tmp/q17                  # one question (q1 … q17)",
        "```", "",
        "Every number except timings is deterministic: the same command gives the same numbers on any machine "
        "with the same library versions. `--jobs N` changes only the wall time; `--scheduler tcp://HOST:8786` "
        "runs the sweeps on a Dask cluster with the same results. The notebook `docs/lab.ipynb` walks through "
        "the lab with mlplab step by step.",
    ]


# ------------------------------------------------------------------------------------------------ HTML
CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;line-height:1.45;color:#222}
h1{margin-bottom:.2em} .meta{color:#555;font-size:.9em}
nav ol{columns:2} section{border-top:1px solid #ddd;margin-top:2em;padding-top:.5em}
.verdict{display:inline-block;padding:.1em .6em;border-radius:1em;font-size:.85em;font-weight:600;color:#fff}
.confirmed{background:#2e7d32} .partly{background:#ef6c00} .contradicted{background:#c62828}
.not-addressed{background:#757575}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:1em}
.box{padding:.3em 1em;background:#f7f7f7;border-left:4px solid #bbb}
.lab{border-left-color:#1565c0} .because{font-style:italic}
.derivation{background:#fbfbf4;border:1px solid #e4e4cc;padding:.3em 1em;margin:1em 0} math{font-size:1.1em}
figure{margin:.5em 0} figcaption{font-size:.85em;color:#555}
img{max-width:100%;border:1px solid #eee}
details table{border-collapse:collapse;font-size:.85em} td,th{border:1px solid #ddd;padding:.15em .5em;text-align:left}
td.num{font-family:monospace}
"""


def _flat(d: object, prefix: str = "") -> list[tuple[str, str]]:
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


def _fmt(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "—" if v is None else str(v)


def _cls(verdict: str) -> str:
    return verdict.replace(" ", "-")


def _figure(path: Path, question: str, info: dict) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    cap = f"{question}, {path.stem}."
    if question in TIMED:
        cap += (f" Timings ({TIMED[question]}) from {info['machine']['cpu']}, {info['machine']['cores']} shared "
                f"cores; a fixed workload varied by up to {max(x['relative_spread'] for x in info['noise']):.0%} "
                f"during this run.")
    return (f'<figure><img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{html.escape(cap)}</figcaption></figure>")


def render_html(entries: list[dict], out: Path, info: dict) -> str:
    e = html.escape
    toc = "".join(f'<li><a href="#{x["question"]}">{x["question"]}. {e(x["title"])}</a> '
                  f'<span class="verdict {_cls(x["verdict"])}">{x["verdict"]}</span></li>' for x in entries)
    sections = []
    for x in entries:
        q = x["question"]
        rows = "".join(f'<tr><th>{e(k)}</th><td class="num">{e(v)}</td></tr>' for k, v in _flat(x["measurements"]))
        figs = "".join(_figure(out / f, q, info) for f in x["figures"])
        deriv = as_html(q)
        deriv = f'<div class="derivation"><b>Derivation.</b>{deriv}</div>' if deriv else ""
        sections.append(
            f'<section id="{q}"><h2>{q}. {e(x["title"])} '
            f'<span class="verdict {_cls(x["verdict"])}">seed: {x["verdict"]}</span></h2>'
            f'<div class="cols"><div class="box lab"><b>What the lab expects.</b> {e(x["lab_expects"])}</div>'
            f'<div class="box"><b>The seed\'s answer.</b> {e(x["seed_claim"])}</div></div>'
            f'<p><b>Measured answer.</b> {e(x["answer"])}</p>'
            f'<p class="because"><b>Verdict: {x["verdict"]}</b> — {e(x["because"])}.</p>{deriv}{figs}'
            f"<details><summary>Measurements</summary><table>{rows}</table></details></section>"
        )
    counts = ", ".join(f"{sum(x['verdict'] == v for x in entries)} {v}" for v in VERDICTS)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>mlplab — the lab, measured</title>'
        f"<style>{CSS}</style></head><body><h1>mlplab — the lab's seventeen questions, measured</h1>"
        f'<p class="meta">{e(info["mode"])} run by <code>{e(info["command"])}</code> in {info["seconds"]:.0f} s; '
        f'mlplab {e(info["machine"]["mlplab"])}, Python {e(info["machine"]["python"])}, NumPy '
        f'{e(info["machine"]["numpy"])}. {e(noise_sentence(info))}</p>'
        f'<p class="meta">Each question shows what a lecturer expects, the seed\'s answer (the student\'s sheet, in '
        f"French; it answers Q1–Q15), the measured answer and a verdict decided by a fixed rule on the measurements "
        f"(mlplab.experiments.verdicts). Seed verdicts: {e(counts)}.</p>"
        f"<nav><h2>Contents</h2><ol>{toc}</ol></nav>{''.join(sections)}</body></html>\n"
    )


def render_markdown(entries: list[dict], info: dict) -> str:
    counts = ", ".join(f"{sum(x['verdict'] == v for x in entries)} {v}" for v in VERDICTS)
    lines = [
        "# mlplab — the lab's seventeen questions, measured", "",
        f"Generated by `{info['command']}` ({info['mode']}, {info['seconds']:.0f} s), mlplab "
        f"{info['machine']['mlplab']}, Python {info['machine']['python']}, NumPy {info['machine']['numpy']}. "
        + noise_sentence(info), "",
        "Figures, MathML derivations and every number: [report.html](report.html) (one self-contained file). Each "
        "question below gives what a lecturer expects, the seed's answer (the student's sheet, in French; it "
        "answers Q1–Q15), the measured answer and a verdict — confirmed, partly, contradicted or not addressed — "
        f"decided by a fixed rule on the measurements (`mlplab.experiments.verdicts`). Seed verdicts: {counts}.", "",
        "| Q | topic | verdict | decided by |", "|---|---|---|---|",
    ]
    lines += [f"| [{x['question']}](#{x['question'].lower()}) | {x['title']} | **{x['verdict']}** | "
              f"{x['because'].replace('|', chr(92) + '|')} |" for x in entries]
    for x in entries:
        lines += ["", f"## {x['question']}", "", f"**{x['title']}** — seed: **{x['verdict']}**", "",
                  f"*What the lab expects.* {x['lab_expects']}", "", f"> *The seed:* {x['seed_claim']}", "",
                  f"*Measured.* {x['answer']}", "", f"*Verdict: {x['verdict']}* — {x['because']}."]
        if x["derivation"]:
            lines += ["", "*Derivation.*", "", x["derivation"]]
        if x["question"] in TIMED:
            lines += ["", f"*Timing note:* the {TIMED[x['question']]} come from {info['machine']['cpu']} "
                          f"({info['machine']['cores']} shared cores; see the header for how noisy they were)."]
    lines += ["", *reproduce(info)]
    return "\n".join(lines) + "\n"


def build(quick: bool, out: str | os.PathLike, jobs: int = 1, scheduler: str | None = None,
          progress: bool = True, command: str = "", data_paths: DataPaths | None = None) -> list[dict]:
    """Run everything and write out/report.html, out/summary.json and out/REPORT.md; returns the summary."""
    out = Path(out)
    t0 = time.perf_counter()
    noise = [timing_noise()]
    results, seconds = run_all(quick, out, jobs, scheduler, progress, data_paths=data_paths)
    noise.append(timing_noise())
    entries = summary(results, out)
    info = {"mode": "quick" if quick else "full",
            "command": command or f"mlplab report{' --quick' if quick else ''} --out {out}",
            "seconds": time.perf_counter() - t0, "machine": machine(), "noise": noise,
            "experiment_seconds": seconds}
    write_json(out / "summary.json", entries)
    write_json(out / "run.json", jsonable(info))
    write_text(out / "report.html", render_html(entries, out, info))
    write_text(out / "REPORT.md", render_markdown(entries, info))
    return entries


def load_summary(path: str | os.PathLike) -> list[dict]:
    return json.loads(Path(path).read_text())
