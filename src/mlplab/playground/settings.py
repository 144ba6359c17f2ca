"""The playground's settings: what the page may choose, their bounds, and the ``RunConfig`` they make.

One function turns the page's JSON into a checked ``Settings`` (a ConfigError names the field and the bound
it breaks); ``Settings.run_config`` gives the ``RunConfig`` that ``mlplab train`` would use, so the playground
and the command train identically, and ``train_command`` writes that command line.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from mlplab.data.toy import TOY
from mlplab.errors import ConfigError
from mlplab.registry import ACTIVATIONS, HEADS, INITS, OPTIMIZERS, OUTPUTS
from mlplab.runner import RunConfig

# The playground trains classifiers on toy sets or an uploaded CSV; "sine" (regression) is left out.
DATASETS = tuple(name for name in TOY if name != "sine")
UPLOAD = "upload"
# Output + loss heads of a classifier (a probability output; identity + mse is the regression head).
HEAD_CHOICES = tuple(f"{o}+{l}" for (o, l) in HEADS if OUTPUTS[o].probabilities)


def _page_optimizers() -> dict[str, tuple[str, bool, bool]]:
    """The page's optimizer names → (registry optimizer, uses momentum, Nesterov): SGD shows as three choices."""
    out: dict[str, tuple[str, bool, bool]] = {}
    for name in OPTIMIZERS:
        if name == "sgd":
            out |= {"sgd": ("sgd", False, False), "momentum": ("sgd", True, False), "nesterov": ("sgd", True, True)}
        else:
            out[name] = (name, False, False)
    return out


PAGE_OPTIMIZERS = _page_optimizers()

# Bounds: no toy limit of 6 × 8, but a network and data the page can still draw several times a second.
MAX_HIDDEN_LAYERS = 8
MAX_WIDTH = 256
MIN_POINTS, MAX_POINTS = 20, 10_000
LR_MAX = 1000.0  # large enough to watch a run diverge
SEED_MAX = 2**31 - 1
FIELD_NAMES = {"lr": "learning-rate"}  # the page's control names where they differ from the setting's


@dataclass(frozen=True)
class Settings:
    """Everything on the page that defines a run (the page's names; JSON-ready).

    The page opens on ``mlplab train``'s defaults (RunConfig's: the lab's 2-10-2 tanh network); it differs only in
    what a page needs: a point count for the slider, a larger test share to draw, and momentum's own default for
    when the momentum optimizer is chosen."""

    dataset: str = RunConfig.dataset
    noise: float = RunConfig.noise
    n_samples: int = 1000
    test_fraction: float = 0.3
    hidden: tuple[int, ...] = RunConfig.hidden
    activation: str = RunConfig.activation
    head: str = f"{RunConfig.output}+{RunConfig.loss}"
    optimizer: str = RunConfig.optimizer
    momentum: float = 0.9
    lr: float = RunConfig.lr
    batch_size: int | None = RunConfig.batch_size  # None: full batch
    weight_decay: float = RunConfig.weight_decay
    dropout: float = RunConfig.dropout
    init: str = RunConfig.init
    init_scale: float = RunConfig.init_scale
    seed: int = RunConfig.seed
    label_column: str | None = None  # uploaded CSVs only; None: the last column

    def as_json(self) -> dict:
        d = asdict(self)
        d["hidden"] = ",".join(map(str, self.hidden))
        d["batch_size"] = "full" if self.batch_size is None else self.batch_size
        return d

    def run_config(self, data_path: str | None = None, epochs: int = 1) -> RunConfig:
        """The RunConfig of this run; ``data_path`` is the uploaded CSV when ``dataset`` is "upload"."""
        name, with_momentum, nesterov = PAGE_OPTIMIZERS[self.optimizer]
        output, loss = self.head.split("+")
        toy = self.dataset != UPLOAD
        dataset = self.dataset if toy else data_path
        if dataset is None:
            raise ConfigError("dataset: upload a CSV file first")
        return RunConfig(
            dataset=dataset, n_samples=self.n_samples if toy else None,
            noise=self.noise, hidden=self.hidden, activation=self.activation, output=output, loss=loss,
            optimizer=name, lr=self.lr, momentum=self.momentum if with_momentum else 0.0, nesterov=nesterov,
            weight_decay=self.weight_decay, schedule="constant", batch_size=self.batch_size, epochs=epochs,
            patience=None, init=self.init, init_scale=self.init_scale, dropout=self.dropout, seed=self.seed,
            dtype="float32", val_fraction=0.0, test_fraction=self.test_fraction,
            label_column=self.label_column if not toy else None,
        )


