"""Checkpoints: everything a run needs to continue bit-identically after being killed.

One file, ``DIR/checkpoint.safetensors``, replaced atomically every N epochs. Tensors: the parameters
("param.W1", …), the optimizer's arrays ("optim.m.W1", …) and the best parameters kept for early
stopping ("best.W1", …). JSON metadata: the RunConfig, the architecture, the optimizer's scalars, the
Trainer's state (epoch, counters, history) and its random generator's state (shuffling and dropout).

Data and scaling are not stored: they are rebuilt from the config's seed, as deterministic as the
first time. Resuming restores the generator state that existed after the last finished epoch, so every
later permutation and dropout mask is the one the uninterrupted run would have drawn.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mlplab import __version__
from mlplab.config import RunConfig, is_int
from mlplab.errors import ConfigError, ModelFileError
from mlplab.modelfile import (
    check_architecture,
    expect_tensors,
    param_shapes,
    read_safetensors,
    write_safetensors,
)
from mlplab.network import MLP
from mlplab.train import EpochRecord, Trainer

CHECKPOINT_FILE = "checkpoint.safetensors"
CHECKPOINT_FORMAT = "mlplab-checkpoint"
CHECKPOINT_VERSION = 1


@dataclass
class Checkpoint:
    """A checkpoint as read from disk, verified for shape but not yet applied."""

    path: Path
    config: dict  # RunConfig.as_json()
    epoch: int
    every: int | None
    meta: dict
    tensors: dict[str, np.ndarray]

    def restore(self, net: MLP, trainer: Trainer) -> None:
        """Put the weights and the trainer's state (``Trainer.load_state_dict``) back into a rebuilt run."""
        name = f"checkpoint {self.path}"
        arch = check_architecture(name, self.meta.get("architecture"))
        if arch["sizes"] != net.sizes or arch["dtype"] != net.dtype.name:
            raise ModelFileError(f"{name}: stored network {arch['sizes']} does not match the rebuilt {net.sizes}")
        expected = {f"param.{k}": v for k, v in param_shapes(arch).items()}
        expected |= trainer.state_shapes(bool(self.meta.get("has_best")))
        expect_tensors(name, self.tensors, expected)
        net.set_params({k: self.tensors[f"param.{k}"] for k in net.params})
        try:
            trainer.load_state_dict({k: v for k, v in self.tensors.items() if not k.startswith("param.")}, self.meta)
        except ConfigError as e:
            raise ModelFileError(f"{name}: {e}") from None


def save_checkpoint(directory: str | os.PathLike, config_json: dict, trainer: Trainer,
                    every: int | None = None) -> Path:
    """Write DIR/checkpoint.safetensors atomically from the trainer's current state; returns its path."""
    path = Path(directory) / CHECKPOINT_FILE
    arrays, state = trainer.state_dict()
    tensors = {f"param.{k}": v for k, v in trainer.net.params.items()} | arrays
    meta = {
        "format": CHECKPOINT_FORMAT, "format_version": CHECKPOINT_VERSION, "mlplab_version": __version__,
        "config": config_json, "architecture": trainer.net.config(), "epoch": trainer.state.epoch, "every": every,
        **state,
    }
    write_safetensors(path, tensors, meta)
    return path


def load_checkpoint(directory: str | os.PathLike) -> Checkpoint:
    """Read DIR/checkpoint.safetensors (or a checkpoint file given directly) and check its metadata."""
    directory = Path(directory)
    path = directory if directory.is_file() else directory / CHECKPOINT_FILE
    if not path.is_file():
        raise ModelFileError(f"no checkpoint to resume in {directory} (expected {path})")
    tensors, meta = read_safetensors(path, "checkpoint")
    name = f"checkpoint {path}"
    if meta.get("format") != CHECKPOINT_FORMAT:
        raise ModelFileError(f"{name}: not an mlplab checkpoint (format {meta.get('format')!r})")
    if meta.get("format_version") != CHECKPOINT_VERSION:
        raise ModelFileError(f"{name}: unsupported checkpoint version {meta.get('format_version')!r}")
    for key, kind in (("config", dict), ("trainer", dict), ("optimizer", dict), ("rng", dict)):
        if not isinstance(meta.get(key), kind):
            raise ModelFileError(f"{name}: missing or invalid {key!r}")
    epoch, every = meta.get("epoch"), meta.get("every")
    if not is_int(epoch) or epoch < 0 or not (every is None or (is_int(every) and every >= 1)):
        raise ModelFileError(f"{name}: invalid epoch {epoch!r} or interval {every!r}")
    return Checkpoint(path, meta["config"], epoch, every, meta, tensors)


class CheckpointEvery:
    """Trainer callback: save a checkpoint after every ``every``-th epoch."""

    def __init__(self, directory: str | os.PathLike, config_json: dict, every: int) -> None:
        if every < 1:
            raise ValueError("checkpoint interval must be ≥ 1")
        self.directory, self.config_json, self.every = Path(directory), config_json, every

    def on_epoch_end(self, trainer: Trainer, record: EpochRecord) -> None:
        if trainer.state.epoch % self.every == 0:
            save_checkpoint(self.directory, self.config_json, trainer, self.every)


def resume_plan(directory: str | os.PathLike) -> tuple[RunConfig, Callable[[MLP, Trainer], None], int | None]:
    """(RunConfig, setup(net, trainer), interval) to continue the run checkpointed in ``directory``."""
    ckpt = load_checkpoint(directory)
    try:
        config = RunConfig.from_json(ckpt.config)
    except ConfigError as e:
        raise ModelFileError(f"checkpoint {ckpt.path}: {e}") from None
    return config, ckpt.restore, ckpt.every
