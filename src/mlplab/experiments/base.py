"""What every experiment returns and the small helpers they share: results, data files, exponent fits.

An experiment answers one lab question (or a natural group of them).
``run(quick, out, jobs, scheduler, data_paths)`` measures (``data_paths``: where Fashion-MNIST is looked for),
writes its figures (PNG) and data (JSON) into ``out`` when given, and returns a ``Result`` whose ``questions``
hold, per question, the measured answer, its numbers, the seed's claim and a verdict derived from the numbers
(never typed in by hand).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mlplab.atomic import write_json

OutDir = str | os.PathLike | None  # where an experiment writes its figures and data (None: nowhere)

VERDICTS = ("confirmed", "partly", "contradicted", "not addressed")


@dataclass(frozen=True)
class Verdict:
    """The seed's answer judged against a measurement: one of ``VERDICTS`` and the number that decided it
    (for "partly", the detail in which the seed is wrong)."""

    verdict: str
    because: str

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}; got {self.verdict!r}")


@dataclass
class QuestionResult:
    """The measured answer to one question: text, numbers, verdict on the seed's claim, figure paths."""

    question: str
    answer: str
    measurements: dict
    judged: Verdict
    figures: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return self.judged.verdict


@dataclass
class Result:
    """One experiment's output. ``data`` holds everything measured (curves included), JSON-ready."""

    name: str
    questions: dict[str, QuestionResult]
    data: dict
    figures: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def answer(self) -> str:
        return "\n".join(f"{q}: {r.answer}" for q, r in self.questions.items())

    @property
    def measurements(self) -> dict:
        return {q: r.measurements for q, r in self.questions.items()}


def finish(name: str, questions: list[QuestionResult], data: dict, out: str | os.PathLike | None,
           figures: dict[str, Callable[[Path], None]]) -> Result:
    """Write ``data`` as ``out/name.json`` and each figure (name → draw(path)), then build the Result.

    A figure drawer is called with its target path; the figure is attached to every question whose
    ``figures`` list names it (by stem) — or to all questions when none name it.
    """
    written, paths = [], {}
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        for stem, draw in figures.items():
            path = out / f"{stem}.png"
            draw(path)
            paths[stem] = str(path)
        data_path = out / f"{name}.json"
        write_json(data_path, jsonable(data))
        written.append(str(data_path))
    for q in questions:
        named = [paths[s] for s in q.figures if s in paths]
        q.figures = named if named or q.figures else list(paths.values())
    return Result(name, {q.question: q for q in questions}, jsonable(data), list(paths.values()), written)


def jsonable(x: Any) -> Any:
    """Numbers, arrays and containers → plain JSON types; NaN and ±inf → None."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, np.bool_ | bool):
        return bool(x)
    if isinstance(x, np.integer | int):
        return int(x)
    if isinstance(x, np.floating | float):
        return float(x) if math.isfinite(x) else None
    return x


def mean_sd(values: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    a = np.asarray(values, float)
    return float(a.mean()), float(a.std(ddof=1)) if a.size > 1 else 0.0


def fit_exponent(x: Sequence[float], y: Sequence[float]) -> float:
    """The slope k of log y = k log x + c (least squares): y ∝ x^k."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    return float(np.polyfit(lx, ly, 1)[0])


def pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def pm(mean: float, sd: float, percent: bool = False, digits: int = 3) -> str:
    """'0.912 ± 0.004', or '91.2 ± 0.4 %' with ``percent``."""
    if percent:
        return f"{100 * mean:.1f} ± {100 * sd:.1f} %"
    return f"{mean:.{digits}g} ± {sd:.{digits - 1}g}"