def choices() -> dict:
    """The page's choice lists and bounds (one source: the engine's tables)."""
    return {
        "dataset": [*DATASETS, UPLOAD], "activation": list(ACTIVATIONS), "head": list(HEAD_CHOICES),
        "optimizer": list(PAGE_OPTIMIZERS), "init": list(INITS),
        "bounds": {"hidden_layers": MAX_HIDDEN_LAYERS, "width": MAX_WIDTH, "n_samples": [MIN_POINTS, MAX_POINTS],
                   "lr": [0, LR_MAX], "seed": [0, SEED_MAX]},
        "defaults": Settings().as_json(),
    }


# ------------------------------------------------------------------------------------------ parsing
def _number(d: dict, key: str, lo: float, hi: float, *, lo_open: bool = False, integer: bool = False) -> float:
    raw = d[key]
    field = FIELD_NAMES.get(key, key.replace("_", "-"))
    if isinstance(raw, bool):
        raise ConfigError(f"{field}: expected a number; got {raw!r}")
    try:
        value = int(raw) if integer and not isinstance(raw, float) else float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{field}: expected {'an integer' if integer else 'a number'}; got {raw!r}") from None
    if integer and value != int(value):
        raise ConfigError(f"{field}: expected an integer; got {raw!r}")
    if not math.isfinite(value) or value < lo or value > hi or (lo_open and value == lo):
        left = "(" if lo_open else "["
        raise ConfigError(f"{field}: {value:g} is out of range {left}{lo:g}, {hi:g}]")
    return int(value) if integer else value


def _integer(d: dict, key: str, lo: int, hi: int) -> int:
    return int(_number(d, key, lo, hi, integer=True))


def _choice(d: dict, key: str, options: Sequence[str]) -> str:
    value = d[key]
    if value not in options:
        raise ConfigError(f"{key.replace('_', '-')}: {value!r} is not one of {', '.join(map(str, options))}")
    return value


def parse_hidden(value: object) -> tuple[int, ...]:
    """'8,8' (or a list) → (8, 8); '' or 'none' → () (no hidden layer); bounds checked."""
    if isinstance(value, list | tuple):
        parts = [str(v) for v in value]
    else:
        text = str(value).strip()
        parts = [] if text.lower() in ("", "none") else text.split(",")
    try:
        sizes = tuple(int(p.strip()) for p in parts)
    except ValueError:
        raise ConfigError(f"hidden: layer sizes are integers separated by commas, like 8,8; got {value!r}") from None
    if len(sizes) > MAX_HIDDEN_LAYERS:
        raise ConfigError(f"hidden: at most {MAX_HIDDEN_LAYERS} hidden layers here; got {len(sizes)}")
    if any(not 1 <= s <= MAX_WIDTH for s in sizes):
        raise ConfigError(f"hidden: each layer has 1 to {MAX_WIDTH} units here; got {value!r}")
    return sizes


