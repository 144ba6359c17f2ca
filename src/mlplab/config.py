"""RunConfig: every setting of one training run, its default, its check and its JSON form, in one place.

The ``mlplab train`` flags show these defaults, ``runner`` trains from a RunConfig, and checkpoints and model files
store ``as_json()`` and read it back with ``from_json`` (which checks it: a stored file is not trusted).
A RunConfig is checked when it is made, so an invalid one does not exist: the one ConfigError names the setting,
its value and what it should be.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, TypeGuard

from mlplab import registry
from mlplab.data.encoding import CATEGORICAL, IMPUTE
from mlplab.data.registry import TASKS
from mlplab.errors import ConfigError


def is_int(x: object) -> TypeGuard[int]:
    """An integer (Python, NumPy or JSON), not a bool."""
    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def is_number(x: object) -> bool:
    """A finite real number, not a bool."""
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)


@dataclass(frozen=True)
class RunConfig:
    """Everything that defines a run. The defaults are the lab's network on the circles set."""

    dataset: str = "circles"
    n_samples: int | None = None  # toy sets: their size (None: the set's default); others: a subsample
    noise: float = 0.1  # toy sets only
    hidden: tuple[int, ...] = (10,)
    activation: str = "tanh"
    output: str = "softmax"
    loss: str = "cross_entropy"
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    schedule: str = "constant"
    batch_size: int | None = 10  # None: full batch
    epochs: int = 100
    patience: int | None = None
    init: str = "auto"
    init_scale: float = 0.3
    dropout: float = 0.0
    label_smoothing: float = 0.0  # ε: training targets (1 − ε) y + ε/K (softmax outputs)
    seed: int = 0
    dtype: str = "float32"
    val_fraction: float = 0.2
    test_fraction: float = 0.2
    data_dir: str | None = None
    label_column: str | int | None = None  # CSV: name or index; several ("y1,y2") make a multi-target regression
    task: str = "auto"  # auto (what the labels say), classification, or regression
    categorical: str = "auto"  # tables: text columns one-hot (auto: columns with no number; onehot; error)
    impute: str = "error"  # tables: missing cells refused (error) or filled with the training mean/median

    def __post_init__(self) -> None:
        if isinstance(self.hidden, list | tuple):
            object.__setattr__(self, "hidden", tuple(self.hidden))
        for f in fields(self):
            value = getattr(self, f.name)
            ok, want = RULES[f.name]
            if not ok(value):
                raise ConfigError(f"invalid setting {f.name} = {value!r}: {want}")

    def as_json(self) -> dict[str, Any]:
        """The settings as a JSON object (hidden as a list, a full batch as "full")."""
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        d["batch_size"] = "full" if self.batch_size is None else self.batch_size
        return d

    @classmethod
    def from_json(cls, d: object) -> RunConfig:
        """A RunConfig from ``as_json()`` output; missing settings take their defaults, unknown keys are ignored
        (files written by other versions), anything invalid is a ConfigError."""
        if not isinstance(d, dict):
            raise ConfigError(f"a run configuration must be a JSON object; got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        d = {k: v for k, v in d.items() if k in known}
        if d.get("batch_size") == "full":
            d["batch_size"] = None
        return cls(**d)

    def with_(self, **changes: Any) -> RunConfig:
        """A copy with some settings changed (checked again)."""
        return replace(self, **changes)


def _optional(ok: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda v: v is None or ok(v)


def _one_of(table: object) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, str) and v in table  # type: ignore[operator]


def _unit(v: object) -> bool:
    return is_number(v) and 0 <= v < 1  # type: ignore[operator]


RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "dataset": (lambda v: isinstance(v, str) and v != "", "a dataset name or a file path"),
    "n_samples": (_optional(lambda v: is_int(v) and v >= 1), "an integer ≥ 1, or null"),
    "noise": (lambda v: is_number(v) and v >= 0, "a number ≥ 0"),
    "hidden": (lambda v: isinstance(v, tuple) and all(is_int(h) and h >= 1 for h in v),
               "a list of layer sizes, each an integer ≥ 1"),
    "activation": (_one_of(registry.ACTIVATIONS), f"one of {', '.join(registry.ACTIVATIONS)}"),
    "output": (_one_of(registry.OUTPUTS), f"one of {', '.join(registry.OUTPUTS)}"),
    "loss": (_one_of(registry.LOSSES), f"one of {', '.join(registry.LOSSES)}"),
    "optimizer": (_one_of(registry.OPTIMIZERS), f"one of {', '.join(registry.OPTIMIZERS)}"),
    "lr": (lambda v: is_number(v) and v > 0, "a number > 0"),
    "momentum": (_unit, "a number in [0, 1)"),
    "nesterov": (lambda v: isinstance(v, bool), "true or false"),
    "weight_decay": (lambda v: is_number(v) and v >= 0, "a number ≥ 0"),
    "schedule": (_one_of(registry.SCHEDULES), f"one of {', '.join(registry.SCHEDULES)}"),
    "batch_size": (_optional(lambda v: is_int(v) and v >= 1), "an integer ≥ 1, or full"),
    "epochs": (lambda v: is_int(v) and v >= 0, "an integer ≥ 0"),
    "patience": (_optional(lambda v: is_int(v) and v >= 1), "an integer ≥ 1, or null"),
    "init": (_one_of(registry.INITS), f"one of {', '.join(registry.INITS)}"),
    "init_scale": (is_number, "a finite number"),
    "dropout": (_unit, "a number in [0, 1)"),
    "label_smoothing": (_unit, "a number in [0, 1)"),
    "seed": (is_int, "an integer"),
    "dtype": (_one_of(("float32", "float64")), "float32 or float64"),
    "val_fraction": (_unit, "a number in [0, 1)"),
    "test_fraction": (_unit, "a number in [0, 1)"),
    "data_dir": (_optional(lambda v: isinstance(v, str)), "a folder path, or null"),
    "label_column": (_optional(lambda v: isinstance(v, str) or is_int(v)), "a column name or index, or null"),
    "task": (_one_of(TASKS), f"one of {', '.join(TASKS)}"),
    "categorical": (_one_of(CATEGORICAL), f"one of {', '.join(CATEGORICAL)}"),
    "impute": (_one_of(IMPUTE), f"one of {', '.join(IMPUTE)}"),
}
