"""Checkpoints and resume: a run killed with SIGKILL and resumed ends bit-identical to an uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from mlplab.checkpoint import CHECKPOINT_FILE, load_checkpoint, save_checkpoint
from mlplab.cli import main
from mlplab.errors import ModelFileError
from mlplab.modelfile import load_model
from mlplab.runner import RunConfig, build, prepare, run

MLPLAB = [sys.executable, "-m", "mlplab"]
EPOCHS = 16
EVERY = 2
BASE = ["train", "-q", "--n-samples", "2000", "--hidden", "32", "--batch-size", "4", "--epochs", str(EPOCHS)]
CASES = {
    "sgd-momentum-smoothing": ["--optimizer", "sgd", "--lr", "0.01", "--momentum", "0.9", "--label-smoothing", "0.1"],
    "adam-dropout-patience": ["--optimizer", "adam", "--lr", "0.002", "--dropout", "0.3", "--patience", "50",
                              "--schedule", "cosine"],
}


def _epoch(path: Path) -> int | None:
    try:
        return load_checkpoint(path).epoch
    except ModelFileError:
        return None


@pytest.mark.parametrize("case", sorted(CASES))
def test_sigkill_then_resume_is_bit_identical(tmp_path, case):
    flags = [*BASE, *CASES[case]]
    # the uninterrupted reference and the resume run in-process (same CLI code, no interpreter start-up)
    assert main([*flags, "--out", str(tmp_path / "ref"), "--save", str(tmp_path / "ref.safetensors")]) == 0

    run_dir = tmp_path / "killed"
    ckpt = run_dir / CHECKPOINT_FILE
    proc = subprocess.Popen([*MLPLAB, *flags, "--checkpoint-every", str(EVERY), "--out", str(run_dir)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if ckpt.exists() and (_epoch(ckpt) or 0) >= 2 * EVERY:  # the 2nd checkpoint is on disk
            os.kill(proc.pid, signal.SIGKILL)
            break
        time.sleep(0.005)
    assert proc.wait(timeout=60) == -signal.SIGKILL, "the run ended before it could be killed mid-way"
    killed_at = load_checkpoint(run_dir).epoch
    assert 2 * EVERY <= killed_at < EPOCHS
    assert not (run_dir / "metrics.json").exists()

    assert main(["train", "-q", "--resume", str(run_dir), "--save", str(tmp_path / "resumed.safetensors")]) == 0
    a, b = load_model(tmp_path / "ref.safetensors").net, load_model(tmp_path / "resumed.safetensors").net
    for k in a.params:
        assert np.array_equal(a.params[k], b.params[k]), k
    h_ref = json.loads((tmp_path / "ref" / "metrics.json").read_text())["history"]
    h_res = json.loads((run_dir / "metrics.json").read_text())["history"]
    assert [r["train_loss"] for r in h_ref] == [r["train_loss"] for r in h_res]
    assert len(h_res) == EPOCHS
    assert load_checkpoint(run_dir).epoch == EPOCHS  # it kept checkpointing at the stored interval


def test_in_process_checkpoint_roundtrip_restores_everything(tmp_path):
    config = RunConfig(n_samples=300, hidden=(8,), epochs=6, batch_size=16, optimizer="adam", lr=0.01,
                       dropout=0.2, patience=10)
    prepared = prepare(config)
    full = run(config, prepared=prepared)
    half = run(config.with_(epochs=3), prepared=prepared)
    save_checkpoint(tmp_path, config.as_json(), half.trainer)
    ck = load_checkpoint(tmp_path)
    s = prepared.splits
    net, trainer = build(config, s.X_train.shape[1], 2)
    ck.restore(net, trainer)
    assert trainer.state.epoch == 3 and len(trainer.history) == 3
    assert trainer.rng.bit_generator.state == half.trainer.rng.bit_generator.state
    trainer.fit(s.X_train, s.y_train, s.X_val, s.y_val)
    for k in net.params:
        assert np.array_equal(net.params[k], full.net.params[k]), k
    assert trainer.state.best_epoch == full.trainer.state.best_epoch


def test_resume_refuses_bad_input(tmp_path, capsys):
    assert main(["train", "-q", "--resume", str(tmp_path / "none")]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    (tmp_path / CHECKPOINT_FILE).write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}")
    assert main(["train", "-q", "--resume", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not JSON" in err and err.count("\n") == 1
    assert main(["train", "-q", "--resume", str(tmp_path), "--lr", "0.5"]) == 2
    assert "drop --lr" in capsys.readouterr().err


def test_checkpoint_with_hostile_settings_is_refused(tmp_path, capsys):
    from mlplab.modelfile import read_safetensors, write_safetensors

    config = RunConfig(n_samples=100, hidden=(4,), epochs=2)
    save_checkpoint(tmp_path, config.as_json(), run(config).trainer)
    tensors, meta = read_safetensors(tmp_path / CHECKPOINT_FILE)
    meta["config"]["hidden"] = ["x"]
    write_safetensors(tmp_path / CHECKPOINT_FILE, tensors, meta)
    assert main(["train", "-q", "--resume", str(tmp_path)]) == 2
    assert "invalid setting hidden" in capsys.readouterr().err


def test_checkpoint_with_wrong_architecture_is_refused(tmp_path):
    config = RunConfig(n_samples=200, hidden=(4,), epochs=1)
    res = run(config)
    save_checkpoint(tmp_path, config.as_json(), res.trainer)
    net, trainer = build(config.with_(hidden=(5,)), 2, 2)
    with pytest.raises(ModelFileError, match="does not match"):
        load_checkpoint(tmp_path).restore(net, trainer)


def test_trainer_state_dict_is_the_one_serialiser(tmp_path):
    """state_dict → load_state_dict into a fresh trainer continues bit-identically; a bad state is one clear error."""
    from mlplab.errors import ConfigError

    config = RunConfig(n_samples=300, hidden=(8,), epochs=6, batch_size=16, optimizer="sgd", momentum=0.9, lr=0.05,
                       dropout=0.2, patience=10)
    prepared = prepare(config)
    full = run(config, prepared=prepared)
    half = run(config.with_(epochs=3), prepared=prepared)
    arrays, state = half.trainer.state_dict()
    assert json.loads(json.dumps(state, allow_nan=False)) == state  # JSON-ready as it is
    assert any(k.startswith("optim.velocity.") for k in arrays) and any(k.startswith("best.") for k in arrays)
    s = prepared.splits
    net, trainer = build(config, s.X_train.shape[1], 2)
    net.set_params(half.net.params)
    trainer.load_state_dict(arrays, state)
    trainer.fit(s.X_train, s.y_train, s.X_val, s.y_val)
    for k in net.params:
        assert np.array_equal(net.params[k], full.net.params[k]), k
    assert [r.train_loss for r in trainer.history] == [r.train_loss for r in full.history]
    with pytest.raises(ConfigError, match="inconsistent trainer state"):
        trainer.load_state_dict({k: v for k, v in arrays.items() if not k.startswith("best.")}, state)
    with pytest.raises(ConfigError, match="inconsistent trainer state"):
        trainer.load_state_dict(arrays, state | {"rng": {"bit_generator": "nope"}})
