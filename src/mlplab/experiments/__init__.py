"""The lab's questions answered by measurement: one module per question or natural group, and the report.

    from mlplab.experiments import q3
    result = q3.run(quick=True)            # Result: .answer, .measurements, .questions, .figures
    result = q3.run(out="out/q3")          # also writes out/q3/q3_boundaries.png and q3.json

``NAMES`` lists the experiments (``q1`` … ``q16_17``); ``ALIASES`` maps every question (``q6``, ``q17`` …)
to the experiment answering it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from mlplab.errors import ConfigError

NAMES = ("q1", "q2", "q3", "q4", "q5_6", "q7", "q8_9", "q10", "q11", "q12", "q13", "q14_15", "q16_17")
ALIASES = {f"q{i}": name for name in NAMES for i in map(int, name[1:].split("_"))} | {n: n for n in NAMES}


def get(name: str) -> ModuleType:
    """The experiment module answering ``name`` (an experiment or a question: q6 → q5_6)."""
    key = ALIASES.get(name.lower().replace("-", "_"))
    if key is None:
        raise ConfigError(f"unknown experiment {name!r}; choose one of {', '.join(NAMES)} (or any q1…q17)")
    return importlib.import_module(f"mlplab.experiments.{key}")


def __getattr__(name: str) -> ModuleType:  # ``from mlplab.experiments import q3`` without importing all
    if name in NAMES:
        return importlib.import_module(f"mlplab.experiments.{name}")
    raise AttributeError(name)


__all__ = ["ALIASES", "NAMES", "get"]
