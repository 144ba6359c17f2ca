"""The plumbing around the math: atomic writes that never touch the umask, the Trainer's own helper thread."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from mlplab import train
from mlplab.atomic import atomic_path, write_json
from mlplab.network import MLP
from mlplab.registry import make_optimizer
from mlplab.train import Trainer


def test_atomic_writes_follow_the_umask_without_changing_it(tmp_path, monkeypatch):
    old = os.umask(0o027)
    try:
        monkeypatch.setattr(os, "umask", lambda *a: pytest.fail("the umask was read or changed"))
        write_json(tmp_path / "a.json", {"x": 1})
        with pytest.raises(RuntimeError), atomic_path(tmp_path / "b.bin") as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("interrupted")
    finally:
        monkeypatch.undo()
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]  # nothing half-written left behind


def _gather_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("mlplab-")]


def test_the_trainer_owns_its_gather_thread_and_ends_it(monkeypatch):
    """Compiled small-batch epochs gather rows on a helper thread that lives only while fit runs."""
    monkeypatch.setattr(train, "CHUNK_BYTES", 1024)  # several chunks: an epoch in one chunk is gathered in line
    X, y = np.random.default_rng(0).normal(size=(256, 4)), np.arange(256) % 2
    seen = []

    class Probe:
        def on_epoch_end(self, trainer, record):
            seen.append(len(_gather_threads()))

    net = MLP([4, 8, 2], seed=0)
    Trainer(net, make_optimizer("sgd", net.params, 0.1), epochs=2, batch_size=8, callbacks=[Probe()]).fit(X, y)
    assert seen == [1, 1]  # one helper while training
    assert _gather_threads() == []  # and none once fit has returned


def test_unwritable_out_fails_before_training(tmp_path, monkeypatch, capsys):
    from mlplab.cli import main
    from mlplab.cli import train as train_cli

    monkeypatch.setattr(train_cli, "run", lambda *a, **k: pytest.fail("training started"))
    (tmp_path / "file.txt").write_text("x")
    assert main(["train", "-q", "--out", str(tmp_path / "file.txt" / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out" in err and "is a file, not a folder" in err
    assert main(["train", "-q", "--out", str(tmp_path / "ok"), "--save", str(tmp_path / "file.txt" / "m.st")]) == 2
    assert "--save" in capsys.readouterr().err
    if os.geteuid() != 0:  # root writes anywhere: the permission case only means something for other users
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o555)
        assert main(["train", "-q", "--out", str(ro / "run")]) == 2
        assert "cannot write" in capsys.readouterr().err
    assert not (tmp_path / "ok").exists()  # the check creates nothing


def test_evaluate_prints_rounded_numbers_and_keeps_them_whole_in_json(tmp_path, capsys):
    import json

    from mlplab.cli import main

    model = tmp_path / "m.safetensors"
    assert main(["train", "-q", "-e", "3", "--n-samples", "200", "--out", str(tmp_path), "--save", str(model)]) == 0
    assert main(["evaluate", "--model", str(model), "--json", str(tmp_path / "e.json"), "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    loss = json.loads((tmp_path / "e.json").read_text())["loss"]
    assert f"loss      {loss:.4g}\n" in out and repr(loss) not in out