def parse_settings(d: dict, base: Settings | None = None) -> Settings:
    """Settings from the page's JSON: fields not given keep ``base``'s value; unknown fields are refused."""
    if not isinstance(d, dict):
        raise ConfigError("settings must be a JSON object")
    base = base or Settings()
    known = set(Settings.__dataclass_fields__)
    unknown = sorted(set(d) - known)
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown setting")
    merged = {**base.as_json(), **d}
    batch = merged["batch_size"]
    batch_size: int | None
    if isinstance(batch, str) and batch.strip().lower() == "full":
        batch_size = None
    else:
        merged["batch_size"] = batch
        batch_size = _integer(merged, "batch_size", 1, MAX_POINTS)
    label = merged["label_column"]
    if label is not None and not isinstance(label, str | int):
        raise ConfigError(f"label-column: expected a column name or index; got {label!r}")
    label = None if label is None or str(label).strip() == "" else str(label).strip()
    return Settings(
        dataset=_choice(merged, "dataset", (*DATASETS, UPLOAD)),
        noise=_number(merged, "noise", 0.0, 1.0),
        n_samples=_integer(merged, "n_samples", MIN_POINTS, MAX_POINTS),
        test_fraction=_number(merged, "test_fraction", 0.1, 0.9),
        hidden=parse_hidden(merged["hidden"]),
        activation=_choice(merged, "activation", tuple(ACTIVATIONS)),
        head=_choice(merged, "head", HEAD_CHOICES),
        optimizer=_choice(merged, "optimizer", tuple(PAGE_OPTIMIZERS)),
        momentum=_number(merged, "momentum", 0.0, 0.99),
        lr=_number(merged, "lr", 0.0, LR_MAX, lo_open=True),
        batch_size=batch_size,
        weight_decay=_number(merged, "weight_decay", 0.0, 1.0),
        dropout=_number(merged, "dropout", 0.0, 0.9),
        init=_choice(merged, "init", tuple(INITS)),
        init_scale=_number(merged, "init_scale", 0.0, 10.0, lo_open=True),
        seed=_integer(merged, "seed", 0, SEED_MAX),
        label_column=label,
    )


def with_(settings: Settings, **changes: Any) -> Settings:
    return replace(settings, **changes)


# ------------------------------------------------------------------------------------------ command
def train_command(config: RunConfig, epochs: int, data_name: str | None = None,
                  save: str = "playground.safetensors") -> str:
    """The ``mlplab train`` line that repeats this run for ``epochs`` epochs, bit for bit.

    Every setting that shapes the run is written out (not left to defaults that might change); floats
    use Python's shortest round-tripping repr, so the command parses back to the same numbers.
    ``data_name`` replaces the dataset path of an uploaded CSV (the file the user has).
    """
    c = config
    args = ["mlplab", "train", "--dataset", data_name or c.dataset]
    if c.n_samples is not None:
        args += ["--n-samples", str(c.n_samples)]
    if c.label_column is not None:
        args += ["--label-column", str(c.label_column)]
    args += [
        "--noise", repr(c.noise), "--hidden", ",".join(map(str, c.hidden)) or "none",
        "--activation", c.activation, "--output", c.output, "--loss", c.loss,
        "--optimizer", c.optimizer, "--lr", repr(c.lr), "--momentum", repr(c.momentum),
        "--nesterov" if c.nesterov else "--no-nesterov", "--weight-decay", repr(c.weight_decay),
        "--schedule", c.schedule, "--batch-size", "full" if c.batch_size is None else str(c.batch_size),
        "--epochs", str(epochs), "--init", c.init, "--init-scale", repr(c.init_scale),
        "--dropout", repr(c.dropout), "--seed", str(c.seed), "--dtype", c.dtype,
        "--val-fraction", repr(c.val_fraction), "--test-fraction", repr(c.test_fraction),
        "--save", save,
    ]
    return shlex.join(args)


def display_name(filename: str) -> str:
    """A safe file name for an upload: its base name in plain ASCII letters, digits, '-', '_', '.', ending in .csv."""
    stem = Path(filename or "data.csv").name
    safe = "".join(ch if (ch.isascii() and ch.isalnum()) or ch in "-_." else "_" for ch in stem).strip("._") or "data"
    return safe if safe.lower().endswith((".csv", ".tsv")) else safe + ".csv"
